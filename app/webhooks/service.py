"""Signed webhooks (issue 16 item 5), following the Standard Webhooks specification
(https://www.standardwebhooks.com/, signing done by its own `standardwebhooks` library).

* Admins register endpoints (URL, events, a generated `whsec_…` secret) on the web and in the API.
* `emit` writes the event and one delivery per subscribed active endpoint in the caller's
  transaction (an outbox): the event is sent if and only if the change committed.
* The worker (`deliver_due`, job "webhooks" every 2 s) claims due deliveries with a lease
  (LEASE seconds), POSTs the JSON body with `webhook-id`, `webhook-timestamp` and
  `webhook-signature` (`v1,<base64 HMAC-SHA256 of "id.timestamp.body">`), and records every
  attempt (status, latency, response excerpt). A worker that dies mid-send loses nothing: the
  lease runs out and the next worker sends again (at least once; receivers dedupe on webhook-id).
* A failed attempt (no 2xx in TIMEOUT seconds) is retried after min(10 s × 2^(n−1), 6 h) —
  10 s, 20 s, 40 s, … — up to MAX_ATTEMPTS attempts per delivery (about 20 hours in all).
* DISABLE_AFTER consecutive failed attempts on an endpoint (no success in between) disable it:
  its waiting deliveries are paused and every admin gets a notification. Enabling it again
  resumes them. Admins can redeliver any delivery by hand.
"""

from __future__ import annotations

import base64
import json
import logging
import secrets
import time
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import update
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from app.accounts.models import User
from app.core.db import utcnow, writer
from app.core.errors import Forbidden, NotFound, field_error
from app.webhooks.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint, WebhookEvent

log = logging.getLogger("groundswell.webhooks")

EVENTS: dict[str, str] = {
    "question.created": "a public question was asked",
    "answer.created": "an answer was posted",
    "answer.accepted": "the asker (or staff) accepted an answer",
    "question.closed": "a question was closed as a duplicate",
    "escalation.opened": "a question reached the staff queue",
    "escalation.claimed": "an agent claimed an escalation",
    "escalation.handed_off": "an escalation was handed off (e.g. to an external ticket system)",
    "escalation.resolved": "an escalation was resolved with a public fix",
}
MAX_ATTEMPTS = 12
DISABLE_AFTER = 15
BACKOFF_BASE = 10  # seconds
BACKOFF_MAX = 6 * 3600
LEASE = 120  # seconds a claimed delivery is held before another worker may send it
TIMEOUT = 10.0  # seconds per attempt
EXCERPT = 500  # characters of the response body kept
BATCH = 50


def backoff(attempts: int) -> timedelta:
    """Delay before the next attempt after `attempts` failed ones: min(10 s × 2^(n−1), 6 h)."""
    return timedelta(seconds=min(BACKOFF_BASE * 2 ** max(0, attempts - 1), BACKOFF_MAX))


def _admin(actor: User | None) -> None:
    if actor is not None:
        from app.accounts import permissions

        permissions.require_user(actor)  # a suspended admin manages no webhooks
    if actor is not None and actor.role != "admin":
        raise Forbidden("Only admins manage webhooks.")


def _clean_url(url: str) -> str:
    url = (url or "").strip()
    if not url.startswith(("https://", "http://")) or len(url) > 2000 or " " in url:
        raise field_error("url", "Give the endpoint's full http(s):// address.")
    return url


def _clean_events(events: list[str] | str) -> str:
    if isinstance(events, str):
        events = events.replace(",", " ").split()
    names = sorted({e.strip() for e in events if e.strip()})
    if not names:
        raise field_error("events", f"Choose at least one event: {', '.join(EVENTS)}.")
    unknown = [e for e in names if e not in EVENTS]
    if unknown:
        raise field_error("events", f"Unknown event {unknown[0]!r}; known: {', '.join(EVENTS)}.")
    return " ".join(names)


def new_secret() -> str:
    """A Standard Webhooks secret: "whsec_" + base64 of 24 random bytes."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode()


def create_endpoint(session: Session, *, actor: User | None, url: str, events: list[str] | str,
                    description: str = "") -> WebhookEndpoint:
    """Register an endpoint (admins); its secret is readable by admins to configure the receiver."""
    _admin(actor)
    ep = WebhookEndpoint(url=_clean_url(url), events=_clean_events(events), description=(description or "").strip()[:200],
                         secret=new_secret(), created_by_id=actor.id if actor else None)
    session.add(ep)
    session.flush()
    return ep


def list_endpoints(session: Session, *, actor: User | None) -> list[WebhookEndpoint]:
    _admin(actor)
    return list(session.exec(select(WebhookEndpoint).order_by(WebhookEndpoint.id)))


def get_endpoint(session: Session, *, actor: User | None, endpoint_id: int) -> WebhookEndpoint:
    _admin(actor)
    ep = session.get(WebhookEndpoint, endpoint_id)
    if ep is None:
        raise NotFound("No such webhook endpoint.")
    return ep


def update_endpoint(session: Session, *, actor: User | None, endpoint_id: int, url: str | None = None,
                    events: list[str] | str | None = None, description: str | None = None,
                    active: bool | None = None) -> WebhookEndpoint:
    """Change an endpoint; `active=True` re-enables a disabled one and resumes its paused deliveries."""
    ep = get_endpoint(session, actor=actor, endpoint_id=endpoint_id)
    if url is not None:
        ep.url = _clean_url(url)
    if events is not None:
        ep.events = _clean_events(events)
    if description is not None:
        ep.description = description.strip()[:200]
    if active is True and not ep.is_active:
        ep.is_active, ep.disabled_reason, ep.consecutive_failures = True, None, 0
        session.exec(update(WebhookDelivery).where(WebhookDelivery.endpoint_id == ep.id,
                                                   WebhookDelivery.status == "paused")
                     .values(status="pending", next_attempt_at=utcnow()))
    elif active is False and ep.is_active:
        ep.is_active, ep.disabled_reason = False, "disabled by an admin"
        _pause(session, ep.id)
    session.add(ep)
    session.flush()
    return ep


def delete_endpoint(session: Session, *, actor: User | None, endpoint_id: int) -> None:
    ep = get_endpoint(session, actor=actor, endpoint_id=endpoint_id)
    for model in (WebhookAttempt, WebhookDelivery):
        for row in session.exec(select(model).where(model.endpoint_id == ep.id)):
            session.delete(row)
    session.flush()
    session.delete(ep)
    session.flush()


def deliveries(session: Session, *, actor: User | None, endpoint_id: int, limit: int = 50) -> list[tuple]:
    """The endpoint's delivery log, newest first: (delivery, event, last attempt | None)."""
    get_endpoint(session, actor=actor, endpoint_id=endpoint_id)
    rows = session.exec(select(WebhookDelivery, WebhookEvent).join(WebhookEvent, WebhookEvent.id == WebhookDelivery.event_id)
                        .where(WebhookDelivery.endpoint_id == endpoint_id)
                        .order_by(WebhookDelivery.id.desc()).limit(limit)).all()
    out = []
    for d, e in rows:
        last = session.exec(select(WebhookAttempt).where(WebhookAttempt.delivery_id == d.id)
                            .order_by(WebhookAttempt.id.desc())).first()
        out.append((d, e, last))
    return out


def attempts(session: Session, *, actor: User | None, endpoint_id: int, limit: int = 100) -> list[WebhookAttempt]:
    """Every attempt on the endpoint, newest first (status, latency, response excerpt)."""
    get_endpoint(session, actor=actor, endpoint_id=endpoint_id)
    return list(session.exec(select(WebhookAttempt).where(WebhookAttempt.endpoint_id == endpoint_id)
                             .order_by(WebhookAttempt.id.desc()).limit(limit)))


def redeliver(session: Session, *, actor: User | None, delivery_id: int) -> WebhookDelivery:
    """Send a delivery again (same webhook-id, fresh attempts), now."""
    _admin(actor)
    d = session.get(WebhookDelivery, delivery_id)
    if d is None:
        raise NotFound("No such webhook delivery.")
    ep = session.get(WebhookEndpoint, d.endpoint_id)
    if not ep.is_active:
        raise field_error("endpoint", "The endpoint is disabled; enable it first.")
    d.status, d.attempts, d.next_attempt_at, d.delivered_at = "pending", 0, utcnow(), None
    session.add(d)
    session.flush()
    return d


# --- events -----------------------------------------------------------------------------------

def emit(session: Session, event_type: str, data: dict[str, Any]) -> WebhookEvent | None:
    """Record `event_type` with `data` for every active endpoint subscribed to it, in the caller's
    transaction. The body sent is {"type", "timestamp", "data"} (Standard Webhooks' payload shape).
    Nothing is written when no endpoint listens."""
    assert event_type in EVENTS, event_type
    endpoints = [ep for ep in session.exec(select(WebhookEndpoint).where(WebhookEndpoint.is_active.is_(True)))
                 if event_type in ep.event_list]
    if not endpoints:
        return None
    now = utcnow()
    body = json.dumps({"type": event_type, "timestamp": now.isoformat().replace("+00:00", "Z"), "data": data},
                      separators=(",", ":"), default=str)
    event = WebhookEvent(msg_id="msg_" + uuid.uuid4().hex, type=event_type, payload=body, created_at=now)
    session.add(event)
    session.flush()
    for ep in endpoints:
        session.add(WebhookDelivery(endpoint_id=ep.id, event_id=event.id, next_attempt_at=now, created_at=now))
    session.flush()
    return event


def sign(secret: str, msg_id: str, timestamp: datetime, body: str) -> str:
    """The webhook-signature value ("v1,<base64>") for a body, with the spec's library."""
    from standardwebhooks import Webhook

    return Webhook(secret).sign(msg_id, timestamp, body)


# --- delivery (the worker) --------------------------------------------------------------------

@dataclass
class DeliveryReport:
    sent: int = 0
    failed: int = 0
    disabled: int = 0

    def __str__(self) -> str:
        return f"{self.sent} delivered, {self.failed} failed" + (f", {self.disabled} endpoints disabled" if self.disabled else "")


def _claim(engine: Engine, now: datetime) -> list[int]:
    """Take up to BATCH due deliveries for LEASE seconds (a conditional update per row: two
    workers never both take one)."""
    with Session(writer(engine)) as s, s.begin():
        ids = list(s.exec(select(WebhookDelivery.id).where(WebhookDelivery.status == "pending",
                                                           WebhookDelivery.next_attempt_at <= now)
                          .order_by(WebhookDelivery.next_attempt_at, WebhookDelivery.id).limit(BATCH)))
        taken = []
        for did in ids:
            res = s.exec(update(WebhookDelivery)
                         .where(WebhookDelivery.id == did, WebhookDelivery.status == "pending",
                                WebhookDelivery.next_attempt_at <= now)
                         .values(next_attempt_at=now + timedelta(seconds=LEASE)))
            if res.rowcount == 1:
                taken.append(did)
        return taken


def _post(url: str, headers: dict[str, str], body: bytes) -> tuple[int | None, str, str | None, int]:
    """POST once: (status or None, response excerpt, error or None, latency in ms)."""
    started = time.perf_counter()
    req = urllib.request.Request(url, data=body, method="POST",
                                 headers={**headers, "Content-Type": "application/json",
                                          "User-Agent": "Groundswell-Webhooks/1"})
    try:
        with urllib.request.urlopen(req, timeout=TIMEOUT) as r:
            text = r.read(EXCERPT * 4).decode("utf-8", "replace")
            return r.status, text[:EXCERPT], None, int((time.perf_counter() - started) * 1000)
    except urllib.error.HTTPError as err:
        text = err.read(EXCERPT * 4).decode("utf-8", "replace")
        return err.code, text[:EXCERPT], None, int((time.perf_counter() - started) * 1000)
    except Exception as exc:  # noqa: BLE001 - refused, timed out, bad TLS: a failed attempt
        return None, "", str(exc)[:300], int((time.perf_counter() - started) * 1000)


def deliver_due(engine: Engine, *, now: datetime | None = None) -> DeliveryReport:
    """Send every due delivery once; record attempts, schedule retries, disable failing endpoints."""
    now = now or utcnow()
    report = DeliveryReport()
    for did in _claim(engine, now):
        with Session(writer(engine), expire_on_commit=False) as s:
            d = s.get(WebhookDelivery, did)
            ep = s.get(WebhookEndpoint, d.endpoint_id)
            event = s.get(WebhookEvent, d.event_id)
        sent_at = utcnow()
        headers = {"webhook-id": event.msg_id, "webhook-timestamp": str(int(sent_at.timestamp())),
                   "webhook-signature": sign(ep.secret, event.msg_id, sent_at, event.payload)}
        status, excerpt, error, latency = _post(ep.url, headers, event.payload.encode())
        ok = status is not None and 200 <= status < 300
        with Session(writer(engine)) as s, s.begin():
            d = s.get(WebhookDelivery, did)
            ep = s.get(WebhookEndpoint, d.endpoint_id)
            s.add(WebhookAttempt(delivery_id=d.id, endpoint_id=ep.id, attempted_at=sent_at, status_code=status,
                                 latency_ms=latency, response_excerpt=excerpt, error=error))
            d.attempts += 1
            if ok:
                d.status, d.delivered_at, d.next_attempt_at = "succeeded", sent_at, None
                ep.consecutive_failures = 0
                report.sent += 1
            else:
                report.failed += 1
                ep.consecutive_failures += 1
                if d.attempts >= MAX_ATTEMPTS:
                    d.status, d.next_attempt_at = "failed", None
                else:
                    d.next_attempt_at = now + backoff(d.attempts)
                if ep.is_active and ep.consecutive_failures >= DISABLE_AFTER:
                    _disable(s, ep, f"{ep.consecutive_failures} failed attempts in a row "
                                    f"(last: {status or error})")
                    report.disabled += 1
                    if d.status == "pending":
                        d.status = "paused"
            s.add(d)
            s.add(ep)
    return report


def _pause(session: Session, endpoint_id: int) -> None:
    session.exec(update(WebhookDelivery).where(WebhookDelivery.endpoint_id == endpoint_id,
                                               WebhookDelivery.status == "pending").values(status="paused"))


def _disable(session: Session, ep: WebhookEndpoint, reason: str) -> None:
    from app.notifications import service as notifications

    ep.is_active, ep.disabled_reason = False, reason[:300]
    session.add(ep)
    session.flush()
    _pause(session, ep.id)
    admins = session.exec(select(User.id).where(User.role == "admin", User.is_active.is_(True))).all()
    notifications.notify(session, admins, kind="webhook_disabled",
                         text=f"Webhook endpoint {ep.url} was disabled: {reason}", url=f"/staff/webhooks/{ep.id}")
    log.warning("webhook endpoint %s disabled: %s", ep.id, reason)
