"""Daily and weekly digests, built by the worker's "email-digests" job.

A user gets the daily digest at `digest_hour` (0-23, default 8) in their time zone (IANA name,
default UTC), the weekly one at the same hour on Mondays. A digest holds the user's notifications
whose kind's delivery is "daily" (or "weekly"), created since the previous digest of that period
(at most one period back for the first one) and still unread on the site at build time; none is
sent when nothing is left. The job runs every few minutes; a digest is due when the local hour is
the chosen one and none was built in the past 20 hours (6 days for weekly), so a late or
restarted worker sends it once, later in that hour, and a missed hour is skipped, not doubled.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from app.accounts.models import User
from app.core import timezones
from app.core.db import utcnow, writer
from app.mail import delivery, outbox
from app.mail.models import DeliveryPreference, MailSettings
from app.notifications.models import Notification

PERIODS = {"daily": (timedelta(days=1), timedelta(hours=20)),
           "weekly": (timedelta(days=7), timedelta(days=6))}
MAX_ITEMS = 50


zone = timezones.zone  # a stored name's ZoneInfo; UTC for one that is not an IANA zone


def due(ms: MailSettings, period: str, now: datetime) -> bool:
    """Whether `period`'s digest is due for this user at `now` (see the module docstring)."""
    local = now.astimezone(zone(ms.timezone))
    if local.hour != ms.digest_hour or (period == "weekly" and local.weekday() != 0):
        return False
    last = ms.last_daily_digest_at if period == "daily" else ms.last_weekly_digest_at
    return last is None or now - _aware(last) >= PERIODS[period][1]


def _aware(value: datetime) -> datetime:
    from datetime import UTC

    return value if value.tzinfo else value.replace(tzinfo=UTC)


def build(session: Session, user: User, ms: MailSettings, period: str, now: datetime) -> int:
    """Write one digest message for `user` (0 or 1 messages); records that it was built. Notices
    about posts `user` may no longer see are left out (notifications.service.visible_condition)."""
    prefs = delivery.preferences(session, user.id)
    last = ms.last_daily_digest_at if period == "daily" else ms.last_weekly_digest_at
    since = max(_aware(last), now - PERIODS[period][0]) if last else now - PERIODS[period][0]
    if period == "daily":
        ms.last_daily_digest_at = now
    else:
        ms.last_weekly_digest_at = now
    session.add(ms)
    if prefs.get(delivery.ALL) == "in_app" or not delivery.can_email(user, ms):
        return 0
    from app.notifications.service import visible_condition

    # Decided now, not when the notice was made: a post hidden or deleted since is left out
    # (the same rule as the unread count and the list).
    rows = session.exec(select(Notification).where(
        Notification.user_id == user.id, Notification.read_at.is_(None),
        Notification.created_at > since, Notification.created_at <= now, visible_condition(user))
        .order_by(Notification.id.desc()).limit(500)).all()
    items = [n for n in rows if prefs.get(n.kind, delivery.default_for(n.kind)) == period][:MAX_ITEMS]
    if not items:
        return 0
    base = outbox.config().base_url
    listed = [{"text": n.text, "link": n.url if n.url.startswith("http") else f"{base}{n.url}"}
              for n in reversed(items)]
    row = outbox.enqueue(session, to=user.email, user=user, kind=f"digest_{period}", template="digest",
                         subject=f"Your {period} digest from {outbox.config().site_name}: {len(items)} new",
                         context={"items": listed, "period": period}, unsubscribe_kind=delivery.ALL, now=now)
    return int(row is not None)


def run(engine: Engine, now: datetime | None = None) -> int:
    """Build every digest due at `now` (the clock: tests move it); returns how many were written.

    Candidates are the members with an unread notification from the past week (index
    ix_notifications_created), read in chunks of 500: the job's cost follows the community's
    recent activity, not its number of members. A member with nothing unread would get no
    digest anyway, and the next digest looks back at most one period, so skipping them changes
    no message."""
    now = now or utcnow()
    written = 0
    with Session(writer(engine), expire_on_commit=False) as s, s.begin():
        recent = sorted(set(s.exec(select(Notification.user_id).where(
            Notification.created_at > now - PERIODS["weekly"][0], Notification.created_at <= now,
            Notification.read_at.is_(None)).distinct()).all()))
        for start in range(0, len(recent), 500):
            chunk = recent[start:start + 500]
            candidates = s.exec(select(MailSettings).where(MailSettings.user_id.in_(chunk),
                                                           MailSettings.email_verified_at.is_not(None),
                                                           MailSettings.bounced_at.is_(None))).all()
            wanted = set(s.exec(select(DeliveryPreference.user_id).where(
                DeliveryPreference.user_id.in_(chunk), DeliveryPreference.delivery == "weekly")).all())
            for ms in candidates:
                for period in ("daily", "weekly"):
                    if period == "weekly" and ms.user_id not in wanted:
                        continue  # no default kind is weekly: only users who chose it
                    if due(ms, period, now):
                        user = s.get(User, ms.user_id)
                        if user is not None:
                            written += build(s, user, ms, period, now)
    return written
