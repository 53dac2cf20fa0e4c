"""Search fixtures: a forum to search, indexed through the real outbox, on every available backend.

The contract suite runs against the embedded backend always and against Meilisearch when
GROUNDSWELL_MEILI_URL points at a server (skipped with that reason otherwise).
"""

from __future__ import annotations

import os
import uuid
from dataclasses import dataclass

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session

from app.core.db import writer
from app.search import outbox
from app.search import service as search_service
from tests.conftest import make_settings

MEILI_URL = os.environ.get("GROUNDSWELL_MEILI_URL")


@dataclass
class Searcher:
    """Calls the search services the way the API does, with one backend configuration."""

    engine: Engine
    settings: object
    remote: object | None

    def index(self) -> None:
        """Apply the outbox until it is empty (what the worker or the in-process applier does)."""
        encoder = search_service.encoder_for(self.settings)
        for _ in range(100):
            result = outbox.drain(self.engine, remote=self.remote, encoder=encoder)
            if not result.did_work:
                return
            assert not result.failed, result.error
        raise AssertionError("the outbox did not empty")

    def similar(self, title: str, **kw):
        with Session(self.engine) as s:
            return search_service.similar(s, settings=self.settings, engine=self.engine, title=title, **kw)

    def search(self, q: str | None, **kw):
        with Session(self.engine) as s:
            return search_service.search(s, settings=self.settings, engine=self.engine, q=q, **kw)


@pytest.fixture(params=["embedded", pytest.param("meilisearch", marks=pytest.mark.meili)])
def backend_name(request) -> str:
    if request.param == "meilisearch" and not MEILI_URL:
        pytest.skip("GROUNDSWELL_MEILI_URL is not set: no Meilisearch server to run the contract suite against")
    return request.param


@pytest.fixture
def searcher(clean_engine, db_url, backend_name):
    search_service.reset_backends()
    if backend_name == "embedded":
        settings = make_settings(db_url)
        yield Searcher(clean_engine, settings, None)
    else:
        settings = make_settings(db_url, search_backend="meilisearch", meili_url=MEILI_URL,
                                 meili_key=os.environ.get("GROUNDSWELL_MEILI_KEY"),
                                 meili_index=f"gs_test_{uuid.uuid4().hex[:8]}")
        remote = search_service.remote_backend(settings)
        remote.ensure_index()
        yield Searcher(clean_engine, settings, remote)
        try:
            remote.client.delete_index(settings.meili_index)
        except Exception:  # noqa: BLE001
            pass
    search_service.reset_backends()


@pytest.fixture
def keyword_searcher(clean_engine, db_url):
    """The embedded backend with semantic similarity switched off (the fallback when the extra is absent)."""
    search_service.reset_backends()
    yield Searcher(clean_engine, make_settings(db_url, search_semantic="off"), None)
    search_service.reset_backends()


@pytest.fixture
def forum(clean_engine):
    """A writing session on the test database that commits what the test builds."""
    with Session(writer(clean_engine), expire_on_commit=False) as s:
        yield s
        s.rollback()


def applied(applier, predicate, timeout: float = 30.0) -> bool:
    """Wait until `predicate()` holds, re-checking after each of `applier`'s rounds and at least
    twice a second (another process-wide applier, e.g. a test app's, may apply the rows first:
    then this applier's round finds nothing and only the clock brings the next check). A
    deadline, not a sleep: returns False when `timeout` seconds pass first."""
    import time

    deadline = time.monotonic() + timeout
    with applier.progress:
        while not predicate():
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            applier.progress.wait(min(left, 0.5))
    return True
