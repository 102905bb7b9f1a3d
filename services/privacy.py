"""How a resident's contact details look to those who may not see them in full: the
same on the back-office pages and in exports."""

import ipaddress


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
