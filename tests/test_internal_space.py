"""Issue 18: the internal space ("Blue Shirt Nation"). An internal question and everything on it
does not exist for customers and anonymous visitors: every route of the app (walked from
app.routes, so a route added later is covered too) answers for an internal id exactly as for an
id that does not exist, and no response anywhere carries its text; lists, search, similar
questions, the sitemap, tags, profiles, feeds, notifications, e-mail and webhooks leave it out.
Staff ask, list, search and link it. On SQLite and PostgreSQL (the fixtures parametrise)."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from app.answers import service as answers_service
from app.comments import service as comments_service
from app.escalation import service as esc_service
from app.follows import service as follows
from app.internal import service as internal
from app.mail.models import EmailOutbox
from app.notifications.models import Notification
from app.questions import service as questions_service
from app.questions.models import Question
from app.questions.schemas import AnswerCreate, CommentCreate, QuestionCreate, QuestionUpdate
from app.webhooks.models import WebhookDelivery
from tests.factories import PASSWORD, token_headers
from tests.web.conftest import Browser

API = "/api/v1"
# Words that occur nowhere but in the internal question, its answer and its comment.
SECRETS = ("Quokkafrost", "Zanzibarite", "Marmalizer", "Plinthwhistle", "quokkatag")
# What only staff see around it: the panel and the badge.
STAFF_ONLY_TEXT = ("Internal knowledge", "Internal — staff only", "internal-panel", "badge-internal")
MISSING = 2_000_000  # an id no row has
ID_PARAMS = ("question_id", "answer_id", "comment_id", "post_id", "internal_id", "target")


def ask_internal(session: Session, author, *, title: str, body: str, tags=("wifi",), product: str | None = None):
    return questions_service.ask(session, actor=author, data=QuestionCreate(
        title=title, body=body, tags=list(tags), product=product, visibility="internal"))


@pytest.fixture
def space(factory, session):
    """A public thread (escalated, linked to an internal question) and an internal question with an
    answer, a comment and a revision; maya, a customer, follows the product, the tag and lena."""
    factory.product("aero-14")
    admin = factory.user("root", role="admin")
    lena = factory.user("lena", role="staff")
    tomas = factory.user("tomas", role="staff")
    maya = factory.user("maya")
    from app.webhooks import service as webhooks

    public_hook = webhooks.create_endpoint(session, actor=admin, url="https://hooks.example.com/public",
                                           events=["question.created", "answer.created"])
    internal_hook = webhooks.create_endpoint(session, actor=admin, url="https://hooks.example.com/internal",
                                             events=["question.created", "answer.created"], internal=True)
    public = factory.question(author=maya, title="Dock stops charging after the firmware update", product="aero-14",
                              tags=["wifi", "dock"], body="Since firmware 2.4 the dock no longer charges my laptop.")
    for type_, target in (("product", "aero-14"), ("tag", "wifi"), ("user", "lena")):
        follows.follow(session, actor=maya, type_=type_, target=target)
    escalation, _ = esc_service.escalate(session, actor=lena, question_id=public.id, reason="Several reports")
    iq = ask_internal(session, lena, title="Dock firmware 2.4 bricks units: Quokkafrost defect",
                      body="Known defect. Playbook: Zanzibarite escalation steps. Ping @maya? No: customers never see this.",
                      tags=("wifi", "quokkatag"), product="aero-14")
    ia = answers_service.post(session, actor=tomas, question_id=iq.id,
                              data=AnswerCreate(body="Workaround under review: the Marmalizer reset brings it back."))
    ic = comments_service.add(session, actor=lena, post_type="answer", post_id=ia.id,
                              data=CommentCreate(body="Plinthwhistle: confirmed on three units."))
    questions_service.edit(session, actor=lena, question_id=iq.id,
                           data=QuestionUpdate(body=iq.body + " Quokkafrost fix due in 2.5."))
    answers_service.accept(session, actor=lena, question_id=iq.id, answer_id=ia.id)
    internal.link(session, actor=lena, question_id=public.id, internal_id=iq.id, escalation_id=escalation.id)
    session.commit()
    return {"public": public, "iq": iq, "ia": ia, "ic": ic, "escalation": escalation, "maya": maya, "lena": lena,
            "public_hook": public_hook, "internal_hook": internal_hook}


def _routes(app) -> list[tuple[str, str]]:
    """(method, path template) of every route, included routers walked (as tests/test_head.py)."""
    out = []
    for route in app.routes:
        if hasattr(route, "effective_route_contexts"):
            contexts = [(c.path, getattr(c.original_route, "methods", None)) for c in route.effective_route_contexts()]
        else:
            contexts = [(route.path, getattr(route, "methods", None))]
        out += [(m, p) for p, methods in contexts for m in (methods or ()) if m != "HEAD"]
    assert len(out) > 100
    return out


def _fill(template: str, ids: dict, *, missing: bool) -> str:
    """The path with the internal thread's ids (or, `missing`, an id no row has) in every post
    parameter, and ordinary values elsewhere."""
    posts = {"question_id": ids["iq"], "answer_id": ids["ia"], "comment_id": ids["ic"], "post_id": ids["iq"],
             "internal_id": ids["iq"], "original_id": ids["iq"], "target": ids["iq"]}

    def one(match):
        name = match.group(1)
        if name in posts:
            return str(MISSING if missing else posts[name])
        if name == "slug":
            return ids["slug"] if template.startswith("/questions/") else "aero-14"
        return str(ids.get(name, 1))

    return re.sub(r"\{(\w+)(?::\w+)?\}", one, template)


def _bodies(ids: dict) -> dict[str, dict]:
    """A valid body for the write routes on a post, so that they reach their service."""
    return {"answers": {"body": "Have you tried resetting the dock from its settings page?"},
            "comments": {"body": "Which laptop model is this on?"}, "vote": {"value": 1},
            "accept": {"answer_id": ids["ia"]}, "close-as-duplicate": {"original_id": ids["public"]},
            "flags": {"reason": "spam"}, "escalate": {"reason": "I still need help with this"},
            "follows": {"type": "question", "target": str(ids["iq"])}}


def _leaks(text: str) -> list[str]:
    return [s for s in SECRETS + STAFF_ONLY_TEXT if s in text]


def _words(response) -> str:
    """What a refusal says, ids left out: a problem's detail, or an HTML page's title and heading."""
    import re

    if response.headers.get("content-type", "").startswith("application/"):
        try:
            text = str(response.json().get("detail", ""))
        except ValueError:
            text = response.text
    else:
        found = re.findall(r"<title>(.*?)</title>|<h1[^>]*>(.*?)</h1>", response.text, flags=re.S)
        text = " ".join("".join(pair) for pair in found)
    return re.sub(r"\d+", "N", text)


def test_every_route_treats_an_internal_question_as_missing(app, space, session):
    iq, ia, ic = space["iq"], space["ia"], space["ic"]
    ids = {"iq": iq.id, "ia": ia.id, "ic": ic.id, "slug": iq.slug, "public": space["public"].id,
           "username": "lena", "name": "wifi", "slug_product": "aero-14", "post_type": "question", "type": "question",
           "escalation_id": space["escalation"].id, "endpoint_id": space["public_hook"].id}
    bodies = _bodies(ids)
    html = {"Accept": "text/html,application/xhtml+xml"}
    anonymous = TestClient(app, headers=html)
    customer_web = Browser(TestClient(app, headers=html))
    customer_api = TestClient(app)
    checked = 0
    with anonymous, customer_web.client, customer_api:
        customer_web.sign_in("maya")
        customer_web.get("/")
        customer_api.headers.update(token_headers(customer_api, "maya"))
        for method, template in _routes(app):
            if template.startswith("/docs/assets") or template == "/static":
                continue
            targets_post = any("{" + p in template for p in ID_PARAMS)
            is_api = template.startswith(API)
            if method != "GET" and not (is_api and targets_post):
                continue  # web forms need CSRF (refused alike); API writes that name no post are not about it
            suffix = template.rstrip("/").rsplit("/", 1)[-1]
            body = bodies.get(suffix, {})
            clients = [customer_api] if is_api else [anonymous, customer_web.client]
            if method == "GET" and is_api:
                clients.append(anonymous)
            for client in clients:
                got = client.request(method, _fill(template, ids, missing=False), json=body if method != "GET" else None,
                                     follow_redirects=False)
                assert not _leaks(got.text), (method, template, _leaks(got.text), got.text[:300])
                if targets_post:
                    ref = client.request(method, _fill(template, ids, missing=True),
                                         json=body if method != "GET" else None, follow_redirects=False)
                    assert got.status_code == ref.status_code, (method, template, got.status_code, ref.status_code,
                                                               got.text[:300])
                    # ... and in the same words: naming the internal question of an answer would tell
                    # that the answer exists, and where (ids aside, the answers read alike).
                    assert _words(got) == _words(ref), (method, template, _words(got), _words(ref))
                    checked += 1
    assert checked > 40
    # Nothing a customer tried changed the internal thread.
    session.expire_all()
    fresh = session.get(Question, iq.id)
    assert (fresh.score, fresh.answer_count, fresh.status, fresh.accepted_answer_id) == (0, 1, "open", ia.id)


@pytest.mark.parametrize("who", ["anonymous", "customer"])
def test_public_paths_leave_the_internal_space_out(app, space, clean_engine, settings, who):
    from app.search import outbox
    from app.search import service as search_service

    search_service.reset_backends()
    while outbox.drain(clean_engine, encoder=search_service.encoder_for(settings)).did_work:
        pass
    public = space["public"]
    paths = ["/", "/questions", "/questions?sort=active", f"/questions/{public.id}/{public.slug}",
             f"{API}/questions/{public.id}", f"{API}/questions?sort=active", f"{API}/questions?product=aero-14",
             f"{API}/search?q=bricks defect", f"{API}/search?q=dock firmware", "/search?q=bricks+defect",
             "/search?q=dock+firmware+bricks", f"{API}/questions/similar?title=Dock firmware 2.4 bricks units",
             "/sitemap.xml", f"{API}/tags", "/tags", "/tags?q=quokka", f"{API}/tags?q=quokka", "/users/lena",
             "/users/lena?tab=questions", "/users/tomas?tab=answers", f"{API}/users/lena", "/products/aero-14",
             f"{API}/products/aero-14", "/tags/wifi", "/widget.js", "/following"]
    with TestClient(app, headers={"Accept": "text/html,application/xhtml+xml"}) as c:
        if who == "customer":
            Browser(c).sign_in("maya")
        for path in paths:
            r = c.get(path, follow_redirects=True)
            assert r.status_code == 200, (path, r.status_code)
            assert not _leaks(r.text), (path, _leaks(r.text))
        for path in ("/internal", f"{API}/internal/questions", f"{API}/questions/{public.id}/internal-links",
                     f"{API}/internal/similar?title=dock"):
            r = c.get(path)
            assert r.status_code in ((404,) if who == "customer" else (401, 404)), (path, r.status_code)
            assert not _leaks(r.text)
    # The counts say so too: the product counts one question (the public one), the tag lists one.
    with TestClient(app) as c:
        assert c.get(f"{API}/products/aero-14").json()["question_count"] == 1
        assert [q["id"] for q in c.get(f"{API}/questions").json()["items"]] == [public.id]
        # tomas earned reputation only in the internal space (an accepted answer): no public top contributor
        tops = [row["user"]["username"] for row in c.get(f"{API}/top-contributors").json()["items"]]
        assert "tomas" not in tops
        assert c.get(f"{API}/users/tomas").json()["reputation"] > 1  # his total still counts it


def test_customers_hear_nothing_of_internal_activity(space, session):
    """maya follows the product, the tag and lena, and is @mentioned: nothing of the internal
    thread reaches her in-app or by e-mail, while lena's public question does."""
    maya, lena = space["maya"], space["lena"]

    def notices() -> list[str]:
        return [n.text for n in session.exec(select(Notification).where(Notification.user_id == maya.id)).all()]

    assert not any(s in t for t in notices() for s in SECRETS + ("Dock firmware",)), notices()
    questions_service.ask(session, actor=lena, data=QuestionCreate(
        title="Dock firmware 2.5 is out: please update", body="It fixes charging on the Aero 14.",
        tags=["dock"], product="aero-14"))
    session.flush()
    assert any("Dock firmware 2.5" in t for t in notices()), notices()  # the pipeline works for public posts
    mails = session.exec(select(EmailOutbox).where(EmailOutbox.to_addr == maya.email)).all()
    assert not any(s in m.subject + m.text_body + m.html_body for m in mails for s in SECRETS)
    feed = follows.feed(session, actor=maya)
    assert feed and space["iq"].id not in [q.id for q in feed]


def test_webhooks_reach_only_endpoints_marked_internal(space, session):
    import json

    from app.webhooks.models import WebhookEvent

    rows = session.exec(select(WebhookDelivery, WebhookEvent).join(WebhookEvent, WebhookEvent.id == WebhookDelivery.event_id)).all()
    to_public = [json.loads(e.payload) for d, e in rows if d.endpoint_id == space["public_hook"].id]
    to_internal = [json.loads(e.payload) for d, e in rows if d.endpoint_id == space["internal_hook"].id]
    assert not any(s in json.dumps(p) for p in to_public for s in SECRETS)
    assert {p["data"]["question"]["id"] for p in to_public} == {space["public"].id}
    internal_events = [p for p in to_internal if p["data"]["question"]["id"] == space["iq"].id]
    assert {p["type"] for p in internal_events} == {"question.created", "answer.created"}
    assert all(p["data"]["question"]["visibility"] == "internal" for p in internal_events)


def test_asking_internally_is_for_staff(client, space):
    maya, lena = token_headers(client, "maya"), token_headers(client, "lena")
    body = {"title": "Is the dock firmware 2.5 safe to ship?", "body": "Testing shows no regressions so far.",
            "tags": ["dock"], "visibility": "internal"}
    refused = client.post(f"{API}/questions", json=body, headers=maya)
    assert refused.status_code == 403 and refused.headers["content-type"].startswith("application/problem+json")
    assert "staff" in refused.json()["detail"]
    bad = client.post(f"{API}/questions", json={**body, "visibility": "secret"}, headers=lena)
    assert bad.status_code == 422
    made = client.post(f"{API}/questions", json=body, headers=lena)
    assert made.status_code == 201 and made.json()["visibility"] == "internal"
    qid = made.json()["id"]
    assert client.get(f"{API}/questions/{qid}", headers=lena).json()["visibility"] == "internal"
    assert client.get(f"{API}/questions/{qid}", headers=maya).status_code == 404
    listed = client.get(f"{API}/internal/questions", params={"q": "dock firmware"}, headers=lena).json()["items"]
    assert qid in [q["id"] for q in listed] and all(q["visibility"] == "internal" for q in listed)
    assert client.get(f"{API}/questions", headers=lena).json()["items"][0]["visibility"] == "public"


def test_duplicates_never_cross_the_boundary(client, space):
    lena = token_headers(client, "lena")
    public, iq = space["public"], space["iq"]
    r = client.post(f"{API}/questions/{public.id}/close-as-duplicate", json={"original_id": iq.id}, headers=lena)
    assert r.status_code == 422 and "internal" in r.text
    r = client.post(f"{API}/questions/{iq.id}/close-as-duplicate", json={"original_id": public.id}, headers=lena)
    assert r.status_code == 422 and "internal" in r.text
    r = client.post(f"{API}/questions/{iq.id}/escalate", json={"reason": "please"}, headers=lena)
    assert r.status_code == 409


def test_staff_link_and_see_suggestions_customers_see_nothing(app, space, session):
    public, iq, lena = space["public"], space["iq"], space["lena"]
    other = ask_internal(session, lena, title="Playbook: customers whose dock stops charging",
                         body="Check the firmware version first, then the cable.")
    session.commit()
    with TestClient(app, headers={"Accept": "text/html,application/xhtml+xml"}) as c:
        staff = Browser(c)
        staff.sign_in("lena")
        page = staff.get(f"/questions/{public.id}/{public.slug}").text
        assert "Internal knowledge" in page and iq.title in page
        assert other.title in page  # suggested: similar to the public thread, not linked yet
        esc_page = staff.get(f"/staff/escalations/{space['escalation'].id}").text
        assert iq.title in esc_page and other.title in esc_page
        r = staff.submit(f"/staff/escalations/{space['escalation'].id}", f"/questions/{public.id}/internal-links",
                         {"internal_id": str(other.id), "escalation_id": str(space["escalation"].id),
                          "next": f"/staff/escalations/{space['escalation'].id}#internal"})
        assert r.status_code == 303 and r.headers["location"].startswith(f"/staff/escalations/{space['escalation'].id}")
        assert [q.id for q in internal.linked_from(session, viewer=lena, question_id=public.id)] == [iq.id, other.id]
        session.commit()  # ends the read: the test session holds the write turn otherwise
        r = staff.submit(f"/questions/{public.id}/{public.slug}", f"/questions/{public.id}/internal-links",
                         {"internal_id": str(public.id)})
        assert r.status_code == 303
        assert "not an internal question" in staff.follow(r).text
        inside = staff.get(f"/questions/{iq.id}/{iq.slug}").text
        assert "Internal — staff only" in inside and public.title in inside  # "linked from"
        listing = staff.get("/internal?q=quokkafrost").text
        assert iq.title in listing and other.title not in listing
    with TestClient(app) as api:
        maya = token_headers(api, "maya")
        assert api.post(f"{API}/questions/{public.id}/internal-links", json={"internal_id": iq.id},
                        headers=maya).status_code == 404
        page = api.get(f"{API}/questions/{public.id}", headers=maya).text
        assert not _leaks(page) and "Playbook" not in page


def test_web_ask_internally(app, space, session):
    with TestClient(app, headers={"Accept": "text/html,application/xhtml+xml"}) as c:
        staff = Browser(c)
        staff.sign_in("lena")
        form = staff.get("/ask?visibility=internal").text
        assert 'value="internal" checked' in form
        r = staff.submit("/ask", "/ask", {"title": "Battery swelling reports on the Aero 14: RMA policy?",
                                          "body": "Which units qualify for a free replacement?", "tags": "battery",
                                          "product": "", "visibility": "internal"})
        assert r.status_code == 303, r.text
        page = staff.follow(r).text
        assert "Internal — staff only" in page
    with TestClient(app, headers={"Accept": "text/html,application/xhtml+xml"}) as c:
        customer = Browser(c)
        customer.sign_in("maya")
        assert 'name="visibility"' not in customer.get("/ask").text
        r = customer.submit("/ask", "/ask", {"title": "Battery swelling on my Aero 14, is it covered?",
                                             "body": "The case bulges near the touchpad.", "tags": "battery",
                                             "product": "", "visibility": "internal", "confirmed": "1"})
        assert r.status_code == 403
    assert session.exec(select(Question).where(Question.title.like("Battery swelling on%"))).first() is None


def test_api_keys_see_the_internal_space_only_with_its_scope(client, space, session):
    """A product site's key owned by a staff account must not show staff-only questions."""
    from app.apikeys import service as apikeys

    lena, iq = space["lena"], space["iq"]
    _, plain = apikeys.create(session, actor=lena, owner=lena, name="help centre", scopes=["read"])
    _, inside = apikeys.create(session, actor=lena, owner=lena, name="intranet", scopes=["read", "internal"])
    session.commit()
    assert client.get(f"{API}/questions/{iq.id}", headers={"X-API-Key": plain}).status_code == 404
    assert client.get(f"{API}/internal/questions", headers={"X-API-Key": plain}).status_code == 404
    assert client.get(f"{API}/questions/{iq.id}", headers={"X-API-Key": inside}).json()["visibility"] == "internal"
    assert client.get(f"{API}/questions/{iq.id}", headers=token_headers(client, "lena")).status_code == 200
    # Her notices about the internal thread ("… answered your question “…”") follow the same rule.
    from app.notifications import service as notifications

    notifications.notify(session, [lena.id], kind="answer_posted", text=f"Tomas answered your question “{iq.title}”.",
                         url=f"/questions/{iq.id}/{iq.slug}#answer-1")
    notifications.notify(session, [lena.id], kind="answer_posted", text="Maya answered a public question.",
                         url=f"/questions/{space['public'].id}/{space['public'].slug}")
    session.commit()
    seen = client.get(f"{API}/notifications", headers={"X-API-Key": plain}).json()["items"]
    assert seen and not any(iq.title in n["text"] or f"/questions/{iq.id}/" in n["url"] for n in seen)
    inside_seen = client.get(f"{API}/notifications", headers={"X-API-Key": inside}).json()["items"]
    assert any(iq.title in n["text"] for n in inside_seen)


def test_a_former_staff_members_export_leaves_the_internal_space_out(client, space, session):
    """Staff who wrote in the internal space and are customers now: their data export (API and
    web) carries none of it, neither their internal posts and comments nor the notices about
    them that their notification list no longer shows, while their public writing stays in it.
    As staff, the same export has the internal posts (they are theirs and they may read them)."""
    from app.accounts import lifecycle
    from app.accounts import service as accounts_service
    from app.accounts.models import Role, User

    lena = space["lena"]
    tomas = session.exec(select(User).where(User.username == "tomas")).one()
    root = session.exec(select(User).where(User.username == "root")).one()
    comments_service.add(session, actor=lena, post_type="question", post_id=space["public"].id,
                         data=CommentCreate(body="Thanks, the team is reproducing the dock fault now."))
    session.commit()

    def text_of(export: dict) -> str:
        return repr(export)

    as_staff = {u.username: text_of(lifecycle.export_data(session, u)) for u in (lena, tomas)}
    assert "Quokkafrost" in as_staff["lena"] and "Plinthwhistle" in as_staff["lena"]  # her question, her comment
    assert "Marmalizer" in as_staff["tomas"]  # his answer
    lena_notices = lifecycle.export_data(session, lena)["notifications"]
    assert any("Quokkafrost" in n["text"] for n in lena_notices), lena_notices  # tomas answered her question

    for member in (lena, tomas):
        accounts_service.set_role(session, actor=root, user=member, role=Role.customer)
    session.commit()
    for member in (lena, tomas):
        export = lifecycle.export_data(session, member)
        assert not any(s in text_of(export) for s in SECRETS), export
        assert space["iq"].id not in [q["id"] for q in export["questions"]]
        assert space["ia"].id not in [a["id"] for a in export["answers"]]
        assert space["ic"].id not in [c["id"] for c in export["comments"]]
    lena_export = lifecycle.export_data(session, lena)
    assert [c["body"] for c in lena_export["comments"]] == ["Thanks, the team is reproducing the dock fault now."]
    assert not any("Quokkafrost" in n["text"] for n in lena_export["notifications"])
    session.commit()  # end the reading transaction (SQLite: the request below writes)

    headers = token_headers(client, "lena")
    r = client.get(f"{API}/me/export", headers=headers)
    assert r.status_code == 200, r.text
    assert not any(s in r.text for s in SECRETS) and "reproducing the dock fault" in r.text
