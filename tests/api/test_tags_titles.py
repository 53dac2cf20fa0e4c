"""Issue 12 through the JSON API, on both databases: tags in every script are kept (or refused by
name, writing nothing), tag URLs are percent-encoded, and minimum lengths count visible characters."""

from __future__ import annotations

from urllib.parse import quote

import pytest
from sqlmodel import Session, select

from app.questions.models import Question, QuestionTag, Revision, Tag
from tests.api.conftest import API, QUESTION, assert_problem

# (typed tags, stored tags, their tag_urls)
KEPT = [
    (["größe", "þýðingar"], ["grösse", "þýðingar"], ["/tags/gr%C3%B6sse", "/tags/%C3%BE%C3%BD%C3%B0ingar"]),
    (["Роутер", "路由器"], ["роутер", "路由器"],
     ["/tags/%D1%80%D0%BE%D1%83%D1%82%D0%B5%D1%80", "/tags/%E8%B7%AF%E7%94%B1%E5%99%A8"]),
    ([".NET", "net", "c#", "C++"], [".net", "net", "c#", "c++"],
     ["/tags/.net", "/tags/net", "/tags/c%23", "/tags/c%2B%2B"]),
    (["USB C", "usb-c", "asp.net-core"], ["usb-c", "asp.net-core"], ["/tags/usb-c", "/tags/asp.net-core"]),
]


@pytest.fixture
def asker(factory, session, login):
    factory.user("asker")
    session.commit()
    return login("asker")


@pytest.mark.parametrize("typed, stored, urls", KEPT)
def test_tags_in_every_script_are_stored_as_typed(client, asker, clean_engine, typed, stored, urls):
    r = client.post(f"{API}/questions", headers=asker, json={**QUESTION, "tags": typed})
    assert r.status_code == 201, r.text
    q = r.json()
    assert q["tags"] == stored and q["tag_urls"] == urls
    with Session(clean_engine) as s:
        assert sorted(s.exec(select(Tag.name)).all()) == sorted(stored)
        assert s.exec(select(Revision.tags).where(Revision.post_id == q["id"])).one() == " ".join(stored)
    listed_tags = {t["name"]: t["url"] for t in client.get(f"{API}/tags").json()["items"]}
    assert listed_tags == dict(zip(stored, urls, strict=True))
    # read back, listed, and filtered by the typed spelling
    assert client.get(f"{API}/questions/{q['id']}").json()["tag_urls"] == urls
    for name, typed_name in zip(stored, typed, strict=False):
        listed = client.get(f"{API}/questions", params={"tag": typed_name}).json()["items"]
        assert [i["id"] for i in listed] == [q["id"]], (name, typed_name)
        assert listed[0]["tag_urls"] == urls


@pytest.mark.parametrize("tag, words", [
    ("wi fi?", "U+003F"),
    ("\u200b\u200b", "U+200B"),
    ("c/c++", "U+002F"),
    ("--weird--", "start with a letter or digit"),
    ("net.", "between two parts"),
    ("x" * 36, "longer than 35"),
    ("zalgx" + "\u0301" * 5, "combining marks on one character"),  # stacked accents ("Zalgo text")
    ("x" + "\u20dd" * 5, "combining marks on one character"),  # enclosing marks (Me) count too
])
def test_a_tag_that_cannot_be_kept_is_a_422_naming_it(client, asker, count, tag, words):
    body = assert_problem(client.post(f"{API}/questions", headers=asker,
                                      json={**QUESTION, "tags": ["router", tag]}), 422)
    assert tag.strip() in body["detail"] and words in body["detail"], body["detail"]
    assert [e["loc"] for e in body["errors"]] == [["body", "tags"]]
    assert count(Question) == 0 and count(Tag) == 0 and count(QuestionTag) == 0


def test_edits_and_suggested_edits_follow_the_tag_rule(client, factory, session, login, count):
    author = factory.user("author")
    factory.user("helper")
    q = factory.question(author=author, tags=["router"])
    session.commit()
    h = login("author")
    r = client.patch(f"{API}/questions/{q.id}", headers=h, json={"tags": ["роутер", ".net", "C#"]})
    assert r.status_code == 200, r.text
    assert r.json()["tags"] == ["роутер", ".net", "c#"]
    bad = assert_problem(client.patch(f"{API}/questions/{q.id}", headers=h, json={"tags": ["ok", "c--"]}), 422)
    assert "c--" in bad["detail"]
    bad = assert_problem(client.post(f"{API}/questions/{q.id}/suggested-edits", headers=login("helper"),
                                     json={"tags": ["路由器", "!!"]}), 422)
    assert "!!" in bad["detail"]
    r = client.post(f"{API}/questions/{q.id}/suggested-edits", headers=login("helper"),
                    json={"tags": ["路由器", "Größe"], "comment": "tags in the customer's words"})
    assert r.status_code == 201, r.text
    assert r.json()["tags"] == ["路由器", "grösse"]
    assert client.get(f"{API}/questions/{q.id}").json()["tags"] == ["роутер", ".net", "c#"]  # until approved


def test_a_tag_stored_under_the_old_rule_does_not_block_an_edit(client, factory, session, login, clean_engine):
    from app.questions import service as questions_service

    author = factory.user("author")
    q = factory.question(author=author, tags=["router"])
    legacy = Tag(name="#wifi")  # what the earlier rule let through; the tag rule refuses it now
    session.add(legacy)
    session.flush()
    session.add(QuestionTag(question_id=q.id, tag_id=legacy.id, position=1, question_created_at=q.created_at,
                            question_last_activity_at=q.last_activity_at, question_score=q.score))
    session.commit()
    h = login("author")
    r = client.patch(f"{API}/questions/{q.id}", headers=h,
                     json={"title": "Router reboots every hour since 2.3", "tags": ["router", "#wifi", "роутер"]})
    assert r.status_code == 200, r.text
    assert r.json()["tags"] == ["router", "#wifi", "роутер"]
    assert r.json()["tag_urls"][1] == "/tags/%23wifi"
    bad = assert_problem(client.patch(f"{API}/questions/{q.id}", headers=h, json={"tags": ["#bluetooth"]}), 422)
    assert "#bluetooth" in bad["detail"]
    with Session(clean_engine) as s:
        assert questions_service.tags_for(s, [q.id])[q.id] == ["router", "#wifi", "роутер"]


def test_search_filters_by_tag_in_any_spelling(client, asker, settings, clean_engine):
    from app.search import outbox
    from app.search import service as search_service

    r = client.post(f"{API}/questions", headers=asker, json={
        "title": "Router reboots after the firmware update", "body": "Every hour the router restarts by itself.",
        "tags": ["c#", "роутер"]})
    assert r.status_code == 201, r.text
    search_service.reset_backends()
    while outbox.drain(clean_engine, encoder=search_service.encoder_for(settings)).did_work:
        pass
    for tag in ("c#", "C#", "ｃ＃", "Роутер"):
        found = client.get(f"{API}/search", params={"q": "router", "tag": tag}).json()
        assert [i["id"] for i in found["items"]] == [r.json()["id"]], tag
        assert found["items"][0]["tag_urls"] == ["/tags/c%23", "/tags/" + quote("роутер")]
    assert client.get(f"{API}/search", params={"q": "router", "tag": "c"}).json()["items"] == []
    search_service.reset_backends()


# --- titles and bodies: visible characters ---------------------------------------------------------

@pytest.mark.parametrize("change, field, words", [
    ({"title": "\u200b" * 20}, "title", "no visible characters"),
    ({"title": "\u2060\u00ad" * 10}, "title", "no visible characters"),
    ({"title": "\u3164" * 20}, "title", "no visible characters"),
    ({"title": "Help" + "\u200b" * 20}, "title", "at least 15 visible characters (you have 4)"),
    ({"body": "\u200b" * 40}, "body", "no visible characters"),
    ({"body": "Broken." + "\ufeff" * 30}, "body", "at least 20 visible characters (you have 7)"),
    ({"title": "\u202eekam ot mialc a gnitseT fix the wifi"}, "title", "text-direction control character U+202E"),
    ({"title": "Dock Pro \u2067charges\u2069 at 30 W only"}, "title", "text-direction control character U+2067"),
    ({"title": "Dock Pro \u202acharges at 30 W only"}, "title", "text-direction control character U+202A"),
    ({"title": "Dock Pro charges a" + "\u0301" * 59}, "title", "at most 4 combining marks"),
    ({"title": "Dock Pro cha\u0300\u0301\u0302\u0303\u0304rges slowly"}, "title", "at most 4 combining marks"),
])
def test_invisible_titles_and_bodies_are_a_422(client, asker, count, change, field, words):
    body = assert_problem(client.post(f"{API}/questions", headers=asker, json={**QUESTION, **change}), 422)
    assert [e["loc"] for e in body["errors"]] == [["body", field]]
    assert words in body["errors"][0]["msg"], body["errors"][0]["msg"]
    assert count(Question) == 0


def test_answers_comments_edits_and_escalations_count_visible_characters(client, factory, session, login, count):
    from app.answers.models import Answer
    from app.comments.models import Comment

    author = factory.user("author")
    factory.user("helper", reputation=1000)
    q = factory.question(author=author)
    session.commit()
    ha, hh = login("author"), login("helper")
    zw = "\u200b" * 40
    assert_problem(client.post(f"{API}/questions/{q.id}/answers", headers=hh, json={"body": "Reboot." + zw}), 422)
    assert_problem(client.patch(f"{API}/questions/{q.id}", headers=ha, json={"title": zw}), 422)
    assert_problem(client.post(f"{API}/questions/{q.id}/escalate", headers=ha, json={"reason": zw}), 422)
    assert count(Answer) == 0 and count(Revision) == 1
    r = client.post(f"{API}/questions/{q.id}/answers", headers=hh, json={"body": "Roll back the driver, then reboot."})
    assert r.status_code == 201, r.text
    assert_problem(client.patch(f"{API}/answers/{r.json()['id']}", headers=hh, json={"body": "Reboot." + zw}), 422)
    comments = f"{API}/questions/{q.id}/comments"
    assert_problem(client.post(comments, headers=hh, json={"body": "\u200b\u200b\u200b"}), 422)
    assert count(Comment) == 0


@pytest.mark.parametrize("title", [
    "Aero 14 \u200fلا يشحن\u200f at 30 W",          # right-to-left marks act on one position: allowed
    "الشاحن لا يعمل بعد التحديث الأخير",               # a right-to-left title needs no control character
    "המטען לא עובד אחרי העדכון, Dock Pro 2",
])
def test_right_to_left_titles_and_marks_are_kept(client, asker, count, title):
    r = client.post(f"{API}/questions", headers=asker, json={**QUESTION, "title": title})
    assert r.status_code == 201, r.text
    assert client.get(f"{API}/questions/{r.json()['id']}").json()["title"] == title
