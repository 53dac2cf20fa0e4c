"""Start and stop the in-process search work of a web process."""

from __future__ import annotations

import logging
import threading

from sqlalchemy.engine import Engine

from app.core.config import Settings

log = logging.getLogger("groundswell.search")


def start(settings: Settings, engine: Engine):
    """Warm the in-memory index and start the outbox applier.

    The applier keeps the embedded index current from this process: it is the index with the
    embedded backend, and the fallback with Meilisearch (which this process reads through a
    circuit breaker and never writes: the worker sends the changes there, `remote_pending`)."""
    from app.search import outbox, service

    applier = None
    if settings.search_apply_in_process:
        applier = outbox.Applier(engine, encoder=service.encoder_for(settings),
                                 remote_pending=settings.search_backend == "meilisearch")
        applier.start()
        applier.wake()  # whatever was left pending while no process was running

    if settings.env != "test":
        threading.Thread(target=warm, args=(settings, engine), name="search-warm", daemon=True).start()
    return applier


def warm(settings: Settings, engine: Engine) -> None:
    """The start-up check, in a background thread (the process serves at once; issue 11: start
    ≤ 5 s at 100k questions).

    With the embedded backend, this loads the in-memory index, so the first search does not wait.
    With Meilisearch, only Meilisearch is checked: the embedded index is its fallback and is loaded
    by the first read that needs it (a Meilisearch outage), so a web process holds no copy of the
    corpus while Meilisearch answers (issue 11: 1.3 GB per worker at 100k questions)."""
    from app.search import service

    remote = None
    try:
        if settings.search_backend == "meilisearch":
            remote = service.remote_backend(settings)
            remote.ensure_index()
        else:
            service.embedded_backend(settings, engine).ensure_index()
    except Exception as exc:  # noqa: BLE001 - search problems never stop the site
        log.warning("search: start-up check failed (search is degraded until it recovers): %s", exc)
        if remote is not None:  # the first readers need not find out again by waiting
            remote.breaker.failed(str(exc))


def stop(applier) -> None:
    if applier is not None:
        applier.stop()
