"""server-side session records, and which concerns' contact details each audited action showed

Every sign-in gets a user_session row (revocable: sign-out, password change, switch-off,
"sign out everywhere", an absolute lifetime). contact_disclosure names the concerns whose
contact details an audit row ("show in full", an unmasked export) showed in full; the
"show in full" rows already in the audit log are copied in.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-01 06:10:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('user_session',
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('authenticated_at', sa.DateTime(), nullable=False),
    sa.Column('last_seen_at', sa.DateTime(), nullable=False),
    sa.Column('user_agent', sa.String(length=120), nullable=False),
    sa.Column('ip', sa.String(length=45), nullable=False),
    sa.Column('revoked_at', sa.DateTime(), nullable=True),
    sa.Column('revoked_reason', sa.String(length=20), nullable=True),
    sa.CheckConstraint('(revoked_at IS NULL) = (revoked_reason IS NULL)', name=op.f('ck_user_session_revoked_with_reason')),
    sa.CheckConstraint('last_seen_at >= created_at', name=op.f('ck_user_session_seen_after_created')),
    sa.ForeignKeyConstraint(['user_id'], ['user_account.id'], name=op.f('fk_user_session_user_id_user_account'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_user_session'))
    )
    with op.batch_alter_table('user_session', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_user_session_user_id'), ['user_id'], unique=False)

    op.create_table('contact_disclosure',
    sa.Column('audit_id', sa.Integer(), nullable=False),
    sa.Column('concern_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['audit_id'], ['audit_log.id'], name=op.f('fk_contact_disclosure_audit_id_audit_log'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['concern_id'], ['concern.id'], name=op.f('fk_contact_disclosure_concern_id_concern'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('audit_id', 'concern_id', name=op.f('pk_contact_disclosure'))
    )
    with op.batch_alter_table('contact_disclosure', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_contact_disclosure_concern_id'), ['concern_id'], unique=False)

    # "Who saw my number?" has an answer for the past too: every "show in full" so far.
    op.execute(
        "INSERT INTO contact_disclosure (audit_id, concern_id) "
        "SELECT audit_log.id, audit_log.target_id FROM audit_log "
        "JOIN concern ON concern.id = audit_log.target_id "
        "WHERE audit_log.action = 'concern.contact_viewed' AND audit_log.target_type = 'concern'"
    )


def downgrade():
    with op.batch_alter_table('contact_disclosure', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_contact_disclosure_concern_id'))
    op.drop_table('contact_disclosure')
    with op.batch_alter_table('user_session', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_user_session_user_id'))
    op.drop_table('user_session')
