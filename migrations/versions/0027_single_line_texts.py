"""one-line texts: clean the names and titles stored before clean_single_line

Display names, question, revision and suggested-edit titles, saved-view, API key and product
names, the names credited on imported posts (`source_author`) and notice texts are one line shown
among others. Services now store them through app/core/text.py `clean_single_line` (NFC; C0/C1
controls, direction embeddings/overrides/isolates and zero-width spaces dropped; whitespace runs,
newlines and tabs one space; no space at the ends). This cleans the rows written before, with a
frozen copy of that function. A text that would be left empty gets the fallback the importer
uses ("Question {id}", "deleted user", …). Tag names are left alone: cleaning could make two tags
one name (docs/content-rules.md). Slugs and URLs stay as they are.

Downgrade changes nothing back (the removed characters are not kept anywhere).

Revision ID: 0027_single_line_texts
Revises: 0026_notification_posts
Create Date: 2026-12-05 07:30:00
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0027_single_line_texts'
down_revision: str | None = '0026_notification_posts'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_BATCH = 5000
_DIRECTION = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
_ZERO_WIDTH = frozenset("\u200b\u2060\u2061\u2062\u2063\u2064\ufeff")
_JOINERS = frozenset("\u200c\u200d")
_BLANK_RANGES = ((0x034F, 0x034F), (0x115F, 0x1160), (0x17B4, 0x17B5), (0x180B, 0x180F), (0x2800, 0x2800),
                 (0x3164, 0x3164), (0xFE00, 0xFE0F), (0xFFA0, 0xFFA0), (0xE0100, 0xE01EF))


def _visible(ch: str) -> bool:
    if ch.isspace() or unicodedata.category(ch) in ("Cc", "Cf", "Zs", "Zl", "Zp"):
        return False
    return not any(lo <= ord(ch) <= hi for lo, hi in _BLANK_RANGES)


def clean_single_line(text: str | None) -> str:
    """Frozen copy of app/core/text.py clean_single_line at this revision."""
    if not text:
        return ""
    kept: list[str] = []
    for ch in unicodedata.normalize("NFC", text):
        if ch.isspace():
            kept.append(" ")
        elif unicodedata.category(ch) == "Cc" or ch in _DIRECTION or ch in _ZERO_WIDTH:
            continue
        else:
            kept.append(ch)
    out: list[str] = []
    for i, ch in enumerate(kept):
        if ch in _JOINERS:
            before = out[-1] if out else " "
            after = next((c for c in kept[i + 1:] if c not in _JOINERS), " ")
            if before == " " or before in _JOINERS or after == " " or not _visible(after):
                continue
        out.append(ch)
    return " ".join("".join(out).split())


# (table, column, max length, fallback for a text left empty: None keeps NULL/"" as it is)
COLUMNS = (
    ("users", "display_name", 60, ""),
    ("questions", "title", 150, "Question {id}"),
    ("questions", "source_author", 120, "deleted user"),
    ("answers", "source_author", 120, "deleted user"),
    ("comments", "source_author", 120, "deleted user"),
    ("revisions", "title", 150, "Question {post_id}"),
    ("suggested_edits", "title", 150, "Question {post_id}"),
    ("saved_views", "name", 60, "View {id}"),
    ("api_keys", "name", 80, "Key {id}"),
    ("products", "name", 120, "{slug}"),
    ("notifications", "text", 300, ""),
)


def _clean_column(conn, table_name: str, column: str, limit: int, fallback: str) -> list[int]:
    """Clean one column in batches of _BATCH rows (keyset on id); returns the ids of the rows changed."""
    inspector = sa.inspect(conn)
    names = {c["name"] for c in inspector.get_columns(table_name)}
    if column not in names:
        return []
    extra = [n for n in ("post_id", "slug") if n in names and "{" + n + "}" in fallback]
    table = sa.table(table_name, sa.column("id", sa.Integer), sa.column(column, sa.String),
                     *(sa.column(n) for n in extra))
    after, changed = 0, []
    while True:
        rows = conn.execute(sa.select(table.c.id, table.c[column], *(table.c[n] for n in extra))
                            .where(table.c.id > after, table.c[column].is_not(None))
                            .order_by(table.c.id).limit(_BATCH)).all()
        if not rows:
            return changed
        after = rows[-1].id
        updates = []
        for row in rows:
            value = row[1]
            cleaned = clean_single_line(value)[:limit].rstrip()
            if not cleaned and value:
                cleaned = fallback.format(id=row.id, **{n: getattr(row, n) for n in extra})[:limit]
            if cleaned != value:
                updates.append({"rid": row.id, "v": cleaned})
        if updates:
            conn.execute(table.update().where(table.c.id == sa.bindparam("rid")).values({column: sa.bindparam("v")}),
                         updates)
            changed += [u["rid"] for u in updates]


def upgrade() -> None:
    conn = op.get_bind()
    retitled: set[int] = set()
    for table_name, column, limit, fallback in COLUMNS:
        changed = _clean_column(conn, table_name, column, limit, fallback)
        if table_name == "questions":
            retitled |= set(changed)
    # A question's search document holds its title: re-index the ones changed (as 0007 does).
    from app.search import outbox

    outbox.emit(conn, retitled)


def downgrade() -> None:
    pass  # the cleaned characters are not kept: nothing to put back
