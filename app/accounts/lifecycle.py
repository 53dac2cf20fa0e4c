"""Self-service on one's own account: profile settings, export of one's data, deleting the account.

Deleting an account (docs/notifications.md, "Deleting an account"):
* posts and comments stay (they were published under the site's licence) and show the author as
  "deleted user"; the profile page and `/users/{name}` answer 404;
* the username, e-mail address, password, bio, display name and sign-up fingerprint are erased;
  every session and token ends; follows, preferences, tokens, notifications and unsent mail go,
  and so do the private support messages of the escalations of their questions;
* votes the person cast stay (scores do not jump; they were anonymous anyway), and the
  reputation ledger is kept so that others' reputation from those votes is unchanged; the deleted
  account's own reputation no longer shows anywhere.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete
from sqlmodel import Session, select

from app.accounts import service as accounts_service
from app.accounts.models import ApiKey, User
from app.core import security, timezones
from app.core.db import utcnow
from app.core.errors import field_error
from app.mail import accounts as mail_accounts
from app.mail.models import AccountToken, DeliveryPreference, EmailOutbox, MailSettings

TIMEZONE_MAX = timezones.NAME_MAX


def update_settings(session: Session, user: User, *, display_name: str | None = None, timezone: str | None = None,
                    digest_hour: int | None = None, auto_follow: bool | None = None,
                    site_name: str = "") -> MailSettings:
    """Change what is given: display name (rules: accounts_service.clean_display_name; empty shows
    the username), time zone (an IANA name such as Europe/Berlin: app/core/timezones.py), digest hour (0-23, local),
    auto-follow. 422 per field. Changing the display name is refused to a suspended member (403
    Suspended); the other settings (notification delivery) stay open to them."""
    from app.accounts import permissions

    ms = mail_accounts.settings_row(session, user.id)
    if display_name is not None:
        permissions.require_user(user)
        user.display_name = accounts_service.clean_display_name(session, display_name, user=user,
                                                               site_name=site_name)
    if timezone is not None:
        ms.timezone = timezones.require_zone(timezone)
    if digest_hour is not None:
        if not 0 <= digest_hour <= 23:
            raise field_error("digest_hour", "Choose an hour from 0 to 23.")
        ms.digest_hour = digest_hour
    if auto_follow is not None:
        ms.auto_follow = bool(auto_follow)
    session.add_all([user, ms])
    session.flush()
    return ms


def export_data(session: Session, user: User) -> dict:
    """Everything the site holds about `user` that is theirs, as JSON-ready values: a dict of
    sections, each list oldest first (in the order the rows were written, by id), saved views in
    their dashboard order (position, then id), so two exports of the same data are identical.

    What they may no longer see is left out: their posts and comments in the internal space once
    they are not staff (app/internal/visibility.py `can_see_internal`), and notices the
    notification list hides (`visible_condition`); the ledger names no post they cannot open."""
    from app.answers.models import Answer
    from app.comments.models import Comment
    from app.escalation import messages as private_messages
    from app.follows.models import Follow
    from app.notifications.models import Notification
    from app.questions.models import Question
    from app.reputation import service as reputation
    from app.reputation.models import ReputationEvent
    from app.savedviews.models import SavedView
    from app.votes.models import Vote

    def rows(model, *where, fields, order=None):
        # Oldest first (by id, as written), saved views as their owner arranged them: a list
        # in whatever order the database's plan gives would change between two exports.
        order = order if order is not None else (model.id,)
        return [{f: _json(getattr(r, f)) for f in fields}
                for r in session.exec(select(model).where(*where).order_by(*order)).all()]

    from sqlalchemy import and_, exists, or_, true

    from app.internal.visibility import can_see_internal, public_only
    from app.notifications import service as notifications

    # The internal space (docs/internal.md) is staff's, not its authors': someone who wrote there
    # as staff and is now a customer gets none of it, as no other route shows it to them.
    if can_see_internal(user):
        public_question = public_answer = public_comment = true()
    else:
        public_question = public_only()
        public_answer = exists().where(Question.id == Answer.question_id, public_only())
        public_comment = or_(
            and_(Comment.post_type == "question", exists().where(Question.id == Comment.post_id, public_only())),
            and_(Comment.post_type == "answer", exists().where(
                Answer.id == Comment.post_id, Question.id == Answer.question_id, public_only())))
    ms = session.get(MailSettings, user.id) or MailSettings(user_id=user.id)
    events = list(session.exec(select(ReputationEvent).where(ReputationEvent.user_id == user.id)
                               .order_by(ReputationEvent.id)).all())
    return {
        "exported_at": _json(utcnow()),
        "account": {f: _json(getattr(user, f)) for f in ("id", "username", "display_name", "email", "bio", "role",
                                                          "reputation", "created_at")},
        "mail_settings": {f: _json(getattr(ms, f)) for f in ("email_verified_at", "timezone", "digest_hour",
                                                              "auto_follow", "bounced_at")},
        "notification_preferences": {p.kind: p.delivery for p in session.exec(
            select(DeliveryPreference).where(DeliveryPreference.user_id == user.id)
            .order_by(DeliveryPreference.kind)).all()},
        "follows": rows(Follow, Follow.user_id == user.id, fields=("target_type", "target_key", "created_at")),
        "questions": rows(Question, Question.author_id == user.id, public_question,
                          fields=("id", "title", "body", "created_at", "deleted_at")),
        "answers": rows(Answer, Answer.author_id == user.id, public_answer,
                        fields=("id", "question_id", "body", "created_at")),
        "comments": rows(Comment, Comment.author_id == user.id, public_comment,
                         fields=("id", "post_type", "post_id", "body", "created_at")),
        "votes": rows(Vote, Vote.voter_id == user.id, fields=("post_type", "post_id", "value")),
        # The ledger as its owner reads it (app/reputation/service.py ledger_entries): every event
        # with its points, no id for a post they cannot open (someone else's, now hidden or deleted).
        "reputation_events": [
            {"kind": e.kind, "amount": e.amount, "post_type": e.post_type, "post_id": seen.post_id,
             "post_visible": seen.post_visible, "occurred_at": _json(e.occurred_at)}
            for e, seen in zip(events, reputation.ledger_entries(session, events, viewer=user), strict=True)],
        # The notices their list shows (app/notifications/service.py visible_condition), no more:
        # not one about a post they can no longer see.
        "notifications": rows(Notification, Notification.user_id == user.id, notifications.visible_condition(user),
                              fields=("kind", "text", "url", "created_at", "read_at")),
        # The private support threads of their own escalations (theirs; never in any public export).
        "private_messages": private_messages.export_for(session, user),
        "saved_views": rows(SavedView, SavedView.owner_id == user.id, order=(SavedView.position, SavedView.id),
                            fields=("name", "position", "shared", "sort", "product_id", "tag", "unanswered", "unsolved",
                                    "has_me_too", "escalation_status", "breaching_hours", "assigned_to_me",
                                    "created_at")),
    }


def _json(value):
    if isinstance(value, datetime):
        return value.isoformat()
    return value


def deleted_username(session: Session, user_id: int) -> str:
    """The username a deleted account gets: `deleted-<id>`, or `deleted-<id>-2`, `-3`… when an
    account has that name already (sign-up refuses such names, identity.system_name_reason, but a
    database from before that rule may hold one). Unique, so the deletion never fails on it."""
    base = f"deleted-{user_id}"
    taken = set(session.exec(select(User.username).where(User.username.startswith(base, autoescape=True),
                                                          User.id != user_id)).all())
    name, n = base, 1
    while name in taken:
        n += 1
        name = f"{base}-{n}"
    return name


def delete_account(session: Session, user: User, password: str, now: datetime | None = None) -> None:
    """Delete the account as the module docstring says; 422 on `password` when it is not right."""
    from app.follows.models import Follow
    from app.notifications.models import Notification
    from app.savedviews.models import SavedView

    if not security.verify_password(password or "", user.password_hash):
        raise field_error("password", "Your password is not right.")
    now = now or utcnow()
    accounts_service.sign_out_everywhere(session, user)
    from app.escalation import messages as private_messages

    private_messages.delete_for_user(session, user)  # their serial numbers and addresses go too
    for model, column in ((Follow, Follow.user_id), (DeliveryPreference, DeliveryPreference.user_id),
                          (AccountToken, AccountToken.user_id), (Notification, Notification.user_id),
                          (MailSettings, MailSettings.user_id), (SavedView, SavedView.owner_id)):
        session.exec(delete(model).where(column == user.id))
    session.exec(delete(EmailOutbox).where(EmailOutbox.user_id == user.id, EmailOutbox.status == "pending"))
    for key in session.exec(select(ApiKey).where(ApiKey.user_id == user.id, ApiKey.revoked_at.is_(None))).all():
        key.revoked_at = now
        session.add(key)
    user.username = deleted_username(session, user.id)
    user.username_key = None
    user.email, user.email_key = "", None
    user.password_hash = None
    user.display_name, user.bio = "deleted user", ""
    user.signup_fingerprint = None
    user.is_active = False
    session.add(user)
    session.flush()
