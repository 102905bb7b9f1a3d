"""booking a reception day's occurrence: booking.reception_day_id, reception_day.capacity

A live booking was on a roster slot (CHECK booked_has_slot); it is now on a roster slot or a
reception day's occurrence (reception_day_id + day), exactly one (CHECK booked_on_one). The
old CHECK is dropped: it would refuse a reception day's booking. The new one is wider for the
old release's rows and INSERTs (they never set reception_day_id), so a rolling upgrade holds.

Revision ID: 0021_reception_bookings
Revises: 0017_rep_codes
"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0021_reception_bookings'
down_revision = '0017_rep_codes'
branch_labels = None
depends_on = None

HOLDS_OCCURRENCE_PLACE = "reception_day_id IS NOT NULL AND status IN ('booked', 'attended', 'no_show')"


def upgrade():
    with op.batch_alter_table('reception_day', schema=None) as batch_op:
        batch_op.add_column(sa.Column('capacity', sa.Integer(), server_default=sa.text('10'), nullable=False))
        batch_op.create_check_constraint('capacity_range', 'capacity BETWEEN 0 AND 50')

    with op.batch_alter_table('booking', schema=None) as batch_op:
        batch_op.add_column(sa.Column('reception_day_id', sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f('ix_booking_reception_day_id'), ['reception_day_id'], unique=False)
        batch_op.create_foreign_key(
            batch_op.f('fk_booking_reception_day_id_reception_day'),
            'reception_day',
            ['reception_day_id'],
            ['id'],
            ondelete='SET NULL',
        )
        batch_op.create_index(
            'uq_booking_occurrence_seat',
            ['reception_day_id', 'day', 'seat'],
            unique=True,
            sqlite_where=sa.text(HOLDS_OCCURRENCE_PLACE),
            postgresql_where=sa.text(HOLDS_OCCURRENCE_PLACE),
        )
        batch_op.create_index(
            'uq_booking_occurrence_mobile',
            ['reception_day_id', 'day', 'mobile_digest'],
            unique=True,
            sqlite_where=sa.text(HOLDS_OCCURRENCE_PLACE),
            postgresql_where=sa.text(HOLDS_OCCURRENCE_PLACE),
        )
        # Widened (tests/test_migrations.py WIDENED): every row the old CHECK allowed that the
        # old code writes (reception_day_id NULL) the new one allows too.
        batch_op.drop_constraint(batch_op.f('ck_booking_booked_has_slot'), type_='check')
        batch_op.create_check_constraint(
            'booked_on_one', "status <> 'booked' OR ((duty_slot_id IS NOT NULL) <> (reception_day_id IS NOT NULL))"
        )


def downgrade():
    with op.batch_alter_table('booking', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_booking_booked_on_one'), type_='check')
        batch_op.drop_index(
            'uq_booking_occurrence_mobile',
            sqlite_where=sa.text(HOLDS_OCCURRENCE_PLACE),
            postgresql_where=sa.text(HOLDS_OCCURRENCE_PLACE),
        )
        batch_op.drop_index(
            'uq_booking_occurrence_seat',
            sqlite_where=sa.text(HOLDS_OCCURRENCE_PLACE),
            postgresql_where=sa.text(HOLDS_OCCURRENCE_PLACE),
        )
        batch_op.drop_constraint(batch_op.f('fk_booking_reception_day_id_reception_day'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_booking_reception_day_id'))
        batch_op.drop_column('reception_day_id')
        batch_op.create_check_constraint('booked_has_slot', "status <> 'booked' OR duty_slot_id IS NOT NULL")

    with op.batch_alter_table('reception_day', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_reception_day_capacity_range'), type_='check')
        batch_op.drop_column('capacity')
