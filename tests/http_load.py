"""Real HTTP load against a real uvicorn server: shared by tests/test_saturation.py and
bench/concurrency_bench.py. Plain http.client, one connection per request, one thread per client."""

from __future__ import annotations

import http.client
import json
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field


@dataclass
class Reply:
    status: int | str  # an HTTP status, or "timeout" / "error"
    seconds: float
    retry_after: str | None = None
    content_type: str = ""
    body: dict = field(default_factory=dict)
    job: tuple = ()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def request(port: int, method: str, path: str, token: str | None = None, body: dict | None = None,
            timeout: float = 60.0) -> Reply:
    """One request on a new connection to 127.0.0.1:port; a timeout or a refused connection is a
    Reply with status "timeout" / "error", never an exception."""
    started = time.perf_counter()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    headers = {"Accept": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    raw = None
    if body is not None:
        raw = json.dumps(body).encode()
        headers["Content-Type"] = "application/json"
    try:
        conn.request(method, path, body=raw, headers=headers)
        resp = conn.getresponse()
        data = resp.read()
        try:
            parsed = json.loads(data) if data else {}
        except ValueError:
            parsed = {"raw": data[:200].decode(errors="replace")}
        return Reply(resp.status, time.perf_counter() - started, resp.getheader("Retry-After"),
                     resp.getheader("Content-Type") or "", parsed)
    except TimeoutError:
        return Reply("timeout", time.perf_counter() - started)
    except OSError as exc:
        return Reply("error", time.perf_counter() - started, body={"error": str(exc)})
    finally:
        conn.close()


def burst(port: int, jobs: list[tuple], *, on_reply: Callable[[Reply], None] | None = None,
          timeout: float = 60.0) -> tuple[list[Reply], float]:
    """Send every job `(method, path, token, body, *anything)` at the same moment, one thread each
    released together by a barrier; returns the replies (each with its job) and the wall time."""
    barrier = threading.Barrier(len(jobs) + 1)
    replies: list[Reply] = []
    lock = threading.Lock()

    def run(job):
        method, path, token, body = job[:4]
        barrier.wait()
        reply = request(port, method, path, token, body, timeout=timeout)
        reply.job = job
        with lock:
            replies.append(reply)
        if on_reply is not None:
            on_reply(reply)

    threads = [threading.Thread(target=run, args=(j,), daemon=True) for j in jobs]
    for t in threads:
        t.start()
    started = time.perf_counter()
    barrier.wait()
    for t in threads:
        t.join()
    return replies, time.perf_counter() - started


@contextmanager
def serve(app) -> Iterator[int]:
    """The app on a real uvicorn server on 127.0.0.1 in a thread; yields its port."""
    import uvicorn

    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the test server did not start")
        time.sleep(0.01)  # polling the server's own start flag, not synchronising on time
    try:
        yield port
    finally:
        server.should_exit = True
        thread.join(timeout=30)
