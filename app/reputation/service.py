"""The reputation ledger: events from votes and acceptances, reversals, the daily cap, the cache.

Every change to one user's ledger happens while that user's row is locked (PostgreSQL
`SELECT … FOR UPDATE`; on SQLite writers are serialised already), so the cached balance is
always max(1, 1 + the sum of the events that count), whatever runs at the same time.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from contextlib import nullcontext
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from sqlalchemy import bindparam, func, text, update
from sqlmodel import Session, select

from app.accounts.models import User
from app.core.bulk import indexes_built_after
from app.core.db import utcnow
from app.reputation import policy
from app.reputation.models import ReputationEvent


@dataclass(frozen=True)
class Cause:
    """What the ledger would hold for one cause: (user, kind, source) → base amount."""

    user_id: int
    kind: str
    source_type: str
    source_id: int
    base_amount: int
    post_type: str
    post_id: int
    product_id: int | None
    occurred_at: datetime

    @property
    def key(self) -> tuple[int, str, str, int]:
        return (self.user_id, self.kind, self.source_type, self.source_id)


def lock_users(session: Session, user_ids: Iterable[int]) -> None:
    """Serialise ledger changes per user; ids in ascending order so two transactions never deadlock."""
    for uid in sorted(set(user_ids)):
        session.exec(select(User.id).where(User.id == uid).with_for_update()).first()


# --- causes -----------------------------------------------------------------------------------

def vote_causes(*, vote_id: int, voter_id: int, value: int, post_type: str, post_id: int, author_id: int,
                product_id: int | None, occurred_at: datetime, community_wiki: bool = False) -> list[Cause]:
    """The ledger causes of one vote. On a community-wiki post the owner gets nothing (Stack
    Exchange: votes on community wiki posts earn no reputation); a downvoter of an answer still
    pays its point."""
    if voter_id == author_id:
        return []
    kind = f"{post_type}_{'upvoted' if value > 0 else 'downvoted'}"
    causes = [] if community_wiki else [
        Cause(author_id, kind, "vote", vote_id, policy.POINTS[kind], post_type, post_id, product_id, occurred_at)]
    if value < 0 and post_type == "answer":
        causes.append(Cause(voter_id, "downvoted_answer", "vote", vote_id, policy.POINTS["downvoted_answer"],
                            post_type, post_id, product_id, occurred_at))
    return causes


def imported_vote_causes(*, vote_id: int, value: int, post_type: str, post_id: int, author_id: int,
                         product_id: int | None, occurred_at: datetime, community_wiki: bool = False) -> list[Cause]:
    """A vote from an imported archive: its author's points as for any vote; the voter is unknown.
    None on a community-wiki post (`CommunityOwnedDate`): see vote_causes. Dumps date votes to
    the day only, so votes cast before a post became community wiki cannot be told apart: none
    count."""
    if community_wiki:
        return []
    kind = f"{post_type}_{'upvoted' if value > 0 else 'downvoted'}"
    return [Cause(author_id, kind, "imported_vote", vote_id, policy.POINTS[kind], post_type, post_id, product_id,
                  occurred_at)]


def acceptance_causes(*, acceptance_id: int, answer_id: int, answer_author_id: int, asker_id: int,
                      product_id: int | None, occurred_at: datetime) -> list[Cause]:
    if answer_author_id == asker_id:
        return []  # accepting one's own answer earns nothing
    return [
        Cause(answer_author_id, "answer_accepted", "acceptance", acceptance_id, policy.POINTS["answer_accepted"],
              "answer", answer_id, product_id, occurred_at),
        Cause(asker_id, "accepted_answer", "acceptance", acceptance_id, policy.POINTS["accepted_answer"],
              "answer", answer_id, product_id, occurred_at),
    ]


# --- applying ---------------------------------------------------------------------------------

def apply(session: Session, causes: list[Cause]) -> None:
    """Record the events of new causes (a cause already recorded is left as it is)."""
    if not causes:
        return
    users = {c.user_id for c in causes}
    lock_users(session, users)
    existing = {
        (e.user_id, e.kind, e.source_type, e.source_id)
        for e in session.exec(select(ReputationEvent).where(
            ReputationEvent.user_id.in_(users),
            ReputationEvent.source_type.in_({c.source_type for c in causes}),
            ReputationEvent.source_id.in_({c.source_id for c in causes}),
        )).all()
    }
    for c in causes:
        if c.key in existing:
            continue
        session.add(ReputationEvent(
            user_id=c.user_id, kind=c.kind, amount=c.base_amount, base_amount=c.base_amount,
            source_type=c.source_type, source_id=c.source_id, post_type=c.post_type, post_id=c.post_id,
            product_id=c.product_id, occurred_at=c.occurred_at,
        ))
    session.flush()
    _settle(session, {(c.user_id, _day(c.occurred_at)) for c in causes if c.kind in policy.CAPPED_KINDS}, users)


def reverse(session: Session, *, source_type: str | None = None, source_ids: Iterable[int] = (),
            post: tuple[str, int] | None = None, reason: str) -> int:
    """Reverse the counting events of some causes (or of everything about one post); returns how many."""
    stmt = select(ReputationEvent).where(ReputationEvent.reversed_at.is_(None))
    if post is not None:
        stmt = stmt.where(ReputationEvent.post_type == post[0], ReputationEvent.post_id == post[1])
    else:
        ids = list(source_ids)
        if not ids:
            return 0
        stmt = stmt.where(ReputationEvent.source_type == source_type, ReputationEvent.source_id.in_(ids))
    candidates = session.exec(stmt).all()
    if not candidates:
        return 0
    users = {e.user_id for e in candidates}
    lock_users(session, users)
    events = session.exec(stmt.where(ReputationEvent.id.in_([e.id for e in candidates]))).all()
    now = utcnow()
    days = set()
    for e in events:
        e.reversed_at, e.reversal_reason = now, reason[:40]
        if e.kind in policy.CAPPED_KINDS:
            days.add((e.user_id, _day(e.occurred_at)))
    session.flush()
    _settle(session, days, users)
    return len(events)


def _day(when: datetime) -> datetime:
    when = when if when.tzinfo else when.replace(tzinfo=UTC)
    return datetime(when.year, when.month, when.day, tzinfo=UTC)


def _settle(session: Session, days: set[tuple[int, datetime]], users: set[int]) -> None:
    """Re-apply the daily cap on the given user-days, then refresh the cached balances."""
    for user_id, day in days:
        events = session.exec(
            select(ReputationEvent).where(
                ReputationEvent.user_id == user_id,
                ReputationEvent.kind.in_(policy.CAPPED_KINDS),
                ReputationEvent.reversed_at.is_(None),
                ReputationEvent.occurred_at >= day,
                ReputationEvent.occurred_at < day + timedelta(days=1),
            ).order_by(ReputationEvent.occurred_at, ReputationEvent.source_id, ReputationEvent.kind)
        ).all()
        for event, amount in zip(events, capped_amounts([e.base_amount for e in events]), strict=True):
            if event.amount != amount:
                event.amount = amount
    session.flush()
    refresh_cache(session, users)


def capped_amounts(bases: list[int]) -> list[int]:
    """The daily cap, applied in order: each capped event gets what is left of the day's allowance."""
    left = policy.DAILY_VOTE_CAP
    out = []
    for base in bases:
        amount = max(0, min(base, left))
        left -= amount
        out.append(amount)
    return out


def balance_of(points: int) -> int:
    return max(policy.MINIMUM_REPUTATION, policy.STARTING_REPUTATION + points)


def refresh_cache(session: Session, user_ids: Iterable[int]) -> None:
    ids = list(set(user_ids))
    if not ids:
        return
    sums = dict(session.exec(
        select(ReputationEvent.user_id, func.sum(ReputationEvent.amount))
        .where(ReputationEvent.user_id.in_(ids), ReputationEvent.reversed_at.is_(None))
        .group_by(ReputationEvent.user_id)
    ).all())
    for uid in ids:
        session.exec(update(User).where(User.id == uid).values(reputation=balance_of(int(sums.get(uid) or 0))))


# --- recompute --------------------------------------------------------------------------------

@dataclass
class RecomputeReport:
    users: int = 0
    events_checked: int = 0
    missing_events: int = 0
    stale_events: int = 0
    wrong_amounts: int = 0
    balances_changed: int = 0
    changed_users: list[str] = field(default_factory=list)

    @property
    def differences(self) -> int:
        return self.missing_events + self.stale_events + self.wrong_amounts + self.balances_changed

    def summary(self) -> str:
        return (f"{self.users} users, {self.events_checked} events checked: {self.missing_events} missing, "
                f"{self.stale_events} no longer backed by a vote or acceptance, {self.wrong_amounts} with a wrong "
                f"amount, {self.balances_changed} cached balances corrected")


def _live_votes(session: Session, model) -> list:
    """(vote, post author, product, community-wiki date or None) for every vote of `model` (Vote or
    ImportedVote) on a post that is not deleted, questions and answers alike."""
    from app.answers.models import Answer
    from app.questions.models import Question

    on_questions = session.exec(
        select(model, Question.author_id, Question.product_id, Question.community_owned_at)
        .join(Question, Question.id == model.post_id)
        .where(model.post_type == "question", Question.deleted_at.is_(None))
    ).all()
    on_answers = session.exec(
        select(model, Answer.author_id, Question.product_id, Answer.community_owned_at)
        .join(Answer, Answer.id == model.post_id)
        .join(Question, Question.id == Answer.question_id)
        .where(model.post_type == "answer", Answer.deleted_at.is_(None), Question.deleted_at.is_(None))
    ).all()
    return [*on_questions, *on_answers]


def expected_causes(session: Session) -> list[Cause]:
    """Every cause the current votes and acceptances give, from the source tables alone."""
    from app.answers.models import Acceptance, Answer
    from app.importer.models import ImportedVote
    from app.questions.models import Question
    from app.votes.models import Vote

    causes: list[Cause] = []
    for vote, author_id, product_id, wiki_at in _live_votes(session, Vote):
        causes += vote_causes(vote_id=vote.id, voter_id=vote.voter_id, value=vote.value, post_type=vote.post_type,
                              post_id=vote.post_id, author_id=author_id, product_id=product_id,
                              occurred_at=vote.created_at, community_wiki=wiki_at is not None)
    for vote, author_id, product_id, wiki_at in _live_votes(session, ImportedVote):
        causes += imported_vote_causes(vote_id=vote.id, value=vote.value, post_type=vote.post_type,
                                       post_id=vote.post_id, author_id=author_id, product_id=product_id,
                                       occurred_at=vote.created_at, community_wiki=wiki_at is not None)
    acc_rows = session.exec(
        select(Acceptance, Answer.author_id, Question.author_id, Question.product_id)
        .join(Answer, Answer.id == Acceptance.answer_id)
        .join(Question, Question.id == Acceptance.question_id)
        .where(Acceptance.revoked_at.is_(None), Answer.deleted_at.is_(None), Question.deleted_at.is_(None))
    ).all()
    for acc, answer_author, asker, product_id in acc_rows:
        causes += acceptance_causes(acceptance_id=acc.id, answer_id=acc.answer_id, answer_author_id=answer_author,
                                    asker_id=asker, product_id=product_id, occurred_at=acc.created_at)
    return causes


def _expected_sql(day: str) -> str:
    """SELECT of every expected ledger row (the rules of vote_causes, imported_vote_causes and
    acceptance_causes, with the daily cap of capped_amounts as a window over each user-day)."""
    p = policy.POINTS
    capped = ", ".join(f"'{k}'" for k in sorted(policy.CAPPED_KINDS))
    causes = f"""
        SELECT q.author_id AS user_id,
               CASE WHEN v.value > 0 THEN 'question_upvoted' ELSE 'question_downvoted' END AS kind,
               'vote' AS source_type, v.id AS source_id,
               CASE WHEN v.value > 0 THEN {p['question_upvoted']} ELSE {p['question_downvoted']} END AS base_amount,
               'question' AS post_type, v.post_id AS post_id, q.product_id AS product_id, v.created_at AS occurred_at
        FROM votes v JOIN questions q ON q.id = v.post_id
        WHERE v.post_type = 'question' AND q.deleted_at IS NULL AND q.community_owned_at IS NULL
          AND v.voter_id <> q.author_id
        UNION ALL
        SELECT a.author_id, CASE WHEN v.value > 0 THEN 'answer_upvoted' ELSE 'answer_downvoted' END, 'vote', v.id,
               CASE WHEN v.value > 0 THEN {p['answer_upvoted']} ELSE {p['answer_downvoted']} END,
               'answer', v.post_id, q.product_id, v.created_at
        FROM votes v JOIN answers a ON a.id = v.post_id JOIN questions q ON q.id = a.question_id
        WHERE v.post_type = 'answer' AND a.deleted_at IS NULL AND q.deleted_at IS NULL
          AND a.community_owned_at IS NULL AND v.voter_id <> a.author_id
        UNION ALL
        SELECT v.voter_id, 'downvoted_answer', 'vote', v.id, {p['downvoted_answer']}, 'answer', v.post_id,
               q.product_id, v.created_at
        FROM votes v JOIN answers a ON a.id = v.post_id JOIN questions q ON q.id = a.question_id
        WHERE v.post_type = 'answer' AND v.value < 0 AND a.deleted_at IS NULL AND q.deleted_at IS NULL
          AND v.voter_id <> a.author_id
        UNION ALL
        SELECT q.author_id, CASE WHEN v.value > 0 THEN 'question_upvoted' ELSE 'question_downvoted' END,
               'imported_vote', v.id,
               CASE WHEN v.value > 0 THEN {p['question_upvoted']} ELSE {p['question_downvoted']} END,
               'question', v.post_id, q.product_id, v.created_at
        FROM imported_votes v JOIN questions q ON q.id = v.post_id
        WHERE v.post_type = 'question' AND q.deleted_at IS NULL AND q.community_owned_at IS NULL
        UNION ALL
        SELECT a.author_id, CASE WHEN v.value > 0 THEN 'answer_upvoted' ELSE 'answer_downvoted' END,
               'imported_vote', v.id,
               CASE WHEN v.value > 0 THEN {p['answer_upvoted']} ELSE {p['answer_downvoted']} END,
               'answer', v.post_id, q.product_id, v.created_at
        FROM imported_votes v JOIN answers a ON a.id = v.post_id JOIN questions q ON q.id = a.question_id
        WHERE v.post_type = 'answer' AND a.deleted_at IS NULL AND q.deleted_at IS NULL
          AND a.community_owned_at IS NULL
        UNION ALL
        SELECT a.author_id, 'answer_accepted', 'acceptance', c.id, {p['answer_accepted']}, 'answer', c.answer_id,
               q.product_id, c.created_at
        FROM acceptances c JOIN answers a ON a.id = c.answer_id JOIN questions q ON q.id = c.question_id
        WHERE c.revoked_at IS NULL AND a.deleted_at IS NULL AND q.deleted_at IS NULL AND a.author_id <> q.author_id
        UNION ALL
        SELECT q.author_id, 'accepted_answer', 'acceptance', c.id, {p['accepted_answer']}, 'answer', c.answer_id,
               q.product_id, c.created_at
        FROM acceptances c JOIN answers a ON a.id = c.answer_id JOIN questions q ON q.id = c.question_id
        WHERE c.revoked_at IS NULL AND a.deleted_at IS NULL AND q.deleted_at IS NULL AND a.author_id <> q.author_id"""
    # Capped kinds have positive base amounts, so what the day has used before an event is
    # min(cap, the sum of the earlier bases), and the event gets min(base, what is left) (≥ 0).
    # Order within a day as in recompute_in_python: (occurred_at, source_id, kind), votes before
    # imported votes on a tie.
    return f"""
        SELECT user_id, kind, source_type, source_id, base_amount, post_type, post_id, product_id, occurred_at,
               CASE WHEN capped = 0 THEN base_amount
                    WHEN {policy.DAILY_VOTE_CAP} - used <= 0 THEN 0
                    WHEN {policy.DAILY_VOTE_CAP} - used < base_amount THEN {policy.DAILY_VOTE_CAP} - used
                    ELSE base_amount END AS amount
        FROM (
            SELECT c.*, COALESCE(SUM(base_amount) OVER (
                       PARTITION BY user_id, capped, {day}
                       ORDER BY occurred_at, source_id, kind, source_type DESC
                       ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0) AS used
            FROM (SELECT x.*, CASE WHEN kind IN ({capped}) THEN 1 ELSE 0 END AS capped FROM ({causes}) x) c
        ) w"""


_MATCH = ("r.user_id = e.user_id AND r.kind = e.kind AND r.source_type = e.source_type "
          "AND r.source_id = e.source_id")


# Missing events from which recompute builds the ledger's indexes after the rows (PostgreSQL),
# when they also outnumber the events already there: 1.27M events (the 100k generated dump) took
# 30 s instead of 39 s on a quiet machine (docs/import.md).
BULK_FROM = 100_000


def recompute(session: Session, *, fix: bool = True, bulk_from: int = BULK_FROM) -> RecomputeReport:
    """Rebuild every balance from votes and acceptances; with fix=False only report the differences.

    Set-based: the expected ledger is computed by the database into a temporary table (one
    INSERT … SELECT over votes, imported votes and acceptances, the daily cap as a window
    function), then compared with `reputation_events` and `users.reputation` in a few statements.
    Memory does not grow with the number of votes (issue 11: the object-by-object version, kept
    as `recompute_in_python`, built a million ORM objects and 5 GB for a 1.2M-post import).
    `changed_users` lists at most 1,000 of the balances that differ (`balances_changed` counts all).
    On PostgreSQL, when at least `bulk_from` events are missing and they outnumber those present,
    the ledger's secondary indexes and unique constraint are built after the insert (app/core/bulk.py)."""
    conn = session.connection()
    pg = conn.dialect.name == "postgresql"
    day = "date_trunc('day', occurred_at AT TIME ZONE 'UTC')" if pg else "substr(occurred_at, 1, 10)"
    report = RecomputeReport()
    session.flush()
    conn.execute(text("DROP TABLE IF EXISTS rep_expected"))
    conn.execute(text("CREATE TEMPORARY TABLE rep_expected AS " + _expected_sql(day)))
    conn.execute(text("CREATE INDEX rep_expected_key ON rep_expected (user_id, kind, source_type, source_id)"))
    if pg:
        conn.execute(text("ANALYZE rep_expected"))
    one = lambda sql: int(conn.execute(text(sql)).scalar() or 0)  # noqa: E731
    report.events_checked = one("SELECT count(*) FROM reputation_events")
    new = one(f"SELECT count(*) FROM rep_expected e WHERE NOT EXISTS "
              f"(SELECT 1 FROM reputation_events r WHERE {_MATCH})")
    revived = one(f"SELECT count(*) FROM rep_expected e JOIN reputation_events r ON {_MATCH} "
                  "WHERE r.reversed_at IS NOT NULL")
    report.missing_events = new + revived
    report.wrong_amounts = one(f"SELECT count(*) FROM rep_expected e JOIN reputation_events r ON {_MATCH} "
                               "WHERE r.reversed_at IS NULL AND r.amount <> e.amount")
    report.stale_events = one(f"SELECT count(*) FROM reputation_events r WHERE r.reversed_at IS NULL AND NOT EXISTS "
                              f"(SELECT 1 FROM rep_expected e WHERE {_MATCH})")
    conn.execute(text("DROP TABLE IF EXISTS rep_totals"))
    conn.execute(text(
        f"CREATE TEMPORARY TABLE rep_totals AS SELECT u.id AS user_id, u.username AS username, "
        f"u.reputation AS reputation, CASE WHEN {policy.STARTING_REPUTATION} + COALESCE(t.points, 0) "
        f"< {policy.MINIMUM_REPUTATION} THEN {policy.MINIMUM_REPUTATION} "
        f"ELSE {policy.STARTING_REPUTATION} + COALESCE(t.points, 0) END AS want "
        "FROM users u LEFT JOIN (SELECT user_id, SUM(amount) AS points FROM rep_expected GROUP BY user_id) t "
        "ON t.user_id = u.id"))
    conn.execute(text("CREATE UNIQUE INDEX rep_totals_user ON rep_totals (user_id)"))
    report.users = one("SELECT count(*) FROM rep_totals")
    report.balances_changed = one("SELECT count(*) FROM rep_totals WHERE reputation <> want")
    report.changed_users = [f"{name}: {old} → {want}" for name, old, want in conn.execute(text(
        "SELECT username, reputation, want FROM rep_totals WHERE reputation <> want ORDER BY user_id LIMIT 1000"))]
    if fix:
        stamp = bindparam("now", utcnow(), type_=ReputationEvent.__table__.c.created_at.type)
        if report.stale_events:
            conn.execute(text(
                "UPDATE reputation_events SET reversed_at = :now, reversal_reason = 'recompute: cause gone' "
                f"WHERE reversed_at IS NULL AND NOT EXISTS (SELECT 1 FROM rep_expected e WHERE "
                f"{_MATCH.replace('r.', 'reputation_events.')})").bindparams(stamp))
        match = _MATCH.replace("r.", "reputation_events.")
        if revived:
            conn.execute(text(
                "UPDATE reputation_events SET reversed_at = NULL, reversal_reason = NULL, "
                f"amount = (SELECT e.amount FROM rep_expected e WHERE {match}) "
                f"WHERE reversed_at IS NOT NULL AND EXISTS (SELECT 1 FROM rep_expected e WHERE {match})"))
        if report.wrong_amounts:
            conn.execute(text(
                f"UPDATE reputation_events SET amount = (SELECT e.amount FROM rep_expected e WHERE {match}) "
                f"WHERE reversed_at IS NULL AND EXISTS (SELECT 1 FROM rep_expected e WHERE {match} "
                "AND e.amount <> reputation_events.amount)"))
        if report.balances_changed:
            conn.execute(text(
                "UPDATE users SET reputation = t.want FROM rep_totals t "
                "WHERE t.user_id = users.id AND t.reputation <> t.want" if pg else
                "UPDATE users SET reputation = (SELECT t.want FROM rep_totals t WHERE t.user_id = users.id) "
                "WHERE id IN (SELECT user_id FROM rep_totals WHERE reputation <> want)"))
        if new:
            # A ledger filled from (almost) nothing, as by an import into a new community, gets its
            # indexes built once after the rows, not maintained row by row (app/core/bulk.py). The
            # balances are written first: once the ledger is locked for that, this transaction
            # waits for no lock a vote could hold while it waits for the ledger (no deadlock).
            bulk = pg and new >= bulk_from and new > report.events_checked
            with indexes_built_after(conn, "reputation_events") if bulk else nullcontext():
                conn.execute(text(
                    "INSERT INTO reputation_events (user_id, kind, amount, base_amount, source_type, source_id, "
                    "post_type, post_id, product_id, occurred_at, created_at) "
                    "SELECT e.user_id, e.kind, e.amount, e.base_amount, e.source_type, e.source_id, e.post_type, "
                    "e.post_id, e.product_id, e.occurred_at, :now FROM rep_expected e WHERE NOT EXISTS "
                    f"(SELECT 1 FROM reputation_events r WHERE {_MATCH}) "
                    "ORDER BY e.user_id, e.occurred_at").bindparams(stamp))
        session.expire_all()  # users' cached balances changed under the ORM
    conn.execute(text("DROP TABLE rep_expected"))
    conn.execute(text("DROP TABLE rep_totals"))
    return report


def recompute_in_python(session: Session, *, fix: bool = True) -> RecomputeReport:
    """The reference for `recompute`, object by object (it holds every cause and ledger row in memory:
    fine for tests, not for a community of millions of votes). Same result, same report."""
    report = RecomputeReport()
    causes = expected_causes(session)
    # Expected amounts after the daily cap, per user-day, in the same order the live path uses.
    expected: dict[tuple, tuple[Cause, int]] = {}
    per_day: dict[tuple[int, datetime], list[Cause]] = defaultdict(list)
    for c in causes:
        if c.kind in policy.CAPPED_KINDS:
            per_day[(c.user_id, _day(c.occurred_at))].append(c)
        else:
            expected[c.key] = (c, c.base_amount)
    for group in per_day.values():
        group.sort(key=lambda c: (c.occurred_at, c.source_id, c.kind))
        for c, amount in zip(group, capped_amounts([c.base_amount for c in group]), strict=True):
            expected[c.key] = (c, amount)

    ledger = {(e.user_id, e.kind, e.source_type, e.source_id): e for e in session.exec(select(ReputationEvent)).all()}
    report.events_checked = len(ledger)
    now = utcnow()
    for key, (cause, amount) in expected.items():
        event = ledger.get(key)
        if event is None or event.reversed_at is not None:
            report.missing_events += 1
            if fix:
                if event is None:
                    session.add(ReputationEvent(
                        user_id=cause.user_id, kind=cause.kind, amount=amount, base_amount=cause.base_amount,
                        source_type=cause.source_type, source_id=cause.source_id, post_type=cause.post_type,
                        post_id=cause.post_id, product_id=cause.product_id, occurred_at=cause.occurred_at))
                else:
                    event.reversed_at, event.reversal_reason, event.amount = None, None, amount
        elif event.amount != amount:
            report.wrong_amounts += 1
            if fix:
                event.amount = amount
    for key, event in ledger.items():
        if event.reversed_at is None and key not in expected:
            report.stale_events += 1
            if fix:
                event.reversed_at, event.reversal_reason = now, "recompute: cause gone"
    session.flush()

    totals: dict[int, int] = defaultdict(int)
    for _key, (cause, amount) in expected.items():
        totals[cause.user_id] += amount
    users = session.exec(select(User)).all()
    report.users = len(users)
    for user in users:
        want = balance_of(totals.get(user.id, 0))
        if user.reputation != want:
            report.balances_changed += 1
            report.changed_users.append(f"{user.username}: {user.reputation} → {want}")
            if fix:
                user.reputation = want
    session.flush()
    return report


# --- reading ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class LedgerEntry:
    """One ledger row as `viewer` may read it. The points are always there (the ledger adds up to
    the balance whoever reads it); `post_id` is None and `post_visible` False when the post the
    event is about is one `viewer` cannot open (deleted, hidden by moderation, in the internal
    space: app/moderation/posts.py `seen_by`)."""

    id: int
    kind: str
    amount: int  # what counts now: the capped amount, 0 once reversed
    base_amount: int
    post_type: str
    post_id: int | None
    post_visible: bool
    occurred_at: datetime
    reversed_at: datetime | None
    reversal_reason: str | None

    @classmethod
    def of(cls, e: ReputationEvent, visible: bool) -> LedgerEntry:
        return cls(id=e.id, kind=e.kind, amount=e.amount if e.reversed_at is None else 0, base_amount=e.base_amount,
                   post_type=e.post_type, post_id=e.post_id if visible else None, post_visible=visible,
                   occurred_at=e.occurred_at, reversed_at=e.reversed_at, reversal_reason=e.reversal_reason)


def ledger_entries(session: Session, events: list[ReputationEvent], *, viewer: User | None) -> list[LedgerEntry]:
    """`events` as `viewer` may read them (LedgerEntry), in the same order; one visibility query per
    kind of post (app/moderation/posts.py `seen_posts`)."""
    from app.moderation.posts import seen_posts

    seen = seen_posts(session, viewer, {(e.post_type, e.post_id) for e in events})
    return [LedgerEntry.of(e, (e.post_type, e.post_id) in seen) for e in events]


def timeline(session: Session, user: User, *, viewer: User | None, limit: int | None = None,
             cursor: str | None = None):
    """`user`'s ledger as `viewer` (None: anonymous) may read it, newest first (reversed events
    included, marked), keyset-paginated: Page[LedgerEntry]. Every event is listed with its points;
    one about a post `viewer` cannot open has no post id (docs/reputation.md, "Who sees which post").
    422 on `cursor` when it is not one this function gave."""
    from app.core.ids import is_id
    from app.core.pagination import Page, clamp_limit, decode_cursor, encode_cursor

    limit = clamp_limit(limit, default=30)
    from sqlalchemy import and_, or_

    from app.core.errors import field_error

    stmt = select(ReputationEvent).where(ReputationEvent.user_id == user.id)
    after = decode_cursor(cursor, 2)
    if after is not None:
        try:
            when, last_id = datetime.fromisoformat(after[0]), after[1]
            if when.tzinfo is None or not is_id(last_id):
                raise ValueError
        except (TypeError, ValueError):
            raise field_error("cursor", "The cursor is not valid; start again from the first page.", "query") from None
        stmt = stmt.where(or_(ReputationEvent.occurred_at < when,
                              and_(ReputationEvent.occurred_at == when, ReputationEvent.id < last_id)))
    rows = list(session.exec(
        stmt.order_by(ReputationEvent.occurred_at.desc(), ReputationEvent.id.desc()).limit(limit + 1)).all())
    next_cursor = None
    if len(rows) > limit:
        rows = rows[:limit]
        next_cursor = encode_cursor([rows[-1].occurred_at.isoformat(), rows[-1].id])
    return Page(items=ledger_entries(session, rows, viewer=viewer), next_cursor=next_cursor)


@dataclass
class PostReputation:
    """A person's reputation from one post: what counts now, and what caused it. `post_id` is None
    and `post_visible` False when the viewer cannot open the post (the points still count)."""

    post_type: str
    post_id: int | None
    total: int  # points that count (reversed events left out)
    kinds: list[tuple[str, int, int]]  # (kind, events, points that count), most points first
    reversed: int  # events reversed (retracted votes, switched acceptances)
    last_at: datetime
    post_visible: bool = True


def by_post(session: Session, user: User, *, viewer: User | None, page: int = 1,
            size: int = 20) -> tuple[list[PostReputation], int, int]:
    """`user`'s ledger grouped per post (Stack Exchange's reputation tab groups per post and day):
    one row for 17 upvotes on one answer. Most recent activity first; 1-based page clamped to the
    last; returns (rows, posts, pages). A post `viewer` (None: anonymous) cannot open keeps its row
    and points but not its id (app/moderation/posts.py `seen_by`)."""
    from sqlalchemy import case

    from app.moderation.posts import seen_posts

    counting = func.sum(case((ReputationEvent.reversed_at.is_(None), ReputationEvent.amount), else_=0))
    last = func.max(ReputationEvent.occurred_at)
    grouped = (select(ReputationEvent.post_type, ReputationEvent.post_id, counting, last)
               .where(ReputationEvent.user_id == user.id)
               .group_by(ReputationEvent.post_type, ReputationEvent.post_id))
    total = int(session.exec(select(func.count()).select_from(grouped.subquery())).one())
    pages = max(1, -(-total // size))
    page = min(max(1, page), pages)
    rows = session.exec(grouped.order_by(last.desc(), ReputationEvent.post_type, ReputationEvent.post_id.desc())
                        .offset((page - 1) * size).limit(size)).all()
    if not rows:
        return [], total, pages
    detail: dict[tuple[str, int], dict[str, list[int]]] = {}
    reversed_n: dict[tuple[str, int], int] = {}
    wanted = {(r[0], r[1]) for r in rows}
    for post_type, post_id, kind, amount, was_reversed in session.exec(
            select(ReputationEvent.post_type, ReputationEvent.post_id, ReputationEvent.kind, ReputationEvent.amount,
                   ReputationEvent.reversed_at.is_not(None))
            .where(ReputationEvent.user_id == user.id,
                   ReputationEvent.post_id.in_({r[1] for r in rows}))).all():
        key = (post_type, post_id)
        if key not in wanted:
            continue
        if was_reversed:
            reversed_n[key] = reversed_n.get(key, 0) + 1
            continue
        entry = detail.setdefault(key, {}).setdefault(kind, [0, 0])
        entry[0] += 1
        entry[1] += amount
    seen = seen_posts(session, viewer, wanted)
    out = []
    for post_type, post_id, points, last_at in rows:
        kinds = sorted(((k, n, p) for k, (n, p) in detail.get((post_type, post_id), {}).items()),
                       key=lambda t: (-abs(t[2]), t[0]))
        visible = (post_type, post_id) in seen
        out.append(PostReputation(post_type, post_id if visible else None, int(points or 0), kinds,
                                  reversed_n.get((post_type, post_id), 0), last_at, visible))
    return out, total, pages


@dataclass
class PrivilegeStatus:
    key: str
    title: str
    description: str
    reputation: int
    earned: bool


def privileges_of(user: User) -> list[PrivilegeStatus]:
    from app.accounts import permissions

    return [PrivilegeStatus(p.key, p.title, p.description, p.reputation, permissions.has_privilege(user, p.key))
            for p in policy.PRIVILEGES]


def next_privilege(user: User) -> PrivilegeStatus | None:
    return next((p for p in privileges_of(user) if not p.earned), None)


def top_contributors(session: Session, *, product_id: int | None = None, since: datetime | None = None,
                     limit: int = 10) -> list[tuple[User, int]]:
    """Who earned the most reputation (events that count), on one product or everywhere, since a time;
    points earned on internal questions are left out."""
    from sqlalchemy import exists

    from app.answers.models import Answer
    from app.questions.models import Question

    points = func.sum(ReputationEvent.amount)
    # Points from the internal space (docs/internal.md) count in the member's total but make no one a
    # public top contributor: the list would otherwise show who is busy where customers cannot look.
    on_internal_question = exists().where(ReputationEvent.post_type == "question",
                                          Question.id == ReputationEvent.post_id, Question.visibility != "public")
    on_internal_answer = exists().where(ReputationEvent.post_type == "answer", Answer.id == ReputationEvent.post_id,
                                        Question.id == Answer.question_id, Question.visibility != "public")
    stmt = (select(ReputationEvent.user_id, points)
            .where(ReputationEvent.reversed_at.is_(None), ~on_internal_question, ~on_internal_answer)
            .group_by(ReputationEvent.user_id)
            .having(points > 0)
            .order_by(points.desc(), ReputationEvent.user_id)
            .limit(limit))
    if product_id is not None:
        stmt = stmt.where(ReputationEvent.product_id == product_id)
    if since is not None:
        stmt = stmt.where(ReputationEvent.occurred_at >= since)
    rows = session.exec(stmt).all()
    users = {u.id: u for u in session.exec(select(User).where(User.id.in_([r[0] for r in rows]))).all()} if rows else {}
    return [(users[uid], int(total)) for uid, total in rows if uid in users and users[uid].is_active]


def month_start(now: datetime | None = None) -> datetime:
    now = now or utcnow()
    return datetime(now.year, now.month, 1, tzinfo=UTC)


RECENT_DAYS = 30  # "top contributors of the last 30 days" (issue 18): product pages, the widget


def recent_start(now: datetime | None = None) -> datetime:
    """The start of the last RECENT_DAYS days, on the hour (so that cached panels share one key an hour)."""
    start = (now or utcnow()) - timedelta(days=RECENT_DAYS)
    return start.replace(minute=0, second=0, microsecond=0)


def period_start(period: str, now: datetime | None = None) -> datetime | None:
    """Since when a top-contributors period counts: "30d" (rolling), "month" (calendar, UTC), "all" (None)."""
    return {"30d": recent_start, "month": month_start}.get(period, lambda _now: None)(now)
