"""The transactional outbox for the search index.

Every flush that touches a question, its tags, its answers, or a vote, comment, "me too" or
escalation on it records the question id in
`search_outbox`, inside the same transaction, through a session hook: no write path can forget
to, and a rolled-back write leaves nothing behind. `drain()` turns pending rows into documents
rebuilt from the *current* database state (so replays and reordering are harmless) and applies
them in two steps:

1. the embedded index (`search_documents`, always kept: it is the default backend and the
   fallback when Meilisearch is down), in one transaction with marking the rows;
2. with the Meilisearch backend, the same documents are sent to Meilisearch; on failure the
   rows keep their place, count an attempt, record the error and wait with exponential backoff
   (2 s doubling, at most 5 minutes) before the next try. Nothing is dropped.

`groundswell worker` drains continuously; the web process also drains in a background thread
after each commit that wrote outbox rows, so the demo needs no worker. With the Meilisearch
backend the web process applies step 1 only (`remote_pending`): its fallback index stays
current even while Meilisearch is down, and the rows stay pending for the worker to send.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import event, func, insert, inspect, select, update
from sqlalchemy.engine import Connection, Engine
from sqlmodel import Session

from app.core.db import utcnow, writer
from app.search.models import SearchOutbox

log = logging.getLogger("groundswell.search")

BACKOFF_FIRST = timedelta(seconds=2)
BACKOFF_MAX = timedelta(minutes=5)
_PENDING_KEY = "groundswell_search_outbox_pending"


def backoff(attempts: int) -> timedelta:
    """Delay before retry number `attempts` (1, 2, …): 2 s, 4 s, 8 s … capped at 5 minutes."""
    seconds = BACKOFF_FIRST.total_seconds() * (2 ** max(0, min(attempts - 1, 20)))
    return min(timedelta(seconds=seconds), BACKOFF_MAX)


# --- recording changes ---------------------------------------------------------------------------

def emit(conn: Connection, question_ids: Iterable[int], now: datetime | None = None) -> int:
    """Record these questions as changed, on the caller's connection (its transaction)."""
    ids = sorted({int(i) for i in question_ids if i})
    if not ids:
        return 0
    when = now or utcnow()
    rows = [{"question_id": i, "created_at": when, "next_attempt_at": when, "attempts": 0} for i in ids]
    for start in range(0, len(rows), 5000):
        conn.execute(insert(SearchOutbox.__table__), rows[start:start + 5000])
    return len(ids)


def _changed_question_ids(session: Session) -> set[int]:
    from app.answers.models import Answer
    from app.comments.models import Comment
    from app.escalation.models import Escalation, MeToo
    from app.questions.models import Question, QuestionTag
    from app.votes.models import Vote

    ids: set[int] = set()
    answer_ids: set[int] = set()  # votes and comments on answers: their question is looked up below

    def on_post(obj) -> None:
        # A vote or comment changes what its question's page shows (a score, the comments) and,
        # for votes, the score that search sorts by. The anonymous-page cache (app/web/pagecache.py)
        # is invalidated from these rows too.
        if obj.post_type == "question":
            ids.add(obj.post_id)
        elif obj.post_id:
            answer_ids.add(obj.post_id)

    def history_values(obj, attr: str) -> None:
        hist = inspect(obj).attrs[attr].history
        for value in (*hist.added, *hist.deleted, *hist.unchanged):
            if value:
                ids.add(value)

    for obj in session.new:
        if isinstance(obj, Question):
            ids.add(obj.id)
            if obj.duplicate_of_id:
                ids.add(obj.duplicate_of_id)
        elif isinstance(obj, (Answer, QuestionTag, MeToo, Escalation)):
            ids.add(obj.question_id)
        elif isinstance(obj, (Vote, Comment)):
            on_post(obj)
    for obj in session.dirty:
        if not session.is_modified(obj, include_collections=False):
            continue
        if isinstance(obj, Question):
            ids.add(obj.id)
            history_values(obj, "duplicate_of_id")  # the old original loses an alternate phrasing
        elif isinstance(obj, Answer):
            history_values(obj, "question_id")  # merges move answers between questions
        elif isinstance(obj, (MeToo, Escalation)):
            ids.add(obj.question_id)
        elif isinstance(obj, (Vote, Comment)):
            on_post(obj)
    for obj in session.deleted:
        if isinstance(obj, Question):
            ids.add(obj.id)
        elif isinstance(obj, (Answer, QuestionTag, MeToo, Escalation)):
            ids.add(obj.question_id)
        elif isinstance(obj, (Vote, Comment)):
            on_post(obj)
    if answer_ids:
        answers = Answer.__table__
        ids.update(session.connection().execute(
            select(answers.c.question_id).where(answers.c.id.in_(sorted(answer_ids)))).scalars())
    ids.discard(None)  # type: ignore[arg-type]
    return ids


def _after_flush(session: Session, _context) -> None:
    try:
        ids = _changed_question_ids(session)
    except Exception:  # noqa: BLE001 - never break a write because of search bookkeeping
        log.exception("search outbox: could not work out which questions changed")
        return
    if ids:
        emit(session.connection(), ids)
        session.info[_PENDING_KEY] = True


def _after_commit(session: Session) -> None:
    # SQLAlchemy also fires after_commit when a SAVEPOINT is released (`begin_nested()`, used
    # by follows and by asking): the rows are not visible to other connections yet, so the
    # wake-up waits for the outermost commit (the one that leaves no nested transaction).
    if session.in_nested_transaction():
        return
    if session.info.pop(_PENDING_KEY, False):
        for callback in list(_commit_listeners):
            try:
                callback()
            except Exception:  # noqa: BLE001
                log.exception("search outbox: commit listener failed")


def _after_rollback(session: Session, transaction) -> None:
    # A rolled-back SAVEPOINT leaves the rows its enclosing transaction wrote before it: only
    # the outermost rollback clears the flag (a spare wake-up finds nothing and costs one query).
    if transaction.parent is None:
        session.info.pop(_PENDING_KEY, None)


_commit_listeners: list[Callable[[], None]] = []


def on_commit(callback: Callable[[], None]) -> None:
    """Call `callback()` (no arguments, in the committing thread) after every commit in this
    process that wrote outbox rows. Used by the anonymous-page cache (app/web/pagecache.py)."""
    if callback not in _commit_listeners:
        _commit_listeners.append(callback)


def off_commit(callback: Callable[[], None]) -> None:
    """Undo on_commit(callback) (no error if it was not registered)."""
    if callback in _commit_listeners:
        _commit_listeners.remove(callback)
_installed = False


def install() -> None:
    """Register the session hooks (idempotent; done by import_all_models)."""
    global _installed
    if _installed:
        return
    event.listen(Session, "after_flush", _after_flush)
    event.listen(Session, "after_commit", _after_commit)
    event.listen(Session, "after_soft_rollback", _after_rollback)
    _installed = True


# --- applying changes ----------------------------------------------------------------------------

@dataclass
class DrainResult:
    indexed: int = 0  # documents written to the embedded index
    removed: int = 0
    sent: int = 0  # outbox rows applied to the remote backend
    failed: int = 0  # outbox rows whose remote apply failed this round
    error: str | None = None

    @property
    def did_work(self) -> bool:
        return bool(self.indexed or self.removed or self.sent or self.failed)


def drain(engine: Engine, *, remote=None, encoder=None, batch: int = 200,
          now: Callable[[], datetime] = utcnow, remote_pending: bool = False) -> DrainResult:
    """Apply pending outbox rows: one batch to the embedded index, then one to `remote` if given.
    With `remote_pending` (and no `remote`), only the embedded index: the rows stay pending for
    the remote backend (the web process with Meilisearch; the worker sends them)."""
    from app.search import embedded

    result = DrainResult()
    is_pg = engine.dialect.name == "postgresql"
    # Build and embed in a read-only session, then write in a short transaction: on SQLite the
    # write lock is held for milliseconds, not for the time the model takes. A change committed
    # in between has its own outbox row and is applied by the next round.
    with Session(engine) as session:
        rows = list(session.execute(select(SearchOutbox.id, SearchOutbox.question_id)
                                    .where(SearchOutbox.local_done_at.is_(None))
                                    .order_by(SearchOutbox.id).limit(batch)))
        prepared = embedded.prepare_questions(session, {r.question_id for r in rows}, encoder=encoder) if rows else None
    if rows:
        with Session(writer(engine)) as session:
            with session.begin():
                # Claim the rows first. If another drainer took some of them meanwhile, it built
                # those documents from a state at least as new as ours: drop this round's work.
                stamp = now()
                values = ({"local_done_at": stamp} if remote is not None or remote_pending
                          else {"local_done_at": stamp, "done_at": stamp})
                ids = [r.id for r in rows]
                claimed = 0
                for start in range(0, len(ids), 500):
                    claimed += session.execute(update(SearchOutbox).where(
                        SearchOutbox.id.in_(ids[start:start + 500]),
                        SearchOutbox.local_done_at.is_(None)).values(**values)).rowcount
                if claimed != len(ids):
                    session.rollback()
                else:
                    embedded.store(session, prepared)
                    result.indexed, result.removed = len(prepared.rows), len(prepared.gone)
    if remote is not None:
        _drain_remote(engine, remote, batch, now, result, is_pg)
    return result


def _drain_remote(engine: Engine, remote, batch: int, now, result: DrainResult, is_pg: bool) -> None:
    from app.search import embedded
    from app.search.ports import SearchUnavailable

    with Session(writer(engine), expire_on_commit=False) as session, session.begin():
        query = (select(SearchOutbox).where(SearchOutbox.local_done_at.is_not(None), SearchOutbox.done_at.is_(None),
                                            SearchOutbox.next_attempt_at <= now())
                 .order_by(SearchOutbox.id).limit(batch))
        if is_pg:
            query = query.with_for_update(skip_locked=True)
        rows = list(session.execute(query).scalars())
        if not rows:
            return
        docs, gone = embedded.stored_documents(session, {r.question_id for r in rows})
        try:
            if docs:
                remote.upsert(docs)
            if gone:
                remote.delete(gone)
        except SearchUnavailable as exc:
            stamp = now()
            result.failed, result.error = len(rows), str(exc)[:500]
            for r in rows:
                r.attempts += 1
                r.next_attempt_at = stamp + backoff(r.attempts)
                r.last_error = result.error
            log.warning("search: %s could not apply %d changes (will retry): %s", remote.name, len(rows), exc)
            return
        stamp = now()
        for r in rows:
            r.done_at = stamp
        result.sent = len(rows)


def pending(engine: Engine) -> dict:
    """Backlog figures for /readyz and the CLI."""
    with engine.connect() as conn:
        local = conn.execute(select(func.count()).where(SearchOutbox.local_done_at.is_(None))).scalar_one()
        remote = conn.execute(select(func.count()).where(SearchOutbox.done_at.is_(None))).scalar_one()
        failing = conn.execute(select(func.count()).where(SearchOutbox.done_at.is_(None),
                                                          SearchOutbox.attempts > 0)).scalar_one()
        oldest = conn.execute(select(func.min(SearchOutbox.created_at)).where(SearchOutbox.done_at.is_(None))).scalar()
    return {"pending": remote, "pending_local": local, "failing": failing, "oldest": oldest}


def mark_done_up_to(conn: Connection, last_id: int, now: datetime | None = None) -> None:
    """After a full rebuild (embedded, and Meilisearch when configured): everything recorded
    before it started is in the new index."""
    stamp = now or utcnow()
    conn.execute(update(SearchOutbox).where(SearchOutbox.id <= last_id, SearchOutbox.local_done_at.is_(None))
                 .values(local_done_at=stamp))
    conn.execute(update(SearchOutbox).where(SearchOutbox.id <= last_id, SearchOutbox.done_at.is_(None))
                 .values(done_at=stamp))


def purge(engine: Engine, older_than: timedelta = timedelta(days=7), now: datetime | None = None) -> int:
    """Delete applied rows older than a week (the worker does it daily)."""
    from sqlalchemy import delete

    cutoff = (now or utcnow()) - older_than
    with engine.begin() as conn:
        return conn.execute(delete(SearchOutbox).where(SearchOutbox.done_at.is_not(None),
                                                       SearchOutbox.done_at < cutoff)).rowcount


# --- in-process applier (the web process) --------------------------------------------------------

class Applier:
    """A daemon thread that drains the outbox after commits (the outermost commit that wrote
    outbox rows wakes it), every `interval` seconds anyway, and soon again (1 s, doubling up to
    `interval`) after a round that failed, so one process is enough."""

    def __init__(self, engine: Engine, *, encoder=None, remote=None, interval: float = 30.0,
                 remote_pending: bool = False) -> None:
        self.engine, self.encoder, self.remote, self.interval = engine, encoder, remote, interval
        self.remote_pending = remote_pending  # see drain()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.rounds = 0  # completed drain rounds, for callers that wait on `progress`
        self.progress = threading.Condition()

    def start(self) -> None:
        _commit_listeners.append(self.wake)
        self._thread = threading.Thread(target=self._run, name="search-outbox", daemon=True)
        self._thread.start()

    def wake(self) -> None:
        self._wake.set()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self.wake in _commit_listeners:
            _commit_listeners.remove(self.wake)
        if self._thread is not None:
            self._thread.join(timeout=10)

    def _run(self) -> None:
        failures = 0
        while not self._stop.is_set():
            # After a failed round (a busy SQLite write lock, a dropped connection) the next try
            # comes soon, 1 s doubling up to the interval, not a whole interval later: the rows
            # stay pending and the commit that wrote them will not wake us again.
            self._wake.wait(min(self.interval, 2.0 ** (failures - 1)) if failures else self.interval)
            self._wake.clear()
            failed = False
            while not self._stop.is_set():
                try:
                    result = drain(self.engine, remote=self.remote, encoder=self.encoder,
                                   remote_pending=self.remote_pending)
                except Exception:  # noqa: BLE001 - keep the thread alive; the rows stay pending
                    log.exception("search: applying the outbox failed")
                    failed = True
                    break
                if not result.did_work or result.failed:
                    break
            failures = min(failures + 1, 16) if failed else 0
            with self.progress:
                self.rounds += 1
                self.progress.notify_all()
