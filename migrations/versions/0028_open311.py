"""Idempotency keys of API POSTs, and what an Open311 request adds to its concern

Revision ID: 0028_open311
Revises: 0027_word_search
Create Date: 2026-12-01 19:00:00

"""
import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = '0028_open311'
down_revision = '0031_stage_events'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'api_idempotency',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('api_key_id', sa.Integer(), nullable=False),
        sa.Column('idempotency_key', sa.String(length=255), nullable=False),
        sa.Column('fingerprint', sa.String(length=64), nullable=False),
        sa.Column('status', sa.Integer(), nullable=True),
        sa.Column('content_type', sa.String(length=100), nullable=False),
        sa.Column('body', sa.Text(), nullable=True),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('answered_at', sa.DateTime(), nullable=True),
        sa.CheckConstraint('(status IS NULL) = (body IS NULL)', name=op.f('ck_api_idempotency_answered')),
        sa.ForeignKeyConstraint(
            ['api_key_id'], ['api_key.id'], name=op.f('fk_api_idempotency_api_key_id_api_key'), ondelete='CASCADE'
        ),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_api_idempotency')),
        sa.UniqueConstraint('api_key_id', 'idempotency_key', name='uq_api_idempotency_key'),
    )
    with op.batch_alter_table('api_idempotency', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_api_idempotency_created_at'), ['created_at'], unique=False)

    op.create_table(
        'open311_request',
        sa.Column('concern_id', sa.Integer(), nullable=False),
        sa.Column('api_key_id', sa.Integer(), nullable=True),
        sa.Column('token', sa.String(length=40), nullable=False),
        sa.Column('lat', sa.Float(), nullable=True),
        sa.Column('long', sa.Float(), nullable=True),
        sa.Column('address', sa.String(length=200), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.CheckConstraint('lat IS NULL OR lat BETWEEN -90 AND 90', name=op.f('ck_open311_request_lat')),
        sa.CheckConstraint('long IS NULL OR long BETWEEN -180 AND 180', name=op.f('ck_open311_request_long')),
        sa.ForeignKeyConstraint(
            ['api_key_id'], ['api_key.id'], name=op.f('fk_open311_request_api_key_id_api_key'), ondelete='SET NULL'
        ),
        sa.ForeignKeyConstraint(
            ['concern_id'], ['concern.id'], name=op.f('fk_open311_request_concern_id_concern'), ondelete='CASCADE'
        ),
        sa.PrimaryKeyConstraint('concern_id', name=op.f('pk_open311_request')),
        sa.UniqueConstraint('token', name=op.f('uq_open311_request_token')),
    )
    with op.batch_alter_table('open311_request', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_open311_request_api_key_id'), ['api_key_id'], unique=False)


def downgrade():
    with op.batch_alter_table('open311_request', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_open311_request_api_key_id'))
    op.drop_table('open311_request')
    with op.batch_alter_table('api_idempotency', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_api_idempotency_created_at'))
    op.drop_table('api_idempotency')
