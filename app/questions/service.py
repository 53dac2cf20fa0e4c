"""Questions: ask, edit (with revisions), delete (soft), read, list with keyset pagination."""

from __future__ import annotations

import difflib
import functools
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Row, and_, delete, exists, literal_column, or_
from sqlmodel import Session, col, select

from app.accounts import permissions
from app.accounts.models import User
from app.core.db import utcnow
from app.core.text import clean_single_line
from app.core.errors import Conflict, Forbidden, NotFound
from app.core.markdown import render_body, render_markdown
from app.moderation import audit
from app.core.pagination import Page, clamp_limit, decode_cursor, encode_cursor
from app.products import service as products_service
from app.products.models import Product
from app.internal.visibility import public_only
from app.questions.models import Question, QuestionTag, Revision, Tag
from app.questions.schemas import ListSort, QuestionCreate, QuestionUpdate
from app.questions.tags import normalise_tag, normalise_tags, slugify


def get_visible(session: Session, question_id: int, *, viewer: User | None = None,
                for_update: bool = False) -> Question:
    """The live question, or NotFound when it does not exist, was deleted, or `viewer` may not
    see it (app/moderation/posts.py `can_see`): internal (app/internal/visibility.py) and
    `viewer` is not staff, or hidden by moderation (flags, review, spam check) and `viewer` is
    neither its author nor a moderator. Every service and action route (answer, comment, vote,
    follow, accept, "me too", deflection, escalation, flag, revisions...) reaches a question
    through here with its actor as `viewer`, so all of them answer 404 alike; without a viewer
    (None: anonymous) internal and hidden questions are invisible, so a caller that forgets the
    viewer fails safe."""
    from app.moderation.posts import can_see

    stmt = select(Question).where(Question.id == question_id, Question.deleted_at.is_(None))
    if for_update:
        stmt = stmt.with_for_update()
    question = session.exec(stmt).first()
    if question is None or not can_see(viewer, question):
        raise NotFound(f"Question {question_id} does not exist or was deleted.")
    return question


def ask(session: Session, *, actor: User | None, data: QuestionCreate, now: datetime | None = None) -> Question:
    """Post a question. `data.visibility` "internal" puts it in the staff-only space (staff,
    moderators, admins; 403 for anyone else: app/internal/service.py check_visibility).
    `now` (default: the clock) dates the question, its first revision and every notice and mail
    it causes (followers, mentions, quotes, review): the demo loader asks at its history's times."""
    from app.internal import service as internal

    actor = permissions.require_user(actor)
    visibility = internal.check_visibility(actor, getattr(data, "visibility", "public"))
    tags = normalise_tags(data.tags)
    product = products_service.resolve(session, data.product)
    from app.moderation import review, spam

    title = clean_single_line(data.title)  # one line: no newlines, controls or direction overrides
    held = spam.screen(session, actor=actor, kind="question", text=data.body, title=title) or \
        review.first_post_hold(session, actor=actor, product_id=product.id if product else None)
    now = now or utcnow()
    question = Question(
        hidden_at=now if held else None, hidden_reason=held,
        title=title,
        slug=slugify(title),
        body=data.body,
        body_html=render_markdown(data.body),
        author_id=actor.id,
        product_id=product.id if product else None,
        created_at=now,
        last_activity_at=now,
        visibility=visibility,
    )
    session.add(question)
    session.flush()
    _set_tags(session, question, tags)
    add_revision(session, post_type="question", post_id=question.id, author=actor, title=question.title,
                 body=question.body, tags=tags, product_slug=product.slug if product else None, created_at=now)
    from app.quotes import service as quotes

    quotes.record(session, post_type="question", post=question, question=question, actor=actor, now=now)
    from app.follows import service as follows

    follows.on_question_asked(session, question, actor, tags, now)  # followers, mentions, auto-follow
    from app.webhooks import events as webhook_events

    webhook_events.question_created(session, question)
    if held:
        review.tell_author(session, kind="question", post_url=f"/questions/{question.id}/{question.slug}",
                           author_id=actor.id, reason=held, title=question.title, now=now)
    return question


def edit(session: Session, *, actor: User | None, question_id: int, data: QuestionUpdate) -> Question:
    actor = permissions.require_user(actor)
    question = get_visible(session, question_id, viewer=actor, for_update=True)
    if not permissions.can_edit_post(actor, question.author_id):
        raise Forbidden(EDIT_REFUSED)
    _require_unlocked_edit(actor, question)
    before = question.body, question.title
    edited = apply_edit(session, question, author=actor, data=data)
    if actor.id != question.author_id and actor.can_moderate and before != (edited.body, edited.title):
        audit.record(session, actor=actor, action="post.edit", target_type="question", target_id=question.id,
                     reason=data.comment or None, details={"author_id": question.author_id})
    return edited


def _require_unlocked_edit(actor: User, question) -> None:
    """A locked thread's posts are edited by moderators only."""
    if question.locked_at is not None and not actor.can_moderate:
        raise Conflict("This thread is locked by a moderator: its posts cannot be edited.")


EDIT_REFUSED = ("Editing someone else's post takes 1,000 reputation (moderators and staff always can); "
                 "suggest an edit instead, and a reviewer will apply it.")


def apply_edit(session: Session, question: Question, *, author: User, data: QuestionUpdate) -> Question:
    """Apply an edit whose permission was checked (directly, or by approving a suggestion)."""
    changes = data.model_dump(exclude_unset=True)
    changes.pop("comment", None)
    current_tags = tags_for(session, [question.id]).get(question.id, [])
    current_product = session.get(Product, question.product_id) if question.product_id else None
    new_tags = normalise_tags(changes["tags"], keep=current_tags) if changes.get("tags") is not None else current_tags
    new_product = current_product
    if "product" in changes:
        new_product = products_service.resolve(session, changes["product"])
    title = clean_single_line(changes.get("title")) or question.title
    body = changes.get("body") or question.body
    if (title, body, new_tags, new_product and new_product.id) == (
        question.title, question.body, current_tags, current_product and current_product.id
    ):
        return question  # nothing changed: no new revision
    now = utcnow()
    question.title, question.slug, question.body = title, slugify(title), body
    question.body_html = render_body(body, question.body_format)
    question.product_id = new_product.id if new_product else None
    question.updated_at = question.last_activity_at = now
    if new_tags != current_tags:
        _set_tags(session, question, new_tags)
    add_revision(session, post_type="question", post_id=question.id, author=author, title=title, body=body,
                 tags=new_tags, product_slug=new_product.slug if new_product else None,
                 comment=data.comment, created_at=now)
    session.flush()
    from app.quotes import service as quotes

    quotes.record(session, post_type="question", post=question, question=question, actor=author, now=now)
    return question


def delete_question(session: Session, *, actor: User | None, question_id: int, reason: str | None = None) -> Question:
    """Soft-delete (author, or a moderator: audited with `reason`); reverses the thread's reputation."""
    actor = permissions.require_user(actor)
    question = get_visible(session, question_id, viewer=actor, for_update=True)
    if not permissions.can_delete_post(actor, question.author_id):
        raise Forbidden("Only the author or a moderator can delete this question.")
    refusal = permissions.question_delete_refusal(actor, question.author_id, answer_facts(session, question))
    if refusal:
        raise Conflict(refusal)
    question.deleted_at = utcnow()
    question.deleted_by_id = actor.id
    session.flush()
    _reverse_reputation_of_thread(session, question)
    if actor.id != question.author_id:
        audit.record(session, actor=actor, action="post.delete", target_type="question", target_id=question.id,
                     reason=reason, details={"title": question.title, "author_id": question.author_id})
    return question


def answer_facts(session: Session, question: Question) -> list[tuple[int, int, bool]]:
    """(author_id, score, is_accepted) of the question's live answers: what deleting it would take."""
    from app.answers.models import Answer

    rows = session.exec(select(Answer.author_id, Answer.score, Answer.id).where(
        Answer.question_id == question.id, Answer.deleted_at.is_(None))).all()
    return [(author_id, score, answer_id == question.accepted_answer_id) for author_id, score, answer_id in rows]


def _reverse_reputation_of_thread(session: Session, question: Question) -> None:
    """Deleting a question reverses what its votes and its answers' votes and acceptance gave.

    After a merge an acceptance may name one question while its answer lives on another (see
    app/questions/duplicates.py): deleting either ends it, and its reputation with it."""
    from app.answers.models import Acceptance, Answer
    from app.reputation import service as reputation

    answer_ids = list(session.exec(select(Answer.id).where(Answer.question_id == question.id)).all())
    ended = session.exec(select(Acceptance).where(
        or_(Acceptance.question_id == question.id, Acceptance.answer_id.in_(answer_ids)),
        Acceptance.revoked_at.is_(None))).all()
    for acceptance in ended:
        acceptance.revoked_at = utcnow()
    session.flush()
    reputation.reverse(session, source_type="acceptance", source_ids=[a.id for a in ended], reason="post deleted")
    reputation.reverse(session, post=("question", question.id), reason="post deleted")
    for answer_id in answer_ids:
        reputation.reverse(session, post=("answer", answer_id), reason="post deleted")


def touch(session: Session, question: Question, when: datetime | None = None) -> None:
    question.last_activity_at = when or utcnow()


# --- tags -------------------------------------------------------------------------------------

def _set_tags(session: Session, question: Question, names: list[str]) -> None:
    session.exec(delete(QuestionTag).where(QuestionTag.question_id == question.id))
    if not names:
        return
    existing = {t.name: t for t in session.exec(select(Tag).where(Tag.name.in_(names))).all()}
    # The copies of score and last activity are read from the row, not the ORM object, which may
    # predate a vote committed since; the row is locked by now (the delete above flushed this
    # edit's UPDATE of the question), so no vote can slip in between (migration 0024's trigger
    # keeps the copies equal from here on).
    score, active = session.connection().execute(
        select(Question.score, Question.last_activity_at).where(Question.id == question.id)).one()
    for position, name in enumerate(names):
        tag = existing.get(name)
        if tag is None:
            tag = _create_tag(session, name)
        session.add(QuestionTag(question_id=question.id, tag_id=tag.id, position=position,
                                question_created_at=question.created_at, question_last_activity_at=active,
                                question_score=score))
    session.flush()


def _create_tag(session: Session, name: str) -> Tag:
    from sqlalchemy.exc import IntegrityError

    tag = Tag(name=name)
    try:
        with session.begin_nested():
            session.add(tag)
            session.flush()
    except IntegrityError:  # created by a concurrent request
        tag = session.exec(select(Tag).where(Tag.name == name)).one()
    return tag


def tags_for(session: Session, question_ids: list[int]) -> dict[int, list[str]]:
    if not question_ids:
        return {}
    rows = session.exec(
        select(QuestionTag.question_id, Tag.name)
        .join(Tag, Tag.id == QuestionTag.tag_id)
        .where(QuestionTag.question_id.in_(question_ids))
        .order_by(QuestionTag.question_id, QuestionTag.position)
    ).all()
    out: dict[int, list[str]] = {}
    for qid, name in rows:
        out.setdefault(qid, []).append(name)
    return out


def popular_tags(session: Session, limit: int = 30, product_id: int | None = None) -> list[tuple[str, int]]:
    from sqlalchemy import func

    stmt = (
        select(Tag.name, func.count())
        .join(QuestionTag, QuestionTag.tag_id == Tag.id)
        .join(Question, Question.id == QuestionTag.question_id)
        .where(Question.deleted_at.is_(None), Question.hidden_at.is_(None), public_only())  # as the tag's question list
        .group_by(Tag.name)
        .order_by(func.count().desc(), Tag.name)
        .limit(limit)
    )
    if product_id is not None:
        stmt = stmt.where(Question.product_id == product_id)
    return [(name, n) for name, n in session.exec(stmt).all()]


def get_tag(session: Session, name: str) -> Tag:
    """The tag whose normal form (app/questions/tags.py) is that of `name`; NotFound otherwise."""
    tag = session.exec(select(Tag).where(Tag.name == normalise_tag(name))).first()
    if tag is None:
        raise NotFound(f"There is no tag {name!r}.")
    return tag


# --- lists ------------------------------------------------------------------------------------

_SORT_COLUMNS = {
    "newest": Question.created_at,
    "unanswered": Question.created_at,
    "active": Question.last_activity_at,
    "votes": Question.score,
}
# The copies beside each tag (QuestionTag; migrations 0023, 0024) that a tag's list is read in.
_TAG_SORT_COLUMNS = {
    "newest": QuestionTag.question_created_at,
    "unanswered": QuestionTag.question_created_at,
    "active": QuestionTag.question_last_activity_at,
    "votes": QuestionTag.question_score,
}


def filtered_questions(session: Session, *, product: str | None = None, tag: str | None = None,
                       solved: bool | None = None, unanswered: bool = False, author_id: int | None = None,
                       viewer: User | None = None, where: Sequence = (), columns: Sequence = ()):
    """The one filter builder of question lists: `select(Question)` (or of `columns` of the
    questions table) of the questions not deleted,
    not hidden (except those `viewer` may see, as in list_questions), of this product (slug; 404
    when unknown), carrying this tag, solved or not, with no answer (`unanswered`), by this author,
    and meeting each extra SQL condition in `where` (other domains' filters: escalation state,
    "me too" marks — app/views/service.py). Lists, counts and saved views all start here."""
    from app.moderation.posts import visible_to

    # Hidden posts (app/moderation) are in no public list, nor in the sitemap built from this.
    stmt = (select(*columns) if columns else select(Question)).where(Question.deleted_at.is_(None),
                                                                     visible_to(Question, viewer))
    if product:
        prod = products_service.get(session, product)
        stmt = stmt.where(Question.product_id == prod.id)
    if tag:
        stmt = stmt.where(exists().where(QuestionTag.question_id == Question.id, QuestionTag.tag_id == _tag_id(tag)))
    if solved is not None:
        stmt = stmt.where(Question.accepted_answer_id.is_not(None) if solved else Question.accepted_answer_id.is_(None))
    if unanswered:
        # A literal 0, not a bound parameter: a prepared statement's generic plan could not prove
        # that it implies the partial index's predicate (ix_questions_unanswered).
        stmt = stmt.where(Question.answer_count == literal_column("0"))
    if author_id is not None:
        stmt = stmt.where(Question.author_id == author_id)
    for condition in where:
        stmt = stmt.where(condition)
    return stmt


def _tag_id(tag: str):
    """SQL: the id of the tag named `tag` (in its normal form), as a scalar subquery."""
    return select(Tag.id).where(Tag.name == normalise_tag(tag)).scalar_subquery()


def count_questions(session: Session, **filters) -> int:
    """How many questions `filtered_questions(**filters)` selects (every page together)."""
    from sqlalchemy import func

    stmt = filtered_questions(session, **filters).with_only_columns(func.count(Question.id)).order_by(None)
    return int(session.exec(stmt).one())


def list_questions(
    session: Session,
    *,
    sort: ListSort = "newest",
    product: str | None = None,
    tag: str | None = None,
    solved: bool | None = None,
    author_id: int | None = None,
    limit: int | None = None,
    cursor: str | None = None,
    viewer: User | None = None,
    unanswered: bool = False,
    where: Sequence = (),
) -> Page[Row]:
    """Keyset pagination on (sort key, id), newest/highest first: pages stay stable while questions arrive.
    Items are plain rows with Question's attribute names, every column but `body` (the Markdown
    source, which no list shows): no ORM objects are built on this hot path (issue 11; they were
    a quarter of the statement's CPU). Read-only: load the Question to change it.
    Hidden questions are left out, except those `viewer` may see (own, or all for a moderator):
    pass `viewer` only where such rows are marked (a person's profile), never for public lists.
    Filters: filtered_questions (sort "unanswered" is newest-first with `unanswered`)."""
    limit = clamp_limit(limit)
    key = column = _SORT_COLUMNS[sort]
    id_column = Question.id
    # A tag's list walks the tag's own index for its order (ix_question_tags_tag_created, _activity,
    # _score), highest first, and stops after a page, however many questions carry the tag (issue 11).
    by_tag_index = bool(tag)
    stmt = filtered_questions(session, product=product, tag=None if by_tag_index else tag, solved=solved,
                              unanswered=unanswered or sort == "unanswered", author_id=author_id, viewer=viewer,
                              where=where, columns=_list_columns())
    if by_tag_index:
        # The cursor holds the copy's value (`tag_sort_key`), so paging stays whole even where a
        # copy were stale (a question backdated in bulk without its tags: app/demo/loader.py).
        column, id_column = _TAG_SORT_COLUMNS[sort], QuestionTag.question_id  # equal to the question's
        stmt = (stmt.join(QuestionTag, and_(QuestionTag.question_id == Question.id, QuestionTag.tag_id == _tag_id(tag)))
                .add_columns(column.label("tag_sort_key")))
    after = decode_cursor(cursor, 2)
    if after is not None:
        value, after_id = _cursor_value(sort, after[0]), _cursor_int(after[1])
        stmt = stmt.where(or_(col(column) < value, and_(col(column) == value, col(id_column) < after_id)))
    stmt = stmt.order_by(col(column).desc(), col(id_column).desc()).limit(limit + 1)
    session.flush()  # as session.exec's autoflush would: the caller's pending changes are listed
    rows = list(session.connection().execute(stmt).all())
    next_cursor = None
    if len(rows) > limit:
        rows = rows[:limit]
        last = rows[-1]
        raw = last.tag_sort_key if by_tag_index else getattr(last, key.key)
        next_cursor = encode_cursor([raw.isoformat() if isinstance(raw, datetime) else raw, last.id])
    return Page(items=rows, next_cursor=next_cursor)


@functools.cache
def _list_columns() -> tuple:
    """The columns list_questions returns: all of the questions table's but `body`."""
    return tuple(c for c in Question.__table__.c if c.key != "body")


def _bad_cursor():
    from app.core.errors import field_error

    return field_error("cursor", "The cursor is not valid; start again from the first page.", "query")


def _cursor_int(raw) -> int:
    # A hand-made cursor must not reach the database with a value it cannot bind (500 otherwise).
    if type(raw) is not int or not -(2**31) <= raw < 2**31:
        raise _bad_cursor()
    return raw


def _cursor_value(sort: str, raw):
    if sort == "votes":
        return _cursor_int(raw)
    try:
        value = datetime.fromisoformat(raw) if isinstance(raw, str) else None
    except ValueError:
        value = None
    if value is None or value.utcoffset() is None:
        raise _bad_cursor()
    return value


# --- revisions --------------------------------------------------------------------------------

def add_revision(session: Session, *, post_type: str, post_id: int, author: User, body: str,
                 title: str | None = None, tags: list[str] | None = None, product_slug: str | None = None,
                 comment: str = "", created_at: datetime | None = None) -> Revision:
    from sqlalchemy import func

    number = (session.exec(
        select(func.max(Revision.number)).where(Revision.post_type == post_type, Revision.post_id == post_id)
    ).one() or 0) + 1
    if title is not None:
        title = clean_single_line(title)[:150]  # a revision's title is one line, as the question's
    rev = Revision(post_type=post_type, post_id=post_id, number=number, title=title, body=body,
                   tags=" ".join(tags) if tags is not None else None, product_slug=product_slug,
                   author_id=author.id, comment=comment, created_at=created_at or utcnow())
    session.add(rev)
    session.flush()
    return rev


@dataclass
class RevisionView:
    revision: Revision
    author: User | None
    title_diff: list[tuple[str, str]]  # (op, text): op in "equal" | "insert" | "delete"
    body_diff: list[tuple[str, str]]
    tags_changed: tuple[str, str] | None


def _diff(old: str, new: str) -> list[tuple[str, str]]:
    """A line diff of Markdown sources, as (op, line) pairs for the revisions page."""
    out: list[tuple[str, str]] = []
    a, b = old.splitlines(), new.splitlines()
    for op, i1, i2, j1, j2 in difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        if op == "equal":
            out.extend(("equal", line) for line in a[i1:i2])
        else:
            out.extend(("delete", line) for line in a[i1:i2])
            out.extend(("insert", line) for line in b[j1:j2])
    return out


def revisions(session: Session, post_type: str, post_id: int) -> list[RevisionView]:
    """Newest first, each with its diff against the one before it."""
    from app.accounts import service as accounts_service

    revs = list(session.exec(
        select(Revision).where(Revision.post_type == post_type, Revision.post_id == post_id).order_by(Revision.number)
    ).all())
    authors = accounts_service.users_by_id(session, {r.author_id for r in revs})
    views: list[RevisionView] = []
    previous: Revision | None = None
    for rev in revs:
        views.append(RevisionView(
            revision=rev,
            author=authors.get(rev.author_id),
            title_diff=_diff(previous.title or "", rev.title or "") if previous and rev.title is not None else [],
            body_diff=_diff(previous.body if previous else "", rev.body),
            tags_changed=(previous.tags or "", rev.tags or "") if previous and previous.tags != rev.tags else None,
        ))
        previous = rev
    views.reverse()
    return views


def last_product_slug(session: Session, user_id: int) -> str | None:
    """The product of the user's most recent question (none, or no product: None): the ask form's
    default, so that someone who asks about one product keeps it chosen."""
    from app.products.models import Product

    row = session.exec(select(Product.slug).join(Question, Question.product_id == Product.id)
                       .where(Question.author_id == user_id, Question.deleted_at.is_(None))
                       .order_by(Question.created_at.desc(), Question.id.desc()).limit(1)).first()
    return row
