"""badges: awarded_badges, one row per badge held (issue 18, docs/badges.md)

Revision ID: 0018_badges
Revises: 0017_private_messages
Create Date: 2026-11-30 16:20:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes  # noqa: F401  (autogenerate renders AutoString)
from alembic import op


revision: str = '0018_badges'
down_revision: str | None = '0017_private_messages'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('awarded_badges',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('badge', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('subject', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('post_type', sqlmodel.sql.sqltypes.AutoString(length=8), nullable=True),
    sa.Column('post_id', sa.Integer(), nullable=True),
    sa.Column('product_id', sa.Integer(), nullable=True),
    sa.Column('awarded_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('withdrawn_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.ForeignKeyConstraint(['product_id'], ['products.id'], name=op.f('fk_awarded_badges_product_id_products')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_awarded_badges_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_awarded_badges')),
    sa.UniqueConstraint('user_id', 'badge', 'subject', name='uq_awarded_badges_user_badge_subject')
    )
    with op.batch_alter_table('awarded_badges', schema=None) as batch_op:
        batch_op.create_index('ix_awarded_badges_badge_time', ['badge', 'awarded_at'], unique=False)
        batch_op.create_index('ix_awarded_badges_user', ['user_id', 'awarded_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('awarded_badges', schema=None) as batch_op:
        batch_op.drop_index('ix_awarded_badges_user')
        batch_op.drop_index('ix_awarded_badges_badge_time')
    op.drop_table('awarded_badges')
