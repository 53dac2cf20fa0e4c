"""Accounts: registration, authentication, roles, API keys."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import delete
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from app.accounts import identity, passwords
from app.accounts.models import ApiKey, AuthSession, Role, User
from app.accounts.schemas import UserCreate
from app.core import security
from app.core.db import utcnow
from app.core.errors import Conflict, Forbidden, NotFound, field_error


def get(session: Session, user_id: int) -> User | None:
    return session.get(User, user_id)


def get_by_username(session: Session, username: str) -> User:
    user = session.exec(select(User).where(User.username == username.lower())).first()
    if user is None or not user.is_active:
        raise NotFound(f"There is no user called {username!r}.")
    return user


def users_by_id(session: Session, ids: set[int]) -> dict[int, User]:
    if not ids:
        return {}
    return {u.id: u for u in session.exec(select(User).where(User.id.in_(ids))).all()}


def clean_display_name(session: Session, raw: str, *, user: User | None, site_name: str = "") -> str:
    """The display name to store for `user` (None: an account being created as a customer), or
    422 on `display_name` (docs/moderation.md, "Display names"):

    * trimmed, whitespace runs become one space, at most 60 characters, empty allowed (shows the
      username); no format/control or other invisible characters; at least one visible character;
    * for a member who is not staff/moderator/admin, also: not equal to nor a look-alike of
      (identity.display_name_key) any staff, moderator or admin member's display name or username;
      no AUTHORITY_WORDS ("support", "staff", "admin"...) and not the site name in brackets."""
    from app.accounts.models import MODERATING_ROLES

    name, problem = identity.display_name_problem(raw)
    if problem:
        raise field_error("display_name", problem)
    if not name or (user is not None and user.role in MODERATING_ROLES):
        return name
    problem = identity.display_name_authority(name, site_name or "Groundswell")
    if problem:
        raise field_error("display_name", problem)
    key = identity.display_name_key(name)
    for username, display in session.exec(select(User.username, User.display_name).where(
            User.role.in_([r.value for r in MODERATING_ROLES]), User.is_active.is_(True))):
        if key and key in (identity.display_name_key(username), identity.display_name_key(display or "")):
            raise field_error("display_name", "This display name is too close to a staff member's name; "
                                              "choose one that cannot be taken for theirs.")
    return name


def register(session: Session, data: UserCreate, *, role: Role = Role.customer, display_name: str = "",
             self_service: bool = False, site_name: str = "", password_policy: bool = True) -> User:
    """Create an account (app/accounts/identity.py and passwords.py give the rules).

    `self_service` (sign-up on the forum or the API): reserved names are refused (422), and an
    e-mail address that another account owns (or a look-alike of it) is *not* reported: the
    account is created all the same, without owning the address (User.email_key stays NULL), so
    that the answer never tells whether an address is registered. Otherwise (staff with
    `groundswell create-user`) reserved names are allowed and a taken address is a 409. System
    names (identity.system_name_reason: `deleted-…`) are a 422 on `username` for everyone.
    A taken username is always a 409 (usernames are public). `password_policy=False` only for the
    demo community, whose published password is refused in production anyway (app/cli.py)."""
    if display_name:
        from types import SimpleNamespace

        display_name = clean_display_name(session, display_name, user=SimpleNamespace(role=role.value),
                                          site_name=site_name)
    reason = identity.system_name_reason(data.username)  # for everyone, staff included
    if self_service and not reason:
        reason = identity.reserved_reason(data.username, site_name)
    if reason:
        raise field_error("username", reason)
    if password_policy:
        passwords.check(data.password, username=data.username, email=data.email,
                        context=tuple(w for w in ("groundswell", site_name) if w))
    if session.exec(select(User.id).where(User.username == data.username)).first() is not None:
        raise _username_taken(data.username)
    name_key = identity.username_key(data.username)
    look_alike = session.exec(select(User.username).where(User.username_key == name_key)).first()
    if look_alike is not None:
        raise Conflict(f"The username {data.username!r} is taken: it is too close to the existing {look_alike!r} "
                       "(names that differ only by - and _, or by 0/o, 1/l, are one name here); choose another.")
    from app.moderation.suspensions import is_blocked

    if is_blocked(session, data.email):
        raise field_error("email", "Sign-up with this e-mail address is not possible here.")
    if self_service:  # the spam check on every new profile (app/moderation/spam.py)
        from app.moderation.spam import signup_refusal

        refusal = signup_refusal(username=data.username, email=data.email, display_name=display_name)
        if refusal:
            raise field_error("username", refusal)
    key = identity.email_key(data.email)
    owned = session.exec(select(User.id).where(User.email_key == key)).first() is not None
    # When `owned and self_service`, the address's owner gets one notice (app.mail.accounts.after_signup).
    if owned and not self_service:
        raise Conflict("An account with this email address exists already; sign in instead.")
    user = User(
        username=data.username,
        username_key=name_key,
        email=data.email,
        email_key=None if owned else key,
        password_hash=security.hash_password(data.password),
        role=role.value,
        display_name=display_name,
    )
    session.add(user)
    try:
        with session.begin_nested():
            session.flush()
    except IntegrityError:  # a concurrent registration won the race for the username or the address
        if session.exec(select(User.id).where(User.username == data.username)).first() is not None:
            raise _username_taken(data.username) from None
        if not self_service:
            raise Conflict("An account with this email address exists already; sign in instead.") from None
        user.email_key = None
        with session.begin_nested():
            session.add(user)
            session.flush()
    from app.mail import accounts as mail_accounts

    if self_service:  # a verification link, or a notice to the address's owner
        mail_accounts.after_signup(session, user)
    else:  # staff typed the address (create-user): it counts as verified
        mail_accounts.mark_verified(session, user)
    return user


def _username_taken(username: str) -> Conflict:
    return Conflict(f"The username {username!r} is taken; choose another.")


def find_for_sign_in(session: Session, raw: str) -> User | None:
    """The account a sign-in form's "username or e-mail" names (identity.sign_in_identity), or None.
    By e-mail only the address's owner is found (never an account that merely typed it), and only
    once the address is verified (app.mail.accounts.may_sign_in_by_email): otherwise signing in by
    the address right after sign-up would tell whether it belonged to someone else."""
    kind, value = identity.sign_in_identity(raw)
    if not value:
        return None
    column = User.email_key if kind == "email" else User.username
    user = session.exec(select(User).where(column == value)).first()
    if user is not None and kind == "email":
        from app.mail import accounts as mail_accounts

        return user if mail_accounts.may_sign_in_by_email(session, user) else None
    return user


def sign_in_key(session: Session, raw: str, user: User | None = None) -> str:
    """The identity a sign-in attempt counts against in the rate limits: the account's id when
    the name or address belongs to one (so "alice", " ALICE", "ａｌｉｃｅ" and alice's address
    share one allowance), else the normalised name or address key. `user`: the account already
    found for `raw` (find_for_sign_in), to save the lookup."""
    user = user or find_for_sign_in(session, raw)
    if user is not None:
        return f"user:{user.id}"
    kind, value = identity.sign_in_identity(raw)
    return f"{kind}:{value[:254]}"


def authenticate(session: Session, username: str, password: str) -> User | None:
    """The user whose credentials these are, or None (same answer for unknown user and wrong password).

    The password is checked exactly as typed. Accounts made before passwords were kept verbatim
    had theirs stored without surrounding spaces: for them (only when the typed password has such
    spaces and fails as typed) the trimmed password is tried too."""
    return _check_password(find_for_sign_in(session, username or ""), password)


def _check_password(user: User | None, password: str) -> User | None:
    stored = user.password_hash if user else None
    matched = password or ""
    ok = security.verify_password(matched, stored)
    if not ok and matched != matched.strip():  # also for unknown users: the same time either way
        matched = matched.strip()
        ok = security.verify_password(matched, stored)
    if not ok or user is None or not user.is_active:
        return None
    if security.needs_rehash(user.password_hash):
        user.password_hash = security.hash_password(matched)
    return user


def sign_in(session: Session, limiter, address: str, username: str, password: str) -> User | None:
    """Every sign-in path (forum form, API token): rate limits, then authenticate.

    Limits (app/core/ratelimit.py) are keyed on the normalised identity (sign_in_key), never on the
    text as sent: "sign-in" per address and identity, and "sign-in-accounts" on how many different
    accounts one address has failed on (password spraying). Raises RateLimited (429)."""
    found = find_for_sign_in(session, username or "")
    ident = sign_in_key(session, username, found)
    limiter.hit("sign-in", f"{address}|{ident}")
    limiter.check_distinct("sign-in-accounts", address, ident)
    user = _check_password(found, password)
    if user is None:
        limiter.hit_distinct("sign-in-accounts", address, ident)
    return user


def change_password(session: Session, user: User, current: str, new: str, *, keep_session: str | None,
                    site_name: str = "") -> None:
    """Set a new password after checking the current one (422 on `current_password` when wrong) and
    the policy (422 on `new_password`). Every other session and token of the user ends;
    `keep_session` (the one making the change) stays signed in."""
    if not security.verify_password(current or "", user.password_hash):
        raise field_error("current_password", "Your current password is not right.")
    passwords.check(new, username=user.username, email=user.email, field="new_password",
                    context=tuple(w for w in ("groundswell", site_name) if w))
    if new == current:
        raise field_error("new_password", "Choose a password different from the current one.")
    user.password_hash = security.hash_password(new)
    sign_out_everywhere(session, user, keep=keep_session)


def set_role(session: Session, *, actor: User, user: User, role: Role, reason: str | None = None) -> User:
    """Admins change a member's role (audited; the CLI's create-user passes no actor check here)."""
    if actor.role != Role.admin:
        raise Forbidden("Only admins change roles.")
    was = user.role
    user.role = role.value
    session.flush()
    if was != user.role:
        from app.moderation import audit

        audit.record(session, actor=actor, action="user.role", target_type="user", target_id=user.username,
                     reason=reason, details={"from": was, "to": user.role})
    return user


# --- sign-in sessions (AuthSession): forum cookies and bearer tokens --------------------------------


def start_session(session: Session, user: User, *, kind: str, max_age: int) -> str:
    """A new sign-in for `user` lasting `max_age` seconds; returns its id for the cookie or token.
    Clears the user's expired sessions on the way (so the table holds only live ones)."""
    now = utcnow()
    session.exec(delete(AuthSession).where(AuthSession.user_id == user.id, AuthSession.expires_at <= now))
    sid = security.new_session_id()
    session.add(AuthSession(id=sid, user_id=user.id, kind=kind, created_at=now,
                            expires_at=now + timedelta(seconds=max_age)))
    session.flush()
    return sid


def user_for_session(session: Session, user_id: int, sid: object, token_version: object) -> User | None:
    """The active user of a live sign-in session, or None: one indexed lookup (primary keys)."""
    if not isinstance(sid, str) or not sid:
        return None
    row = session.exec(
        select(User).join(AuthSession, AuthSession.user_id == User.id)
        .where(AuthSession.id == sid, User.id == user_id, AuthSession.expires_at > utcnow())
    ).first()
    if row is None or not row.is_active or row.token_version != token_version:
        return None
    return row


def end_session(session: Session, sid: object) -> None:
    """Sign one session or token out: it stops working at once, wherever a copy of it is."""
    if isinstance(sid, str) and sid:
        session.exec(delete(AuthSession).where(AuthSession.id == sid))
        session.flush()


def sign_out_everywhere(session: Session, user: User, *, keep: str | None = None) -> None:
    """End every session and token of `user` (but `keep`, when given: the one asking)."""
    query = delete(AuthSession).where(AuthSession.user_id == user.id)
    if keep:
        query = query.where(AuthSession.id != keep)
    else:
        user.token_version += 1
    session.exec(query)
    session.flush()


def create_api_key(session: Session, *, user: User, name: str, scopes: str = "read") -> tuple[ApiKey, str]:
    """A new key for a product site (app/apikeys/service.py does the work); the plain key is
    returned once and only its hash is kept."""
    from app.apikeys import service as apikeys_service

    return apikeys_service.create(session, actor=None, owner=user, name=name, scopes=scopes)


def user_for_api_key(session: Session, plain: str) -> User | None:
    """The active owner of a live key, or None."""
    from app.apikeys import service as apikeys_service

    found = apikeys_service.authenticate(session, plain)
    return found[1] if found else None


def revoke_api_key(session: Session, key_id: int) -> None:
    """Revoke a key (404 when there is none)."""
    from app.apikeys import service as apikeys_service

    apikeys_service.revoke(session, actor=None, key_id=key_id)
