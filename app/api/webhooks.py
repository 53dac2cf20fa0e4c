"""JSON API: signed webhooks (admins, or a key with `webhooks:manage` owned by an admin).
Every action goes through app/webhooks/service.py."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Response
from pydantic import BaseModel, Field

from app.accounts.deps import CurrentUser
from app.api.deps import Id, rate_limit
from app.core.db import SessionDep
from app.core.inputs import JsonBody
from app.webhooks import service as webhooks_service
from app.webhooks.service import EVENTS

router = APIRouter(tags=["webhooks"])


class EndpointIn(JsonBody):
    url: str = Field(max_length=2000)
    events: list[str] = Field(description="any of: " + ", ".join(EVENTS))
    description: str = Field(default="", max_length=200)
    internal: bool = Field(default=False, description="also receive events about internal (staff-only) questions; only for a receiver inside the company")


class EndpointPatch(JsonBody):
    url: str | None = Field(default=None, max_length=2000)
    events: list[str] | None = None
    description: str | None = Field(default=None, max_length=200)
    active: bool | None = Field(default=None, description="true re-enables a disabled endpoint and resumes its deliveries")
    internal: bool | None = Field(default=None, description="also receive events about internal (staff-only) questions; only for a receiver inside the company")


class EndpointOut(BaseModel):
    id: int
    url: str
    description: str
    events: list[str]
    secret: str = Field(description="the Standard Webhooks signing secret (whsec_…)")
    active: bool
    internal: bool = Field(default=False, description="receives events about internal (staff-only) questions too")
    disabled_reason: str | None
    consecutive_failures: int
    created_at: datetime

    @classmethod
    def of(cls, ep) -> "EndpointOut":
        return cls(id=ep.id, url=ep.url, description=ep.description, events=ep.event_list, secret=ep.secret,
                   active=ep.is_active, internal=bool(getattr(ep, "internal", False)), disabled_reason=ep.disabled_reason,
                   consecutive_failures=ep.consecutive_failures, created_at=ep.created_at)


class EndpointList(BaseModel):
    items: list[EndpointOut]
    next_cursor: None = None


class AttemptOut(BaseModel):
    id: int
    delivery_id: int
    attempted_at: datetime
    status_code: int | None
    latency_ms: int
    response_excerpt: str
    error: str | None


class DeliveryOut(BaseModel):
    id: int
    event_type: str
    webhook_id: str
    status: str
    attempts: int
    next_attempt_at: datetime | None
    delivered_at: datetime | None
    created_at: datetime
    last_attempt: AttemptOut | None


class DeliveryList(BaseModel):
    items: list[DeliveryOut]
    next_cursor: None = None


class AttemptList(BaseModel):
    items: list[AttemptOut]
    next_cursor: None = None


def _attempt(a) -> AttemptOut:
    return AttemptOut(id=a.id, delivery_id=a.delivery_id, attempted_at=a.attempted_at, status_code=a.status_code,
                      latency_ms=a.latency_ms, response_excerpt=a.response_excerpt, error=a.error)


def _delivery(d, e, last) -> DeliveryOut:
    return DeliveryOut(id=d.id, event_type=e.type, webhook_id=e.msg_id, status=d.status, attempts=d.attempts,
                       next_attempt_at=d.next_attempt_at, delivered_at=d.delivered_at, created_at=d.created_at,
                       last_attempt=_attempt(last) if last else None)


@router.get("/webhooks/events")
def list_events(user: CurrentUser) -> dict:
    """The event types an endpoint can subscribe to."""
    return {"items": [{"type": k, "description": v} for k, v in EVENTS.items()]}


@router.get("/webhooks", response_model=EndpointList)
def list_endpoints(session: SessionDep, user: CurrentUser) -> EndpointList:
    return EndpointList(items=[EndpointOut.of(e) for e in webhooks_service.list_endpoints(session, actor=user)])


@router.post("/webhooks", status_code=201, response_model=EndpointOut, dependencies=[rate_limit("write")])
def create_endpoint(data: EndpointIn, session: SessionDep, user: CurrentUser) -> EndpointOut:
    """Register an endpoint; the answer carries its signing secret."""
    return EndpointOut.of(webhooks_service.create_endpoint(session, actor=user, url=data.url, events=data.events,
                                                           description=data.description, internal=data.internal))


@router.get("/webhooks/{endpoint_id}", response_model=EndpointOut)
def get_endpoint(endpoint_id: Id, session: SessionDep, user: CurrentUser) -> EndpointOut:
    return EndpointOut.of(webhooks_service.get_endpoint(session, actor=user, endpoint_id=endpoint_id))


@router.patch("/webhooks/{endpoint_id}", response_model=EndpointOut, dependencies=[rate_limit("write")])
def update_endpoint(endpoint_id: Id, data: EndpointPatch, session: SessionDep, user: CurrentUser) -> EndpointOut:
    return EndpointOut.of(webhooks_service.update_endpoint(session, actor=user, endpoint_id=endpoint_id, url=data.url,
                                                           events=data.events, description=data.description,
                                                           active=data.active, internal=data.internal))


@router.delete("/webhooks/{endpoint_id}", status_code=204, dependencies=[rate_limit("write")])
def delete_endpoint(endpoint_id: Id, session: SessionDep, user: CurrentUser) -> Response:
    webhooks_service.delete_endpoint(session, actor=user, endpoint_id=endpoint_id)
    return Response(status_code=204)


@router.get("/webhooks/{endpoint_id}/deliveries", response_model=DeliveryList)
def list_deliveries(endpoint_id: Id, session: SessionDep, user: CurrentUser) -> DeliveryList:
    """The endpoint's latest 50 deliveries, newest first, each with its last attempt."""
    rows = webhooks_service.deliveries(session, actor=user, endpoint_id=endpoint_id)
    return DeliveryList(items=[_delivery(*r) for r in rows])


@router.get("/webhooks/{endpoint_id}/attempts", response_model=AttemptList)
def list_attempts(endpoint_id: Id, session: SessionDep, user: CurrentUser) -> AttemptList:
    """The delivery log: every attempt (status, latency, response excerpt), newest first."""
    return AttemptList(items=[_attempt(a) for a in webhooks_service.attempts(session, actor=user, endpoint_id=endpoint_id)])


@router.post("/webhooks/deliveries/{delivery_id}/redeliver", response_model=DeliveryOut,
             dependencies=[rate_limit("write")])
def redeliver(delivery_id: Id, session: SessionDep, user: CurrentUser) -> DeliveryOut:
    """Send a delivery again now (same webhook-id)."""
    d = webhooks_service.redeliver(session, actor=user, delivery_id=delivery_id)
    from app.webhooks.models import WebhookEvent

    return _delivery(d, session.get(WebhookEvent, d.event_id), None)
