"""Staff metrics over a period: time to first response, time to resolution, breach rate,
escalation rate per product, and deflection (questions the community solved without staff)."""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlmodel import Session, select

from app.accounts.models import STAFF_ROLES, User
from app.answers.models import Answer
from app.core.db import utcnow
from app.escalation import service as escalation_service
from app.escalation.models import Escalation
from app.products.models import Product
from app.questions.models import Question


@dataclass
class ProductMetrics:
    product: str | None  # slug; None: questions without a product
    product_name: str
    questions: int = 0
    escalated: int = 0
    community_solved: int = 0

    @property
    def escalation_rate(self) -> float | None:
        return self.escalated / self.questions if self.questions else None

    @property
    def deflection_rate(self) -> float | None:
        return self.community_solved / self.questions if self.questions else None


@dataclass
class Metrics:
    since: datetime
    until: datetime
    escalations: int = 0
    resolved: int = 0
    breached: int = 0
    first_response_median_seconds: float | None = None
    first_response_mean_seconds: float | None = None
    resolution_median_seconds: float | None = None
    resolution_mean_seconds: float | None = None
    questions: int = 0
    escalated_questions: int = 0
    community_solved: int = 0
    # From the ask page and the API: would-be questions answered by an existing one ("Yes, this
    # solved it"), and suggestions askers were shown and passed over ("No, post my question").
    deflected_while_asking: int = 0
    suggestions_passed_over: int = 0
    products: list[ProductMetrics] = field(default_factory=list)

    @property
    def breach_rate(self) -> float | None:
        return self.breached / self.escalations if self.escalations else None

    @property
    def escalation_rate(self) -> float | None:
        return self.escalated_questions / self.questions if self.questions else None

    @property
    def deflection_rate(self) -> float | None:
        return self.community_solved / self.questions if self.questions else None


def _stats(values: list[float]) -> tuple[float | None, float | None]:
    if not values:
        return None, None
    return float(statistics.median(values)), float(statistics.fmean(values))


def compute(session: Session, *, actor: User | None, days: int = 30, product: str | None = None,
            now: datetime | None = None) -> Metrics:
    """Escalations opened, and questions asked, in the last `days` days (optionally one product).
    Breaches are judged now for escalations still open. Deflection: questions solved by an
    accepted answer from a non-staff member and never escalated, over all questions asked."""
    escalation_service.require_agent(actor)
    now = now or utcnow()
    since = now - timedelta(days=days)
    m = Metrics(since=since, until=now)
    product_row = None
    if product:
        from app.products import service as products_service

        product_row = products_service.get(session, product)
    qstmt = select(Question).where(Question.created_at >= since, Question.created_at <= now,
                                   Question.deleted_at.is_(None), Question.status != "duplicate",
                                   Question.visibility == "public")  # the customer-facing queue's metrics
    estmt = select(Escalation, Question.product_id).join(Question, Question.id == Escalation.question_id).where(
        Escalation.created_at >= since, Escalation.created_at <= now)
    if product_row is not None:
        qstmt = qstmt.where(Question.product_id == product_row.id)
        estmt = estmt.where(Question.product_id == product_row.id)
    rows = session.exec(estmt).all()
    first, resolution = [], []
    for esc, _pid in rows:
        m.escalations += 1
        if esc.first_response_at:
            first.append((esc.first_response_at - esc.created_at).total_seconds())
        if esc.resolved_at:
            m.resolved += 1
            resolution.append((esc.resolved_at - esc.created_at).total_seconds())
        if escalation_service.breach(esc, now):
            m.breached += 1
    m.first_response_median_seconds, m.first_response_mean_seconds = _stats(first)
    m.resolution_median_seconds, m.resolution_mean_seconds = _stats(resolution)

    questions = list(session.exec(qstmt).all())
    qids = [q.id for q in questions]
    escalated = set(session.exec(select(Escalation.question_id).where(Escalation.question_id.in_(qids))).all()) \
        if qids else set()
    accepted_ids = [q.accepted_answer_id for q in questions if q.accepted_answer_id]
    staff_answers = set(session.exec(
        select(Answer.id).join(User, User.id == Answer.author_id)
        .where(Answer.id.in_(accepted_ids), User.role.in_([r.value for r in STAFF_ROLES]))).all()) \
        if accepted_ids else set()
    products = {p.id: p for p in session.exec(select(Product)).all()}
    per: dict[int | None, ProductMetrics] = {}
    for q in questions:
        p = products.get(q.product_id)
        row = per.setdefault(q.product_id, ProductMetrics(p.slug if p else None, p.name if p else "No product"))
        row.questions += 1
        m.questions += 1
        if q.id in escalated:
            row.escalated += 1
            m.escalated_questions += 1
        elif q.accepted_answer_id and q.accepted_answer_id not in staff_answers:
            row.community_solved += 1
            m.community_solved += 1
    m.products = sorted(per.values(), key=lambda r: (r.product is None, r.product_name))
    _asking(session, m, since, now, product_row.id if product_row is not None else None)
    return m


def _asking(session: Session, m: Metrics, since: datetime, now: datetime, product_id: int | None) -> None:
    from sqlalchemy import func

    from app.search.models import Deflection, DismissedSuggestion

    deflected = select(func.count()).select_from(Deflection).where(Deflection.created_at >= since,
                                                                    Deflection.created_at <= now)
    passed = (select(func.count()).select_from(DismissedSuggestion)
              .join(Question, Question.id == DismissedSuggestion.question_id)
              .where(DismissedSuggestion.created_at >= since, DismissedSuggestion.created_at <= now))
    if product_id is not None:
        deflected = deflected.where(Deflection.product_id == product_id)
        passed = passed.where(Question.product_id == product_id)
    m.deflected_while_asking = session.exec(deflected).one()
    m.suggestions_passed_over = session.exec(passed).one()
