"""API keys for other systems (/api/v1/), and the key on the concern events it takes

Revision ID: 0026_api_keys
Revises: 0024_draft_laws
Create Date: 2026-12-01 16:05:00

"""
import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = '0026_api_keys'
down_revision = '0024_draft_laws'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'api_key',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('name', sa.String(length=80), nullable=False),
        sa.Column('prefix', sa.String(length=12), nullable=False),
        sa.Column('secret_hash', sa.String(length=64), nullable=False),
        sa.Column('region_id', sa.Integer(), nullable=True),
        sa.Column('unit_id', sa.Integer(), nullable=True),
        sa.Column('can_act', sa.Boolean(), nullable=False),
        sa.Column('rate_per_minute', sa.Integer(), nullable=False),
        sa.Column('note', sa.String(length=200), nullable=False),
        sa.Column('created_by_id', sa.Integer(), nullable=True),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('revoked_at', sa.DateTime(), nullable=True),
        sa.Column('last_used_at', sa.DateTime(), nullable=True),
        sa.CheckConstraint('(region_id IS NULL) <> (unit_id IS NULL)', name=op.f('ck_api_key_one_scope')),
        sa.CheckConstraint('rate_per_minute BETWEEN 1 AND 10000', name=op.f('ck_api_key_rate')),
        sa.ForeignKeyConstraint(
            ['created_by_id'], ['user_account.id'], name=op.f('fk_api_key_created_by_id_user_account'), ondelete='SET NULL'
        ),
        sa.ForeignKeyConstraint(['region_id'], ['region.id'], name=op.f('fk_api_key_region_id_region')),
        sa.ForeignKeyConstraint(['unit_id'], ['unit.id'], name=op.f('fk_api_key_unit_id_unit')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_api_key')),
        sa.UniqueConstraint('prefix', name=op.f('uq_api_key_prefix')),
    )
    with op.batch_alter_table('api_key', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_api_key_region_id'), ['region_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_api_key_unit_id'), ['unit_id'], unique=False)

    with op.batch_alter_table('concern_event', schema=None) as batch_op:
        batch_op.add_column(sa.Column('api_key_id', sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f('ix_concern_event_api_key_id'), ['api_key_id'], unique=False)
        batch_op.create_foreign_key(
            batch_op.f('fk_concern_event_api_key_id_api_key'), 'api_key', ['api_key_id'], ['id'], ondelete='SET NULL'
        )


def downgrade():
    with op.batch_alter_table('concern_event', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_concern_event_api_key_id_api_key'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_concern_event_api_key_id'))
        batch_op.drop_column('api_key_id')

    with op.batch_alter_table('api_key', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_api_key_unit_id'))
        batch_op.drop_index(batch_op.f('ix_api_key_region_id'))

    op.drop_table('api_key')
