#!/usr/bin/env python3
"""Concurrent writers against a real `groundswell serve`: statuses, latency, exactness, losses.

Scenarios, each on a fresh database with `groundswell serve` started in a subprocess (real
uvicorn, real HTTP on 127.0.0.1, rate limits off):

  (a) voters: N users (default 100) up-vote the same answer at the same moment.
      Every vote should get 200 and the answer's final score must equal the 200s.
  (b) mixed:  M users (default 200) write at the same moment: a quarter vote, a quarter answer,
      a quarter comment, a quarter ask. No 500; every refusal a 503 with Retry-After; every
      200/201 write is in the database ("lost" counts those that are not) and no refused
      write is ("phantom").

While a burst runs, a probe requests GET /api/v1/questions every 0.25 s; its slowest answer
shows whether unrelated requests stall.

    .venv/bin/python bench/concurrency_bench.py                          # both databases, 1 worker
    .venv/bin/python bench/concurrency_bench.py --db sqlite --workers 1 2
    .venv/bin/python bench/concurrency_bench.py --src /tmp/gs-base       # serve an older checkout

Users and their API tokens are created directly through the services before the burst (with
cheap argon2 parameters, as the test suite does), so the burst measures writes only.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from argon2 import PasswordHasher  # noqa: E402
from sqlalchemy import func, text  # noqa: E402
from sqlmodel import Session, select  # noqa: E402

from app.core import migrate, security  # noqa: E402
from app.core.db import import_all_models, make_engine, writer  # noqa: E402
from tests.http_load import Reply, burst, free_port, request  # noqa: E402

PG = os.environ.get("GROUNDSWELL_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
SECRET = "bench-secret-key-that-is-long-enough-for-the-checks"
CLIENT_TIMEOUT = 60.0  # seconds a client waits for an answer before counting a timeout

# Real argon2id with cheap parameters: the bench creates hundreds of accounts up front.
security._hasher = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)


class Server:
    """`groundswell serve` in a subprocess, from `src` (this checkout, or an older one for 'before')."""

    def __init__(self, url: str, src: Path, workers: int, extra_env: dict[str, str]):
        self.port = free_port()
        env = {**os.environ, "GROUNDSWELL_DATABASE_URL": url, "GROUNDSWELL_SECRET_KEY": SECRET,
               "GROUNDSWELL_RATE_LIMITS": "off", "GROUNDSWELL_SEARCH_SEMANTIC": "off",
               "PYTHONPATH": str(src), **extra_env}
        cmd = [sys.executable, "-m", "app.cli", "serve", "--port", str(self.port)]
        if workers > 1:
            cmd += ["--workers", str(workers)]
        self.log = tempfile.NamedTemporaryFile("w+", prefix="gs-serve-", suffix=".log", delete=False)
        self.proc = subprocess.Popen(cmd, cwd=src, env=env, stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"serve exited: {Path(self.log.name).read_text()[-2000:]}")
            if request(self.port, "GET", "/healthz", timeout=2).status == 200:
                return
            time.sleep(0.2)
        raise RuntimeError("serve did not answer /healthz within 120 s")

    def stop(self) -> str:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        return Path(self.log.name).read_text()


class Probe(threading.Thread):
    """An unrelated reader during the burst: GET /api/v1/questions every 0.25 s."""

    def __init__(self, port: int):
        super().__init__(daemon=True)
        self.port, self.stop_event, self.samples = port, threading.Event(), []

    def run(self) -> None:
        while not self.stop_event.is_set():
            reply = request(self.port, "GET", "/api/v1/questions?limit=5", timeout=CLIENT_TIMEOUT)
            self.samples.append((reply.status, reply.seconds))
            self.stop_event.wait(0.25)


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    s = sorted(values)
    return s[min(len(s) - 1, int(round(q / 100 * (len(s) - 1))))]


# --- database set-up ----------------------------------------------------------------------------

def fresh_database(db: str, tag: str) -> tuple[str, callable]:
    if db == "sqlite":
        return f"sqlite:///{tempfile.mkdtemp(prefix='gs-bench-')}/bench.db", lambda: None
    schema = f"gs_cbench_{os.getpid()}_{tag}"
    admin = make_engine(PG, pool_size=1, max_overflow=0)
    with admin.begin() as conn:
        conn.execute(text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))
        conn.execute(text(f"CREATE SCHEMA {schema}"))

    def drop():
        with admin.begin() as conn:
            conn.execute(text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))
        admin.dispose()

    return f"{PG}{'&' if '?' in PG else '?'}options=-csearch_path%3D{schema}", drop


def seed(url: str, users: int):
    """An asker with a question and an answer by its author, and `users` moderators (every privilege:
    they may comment anywhere) with API tokens. Returns (question_id, answer_id, [(user_id, token)])."""
    from app.accounts import service as accounts_service
    from app.accounts.models import Role
    from app.accounts.schemas import UserCreate
    from app.answers import service as answers_service
    from app.questions import service as questions_service
    from app.questions.schemas import AnswerCreate, QuestionCreate

    import_all_models()
    migrate.upgrade(url)
    engine = make_engine(url)
    with Session(writer(engine), expire_on_commit=False) as s:
        def user(name, role=Role.customer):
            return accounts_service.register(
                s, UserCreate(username=name, email=f"{name}@example.com", password="bench-password-1"), role=role)

        asker, helper = user("asker"), user("helper")
        question = questions_service.ask(s, actor=asker, data=QuestionCreate(
            title="Wi-Fi drops every few minutes after the update",
            body="Since the latest firmware my laptop loses Wi-Fi every few minutes. What can I try?", tags=["wifi"]))
        answer = answers_service.post(s, actor=helper, question_id=question.id, data=AnswerCreate(
            body="Roll the Wi-Fi driver back from Device Manager and reboot; it fixed it for me."))
        people = [user(f"writer{i:04d}", Role.moderator) for i in range(users)]
        tokens = [(u.id, security.issue_token(SECRET, u.id, u.token_version,
                                              accounts_service.start_session(s, u, kind="token", max_age=86400)))
                  for u in people]
        s.commit()
        out = (question.id, answer.id, tokens)
    engine.dispose()
    return out


# --- scenarios ----------------------------------------------------------------------------------
# A job is (method, path, token, body, kind, user_id, voted post (post_type, id) or None): the first
# four are the request (tests.http_load.burst), the rest what audit() looks for in the database.

def voters_jobs(n, question_id, answer_id, people):
    return [("POST", f"/api/v1/answers/{answer_id}/vote", tok, {"value": 1}, "vote", uid, ("answer", answer_id))
            for uid, tok in people[:n]]


def mixed_jobs(n, question_id, answer_id, people):
    jobs = []
    for i, (uid, tok) in enumerate(people[:n]):
        match i % 4:
            case 0:
                target = ("answer", answer_id) if i % 8 == 0 else ("question", question_id)
                jobs.append(("POST", f"/api/v1/{target[0]}s/{target[1]}/vote", tok, {"value": 1}, "vote", uid, target))
            case 1:
                jobs.append(("POST", f"/api/v1/questions/{question_id}/answers", tok,
                             {"body": f"Answer number {i}: update the BIOS, then reinstall the driver."}, "answer", uid, None))
            case 2:
                jobs.append(("POST", f"/api/v1/questions/{question_id}/comments", tok,
                             {"body": f"Same here, comment {i}."}, "comment", uid, None))
            case 3:
                jobs.append(("POST", "/api/v1/questions", tok,
                             {"title": f"Bluetooth mouse lags after sleep, case {i}",
                              "body": "After waking from sleep my Bluetooth mouse lags for a minute.",
                              "tags": ["bluetooth"]}, "question", uid, None))
    return jobs


def audit(url: str, replies: list[Reply], answer_id: int, question_id: int) -> dict:
    """Compare what the server said with what the database holds."""
    from app.answers.models import Answer
    from app.comments.models import Comment
    from app.questions.models import Question
    from app.votes.models import Vote

    engine = make_engine(url)
    lost = phantom = 0
    with Session(engine) as s:
        for r in replies:
            ok = r.status in (200, 201)
            if r.job[4] == "vote":
                post_type, post_id = r.job[6]
                found = s.exec(select(Vote.id).where(Vote.voter_id == r.job[5], Vote.post_type == post_type,
                                                     Vote.post_id == post_id)).first() is not None
            else:
                model = {"answer": Answer, "comment": Comment, "question": Question}[r.job[4]]
                author = model.author_id
                where = [author == r.job[5]]
                if r.job[4] == "question":
                    where.append(model.id != question_id)
                found = s.exec(select(func.count()).select_from(model).where(*where)).one() > 0
            lost += ok and not found
            phantom += (not ok) and found
        answer_score = s.exec(select(Answer.score).where(Answer.id == answer_id)).one()
        answer_votes = s.exec(select(func.coalesce(func.sum(Vote.value), 0))
                              .where(Vote.post_type == "answer", Vote.post_id == answer_id)).one()
        question_score = s.exec(select(Question.score).where(Question.id == question_id)).one()
        question_votes = s.exec(select(func.coalesce(func.sum(Vote.value), 0))
                                .where(Vote.post_type == "question", Vote.post_id == question_id)).one()
    engine.dispose()
    return {"lost": lost, "phantom": phantom, "answer_score": answer_score, "answer_votes": int(answer_votes),
            "question_score": question_score, "question_votes": int(question_votes)}


def report(title: str, replies: list[Reply], probe: list, wall: float, check: dict, expect_votes: int | None) -> bool:
    statuses = Counter(r.status for r in replies)
    lat = [r.seconds for r in replies]
    ok_lat = [r.seconds for r in replies if r.status in (200, 201)]
    refusals = [r for r in replies if r.status not in (200, 201)]
    bad_refusals = [r for r in refusals if not (r.status == 503 and r.retry_after)]
    vote_200 = sum(1 for r in replies if r.job[4] == "vote" and r.status == 200 and r.job[6][0] == "answer")
    probe_lat = [s for _, s in probe]
    print(f"  {title}")
    print(f"    statuses        {dict(sorted(statuses.items(), key=str))}  (wall {wall:.1f} s)")
    kinds = Counter((r.job[4], r.status) for r in replies)
    if len({r.job[4] for r in replies}) > 1:
        print(f"    by kind         {dict(sorted(kinds.items(), key=str))}")
    print(f"    latency all     p50 {pct(lat, 50):.2f} s  p95 {pct(lat, 95):.2f} s  p99 {pct(lat, 99):.2f} s  "
          f"max {max(lat):.2f} s")
    if ok_lat and len(ok_lat) != len(lat):
        print(f"    latency 2xx     p50 {pct(ok_lat, 50):.2f} s  p99 {pct(ok_lat, 99):.2f} s")
    if refusals:
        ref = [r.seconds for r in refusals]
        print(f"    refusals        {len(refusals)}, {len(bad_refusals)} not a 503 with Retry-After; "
              f"p50 {pct(ref, 50):.2f} s max {max(ref):.2f} s; Retry-After {sorted({r.retry_after for r in refusals} - {None})}")
    print(f"    probe GET       {len(probe_lat)} requests, p50 {pct(probe_lat, 50):.2f} s, max "
          f"{max(probe_lat) if probe_lat else float('nan'):.2f} s, statuses {dict(Counter(s for s, _ in probe))}")
    print(f"    lost / phantom  {check['lost']} / {check['phantom']}")
    print(f"    scores          answer {check['answer_score']} (votes {check['answer_votes']}), "
          f"question {check['question_score']} (votes {check['question_votes']})")
    exact = check["answer_score"] == check["answer_votes"] and check["question_score"] == check["question_votes"]
    good = exact and not bad_refusals and check["lost"] == 0 and check["phantom"] == 0
    if expect_votes is not None:
        print(f"    final score     {check['answer_score']} for {vote_200} votes answered 200 of {expect_votes}")
        good = good and statuses.get(200, 0) == expect_votes and check["answer_score"] == expect_votes
    print(f"    verdict         {'PASS' if good else 'FAIL'}")
    return good


def run(db: str, workers: int, scenario: str, n: int, src: Path, env: dict) -> bool:
    url, drop = fresh_database(db, f"{scenario}{workers}")
    try:
        question_id, answer_id, people = seed(url, n)
        server = Server(url, src, workers, env)
        try:
            jobs = (voters_jobs if scenario == "voters" else mixed_jobs)(n, question_id, answer_id, people)
            probe = Probe(server.port)
            probe.start()
            try:
                replies, wall = burst(server.port, jobs, timeout=CLIENT_TIMEOUT)
            finally:
                probe.stop_event.set()
                probe.join()
            probe = probe.samples
        finally:
            log = server.stop()
        check = audit(url, replies, answer_id, question_id)
        title = (f"{db}, {workers} worker{'s' if workers > 1 else ''}: "
                 f"{'%d simultaneous voters on one answer' % n if scenario == 'voters' else '%d simultaneous mixed writers' % n}")
        good = report(title, replies, probe, wall, check, n if scenario == "voters" else None)
        errors = [line for line in log.splitlines() if "Error" in line or "ERROR" in line]
        if errors:
            print(f"    server log      {len(errors)} error lines, e.g. {sorted(set(e[:160] for e in errors))[:3]}")
        return good
    finally:
        drop()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--db", choices=["sqlite", "postgresql", "both"], default="both")
    ap.add_argument("--workers", type=int, nargs="+", default=[1])
    ap.add_argument("--voters", type=int, default=100)
    ap.add_argument("--writers", type=int, default=200)
    ap.add_argument("--scenario", choices=["voters", "mixed", "both"], default="both")
    ap.add_argument("--src", type=Path, default=ROOT, help="source tree to serve (default: this checkout)")
    ap.add_argument("--env", action="append", default=[], metavar="NAME=VALUE",
                    help="extra GROUNDSWELL_ settings for the server, e.g. GROUNDSWELL_MAX_INFLIGHT=16")
    a = ap.parse_args()
    env = dict(e.split("=", 1) for e in a.env)
    print(f"concurrency bench  src {a.src}  load {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f} "
          f"{os.getloadavg()[2]:.2f}  cpus {os.cpu_count()}")
    good = True
    for db in (["sqlite", "postgresql"] if a.db == "both" else [a.db]):
        for workers in a.workers:
            for scenario in (["voters", "mixed"] if a.scenario == "both" else [a.scenario]):
                good &= run(db, workers, scenario, a.voters if scenario == "voters" else a.writers, a.src, env)
    print(f"load after {os.getloadavg()[0]:.2f}")
    return 0 if good else 1


if __name__ == "__main__":
    sys.exit(main())
