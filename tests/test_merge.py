"""Merging a duplicate into its original: answers move with attribution (service, API, pages).

Every test runs on SQLite and on PostgreSQL (the `engine` fixture)."""

from __future__ import annotations

import pytest
from sqlmodel import select

from app.answers import service as answers_service
from app.answers.models import Acceptance, Answer
from app.comments import service as comments_service
from app.core.errors import Conflict, Forbidden, InvalidInput, NotAuthenticated, NotFound
from app.questions import duplicates, views
from app.questions import service as questions_service
from app.questions.models import Question, Revision
from app.questions.schemas import AnswerUpdate, CommentCreate
from app.reputation import service as reputation
from app.reputation.models import ReputationEvent
from app.votes import service as votes_service
from app.votes.models import Vote
from tests.api.conftest import assert_problem, login  # noqa: F401  (login, browsers: fixtures)
from tests.web.conftest import Browser, browsers, csrf_from, text_of  # noqa: F401

API = "/api/v1"


@pytest.fixture
def thread(factory, session):
    """An original with one answer (accepted), a duplicate with two answers (one accepted, one
    voted on, commented and edited), a moderator and a customer."""
    asker, dup_asker = factory.user("asker"), factory.user("dupasker")
    helper, other, voter = factory.user("helper"), factory.user("other"), factory.user("voter")
    mod, customer = factory.user("omar", role="moderator"), factory.user("newbie")
    original = factory.question(author=asker, title="Wi-Fi drops after the 23.40 driver update")
    dup = factory.question(author=dup_asker, title="Wireless keeps disconnecting since driver 23.40")
    kept = factory.answer(original, author=other, body="Turn off power saving for the adapter, then reboot.")
    answers_service.accept(session, actor=asker, question_id=original.id, answer_id=kept.id)
    accepted = factory.answer(dup, author=helper, body="Roll the driver back to 23.30 from Device Manager.")
    plain = factory.answer(dup, author=other, body="Updating the router firmware fixed it for me.")
    answers_service.accept(session, actor=dup_asker, question_id=dup.id, answer_id=accepted.id)
    votes_service.cast(session, actor=voter, post_type="answer", post_id=plain.id, value=1)
    votes_service.cast(session, actor=voter, post_type="answer", post_id=accepted.id, value=1)
    comments_service.add(session, actor=other, post_type="answer", post_id=plain.id,
                         data=CommentCreate(body="Firmware 2.1.4 or newer, to be precise."))
    answers_service.edit(session, actor=other, answer_id=plain.id,
                         data=AnswerUpdate(body="Updating the router firmware (2.1.4+) fixed it for me."))
    session.commit()
    return {"original": original, "dup": dup, "kept": kept, "accepted": accepted, "plain": plain,
            "mod": mod, "customer": customer, "asker": asker, "dup_asker": dup_asker, "helper": helper,
            "other": other}


def _ledger(session) -> set[tuple]:
    return {(e.user_id, e.kind, e.source_type, e.source_id, e.amount, e.reversed_at is None)
            for e in session.exec(select(ReputationEvent)).all()}


def _reputations(session) -> dict[str, int]:
    from app.accounts.models import User

    return {u.username: u.reputation for u in session.exec(select(User)).all()}


def _assert_ledger_consistent(session) -> None:
    report = reputation.recompute(session, fix=False)  # `groundswell recompute-reputation --check`
    assert report.differences == 0, report.summary()


# --- service ----------------------------------------------------------------------------------

def test_merge_moves_answers_with_attribution_and_counts(session, thread):
    t = thread
    original, dup = t["original"], t["dup"]
    before = original.last_activity_at
    q = duplicates.close_as_duplicate(session, actor=t["mod"], question_id=dup.id, original_id=original.id)
    q = duplicates.merge(session, actor=t["mod"], question_id=dup.id)
    session.commit()
    assert q.id == dup.id and q.merged_into_at is not None and q.status == "duplicate"
    assert q.answer_count == 0 and q.accepted_answer_id is None
    moved = session.exec(select(Answer).where(Answer.question_id == original.id).order_by(Answer.id)).all()
    assert [a.id for a in moved] == [t["kept"].id, t["accepted"].id, t["plain"].id]
    for a in moved[1:]:
        assert a.merged_from_question_id == dup.id and a.merged_at == q.merged_into_at
    assert moved[0].merged_from_question_id is None
    session.refresh(original)
    assert original.answer_count == 3 and original.last_activity_at > before
    assert original.accepted_answer_id == t["kept"].id  # the original's own acceptance is untouched
    assert answers_service.for_question(session, dup.id) == []
    # Votes, comments and revisions reference the answer's id: they came along.
    assert session.get(Answer, t["plain"].id).score == 1
    assert session.exec(select(Vote).where(Vote.post_type == "answer", Vote.post_id == t["plain"].id)).one()
    assert len(comments_service.for_posts(session, [("answer", t["plain"].id)])[("answer", t["plain"].id)]) == 1
    assert len(session.exec(select(Revision).where(Revision.post_type == "answer",
                                                   Revision.post_id == t["plain"].id)).all()) == 2
    # The original's page shows them, marked; the duplicate's page is empty and says why.
    detail = views.question_detail(session, original.id, t["mod"])
    by_id = {a.id: a for a in detail.answers}
    assert by_id[t["plain"].id].merged_from.title == dup.title
    assert by_id[t["plain"].id].merged_from.url == views.question_url(dup.id, dup.slug)
    assert by_id[t["plain"].id].comments and by_id[t["plain"].id].score == 1
    assert by_id[t["kept"].id].merged_from is None
    dup_view = views.question_detail(session, dup.id, t["mod"])
    assert dup_view.answers == [] and dup_view.merged_into_at is not None
    assert not dup_view.can_merge and not dup_view.can_reopen
    assert [d.id for d in detail.duplicates] == [dup.id]  # the original still lists it


def test_acceptance_and_reputation_survive_the_merge(session, thread):
    t = thread
    ledger, reps = _ledger(session), _reputations(session)
    _assert_ledger_consistent(session)
    duplicates.merge(session, actor=t["mod"], question_id=t["dup"].id, original_id=t["original"].id)
    session.commit()
    # Nobody gains or loses anything, and nothing is reversed or duplicated.
    assert _ledger(session) == ledger and _reputations(session) == reps
    _assert_ledger_consistent(session)
    acceptance = session.exec(select(Acceptance).where(Acceptance.answer_id == t["accepted"].id)).one()
    assert acceptance.question_id == t["dup"].id and acceptance.revoked_at is None
    detail = views.question_detail(session, t["original"].id, t["asker"])
    moved = next(a for a in detail.answers if a.id == t["accepted"].id)
    assert not moved.is_accepted and moved.accepted_on_duplicate  # labelled, not accepted here
    assert next(a for a in detail.answers if a.id == t["kept"].id).is_accepted
    assert not next(a for a in detail.answers if a.id == t["plain"].id).accepted_on_duplicate
    # Only the original's asker can make it the accepted answer here: a second acceptance, counted as any.
    answers_service.accept(session, actor=t["asker"], question_id=t["original"].id, answer_id=t["accepted"].id)
    session.commit()
    _assert_ledger_consistent(session)
    moved = next(a for a in views.question_detail(session, t["original"].id, None).answers if a.id == t["accepted"].id)
    assert moved.is_accepted and not moved.accepted_on_duplicate


def test_deleting_after_a_merge_keeps_the_ledger_consistent(session, thread):
    t = thread
    duplicates.merge(session, actor=t["mod"], question_id=t["dup"].id, original_id=t["original"].id)
    helper_rep = session.get(type(t["helper"]), t["helper"].id).reputation
    # Deleting the duplicate ends the acceptance its asker gave (as deleting any question does).
    questions_service.delete_question(session, actor=t["mod"], question_id=t["dup"].id)
    session.commit()
    _assert_ledger_consistent(session)
    assert session.get(type(t["helper"]), t["helper"].id).reputation < helper_rep
    assert session.exec(select(Acceptance).where(Acceptance.answer_id == t["accepted"].id)).one().revoked_at
    # The moved answers stay on the original, but no longer say where they came from (it is gone).
    detail = views.question_detail(session, t["original"].id, None)
    assert len(detail.answers) == 3 and all(a.merged_from is None for a in detail.answers)
    questions_service.delete_question(session, actor=t["mod"], question_id=t["original"].id)
    session.commit()
    _assert_ledger_consistent(session)


def test_deleting_the_original_or_a_moved_answer_keeps_the_ledger_consistent(session, thread):
    t = thread
    duplicates.merge(session, actor=t["mod"], question_id=t["dup"].id, original_id=t["original"].id)
    answers_service.delete_answer(session, actor=t["mod"], answer_id=t["accepted"].id)
    session.commit()
    _assert_ledger_consistent(session)
    assert session.exec(select(Acceptance).where(Acceptance.answer_id == t["accepted"].id)).one().revoked_at
    session.refresh(t["original"])
    assert t["original"].answer_count == 2
    questions_service.delete_question(session, actor=t["mod"], question_id=t["original"].id)
    session.commit()
    _assert_ledger_consistent(session)


def test_merge_refusals(session, thread, factory):
    t = thread
    original, dup, mod = t["original"], t["dup"], t["mod"]
    with pytest.raises(NotAuthenticated):
        duplicates.merge(session, actor=None, question_id=dup.id, original_id=original.id)
    with pytest.raises(Forbidden) as refused:
        duplicates.merge(session, actor=t["customer"], question_id=dup.id, original_id=original.id)
    assert "500" in refused.value.detail
    with pytest.raises(NotFound):
        duplicates.merge(session, actor=mod, question_id=10**6, original_id=original.id)
    with pytest.raises(InvalidInput) as no_original:  # open, and no original named
        duplicates.merge(session, actor=mod, question_id=dup.id)
    assert no_original.value.errors[0]["loc"] == ["body", "original_id"]
    for bad in (dup.id, 10**6, 2**40):  # itself, missing, beyond any id
        with pytest.raises(InvalidInput):
            duplicates.merge(session, actor=mod, question_id=dup.id, original_id=bad)
    session.rollback()
    third = factory.question(title="A third question about docking stations")
    duplicates.close_as_duplicate(session, actor=mod, question_id=dup.id, original_id=original.id)
    with pytest.raises(InvalidInput) as mismatch:  # a duplicate merges into its own original only
        duplicates.merge(session, actor=mod, question_id=dup.id, original_id=third.id)
    assert f"duplicate of question {original.id}" in mismatch.value.detail
    assert session.get(Question, dup.id).merged_into_at is None
    duplicates.merge(session, actor=mod, question_id=dup.id, original_id=original.id)
    with pytest.raises(Conflict) as again:
        duplicates.merge(session, actor=mod, question_id=dup.id)
    assert "merged" in again.value.detail
    with pytest.raises(Conflict) as reopen:
        duplicates.reopen(session, actor=mod, question_id=dup.id)
    assert "answers now live on the original" in reopen.value.detail
    with pytest.raises(Conflict):
        duplicates.close_as_duplicate(session, actor=mod, question_id=dup.id, original_id=third.id)


def test_merge_follows_a_re_pointed_duplicate_and_refuses_a_deleted_original(session, factory):
    mod = factory.user("omar", role="moderator")
    a, b, c = (factory.question(title=f"Docking station question number {n}") for n in range(3))
    duplicates.close_as_duplicate(session, actor=mod, question_id=b.id, original_id=a.id)
    duplicates.close_as_duplicate(session, actor=mod, question_id=a.id, original_id=c.id)
    session.refresh(b)
    assert b.duplicate_of_id == c.id  # re-pointed when its original was closed: no chain to merge along
    questions_service.delete_question(session, actor=mod, question_id=c.id)
    with pytest.raises(Conflict) as gone:
        duplicates.merge(session, actor=mod, question_id=b.id)
    assert "deleted" in gone.value.detail


def test_merge_without_answers_and_by_reputation(session, factory):
    original = factory.question(title="Battery drains overnight in sleep mode")
    dup = factory.question(title="Laptop battery empty every morning")
    earned = factory.user("veteran", reputation=500)
    q = duplicates.merge(session, actor=earned, question_id=dup.id, original_id=original.id)
    assert (q.status, q.duplicate_of_id, q.answer_count) == ("duplicate", original.id, 0)
    assert q.merged_into_at is not None
    session.refresh(original)
    assert original.answer_count == 0


# --- API ------------------------------------------------------------------------------------

def test_api_merge(client, thread, login):
    t = thread
    original, dup = t["original"], t["dup"]
    url = f"{API}/questions/{dup.id}/merge"
    assert_problem(client.post(url, json={"original_id": original.id}), 401)
    assert_problem(client.post(url, json={"original_id": original.id}, headers=login("newbie")), 403)
    mod = login("omar")
    assert_problem(client.post(f"{API}/questions/999999/merge", json={"original_id": original.id}, headers=mod), 404)
    body = assert_problem(client.post(url, json={}, headers=mod), 422)
    assert body["errors"][0]["loc"] == ["body", "original_id"]
    assert_problem(client.post(url, json={"original_id": 999999}, headers=mod), 422)
    assert_problem(client.post(url, json={"original_id": "x"}, headers=mod), 422)
    assert client.get(f"{API}/questions/{dup.id}", headers=mod).json()["can_merge"] is False  # open: close first

    r = client.post(url, json={"original_id": original.id}, headers=mod)
    assert r.status_code == 200, r.text
    q = r.json()
    assert q["id"] == dup.id and q["status"] == "duplicate" and q["duplicate_of"] == original.id
    assert q["merged_into_at"] and q["answers"] == [] and q["answer_count"] == 0
    assert q["accepted_answer_id"] is None and q["can_merge"] is False

    got = client.get(f"{API}/questions/{original.id}").json()
    assert got["answer_count"] == 3 and got["accepted_answer_id"] == t["kept"].id
    answers = {a["id"]: a for a in got["answers"]}
    assert answers[t["kept"].id]["merged_from"] is None
    assert answers[t["plain"].id]["merged_from"] == {"id": dup.id, "title": dup.title,
                                                     "url": f"/questions/{dup.id}/{dup.slug}"}
    assert answers[t["accepted"].id]["accepted_on_duplicate"] is True
    assert answers[t["accepted"].id]["is_accepted"] is False
    one = client.get(f"{API}/answers/{t['plain'].id}").json()
    assert one["question_id"] == original.id and one["merged_from"]["id"] == dup.id

    assert_problem(client.post(url, headers=mod), 409)  # no body: fine for a duplicate, but merged already
    body = assert_problem(client.post(f"{API}/questions/{dup.id}/reopen", headers=mod), 409)
    assert "answers now live on the original" in body["detail"]


def test_api_merge_of_a_closed_duplicate_needs_no_body(client, thread, login):
    t = thread
    mod = login("omar")
    r = client.post(f"{API}/questions/{t['dup'].id}/close-as-duplicate", json={"original_id": t["original"].id},
                    headers=mod)
    assert r.status_code == 200 and r.json()["can_merge"] is True
    r = client.post(f"{API}/questions/{t['dup'].id}/merge", headers=mod)
    assert r.status_code == 200, r.text
    assert client.get(f"{API}/questions/{t['original'].id}").json()["answer_count"] == 3


# --- pages ----------------------------------------------------------------------------------

def test_pages_merge_through_the_form(client, thread, browsers):
    t = thread
    original, dup = t["original"], t["dup"]
    mod = browsers()
    mod.sign_in("omar")
    r = mod.submit(f"/questions/{dup.id}", f"/questions/{dup.id}/close-as-duplicate", {"original": str(original.id),
                                                                                       "confirmed": "1"})
    assert r.status_code == 303
    page = mod.get(f"/questions/{dup.id}", follow_redirects=True).text
    assert "Merge answers into the original" in page and "Reopen this question" in page
    # Without a CSRF token the form is refused.
    assert mod.post(f"/questions/{dup.id}/merge", {}).status_code in (400, 403)
    r = mod.post(f"/questions/{dup.id}/merge", {"csrf_token": csrf_from(page, f"/questions/{dup.id}/merge")})
    assert r.status_code == 303
    assert r.headers["location"] == f"/questions/{original.id}/{original.slug}#answers"
    landed = text_of(mod.follow(r).text)
    assert f"2 answers of “{dup.title}” were moved here" in landed
    assert f"Moved from a duplicate: {dup.title}" in landed
    assert "Accepted on the duplicate question" in landed
    assert landed.count("Moved from a duplicate") == 2

    dup_page = mod.get(f"/questions/{dup.id}", follow_redirects=True).text
    assert f"Answers were moved to {original.title}" in text_of(dup_page)
    assert "Merge answers into the original" not in dup_page and "Reopen this question" not in dup_page

    # Posting the form again (an old tab) explains instead of failing.
    r = mod.post(f"/questions/{dup.id}/merge", {"csrf_token": csrf_from(page, f"/questions/{dup.id}/merge")})
    assert r.status_code == 303
    assert "cannot be reopened or merged again" in text_of(mod.follow(r).text)


def test_pages_hide_merge_from_those_not_allowed(client, thread, browsers, session):
    t = thread
    duplicates.close_as_duplicate(session, actor=t["mod"], question_id=t["dup"].id, original_id=t["original"].id)
    session.commit()
    newbie = browsers()
    newbie.sign_in("newbie")
    page = newbie.get(f"/questions/{t['dup'].id}", follow_redirects=True).text
    assert "Merge answers into the original" not in page
    anonymous: Browser = browsers()
    assert "Merge answers into the original" not in anonymous.get(f"/questions/{t['dup'].id}",
                                                                   follow_redirects=True).text
    token = csrf_from(page)
    r = newbie.post(f"/questions/{t['dup'].id}/merge", {"csrf_token": token})
    assert r.status_code == 403
    session.expire_all()
    assert session.get(Question, t["dup"].id).merged_into_at is None
