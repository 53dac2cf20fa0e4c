"""questions: a product's lists read in order, from (product_id, sort key, id) indexes

A product's page and the product sites' API (`/products/{slug}`, `?product=`) list that product's
questions newest first, by activity or by votes. With only `questions (product_id)`, PostgreSQL
chose between walking the community-wide index of the order until a page of the product's
questions turned up and reading all of the product's questions to sort them; either way the cost
grew with the community: 1.2–2.7 ms in the database at 100k questions for a product on 1,800 of
them (about the square root of 30 × the community, where the two cost the same), and more at 1M
(issue 11: every page's cost independent of the community's size). With these indexes each
list reads its page in order and stops. The first one also serves the foreign key, so the
single-column `ix_questions_product_id` goes.

Plain `create_index` (no table rebuild), so the trigger of migration 0024 on `questions` stays.

Revision ID: 0025_product_list_indexes
Revises: 0024_tag_list_orders
Create Date: 2026-12-03 09:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = '0025_product_list_indexes'
down_revision: str | None = '0024_tag_list_orders'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index('ix_questions_product_created', 'questions', ['product_id', 'created_at', 'id'], unique=False)
    op.create_index('ix_questions_product_activity', 'questions', ['product_id', 'last_activity_at', 'id'], unique=False)
    op.create_index('ix_questions_product_score', 'questions', ['product_id', 'score', 'id'], unique=False)
    op.drop_index('ix_questions_product_id', table_name='questions')


def downgrade() -> None:
    op.create_index('ix_questions_product_id', 'questions', ['product_id'], unique=False)
    op.drop_index('ix_questions_product_score', table_name='questions')
    op.drop_index('ix_questions_product_activity', table_name='questions')
    op.drop_index('ix_questions_product_created', table_name='questions')
