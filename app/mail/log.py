"""The outgoing mail log (/staff/mail): what the site sent, what waits, what is dead and why.

Staff only, checked here (authorization lives in services, so the web page, the API and any later
caller get the same rule): `User.is_staff` (staff and admins; moderators are not staff). Reading
stays open to a suspended staff member (`permissions.require_user(write=False)`); sending a dead
message again is a write and needs an unsuspended account. Every row handed out is a display copy
with the secrets of account and unsubscribe links redacted (sender.for_display): a token reaches
the recipient's mailbox and nobody else (docs/notifications.md)."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session, select

from app.accounts import permissions
from app.accounts.models import User
from app.core.errors import Forbidden, NotFound
from app.core.ids import is_id
from app.mail import sender
from app.mail.models import EmailOutbox

STATUSES = ("pending", "sending", "sent", "dead", "skipped")  # skipped: the post was gone at send time
LIST_LIMIT = 200


def require_staff(actor: User | None, *, write: bool = False) -> User:
    """`actor` when they are staff (Role staff or admin); 401 signed out, 403 otherwise (and 403
    `Suspended` for a suspended member's write)."""
    actor = permissions.require_user(actor, write=write)
    if not actor.is_staff:
        raise Forbidden("Only staff see the site's outgoing mail.")
    return actor


def recent(session: Session, *, actor: User | None, status: str | None = None,
           limit: int = LIST_LIMIT) -> list[EmailOutbox]:
    """The newest `limit` (at most LIST_LIMIT) outbox rows, newest first, as redacted display
    copies; `status` one of STATUSES filters, anything else lists all. Staff only (require_staff)."""
    require_staff(actor)
    stmt = select(EmailOutbox).order_by(EmailOutbox.id.desc()).limit(max(1, min(limit, LIST_LIMIT)))
    if status in STATUSES:
        stmt = stmt.where(EmailOutbox.status == status)
    return [sender.for_display(row) for row in session.exec(stmt).all()]


def message(session: Session, *, actor: User | None, row_id: int) -> EmailOutbox:
    """One outbox row as a redacted display copy; NotFound (404) when there is none. Staff only."""
    require_staff(actor)
    row = session.get(EmailOutbox, row_id) if is_id(row_id) else None
    if row is None:
        raise NotFound("No such message.")
    return sender.for_display(row)


def requeue(session: Session, *, actor: User | None, row_id: int, now: datetime | None = None) -> EmailOutbox | None:
    """Send a dead message again (attempts start over): the row (redacted copy), or None when it
    is not dead. NotFound when there is no such row. Staff only, and not while suspended."""
    require_staff(actor, write=True)
    if (session.get(EmailOutbox, row_id) if is_id(row_id) else None) is None:
        raise NotFound("No such message.")
    row = sender.requeue(session, row_id, now=now)
    return None if row is None else sender.for_display(row)
