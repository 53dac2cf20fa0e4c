"""Account self-service by e-mail: verification, password reset, change of address, sign-up notice.

Tokens (AccountToken) are 256-bit random strings sent only in the e-mail's link (`?token=`);
only their SHA-256 is stored. Each works once and expires: verification TOKEN_HOURS["verify"],
reset TOKEN_HOURS["reset"] (an hour, as OWASP's Forgot Password Cheat Sheet suggests for
short-lived reset tokens), change of address TOKEN_HOURS["email_change"]. A new token of the same
purpose does not cancel older unused ones (each still expires), except that a successful reset or
verification uses up every token of that purpose.

No enumeration: `request_password_reset` behaves the same (no error, same work in the database)
for unknown addresses; only the owner of an address (User.email_key) can reset by it.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from sqlalchemy import update
from sqlmodel import Session, select

from app.accounts import identity, passwords
from app.accounts.models import User
from app.accounts.schemas import EMAIL_RE as EMAIL_SHAPE
from app.core import security
from app.core.db import utcnow
from app.core.errors import Conflict, InvalidInput, field_error
from app.mail import outbox
from app.mail.models import AccountToken, MailSettings

TOKEN_HOURS = {"verify": 72, "reset": 1, "email_change": 24}


class BadToken(InvalidInput):
    """A token that is unknown, used or expired: 400 problem (CONTRACT: password-reset/confirm)."""

    status = 400
    type = "/problems/invalid-token"
    title = "This link is no longer valid"


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _issue(session: Session, user: User, purpose: str, email: str, now: datetime) -> str:
    token = secrets.token_urlsafe(32)
    session.add(AccountToken(user_id=user.id, purpose=purpose, token_hash=_hash(token), email=email,
                             created_at=now, expires_at=now + timedelta(hours=TOKEN_HOURS[purpose])))
    session.flush()
    return token


def check_token(session: Session, token: str, purpose: str, now: datetime | None = None) -> AccountToken:
    """The live token for `purpose` ("verify", "reset", "email_change") without using it, or
    BadToken with the reason (not valid / used already / expired): for pages that show a form or
    a confirm button before the POST that uses the link (mail scanners follow GET links)."""
    now = now or utcnow()
    if not isinstance(token, str) or not 20 <= len(token) <= 100:
        raise BadToken("This link is not valid. Ask for a new one.")
    row = session.exec(select(AccountToken).where(AccountToken.token_hash == _hash(token),
                                                  AccountToken.purpose == purpose)).first()
    if row is None:
        raise BadToken("This link is not valid. Ask for a new one.")
    if row.used_at is not None:
        raise BadToken("This link was used already; each link works once. Ask for a new one if you need to.")
    if row.expires_at <= now:
        raise BadToken("This link has expired. Ask for a new one.")
    return row


def _use(session: Session, token: str, purpose: str, now: datetime) -> AccountToken:
    """The live token (marked used, with every other unused token of its user and purpose), or BadToken."""
    if not isinstance(token, str) or not 20 <= len(token) <= 100:
        raise BadToken("This link is not valid. Ask for a new one.")
    row = session.exec(select(AccountToken).where(AccountToken.token_hash == _hash(token),
                                                  AccountToken.purpose == purpose).with_for_update()).first()
    if row is None:
        raise BadToken("This link is not valid. Ask for a new one.")
    if row.used_at is not None:
        raise BadToken("This link was used already; each link works once. Ask for a new one if you need to.")
    if row.expires_at <= now:
        raise BadToken("This link has expired. Ask for a new one.")
    # Atomic: of two concurrent uses, only one updates the row while it is unused.
    done = session.exec(update(AccountToken).where(AccountToken.id == row.id, AccountToken.used_at.is_(None))
                        .values(used_at=now))
    if not done.rowcount:
        raise BadToken("This link was used already; each link works once.")
    session.exec(update(AccountToken).where(AccountToken.user_id == row.user_id, AccountToken.purpose == purpose,
                                            AccountToken.used_at.is_(None)).values(used_at=now))
    session.flush()
    return row


def _link(path: str, token: str) -> str:
    return f"{outbox.config().base_url}{path}?token={token}"


def settings_row(session: Session, user_id: int) -> MailSettings:
    """The user's MailSettings row, created (with the defaults) when missing."""
    row = session.get(MailSettings, user_id)
    if row is None:
        row = MailSettings(user_id=user_id)
        session.add(row)
        session.flush()
    return row


def is_verified(session: Session, user: User) -> bool:
    row = session.get(MailSettings, user.id)
    return row is not None and row.email_verified_at is not None


def may_sign_in_by_email(session: Session, user: User) -> bool:
    """Whether the owner of an address may sign in by it: once it is verified, or when no
    verification was ever asked of the account (staff-made accounts count as verified; accounts
    older than e-mail verification keep signing in by address). A self-service sign-up signs in by
    username until its address is confirmed, so that sign-in by address behaves the same whether
    or not the address already belonged to someone (no enumeration)."""
    if is_verified(session, user):
        return True
    return session.exec(select(AccountToken.id).where(AccountToken.user_id == user.id,
                                                      AccountToken.purpose == "verify")).first() is None


# --- verification -------------------------------------------------------------------------------

def send_verification(session: Session, user: User, now: datetime | None = None) -> bool:
    """Mail a verification link to the user's address (only when the account owns it: a sign-up
    with someone else's address gets nothing, the owner gets `signup_attempt` instead). Returns
    whether a message was written (False: already verified, not the owner, or rate-limited)."""
    now = now or utcnow()
    if user.email_key is None or is_verified(session, user):
        return False
    token = _issue(session, user, "verify", user.email, now)
    return outbox.enqueue(session, to=user.email, user=user, kind="verify_email", template="verify_email",
                          subject=f"Confirm your e-mail address for {outbox.config().site_name}",
                          context={"address": user.email, "link": _link("/verify-email", token),
                                   "hours": TOKEN_HOURS["verify"]}, now=now) is not None


def after_signup(session: Session, user: User, now: datetime | None = None) -> None:
    """Sign-up's mail: a verification link, or (when the address belongs to another account) one
    notice to that account's owner, never telling the new account anything (no enumeration)."""
    now = now or utcnow()
    settings_row(session, user.id)
    if user.email_key is not None:
        send_verification(session, user, now)
        return
    owner = session.exec(select(User).where(User.email_key == identity.email_key(user.email))).first()
    if owner is not None and owner.is_active:
        outbox.enqueue(session, to=owner.email, user=owner, kind="signup_attempt", template="signup_attempt",
                       subject=f"Someone tried to sign up with your address at {outbox.config().site_name}",
                       now=now)


def verify_email(session: Session, token: str, now: datetime | None = None) -> User:
    """Use a verification token: the address it was sent to is verified (if still the user's)."""
    now = now or utcnow()
    row = _use(session, token, "verify", now)
    user = session.get(User, row.user_id)
    if user is None or not user.is_active or identity.email_key(user.email) != identity.email_key(row.email):
        raise BadToken("This link is for an address the account no longer uses.")
    ms = settings_row(session, user.id)
    ms.email_verified_at, ms.bounced_at, ms.bounce_reason = now, None, None
    session.add(ms)
    session.flush()
    return user


def mark_verified(session: Session, user: User, now: datetime | None = None) -> None:
    """Staff-made accounts (create-user) and tests: the address counts as verified."""
    ms = settings_row(session, user.id)
    ms.email_verified_at = now or utcnow()
    session.add(ms)
    session.flush()


# --- password reset -----------------------------------------------------------------------------

def request_password_reset(session: Session, email: str, now: datetime | None = None) -> None:
    """Write a reset link to the owner of `email`, if there is one; same outcome otherwise."""
    now = now or utcnow()
    key = identity.email_key(email or "")
    user = session.exec(select(User).where(User.email_key == key)).first() if key else None
    if user is None or not user.is_active:
        return
    if outbox.over_limit(session, kind="password_reset", to_key=key, user_id=user.id, now=now):
        return
    token = _issue(session, user, "reset", user.email, now)
    outbox.enqueue(session, to=user.email, user=user, kind="password_reset", template="password_reset",
                   subject=f"Reset your password at {outbox.config().site_name}",
                   context={"link": _link("/password-reset/confirm", token), "minutes": TOKEN_HOURS["reset"] * 60},
                   now=now)


def confirm_password_reset(session: Session, token: str, password: str, *, site_name: str = "",
                           now: datetime | None = None) -> User:
    """Set a new password with a reset token: 400 (BadToken) when unknown, used or expired, 422 on
    `password` by the password policy. Every session and token of the user ends; the address is
    now known to work, so it counts as verified."""
    now = now or utcnow()
    from app.accounts import service as accounts_service

    row = _use(session, token, "reset", now)
    user = session.get(User, row.user_id)
    if user is None or not user.is_active:
        raise BadToken("This link is not valid. Ask for a new one.")
    passwords.check(password, username=user.username, email=user.email, field="password",
                    context=tuple(w for w in ("groundswell", site_name) if w))
    user.password_hash = security.hash_password(password)
    accounts_service.sign_out_everywhere(session, user)
    if identity.email_key(row.email) == user.email_key:
        ms = settings_row(session, user.id)
        ms.email_verified_at = ms.email_verified_at or now
        ms.bounced_at = None
        session.add(ms)
    session.flush()
    return user


# --- change of address --------------------------------------------------------------------------

def request_email_change(session: Session, user: User, new_email: str, password: str,
                         now: datetime | None = None) -> None:
    """Send a confirmation link to `new_email`; the account keeps its address until it is used.
    422 on `password` when wrong, on `email` when not an address or the same one. An address
    owned by another account gets no link and no error (no enumeration); confirming fails then.
    403 Suspended while the member is suspended (docs/moderation.md)."""
    from app.accounts import permissions

    permissions.require_user(user)
    now = now or utcnow()
    if not security.verify_password(password or "", user.password_hash):
        raise field_error("password", "Your password is not right.")
    new_email = identity.normalise_email(new_email or "")
    if not EMAIL_SHAPE.match(new_email) or len(new_email) > 254:
        raise field_error("email", "Enter an e-mail address like name@example.com.")
    key = identity.email_key(new_email)
    if key == user.email_key:
        raise field_error("email", "This is your current address already.")
    owner = session.exec(select(User.id).where(User.email_key == key)).first()
    if owner is not None:
        return
    token = _issue(session, user, "email_change", new_email, now)
    outbox.enqueue(session, to=new_email, user=user, kind="email_change", template="email_change",
                   subject=f"Confirm your new e-mail address for {outbox.config().site_name}",
                   context={"address": new_email, "link": _link("/email/confirm-change", token),
                            "hours": TOKEN_HOURS["email_change"]}, now=now)


def confirm_email_change(session: Session, token: str, now: datetime | None = None) -> User:
    """Use a change-of-address token: the new address becomes the account's, verified."""
    now = now or utcnow()
    row = _use(session, token, "email_change", now)
    user = session.get(User, row.user_id)
    if user is None or not user.is_active:
        raise BadToken("This link is not valid.")
    key = identity.email_key(row.email)
    if session.exec(select(User.id).where(User.email_key == key, User.id != user.id)).first() is not None:
        raise Conflict("Another account uses this address now; choose another one.")
    user.email, user.email_key = row.email, key
    ms = settings_row(session, user.id)
    ms.email_verified_at, ms.bounced_at, ms.bounce_reason = now, None, None
    session.add_all([user, ms])
    session.flush()
    return user
