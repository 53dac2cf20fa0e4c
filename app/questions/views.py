"""Read models shared by the forum pages and the JSON API: loaded in a few batched queries,
with the viewer's permissions (`can_*`) worked out here, never in templates."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime

from sqlmodel import Session, select

from app.accounts import permissions
from app.accounts.models import User
from app.answers.ranking import AnswerSort, order
from app.core.db import utcnow
from app.core.markdown import excerpt
from app.questions.duplicates import duplicates_of, live_acceptances_elsewhere
from app.questions.models import Question, QuestionStatus


@dataclass
class UserView:
    id: int
    username: str
    display_name: str
    reputation: int
    role: str
    is_staff: bool
    created_at: datetime

    @classmethod
    def of(cls, user: User | None) -> "UserView":
        if user is None:
            return DELETED_USER
        return cls(user.id, user.username, user.shown_name, user.reputation, user.role, user.is_staff, user.created_at)


DELETED_USER = UserView(0, "deleted-user", "deleted user", 1, "customer", False, datetime(1970, 1, 1))


def author_view(user: User | None, source_author: str | None) -> UserView:
    """Who wrote a post or comment, for display. An imported one whose author is not in the dump
    belongs to the importer's inactive, password-less placeholder account; its own name from the
    dump (`OwnerDisplayName` / `UserDisplayName`, kept in `source_author`) is shown, unlinked,
    rather than "deleted user"."""
    if source_author and user is not None and not user.is_active and user.password_hash is None:
        return replace(DELETED_USER, display_name=source_author)
    return UserView.of(user)


def question_url(question_id: int, slug: str) -> str:
    return f"/questions/{question_id}/{slug}"


@dataclass
class QuestionSummaryView:
    id: int
    title: str
    slug: str
    url: str
    score: int
    answer_count: int
    has_accepted_answer: bool
    tags: list[str]
    product: str | None
    product_name: str | None
    status: str
    created_at: datetime
    last_activity_at: datetime
    author: UserView
    excerpt: str
    me_too_count: int = 0  # customers who said "I have this problem too"
    hidden: str | None = None  # why it is hidden (listed for its author and moderators only)
    visibility: str = "public"  # "internal": the staff-only space (app/internal/visibility.py)


@dataclass
class CommentView:
    id: int
    body: str
    body_html: str
    author: UserView
    created_at: datetime
    can_delete: bool
    hidden: str | None = None  # why it is hidden (shown to its author and moderators only)
    can_flag: bool = False


@dataclass
class QuestionRef:
    id: int
    title: str
    url: str


@dataclass
class AnswerView:
    id: int
    question_id: int
    body: str
    body_html: str
    author: UserView
    score: int
    is_accepted: bool
    is_staff: bool
    created_at: datetime
    updated_at: datetime | None
    my_vote: int
    can_edit: bool
    can_delete: bool
    can_vote: bool
    can_accept: bool
    comments: list[CommentView] = field(default_factory=list)
    can_downvote: bool = False
    can_suggest_edit: bool = False
    can_comment: bool = False
    source_url: str | None = None
    source_author: str | None = None
    license: str | None = None  # imported posts: "CC BY-SA 4.0" etc.; None for posts written here
    community_wiki: bool = False
    # Moved here from a duplicate by a merge (None when written here, or when that question is deleted).
    merged_from: QuestionRef | None = None
    # Accepted by the asker of the duplicate it was moved from (not accepted on this question).
    accepted_on_duplicate: bool = False
    hidden: str | None = None  # why it is hidden (shown to its author and moderators only)
    can_flag: bool = False
    body_format: str = "markdown"
    quoted_in: int = 0  # shown posts quoting this one; `quoted_by` lists them (app/quotes/service.py)
    quoted_by: list = field(default_factory=list)


@dataclass
class QuestionDetailView(QuestionSummaryView):
    body: str = ""
    body_html: str = ""
    accepted_answer_id: int | None = None
    duplicate_of: QuestionSummaryView | None = None
    updated_at: datetime | None = None
    answers: list[AnswerView] = field(default_factory=list)
    comments: list[CommentView] = field(default_factory=list)
    my_vote: int = 0
    can_edit: bool = False
    can_delete: bool = False
    can_vote: bool = False
    can_answer: bool = False
    can_comment: bool = False
    can_accept: bool = False
    can_downvote: bool = False
    can_suggest_edit: bool = False
    can_close: bool = False
    can_reopen: bool = False
    revision_count: int = 1
    source_url: str | None = None
    source_author: str | None = None
    license: str | None = None
    community_wiki: bool = False
    duplicates: list[QuestionSummaryView] = field(default_factory=list)
    merged_into_at: datetime | None = None
    can_merge: bool = False
    helped: int = 0  # customers who found their answer here instead of asking (deflections)
    # What the support panel needs, loaded with the question (app/escalation/queries.py:support_panel).
    support: dict | None = None
    hidden: str | None = None  # why it is hidden (shown to its author and moderators only)
    locked: bool = False
    protected: bool = False
    can_flag: bool = False
    can_moderate: bool = False
    body_format: str = "markdown"
    quoted_in: int = 0  # shown posts quoting this one; `quoted_by` lists them (app/quotes/service.py)
    quoted_by: list = field(default_factory=list)


def summaries(session: Session, questions: list[Question]) -> list[QuestionSummaryView]:
    """Summaries of these questions (ORM objects or rows with Question's attribute names), in
    their order: tags, authors, products and "me too" counts are read for all of them at once in
    one statement of plain rows (app/questions/page_queries.py:summary_rows)."""
    from app.moderation.posts import hidden_label
    from app.questions import page_queries as pq

    if not questions:
        return []
    rows = pq.summary_rows(session, [q.id for q in questions])
    out = []
    for q in questions:
        row = rows.get(q.id)
        author = pq.user_view(row, "u_", q.source_author) if row is not None else DELETED_USER
        out.append(QuestionSummaryView(
            id=q.id, title=q.title, slug=q.slug, url=question_url(q.id, q.slug), score=q.score,
            answer_count=q.answer_count, has_accepted_answer=q.accepted_answer_id is not None,
            tags=pq.split_tags(row["tags"]) if row is not None else [],
            product=row["p_slug"] if row is not None else None, product_name=row["p_name"] if row is not None else None,
            status=q.status, created_at=q.created_at, last_activity_at=q.last_activity_at, author=author,
            excerpt=excerpt(q.body_html, 180), me_too_count=row["me_too_count"] if row is not None else 0,
            hidden=hidden_label(q), visibility=getattr(q, "visibility", "public") or "public"))
    return out


def question_detail(session: Session, question_id: int, viewer: User | None, sort: AnswerSort = "best") -> QuestionDetailView:
    """The question page's read model in a handful of set-based statements of plain rows (no ORM
    objects): the question with its product, author, tags, counts, latest escalation and the
    viewer's own vote; the answers with their authors, votes' evidence and the viewer's votes; the
    comments with their authors; and, only when they apply, the ranking's author record, the
    original of a duplicate, the duplicates, and merge provenance. 3 statements for an anonymous
    page, 4 when an answer has no votes yet (docs/performance.md); the count does not grow with
    answers, comments or votes (tests/web/test_page_queries.py). Raises NotFound for a missing or
    deleted question."""
    from types import SimpleNamespace

    from app.core.errors import NotFound
    from app.moderation import posts as moderated
    from app.questions import page_queries as pq

    def post(row) -> SimpleNamespace:  # what app/moderation/posts.py reads of a post
        return SimpleNamespace(author_id=row["author_id"], hidden_at=row["hidden_at"], hidden_reason=row["hidden_reason"])

    from app.internal.visibility import may_see

    head = pq.question_head(session, question_id, viewer)
    # An internal question (and so its answers and comments) does not exist for non-staff.
    if head is None or not may_see(viewer, head) or not moderated.can_see(viewer, post(head)):
        raise NotFound(f"Question {question_id} does not exist or was deleted.")
    q = head
    answer_rows = [a for a in pq.answers_of(session, q["id"], viewer) if moderated.can_see(viewer, a)]
    accepted_id = q["accepted_answer_id"]
    if sort == "best":
        evidence = pq.evidence(session, answer_rows, accepted_id, q["product_id"])
        answers = order(answer_rows, evidence, sort)
    else:
        answers = order(answer_rows, {}, sort)
    comments = {k: [c for c in cs if moderated.can_see(viewer, post(c))]
                for k, cs in pq.comments_of(session, [("question", q["id"])] + [("answer", a.id) for a in answers]).items()}
    locked = q["locked_at"] is not None
    may_flag = permissions.has_privilege(viewer, "flag")

    def can_flag(author_id: int) -> bool:
        return may_flag and viewer.id != author_id
    age = utcnow() - q["created_at"]
    can_accept = permissions.can_accept(viewer, q["author_id"], age)
    is_open = q["status"] == QuestionStatus.open
    merged_ids = {a.merged_from_question_id for a in answers if a.merged_from_question_id}
    merged_from = _merged_from_ids(session, merged_ids) if merged_ids else {}
    accepted_elsewhere = (live_acceptances_elsewhere(session, q["id"], [a.id for a in answers if a.merged_from_question_id])
                          if merged_ids else set())

    def comment_views(key) -> list[CommentView]:
        return [CommentView(c["id"], c["body"], c["body_html"], pq.user_view(c, "u_", c["source_author"]), c["created_at"],
                            permissions.can_delete_post(viewer, c["author_id"]), moderated.hidden_label(post(c)),
                            can_flag(c["author_id"])) for c in comments.get(key, [])]

    answer_views = []
    for a in answers:
        author = pq.user_view(a.row, "u_", a.source_author)
        answer_views.append(AnswerView(
            id=a.id, question_id=q["id"], body=a.body, body_html=a.body_html, author=author,
            score=a.score, is_accepted=a.id == accepted_id, is_staff=a.author_is_staff,
            created_at=a.created_at, updated_at=a.updated_at, my_vote=a.my_vote or 0,
            can_edit=permissions.can_edit_post(viewer, a.author_id),
            can_delete=permissions.can_delete_post(viewer, a.author_id) and not permissions.answer_delete_refusal(
                viewer, a.author_id, a.id == accepted_id, q["author_id"]),
            can_vote=permissions.can_vote(viewer, a.author_id) and not locked, can_accept=can_accept,
            comments=comment_views(("answer", a.id)),
            can_downvote=permissions.can_vote(viewer, a.author_id, -1) and not locked,
            can_suggest_edit=permissions.can_suggest_edit(viewer, a.author_id),
            can_comment=permissions.can_comment(viewer, a.author_id, q["author_id"]) and not locked,
            hidden=moderated.hidden_label(a), can_flag=can_flag(a.author_id),
            source_url=a.source_url, source_author=a.source_author, license=a.license,
            community_wiki=a.community_owned_at is not None,
            merged_from=merged_from.get(a.merged_from_question_id),
            accepted_on_duplicate=a.id in accepted_elsewhere and a.id != accepted_id,
            body_format=a.body_format, quoted_in=a.quoted_in,
        ))
    duplicate_of = None
    if q["duplicate_of_id"]:
        original = session.get(Question, q["duplicate_of_id"])
        # Hidden or internal since the close: the banner must not name it to those who cannot see it.
        if original is not None and original.deleted_at is None and moderated.can_see(viewer, original):
            duplicate_of = summaries(session, [original])[0]
    duplicates = summaries(session, duplicates_of(session, q["id"])) if q["duplicate_count"] else []
    tags = pq.split_tags(q["tags"])
    detail = QuestionDetailView(
        id=q["id"], title=q["title"], slug=q["slug"], url=question_url(q["id"], q["slug"]), score=q["score"],
        answer_count=q["answer_count"], has_accepted_answer=accepted_id is not None, tags=tags,
        product=q["p_slug"], product_name=q["p_name"], status=q["status"], created_at=q["created_at"],
        last_activity_at=q["last_activity_at"], author=pq.user_view(q, "u_", q["source_author"]),
        excerpt=excerpt(q["body_html"], 180),
        body=q["body"], body_html=q["body_html"], accepted_answer_id=accepted_id,
        duplicate_of=duplicate_of, updated_at=q["updated_at"], answers=answer_views,
        comments=comment_views(("question", q["id"])), my_vote=q["my_vote"] or 0,
        can_edit=permissions.can_edit_post(viewer, q["author_id"]),
        can_delete=permissions.can_delete_post(viewer, q["author_id"]) and not permissions.question_delete_refusal(
            viewer, q["author_id"], [(a.author_id, a.score, a.id == accepted_id) for a in answers]),
        can_vote=permissions.can_vote(viewer, q["author_id"]) and not locked,
        can_answer=viewer is not None and is_open and not locked,
        can_comment=permissions.can_comment(viewer, q["author_id"]) and not locked,
        can_accept=can_accept, revision_count=q["revision_count"],
        can_downvote=permissions.can_vote(viewer, q["author_id"], -1) and not locked,
        hidden=moderated.hidden_label(post(q)), locked=locked, protected=q["protected_at"] is not None,
        can_flag=can_flag(q["author_id"]),
        can_moderate=bool(viewer and viewer.can_moderate and not viewer.is_suspended),
        can_suggest_edit=permissions.can_suggest_edit(viewer, q["author_id"]),
        can_close=permissions.can_close(viewer) and is_open,
        can_reopen=permissions.can_close(viewer) and not is_open and q["merged_into_at"] is None,
        source_url=q["source_url"], source_author=q["source_author"], license=q["license"],
        community_wiki=q["community_owned_at"] is not None,
        duplicates=duplicates,
        merged_into_at=q["merged_into_at"],
        can_merge=(permissions.can_close(viewer) and q["status"] == QuestionStatus.duplicate
                   and q["merged_into_at"] is None and duplicate_of is not None and duplicate_of.status != "duplicate"),
        me_too_count=q["me_too_count"], helped=q["helped"], support=pq.support_state(q),
        body_format=q["body_format"], quoted_in=q["quoted_in"],
        visibility=q["visibility"] or "public",
    )
    from app.quotes import service as quotes

    quotes.resolve_detail(session, detail, viewer)  # credit lines of quotes, "quoted in N posts"
    return detail


def _merged_from_ids(session: Session, ids: set[int]) -> dict[int, QuestionRef]:
    rows = session.exec(select(Question.id, Question.title, Question.slug)
                        .where(Question.id.in_(ids), Question.deleted_at.is_(None))).all()
    return {qid: QuestionRef(qid, title, question_url(qid, slug)) for qid, title, slug in rows}


def post_counts(session: Session, user_id: int, viewer: User | None = None) -> tuple[int, int]:
    """How many questions and answers a user has posted that `viewer` may see (for the profile
    page): not deleted, and not hidden unless the viewer is their author or a moderator
    (app/moderation/posts.py `visible_to`); answers only in questions the viewer may see."""
    from sqlalchemy import func

    from app.answers.models import Answer
    from app.moderation.posts import visible_to

    questions = session.exec(
        select(func.count()).select_from(Question).where(Question.author_id == user_id, Question.deleted_at.is_(None),
                                                         visible_to(Question, viewer))
    ).one()
    answers = session.exec(
        select(func.count()).select_from(Answer)
        .join(Question, Question.id == Answer.question_id)
        .where(Answer.author_id == user_id, Answer.deleted_at.is_(None), Question.deleted_at.is_(None),
               visible_to(Answer, viewer), visible_to(Question, viewer))
    ).one()
    return int(questions), int(answers)


def post_links(session: Session, keys, *, viewer: User | None = None,
               check_hidden: bool = False) -> dict[tuple[str, int], tuple[str, str]]:
    """Where posts live, for pages that point at them (the reputation by post, the review queue):
    {(post_type, post_id): (url, question title)}. An answer's url is its anchor on the question's
    page. Deleted posts, and answers in deleted questions, are left out; with `check_hidden`, so
    are hidden posts (and answers in hidden questions) that `viewer` may not see, and internal
    questions (public lists). Pages that name posts a viewer may open, internal ones included for
    staff, decide with app/moderation/posts.py `seen_posts` first (the reputation ledger)."""
    from sqlalchemy import true

    from app.answers.models import Answer
    from app.moderation.posts import visible_to

    def seen(model):
        return visible_to(model, viewer) if check_hidden else true()

    keys = set(keys)
    question_ids = {pid for kind, pid in keys if kind == "question"}
    answer_ids = {pid for kind, pid in keys if kind == "answer"}
    answer_question: dict[int, int] = {}
    if answer_ids:
        answer_question = dict(session.exec(
            select(Answer.id, Answer.question_id).where(Answer.id.in_(answer_ids), Answer.deleted_at.is_(None),
                                                      seen(Answer))
        ).all())
    wanted = question_ids | set(answer_question.values())
    questions = {q.id: q for q in session.exec(
        select(Question).where(Question.id.in_(wanted), Question.deleted_at.is_(None), seen(Question))).all()} \
        if wanted else {}
    out: dict[tuple[str, int], tuple[str, str]] = {}
    for qid in question_ids:
        if qid in questions:
            out[("question", qid)] = (question_url(qid, questions[qid].slug), questions[qid].title)
    for aid, qid in answer_question.items():
        if qid in questions:
            out[("answer", aid)] = (f"{question_url(qid, questions[qid].slug)}#answer-{aid}", questions[qid].title)
    return out
