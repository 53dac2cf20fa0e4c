"""Accounts: registration, authentication, roles, API keys."""

from __future__ import annotations

from sqlalchemy import func
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from app.accounts.models import ApiKey, Role, User
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


def register(session: Session, data: UserCreate, *, role: Role = Role.customer, display_name: str = "") -> User:
    """Create an account; the username and email must be free (409 otherwise)."""
    if session.exec(select(User.id).where(User.username == data.username)).first() is not None:
        raise Conflict(f"The username {data.username!r} is taken; choose another.")
    if session.exec(select(User.id).where(func.lower(User.email) == data.email)).first() is not None:
        raise Conflict("An account with this email address exists already; sign in instead.")
    user = User(
        username=data.username,
        email=data.email,
        password_hash=security.hash_password(data.password),
        role=role.value,
        display_name=display_name,
    )
    session.add(user)
    try:
        with session.begin_nested():
            session.flush()
    except IntegrityError:  # a concurrent registration won the race
        raise Conflict("The username or email address was just taken; choose another.") from None
    return user


def authenticate(session: Session, username: str, password: str) -> User | None:
    """The user whose credentials these are, or None (same answer for unknown user and wrong password)."""
    name = (username or "").strip().lower()
    user = session.exec(select(User).where((User.username == name) | (User.email == name))).first()
    ok = security.verify_password(password or "", user.password_hash if user else None)
    if not ok or user is None or not user.is_active:
        return None
    if security.needs_rehash(user.password_hash):
        user.password_hash = security.hash_password(password)
    return user


def set_role(session: Session, *, actor: User, user: User, role: Role) -> User:
    if actor.role != Role.admin:
        raise Forbidden("Only admins change roles.")
    user.role = role.value
    session.flush()
    return user


def sign_out_everywhere(session: Session, user: User) -> None:
    user.token_version += 1
    session.flush()


def create_api_key(session: Session, *, user: User, name: str) -> tuple[ApiKey, str]:
    """A new key for a product site; the plain key is returned once and only its hash is kept."""
    if not name.strip():
        raise field_error("name", "Give the key a name, e.g. the site that uses it.")
    plain = security.new_api_key()
    key = ApiKey(name=name.strip()[:80], key_hash=security.hash_api_key(plain), user_id=user.id)
    session.add(key)
    session.flush()
    return key, plain


def user_for_api_key(session: Session, plain: str) -> User | None:
    key = session.exec(select(ApiKey).where(ApiKey.key_hash == security.hash_api_key(plain))).first()
    if key is None or key.revoked_at is not None:
        return None
    user = session.get(User, key.user_id)
    return user if user and user.is_active else None


def revoke_api_key(session: Session, key_id: int) -> None:
    key = session.get(ApiKey, key_id)
    if key is None:
        raise NotFound("No such API key.")
    key.revoked_at = utcnow()
    session.flush()
