"""Cached pages follow the posts a quote names (docs/quoting.md): when a post changes in a way a
credit line or a "quoted in" count shows, the pages of the posts quoting it, and of the posts it
quotes, are recorded as changed in the search outbox, which also drops their cached anonymous
pages (app/web/pagecache.py). Without this, a deleted post's credit could stay on a cached page
for up to the cache's TTL."""

from __future__ import annotations

from sqlalchemy import and_, event, inspect, or_, select
from sqlmodel import Session

_WATCHED = ("deleted_at", "hidden_at", "visibility", "author_id", "title", "slug", "question_id")


def touch_pages(session: Session, keys: list[tuple[str, int]]) -> None:
    """Record the questions holding these posts as changed (search outbox, which also drops their
    cached anonymous pages: app/web/pagecache.py)."""
    from app.answers.models import Answer
    from app.search import outbox

    question_ids = {pid for kind, pid in keys if kind == "question"}
    answer_ids = sorted({pid for kind, pid in keys if kind == "answer"})
    if answer_ids:
        a = Answer.__table__
        question_ids.update(session.connection().execute(
            select(a.c.question_id).where(a.c.id.in_(answer_ids))).scalars())
    outbox.emit(session.connection(), question_ids)


def _after_flush(session: Session, _context) -> None:
    """When a post changes in a way a credit line or a count shows (deleted, hidden, made
    internal, retitled, moved), the pages of the posts quoting it, and of the posts it quotes,
    are recorded as changed too."""
    from app.answers.models import Answer
    from app.questions.models import Question

    keys: list[tuple[str, int]] = []
    for obj in (*session.dirty, *session.deleted):
        if not isinstance(obj, (Question, Answer)) or obj.id is None:
            continue
        state = inspect(obj)
        if obj in session.deleted or any(
                name in state.attrs and state.attrs[name].history.has_changes() for name in _WATCHED):
            keys.append(("question" if isinstance(obj, Question) else "answer", obj.id))
    if not keys:
        return
    from app.quotes.models import PostQuote

    pqt, answers = PostQuote.__table__, Answer.__table__
    keys = keys[:500]
    related = or_(*[or_(and_(pqt.c.quoted_type == kind, pqt.c.quoted_id == pid),
                        and_(pqt.c.quoting_type == kind, pqt.c.quoting_id == pid)) for kind, pid in keys])
    question_ids = [pid for kind, pid in keys if kind == "question"]
    if question_ids:  # a question deleted, hidden or made internal takes its answers' credit with it
        in_thread = select(answers.c.id).where(answers.c.question_id.in_(question_ids))
        related = or_(related, and_(pqt.c.quoted_type == "answer", pqt.c.quoted_id.in_(in_thread)))
    rows = session.connection().execute(
        select(pqt.c.quoting_type, pqt.c.quoting_id, pqt.c.quoted_type, pqt.c.quoted_id).where(related)).all()
    if rows:
        touch_pages(session, [(r[0], r[1]) for r in rows] + [(r[2], r[3]) for r in rows])


_installed = False


def install() -> None:
    """Register the session hook (idempotent; done when the models are imported)."""
    global _installed
    if not _installed:
        event.listen(Session, "after_flush", _after_flush)
        _installed = True
