"""Start and stop the in-process search work of a web process."""

from __future__ import annotations

import logging
import threading

from sqlalchemy.engine import Engine

from app.core.config import Settings

log = logging.getLogger("groundswell.search")


def start(settings: Settings, engine: Engine, *, warm_in_background: bool = True):
    """Warm the in-memory index and start the outbox applier.

    The applier keeps the embedded index current from this process: it is the index with the
    embedded backend, and the fallback with Meilisearch (which this process reads through a
    circuit breaker and never writes: the worker sends the changes there, `remote_pending`)."""
    from app.search import outbox, owner, service

    search_process = owner.client()
    if search_process is not None:
        # `serve --workers N`: the search process owns the index and applies the outbox; this
        # worker only tells it when a commit wrote outbox rows (app/search/owner.py).
        outbox.on_commit(search_process.wake)
        return _Forwarding(search_process)
    applier = None
    if settings.search_apply_in_process:
        applier = outbox.Applier(engine, encoder=service.encoder_for(settings),
                                 remote_pending=settings.search_backend == "meilisearch")
        applier.start()
        applier.wake()  # whatever was left pending while no process was running

    if settings.env != "test" and warm_in_background:
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


class _Forwarding:
    """What start() returns in a web worker that has a search process: stop() unhooks it."""

    def __init__(self, search_process) -> None:
        self.search_process = search_process

    def stop(self) -> None:
        from app.search import outbox

        outbox.off_commit(self.search_process.wake)
        self.search_process.close()


def stop(applier) -> None:
    if applier is not None:
        applier.stop()
