"""Demo data for the internal space (docs/internal.md): a staff-only question about the defect
behind the demo's escalated thread, with a staff answer, linked from that public thread and its
escalation, and a second internal playbook that the panel there suggests as similar."""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import Session

from app.accounts.models import User
from app.answers import service as answers_service
from app.escalation.models import Escalation
from app.internal import service as internal
from app.questions import service as questions_service
from app.questions.models import Question
from app.questions.schemas import AnswerCreate, QuestionCreate


def load(session: Session, users: dict[str, User], now, esc: Escalation | None) -> int:
    """Add the internal questions about `esc`, the demo's thread several customers have, claimed
    by the support lead (app/demo/loader.py _escalations); returns how many (0 without it)."""
    staff = [u for u in users.values() if u.is_staff]
    if esc is None or len(staff) < 1:
        return 0
    public = session.get(Question, esc.question_id)
    lead, other = staff[0], staff[-1]
    product = None
    if public.product_id:
        from app.products.models import Product

        product = session.get(Product, public.product_id).slug
    tags = questions_service.tags_for(session, [public.id]).get(public.id, [])[:3]
    known = questions_service.ask(session, actor=lead, data=QuestionCreate(
        title=f"Known defect? {public.title}"[:150],
        body=("Several customers report this (see the linked public thread and its escalation). Engineering "
              "reproduced it on the latest firmware.\n\n**Workaround under review** (do not post publicly yet): "
              "roll back to the previous firmware, then disable fast startup.\n\nEscalation playbook: collect the "
              "firmware version and the exact model, link the customer's thread here, and tell them a fix is being "
              "tested without promising a date."),
        tags=tags, product=product, visibility="internal"), now=now - timedelta(hours=3))
    _backdate(session, known, now - timedelta(hours=3))  # after the escalation it is about (now - 4 h)
    answers_service.post(session, actor=other, question_id=known.id, notify_asker=False,
                         now=now - timedelta(minutes=30), data=AnswerCreate(body=(
                             "Engineering confirmed the rollback is safe. The fix ships in the next firmware; "
                             "until then, the workaround above can be given privately by support.")))
    playbook = questions_service.ask(session, actor=other, data=QuestionCreate(
        title=f"Escalation playbook for reports like: {public.title}"[:150],
        body="Model, firmware version, what changed just before it started, and whether a rollback helps.",
        tags=tags[:1], product=product, visibility="internal"), now=now - timedelta(hours=2))
    _backdate(session, playbook, now - timedelta(hours=2))
    internal.link(session, actor=lead, question_id=public.id, internal_id=known.id, escalation_id=esc.id)
    return 2


def _backdate(session: Session, question: Question, when) -> None:
    """Date the question (its tag copies, revision and activity) to `when`, as the loader does its own."""
    from sqlalchemy import update

    from app.demo.loader import _set_time

    _set_time(session, Question, question.id, when, "question")
    session.exec(update(Question).where(Question.id == question.id).values(last_activity_at=when))
