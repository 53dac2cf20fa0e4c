"""Automatic escalation, with a controllable clock (no sleeping): the worker's check opens
escalations for questions unanswered or unsolved past their product's thresholds and for
questions affecting many customers ("me too" and folded duplicates)."""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import Session, select

from app.escalation import metoo, sweep
from app.escalation import service as esc_service
from app.escalation.models import Escalation, EscalationEvent
from app.questions import duplicates
from app.worker import JOBS, run_job


def _escalations(session):
    return list(session.exec(select(Escalation).order_by(Escalation.id)).all())


def test_unanswered_past_the_threshold_is_escalated_once(session, factory, clock):
    q = factory.question()
    result = sweep.run(session, clock.advance(hours=47))  # standard tier: 48 hours
    assert result.opened == 0 and _escalations(session) == []
    result = sweep.run(session, clock.advance(hours=2))
    (esc,) = _escalations(session)
    assert result.opened == 1 and (esc.question_id, esc.trigger, esc.created_by_id) == (q.id, "unanswered", None)
    assert "No answer after" in esc.reason
    assert esc.due_at == clock() + timedelta(hours=8)
    # the next run finds nothing new
    assert sweep.run(session, clock.advance(minutes=5)).opened == 0
    assert len(_escalations(session)) == 1


def test_answered_but_unsolved_waits_for_the_unsolved_threshold(session, factory, clock):
    q = factory.question()
    factory.answer(q)
    sweep.run(session, clock.advance(days=3))
    assert _escalations(session) == []
    sweep.run(session, clock.advance(days=4, minutes=1))
    (esc,) = _escalations(session)
    assert esc.trigger == "unsolved"


def test_solved_closed_and_already_escalated_questions_are_left_alone(session, factory, clock, desk):
    from app.answers import service as answers_service

    solved = factory.question(author=desk.maya)
    answers_service.accept(session, actor=desk.maya, question_id=solved.id, answer_id=factory.answer(solved).id)
    original = factory.question()
    dup = factory.question()
    duplicates.close_as_duplicate(session, actor=desk.lena, question_id=dup.id, original_id=original.id)
    resolved = desk.escalation("resolved")
    sweep.run(session, clock.advance(days=30))
    assert {e.question_id for e in _escalations(session)} == {resolved.question_id, original.id}


def test_a_products_own_thresholds_apply(session, factory, clock, desk):
    factory.product("aero-14")
    esc_service.set_levels(session, actor=desk.lena, product_slug="aero-14", tier="enterprise")  # 8 h unanswered
    fast = factory.question(product="aero-14")
    slow = factory.question()
    sweep.run(session, clock.advance(hours=9))
    (esc,) = _escalations(session)
    assert esc.question_id == fast.id and esc.due_at == clock() + timedelta(hours=1)
    assert slow.id not in {e.question_id for e in _escalations(session)}


def test_many_me_too_open_an_escalation_as_a_likely_defect(session, factory, clock):
    q = factory.question()
    for _ in range(3):
        metoo.add(session, actor=factory.user(), question_id=q.id, now=clock())
    assert _escalations(session) == []  # asker + 3 = 4 < 5
    metoo.add(session, actor=factory.user(), question_id=q.id, now=clock())
    (esc,) = _escalations(session)
    assert (esc.trigger, esc.affected) == ("affected", 5)
    metoo.add(session, actor=factory.user(), question_id=q.id, now=clock())
    session.refresh(esc)
    assert esc.affected == 6 and esc.priority == 1  # the same signal again does not raise it twice


def test_folded_duplicates_count_and_the_worker_finds_them(session, factory, clock, desk):
    original = factory.question()
    for _ in range(4):
        duplicates.close_as_duplicate(session, actor=desk.lena, question_id=factory.question().id,
                                      original_id=original.id)
    result = sweep.run(session, clock())
    (esc,) = _escalations(session)
    assert result.opened == 1 and esc.question_id == original.id and esc.trigger == "affected" and esc.affected == 5


def test_more_customers_raise_the_priority_of_an_open_escalation(session, factory, clock, desk):
    q = factory.question(author=desk.maya)
    esc, _ = esc_service.escalate(session, actor=desk.lena, question_id=q.id, reason="VIP", now=clock())
    for _ in range(4):
        metoo.add(session, actor=factory.user(), question_id=q.id, now=clock())
    session.refresh(esc)
    assert (esc.priority, esc.affected) == (2, 5)
    kinds = [(e.kind, e.signal) for e in session.exec(select(EscalationEvent).where(
        EscalationEvent.escalation_id == esc.id).order_by(EscalationEvent.id)).all()]
    assert kinds == [("created", "staff"), ("signal", "affected")]


def test_the_worker_runs_the_check_in_its_own_transaction(session, factory, clean_engine):
    from sqlalchemy import update

    from app.core.db import utcnow
    from app.questions.models import Question

    q = factory.question()
    session.exec(update(Question).where(Question.id == q.id).values(created_at=utcnow() - timedelta(days=3)))
    session.commit()
    job = next(j for j in JOBS if j.name == "escalation-timers")
    assert job.every == timedelta(minutes=5)
    assert run_job(clean_engine, job).startswith("1 escalations opened")
    with Session(clean_engine) as s:
        (esc,) = s.exec(select(Escalation)).all()
        assert esc.question_id == q.id and esc.trigger == "unanswered"


def test_the_sweep_counts_open_breaches(session, factory, clock, desk):
    desk.escalation()
    assert sweep.run(session, clock.advance(hours=9)).breached == 1
