"""public answers: staff may withhold a concern the resident agreed to publish

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01 05:30:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('concern', schema=None) as batch_op:
        batch_op.add_column(sa.Column('public_withheld_at', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('public_withheld_reason', sa.String(length=500), nullable=True))
        batch_op.create_check_constraint(
            'withheld_has_reason',
            "(public_withheld_at IS NULL) = (public_withheld_reason IS NULL)",
        )
        batch_op.create_index(
            'ix_concern_public_answers',
            ['station_id', 'closed_at', 'id'],
            unique=False,
            sqlite_where=sa.text("is_public AND status = 'closed'"),
            postgresql_where=sa.text("is_public AND status = 'closed'"),
        )


def downgrade():
    with op.batch_alter_table('concern', schema=None) as batch_op:
        batch_op.drop_index('ix_concern_public_answers')
        batch_op.drop_constraint(batch_op.f('ck_concern_withheld_has_reason'), type_='check')
        batch_op.drop_column('public_withheld_reason')
        batch_op.drop_column('public_withheld_at')
