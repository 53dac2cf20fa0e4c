"""questions: partial indexes for the unanswered and unsolved lists

`/?sort=unanswered` (and saved views, the API's `sort=unanswered`, the escalation sweep) read the
newest questions with no answer. With only the (created_at, id) index, PostgreSQL walked or
scanned every question to find the few unanswered ones: 198 ms at 100k questions when none was
unanswered (issue 11: every page's cost independent of the community's size). These partial
indexes hold only the questions each filter selects, newest first.

Revision ID: 0022_list_filter_indexes
Revises: 0021_digest_index
Create Date: 2026-11-30 20:20:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0022_list_filter_indexes'
down_revision: str | None = '0021_digest_index'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UNANSWERED = "answer_count = 0 AND deleted_at IS NULL"
UNSOLVED = "accepted_answer_id IS NULL AND deleted_at IS NULL"


def upgrade() -> None:
    op.create_index('ix_questions_unanswered', 'questions', ['created_at', 'id'], unique=False,
                    postgresql_where=sa.text(UNANSWERED), sqlite_where=sa.text(UNANSWERED))
    op.create_index('ix_questions_unsolved', 'questions', ['created_at', 'id'], unique=False,
                    postgresql_where=sa.text(UNSOLVED), sqlite_where=sa.text(UNSOLVED))


def downgrade() -> None:
    op.drop_index('ix_questions_unsolved', table_name='questions')
    op.drop_index('ix_questions_unanswered', table_name='questions')
