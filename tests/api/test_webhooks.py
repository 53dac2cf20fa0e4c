"""Signed webhooks (issue 16 item 5) delivered to a real HTTP receiver started by the test. The
receiver checks every signature with its own HMAC (Standard Webhooks: base64 HMAC-SHA256 over
"id.timestamp.body" with the secret's base64-decoded bytes), not with our code or the library.
Retries while it answers 500, disabling after a run of failures (admins notified), re-enabling,
manual redelivery, the worker's lease after a crash, the `worker` process, and the Khoros loop:
hand-off out by webhook, the fix posted back with an API key. Both databases."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import subprocess
import sys
import threading
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from sqlmodel import Session, select

from app.apikeys import service as apikeys_service
from app.core.db import utcnow
from app.notifications.models import Notification
from app.webhooks import service as webhooks_service
from app.webhooks.models import WebhookDelivery, WebhookEndpoint
from tests.api.conftest import API, assert_problem


def verify(secret: str, headers, body: bytes) -> bool:
    """An independent Standard Webhooks check."""
    key = base64.b64decode(secret.removeprefix("whsec_"))
    signed = f"{headers['webhook-id']}.{headers['webhook-timestamp']}.".encode() + body
    expected = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
    return any(part.startswith("v1,") and hmac.compare_digest(part[3:], expected)
               for part in headers["webhook-signature"].split())


class Receiver:
    """A real HTTP server on 127.0.0.1 that records requests and answers `status`."""

    def __init__(self):
        self.status = 200
        self.received: list[dict] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.received.append({"headers": {k.lower(): v for k, v in self.headers.items()}, "body": body})
                self.send_response(receiver.status)
                self.send_header("Content-Type", "text/plain")
                self.end_headers()
                self.wfile.write(b"ok" if receiver.status == 200 else b"receiver broken")

            def log_message(self, *a):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()

    def events(self) -> list[str]:
        return [json.loads(r["body"])["type"] for r in self.received]


@pytest.fixture
def receiver(monkeypatch):
    """The receiver is on 127.0.0.1, which deliveries refuse unless the operator allows private
    addresses (tests/api/test_webhooks_ssrf.py checks the refusal)."""
    monkeypatch.setenv("GROUNDSWELL_WEBHOOKS_ALLOW_PRIVATE", "1")
    r = Receiver()
    yield r
    r.close()


@pytest.fixture
def people(factory, session):
    class P:
        admin = factory.user("ada_admin", role="admin")
        lena = factory.user("lena_staff", role="staff")
        maya = factory.user("maya")
        omar = factory.user("omar")
    session.commit()
    return P


def _register(client, login, people, receiver, events=None) -> dict:
    r = client.post(f"{API}/webhooks", headers=login(people.admin),
                    json={"url": receiver.url, "events": events or list(webhooks_service.EVENTS),
                          "description": "Zendesk bridge"})
    assert r.status_code == 201, r.text
    return r.json()


def test_every_event_is_signed_and_delivered(client, clean_engine, people, receiver, login, factory, session):
    ep = _register(client, login, people, receiver)
    maya, omar, lena = login(people.maya), login(people.omar), login(people.lena)
    q = client.post(f"{API}/questions", headers=maya, json={"title": "Dock stops charging after firmware 1.2",
                                                             "body": "Since firmware 1.2 the USB-C dock no longer charges the laptop at all.", "tags": []}).json()
    a = client.post(f"{API}/questions/{q['id']}/answers", headers=omar, json={"body": "Re-seat the USB-C cable at both ends and update the dock firmware."}).json()
    assert client.post(f"{API}/questions/{q['id']}/accept", headers=maya, json={"answer_id": a["id"]}).status_code == 200
    dup = client.post(f"{API}/questions", headers=omar, json={"title": "My dock will not charge my laptop",
                                                               "body": "The dock will not charge my laptop since the latest firmware update.", "tags": []}).json()
    r = client.post(f"{API}/questions/{dup['id']}/close-as-duplicate", headers=lena, json={"original_id": q["id"]})
    assert r.status_code == 200, r.text
    esc = client.post(f"{API}/questions/{q['id']}/escalate", headers=lena, json={"reason": "VIP"}).json()
    assert client.post(f"{API}/escalations/{esc['id']}/claim", headers=lena).status_code == 200
    assert client.post(f"{API}/escalations/{esc['id']}/hand-off", headers=lena, json={"ticket": "ZD-1"}).status_code == 200
    assert receiver.received == []  # nothing is sent by the request itself: the worker does it
    report = webhooks_service.deliver_due(clean_engine)
    assert report.sent == 8 and report.failed == 0
    assert receiver.events() == ["question.created", "answer.created", "answer.accepted", "question.created",
                                 "question.closed", "escalation.opened", "escalation.claimed", "escalation.handed_off"]
    for got in receiver.received:
        assert verify(ep["secret"], got["headers"], got["body"]), got
        assert abs(int(got["headers"]["webhook-timestamp"]) - utcnow().timestamp()) < 300
        assert got["headers"]["content-type"] == "application/json"
    ids = [g["headers"]["webhook-id"] for g in receiver.received]
    assert len(set(ids)) == 8 and all(i.startswith("msg_") for i in ids)
    first = json.loads(receiver.received[0]["body"])
    assert first["data"]["question"]["title"] == "Dock stops charging after firmware 1.2"
    assert "email" not in receiver.received[0]["body"].decode()
    # A tampered body fails the independent check (the check can fail).
    assert not verify(ep["secret"], receiver.received[0]["headers"], receiver.received[0]["body"] + b" ")
    # Nothing left to send.
    assert webhooks_service.deliver_due(clean_engine).sent == 0


def test_only_subscribed_events_and_only_admins(client, clean_engine, people, receiver, login):
    _register(client, login, people, receiver, events=["answer.created"])
    assert_problem(client.post(f"{API}/webhooks", headers=login(people.lena),
                               json={"url": receiver.url, "events": ["answer.created"]}), 403)
    body = assert_problem(client.post(f"{API}/webhooks", headers=login(people.admin),
                                      json={"url": "ftp://x", "events": ["answer.created"]}), 422)
    assert body["errors"][0]["loc"][-1] == "url"
    assert_problem(client.post(f"{API}/webhooks", headers=login(people.admin),
                               json={"url": receiver.url, "events": ["question.deleted"]}), 422)
    q = client.post(f"{API}/questions", headers=login(people.maya),
                    json={"title": "Trackpad stops after sleep", "body": "After waking from sleep the trackpad needs a reboot to work again.", "tags": []}).json()
    client.post(f"{API}/questions/{q['id']}/answers", headers=login(people.omar), json={"body": "Update the trackpad driver from the support site and reboot."})
    webhooks_service.deliver_due(clean_engine)
    assert receiver.events() == ["answer.created"]


def test_retries_with_backoff_while_the_receiver_fails(client, clean_engine, people, receiver, login, factory,
                                                       session):
    ep = _register(client, login, people, receiver, events=["question.created"])
    factory.question(author=people.maya, title="Fan runs at full speed when idle")
    session.commit()
    receiver.status = 500
    now = utcnow() + timedelta(seconds=1)
    assert webhooks_service.deliver_due(clean_engine, now=now).failed == 1
    assert webhooks_service.deliver_due(clean_engine, now=now + timedelta(seconds=9)).failed == 0  # not due yet
    assert webhooks_service.deliver_due(clean_engine, now=now + timedelta(seconds=11)).failed == 1  # after 10 s
    assert webhooks_service.deliver_due(clean_engine, now=now + timedelta(seconds=25)).failed == 0  # next in 20 s
    receiver.status = 200
    assert webhooks_service.deliver_due(clean_engine, now=now + timedelta(seconds=32)).sent == 1
    assert len({g["headers"]["webhook-id"] for g in receiver.received}) == 1 and len(receiver.received) == 3
    h = login(people.admin)
    log = client.get(f"{API}/webhooks/{ep['id']}/attempts", headers=h).json()["items"]
    assert [a["status_code"] for a in log] == [200, 500, 500]
    assert log[1]["response_excerpt"] == "receiver broken" and all(a["latency_ms"] >= 0 for a in log)
    deliveries = client.get(f"{API}/webhooks/{ep['id']}/deliveries", headers=h).json()["items"]
    assert deliveries[0]["status"] == "succeeded" and deliveries[0]["attempts"] == 3
    # Manual redelivery sends it again, same webhook-id.
    r = client.post(f"{API}/webhooks/deliveries/{deliveries[0]['id']}/redeliver", headers=h)
    assert r.status_code == 200 and r.json()["status"] == "pending"
    assert webhooks_service.deliver_due(clean_engine).sent == 1
    assert receiver.received[-1]["headers"]["webhook-id"] == receiver.received[0]["headers"]["webhook-id"]


def test_disabled_after_a_run_of_failures_admins_notified_and_resumed(client, clean_engine, people, receiver,
                                                                      login, factory, session):
    ep = _register(client, login, people, receiver, events=["question.created"])
    for i in range(3):
        factory.question(author=people.maya, title=f"Screen flickers at 60 Hz, case {i}")
    session.commit()
    receiver.status = 500
    now = utcnow() + timedelta(seconds=1)
    failed = 0
    for step in range(20):
        failed += webhooks_service.deliver_due(clean_engine, now=now + timedelta(hours=7 * step)).failed
        with Session(clean_engine) as s:
            if not s.get(WebhookEndpoint, ep["id"]).is_active:
                break
    assert failed == webhooks_service.DISABLE_AFTER
    with Session(clean_engine) as s:
        row = s.get(WebhookEndpoint, ep["id"])
        assert not row.is_active and "failed attempts in a row" in row.disabled_reason
        statuses = {d.status for d in s.exec(select(WebhookDelivery)).all()}
        assert statuses <= {"paused", "failed"} and "paused" in statuses
        notes = s.exec(select(Notification).where(Notification.kind == "webhook_disabled")).all()
        assert [n.user_id for n in notes] == [people.admin.id]
    assert webhooks_service.deliver_due(clean_engine, now=now + timedelta(days=30)).failed == 0  # nothing goes out
    # The admin fixes the receiver and enables the endpoint: paused deliveries resume.
    receiver.status = 200
    h = login(people.admin)
    r = client.patch(f"{API}/webhooks/{ep['id']}", headers=h, json={"active": True})
    assert r.status_code == 200 and r.json()["active"] and r.json()["consecutive_failures"] == 0
    assert webhooks_service.deliver_due(clean_engine, now=utcnow() + timedelta(seconds=1)).sent >= 1


def test_nothing_lost_when_a_worker_dies_mid_delivery(clean_engine, people, receiver, factory, session, client, login):
    _register(client, login, people, receiver, events=["question.created"])
    for i in range(3):
        factory.question(author=people.maya, title=f"Keyboard backlight stays off, case {i}")
    session.commit()
    now = utcnow() + timedelta(seconds=1)
    taken = webhooks_service._claim(clean_engine, now)  # a worker takes them... and dies before sending
    assert len(taken) == 3
    assert webhooks_service.deliver_due(clean_engine, now=now).sent == 0  # leased: no double send
    later = now + timedelta(seconds=webhooks_service.LEASE + 1)
    assert webhooks_service.deliver_due(clean_engine, now=later).sent == 3  # the next worker sends them
    assert len(receiver.received) == 3


def test_the_worker_process_delivers(db_url, clean_engine, people, receiver, factory, session, client, login, tmp_path):
    _register(client, login, people, receiver, events=["question.created"])
    factory.question(author=people.maya, title="Battery at 80% never charges further")
    session.commit()
    env = {k: v for k, v in os.environ.items() if not k.startswith("GROUNDSWELL_")}
    env.update(GROUNDSWELL_DATABASE_URL=db_url, GROUNDSWELL_SECRET_KEY="s" * 40, GROUNDSWELL_SEARCH_LEARNING="off",
               GROUNDSWELL_SEARCH_SEMANTIC="off", GROUNDSWELL_WEBHOOKS_ALLOW_PRIVATE="1")
    r = subprocess.run([sys.executable, "-m", "app.cli", "worker", "--once"], env=env, capture_output=True,
                       text=True, timeout=300, cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert receiver.events() == ["question.created"]
    assert "webhooks: 1 delivered" in r.stdout + r.stderr


def test_hand_off_out_and_fix_back_in_with_an_api_key(client, clean_engine, people, receiver, login, session, factory):
    """The Khoros→Salesforce loop: the hand-off reaches the ticket system by webhook; the ticket
    system posts the fix back with a key scoped escalations:write."""
    _register(client, login, people, receiver, events=["escalation.handed_off", "escalation.resolved"])
    q = factory.question(author=people.maya, title="Docking station firmware bricked the dock")
    session.commit()
    lena = login(people.lena)
    esc = client.post(f"{API}/questions/{q.id}/escalate", headers=lena, json={"reason": "hardware"}).json()
    client.post(f"{API}/escalations/{esc['id']}/hand-off", headers=lena, json={"ticket": "SF-00042"})
    webhooks_service.deliver_due(clean_engine)
    out = json.loads(receiver.received[-1]["body"])
    assert out["type"] == "escalation.handed_off" and out["data"]["external_ticket"] == "SF-00042"
    assert out["data"]["question"]["title"] == "Docking station firmware bricked the dock"
    _, plain = apikeys_service.create(session, actor=None, owner=people.lena, name="salesforce",
                                      scopes=["escalations:write"])
    session.commit()
    r = client.post(f"{API}/escalations/{esc['id']}/resolve", headers={"X-API-Key": plain},
                    json={"resolution": "RMA issued", "answer_body": "Flash firmware 1.2.4 from a USB stick."})
    assert r.status_code == 200, r.text and r.json()["status"] == "resolved"
    webhooks_service.deliver_due(clean_engine)
    back = json.loads(receiver.received[-1]["body"])
    assert back["type"] == "escalation.resolved" and back["data"]["public_answer_id"]


def test_the_demo_web_process_delivers_without_a_worker(db_url, clean_engine, people, receiver, factory, session,
                                                        tmp_path):
    """`groundswell demo`: no SMTP URL, in-process work on, no worker. The web process's background
    thread (app/mail/lifecycle.py) sends due webhook deliveries as it writes the mail folder."""
    from fastapi.testclient import TestClient

    from app.main import create_app
    from tests.conftest import make_settings

    with Session(clean_engine) as s:
        webhooks_service.create_endpoint(s, actor=None, url=receiver.url, events=["question.created"])
        s.commit()
    factory.question(author=people.maya, title="Battery at 80% never charges further")
    session.commit()
    settings = make_settings(db_url, email_dir=str(tmp_path / "mail"), search_apply_in_process=True)
    with TestClient(create_app(settings, clean_engine)):
        done = threading.Event()
        for _ in range(200):  # the thread polls every 2 s; wait on the receiver, not on a clock
            if receiver.received:
                done.set()
                break
            done.wait(0.1)
    assert receiver.events() == ["question.created"]
    with Session(clean_engine) as s:
        assert [d.status for d in s.exec(select(WebhookDelivery)).all()] == ["succeeded"]
