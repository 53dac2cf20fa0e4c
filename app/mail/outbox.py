"""Writing messages to the e-mail outbox, in the caller's transaction (the worker sends them).

Templates: templates/email/<template>.txt and .html (Jinja2; the HTML one autoescaped), both
given `site_name`, `base_url`, `user` (the recipient, or None) and the caller's context. Every
message is multipart/alternative (plain text first, then HTML).

Rate limits (counted in the outbox itself, so they hold across processes; documented in
docs/notifications.md): see MAIL_LIMITS. A message over a limit is not written (the caller's answer
does not change: a password reset is 202 either way).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.utils import parseaddr
from functools import lru_cache

from itsdangerous import BadSignature, URLSafeSerializer
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from sqlalchemy import func
from sqlmodel import Session, select

from app.accounts import identity
from app.accounts.models import User
from app.core.db import utcnow
from app.core.paths import templates_dir
from app.mail.models import EmailOutbox


@dataclass
class MailConfig:
    site_name: str = "Kestrel Community"
    base_url: str = "http://127.0.0.1:8000"
    secret: str = ""
    email_from: str = "Kestrel Community <community@localhost>"
    limits: bool = True  # GROUNDSWELL_RATE_LIMITS=off turns MAIL_LIMITS off too


_config: dict[str, MailConfig] = {}


def configure(settings) -> MailConfig:
    """Take site name, base URL, signing key and sender from the settings (create_app and the
    worker call this; services that write mail have no Request to read them from)."""
    cfg = MailConfig(site_name=settings.site_name, base_url=settings.base_url.rstrip("/"),
                     secret=settings.secret, email_from=settings.email_from,
                     limits=settings.rate_limits_enabled)
    _config["current"] = cfg
    return cfg


def config() -> MailConfig:
    if "current" not in _config:
        from app.core.config import get_settings

        configure(get_settings())
    return _config["current"]


@lru_cache(maxsize=1)
def _env() -> Environment:
    env = Environment(loader=FileSystemLoader(str(templates_dir() / "email")),
                      autoescape=select_autoescape(["html"]), undefined=StrictUndefined,
                      trim_blocks=True, lstrip_blocks=True)
    return env


# kind → [(what is counted, how many, per seconds)]: "address" counts messages of this kind to the
# same address (look-alike key), "user" those for the same account.
MAIL_LIMITS: dict[str, list[tuple[str, int, int]]] = {
    "password_reset": [("address", 3, 3600), ("user", 6, 86400)],
    "verify_email": [("address", 3, 3600), ("user", 6, 86400)],
    "email_change": [("address", 3, 3600), ("user", 6, 86400)],
    "signup_attempt": [("address", 1, 86400)],
    "mention": [("user", 10, 3600)],
    "quoted": [("user", 10, 3600)],
}

# Kinds that are about the account itself: never carry List-Unsubscribe, never suppressed by
# preferences (RFC 8058 §3 is about list-like mail).
SECURITY_KINDS = frozenset({"password_reset", "verify_email", "email_change", "signup_attempt", "password_changed"})


def over_limit(session: Session, *, kind: str, to_key: str, user_id: int | None, now: datetime) -> bool:
    """Whether one more message of `kind` would exceed MAIL_LIMITS."""
    if not config().limits:
        return False
    for what, count, seconds in MAIL_LIMITS.get(kind, []):
        if what == "user" and user_id is None:
            continue
        column = EmailOutbox.to_key if what == "address" else EmailOutbox.user_id
        value = to_key if what == "address" else user_id
        sent = session.exec(select(func.count()).select_from(EmailOutbox).where(
            column == value, EmailOutbox.kind == kind,
            EmailOutbox.created_at > now - timedelta(seconds=seconds))).one()
        if sent >= count:
            return True
    return False


def unsubscribe_token(user_id: int, kind: str) -> str:
    """Signed {user, kind} for one-click unsubscribe links (kind "*" = every e-mail)."""
    return URLSafeSerializer(config().secret, salt="unsubscribe").dumps({"u": user_id, "k": kind})


def read_unsubscribe_token(token: str) -> tuple[int, str] | None:
    try:
        data = URLSafeSerializer(config().secret, salt="unsubscribe").loads(token)
    except BadSignature:
        return None
    if not isinstance(data, dict) or not isinstance(data.get("u"), int) or not isinstance(data.get("k"), str):
        return None
    return data["u"], data["k"]


def enqueue(session: Session, *, to: str, kind: str, template: str, subject: str, context: dict | None = None,
            user: User | None = None, unsubscribe_kind: str | None = None,
            now: datetime | None = None) -> EmailOutbox | None:
    """Render `template` and write one outbox row to `to`; None when MAIL_LIMITS says no.

    Security kinds (SECURITY_KINDS) carry no List-Unsubscribe; every other message carries a
    one-click link (RFC 8058) that turns `unsubscribe_kind` (default: `kind`) off for the user."""
    now = now or utcnow()
    cfg = config()
    to_key = identity.email_key(to)
    if over_limit(session, kind=kind, to_key=to_key, user_id=user.id if user else None, now=now):
        return None
    security = kind in SECURITY_KINDS
    unsubscribe_url = None
    if not security and user is not None:
        unsubscribe_url = f"{cfg.base_url}/email/unsubscribe?token={unsubscribe_token(user.id, unsubscribe_kind or kind)}"
    values = {"site_name": cfg.site_name, "base_url": cfg.base_url, "user": user, "subject": subject,
              "unsubscribe_url": unsubscribe_url, **(context or {})}
    env = _env()
    text_body = env.get_template(f"{template}.txt").render(values)
    html_body = env.get_template(f"{template}.html").render(values)
    domain = parseaddr(cfg.email_from)[1].rpartition("@")[2] or "localhost"
    row = EmailOutbox(user_id=user.id if user else None, to_addr=to, to_key=to_key, kind=kind, security=security,
                      subject=subject[:200], text_body=text_body, html_body=html_body,
                      unsubscribe_url=unsubscribe_url, message_id=f"<{secrets.token_hex(16)}@{domain}>",
                      created_at=now, next_attempt_at=now)
    session.add(row)
    session.flush()
    return row
