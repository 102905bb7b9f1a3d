"""cache_stamp: a generation shared by every app server, so a change to a station page reaches
the pages cached on all of them

Revision ID: 0016_cache_stamp
Revises: 0015_privacy
Create Date: 2026-12-01 12:00:00

"""
import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = '0016_cache_stamp'
down_revision = '0015_privacy'
branch_labels = None
depends_on = None


def upgrade():
    stamp = op.create_table(
        'cache_stamp',
        sa.Column('name', sa.String(length=40), nullable=False),
        sa.Column('value', sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint('name', name=op.f('pk_cache_stamp')),
    )
    op.bulk_insert(stamp, [{'name': 'station_pages', 'value': 0}])


def downgrade():
    op.drop_table('cache_stamp')
