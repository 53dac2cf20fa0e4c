"""Search documents rebuilt from the current database state.

A canonical question (not deleted, not closed as a duplicate) becomes one `QuestionDoc`; the
titles and texts of questions closed as its duplicates are folded in as alternate phrasings, so
a customer who words the problem like one of them still finds the original. Anything else
(deleted, duplicate, missing) is reported as gone.

Duplicates point straight at a canonical question (app/questions/duplicates.py re-points them),
but the folding follows whole chains anyway (A → B → C: A's and B's text count for C), so data
written before that rule, or a change caught half-way, never loses a question's text.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from sqlalchemy import select
from sqlmodel import Session

from app.internal.visibility import public_only
from app.answers.models import Answer
from app.core.markdown import excerpt, render_body
from app.products.models import Product
from app.questions import service as questions_service
from app.questions.models import Question, QuestionStatus
from app.search.ports import QuestionDoc

# Whole bodies and accepted answers are indexed, so an error code deep in a pasted log is found.
# The cap is the longest post Groundswell accepts (app.questions.schemas BODY_MAX / ANSWER_MAX,
# 30,000 characters of Markdown); only longer imported posts are cut. Memory cost: docs/search.md.
BODY_CHARS = 30_000
ANSWER_CHARS = 30_000
ALTERNATE_BODY_CHARS = 500
# Duplicates folded into their original: the titles of up to ALTERNATES_MAX (each a phrasing with a
# sentence vector, and a keyword field), the bodies of the first ALTERNATE_BODIES_MAX. The most
# asked questions are what new duplicates are most often closed against: in the AskUbuntu history
# 22 originals hold more than 50 duplicates (433 the most), and 155 of the 500 dev queries are
# duplicates of one of them. Folding every title instead of the first 50 raised dev recall@5 of the
# learned ranking from 0.636 to 0.656 in the bench (docs/search-research.md, 2026-12-05). A vector
# is 1.5 KB (384 float32), so a question with 1,000 duplicates carries 1.5 MB of them.
ALTERNATES_MAX = 1000
ALTERNATE_BODIES_MAX = 50


def plain(body: str, body_format: str, limit: int) -> str:
    """Plain text of a stored body (Markdown or imported HTML)."""
    if not body:
        return ""
    if body_format == "html" or "<" in body or "&" in body or "`" in body or "*" in body or "[" in body:
        return excerpt(render_body(body, body_format), limit)
    text = re.sub(r"\s+", " ", body).strip()
    return text if len(text) <= limit else text[:limit].rsplit(" ", 1)[0] + "…"


CHAIN_MAX = 20  # links followed from a duplicate (a loop, in damaged data, stops there too)


def expand(session: Session, ids: Iterable[int]) -> set[int]:
    """The ids plus the originals of those that are duplicates, along the whole chain (their text
    counts there)."""
    ids = {int(i) for i in ids}
    out, frontier = set(ids), ids
    for _ in range(CHAIN_MAX):
        if not frontier:
            break
        originals: set[int] = set()
        for chunk in _chunks(sorted(frontier)):
            originals.update(session.execute(select(Question.duplicate_of_id).where(
                Question.id.in_(chunk), Question.duplicate_of_id.is_not(None))).scalars())
        frontier = originals - out
        out |= frontier
    return out


def _folded(session: Session, qids: list[int]) -> dict[int, list[tuple[str, str]]]:
    """(title, plain text) of every live duplicate folded into each of `qids`, through chains:
    duplicates of duplicates count for the canonical question too. Nearest first, then by id."""
    folded: dict[int, list[tuple[str, str]]] = {}
    root = {q: q for q in qids}
    frontier = list(qids)
    for _ in range(CHAIN_MAX):
        if not frontier:
            break
        found: list[int] = []
        for chunk in _chunks(sorted(frontier)):
            for qid, dup_of, title, body, fmt in session.execute(
                select(Question.id, Question.duplicate_of_id, Question.title, Question.body, Question.body_format)
                .where(Question.duplicate_of_id.in_(chunk), Question.status == QuestionStatus.duplicate.value,
                       Question.deleted_at.is_(None), public_only()).order_by(Question.id)
            ):
                if qid in root:  # a loop back into what was folded already
                    continue
                root[qid] = root[dup_of]
                folded.setdefault(root[qid], []).append((title, plain(body, fmt, ALTERNATE_BODY_CHARS)))
                found.append(qid)
        frontier = found
    return folded


def build(session: Session, ids: Iterable[int]) -> tuple[list[QuestionDoc], list[int]]:
    """Documents (without vectors) for the canonical questions among `ids`, and the ids that are gone."""
    wanted = sorted({int(i) for i in ids})
    docs: list[QuestionDoc] = []
    found: set[int] = set()
    for chunk in _chunks(wanted):
        rows = session.execute(
            select(Question, Product.slug).outerjoin(Product, Product.id == Question.product_id)
            .where(Question.id.in_(chunk), Question.deleted_at.is_(None), Question.hidden_at.is_(None),
                   Question.status != QuestionStatus.duplicate.value,
                   public_only())  # the internal space is never indexed (docs/internal.md)
        ).all()
        if not rows:
            continue
        qids = [q.id for q, _ in rows]
        tags = questions_service.tags_for(session, qids)
        accepted_ids = [q.accepted_answer_id for q, _ in rows if q.accepted_answer_id]
        accepted = {}
        if accepted_ids:
            accepted = {a.id: a for a in session.execute(select(Answer).where(
                Answer.id.in_(accepted_ids), Answer.deleted_at.is_(None), Answer.hidden_at.is_(None))).scalars()}
        alternates = _folded(session, qids)
        for q, slug in rows:
            found.add(q.id)
            answer = accepted.get(q.accepted_answer_id)
            alts = alternates.get(q.id, [])[:ALTERNATES_MAX]
            docs.append(QuestionDoc(
                id=q.id, title=q.title, body=plain(q.body, q.body_format, BODY_CHARS),
                tags=tuple(tags.get(q.id, [])), product=slug, status=q.status,
                solved=answer is not None, score=q.score, answer_count=q.answer_count,
                created_at=q.created_at,
                accepted_answer=plain(answer.body, answer.body_format, ANSWER_CHARS) if answer else "",
                alternate_titles=tuple(t for t, _ in alts),
                alternate_bodies=tuple(b for _, b in alts[:ALTERNATE_BODIES_MAX] if b),
            ))
    return docs, [i for i in wanted if i not in found]


def canonical_ids(session: Session, after: int = 0, limit: int = 1000) -> list[int]:
    """Ids of indexable questions in id order, for a full rebuild."""
    return list(session.execute(
        select(Question.id).where(Question.id > after, Question.deleted_at.is_(None), Question.hidden_at.is_(None),
                                  Question.status != QuestionStatus.duplicate.value, public_only())
        .order_by(Question.id).limit(limit)).scalars())


def _chunks(ids: list[int], size: int = 500):
    for start in range(0, len(ids), size):
        yield ids[start:start + size]
