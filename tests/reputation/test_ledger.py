"""The reputation ledger through the real services: policy amounts, exact reversals, replay, the floor,
the daily cap, and recompute (the ledger's audit), on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import delete, update
from sqlmodel import select

from app.accounts.models import User
from app.answers import service as answers_service
from app.answers.models import Acceptance
from app.core.errors import Conflict
from app.questions import service as questions_service
from app.reputation import gaming, policy
from app.reputation import service as reputation
from app.reputation.models import ReputationEvent
from app.votes.models import Vote
from tests.reputation.helpers import day_start, earn, fans, ledger, rep, vote


@pytest.fixture
def cast(session, factory):
    """asker, helper (answers), their thread, and a voter who earned the downvote privilege."""
    asker = factory.user("asker")
    helper = factory.user("helper")
    q = factory.question(asker)
    a = factory.answer(q, author=helper)
    voter = factory.user("critic")
    earn(session, voter, 130)
    assert rep(session, voter) == 131
    return asker, helper, q, a, voter


def kinds(events):
    return sorted((e.kind, e.amount) for e in events)


# --- policy amounts ---------------------------------------------------------------------------

def test_policy_amounts_are_the_documented_defaults():
    assert policy.POINTS == {
        "answer_upvoted": 10, "question_upvoted": 5, "answer_downvoted": -2, "question_downvoted": -2,
        "downvoted_answer": -1, "answer_accepted": 15, "accepted_answer": 2,
    }
    assert policy.DAILY_VOTE_CAP == 200 and policy.MINIMUM_REPUTATION == 1 == policy.STARTING_REPUTATION


def test_each_policy_amount(session, cast):
    asker, helper, q, a, critic = cast
    now = day_start(1)
    voter = fans(session, 1)[0]

    vote(session, voter, q, 1, now=now)
    assert rep(session, asker) == 1 + 5
    vote(session, voter, a, 1, now=now)
    assert rep(session, helper) == 1 + 10
    assert rep(session, voter) == 1  # upvoting is free

    vote(session, critic, a, -1, now=now)
    assert rep(session, helper) == 1 + 10 - 2
    assert rep(session, critic) == 131 - 1  # downvoting an answer costs the voter 1
    vote(session, critic, q, -1, now=now)
    assert rep(session, asker) == 1 + 5 - 2
    assert rep(session, critic) == 130  # ... a question costs nothing

    answers_service.accept(session, actor=asker, question_id=q.id, answer_id=a.id, now=now)
    assert rep(session, helper) == 1 + 10 - 2 + 15
    assert rep(session, asker) == 1 + 5 - 2 + 2

    assert kinds(ledger(session, helper)) == [("answer_accepted", 15), ("answer_downvoted", -2), ("answer_upvoted", 10)]
    assert kinds(ledger(session, asker)) == [("accepted_answer", 2), ("question_downvoted", -2), ("question_upvoted", 5)]
    critic_events = [e for e in ledger(session, critic) if e.post_id in (q.id, a.id) and e.kind == "downvoted_answer"]
    assert [(e.amount, e.post_type, e.post_id) for e in critic_events] == [(-1, "answer", a.id)]
    # every event names its cause
    v = session.exec(select(Vote).where(Vote.voter_id == voter.id, Vote.post_type == "answer")).one()
    ev = next(e for e in ledger(session, helper) if e.kind == "answer_upvoted")
    assert (ev.source_type, ev.source_id, ev.post_type, ev.post_id, ev.base_amount) == ("vote", v.id, "answer", a.id, 10)
    assert ev.occurred_at == now


def test_accepting_ones_own_answer_earns_nothing(session, factory):
    asker = factory.user("selfhelp")
    q = factory.question(asker)
    own = factory.answer(q, author=asker)
    answers_service.accept(session, actor=asker, question_id=q.id, answer_id=own.id)
    assert session.exec(select(Acceptance).where(Acceptance.question_id == q.id)).one().answer_id == own.id
    assert ledger(session, asker) == [] and rep(session, asker) == 1


def test_upvoting_costs_and_earns_the_voter_nothing(session, cast):
    asker, helper, q, a, critic = cast
    vote(session, critic, q, 1)
    assert rep(session, critic) == 131 and rep(session, helper) == 1 and rep(session, asker) == 6


# --- exact reversals ----------------------------------------------------------------------------

def test_retract_reverses_exactly(session, cast):
    asker, helper, q, a, critic = cast
    t = day_start(1)
    vote(session, critic, a, 1, now=t)
    assert rep(session, helper) == 11
    assert vote(session, critic, a, 0, now=t + timedelta(minutes=1)) == (0, 0)
    assert rep(session, helper) == 1 and rep(session, critic) == 131
    (ev,) = ledger(session, helper)
    assert ev.kind == "answer_upvoted" and ev.reversed_at is not None and ev.reversal_reason == "retracted"
    assert ledger(session, helper, counting=True) == []

    vote(session, critic, a, -1, now=t + timedelta(minutes=2))
    assert (rep(session, helper), rep(session, critic)) == (1, 130)
    vote(session, critic, a, 0, now=t + timedelta(minutes=3))
    assert (rep(session, helper), rep(session, critic)) == (1, 131)
    assert {e.reversal_reason for e in ledger(session, critic) if e.kind == "downvoted_answer"} == {"retracted"}


def test_switch_up_down_up_reverses_exactly(session, cast):
    asker, helper, q, a, critic = cast
    t = day_start(1)
    [fan] = fans(session, 1)
    vote(session, fan, a, 1, now=t)  # someone else's vote stays throughout
    fan_vote = session.exec(select(Vote).where(Vote.voter_id == fan.id)).one()
    base_helper = rep(session, helper)
    assert base_helper == 11
    assert vote(session, critic, a, 1, now=t) == (2, 1)
    assert (rep(session, helper), rep(session, critic)) == (21, 131)
    assert vote(session, critic, a, -1, now=t + timedelta(minutes=1)) == (0, -1)
    assert (rep(session, helper), rep(session, critic)) == (9, 130)
    assert vote(session, critic, a, 1, now=t + timedelta(minutes=2)) == (2, 1)
    assert (rep(session, helper), rep(session, critic)) == (21, 131)
    assert vote(session, critic, a, 0, now=t + timedelta(minutes=3)) == (1, 0)
    assert (rep(session, helper), rep(session, critic)) == (base_helper, 131)

    mine = [e for e in ledger(session, helper) if e.source_id != fan_vote.id]
    assert [(e.kind, e.reversal_reason) for e in mine] == [
        ("answer_upvoted", "changed"), ("answer_downvoted", "changed"), ("answer_upvoted", "retracted")]
    # each vote row was a distinct cause: no event was ever re-used for a later vote
    assert len({e.source_id for e in mine}) == 3
    assert session.exec(select(Vote).where(Vote.voter_id == critic.id, Vote.post_id == a.id)).first() is None


def test_unaccept_and_switching_the_accepted_answer_reverse_exactly(session, cast):
    asker, helper, q, a, critic = cast
    rival_author = fans(session, 1, prefix="rival")[0]
    from tests.factories import make_answer

    b = make_answer(session, q, author=rival_author)
    answers_service.accept(session, actor=asker, question_id=q.id, answer_id=a.id)
    assert (rep(session, helper), rep(session, asker), rep(session, rival_author)) == (16, 3, 1)
    answers_service.accept(session, actor=asker, question_id=q.id, answer_id=a.id)  # again: no change
    assert (rep(session, helper), rep(session, asker)) == (16, 3)

    answers_service.accept(session, actor=asker, question_id=q.id, answer_id=b.id)
    assert (rep(session, helper), rep(session, asker), rep(session, rival_author)) == (1, 3, 16)
    assert [(e.kind, e.reversal_reason) for e in ledger(session, helper)] == [("answer_accepted", "switched")]

    answers_service.unaccept(session, actor=asker, question_id=q.id)
    assert (rep(session, helper), rep(session, asker), rep(session, rival_author)) == (1, 1, 1)
    assert [(e.kind, e.reversal_reason) for e in ledger(session, rival_author)] == [("answer_accepted", "unaccepted")]
    assert sorted(e.reversal_reason for e in ledger(session, asker)) == ["switched", "unaccepted"]
    assert ledger(session, asker, counting=True) == []

    # accepting the first answer again is a new cause that counts again
    answers_service.accept(session, actor=asker, question_id=q.id, answer_id=a.id)
    assert (rep(session, helper), rep(session, asker)) == (16, 3)
    assert len(session.exec(select(Acceptance).where(Acceptance.question_id == q.id)).all()) == 3


def test_deleting_an_answer_reverses_its_events(session, cast, factory):
    asker, helper, q, a, critic = cast
    [upper] = fans(session, 1)
    vote(session, upper, a, 1)
    vote(session, critic, a, -1)
    vote(session, upper, q, 1)
    answers_service.accept(session, actor=asker, question_id=q.id, answer_id=a.id)
    assert (rep(session, helper), rep(session, asker), rep(session, critic)) == (1 + 10 - 2 + 15, 1 + 5 + 2, 130)

    with pytest.raises(Conflict):  # its author may not delete an accepted answer; a moderator may
        answers_service.delete_answer(session, actor=helper, answer_id=a.id)
    answers_service.delete_answer(session, actor=factory.user(role="moderator"), answer_id=a.id)
    assert (rep(session, helper), rep(session, critic)) == (1, 131)
    assert rep(session, asker) == 6  # the question's own upvote stays
    reasons = {(e.kind, e.reversal_reason) for e in ledger(session, helper)}
    assert reasons == {("answer_upvoted", "post deleted"), ("answer_downvoted", "post deleted"),
                       ("answer_accepted", "answer deleted")}
    assert [(e.kind, e.reversal_reason) for e in ledger(session, asker, counting=False)] == [
        ("accepted_answer", "answer deleted")]
    assert session.get(type(q), q.id).accepted_answer_id is None
    assert reputation.recompute(session, fix=False).differences == 0


def test_deleting_a_question_reverses_the_whole_thread(session, cast, factory):
    asker, helper, q, a, critic = cast
    [upper] = fans(session, 1)
    vote(session, upper, q, 1)
    vote(session, upper, a, 1)
    vote(session, critic, q, -1)
    vote(session, critic, a, -1)
    answers_service.accept(session, actor=asker, question_id=q.id, answer_id=a.id)
    assert (rep(session, asker), rep(session, helper), rep(session, critic)) == (1 + 5 - 2 + 2, 1 + 10 - 2 + 15, 130)

    with pytest.raises(Conflict):  # the asker may not take the accepted answer down with it; a moderator may
        questions_service.delete_question(session, actor=asker, question_id=q.id)
    questions_service.delete_question(session, actor=factory.user(role="moderator"), question_id=q.id)
    assert (rep(session, asker), rep(session, helper), rep(session, critic)) == (1, 1, 131)
    for user in (asker, helper):
        events = ledger(session, user)
        assert len(events) == 3 and all(e.reversed_at is not None and e.reversal_reason for e in events)
    assert all(r.revoked_at is not None for r in session.exec(select(Acceptance)).all())
    assert reputation.recompute(session, fix=False).differences == 0


def test_replaying_causes_is_harmless(session, cast):
    asker, helper, q, a, critic = cast
    vote(session, critic, a, 1)
    vote(session, critic, q, 1)
    answers_service.accept(session, actor=asker, question_id=q.id, answer_id=a.id)
    before = (rep(session, helper), rep(session, asker), len(session.exec(select(ReputationEvent)).all()))
    causes = reputation.expected_causes(session)
    assert len(causes) >= 4
    reputation.apply(session, causes)
    reputation.apply(session, causes)
    assert (rep(session, helper), rep(session, asker), len(session.exec(select(ReputationEvent)).all())) == before
    # replaying a reversed cause does not bring it back either
    vote(session, critic, a, 0)
    after_retract = rep(session, helper)
    reputation.apply(session, causes)
    assert rep(session, helper) == after_retract == before[0] - 10


def test_never_below_one(session, factory):
    victim = factory.user("victim")
    q = factory.question()
    a = factory.answer(q, author=victim)
    critics = [factory.user(f"mod{i}", role="moderator") for i in range(3)]  # moderators may downvote
    for c in critics:
        vote(session, c, a, -1)
    assert rep(session, victim) == 1
    assert sum(e.amount for e in ledger(session, victim)) == -6
    assert all(rep(session, c) == 1 for c in critics)  # 1 - 1 stays at the floor too
    [fan] = fans(session, 1)
    vote(session, fan, a, 1)
    # the floor applies to the balance, the ledger keeps every point: max(1, 1 - 6 + 10)
    assert rep(session, victim) == 5


# --- the daily cap ----------------------------------------------------------------------------

def test_daily_cap_of_200_from_votes(session, factory):
    asker = factory.user("asker")
    star = factory.user("star")
    q = factory.question(asker)
    a = factory.answer(q, author=star)
    voters = fans(session, 21)
    t = day_start(1)
    for i, v in enumerate(voters):
        vote(session, v, a, 1, now=t + timedelta(seconds=i))
    assert rep(session, star) == 1 + 200
    events = ledger(session, star)
    assert [e.amount for e in events] == [10] * 20 + [0] and all(e.base_amount == 10 for e in events)

    # acceptances are exempt from the cap, on the same day
    answers_service.accept(session, actor=asker, question_id=q.id, answer_id=a.id, now=t + timedelta(minutes=1))
    assert rep(session, star) == 1 + 200 + 15

    # retracting one of the capped day's votes gives back exactly what the recount says
    vote(session, voters[3], a, 0, now=t + timedelta(seconds=3, minutes=2))
    assert rep(session, star) == 1 + 200 + 15
    assert [e.amount for e in ledger(session, star, counting=True) if e.kind == "answer_upvoted"] == [10] * 20
    vote(session, voters[5], a, 0, now=t + timedelta(seconds=5, minutes=2))
    assert rep(session, star) == 1 + 190 + 15
    assert reputation.recompute(session, fix=False).differences == 0


def test_question_upvotes_share_the_daily_cap(session, factory):
    star = factory.user("star")
    q = factory.question(star)
    a = factory.answer(factory.question(), author=star)
    voters = fans(session, 20)
    t = day_start(1)
    for i, v in enumerate(voters[:19]):
        vote(session, v, a, 1, now=t + timedelta(seconds=i))  # 190 of the 200 ...
    for i, v in enumerate(voters):
        vote(session, v, q, 1, now=t + timedelta(minutes=1, seconds=i))  # ... then 5 + 5, then nothing
    assert rep(session, star) == 201
    assert [e.amount for e in ledger(session, star) if e.kind == "question_upvoted"] == [5, 5] + [0] * 18
    assert reputation.recompute(session, fix=False).differences == 0


def test_votes_on_different_days_are_capped_separately(session, factory):
    star = factory.user("star")
    q = factory.question()
    a1, a2 = factory.answer(q, author=star), factory.answer(factory.question(), author=star)
    voters = fans(session, 25)
    day1, day2 = day_start(3), day_start(2)
    for i, v in enumerate(voters):
        vote(session, v, a1, 1, now=day1 + timedelta(seconds=i))
    for i, v in enumerate(voters[:7]):
        vote(session, v, a2, 1, now=day2 + timedelta(seconds=i))
    assert rep(session, star) == 1 + 200 + 70
    # a vote just before midnight and one just after count on their own days
    late = fans(session, 1)[0]
    vote(session, late, factory.answer(factory.question(), author=star), 1,
         now=day1.replace(hour=23, minute=59, second=59))
    assert rep(session, star) == 1 + 200 + 70  # day 1 is full
    assert reputation.recompute(session, fix=False).differences == 0


# --- recompute --------------------------------------------------------------------------------

def _mixed_history(session, factory):
    """Votes, switches, retractions, accepts, un-accepts, deletes, a capped day and serial voting."""
    asker = factory.user("asker")
    helper = factory.user("helper")
    rival = factory.user("rival")
    critic = factory.user("critic")
    earn(session, critic, 130, first_day_ago=10)
    q1 = factory.question(asker)
    a1, a2 = factory.answer(q1, author=helper), factory.answer(q1, author=rival)
    q2 = factory.question(helper)
    b1 = factory.answer(q2, author=rival)
    q3 = factory.question(rival)
    c1 = factory.answer(q3, author=asker)
    voters = fans(session, 22)
    t = day_start(2)  # outside the serial-voting window of the job run below
    for i, v in enumerate(voters):  # 22 upvotes on one day: the cap
        vote(session, v, a1, 1, now=t + timedelta(seconds=i))
    for i, v in enumerate(voters[:6]):
        vote(session, v, q1, 1, now=t + timedelta(minutes=5, seconds=i))
        vote(session, v, b1, 1, now=t + timedelta(minutes=5, seconds=i))
        vote(session, v, c1, 1, now=t + timedelta(minutes=5, seconds=i))
    vote(session, voters[0], a1, 0, now=t + timedelta(minutes=1))  # retract a capped vote
    vote(session, critic, a2, 1, now=t)
    vote(session, critic, a2, -1, now=t + timedelta(minutes=1))    # switch
    vote(session, critic, a2, 1, now=t + timedelta(minutes=2))     # and back
    vote(session, critic, a1, -1, now=t)
    vote(session, critic, b1, -1, now=t)
    vote(session, critic, q2, -1, now=t)
    answers_service.accept(session, actor=asker, question_id=q1.id, answer_id=a2.id, now=t)
    answers_service.accept(session, actor=asker, question_id=q1.id, answer_id=a1.id, now=t)  # switch
    answers_service.accept(session, actor=helper, question_id=q2.id, answer_id=b1.id, now=t)
    answers_service.unaccept(session, actor=helper, question_id=q2.id)
    answers_service.accept(session, actor=rival, question_id=q3.id, answer_id=c1.id, now=t)
    answers_service.delete_answer(session, actor=rival, answer_id=b1.id)
    # an answered thread: its asker may not delete it (issue 10 item 9), a moderator may
    questions_service.delete_question(session, actor=factory.user(role="moderator"), question_id=q3.id)
    # serial voting from one fan to the helper, within the last day, reversed by the job
    serial = [factory.answer(factory.question(), author=helper) for _ in range(5)]
    for p in serial:
        vote(session, voters[21], p, 1)
    assert gaming.detect_serial_voting(session).votes_reversed == 5
    return asker, helper, rival, critic


def test_recompute_agrees_with_the_live_ledger_after_a_mixed_history(session, factory):
    asker, helper, rival, critic = _mixed_history(session, factory)
    balances = {u.username: rep(session, u) for u in (asker, helper, rival, critic)}
    report = reputation.recompute(session, fix=False)
    assert report.differences == 0, (report.summary(), report.changed_users)
    assert report.events_checked == len(session.exec(select(ReputationEvent)).all())
    assert report.users == len(session.exec(select(User)).all())
    report = reputation.recompute(session, fix=True)
    assert report.differences == 0
    assert {u.username: rep(session, u) for u in (asker, helper, rival, critic)} == balances
    # 21 upvotes left on a capped day, a downvote on the answer and one on the question, the acceptance
    assert balances["helper"] == 1 + 200 - 2 - 2 + 15
    assert balances["critic"] == 131 - 1 and balances["asker"] == 1 + 6 * 5 + 2  # q3 and its answer are gone



def test_recompute_reports_and_repairs_corruption(session, factory):
    asker, helper, rival, critic = _mixed_history(session, factory)
    want = {u.id: rep(session, u) for u in (asker, helper, rival, critic)}
    session.exec(update(User).where(User.id == asker.id).values(reputation=777))
    victim = next(e for e in ledger(session, rival, counting=True) if e.kind == "answer_upvoted")
    session.exec(delete(ReputationEvent).where(ReputationEvent.id == victim.id))
    changed = next(e for e in ledger(session, critic, counting=True) if e.kind == "downvoted_answer")
    session.exec(update(ReputationEvent).where(ReputationEvent.id == changed.id).values(amount=-50))
    stale = next(e for e in ledger(session, helper, counting=False) if e.reversal_reason == "serial voting")
    session.exec(update(ReputationEvent).where(ReputationEvent.id == stale.id)
                 .values(reversed_at=None, reversal_reason=None))
    session.expire_all()

    report = reputation.recompute(session, fix=False)
    assert (report.missing_events, report.wrong_amounts, report.stale_events, report.balances_changed) == (1, 1, 1, 1)
    assert report.differences == 4
    assert report.changed_users == [f"asker: 777 → {want[asker.id]}"]
    assert session.get(User, asker.id).reputation == 777  # fix=False changes nothing

    report = reputation.recompute(session, fix=True)
    assert report.differences == 4
    session.expire_all()
    assert {uid: session.get(User, uid).reputation for uid in want} == want
    assert reputation.recompute(session, fix=False).differences == 0
    restored = session.exec(select(ReputationEvent).where(
        ReputationEvent.user_id == rival.id, ReputationEvent.source_id == victim.source_id,
        ReputationEvent.kind == victim.kind)).one()
    assert restored.reversed_at is None and restored.amount == victim.amount
    assert session.get(ReputationEvent, changed.id).amount == -1
    assert session.get(ReputationEvent, stale.id).reversal_reason == "recompute: cause gone"
