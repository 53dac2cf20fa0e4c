"""Webhook tables: endpoints admins register, the event outbox (written in the event's own
transaction), one delivery per (event, endpoint) and the log of every attempt."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, ForeignKey, Index, Integer, Text, false
from sqlmodel import Field, SQLModel

from app.core.db import utcnow


class WebhookEndpoint(SQLModel, table=True):
    __tablename__ = "webhook_endpoints"

    id: int | None = Field(default=None, primary_key=True)
    url: str = Field(max_length=2000)
    description: str = Field(default="", max_length=200)
    events: str = Field(max_length=1000)  # space-separated event types (app/webhooks/service.py EVENTS)
    secret: str = Field(max_length=100)  # "whsec_" + base64 of 24 random bytes (Standard Webhooks)
    is_active: bool = True
    disabled_reason: str | None = Field(default=None, max_length=300)
    consecutive_failures: int = 0
    # Receives events about internal (staff-only) questions too; admins set it (docs/internal.md).
    internal: bool = Field(default=False, sa_column_kwargs={"server_default": false()})
    created_by_id: int | None = Field(default=None, foreign_key="users.id")
    created_at: datetime = Field(default_factory=utcnow)

    @property
    def event_list(self) -> list[str]:
        return self.events.split()


class WebhookEvent(SQLModel, table=True):
    __tablename__ = "webhook_events"

    id: int | None = Field(default=None, primary_key=True)
    msg_id: str = Field(max_length=40, unique=True)  # the webhook-id header: same on every retry
    type: str = Field(max_length=60)
    payload: str = Field(sa_column=Column(Text, nullable=False))  # the JSON body sent, exactly
    created_at: datetime = Field(default_factory=utcnow)


class WebhookDelivery(SQLModel, table=True):
    __tablename__ = "webhook_deliveries"
    __table_args__ = (Index("ix_webhook_deliveries_due", "status", "next_attempt_at"),)

    id: int | None = Field(default=None, primary_key=True)
    endpoint_id: int = Field(sa_column=Column(Integer, ForeignKey("webhook_endpoints.id", ondelete="CASCADE"),
                                              nullable=False, index=True))
    event_id: int = Field(sa_column=Column(Integer, ForeignKey("webhook_events.id", ondelete="CASCADE"), nullable=False))
    # pending (due at next_attempt_at), succeeded, failed (gave up after the last attempt), paused
    # (its endpoint was disabled; redelivered when it is enabled again)
    status: str = Field(default="pending", max_length=12)
    attempts: int = 0
    next_attempt_at: datetime | None = Field(default_factory=utcnow)
    delivered_at: datetime | None = None
    created_at: datetime = Field(default_factory=utcnow)


class WebhookAttempt(SQLModel, table=True):
    __tablename__ = "webhook_attempts"
    __table_args__ = (Index("ix_webhook_attempts_endpoint", "endpoint_id", "id"),)

    id: int | None = Field(default=None, primary_key=True)
    delivery_id: int = Field(sa_column=Column(Integer, ForeignKey("webhook_deliveries.id", ondelete="CASCADE"),
                                              nullable=False))
    endpoint_id: int = Field(sa_column=Column(Integer, ForeignKey("webhook_endpoints.id", ondelete="CASCADE"),
                                              nullable=False))
    attempted_at: datetime = Field(default_factory=utcnow)
    status_code: int | None = None
    latency_ms: int = 0
    response_excerpt: str = Field(default="", max_length=500)
    error: str | None = Field(default=None, max_length=300)
