"""account_link.message_id: the SMS or e-mail carrying the link, so the back office says
whether it has left rather than that it was sent

Revision ID: 0016b_link_message
Revises: 0016_cache_stamp
Create Date: 2026-12-01 12:30:00

"""
import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = '0016b_link_message'
down_revision = '0016_cache_stamp'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('account_link', schema=None) as batch_op:
        batch_op.add_column(sa.Column('message_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f('fk_account_link_message_id_outbox'), 'outbox', ['message_id'], ['id'], ondelete='SET NULL'
        )


def downgrade():
    with op.batch_alter_table('account_link', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_account_link_message_id_outbox'), type_='foreignkey')
        batch_op.drop_column('message_id')
