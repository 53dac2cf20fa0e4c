"""Forum pages of the staff escalation queue (the third surface beside forum and API), the
customers' side of it ("I have this problem too", "I still need help"), notifications, and
service levels. Thin routes over the services; the JSON twin is app/api/escalation.py."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import Response
from pydantic import ValidationError
from sqlmodel import Session

from app.accounts import service as accounts_service
from app.accounts.models import User
from app.core.db import SessionDep
from app.core.errors import Conflict, DomainError, Forbidden, InvalidInput, NotFound, RateLimited
from app.core.ids import parse_id
from app.escalation import messages as private_messages
from app.escalation import metoo, metrics, policy, queries
from app.escalation import service as escalation_service
from app.escalation.schemas import EscalateIn, MessageIn, ResolveIn, ServiceLevelIn
from app.notifications import service as notifications
from app.products import service as products_service
from app.questions import service as questions_service
from app.questions import views
from app.web.deps import FormData, Id, Me, Text, WebRoute, flash, limit, redirect, render, safe_next
from app.web.forms import field_errors

router = APIRouter(route_class=WebRoute)


STATUS_CHOICES = (("", "All unresolved"), ("open", "Open"), ("claimed", "Claimed"), ("waiting", "Waiting on customer"),
                  ("handed_off", "Handed off"), ("resolved", "Resolved"))
STATUS_LABELS = dict(STATUS_CHOICES[1:])
EVENT_LABELS = {"created": "Escalated", "signal": "New signal", "claimed": "Claimed", "released": "Released",
                "assigned": "Assigned", "note": "Internal note", "waiting": "Waiting on customer",
                "resumed": "Resumed", "handed_off": "Handed off", "resolved": "Resolved",
                "messages_read": "Private messages read", "messages_purged": "Private messages deleted"}


def _question_back(session: Session, question_id: int, anchor: str = "support", viewer: User | None = None) -> str:
    question = questions_service.get_visible(session, question_id, viewer=viewer)
    return f"{views.question_url(question.id, question.slug)}#{anchor}"


# --- customers: "me too" and "I still need help" -------------------------------------------------------

@router.post("/questions/{question_id}/me-too")
def me_too(request: Request, question_id: Id, session: SessionDep, me: Me, form: FormData) -> Response:
    back = _question_back(session, question_id, viewer=me)
    limit(request, "vote", me)
    try:
        if form.get("action") == "remove":
            metoo.remove(session, actor=me, question_id=question_id)
            flash(request, "You are no longer listed as having this problem.", "info")
        else:
            metoo.add(session, actor=me, question_id=question_id)
            flash(request, "Noted: you have this problem too. We will tell you when it is solved.")
    except Conflict as exc:
        session.rollback()
        flash(request, exc.detail, "error")
    return redirect(back)


@router.post("/questions/{question_id}/escalate")
def escalate(request: Request, question_id: Id, session: SessionDep, me: Me, form: FormData) -> Response:
    back = _question_back(session, question_id, viewer=me)
    try:
        data = EscalateIn(reason=form.get("reason", ""))
        limit(request, "write", me)
        esc, created = escalation_service.escalate(session, actor=me, question_id=question_id, reason=data.reason)
    except ValidationError:
        flash(request, "Tell us in a few words what is still not working (3 to 500 characters).", "error")
        return redirect(back)
    except (Conflict, RateLimited) as exc:
        session.rollback()
        flash(request, exc.detail, "error")
        return redirect(back)
    if policy.is_agent(me):
        flash(request, "Escalated to the support queue." if created else
              "It was in the queue already; its priority is raised.", link=(f"/staff/escalations/{esc.id}", "Open it"))
    else:
        flash(request, "Your question is now with our support team. We will answer here on the thread and "
                       "tell you when we do.")
    return redirect(back)


# --- notifications -------------------------------------------------------------------------------------

@router.get("/notifications")
def notifications_page(request: Request, session: SessionDep, me: Me, cursor: Text = None) -> Response:
    page = notifications.page_for(session, actor=me, cursor=cursor)
    return render(request, "notifications/list.html", {
        "items": page.items, "next_url": f"/notifications?cursor={page.next_cursor}" if page.next_cursor else None,
        "unread": notifications.unread_count(session, me),
    })


@router.get("/notifications/{notification_id}/open")
def notification_open(request: Request, session: SessionDep, me: Me, notification_id: Id) -> Response:
    """Opening a notification marks it read and goes where it points (as on Stack Exchange and
    Discourse); someone else's or a missing one is a 404 (notifications.service.open_one)."""
    url = notifications.open_one(session, actor=me, notification_id=notification_id)
    return redirect(safe_next(url, "/notifications"))


@router.post("/notifications/read")
def notifications_read(request: Request, session: SessionDep, me: Me, form: FormData) -> Response:
    one = form.get("id")
    # "Mark read" on one notification (an id that cannot exist marks nothing), or on all of them.
    ids = None if one is None else [i for i in [parse_id(one)] if i is not None]
    notifications.mark_read(session, actor=me, ids=ids)
    go = safe_next(form.get("next"), "/notifications")
    return redirect(go)


# --- the staff queue ---------------------------------------------------------------------------------

def _require_agent(me: User) -> None:
    escalation_service.require_agent(me)


def _staff(session: Session) -> list[dict[str, str]]:
    return [{"username": u.username, "name": u.shown_name} for u in escalation_service.agents(session)]


@router.get("/staff/escalations")
def queue_page(request: Request, session: SessionDep, me: Me, status: Text = None, product: Text = None,
               assignee: Text = None, cursor: Text = None) -> Response:
    _require_agent(me)
    status = status if status in STATUS_LABELS else None
    product = product or None
    assignee = assignee or None
    try:
        page = queries.queue(session, actor=me, status=status, product=product, assignee=assignee, cursor=cursor)
    except (InvalidInput, NotFound):
        flash(request, "That filter matches nothing we know; showing the whole queue.", "info")
        return redirect("/staff/escalations" + (f"?status={status}" if status else ""))
    items = queries.views_of(session, page.items, me)
    params = {k: v for k, v in (("status", status), ("product", product), ("assignee", assignee)) if v}
    next_url = f"/staff/escalations?{urlencode({**params, 'cursor': page.next_cursor})}" if page.next_cursor else None
    return render(request, "escalation/queue.html", {
        "items": items, "status_choices": STATUS_CHOICES, "status_labels": STATUS_LABELS,
        "filters": {"status": status or "", "product": product or "", "assignee": assignee or ""},
        "products": [{"slug": p.slug, "name": p.name} for p in products_service.list_products(session)],
        "staff": _staff(session), "next_url": next_url, "filtered": bool(params),
        "breached": sum(1 for i in items if i.breached),
    })


@router.get("/staff/escalations/metrics")
def metrics_page(request: Request, session: SessionDep, me: Me, days: Text = None, product: Text = None) -> Response:
    _require_agent(me)
    span = int(days) if days and days.isdigit() and 1 <= int(days) <= 366 else 30
    try:
        m = metrics.compute(session, actor=me, days=span, product=product or None)
    except NotFound:
        return redirect(f"/staff/escalations/metrics?days={span}")
    return render(request, "escalation/metrics.html", {
        "stats": m, "days": span, "product": product or "",
        "products": [{"slug": p.slug, "name": p.name} for p in products_service.list_products(session)],
        "span_choices": (7, 30, 90, 365),
    })


NO_STORE = {"Cache-Control": "private, no-store"}  # pages with private messages: no cache keeps them


def _detail_page(request: Request, session: Session, me: User, escalation_id: int, *, status: int = 200,
                 resolve_form: dict[str, Any] | None = None, message_form: dict[str, Any] | None = None) -> Response:
    # Read the private thread first: the staff member's access goes into the audit log shown below
    # (not again when the page is shown back with a form's error in the same request).
    thread = private_messages.read(session, actor=me, escalation_id=escalation_id,
                                   record=message_form is None and resolve_form is None)
    v = queries.detail(session, actor=me, escalation_id=escalation_id)
    try:
        q = views.question_detail(session, v.question_id, me)
    except NotFound:  # the question was deleted since: the escalation stays readable
        q = None
    from app.web import internal as internal_web

    return render(request, "escalation/detail.html", {
        "e": v, "q": q, "status_labels": STATUS_LABELS, "event_labels": EVENT_LABELS,
        # Internal questions linked from the escalated one, and similar ones to link (staff only).
        "internal_panel": internal_web.panel(session, me, question_id=q.id, title=q.title, body=q.body,
                                             visibility=q.visibility, escalation_id=v.id) if q else None,
        "internal_back": f"/staff/escalations/{v.id}#internal",
        "staff": [s for s in _staff(session) if not v.assignee or s["username"] != v.assignee.username],
        "community_answers": [a for a in q.answers if not a.is_staff] if q else [],
        "resolve_form": resolve_form or {"resolution": "", "answer_body": "", "answer_id": "", "errors": {}},
        "thread": thread, "message_form": message_form or {"body": "", "errors": {}},
    }, status=status, headers=NO_STORE)


@router.get("/staff/escalations/{escalation_id}")
def detail_page(request: Request, escalation_id: Id, session: SessionDep, me: Me) -> Response:
    _require_agent(me)
    return _detail_page(request, session, me, escalation_id)


def _act(request: Request, session: Session, me: User, escalation_id: int, done: str, fn) -> Response:
    """Run one transition; a refusal (taken by someone else, wrong state) is explained on the page."""
    _require_agent(me)
    try:
        limit(request, "write", me)
        fn()
    except (Conflict, Forbidden, InvalidInput, RateLimited) as exc:
        session.rollback()
        flash(request, exc.detail, "error")
        return redirect(f"/staff/escalations/{escalation_id}")
    flash(request, done)
    return redirect(f"/staff/escalations/{escalation_id}")


@router.post("/staff/escalations/{escalation_id}/claim")
def claim(request: Request, escalation_id: Id, session: SessionDep, me: Me, form: FormData) -> Response:
    return _act(request, session, me, escalation_id, "Claimed: it is yours now.",
                lambda: escalation_service.claim(session, actor=me, escalation_id=escalation_id))


@router.post("/staff/escalations/{escalation_id}/release")
def release(request: Request, escalation_id: Id, session: SessionDep, me: Me, form: FormData) -> Response:
    return _act(request, session, me, escalation_id, "Released: it is back in the queue.",
                lambda: escalation_service.release(session, actor=me, escalation_id=escalation_id))


@router.post("/staff/escalations/{escalation_id}/assign")
def assign(request: Request, escalation_id: Id, session: SessionDep, me: Me, form: FormData) -> Response:
    def run():
        try:
            colleague = accounts_service.get_by_username(session, form.get("assignee", ""))
        except NotFound:
            colleague = None
        escalation_service.assign(session, actor=me, escalation_id=escalation_id, assignee=colleague)

    return _act(request, session, me, escalation_id, "Assigned.", run)


@router.post("/staff/escalations/{escalation_id}/notes")
def add_note(request: Request, escalation_id: Id, session: SessionDep, me: Me, form: FormData) -> Response:
    return _act(request, session, me, escalation_id, "Note added (internal: never shown publicly).",
                lambda: escalation_service.add_note(session, actor=me, escalation_id=escalation_id,
                                                    body=form.get("body", "")[:5000]))


@router.post("/staff/escalations/{escalation_id}/wait")
def wait(request: Request, escalation_id: Id, session: SessionDep, me: Me, form: FormData) -> Response:
    return _act(request, session, me, escalation_id, "Waiting on the customer: the clock is paused.",
                lambda: escalation_service.wait_on_customer(session, actor=me, escalation_id=escalation_id,
                                                            note=form.get("note", "")[:2000]))


@router.post("/staff/escalations/{escalation_id}/resume")
def resume(request: Request, escalation_id: Id, session: SessionDep, me: Me, form: FormData) -> Response:
    return _act(request, session, me, escalation_id, "Resumed: the clock runs again.",
                lambda: escalation_service.resume(session, actor=me, escalation_id=escalation_id))


@router.post("/staff/escalations/{escalation_id}/hand-off")
def hand_off(request: Request, escalation_id: Id, session: SessionDep, me: Me, form: FormData) -> Response:
    return _act(request, session, me, escalation_id, "Handed off: the ticket reference is recorded.",
                lambda: escalation_service.hand_off(session, actor=me, escalation_id=escalation_id,
                                                    ticket=form.get("ticket", "")[:200]))


RESOLVE_FIELDS = ("resolution", "answer_body", "answer_id")


@router.post("/staff/escalations/{escalation_id}/resolve")
def resolve(request: Request, escalation_id: Id, session: SessionDep, me: Me, form: FormData) -> Response:
    _require_agent(me)
    values = {k: form.get(k, "") for k in RESOLVE_FIELDS}
    use = form.get("answer_kind", "staff")
    try:
        data = ResolveIn(resolution=values["resolution"],
                         answer_body=(values["answer_body"].strip() or None) if use == "staff" else None,
                         answer_id=parse_id(values["answer_id"]) if use == "community" else None)
        limit(request, "write", me)
        escalation_service.resolve(session, actor=me, escalation_id=escalation_id, resolution=data.resolution,
                                   answer_body=data.answer_body, answer_id=data.answer_id)
    except (ValidationError, InvalidInput) as exc:
        session.rollback()
        errors = field_errors(exc, RESOLVE_FIELDS)
        if "form" in errors and use == "community":
            errors = {"answer_id": "Choose the community answer that solved it."}
        elif "form" in errors and not values["answer_body"].strip():
            errors = {"answer_body": "Write the public answer (at least 20 characters)."}
        return _detail_page(request, session, me, escalation_id, status=422,
                            resolve_form={**values, "errors": errors})
    except (Conflict, Forbidden, RateLimited) as exc:
        session.rollback()
        flash(request, exc.detail, "error")
        return redirect(f"/staff/escalations/{escalation_id}")
    flash(request, "Resolved: the answer is on the public thread, and the asker and everyone with the same "
                   "problem are told.")
    return redirect("/staff/escalations")


# --- private support messages (app/escalation/messages.py) ----------------------------------------------

def _thread_page(request: Request, session: Session, me: User, escalation_id: int, *, status: int = 200,
                 message_form: dict[str, Any] | None = None) -> Response:
    thread = private_messages.read(session, actor=me, escalation_id=escalation_id)
    return render(request, "escalation/messages.html", {
        "thread": thread, "message_form": message_form or {"body": "", "errors": {}},
    }, status=status, headers=NO_STORE)


@router.get("/escalations/{escalation_id}/messages")
def messages_page(request: Request, escalation_id: Id, session: SessionDep, me: Me) -> Response:
    """The asker's view of the private thread with support; staff read it on the escalation page
    (where their access is recorded). Anyone else: 404, as if it did not exist."""
    if policy.is_agent(me):
        private_messages.read(session, actor=me, escalation_id=escalation_id, record=False)  # 404 if none
        return redirect(private_messages.staff_url(escalation_id))
    return _thread_page(request, session, me, escalation_id)


@router.post("/escalations/{escalation_id}/messages")
def post_message(request: Request, escalation_id: Id, session: SessionDep, me: Me, form: FormData) -> Response:
    """Write a private message, from the asker's page or the staff escalation page. A refusal is
    shown on the same page with the typed text kept."""
    staff = policy.is_agent(me)
    body = form.get("body", "")[:20_000]
    try:
        data = MessageIn(body=body)
        limit(request, "write", me)
        row = private_messages.post(session, actor=me, escalation_id=escalation_id, body=data.body)
    except (ValidationError, InvalidInput, Conflict, RateLimited) as exc:
        session.rollback()
        if isinstance(exc, (ValidationError, InvalidInput)):
            errors = field_errors(exc, ("body",))
            errors = {"body": errors.get("body") or errors.get("form") or "Write your message."}
            code = 422
        else:
            errors, code = {"body": exc.detail}, exc.status
        form_state = {"body": body, "errors": errors}
        if staff:
            return _detail_page(request, session, me, escalation_id, status=code, message_form=form_state)
        return _thread_page(request, session, me, escalation_id, status=code, message_form=form_state)
    flash(request, "Message sent (private: only you and our support team can read it)." if not staff else
          "Message sent to the asker (private).")
    url = private_messages.staff_url(escalation_id).split("#")[0] if staff else private_messages.thread_url(escalation_id)
    return redirect(f"{url}#message-{row.id}")


# --- service levels ------------------------------------------------------------------------------------

@router.get("/staff/service-levels")
def service_levels_page(request: Request, session: SessionDep, me: Me) -> Response:
    _require_agent(me)
    return render(request, "escalation/service_levels.html", {
        "rows": [{"product": p, "levels": lv} for p, lv in escalation_service.all_levels(session)],
        "tiers": policy.TIERS, "minutes": policy.minutes,
    })


LEVEL_FIELDS = ("first_response_minutes", "resolution_minutes", "unanswered_minutes", "unsolved_minutes",
                "affected_threshold")


@router.post("/staff/service-levels/{slug}")
def set_service_level(request: Request, slug: str, session: SessionDep, me: Me, form: FormData) -> Response:
    _require_agent(me)

    raw = {k: form.get(k, "").strip() for k in LEVEL_FIELDS}
    try:
        data = ServiceLevelIn(tier=form.get("tier", ""), **{k: int(v) if v.isdigit() and len(v) < 10 else None
                                                            for k, v in raw.items()})
        escalation_service.set_levels(session, actor=me, product_slug=slug, **data.model_dump())
    except (ValidationError, DomainError) as exc:
        if isinstance(exc, DomainError) and not isinstance(exc, InvalidInput):
            raise
        session.rollback()
        flash(request, "Choose a tier, and give targets as whole minutes (the resolution target at least as long "
                       "as the first-response one).", "error")
        return redirect("/staff/service-levels")
    flash(request, "Service level saved; it applies to new escalations.")
    return redirect(f"/staff/service-levels#product-{slug}")
