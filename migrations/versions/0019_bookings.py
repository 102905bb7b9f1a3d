"""booked visits (预约接待): booking, duty_slot.capacity, station.booking_capacity, outbox.booking_id

Revision ID: 0019_bookings
Revises: 0015_privacy
Create Date: 2026-12-01 11:49:50

"""
import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = '0019_bookings'
down_revision = '0020_officials'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('booking',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=12), nullable=False),
    sa.Column('submission_key', sa.String(length=64), nullable=True),
    sa.Column('station_id', sa.Integer(), nullable=False),
    sa.Column('duty_slot_id', sa.Integer(), nullable=True),
    sa.Column('representative_id', sa.Integer(), nullable=True),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('starts_at', sa.Time(), nullable=False),
    sa.Column('ends_at', sa.Time(), nullable=False),
    sa.Column('seat', sa.Integer(), nullable=False),
    sa.Column('status', sa.Enum('booked', 'cancelled', 'called_off', 'attended', 'no_show', name='status', native_enum=False, create_constraint=True, length=20), nullable=False),
    sa.Column('name', sa.String(length=40), nullable=True),
    sa.Column('mobile', sa.String(length=11), nullable=True),
    sa.Column('mobile_digest', sa.String(length=64), nullable=True),
    sa.Column('subject', sa.String(length=200), nullable=False),
    sa.Column('consent_at', sa.DateTime(), nullable=True),
    sa.Column('cancelled_at', sa.DateTime(), nullable=True),
    sa.Column('cancelled_by_id', sa.Integer(), nullable=True),
    sa.Column('marked_at', sa.DateTime(), nullable=True),
    sa.Column('marked_by_id', sa.Integer(), nullable=True),
    sa.Column('reminded_at', sa.DateTime(), nullable=True),
    sa.Column('concern_id', sa.Integer(), nullable=True),
    sa.Column('personal_data_erased_at', sa.DateTime(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.CheckConstraint("(status IN ('attended', 'no_show')) = (marked_at IS NOT NULL)", name=op.f('ck_booking_marked_has_time')),
    sa.CheckConstraint("(status IN ('cancelled', 'called_off')) = (cancelled_at IS NOT NULL)", name=op.f('ck_booking_cancelled_has_time')),
    sa.CheckConstraint("status <> 'booked' OR duty_slot_id IS NOT NULL", name=op.f('ck_booking_booked_has_slot')),
    sa.CheckConstraint('ends_at > starts_at', name=op.f('ck_booking_ends_after_start')),
    sa.CheckConstraint('personal_data_erased_at IS NOT NULL OR (name IS NOT NULL AND mobile IS NOT NULL AND mobile_digest IS NOT NULL AND consent_at IS NOT NULL)', name=op.f('ck_booking_contact_with_consent')),
    sa.CheckConstraint('seat >= 1', name=op.f('ck_booking_seat_positive')),
    sa.ForeignKeyConstraint(['cancelled_by_id'], ['user_account.id'], name=op.f('fk_booking_cancelled_by_id_user_account'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['concern_id'], ['concern.id'], name=op.f('fk_booking_concern_id_concern'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['duty_slot_id'], ['duty_slot.id'], name=op.f('fk_booking_duty_slot_id_duty_slot'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['marked_by_id'], ['user_account.id'], name=op.f('fk_booking_marked_by_id_user_account'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['representative_id'], ['representative.id'], name=op.f('fk_booking_representative_id_representative'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['station_id'], ['station.id'], name=op.f('fk_booking_station_id_station')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_booking')),
    sa.UniqueConstraint('code', name=op.f('uq_booking_code')),
    sa.UniqueConstraint('submission_key', name=op.f('uq_booking_submission_key'))
    )
    with op.batch_alter_table('booking', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_booking_concern_id'), ['concern_id'], unique=False)
        batch_op.create_index('ix_booking_day_status', ['day', 'status'], unique=False)
        batch_op.create_index(batch_op.f('ix_booking_duty_slot_id'), ['duty_slot_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_booking_mobile_digest'), ['mobile_digest'], unique=False)
        batch_op.create_index('ix_booking_station_day', ['station_id', 'day'], unique=False)
        batch_op.create_index('uq_booking_slot_mobile', ['duty_slot_id', 'mobile_digest'], unique=True, sqlite_where=sa.text("status IN ('booked', 'attended', 'no_show')"), postgresql_where=sa.text("status IN ('booked', 'attended', 'no_show')"))
        batch_op.create_index('uq_booking_slot_seat', ['duty_slot_id', 'seat'], unique=True, sqlite_where=sa.text("status IN ('booked', 'attended', 'no_show')"), postgresql_where=sa.text("status IN ('booked', 'attended', 'no_show')"))

    with op.batch_alter_table('duty_slot', schema=None) as batch_op:
        batch_op.add_column(sa.Column('capacity', sa.Integer(), nullable=True))
        batch_op.create_check_constraint('capacity_range', 'capacity IS NULL OR capacity BETWEEN 0 AND 50')

    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.add_column(sa.Column('booking_id', sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f('ix_outbox_booking_id'), ['booking_id'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_outbox_booking_id_booking'), 'booking', ['booking_id'], ['id'], ondelete='SET NULL')

    with op.batch_alter_table('station', schema=None) as batch_op:
        batch_op.add_column(sa.Column('booking_capacity', sa.Integer(), server_default=sa.text('4'), nullable=False))
        batch_op.create_check_constraint('booking_capacity_range', 'booking_capacity BETWEEN 0 AND 50')



def downgrade():
    with op.batch_alter_table('station', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_station_booking_capacity_range'), type_='check')
        batch_op.drop_column('booking_capacity')

    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_outbox_booking_id_booking'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_outbox_booking_id'))
        batch_op.drop_column('booking_id')

    with op.batch_alter_table('duty_slot', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_duty_slot_capacity_range'), type_='check')
        batch_op.drop_column('capacity')

    with op.batch_alter_table('booking', schema=None) as batch_op:
        batch_op.drop_index('uq_booking_slot_seat', sqlite_where=sa.text("status IN ('booked', 'attended', 'no_show')"), postgresql_where=sa.text("status IN ('booked', 'attended', 'no_show')"))
        batch_op.drop_index('uq_booking_slot_mobile', sqlite_where=sa.text("status IN ('booked', 'attended', 'no_show')"), postgresql_where=sa.text("status IN ('booked', 'attended', 'no_show')"))
        batch_op.drop_index('ix_booking_station_day')
        batch_op.drop_index(batch_op.f('ix_booking_mobile_digest'))
        batch_op.drop_index(batch_op.f('ix_booking_duty_slot_id'))
        batch_op.drop_index('ix_booking_day_status')
        batch_op.drop_index(batch_op.f('ix_booking_concern_id'))

    op.drop_table('booking')
