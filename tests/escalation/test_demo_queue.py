"""The demo community shows a few escalations in the staff queue, each from a different way in."""

from __future__ import annotations

from sqlmodel import Session, select

from app.demo import loader
from app.escalation.models import Escalation


def test_the_demo_queue_has_escalations_and_loading_stays_idempotent(clean_engine):
    assert "3 escalations in the support queue" in loader.load(clean_engine)
    assert loader.load(clean_engine) == "already loaded, nothing changed"
    with Session(clean_engine) as s:
        rows = s.exec(select(Escalation).order_by(Escalation.id)).all()
    assert [e.trigger for e in rows][0] == "asker" and rows[1].trigger in ("unanswered", "unsolved")
    assert rows[2].status == "claimed" and rows[2].affected == 4
    assert len({e.question_id for e in rows}) == 3
