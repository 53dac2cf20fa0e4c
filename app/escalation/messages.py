"""Private support messages inside an escalation (issue 18; docs/escalation.md, "Private messages").

The asker and staff exchange what must never be public (serial numbers, order numbers, postal
addresses) in a thread attached to the escalation. Rules, all enforced here (pages and API only
call these functions):

* **Who**: the question's asker and staff (roles `staff` and `admin`, active: `policy.is_agent`).
  Moderators, other customers and visitors do not count: to them the thread does not exist
  (404 `NotFound`, the same answer as for an escalation id that does not exist).
* **Names**: the asker sees staff messages as from "our support team", never the agent's name
  (as everywhere else a customer sees their escalation).
* **Writing**: while the escalation is not resolved (409 afterwards: a new problem is a new
  "I still need help"); Markdown, 2 to MESSAGE_MAX visible characters (422 on `body`); a
  suspended member gets 403 as on every write path. The asker's message while the escalation
  waits on them is their reply: it resumes the clock, as "I still need help" does.
* **Notifications**: staff writes → the asker (kind `private_message`); the asker writes → the
  assignee, or every agent while nobody holds it (kind `private_message_staff`). The text says
  only that there is a new private message: the message itself never goes into a notification
  or an e-mail.
* **Audit**: each time staff read a thread that holds messages (the escalation page, the API),
  a `messages_read` event is written to the escalation's audit log, with the count, never the text.
* **Retention**: `purge_expired` (the worker's `private-message-retention` job) hard-deletes the
  messages of escalations resolved more than GROUNDSWELL_PRIVATE_MESSAGE_RETENTION_DAYS (default
  30) days ago, and logs a `messages_purged` event (a count, no text).
* **Never public**: the table is not watched by the search outbox (app/search/outbox.py), no
  webhook event carries it, no public list or page reads it. The asker's own data export holds
  the threads of their escalations (`export_for`); deleting their account deletes them (`delete_for_user`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import delete, func
from sqlmodel import Session, select

from app.accounts import permissions
from app.accounts import service as accounts_service
from app.accounts.models import User
from app.core.db import utcnow
from app.core.errors import Conflict, NotFound, field_error
from app.core.markdown import render_markdown
from app.core.text import visible_length
from app.escalation import policy
from app.escalation import service as escalation_service
from app.escalation.models import Escalation, EscalationMessage, EscalationStatus
from app.notifications import service as notifications
from app.questions.models import Question
from app.questions.views import UserView, question_url

MESSAGE_MIN, MESSAGE_MAX = 2, 10_000
DEFAULT_RETENTION_DAYS = 30
PURGE_BATCH = 500  # escalations per run of the retention job
ASKER_KIND, STAFF_KIND = "private_message", "private_message_staff"


@dataclass
class MessageView:
    id: int
    author: UserView | None  # None: a staff member, as the asker sees it ("Our support team")
    from_staff: bool  # written by staff (the asker's page says "Support team")
    body: str
    body_html: str
    created_at: datetime


@dataclass
class Thread:
    """One escalation's private thread as its reader sees it."""

    escalation_id: int
    question_id: int
    question_title: str
    question_url: str
    status: str
    public_status: str
    resolved_at: datetime | None
    deletes_at: datetime | None  # when the retention job deletes the messages (resolved escalations)
    retention_days: int  # the setting, for "deleted N days after the escalation is resolved"
    is_staff_view: bool
    can_write: bool
    messages: list[MessageView] = field(default_factory=list)


def thread_url(escalation_id: int) -> str:
    """The asker's page of the thread (staff are sent on to the escalation page)."""
    return f"/escalations/{escalation_id}/messages"


def staff_url(escalation_id: int) -> str:
    return f"/staff/escalations/{escalation_id}#private-messages"


def retention_days() -> int:
    """GROUNDSWELL_PRIVATE_MESSAGE_RETENTION_DAYS (app/core/config.py), in days."""
    from app.core.config import get_settings

    return get_settings().private_message_retention_days


def _access(session: Session, actor: User | None, escalation_id: int, *, write: bool,
            for_update: bool = False) -> tuple[Escalation, Question | None, bool]:
    """(escalation, its question, whether the actor reads as staff); 401 without an actor, 404
    for anyone who is neither staff nor the asker (the thread's existence is not revealed)."""
    actor = permissions.require_user(actor, write=write)
    try:
        esc = escalation_service._get(session, escalation_id, for_update=for_update)
    except NotFound:
        raise NotFound(f"Escalation {escalation_id} does not exist.") from None
    question = session.get(Question, esc.question_id)
    staff = policy.is_agent(actor)
    if not staff and (question is None or question.author_id != actor.id):
        raise NotFound(f"Escalation {escalation_id} does not exist.")
    return esc, question, staff


def count(session: Session, escalation_id: int) -> int:
    """How many messages the thread holds."""
    return int(session.exec(select(func.count()).select_from(EscalationMessage)
                            .where(EscalationMessage.escalation_id == escalation_id)).one())


def read(session: Session, *, actor: User | None, escalation_id: int, now: datetime | None = None,
         record: bool = True) -> Thread:
    """The thread, oldest message first. A staff reader's access to a thread that holds messages
    is recorded in the escalation's audit log (`messages_read`, the count; `record=False` only
    for re-rendering a page in the same request). 401 / 404 as the module docstring says."""
    now = now or utcnow()
    esc, question, staff = _access(session, actor, escalation_id, write=False)
    rows = list(session.exec(select(EscalationMessage).where(EscalationMessage.escalation_id == esc.id)
                             .order_by(EscalationMessage.id)).all())
    users = accounts_service.users_by_id(session, {r.author_id for r in rows})
    messages = [_view(r, users.get(r.author_id), _asker_id(question)) for r in rows]
    if not staff:  # customers never learn who in the team holds their escalation (docs/escalation.md)
        for m in messages:
            m.author = None if m.from_staff else m.author
    if staff and rows and record:
        escalation_service._log(session, esc, "messages_read", actor,
                                f"Read the private messages ({len(rows)}).", now)
    days = retention_days()
    deletes_at = esc.resolved_at + timedelta(days=days) if esc.resolved_at else None
    return Thread(escalation_id=esc.id, question_id=esc.question_id,
                  question_title=question.title if question else "(deleted question)",
                  question_url=question_url(question.id, question.slug) if question else "",
                  status=esc.status, public_status=policy.PUBLIC_STATUS[esc.status], resolved_at=esc.resolved_at,
                  deletes_at=deletes_at, retention_days=days, is_staff_view=staff,
                  can_write=esc.status != EscalationStatus.resolved,
                  messages=messages)


def _view(row: EscalationMessage, author: User | None, asker_id: int | None) -> MessageView:
    return MessageView(id=row.id, author=UserView.of(author), from_staff=row.author_id != asker_id, body=row.body,
                       body_html=render_markdown(row.body), created_at=row.created_at)


def view_of(session: Session, row: EscalationMessage) -> MessageView:
    """One message as a reader of its thread sees it (after `post`, which checked the access)."""
    esc = session.get(Escalation, row.escalation_id)
    question = session.get(Question, esc.question_id)
    return _view(row, session.get(User, row.author_id), _asker_id(question))


def _asker_id(question: Question | None) -> int | None:
    """The question's author (None once the question row is gone)."""
    return question.author_id if question is not None else None


def post(session: Session, *, actor: User | None, escalation_id: int, body: str,
         now: datetime | None = None) -> EscalationMessage:
    """Write a message (the asker or staff; see the module docstring for every rule). Returns the
    new row. Errors: 401, 403 (suspended), 404 (not theirs), 409 (resolved), 422 on `body`."""
    now = now or utcnow()
    body = (body or "").strip()
    esc, question, staff = _access(session, actor, escalation_id, write=True, for_update=True)
    if visible_length(body) < MESSAGE_MIN:
        raise field_error("body", f"Write your message (at least {MESSAGE_MIN} characters).")
    if len(body) > MESSAGE_MAX:
        raise field_error("body", f"A message holds at most {MESSAGE_MAX:,} characters.")
    if esc.status == EscalationStatus.resolved:
        raise Conflict(f"Escalation {esc.id} is resolved: the private thread is closed. If the problem is back, "
                       "ask our support team again from the question page.")
    row = EscalationMessage(escalation_id=esc.id, author_id=actor.id, body=body, created_at=now)
    session.add(row)
    session.flush()
    asker_id = _asker_id(question)
    if actor.id == asker_id and not staff:
        if esc.status == EscalationStatus.waiting:  # their reply, as "I still need help" is
            escalation_service._unpause(esc, now)
            esc.status, esc.updated_at = EscalationStatus.claimed.value, now
            escalation_service._log(session, esc, "resumed", actor, "The asker replied in a private message.", now)
        to = [esc.assignee_id] if esc.assignee_id else [u.id for u in escalation_service.agents(session)]
        notifications.notify(session, [u for u in to if u != actor.id], kind=STAFF_KIND, now=now,
                             url=staff_url(esc.id),
                             text=f"The asker sent a new private message on escalation {esc.id}.")
    elif asker_id is not None and asker_id != actor.id:
        notifications.notify(session, [asker_id], kind=ASKER_KIND, now=now, url=thread_url(esc.id),
                             text="You have a new private message from our support team.")
    return row


def latest_thread_for_asker(session: Session, *, viewer: User | None, question_id: int, author_id: int,
                            escalation_id: int | None, escalation_status: str | None) -> tuple[str, int] | None:
    """For the question page: (the thread's address, its message count) when `viewer` is the
    asker and the question's latest escalation has a thread to show (not resolved, or still
    holding messages); None otherwise (everyone else never learns of it)."""
    if viewer is None or viewer.id != author_id or escalation_id is None:
        return None
    n = count(session, escalation_id)
    if escalation_status == EscalationStatus.resolved and n == 0:
        return None
    return thread_url(escalation_id), n


def purge_expired(session: Session, *, days: int | None = None, now: datetime | None = None) -> int:
    """Hard-delete the messages of escalations resolved at least `days` days before `now` (default:
    the setting); each escalation's audit log gets a `messages_purged` event by the worker.
    Returns how many messages were deleted (at most PURGE_BATCH escalations per call)."""
    now = now or utcnow()
    days = retention_days() if days is None else days
    cutoff = now - timedelta(days=days)
    ids = list(session.exec(
        select(Escalation.id).where(Escalation.status == EscalationStatus.resolved.value,
                                    Escalation.resolved_at <= cutoff,
                                    Escalation.id.in_(select(EscalationMessage.escalation_id).distinct()))
        .order_by(Escalation.id).limit(PURGE_BATCH)).all())
    deleted = 0
    for esc_id in ids:
        n = session.exec(delete(EscalationMessage).where(EscalationMessage.escalation_id == esc_id)
                         .execution_options(synchronize_session=False)).rowcount or 0
        deleted += n
        esc = session.get(Escalation, esc_id)
        escalation_service._log(session, esc, "messages_purged", None,
                                f"{n} private message{'' if n == 1 else 's'} deleted, {days} days after the "
                                "resolution (retention).", now)
    session.flush()
    return deleted


def export_for(session: Session, user: User) -> list[dict]:
    """The private threads of `user`'s own escalations (questions they asked), for their personal
    data export: who wrote each message ("you" or "support"), the text, when."""
    rows = session.exec(
        select(EscalationMessage, Escalation.question_id)
        .join(Escalation, Escalation.id == EscalationMessage.escalation_id)
        .join(Question, Question.id == Escalation.question_id)
        .where(Question.author_id == user.id).order_by(EscalationMessage.id)).all()
    return [{"escalation_id": m.escalation_id, "question_id": qid, "from": "you" if m.author_id == user.id else "support",
             "body": m.body, "created_at": m.created_at.isoformat()} for m, qid in rows]


def delete_for_user(session: Session, user: User) -> int:
    """Deleting an account deletes the private threads of the escalations of the questions it
    asked (their serial numbers and addresses go with it); returns how many messages."""
    esc_ids = select(Escalation.id).join(Question, Question.id == Escalation.question_id).where(
        Question.author_id == user.id)
    result = session.exec(delete(EscalationMessage).where(EscalationMessage.escalation_id.in_(esc_ids))
                          .execution_options(synchronize_session=False))
    return result.rowcount or 0
