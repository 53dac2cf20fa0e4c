"""questions.duplicate_via_id: what a re-pointed duplicate was closed against

When a question that has duplicates is itself closed as a duplicate (or a dump's links chain),
its duplicates are re-pointed to the end of the chain (app/questions/duplicates.py). The new
column keeps the question each was closed against, so the learned re-ranker can leave such links
out of its training (docs/search-research.md, "Chains"). Rows re-pointed before this migration
cannot be told apart (the earlier target was not kept): they stay NULL until re-imported.

Revision ID: 0028_duplicate_via
Revises: 0027_single_line_texts
Create Date: 2026-12-06 05:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0028_duplicate_via'
down_revision: str | None = '0027_single_line_texts'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('questions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('duplicate_via_id', sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('questions', schema=None) as batch_op:
        batch_op.drop_column('duplicate_via_id')
