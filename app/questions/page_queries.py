"""The question page's reads as a few set-based Core statements returning plain rows.

app/questions/views.py:question_detail builds the page's read model from these. Each statement
loads one kind of thing *with* everything around it (authors, counts, the viewer's own votes) as
joins and correlated scalar subqueries on indexed columns, so the number of statements does not
depend on how many answers, comments, votes or tags a question has, and no ORM objects are built
(SQLAlchemy's ORM row loading was a quarter of a page's CPU: docs/performance.md).

Lists inside a row (a question's tags, an answer's votes) come back as one aggregated string
(`group_concat` on SQLite, `string_agg` on PostgreSQL) and are split here.

On PostgreSQL the statements run straight on psycopg's cursor (app/core/plain.py: the same rows,
as dicts, without SQLAlchemy's per-execution machinery); on SQLite through `Connection.execute`.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from sqlalchemy import Integer, String, and_, bindparam, case, cast, false, func, literal, null, or_, select
from sqlmodel import Session

from app.core import plain

SEP = "\x1f"  # between aggregated items (tags never hold control characters)


@functools.cache
def _alias(model, name: str):
    """`model`'s table under another name, built once per process: an alias's column collection
    costs about 0.7 ms to build, on every page otherwise (issue 11)."""
    return model.__table__.alias(name)


def _agg(dialect: str, expr, sep: str = SEP):
    """`expr` of a group's rows joined by `sep`: string_agg on PostgreSQL, group_concat on SQLite."""
    if dialect == "postgresql":
        return func.string_agg(expr, literal(sep))
    return func.group_concat(expr, sep)


def _user_columns(users) -> list:
    return [users.c.id.label("u_id"), users.c.username.label("u_username"),
            users.c.display_name.label("u_display_name"), users.c.reputation.label("u_reputation"),
            users.c.role.label("u_role"), users.c.is_active.label("u_is_active"),
            users.c.password_hash.is_(None).label("u_no_password"), users.c.created_at.label("u_created_at")]


def user_view(row: Any, prefix: str, source_author: str | None):
    """A UserView from the `prefix`-named user columns of a row (see app/questions/views.py:author_view:
    an imported post by someone not in the dump shows the dump's name, unlinked)."""
    from app.accounts.models import STAFF_ROLES
    from app.questions.views import DELETED_USER, UserView

    uid = row[prefix + "id"]
    if uid is None:
        return DELETED_USER
    if source_author and not row[prefix + "is_active"] and row[prefix + "no_password"]:
        return replace(DELETED_USER, display_name=source_author)
    role = row[prefix + "role"]
    return UserView(uid, row[prefix + "username"], row[prefix + "display_name"] or row[prefix + "username"],
                    row[prefix + "reputation"], role, role in STAFF_ROLES, row[prefix + "created_at"])


def summary_rows(session: Session, ids: list[int]) -> dict[int, Mapping[str, Any]]:
    """{question id: row} for a list's summaries (app/questions/views.py:summaries), in one
    statement whatever the number of questions: the product's `p_slug`/`p_name`, the author's `u_`
    columns (user_view), the `tags` aggregated as split_tags() reads them and the `me_too_count`.
    Questions are taken by id as given (deleted or hidden ones too: the caller chose them); an id
    with no question has no entry. Replaces four statements (tags, authors, products, "me too"
    counts) and their construction on every list page (issue 11; docs/performance.md)."""
    if not ids:
        return {}
    stmt = _summary_statement(session.get_bind().dialect.name)
    session.flush()  # as session.exec's autoflush would: pending tags and "me too" marks count
    return {r["id"]: r for r in plain.mappings(session, stmt, {"ids": list(ids)})}


@functools.cache
def _summary_statement(dialect: str):
    """summary_rows' statement, built once per process, with the ids as the expanding bound
    parameter `ids`."""
    from app.accounts.models import User
    from app.escalation.models import MeToo
    from app.products.models import Product
    from app.questions.models import Question, QuestionTag, Tag

    q, users, products = Question.__table__, User.__table__, Product.__table__
    qt, tags, metoo = QuestionTag.__table__, Tag.__table__, MeToo.__table__
    return (select(
        q.c.id, products.c.slug.label("p_slug"), products.c.name.label("p_name"), *_user_columns(users),
        select(_agg(dialect, cast(qt.c.position, String).concat(":").concat(tags.c.name)))
        .select_from(qt.join(tags, tags.c.id == qt.c.tag_id)).where(qt.c.question_id == q.c.id)
        .correlate(q).scalar_subquery().label("tags"),
        select(func.count()).select_from(metoo).where(metoo.c.question_id == q.c.id)
        .correlate(q).scalar_subquery().label("me_too_count"))
        .select_from(q.outerjoin(products, products.c.id == q.c.product_id).outerjoin(users, users.c.id == q.c.author_id))
        .where(q.c.id.in_(bindparam("ids", expanding=True))))


def split_tags(value: str | None) -> list[str]:
    """Tags aggregated as "position:name" items, in their position order."""
    if not value:
        return []
    items = []
    for item in value.split(SEP):
        position, _, name = item.partition(":")
        items.append((int(position), name))
    return [name for _, name in sorted(items)]


def question_head(session: Session, question_id: int, viewer) -> Mapping[str, Any] | None:
    """One statement: the question (not deleted), its product, author, tags, revision count,
    "me too" and deflection counts, number of duplicates, latest escalation, and the viewer's
    own vote and "me too". None when there is no such visible question."""
    stmt = _question_head_statement(*_statement_key(session, viewer))
    rows = plain.mappings(session, stmt, _params(question_id, viewer))
    return rows[0] if rows else None


def _statement_key(session: Session, viewer) -> tuple[str, bool, bool]:
    """(dialect, signed in, staff): what the question page's statements differ by, per viewer."""
    return session.get_bind().dialect.name, viewer is not None, _is_staff(viewer)


def _params(question_id: int, viewer) -> dict:
    """The bound parameters of the question page's statements for this question and viewer."""
    return {"question_id": question_id, **({"viewer_id": viewer.id} if viewer is not None else {})}


@functools.cache
def _question_head_statement(dialect: str, signed_in: bool, staff: bool):
    """question_head's statement, built once per process for each kind of viewer, with the
    question and the viewer as bound parameters `question_id` and `viewer_id`. Building it (two
    dozen correlated subqueries) and computing its cache key (which SQLAlchemy memoises on the
    statement object) cost about 3 of the page's 5 CPU ms in this function on every request
    (issue 11; docs/performance.md)."""
    from app.accounts.models import User
    from app.escalation.models import Escalation, MeToo
    from app.products.models import Product
    from app.questions.models import Question, QuestionTag, Revision, Tag
    from app.quotes import service as quotes
    from app.search.models import Deflection
    from app.votes.models import Vote

    q = Question.__table__
    users, products, qt, tags = User.__table__, Product.__table__, QuestionTag.__table__, Tag.__table__
    dup = _alias(Question, "dup")
    esc = Escalation.__table__
    votes, metoo = Vote.__table__, MeToo.__table__
    viewer_id = bindparam("viewer_id", type_=Integer)

    def scalar(stmt):
        return stmt.correlate(q).scalar_subquery()

    latest_escalation = select(esc.c.id).where(esc.c.question_id == q.c.id).order_by(esc.c.id.desc()).limit(1)
    columns = [
        q.c.id, q.c.title, q.c.slug, q.c.body, q.c.body_html, q.c.author_id, q.c.product_id, q.c.score,
        q.c.answer_count, q.c.accepted_answer_id, q.c.status, q.c.created_at, q.c.last_activity_at, q.c.updated_at,
        q.c.source_url, q.c.source_author, q.c.license, q.c.community_owned_at, q.c.merged_into_at,
        q.c.duplicate_of_id, q.c.hidden_at, q.c.hidden_reason, q.c.locked_at, q.c.protected_at, q.c.body_format,
        q.c.visibility,
        quotes.quoted_in_count("question", q, include_internal=staff).label("quoted_in"),
        products.c.slug.label("p_slug"), products.c.name.label("p_name"),
        *_user_columns(users),
        scalar(select(_agg(dialect, cast(qt.c.position, String).concat(":").concat(tags.c.name)))
               .select_from(qt.join(tags, tags.c.id == qt.c.tag_id)).where(qt.c.question_id == q.c.id)).label("tags"),
        scalar(select(func.count()).select_from(Revision.__table__).where(
            Revision.__table__.c.post_type == "question", Revision.__table__.c.post_id == q.c.id)).label("revision_count"),
        scalar(select(func.count()).select_from(metoo).where(metoo.c.question_id == q.c.id)).label("me_too_count"),
        scalar(select(func.count()).select_from(Deflection.__table__).where(
            Deflection.__table__.c.question_id == q.c.id)).label("helped"),
        scalar(select(func.count()).select_from(dup).where(
            dup.c.duplicate_of_id == q.c.id, dup.c.status == "duplicate", dup.c.deleted_at.is_(None))).label("duplicate_count"),
        scalar(latest_escalation).label("esc_id"),
        scalar(select(esc.c.status).where(esc.c.id == scalar(latest_escalation))).label("esc_status"),
    ]
    if signed_in:
        columns.append(scalar(select(votes.c.value).where(
            votes.c.voter_id == viewer_id, votes.c.post_type == "question", votes.c.post_id == q.c.id)).label("my_vote"))
        columns.append(select(metoo.c.id).where(metoo.c.question_id == q.c.id, metoo.c.user_id == viewer_id)
                       .correlate(q).exists().label("my_me_too"))
    else:
        columns += [null().label("my_vote"), false().label("my_me_too")]
    return (select(*columns)
            .select_from(q.outerjoin(products, products.c.id == q.c.product_id).outerjoin(users, users.c.id == q.c.author_id))
            .where(q.c.id == bindparam("question_id", type_=Integer), q.c.deleted_at.is_(None)))


@dataclass
class AnswerRow:
    """An answer as the page needs it; `row` holds the author's `u_` columns."""

    id: int
    author_id: int
    body: str
    body_html: str
    score: int
    created_at: datetime
    updated_at: datetime | None
    source_url: str | None
    source_author: str | None
    license: str | None
    community_owned_at: datetime | None
    merged_from_question_id: int | None
    my_vote: int | None
    votes: str | None  # "value:voter reputation" items
    imported_votes: str | None  # "value" items
    author_is_staff: bool
    row: Any
    hidden_at: datetime | None = None  # moderation (app/moderation/posts.py): shown to author and moderators
    hidden_reason: str | None = None
    body_format: str = "markdown"
    quoted_in: int = 0  # shown posts quoting this one (app/quotes/service.py)


def _is_staff(viewer) -> bool:
    """Whether quoting posts in the internal space count for `viewer` (the internal space's own
    rule: staff, moderators and admins, and API keys only with the "internal" scope)."""
    from app.internal.visibility import can_see_internal

    return can_see_internal(viewer)


def answers_of(session: Session, question_id: int, viewer) -> list[AnswerRow]:
    """One statement: the question's answers (not deleted) with their authors, their votes with
    the voters' reputation (the ranking's evidence), imported votes, and the viewer's own vote."""
    from app.accounts.models import STAFF_ROLES

    stmt = _answers_statement(*_statement_key(session, viewer))
    out = []
    for r in plain.mappings(session, stmt, _params(question_id, viewer)):
        out.append(AnswerRow(
            id=r["id"], author_id=r["author_id"], body=r["body"], body_html=r["body_html"], score=r["score"],
            created_at=r["created_at"], updated_at=r["updated_at"], source_url=r["source_url"],
            source_author=r["source_author"], license=r["license"], community_owned_at=r["community_owned_at"],
            merged_from_question_id=r["merged_from_question_id"], my_vote=r["my_vote"], votes=r["votes"],
            imported_votes=r["imported_votes"], author_is_staff=r["u_role"] in STAFF_ROLES if r["u_id"] else False,
            row=r, hidden_at=r["hidden_at"], hidden_reason=r["hidden_reason"], body_format=r["body_format"],
            quoted_in=r["quoted_in"]))
    return out


@functools.cache
def _answers_statement(dialect: str, signed_in: bool, staff: bool):
    """answers_of's statement, built once per process for each kind of viewer (bound parameters
    `question_id`, `viewer_id`), as _question_head_statement is."""
    from app.accounts.models import User
    from app.answers.models import Answer
    from app.importer.models import ImportedVote
    from app.quotes import service as quotes
    from app.votes.models import Vote

    a, users, votes, voters = Answer.__table__, User.__table__, Vote.__table__, _alias(User, "voters")
    imported = ImportedVote.__table__
    vote_item = cast(votes.c.value, String).concat(":").concat(cast(voters.c.reputation, String))
    columns = [
        a.c.id, a.c.author_id, a.c.body, a.c.body_html, a.c.score, a.c.created_at, a.c.updated_at, a.c.source_url,
        a.c.source_author, a.c.license, a.c.community_owned_at, a.c.merged_from_question_id,
        a.c.hidden_at, a.c.hidden_reason, a.c.body_format,
        quotes.quoted_in_count("answer", a, include_internal=staff).label("quoted_in"),
        *_user_columns(users),
        select(_agg(dialect, vote_item, ",")).select_from(votes.join(voters, voters.c.id == votes.c.voter_id))
        .where(votes.c.post_type == "answer", votes.c.post_id == a.c.id).correlate(a).scalar_subquery().label("votes"),
        select(_agg(dialect, cast(imported.c.value, String), ",")).where(
            imported.c.post_type == "answer", imported.c.post_id == a.c.id).correlate(a).scalar_subquery()
        .label("imported_votes"),
    ]
    if signed_in:
        columns.append(select(votes.c.value).where(votes.c.voter_id == bindparam("viewer_id", type_=Integer),
                                                   votes.c.post_type == "answer",
                                                   votes.c.post_id == a.c.id).correlate(a).scalar_subquery()
                       .label("my_vote"))
    else:
        columns.append(null().label("my_vote"))
    return (select(*columns).select_from(a.outerjoin(users, users.c.id == a.c.author_id))
            .where(a.c.question_id == bindparam("question_id", type_=Integer), a.c.deleted_at.is_(None)))


def evidence(session: Session, answers: list[AnswerRow], accepted_answer_id: int | None, product_id: int | None):
    """The ranking's evidence (app/answers/ranking.py) from the loaded rows; the authors' record on
    the product is read (one statement, from ix_answers_author_question) only for the authors of
    answers nobody voted on and that are not accepted: only those get the prior."""
    from app.answers.models import Answer
    from app.answers.ranking import IMPORTED_VOTER_REPUTATION, Evidence
    from app.questions.models import Question

    out: dict[int, Evidence] = {}
    for a in answers:
        e = Evidence(accepted=a.id == accepted_answer_id)
        for item in (a.votes or "").split(","):
            if item:
                value, _, reputation = item.partition(":")
                (e.upvoter_reputations if int(value) > 0 else e.downvoter_reputations).append(int(reputation))
        for item in (a.imported_votes or "").split(","):
            if item:
                (e.upvoter_reputations if int(item) > 0 else e.downvoter_reputations).append(IMPORTED_VOTER_REPUTATION)
        out[a.id] = e
    unvoted_authors = {a.author_id for a in answers
                       if not (out[a.id].upvoter_reputations or out[a.id].downvoter_reputations or out[a.id].accepted)}
    if unvoted_authors:
        ans, qs = Answer.__table__, Question.__table__
        helpful = func.sum(case((or_(ans.c.score > 0, qs.c.accepted_answer_id == ans.c.id), 1), else_=0))
        stmt = (select(ans.c.author_id, helpful)
                .select_from(ans.join(qs, qs.c.id == ans.c.question_id))
                .where(ans.c.author_id.in_(sorted(unvoted_authors)), ans.c.deleted_at.is_(None), qs.c.deleted_at.is_(None),
                       ans.c.id.not_in([a.id for a in answers]),
                       qs.c.product_id == product_id if product_id else qs.c.product_id.is_(None))
                .group_by(ans.c.author_id))
        record = {author: int(n or 0) for author, n in session.connection().execute(stmt)}
        for a in answers:
            out[a.id].author_helpful_answers = record.get(a.author_id, 0)
    return out


def comments_of(session: Session, keys: list[tuple[str, int]]) -> dict[tuple[str, int], list[Mapping[str, Any]]]:
    """One statement: the comments (not deleted) on these posts, oldest first, with their authors."""
    if not keys:
        return {}
    by_type: dict[str, list[int]] = {}
    for post_type, post_id in keys:
        by_type.setdefault(post_type, []).append(post_id)
    types = tuple(sorted(by_type))
    stmt = _comments_statement(types)
    out: dict[tuple[str, int], list[Mapping[str, Any]]] = {}
    for r in plain.mappings(session, stmt, {f"ids_{i}": by_type[t] for i, t in enumerate(types)}):
        out.setdefault((r["post_type"], r["post_id"]), []).append(r)
    return out


@functools.cache
def _comments_statement(types: tuple[str, ...]):
    """comments_of's statement for posts of these types (the ids of the i-th type are the
    expanding parameter `ids_<i>`), built once per process, as _question_head_statement is."""
    from app.accounts.models import User
    from app.comments.models import Comment

    c, users = Comment.__table__, User.__table__
    where = or_(*[and_(c.c.post_type == t, c.c.post_id.in_(bindparam(f"ids_{i}", expanding=True)))
                  for i, t in enumerate(types)])
    return (select(c.c.id, c.c.post_type, c.c.post_id, c.c.author_id, c.c.body, c.c.body_html, c.c.created_at,
                   c.c.source_author, c.c.hidden_at, c.c.hidden_reason, *_user_columns(users))
            .select_from(c.outerjoin(users, users.c.id == c.c.author_id))
            .where(where, c.c.deleted_at.is_(None))
            .order_by(c.c.created_at, c.c.id))


def support_state(head: Mapping[str, Any]) -> dict:
    """What app/escalation/queries.py:support_panel needs, loaded with the question head."""
    return {"id": head["id"], "author_id": head["author_id"], "status": head["status"],
            "accepted_answer_id": head["accepted_answer_id"], "created_at": head["created_at"],
            "escalation_id": head["esc_id"], "escalation_status": head["esc_status"],
            "me_too_count": head["me_too_count"], "my_me_too": bool(head["my_me_too"])}

