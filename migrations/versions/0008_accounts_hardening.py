"""accounts hardening: server-side sign-in sessions, look-alike e-mail keys (address not unique)

Revision ID: 0008_accounts_hardening
Revises: 0007_dupes_licences
Create Date: 2026-11-30 09:50:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes  # noqa: F401  (autogenerate renders AutoString)
from alembic import op

revision: str = '0008_accounts_hardening'
down_revision: str | None = '0007_dupes_licences'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('auth_sessions',
    sa.Column('id', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('expires_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_auth_sessions_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_auth_sessions'))
    )
    with op.batch_alter_table('auth_sessions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_auth_sessions_user_id'), ['user_id'], unique=False)

    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('email_key', sqlmodel.sql.sqltypes.AutoString(length=254), nullable=True))
        batch_op.drop_constraint(batch_op.f('uq_users_email'), type_='unique')

    # Backfill the look-alike keys: the oldest account with an address owns it.
    from app.accounts.identity import email_key

    conn = op.get_bind()
    seen: set[str] = set()
    for uid, email in conn.execute(sa.text("SELECT id, email FROM users ORDER BY id")).all():
        key = email_key(email or "")
        if not key or key in seen or key.endswith("@imported.invalid"):
            continue
        seen.add(key)
        conn.execute(sa.text("UPDATE users SET email_key = :k WHERE id = :i"), {"k": key, "i": uid})

    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.create_unique_constraint(batch_op.f('uq_users_email_key'), ['email_key'])


def downgrade() -> None:
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_users_email_key'), type_='unique')
        batch_op.drop_column('email_key')
        batch_op.create_unique_constraint(batch_op.f('uq_users_email'), ['email'])
    with op.batch_alter_table('auth_sessions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_auth_sessions_user_id'))
    op.drop_table('auth_sessions')
