"""notifications: an index on (created_at, user_id) for the digest job's candidates

The e-mail digest job (app/mail/digests.py) used to read every verified member's mail settings
every few minutes; it now starts from the members with an unread notification from the past
week, a range on this index, so its cost follows recent activity, not the number of members.

Revision ID: 0021_digest_index
Revises: 0020_quotes
Create Date: 2026-11-30 16:30:00
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = '0021_digest_index'
down_revision: str | None = '0020_quotes'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index('ix_notifications_created', 'notifications', ['created_at', 'user_id'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_notifications_created', table_name='notifications')
