"""The worker's automatic escalation check (every policy.CHECK_EVERY, `groundswell worker`):
questions unanswered or unsolved past their product's thresholds, and questions with many
affected customers, reach the queue. Only questions never escalated before are opened
automatically (after a resolution the asker can still press "I still need help"); an open
escalation gets the signal as a higher priority instead."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func
from sqlmodel import Session, select

from app.core.db import utcnow
from app.escalation import policy
from app.escalation import service as escalation_service
from app.escalation.models import Escalation, MeToo, Trigger
from app.questions.models import Question, QuestionStatus


@dataclass
class SweepResult:
    opened: int = 0
    raised: int = 0
    breached: int = 0

    def __str__(self) -> str:
        return f"{self.opened} escalations opened, {self.raised} raised, {self.breached} open past their targets"


def _hours(span) -> str:
    h = span.total_seconds() / 3600
    return f"{h:g} hours" if h < 48 else f"{h / 24:g} days"


def check(question: Question, lv: policy.Levels, now: datetime, *, answered: bool) -> tuple[Trigger, str] | None:
    """The timer rule for one never-escalated, unsolved public question at `now` (docs/escalation.md,
    "Ways in"): (Trigger.unanswered, reason) when it has no answer (`answered` False) and is at least
    `lv.unanswered` old, else (Trigger.unsolved, reason) when it is at least `lv.unsolved` old, else
    None. The worker's sweep and the demo loader (app/demo/loader.py, which replays the rule at the
    moment each demo question came due) both decide with it."""
    age = now - question.created_at
    if not answered and age >= lv.unanswered:
        return Trigger.unanswered, f"No answer after {_hours(age)} (threshold {_hours(lv.unanswered)})."
    if age >= lv.unsolved:
        return Trigger.unsolved, f"Not solved after {_hours(age)} (threshold {_hours(lv.unsolved)})."
    return None


def run(session: Session, now: datetime | None = None) -> SweepResult:
    now = now or utcnow()
    result = SweepResult()
    levels = escalation_service.levels_for(
        session, set(session.exec(select(Question.product_id).distinct()).all()) | {None})
    earliest = min(min(lv.unanswered, lv.unsolved) for lv in levels.values())
    never_escalated = ~Question.id.in_(select(Escalation.question_id))
    candidates = session.exec(
        select(Question).where(Question.deleted_at.is_(None), Question.status == QuestionStatus.open.value,
                               Question.accepted_answer_id.is_(None), Question.created_at <= now - earliest,
                               never_escalated, Question.visibility == "public")  # internal: never escalated
        .order_by(Question.created_at, Question.id).limit(policy.CHECK_BATCH)).all()
    for q in candidates:
        lv = levels.get(q.product_id) or escalation_service.level_for(session, q.product_id)
        signal = check(q, lv, now, answered=q.answer_count > 0)
        if signal is None:
            continue
        trigger, reason = signal
        _, created = escalation_service.record_signal(session, question=q, trigger=trigger, actor=None,
                                                      reason=reason, now=now)
        result.opened += created
    result.opened, result.raised = _affected(session, levels, now, result.opened, result.raised)
    open_rows = session.exec(select(Escalation).where(Escalation.open_question_id.is_not(None))).all()
    result.breached = sum(1 for e in open_rows if escalation_service.breach(e, now))
    return result


def _affected(session: Session, levels, now: datetime, opened: int, raised: int) -> tuple[int, int]:
    """Questions whose asker + "me too" + folded duplicates reach the product's threshold."""
    threshold = min(lv.affected_threshold for lv in levels.values())
    me_too = dict(session.exec(select(MeToo.question_id, func.count()).group_by(MeToo.question_id)).all())
    dups = dict(session.exec(
        select(Question.duplicate_of_id, func.count())
        .where(Question.status == QuestionStatus.duplicate.value, Question.duplicate_of_id.is_not(None),
               Question.deleted_at.is_(None))
        .group_by(Question.duplicate_of_id)).all())
    wanted = [qid for qid in set(me_too) | set(dups) if 1 + me_too.get(qid, 0) + dups.get(qid, 0) >= threshold]
    for qid in sorted(wanted)[:policy.CHECK_BATCH]:
        before = escalation_service.open_for(session, qid)
        priority = before.priority if before else None
        esc = escalation_service.refresh_affected(session, qid, now)
        if esc is None:
            continue
        if before is None:
            opened += 1
        elif esc.priority != priority:
            raised += 1
    return opened, raised
