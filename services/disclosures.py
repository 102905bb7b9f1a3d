"""Who has seen a resident's contact details in full: every "show in full" and every
unmasked export names the concerns it showed (contact_disclosure rows beside its audit
row), so "who saw my number?" has an answer on the concern's page."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa

from extensions import db
from models import AuditLog, Concern, ContactDisclosure, User
from services.audit import log

# The audit actions that show contact details in full, and the rows a page lists.
VIEWED, EXPORTED = "concern.contact_viewed", "concern.exported"
SHOWN = 50


def record(entry: AuditLog, concern_ids: Iterable[int]) -> None:
    """Name the concerns the audited action `entry` showed in full."""
    ids = sorted(set(concern_ids))
    if not ids:
        return
    db.session.flush()  # the audit row's id
    db.session.execute(
        sa.insert(ContactDisclosure), [{"audit_id": entry.id, "concern_id": concern_id} for concern_id in ids]
    )


def contact_viewed(actor: User, concern: Concern) -> AuditLog:
    """A "show in full" on the concern's page."""
    entry = log(actor, VIEWED, concern)
    record(entry, [concern.id])
    return entry


@dataclass(frozen=True)
class Disclosure:
    at: datetime
    who: str
    action: str  # VIEWED or EXPORTED
    purpose: str  # for an export: the reason given


def who_saw(concern: Concern, limit: int = SHOWN) -> list[Disclosure]:
    """The latest times this concern's contact details were shown in full, newest first."""
    rows = db.session.execute(
        sa.select(AuditLog, User.display_name)
        .join(ContactDisclosure, ContactDisclosure.audit_id == AuditLog.id)
        .outerjoin(User, User.id == AuditLog.actor_id)
        .where(ContactDisclosure.concern_id == concern.id)
        .order_by(AuditLog.id.desc())
        .limit(limit)
    )
    return [
        Disclosure(entry.created_at, name or "", entry.action, str((entry.data or {}).get("purpose") or ""))
        for entry, name in rows
    ]
