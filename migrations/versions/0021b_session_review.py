"""official_session: who voided it, when and why, as for a representative's duty

Revision ID: 0021b_session_review
Revises: 0021_reception_bookings
Create Date: 2026-12-01 15:40:00

"""
import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = '0021b_session_review'
down_revision = '0021_reception_bookings'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('official_session', schema=None) as batch_op:
        batch_op.add_column(sa.Column('confirmed_by_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('reviewed_at', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('review_note', sa.Text(), server_default=sa.text("''"), nullable=False))
        batch_op.create_foreign_key(
            batch_op.f('fk_official_session_confirmed_by_id_user_account'), 'user_account', ['confirmed_by_id'], ['id']
        )


def downgrade():
    with op.batch_alter_table('official_session', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_official_session_confirmed_by_id_user_account'), type_='foreignkey')
        batch_op.drop_column('review_note')
        batch_op.drop_column('reviewed_at')
        batch_op.drop_column('confirmed_by_id')
