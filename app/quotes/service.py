"""Quoting with credit (docs/quoting.md): what a quote records when its post is saved, who hears
about it, and how a page resolves its credit lines and "quoted in N posts".

Rules (the source of each is docs/quoting.md):

* A post's quotes are the `[quote=answer:N]` / `[quote=question:N]` blocks of its Markdown
  (app/core/quote_markup.py). Saving the post (asking, answering, editing, an approved suggested
  edit) records one `post_quotes` row per quoted post the author may see; at most
  MAX_QUOTES_PER_POST are recorded. A reference the author may not see (deleted, hidden from
  them, internal to a non-staff author, or no such post) records nothing and says nothing: the
  block renders as a plain quotation, and nobody learns whether the post exists.
* Quoting an internal post in a post that is not internal is refused (422 on `body`): the quoted
  text would become public. Only staff can meet this refusal (nobody else can see such a post).
* The quoted author is told once per quoting post (kind `quoted`), never about their own post,
  and not while the quoting post or its question is hidden (held for review, hidden by flags):
  they hear when a moderator approves it. A quote from an internal post reaches staff only.
* Credit lines are resolved when a page is read, from the quoted post's current state: a post
  everyone may see gets "<author> wrote in <post>:"; a deleted or hidden one, or an internal one
  quoted from a public post, gets nothing: the block shows only what the quoting author wrote.
  Stored `body_html` never carries credit (what search, feeds, e-mail and lists show).
* "Quoted in N posts" counts the quoting posts that are not deleted and not hidden, in questions
  that are not deleted or hidden; internal questions count for staff only.
"""

from __future__ import annotations

import functools

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, case, func, or_, select
from sqlmodel import Session

from app.accounts.models import MODERATING_ROLES, User
from app.core.db import utcnow
from app.core.errors import field_error
from app.core.quote_markup import QuoteCredit, source_refs, user_url
from app.internal.visibility import can_see_internal, is_internal, public_only
from app.quotes.models import PostQuote
from app.quotes.pages import touch_pages

MAX_QUOTES_PER_POST = 10
INTERNAL_REFUSED = ("An internal post cannot be quoted in a public post: its text would become public. "
                    "Remove the quote, or put it in an internal question.")


def post_url(question_id: int, slug: str, post_type: str, post_id: int) -> str:
    """A post's address: the question page, or the answer's `#answer-N` anchor on it."""
    base = f"/questions/{question_id}/{slug}"
    return base if post_type == "question" else f"{base}#answer-{post_id}"


# --- writing -------------------------------------------------------------------------------------

def _load_post(session: Session, post_type: str, post_id: int):
    """(post, its question), or None when either is deleted or missing."""
    from app.answers.models import Answer
    from app.questions.models import Question

    post = session.get(Answer if post_type == "answer" else Question, post_id)
    if post is None or post.deleted_at is not None:
        return None
    question = post if post_type == "question" else session.get(Question, post.question_id)
    if question is None or question.deleted_at is not None:
        return None
    return post, question


def _may_see(actor: User, post, question) -> bool:
    from app.moderation.posts import can_see

    return can_see(actor, question) and can_see(actor, post)  # can_see applies the internal rule too


def record(session: Session, *, post_type: str, post, question, actor: User,
           now: datetime | None = None) -> list[PostQuote]:
    """Record the quotes of a post just saved (asked, answered or edited) and tell the quoted
    authors (see the module docstring for the rules); returns the post's current quote rows.
    Raises InvalidInput (422 on `body`) when a post that is not internal quotes an internal one.
    Call after the post is flushed (it needs its id)."""
    from app.core.markdown import quote_refs

    now = now or utcnow()
    refs = quote_refs(post.body) if getattr(post, "body_format", "markdown") == "markdown" else []
    wanted: dict[tuple[str, int], int] = {}  # ref → quoted author id
    for ref in refs:
        if ref == (post_type, post.id) or len(wanted) >= MAX_QUOTES_PER_POST:
            continue
        found = _load_post(session, *ref)
        if found is None or not _may_see(actor, *found):
            continue
        if is_internal(found[1]) and not is_internal(question):
            raise field_error("body", INTERNAL_REFUSED)
        wanted[ref] = found[0].author_id
    existing = {(r.quoted_type, r.quoted_id): r for r in session.exec(
        select(PostQuote).where(PostQuote.quoting_type == post_type, PostQuote.quoting_id == post.id)).scalars()}
    changed = False
    for ref, row in existing.items():
        if ref not in wanted and row.removed_at is None:
            row.removed_at, changed = now, True
        elif ref in wanted and row.removed_at is not None:
            row.removed_at, changed = None, True
    for ref, author_id in wanted.items():
        if ref not in existing:
            existing[ref] = PostQuote(quoting_type=post_type, quoting_id=post.id, quoted_type=ref[0], quoted_id=ref[1],
                                      quoted_author_id=author_id, quoting_author_id=post.author_id, created_at=now)
            session.add(existing[ref])
            changed = True
    if changed:
        session.flush()
        touch_pages(session, [key for key in existing] + [(post_type, post.id)])
    notify_quoted(session, post_type=post_type, post=post, question=question, now=now)
    return [r for r in existing.values() if r.removed_at is None]


def notify_quoted(session: Session, *, post_type: str, post, question, now: datetime | None = None) -> int:
    """Tell the authors the post quotes, once per quoting post each (kind `quoted`), unless the
    post or its question is hidden (held posts call this again when approved:
    app/moderation/review.py). Returns how many were told."""
    from app.notifications import service as notifications

    if getattr(post, "hidden_at", None) is not None or getattr(question, "hidden_at", None) is not None:
        return 0
    rows = list(session.exec(select(PostQuote).where(
        PostQuote.quoting_type == post_type, PostQuote.quoting_id == post.id)).scalars())
    told = {r.quoted_author_id for r in rows if r.notified_at is not None}
    pending = [r for r in rows if r.removed_at is None and r.notified_at is None]
    if not pending:
        return 0
    now = now or utcnow()
    recipients: dict[int, PostQuote] = {}
    for row in pending:
        row.notified_at = now
        if row.quoted_author_id not in told and row.quoted_author_id != post.author_id:
            recipients.setdefault(row.quoted_author_id, row)
    if recipients and is_internal(question):  # an internal thread: who sees the space only
        staff = set(session.exec(select(User.id).where(User.id.in_(recipients),
                                                       User.role.in_(MODERATING_ROLES)))
                    .scalars())
        recipients = {uid: row for uid, row in recipients.items() if uid in staff}
    author = session.get(User, post.author_id)
    who = author.shown_name if author is not None else "Someone"
    where = "an answer to" if post_type == "answer" else "the question"
    url = post_url(question.id, question.slug, post_type, post.id)
    for uid, row in recipients.items():
        notifications.notify(session, [uid], kind="quoted", url=url, now=now,
                             text=f"{who} quoted your {row.quoted_type} in {where} “{question.title}”.")
    session.flush()
    return len(recipients)


# --- reading -------------------------------------------------------------------------------------

def credits_for(session: Session, refs: list[tuple[str, int]], *, quoting_internal: bool = False
                ) -> dict[tuple[str, int], QuoteCredit]:
    """Credit lines for quoted posts (at most two statements, none without refs): only posts and
    questions not deleted and not hidden, and not internal unless the quoting post is internal
    itself. Everything shown comes from the database (escaped when rendered)."""
    from app.answers.models import Answer
    from app.questions import page_queries as pq
    from app.questions.models import Question

    out: dict[tuple[str, int], QuoteCredit] = {}
    users = User.__table__
    q = Question.__table__
    shown = [q.c.deleted_at.is_(None), q.c.hidden_at.is_(None)]
    if not quoting_internal:
        shown.append(public_only(q))
    about = [q.c.id.label("qid"), q.c.slug, q.c.title, *pq._user_columns(users)]
    for post_type in ("question", "answer"):
        ids = sorted({pid for kind, pid in refs if kind == post_type})
        if not ids:
            continue
        if post_type == "answer":
            a = Answer.__table__
            stmt = (select(a.c.id, a.c.source_author, *about)
                    .select_from(a.join(q, q.c.id == a.c.question_id).outerjoin(users, users.c.id == a.c.author_id))
                    .where(a.c.id.in_(ids), a.c.deleted_at.is_(None), a.c.hidden_at.is_(None), *shown))
        else:
            stmt = (select(q.c.id, q.c.source_author, *about)
                    .select_from(q.outerjoin(users, users.c.id == q.c.author_id)).where(q.c.id.in_(ids), *shown))
        for r in session.connection().execute(stmt).mappings():
            author = pq.user_view(r, "u_", r["source_author"])
            label = f"an answer to “{r['title']}”" if post_type == "answer" else f"the question “{r['title']}”"
            out[(post_type, r["id"])] = QuoteCredit(
                author.display_name, user_url(author.username) if author.id else None,
                post_url(r["qid"], r["slug"], post_type, r["id"]), label)
    return out


@functools.cache
def _shown_quoting(include_internal: bool):
    """(FROM clause, conditions) over post_quotes joined to the quoting post and its question:
    quotes still in their post, whose post and question are not deleted or hidden, and, unless
    `include_internal`, whose question is public. The quoting question is `quoting_question`.

    Built once per process for each value of `include_internal` (SQL constructs are immutable
    and reusable): building the two table aliases' column collections cost about 1.7 ms per
    call, twice per question page (issue 11's page budget)."""
    from app.answers.models import Answer
    from app.questions.models import Question

    pqt = PostQuote.__table__
    qa, qq = Answer.__table__.alias("quoting_answer"), Question.__table__.alias("quoting_question")
    question_of = case((pqt.c.quoting_type == "answer", qa.c.question_id), else_=pqt.c.quoting_id)
    source = (pqt.outerjoin(qa, and_(pqt.c.quoting_type == "answer", qa.c.id == pqt.c.quoting_id))
              .join(qq, qq.c.id == question_of))
    conditions = [
        pqt.c.removed_at.is_(None),
        or_(pqt.c.quoting_type == "question", and_(qa.c.deleted_at.is_(None), qa.c.hidden_at.is_(None))),
        qq.c.deleted_at.is_(None), qq.c.hidden_at.is_(None),
    ]
    if not include_internal:
        conditions.append(public_only(qq))
    return source, tuple(conditions), qq


def quoted_in_count(post_type: str, outer, *, include_internal: bool):
    """A correlated scalar subquery: how many posts quote the post `outer.c.id` (of `post_type`)
    and are shown (see the module docstring); `include_internal` for staff viewers. Used as a
    column of the question page's statements (app/questions/page_queries.py)."""
    pqt = PostQuote.__table__
    source, conditions, _ = _shown_quoting(include_internal)
    return (select(func.count()).select_from(source)
            .where(pqt.c.quoted_type == post_type, pqt.c.quoted_id == outer.c.id, *conditions)
            .correlate(outer).scalar_subquery())


@dataclass
class QuotingPost:
    """A post that quotes another, for the "Quoted in" list."""

    url: str
    title: str
    post_type: str
    author_name: str


def quoting_posts(session: Session, keys: list[tuple[str, int]], *, include_internal: bool
                  ) -> dict[tuple[str, int], list[QuotingPost]]:
    """{quoted post: the shown posts quoting it, newest first} (one statement; the same rule as
    quoted_in_count)."""
    from app.questions import page_queries as pq

    if not keys:
        return {}
    pqt, users = PostQuote.__table__, User.__table__
    source, conditions, qq = _shown_quoting(include_internal)
    by_type: dict[str, list[int]] = {}
    for kind, pid in keys:
        by_type.setdefault(kind, []).append(pid)
    wanted = or_(*[and_(pqt.c.quoted_type == kind, pqt.c.quoted_id.in_(ids)) for kind, ids in by_type.items()])
    stmt = (select(pqt.c.quoted_type, pqt.c.quoted_id, pqt.c.quoting_type, pqt.c.quoting_id, qq.c.id.label("qid"),
                   qq.c.slug, qq.c.title, *pq._user_columns(users))
            .select_from(source.outerjoin(users, users.c.id == pqt.c.quoting_author_id))
            .where(wanted, *conditions).order_by(pqt.c.id.desc()).limit(200))
    out: dict[tuple[str, int], list[QuotingPost]] = {}
    for r in session.connection().execute(stmt).mappings():
        author = pq.user_view(r, "u_", None)
        out.setdefault((r["quoted_type"], r["quoted_id"]), []).append(QuotingPost(
            post_url(r["qid"], r["slug"], r["quoting_type"], r["quoting_id"]), r["title"], r["quoting_type"],
            author.display_name))
    return out


def resolve_detail(session: Session, detail: Any, viewer: User | None) -> None:
    """Give a question page's read model (app/questions/views.py) its credit lines and its
    "quoted in" lists, in place: bodies with quote blocks are rendered again with the credits
    (only those; nothing is read when no post on the page quotes or is quoted)."""
    from app.core.markdown import render_markdown
    from app.questions.models import Question

    posts = [detail, *detail.answers]
    quoting = [p for p in posts if getattr(p, "body_format", "markdown") == "markdown" and source_refs(p.body)]
    if quoting:
        question = session.get(Question, detail.id)
        refs = [ref for p in quoting for ref in source_refs(p.body)]
        credits = credits_for(session, refs, quoting_internal=is_internal(question))
        for p in quoting:
            p.body_html = render_markdown(p.body, credits)
    quoted = [("question" if p is detail else "answer", p.id) for p in posts if p.quoted_in]
    if quoted:
        lists = quoting_posts(session, quoted, include_internal=can_see_internal(viewer))
        detail.quoted_by = lists.get(("question", detail.id), [])
        for a in detail.answers:
            a.quoted_by = lists.get(("answer", a.id), [])


def quote_block(session: Session, *, viewer: User | None, ref: str | None) -> str:
    """The text the Quote button's no-script link puts into the answer form (`?quote=answer:N`):
    the quote block with the post's first paragraph, or "" when the reference is not valid or the
    viewer may not see that post."""
    import re

    from app.core.markdown import excerpt

    m = re.fullmatch(r"(answer|question):(\d{1,10})", (ref or "").strip())
    if viewer is None or not m or not 1 <= int(m.group(2)) <= 2_147_483_647:
        return ""
    found = _load_post(session, m.group(1), int(m.group(2)))
    if found is None or not _may_see(viewer, *found):
        return ""
    post = found[0]
    if getattr(post, "body_format", "markdown") == "html":
        first = excerpt(post.body_html, 600)
    else:
        text = re.sub(r"(?ims)^[ \t]*\[quote[^\n]*\][ \t]*\n.*?^[ \t]*\[/quote\][ \t]*$", "", post.body or "")
        first = next((p.strip() for p in re.split(r"\n[ \t]*\n", text) if p.strip()), "")
    return f"[quote={m.group(1)}:{m.group(2)}]\n{first}\n[/quote]\n\n"
