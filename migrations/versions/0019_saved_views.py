"""saved views: named question-list filters shown as dashboard columns (issue 18, docs/saved-views.md)

Revision ID: 0019_saved_views
Revises: 0018_badges
Create Date: 2026-11-30 16:15:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes  # noqa: F401  (autogenerate renders AutoString)
from alembic import op

revision: str = '0019_saved_views'
down_revision: str | None = '0018_badges'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

S = sqlmodel.sql.sqltypes.AutoString


def upgrade() -> None:
    op.create_table(
        'saved_views',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('owner_id', sa.Integer(), nullable=False),
        sa.Column('name', S(length=60), nullable=False),
        sa.Column('position', sa.Integer(), nullable=False),
        sa.Column('shared', sa.Boolean(), nullable=False),
        sa.Column('sort', S(length=12), nullable=False),
        sa.Column('product_id', sa.Integer(), nullable=True),
        sa.Column('tag', S(length=35), nullable=True),
        sa.Column('unanswered', sa.Boolean(), nullable=False),
        sa.Column('unsolved', sa.Boolean(), nullable=False),
        sa.Column('has_me_too', sa.Boolean(), nullable=False),
        sa.Column('escalation_status', S(length=12), nullable=True),
        sa.Column('breaching_hours', sa.Integer(), nullable=True),
        sa.Column('assigned_to_me', sa.Boolean(), nullable=False),
        sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column('updated_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(['owner_id'], ['users.id'], name=op.f('fk_saved_views_owner_id_users')),
        sa.ForeignKeyConstraint(['product_id'], ['products.id'], name=op.f('fk_saved_views_product_id_products')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_saved_views')),
    )
    with op.batch_alter_table('saved_views', schema=None) as batch_op:
        batch_op.create_index('ix_saved_views_owner_position', ['owner_id', 'position', 'id'], unique=False)
        batch_op.create_index('ix_saved_views_shared', ['shared', 'id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('saved_views', schema=None) as batch_op:
        batch_op.drop_index('ix_saved_views_shared')
        batch_op.drop_index('ix_saved_views_owner_position')
    op.drop_table('saved_views')
