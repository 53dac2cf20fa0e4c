"""`groundswell reindex`: rebuild the search index from the database, with progress, then learn from the
duplicate links (app.search.learned) when there are enough."""

from __future__ import annotations

import time
from collections.abc import Callable

from sqlalchemy import func, select, update
from sqlalchemy.engine import Engine

from app.core.config import Settings
from app.core.db import utcnow
from app.search import embedded, learned, outbox, service
from app.search.models import SearchOutbox


def run(settings: Settings, engine: Engine, *, progress: Callable[[str], None] = lambda _m: None) -> int:
    """Rebuild everything; returns the number of searchable questions (the documents stored as
    visible: not deleted, hidden, internal or closed as a duplicate; progress counts every question
    read). Raises SearchUnavailable."""
    encoder = service.encoder_for(settings)
    progress(f"semantic similarity {service.semantic_status(settings)}")
    with engine.connect() as conn:
        last_event = conn.execute(select(func.coalesce(func.max(SearchOutbox.id), 0))).scalar_one()
    started = time.monotonic()
    shown = [0.0]

    def report(done: int, total: int) -> None:
        now = time.monotonic()
        if done < total and now - shown[0] < 2.0:
            return
        shown[0] = now
        rate = done / max(now - started, 1e-6)
        left = (total - done) / rate if rate else 0
        progress(f"indexed {done:,} / {total:,} questions ({100 * done // max(total, 1)}%), "
                 f"{rate:,.0f}/s, about {_duration(left)} left" if done < total else
                 f"indexed {done:,} / {total:,} questions in {_duration(now - started)}")

    read = [0]

    def counted(done: int, total: int) -> None:
        read[0] = done
        report(done, total)

    count = embedded.rebuild_all(engine, encoder=encoder, progress=counted)
    if count < read[0]:
        progress(f"{count:,} of the {read[0]:,} questions are searchable; the other {read[0] - count:,} are "
                 f"deleted, hidden, internal (staff-only) or closed as duplicates (their text counts for "
                 f"their originals)")
    remote = service.remote_backend(settings)
    if remote is not None:
        progress(f"sending {count:,} documents to Meilisearch (new index, then swap)…")
        remote.ensure_index()
        remote.rebuild(embedded.iter_stored(engine))
    if encoder is not None and settings.search_learning == "auto":
        # Learn from the duplicate links now that every vector is stored; a failure keeps the
        # previous model and does not fail the reindex (app.search.learned.train never raises).
        progress(learned.train_all(engine, encoder_name=encoder.name, log=progress, encoder=encoder))
    with engine.begin() as conn:
        outbox.mark_done_up_to(conn, last_event)
        if remote is not None:
            # Changes the worker sent to the old index while the new one was being filled were
            # lost with the swap: send them again (documents come from current state, so it is safe).
            conn.execute(update(SearchOutbox).where(SearchOutbox.id > last_event, SearchOutbox.done_at.is_not(None))
                         .values(done_at=None, attempts=0, next_attempt_at=utcnow()))
    return count


def _duration(seconds: float) -> str:
    seconds = int(seconds)
    if seconds < 60:
        return f"{seconds} s"
    return f"{seconds // 60} min {seconds % 60:02d} s"
