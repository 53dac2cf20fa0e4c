"""What a web process loads at start (app/search/lifecycle.py: warm): with Meilisearch configured,
no copy of the corpus (the embedded fallback is loaded by the first read that needs it); with the
embedded backend, the index, in the background."""

from __future__ import annotations

import socket

from sqlmodel import Session

from app.core.db import writer
from app.search import embedded, lifecycle
from app.search import service as search_service
from tests.conftest import make_settings
from tests.factories import make_question
from tests.search.conftest import Searcher


def _closed_port() -> int:
    with socket.socket() as s:  # bound, never listening: connections are refused at once
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _forum(engine, db_url) -> None:
    with Session(writer(engine), expire_on_commit=False) as s:
        make_question(s, title="Router reboots every night after the firmware update")
        s.commit()
    Searcher(engine, make_settings(db_url), None).index()  # stored documents, as the worker leaves them
    embedded.forget_memory_indexes()


def test_with_meilisearch_a_web_process_holds_no_copy_of_the_corpus(clean_engine, db_url):
    _forum(clean_engine, db_url)
    settings = make_settings(db_url, search_backend="meilisearch", meili_url=f"http://127.0.0.1:{_closed_port()}",
                             meili_timeout=1.0)
    search_service.reset_backends()
    try:
        lifecycle.warm(settings, clean_engine)
        index = embedded.memory_index(clean_engine)
        assert index.seq == -1 and index.qid.n == 0, "the embedded index was loaded at start"
        # Meilisearch is away: the first read falls back, and loads the embedded index then.
        with Session(clean_engine) as s:
            page = search_service.search(s, settings=settings, engine=clean_engine, q="router firmware")
        assert [i.summary.title for i in page.items] == ["Router reboots every night after the firmware update"]
        assert embedded.memory_index(clean_engine).qid.n == 1
    finally:
        search_service.reset_backends()
        embedded.forget_memory_indexes()


def test_with_the_embedded_backend_warm_loads_the_index(clean_engine, db_url):
    _forum(clean_engine, db_url)
    search_service.reset_backends()
    try:
        lifecycle.warm(make_settings(db_url), clean_engine)
        assert embedded.memory_index(clean_engine).qid.n == 1
    finally:
        search_service.reset_backends()
        embedded.forget_memory_indexes()
