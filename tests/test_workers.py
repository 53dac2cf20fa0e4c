"""`groundswell serve --workers 2` as an operator runs it: two real worker processes behind one
port, one shared secret, state in the database. A session cookie issued by one worker is accepted
by the other (which process answered is read from the access log's `pid`)."""

from __future__ import annotations

import http.cookiejar
import os
import re
import secrets
import subprocess
import sys
import threading
import urllib.parse
import urllib.request

from tests.test_cli import _free_port, _wait_until_serving, run

PASSWORD = "sunlit orchard ladder"


def serve_two_workers(db_url: str, username: str, **env: str) -> tuple[subprocess.Popen, int]:
    """Create `username` (password PASSWORD) and start `serve --workers 2` on a free port, with one
    secret key for both; returns the server process (stderr: its log) and the port."""
    secret = secrets.token_urlsafe(48)
    r = run(["create-user", username, "--email", f"{username}@example.com", "--password-stdin"], db_url,
            stdin=PASSWORD + "\n", GROUNDSWELL_SECRET_KEY=secret)
    assert r.returncode == 0, r.stderr
    port = _free_port()
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("GROUNDSWELL_")}
    full_env.update(GROUNDSWELL_DATABASE_URL=db_url, GROUNDSWELL_SECRET_KEY=secret, GROUNDSWELL_RATE_LIMITS="off",
                    **env)
    proc = subprocess.Popen([sys.executable, "-m", "app.cli", "serve", "--port", str(port), "--workers", "2"],
                            env=full_env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    return proc, port


def test_a_session_from_one_worker_is_good_at_the_other(clean_engine, db_url):
    proc, port = serve_two_workers(db_url, "wren_w")
    lines: list[str] = []
    pids: dict[str, str] = {}  # request id → pid of the worker that answered it
    seen = threading.Condition()

    def read_log() -> None:
        for line in proc.stderr:
            lines.append(line)
            found = re.search(r" pid=(\d+) request_id=(\S+)", line)
            if found:
                with seen:
                    pids[found.group(2)] = found.group(1)
                    seen.notify_all()

    reader = threading.Thread(target=read_log, daemon=True)
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_until_serving(proc, f"{base}/healthz")
        reader.start()
        jar = http.cookiejar.CookieJar()
        opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))

        def pid_of(response) -> str:
            rid = response.headers["X-Request-ID"]
            with seen:
                assert seen.wait_for(lambda: rid in pids, timeout=30), "no access line for the request"
                return pids[rid]

        with opener.open(f"{base}/signin") as resp:
            csrf = re.search(r'name="csrf_token" value="([^"]+)"', resp.read().decode()).group(1)
        form = urllib.parse.urlencode({"username": "wren_w", "password": PASSWORD, "csrf_token": csrf,
                                       "next": "/settings"}).encode()
        # The redirect is followed: the final response is /settings, signed in.
        no_redirect = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar), _NoRedirect)
        resp = no_redirect.open(urllib.request.Request(f"{base}/signin", data=form, method="POST"))
        assert resp.status == 303, resp.status
        issued_by = pid_of(resp)
        assert any(c.name for c in jar), "no session cookie was set"
        # Each request on a fresh connection; the kernel hands connections to either worker.
        answered_by: set[str] = set()
        for _ in range(200):
            with no_redirect.open(f"{base}/settings") as page:
                assert page.status == 200 and "wren_w" in page.read().decode()
                answered_by.add(pid_of(page))
            if answered_by - {issued_by}:
                break
        assert answered_by - {issued_by}, f"every request went to the worker that signed in ({issued_by})"
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    assert len(set(pids.values())) == 2, "".join(lines)


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None

    def http_error_303(self, req, fp, code, msg, headers):
        return fp
