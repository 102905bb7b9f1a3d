"""Personal details taken out of text the public reads (the public answers): mobile and
landline numbers, ID-card and bank-card numbers, e-mail addresses, QQ / WeChat accounts,
and the names the resident gave in the contact fields. Each is replaced by a short
marker, so the rest reads as it was written.

Patterns, not understanding: a name the resident wrote only in the text (not in the
contact fields) stays, which is why staff can withhold a concern from the public list."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable

from flask_babel import lazy_gettext as _l

# ASCII and full-width digits: Chinese input methods type both.
_D = "[0-9０-９]"
_NOT_DIGIT_BEFORE = "(?<![0-9０-９])"
_NOT_DIGIT_AFTER = "(?![0-9０-９])"
_SEP = "[ \\-－‐]?"  # at most one space or dash between groups of digits

MARKS = {
    "email": _l("[e-mail removed]"),
    "id": _l("[ID or card number removed]"),
    "phone": _l("[phone number removed]"),
    "account": _l("[account removed]"),
    "name": _l("[name removed]"),
}

# In this order: an e-mail address and an account name may hold digits; a mobile number
# with its 0086 is as long as an old ID number (digits around a number keep a mobile number
# from matching inside a longer one).
_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("email", re.compile(r"[A-Za-z0-9._%+\-]+[@＠][A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,}")),
    (
        "account",
        # "QQ 12345678", "微信：zhang_san88", "vx:abc123": the label stays, the account goes.
        re.compile(r"(?P<label>(?:QQ|微信号?|VX|WeChat)\s*(?:号)?\s*[:：]?\s*)(?P<value>[A-Za-z0-9_\-]{5,20})", re.I),
    ),
    (
        "phone",
        re.compile(
            # Mobile numbers, with +86 / 0086 and separators; landlines with their area code.
            f"{_NOT_DIGIT_BEFORE}(?:(?:[+＋]|00)?86{_SEP})?[1１][3-9３-９]{_D}(?:{_SEP}{_D}{{4}}){{2}}{_NOT_DIGIT_AFTER}"
            f"|{_NOT_DIGIT_BEFORE}[(（]?0{_D}{{2,3}}[)）]?{_SEP}{_D}{{7,8}}{_NOT_DIGIT_AFTER}"
        ),
    ),
    (
        "id",
        re.compile(
            # 18-digit ID cards (the last may be X), 15-digit old ones, 16–19-digit bank
            # cards, and any of them written in groups of four with spaces or dashes.
            f"{_NOT_DIGIT_BEFORE}(?:{_D}{{17}}[XxＸｘ]|{_D}{{15,19}}"
            f"|{_D}{{4,6}}(?:[ \\-－]{_D}{{4}}){{2,}}(?:[ \\-－]{_D}{{1,4}})?)(?![0-9０-９A-Za-z])"
        ),
    ),
)


def _name_pattern(names: Iterable[str | None]) -> re.Pattern[str] | None:
    """The contact names, and for names of three characters or more the given name alone
    (张三丰 → 三丰). One character alone would strike out half the text."""
    words: set[str] = set()
    for name in names:
        name = " ".join((name or "").split())
        if len(name) < 2:
            continue
        words.add(name)
        if len(name) >= 3 and " " not in name:
            words.add(name[1:])
    if not words:
        return None
    # Longest first, so 张三丰 goes as one, not as 张 and a marker.
    alternatives = "|".join(re.escape(w) for w in sorted(words, key=len, reverse=True))
    return re.compile(alternatives, re.IGNORECASE)


def redact(text: str | None, names: Iterable[str | None] = ()) -> str:
    """`text` with personal details replaced by markers in the current language."""
    out = text or ""
    pattern = _name_pattern(names)
    if pattern is not None:
        out = pattern.sub(str(MARKS["name"]), out)
    for kind, regex in _PATTERNS:
        out = regex.sub(_replacer(str(MARKS[kind])), out)
    return out


def _replacer(mark: str) -> Callable[[re.Match[str]], str]:
    """The marker in place of the match; a label the pattern names (QQ, 微信) stays."""

    def replace(match: re.Match[str]) -> str:
        return (match.groupdict().get("label") or "") + mark

    return replace


def has_personal_details(text: str, names: Iterable[str | None] = ()) -> bool:
    """Whether redact() would change `text` (a search word that is a phone number, say)."""
    return redact(text, names) != text
