"""Following and mentions: API, notifications, and the e-mail they lead to through a real SMTP server."""

from __future__ import annotations

from sqlmodel import Session, select

from app.follows.service import MENTIONS_PER_POST
from app.notifications.models import Notification
from tests.api.conftest import API, QUESTION, assert_problem
from tests.factories import make_product, make_user
from tests.mail.helpers import outbox_rows, run_worker


def _notes(engine, user_id):
    with Session(engine) as s:
        return list(s.exec(select(Notification).where(Notification.user_id == user_id).order_by(Notification.id)).all())


def test_follow_api(client, session, login):
    make_user(session, "maya")
    raj = make_user(session, "raj")
    make_product(session, slug="dock-pro", name="Dock Pro")
    session.commit()
    me = login("maya")
    assert_problem(client.post(f"{API}/me/follows", json={"type": "tag", "target": "dock"}), 401)
    q = client.post(f"{API}/questions", json=QUESTION, headers=login(raj)).json()
    for body in ({"type": "tag", "target": "dock"}, {"type": "product", "target": "dock-pro"},
                 {"type": "question", "target": q["id"]}, {"type": "user", "target": "raj"}):
        r = client.post(f"{API}/me/follows", json=body, headers=me)
        assert r.status_code == 201, r.text
        assert r.json()["type"] == body["type"] and r.json()["target"] == str(body["target"])
    assert client.post(f"{API}/me/follows", json={"type": "tag", "target": "dock"}, headers=me).status_code == 201
    listed = client.get(f"{API}/me/follows", headers=me).json()
    assert listed["next_cursor"] is None
    assert [(f["type"], f["target"]) for f in listed["items"]] == [
        ("user", "raj"), ("question", str(q["id"])), ("product", "dock-pro"), ("tag", "dock")]
    pages, cursor = [], None  # two per page: keyset pages that add up to the whole list, in order
    while True:
        page = client.get(f"{API}/me/follows", headers=me, params={"limit": 2, **({"cursor": cursor} if cursor else {})})
        assert page.status_code == 200, page.text
        pages.append([(f["type"], f["target"]) for f in page.json()["items"]])
        cursor = page.json()["next_cursor"]
        if cursor is None:
            break
    assert pages == [[("user", "raj"), ("question", str(q["id"]))], [("product", "dock-pro"), ("tag", "dock")]]
    for bad in ({"limit": 0}, {"limit": 101}, {"cursor": "not-a-cursor"}, {"cursor": "WyJ4Il0"}):  # WyJ4Il0 = ["x"]
        assert_problem(client.get(f"{API}/me/follows", headers=me, params=bad), 422)
    assert_problem(client.post(f"{API}/me/follows", json={"type": "tag", "target": "no-such-tag"}, headers=me), 404)
    assert_problem(client.post(f"{API}/me/follows", json={"type": "planet", "target": "x"}, headers=me), 422)
    assert_problem(client.post(f"{API}/me/follows", json={"type": "user", "target": "maya"}, headers=me), 422)
    assert client.delete(f"{API}/me/follows/tag/dock", headers=me).status_code == 204
    assert client.delete(f"{API}/me/follows/tag/dock", headers=me).status_code == 204
    assert client.delete(f"{API}/me/follows/question/{q['id']}", headers=me).status_code == 204
    assert_problem(client.delete(f"{API}/me/follows/product/nothing", headers=me), 404)
    assert [f["type"] for f in client.get(f"{API}/me/follows", headers=me).json()["items"]] == ["user", "product"]


def test_follow_a_tag_then_a_new_question_sends_exactly_one_email(client, session, clean_engine, smtp, settings, login):
    handler, _ = smtp
    maya = make_user(session, "maya", email="maya@example.com")
    raj = make_user(session, "raj", email="raj@example.com")
    make_product(session, slug="dock-pro", name="Dock Pro")
    session.commit()
    me = login("maya")
    assert client.post(f"{API}/me/follows", json={"type": "tag", "target": "dock"}, headers=me).status_code == 404
    client.post(f"{API}/questions", json={**QUESTION, "title": "First dock question here"}, headers=login(raj))
    assert client.post(f"{API}/me/follows", json={"type": "tag", "target": "dock"}, headers=me).status_code == 201
    # also the product and the author: still one message
    client.post(f"{API}/me/follows", json={"type": "product", "target": "dock-pro"}, headers=me)
    client.post(f"{API}/me/follows", json={"type": "user", "target": "raj"}, headers=me)
    r = client.put(f"{API}/me/notification-preferences", json={"preferences": {"followed_new_question": "email"}},
                   headers=me)
    assert r.status_code == 200
    run_worker(clean_engine, settings)
    handler.messages.clear()
    q = client.post(f"{API}/questions", json={**QUESTION, "product": "dock-pro"}, headers=login(raj)).json()
    assert run_worker(clean_engine, settings).sent == 1
    [mail] = handler.messages
    assert mail.rcpt_tos == ["maya@example.com"]
    assert QUESTION["title"] in mail.message["Subject"]
    assert f"http://testserver/questions/{q['id']}/" in mail.text()
    assert mail.link(f"/questions/{q['id']}/") == "http://testserver" + q["url"]
    assert "raj@example.com" not in mail.raw.decode()
    assert run_worker(clean_engine, settings).sent == 0 and len(handler.messages) == 1
    assert [n.kind for n in _notes(clean_engine, maya.id)] == ["followed_new_question"]


def test_answers_notify_question_followers_and_auto_follow(client, session, clean_engine, login):
    maya, raj, lena, omar = (make_user(session, n) for n in ("maya", "raj", "lena", "omar"))
    session.commit()
    q = client.post(f"{API}/questions", json=QUESTION, headers=login(maya)).json()
    # lena does not want to follow what she answers
    lena_h = login(lena)
    assert client.patch(f"{API}/me/settings", json={"auto_follow": False}, headers=lena_h).status_code == 200
    client.post(f"{API}/questions/{q['id']}/answers", json={"body": "Use the 100 W cable that came in the box."},
                headers=lena_h)
    client.post(f"{API}/questions/{q['id']}/answers", json={"body": "Update the dock's firmware first, then retry."},
                headers=login(raj))
    client.post(f"{API}/questions/{q['id']}/answers", json={"body": "Mine charged at 100 W after a firmware update."},
                headers=login(omar))
    assert [n.kind for n in _notes(clean_engine, maya.id)] == ["answer_posted"] * 3  # the asker: not twice
    assert [n.kind for n in _notes(clean_engine, raj.id)] == ["followed_question_answer"]  # omar's, after raj's
    assert _notes(clean_engine, lena.id) == []  # auto-follow off
    follows = client.get(f"{API}/me/follows", headers=login(raj)).json()["items"]
    assert [(f["type"], f["target"]) for f in follows] == [("question", str(q["id"]))]


def test_mentions_notify_capped_per_post(client, session, clean_engine, login):
    maya = make_user(session, "maya")
    names = [f"helper{i}" for i in range(MENTIONS_PER_POST + 2)]
    helpers = [make_user(session, n, reputation=100) for n in names]  # may comment
    session.commit()
    body = "Can " + " ".join(f"@{n}" for n in names) + " help? (not `@maya` in code) and again @helper0"
    q = client.post(f"{API}/questions", json={**QUESTION, "body": body}, headers=login(maya)).json()
    notified = [h for h in helpers if _notes(clean_engine, h.id)]
    assert [h.username for h in notified] == names[:MENTIONS_PER_POST]
    assert all(len(_notes(clean_engine, h.id)) == 1 for h in notified)
    assert _notes(clean_engine, maya.id) == []
    note = _notes(clean_engine, helpers[0].id)[0]
    assert note.kind == "mention" and note.url == q["url"]
    # a comment mention too
    c = client.post(f"{API}/questions/{q['id']}/comments", json={"body": "@maya which firmware do you run?"},
                    headers=login(helpers[1]))
    assert c.status_code == 201, c.text
    assert [n.kind for n in _notes(clean_engine, maya.id)] == ["mention"]


def test_unverified_accounts_get_no_notification_mail(client, session, clean_engine, smtp, settings, login):
    handler, _ = smtp
    raj = make_user(session, "raj")
    session.commit()
    r = client.post(f"{API}/auth/register", json={"username": "maya", "email": "maya@example.com",
                                                  "password": "correct-horse-battery"})
    assert r.status_code == 201
    run_worker(clean_engine, settings)
    handler.messages.clear()  # the verification mail
    q = client.post(f"{API}/questions", json=QUESTION, headers=login("maya")).json()
    client.post(f"{API}/questions/{q['id']}/answers", json={"body": "Use the 100 W cable that came in the box."},
                headers=login(raj))
    assert [n.kind for n in _notes(clean_engine, r.json()["id"])] == ["answer_posted"]  # in-app: yes
    run_worker(clean_engine, settings)
    assert handler.messages == [] and outbox_rows(clean_engine, kind="answer_posted") == []


def test_follow_buttons_and_following_page(browsers, session, clean_engine):
    maya = make_user(session, "maya")
    raj = make_user(session, "raj")
    make_product(session, slug="dock-pro", name="Dock Pro")
    from tests.factories import make_question

    q = make_question(session, author=raj, title="Dock Pro will not charge at 100 W", tags=["dock"], product="dock-pro")
    session.commit()
    anon = browsers()
    page = anon.get("/products/dock-pro")
    assert 'href="/signin?next=/products/dock-pro"' in page.text and "Follow product" in page.text
    b = browsers()
    b.sign_in("maya")
    targets = {"/products/dock-pro": ("product", "dock-pro"), "/tags/dock": ("tag", "dock"), "/users/raj": ("user", "raj"),
               f"/questions/{q.id}/{q.slug}": ("question", str(q.id))}
    for url, (type_, target) in targets.items():
        page = b.get(url)
        assert 'aria-pressed="false"' in page.text, url
        assert f'name="type" value="{type_}"' in page.text and f'name="target" value="{target}"' in page.text
        r = b.submit(url, "/follow", {"type": type_, "target": target, "next": url, "action": "follow"})
        assert r.status_code == 303 and r.headers["location"] == url
        assert 'aria-pressed="true"' in b.get(url).text, url
    feed = b.get("/following")
    assert feed.status_code == 200 and q.title in feed.text and "Dock Pro" in feed.text
    r = b.submit("/following", "/follow", {"type": "tag", "target": "dock", "next": "/following", "action": "unfollow"})
    assert r.status_code == 303
    assert 'aria-pressed="false"' in b.get("/tags/dock").text
    assert b.get("/users/maya").text.count("follow-button") == 0  # nobody follows themselves
    # Invalid input is not silently ignored: the page it returns to says what was wrong.
    for form, message in ((("bogus", "dock"), "Follow one of"), (("user", "maya"), "cannot follow yourself"),
                          (("question", "999999"), "does not exist or was deleted"), (("tag", "no-such-tag"), "There is no tag")):
        r = b.submit("/following", "/follow", {"type": form[0], "target": form[1], "next": "/following",
                                               "action": "follow"})
        assert r.status_code == 303
        assert message.lower() in b.get("/following").text.lower(), (form, message)
