"""`groundswell worker`: background jobs, each in its own transaction, on a simple schedule.

Jobs now: serial-voting detection (daily) and the escalation timers (every 5 minutes: questions
unanswered or unsolved past their product's thresholds, or affecting many customers, reach the
staff queue). Search indexing joins this loop in its own issue.
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
    run: Callable[[Session], str]


def _serial_voting(session: Session) -> str:
    from app.reputation import gaming

    result = gaming.detect_serial_voting(session)
    return f"{result.pairs} serial-voting patterns, {result.votes_reversed} votes reversed"


def _escalation_timers(session: Session) -> str:
    from app.escalation import sweep

    return str(sweep.run(session))


JOBS: list[Job] = [
    Job("serial-voting", timedelta(days=1), _serial_voting),
    Job("escalation-timers", timedelta(minutes=5), _escalation_timers),
]


def run_job(engine: Engine, job: Job) -> str:
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
                    log(f"{job.name}: {run_job(engine, job)}")
                except Exception as exc:  # noqa: BLE001 - one failing job must not stop the others
                    log(f"{job.name} failed: {exc}")
                due[job.name] = now + job.every.total_seconds()
        if once:
            return
        sleep(max(1.0, min(due.values()) - clock()))
