"""Shared steps of the e-mail tests."""

from __future__ import annotations

from sqlmodel import Session, select

from app.mail import sender
from app.mail.models import EmailOutbox


def run_worker(engine, settings, now=None):
    """The worker's email-send job, once (what `groundswell worker` runs every 10 seconds)."""
    return sender.run(engine, settings, now=now)


def outbox_rows(engine, **where) -> list[EmailOutbox]:
    with Session(engine) as s:
        stmt = select(EmailOutbox).order_by(EmailOutbox.id)
        for k, v in where.items():
            stmt = stmt.where(getattr(EmailOutbox, k) == v)
        return list(s.exec(stmt).all())
