"""Badges: what the data says each user has earned, awarding it (idempotent), recomputing, reading.

One function, `expected_awards`, says which badges the current data supports; the worker's
`sync` (every few minutes) and `groundswell recompute-badges` both compare it with
`awarded_badges` and write only the differences: new awards (the worker tells their holders),
withdrawals of awards whose cause no longer stands, and restorations. Running either twice in a
row changes nothing the second time; so awarding is idempotent and the table can always be
rebuilt from questions, answers, acceptances, deflections and flags (the rules: app/badges/policy.py).

What does not earn badges: deleted or hidden posts (app/moderation/posts.py) and the answers on
them, posts on internal questions (questions.visibility = 'internal', when that column exists),
and deactivated accounts (the importer's placeholder for unknown authors included).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import and_, bindparam, func, update
from sqlalchemy.orm import aliased
from sqlmodel import Session, select

from app.accounts.models import User
from app.answers.models import Answer
from app.badges import policy
from app.badges.models import AwardedBadge
from app.core import plain
from app.core.db import utcnow
from app.core.errors import NotFound
from app.internal.visibility import public_only
from app.moderation.models import Flag
from app.questions.models import Question
from app.search.models import Deflection

Key = tuple[int, str, str]  # (user_id, badge, subject)


@dataclass(frozen=True)
class Earned:
    """One award the data supports: who, which badge, and about what (for per-post / per-product badges)."""

    user_id: int
    badge: str
    post_type: str | None = None
    post_id: int | None = None
    product_id: int | None = None

    @property
    def subject(self) -> str:
        if self.post_type:
            return f"{self.post_type}:{self.post_id}"
        if self.product_id is not None:
            return f"product:{self.product_id}"
        return ""

    @property
    def key(self) -> Key:
        return (self.user_id, self.badge, self.subject)


# --- what counts ------------------------------------------------------------------------------

def _public_only(stmt, question=Question):
    """Leave out internal questions (the staff-only space: app/internal/visibility.py)."""
    return stmt.where(public_only(question))


def _visible_question(q=Question):
    return and_(q.deleted_at.is_(None), q.hidden_at.is_(None))


def _visible_answers(*columns):
    """SELECT columns FROM answers JOIN questions JOIN users (the author): visible answers on visible,
    public questions, by active accounts."""
    stmt = (select(*columns).select_from(Answer).join(Question, Question.id == Answer.question_id)
            .join(User, User.id == Answer.author_id)
            .where(Answer.deleted_at.is_(None), Answer.hidden_at.is_(None), _visible_question(), User.is_active))
    return _public_only(stmt)


def _accepted_answers(*columns):
    """Visible answers accepted by their asker, the asker being someone else (as for reputation)."""
    return _visible_answers(*columns).where(Question.accepted_answer_id == Answer.id,
                                            Answer.author_id != Question.author_id)


def _teacher(session: Session) -> Iterable[Earned]:
    for uid in session.exec(_visible_answers(Answer.author_id).distinct()).all():
        yield Earned(uid, "teacher")


def _solver(session: Session) -> Iterable[Earned]:
    for uid in session.exec(_accepted_answers(Answer.author_id).distinct()).all():
        yield Earned(uid, "solver")


def _scholar(session: Session) -> Iterable[Earned]:
    asker = aliased(User)
    stmt = (_accepted_answers(Question.author_id).join(asker, asker.id == Question.author_id)
            .where(asker.is_active).distinct())
    for uid in session.exec(stmt).all():
        yield Earned(uid, "scholar")


def _answer_scores(session: Session) -> Iterable[Earned]:
    thresholds = (("nice-answer", policy.NICE_ANSWER_SCORE), ("good-answer", policy.GOOD_ANSWER_SCORE),
                  ("great-answer", policy.GREAT_ANSWER_SCORE))
    low = min(t for _, t in thresholds)
    for aid, uid, score in session.exec(_visible_answers(Answer.id, Answer.author_id, Answer.score)
                                        .where(Answer.score >= low)).all():
        for badge, minimum in thresholds:
            if score >= minimum:
                yield Earned(uid, badge, "answer", aid)


def _product_expert(session: Session) -> Iterable[Earned]:
    n = func.count(Answer.id)
    stmt = (_accepted_answers(Answer.author_id, Question.product_id).where(Question.product_id.is_not(None))
            .group_by(Answer.author_id, Question.product_id).having(n >= policy.PRODUCT_EXPERT_ACCEPTED))
    for uid, pid in session.exec(stmt).all():
        yield Earned(uid, "product-expert", product_id=pid)


def _helpful(stmt):
    return stmt.where((Answer.score >= policy.HELPFUL_ANSWER_SCORE)
                      | and_(Question.accepted_answer_id == Answer.id, Answer.author_id != Question.author_id))


def _helpful_streak(session: Session) -> Iterable[Earned]:
    # Only authors with enough helpful answers to make a streak; then their days, in Python.
    candidates = (_helpful(_visible_answers(Answer.author_id)).group_by(Answer.author_id)
                  .having(func.count(Answer.id) >= policy.STREAK_DAYS)).subquery()
    days: dict[int, set[date]] = defaultdict(set)
    for uid, created in session.exec(_helpful(_visible_answers(Answer.author_id, Answer.created_at))
                                     .where(Answer.author_id.in_(select(candidates.c.author_id)))).all():
        days[uid].add(_utc_day(created))
    for uid, held in days.items():
        if longest_run(held) >= policy.STREAK_DAYS:
            yield Earned(uid, "helpful-streak")


def _signpost(session: Session) -> Iterable[Earned]:
    n = func.count(Deflection.id)
    stmt = _public_only(
        select(Question.id, Question.author_id).select_from(Deflection)
        .join(Question, Question.id == Deflection.question_id).join(User, User.id == Question.author_id)
        .where(_visible_question(), User.is_active)
        .group_by(Question.id, Question.author_id).having(n >= policy.SIGNPOST_DEFLECTIONS))
    for qid, uid in session.exec(stmt).all():
        yield Earned(uid, "signpost", "question", qid)


def _citizen_patrol(session: Session) -> Iterable[Earned]:
    stmt = (select(Flag.flagger_id).join(User, User.id == Flag.flagger_id)
            .where(Flag.status == "helpful", User.is_active).distinct())
    for uid in session.exec(stmt).all():
        yield Earned(uid, "citizen-patrol")


RULES = {
    "teacher": _teacher, "scholar": _scholar, "solver": _solver, "answer-scores": _answer_scores,
    "helpful-streak": _helpful_streak, "product-expert": _product_expert, "signpost": _signpost,
    "citizen-patrol": _citizen_patrol,
}


def _utc_day(when: datetime) -> date:
    when = when if when.tzinfo else when.replace(tzinfo=UTC)
    return when.astimezone(UTC).date()


def longest_run(days: Iterable[date]) -> int:
    """The longest run of consecutive calendar days in `days` (0 when empty)."""
    held = set(days)
    best = 0
    for d in held:
        if d - timedelta(days=1) in held:
            continue  # not the start of a run
        n = 1
        while d + timedelta(days=n) in held:
            n += 1
        best = max(best, n)
    return best


def expected_awards(session: Session) -> dict[Key, Earned]:
    """Every award the current data supports, by (user_id, badge, subject)."""
    out: dict[Key, Earned] = {}
    for rule in RULES.values():
        for earned in rule(session):
            out.setdefault(earned.key, earned)
    return out


# --- applying ---------------------------------------------------------------------------------

@dataclass
class BadgeReport:
    """What a sync found (and, unless checking, did)."""

    checked: int = 0       # award rows looked at
    new: int = 0           # earned and not yet awarded
    restored: int = 0      # earned again after a withdrawal
    withdrawn: int = 0     # awarded, but the cause no longer stands
    awarded: list[Earned] = field(default_factory=list)  # the new ones (for notifications)
    changed: list[str] = field(default_factory=list)     # up to 1,000 lines "user: +Teacher"

    @property
    def differences(self) -> int:
        return self.new + self.restored + self.withdrawn

    def summary(self) -> str:
        return (f"{self.checked} awards checked: {self.new} missing, {self.restored} to restore, "
                f"{self.withdrawn} no longer earned")


def sync(session: Session, *, fix: bool = True, notify: bool = True, now: datetime | None = None) -> BadgeReport:
    """Bring `awarded_badges` in line with what the data supports; with fix=False only report.

    New awards are inserted with ON CONFLICT DO NOTHING on (user, badge, subject), so two workers
    at once award each badge once; with notify=True each new holder gets a notification
    ("badge_awarded"; the worker notifies, `recompute-badges` repairs silently). Returns the report."""
    now = now or utcnow()
    expected = expected_awards(session)
    rows = session.exec(select(AwardedBadge)).all()
    held = {(r.user_id, r.badge, r.subject): r for r in rows}
    report = BadgeReport(checked=len(rows))
    names = _usernames(session, {k[0] for k in expected} | {r.user_id for r in rows})
    for key, earned in expected.items():
        row = held.get(key)
        if row is None:
            report.new += 1
            report.awarded.append(earned)
        elif row.withdrawn_at is not None:
            report.restored += 1
            if fix:
                row.withdrawn_at = None
        else:
            continue
        _line(report, names, key, "+")
    stale = [r for key, r in held.items() if r.withdrawn_at is None and key not in expected]
    report.withdrawn = len(stale)
    for r in stale:
        _line(report, names, (r.user_id, r.badge, r.subject), "−")
    if not fix:
        return report
    if stale:
        session.exec(update(AwardedBadge).where(AwardedBadge.id.in_([r.id for r in stale]))
                     .values(withdrawn_at=now))
    inserted = [e for e in report.awarded if _insert(session, e, now)]
    report.awarded = inserted
    session.flush()
    if notify:
        _notify(session, inserted, now)
    return report


def _usernames(session: Session, ids: set[int]) -> dict[int, str]:
    if not ids:
        return {}
    return dict(session.exec(select(User.id, User.username).where(User.id.in_(ids))).all())


def _line(report: BadgeReport, names: dict[int, str], key: Key, sign: str) -> None:
    if len(report.changed) < 1000:
        uid, badge, subject = key
        report.changed.append(f"{names.get(uid, uid)}: {sign}{policy.BADGE_BY_KEY[badge].name}"
                              + (f" ({subject})" if subject else ""))


def _insert(session: Session, e: Earned, now: datetime) -> bool:
    """Insert one award unless it exists; True when this call inserted it."""
    dialect = session.connection().dialect.name
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    stmt = insert(AwardedBadge).values(
        user_id=e.user_id, badge=e.badge, subject=e.subject, post_type=e.post_type, post_id=e.post_id,
        product_id=e.product_id, awarded_at=now,
    ).on_conflict_do_nothing(index_elements=["user_id", "badge", "subject"]).returning(AwardedBadge.id)
    return session.connection().execute(stmt).first() is not None


def _notify(session: Session, awarded: list[Earned], now: datetime) -> None:
    from app.notifications import service as notifications

    for e in awarded:
        badge = policy.BADGE_BY_KEY[e.badge]
        notifications.notify(session, [e.user_id], kind="badge_awarded",
                             text=f"You earned the {badge.klass} badge “{badge.name}”: {badge.description}",
                             url=f"/badges/{badge.key}", now=now)


def recompute(session: Session, *, fix: bool = True) -> BadgeReport:
    """`groundswell recompute-badges`: the same comparison as the worker's, without notifications."""
    return sync(session, fix=fix, notify=False)


# --- reading ----------------------------------------------------------------------------------

def get_badge(key: str) -> policy.Badge:
    """The badge with this key, or NotFound (404)."""
    badge = policy.BADGE_BY_KEY.get(key)
    if badge is None:
        raise NotFound("There is no such badge: see /badges for all of them.")
    return badge


def _held():
    return AwardedBadge.withdrawn_at.is_(None)


def award_counts(session: Session) -> dict[str, int]:
    """badge key → how many times it is held now (a per-post badge counts once per post)."""
    return dict(session.exec(select(AwardedBadge.badge, func.count(AwardedBadge.id)).where(_held())
                             .group_by(AwardedBadge.badge)).all())


@dataclass
class Tally:
    """A user's badges by class, as Stack Exchange shows next to names."""

    gold: int = 0
    silver: int = 0
    bronze: int = 0

    @property
    def total(self) -> int:
        return self.gold + self.silver + self.bronze

    def text(self) -> str:
        """"1 gold, 2 bronze badges": the accessible words for the coloured dots."""
        parts = [f"{n} {c}" for c, n in (("gold", self.gold), ("silver", self.silver), ("bronze", self.bronze)) if n]
        return (", ".join(parts) + (" badge" if self.total == 1 else " badges")) if parts else "no badges"


# Built once (the ids an expanding parameter): every question page asks it, and building the
# select and its cache key on each request cost more than running it (issue 11).
_TALLIES = (select(AwardedBadge.user_id, AwardedBadge.badge, func.count(AwardedBadge.id))
            .where(AwardedBadge.user_id.in_(bindparam("ids", expanding=True)), _held())
            .group_by(AwardedBadge.user_id, AwardedBadge.badge))


def tallies(session: Session, user_ids: Iterable[int]) -> dict[int, Tally]:
    """user id → Tally for the given users (those without badges are absent). One query."""
    ids = sorted({u for u in user_ids if u})
    if not ids:
        return {}
    out: dict[int, Tally] = {}
    for uid, badge, n in plain.tuples(session, _TALLIES, {"ids": ids}):
        b = policy.BADGE_BY_KEY.get(badge)
        if b is not None:
            t = out.setdefault(uid, Tally())
            setattr(t, b.klass, getattr(t, b.klass) + int(n))
    return out


@dataclass
class AwardView:
    """One award for display: the badge, when, and what it was for (a post, a product) when it says."""

    id: int
    badge: policy.Badge
    awarded_at: datetime
    user: User | None = None
    post_type: str | None = None
    post_id: int | None = None
    post_title: str | None = None
    post_url: str | None = None
    post_visible: bool = False  # False: the post is gone, hidden or internal, and post_id is None
    product_slug: str | None = None
    product_name: str | None = None


def _views(session: Session, rows: list[AwardedBadge], users: dict[int, User] | None = None) -> list[AwardView]:
    """Award rows with their post (only while it is visible and public: otherwise no title, url nor
    id, `post_visible` False) and product resolved."""
    from app.products.models import Product
    from app.questions.views import question_url

    qids = {r.post_id for r in rows if r.post_type == "question"}
    aids = {r.post_id for r in rows if r.post_type == "answer"}
    answers = {}
    if aids:
        answers = {a.id: (a.question_id, a.deleted_at is None and a.hidden_at is None)
                   for a in session.exec(select(Answer).where(Answer.id.in_(aids))).all()}
        qids |= {q for q, _ in answers.values()}
    questions = {}
    if qids:
        stmt = _public_only(select(Question).where(Question.id.in_(qids), _visible_question()))
        questions = {q.id: q for q in session.exec(stmt).all()}
    pids = {r.product_id for r in rows if r.product_id}
    products = {p.id: p for p in session.exec(select(Product).where(Product.id.in_(pids))).all()} if pids else {}
    out = []
    for r in rows:
        v = AwardView(r.id, policy.BADGE_BY_KEY[r.badge], r.awarded_at, (users or {}).get(r.user_id),
                      r.post_type, r.post_id)
        if r.post_type == "question" and r.post_id in questions:
            q = questions[r.post_id]
            v.post_title, v.post_url = q.title, question_url(q.id, q.slug)
        elif r.post_type == "answer" and r.post_id in answers:
            qid, visible = answers[r.post_id]
            if visible and qid in questions:
                q = questions[qid]
                v.post_title, v.post_url = q.title, f"{question_url(q.id, q.slug)}#answer-{r.post_id}"
        # A post no longer visible is not named at all: neither its title nor its id (as the
        # reputation ledger, docs/reputation.md "Who sees which post").
        v.post_visible = v.post_url is not None
        if not v.post_visible:
            v.post_id = None
        if r.product_id in products:
            v.product_slug, v.product_name = products[r.product_id].slug, products[r.product_id].name
        out.append(v)
    return out


def _after(stmt, cursor: str | None):
    """Keyset on id, newest first: the cursor holds the last id seen (app.core.pagination)."""
    from app.core.ids import is_id
    from app.core.pagination import decode_cursor

    after = decode_cursor(cursor, 1)
    if after is not None:
        if not is_id(after[0]):
            from app.core.errors import field_error

            raise field_error("cursor", "The cursor is not valid; start again from the first page.", "query")
        stmt = stmt.where(AwardedBadge.id < after[0])
    return stmt.order_by(AwardedBadge.id.desc())


def _page(session: Session, stmt, *, limit: int | None, cursor: str | None, with_users: bool = False):
    from app.core.pagination import Page, clamp_limit, encode_cursor

    limit = clamp_limit(limit, default=30)
    rows = list(session.exec(_after(stmt, cursor).limit(limit + 1)).all())
    next_cursor = encode_cursor([rows[limit - 1].id]) if len(rows) > limit else None
    rows = rows[:limit]
    users = None
    if with_users and rows:
        users = {u.id: u for u in session.exec(select(User).where(User.id.in_({r.user_id for r in rows}))).all()}
    return Page(items=_views(session, rows, users), next_cursor=next_cursor)


def for_user(session: Session, user: User, *, limit: int | None = None, cursor: str | None = None):
    """The user's badges held now, newest first, keyset-paginated: Page[AwardView]."""
    return _page(session, select(AwardedBadge).where(AwardedBadge.user_id == user.id, _held()),
                 limit=limit, cursor=cursor)


def holders_page(session: Session, badge: policy.Badge, *, limit: int | None = None, cursor: str | None = None):
    """Who holds `badge`, newest award first, keyset-paginated (the API): Page[AwardView] with users."""
    stmt = (select(AwardedBadge).join(User, User.id == AwardedBadge.user_id)
            .where(AwardedBadge.badge == badge.key, _held(), User.is_active))
    return _page(session, stmt, limit=limit, cursor=cursor, with_users=True)


def summary_for(session: Session, user: User) -> list[tuple[policy.Badge, int, AwardView]]:
    """A profile's badges: each badge held, how many times, and its latest award; gold first."""
    rows = session.exec(select(AwardedBadge.badge, func.count(AwardedBadge.id), func.max(AwardedBadge.id))
                        .where(AwardedBadge.user_id == user.id, _held()).group_by(AwardedBadge.badge)).all()
    last = list(session.exec(select(AwardedBadge).where(AwardedBadge.id.in_([r[2] for r in rows]))).all()) if rows else []
    latest = {v.id: v for v in _views(session, last)}
    order = {c: i for i, c in enumerate(policy.CLASSES)}
    return sorted(((latest[last].badge, int(n), latest[last]) for key, n, last in rows if key in policy.BADGE_BY_KEY),
                  key=lambda t: (order[t[0].klass], t[0].name))


def holders(session: Session, badge: policy.Badge, *, page: int = 1, size: int = 30
            ) -> tuple[list[AwardView], int, int]:
    """Who holds `badge`, most recent award first: (rows of this page, awards, pages). The 1-based
    page is clamped to the last one. Deactivated accounts are left out."""
    base = (select(AwardedBadge).join(User, User.id == AwardedBadge.user_id)
            .where(AwardedBadge.badge == badge.key, _held(), User.is_active))
    total = int(session.exec(select(func.count()).select_from(base.subquery())).one())
    pages = max(1, -(-total // size))
    page = min(max(1, page), pages)
    rows = list(session.exec(base.order_by(AwardedBadge.awarded_at.desc(), AwardedBadge.id.desc())
                             .offset((page - 1) * size).limit(size)).all())
    users = {u.id: u for u in session.exec(select(User).where(User.id.in_({r.user_id for r in rows}))).all()} \
        if rows else {}
    return _views(session, rows, users), total, pages
