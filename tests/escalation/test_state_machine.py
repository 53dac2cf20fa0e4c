"""Every transition of an escalation, and every refused one, through the real services."""

from __future__ import annotations

import pytest
from sqlmodel import select

from app.answers.models import Answer
from app.core.errors import Conflict, Forbidden, InvalidInput, NotAuthenticated
from app.escalation import metoo
from app.escalation import service as svc
from app.escalation.models import Escalation, EscalationEvent
from app.notifications.models import Notification

ALL = ("open", "claimed", "waiting", "handed_off", "resolved")


def log(session, esc):
    return [(e.kind, e.actor_id) for e in session.exec(
        select(EscalationEvent).where(EscalationEvent.escalation_id == esc.id).order_by(EscalationEvent.id)).all()]


# --- claim ---------------------------------------------------------------------------------------

def test_claim_takes_an_open_escalation_and_counts_as_first_response(session, desk, clock):
    esc = desk.escalation()
    assert (esc.status, esc.assignee_id, esc.first_response_at, esc.due_at) == ("open", None, None, esc.respond_by)
    clock.advance(minutes=30)
    svc.claim(session, actor=desk.omar, escalation_id=esc.id, now=clock())
    session.refresh(esc)
    assert (esc.status, esc.assignee_id) == ("claimed", desk.omar.id)
    assert esc.first_response_at == clock()
    assert esc.due_at == esc.resolve_by
    assert log(session, esc)[-1] == ("claimed", desk.omar.id)


def test_claiming_ones_own_claim_again_changes_nothing(session, desk, clock):
    esc = desk.escalation("claimed")
    before = log(session, esc)
    svc.claim(session, actor=desk.lena, escalation_id=esc.id, now=clock.advance(minutes=5))
    assert log(session, esc) == before


def test_claiming_someone_elses_claim_is_a_conflict(session, desk, clock):
    esc = desk.escalation("claimed")
    with pytest.raises(Conflict, match="claimed by"):
        svc.claim(session, actor=desk.omar, escalation_id=esc.id, now=clock())


@pytest.mark.parametrize("state", ["waiting", "handed_off", "resolved"])
def test_claim_is_refused_unless_open(session, desk, clock, state):
    esc = desk.escalation(state)
    with pytest.raises(Conflict):
        svc.claim(session, actor=desk.omar, escalation_id=esc.id, now=clock())


# --- release and assign ----------------------------------------------------------------------------

def test_release_returns_a_claim_to_the_queue(session, desk, clock):
    esc = desk.escalation("claimed")
    svc.release(session, actor=desk.lena, escalation_id=esc.id, now=clock())
    assert (esc.status, esc.assignee_id) == ("open", None)
    assert log(session, esc)[-1] == ("released", desk.lena.id)


def test_only_the_holder_or_an_admin_releases(session, desk, clock):
    esc = desk.escalation("claimed")
    with pytest.raises(Forbidden):
        svc.release(session, actor=desk.omar, escalation_id=esc.id, now=clock())
    svc.release(session, actor=desk.admin, escalation_id=esc.id, now=clock())
    assert esc.status == "open"


@pytest.mark.parametrize("state", ["open", "waiting", "handed_off", "resolved"])
def test_release_is_refused_unless_claimed(session, desk, clock, state):
    esc = desk.escalation(state)
    with pytest.raises(Conflict):
        svc.release(session, actor=desk.lena, escalation_id=esc.id, now=clock())


def test_assigning_an_open_escalation_claims_it_for_the_colleague_and_tells_them(session, desk, clock):
    esc = desk.escalation()
    svc.assign(session, actor=desk.lena, escalation_id=esc.id, assignee=desk.omar, now=clock())
    assert (esc.status, esc.assignee_id) == ("claimed", desk.omar.id)
    assert log(session, esc)[-1] == ("assigned", desk.lena.id)
    (note,) = session.exec(select(Notification).where(Notification.user_id == desk.omar.id)).all()
    assert note.kind == "escalation_assigned" and note.url == f"/staff/escalations/{esc.id}"


def test_assign_refusals(session, desk, clock):
    esc = desk.escalation("claimed")
    with pytest.raises(InvalidInput):  # customers cannot be assignees
        svc.assign(session, actor=desk.lena, escalation_id=esc.id, assignee=desk.maya, now=clock())
    with pytest.raises(Forbidden):  # only the holder (or an admin) passes on a claim
        svc.assign(session, actor=desk.omar, escalation_id=esc.id, assignee=desk.omar, now=clock())
    with pytest.raises(Conflict):  # already theirs
        svc.assign(session, actor=desk.lena, escalation_id=esc.id, assignee=desk.lena, now=clock())
    svc.assign(session, actor=desk.lena, escalation_id=esc.id, assignee=desk.omar, now=clock())
    assert esc.assignee_id == desk.omar.id


@pytest.mark.parametrize("state", ["handed_off", "resolved"])
def test_assign_is_refused_once_handed_off_or_resolved(session, desk, clock, state):
    esc = desk.escalation(state)
    with pytest.raises(Conflict):
        svc.assign(session, actor=desk.lena, escalation_id=esc.id, assignee=desk.omar, now=clock())


# --- notes ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("state", ALL)
def test_staff_add_internal_notes_in_every_state(session, desk, clock, state):
    esc = desk.escalation(state)
    note = svc.add_note(session, actor=desk.omar, escalation_id=esc.id, body="Looks like firmware 1.2", now=clock())
    assert (note.kind, note.actor_id, note.detail) == ("note", desk.omar.id, "Looks like firmware 1.2")


def test_empty_notes_are_refused(session, desk, clock):
    esc = desk.escalation()
    with pytest.raises(InvalidInput):
        svc.add_note(session, actor=desk.lena, escalation_id=esc.id, body="   ", now=clock())


# --- waiting on the customer ---------------------------------------------------------------------

def test_waiting_pauses_the_clock_and_resuming_moves_the_targets(session, desk, clock):
    esc = desk.escalation("claimed")
    resolve_by = esc.resolve_by
    svc.wait_on_customer(session, actor=desk.lena, escalation_id=esc.id, now=clock.advance(hours=1))
    assert esc.status == "waiting" and esc.paused_at == clock()
    # while paused, time passing does not breach
    assert svc.breach(esc, clock.advance(days=30)) is None
    svc.resume(session, actor=desk.lena, escalation_id=esc.id, now=clock())
    assert esc.status == "claimed" and esc.paused_at is None
    assert esc.resolve_by - resolve_by == svc.timedelta(days=30)
    assert [k for k, _ in log(session, esc)][-2:] == ["waiting", "resumed"]


@pytest.mark.parametrize("state", ["open", "waiting", "handed_off", "resolved"])
def test_wait_is_refused_unless_claimed(session, desk, clock, state):
    esc = desk.escalation(state)
    with pytest.raises(Conflict):
        svc.wait_on_customer(session, actor=desk.lena, escalation_id=esc.id, now=clock())


@pytest.mark.parametrize("state", ["open", "claimed", "handed_off", "resolved"])
def test_resume_is_refused_unless_waiting(session, desk, clock, state):
    esc = desk.escalation(state)
    with pytest.raises(Conflict):
        svc.resume(session, actor=desk.lena, escalation_id=esc.id, now=clock())


def test_only_the_holder_pauses_and_resumes(session, desk, clock):
    esc = desk.escalation("claimed")
    with pytest.raises(Forbidden):
        svc.wait_on_customer(session, actor=desk.omar, escalation_id=esc.id, now=clock())
    svc.wait_on_customer(session, actor=desk.lena, escalation_id=esc.id, now=clock())
    with pytest.raises(Forbidden):
        svc.resume(session, actor=desk.omar, escalation_id=esc.id, now=clock())


def test_the_askers_reply_resumes_a_waiting_escalation(session, desk, clock):
    q = desk.escalation("waiting").question_id
    esc, created = svc.escalate(session, actor=desk.maya, question_id=q, reason="Here are my logs",
                                now=clock.advance(days=2))
    assert not created and esc.status == "claimed" and esc.paused_at is None


# --- hand-off ------------------------------------------------------------------------------------

@pytest.mark.parametrize("state", ["open", "claimed", "waiting"])
def test_hand_off_records_the_ticket_and_stops_the_clock(session, desk, clock, state):
    esc = desk.escalation(state)
    svc.hand_off(session, actor=desk.lena, escalation_id=esc.id, ticket="ZD-4411", now=clock.advance(minutes=10))
    assert (esc.status, esc.external_ticket, esc.handed_off_at) == ("handed_off", "ZD-4411", clock())
    assert esc.paused_at is None and esc.first_response_at is not None
    assert svc.breach(esc, clock.advance(days=90)) is None
    assert log(session, esc)[-1] == ("handed_off", desk.lena.id)


@pytest.mark.parametrize("state", ["handed_off", "resolved"])
def test_hand_off_is_refused_when_handed_off_or_resolved(session, desk, clock, state):
    esc = desk.escalation(state)
    with pytest.raises(Conflict):
        svc.hand_off(session, actor=desk.lena, escalation_id=esc.id, ticket="ZD-1", now=clock())


def test_hand_off_needs_a_ticket_reference(session, desk, clock):
    esc = desk.escalation()
    with pytest.raises(InvalidInput):
        svc.hand_off(session, actor=desk.lena, escalation_id=esc.id, ticket=" ", now=clock())


# --- resolve -------------------------------------------------------------------------------------

def test_resolving_with_a_staff_answer_posts_it_on_the_thread_and_tells_everyone(session, desk, factory, clock):
    esc = desk.escalation("claimed")
    raj = factory.user("raj")
    metoo.add(session, actor=raj, question_id=esc.question_id, now=clock())
    svc.resolve(session, actor=desk.lena, escalation_id=esc.id, resolution="Known firmware bug",
                answer_body="Update the dock to firmware 1.2.3.", now=clock.advance(hours=2))
    assert (esc.status, esc.resolved_at, esc.resolved_by_id) == ("resolved", clock(), desk.lena.id)
    assert esc.open_question_id is None
    answer = session.get(Answer, esc.public_answer_id)
    assert answer.question_id == esc.question_id and answer.author_id == desk.lena.id
    told = {n.user_id: n for n in session.exec(select(Notification)).all()}
    assert set(told) == {desk.maya.id, raj.id}
    assert told[desk.maya.id].url.endswith(f"#answer-{answer.id}")
    assert log(session, esc)[-1] == ("resolved", desk.lena.id)


def test_resolving_can_point_to_the_community_answer(session, desk, factory, clock):
    esc = desk.escalation()
    community = factory.answer(session.get(svc.Question, esc.question_id))
    svc.resolve(session, actor=desk.omar, escalation_id=esc.id, resolution="The community had it",
                answer_id=community.id, now=clock())
    assert (esc.public_answer_id, esc.assignee_id) == (community.id, desk.omar.id)
    assert session.exec(select(Answer).where(Answer.question_id == esc.question_id)).all() == [community]


def test_resolve_needs_exactly_one_public_answer_on_this_thread(session, desk, factory, clock):
    esc = desk.escalation()
    other = factory.answer(factory.question())
    for kw in ({}, {"answer_body": "x" * 20, "answer_id": other.id}, {"answer_id": other.id}):
        with pytest.raises(InvalidInput):
            svc.resolve(session, actor=desk.lena, escalation_id=esc.id, resolution="r", now=clock(), **kw)
    with pytest.raises(InvalidInput):
        svc.resolve(session, actor=desk.lena, escalation_id=esc.id, resolution=" ", answer_body="Try this fix.",
                    now=clock())
    assert esc.status == "open"


def test_resolve_is_refused_once_resolved_and_when_someone_else_holds_it(session, desk, clock):
    done = desk.escalation("resolved")
    with pytest.raises(Conflict):
        svc.resolve(session, actor=desk.lena, escalation_id=done.id, resolution="again", answer_body="Again, this.",
                    now=clock())
    held = desk.escalation("claimed")
    with pytest.raises(Forbidden):
        svc.resolve(session, actor=desk.omar, escalation_id=held.id, resolution="mine now",
                    answer_body="Here is the fix.", now=clock())


@pytest.mark.parametrize("state", ["open", "claimed", "waiting", "handed_off"])
def test_resolve_is_allowed_from_every_unresolved_state(session, desk, clock, state):
    esc = desk.escalation(state)
    svc.resolve(session, actor=desk.lena, escalation_id=esc.id, resolution="done",
                answer_body="The fix is to reset the network settings.", now=clock())
    assert esc.status == "resolved" and esc.paused_at is None


def test_after_resolution_a_new_escalation_may_open(session, desk, clock):
    esc = desk.escalation("resolved")
    again, created = svc.escalate(session, actor=desk.maya, question_id=esc.question_id, reason="Still broken",
                                  now=clock.advance(days=2))
    assert created and again.id != esc.id


# --- ways in ---------------------------------------------------------------------------------------

def test_the_asker_waits_before_asking_staff(session, desk, factory, clock):
    q = factory.question(author=desk.maya)
    with pytest.raises(Conflict, match="24 hours"):
        svc.escalate(session, actor=desk.maya, question_id=q.id, reason="help", now=clock.advance(hours=23))
    esc, created = svc.escalate(session, actor=desk.maya, question_id=q.id, reason="help", now=clock.advance(hours=2))
    assert created and (esc.trigger, esc.created_by_id, esc.status) == ("asker", desk.maya.id, "open")


def test_only_the_asker_or_staff_escalate(session, desk, factory, clock):
    q = factory.question(author=desk.maya)
    with pytest.raises(Forbidden):
        svc.escalate(session, actor=factory.user(), question_id=q.id, reason="me too", now=clock.advance(days=3))
    with pytest.raises(Forbidden):  # moderators moderate; they do not work the support queue
        svc.escalate(session, actor=factory.user(role="moderator"), question_id=q.id, reason="x", now=clock())
    with pytest.raises(NotAuthenticated):
        svc.escalate(session, actor=None, question_id=q.id, reason="x", now=clock())
    esc, created = svc.escalate(session, actor=desk.omar, question_id=q.id, reason="VIP customer", now=clock())
    assert created and esc.trigger == "staff"


def test_the_asker_cannot_escalate_a_solved_question_or_a_duplicate(session, desk, factory, clock):
    from app.answers import service as answers_service
    from app.questions import duplicates

    q = factory.question(author=desk.maya)
    a = factory.answer(q)
    answers_service.accept(session, actor=desk.maya, question_id=q.id, answer_id=a.id)
    with pytest.raises(Conflict, match="solved"):
        svc.escalate(session, actor=desk.maya, question_id=q.id, reason="x", now=clock.advance(days=2))
    dup = factory.question(author=desk.maya)
    duplicates.close_as_duplicate(session, actor=desk.lena, question_id=dup.id, original_id=q.id)
    with pytest.raises(Conflict, match="duplicate"):
        svc.escalate(session, actor=desk.maya, question_id=dup.id, reason="x", now=clock())


def test_more_signals_raise_the_priority_of_the_one_open_escalation(session, desk, factory, clock):
    q = factory.question(author=desk.maya)
    first, _ = svc.escalate(session, actor=desk.maya, question_id=q.id, reason="help", now=clock.advance(days=2))
    again, created = svc.escalate(session, actor=desk.maya, question_id=q.id, reason="help!!", now=clock())
    assert not created and again.id == first.id and again.priority == 1  # the same person again: no raise
    staff, created = svc.escalate(session, actor=desk.lena, question_id=q.id, reason="important", now=clock())
    assert not created and staff.id == first.id and staff.priority == 2
    assert session.exec(select(svc.func.count()).select_from(Escalation)).one() == 1
    assert [k for k, _ in log(session, first)] == ["created", "signal"]


@pytest.mark.parametrize("action", ["claim", "release", "wait_on_customer", "resume"])
def test_customers_cannot_work_the_queue(session, desk, clock, action):
    esc = desk.escalation()
    with pytest.raises(Forbidden):
        getattr(svc, action)(session, actor=desk.maya, escalation_id=esc.id, now=clock())
    with pytest.raises(NotAuthenticated):
        getattr(svc, action)(session, actor=None, escalation_id=esc.id, now=clock())


def test_customers_cannot_note_hand_off_resolve_or_assign(session, desk, clock):
    esc = desk.escalation()
    with pytest.raises(Forbidden):
        svc.add_note(session, actor=desk.maya, escalation_id=esc.id, body="hi", now=clock())
    with pytest.raises(Forbidden):
        svc.hand_off(session, actor=desk.maya, escalation_id=esc.id, ticket="X", now=clock())
    with pytest.raises(Forbidden):
        svc.resolve(session, actor=desk.maya, escalation_id=esc.id, resolution="x", answer_body="y" * 10, now=clock())
    with pytest.raises(Forbidden):
        svc.assign(session, actor=desk.maya, escalation_id=esc.id, assignee=desk.lena, now=clock())
    with pytest.raises(Forbidden):
        svc.events(session, actor=desk.maya, escalation_id=esc.id)


def test_the_audit_log_records_every_step_with_who(session, desk, clock):
    esc = desk.escalation()
    svc.claim(session, actor=desk.lena, escalation_id=esc.id, now=clock.advance(minutes=1))
    svc.add_note(session, actor=desk.lena, escalation_id=esc.id, body="checking", now=clock.advance(minutes=1))
    svc.wait_on_customer(session, actor=desk.lena, escalation_id=esc.id, now=clock.advance(minutes=1))
    svc.resume(session, actor=desk.lena, escalation_id=esc.id, now=clock.advance(minutes=1))
    svc.assign(session, actor=desk.lena, escalation_id=esc.id, assignee=desk.omar, now=clock.advance(minutes=1))
    svc.hand_off(session, actor=desk.omar, escalation_id=esc.id, ticket="ZD-9", now=clock.advance(minutes=1))
    svc.resolve(session, actor=desk.omar, escalation_id=esc.id, resolution="fixed upstream",
                answer_body="Fixed in release 2.1; update and restart.", now=clock.advance(minutes=1))
    L, O = desk.lena.id, desk.omar.id
    assert log(session, esc) == [("created", L), ("claimed", L), ("note", L), ("waiting", L), ("resumed", L),
                                 ("assigned", L), ("handed_off", O), ("resolved", O)]
    times = [e.created_at for e in session.exec(select(EscalationEvent).where(
        EscalationEvent.escalation_id == esc.id).order_by(EscalationEvent.id)).all()]
    assert times == sorted(times) and len(set(times)) == len(times)


def test_breaches_of_first_response_and_resolution(session, desk, clock):
    esc = desk.escalation()  # standard tier: 8 hours to respond, 72 to resolve
    assert svc.breach(esc, clock.advance(hours=7)) is None
    assert svc.breach(esc, clock.advance(hours=2)) == "first response"
    late = desk.escalation()
    svc.claim(session, actor=desk.lena, escalation_id=late.id, now=clock())
    assert svc.breach(late, clock.advance(hours=71)) is None
    assert svc.breach(late, clock.advance(hours=2)) == "resolution"
