"""page_change: a journal naming the kept pages a commit made old (a concern's tracking page),
read by every app server

Revision ID: 0032_page_changes
Revises: 0027_word_search
Create Date: 2026-12-01 19:00:00

"""
import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = '0032_page_changes'
down_revision = '0027_word_search'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'page_change',
        sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
        sa.Column('tag', sa.String(length=40), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_page_change')),
    )
    op.create_index(op.f('ix_page_change_created_at'), 'page_change', ['created_at'], unique=False)


def downgrade():
    op.drop_index(op.f('ix_page_change_created_at'), table_name='page_change')
    op.drop_table('page_change')
