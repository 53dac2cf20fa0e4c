"""Imported posts keep their own licence and community-wiki status, and imported comments their
author's name: in the database, the ledger, the page and the API."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlmodel import select

from app.accounts.models import User
from app.importer.models import ImportMap
from app.importer.stackexchange import license_for
from app.reputation import service as reputation
from tests.factories import make_user, token_headers
from tests.importer.dumps import SITE, Dump
from tests.importer.support import run_import


def local(read, kind: str, source_id: int) -> int:
    with read() as s:
        return s.exec(select(ImportMap.local_id).where(ImportMap.site == SITE, ImportMap.kind == kind,
                                                        ImportMap.source_id == source_id)).one()


def reputation_of(read, source_user: int) -> int:
    with read() as s:
        return s.get(User, local(read, "user", source_user)).reputation


# --- licences ---------------------------------------------------------------------------------

def _at(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)


@pytest.mark.parametrize("given,revised,expected", [
    ("CC BY-SA 4.0", _at(2009, 1, 1), "CC BY-SA 4.0"),  # the dump's own field wins
    ("CC BY-SA 3.0", _at(2020, 1, 1), "CC BY-SA 3.0"),
    (None, _at(2011, 4, 7, 23, 59, 59), "CC BY-SA 2.5"),
    ("", _at(2011, 4, 8), "CC BY-SA 3.0"),  # the first day of a licence is that licence's
    (None, _at(2018, 5, 1, 23, 59), "CC BY-SA 3.0"),
    (None, _at(2018, 5, 2), "CC BY-SA 4.0"),
    (None, None, "CC BY-SA 4.0"),
])
def test_license_rule(given, revised, expected):
    assert license_for(given, revised) == expected


def licence_site() -> Dump:
    d = Dump().user(1, "Old Timer").user(2, "Newcomer")
    d.question(10, "Router from 2010", owner=1, created="2010-06-01T09:00:00.000", ContentLicense=None)
    d.answer(11, 10, owner=2, created="2012-03-01T09:00:00.000", ContentLicense=None)
    d.answer(12, 10, owner=2, created="2010-07-01T09:00:00.000", ContentLicense=None,
             LastEditDate="2019-01-01T09:00:00.000")  # its latest revision is from 2019
    d.answer(13, 10, owner=1, created="2010-08-01T09:00:00.000", ContentLicense="CC BY-SA 3.0")
    return d


def test_imported_licences_on_the_page_and_in_the_api(db, client, tmp_path, read):
    run_import(db, licence_site().write(tmp_path / "d"))
    qid = local(read, "question", 10)
    body = client.get(f"/api/v1/questions/{qid}").json()
    assert body["license"] == "CC BY-SA 2.5"
    licences = {a["id"]: a["license"] for a in body["answers"]}
    assert licences == {local(read, "answer", 11): "CC BY-SA 3.0", local(read, "answer", 12): "CC BY-SA 4.0",
                        local(read, "answer", 13): "CC BY-SA 3.0"}
    page = client.get(f"/questions/{qid}").text
    assert 'href="https://creativecommons.org/licenses/by-sa/2.5/" rel="license nofollow noopener">CC BY-SA 2.5' in page
    assert 'href="https://creativecommons.org/licenses/by-sa/4.0/" rel="license nofollow noopener">CC BY-SA 4.0' in page
    # A question written here has no imported licence.
    make_headers = token_headers
    with read() as s:
        make_user(s, "local_asker")
        s.commit()
    r = client.post("/api/v1/questions", json={"title": "A question written on this forum",
                                               "body": "Nothing imported about this one at all.", "tags": []},
                    headers=make_headers(client, "local_asker"))
    assert r.status_code == 201, r.text
    assert r.json()["license"] is None and r.json()["community_wiki"] is False


# --- community wiki ---------------------------------------------------------------------------

def wiki_site() -> Dump:
    d = Dump().user(1, "Asker").user(2, "Wiki Owner").user(3, "Regular")
    d.question(10, "List of IoT standards bodies", owner=1, accepted=11)
    d.answer(11, 10, owner=2, CommunityOwnedDate="2021-01-02T09:00:00.000")
    d.answer(12, 10, owner=3)
    d.question(20, "A community wiki question", owner=2, CommunityOwnedDate="2021-01-04T09:00:00.000")
    d.upvotes(11, 7).downvotes(11, 1).upvotes(12, 2).upvotes(20, 3)
    return d


def test_votes_on_community_wiki_posts_give_no_reputation(db, tmp_path, read):
    run_import(db, wiki_site().write(tmp_path / "d"))
    # The owner of the wiki answer and question: only the acceptance (+15), no votes (7 up, 1 down, 3 up).
    assert reputation_of(read, 2) == 1 + 15
    assert reputation_of(read, 3) == 1 + 2 * 10  # an ordinary answer still earns
    assert reputation_of(read, 1) == 1 + 2  # accepting
    with read() as s:
        assert reputation.recompute(s, fix=False).differences == 0


def test_a_live_vote_on_a_community_wiki_post_gives_nothing_and_recompute_agrees(db, client, tmp_path, read):
    run_import(db, wiki_site().write(tmp_path / "d"))
    with read() as s:
        make_user(s, "voter")
        s.commit()
    before = reputation_of(read, 2)
    headers = token_headers(client, "voter")
    for path in (f"/api/v1/answers/{local(read, 'answer', 11)}/vote", f"/api/v1/questions/{local(read, 'question', 20)}/vote"):
        r = client.post(path, json={"value": 1}, headers=headers)
        assert r.status_code == 200, r.text
    r = client.post(f"/api/v1/answers/{local(read, 'answer', 12)}/vote", json={"value": 1}, headers=headers)
    assert r.status_code == 200, r.text
    assert reputation_of(read, 2) == before
    assert reputation_of(read, 3) == 1 + 3 * 10
    with read() as s:
        assert reputation.recompute(s, fix=False).differences == 0


def test_community_wiki_is_shown_on_the_page_and_in_the_api(db, client, tmp_path, read):
    run_import(db, wiki_site().write(tmp_path / "d"))
    qid = local(read, "question", 10)
    body = client.get(f"/api/v1/questions/{qid}").json()
    wiki = {a["id"]: a["community_wiki"] for a in body["answers"]}
    assert wiki == {local(read, "answer", 11): True, local(read, "answer", 12): False}
    assert body["community_wiki"] is False
    assert client.get(f"/api/v1/questions/{local(read, 'question', 20)}").json()["community_wiki"] is True
    page = client.get(f"/questions/{qid}").text
    assert page.count(">community wiki</span>") == 1


# --- comment authors --------------------------------------------------------------------------

def test_comments_with_only_a_display_name_show_that_name(db, client, tmp_path, read):
    d = Dump().user(1, "Asker")
    d.question(10, "Sensor readings drift", owner=1).answer(11, 10, owner=None, OwnerDisplayName="Gone Answerer")
    d.comment(10, "Which sensor model?", user=None, UserDisplayName="Departed Dana")
    d.comment(11, "Calibrate it first.", user=None, UserDisplayName="Former Fred")
    d.comment(11, "No name at all here.", user=None)
    d.comment(10, "From a member.", user=1)
    run_import(db, d.write(tmp_path / "d"))
    qid = local(read, "question", 10)
    page = client.get(f"/questions/{qid}").text
    for name in ("Departed Dana", "Former Fred", "Gone Answerer"):
        assert f'<span class="user-link">{name}</span>' in page
    assert '<span class="user-link">deleted user</span>' in page  # the comment with no name at all
    body = client.get(f"/api/v1/questions/{qid}").json()
    assert [c["author"]["display_name"] for c in body["comments"]] == ["Departed Dana", "Asker"]
    answer = body["answers"][0]
    assert answer["author"]["display_name"] == "Gone Answerer"
    assert [c["author"]["display_name"] for c in answer["comments"]] == ["Former Fred", "deleted user"]
