"""Password hashing (argon2id), signed bearer tokens, CSRF tokens and API-key hashing."""

from __future__ import annotations

import hashlib
import hmac
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

_hasher = PasswordHasher()
# Compared against when the user does not exist, so that timing does not reveal accounts.
_DUMMY_HASH = _hasher.hash("not-a-real-password")


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password: str, password_hash: str | None) -> bool:
    try:
        return _hasher.verify(password_hash or _DUMMY_HASH, password) and password_hash is not None
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    return _hasher.check_needs_rehash(password_hash)


def _serializer(secret: str, salt: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(secret, salt=salt)


def new_session_id() -> str:
    """A random sign-in session id (256 bits), carried in the signed cookie or bearer token."""
    return secrets.token_urlsafe(32)


def issue_token(secret: str, user_id: int, token_version: int, session_id: str = "") -> str:
    """A signed bearer token {uid, v: token_version, sid: the AuthSession id}."""
    return _serializer(secret, "api-token").dumps({"uid": user_id, "v": token_version, "sid": session_id})


def read_token(secret: str, token: str, max_age: int) -> tuple[int, int, str] | None:
    """(user id, token version, session id) of a token signed with `secret` within `max_age`
    seconds, or None."""
    try:
        data = _serializer(secret, "api-token").loads(token, max_age=max_age)
    except (BadSignature, SignatureExpired):
        return None
    if not isinstance(data, dict) or not isinstance(data.get("uid"), int):
        return None
    v = data.get("v", 0)
    return data["uid"], v if isinstance(v, int) else -1, str(data.get("sid") or "")


def new_csrf_token() -> str:
    return secrets.token_urlsafe(32)


def same_token(a: str | None, b: str | None) -> bool:
    return bool(a) and bool(b) and hmac.compare_digest(str(a), str(b))


def new_api_key() -> str:
    return "gsk_" + secrets.token_urlsafe(32)


def hash_api_key(key: str) -> str:
    # API keys are long random strings: a fast keyed-free digest is enough (no brute force possible).
    return hashlib.sha256(key.encode()).hexdigest()
