"""accounts: look-alike keys for usernames (raj-builds passes for raj_builds)

Revision ID: 0011_username_keys
Revises: 0010_learned_ranking
Create Date: 2026-11-30 11:30:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes  # noqa: F401  (autogenerate renders AutoString)
from alembic import op

from app.accounts.identity import username_key

revision: str = '0011_username_keys'
down_revision: str | None = '0010_learned_ranking'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('username_key', sqlmodel.sql.sqltypes.AutoString(length=30), nullable=True))
        batch_op.create_index(batch_op.f('ix_users_username_key'), ['username_key'], unique=False)
    # Existing accounts get their key (pairs that already pass for each other both keep their names).
    conn = op.get_bind()
    users = sa.table('users', sa.column('id', sa.Integer), sa.column('username', sa.String),
                     sa.column('username_key', sa.String))
    rows = conn.execute(sa.select(users.c.id, users.c.username)).all()
    for start in range(0, len(rows), 1000):
        conn.execute(users.update().where(users.c.id == sa.bindparam('uid')).values(username_key=sa.bindparam('key')),
                     [{'uid': uid, 'key': username_key(name)} for uid, name in rows[start:start + 1000]])


def downgrade() -> None:
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_users_username_key'))
        batch_op.drop_column('username_key')
