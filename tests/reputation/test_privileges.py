"""Privileges earned through the ledger: upvote from the start, comment 50, downvote 125, edit 1,000
(suggested edits below that), and the can_* flags the API gives instead of dead buttons."""

from __future__ import annotations

import pytest
from sqlmodel import select

from app.answers import service as answers_service
from app.comments.models import Comment
from app.core.errors import Forbidden
from app.questions.models import Question, Revision, SuggestedEdit
from app.reputation import policy
from app.votes.models import Vote
from tests.api.conftest import API, assert_problem
from tests.factories import make_answer, make_question
from tests.reputation.helpers import earn, fans, rep, vote

EDIT = {"title": "Dock Pro charges at 60 W only, not 100 W",
        "body": "With the supplied cable the Dock Pro charges at 60 W. Which cable gives 100 W?",
        "tags": ["dock", "charging"], "comment": "clearer title"}


def test_thresholds_are_the_documented_table():
    assert [(p.key, p.reputation) for p in policy.PRIVILEGES] == [
        ("upvote", 1), ("flag", 15), ("comment", 50), ("downvote", 125), ("close", 500), ("edit", 1000)]


def _accept_an_answer(session, asker, helper):
    """The asker accepts someone's answer on a new question of theirs: +2 for the asker."""
    q = make_question(session, asker)
    a = make_answer(session, q, author=helper)
    answers_service.accept(session, actor=asker, question_id=q.id, answer_id=a.id)


def test_a_brand_new_user_can_upvote_but_not_downvote(client, factory, session, login, count):
    q = factory.question(factory.user("asker"))
    a = factory.answer(q, author=factory.user("helper"))
    factory.user("newbie")
    session.commit()
    h = login("newbie")
    assert client.post(f"{API}/answers/{a.id}/vote", json={"value": 1}, headers=h).json() == {"score": 1, "my_vote": 1}
    assert client.post(f"{API}/questions/{q.id}/vote", json={"value": 1}, headers=h).json()["score"] == 1
    body = assert_problem(client.post(f"{API}/answers/{a.id}/vote", json={"value": -1}, headers=h), 403)
    assert "125" in body["detail"]
    assert_problem(client.post(f"{API}/questions/{q.id}/vote", json={"value": -1}, headers=h), 403)
    assert count(Vote) == 2 and count(Vote, Vote.value == -1) == 0


def test_downvote_refused_below_125_and_allowed_at_125(client, factory, session, login, count):
    critic = factory.user("critic")
    helper = factory.user("helper")
    q = factory.question(factory.user("asker"))
    a = factory.answer(q, author=helper)
    assert earn(session, critic, 120) == 121
    _accept_an_answer(session, critic, helper)
    assert rep(session, critic) == 123
    session.commit()
    h = login("critic")
    body = assert_problem(client.post(f"{API}/answers/{a.id}/vote", json={"value": -1}, headers=h), 403)
    assert "125" in body["detail"] and "123" in body["detail"]
    assert count(Vote, Vote.value == -1) == 0

    _accept_an_answer(session, critic, factory.user("helper2"))
    assert rep(session, critic) == 125
    session.commit()
    assert client.post(f"{API}/answers/{a.id}/vote", json={"value": -1}, headers=h).json() == {"score": -1, "my_vote": -1}
    me = client.get(f"{API}/me/privileges", headers=h).json()
    assert me["reputation"] == 124  # downvoting an answer cost a point ...
    assert {p["key"]: p["earned"] for p in me["privileges"]}["downvote"] is False  # ... and the privilege with it
    # ... so the next downvote is refused again, while retracting is always allowed
    q2 = factory.question(factory.user("asker2"))
    session.commit()
    assert_problem(client.post(f"{API}/questions/{q2.id}/vote", json={"value": -1}, headers=h), 403)
    assert client.post(f"{API}/answers/{a.id}/vote", json={"value": 0}, headers=h).json() == {"score": 0, "my_vote": 0}


def test_comment_everywhere_takes_50_but_own_posts_and_own_threads_are_free(client, factory, session, login, count):
    newbie = factory.user("newbie")
    others_q = factory.question(factory.user("asker"))
    others_a = factory.answer(others_q, author=factory.user("helper"))
    own_q = factory.question(newbie)
    answer_to_own_q = factory.answer(own_q, author=factory.user("helper2"))
    own_a = factory.answer(others_q, author=newbie)
    session.commit()
    h = login("newbie")
    text = {"body": "Thanks, that worked for me."}
    for url in (f"{API}/questions/{others_q.id}/comments", f"{API}/answers/{others_a.id}/comments"):
        body = assert_problem(client.post(url, json=text, headers=h), 403)
        assert "50" in body["detail"]
    for url in (f"{API}/questions/{own_q.id}/comments", f"{API}/answers/{answer_to_own_q.id}/comments",
                f"{API}/answers/{own_a.id}/comments"):
        assert client.post(url, json=text, headers=h).status_code == 201, url
    assert count(Comment) == 3
    flags = client.get(f"{API}/questions/{others_q.id}", headers=h).json()
    assert flags["can_comment"] is False
    assert {a["id"]: a["can_comment"] for a in flags["answers"]} == {others_a.id: False, own_a.id: True}

    assert earn(session, newbie, 50) == 51
    session.commit()
    for url in (f"{API}/questions/{others_q.id}/comments", f"{API}/answers/{others_a.id}/comments"):
        assert client.post(url, json=text, headers=h).status_code == 201, url
    assert count(Comment) == 5
    assert client.get(f"{API}/questions/{others_q.id}", headers=h).json()["can_comment"] is True


@pytest.fixture
def edit_setup(factory, session):
    asker = factory.user("asker")
    q = factory.question(asker, title="Dock Pro will not charge at 100 W", tags=["dock"])
    suggester = factory.user("suggester")
    reviewer = factory.user("reviewer")
    assert earn(session, reviewer, 990) == 991
    return asker, q, suggester, reviewer


def test_editing_others_posts_takes_1000(client, factory, session, login, edit_setup, fetch):
    asker, q, suggester, reviewer = edit_setup
    session.commit()
    h = login("reviewer")
    body = assert_problem(client.patch(f"{API}/questions/{q.id}", json={"title": EDIT["title"]}, headers=h), 403)
    assert "1,000" in body["detail"]
    assert fetch(Question, q.id).title == "Dock Pro will not charge at 100 W"
    flags = client.get(f"{API}/questions/{q.id}", headers=h).json()
    assert (flags["can_edit"], flags["can_suggest_edit"]) == (False, True)

    [fan] = fans(session, 1)
    vote(session, fan, make_answer(session, make_question(session), author=reviewer), 1)
    assert rep(session, reviewer) == 1001
    session.commit()
    flags = client.get(f"{API}/questions/{q.id}", headers=h).json()
    assert (flags["can_edit"], flags["can_suggest_edit"]) == (True, False)
    r = client.patch(f"{API}/questions/{q.id}", json={"title": EDIT["title"]}, headers=h)
    assert r.status_code == 200, r.text
    assert fetch(Question, q.id).title == EDIT["title"]
    # with the privilege, a suggestion is pointless: edit directly
    assert_problem(client.post(f"{API}/questions/{q.id}/suggested-edits", json=EDIT, headers=h), 409)


def test_suggested_edit_approved_by_a_reviewer(client, factory, session, login, edit_setup, fetch, count):
    asker, q, suggester, reviewer = edit_setup
    earn(session, reviewer, 10, first_day_ago=20)
    assert rep(session, reviewer) == 1001
    session.commit()
    hs = login("suggester")
    assert_problem(client.patch(f"{API}/questions/{q.id}", json={"title": EDIT["title"]}, headers=hs), 403)
    r = client.post(f"{API}/questions/{q.id}/suggested-edits", json=EDIT, headers=hs)
    assert r.status_code == 201, r.text
    edit = r.json()
    assert edit["status"] == "pending" and edit["author"]["username"] == "suggester"
    assert edit["title"] == EDIT["title"] and edit["tags"] == ["dock", "charging"]
    assert fetch(Question, q.id).title == "Dock Pro will not charge at 100 W"  # nothing changes yet
    # one pending suggestion per post
    assert_problem(client.post(f"{API}/questions/{q.id}/suggested-edits", json=EDIT, headers=hs), 409)

    # the queue is for reviewers; a suggester below 1,000 can neither see it nor review
    assert_problem(client.get(f"{API}/suggested-edits", headers=hs), 403)
    assert_problem(client.post(f"{API}/suggested-edits/{edit['id']}/approve", json={}, headers=hs), 403)
    hr = login("reviewer")
    assert [e["id"] for e in client.get(f"{API}/suggested-edits", headers=hr).json()["items"]] == [edit["id"]]
    r = client.post(f"{API}/suggested-edits/{edit['id']}/approve", json={"note": "thanks"}, headers=hr)
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "approved" and r.json()["reviewer"]["username"] == "reviewer"

    got = client.get(f"{API}/questions/{q.id}").json()
    assert got["title"] == EDIT["title"] and got["body"] == EDIT["body"] and got["tags"] == ["dock", "charging"]
    revs = client.get(f"{API}/questions/{q.id}/revisions").json()["items"]
    assert len(revs) == 2
    assert revs[0]["author"]["username"] == "suggester" and revs[0]["title"] == EDIT["title"]
    assert "approved by reviewer" in revs[0]["comment"]
    assert count(Revision, Revision.post_type == "question", Revision.post_id == q.id) == 2
    # reviewed once: a second decision is a conflict
    assert_problem(client.post(f"{API}/suggested-edits/{edit['id']}/reject", json={}, headers=hr), 409)
    assert client.get(f"{API}/suggested-edits", headers=hr).json()["items"] == []


def test_suggested_edit_rejected_and_answer_suggestions(client, factory, session, login, edit_setup, fetch, count):
    asker, q, suggester, reviewer = edit_setup
    a = factory.answer(q, author=asker)
    factory.user("mod", role="moderator")
    session.commit()
    hs, hm = login("suggester"), login("mod")
    r = client.post(f"{API}/questions/{q.id}/suggested-edits", json=EDIT, headers=hs)
    assert r.status_code == 201
    r = client.post(f"{API}/suggested-edits/{r.json()['id']}/reject", json={"note": "not better"}, headers=hm)
    assert r.status_code == 200 and r.json()["status"] == "rejected" and r.json()["review_note"] == "not better"
    assert fetch(Question, q.id).title == "Dock Pro will not charge at 100 W"
    assert count(Revision, Revision.post_type == "question", Revision.post_id == q.id) == 1

    new_body = "Use the 100 W cable that came with the dock, the 60 W one limits charging."
    body = assert_problem(client.patch(f"{API}/answers/{a.id}", json={"body": new_body}, headers=hs), 403)
    assert "suggest" in body["detail"]
    r = client.post(f"{API}/answers/{a.id}/suggested-edits", json={"body": new_body}, headers=hs)
    assert r.status_code == 201, r.text
    assert client.post(f"{API}/suggested-edits/{r.json()['id']}/approve", json={}, headers=hm).status_code == 200
    got = client.get(f"{API}/answers/{a.id}").json()
    assert got["body"] == new_body
    revs = client.get(f"{API}/answers/{a.id}/revisions").json()["items"]
    assert [x["author"]["username"] for x in revs] == ["suggester", "asker"]
    assert count(SuggestedEdit, SuggestedEdit.status == "approved") == 1


def test_own_suggestion_cannot_be_self_reviewed(client, factory, session, login, edit_setup, fetch):
    asker, q, suggester, reviewer = edit_setup
    session.commit()
    hs = login("suggester")
    edit_id = client.post(f"{API}/questions/{q.id}/suggested-edits", json=EDIT, headers=hs).json()["id"]
    # the suggester becomes a moderator (a reviewer) before anyone looked at it
    session.get(type(suggester), suggester.id).role = "moderator"
    session.commit()
    body = assert_problem(client.post(f"{API}/suggested-edits/{edit_id}/approve", json={}, headers=hs), 403)
    assert "own" in body["detail"]
    assert fetch(SuggestedEdit, edit_id).status == "pending"
    assert fetch(Question, q.id).title == "Dock Pro will not charge at 100 W"


def test_reviewer_below_1000_is_refused(client, factory, session, login, edit_setup, fetch):
    asker, q, suggester, reviewer = edit_setup  # reviewer has 991
    session.commit()
    edit_id = client.post(f"{API}/questions/{q.id}/suggested-edits", json=EDIT,
                          headers=login("suggester")).json()["id"]
    for who in ("reviewer", "asker"):
        body = assert_problem(client.post(f"{API}/suggested-edits/{edit_id}/approve", json={}, headers=login(who)), 403)
        assert "1,000" in body["detail"]
    assert_problem(client.post(f"{API}/suggested-edits/{edit_id}/approve", json={}), 401)
    assert fetch(SuggestedEdit, edit_id).status == "pending"


def test_review_service_refusals(session, factory, edit_setup):
    from app.questions import suggested_edits
    from app.questions.schemas import QuestionUpdate

    asker, q, suggester, reviewer = edit_setup
    edit = suggested_edits.suggest(session, actor=suggester, post_type="question", post_id=q.id,
                                   data=QuestionUpdate(title=EDIT["title"]))
    with pytest.raises(Forbidden):
        suggested_edits.review(session, actor=reviewer, edit_id=edit.id, approve=True)


# --- can_* flags --------------------------------------------------------------------------------

FLAGS = ("can_edit", "can_suggest_edit", "can_delete", "can_vote", "can_downvote", "can_answer", "can_comment",
         "can_accept", "can_close")


def test_can_flags_for_anonymous_new_user_author_and_moderator(client, factory, session, login):
    author = factory.user("author")
    q = factory.question(author)
    a = factory.answer(q, author=factory.user("helper"))
    factory.user("newbie")
    factory.user("mod", role="moderator")
    session.commit()

    def flags(headers=None):
        body = client.get(f"{API}/questions/{q.id}", headers=headers or {}).json()
        answer = body["answers"][0]
        return ({k: body[k] for k in FLAGS},
                {k: answer[k] for k in ("can_edit", "can_suggest_edit", "can_delete", "can_vote", "can_downvote",
                                        "can_comment", "can_accept")})

    anon_q, anon_a = flags()
    assert not any(anon_q.values()) and not any(anon_a.values())

    new_q, new_a = flags(login("newbie"))
    assert new_q == {"can_edit": False, "can_suggest_edit": True, "can_delete": False, "can_vote": True,
                     "can_downvote": False, "can_answer": True, "can_comment": False, "can_accept": False,
                     "can_close": False}
    assert new_a == {"can_edit": False, "can_suggest_edit": True, "can_delete": False, "can_vote": True,
                     "can_downvote": False, "can_comment": False, "can_accept": False}

    own_q, own_a = flags(login("author"))
    assert own_q == {"can_edit": True, "can_suggest_edit": False, "can_delete": True, "can_vote": False,
                     "can_downvote": False, "can_answer": True, "can_comment": True, "can_accept": True,
                     "can_close": False}
    assert own_a == {"can_edit": False, "can_suggest_edit": True, "can_delete": False, "can_vote": True,
                     "can_downvote": False, "can_comment": True, "can_accept": True}

    mod_q, mod_a = flags(login("mod"))
    assert mod_q == {"can_edit": True, "can_suggest_edit": False, "can_delete": True, "can_vote": True,
                     "can_downvote": True, "can_answer": True, "can_comment": True, "can_accept": False,
                     "can_close": True}
    assert mod_a == {"can_edit": True, "can_suggest_edit": False, "can_delete": True, "can_vote": True,
                     "can_downvote": True, "can_comment": True, "can_accept": False}


def test_flags_follow_earned_reputation(client, factory, session, login):
    q = factory.question(factory.user("author"))
    climber = factory.user("climber")
    session.commit()
    h = login("climber")
    body = client.get(f"{API}/questions/{q.id}", headers=h).json()
    assert (body["can_comment"], body["can_downvote"], body["can_close"]) == (False, False, False)
    earn(session, climber, 500)
    assert rep(session, climber) == 501
    session.commit()
    body = client.get(f"{API}/questions/{q.id}", headers=h).json()
    assert (body["can_comment"], body["can_downvote"], body["can_close"], body["can_edit"]) == (True, True, True, False)
    assert session.exec(select(Vote)).all()  # earned through real votes
