"""Typed settings: environment variables with the GROUNDSWELL_ prefix, or a .env file."""

from __future__ import annotations

import ipaddress
import os
import secrets
import tempfile
import threading
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class SettingsError(RuntimeError):
    """A setting is missing or wrong; the message is one line for the operator."""


class Settings(BaseSettings):
    # allow_inf_nan=False: "nan" or "inf" for a number of seconds or megabytes is refused as not a
    # finite number (pydantic's default let NaN through to a confusing range message).
    model_config = SettingsConfigDict(env_prefix="GROUNDSWELL_", env_file=".env", extra="ignore", allow_inf_nan=False)

    env: Literal["development", "production", "test"] = "development"
    database_url: str = "sqlite:///./groundswell.db"
    search_backend: Literal["embedded", "meilisearch"] = "embedded"
    meili_url: str | None = None
    meili_key: SecretStr | None = None
    # Meilisearch index name (a reindex builds "<name>_rebuild" and swaps it in) and request timeout.
    meili_index: str = "questions"
    meili_timeout: float = 5.0
    # After a failed read, reads use the embedded index for 1 s, doubling per failed probe up to
    # this many seconds (app/search/breaker.py).
    meili_breaker_max: float = 60.0
    # Sentence-embedding similarity: "auto" uses it when the `semantic` extra is installed.
    search_semantic: Literal["auto", "off"] = "auto"
    # The sentence encoder's arithmetic: "float" runs the shipped model as it is; "int8" a copy
    # derived once per machine that multiplies in int8 (1.8x less CPU per text, same base recall,
    # but the learned re-ranker failed its check with it on AskUbuntu: docs/search.md).
    search_encoder: Literal["float", "int8"] = "float"
    # Where that int8 copy is derived and kept (about 23 MB; app/search/embedding.py). None:
    # $XDG_CACHE_HOME/groundswell, else ~/.cache/groundswell. Unwritable: the shipped model runs.
    search_model_dir: str | None = None
    # Learning from the community's duplicate links (app/search/learned.py): "auto" trains on
    # reindex and in the worker once there are enough links, and serves the learned model;
    # "off" ranks similar questions with the base model only.
    search_learning: Literal["auto", "off"] = "auto"
    # The web process applies the search outbox to the embedded index itself (a background thread
    # woken after each commit): with the embedded backend no worker is needed; with Meilisearch it
    # keeps the fallback index current (the worker sends the changes to Meilisearch). Tests turn
    # it off to drain by hand.
    search_apply_in_process: bool = True
    # `serve --workers N` (N ≥ 2): "auto" starts one search process that owns the search index,
    # encoder and learned ranker for all N workers (app/search/owner.py: one copy of the index per
    # host, not one per worker); "off" gives every worker its own copy, as with one worker.
    search_process: Literal["auto", "off"] = "auto"
    # Webhook endpoints may be on loopback/private/internal addresses (app/webhooks/service.py).
    webhooks_allow_private: bool = False
    secret_key: SecretStr | None = None
    rate_limits: Literal["on", "off"] = "on"
    # Shared state (rate-limit counters) in Redis, e.g. "redis://127.0.0.1:6379/0"; unset: in memory,
    # per process. Keys start with redis_prefix (several installations or test runs may share a server).
    redis_url: str | None = None
    redis_prefix: str = "groundswell"
    # Cookies marked Secure: on by default in production (behind TLS), off for the local demo.
    secure_cookies: bool | None = None
    # Largest request body accepted, in bytes (413 above it).
    max_body_bytes: int = 1_000_000
    # Load limits per server process (docs/operations.md, "Load and saturation"): reads handled at
    # once (and as many writes), how many of each may wait for a slot and for how long (seconds),
    # and the longest wait for a database connection or lock (seconds). Past any: 503 + Retry-After.
    # 4 reads at once: more threads of one process contend for the GIL and cost CPU without
    # adding throughput on a near database (issue 11: 10 → 4 gave −9% CPU and +10% req/s on the
    # question page at c16); raise it when each request waits long on a remote database.
    max_inflight: int = Field(default=4, ge=1, le=1000)
    max_queue: int = Field(default=200, ge=0)
    queue_timeout: float = Field(default=10.0, gt=0, le=300)
    db_timeout: float = Field(default=10.0, gt=0, le=300)
    # PostgreSQL: a pooled connection that rested this many seconds is pinged before use; 0 pings
    # at every use, as SQLAlchemy's pool_pre_ping (app/core/db.py:_ping_when_idle).
    db_ping_after_idle: float = Field(default=1.0, ge=0, le=3600)
    session_max_age: int = 14 * 24 * 3600
    token_max_age: int = 24 * 3600
    # Product sites allowed to call the JSON API from their visitors' browsers (CORS), as a
    # comma-separated list of origins, e.g. "https://www.kestrel.example". Empty: none.
    cors_origins: str = ""
    # Reverse proxies whose X-Forwarded-For / X-Forwarded-Proto headers are believed: comma-separated
    # addresses or CIDR networks (e.g. "10.0.0.5,10.1.0.0/16"). Empty (default): none, the peer's
    # address is the client's, whatever headers it sends.
    trusted_proxies: str = ""
    # Strict-Transport-Security max-age in production, in seconds (RFC 6797); 0 sends none.
    hsts_max_age: int = 365 * 24 * 3600
    # Level of Groundswell's logs on stderr (docs/operations.md, "Logs"): "info" includes one access
    # line per request; "warning" keeps only problems.
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    site_name: str = "Kestrel Community"
    # Outgoing e-mail (docs/notifications.md): smtp://[user:pass@]host:port[?starttls=1] (smtps://
    # for TLS from the start); without it the worker writes each message as a .eml file to email_dir.
    smtp_url: SecretStr | None = None
    email_from: str = "Kestrel Community <community@localhost>"
    email_dir: str = "./mail-outbox"
    base_url: str = "http://127.0.0.1:8000"
    # The anonymous-page cache (app/web/pagecache.py, docs/performance.md): megabytes of rendered
    # pages per process (0 turns it off), an entry's longest life in seconds, and the longest time
    # in seconds before a process notices another process's write (0 = check on every request).
    page_cache_mb: float = Field(default=32.0, ge=0)
    page_cache_ttl: float = Field(default=60.0, gt=0)
    page_cache_check: float = Field(default=1.0, ge=0)
    # An Akismet-compatible spam check (docs/moderation.md): its base URL (e.g.
    # https://rest.akismet.com), key, and the seconds to wait before deciding without it.
    spam_check_url: str | None = None
    spam_check_key: SecretStr | None = None
    spam_check_timeout: float = Field(default=2.0, gt=0, le=30)
    # The sign-up form is refused when sent sooner than this many seconds after it was shown (0: off).
    signup_min_seconds: float = Field(default=3.0, ge=0, le=600)
    # Private support messages (docs/escalation.md, "Private messages") are deleted from the
    # database this many days after their escalation is resolved (the worker's retention job).
    private_message_retention_days: int = Field(default=30, ge=0, le=3650)

    @field_validator("log_level", mode="before")
    @classmethod
    def _lower_level(cls, value):
        return value.strip().lower() if isinstance(value, str) else value

    @model_validator(mode="after")
    def _require_secret_outside_development(self) -> "Settings":
        if self.env == "production":
            key = self.secret_key.get_secret_value() if self.secret_key else ""
            if len(key) < 32:
                raise SettingsError(
                    "GROUNDSWELL_SECRET_KEY must be set to a random string of at least 32 characters "
                    "outside development (try: python3 -c 'import secrets; print(secrets.token_urlsafe(48))')"
                )
        return self

    @model_validator(mode="after")
    def _check_trusted_proxies(self) -> "Settings":
        for entry in self.trusted_proxy_list:
            try:
                ipaddress.ip_network(entry, strict=False)
            except ValueError:
                raise SettingsError(f"GROUNDSWELL_TRUSTED_PROXIES: {entry!r} is not an IP address or network "
                                    "(use e.g. 10.0.0.5 or 10.0.0.0/8, comma-separated)") from None
        return self

    @model_validator(mode="after")
    def _check_smtp_url(self) -> "Settings":
        if self.smtp_url is not None and self.smtp_url.get_secret_value().strip():
            from app.mail.transport import parse_smtp_url

            try:
                parse_smtp_url(self.smtp_url.get_secret_value())
            except ValueError as exc:
                raise SettingsError(str(exc)) from None
        return self

    @property
    def secret(self) -> str:
        """The signing key: GROUNDSWELL_SECRET_KEY; without it (development and tests only) the
        installation's own key, generated once and kept in a file (installation_secret_path), so
        that every worker process and every restart shares it."""
        if self.secret_key is not None:
            return self.secret_key.get_secret_value()
        return installation_secret(self.installation_secret_path)

    @property
    def installation_secret_path(self) -> Path:
        """`.groundswell-secret` next to the SQLite database file, or in the working folder for
        other databases (and in-memory SQLite)."""
        from sqlalchemy.engine import make_url

        try:
            url = make_url(self.database_url)
        except Exception:  # noqa: BLE001 - an unparsable URL fails later, with its own message
            url = None
        if url is not None and url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:"):
            return Path(url.database).expanduser().resolve().parent / SECRET_FILE
        return Path.cwd() / SECRET_FILE

    @property
    def trusted_proxy_list(self) -> list[str]:
        return [p.strip() for p in self.trusted_proxies.split(",") if p.strip()]

    @property
    def hsts_header(self) -> str | None:
        """The Strict-Transport-Security value: production only (served behind TLS), never in development."""
        if self.env != "production" or self.hsts_max_age <= 0:
            return None
        return f"max-age={self.hsts_max_age}; includeSubDomains"

    @property
    def cookies_secure(self) -> bool:
        return self.secure_cookies if self.secure_cookies is not None else self.env == "production"

    @property
    def cors_origin_list(self) -> list[str]:
        return [o.strip().rstrip("/") for o in self.cors_origins.split(",") if o.strip()]

    @property
    def rate_limits_enabled(self) -> bool:
        return self.rate_limits == "on"


SECRET_FILE = ".groundswell-secret"
_secrets: dict[Path, str] = {}
_secrets_lock = threading.Lock()


def installation_secret(path: Path) -> str:
    """The key stored at `path`, created (random, 64 characters, mode 0600) when missing.

    Created atomically: the key is written to a temporary file that is then hard-linked to `path`,
    which fails if another process got there first, so concurrent workers all end up with the
    same complete key. Raises SettingsError with one line when the folder does not exist (it is
    the SQLite database's: creating it would start a new, empty database at a mistyped path) or
    cannot be written."""
    with _secrets_lock:
        if path in _secrets:
            return _secrets[path]
        try:
            key = _read_secret(path)
            if key is None:
                if not path.parent.is_dir():  # a mistyped database folder: no new empty database
                    raise SettingsError(f"the folder {path.parent} does not exist (the database's, from "
                                        "GROUNDSWELL_DATABASE_URL): create it, or correct the URL")
                fd, tmp = tempfile.mkstemp(prefix=".groundswell-secret.", dir=path.parent)
                try:
                    os.write(fd, secrets.token_urlsafe(48).encode())
                    os.close(fd)
                    try:
                        os.link(tmp, path)
                    except FileExistsError:
                        pass  # another process made it first: use theirs
                finally:
                    os.unlink(tmp)
                key = _read_secret(path)
        except OSError as exc:
            raise SettingsError(f"cannot keep the installation's secret key in {path}: {exc.strerror}; "
                                "set GROUNDSWELL_SECRET_KEY") from None
        if not key:
            raise SettingsError(f"the secret key file {path} is empty or too short; delete it or set GROUNDSWELL_SECRET_KEY")
        _secrets[path] = key
        return key


def _read_secret(path: Path) -> str | None:
    try:
        key = path.read_text().strip()
    except FileNotFoundError:
        return None
    return key if len(key) >= 32 else ""


@lru_cache
def get_settings() -> Settings:
    try:
        return Settings()
    except SettingsError:
        raise
    except ValueError as exc:  # pydantic ValidationError: wrap the first problem into one line
        errors = getattr(exc, "errors", lambda: [])()
        if errors:
            first = errors[0]
            ctx = first.get("ctx") or {}
            inner = ctx.get("error")
            if isinstance(inner, SettingsError):
                raise inner from None
            loc = ".".join(str(p) for p in first.get("loc", ()))
            raise SettingsError(f"invalid setting GROUNDSWELL_{loc.upper()}: {first.get('msg')}") from None
        raise SettingsError(str(exc)) from None
