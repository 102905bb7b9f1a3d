"""index concern.merged_into_id: the concerns merged into one are looked up on every step with news

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-01 07:55:00

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('concern', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_concern_merged_into_id'), ['merged_into_id'], unique=False)


def downgrade():
    with op.batch_alter_table('concern', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_concern_merged_into_id'))
