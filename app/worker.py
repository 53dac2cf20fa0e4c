"""`groundswell worker`: background jobs, each in its own transaction, on a simple schedule.

Jobs: search indexing from the outbox (every second, until the backlog is empty; failures
back off per row), outbox clean-up (daily), learning from duplicate links (checked every 10
minutes, trained in a background thread when due: app.search.learned.refresh), serial-voting detection (daily) and the escalation
timers (every 5 minutes: questions unanswered or unsolved past their product's thresholds, or
affecting many customers, reach the staff queue), private-message retention (hourly: the
private support messages of escalations resolved longer ago than the setting are deleted), e-mail from its outbox (every 10 seconds:
app/mail/sender.py), digests (checked every 5 minutes: app/mail/digests.py) and badges (every
2 minutes: app/badges/service.py).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy.engine import Engine
from sqlmodel import Session

from app.core.db import writer


@dataclass
class Job:
    name: str
    every: timedelta
    run: Callable[[Session], str] | Callable[[Engine], str]
    # Jobs that manage their own transactions get the engine instead of a session.
    uses_engine: bool = False
    quiet: bool = False  # log only when it did something


def _search_outbox(engine: Engine) -> str:
    from app.core.config import get_settings
    from app.search import outbox, service

    settings = get_settings()
    remote = service.remote_backend(settings)
    encoder = service.encoder_for(settings)
    total = outbox.DrainResult()
    while True:
        result = outbox.drain(engine, remote=remote, encoder=encoder)
        total.indexed += result.indexed
        total.removed += result.removed
        total.sent += result.sent
        total.failed += result.failed
        total.error = result.error or total.error
        if not result.did_work or result.failed:
            break
    if not total.did_work:
        return ""
    line = f"{total.indexed} documents indexed, {total.removed} removed"
    if remote is not None:
        line += f", {total.sent} changes sent to {remote.name}"
    if total.failed:
        line += f", {total.failed} waiting to retry ({total.error})"
    return line


_learning: dict = {}  # "thread": the running training, "report": what the last one did


def _search_learn(engine: Engine) -> str:
    """Retrain the learned duplicate-detection model when due (app.search.learned.refresh), in a
    background thread so indexing and the other jobs go on; reports the previous run's outcome."""
    import threading

    from app.core.config import get_settings
    from app.search import learned, service

    settings = get_settings()
    encoder = service.encoder_for(settings)
    if settings.search_learning == "off" or encoder is None:
        return ""
    running = _learning.get("thread")
    if running is not None and running.is_alive():
        return ""
    report = _learning.pop("report", "")

    def work() -> None:
        _learning["report"] = learned.refresh(engine, encoder_name=encoder.name, encoder=encoder)

    _learning["thread"] = thread = threading.Thread(target=work, name="search-learn", daemon=True)
    thread.start()
    return report


def wait_for_learning(timeout: float | None = None) -> str:
    """Wait for a training the worker started (tests, shutdown); returns its report."""
    running = _learning.get("thread")
    if running is not None:
        running.join(timeout)
    return _learning.get("report", "")


def _search_purge(engine: Engine) -> str:
    from app.search import outbox

    return f"{outbox.purge(engine)} applied outbox rows older than 7 days deleted"


def _serial_voting(session: Session) -> str:
    from app.reputation import gaming

    result = gaming.detect_serial_voting(session)
    return f"{result.pairs} serial-voting patterns, {result.votes_reversed} votes reversed"


def _escalation_timers(session: Session) -> str:
    from app.escalation import sweep

    return str(sweep.run(session))


def _email_send(engine: Engine) -> str:
    from app.core.config import get_settings
    from app.mail import sender

    r = sender.run(engine, get_settings())
    if not r.did_work:
        return ""
    return r.summary()


def _email_digests(engine: Engine) -> str:
    from app.core.config import get_settings
    from app.mail import digests, outbox

    outbox.configure(get_settings())
    n = digests.run(engine)
    return f"{n} digests written" if n else ""


def _private_message_retention(session: Session) -> str:
    from app.escalation import messages

    n = messages.purge_expired(session)
    return f"{n} private message{'' if n == 1 else 's'} deleted after the retention period" if n else ""


def _badges(session: Session) -> str:
    from app.badges import service as badges

    report = badges.sync(session)
    if not report.differences:
        return ""
    return (f"{len(report.awarded)} badges awarded, {report.restored} restored, "
            f"{report.withdrawn} withdrawn")


def _webhooks(engine: Engine) -> str:
    from app.webhooks import service

    report = service.deliver_due(engine)
    return str(report) if report.sent or report.failed else ""


JOBS: list[Job] = [
    Job("search-index", timedelta(seconds=1), _search_outbox, uses_engine=True, quiet=True),
    Job("search-outbox-purge", timedelta(days=1), _search_purge, uses_engine=True),
    Job("search-learn", timedelta(minutes=10), _search_learn, uses_engine=True, quiet=True),
    Job("serial-voting", timedelta(days=1), _serial_voting),
    Job("escalation-timers", timedelta(minutes=5), _escalation_timers),
    # Private support messages: hard-deleted GROUNDSWELL_PRIVATE_MESSAGE_RETENTION_DAYS after resolution.
    Job("private-message-retention", timedelta(hours=1), _private_message_retention, quiet=True),
    # E-mail (app/mail/, docs/notifications.md): the outbox every 10 s, digests checked every 5 minutes.
    Job("email-send", timedelta(seconds=10), _email_send, uses_engine=True, quiet=True),
    Job("email-digests", timedelta(minutes=5), _email_digests, uses_engine=True, quiet=True),
    Job("webhooks", timedelta(seconds=2), _webhooks, uses_engine=True, quiet=True),
    # Badges (app/badges/, docs/badges.md): award what the data supports, tell the new holders.
    Job("badges", timedelta(minutes=2), _badges, quiet=True),
]


def run_job(engine: Engine, job: Job) -> str:
    if job.uses_engine:
        return job.run(engine)  # type: ignore[call-arg]
    with Session(writer(engine), expire_on_commit=False) as session, session.begin():
        return job.run(session)


def run_worker(engine: Engine, *, once: bool = False, log: Callable[[str], None] = print,
               clock: Callable[[], float] = time.monotonic, sleep: Callable[[float], None] = time.sleep) -> None:
    """Run every job now, then each again when it is due; with once=True, a single round."""
    from app.core.db import import_all_models

    import_all_models()  # the jobs' models reference others' tables (reputation_events → products)
    due = {job.name: clock() for job in JOBS}
    log(f"worker started: {', '.join(j.name for j in JOBS)}")
    while True:
        now = clock()
        for job in JOBS:
            if due[job.name] <= now:
                try:
                    message = run_job(engine, job)
                    if message or not job.quiet:
                        log(f"{job.name}: {message}")
                except Exception as exc:  # noqa: BLE001 - one failing job must not stop the others
                    log(f"{job.name} failed: {exc}")
                due[job.name] = now + job.every.total_seconds()
        if once:
            return
        sleep(max(1.0, min(due.values()) - clock()))
