"""search: models learned from the community's duplicate links (query adapter)

Revision ID: 0010_learned_ranking
Revises: 0009_deflection_visitors
Create Date: 2026-11-30 09:30:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes  # noqa: F401  (autogenerate renders AutoString)
from alembic import op


revision: str = '0010_learned_ranking'
down_revision: str | None = '0009_deflection_visitors'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('search_learned_models',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('encoder', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('links', sa.Integer(), nullable=False),
    sa.Column('seconds', sa.Float(), nullable=False),
    sa.Column('metrics', sa.Text(), nullable=False),
    sa.Column('blob', sa.LargeBinary(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_search_learned_models'))
    )


def downgrade() -> None:
    op.drop_table('search_learned_models')
