"""Every action on API keys goes through here (create, list, rotate, change, revoke, authenticate),
so that one place can record them (the moderation audit log hooks in at `_audit`).

Policy (docs/product-sites.md, "API keys"):
* Keys are created by staff and admins; requests with the key act as its owner, limited to the
  key's scopes. Staff may create keys only for themselves; only admins (and the operator's CLI) may
  create a key owned by another account (a product site's service account). When a key is created
  for someone else, the owner is notified (kind `api_key_created`), and every owner can list the
  keys they own and revoke them (API `GET/DELETE /api/v1/api-keys`, web /settings), so nobody can
  be impersonated by a key they cannot see.
* The secret (`gsk_` + 43 random characters) is shown once; only its SHA-256 is stored (a long
  random secret needs no slow hash). Its first 12 characters (`prefix`) identify it in lists and logs.
* A key stops working when revoked, or while its owner is deactivated or suspended. Signing out
  everywhere or changing the owner's password does NOT revoke keys: they belong to an
  integration, not to a browser session; revoke or rotate them explicitly.
"""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import Session, select

from app.accounts.models import ApiKey, User
from app.apikeys.scopes import SCOPES
from app.core import security
from app.core.db import utcnow
from app.core.errors import Forbidden, NotFound, field_error
from app.core.text import clean_single_line, is_blank, require_single_line

PREFIX_LEN = 12
LAST_USED_PRECISION = timedelta(seconds=60)  # last_used_at is written at most once a minute per key
MAX_RATE_LIMIT = 100_000


class MissingScope(Forbidden):
    """403 naming the scope the key lacks (problem field `required_scope`)."""

    type = "/problems/missing-scope"
    title = "API key lacks a scope"

    def __init__(self, scope: str | None, what: str):
        if scope is None:
            super().__init__(f"API keys cannot call {what}; sign in as a person.")
        else:
            super().__init__(f"This API key lacks the scope '{scope}' needed for {what}.")
        self.required_scope = scope


def _audit(session: Session, actor: User | None, action: str, key: ApiKey) -> None:
    """One audit-log entry (app/moderation/audit.py) per key action: `api_key.create`, `.rotate`,
    `.update`, `.revoke`; the CLI (no actor) is recorded as the system."""
    from app.moderation import audit

    audit.record(session, actor=actor, action=action, target_type="api_key", target_id=key.id,
                 details={"name": key.name, "prefix": key.prefix, "owner_id": key.user_id,
                          "scopes": key.scopes})


def _can_manage(actor: User) -> None:
    from app.accounts import permissions

    permissions.require_user(actor)  # a suspended member creates, changes or rotates no key (revoking stays open)
    if not actor.is_staff:
        raise Forbidden("Only staff and admins manage API keys.")


def clean_scopes(scopes: list[str] | str) -> str:
    """Validate scope names (SCOPES); return them space-separated, sorted, unique. 422 otherwise."""
    if isinstance(scopes, str):
        scopes = scopes.replace(",", " ").split()
    names = sorted({s.strip() for s in scopes if s.strip()})
    if not names:
        raise field_error("scopes", f"Give the key at least one scope: {', '.join(SCOPES)}.")
    unknown = [s for s in names if s not in SCOPES]
    if unknown:
        raise field_error("scopes", f"Unknown scope {unknown[0]!r}; known: {', '.join(SCOPES)}.")
    return " ".join(names)


def clean_origins(origins: list[str] | str | None) -> str:
    """Validate origins ("https://shop.example[:port]", no path); return them space-separated."""
    if origins is None:
        return ""
    if isinstance(origins, str):
        origins = origins.replace(",", " ").split()
    out = []
    for o in origins:
        o = o.strip().rstrip("/")
        if not o:
            continue
        scheme, sep, rest = o.partition("://")
        if scheme not in ("http", "https") or not sep or not rest or "/" in rest or " " in rest:
            raise field_error("allowed_origins", f"{o!r} is not an origin like https://shop.example.")
        out.append(o.lower())
    return " ".join(dict.fromkeys(out))


def _clean_limit(rate_limit: int | None) -> int | None:
    if rate_limit is None:
        return None
    if not 1 <= rate_limit <= MAX_RATE_LIMIT:
        raise field_error("rate_limit", f"The rate limit is requests per minute, 1 to {MAX_RATE_LIMIT}.")
    return rate_limit


def _clean_name(name: str | None) -> str:
    """The key's name as one line (app/core/text.py clean_single_line: no newlines, tabs,
    controls or zero-width spaces; whitespace runs one space), at most 80 characters; 422 (field
    `name`) when nothing visible is left (is_blank) or when it holds direction controls or stacked
    combining marks (single_line_problem)."""
    require_single_line("name", name or "")
    name = clean_single_line(name)
    if is_blank(name):
        raise field_error("name", "Give the key a name, e.g. the site that uses it.")
    return name[:80].rstrip()


# Scopes whose routes only some roles may use (docs/product-sites.md, "Scopes"): who may own a key
# with them, and how to say it. A key always acts as its owner, so such a key owned by anyone else
# would only ever be refused at use; it is refused when it is made instead.
_OWNER_RULES: dict[str, tuple[str, object]] = {
    "escalations:read": ("a staff member or an admin", lambda u: u.is_staff),
    "escalations:write": ("a staff member or an admin", lambda u: u.is_staff),
    "moderation": ("a moderator, a staff member or an admin", lambda u: u.can_moderate),
    "internal": ("a staff member, a moderator or an admin", lambda u: u.can_moderate),
    "webhooks:manage": ("an admin", lambda u: u.role == "admin"),
}


def check_owner(owner: User, scopes: str) -> None:
    """422 (field `scopes`) when `owner` may not use one of `scopes` (space-separated, as
    clean_scopes returns them): the first such scope is named with the roles that may own it."""
    for scope in scopes.split():
        rule = _OWNER_RULES.get(scope)
        if rule is not None and not rule[1](owner):
            raise field_error("scopes", f"The {scope} scope needs an owner who is {rule[0]}; "
                                        f"{owner.username} is a {owner.role}.")


def create(session: Session, *, actor: User | None, owner: User, name: str, scopes: list[str] | str,
           allowed_origins: list[str] | str | None = None, rate_limit: int | None = None) -> tuple[ApiKey, str]:
    """A new key; returns (row, plain secret). The plain secret is never stored nor shown again.

    `actor` None means the command line (the operator). 403 when the actor may not; 422 on bad input,
    a scope the owner's role may not use included (check_owner)."""
    if actor is not None:
        _can_manage(actor)
        if actor.role != "admin" and owner.id != actor.id:
            raise Forbidden("Staff may create keys only for themselves; an admin creates keys for other accounts.")
    name = _clean_name(name)
    scopes = clean_scopes(scopes)
    check_owner(owner, scopes)
    plain = security.new_api_key()
    key = ApiKey(name=name, key_hash=security.hash_api_key(plain), user_id=owner.id,
                 prefix=plain[:PREFIX_LEN], scopes=scopes, allowed_origins=clean_origins(allowed_origins),
                 rate_limit=_clean_limit(rate_limit), created_by_id=actor.id if actor else None)
    session.add(key)
    session.flush()
    _audit(session, actor, "api_key.create", key)
    if actor is None or actor.id != owner.id:
        from app.notifications.service import notify

        by = f"@{actor.username}" if actor is not None else "the site operator"
        notify(session, [owner.id], kind="api_key_created", url="/settings/account#api-keys",
               text=f"An API key “{key.name}” ({key.prefix}…, scopes: {key.scopes}) that acts as you was "
                    f"created by {by}. You can see and revoke it in your settings.")
    return key, plain


def list_keys(session: Session, *, actor: User | None, include_revoked: bool = True) -> list[ApiKey]:
    """Keys, newest first (admins and the CLI: all; staff: those they own or created; any other
    signed-in member: the keys they own, so they can see who may act as them)."""
    query = select(ApiKey).order_by(ApiKey.id.desc())
    if actor is not None:
        if not actor.is_staff:
            query = query.where(ApiKey.user_id == actor.id)
        elif actor.role != "admin":
            query = query.where((ApiKey.user_id == actor.id) | (ApiKey.created_by_id == actor.id))
    if not include_revoked:
        query = query.where(ApiKey.revoked_at.is_(None))
    return list(session.exec(query))


def get(session: Session, *, actor: User | None, key_id: int, owner_ok: bool = False) -> ApiKey:
    """One key the actor may manage; 404 otherwise (staff do not learn of others' keys).

    `owner_ok`: the key's owner may also see it (viewing and revoking), even when not staff."""
    key = session.get(ApiKey, key_id)
    if key is None:
        raise NotFound("No such API key.")
    if actor is not None:
        if owner_ok and key.user_id == actor.id:
            return key
        _can_manage(actor)
        if actor.role != "admin" and actor.id not in (key.user_id, key.created_by_id):
            raise NotFound("No such API key.")
    return key


def update(session: Session, *, actor: User | None, key_id: int, name: str | None = None,
           scopes: list[str] | str | None = None, allowed_origins: list[str] | str | None = None,
           rate_limit: int | None = None, clear_rate_limit: bool = False) -> ApiKey:
    """Change a key's name, scopes, origins or rate limit (the secret stays). 422 as `create`,
    a scope the owner's role may not use included."""
    key = get(session, actor=actor, key_id=key_id)
    if key.revoked_at is not None:
        raise field_error("key", "This key is revoked; create a new one.")
    if name is not None:
        key.name = _clean_name(name)
    if scopes is not None:
        scopes = clean_scopes(scopes)
        owner = session.get(User, key.user_id)
        if owner is not None:
            check_owner(owner, scopes)
        key.scopes = scopes
    if allowed_origins is not None:
        key.allowed_origins = clean_origins(allowed_origins)
    if rate_limit is not None or clear_rate_limit:
        key.rate_limit = None if clear_rate_limit else _clean_limit(rate_limit)
    session.add(key)
    session.flush()
    _audit(session, actor, "api_key.update", key)
    return key


def rotate(session: Session, *, actor: User | None, key_id: int) -> tuple[ApiKey, str]:
    """A new secret for the same key (id, name, scopes kept); the old secret stops working at once."""
    key = get(session, actor=actor, key_id=key_id)
    if key.revoked_at is not None:
        raise field_error("key", "This key is revoked; create a new one.")
    plain = security.new_api_key()
    key.key_hash, key.prefix = security.hash_api_key(plain), plain[:PREFIX_LEN]
    session.add(key)
    session.flush()
    _audit(session, actor, "api_key.rotate", key)
    return key, plain


def revoke(session: Session, *, actor: User | None, key_id: int) -> ApiKey:
    """Revoke a key for good (idempotent); requests with it get 401 at once. Its owner may too."""
    key = get(session, actor=actor, key_id=key_id, owner_ok=True)
    if key.revoked_at is None:
        key.revoked_at = utcnow()
        session.add(key)
        session.flush()
        _audit(session, actor, "api_key.revoke", key)
    return key


def authenticate(session: Session, plain: str) -> tuple[ApiKey, User] | None:
    """The live key and its active owner for a presented secret, or None. Notes last use (once a minute)."""
    key = session.exec(select(ApiKey).where(ApiKey.key_hash == security.hash_api_key(plain))).first()
    if key is None or key.revoked_at is not None:
        return None
    user = session.get(User, key.user_id)
    if user is None or not user.is_active:
        return None
    suspended = getattr(user, "suspended_until", None)
    if suspended is not None and suspended > utcnow():
        return None
    now = utcnow()
    if key.last_used_at is None or now - key.last_used_at > LAST_USED_PRECISION:
        key.last_used_at = now
        session.add(key)
        session.flush()
    return key, user


def check(key: ApiKey, *, scope: str | None, what: str, origin: str | None) -> None:
    """Raise MissingScope unless `key` has `scope`; Forbidden when a browser `origin` is not allowed."""
    if scope is None or scope not in key.scope_list:
        raise MissingScope(scope, what)
    if origin and key.allowed_origins and origin.rstrip("/").lower() not in key.allowed_origins.split():
        raise Forbidden(f"This API key may not be used from {origin}.")
