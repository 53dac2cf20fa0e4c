"""pages: indexes so that every page query's cost is independent of the community's size

Measured at 100k questions on PostgreSQL (docs/performance.md): the question page's
"Asked again as" lookup scanned the whole questions table (no index on duplicate_of_id), the
monthly top contributors summed every reputation event since the month began through the
user/time index, and the answer ranking's author record read every answer of the authors.

Revision ID: 0012_page_indexes
Revises: 0011_username_keys
Create Date: 2026-11-30 13:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = '0012_page_indexes'
down_revision: str | None = '0011_username_keys'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # "Asked again as": the duplicates of a question (app/questions/duplicates.py).
    op.create_index('ix_questions_duplicate_of', 'questions', ['duplicate_of_id'], unique=False)
    # The ranking's author record (app/answers/ranking.py): an author's answers with their
    # question and score, read from the index alone.
    op.create_index('ix_answers_author_question', 'answers', ['author_id', 'question_id', 'score'], unique=False)
    # Top contributors this month over all products (app/reputation/service.py).
    op.create_index('ix_reputation_events_time', 'reputation_events', ['occurred_at'], unique=False)
    # Answers moved by merges (app/questions/views.py: merged_from), and a tag's questions in order.
    op.create_index('ix_answers_merged_from', 'answers', ['merged_from_question_id'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_answers_merged_from', table_name='answers')
    op.drop_index('ix_reputation_events_time', table_name='reputation_events')
    op.drop_index('ix_answers_author_question', table_name='answers')
    op.drop_index('ix_questions_duplicate_of', table_name='questions')
