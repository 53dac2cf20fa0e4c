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
import http.client
import ipaddress
import json
import logging
import os
import re
import secrets
import socket
import ssl
import time
import urllib.parse
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
from app.moderation import audit
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


# --- where deliveries may go (SSRF) ------------------------------------------------------------

class BlockedAddress(Exception):
    """The endpoint's host is, or resolves to, an address deliveries may not reach."""


def allow_private() -> bool:
    """GROUNDSWELL_WEBHOOKS_ALLOW_PRIVATE=1 lets endpoints be on loopback/private networks (tests,
    a receiver on the same host or LAN). Read at each call, so an operator's change applies to
    the next delivery; without the variable, the setting as loaded (e.g. from .env)."""
    value = os.environ.get("GROUNDSWELL_WEBHOOKS_ALLOW_PRIVATE", "").strip().lower()
    if value:
        return value in {"1", "true", "yes", "on"}
    try:
        from app.core.config import get_settings

        return bool(get_settings().webhooks_allow_private)
    except Exception:  # noqa: BLE001 - settings not loadable here: the safe default
        return False


def blocked_ip(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    """True for loopback, private, link-local, multicast, reserved and unspecified addresses
    (Python's ipaddress flags, which follow the IANA special-purpose registries), IPv4-mapped
    IPv6 forms included (::ffff:127.0.0.1 counts as 127.0.0.1)."""
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return (ip.is_private or ip.is_loopback or ip.is_link_local or ip.is_reserved
            or ip.is_multicast or ip.is_unspecified)


_NUMERIC_V4 = re.compile(r"^(0x[0-9a-f]+|[0-9]+)(\.(0x[0-9a-f]+|[0-9]+)){0,3}$", re.I)


def _literal_ip(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """The address a literal host stands for, including the forms inet_aton accepts and
    resolvers honour (0x7f000001, 2130706433, 127.1); None for a name."""
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        pass
    if _NUMERIC_V4.match(host):
        try:
            return ipaddress.IPv4Address(socket.inet_aton(host))
        except OSError:
            return None
    return None


def resolve(host: str, port: int) -> list[str]:
    """The host's addresses (DNS or literal), each checked; raises BlockedAddress when any is
    blocked (unless allow_private()) and OSError when the name does not resolve."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    addresses = []
    for info in infos:
        ip = ipaddress.ip_address(info[4][0].split("%")[0])
        if not allow_private() and blocked_ip(ip):
            raise BlockedAddress(f"{host} resolves to {ip}, a private/internal address; deliveries there are refused "
                                 "(GROUNDSWELL_WEBHOOKS_ALLOW_PRIVATE=1 allows them)")
        if str(ip) not in addresses:
            addresses.append(str(ip))
    return addresses


def _clean_url(url: str) -> str:
    url = (url or "").strip()
    if not url.startswith(("https://", "http://")) or len(url) > 2000 or " " in url:
        raise field_error("url", "Give the endpoint's full http(s):// address.")
    try:
        parts = urllib.parse.urlsplit(url)
        host, port = parts.hostname, parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        raise field_error("url", "Give the endpoint's full http(s):// address.") from None
    if not host:
        raise field_error("url", "Give the endpoint's full http(s):// address.")
    if not allow_private():
        literal = _literal_ip(host)
        if (literal is not None and blocked_ip(literal)) or host.lower().rstrip(".") == "localhost" \
                or host.lower().rstrip(".").endswith(".localhost"):
            raise field_error("url", "The address is loopback, private, link-local or otherwise internal; "
                                     "webhooks go to public addresses only.")
        if literal is None:
            try:
                resolve(host, port)
            except BlockedAddress:
                raise field_error("url", "The name resolves to a loopback, private or otherwise internal address; "
                                         "webhooks go to public addresses only.") from None
            except OSError:
                pass  # does not resolve now: checked again at each delivery
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
                    description: str = "", internal: bool = False) -> WebhookEndpoint:
    """Register an endpoint (admins); its secret is readable by admins to configure the receiver.
    `internal`: it also receives events about internal (staff-only) questions (docs/internal.md)."""
    _admin(actor)
    ep = WebhookEndpoint(url=_clean_url(url), events=_clean_events(events), description=(description or "").strip()[:200],
                         secret=new_secret(), created_by_id=actor.id if actor else None, internal=bool(internal))
    session.add(ep)
    session.flush()
    audit.record(session, actor=actor, action="webhook.create", target_type="webhook", target_id=ep.id,
                 details={"url": ep.url, "events": ep.events, "internal": ep.internal})
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
                    active: bool | None = None, internal: bool | None = None) -> WebhookEndpoint:
    """Change an endpoint; `active=True` re-enables a disabled one and resumes its paused deliveries;
    `internal` says whether it receives events about internal (staff-only) questions."""
    ep = get_endpoint(session, actor=actor, endpoint_id=endpoint_id)
    if internal is not None:
        ep.internal = bool(internal)
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
    audit.record(session, actor=actor, action="webhook.update", target_type="webhook", target_id=ep.id,
                 details={"url": ep.url, "events": ep.events, "active": ep.is_active, "internal": ep.internal})
    return ep


def delete_endpoint(session: Session, *, actor: User | None, endpoint_id: int) -> None:
    ep = get_endpoint(session, actor=actor, endpoint_id=endpoint_id)
    for model in (WebhookAttempt, WebhookDelivery):
        for row in session.exec(select(model).where(model.endpoint_id == ep.id)):
            session.delete(row)
    session.flush()
    audit.record(session, actor=actor, action="webhook.delete", target_type="webhook", target_id=ep.id,
                 details={"url": ep.url})
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
    audit.record(session, actor=actor, action="webhook.redeliver", target_type="webhook", target_id=ep.id,
                 details={"delivery": d.id})
    return d


# --- events -----------------------------------------------------------------------------------

def emit(session: Session, event_type: str, data: dict[str, Any], *, internal: bool = False) -> WebhookEvent | None:
    """Record `event_type` with `data` for every active endpoint subscribed to it, in the caller's
    transaction. The body sent is {"type", "timestamp", "data"} (Standard Webhooks' payload shape).
    `internal`: the event is about an internal (staff-only) question: only endpoints marked
    `internal` receive it. Nothing is written when no endpoint listens."""
    assert event_type in EVENTS, event_type
    endpoints = [ep for ep in session.exec(select(WebhookEndpoint).where(WebhookEndpoint.is_active.is_(True)))
                 if event_type in ep.event_list and (not internal or ep.internal)]
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


class _PinnedHTTP(http.client.HTTPConnection):
    """Connects to the checked address `ip`, sending Host: the URL's name."""

    def __init__(self, host: str, port: int, ip: str, timeout: float):
        super().__init__(host, port, timeout=timeout)
        self._ip = ip

    def connect(self) -> None:
        self.sock = socket.create_connection((self._ip, self.port), self.timeout)


class _PinnedHTTPS(http.client.HTTPSConnection):
    """TLS to the checked address `ip`, with SNI and certificate check on the URL's name."""

    def __init__(self, host: str, port: int, ip: str, timeout: float):
        super().__init__(host, port, timeout=timeout, context=ssl.create_default_context())
        self._ip = ip

    def connect(self) -> None:
        sock = socket.create_connection((self._ip, self.port), self.timeout)
        self.sock = self._context.wrap_socket(sock, server_hostname=self.host)


def _post(url: str, headers: dict[str, str], body: bytes) -> tuple[int | None, str, str | None, int]:
    """POST once: (status or None, response excerpt, error or None, latency in ms). The host is
    resolved and every address checked (blocked_ip) before connecting to the checked address, so
    a name that re-resolves to an internal address (DNS rebinding) is refused. Redirects are not
    followed: a 3xx is a failed attempt."""
    started = time.perf_counter()
    try:
        parts = urllib.parse.urlsplit(url)
        host = parts.hostname or ""
        port = parts.port or (443 if parts.scheme == "https" else 80)
        ip = resolve(host, port)[0]
        cls = _PinnedHTTPS if parts.scheme == "https" else _PinnedHTTP
        conn = cls(host, port, ip, TIMEOUT)
        try:
            path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
            conn.request("POST", path, body=body,
                         headers={**headers, "Content-Type": "application/json", "User-Agent": "Groundswell-Webhooks/1"})
            r = conn.getresponse()
            text = r.read(EXCERPT * 4).decode("utf-8", "replace")
            return r.status, text[:EXCERPT], None, int((time.perf_counter() - started) * 1000)
        finally:
            conn.close()
    except Exception as exc:  # noqa: BLE001 - blocked, refused, timed out, bad TLS: a failed attempt
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
