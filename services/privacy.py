"""How a resident's contact details look to those who may not see them in full: the
same on the back-office pages and in exports."""


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
