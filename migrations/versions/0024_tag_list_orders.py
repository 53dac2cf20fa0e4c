"""question_tags: the question's score and last activity, so a tag's "votes" and "active" lists read in order

Migration 0023 let a tag's newest-first list read the tag's rows in order and stop after a page.
Its other orders (`/tags/{name}?sort=votes|active`, the API's `?tag=…&sort=…`, saved views) still
joined every question carrying the tag and sorted them all: the cost of a page grew with the tag
(issue 11: every page's cost independent of the community's size). Unlike the creation time, a
question's score and last activity change (every vote, answer, comment and edit), so the copies
beside the tag are kept by the database itself: an AFTER UPDATE trigger on `questions`
(`questions_copy_to_tags`) rewrites the question's `question_tags` rows in the same statement
whenever either column changes, whichever code path changed it (services, the importer's
set-based finish, the demo loader, a repair in SQL). Rows are given the question's values when a
tag is attached (app/questions/service._set_tags, the importer).

Caution for later migrations on SQLite: `batch_alter_table` on `questions` or `question_tags`
rebuilds the table. On `questions` that drops the trigger silently; on `question_tags` the
rename fails outright while the trigger names the table (SQLite ≥ 3.25 checks every trigger). Such
a migration must drop `questions_copy_to_tags` first and create it again after, with a copy of
the statements below (a migration cannot import this module by name: it starts with a digit).
tests/services/test_tag_lists.py fails if the copies stop following.

Revision ID: 0024_tag_list_orders
Revises: 0023_tag_list_index
Create Date: 2026-12-03 08:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = '0024_tag_list_orders'
down_revision: str | None = '0023_tag_list_index'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_COPY = ("UPDATE question_tags SET question_score = NEW.score, question_last_activity_at = NEW.last_activity_at "
         "WHERE question_id = NEW.id;")


def create_copy_trigger() -> None:
    """Create `questions_copy_to_tags`: after an UPDATE that changes a question's score or
    last_activity_at, the same values are written to its question_tags rows (PostgreSQL: a
    PL/pgSQL function and a row trigger; SQLite: a row trigger)."""
    if op.get_bind().dialect.name == "postgresql":
        op.execute("CREATE FUNCTION questions_copy_to_tags() RETURNS trigger LANGUAGE plpgsql AS $$ "
                   f"BEGIN {_COPY} RETURN NULL; END $$")
        op.execute("CREATE TRIGGER questions_copy_to_tags AFTER UPDATE OF score, last_activity_at ON questions "
                   "FOR EACH ROW WHEN (OLD.score IS DISTINCT FROM NEW.score "
                   "OR OLD.last_activity_at IS DISTINCT FROM NEW.last_activity_at) "
                   "EXECUTE FUNCTION questions_copy_to_tags()")
    else:
        op.execute("CREATE TRIGGER questions_copy_to_tags AFTER UPDATE OF score, last_activity_at ON questions "
                   "FOR EACH ROW WHEN OLD.score IS NOT NEW.score OR OLD.last_activity_at IS NOT NEW.last_activity_at "
                   f"BEGIN {_COPY} END")


def drop_copy_trigger() -> None:
    """Drop what create_copy_trigger made."""
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS questions_copy_to_tags ON questions")
        op.execute("DROP FUNCTION IF EXISTS questions_copy_to_tags()")
    else:
        op.execute("DROP TRIGGER IF EXISTS questions_copy_to_tags")


def upgrade() -> None:
    with op.batch_alter_table('question_tags', schema=None) as batch_op:
        batch_op.add_column(sa.Column('question_last_activity_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column('question_score', sa.Integer(), nullable=True))
    op.execute("UPDATE question_tags SET "
               "question_last_activity_at = (SELECT q.last_activity_at FROM questions q "
               "WHERE q.id = question_tags.question_id), "
               "question_score = (SELECT q.score FROM questions q WHERE q.id = question_tags.question_id)")
    with op.batch_alter_table('question_tags', schema=None) as batch_op:
        batch_op.alter_column('question_last_activity_at', existing_type=sqlmodel.sql.sqltypes.UTCDateTime(),
                              nullable=False)
        batch_op.alter_column('question_score', existing_type=sa.Integer(), nullable=False)
        batch_op.create_index('ix_question_tags_tag_activity', ['tag_id', 'question_last_activity_at', 'question_id'],
                              unique=False)
        batch_op.create_index('ix_question_tags_tag_score', ['tag_id', 'question_score', 'question_id'], unique=False)
    create_copy_trigger()


def downgrade() -> None:
    drop_copy_trigger()
    with op.batch_alter_table('question_tags', schema=None) as batch_op:
        batch_op.drop_index('ix_question_tags_tag_score')
        batch_op.drop_index('ix_question_tags_tag_activity')
        batch_op.drop_column('question_score')
        batch_op.drop_column('question_last_activity_at')
