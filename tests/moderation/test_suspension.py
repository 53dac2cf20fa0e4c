"""Suspensions are enforced on every write path, web and API: both lists of routes are walked
from the app, so a write route added later without the check fails here. The suspended member
is staff (holding every privilege), so the only possible refusal is the suspension itself."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlmodel import select

from app.accounts.models import User
from app.answers import service as answers_service
from app.comments import service as comments_service
from app.core.db import utcnow
from app.escalation import service as escalation_service
from app.moderation import suspensions
from app.moderation.models import AuditEntry
from app.notifications.models import Notification
from app.questions import suggested_edits
from app.questions.schemas import AnswerCreate, CommentCreate, QuestionUpdate
from tests.factories import PASSWORD, make_product, make_question, make_user
from tests.web.conftest import Browser, browsers, csrf_from  # noqa: F401  (fixture)

API = "/api/v1"
# Writes a suspended member may still make (docs/moderation.md, "What a suspended member can still
# do"): signing in and out, the password, marking read, stopping mail (notification preferences,
# unfollowing), e-mail tokens (reset, verify), revoking an API key, deleting the account, and the
# Markdown preview (writes nothing).
API_EXEMPT = {("POST", "/auth/register"), ("POST", "/auth/token"), ("POST", "/auth/logout"),
              ("POST", "/auth/logout-all"), ("POST", "/me/password"), ("POST", "/notifications/read"),
              ("PUT", "/me/notification-preferences"), ("DELETE", "/me/follows/{type}/{target}"),
              ("POST", "/auth/password-reset"), ("POST", "/auth/password-reset/confirm"),
              ("POST", "/auth/verify-email"), ("POST", "/me/verify-email"), ("POST", "/auth/email-change/confirm"),
              ("DELETE", "/api-keys/{key_id}"), ("DELETE", "/me"), ("POST", "/markdown/preview"),
              ("DELETE", "/me/views/{view_id}")}  # arranging what one reads stays open: deleting, moving views
WEB_EXEMPT = {"/signin", "/signup", "/signout", "/signout-everywhere", "/settings/password", "/notifications/read",
              "/email/unsubscribe", "/settings/notifications", "/password-reset", "/password-reset/confirm",
              "/settings/verify-email", "/settings/delete", "/settings/api-keys/{key_id}/revoke",
              "/staff/api-keys/{key_id}/revoke", "/verify-email", "/views/{view_id}/delete", "/views/{view_id}/move"}


@pytest.fixture
def world(session):
    admin = make_user(session, "ada_admin", role="admin")
    staff = make_user(session, "sam_staff", role="staff")
    author = make_user(session, "maya_asks")
    helper = make_user(session, "raj_helps")
    target = make_user(session, "tom_target")
    product = make_product(session, "dock-pro", "Dock Pro")
    q = make_question(session, author, product="dock-pro")
    q2 = make_question(session, author)
    a = answers_service.post(session, actor=helper, question_id=q.id,
                             data=AnswerCreate(body="Use the 100 W cable that came with the dock, not the 60 W one."))
    c = comments_service.add(session, actor=author, post_type="question", post_id=q.id,
                             data=CommentCreate(body="It is the original cable."))
    esc, _ = escalation_service.escalate(session, actor=staff, question_id=q.id, reason="Nobody solved it")
    se = suggested_edits.suggest(session, actor=target, post_type="question", post_id=q.id,
                                 data=QuestionUpdate(body="It only charges at 60 W with the supplied cable; why?"))
    from app.apikeys import service as apikeys_service

    key, _ = apikeys_service.create(session, actor=None, owner=staff, name="sam's script", scopes=["read"])
    from app.savedviews import service as saved_views
    from app.savedviews.schemas import ViewCreate

    view = saved_views.create(session, actor=staff, data=ViewCreate(name="Dock Pro", filters={"product": "dock-pro"}))
    until = suspensions.suspend(session, actor=admin, username="sam_staff", days=3, reason="cooling off").suspended_until
    session.commit()
    return dict(key=key.id, view=view.id, q=q.id, q2=q2.id, a=a.id, c=c.id, e=esc.id, se=se.id, slug=product.slug, until=until,
                staff=staff, author=author)


def _api_requests(w) -> dict[tuple[str, str], dict | None]:
    """(method, route template) → JSON body: a valid request for every write route of the API."""
    long = "A body long enough for every rule about posts here, with words."
    return {
        ("POST", "/products"): {"slug": "new-prod", "name": "New product", "description": ""},
        ("PATCH", "/products/{slug}"): {"name": "Dock Pro 2"},
        ("POST", "/questions"): {"title": "Dock Pro will not charge at 100 W", "body": long, "tags": ["dock"]},
        ("PATCH", "/questions/{question_id}"): {"body": long},
        ("DELETE", "/questions/{question_id}"): None,
        ("POST", "/questions/{question_id}/vote"): {"value": 1},
        ("POST", "/questions/{question_id}/accept"): {"answer_id": w["a"]},
        ("DELETE", "/questions/{question_id}/accept"): None,
        ("POST", "/questions/{question_id}/close-as-duplicate"): {"original_id": w["q2"]},
        ("POST", "/questions/{question_id}/reopen"): None,
        ("POST", "/questions/{question_id}/merge"): {"original_id": w["q2"]},
        ("POST", "/questions/{question_id}/comments"): {"body": "Which firmware is this?"},
        ("POST", "/questions/{question_id}/answers"): {"body": long},
        ("PATCH", "/answers/{answer_id}"): {"body": long},
        ("DELETE", "/answers/{answer_id}"): None,
        ("POST", "/answers/{answer_id}/vote"): {"value": 1},
        ("POST", "/answers/{answer_id}/comments"): {"body": "Which firmware is this?"},
        ("DELETE", "/comments/{comment_id}"): None,
        ("POST", "/questions/{question_id}/escalate"): {"reason": "Still broken"},
        ("POST", "/questions/{question_id}/me-too"): None,
        ("DELETE", "/questions/{question_id}/me-too"): None,
        ("POST", "/escalations/{escalation_id}/claim"): None,
        ("POST", "/escalations/{escalation_id}/release"): None,
        ("POST", "/escalations/{escalation_id}/assign"): {"assignee": "sam_staff"},
        ("POST", "/escalations/{escalation_id}/notes"): {"body": "Looked at it"},
        ("POST", "/escalations/{escalation_id}/wait"): {"note": "asked"},
        ("POST", "/escalations/{escalation_id}/resume"): None,
        ("POST", "/escalations/{escalation_id}/hand-off"): {"ticket": "ZD-1"},
        ("POST", "/escalations/{escalation_id}/resolve"): {"resolution": "fixed", "answer_id": w["a"]},
        ("PUT", "/products/{slug}/service-level"): {"tier": "priority"},
        ("POST", "/questions/{question_id}/suggested-edits"): {"body": long},
        ("POST", "/answers/{answer_id}/suggested-edits"): {"body": long},
        ("POST", "/suggested-edits/{edit_id}/approve"): {"note": ""},
        ("POST", "/suggested-edits/{edit_id}/reject"): {"note": ""},
        ("POST", "/voting-reports/detect"): None,
        ("POST", "/voting-reports/{report_id}/resolve"): None,
        ("POST", "/questions/{question_id}/deflect"): {"title": "Dock charging"},
        ("POST", "/questions/{question_id}/flags"): {"reason": "off_topic"},
        ("POST", "/answers/{answer_id}/flags"): {"reason": "off_topic"},
        ("POST", "/comments/{comment_id}/flags"): {"reason": "off_topic"},
        ("POST", "/moderation/flags/{post_type}/{post_id}"): {"action": "dismiss"},
        ("POST", "/moderation/review/{post_type}/{post_id}"): {"approve": True},
        ("POST", "/users/{username}/suspend"): {"days": 1, "reason": "spam"},
        ("DELETE", "/users/{username}/suspend"): None,
        ("POST", "/users/{username}/destroy"): None,
        ("PUT", "/users/{username}/role"): {"role": "moderator"},
        ("POST", "/moderation/blocked-emails"): {"pattern": "@spam.example"},
        ("POST", "/questions/{question_id}/close"): {"reason": "off-topic"},
        ("POST", "/questions/{question_id}/lock"): None,
        ("DELETE", "/questions/{question_id}/lock"): None,
        ("POST", "/questions/{question_id}/protect"): None,
        ("DELETE", "/questions/{question_id}/protect"): None,
        # one's own profile: the public display name and the address (notification settings stay open)
        ("PATCH", "/me/settings"): {"display_name": "Sam the helper"},
        ("POST", "/me/email"): {"email": "sam.new@example.com", "password": PASSWORD},
        ("POST", "/me/follows"): {"type": "question", "target": w["q"]},
        ("POST", "/api-keys"): {"name": "mine", "scopes": ["read"]},
        ("PATCH", "/api-keys/{key_id}"): {"name": "renamed"},
        ("POST", "/api-keys/{key_id}/rotate"): None,
        ("POST", "/webhooks"): {"url": "https://hooks.example/x", "events": ["question.created"]},
        ("PATCH", "/webhooks/{endpoint_id}"): {"description": "x"},
        ("DELETE", "/webhooks/{endpoint_id}"): None,
        ("POST", "/webhooks/deliveries/{delivery_id}/redeliver"): None,
        ("POST", "/questions/{question_id}/internal-links"): {"internal_id": w["q"]},
        ("POST", "/me/views"): {"name": "Unsolved Dock Pro", "filters": {"product": "dock-pro", "unsolved": True}},
        ("POST", "/escalations/{escalation_id}/messages"): {"body": "Could you send the serial number, please?"},
        ("DELETE", "/questions/{question_id}/internal-links/{internal_id}"): None,
    }


def _fill(template: str, w) -> str:
    values = {"question_id": w["q"], "answer_id": w["a"], "comment_id": w["c"], "escalation_id": w["e"],
              "edit_id": w["se"], "report_id": 1, "slug": w["slug"], "username": "tom_target",
              "post_type": "question", "post_id": w["q"], "key_id": w["key"], "endpoint_id": 1, "delivery_id": 1, "row_id": 1,
              "internal_id": w["q"], "view_id": w["view"]}
    return re.sub(r"\{(\w+)(:\w+)?\}", lambda m: str(values[m.group(1)]), template)


def _write_routes(app, prefix: str) -> set[tuple[str, str]]:
    """(method, path template) of every non-GET route under `prefix` (included routers walked)."""
    out = set()
    for route in app.routes:
        if hasattr(route, "effective_route_contexts"):  # an included router (FastAPI ≥ 0.16x)
            contexts = [(c.path, getattr(c.original_route, "methods", None)) for c in route.effective_route_contexts()]
        else:
            contexts = [(route.path, getattr(route, "methods", None))]
        for path, methods in contexts:
            if methods and path.startswith(prefix):
                out |= {(m, path[len(prefix):]) for m in methods - {"GET", "HEAD"}}
    return out


def test_every_api_write_is_refused_with_the_end_time(app, client, world):
    token = client.post(f"{API}/auth/token", data={"username": "sam_staff", "password": PASSWORD}).json()["access_token"]
    headers = {"Authorization": f"Bearer {token}"}
    table = _api_requests(world)
    routes = _write_routes(app, API)
    assert len(routes) > 50, routes
    missing = routes - set(table) - API_EXEMPT
    assert not missing, f"write routes without a suspension case here: {sorted(missing)}"
    for method, template in sorted(routes - API_EXEMPT):
        body = table[(method, template)]
        r = client.request(method, API + _fill(template, world), json=body, headers=headers)
        assert r.status_code == 403, (method, template, r.status_code, r.text)
        problem = r.json()
        assert problem["type"] == "/problems/suspended", (method, template, problem)
        assert problem["suspended_until"].startswith(world["until"].isoformat()[:16]), problem
    # stopping mail stays open: notification settings (not the display name), preferences, unfollowing,
    # revoking one's API key
    assert client.patch(f"{API}/me/settings", json={"digest_hour": 9}, headers=headers).status_code == 200
    r = client.put(f"{API}/me/notification-preferences", json={"preferences": {"*": "in_app"}}, headers=headers)
    assert r.status_code == 200, r.text
    assert client.delete(f"{API}/me/follows/question/{world['q']}", headers=headers).status_code in (200, 204)
    assert client.delete(f"{API}/api-keys/{world['key']}", headers=headers).status_code == 204
    # reading still works, and the member sees why
    assert client.get(f"{API}/me", headers=headers).status_code == 200
    kinds = [n["kind"] for n in client.get(f"{API}/notifications", headers=headers).json()["items"]]
    assert "suspended" in kinds


def test_every_web_form_is_refused(app, browsers, world, session):
    me = browsers()
    me.sign_in("sam_staff")
    home = me.get("/", follow_redirects=True)
    assert "Your account is suspended until" in home.text
    token = csrf_from(home.text)
    form = {"csrf_token": token, "title": "Dock Pro will not charge at 100 W",
            "body": "A body long enough for every rule about posts here, with words.", "tags": "dock",
            "product": "", "comment": "", "value": "1", "answer_id": str(world["a"]), "original": str(world["q2"]),
            "reason": "off_topic", "text": "", "note": "x", "action": "dismiss", "decision": "approve",
            "do": "lock", "days": "1", "role": "moderator", "confirm": "tom_target", "assignee": "sam_staff",
            "ticket": "ZD-1", "resolution": "fixed", "tier": "priority", "name": "Dock", "description": "",
            "slug": "new-prod"}
    paths = {p for m, p in _write_routes(app, "") if not p.startswith(API) and m == "POST"}
    checked, wrong = 0, []
    for template in sorted(paths - WEB_EXEMPT):
        r = me.post(_fill(template, world), form)
        if r.status_code != 403 or "suspended until" not in r.text:
            wrong.append((template, r.status_code, r.headers.get("location")))
        checked += 1
    assert not wrong, "\n".join(map(str, wrong))
    assert checked >= 40
    # nothing was written by any of them
    session.expire_all()
    assert session.exec(select(AuditEntry).where(AuditEntry.actor_id == world["staff"].id)).all() == []


def test_suspend_and_lift_through_the_api(client, session):
    moderator = make_user(session, "mo_mod", role="moderator")
    member = make_user(session, "pat_member")
    other_mod = make_user(session, "other_mod", role="moderator")
    session.commit()
    h = {"Authorization": "Bearer " + client.post(f"{API}/auth/token", data={"username": "mo_mod", "password": PASSWORD}).json()["access_token"]}
    r = client.post(f"{API}/users/pat_member/suspend", json={"days": 7, "reason": "repeated rudeness"}, headers=h)
    assert r.status_code == 200, r.text
    assert r.json()["suspended_until"] and r.json()["username"] == "pat_member"
    assert client.post(f"{API}/users/pat_member/suspend", json={"days": 0, "reason": "x"}, headers=h).status_code == 422
    assert client.post(f"{API}/users/other_mod/suspend", json={"days": 1, "reason": "x"}, headers=h).status_code == 403
    assert client.post(f"{API}/users/mo_mod/suspend", json={"days": 1, "reason": "x"}, headers=h).status_code == 403
    mh = {"Authorization": "Bearer " + client.post(f"{API}/auth/token", data={"username": "pat_member", "password": PASSWORD}).json()["access_token"]}
    refused = client.post(f"{API}/questions", json={"title": "Dock Pro will not charge", "body": "x" * 40, "tags": []}, headers=mh)
    assert refused.status_code == 403 and refused.json()["suspended_until"]
    assert client.post(f"{API}/users/mo_mod/suspend", json={"days": 1, "reason": "x"}, headers=mh).status_code == 403
    lifted = client.delete(f"{API}/users/pat_member/suspend", headers=h)
    assert lifted.status_code == 200 and lifted.json()["suspended_until"] is None
    assert client.delete(f"{API}/users/pat_member/suspend", headers=h).status_code == 409
    ok = client.post(f"{API}/questions", json={"title": "Dock Pro will not charge at 100 W", "body": "It only charges at 60 W with the supplied cable.", "tags": []}, headers=mh)
    assert ok.status_code == 201, ok.text
    session.expire_all()
    actions = [e.action for e in session.exec(select(AuditEntry).order_by(AuditEntry.id)).all()]
    assert actions == ["user.suspend", "user.unsuspend"]
    kinds = [n.kind for n in session.exec(select(Notification).where(Notification.user_id == member.id).order_by(Notification.id)).all()]
    assert kinds == ["suspended", "unsuspended"]
    assert other_mod.id  # untouched


def test_a_role_change_is_refused_for_the_reason_that_holds(session):
    """A moderator changing any role, their own included, is told that only admins change roles
    (not that it is their own account, which would not be why); an admin changing their own role
    is told that one cannot; an admin changing another member's role may."""
    from app.core.errors import Forbidden

    mod = make_user(session, "mira_mod", role="moderator")
    admin = make_user(session, "ada_admin", role="admin")
    kim = make_user(session, "kim_c")
    for target in ("mira_mod", "kim_c"):
        with pytest.raises(Forbidden, match=r"^Only admins change roles\.$"):
            suspensions.set_role(session, actor=mod, username=target, role="admin")
    with pytest.raises(Forbidden, match=r"^You cannot change your own role\.$"):
        suspensions.set_role(session, actor=admin, username="ada_admin", role="customer")
    assert suspensions.set_role(session, actor=admin, username="kim_c", role="moderator").role == "moderator"
    assert kim.role == "moderator" and mod.role == "moderator"
