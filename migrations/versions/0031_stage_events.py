"""stage steps on the workflow engine: project_vote and report_meeting get a status and a
version, and each an event table (project_vote_event, report_meeting_event) with the
columns every workflow's events have (WorkflowEventMixin).

Only adds. The status of the rows already there is read from the stamps each step left
(published_at … evaluation_closed_at; cancelled_at), then CHECKs keep the two in step.
During a rolling upgrade the previous release still moves a 票决 or a meeting by its stamps
alone: those rows keep their old status until the step is taken again through the new code
(the CHECKs only ask that a status has its stamp, which the old code's steps never break).

Revision ID: 0031_stage_events
Revises: 0027_word_search
"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0031_stage_events'
down_revision = '0032_page_changes'
branch_labels = None
depends_on = None

VOTE_STATUSES = ('draft', 'published', 'closed', 'results', 'evaluation', 'evaluated')
MEETING_STATUSES = ('scheduled', 'cancelled')


def _in(values) -> str:
    return '(' + ', '.join(f"'{v}'" for v in values) + ')'


def _event_table(name: str, key: str, parent: str, statuses) -> None:
    op.create_table(name,
    sa.Column(key, sa.Integer(), nullable=False),
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('actor_id', sa.Integer(), nullable=True),
    sa.Column('action', sa.String(length=30), nullable=False),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('is_public', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('from_status', sa.Enum(*statuses, name='from_status', native_enum=False, create_constraint=True, length=20), nullable=True),
    sa.Column('to_status', sa.Enum(*statuses, name='to_status', native_enum=False, create_constraint=True, length=20), nullable=True),
    sa.ForeignKeyConstraint(['actor_id'], ['user_account.id'], name=op.f(f'fk_{name}_actor_id_user_account')),
    sa.ForeignKeyConstraint([key], [f'{parent}.id'], name=op.f(f'fk_{name}_{key}_{parent}'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f(f'pk_{name}'))
    )
    with op.batch_alter_table(name, schema=None) as batch_op:
        batch_op.create_index(batch_op.f(f'ix_{name}_{key}'), [key], unique=False)


def upgrade():
    with op.batch_alter_table('project_vote', schema=None) as batch_op:
        batch_op.add_column(sa.Column('status', sa.String(length=20), server_default='draft', nullable=False))
        batch_op.add_column(sa.Column('version', sa.Integer(), server_default='1', nullable=False))
    op.execute(
        "UPDATE project_vote SET status = CASE"
        " WHEN evaluation_closed_at IS NOT NULL THEN 'evaluated'"
        " WHEN evaluation_opened_at IS NOT NULL THEN 'evaluation'"
        " WHEN results_published_at IS NOT NULL THEN 'results'"
        " WHEN closed_at IS NOT NULL THEN 'closed'"
        " WHEN published_at IS NOT NULL THEN 'published'"
        " ELSE 'draft' END"
    )
    with op.batch_alter_table('project_vote', schema=None) as batch_op:
        batch_op.create_check_constraint(op.f('ck_project_vote_status'), f'status IN {_in(VOTE_STATUSES)}')
        batch_op.create_check_constraint(
            op.f('ck_project_vote_status_has_stamp'),
            "(status = 'draft' OR published_at IS NOT NULL)"
            " AND (status IN ('draft', 'published') OR closed_at IS NOT NULL)"
            " AND (status IN ('draft', 'published', 'closed') OR results_published_at IS NOT NULL)"
            " AND (status IN ('draft', 'published', 'closed', 'results') OR evaluation_opened_at IS NOT NULL)"
            " AND (status <> 'evaluated' OR evaluation_closed_at IS NOT NULL)",
        )
        batch_op.create_check_constraint(op.f('ck_project_vote_version_positive'), 'version >= 1')

    with op.batch_alter_table('report_meeting', schema=None) as batch_op:
        batch_op.add_column(sa.Column('status', sa.String(length=20), server_default='scheduled', nullable=False))
        batch_op.add_column(sa.Column('version', sa.Integer(), server_default='1', nullable=False))
    op.execute("UPDATE report_meeting SET status = 'cancelled' WHERE cancelled_at IS NOT NULL")
    with op.batch_alter_table('report_meeting', schema=None) as batch_op:
        batch_op.create_check_constraint(op.f('ck_report_meeting_status'), f'status IN {_in(MEETING_STATUSES)}')
        batch_op.create_check_constraint(
            op.f('ck_report_meeting_cancelled_has_time'), "status <> 'cancelled' OR cancelled_at IS NOT NULL"
        )
        batch_op.create_check_constraint(op.f('ck_report_meeting_version_positive'), 'version >= 1')

    _event_table('project_vote_event', 'vote_id', 'project_vote', VOTE_STATUSES)
    _event_table('report_meeting_event', 'meeting_id', 'report_meeting', MEETING_STATUSES)


def downgrade():
    for name, key in (('report_meeting_event', 'meeting_id'), ('project_vote_event', 'vote_id')):
        with op.batch_alter_table(name, schema=None) as batch_op:
            batch_op.drop_index(batch_op.f(f'ix_{name}_{key}'))
        op.drop_table(name)
    for table, checks in (
        ('report_meeting', ('status', 'cancelled_has_time', 'version_positive')),
        ('project_vote', ('status', 'status_has_stamp', 'version_positive')),
    ):
        with op.batch_alter_table(table, schema=None) as batch_op:
            for check in checks:
                batch_op.drop_constraint(op.f(f'ck_{table}_{check}'), type_='check')
            batch_op.drop_column('version')
            batch_op.drop_column('status')
