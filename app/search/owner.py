"""The search process: one process per host owns the embedded search index for every web worker.

`groundswell serve --workers N` (N ≥ 2) starts it beside uvicorn's workers (issue 11: "the
in-process search fallback must not multiply memory unboundedly with workers": this is the
"make one process own it" choice). It holds what search needs in memory (the in-memory index, the
sentence encoder and the learned ranker, about 1 GB at 100k questions) and applies the search
outbox; the web workers hold none of it. They send it the search part of a request (the words,
filters and limits; never a session, a user or a row) and get back question ids, scores,
highlights and facets, which they turn into pages from the database as before.

Transport: `multiprocessing.connection` over a Unix socket in a directory only this user can
open (mode 0700), with a per-run random authentication key (HMAC challenge both ways, stdlib);
messages are pickled tuples between the two halves of this module, never from outside.

Why one process: a copy per worker costs ~0.9 GB each at 100k questions (bench/serve_bench.py:
2 workers 1.95 GB in all with a copy each, 1.19 GB with this process) and its load on every start.
The price: searches from every worker are answered by one Python process, so the search page's
index work (~50 CPU ms at 100k) is capped near one core (19 req/s instead of 38 on 2 cores,
docs/performance.md). A question written on one worker becomes searchable after the commit's
wake-up reaches the search process (one message), as before within one process.

Lifecycle: `serve` starts it once the workers accept connections; until its index has loaded,
searches are answered at once with SearchUnavailable ("loading"), which a worker turns into a 503
with Retry-After; if it exits, `serve` starts another; if `serve` dies, it exits.

Environment, set by `serve` for its workers and for the search process (internal, not settings):
`GROUNDSWELL_SEARCH_PROCESS_ADDRESS` (the socket path) and `GROUNDSWELL_SEARCH_PROCESS_KEY` (hex key).
"""

from __future__ import annotations

import logging
import logging.config
import os
import queue
import secrets
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
from multiprocessing import AuthenticationError
from multiprocessing.connection import Connection, answer_challenge, deliver_challenge

log = logging.getLogger("groundswell.search")

ADDRESS_ENV = "GROUNDSWELL_SEARCH_PROCESS_ADDRESS"
KEY_ENV = "GROUNDSWELL_SEARCH_PROCESS_KEY"
# How long a worker waits for one answer before it answers its request with 503 (seconds); the
# searches pass GROUNDSWELL_DB_TIMEOUT (10 s by default), as long as for a database connection. The
# search process builds the full-text part of its index at start, so no first search waits ~20 s
# for it (100k questions).
CALL_TIMEOUT = 10.0
PING_TIMEOUT = 1.0
BREAKER_MAX = 5.0  # longest wait, in seconds, between pings while the search process does not answer
# How long the wake-up sender waits for the search process (seconds; not the committing thread).
WAKE_TIMEOUT = 0.5


class Unreachable(RuntimeError):
    """The search process did not answer (not started yet, restarting, or too slow)."""


def _io_deadline(fd: int, seconds: float) -> None:
    """Every blocking read and write on this socket gives up after `seconds` (SO_RCVTIMEO and
    SO_SNDTIMEO; 0: never), including those inside multiprocessing's authentication handshake."""
    sock = socket.socket(fileno=fd)
    try:
        value = struct.pack("ll", int(seconds), int((seconds % 1) * 1_000_000))
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO, value)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDTIMEO, value)
    finally:
        sock.detach()  # the descriptor stays open, owned by its Connection


def _open(address: str, key: bytes, timeout: float) -> Connection:
    """A connection to the search process, authenticated both ways, within `timeout` seconds even
    when the process is stopped or hung (multiprocessing's Client has no deadline: it would wait
    for the handshake for as long as the process stays silent)."""
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        sock.settimeout(timeout)
        sock.connect(address)
        sock.settimeout(None)
    except OSError:
        sock.close()
        raise
    conn = Connection(sock.detach())
    try:
        _io_deadline(conn.fileno(), timeout)
        answer_challenge(conn, key)
        deliver_challenge(conn, key)
        _io_deadline(conn.fileno(), max(timeout, CALL_TIMEOUT))  # later calls wait with poll(their timeout)
    except BaseException:
        conn.close()
        raise
    return conn


# === the web worker's side =======================================================================

class OwnerClient:
    """Calls into the search process from a web worker; thread-safe (one connection per call in
    flight, kept for reuse). Every failure is `Unreachable`; a broken connection is dropped."""

    def __init__(self, address: str, key: bytes) -> None:
        from app.search.breaker import Breaker

        self.address, self.key = address, key
        self._idle: queue.LifoQueue[Connection] = queue.LifoQueue()
        # After a failed call, calls fail at once (no connection, no wait) until a background ping
        # answers: 1 s, doubling up to 5 s (app/search/breaker.py, as for Meilisearch). A search
        # process that hangs costs one request CALL_TIMEOUT, not every request.
        self.breaker = Breaker(self._ping, cap=BREAKER_MAX, name="search process")
        self._wake_due = threading.Event()
        self._waker: threading.Thread | None = None
        self._waker_lock = threading.Lock()

    def _ping(self) -> bool:
        try:
            self._call("ping", PING_TIMEOUT, {}, fresh=True)  # never a pooled connection to a dead process
            return True
        except Exception:  # noqa: BLE001
            return False

    def _connect(self, timeout: float, fresh: bool = False) -> Connection:
        if not fresh:
            try:
                return self._idle.get_nowait()
            except queue.Empty:
                pass
        try:
            return _open(self.address, self.key, timeout)
        except (OSError, EOFError, AuthenticationError) as exc:  # not listening, restarting, hung, a wrong key
            raise Unreachable(f"not answering ({exc.__class__.__name__})") from exc

    def call(self, op: str, timeout: float = CALL_TIMEOUT, **kwargs):
        """Run `op` in the search process; returns its value. Raises Unreachable (at once while
        the breaker is open), or the SearchUnavailable the search process met (its message kept)."""
        from app.search.breaker import CircuitOpen

        try:
            self.breaker.before_call()
        except CircuitOpen as exc:
            raise Unreachable(f"the search process is {self.breaker.snapshot().reason}") from exc
        try:
            value = self._call(op, timeout, kwargs)
        except Unreachable as exc:
            self.breaker.failed(str(exc))
            raise
        self.breaker.succeeded()
        return value

    def _call(self, op: str, timeout: float, kwargs: dict, *, fresh: bool = False):
        from app.search.ports import SearchUnavailable

        try:
            conn = self._connect(timeout, fresh)
        except Unreachable:
            self.close()
            raise
        try:
            conn.send((op, kwargs))
            if not conn.poll(timeout):
                raise Unreachable(f"not answering within {timeout:g} s")
            status, value = conn.recv()
        except (Unreachable, OSError, EOFError) as exc:  # hung, or it restarted since this connection was opened
            conn.close()
            self.close()  # the other idle connections went to the same process: drop them all
            if isinstance(exc, Unreachable):
                raise
            raise Unreachable(f"closed the connection ({exc.__class__.__name__})") from exc
        self._idle.put(conn)
        if status == "ok":
            return value
        if status == "unavailable":
            raise SearchUnavailable(value)
        raise Unreachable(f"the search process failed: {value}")

    def wake(self) -> None:
        """Tell the search process that outbox rows were committed. Called in the committing
        thread, so it only sets a flag: a background thread sends the message (≤ 0.5 s each; wake-ups
        that arrive meanwhile become one). Skipped while the breaker is open, and a slow wake-up
        does not open it: its applier's own timer, and a restarted one's start, catch up."""
        if self.breaker.snapshot().state != "closed":
            return
        with self._waker_lock:
            if self._waker is None:
                self._waker = threading.Thread(target=self._send_wakes, name="search-process-wake", daemon=True)
                self._waker.start()
        self._wake_due.set()

    def _send_wakes(self) -> None:
        while True:
            self._wake_due.wait()
            self._wake_due.clear()
            try:
                self._call("wake", WAKE_TIMEOUT, {})
            except Exception as exc:  # noqa: BLE001
                log.info("search: could not wake the search process: %s", exc)

    def close(self) -> None:
        """Close the idle connections (those in use are closed by their call)."""
        while True:
            try:
                self._idle.get_nowait().close()
            except queue.Empty:
                return


_client: OwnerClient | None = None
_client_lock = threading.Lock()


def client() -> OwnerClient | None:
    """This web worker's client of the search process, or None when search runs in this process
    (one worker, tests, the CLI)."""
    global _client
    address, key = os.environ.get(ADDRESS_ENV), os.environ.get(KEY_ENV)
    if not address or not key:
        return None
    with _client_lock:
        if _client is None or _client.address != address:
            _client = OwnerClient(address, bytes.fromhex(key))
        return _client


# === the search process ==========================================================================

_ready = threading.Event()  # set once the index (and its full-text part) has loaded
_started = time.monotonic()


def _loading() -> str | None:
    """Why searches cannot be answered yet (the index is still loading), or None."""
    if _ready.is_set():
        return None
    return f"the search index is loading ({time.monotonic() - _started:.0f} s since the search process started)"


def _handle(settings, engine, applier, op: str, kwargs: dict):
    from app.search import service
    from app.search.ports import SearchUnavailable

    if op in ("similar", "search"):
        # While the index loads (~40 s at 100k questions), a quick answer: the worker turns it into
        # a 503 with Retry-After at once, instead of holding the request until it times out.
        loading = _loading()
        if loading:
            raise SearchUnavailable(loading)
        return service.SEARCH_PARTS[op](settings, engine, **kwargs)
    if op == "ping":
        return os.getpid()
    if op == "wake":
        if applier is not None:
            applier.wake()
        return os.getpid()
    if op == "health":
        body = {**service.health(settings, engine), "process": "search process"}
        loading = _loading()
        if loading:
            body["degraded"] = True
            body["reasons"] = [*body.get("reasons", []), loading]
        return body
    raise ValueError(f"unknown operation {op!r}")


def _warm(settings, engine) -> None:
    """Load the index, and with the embedded backend its full-text part too (built on the first
    full-text search otherwise: ~20 s at 100k questions, longer than a worker waits for an answer),
    in a thread at nice 10, so that the workers starting beside it get the cores first."""
    from app.search import lifecycle, service

    try:  # Linux: niceness is per thread. The workers start at the same time, on the same cores.
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 10)
    except (AttributeError, OSError):
        pass
    try:
        lifecycle.warm(settings, engine)
        if settings.search_backend == "embedded" and settings.env != "test":
            index = service.embedded_backend(settings, engine).index
            with index.lock:
                index._ensure_full()
    except Exception:  # noqa: BLE001 - searches then load what they need themselves
        log.exception("search process: loading the index failed")
    finally:
        _ready.set()
        log.info("search process: index loaded in %.1f s", time.monotonic() - _started)


DIRECTORY_PREFIX = "groundswell-search-"
SOCKET_PATH_MAX = 100  # a Unix socket's path must fit sun_path: 108 bytes on Linux, 104 on macOS
HANDSHAKE_TIMEOUT = 5.0  # seconds a new connection has to authenticate before it is dropped


def _serve_connection(conn: Connection, settings, engine, applier, key: bytes | None = None) -> None:
    """Answer one worker's connection until it closes. With `key`, first the authentication
    handshake, within HANDSHAKE_TIMEOUT: in this connection's own thread, so that a client that
    connects and stays silent holds up nobody (multiprocessing's Listener does it in accept())."""
    from app.search.ports import SearchUnavailable

    with conn:
        if key is not None:
            try:
                _io_deadline(conn.fileno(), HANDSHAKE_TIMEOUT)
                deliver_challenge(conn, key)
                answer_challenge(conn, key)
                _io_deadline(conn.fileno(), 0)  # then wait for requests as long as the worker keeps it
            except (OSError, EOFError, AuthenticationError) as exc:
                log.warning("search process: refused a connection: %s", exc or exc.__class__.__name__)
                return
        while True:
            try:
                op, kwargs = conn.recv()
            except (EOFError, OSError):
                return  # the worker closed it (or exited)
            try:
                reply = ("ok", _handle(settings, engine, applier, op, kwargs))
            except SearchUnavailable as exc:
                reply = ("unavailable", str(exc))
            except Exception as exc:  # noqa: BLE001 - one bad call never stops the search process
                log.exception("search process: %s failed", op)
                reply = ("error", f"{exc.__class__.__name__}: {exc}"[:500])
            try:
                conn.send(reply)
            except (OSError, EOFError):
                return


def run_owner() -> None:
    """The search process's main loop (`python -m app.search.owner`, started by `serve`): load the
    index, apply the outbox, answer the workers until SIGTERM/SIGINT. Reads the socket address and
    key from the environment and removes them, so that its own search runs in-process."""
    from app.core.config import get_settings
    from app.core.db import engine_for, import_all_models
    from app.core.logs import logging_config
    from app.search import lifecycle

    address, key = os.environ.pop(ADDRESS_ENV), bytes.fromhex(os.environ.pop(KEY_ENV))
    settings = get_settings()
    logging.config.dictConfig(logging_config(settings.log_level))
    import_all_models()
    engine = engine_for(settings)
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(address)  # in a 0700 directory: nobody else could reach it before the chmod
    os.chmod(address, 0o600)
    listener.listen(128)
    stopping = threading.Event()
    orphan = threading.Event()

    def stop(_signum, _frame) -> None:
        stopping.set()
        try:
            listener.close()  # unblocks accept()
        except OSError:
            pass

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    parent = os.getppid()

    def orphaned() -> None:  # `serve` was killed without stopping us: nobody can reach us any more
        while not stopping.wait(1.0):
            if os.getppid() != parent:
                log.warning("search process: the server that started it is gone; exiting")
                orphan.set()
                os.kill(os.getpid(), signal.SIGTERM)  # handled in the main thread, which waits in accept()
                return

    threading.Thread(target=orphaned, name="search-process-parent", daemon=True).start()
    applier = lifecycle.start(settings, engine, warm_in_background=False)  # the outbox applier's thread
    threading.Thread(target=_warm, args=(settings, engine), name="search-warm", daemon=True).start()
    log.info("search process %d owns the search index for the web workers (%s)", os.getpid(), address)
    try:
        while not stopping.is_set():
            try:
                sock, _ = listener.accept()
            except OSError as exc:  # closed by stop()
                if stopping.is_set():
                    break
                log.warning("search process: accept failed: %s", exc)
                continue
            threading.Thread(target=_serve_connection, args=(Connection(sock.detach()), settings, engine, applier, key),
                             name="search-process-conn", daemon=True).start()
    finally:
        lifecycle.stop(applier)
        engine.dispose()
        try:
            os.unlink(address)
            if orphan.is_set() and os.path.basename(os.path.dirname(address)).startswith(DIRECTORY_PREFIX):
                os.rmdir(os.path.dirname(address))  # nobody is left to remove the directory `serve` made
        except OSError:
            pass


# === started by `serve` ==========================================================================

class Supervisor:
    """Starts the search process for `serve --workers N`, restarts it if it exits (after 1 s,
    doubling up to 30 s while it keeps failing), and stops it with the server. Sets the workers'
    environment (address and key) in this process, which uvicorn's workers inherit."""

    RESTART_MAX = 30.0

    def __init__(self) -> None:
        self.directory = tempfile.mkdtemp(prefix=DIRECTORY_PREFIX)  # mode 0700
        if len(os.path.join(self.directory, "search.sock")) > SOCKET_PATH_MAX:  # a long TMPDIR
            os.rmdir(self.directory)
            self.directory = tempfile.mkdtemp(prefix=DIRECTORY_PREFIX, dir="/tmp")
        self.address = os.path.join(self.directory, "search.sock")
        self.key = secrets.token_hex(32)
        self.process: subprocess.Popen | None = None
        self._stop = threading.Event()
        self._lock = threading.Lock()  # spawning and stopping, one at a time
        self._thread: threading.Thread | None = None

    def _spawn(self) -> subprocess.Popen:
        if os.path.exists(self.address):
            os.unlink(self.address)
        env = {**os.environ, ADDRESS_ENV: self.address, KEY_ENV: self.key}
        # Its own session: a Ctrl+C in the terminal stops the server, which then stops it (not both
        # at once, which the watchdog would take for a crash). It exits by itself if `serve` dies.
        return subprocess.Popen([sys.executable, "-m", "app.search.owner"], env=env, start_new_session=True)

    def start(self, host: str, port: int) -> None:
        """Set the workers' environment now; start the search process once the server accepts
        connections on host:port (at most 60 s later), so that the workers, starting on the same
        cores, serve first: searches meanwhile are a quick 503, as while its index loads."""
        os.environ[ADDRESS_ENV], os.environ[KEY_ENV] = self.address, self.key
        self._thread = threading.Thread(target=self._watch, args=(host, port), name="search-process-watch",
                                        daemon=True)
        self._thread.start()

    def _serving(self, host: str, port: int) -> None:
        local = {"0.0.0.0": "127.0.0.1", "::": "::1", "": "127.0.0.1"}.get(host, host)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not self._stop.is_set():
            try:
                socket.create_connection((local, port), timeout=1).close()
                return
            except OSError:
                self._stop.wait(0.1)

    def _watch(self, host: str, port: int) -> None:
        self._serving(host, port)
        with self._lock:
            if self._stop.is_set():
                return
            self.process = self._spawn()
        delay = 1.0
        while not self._stop.is_set():
            process = self.process
            assert process is not None
            started = time.monotonic()
            code = process.wait()
            if self._stop.is_set():
                return
            if time.monotonic() - started > 60:
                delay = 1.0  # it ran for a while: this is a new failure, not a crash loop
            print(f"groundswell: the search process exited ({code}); restarting it in {delay:g} s",
                  file=sys.stderr)
            if self._stop.wait(delay):
                return
            delay = min(self.RESTART_MAX, delay * 2)
            with self._lock:
                if self._stop.is_set():
                    return
                self.process = self._spawn()

    def stop(self) -> None:
        with self._lock:
            self._stop.set()
            process = self.process
        if process is not None and process.poll() is None:
            process.terminate()
            try:  # a stopped (SIGSTOP) process only acts on the SIGTERM once continued
                os.kill(process.pid, signal.SIGCONT)
            except OSError:
                pass
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        os.environ.pop(ADDRESS_ENV, None)
        os.environ.pop(KEY_ENV, None)
        shutil.rmtree(self.directory, ignore_errors=True)


if __name__ == "__main__":
    run_owner()
