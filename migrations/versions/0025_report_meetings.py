"""述职 meetings: report_meeting (a representative's annual report presented at a station,
with its rating window and code) and meeting_rating (the residents' ratings, one per cookie
token: token_hash is unique). New tables only.

Revision ID: 0025_report_meetings
Revises: 0021b_session_review
"""

import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = '0025_report_meetings'
down_revision = '0021b_session_review'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('report_meeting',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=12), nullable=False),
    sa.Column('representative_id', sa.Integer(), nullable=False),
    sa.Column('station_id', sa.Integer(), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('starts_at', sa.DateTime(), nullable=False),
    sa.Column('ends_at', sa.DateTime(), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('cancelled_at', sa.DateTime(), nullable=True),
    sa.Column('cancelled_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.CheckConstraint('ends_at > starts_at', name=op.f('ck_report_meeting_ends_after_start')),
    sa.CheckConstraint('year BETWEEN 2000 AND 2100', name=op.f('ck_report_meeting_year_range')),
    sa.ForeignKeyConstraint(['cancelled_by_id'], ['user_account.id'], name=op.f('fk_report_meeting_cancelled_by_id_user_account'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['created_by_id'], ['user_account.id'], name=op.f('fk_report_meeting_created_by_id_user_account'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['representative_id'], ['representative.id'], name=op.f('fk_report_meeting_representative_id_representative'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['station_id'], ['station.id'], name=op.f('fk_report_meeting_station_id_station')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_report_meeting')),
    sa.UniqueConstraint('code', name=op.f('uq_report_meeting_code'))
    )
    with op.batch_alter_table('report_meeting', schema=None) as batch_op:
        batch_op.create_index('ix_report_meeting_rep_year', ['representative_id', 'year'], unique=False)
        batch_op.create_index('ix_report_meeting_starts_at', ['starts_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_report_meeting_station_id'), ['station_id'], unique=False)

    op.create_table('meeting_rating',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('meeting_id', sa.Integer(), nullable=False),
    sa.Column('rating', sa.Enum('satisfied', 'basically_satisfied', 'dissatisfied', name='rating', native_enum=False, create_constraint=True, length=20), nullable=False),
    sa.Column('comment', sa.String(length=300), nullable=True),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['meeting_id'], ['report_meeting.id'], name=op.f('fk_meeting_rating_meeting_id_report_meeting'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_meeting_rating')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_meeting_rating_token_hash'))
    )
    with op.batch_alter_table('meeting_rating', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_meeting_rating_meeting_id'), ['meeting_id'], unique=False)



def downgrade():
    with op.batch_alter_table('meeting_rating', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_meeting_rating_meeting_id'))

    op.drop_table('meeting_rating')
    with op.batch_alter_table('report_meeting', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_report_meeting_station_id'))
        batch_op.drop_index('ix_report_meeting_starts_at')
        batch_op.drop_index('ix_report_meeting_rep_year')

    op.drop_table('report_meeting')
