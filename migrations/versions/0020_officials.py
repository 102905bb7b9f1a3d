"""officials at the station: the `official` role, official (profile), office_hour, official_session

Revision ID: 0020_officials
Revises: 0015_privacy
Create Date: 2026-12-01 12:10:00

"""
import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = '0020_officials'
down_revision = '0016b_link_message'
branch_labels = None
depends_on = None

ROLES_BEFORE = ('representative', 'station_manager', 'congress_staff', 'unit_handler', 'admin')
ROLES_AFTER = (*ROLES_BEFORE, 'official')


def _role_check(roles):
    return "role IN (" + ", ".join(f"'{r}'" for r in roles) + ")"


def upgrade():
    with op.batch_alter_table('user_account', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_user_account_role'), type_='check')
        batch_op.create_check_constraint(op.f('ck_user_account_role'), _role_check(ROLES_AFTER))

    op.create_table(
        'official',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('unit_id', sa.Integer(), nullable=False),
        sa.Column('post', sa.String(length=120), nullable=False),
        sa.CheckConstraint('length(post) > 0', name=op.f('ck_official_post_not_empty')),
        sa.ForeignKeyConstraint(['unit_id'], ['unit.id'], name=op.f('fk_official_unit_id_unit')),
        sa.ForeignKeyConstraint(
            ['user_id'], ['user_account.id'], name=op.f('fk_official_user_id_user_account'), ondelete='CASCADE'
        ),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_official')),
        sa.UniqueConstraint('user_id', name=op.f('uq_official_user_id')),
    )
    with op.batch_alter_table('official', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_official_unit_id'), ['unit_id'], unique=False)

    op.create_table(
        'office_hour',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('station_id', sa.Integer(), nullable=False),
        sa.Column('official_id', sa.Integer(), nullable=False),
        sa.Column('day', sa.Date(), nullable=False),
        sa.Column('starts_at', sa.Time(), nullable=False),
        sa.Column('ends_at', sa.Time(), nullable=False),
        sa.Column('series', sa.String(length=32), nullable=True),
        sa.CheckConstraint('ends_at > starts_at', name=op.f('ck_office_hour_ends_after_start')),
        sa.ForeignKeyConstraint(
            ['official_id'], ['official.id'], name=op.f('fk_office_hour_official_id_official'), ondelete='CASCADE'
        ),
        sa.ForeignKeyConstraint(
            ['station_id'], ['station.id'], name=op.f('fk_office_hour_station_id_station'), ondelete='CASCADE'
        ),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_office_hour')),
        sa.UniqueConstraint('official_id', 'day', 'starts_at', name='uq_office_hour_official_day_start'),
    )
    with op.batch_alter_table('office_hour', schema=None) as batch_op:
        batch_op.create_index('ix_office_hour_station_day', ['station_id', 'day'], unique=False)
        batch_op.create_index(batch_op.f('ix_office_hour_series'), ['series'], unique=False)

    op.create_table(
        'official_session',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('station_id', sa.Integer(), nullable=False),
        sa.Column('official_id', sa.Integer(), nullable=False),
        sa.Column('checked_in_at', sa.DateTime(), nullable=False),
        sa.Column('checked_out_at', sa.DateTime(), nullable=True),
        sa.Column(
            'method',
            sa.Enum('qr', 'kiosk', 'manual', name='method', native_enum=False, create_constraint=True, length=20),
            nullable=False,
        ),
        sa.Column(
            'status',
            sa.Enum(
                'open', 'closed', 'auto_closed', 'voided', name='status', native_enum=False, create_constraint=True,
                length=20,
            ),
            nullable=False,
        ),
        sa.Column('nonce', sa.String(length=64), nullable=False),
        sa.Column('distance_m', sa.Float(), nullable=True),
        sa.Column('kiosk_window', sa.Integer(), nullable=True),
        sa.Column('kiosk_code', sa.String(length=40), nullable=True),
        sa.Column('residents_received', sa.Integer(), nullable=False),
        sa.Column('notes', sa.Text(), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('updated_at', sa.DateTime(), nullable=False),
        sa.CheckConstraint(
            'checked_out_at IS NULL OR checked_out_at >= checked_in_at', name=op.f('ck_official_session_out_after_in')
        ),
        sa.CheckConstraint(
            "kiosk_code IS NULL OR method = 'kiosk'", name=op.f('ck_official_session_kiosk_code_only_kiosk')
        ),
        sa.CheckConstraint('residents_received >= 0', name=op.f('ck_official_session_residents_nonnegative')),
        sa.ForeignKeyConstraint(
            ['official_id'], ['official.id'], name=op.f('fk_official_session_official_id_official')
        ),
        sa.ForeignKeyConstraint(['station_id'], ['station.id'], name=op.f('fk_official_session_station_id_station')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_official_session')),
        sa.UniqueConstraint('nonce', name=op.f('uq_official_session_nonce')),
        sa.UniqueConstraint('station_id', 'kiosk_code', name='uq_official_session_station_kiosk_code'),
    )
    with op.batch_alter_table('official_session', schema=None) as batch_op:
        batch_op.create_index('ix_official_session_official_in', ['official_id', 'checked_in_at'], unique=False)
        batch_op.create_index('ix_official_session_station_status', ['station_id', 'status'], unique=False)
        batch_op.create_index(
            'uq_official_session_one_open',
            ['official_id'],
            unique=True,
            sqlite_where=sa.text("status = 'open'"),
            postgresql_where=sa.text("status = 'open'"),
        )


def downgrade():
    op.drop_table('official_session')
    op.drop_table('office_hour')
    op.drop_table('official')
    op.execute("DELETE FROM user_account WHERE role = 'official'")
    with op.batch_alter_table('user_account', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_user_account_role'), type_='check')
        batch_op.create_check_constraint(op.f('ck_user_account_role'), _role_check(ROLES_BEFORE))
