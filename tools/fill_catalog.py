"""Fill msgstr entries of a .po catalogue from a {msgid: translation} dict in a Python file.

    python tools/fill_catalog.py translations/zh_Hans/LC_MESSAGES/messages.po NEW.py
    python tools/fill_catalog.py translations/en/LC_MESSAGES/messages.po --same
Existing translations are kept unless NEW.py gives another; --same makes the English
catalogue say what the source says. Prints what is still missing.
"""

import runpy
import sys

from babel.messages.pofile import read_po, write_po

po_path, dict_path = sys.argv[1], sys.argv[2]
same = dict_path == "--same"
new = {} if same else runpy.run_path(dict_path)["TRANSLATIONS"]
with open(po_path, "rb") as fh:
    catalog = read_po(fh)
for message in catalog:
    if message.id and (same or message.id in new):
        message.string = message.id if same else new[message.id]
        message.flags.discard("fuzzy")
with open(po_path, "wb") as fh:
    write_po(fh, catalog, width=100, omit_header=False)
missing = [m.id for m in catalog if m.id and not m.string]
print(f"{len(missing)} untranslated")
for m in missing:
    print("  ", repr(m))
