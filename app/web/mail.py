"""Forum pages of e-mail, following and account self-service (docs/notifications.md)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from app.accounts import lifecycle
from app.accounts.schemas import PASSWORD_MIN
from app.core import timezones
from app.core.db import SessionDep
from app.core.errors import DomainError, InvalidInput, NotFound, RateLimited
from app.follows import service as follows
from app.mail import accounts as mail_accounts
from app.mail import delivery, outbox, sender
from app.mail import log as mail_log
from app.mail.accounts import BadToken
from app.web.deps import FormData, Id, Me, WebRoute, client_ip, error_page, flash, redirect, render, safe_next, \
    signin_url, sign_out

router = APIRouter(route_class=WebRoute)
Token = Annotated[str | None, Query(max_length=200)]


def follow_button(session, viewer, type_: str, key, name: str, label: str, next_path: str) -> dict:
    """What a page's Follow button needs (templates/follows/_button.html): `following` for the
    signed-in viewer, else a sign-in link."""
    return {"type": type_, "target": str(name), "label": label, "next": next_path,
            "following": follows.is_following(session, viewer, type_, key),
            "signin_url": None if viewer else signin_url(next_path)}


@router.post("/follow")
def follow_toggle(request: Request, session: SessionDep, me: Me, form: FormData) -> Response:
    """The Follow / Following button: `type`, `target` (as the API names them), `action` follow|unfollow."""
    type_, target = form.get("type", ""), form.get("target", "")
    back = safe_next(form.get("next"))
    try:
        request.app.state.limiter.hit("write", f"u{me.id}")
        if form.get("action") == "unfollow":
            follows.unfollow(session, actor=me, type_=type_, target=target)
            flash(request, "You no longer follow this.")
        else:
            _, t = follows.follow(session, actor=me, type_=type_, target=target)
            flash(request, f"You follow {t.title}. New activity shows on your Following page and, as you choose "
                           "in your notification settings, by e-mail.", link=("/following", "Following"))
    except (InvalidInput, NotFound, RateLimited) as exc:
        session.rollback()
        flash(request, exc.detail, kind="error")
    return redirect(back)


@router.get("/following")
def following_page(request: Request, session: SessionDep, me: Me) -> Response:
    from app.questions import views

    items = follows.feed(session, actor=me, limit=30)
    return render(request, "follows/feed.html", {
        "questions": views.summaries(session, items),
        "follows": [{"type": t.type, "target": t.name, "title": t.title, "url": t.url}
                    for _, t in follows.list_follows(session, actor=me).items],
    })


# --- verification, password reset, change of address --------------------------------------------

def _token_page(request: Request, title: str, text: str, status: int = 200, link: tuple[str, str] | None = None):
    return render(request, "mail/message.html", {"title": title, "text": text, "link": link}, status=status)


@router.get("/verify-email")
def verify_email_page(request: Request, session: SessionDep, token: Token = None) -> Response:
    """The link in the mail shows a confirm button (a POST): mail scanners that follow links
    must not confirm an address. A used, expired or garbage token says so at once."""
    try:
        mail_accounts.check_token(session, token or "", "verify")
    except BadToken as exc:
        return _token_page(request, exc.title, exc.detail, status=400, link=("/settings/account", "Send a new link"))
    return render(request, "mail/confirm.html", {"title": "Confirm your e-mail address", "action": "/verify-email",
                                                 "token": token, "button": "Confirm my address"})


@router.post("/verify-email")
def verify_email(request: Request, session: SessionDep, form: FormData) -> Response:
    token = form.get("token", "")[:200]
    try:
        user = mail_accounts.verify_email(session, token or "")
    except BadToken as exc:
        session.rollback()
        return _token_page(request, exc.title, exc.detail, status=400, link=("/settings/account", "Send a new link"))
    return _token_page(request, "Your address is confirmed",
                       f"Thank you, {user.shown_name}: {user.email} is confirmed. You can now get notifications by e-mail.",
                       link=("/settings/notifications", "Choose what to get by e-mail"))


@router.post("/settings/verify-email")
def resend_verification(request: Request, session: SessionDep, me: Me, form: FormData) -> Response:
    try:
        request.app.state.limiter.hit("mail-request", client_ip(request))
    except RateLimited as exc:
        flash(request, exc.detail, kind="error")
        return redirect("/settings/account")
    mail_accounts.send_verification(session, me)
    flash(request, f"We sent a confirmation link to {me.email} (if you asked several times, check for the newest).")
    return redirect("/settings/account")


@router.get("/password-reset")
def reset_form(request: Request) -> Response:
    return render(request, "mail/reset_request.html", {"values": {"email": ""}, "errors": {}, "sent": False})


@router.post("/password-reset")
def reset_request(request: Request, session: SessionDep, form: FormData) -> Response:
    email = form.get("email", "").strip()[:254]
    try:
        request.app.state.limiter.hit("mail-request", client_ip(request))
    except RateLimited as exc:
        return render(request, "mail/reset_request.html", {"values": {"email": email}, "errors": {"form": exc.detail},
                                                            "sent": False}, status=429, headers=exc.headers)
    if not email:
        return render(request, "mail/reset_request.html",
                      {"values": {"email": ""}, "errors": {"email": "Enter the e-mail address of your account."},
                       "sent": False}, status=422)
    mail_accounts.request_password_reset(session, email)
    return render(request, "mail/reset_request.html", {"values": {"email": email}, "errors": {}, "sent": True})


@router.get("/password-reset/confirm")
def reset_confirm_form(request: Request, session: SessionDep, token: Token = None) -> Response:
    """The new-password form, only for a live link; a used, expired or garbage one is told so."""
    try:
        mail_accounts.check_token(session, token or "", "reset")
    except BadToken as exc:
        return _token_page(request, "This link is no longer valid", exc.detail, status=400,
                           link=("/password-reset", "Ask for a new link"))
    return render(request, "mail/reset_confirm.html", {"token": token or "", "errors": {}, "password_min": PASSWORD_MIN})


@router.post("/password-reset/confirm")
def reset_confirm(request: Request, session: SessionDep, form: FormData) -> Response:
    from app.web.forms import field_errors

    token = form.get("token", "")[:200]
    try:
        mail_accounts.confirm_password_reset(session, token, form.get("password", ""),
                                             site_name=request.app.state.settings.site_name)
    except BadToken as exc:
        session.rollback()
        return _token_page(request, exc.title, exc.detail, status=400, link=("/password-reset", "Ask for a new link"))
    except InvalidInput as exc:
        session.rollback()
        return render(request, "mail/reset_confirm.html", {"token": token, "errors": field_errors(exc, ("password",)),
                                                            "password_min": PASSWORD_MIN}, status=422)
    sign_out(request, session)
    flash(request, "Your password is changed and every device is signed out. Sign in with the new password.")
    return redirect("/signin")


@router.get("/email/confirm-change")
def confirm_change(request: Request, session: SessionDep, token: Token = None) -> Response:
    try:
        user = mail_accounts.confirm_email_change(session, token or "")
    except (BadToken, DomainError) as exc:
        session.rollback()
        return _token_page(request, "This link does not work", exc.detail, status=400,
                           link=("/settings/account", "Account settings"))
    return _token_page(request, "Your new address is in use", f"Your account now uses {user.email}.",
                       link=("/settings/account", "Account settings"))


# --- one-click unsubscribe (RFC 8058) -------------------------------------------------------------

def _unsubscribe(session, token: str) -> tuple[object, str] | None:
    from app.accounts.models import User

    found = outbox.read_unsubscribe_token(token or "")
    if found is None:
        return None
    user = session.get(User, found[0])
    if user is None or not user.is_active:
        return None
    return user, found[1]


def _unsub_label(kind: str) -> str:
    """What the unsubscribe page stops, read after "Stop …?" and "You no longer get …."
    (delivery.unsubscribe_phrase)."""
    return delivery.unsubscribe_phrase(kind)


@router.get("/email/unsubscribe")
def unsubscribe_page(request: Request, session: SessionDep, token: Token = None) -> Response:
    """The link in the footer: a page with one button (a GET changes nothing, so link checkers
    that open every link do not unsubscribe anyone)."""
    found = _unsubscribe(session, token or "")
    if found is None:
        return error_page(request, 400, "This unsubscribe link does not work", "Change what you get in your settings.")
    return render(request, "mail/unsubscribe.html", {"token": token, "what": _unsub_label(found[1]), "done": False})


@router.post("/email/unsubscribe")
def unsubscribe(request: Request, session: SessionDep, token: Token = None) -> Response:
    """One-click unsubscribe: the mail provider POSTs `List-Unsubscribe=One-Click` here (RFC 8058),
    with no cookie and no CSRF token: the signed token in the URL is the authority. The kind goes
    to "in_app" (the site still shows it); the digest's link turns all e-mail off."""
    found = _unsubscribe(session, token or "")
    if found is None:
        return error_page(request, 400, "This unsubscribe link does not work", "Change what you get in your settings.")
    user, kind = found
    delivery.set_preference(session, user, kind, "in_app")
    return render(request, "mail/unsubscribe.html", {"token": token, "what": _unsub_label(kind), "done": True})


# --- settings pages -------------------------------------------------------------------------------

_ZONES: list[str] = []


def _zones(chosen: str) -> list[str]:
    """The zones the form offers (UTC first, then the regional ones), plus `chosen` (the member's
    own or the one just refused) when it is not among them, so that the form shows it."""
    if not _ZONES:
        _ZONES.extend(sorted(z for z in timezones.zone_names() if "/" in z and not z.startswith(("Etc/", "SystemV/"))))
        _ZONES.insert(0, timezones.DEFAULT_ZONE)
    return _ZONES if chosen in _ZONES else [chosen[:timezones.NAME_MAX], *_ZONES]


def _notifications_page(request, session, me, errors=None, status=200, typed: dict | None = None) -> Response:
    """The settings form; `typed` (the posted form, on a refusal) is shown instead of what is saved,
    so that the member corrects the one refused field and loses nothing."""
    prefs = delivery.preferences(session, me.id)
    ms = delivery.mail_settings(session, me.id)
    settings = {"timezone": ms.timezone, "digest_hour": ms.digest_hour, "auto_follow": ms.auto_follow}
    email_on = prefs[delivery.ALL] == "email"
    if typed is not None:
        prefs = {k: typed.get(f"kind-{k}", prefs[k]) for k in delivery.KINDS}
        hour = typed.get("digest_hour", "")
        settings = {"timezone": typed.get("timezone", ""), "auto_follow": bool(typed.get("auto_follow")),
                    "digest_hour": int(hour) if hour.isascii() and hour.isdigit() and len(hour) <= 2 else None}
        email_on = bool(typed.get("email_on"))
    return render(request, "mail/preferences.html", {
        "kinds": [{"kind": k, "label": label, "delivery": prefs[k], "default": default}
                  for k, (label, default) in delivery.KINDS.items()],
        "deliveries": [(d, delivery.DELIVERY_LABELS[d]) for d in delivery.DELIVERIES],
        "email_on": email_on, "settings": settings,
        "verified": ms.email_verified_at is not None, "bounced": ms.bounced_at is not None,
        "zones": _zones(settings["timezone"]), "errors": errors or {},
    }, status=status)


@router.get("/settings/notifications")
def notifications_page(request: Request, session: SessionDep, me: Me) -> Response:
    return _notifications_page(request, session, me)


@router.post("/settings/notifications")
def save_notifications(request: Request, session: SessionDep, me: Me, form: FormData) -> Response:
    from app.web.forms import field_errors

    try:
        for kind in delivery.KINDS:
            if f"kind-{kind}" in form:
                delivery.set_preference(session, me, kind, form[f"kind-{kind}"])
        delivery.set_preference(session, me, delivery.ALL, "email" if form.get("email_on") else "in_app")
        hour = form.get("digest_hour", "8")
        lifecycle.update_settings(session, me, timezone=form.get("timezone", "UTC"),
                                  digest_hour=int(hour) if hour.isdigit() else -1,
                                  auto_follow=bool(form.get("auto_follow")))
    except InvalidInput as exc:
        session.rollback()
        return _notifications_page(request, session, me, field_errors(exc, ("timezone", "digest_hour", "delivery")),
                                   status=422, typed={k: str(v) for k, v in form.items()})
    flash(request, "Your notification settings are saved.")
    return redirect("/settings/notifications")


def _account_page(request, session, me, errors=None, values=None, status=200) -> Response:
    from app.apikeys import service as apikeys_service

    ms = delivery.mail_settings(session, me.id)
    own_keys = [k for k in apikeys_service.list_keys(session, actor=me) if k.user_id == me.id]
    return render(request, "mail/account.html", {
        "own_keys": own_keys,
        "me": me, "verified": ms.email_verified_at is not None, "bounced": ms.bounced_at is not None,
        "bounce_reason": ms.bounce_reason or "", "errors": errors or {},
        "values": values or {"display_name": me.display_name, "email": ""},
    }, status=status)


@router.get("/settings/account")
def account_page(request: Request, session: SessionDep, me: Me) -> Response:
    return _account_page(request, session, me)


@router.post("/settings/profile")
def save_profile(request: Request, session: SessionDep, me: Me, form: FormData) -> Response:
    from app.web.forms import field_errors

    from app.accounts.permissions import Suspended

    name = form.get("display_name", "")
    try:
        lifecycle.update_settings(session, me, display_name=name, site_name=request.app.state.settings.site_name)
    except InvalidInput as exc:
        session.rollback()
        return _account_page(request, session, me, field_errors(exc, ("display_name",)),
                             {"display_name": name, "email": ""}, status=422)
    except Suspended as exc:
        session.rollback()
        return _account_page(request, session, me, {"display_name": exc.detail},
                             {"display_name": name, "email": ""}, status=403)
    flash(request, "Your display name is saved.")
    return redirect("/settings/account")


@router.post("/settings/email")
def change_email(request: Request, session: SessionDep, me: Me, form: FormData) -> Response:
    from app.web.forms import field_errors

    from app.accounts.permissions import Suspended

    email = form.get("email", "").strip()[:254]
    values = {"display_name": me.display_name, "email": email}
    try:
        request.app.state.limiter.hit("mail-request", client_ip(request))
        mail_accounts.request_email_change(session, me, email, form.get("password", ""))
    except InvalidInput as exc:
        session.rollback()
        return _account_page(request, session, me, field_errors(exc, ("email", "password")), values, status=422)
    except RateLimited as exc:
        return _account_page(request, session, me, {"form": exc.detail}, values, status=429)
    except Suspended as exc:
        session.rollback()
        return _account_page(request, session, me, {"email": exc.detail}, values, status=403)
    flash(request, f"We sent a link to {email}. Your account keeps its current address until you open it.")
    return redirect("/settings/account")


@router.post("/settings/api-keys/{key_id}/revoke")
def revoke_own_api_key(request: Request, key_id: Id, session: SessionDep, me: Me, form: FormData) -> Response:
    """The owner of an API key revokes it (app/apikeys/service.revoke; 404 when not theirs)."""
    from app.apikeys import service as apikeys_service

    key = apikeys_service.revoke(session, actor=me, key_id=key_id)
    flash(request, f"Key “{key.name}” revoked; requests with it are refused from now on.")
    return redirect("/settings/account#api-keys")


@router.get("/settings/export")
def export(request: Request, session: SessionDep, me: Me) -> Response:
    import json

    body = json.dumps(lifecycle.export_data(session, me), ensure_ascii=False, indent=1)
    return Response(body, media_type="application/json",
                    headers={"Content-Disposition": f'attachment; filename="{me.username}-data.json"'})


@router.post("/settings/delete")
def delete_account(request: Request, session: SessionDep, me: Me, form: FormData) -> Response:
    from app.web.forms import field_errors

    try:
        lifecycle.delete_account(session, me, form.get("password", ""))
    except InvalidInput as exc:
        session.rollback()
        return _account_page(request, session, me, field_errors(exc, ("password",)), status=422)
    request.session.clear()
    flash(request, "Your account is deleted. Your posts stay, shown as by a deleted user.")
    return redirect("/")


# --- staff: the mail the site sent ---------------------------------------------------------------
# Who may see it is app/mail/log.py's rule (staff only); these routes only render.

StatusQ = Annotated[str | None, Query(max_length=10)]


@router.get("/staff/mail")
def mail_list(request: Request, session: SessionDep, me: Me, status: StatusQ = None) -> Response:
    """Outgoing mail, newest first: what was sent (and where the .eml file is, without SMTP), what
    waits to retry, what is dead and why."""
    rows = mail_log.recent(session, actor=me, status=status)
    settings = request.app.state.settings
    return render(request, "mail/staff_list.html", {
        "rows": rows, "status": status if status in mail_log.STATUSES else "",
        "transport": "SMTP" if settings.smtp_url else f"the folder {settings.email_dir}",
    })


@router.get("/staff/mail/{row_id}")
def mail_detail(request: Request, row_id: Id, session: SessionDep, me: Me) -> Response:
    """One message: facts, plain text and source, with every token-bearing link redacted
    (sender.for_display): account-mail secrets go to the recipient's mailbox only."""
    row = mail_log.message(session, actor=me, row_id=row_id)
    raw = bytes(sender.build_message(row, request.app.state.settings.email_from)).decode("utf-8", "replace")
    return render(request, "mail/staff_detail.html", {"row": row, "raw": raw})


@router.post("/staff/mail/{row_id}/requeue")
def mail_requeue(request: Request, row_id: Id, session: SessionDep, me: Me, form: FormData) -> Response:
    if mail_log.requeue(session, actor=me, row_id=row_id) is None:
        flash(request, "Only a dead message can be sent again.", kind="error")
    else:
        flash(request, "The message is queued again; the worker sends it shortly.")
    return redirect(f"/staff/mail/{row_id}")
