"""Typed settings: environment variables with the GROUNDSWELL_ prefix, or a .env file."""

from __future__ import annotations

import secrets
from functools import lru_cache
from typing import Literal

from pydantic import SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class SettingsError(RuntimeError):
    """A setting is missing or wrong; the message is one line for the operator."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="GROUNDSWELL_", env_file=".env", extra="ignore")

    env: Literal["development", "production", "test"] = "development"
    database_url: str = "sqlite:///./groundswell.db"
    search_backend: Literal["embedded", "meilisearch"] = "embedded"
    meili_url: str | None = None
    meili_key: SecretStr | None = None
    # Meilisearch index name (a reindex builds "<name>_rebuild" and swaps it in) and request timeout.
    meili_index: str = "questions"
    meili_timeout: float = 5.0
    # Sentence-embedding similarity: "auto" uses it when the `semantic` extra is installed.
    search_semantic: Literal["auto", "off"] = "auto"
    # Learning from the community's duplicate links (app/search/learned.py): "auto" trains on
    # reindex and in the worker once there are enough links, and serves the learned model;
    # "off" ranks similar questions with the base model only.
    search_learning: Literal["auto", "off"] = "auto"
    # With the embedded backend, the web process applies the search outbox itself (a background
    # thread woken after each commit), so no worker is needed. Tests turn it off to drain by hand.
    search_apply_in_process: bool = True
    secret_key: SecretStr | None = None
    rate_limits: Literal["on", "off"] = "on"
    # Cookies marked Secure: on by default in production (behind TLS), off for the local demo.
    secure_cookies: bool | None = None
    # Largest request body accepted, in bytes (413 above it).
    max_body_bytes: int = 1_000_000
    session_max_age: int = 14 * 24 * 3600
    token_max_age: int = 24 * 3600
    # Product sites allowed to call the JSON API from their visitors' browsers (CORS), as a
    # comma-separated list of origins, e.g. "https://www.kestrel.example". Empty: none.
    cors_origins: str = ""
    site_name: str = "Kestrel Community"
    base_url: str = "http://127.0.0.1:8000"

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

    @property
    def secret(self) -> str:
        """The signing key; in development a per-process random key when none is set."""
        if self.secret_key is not None:
            return self.secret_key.get_secret_value()
        return _DEV_SECRET

    @property
    def cookies_secure(self) -> bool:
        return self.secure_cookies if self.secure_cookies is not None else self.env == "production"

    @property
    def cors_origin_list(self) -> list[str]:
        return [o.strip().rstrip("/") for o in self.cors_origins.split(",") if o.strip()]

    @property
    def rate_limits_enabled(self) -> bool:
        return self.rate_limits == "on"


_DEV_SECRET = secrets.token_urlsafe(48)


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
