"""deflections counted once per visitor and question; table alignment stored as classes (issue 10)

Revision ID: 0009_deflection_visitors
Revises: 0008_accounts_hardening
Create Date: 2026-11-30 09:55:00

Existing rows keep counting: each gets a visitor key of its own ("legacy:<id>"), so no count
changes; new rows carry "u:<user id>" or a keyed hash of an anonymous visitor.

Rendered bodies stored before this revision align Markdown table cells with
style="text-align:…", which the Content-Security-Policy ignores; they get the classes that
app/core/markdown.py now renders (the exact markup markdown-it and nh3 produced).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes  # noqa: F401  (autogenerate renders AutoString)
from alembic import op


revision: str = '0009_deflection_visitors'
down_revision: str | None = '0008_accounts_hardening'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


_ALIGN = [(f'<{cell} style="text-align:{side}">', f'<{cell} class="align-{side}">')
          for cell in ("th", "td") for side in ("left", "center", "right")]


def _replace_alignment(pairs) -> None:
    conn = op.get_bind()
    for table in ("questions", "answers", "comments"):
        for old, new in pairs:
            conn.execute(sa.text(f"UPDATE {table} SET body_html = REPLACE(body_html, :old, :new) "
                                 "WHERE body_html LIKE :pattern"), {"old": old, "new": new, "pattern": f"%{old}%"})


def upgrade() -> None:
    _replace_alignment(_ALIGN)
    with op.batch_alter_table('deflections', schema=None) as batch_op:
        batch_op.add_column(sa.Column('visitor', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True))
    op.execute("UPDATE deflections SET visitor = 'legacy:' || CAST(id AS VARCHAR(20))")
    with op.batch_alter_table('deflections', schema=None) as batch_op:
        batch_op.alter_column('visitor', existing_type=sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False)
        batch_op.create_unique_constraint(batch_op.f('uq_deflections_question_id_visitor'), ['question_id', 'visitor'])


def downgrade() -> None:
    _replace_alignment([(new, old) for old, new in _ALIGN])
    with op.batch_alter_table('deflections', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_deflections_question_id_visitor'), type_='unique')
        batch_op.drop_column('visitor')
