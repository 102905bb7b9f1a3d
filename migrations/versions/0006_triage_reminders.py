"""triage: a stage's reminder and escalation marks; the deadline index pages by (due_at, id)

Concern.reminded_at and Concern.escalated_at record that the current stage's reminder and
escalation went out (flask concerns remind), so a re-run never sends them twice. The
inbox's deadline order pages by (due_at, id): deadlines end at the close of a local day,
so many concerns share one, and an index on due_at alone would sort each such day.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-08 10:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('concern', schema=None) as batch_op:
        batch_op.add_column(sa.Column('reminded_at', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('escalated_at', sa.DateTime(), nullable=True))
        batch_op.drop_index('ix_concern_due')
        batch_op.create_index('ix_concern_due_id', ['due_at', 'id'], unique=False)
        batch_op.create_check_constraint(
            'marks_need_deadline',
            'due_at IS NOT NULL OR (reminded_at IS NULL AND escalated_at IS NULL)',
        )


def downgrade():
    with op.batch_alter_table('concern', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_concern_marks_need_deadline'), type_='check')
        batch_op.drop_index('ix_concern_due_id')
        batch_op.create_index('ix_concern_due', ['due_at'], unique=False)
        batch_op.drop_column('escalated_at')
        batch_op.drop_column('reminded_at')
