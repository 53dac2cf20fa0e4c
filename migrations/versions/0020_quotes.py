"""quotes: post_quotes, one row per post quoting another (issue 18, docs/quoting.md)

Revision ID: 0020_quotes
Revises: 0019_saved_views
Create Date: 2026-11-30 16:20:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes  # noqa: F401  (autogenerate renders AutoString)
from alembic import op


revision: str = '0020_quotes'
down_revision: str | None = '0019_saved_views'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('post_quotes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('quoting_type', sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
    sa.Column('quoting_id', sa.Integer(), nullable=False),
    sa.Column('quoted_type', sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
    sa.Column('quoted_id', sa.Integer(), nullable=False),
    sa.Column('quoted_author_id', sa.Integer(), nullable=False),
    sa.Column('quoting_author_id', sa.Integer(), nullable=False),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('removed_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.Column('notified_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.ForeignKeyConstraint(['quoted_author_id'], ['users.id'], name=op.f('fk_post_quotes_quoted_author_id_users')),
    sa.ForeignKeyConstraint(['quoting_author_id'], ['users.id'], name=op.f('fk_post_quotes_quoting_author_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_post_quotes')),
    sa.UniqueConstraint('quoting_type', 'quoting_id', 'quoted_type', 'quoted_id',
                        name=op.f('uq_post_quotes_quoting_type_quoting_id_quoted_type_quoted_id'))
    )
    with op.batch_alter_table('post_quotes', schema=None) as batch_op:
        batch_op.create_index('ix_post_quotes_quoted', ['quoted_type', 'quoted_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_post_quotes_quoted_author_id'), ['quoted_author_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('post_quotes', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_post_quotes_quoted_author_id'))
        batch_op.drop_index('ix_post_quotes_quoted')
    op.drop_table('post_quotes')
