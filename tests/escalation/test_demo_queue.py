"""The demo community shows a few escalations in the staff queue, each from a different way in."""

from __future__ import annotations

from sqlmodel import Session, select

from app.demo import loader
from app.escalation.models import Escalation


def test_the_demo_queue_has_escalations_and_loading_stays_idempotent(clean_engine, demo_community):
    assert "3 escalations in the support queue" in demo_community
    assert loader.load(clean_engine) == "already loaded, nothing changed"
    with Session(clean_engine) as s:
        rows = s.exec(select(Escalation).order_by(Escalation.id)).all()
    queued = [e for e in rows if e.open_question_id is not None]  # the older ones are resolved (app/demo/loader.py)
    assert [e.trigger for e in queued][:2] == ["asker", "staff"] and queued[2].trigger in ("unanswered", "unsolved")
    assert queued[1].status == "claimed" and queued[1].affected == 4
    assert len({e.question_id for e in rows}) == len(rows)


def test_the_demo_has_a_private_exchange_on_the_claimed_escalation(clean_engine, demo_community):
    from app.escalation.models import EscalationMessage
    from app.questions.models import Question

    with Session(clean_engine) as s:
        claimed = s.exec(select(Escalation).where(Escalation.status == "claimed")).one()
        rows = s.exec(select(EscalationMessage).order_by(EscalationMessage.id)).all()
        asker = s.get(Question, claimed.question_id).author_id
    assert [m.escalation_id for m in rows] == [claimed.id, claimed.id]
    assert [m.author_id for m in rows] == [claimed.assignee_id, asker]
    assert "KST-2291-40518" in rows[1].body
