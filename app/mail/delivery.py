"""Per-kind delivery of notifications: in-app only, e-mail at once, daily or weekly digest, or off.

`on_notified` is called by app.notifications.service.notify() for every in-app notification, so
every kind (including ones added later) can reach e-mail. Defaults: KINDS below; a kind not listed
gets UNKNOWN_DEFAULT ("daily": it reaches the inbox without flooding it), except kinds starting with
"moderation" (decisions about the person: at once). Documented in docs/notifications.md.

E-mail goes only to an address that is verified, not bounced, owned by the account (User.email_key)
of an active user; a user's "no e-mail" switch (preference kind "*" = "in_app") silences all but
account mail.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlmodel import Session, select

from app.accounts import identity
from app.accounts.models import User
from app.core.errors import field_error
from app.mail.models import DeliveryPreference, MailSettings

DELIVERIES = ("in_app", "email", "daily", "weekly", "off")
DELIVERY_LABELS = {"in_app": "On the site only", "email": "E-mail at once", "daily": "Daily digest",
                   "weekly": "Weekly digest", "off": "Off"}

# kind → (what the preferences page calls it, default delivery)
KINDS: dict[str, tuple[str, str]] = {
    "answer_posted": ("A new answer to my question", "email"),
    "comment_posted": ("A comment on my post", "email"),
    "answer_accepted": ("My answer is accepted", "email"),
    "answer_upvoted": ("Upvotes on my answers", "in_app"),
    "mention": ("Someone mentions me (@username)", "email"),
    "quoted": ("Someone quotes my post", "email"),
    "followed_question_answer": ("A new answer on a question I follow", "daily"),
    "followed_new_question": ("A new question in a product or tag I follow", "daily"),
    "followed_user_post": ("A new question or answer by someone I follow", "daily"),
    "question_solved": ("A question I also have (“me too”) is solved", "email"),
    "escalation_resolved": ("My escalated question is resolved", "email"),
    "escalation_assigned": ("An escalation is assigned to me (staff)", "email"),
    "private_message": ("A private message from our support team", "email"),
    "private_message_staff": ("A customer's private message in an escalation (staff)", "email"),
    "question_closed_duplicate": ("My question is closed as a duplicate", "email"),
    "api_key_created": ("An API key that acts as me is created", "email"),
    "badge_awarded": ("I earn a badge", "in_app"),
}
# kind → what the unsubscribe page stops, as a noun phrase that reads after "Stop …?" and "You no
# longer get …." (the preference labels above are first-person menu items and do not).
UNSUBSCRIBE_PHRASES: dict[str, str] = {
    "answer_posted": "e-mails about new answers to your questions",
    "comment_posted": "e-mails about comments on your posts",
    "answer_accepted": "e-mails about your answers being accepted",
    "answer_upvoted": "e-mails about upvotes on your answers",
    "mention": "e-mails about posts that mention you",
    "quoted": "e-mails about posts that quote yours",
    "followed_question_answer": "e-mails about new answers on questions you follow",
    "followed_new_question": "e-mails about new questions in the products and tags you follow",
    "followed_user_post": "e-mails about new questions and answers by people you follow",
    "question_solved": "e-mails about solutions to questions you also have (“me too”)",
    "escalation_resolved": "e-mails about your escalated questions being resolved",
    "escalation_assigned": "e-mails about escalations assigned to you",
    "private_message": "e-mails about private messages from our support team",
    "private_message_staff": "e-mails about customers' private messages in escalations",
    "question_closed_duplicate": "e-mails about your questions being closed as duplicates",
    "api_key_created": "e-mails about new API keys that act as you",
    "badge_awarded": "e-mails about badges you earn",
    # kinds sent by moderation and administration that the preferences page does not list
    "post_hidden": "e-mails about your posts being hidden",
    "post_pending": "e-mails about your posts waiting for review",
    "post_approved": "e-mails about your posts being approved",
    "suspended": "e-mails about your account being suspended",
    "unsuspended": "e-mails about your account's suspension being lifted",
    "webhook_disabled": "e-mails about webhooks being turned off after failures",
}
UNKNOWN_DEFAULT = "daily"
ALL = "*"  # preference row meaning "no e-mail at all" (delivery "in_app"), set by unsubscribe-all


def default_for(kind: str) -> str:
    """The delivery a user gets for `kind` until they choose."""
    if kind in KINDS:
        return KINDS[kind][1]
    return "email" if kind.startswith("moderation") else UNKNOWN_DEFAULT


def unsubscribe_phrase(kind: str) -> str:
    """What unsubscribing from `kind` stops, as a noun phrase for "Stop …?" and "You no longer get
    …." (UNSUBSCRIBE_PHRASES; "*" = every notification e-mail; flag decisions and `moderation…`
    kinds by their family; any other kind names itself in quotes)."""
    if kind == ALL:
        return "e-mail notifications of any kind"
    if kind in UNSUBSCRIBE_PHRASES:
        return UNSUBSCRIBE_PHRASES[kind]
    if kind.startswith("flag_"):
        return "e-mails about moderators' decisions on your flags"
    if kind.startswith("moderation"):
        return "e-mails about moderators' decisions on your posts and account"
    return f"e-mail notifications of the kind “{kind.replace('_', ' ')}”"


def preferences(session: Session, user_id: int) -> dict[str, str]:
    """kind → delivery for every known kind (and any other kind the user has set), plus "*"."""
    chosen = {p.kind: p.delivery for p in session.exec(
        select(DeliveryPreference).where(DeliveryPreference.user_id == user_id)).all()}
    result = {kind: chosen.get(kind, default) for kind, (_, default) in KINDS.items()}
    result.update({k: v for k, v in chosen.items() if k not in result})
    result.setdefault(ALL, "email")
    return result


def is_known_kind(session: Session, user_id: int, kind: str) -> bool:
    """Whether a preference for `kind` means anything to this user: a kind of KINDS, a
    `moderation…` kind, or a kind they have been notified of or chose a delivery for before.
    The API answers 422 naming anything else (a typo would otherwise be stored silently)."""
    from app.notifications.models import Notification

    if kind in KINDS or kind.startswith("moderation"):
        return True
    if session.exec(select(Notification.id).where(Notification.user_id == user_id, Notification.kind == kind)
                    .limit(1)).first() is not None:
        return True
    return session.exec(select(DeliveryPreference.id).where(DeliveryPreference.user_id == user_id,
                                                            DeliveryPreference.kind == kind)).first() is not None


def set_preference(session: Session, user: User, kind: str, delivery: str) -> None:
    """Choose the delivery of one kind (422 on `delivery` when not one of DELIVERIES; "*" takes
    "email" (e-mail allowed) or "in_app" (no e-mail at all))."""
    if delivery not in DELIVERIES or (kind == ALL and delivery not in ("email", "in_app")):
        raise field_error("delivery", f"Choose one of: {', '.join(DELIVERIES)}.")
    if not kind or len(kind) > 40:
        raise field_error("kind", "Unknown notification kind.")
    row = session.exec(select(DeliveryPreference).where(DeliveryPreference.user_id == user.id,
                                                        DeliveryPreference.kind == kind)).first()
    if row is None:
        row = DeliveryPreference(user_id=user.id, kind=kind, delivery=delivery)
    row.delivery = delivery
    session.add(row)
    session.flush()


def mail_settings(session: Session, user_id: int) -> MailSettings:
    """The user's row (a transient one with the defaults when there is none yet)."""
    return session.get(MailSettings, user_id) or MailSettings(user_id=user_id)


def can_email(user: User | None, ms: MailSettings | None) -> bool:
    """Non-account mail may go to this user's address (see the module docstring)."""
    return (user is not None and user.is_active and bool(user.email) and ms is not None
            and ms.email_verified_at is not None and ms.bounced_at is None
            and user.email_key is not None and user.email_key == identity.email_key(user.email))


def on_notified(session: Session, user_ids: Iterable[int], *, kind: str, text: str, url: str,
                now: datetime) -> int:
    """E-mail at once those of `user_ids` whose delivery for `kind` is "email"; returns how many
    messages were written (digests are built later by app.mail.digests)."""
    ids = sorted(set(user_ids))
    if not ids:
        return 0
    settings = {m.user_id: m for m in session.exec(select(MailSettings).where(
        MailSettings.user_id.in_(ids), MailSettings.email_verified_at.is_not(None),
        MailSettings.bounced_at.is_(None))).all()}
    if not settings:
        return 0
    chosen: dict[int, dict[str, str]] = {}
    for p in session.exec(select(DeliveryPreference).where(DeliveryPreference.user_id.in_(list(settings)),
                                                           DeliveryPreference.kind.in_([kind, ALL]))).all():
        chosen.setdefault(p.user_id, {})[p.kind] = p.delivery
    from app.mail import outbox

    written = 0
    users = {u.id: u for u in session.exec(select(User).where(User.id.in_(list(settings)))).all()}
    for uid, ms in settings.items():
        mine = chosen.get(uid, {})
        if mine.get(ALL) == "in_app" or mine.get(kind, default_for(kind)) != "email":
            continue
        user = users.get(uid)
        if not can_email(user, ms):
            continue
        link = url if url.startswith("http") else f"{outbox.config().base_url}{url}"
        row = outbox.enqueue(session, to=user.email, user=user, kind=kind, template="notification",
                             subject=_subject(text), context={"text": text, "link": link,
                                                              "kind_label": KINDS.get(kind, (kind,))[0]},
                             now=now)
        written += row is not None
    return written


def _subject(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= 120 else text[:119] + "…"
