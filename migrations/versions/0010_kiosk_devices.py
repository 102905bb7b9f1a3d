"""station tablets are paired devices (kiosk_device, kiosk_pairing); each tablet code checks in once (duty.kiosk_code)

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-10 09:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'kiosk_device',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('station_id', sa.Integer(), nullable=False),
        sa.Column('name', sa.String(length=40), nullable=False),
        sa.Column('created_by_id', sa.Integer(), nullable=True),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('last_seen_at', sa.DateTime(), nullable=True),
        sa.Column('revoked_at', sa.DateTime(), nullable=True),
        sa.Column('token_hash', sa.String(length=64), nullable=False),
        sa.CheckConstraint('revoked_at IS NULL OR revoked_at >= created_at', name=op.f('ck_kiosk_device_revoked_after')),
        sa.ForeignKeyConstraint(
            ['created_by_id'], ['user_account.id'], name=op.f('fk_kiosk_device_created_by_id_user_account'),
            ondelete='SET NULL',
        ),
        sa.ForeignKeyConstraint(
            ['station_id'], ['station.id'], name=op.f('fk_kiosk_device_station_id_station'), ondelete='CASCADE'
        ),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_kiosk_device')),
        sa.UniqueConstraint('token_hash', name=op.f('uq_kiosk_device_token_hash')),
    )
    with op.batch_alter_table('kiosk_device', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_kiosk_device_station_id'), ['station_id'], unique=False)

    op.create_table(
        'kiosk_pairing',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('station_id', sa.Integer(), nullable=False),
        sa.Column('name', sa.String(length=40), nullable=False),
        sa.Column('code_hash', sa.String(length=64), nullable=False),
        sa.Column('created_by_id', sa.Integer(), nullable=True),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('expires_at', sa.DateTime(), nullable=False),
        sa.Column('used_at', sa.DateTime(), nullable=True),
        sa.Column('device_id', sa.Integer(), nullable=True),
        sa.CheckConstraint('expires_at > created_at', name=op.f('ck_kiosk_pairing_expires_after_created')),
        sa.CheckConstraint('device_id IS NULL OR used_at IS NOT NULL', name=op.f('ck_kiosk_pairing_device_when_used')),
        sa.ForeignKeyConstraint(
            ['created_by_id'], ['user_account.id'], name=op.f('fk_kiosk_pairing_created_by_id_user_account'),
            ondelete='SET NULL',
        ),
        sa.ForeignKeyConstraint(
            ['device_id'], ['kiosk_device.id'], name=op.f('fk_kiosk_pairing_device_id_kiosk_device'),
            ondelete='SET NULL',
        ),
        sa.ForeignKeyConstraint(
            ['station_id'], ['station.id'], name=op.f('fk_kiosk_pairing_station_id_station'), ondelete='CASCADE'
        ),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_kiosk_pairing')),
        sa.UniqueConstraint('code_hash', name=op.f('uq_kiosk_pairing_code_hash')),
    )
    with op.batch_alter_table('kiosk_pairing', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_kiosk_pairing_station_id'), ['station_id'], unique=False)

    with op.batch_alter_table('duty', schema=None) as batch_op:
        batch_op.add_column(sa.Column('kiosk_code', sa.String(length=40), nullable=True))
        batch_op.create_unique_constraint('uq_duty_station_kiosk_code', ['station_id', 'kiosk_code'])
        batch_op.create_check_constraint(
            batch_op.f('ck_duty_kiosk_code_only_kiosk'), "kiosk_code IS NULL OR method = 'kiosk'"
        )


def downgrade():
    with op.batch_alter_table('duty', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_duty_kiosk_code_only_kiosk'), type_='check')
        batch_op.drop_constraint('uq_duty_station_kiosk_code', type_='unique')
        batch_op.drop_column('kiosk_code')
    with op.batch_alter_table('kiosk_pairing', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_kiosk_pairing_station_id'))
    op.drop_table('kiosk_pairing')
    with op.batch_alter_table('kiosk_device', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_kiosk_device_station_id'))
    op.drop_table('kiosk_device')
