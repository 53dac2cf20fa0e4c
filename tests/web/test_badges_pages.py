"""Badges in the forum and the API: /badges, /badges/{key}, the profile's badges, the counts next
to names on the question page, GET /api/v1/users/{username}/badges (CONTRACT.md), the award
notification; and the pages in a real browser at both sizes (screenshots with
GROUNDSWELL_SCREENSHOT_DIR)."""

from __future__ import annotations

import pytest

from app.answers import service as answers_service
from app.badges import service as badges
from tests.web.conftest import text_of


@pytest.fixture
def community(session, factory):
    """maya asks, raj answers (accepted, score 12): raj holds Teacher, Solver and Nice Answer, maya Scholar."""
    maya, raj = factory.user("maya"), factory.user("raj_builds", display_name="Raj")
    factory.product("aero-14", "Kestrel Aero 14")
    q = factory.question(author=maya, title="Wi-Fi drops every few minutes on battery", product="aero-14")
    a = factory.answer(q, author=raj)
    answers_service.accept(session, actor=maya, question_id=q.id, answer_id=a.id)
    a.score = 12
    session.flush()
    badges.sync(session)
    session.commit()
    return {"maya": maya, "raj": raj, "q": q, "a": a}


def test_badges_page_lists_every_badge_with_its_rule_and_count(web, community):
    page = web.get("/badges")
    assert page.status_code == 200
    text = text_of(page.text)
    for name in ("Teacher", "Nice Answer", "Product Expert", "Helpful Streak", "Signpost", "Citizen Patrol"):
        assert name in text
    assert "Nice Answer (bronze badge)" in text
    assert "awarded 1 time" in text and "not awarded yet" in text


def test_badge_page_shows_who_holds_it_and_for_what(web, community):
    q, a = community["q"], community["a"]
    page = web.get("/badges/nice-answer")
    assert page.status_code == 200
    assert 'href="/users/raj_builds"' in page.text
    assert f'href="/questions/{q.id}/{q.slug}#answer-{a.id}"' in page.text
    assert "Awarded 1 time" in text_of(page.text)
    assert web.get("/badges/no-such-badge").status_code == 404
    assert web.get("/badges/teacher?page=99").status_code == 200  # clamped to the last page


def test_profile_shows_badges(web, community):
    text = text_of(web.get("/users/raj_builds").text)
    assert "Badges" in text and "3 bronze badges" in text
    assert "Teacher (bronze badge)" in text and "Solver (bronze badge)" in text
    assert "Scholar (bronze badge)" in text_of(web.get("/users/maya").text)


def test_badge_counts_next_to_names_on_question_page_and_people(web, community):
    q = community["q"]
    text = text_of(web.get(f"/questions/{q.id}/{q.slug}").text)
    assert "3 bronze badges" in text  # raj, the answerer
    assert "1 bronze badge" in text  # maya, the asker
    people = text_of(web.get("/users").text)  # the people directory's cards too
    assert "3 bronze badges" in people and "1 bronze badge" in people


def test_api_user_badges_matches_the_contract(client, community):
    a = community["a"]
    r = client.get("/api/v1/users/raj_builds/badges")
    assert r.status_code == 200
    body = r.json()
    assert body["counts"] == {"gold": 0, "silver": 0, "bronze": 3}
    names = {i["name"] for i in body["items"]}
    assert names == {"Teacher", "Solver", "Nice Answer"}
    nice = next(i for i in body["items"] if i["badge"] == "nice-answer")
    assert nice["class"] == "bronze" and nice["awarded_at"] and nice["post"]["id"] == a.id
    assert nice["post"]["url"].endswith(f"#answer-{a.id}")
    assert nice["post"]["visible"] is True
    assert next(i for i in body["items"] if i["badge"] == "teacher")["post"] is None
    # paging: one at a time, newest first, until the cursor runs out
    seen, cursor = [], None
    while True:
        page = client.get("/api/v1/users/raj_builds/badges", params={"limit": 1, **({"cursor": cursor} if cursor else {})}).json()
        seen += [i["id"] for i in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert seen == sorted(seen, reverse=True) and len(seen) == 3
    assert client.get("/api/v1/users/nobody_here/badges").headers["content-type"].startswith("application/problem+json")
    bad = client.get("/api/v1/users/raj_builds/badges", params={"cursor": "!!"})
    assert bad.status_code == 422 and bad.headers["content-type"].startswith("application/problem+json")


def test_api_badge_list_and_holders(client, community):
    listed = client.get("/api/v1/badges").json()["items"]
    assert {b["key"]: b["award_count"] for b in listed}["nice-answer"] == 1
    assert {b["class"] for b in listed} == {"gold", "silver", "bronze"}
    holders = client.get("/api/v1/badges/scholar").json()
    assert [i["user"]["username"] for i in holders["items"]] == ["maya"]
    missing = client.get("/api/v1/badges/unknown")
    assert missing.status_code == 404 and missing.headers["content-type"].startswith("application/problem+json")


def test_new_badges_are_notified_once(web, community, session):
    from sqlmodel import select

    from app.notifications.models import Notification
    from tests.web.conftest import db_rows

    badges.sync(session)  # again: nothing new, nobody told twice
    session.commit()
    web.sign_in("raj_builds")
    text = text_of(web.get("/notifications").text)
    assert "You earned the bronze badge “Nice Answer”" in text
    told = db_rows(session, select(Notification.url).where(Notification.user_id == community["raj"].id,
                                                           Notification.kind == "badge_awarded"))
    assert sorted(told) == ["/badges/nice-answer", "/badges/solver", "/badges/teacher"]


@pytest.mark.browser
def test_badge_pages_in_a_browser(page_checker, community):
    page = page_checker.person("raj_builds")
    q = community["q"]
    for path in ("/badges", "/badges/nice-answer", "/users/raj_builds", f"/questions/{q.id}/{q.slug}"):
        page_checker.check(page, path, "raj_builds")
    assert not page_checker.problems, page_checker.report()
    page.goto(f"{page_checker.base_url}/users/raj_builds")
    panel = page.locator("#badges")
    assert panel.get_by_role("link", name="Nice Answer (bronze badge)").is_visible()
    panel.get_by_role("link", name="Nice Answer (bronze badge)").click()
    page.wait_for_url("**/badges/nice-answer")
    assert page.get_by_role("heading", level=1).inner_text().strip().startswith("▲")


def test_api_award_names_no_post_once_it_is_hidden(client, community, session, factory):
    """Between the hiding of a post and the badge job's withdrawal the award is still held: its
    post is then not named at all, neither title nor id (as the reputation ledger)."""
    from app.moderation import posts

    a, mod = community["a"], factory.user("omar", role="moderator")
    posts.hide(session, posts.load(session, "answer", a.id, viewer=mod), reason="moderator", actor=mod)
    session.commit()
    items = client.get("/api/v1/users/raj_builds/badges").json()["items"]
    nice = next(i for i in items if i["badge"] == "nice-answer")
    assert nice["post"] == {"type": "answer", "id": None, "title": None, "url": None, "visible": False}
    page = client.get("/badges/nice-answer", headers={"Accept": "text/html"}).text
    assert f"#answer-{a.id}" not in page
