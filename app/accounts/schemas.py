from __future__ import annotations

import re

from pydantic import Field, field_validator

from app.accounts.identity import normalise_email, normalise_username
from app.accounts.passwords import PASSWORD_MAX, PASSWORD_MIN
from app.core.inputs import JsonBody
from app.core.text import char_label, first_invisible

USERNAME_RE = re.compile(r"^[a-z0-9_-]{3,30}$")
EMAIL_RE = re.compile(r"^[^@\s]{1,64}@[^@\s]{1,189}\.[^@\s.]{2,63}$")

__all__ = ["PASSWORD_MAX", "PASSWORD_MIN", "UserCreate", "PasswordChange"]


class UserCreate(JsonBody):
    """A new account. The username and e-mail are normalised (app/accounts/identity.py); the
    password is kept exactly as typed (app/accounts/passwords.py checks it in the service)."""

    username: str = Field(min_length=1, max_length=60, description="3-30 characters: letters, digits, _ and -")
    email: str = Field(max_length=254)
    password: str = Field(min_length=PASSWORD_MIN, max_length=PASSWORD_MAX)

    @field_validator("username")
    @classmethod
    def _username(cls, v: str) -> str:
        # Refused, not stripped: an invisible character removed in silence gives the account a name
        # other than the one typed (docs/operations.md, "Accounts and sign-in"). Surrounding
        # whitespace is still trimmed; NFKC and lower-case fold only what shows.
        bad = first_invisible(v.strip())
        if bad is not None:
            raise ValueError(f"remove the invisible character {char_label(bad)}: usernames are "
                             "letters, digits, '_' and '-'")
        v = normalise_username(v)
        if not USERNAME_RE.match(v):
            raise ValueError("use 3-30 letters, digits, '_' or '-'")
        return v

    @field_validator("email")
    @classmethod
    def _email(cls, v: str) -> str:
        v = normalise_email(v)
        if not EMAIL_RE.match(v):
            raise ValueError("enter an email address like name@example.com")
        return v


class PasswordChange(JsonBody):
    """Changing one's password: the current one proves it is the owner; the new one meets the policy."""

    current_password: str = Field(max_length=PASSWORD_MAX)
    new_password: str = Field(max_length=PASSWORD_MAX)
