"""How a resident's contact details look to those who may not see them in full: the
same on the back-office pages and in exports; and the codes a log must not show."""

import ipaddress
import re

from services.codes import ALPHABET, BOOKING_CODE_LENGTH, COMMENT_CODE_LENGTH, TRACKING_CODE_LENGTH

CODE_DIGITS = 6  # services.resident_mobile's one-time codes (it imports this)


def mask_mobile(number: str | None) -> str:
    """13812345678 → 138****5678."""
    if not number:
        return ""
    return f"{number[:3]}****{number[-4:]}" if len(number) == 11 else "****"


def mask_name(name: str | None) -> str:
    """张三丰 → 张**: enough to greet, not enough to identify."""
    if not name:
        return ""
    return f"{name[0]}{'*' * min(len(name) - 1, 3)}" if len(name) > 1 else "*"


def mask_ip(address: str | None) -> str:
    """203.0.113.45 → 203.0.113.*; an IPv6 address keeps its /48 (the site, not the device)."""
    try:
        ip = ipaddress.ip_address((address or "").strip())
    except ValueError:
        return ""
    if isinstance(ip, ipaddress.IPv4Address):
        return ".".join(str(ip).split(".")[:3]) + ".*"
    if ip.ipv4_mapped is not None:
        return mask_ip(str(ip.ipv4_mapped))
    return str(ipaddress.ip_network(f"{ip}/48", strict=False))


# A tracking code (10 characters of the unambiguous alphabet) or a one-time code (six
# digits), standing alone: the keys a resident holds, which a log must not hand out.
_HALF = TRACKING_CODE_LENGTH // 2
# As stored (MTPAC87VX3), and as displayed to be read out (MTPAC-87VX3).
_TRACKING_CODE = re.compile(rf"(?<![A-Za-z0-9])[{ALPHABET}]{{{_HALF}}}-?[{ALPHABET}]{{{_HALF}}}(?![A-Za-z0-9])")
_ONE_TIME_CODE = re.compile(rf"(?<![0-9])[0-9]{{{CODE_DIGITS}}}(?![0-9])")


# The token of a set-password link (services.account_links): whoever holds it takes the account.
_SET_PASSWORD_TOKEN = re.compile(r"(/account/set-password/)[A-Za-z0-9_\-]+")
# A booking code in its page's address (/b/K7M3XP29): whoever holds it cancels the visit.
_BOOKING_CODE = re.compile(rf"(/b/[{ALPHABET}]{{2}})[{ALPHABET}]{{{BOOKING_CODE_LENGTH - 2}}}(?![A-Za-z0-9])")

# A resident's comment code in its page's address (/c/K7M3XP29Q): whoever holds it reads
# their comments.
_COMMENT_CODE = re.compile(rf"(/c/[{ALPHABET}]{{2}})[{ALPHABET}]{{{COMMENT_CODE_LENGTH - 2}}}(?![A-Za-z0-9])")


def mask_codes(text: str) -> str:
    """MTPAC87VX3 → MT********, MTPAC-87VX3 → MT*********, 123456 → ******: also inside
    URLs such as /t/MTPAC87VX3; a booking's /b/K7M3XP29 → /b/K7******; a comment code's
    /c/K7M3XP29Q → /c/K7*******; and a set-password link's token, whole."""
    text = _SET_PASSWORD_TOKEN.sub(r"\1********", text)
    text = _BOOKING_CODE.sub(lambda m: m.group(1) + "*" * (BOOKING_CODE_LENGTH - 2), text)
    text = _COMMENT_CODE.sub(lambda m: m.group(1) + "*" * (COMMENT_CODE_LENGTH - 2), text)
    text = _TRACKING_CODE.sub(lambda m: m.group(0)[:2] + "*" * (len(m.group(0)) - 2), text)
    return _ONE_TIME_CODE.sub("*" * CODE_DIGITS, text)
