"""Webhooks cannot be pointed at internal services (SSRF): loopback, private, link-local,
multicast, reserved and unspecified addresses are refused at registration (422 on `url`) and
again at delivery after DNS resolution (a name that resolves to 127.0.0.1 gets a logged, failed
attempt and the receiver gets nothing), unless GROUNDSWELL_WEBHOOKS_ALLOW_PRIVATE=1. Redirects
are not followed. Endpoint changes are in the moderation audit log. Both databases."""

from __future__ import annotations

import ipaddress

import pytest
from sqlmodel import Session, select

from app.moderation.models import AuditEntry
from app.webhooks import service as webhooks_service
from tests.api.conftest import API, assert_problem
from tests.api.test_webhooks import Receiver, people  # noqa: F401  (fixture)

INTERNAL = ["http://127.0.0.1:8010/healthz", "http://[::1]/", "http://0x7f000001/", "http://2130706433/",
            "http://127.1/", "http://10.0.0.5/x", "http://169.254.169.254/latest/meta-data/",
            "http://[::ffff:127.0.0.1]/", "http://[fe80::1]/", "http://0.0.0.0/", "http://224.0.0.1/",
            "http://192.168.1.10/", "http://localhost:8010/", "https://api.localhost/"]


@pytest.fixture
def receiver(monkeypatch):
    monkeypatch.delenv("GROUNDSWELL_WEBHOOKS_ALLOW_PRIVATE", raising=False)
    r = Receiver()
    yield r
    r.close()


@pytest.mark.parametrize("value", ["127.0.0.1", "::1", "10.0.0.5", "169.254.169.254", "::ffff:10.0.0.1",
                                   "0.0.0.0", "224.0.0.1", "240.0.0.1", "fc00::1", "172.16.0.1"])
def test_blocked_ip(value):
    assert webhooks_service.blocked_ip(ipaddress.ip_address(value))


def test_public_ip_is_not_blocked():
    assert not webhooks_service.blocked_ip(ipaddress.ip_address("93.184.216.34"))
    assert not webhooks_service.blocked_ip(ipaddress.ip_address("2606:2800:220:1:248:1893:25c8:1946"))


def test_internal_addresses_refused_at_registration(client, clean_engine, people, receiver, login, monkeypatch):
    h = login(people.admin)
    for url in INTERNAL + [receiver.url]:
        body = assert_problem(client.post(f"{API}/webhooks", headers=h, json={"url": url, "events": ["answer.created"]}), 422)
        assert body["errors"][0]["loc"][-1] == "url", (url, body)
    # Nor by changing a registered endpoint's address.
    monkeypatch.setenv("GROUNDSWELL_WEBHOOKS_ALLOW_PRIVATE", "1")
    ep = client.post(f"{API}/webhooks", headers=h, json={"url": receiver.url, "events": ["answer.created"]}).json()
    monkeypatch.delenv("GROUNDSWELL_WEBHOOKS_ALLOW_PRIVATE")
    r = client.patch(f"{API}/webhooks/{ep['id']}", headers=h, json={"url": "http://169.254.169.254/latest/meta-data/"})
    assert assert_problem(r, 422)["errors"][0]["loc"][-1] == "url"


def test_a_name_resolving_to_loopback_is_refused_at_delivery(client, clean_engine, people, receiver, login,
                                                             factory, session, monkeypatch):
    """Registered while allowed (or a name whose DNS answer later changes): the delivery resolves
    the name, finds 127.0.0.1 and records a failed attempt without connecting."""
    h = login(people.admin)
    monkeypatch.setenv("GROUNDSWELL_WEBHOOKS_ALLOW_PRIVATE", "1")
    port = receiver.server.server_address[1]
    ep = client.post(f"{API}/webhooks", headers=h,
                     json={"url": f"http://localhost:{port}/hooks", "events": ["question.created"]}).json()
    monkeypatch.delenv("GROUNDSWELL_WEBHOOKS_ALLOW_PRIVATE")
    factory.question(author=people.maya, title="Dock stops charging after firmware 1.2")
    session.commit()
    report = webhooks_service.deliver_due(clean_engine)
    assert report.failed == 1 and report.sent == 0
    assert receiver.received == []
    log = client.get(f"{API}/webhooks/{ep['id']}/attempts", headers=h).json()["items"]
    assert len(log) == 1 and log[0]["status_code"] is None and log[0]["response_excerpt"] == ""
    assert "private/internal address" in log[0]["error"] and "127.0.0.1" in log[0]["error"]
    # Allowed again (the operator's setting): the same delivery goes through on its retry.
    monkeypatch.setenv("GROUNDSWELL_WEBHOOKS_ALLOW_PRIVATE", "1")
    d = client.get(f"{API}/webhooks/{ep['id']}/deliveries", headers=h).json()["items"][0]
    assert client.post(f"{API}/webhooks/deliveries/{d['id']}/redeliver", headers=h).status_code == 200
    assert webhooks_service.deliver_due(clean_engine).sent == 1 and receiver.events() == ["question.created"]


def test_redirects_are_not_followed(client, clean_engine, people, receiver, login, factory, session, monkeypatch):
    monkeypatch.setenv("GROUNDSWELL_WEBHOOKS_ALLOW_PRIVATE", "1")
    target = Receiver()
    try:
        receiver.status = 302
        orig = receiver.server.RequestHandlerClass.do_POST

        def redirect(self):  # answer 302 with a Location pointing at the second receiver
            body = self.rfile.read(int(self.headers["Content-Length"]))
            receiver.received.append({"headers": {}, "body": body})
            self.send_response(302)
            self.send_header("Location", target.url)
            self.end_headers()

        receiver.server.RequestHandlerClass.do_POST = redirect
        try:
            ep = client.post(f"{API}/webhooks", headers=login(people.admin),
                             json={"url": receiver.url, "events": ["question.created"]}).json()
            factory.question(author=people.maya, title="Fan runs at full speed when idle")
            session.commit()
            assert webhooks_service.deliver_due(clean_engine).failed == 1
        finally:
            receiver.server.RequestHandlerClass.do_POST = orig
        assert len(receiver.received) == 1 and target.received == []
        log = client.get(f"{API}/webhooks/{ep['id']}/attempts", headers=login(people.admin)).json()["items"]
        assert log[0]["status_code"] == 302
    finally:
        target.close()


def test_endpoint_actions_are_in_the_audit_log(client, clean_engine, people, receiver, login, factory, session,
                                               monkeypatch):
    monkeypatch.setenv("GROUNDSWELL_WEBHOOKS_ALLOW_PRIVATE", "1")
    h = login(people.admin)
    ep = client.post(f"{API}/webhooks", headers=h, json={"url": receiver.url, "events": ["question.created"]}).json()
    assert client.patch(f"{API}/webhooks/{ep['id']}", headers=h, json={"events": ["answer.created", "question.created"]}).status_code == 200
    factory.question(author=people.maya, title="Screen flickers at 60 Hz")
    session.commit()
    assert webhooks_service.deliver_due(clean_engine).sent == 1
    d = client.get(f"{API}/webhooks/{ep['id']}/deliveries", headers=h).json()["items"][0]
    assert client.post(f"{API}/webhooks/deliveries/{d['id']}/redeliver", headers=h).status_code == 200
    assert client.delete(f"{API}/webhooks/{ep['id']}", headers=h).status_code == 204
    with Session(clean_engine) as s:
        rows = s.exec(select(AuditEntry).where(AuditEntry.action.startswith("webhook.")).order_by(AuditEntry.id)).all()
    assert [r.action for r in rows] == ["webhook.create", "webhook.update", "webhook.redeliver", "webhook.delete"]
    assert {r.actor_id for r in rows} == {people.admin.id} and {r.target_id for r in rows} == {str(ep["id"])}
