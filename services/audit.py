"""Every staff or system action leaves a trace, in the same transaction as the action."""

from extensions import db
from models import AuditLog, User


def log(actor: User | None, action: str, target=None, **data) -> AuditLog:
    """Record `action` (a namespaced code such as `duty.voided`) by `actor` on `target`.
    Never put personal data in `data`: masked values only."""
    entry = AuditLog(
        actor_id=actor.id if actor else None,
        action=action,
        target_type=type(target).__name__.lower() if target is not None else "",
        target_id=getattr(target, "id", None),
        data=data,
    )
    db.session.add(entry)
    return entry


def log_change(actor: User | None, action: str, target, before: dict, after: dict) -> AuditLog | None:
    """Record an edit as {"changes": {field: [before, after]}}, the changed fields only;
    None (and no entry) when nothing changed."""
    changes = {key: [before.get(key), value] for key, value in after.items() if before.get(key) != value}
    if not changes:
        return None
    return log(actor, action, target, changes=changes)
