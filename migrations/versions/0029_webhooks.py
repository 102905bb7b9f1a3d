"""webhook subscriptions of API keys, and the HTTP status of an outbox row's last attempt

Revision ID: 0029_webhooks
Revises: 0027_word_search
Create Date: 2026-12-01 19:00:00

"""
import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = '0029_webhooks'
down_revision = '0030_daily_figures'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'webhook_subscription',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('api_key_id', sa.Integer(), nullable=False),
        sa.Column('url', sa.String(length=500), nullable=False),
        sa.Column('events', sa.JSON(), nullable=False),
        sa.Column('secret', sa.String(length=80), nullable=False),
        sa.Column('created_by_id', sa.Integer(), nullable=True),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('paused_at', sa.DateTime(), nullable=True),
        sa.Column('deleted_at', sa.DateTime(), nullable=True),
        sa.CheckConstraint(
            "substr(url, 1, 7) = 'http://' OR substr(url, 1, 8) = 'https://'",
            name=op.f('ck_webhook_subscription_http_url'),
        ),
        sa.CheckConstraint(
            'paused_at IS NULL OR deleted_at IS NULL', name=op.f('ck_webhook_subscription_paused_or_deleted')
        ),
        sa.ForeignKeyConstraint(['api_key_id'], ['api_key.id'], name=op.f('fk_webhook_subscription_api_key_id_api_key')),
        sa.ForeignKeyConstraint(
            ['created_by_id'],
            ['user_account.id'],
            name=op.f('fk_webhook_subscription_created_by_id_user_account'),
            ondelete='SET NULL',
        ),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_webhook_subscription')),
    )
    with op.batch_alter_table('webhook_subscription', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_webhook_subscription_api_key_id'), ['api_key_id'], unique=False)

    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.add_column(sa.Column('response_code', sa.Integer(), nullable=True))


def downgrade():
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.drop_column('response_code')
    with op.batch_alter_table('webhook_subscription', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_webhook_subscription_api_key_id'))
    op.drop_table('webhook_subscription')
