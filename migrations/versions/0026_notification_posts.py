"""notifications: the post each notice is about (question_id, post_type, post_id), backfilled

The unread count, the notifications list and the e-mail digests judge a notice by whether its
recipient may still see its post (app/notifications/service.py visible_condition): one SQL rule,
so that the badge's count and the list agree. Notices so far only linked to their post; this adds
the post's kind and id (and its thread's question) and fills them from each existing notice's link
(`/questions/{id}/…`, `#answer-{id}` or `#comment-{id}`) where that post exists. Notices that link
elsewhere (profiles, settings, escalations) keep NULLs: they are about no post.

Revision ID: 0026_notification_posts
Revises: 0025_product_list_indexes
Create Date: 2026-12-05 07:00:00
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes  # noqa: F401  (autogenerate renders AutoString)
from alembic import op

revision: str = '0026_notification_posts'
down_revision: str | None = '0025_product_list_indexes'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Frozen copy of app/notifications/service.py _POST_IN_URL at this revision.
_POST_IN_URL = re.compile(r"^/questions/(\d{1,12})(?:[/?][^#]*)?(?:#(answer|comment)-(\d{1,12}))?$")
_TABLES = {"question": "questions", "answer": "answers", "comment": "comments"}
_BATCH = 5000


def upgrade() -> None:
    with op.batch_alter_table('notifications', schema=None) as batch_op:
        batch_op.add_column(sa.Column('question_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('post_type', sqlmodel.sql.sqltypes.AutoString(length=8), nullable=True))
        batch_op.add_column(sa.Column('post_id', sa.Integer(), nullable=True))
    conn = op.get_bind()
    notifications = sa.table('notifications', sa.column('id', sa.Integer), sa.column('url', sa.String),
                             sa.column('question_id', sa.Integer), sa.column('post_type', sa.String),
                             sa.column('post_id', sa.Integer))
    after = 0
    while True:
        rows = conn.execute(sa.select(notifications.c.id, notifications.c.url)
                            .where(notifications.c.id > after, notifications.c.url.like('/questions/%'))
                            .order_by(notifications.c.id).limit(_BATCH)).all()
        if not rows:
            break
        after = rows[-1].id
        parsed = {}
        for row in rows:
            found = _POST_IN_URL.match(row.url or "")
            if found is None or int(found.group(1)) > 2**31 - 1 or int(found.group(3) or 0) > 2**31 - 1:
                continue
            post_type = found.group(2) or "question"
            parsed[row.id] = (int(found.group(1)), post_type, int(found.group(3) or found.group(1)))
        existing = set()
        for post_type, table in _TABLES.items():
            ids = {p[2] for p in parsed.values() if p[1] == post_type}
            if ids:
                existing |= {(post_type, i) for i in conn.execute(
                    sa.text(f"SELECT id FROM {table} WHERE id IN :ids").bindparams(
                        sa.bindparam('ids', expanding=True)), {"ids": sorted(ids)}).scalars()}
        updates = [{"nid": nid, "q": q, "t": t, "p": p} for nid, (q, t, p) in parsed.items() if (t, p) in existing]
        if updates:
            conn.execute(notifications.update().where(notifications.c.id == sa.bindparam('nid'))
                         .values(question_id=sa.bindparam('q'), post_type=sa.bindparam('t'),
                                 post_id=sa.bindparam('p')), updates)


def downgrade() -> None:
    with op.batch_alter_table('notifications', schema=None) as batch_op:
        batch_op.drop_column('post_id')
        batch_op.drop_column('post_type')
        batch_op.drop_column('question_id')
