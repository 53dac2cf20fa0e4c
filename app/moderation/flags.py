"""Flags: members point moderators at spam, abuse and posts that need attention; moderators
decide, and each flag is marked helpful or declined, which its flagger sees (docs/moderation.md).

Rules (numbers in app/moderation/policy.py, the privilege in app/reputation/policy.py):
- the `flag` privilege; never on one's own post; one open flag per member per post (409);
  FLAGS_PER_DAY per UTC day (429 with Retry-After until midnight UTC);
- `duplicate` needs `original_id` (a question), `other` needs `text` with a visible character
  (app/core/text.py is_blank: zero-width and other invisible characters alone are no text);
- spam and abusive flags from trusted members (TRUSTED_FLAGGER_REPUTATION) add their flaggers'
  weights; at AUTO_HIDE_WEIGHT the post is hidden at once until a moderator decides;
- a moderator's spam flag hides and deletes the post at once (the flag is helpful).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from sqlalchemy import func
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from app.accounts import permissions
from app.accounts.models import User
from app.core.db import utcnow
from app.core.errors import (
    Conflict,
    DomainError,
    Forbidden,
    InvalidInput,
    RateLimited,
    field_error,
)
from app.core.ids import is_id
from app.core.pagination import Page, clamp_limit, decode_cursor, encode_cursor
from app.core.text import optional_text, require_text
from app.moderation import audit, policy, posts
from app.moderation.models import Flag
from app.notifications import service as notifications

ACTIONS = ("delete", "edit", "close", "lock", "dismiss")


def _day_start(now: datetime) -> datetime:
    return now.replace(hour=0, minute=0, second=0, microsecond=0)


def flag_stats(session: Session, user_id: int) -> dict[str, int]:
    """{"helpful": n, "declined": n, "open": n} over all of a member's flags."""
    rows = session.exec(select(Flag.status, func.count()).where(Flag.flagger_id == user_id)
                        .group_by(Flag.status)).all()
    out = {"helpful": 0, "declined": 0, "open": 0}
    out.update({status: int(n) for status, n in rows})
    return out


def flag_weight(session: Session, user: User) -> int:
    """What this member's flag counts towards automatic hiding (rules: app/moderation/policy.py)."""
    if user.can_moderate:
        return policy.AUTO_HIDE_WEIGHT
    stats = flag_stats(session, user.id)
    helpful, declined = stats["helpful"], stats["declined"]
    if declined >= policy.WEIGHT_UNRELIABLE_DECLINED and declined > helpful:
        return 0
    if helpful >= policy.WEIGHT_RELIABLE_HELPFUL and helpful / (helpful + declined) >= policy.WEIGHT_RELIABLE_ACCURACY:
        return 2
    return 1


def remaining_today(session: Session, user: User, now: datetime | None = None) -> int:
    now = now or utcnow()
    used = session.exec(select(func.count()).select_from(Flag).where(
        Flag.flagger_id == user.id, Flag.created_at >= _day_start(now))).one()
    return max(0, policy.FLAGS_PER_DAY - int(used))


def raise_flag(session: Session, *, actor: User | None, post_type: str, post_id: int, reason: str,
               text: str | None = None, original_id: int | None = None, now: datetime | None = None) -> Flag:
    """Flag a post. Returns the flag (status "open", or "helpful" when a moderator's spam flag
    deleted the post). Errors: 401, 403 (no privilege, own post, suspended), 404 (no such post),
    409 (an open flag by this member on this post), 422 (reason, text, original), 429 (allowance)."""
    actor = permissions.require_user(actor)
    now = now or utcnow()
    ref = posts.load(session, post_type, post_id, viewer=actor, for_update=True)
    if ref.author_id == actor.id:
        raise Forbidden("You cannot flag your own post; edit or delete it instead.")
    permissions.require_privilege(actor, "flag", "flag posts")
    if reason not in policy.FLAG_REASONS:
        raise field_error("reason", f"reason must be one of: {', '.join(policy.FLAG_REASONS)}.")
    if reason == "other":
        text = require_text("text", text, "Say what is wrong with the post: spaces and invisible characters "
                                          "(such as zero-width spaces) do not count.")
    else:
        text = optional_text(text)
    if len(text) > 500:
        raise field_error("text", "Say it in at most 500 characters.")
    if reason == "duplicate":
        original_id = _check_original(session, ref, original_id, actor)
    else:
        original_id = None
    mine = session.exec(select(Flag.id).where(Flag.post_type == post_type, Flag.post_id == post_id,
                                              Flag.flagger_id == actor.id, Flag.status == "open")).first()
    if mine is not None:
        raise Conflict("You have already flagged this post; a moderator will look at it.")
    if not actor.can_moderate and remaining_today(session, actor, now) <= 0:
        tomorrow = _day_start(now) + timedelta(days=1)
        raise RateLimited(f"You have used your {policy.FLAGS_PER_DAY} flags for today; more tomorrow (UTC).",
                          int((tomorrow - now).total_seconds()) + 1)
    flag = Flag(post_type=post_type, post_id=post_id, flagger_id=actor.id, reason=reason, text=text,
                original_id=original_id, weight=flag_weight(session, actor), created_at=now)
    try:
        with session.begin_nested():
            session.add(flag)
            session.flush()
    except IntegrityError:  # the same member's concurrent flag
        raise Conflict("You have already flagged this post; a moderator will look at it.") from None
    if actor.can_moderate and reason == "spam":
        posts.hide(session, ref, reason="spam", actor=actor, now=now)
        posts.delete(session, ref, actor=actor)
        _decide(session, ref, actor=actor, helpful=True, outcome="deleted", note="spam", now=now)
    elif reason in policy.HIDING_REASONS and ref.post.hidden_at is None:
        if hiding_weight(session, post_type, post_id) >= policy.AUTO_HIDE_WEIGHT:
            posts.hide(session, ref, reason="flags", actor=None, now=now)
    return flag


def _check_original(session: Session, ref: posts.PostRef, original_id: int | None, viewer: User | None = None) -> int:
    """The original a duplicate flag names, checked as closing would check it
    (app/questions/duplicates.py check_original: no hidden, deleted or cross-boundary original)."""
    from app.questions import duplicates

    if ref.post_type != "question":
        raise field_error("reason", "Only a question can be a duplicate; flag answers and comments otherwise.")
    if original_id is None:
        raise field_error("original_id", "Give the number of the question this one duplicates.")
    if original_id == ref.post.id:
        raise field_error("original_id", "A question cannot duplicate itself.")
    duplicates.check_original(session, actor=viewer, question=ref.question, original_id=original_id)
    return original_id


def hiding_weight(session: Session, post_type: str, post_id: int) -> int:
    """The summed weight of open spam/abusive flags on a post from trusted members."""
    total = session.exec(select(func.coalesce(func.sum(Flag.weight), 0)).join(User, User.id == Flag.flagger_id).where(
        Flag.post_type == post_type, Flag.post_id == post_id, Flag.status == "open",
        Flag.reason.in_(policy.HIDING_REASONS),
        (User.reputation >= policy.TRUSTED_FLAGGER_REPUTATION) | User.role.in_(["moderator", "staff", "admin"]),
    )).one()
    return int(total or 0)


def _decide(session: Session, ref: posts.PostRef, *, actor: User, helpful: bool, outcome: str, note: str = "",
            now: datetime | None = None) -> list[Flag]:
    """Mark every open flag on the post helpful or declined; tell each flagger; audit each."""
    now = now or utcnow()
    flags = list(session.exec(select(Flag).where(Flag.post_type == ref.post_type, Flag.post_id == ref.post.id,
                                                 Flag.status == "open")).all())
    status = "helpful" if helpful else "declined"
    for f in flags:
        f.status, f.open_key, f.handled_at, f.handled_by_id, f.outcome, f.note = (
            status, None, now, actor.id, outcome, note[:300])
        session.add(f)
    session.flush()
    for f in flags:
        audit.record(session, actor=actor, action=f"flag.{status}", target_type="flag", target_id=f.id,
                     reason=note or None, details={"post_type": ref.post_type, "post_id": ref.post.id,
                                                   "flag_reason": f.reason, "outcome": outcome}, now=now)
    flaggers = [f.flagger_id for f in flags if f.flagger_id != actor.id]
    if flaggers:
        what = policy.FLAG_REASONS[flags[0].reason].split(":")[0].lower()
        text = (f"Your flag ({what}) on “{ref.title}” was marked helpful: thank you. A moderator {outcome} the post."
                if helpful else f"Your flag ({what}) on “{ref.title}” was declined: a moderator found nothing to act on.")
        notifications.notify(session, flaggers, kind=f"flag_{status}", text=text + (f" {note}" if note else ""),
                             url="/moderation/my-flags", now=now)
    return flags


def handle(session: Session, *, actor: User | None, post_type: str, post_id: int, action: str, note: str = "",
           body: str | None = None, title: str | None = None) -> list[Flag]:
    """A moderator's decision on a flagged post. `action`: delete (the post goes), edit (with the
    new `body`, and `title` for a question), close (the thread's question), lock (the thread),
    dismiss (nothing wrong: every open flag is declined, and a post hidden by flags is shown
    again). Every action but dismiss marks the post's open flags helpful. Returns the flags."""
    actor = posts.require_moderator(actor)
    if action not in ACTIONS:
        raise field_error("action", f"action must be one of: {', '.join(ACTIONS)}.")
    ref = posts.load(session, post_type, post_id, viewer=actor, for_update=True, include_deleted=True)
    if ref.post.deleted_at is not None and action not in ("delete", "dismiss"):
        raise Conflict("The post was deleted already: mark its flags helpful (delete) or dismiss them.")
    open_flags = session.exec(select(func.count()).select_from(Flag).where(
        Flag.post_type == post_type, Flag.post_id == post_id, Flag.status == "open")).one()
    if not open_flags:
        raise Conflict("This post has no open flags (another moderator may have handled them).")
    outcome = {"delete": "deleted", "edit": "edited", "close": "closed", "lock": "locked", "dismiss": "dismissed"}[action]
    if action == "delete":
        posts.delete(session, ref, actor=actor)
    elif action == "edit":
        _edit(session, ref, actor=actor, body=body, title=title, note=note)
    elif action == "close":
        from app.questions.models import QuestionStatus

        if ref.question.status == QuestionStatus.open:
            posts.close(session, actor=actor, question_id=ref.question.id, reason=note or "closed after flags")
    elif action == "lock":
        posts.set_lock(session, actor=actor, question_id=ref.question.id, locked=True, reason=note)
    if action != "delete" and ref.post.hidden_at is not None and ref.post.hidden_reason in ("flags", "moderator"):
        posts.unhide(session, ref, actor=actor, note=note or f"flags handled: {outcome}")
    return _decide(session, ref, actor=actor, helpful=action != "dismiss", outcome=outcome, note=note)


def _edit(session: Session, ref: posts.PostRef, *, actor: User, body: str | None, title: str | None, note: str) -> None:
    from pydantic import ValidationError

    from app.answers import service as answers_service
    from app.questions import service as questions_service
    from app.questions.schemas import AnswerUpdate, QuestionUpdate

    if not body and not title:
        raise field_error("body", "Give the edited text.")
    try:
        if ref.post_type == "question":
            data = QuestionUpdate(**{k: v for k, v in (("title", title), ("body", body)) if v},
                                  comment=note[:300] or "edited after flags")
            questions_service.edit(session, actor=actor, question_id=ref.post.id, data=data)
        elif ref.post_type == "answer":
            answers_service.edit(session, actor=actor, answer_id=ref.post.id,
                                 data=AnswerUpdate(body=body or "", comment=note[:300] or "edited after flags"))
        else:
            raise field_error("action", "Comments cannot be edited; delete the comment or dismiss the flags.")
    except ValidationError as exc:
        raise InvalidInput("The edit is not valid: " + "; ".join(e["msg"] for e in exc.errors()),
                           errors=[{"loc": ["body", *map(str, e["loc"])], "msg": e["msg"], "type": e["type"]}
                                   for e in exc.errors()]) from None


# --- the queue --------------------------------------------------------------------------------------

@dataclass
class FlaggedPost:
    post_type: str
    post_id: int
    url: str
    title: str
    excerpt: str
    author: User | None
    hidden: str | None
    deleted: bool
    flags: list[Flag]
    flaggers: dict[int, User] = field(default_factory=dict)
    open_count: int = 0
    first_flagged_at: datetime | None = None
    locked: bool = False
    status: str = "open"


POST_TYPES = ("question", "answer", "comment")


def queue(session: Session, *, actor: User | None, status: str = "open", limit: int | None = None,
          cursor: str | None = None) -> Page[FlaggedPost]:
    """Flags grouped by post, keyset-paginated (`limit` 1..100, default 50; `cursor` from the
    previous page's next_cursor). Order: posts with open flags first, the one whose oldest open flag
    waited longest first; then (status "all") posts whose flags are all handled, most recently
    flagged first; ties by post type and id, so the order is total and a page boundary stable while
    new flags arrive. `status`: "open" (only posts with open flags, and only their open flags) or
    "all". Moderators and staff (403 otherwise); 422 on `status`, `limit` or a `cursor` this
    function did not give. A post whose thread is gone is left out of its page (the cursor still
    moves past it), so a page may hold fewer than `limit`."""
    from sqlalchemy import and_, case, or_, true

    from app.core.markdown import excerpt

    actor = permissions.require_user(actor, write=False)
    if not actor.can_moderate:
        raise Forbidden("Only moderators and staff can see the flag queue.")
    if status not in ("open", "all"):
        raise field_error("status", "status must be open or all.", "query")
    limit = clamp_limit(limit, default=50)
    after = _queue_cursor(cursor)
    open_n = func.sum(case((Flag.status == "open", 1), else_=0)).label("open_n")
    first_open = func.min(case((Flag.status == "open", Flag.created_at))).label("first_open")
    first_any = func.min(Flag.created_at).label("first_any")
    grouped = select(Flag.post_type, Flag.post_id, open_n, first_open, first_any)
    if status == "open":
        grouped = grouped.where(Flag.status == "open")
    g = grouped.group_by(Flag.post_type, Flag.post_id).subquery()

    def keyset(when, op, bucket_after):
        if after is None or after[0] != bucket_after:
            return true()
        _, at, ptype, pid = after
        return or_(op(when, at), and_(when == at, or_(op(g.c.post_type, ptype),
                                                      and_(g.c.post_type == ptype, op(g.c.post_id, pid)))))

    keys: list[tuple[int, datetime, str, int]] = []
    if after is None or after[0] == 0:
        rows = session.exec(select(g.c.post_type, g.c.post_id, g.c.first_open).where(
            g.c.open_n > 0, keyset(g.c.first_open, lambda a, b: a > b, 0))
            .order_by(g.c.first_open, g.c.post_type, g.c.post_id).limit(limit + 1)).all()
        keys += [(0, _aware(at), ptype, pid) for ptype, pid, at in rows]
    if status == "all" and len(keys) <= limit:
        rows = session.exec(select(g.c.post_type, g.c.post_id, g.c.first_any).where(
            g.c.open_n == 0, keyset(g.c.first_any, lambda a, b: a < b, 1))
            .order_by(g.c.first_any.desc(), g.c.post_type.desc(), g.c.post_id.desc())
            .limit(limit + 1 - len(keys))).all()
        keys += [(1, _aware(at), ptype, pid) for ptype, pid, at in rows]
    next_cursor = None
    if len(keys) > limit:
        keys = keys[:limit]
        last = keys[-1]
        next_cursor = encode_cursor([last[0], last[1].isoformat(), last[2], last[3]])
    if not keys:
        return Page(items=[], next_cursor=None)
    stmt = select(Flag).where(or_(*(and_(Flag.post_type == ptype, Flag.post_id.in_([k[3] for k in keys if k[2] == ptype]))
                                    for ptype in {k[2] for k in keys})))
    if status == "open":
        stmt = stmt.where(Flag.status == "open")
    groups: dict[tuple[str, int], list[Flag]] = {}
    for f in session.exec(stmt.order_by(Flag.id)).all():
        groups.setdefault((f.post_type, f.post_id), []).append(f)
    users = {u.id: u for u in session.exec(select(User).where(User.id.in_(
        {f.flagger_id for fs in groups.values() for f in fs}))).all()}
    out: list[FlaggedPost] = []
    for _, at, ptype, pid in keys:
        flags = groups.get((ptype, pid), [])
        try:
            ref = posts.load(session, ptype, pid, viewer=actor, include_deleted=True)
        except DomainError:  # its thread is gone
            continue
        open_flags = [f for f in flags if f.status == "open"]
        html = getattr(ref.post, "body_html", "")
        out.append(FlaggedPost(
            post_type=ptype, post_id=pid, url=ref.url, title=ref.title, excerpt=excerpt(html, 240),
            author=session.get(User, ref.author_id), hidden=posts.hidden_label(ref.post),
            deleted=ref.post.deleted_at is not None, flags=flags, flaggers=users,
            open_count=len(open_flags), first_flagged_at=at,
            locked=ref.question.locked_at is not None, status=ref.question.status))
    return Page(items=out, next_cursor=next_cursor)


def _aware(at: datetime) -> datetime:
    """A timestamp read back from an aggregate (SQLite gives it without a zone): aware UTC."""
    return at if at.tzinfo is not None else at.replace(tzinfo=UTC)


def _queue_cursor(cursor: str | None) -> tuple[int, datetime, str, int] | None:
    """The flag queue's cursor, [bucket (0 open, 1 handled), ISO time with zone, post type, post id];
    422 at ["query", "cursor"] for anything else (a forged one must not reach the database)."""
    values = decode_cursor(cursor, 4)
    if values is None:
        return None
    bucket, at, ptype, pid = values
    try:
        when = datetime.fromisoformat(at) if isinstance(at, str) else None
    except ValueError:
        when = None
    if (type(bucket) is not int or bucket not in (0, 1) or when is None or when.utcoffset() is None
            or ptype not in POST_TYPES or not is_id(pid)):
        raise field_error("cursor", "The cursor is not valid; start again from the first page.", "query")
    return bucket, when, ptype, pid


def my_flags(session: Session, *, actor: User | None, limit: int = 100) -> list[Flag]:
    """The actor's own flags, newest first, with their outcome (helpful / declined / open)."""
    actor = permissions.require_user(actor, write=False)
    return list(session.exec(select(Flag).where(Flag.flagger_id == actor.id)
                             .order_by(Flag.id.desc()).limit(limit)).all())
