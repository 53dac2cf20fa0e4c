"""The command line as an operator uses it: real processes, real exit codes, one-line reasons."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest
from sqlalchemy import text
from sqlmodel import Session, select

from app.accounts.models import User
from app.core.db import make_engine, writer


def run(args, db_url=None, stdin=None, **env):
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("GROUNDSWELL_")}
    full_env.update({"GROUNDSWELL_DATABASE_URL": db_url or "sqlite:///unused.db", **env})
    return subprocess.run([sys.executable, "-m", "app.cli", *args], input=stdin, capture_output=True, text=True,
                          env=full_env, timeout=120)


@pytest.fixture
def fresh_sqlite(tmp_path):
    return f"sqlite:///{tmp_path / 'cli.db'}"


def test_migrate_then_create_staff_user(fresh_sqlite):
    r = run(["migrate"], fresh_sqlite)
    assert r.returncode == 0, r.stderr
    r = run(["create-user", "lena", "--email", "lena@kestrel.example", "--role", "staff", "--password-stdin"],
            fresh_sqlite, stdin="a-long-enough-password\n")
    assert r.returncode == 0, r.stderr
    assert "created staff lena" in r.stdout
    eng = make_engine(fresh_sqlite)
    with Session(eng) as s:
        user = s.exec(select(User).where(User.username == "lena")).one()
        assert user.role == "staff" and user.password_hash.startswith("$argon2id$")
    eng.dispose()


def test_create_user_twice_is_a_one_line_error(fresh_sqlite):
    args = ["create-user", "omar", "--email", "omar@example.com", "--password-stdin"]
    assert run(args, fresh_sqlite, stdin="a-long-enough-password\n").returncode == 0
    r = run(args, fresh_sqlite, stdin="a-long-enough-password\n")
    assert r.returncode == 1
    assert r.stderr.strip().count("\n") == 0 and "taken" in r.stderr and "Traceback" not in r.stderr


def test_create_user_short_password_is_refused(fresh_sqlite):
    r = run(["create-user", "omar", "--email", "omar@example.com", "--password-stdin"], fresh_sqlite, stdin="short\n")
    assert r.returncode == 1 and "password" in r.stderr and "Traceback" not in r.stderr


def test_create_user_without_terminal_or_stdin_flag(fresh_sqlite):
    r = run(["create-user", "omar", "--email", "omar@example.com"], fresh_sqlite, stdin="")
    assert r.returncode == 1 and "--password-stdin" in r.stderr


def test_unreachable_database_is_one_line():
    r = run(["migrate"], "postgresql+psycopg://postgres@127.0.0.1:1/none")
    assert r.returncode == 1
    assert r.stderr.startswith("groundswell: cannot reach the database") and "Traceback" not in r.stderr


def test_production_without_secret_refuses_to_start(fresh_sqlite):
    r = run(["serve", "--port", "1"], fresh_sqlite, GROUNDSWELL_ENV="production")
    assert r.returncode == 1
    assert "GROUNDSWELL_SECRET_KEY" in r.stderr and "Traceback" not in r.stderr


def test_invalid_setting_is_one_line(fresh_sqlite):
    r = run(["migrate"], fresh_sqlite, GROUNDSWELL_SEARCH_BACKEND="elastic")
    assert r.returncode == 1 and "GROUNDSWELL_SEARCH_BACKEND" in r.stderr and "Traceback" not in r.stderr


@pytest.mark.parametrize("name,value", [("GROUNDSWELL_DB_TIMEOUT", "nan"), ("GROUNDSWELL_DB_PING_AFTER_IDLE", "inf"),
                                        ("GROUNDSWELL_MAX_INFLIGHT", "0"), ("GROUNDSWELL_QUEUE_TIMEOUT", "-1")])
def test_an_impossible_number_is_named_in_one_line(fresh_sqlite, name, value):
    r = run(["migrate"], fresh_sqlite, **{name: value})
    assert r.returncode == 1 and "Traceback" not in r.stderr
    assert r.stderr.startswith(f"groundswell: invalid setting {name}:") and len(r.stderr.strip().splitlines()) == 1
    if value in ("nan", "inf"):
        assert "finite number" in r.stderr


def _migrated_with_question(db_url: str, title: str):
    assert run(["migrate"], db_url).returncode == 0
    eng = make_engine(db_url)
    from tests.factories import make_question

    with Session(writer(eng)) as s:
        make_question(s, title=title)
        s.commit()
    return eng


def test_reindex_builds_the_index_and_reports_progress(fresh_sqlite):
    eng = _migrated_with_question(fresh_sqlite, "Headset microphone not detected after update")
    r = run(["reindex"], fresh_sqlite)
    assert r.returncode == 0, r.stderr
    assert "reindexed 1 searchable questions" in r.stdout and "indexed 1 / 1 questions" in r.stderr
    assert "are searchable" not in r.stderr  # nothing left out, nothing to explain
    with eng.connect() as conn:
        assert conn.execute(text("SELECT title FROM search_documents WHERE visible")).scalars().all() == [
            "Headset microphone not detected after update"]
        assert conn.execute(text("SELECT count(*) FROM search_outbox WHERE done_at IS NULL")).scalar() == 0


def test_reindex_against_an_unreachable_meilisearch_is_one_line(fresh_sqlite):
    assert run(["migrate"], fresh_sqlite).returncode == 0
    r = run(["reindex"], fresh_sqlite, GROUNDSWELL_SEARCH_BACKEND="meilisearch",
            GROUNDSWELL_MEILI_URL="http://127.0.0.1:9", GROUNDSWELL_MEILI_TIMEOUT="0.5")
    assert r.returncode == 1 and "Traceback" not in r.stderr
    assert r.stderr.strip().splitlines()[-1].startswith("groundswell: the search backend failed")


def test_worker_once_indexes_pending_changes(fresh_sqlite):
    eng = _migrated_with_question(fresh_sqlite, "Charging light blinks orange three times")
    r = run(["worker", "--once"], fresh_sqlite)
    assert r.returncode == 0, r.stderr
    assert "search-index: 1 documents indexed" in r.stderr
    with eng.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM search_documents WHERE visible")).scalar() == 1


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_until_serving(proc, url: str, deadline_s: float = 90) -> None:
    """Poll until the server answers (or the process dies): readiness, not a fixed sleep."""
    import time
    import urllib.request

    end = time.monotonic() + deadline_s
    while time.monotonic() < end:
        if proc.poll() is not None:
            raise AssertionError(f"server exited early: {proc.stderr.read()}")
        try:
            with urllib.request.urlopen(url, timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    raise AssertionError("server did not come up in time")


def test_demo_loads_a_community_once_and_serves(fresh_sqlite):
    import json
    import urllib.request

    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("GROUNDSWELL_")}
    env["GROUNDSWELL_DATABASE_URL"] = fresh_sqlite
    for attempt in (1, 2):
        proc = subprocess.Popen([sys.executable, "-m", "app.cli", "demo", "--port", str(port)], env=env,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            _wait_until_serving(proc, f"http://127.0.0.1:{port}/healthz")
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v1/products") as r:
                products = json.load(r)["items"]
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v1/questions?limit=100") as r:
                questions = json.load(r)["items"]
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/sitemap.xml") as r:
                sitemap = r.read().decode()
        finally:
            proc.terminate()
            _, err = proc.communicate(timeout=30)
        assert len(products) == 6
        assert len(questions) >= 40
        assert any(q["has_accepted_answer"] for q in questions)
        assert any(q["answer_count"] == 0 for q in questions)
        # Without GROUNDSWELL_BASE_URL, absolute links point at the address the demo serves on.
        assert f"<loc>http://127.0.0.1:{port}/" in sitemap and ":8000/" not in sitemap
        if attempt == 2:
            assert "already loaded" in err  # idempotent: the second run adds nothing
    eng = make_engine(fresh_sqlite)
    with Session(eng) as s:
        from app.answers.models import Answer

        assert len(s.exec(select(User)).all()) == 24
        assert len(s.exec(select(Answer)).all()) >= 100
    eng.dispose()


# --- issue 10: demo in production, password policy, reserved names, one key per installation ----------

def test_demo_refuses_production(fresh_sqlite):
    r = run(["demo", "--port", "1"], fresh_sqlite, GROUNDSWELL_ENV="production",
            GROUNDSWELL_SECRET_KEY="x" * 48)
    assert r.returncode == 1
    assert r.stderr.strip().count("\n") == 0 and "GROUNDSWELL_ENV=production" in r.stderr
    assert "Traceback" not in r.stderr
    eng = make_engine(fresh_sqlite)  # nothing was created: not even the schema
    with eng.connect() as conn:
        assert conn.execute(text("SELECT name FROM sqlite_master WHERE name = 'users'")).first() is None
    eng.dispose()


def test_create_user_applies_the_password_policy(fresh_sqlite):
    r = run(["create-user", "omar", "--email", "omar@example.com", "--password-stdin"], fresh_sqlite,
            stdin="password1234\n")
    assert r.returncode == 1 and "common password" in r.stderr and "Traceback" not in r.stderr
    r = run(["create-user", "omar", "--email", "omar@example.com", "--password-stdin"], fresh_sqlite,
            stdin="omar-omar-omar-2026\n")
    assert r.returncode == 1 and "username" in r.stderr


def test_create_user_keeps_spaces_and_may_take_reserved_names(fresh_sqlite):
    r = run(["create-user", "support", "--email", "support@kestrel.example", "--role", "staff", "--password-stdin"],
            fresh_sqlite, stdin="  a spaced staff passphrase \n")
    assert r.returncode == 0, r.stderr
    from app.core import security

    eng = make_engine(fresh_sqlite)
    with Session(eng) as s:
        user = s.exec(select(User).where(User.username == "support")).one()
        assert security.verify_password("  a spaced staff passphrase ", user.password_hash)
        assert not security.verify_password("a spaced staff passphrase", user.password_hash)
    eng.dispose()


def test_two_server_processes_without_a_secret_key_share_one(fresh_sqlite, tmp_path):
    """Two workers of one installation (no GROUNDSWELL_SECRET_KEY, development): a token from one is
    good at the other, because both use the key kept next to the database."""
    import json
    import urllib.parse
    import urllib.request

    assert run(["migrate"], fresh_sqlite).returncode == 0
    assert run(["create-user", "wren", "--email", "wren@example.com", "--password-stdin"], fresh_sqlite,
               stdin="sunlit orchard ladder\n").returncode == 0
    env = {k: v for k, v in os.environ.items() if not k.startswith("GROUNDSWELL_")}
    env["GROUNDSWELL_DATABASE_URL"] = fresh_sqlite
    ports = [_free_port(), _free_port()]
    procs = [subprocess.Popen([sys.executable, "-m", "app.cli", "serve", "--port", str(p)], env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for p in ports]
    try:
        for proc, port in zip(procs, ports):
            _wait_until_serving(proc, f"http://127.0.0.1:{port}/healthz")
        form = urllib.parse.urlencode({"username": "wren", "password": "sunlit orchard ladder"}).encode()
        with urllib.request.urlopen(f"http://127.0.0.1:{ports[0]}/api/v1/auth/token", data=form) as r:
            token = json.load(r)["access_token"]
        me = urllib.request.Request(f"http://127.0.0.1:{ports[1]}/api/v1/me",
                                    headers={"Authorization": f"Bearer {token}"})
        with urllib.request.urlopen(me) as r:
            assert json.load(r)["username"] == "wren"
    finally:
        for proc in procs:
            proc.terminate()
            proc.communicate(timeout=30)
    key_file = tmp_path / ".groundswell-secret"
    assert key_file.exists() and len(key_file.read_text().strip()) >= 32
    assert oct(key_file.stat().st_mode & 0o777) == "0o600"


def test_serve_with_two_workers_serves_writes(fresh_sqlite):
    """`serve --workers 2`: migrations once in the parent, then two uvicorn worker processes, each
    with its own app and pool, writing to the same database (docs/operations.md)."""
    import json
    import urllib.request

    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("GROUNDSWELL_")}
    env.update(GROUNDSWELL_DATABASE_URL=fresh_sqlite, GROUNDSWELL_RATE_LIMITS="off")
    proc = subprocess.Popen([sys.executable, "-m", "app.cli", "serve", "--port", str(port), "--workers", "2"],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        _wait_until_serving(proc, f"http://127.0.0.1:{port}/healthz")
        for name in ("ana_w", "ben_w", "cem_w"):
            body = json.dumps({"username": name, "email": f"{name}@example.com", "password": "a-long-password-1"})
            req = urllib.request.Request(f"http://127.0.0.1:{port}/api/v1/auth/register", data=body.encode(),
                                         headers={"Content-Type": "application/json"}, method="POST")
            with urllib.request.urlopen(req, timeout=60) as r:
                assert r.status == 201
    finally:
        proc.terminate()
        _, err = proc.communicate(timeout=30)
    assert "2 workers" in err
    # Each worker process logs through GROUNDSWELL_LOG_LEVEL's logfmt config (issue 14 item 12), once.
    access = [line for line in err.splitlines() if "logger=groundswell.access" in line]
    assert sum("method=POST path=/api/v1/auth/register status=201 " in line for line in access) == 3, err
    assert all(re.search(r" request_id=[0-9a-f]{32} client=127\.0\.0\.1$", line) for line in access), access
    assert '"POST /api/v1/auth/register HTTP/1.1" 201' not in err  # uvicorn's own access log stays off
    eng = make_engine(fresh_sqlite)
    with Session(eng) as s:
        assert sorted(u.username for u in s.exec(select(User)).all()) == ["ana_w", "ben_w", "cem_w"]
    eng.dispose()


def test_serve_refuses_zero_workers(fresh_sqlite):
    r = run(["serve", "--workers", "0"], fresh_sqlite)
    assert r.returncode == 1 and r.stderr.strip().count("\n") == 0 and "--workers" in r.stderr


@pytest.mark.parametrize("port", ["99999", "65536", "0", "-1"])
def test_serve_refuses_a_port_out_of_range(fresh_sqlite, port):
    """99999 would wrap to 34463 and 0 to a port the system picks, under an announcement of the
    number given: refused like any bad argument (argparse: usage, the reason, exit 2)."""
    r = run(["serve", f"--port={port}"], fresh_sqlite)
    assert r.returncode == 2 and f"invalid port: {int(port)} (a number from 1 to 65535)" in r.stderr, r.stderr
    assert "serving" not in r.stderr


def test_serve_and_demo_say_in_one_line_when_they_cannot_listen(fresh_sqlite):
    """A port another process listens on, or a host name that does not resolve: one line, exit 1,
    before announcing anything (and before the demo loads its community)."""
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        for command in (["serve"], ["serve", "--workers", "2"], ["demo"]):
            r = run([*command, "--port", str(port)], fresh_sqlite)
            assert r.returncode == 1 and r.stderr.strip().count("\n") == 0, (command, r.stderr)
            assert r.stderr.startswith(f"groundswell: cannot listen on 127.0.0.1:{port}: "), r.stderr
            assert "in use" in r.stderr.lower()
    r = run(["serve", "--host", "no-such-host.invalid", "--port", "8000"], fresh_sqlite)
    assert r.returncode == 1 and "cannot listen on no-such-host.invalid:8000: unknown host" in r.stderr, r.stderr
    engine = make_engine(fresh_sqlite)
    with Session(engine) as s:  # the demo stopped before migrating and loading
        assert "users" not in {t for (t,) in s.execute(text("SELECT name FROM sqlite_master WHERE type = 'table'"))}
    engine.dispose()


def test_a_mistyped_sqlite_folder_is_one_line_not_a_new_database(tmp_path):
    """A database URL whose folder does not exist is refused (as SQLite refuses it when a secret key
    is set), not created along with a new, empty database that would look like lost data."""
    missing = tmp_path / "no-such-folder" / "sub"
    for env in ({}, {"GROUNDSWELL_SECRET_KEY": "k" * 40}):
        r = run(["migrate"], f"sqlite:///{missing / 'groundswell.db'}", **env)
        assert r.returncode == 1 and r.stderr.strip().count("\n") == 0, r.stderr
        assert str(missing) in r.stderr or "unable to open database file" in r.stderr, r.stderr
        assert not (tmp_path / "no-such-folder").exists()
