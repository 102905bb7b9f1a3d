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
    """Record what an edit changed, field by field: data["changes"] = {field: [before,
    after]} for the fields whose value differs. None (and no entry) when nothing did.
    Values must already be plain and masked (names of related rows, masked numbers)."""
    changes = {key: [before.get(key), value] for key, value in after.items() if before.get(key) != value}
    if not changes:
        return None
    return log(actor, action, target, changes=changes)
