"""unstick concerns an earlier version left dispatched with no unit

A concern resolved on the spot and then sent back became "dispatched" with no unit, where
nobody had a step to take. They go back to their representative (accepted), as the send-
back does now, with an internal event on their trail saying why.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-01 05:30:00

"""
from datetime import UTC, datetime

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None

NOTE = "Returned to the representative: it had been sent back to a unit it never had."


def upgrade():
    bind = op.get_bind()
    stuck = [
        row.id
        for row in bind.execute(
            sa.text("SELECT id FROM concern WHERE status = 'dispatched' AND unit_id IS NULL AND assigned_rep_id IS NOT NULL")
        )
    ]
    if not stuck:
        return
    now = datetime.now(UTC).replace(tzinfo=None)
    event = sa.table(
        "concern_event",
        sa.column("concern_id", sa.Integer),
        sa.column("action", sa.String),
        sa.column("from_status", sa.String),
        sa.column("to_status", sa.String),
        sa.column("note", sa.Text),
        sa.column("is_public", sa.Boolean),
        sa.column("created_at", sa.DateTime),
    )
    op.bulk_insert(
        event,
        [
            {
                "concern_id": concern_id,
                "action": "send_back_to_rep",
                "from_status": "dispatched",
                "to_status": "accepted",
                "note": NOTE,
                "is_public": False,
                "created_at": now,
            }
            for concern_id in stuck
        ],
    )
    concern = sa.table(
        "concern", sa.column("id", sa.Integer), sa.column("status", sa.String), sa.column("version", sa.Integer)
    )
    bind.execute(
        concern.update()
        .where(concern.c.id.in_(stuck))
        .values(status="accepted", version=concern.c.version + 1)
    )


def downgrade():
    pass  # the repair is not undone: the old state was a dead end
