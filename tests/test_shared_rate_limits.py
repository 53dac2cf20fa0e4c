"""Rate limits shared across processes (issue 16 item 2) on the real Redis at 127.0.0.1:6379
(GROUNDSWELL_TEST_REDIS_URL, db 13 by default, each test under its own key prefix): two
`groundswell serve` processes share one key's limit (each serves its share, the total holds);
in memory each process counts alone; Redis down lets requests through."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.error
import urllib.request
import uuid

import pytest

from app.core.errors import RateLimited
from app.core.ratelimit import Limit, RateLimiter
from tests.test_cli import _free_port, _wait_until_serving, run

REDIS_URL = os.environ.get("GROUNDSWELL_TEST_REDIS_URL", "redis://127.0.0.1:6379/13")
REQUIRE = os.environ.get("GROUNDSWELL_TEST_REQUIRE_REDIS") == "1"


@pytest.fixture
def redis_url():
    import redis

    try:
        redis.Redis.from_url(REDIS_URL, socket_timeout=2).ping()
    except Exception as exc:  # noqa: BLE001
        if REQUIRE:
            pytest.fail(f"Redis at {REDIS_URL} does not answer: {exc}")
        pytest.skip(f"Redis at {REDIS_URL} does not answer: {exc}")
    return REDIS_URL


@pytest.fixture
def prefix(redis_url):
    p = f"gs-test-{uuid.uuid4().hex[:12]}"
    yield p
    RateLimiter(storage_url=redis_url, prefix=p).reset()


def test_two_limiters_on_redis_share_the_count(redis_url, prefix):
    a, b = RateLimiter(storage_url=redis_url, prefix=prefix), RateLimiter(storage_url=redis_url, prefix=prefix)
    limit = Limit(4, 60, "tries")
    assert [a.hit("t", "k", limit).remaining, b.hit("t", "k", limit).remaining,
            a.hit("t", "k", limit).remaining, b.hit("t", "k", limit).remaining] == [3, 2, 1, 0]
    with pytest.raises(RateLimited) as refused:
        a.hit("t", "k", limit)
    assert 1 <= refused.value.retry_after <= 60 and refused.value.headers["RateLimit-Remaining"] == "0"
    b.refund("t", "k", limit)  # a refused write gives its hit back, for every process
    assert a.hit("t", "k", limit).remaining == 0


def test_memory_limiters_count_alone():
    a, b = RateLimiter(), RateLimiter()
    limit = Limit(2, 60, "tries")
    for limiter in (a, b):
        limiter.hit("t", "k", limit)
        limiter.hit("t", "k", limit)
    with pytest.raises(RateLimited):
        a.hit("t", "k", limit)


def test_distinct_accounts_are_counted_once_each(redis_url, prefix):
    limiter = RateLimiter(storage_url=redis_url, prefix=prefix)
    for i in range(20):
        limiter.check_distinct("sign-in-accounts", "10.0.0.9", f"user{i}")
        limiter.hit_distinct("sign-in-accounts", "10.0.0.9", f"user{i}")
        limiter.hit_distinct("sign-in-accounts", "10.0.0.9", f"user{i}")  # the same one again: not counted
    limiter.check_distinct("sign-in-accounts", "10.0.0.9", "user3")  # one already named passes
    with pytest.raises(RateLimited):
        limiter.check_distinct("sign-in-accounts", "10.0.0.9", "user20")


def test_redis_down_lets_requests_through():
    limiter = RateLimiter(storage_url="redis://127.0.0.1:1/0")
    assert limiter.hit("write", "u1") is None


def test_two_server_processes_share_a_keys_limit(tmp_path, redis_url, prefix):
    db = f"sqlite:///{tmp_path / 'shared.db'}"
    assert run(["migrate"], db).returncode == 0
    assert run(["create-user", "kestrel_site", "--email", "site@kestrel.example", "--password-stdin"], db,
               stdin="a-long-enough-password\n").returncode == 0
    made = run(["api-key", "create", "www.kestrel.example", "--owner", "kestrel_site", "--scope", "read",
                "--rate-limit", "10"], db)
    assert made.returncode == 0, made.stderr
    plain = made.stdout.strip().splitlines()[-1]
    env = {k: v for k, v in os.environ.items() if not k.startswith("GROUNDSWELL_")}
    env.update(GROUNDSWELL_DATABASE_URL=db, GROUNDSWELL_REDIS_URL=redis_url, GROUNDSWELL_REDIS_PREFIX=prefix,
               GROUNDSWELL_SECRET_KEY="s" * 40)
    ports = [_free_port(), _free_port()]
    procs = [subprocess.Popen([sys.executable, "-m", "app.cli", "serve", "--port", str(p)], env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for p in ports]
    try:
        for proc, port in zip(procs, ports):
            _wait_until_serving(proc, f"http://127.0.0.1:{port}/healthz")
        statuses, remaining, served = [], [], {p: 0 for p in ports}
        for i in range(14):  # alternate between the two processes
            port = ports[i % 2]
            req = urllib.request.Request(f"http://127.0.0.1:{port}/api/v1/products", headers={"X-API-Key": plain})
            try:
                with urllib.request.urlopen(req, timeout=60) as r:
                    statuses.append(r.status)
                    remaining.append(int(r.headers["RateLimit-Remaining"]))
                    served[port] += 1
                    assert r.headers["RateLimit-Limit"] == "10"
            except urllib.error.HTTPError as err:
                statuses.append(err.code)
                body = json.load(err)
                assert err.code == 429 and body["status"] == 429 and int(err.headers["Retry-After"]) >= 1
        assert statuses == [200] * 10 + [429] * 4  # the total holds across processes
        assert remaining == list(range(9, -1, -1))  # one counter, not two
        assert served == {ports[0]: 5, ports[1]: 5}  # each process served its share
    finally:
        for proc in procs:
            proc.terminate()
            proc.communicate(timeout=30)
