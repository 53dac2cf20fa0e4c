"""internal space: questions.visibility ('public' | 'internal'), staff-only links from public
threads and escalations to internal questions, webhook endpoints that receive internal events
(issue 18, docs/internal.md)

Revision ID: 0016_internal_space
Revises: 0015_moderation
Create Date: 2026-11-30 16:10:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes  # noqa: F401
from alembic import op


revision: str = '0016_internal_space'
down_revision: str | None = '0015_moderation'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('questions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('visibility', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False,
                                      server_default='public'))
    with op.batch_alter_table('webhook_endpoints', schema=None) as batch_op:
        batch_op.add_column(sa.Column('internal', sa.Boolean(), nullable=False, server_default=sa.false()))
    op.create_table('internal_links',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('question_id', sa.Integer(), nullable=False),
    sa.Column('internal_id', sa.Integer(), nullable=False),
    sa.Column('escalation_id', sa.Integer(), nullable=True),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_internal_links_created_by_id_users')),
    sa.ForeignKeyConstraint(['escalation_id'], ['escalations.id'], name=op.f('fk_internal_links_escalation_id_escalations')),
    sa.ForeignKeyConstraint(['internal_id'], ['questions.id'], name=op.f('fk_internal_links_internal_id_questions')),
    sa.ForeignKeyConstraint(['question_id'], ['questions.id'], name=op.f('fk_internal_links_question_id_questions')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_internal_links')),
    sa.UniqueConstraint('question_id', 'internal_id', name=op.f('uq_internal_links_question_id_internal_id'))
    )
    with op.batch_alter_table('internal_links', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_internal_links_internal_id'), ['internal_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_internal_links_question_id'), ['question_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('internal_links', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_internal_links_question_id'))
        batch_op.drop_index(batch_op.f('ix_internal_links_internal_id'))
    op.drop_table('internal_links')
    with op.batch_alter_table('webhook_endpoints', schema=None) as batch_op:
        batch_op.drop_column('internal')
    with op.batch_alter_table('questions', schema=None) as batch_op:
        batch_op.drop_column('visibility')
