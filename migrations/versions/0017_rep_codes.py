"""代表码: representative.code (every existing representative gets one); concern.addressed_rep_id and passed_at

Revision ID: 0017_rep_codes
Revises: 0015_privacy
Create Date: 2026-12-01 12:00:00

"""
import secrets

import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = '0017_rep_codes'
down_revision = '0018_station_board'
branch_labels = None
depends_on = None

# services.codes' alphabet and length, written out: a migration must not change when they do.
ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
LENGTH = 6


def upgrade():
    with op.batch_alter_table('representative', schema=None) as batch_op:
        batch_op.add_column(sa.Column('code', sa.String(length=12), nullable=True))

    conn = op.get_bind()
    rep = sa.table('representative', sa.column('id', sa.Integer), sa.column('code', sa.String))
    ids = [row[0] for row in conn.execute(sa.select(rep.c.id).order_by(rep.c.id))]
    taken: set[str] = set()
    for rep_id in ids:
        while True:
            code = "".join(secrets.choice(ALPHABET) for _ in range(LENGTH))
            if code not in taken:
                break
        taken.add(code)
        conn.execute(rep.update().where(rep.c.id == rep_id).values(code=code))

    with op.batch_alter_table('representative', schema=None) as batch_op:
        # Left nullable: while the app servers restart one by one, the old code still creates
        # representatives without a code; `flask make-qrcodes` gives them theirs afterwards.
        batch_op.create_unique_constraint(batch_op.f('uq_representative_code'), ['code'])

    with op.batch_alter_table('concern', schema=None) as batch_op:
        batch_op.add_column(sa.Column('addressed_rep_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('passed_at', sa.DateTime(), nullable=True))
        batch_op.create_index(batch_op.f('ix_concern_addressed_rep_id'), ['addressed_rep_id'], unique=False)
        batch_op.create_foreign_key(
            batch_op.f('fk_concern_addressed_rep_id_representative'), 'representative', ['addressed_rep_id'], ['id']
        )
        batch_op.create_check_constraint(
            'passed_was_addressed', sa.text('passed_at IS NULL OR addressed_rep_id IS NOT NULL')
        )


def downgrade():
    with op.batch_alter_table('concern', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_concern_passed_was_addressed'), type_='check')
        batch_op.drop_constraint(batch_op.f('fk_concern_addressed_rep_id_representative'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_concern_addressed_rep_id'))
        batch_op.drop_column('passed_at')
        batch_op.drop_column('addressed_rep_id')
    with op.batch_alter_table('representative', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_representative_code'), type_='unique')
        batch_op.drop_column('code')
