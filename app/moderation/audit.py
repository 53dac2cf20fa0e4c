"""The one audit log of moderator, staff and admin actions (issue 17, docs/moderation.md).

Every such action calls `record` in the same transaction as the action itself, so an action and
its log entry are committed (or rolled back) together. Rows are only ever inserted: nothing in
the application updates or deletes them. The escalation queue keeps its own per-ticket log
(app/escalation/models.py: EscalationEvent); the moderator page links to it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlmodel import Session, select

from app.accounts import permissions
from app.accounts.models import User
from app.core.db import utcnow
from app.core.errors import Forbidden, field_error
from app.core.ids import is_id
from app.core.pagination import Page, clamp_limit, decode_cursor, encode_cursor
from app.moderation.models import AuditEntry

# The actions written today (`action` values), grouped for the page's filter.
ACTIONS: dict[str, str] = {
    "post.delete": "Deleted a post",
    "post.undelete": "Undeleted a post",
    "post.edit": "Edited someone else's post",
    "post.hide": "Hid a post",
    "post.unhide": "Restored a hidden post",
    "post.approve": "Approved a post from the review queue",
    "question.close": "Closed a question",
    "question.close_duplicate": "Closed a question as a duplicate",
    "question.reopen": "Reopened a question",
    "question.merge": "Merged a duplicate",
    "question.lock": "Locked a thread",
    "question.unlock": "Unlocked a thread",
    "question.protect": "Protected a thread",
    "question.unprotect": "Unprotected a thread",
    "flag.helpful": "Marked a flag helpful",
    "flag.declined": "Declined a flag",
    "user.suspend": "Suspended a member",
    "user.unsuspend": "Lifted a suspension",
    "user.destroy": "Destroyed a spammer",
    "user.role": "Changed a member's role",
    "email.block": "Blocked an e-mail address or domain",
    "product.create": "Created a product",
    "product.update": "Changed a product",
    "service_level.update": "Changed a service level",
    "edit.review": "Reviewed a suggested edit",
    "voting.resolve": "Resolved a voting report",
    "api_key.create": "Created an API key",
    "api_key.revoke": "Revoked an API key",
    "api_key.rotate": "Rotated an API key",
    "api_key.update": "Changed an API key",
    "webhook.create": "Registered a webhook endpoint",
    "webhook.update": "Changed a webhook endpoint",
    "webhook.delete": "Deleted a webhook endpoint",
    "webhook.redeliver": "Redelivered a webhook",
}


def record(session: Session, *, actor: User | None, action: str, target_type: str, target_id: Any,
           reason: str | None = None, details: dict[str, Any] | None = None,
           now: datetime | None = None) -> AuditEntry:
    """Append one entry: `actor` (None for the system, e.g. automatic hiding), `action` (a key of
    ACTIONS, "domain.verb"), the target (`target_type` such as "question", "answer", "comment",
    "user", "product", "flag"; `target_id` its id, slug or username), an optional `reason` shown
    on the page and `details` (a JSON-serialisable dict). Flushes; never commits."""
    entry = AuditEntry(actor_id=actor.id if actor is not None else None, action=action[:40],
                       target_type=target_type[:20], target_id=None if target_id is None else str(target_id)[:80],
                       reason=(reason or None) and reason[:500],
                       details=json.dumps(details, default=str, sort_keys=True) if details else None,
                       created_at=now or utcnow())
    session.add(entry)
    session.flush()
    return entry


@dataclass
class AuditView:
    id: int
    actor: User | None
    action: str
    action_label: str
    target_type: str
    target_id: str | None
    reason: str | None
    details: dict[str, Any]
    created_at: datetime


def entries(session: Session, *, actor: User | None, action: str | None = None, actor_name: str | None = None,
            target_type: str | None = None, target_id: str | None = None, limit: int | None = None,
            cursor: str | None = None) -> Page[AuditView]:
    """The log, newest first, for moderators, staff and admins (403 otherwise), filtered by
    action (exact key, or a prefix ending in "." such as "user."), by who acted (username) and by
    target; keyset-paginated on id."""
    actor = permissions.require_user(actor, write=False)
    if not actor.can_moderate:
        raise Forbidden("Only moderators and staff can read the audit log.")
    limit = clamp_limit(limit, default=50)
    stmt = select(AuditEntry)
    if action:
        stmt = stmt.where(AuditEntry.action.startswith(action) if action.endswith(".") else AuditEntry.action == action)
    if actor_name:
        who = session.exec(select(User.id).where(User.username == actor_name)).first()
        stmt = stmt.where(AuditEntry.actor_id == (who if who is not None else -1))
    if target_type:
        stmt = stmt.where(AuditEntry.target_type == target_type)
    if target_id:
        stmt = stmt.where(AuditEntry.target_id == str(target_id))
    after = decode_cursor(cursor, 1)
    if after is not None:
        if not is_id(after[0]):
            raise field_error("cursor", "The cursor is not valid; start again from the first page.", "query")
        stmt = stmt.where(AuditEntry.id < after[0])
    rows = list(session.exec(stmt.order_by(AuditEntry.id.desc()).limit(limit + 1)).all())
    next_cursor = None
    if len(rows) > limit:
        rows = rows[:limit]
        next_cursor = encode_cursor([rows[-1].id])
    ids = {r.actor_id for r in rows if r.actor_id}
    users = {u.id: u for u in session.exec(select(User).where(User.id.in_(ids))).all()} if ids else {}
    return Page(items=[AuditView(r.id, users.get(r.actor_id), r.action, ACTIONS.get(r.action, r.action),
                                 r.target_type, r.target_id, r.reason,
                                 json.loads(r.details) if r.details else {}, r.created_at) for r in rows],
                next_cursor=next_cursor)


def actor_is_moderating(actor: User | None) -> bool:
    """Whether an action by `actor` is a moderator/staff/admin action (recorded) rather than a
    member acting on their own posts."""
    return actor is not None and actor.can_moderate
