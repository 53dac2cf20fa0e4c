"""Tables of the e-mail capability: outbox, account tokens, per-user mail settings and preferences."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, Text, UniqueConstraint, text
from sqlmodel import Field, SQLModel

from app.core.db import utcnow


class EmailOutbox(SQLModel, table=True):
    """One message to one address, written in the transaction of the event that causes it and
    sent by `groundswell worker` (app/mail/sender.py).

    status: "pending" (waiting; `next_attempt_at` says when), "sending" (claimed by a worker for
    one SMTP transaction), "sent", "dead" (gave up: `last_error` says why; staff may requeue),
    "skipped" (a notification whose post the recipient may no longer see: `last_error` says why)."""

    __tablename__ = "email_outbox"
    __table_args__ = (
        Index("ix_email_outbox_pending", "next_attempt_at", "id",
              sqlite_where=text("status = 'pending'"), postgresql_where=text("status = 'pending'")),
        Index("ix_email_outbox_to_kind", "to_key", "kind", "created_at"),
        Index("ix_email_outbox_user_kind", "user_id", "kind", "created_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    user_id: int | None = Field(default=None, index=True)  # no FK: rows outlive a deleted account
    to_addr: str = Field(max_length=254)
    to_key: str = Field(max_length=254)  # identity.email_key of to_addr (rate limits, bounces)
    kind: str = Field(max_length=40)
    security: bool = Field(default=False)  # account mail: no List-Unsubscribe, sent whatever the preferences
    subject: str = Field(max_length=200)
    text_body: str = Field(sa_type=Text)
    html_body: str = Field(sa_type=Text)
    unsubscribe_url: str | None = Field(default=None, max_length=500)
    message_id: str = Field(max_length=200, unique=True)
    status: str = Field(default="pending", max_length=8)
    attempts: int = Field(default=0)
    created_at: datetime = Field(default_factory=utcnow)
    next_attempt_at: datetime = Field(default_factory=utcnow)
    claimed_at: datetime | None = Field(default=None)
    sent_at: datetime | None = Field(default=None)
    last_error: str | None = Field(default=None, max_length=500)
    eml_path: str | None = Field(default=None, max_length=500)


class AccountToken(SQLModel, table=True):
    """A single-use, expiring token sent by e-mail: verify an address, reset a password, confirm a
    new address. Only the SHA-256 of the token is kept."""

    __tablename__ = "account_tokens"

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="users.id", index=True)
    purpose: str = Field(max_length=16)  # "verify" | "reset" | "email_change"
    token_hash: str = Field(max_length=64, unique=True)
    email: str = Field(max_length=254)  # the address the token was sent to (the new one for a change)
    created_at: datetime = Field(default_factory=utcnow)
    expires_at: datetime
    used_at: datetime | None = Field(default=None)


class MailSettings(SQLModel, table=True):
    """Per-user e-mail state and choices; a user without a row has the defaults (unverified)."""

    __tablename__ = "user_mail_settings"

    user_id: int = Field(primary_key=True, foreign_key="users.id", sa_column_kwargs={"autoincrement": False})
    email_verified_at: datetime | None = Field(default=None)
    # IANA time zone name and the local hour (0-23) digests are built at.
    timezone: str = Field(default="UTC", max_length=64)
    digest_hour: int = Field(default=8)
    # Asking or answering follows the question (docs/notifications.md).
    auto_follow: bool = Field(default=True)
    # The SMTP server refused this address permanently: no mail until the user changes or re-verifies it.
    bounced_at: datetime | None = Field(default=None)
    bounce_reason: str | None = Field(default=None, max_length=300)
    last_daily_digest_at: datetime | None = Field(default=None)
    last_weekly_digest_at: datetime | None = Field(default=None)


class DeliveryPreference(SQLModel, table=True):
    """How one user wants one notification kind: in_app, email, daily, weekly or off."""

    __tablename__ = "notification_preferences"
    __table_args__ = (UniqueConstraint("user_id", "kind"),)

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="users.id", index=True)
    kind: str = Field(max_length=40)
    delivery: str = Field(max_length=8)
