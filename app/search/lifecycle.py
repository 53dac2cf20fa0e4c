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

    def warm() -> None:
        remote = None
        try:
            service.embedded_backend(settings, engine).ensure_index()
            if settings.search_backend == "meilisearch":
                remote = service.remote_backend(settings)
                remote.ensure_index()
        except Exception as exc:  # noqa: BLE001 - search problems never stop the site
            log.warning("search: start-up check failed (search is degraded until it recovers): %s", exc)
            if remote is not None:  # the first readers need not find out again by waiting
                remote.breaker.failed(str(exc))

    if settings.env != "test":
        threading.Thread(target=warm, name="search-warm", daemon=True).start()
    return applier


def stop(applier) -> None:
    if applier is not None:
        applier.stop()
