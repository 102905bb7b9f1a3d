"""concerns: a digest of (station, text, contact, browser) finds a resubmitted form in the database

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-01 06:25:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('concern', schema=None) as batch_op:
        batch_op.add_column(sa.Column('duplicate_digest', sa.String(length=64), nullable=True))
        batch_op.create_index(batch_op.f('ix_concern_duplicate_digest'), ['duplicate_digest'], unique=False)


def downgrade():
    with op.batch_alter_table('concern', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_concern_duplicate_digest'))
        batch_op.drop_column('duplicate_digest')
