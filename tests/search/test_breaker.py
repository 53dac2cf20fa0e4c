"""The circuit breaker around Meilisearch reads, against real sockets: a server that accepts
connections and never answers, and a tiny HTTP server that answers `/health` only (it is no
search server). Backoff is stepped with a controllable clock; probes run when the test says."""

from __future__ import annotations

import json
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from sqlalchemy import select
from sqlmodel import Session

from app.core.config import Settings
from app.search import breaker as breaker_module
from app.search import outbox
from app.search import service as search_service
from app.search.breaker import Breaker, CircuitOpen
from app.search.meili import HEALTH_TIMEOUT, MeiliBackend
from app.search.models import SearchDocument, SearchOutbox
from app.search.ports import SearchQuery, SearchUnavailable, SimilarQuery
from tests.conftest import make_settings
from tests.factories import make_question
from tests.search.conftest import applied


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Probes:
    """Collects the probes the breaker starts, to run them when the test decides (no threads)."""

    def __init__(self) -> None:
        self.pending: list = []

    def __call__(self, fn) -> None:
        self.pending.append(fn)

    def run(self) -> None:
        pending, self.pending = self.pending, []
        for fn in pending:
            fn()


# --- the state machine ------------------------------------------------------------------------

def test_backoff_doubles_from_one_second_up_to_the_cap():
    assert [breaker_module.backoff(n) for n in (1, 2, 3, 4, 5, 6, 7, 8)] == [1, 2, 4, 8, 16, 32, 60, 60]
    assert breaker_module.backoff(100, cap=10) == 10


def test_breaker_opens_probes_once_and_closes():
    clock, probes, healthy = Clock(), Probes(), [False]
    b = Breaker(lambda: healthy[0], clock=clock, spawn=probes)
    b.before_call()  # closed: go ahead
    b.failed("timeout")
    assert b.snapshot().state == "open" and b.snapshot().retry_in == 1.0
    for _ in range(3):  # during the backoff: refused at once, no probe
        with pytest.raises(CircuitOpen, match="timeout"):
            b.before_call()
    assert probes.pending == [] and b.probes == 0
    clock.now += 1.0
    for _ in range(3):  # the backoff is over: one probe starts; reads keep using the fallback meanwhile
        with pytest.raises(CircuitOpen):
            b.before_call()
    assert len(probes.pending) == 1 and b.snapshot().state == "half-open"
    probes.run()  # still unhealthy: open again, twice as long
    state = b.snapshot()
    assert (state.state, state.failures, state.retry_in, state.reason) == ("open", 2, 2.0, "timeout")
    clock.now += 2.0
    b.poke()
    healthy[0] = True
    probes.run()
    assert b.snapshot().state == "closed" and b.snapshot().failures == 0
    b.before_call()
    b.failed("again")  # a fresh failure starts from the first backoff
    assert b.snapshot().retry_in == 1.0


def test_a_probe_that_raises_keeps_the_breaker_open():
    clock, probes = Clock(), Probes()

    def probe():
        raise OSError("boom")

    b = Breaker(probe, clock=clock, spawn=probes, cap=3.0)
    b.failed("first")
    for expected in (2.0, 3.0, 3.0):  # capped
        clock.now += 60
        b.poke()
        probes.run()
        assert b.snapshot().state == "open" and b.snapshot().retry_in == expected


# --- real sockets -----------------------------------------------------------------------------

class HungServer:
    """Accepts TCP connections and never answers; counts them."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.sock.settimeout(0.1)
        self.port = self.sock.getsockname()[1]
        self.accepted = 0
        self.held: list[socket.socket] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            self.accepted += 1
            self.held.append(conn)

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=2)
        for conn in self.held:
            conn.close()
        self.sock.close()


class HealthOnly(BaseHTTPRequestHandler):
    """200 {"status": "available"} on GET /health; 404 for everything else (not a search server)."""

    paths: list[str] = []

    def do_GET(self):  # noqa: N802
        type(self).paths.append(self.path)
        status, body = (200, {"status": "available"}) if self.path == "/health" else (404, {"message": "no"})
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_POST = do_GET  # noqa: N815

    def log_message(self, *args):
        pass


@pytest.fixture
def hung():
    server = HungServer()
    yield server
    server.close()


@pytest.fixture
def health_server():
    HealthOnly.paths = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), HealthOnly)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def backend(url: str, clock: Clock, probes: Probes, timeout: float = 0.3) -> MeiliBackend:
    settings = Settings(meili_url=url, meili_key="masterKey", meili_timeout=timeout, meili_index="questions")
    b = MeiliBackend(settings)
    b.breaker = Breaker(b.health_check, clock=clock, spawn=probes)
    return b


def test_after_a_timeout_reads_fail_fast_without_connecting(hung):
    clock, probes = Clock(), Probes()
    meili = backend(f"http://127.0.0.1:{hung.port}", clock, probes)
    with pytest.raises(SearchUnavailable, match="MeilisearchTimeoutError") as first:
        meili.search(SearchQuery(q="wifi"))
    assert not isinstance(first.value, CircuitOpen)
    assert meili.breaker.snapshot().state == "open"
    connections = hung.accepted
    assert connections >= 1
    for call in (lambda: meili.search(SearchQuery(q="wifi")), lambda: meili.similar(SimilarQuery(title="wifi"))):
        with pytest.raises(CircuitOpen):
            call()
    assert meili.healthy() is False
    assert hung.accepted == connections  # nothing reached the network while open
    clock.now += 1.0
    with pytest.raises(CircuitOpen):
        meili.search(SearchQuery(q="wifi"))
    assert hung.accepted == connections  # the read did not connect; it started the probe
    probes.run()  # the probe itself connects (GET /health), times out, and the backoff doubles
    assert hung.accepted == connections + 1
    assert meili.breaker.snapshot().state == "open" and meili.breaker.snapshot().failures == 2


def test_the_probe_closes_the_breaker_once_health_answers(hung, health_server):
    clock, probes = Clock(), Probes()
    meili = backend(f"http://127.0.0.1:{hung.port}", clock, probes)
    with pytest.raises(SearchUnavailable):
        meili.similar(SimilarQuery(title="fan noise"))
    # The same backend's server recovers (here: the health server takes over the address).
    meili.base_url = f"http://127.0.0.1:{health_server.server_address[1]}"
    meili.client.config.url = meili.base_url
    clock.now += 1.0
    with pytest.raises(CircuitOpen):
        meili.similar(SimilarQuery(title="fan noise"))
    assert HealthOnly.paths == []  # the read itself never asks the server
    probes.run()
    assert HealthOnly.paths == ["/health"]
    assert meili.breaker.snapshot().state == "closed"
    # Closed: the next read goes to the server again (this one answers only /health, so it fails
    # and opens the breaker: a search server's answer is not faked here).
    with pytest.raises(SearchUnavailable) as again:
        meili.similar(SimilarQuery(title="fan noise"))
    assert not isinstance(again.value, CircuitOpen)
    assert any(p.startswith("/indexes/questions/search") for p in HealthOnly.paths)


def test_health_check_is_capped_well_under_a_second(hung):
    assert HEALTH_TIMEOUT <= 0.5
    meili = backend(f"http://127.0.0.1:{hung.port}", Clock(), Probes(), timeout=5.0)
    assert meili.healthy() is False  # a hung server costs HEALTH_TIMEOUT, not the 5 s request timeout
    assert meili.breaker.snapshot().state == "open"
    before = hung.accepted
    for _ in range(3):
        assert meili.healthy() is False
    assert hung.accepted == before


# --- the service and /readyz ------------------------------------------------------------------

def test_searches_use_the_fallback_while_open_and_readyz_says_why(clean_engine, forum, db_url, hung):
    q = make_question(forum, title="Headphones crackle over Bluetooth")
    forum.commit()
    outbox.drain(clean_engine)
    settings = make_settings(db_url, search_backend="meilisearch", meili_url=f"http://127.0.0.1:{hung.port}",
                             meili_timeout=0.3)
    search_service.reset_backends()
    try:
        remote = search_service.remote_backend(settings)
        clock, probes = Clock(), Probes()
        remote.breaker = Breaker(remote.health_check, clock=clock, spawn=probes)
        with Session(clean_engine) as s:
            first = search_service.similar(s, settings=settings, engine=clean_engine, title="headphones crackle")
            connections = hung.accepted
            later = [search_service.search(s, settings=settings, engine=clean_engine, q="bluetooth")
                     for _ in range(5)]
        assert [i.id for i in first] == [q.id]
        assert all([i.summary.id for i in page.items] == [q.id] for page in later)
        assert hung.accepted == connections and remote.breaker.snapshot().state == "open"
        from app.main import create_app
        from fastapi.testclient import TestClient

        with TestClient(create_app(settings, clean_engine)) as client:
            body = client.get("/readyz").json()
        assert hung.accepted == connections
        assert body["status"] == "ok" and body["search"]["degraded"] is True
        assert body["search"]["breaker"]["state"] == "open"
        assert any("MeilisearchTimeoutError" in r and "embedded index" in r for r in body["search"]["reasons"])
    finally:
        search_service.reset_backends()


def test_web_process_keeps_the_fallback_current_with_meilisearch(clean_engine, forum, db_url, hung):
    from app.search import lifecycle


    settings = make_settings(db_url, search_backend="meilisearch", meili_url=f"http://127.0.0.1:{hung.port}",
                             search_apply_in_process=True)
    search_service.reset_backends()
    applier = lifecycle.start(settings, clean_engine)
    try:
        assert applier is not None and applier.remote is None  # the web process never writes to Meilisearch
        q = make_question(forum, title="Dock flickers with two monitors")
        forum.commit()
        assert applied(applier, lambda: _stored(clean_engine, q.id))
        with Session(clean_engine) as s:
            rows = s.execute(select(SearchOutbox).where(SearchOutbox.question_id == q.id)).scalars().all()
        # Applied to the embedded index, still pending for the worker to send to Meilisearch.
        assert rows and all(r.local_done_at is not None and r.done_at is None for r in rows)
        assert hung.accepted == 0
    finally:
        lifecycle.stop(applier)
        search_service.reset_backends()


def _stored(engine, qid: int) -> bool:
    with Session(engine) as s:
        return s.execute(select(SearchDocument.visible).where(SearchDocument.question_id == qid)).scalar() is True
