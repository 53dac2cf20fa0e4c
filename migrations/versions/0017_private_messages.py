"""private support messages inside an escalation, between the asker and staff (issue 18,
docs/escalation.md "Private messages")

Revision ID: 0017_private_messages
Revises: 0016_internal_space
Create Date: 2026-11-30 16:10:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes  # noqa: F401  (autogenerate renders AutoString)
from alembic import op


revision: str = '0017_private_messages'
down_revision: str | None = '0016_internal_space'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('escalation_messages',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('escalation_id', sa.Integer(), nullable=False),
    sa.Column('author_id', sa.Integer(), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['author_id'], ['users.id'], name=op.f('fk_escalation_messages_author_id_users')),
    sa.ForeignKeyConstraint(['escalation_id'], ['escalations.id'],
                            name=op.f('fk_escalation_messages_escalation_id_escalations')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_escalation_messages'))
    )
    with op.batch_alter_table('escalation_messages', schema=None) as batch_op:
        batch_op.create_index('ix_escalation_messages_escalation', ['escalation_id', 'id'], unique=False)
        batch_op.create_index(batch_op.f('ix_escalation_messages_author_id'), ['author_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('escalation_messages', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_escalation_messages_author_id'))
        batch_op.drop_index('ix_escalation_messages_escalation')

    op.drop_table('escalation_messages')
