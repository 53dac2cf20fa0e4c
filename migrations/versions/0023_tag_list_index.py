"""question_tags: the question's creation time, so a tag's newest questions are read in order

A tag page (`/tags/{name}`, the API's `?tag=`, a saved view with a tag), newest first, joined
every question carrying the tag and sorted them all to show 30: 10–14 ms at 100k questions for a
tag on 686 of them, growing with the tag (issue 11: every page's cost independent of the
community's size). A question's creation time never changes, so a copy of it beside the tag,
set when the tag is attached, is always right; with the index on (tag_id, question_created_at,
question_id) the list reads the tag's newest rows in order and stops after one page.

Revision ID: 0023_tag_list_index
Revises: 0022_list_filter_indexes
Create Date: 2026-12-02 14:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = '0023_tag_list_index'
down_revision: str | None = '0022_list_filter_indexes'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('question_tags', schema=None) as batch_op:
        batch_op.add_column(sa.Column('question_created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True))
    op.execute("UPDATE question_tags SET question_created_at = "
               "(SELECT q.created_at FROM questions q WHERE q.id = question_tags.question_id)")
    with op.batch_alter_table('question_tags', schema=None) as batch_op:
        batch_op.alter_column('question_created_at', existing_type=sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False)
        batch_op.create_index('ix_question_tags_tag_created', ['tag_id', 'question_created_at', 'question_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('question_tags', schema=None) as batch_op:
        batch_op.drop_index('ix_question_tags_tag_created')
        batch_op.drop_column('question_created_at')
