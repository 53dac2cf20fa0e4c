"""The answer order: one function, used by the question page and the API alike.

Design note — how "best" is computed
====================================

Each answer gets a score: the Wilson lower bound (z = 1.28, a one-sided 90% bound) of the share
of positive evidence, where the evidence is

    positive = 2 (base) + Σ w(voter) over upvotes + 8 if accepted + prior (only while nobody voted)
    negative = 2 (base) + Σ w(voter) over downvotes

and answers are ordered by that score, then by age (older first: on equal evidence the first
good answer wins, as it does in the data), then id.

* **Votes weighted by standing**: w(reputation) = 0.5 + 0.5·log10(reputation), clamped to
  [0.5, 2.5] — a brand-new account's vote counts 0.5, reputation 10 counts 1, 100 → 1.5,
  1,000 → 2, 10,000+ → 2.5. Bounded, so no single voter dominates; damped, so that fresh
  accounts (every customer may upvote from day one) cannot swing the order alone.
* **A lower bound, not a ratio or a difference**: 2 up / 0 down does not beat 40 up / 5 down,
  because the bound rewards the amount of evidence as well as its direction. The base pseudo-
  votes (2 and 2) keep answers with no votes in the middle, so a downvote sinks an answer below
  the unvoted ones.
* **Acceptance is a strong signal, not a pin**: it adds 8 pseudo-upvotes. An accepted answer
  with no votes beats one with several upvotes, but overwhelming community support (e.g. +25)
  ranks above it.
* **Track record as a prior, for answers nobody voted on yet**: such an answer inherits a
  little from its author's record *on this product*: prior = 0.5 × (1 − 1 / (1 + helpful / 3)),
  where helpful counts the author's other answers there that were accepted or scored above
  zero. Always less than half a vote — the weight of the lightest real upvote (a brand-new
  account's) — and gone with the first vote or acceptance: from then on the answer is judged
  on its own evidence.
* **Nothing for being staff**: the author's role never enters the formula. Staff answers get a
  badge in the page and `is_staff` in the API, and rank on the same evidence as everyone's.

The constants satisfy the examples in tests/reputation/test_ranking.py (a customer answer with
3 upvotes outranks a staff answer with 1 or none; +25 outranks an accepted answer with no
votes; a proven contributor's new answer starts above a newcomer's; a downvoted answer sinks
below unvoted ones; 2/2 does not beat 40/45) and, among the settings that do, were chosen on
real data with bench/ranking_bench.py (iot.stackexchange: how often the top answer 7 days after
the question is the final winner). Restricting the prior to unvoted answers and giving
acceptance 8 pseudo-votes (it had 5; downvotes counted double) raised that from 84% to 88%.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

from sqlalchemy import case, func, or_
from sqlmodel import Session, select

from app.accounts.models import User
from app.answers.models import Answer

AnswerSort = Literal["best", "newest", "oldest"]

Z = 1.28
BASE_POSITIVE = 2.0
BASE_NEGATIVE = 2.0
ACCEPTED_BONUS = 8.0
DOWNVOTE_FACTOR = 1.0
PRIOR_MAX = 0.5  # < vote_weight(1): the lightest real upvote outweighs any record
PRIOR_HALF = 3.0  # helpful answers at which the prior reaches half its maximum
# Imported archives do not say who voted; their votes count as an established member's
# (Stack Exchange needs 15 reputation to vote up).
IMPORTED_VOTER_REPUTATION = 15


def vote_weight(reputation: int) -> float:
    return min(2.5, max(0.5, 0.5 + 0.5 * math.log10(max(reputation, 1))))


def author_prior(helpful_answers: int) -> float:
    return PRIOR_MAX * (1 - 1 / (1 + helpful_answers / PRIOR_HALF))


def wilson_lower_bound(positive: float, negative: float, z: float = Z) -> float:
    n = positive + negative
    if n <= 0:
        return 0.0
    p = positive / n
    return (p + z * z / (2 * n) - z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))) / (1 + z * z / n)


@dataclass
class Evidence:
    """What the ranking knows about one answer."""

    upvoter_reputations: list[int] = field(default_factory=list)
    downvoter_reputations: list[int] = field(default_factory=list)
    accepted: bool = False
    author_helpful_answers: int = 0


def rank_score(e: Evidence) -> float:
    unvoted = not (e.upvoter_reputations or e.downvoter_reputations or e.accepted)
    prior = author_prior(e.author_helpful_answers) if unvoted else 0.0
    positive = (BASE_POSITIVE + prior
                + sum(vote_weight(r) for r in e.upvoter_reputations) + (ACCEPTED_BONUS if e.accepted else 0.0))
    negative = BASE_NEGATIVE + DOWNVOTE_FACTOR * sum(vote_weight(r) for r in e.downvoter_reputations)
    return wilson_lower_bound(positive, negative)


def order(answers: Sequence[Answer], evidence: dict[int, Evidence], sort: AnswerSort = "best") -> list[Answer]:
    if sort == "newest":
        return sorted(answers, key=lambda a: (a.created_at, a.id), reverse=True)
    if sort == "oldest":
        return sorted(answers, key=lambda a: (a.created_at, a.id))
    scores = {a.id: rank_score(evidence.get(a.id, Evidence())) for a in answers}
    return sorted(answers, key=lambda a: (-scores[a.id], a.created_at, a.id))


def gather_evidence(session: Session, answers: Sequence[Answer], accepted_answer_id: int | None,
                    product_id: int | None) -> dict[int, Evidence]:
    """Votes with their voters' reputation, acceptance, and each author's record on the product."""
    from app.questions.models import Question
    from app.votes.models import Vote

    evidence = {a.id: Evidence(accepted=a.id == accepted_answer_id) for a in answers}
    if not answers:
        return evidence
    for post_id, value, reputation in session.exec(
        select(Vote.post_id, Vote.value, User.reputation).join(User, User.id == Vote.voter_id)
        .where(Vote.post_type == "answer", Vote.post_id.in_(list(evidence)))
    ).all():
        target = evidence[post_id].upvoter_reputations if value > 0 else evidence[post_id].downvoter_reputations
        target.append(reputation)
    from app.importer.models import ImportedVote

    for post_id, value in session.exec(
        select(ImportedVote.post_id, ImportedVote.value)
        .where(ImportedVote.post_type == "answer", ImportedVote.post_id.in_(list(evidence)))
    ).all():
        target = evidence[post_id].upvoter_reputations if value > 0 else evidence[post_id].downvoter_reputations
        target.append(IMPORTED_VOTER_REPUTATION)
    authors = {a.author_id for a in answers}
    helpful = case((or_(Answer.score > 0, Question.accepted_answer_id == Answer.id), 1), else_=0)
    stmt = (
        select(Answer.author_id, func.sum(helpful))
        .join(Question, Question.id == Answer.question_id)
        .where(Answer.author_id.in_(authors), Answer.deleted_at.is_(None), Question.deleted_at.is_(None),
               Answer.id.not_in(list(evidence)))
        .group_by(Answer.author_id)
    )
    stmt = stmt.where(Question.product_id == product_id) if product_id else stmt.where(Question.product_id.is_(None))
    record = {author: int(n or 0) for author, n in session.exec(stmt).all()}
    for a in answers:
        evidence[a.id].author_helpful_answers = record.get(a.author_id, 0)
    return evidence


def rank_answers(session: Session, answers: Sequence[Answer], *, accepted_answer_id: int | None,
                 product_id: int | None, sort: AnswerSort = "best") -> list[Answer]:
    """The platform's answer order (best first by default)."""
    evidence = gather_evidence(session, answers, accepted_answer_id, product_id) if sort == "best" else {}
    return order(answers, evidence, sort)
