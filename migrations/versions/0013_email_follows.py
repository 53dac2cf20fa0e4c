"""e-mail outbox, account tokens, mail settings, notification preferences, follows

Revision ID: 0013_email_follows
Revises: 0012_page_indexes
Create Date: 2026-11-30 12:40:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes  # noqa: F401
from alembic import op

revision: str = '0013_email_follows'
down_revision: str | None = '0012_page_indexes'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

S = sqlmodel.sql.sqltypes.AutoString


def upgrade() -> None:
    op.create_table(
        'email_outbox',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=True),
        sa.Column('to_addr', S(length=254), nullable=False),
        sa.Column('to_key', S(length=254), nullable=False),
        sa.Column('kind', S(length=40), nullable=False),
        sa.Column('security', sa.Boolean(), nullable=False),
        sa.Column('subject', S(length=200), nullable=False),
        sa.Column('text_body', sa.Text(), nullable=False),
        sa.Column('html_body', sa.Text(), nullable=False),
        sa.Column('unsubscribe_url', S(length=500), nullable=True),
        sa.Column('message_id', S(length=200), nullable=False),
        sa.Column('status', S(length=8), nullable=False),
        sa.Column('attempts', sa.Integer(), nullable=False),
        sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column('next_attempt_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column('claimed_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column('sent_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column('last_error', S(length=500), nullable=True),
        sa.Column('eml_path', S(length=500), nullable=True),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_email_outbox')),
        sa.UniqueConstraint('message_id', name=op.f('uq_email_outbox_message_id')),
    )
    with op.batch_alter_table('email_outbox', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_email_outbox_user_id'), ['user_id'], unique=False)
        batch_op.create_index('ix_email_outbox_pending', ['next_attempt_at', 'id'], unique=False,
                              sqlite_where=sa.text("status = 'pending'"),
                              postgresql_where=sa.text("status = 'pending'"))
        batch_op.create_index('ix_email_outbox_to_kind', ['to_key', 'kind', 'created_at'], unique=False)
        batch_op.create_index('ix_email_outbox_user_kind', ['user_id', 'kind', 'created_at'], unique=False)

    op.create_table(
        'account_tokens',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('purpose', S(length=16), nullable=False),
        sa.Column('token_hash', S(length=64), nullable=False),
        sa.Column('email', S(length=254), nullable=False),
        sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column('expires_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column('used_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_account_tokens_user_id_users')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_account_tokens')),
        sa.UniqueConstraint('token_hash', name=op.f('uq_account_tokens_token_hash')),
    )
    with op.batch_alter_table('account_tokens', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_account_tokens_user_id'), ['user_id'], unique=False)

    op.create_table(
        'user_mail_settings',
        sa.Column('user_id', sa.Integer(), autoincrement=False, nullable=False),
        sa.Column('email_verified_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column('timezone', S(length=64), nullable=False),
        sa.Column('digest_hour', sa.Integer(), nullable=False),
        sa.Column('auto_follow', sa.Boolean(), nullable=False),
        sa.Column('bounced_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column('bounce_reason', S(length=300), nullable=True),
        sa.Column('last_daily_digest_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column('last_weekly_digest_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_user_mail_settings_user_id_users')),
        sa.PrimaryKeyConstraint('user_id', name=op.f('pk_user_mail_settings')),
    )

    op.create_table(
        'notification_preferences',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('kind', S(length=40), nullable=False),
        sa.Column('delivery', S(length=8), nullable=False),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_notification_preferences_user_id_users')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_notification_preferences')),
        sa.UniqueConstraint('user_id', 'kind', name=op.f('uq_notification_preferences_user_id_kind')),
    )
    with op.batch_alter_table('notification_preferences', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_notification_preferences_user_id'), ['user_id'], unique=False)

    op.create_table(
        'follows',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('target_type', S(length=10), nullable=False),
        sa.Column('target_key', S(length=64), nullable=False),
        sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_follows_user_id_users')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_follows')),
        sa.UniqueConstraint('user_id', 'target_type', 'target_key', name=op.f('uq_follows_user_id_target_type_target_key')),
    )
    with op.batch_alter_table('follows', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_follows_user_id'), ['user_id'], unique=False)
        batch_op.create_index('ix_follows_target', ['target_type', 'target_key'], unique=False)


def downgrade() -> None:
    op.drop_table('follows')
    op.drop_table('notification_preferences')
    op.drop_table('user_mail_settings')
    op.drop_table('account_tokens')
    op.drop_table('email_outbox')
