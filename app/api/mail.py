"""API routes of e-mail, following and account self-service (docs/api.md, docs/notifications.md)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request, Response
from pydantic import BaseModel, Field

from app.accounts import lifecycle
from app.accounts.deps import CurrentUser, SettingsDep, client_key
from app.accounts.schemas import PASSWORD_MAX
from app.api.deps import rate_limit
from app.core.db import SessionDep
from app.core.errors import field_error
from app.core.ids import BodyId
from app.follows import service as follows
from app.mail import accounts as mail_accounts
from app.mail import delivery

# No credentials needed (the token or the address is the whole request).
public = APIRouter(tags=["accounts"])
# Signed in (included into the resources router: bearer, API key or session cookie with CSRF).
router = APIRouter()


class ResetIn(BaseModel):
    email: str = Field(max_length=254)


class ResetConfirmIn(BaseModel):
    token: str = Field(max_length=200)
    password: str = Field(max_length=PASSWORD_MAX)


class TokenIn(BaseModel):
    token: str = Field(max_length=200)


def _mail_request_limit(request: Request) -> None:
    request.app.state.limiter.hit("mail-request", client_key(request))


@public.post("/auth/password-reset", status_code=202)
def password_reset(data: ResetIn, request: Request, session: SessionDep) -> Response:
    """Ask for a password-reset link by e-mail. Always 202 with no body, whether or not the
    address belongs to an account (no enumeration); the link carries `?token=` and works once,
    for an hour. Limits: per client (429) and, silently, per address and account."""
    _mail_request_limit(request)
    mail_accounts.request_password_reset(session, data.email)
    return Response(status_code=202)


@public.post("/auth/password-reset/confirm", status_code=204)
def password_reset_confirm(data: ResetConfirmIn, session: SessionDep, settings: SettingsDep) -> Response:
    """Set a new password with the e-mailed token: 204; a used, expired or unknown token is a 400
    problem; a password the policy refuses is 422. Every session and token of the account ends."""
    mail_accounts.confirm_password_reset(session, data.token, data.password, site_name=settings.site_name)
    return Response(status_code=204)


@public.post("/auth/verify-email", status_code=204)
def verify_email(data: TokenIn, session: SessionDep) -> Response:
    """Confirm an address with the token from the verification e-mail (400 when used or expired)."""
    mail_accounts.verify_email(session, data.token)
    return Response(status_code=204)


@public.post("/auth/email-change/confirm", status_code=204)
def email_change_confirm(data: TokenIn, session: SessionDep) -> Response:
    """Make the new address the account's with the token sent to it (400 when used or expired)."""
    mail_accounts.confirm_email_change(session, data.token)
    return Response(status_code=204)


# --- signed in ------------------------------------------------------------------------------------

@router.post("/me/verify-email", status_code=202, tags=["accounts"])
def resend_verification(request: Request, session: SessionDep, user: CurrentUser) -> Response:
    """Send the verification link again (202; nothing when already verified or over the limit)."""
    _mail_request_limit(request)
    mail_accounts.send_verification(session, user)
    return Response(status_code=202)


class EmailChangeIn(BaseModel):
    email: str = Field(max_length=254)
    password: str = Field(max_length=PASSWORD_MAX)


@router.post("/me/email", status_code=202, tags=["accounts"])
def change_email(data: EmailChangeIn, request: Request, session: SessionDep, user: CurrentUser) -> Response:
    """Ask to change the account's address: a link goes to the new one, which takes effect only
    when confirmed (POST /auth/email-change/confirm or the link). 422 on a wrong password."""
    _mail_request_limit(request)
    mail_accounts.request_email_change(session, user, data.email, data.password)
    return Response(status_code=202)


class SettingsOut(BaseModel):
    display_name: str
    email: str
    email_verified: bool
    timezone: str
    digest_hour: int
    auto_follow: bool
    email_bounced: bool


class SettingsIn(BaseModel):
    display_name: str | None = Field(default=None, max_length=200)
    timezone: str | None = Field(default=None, max_length=200)
    digest_hour: int | None = None
    auto_follow: bool | None = None


def _settings_out(session, user) -> SettingsOut:
    ms = delivery.mail_settings(session, user.id)
    return SettingsOut(display_name=user.display_name, email=user.email, email_verified=ms.email_verified_at is not None,
                       timezone=ms.timezone, digest_hour=ms.digest_hour, auto_follow=ms.auto_follow,
                       email_bounced=ms.bounced_at is not None)


@router.get("/me/settings", response_model=SettingsOut, tags=["accounts"])
def get_settings(session: SessionDep, user: CurrentUser) -> SettingsOut:
    return _settings_out(session, user)


@router.patch("/me/settings", response_model=SettingsOut, tags=["accounts"], dependencies=[rate_limit("write")])
def patch_settings(data: SettingsIn, request: Request, session: SessionDep, user: CurrentUser) -> SettingsOut:
    """Change display name, time zone (IANA), digest hour (0-23, local) or auto-follow. A display
    name must pass the rules of docs/moderation.md ("Display names", 422); changing it is refused
    while suspended (403 /problems/suspended)."""
    lifecycle.update_settings(session, user, **data.model_dump(exclude_unset=True),
                              site_name=request.app.state.settings.site_name)
    return _settings_out(session, user)


Delivery = Literal["in_app", "email", "daily", "weekly", "off"]


class PreferenceOut(BaseModel):
    kind: str
    label: str
    delivery: str
    default: str


@router.get("/me/notification-preferences", tags=["accounts"])
def get_preferences(session: SessionDep, user: CurrentUser) -> dict:
    """`{"items": [{kind, label, delivery, default}], "email": "email" | "in_app"}` ("email":
    "in_app" means no e-mail at all, as after unsubscribing from everything)."""
    prefs = delivery.preferences(session, user.id)
    items = [PreferenceOut(kind=k, label=delivery.KINDS.get(k, (k,))[0], delivery=v,
                           default=delivery.default_for(k)).model_dump()
             for k, v in prefs.items() if k != delivery.ALL]
    return {"items": items, "email": prefs[delivery.ALL]}


class PreferencesIn(BaseModel):
    preferences: dict[str, Delivery] = Field(default_factory=dict)
    email: Literal["email", "in_app"] | None = None


@router.put("/me/notification-preferences", tags=["accounts"], dependencies=[rate_limit("write")])
def put_preferences(data: PreferencesIn, session: SessionDep, user: CurrentUser) -> dict:
    """Set the delivery of some kinds (`{"preferences": {kind: delivery}}`) and/or the e-mail switch.
    422 naming the first unknown kind (delivery.is_known_kind); nothing is stored then."""
    for kind in data.preferences:
        if kind != delivery.ALL and not delivery.is_known_kind(session, user.id, kind):
            raise field_error("preferences", f"Unknown notification kind {kind!r}; known: "
                                             f"{', '.join(delivery.KINDS)}.")
    for kind, value in data.preferences.items():
        delivery.set_preference(session, user, kind, value)
    if data.email is not None:
        delivery.set_preference(session, user, delivery.ALL, data.email)
    return get_preferences(session, user)


@router.get("/me/export", tags=["accounts"])
def export(session: SessionDep, user: CurrentUser) -> Response:
    """Everything the site holds that is the caller's, as one JSON download."""
    import json

    body = json.dumps(lifecycle.export_data(session, user), ensure_ascii=False, indent=1)
    return Response(body, media_type="application/json",
                    headers={"Content-Disposition": f'attachment; filename="{user.username}-data.json"'})


class DeleteIn(BaseModel):
    password: str = Field(max_length=PASSWORD_MAX)


@router.delete("/me", status_code=204, tags=["accounts"])
def delete_me(data: DeleteIn, request: Request, session: SessionDep, user: CurrentUser) -> Response:
    """Delete the caller's account (posts stay, shown as a deleted user; docs/notifications.md)."""
    lifecycle.delete_account(session, user, data.password)
    if "session" in request.scope:
        request.session.clear()
    return Response(status_code=204)


# --- follows --------------------------------------------------------------------------------------

FollowType = Literal["product", "tag", "question", "user"]


class FollowIn(BaseModel):
    type: FollowType
    target: str | BodyId  # a question id as a number, or any target as text


class FollowOut(BaseModel):
    type: str
    target: str
    title: str
    url: str
    created_at: datetime


def _follow_out(row, t) -> FollowOut:
    return FollowOut(type=t.type, target=t.name, title=t.title, url=t.url, created_at=row.created_at)


@router.get("/me/follows", tags=["follows"])
def list_follows(session: SessionDep, user: CurrentUser, limit: Annotated[int, Query(ge=1, le=100)] = 50,
                 cursor: Annotated[str | None, Query(max_length=500)] = None) -> dict:
    """`{"items": [Follow], "next_cursor": str | null}`: what the caller follows, newest first,
    `limit` (1–100, default 50) per page; pass `next_cursor` back as `cursor` for the next page."""
    page = follows.list_follows(session, actor=user, limit=limit, cursor=cursor)
    return {"items": [_follow_out(r, t).model_dump(mode="json") for r, t in page.items],
            "next_cursor": page.next_cursor}


@router.post("/me/follows", status_code=201, response_model=FollowOut, tags=["follows"],
             dependencies=[rate_limit("write")])
def add_follow(data: FollowIn, session: SessionDep, user: CurrentUser) -> FollowOut:
    """Follow `{type: product|tag|question|user, target}` (slug, tag name, question id or username):
    201 (also when already following); 404 when the target does not exist."""
    row, t = follows.follow(session, actor=user, type_=data.type, target=str(data.target))
    return _follow_out(row, t)


@router.delete("/me/follows/{type}/{target}", status_code=204, tags=["follows"], dependencies=[rate_limit("write")])
def remove_follow(type: FollowType, target: str, session: SessionDep, user: CurrentUser) -> Response:
    """Stop following: 204 (also when not following); 404 when the target does not exist."""
    follows.unfollow(session, actor=user, type_=type, target=target)
    return Response(status_code=204)
