"""`groundswell serve --workers 2`: one search process owns the search index for both workers
(app/search/owner.py, issue 11). Real processes: the server, its two uvicorn workers and the
search process, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from multiprocessing.connection import Client, Connection

import pytest

from app.search import owner
from tests.test_cli import _wait_until_serving
from tests.test_workers import PASSWORD, serve_two_workers
WORD = "quokkadock"


def _get(url: str, headers: dict | None = None):
    """(status, headers, body) on a fresh connection (the kernel picks the worker)."""
    request = urllib.request.Request(url, headers={"Connection": "close", **(headers or {})})
    try:
        with urllib.request.urlopen(request, timeout=70) as r:
            return r.status, r.headers, r.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.headers, exc.read().decode()


def _until(what: str, check, deadline_s: float = 60):
    """Poll `check()` until it returns something true (readiness, not a fixed sleep)."""
    end = time.monotonic() + deadline_s
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > end:
            raise AssertionError(f"gave up waiting for {what}")
        time.sleep(0.1)


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(")")[-1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def _search_process_of(server: int) -> int:
    """The pid of the live `python -m app.search.owner` child of the server process."""
    def find():
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            try:
                with open(f"/proc/{entry}/stat") as f:
                    ppid = int(f.read().rsplit(")", 1)[1].split()[1])
                with open(f"/proc/{entry}/cmdline", "rb") as f:
                    cmd = f.read()
            except (OSError, IndexError, ValueError):
                continue
            if ppid == server and b"app.search.owner" in cmd and _alive(int(entry)):
                return int(entry)
        return None

    return _until("the search process to be running", find, 30)


def test_two_workers_search_through_one_search_process(clean_engine, db_url):
    proc, port = serve_two_workers(db_url, "wren_s", GROUNDSWELL_SEARCH_SEMANTIC="off", GROUNDSWELL_DB_TIMEOUT="3")
    pids: dict[str, str] = {}  # request id → pid of the worker that answered it
    seen = threading.Condition()

    def read_log() -> None:
        for line in proc.stderr:
            found = re.search(r" pid=(\d+) request_id=(\S+)", line)
            if found:
                with seen:
                    pids[found.group(2)] = found.group(1)
                    seen.notify_all()

    def pid_of(headers) -> str:
        rid = headers["X-Request-ID"]
        with seen:
            assert seen.wait_for(lambda: rid in pids, timeout=30), "no access line for the request"
            return pids[rid]

    base = f"http://127.0.0.1:{port}"
    search_url = f"{base}/api/v1/search?q={WORD}"
    search_process = None
    try:
        _wait_until_serving(proc, f"{base}/healthz")
        threading.Thread(target=read_log, daemon=True).start()
        form = urllib.parse.urlencode({"username": "wren_s", "password": PASSWORD}).encode()
        with urllib.request.urlopen(f"{base}/api/v1/auth/token", data=form) as resp:
            token = json.load(resp)["access_token"]
        ask = urllib.request.Request(f"{base}/api/v1/questions", method="POST", headers={
            "Authorization": f"Bearer {token}", "Content-Type": "application/json"}, data=json.dumps({
                "title": f"The {WORD} rattles when the fan spins up", "body": "A loose thermal pad, maybe?",
                "tags": ["dock"]}).encode())
        with urllib.request.urlopen(ask) as resp:
            asked = json.load(resp)["id"]

        # The question, written through one worker, is found through both: the commit woke the
        # search process, which indexed it once for everyone.
        answered_by: set[str] = set()

        def found_by_both():
            status, headers, body = _get(search_url)
            if status == 200 and [i["id"] for i in json.loads(body)["items"]] == [asked]:
                answered_by.add(pid_of(headers))
            return len(answered_by) == 2

        _until("both workers to find the new question", found_by_both)
        status, _, body = _get(f"{base}/readyz")
        assert status == 200 and json.loads(body)["search"]["process"] == "search process", body
        search_process = _search_process_of(proc.pid)
        assert str(search_process) not in answered_by

        # Without it the workers cannot search: they hold no index of their own. A quick 503 with
        # Retry-After (the API's problem, the page with the words still in the box), never a 500.
        os.kill(search_process, signal.SIGKILL)
        _until("the search process to be gone", lambda: not _alive(search_process), 10)
        status, headers, body = _get(search_url)
        assert status == 503 and headers["Retry-After"] and headers["Content-Type"] == "application/problem+json", body
        assert "not available" in json.loads(body)["detail"]
        status, headers, body = _get(f"{base}/search?q={WORD}")
        assert status == 503 and headers["Retry-After"], status
        assert f'value="{WORD}"' in body

        # The server starts another one, which loads the index from the database again.
        def restarted():
            status, _, body = _get(search_url)
            return status == 200 and [i["id"] for i in json.loads(body)["items"]] == [asked]

        _until("the search process to be back", restarted)

        search_process = _search_process_of(proc.pid)
        assert _alive(search_process)

        # A search process that hangs (stopped here) costs a worker GROUNDSWELL_DB_TIMEOUT, then a
        # 503; once it answers again, so does search (the breaker's ping finds it).
        os.kill(search_process, signal.SIGSTOP)
        try:
            status, headers, body = _get(search_url)
            assert status == 503 and headers["Retry-After"], (status, body)
        finally:
            os.kill(search_process, signal.SIGCONT)
        _until("search to answer again after the hang", restarted)
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    # Stopping the server stops the search process.
    assert search_process is not None
    _until("the search process to stop with the server", lambda: not _alive(search_process), 20)


def test_the_search_process_answers_only_with_its_key(engine, db_url, tmp_path):
    """The socket is the workers' alone: a client without the run's key is refused, and one that
    connects and says nothing holds up nobody; a stopped (hung) process costs a new connection its
    timeout, not forever; a failed call drops the worker's idle connections (they went to the same
    process); and the process exits, removing its socket, when its parent (`serve`) is gone."""
    address = str(tmp_path / "search.sock")
    key = secrets.token_hex(32)
    env = {k: v for k, v in os.environ.items() if not k.startswith("GROUNDSWELL_")}
    env.update({"GROUNDSWELL_DATABASE_URL": db_url, "GROUNDSWELL_SEARCH_SEMANTIC": "off",
                owner.ADDRESS_ENV: address, owner.KEY_ENV: key})
    # Started through a short-lived parent, as `serve` would start it and then die.
    parent = subprocess.Popen([sys.executable, "-c", (
        "import subprocess, sys; p = subprocess.Popen([sys.executable, '-m', 'app.search.owner']); "
        "print(p.pid, flush=True); sys.stdin.readline()")],
        env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    child = int(parent.stdout.readline())

    def within(seconds: float, call):
        """call() in a thread; fails if it is still running after `seconds` (a hang, not a wait)."""
        outcome: list = []
        runner = threading.Thread(target=lambda: outcome.append(_outcome(call)), daemon=True)
        runner.start()
        runner.join(seconds)
        assert not runner.is_alive(), f"still waiting after {seconds} s"
        return outcome[0]

    try:
        _until("the socket", lambda: os.path.exists(address), 30)
        assert oct(os.stat(address).st_mode & 0o777) == "0o600"
        with pytest.raises(owner.Unreachable):
            owner.OwnerClient(address, bytes.fromhex(secrets.token_hex(32))).call("ping", timeout=5)
        with pytest.raises(Exception):  # the stdlib's own client, with a wrong key
            Client(address, family="AF_UNIX", authkey=b"wrong").send(("ping", {}))
        silent = socket.socket(socket.AF_UNIX)
        silent.connect(address)  # and says nothing
        good = owner.OwnerClient(address, bytes.fromhex(key))
        assert within(15, lambda: good.call("ping", timeout=10)) == child
        silent.close()

        # Hung: a new connection gives up after its timeout (the handshake has a deadline too).
        pooled = [good._connect(5, fresh=True) for _ in range(3)]
        for conn in pooled:
            good._idle.put(conn)
        os.kill(child, signal.SIGSTOP)
        try:
            failed = within(15, lambda: owner.OwnerClient(address, bytes.fromhex(key)).call("ping", timeout=1))
            assert isinstance(failed, owner.Unreachable), failed
            failed = within(15, lambda: good.call("ping", timeout=1))
            assert isinstance(failed, owner.Unreachable), failed
            assert good._idle.qsize() == 0  # the other pooled connections were dropped with it
        finally:
            os.kill(child, signal.SIGCONT)
        good.close()
    finally:
        parent.stdin.close()  # the parent exits; the search process notices and exits too
        parent.wait(timeout=30)
    _until("the orphaned search process to exit", lambda: not _alive(child), 20)
    assert not os.path.exists(address)


def _outcome(call):
    try:
        return call()
    except Exception as exc:  # noqa: BLE001 - the caller inspects it
        return exc


def test_while_its_index_loads_the_search_process_refuses_searches_at_once(engine, settings, tmp_path):
    """Until its index (and the full-text part) has loaded, ~40 s at 100k questions, the search
    process answers searches with SearchUnavailable at once, and /readyz's view says why; a worker
    turns that into a 503 with Retry-After (service._from_search_process) instead of waiting."""
    from app.core.errors import ServiceBusy
    from app.search import service
    from app.search.ports import Filters, SearchUnavailable

    search = {"q": "battery", "filters": Filters(), "page": 1, "size": 5}
    owner._ready.clear()
    try:
        with pytest.raises(SearchUnavailable, match="loading"):
            owner._handle(settings, engine, None, "search", search)
        with pytest.raises(SearchUnavailable, match="loading"):
            owner._handle(settings, engine, None, "similar", {"title": "battery", "body": "", "product": None,
                                                               "limit": 5})
        health = owner._handle(settings, engine, None, "health", {})
        assert health["degraded"] and any("loading" in r for r in health["reasons"])

        # Through the real socket protocol: the search process's connection loop here, a client there.
        key = secrets.token_bytes(32)
        address = str(tmp_path / "search.sock")
        listener = socket.socket(socket.AF_UNIX)
        listener.bind(address)
        listener.listen()
        serving = threading.Thread(target=lambda: owner._serve_connection(
            Connection(listener.accept()[0].detach()), settings, engine, None, key), daemon=True)
        serving.start()
        client = owner.OwnerClient(address, key)
        with pytest.raises(ServiceBusy) as refused:
            service._from_search_process(client, "search", 5.0, **search)
        assert refused.value.status == 503 and refused.value.headers["Retry-After"] == "5"
        assert "starting up" in refused.value.detail and "loading" in refused.value.detail
        assert client.breaker.snapshot().state == "closed"  # it answered: not a failure of the process
    finally:
        owner._ready.set()
    assert client.call("search", timeout=5, **search).total == 0  # loaded (an empty database): answered
    client.close()
    serving.join(timeout=10)
    listener.close()


def test_a_long_tmpdir_still_gives_a_socket_path_that_fits(tmp_path, monkeypatch):
    """A Unix socket's path must fit in 108 bytes: under a long TMPDIR the search process could
    never listen (OSError: AF_UNIX path too long, restarted forever), so the directory goes to /tmp."""
    import tempfile

    deep = tmp_path / ("d" * 60) / ("e" * 60)
    deep.mkdir(parents=True)
    monkeypatch.setattr(tempfile, "tempdir", str(deep))
    supervisor = owner.Supervisor()
    try:
        assert len(supervisor.address) <= owner.SOCKET_PATH_MAX
        assert os.path.dirname(supervisor.address).startswith("/tmp/" + owner.DIRECTORY_PREFIX)
        assert oct(os.stat(supervisor.directory).st_mode & 0o777) == "0o700"
        probe = socket.socket(socket.AF_UNIX)
        probe.bind(supervisor.address)  # what the search process does first
        probe.close()
    finally:
        supervisor.stop()
    assert not os.path.exists(supervisor.directory)
    assert owner.ADDRESS_ENV not in os.environ
