"""The internal space's services (issue 18, docs/internal.md): who may ask internally, the staff
list and search of internal questions, internal questions similar to a public one (for the
escalation page), and staff-only links from public threads and escalations to internal questions.

Every function checks its actor here (not in the routes): non-staff get NotFound, as if the
internal space did not exist. The public search index never holds internal questions; the
internal space is searched here, in the database, with the search pipeline's own text analysis
(app/search/analysis.py: the same stemming, folding and technical tokens).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from sqlalchemy import and_, func, or_
from sqlmodel import Session, select

from app.accounts import permissions
from app.accounts.models import User
from app.core.db import utcnow
from app.core.errors import Conflict, Forbidden, NotFound, field_error
from app.internal.models import InternalLink
from app.internal.visibility import INTERNAL, PUBLIC, VISIBILITIES, can_see_internal, is_internal
from app.questions.models import Question

# How many internal questions similar() scores at most (newest first): the staff space is small.
SCAN_MAX = 2000
LINKS_MAX = 20  # internal questions linked from one public thread


def require_staff(actor: User | None, *, write: bool = False) -> User:
    """The actor when they may use the internal space (staff, moderators, admins); NotFound
    otherwise (401 for nobody signed in), so its existence is not confirmed to customers."""
    actor = permissions.require_user(actor, write=write)
    if not can_see_internal(actor):
        raise NotFound("Not found.")
    return actor


def check_visibility(actor: User, visibility: str | None) -> str:
    """The visibility a new question gets: "public" (default) or "internal" for staff,
    moderators and admins; 403 for anyone else asking for "internal", 422 for an unknown value."""
    visibility = (visibility or PUBLIC).strip().lower()
    if visibility not in VISIBILITIES:
        raise field_error("visibility", "visibility is \"public\" or \"internal\".")
    if visibility == INTERNAL and not can_see_internal(actor):
        raise Forbidden("Only staff, moderators and admins can ask in the internal space; ask publicly instead.")
    return visibility


def _live_internal():
    return and_(Question.visibility == INTERNAL, Question.deleted_at.is_(None))


# --- staff list and search ------------------------------------------------------------------------

@dataclass
class Scored:
    question: Question
    score: float


# Words too common to make two questions alike (after stemming: app/search/analysis.py).
_COMMON = frozenset("""a an and are as at be but by can do doe for from has have how i if in is it its me my no
not of on or so that the then there this thi to up us was wa we were what when where which who why whi will
with you your after again all also ani any get just onli only out over same some still than them they veri
very""".split())


def _terms(text: str) -> set[str]:
    from app.search import analysis

    return {t for t in analysis.index_terms(text or "") if len(t) > 1 and t not in _COMMON}


def _candidates(session: Session, limit: int = SCAN_MAX) -> list[Question]:
    return list(session.exec(select(Question).where(_live_internal())
                             .order_by(Question.last_activity_at.desc(), Question.id.desc()).limit(limit)).all())


def _rank(session: Session, text: str, *, exclude: int | None = None, require_all: bool = False) -> list[Scored]:
    """Internal questions scored against `text`: for every query term found (common words left
    out), its inverse document frequency over the internal space, doubled in the title; with
    `require_all` only questions holding every term, without it only those sharing a title word
    and at least two words. Highest first, then most recent."""
    wanted = _terms(text)
    if not wanted:
        return []
    docs = [(q, _terms(q.title), _terms(q.body)) for q in _candidates(session) if q.id != exclude]
    n = len(docs) or 1
    df = {t: sum(1 for _, ti, bo in docs if t in ti or t in bo) for t in wanted}
    out = []
    for q, title, body in docs:
        found = [t for t in wanted if t in title or t in body]
        if not found or (require_all and len(found) < len(wanted)):
            continue
        # A suggestion needs some substance: a shared word in its title and two shared words in all
        # (one when the query has no more).
        if not require_all and (not any(t in title for t in found) or len(found) < min(2, len(wanted))):
            continue
        score = sum(math.log(1 + n / df[t]) * (2 if t in title else 1) for t in found)
        out.append(Scored(q, score))
    out.sort(key=lambda s: -s.score)
    return out


def list_internal(session: Session, *, actor: User | None, q: str | None = None, limit: int = 50) -> list[Question]:
    """Internal questions for staff: with `q`, those holding every term of it, best match first;
    without, most recently active first. NotFound for anyone else."""
    require_staff(actor)
    limit = max(1, min(int(limit), 100))
    if q and q.strip():
        return [s.question for s in _rank(session, q, require_all=True)[:limit]]
    return _candidates(session, limit)


def similar(session: Session, *, actor: User | None, title: str, body: str = "", exclude: int | None = None,
            limit: int = 5) -> list[Scored]:
    """Internal questions like a (public) one, best first, for the escalation page and the staff
    side of a question page: the title counts fully, the first 300 characters of the body too.
    NotFound for non-staff."""
    require_staff(actor)
    return _rank(session, f"{title}\n{(body or '')[:300]}", exclude=exclude)[:limit]


def count(session: Session) -> int:
    """How many live internal questions there are (for staff navigation)."""
    return int(session.exec(select(func.count()).select_from(Question).where(_live_internal())).one())


# --- links from public threads and escalations ---------------------------------------------------

def _public_question(session: Session, question_id: int) -> Question:
    q = session.get(Question, question_id) if 1 <= question_id <= 2**31 - 1 else None
    if q is None or q.deleted_at is not None:
        raise NotFound(f"Question {question_id} does not exist or was deleted.")
    if is_internal(q):
        raise field_error("question_id", "Links go from a public question to an internal one; this question is internal.")
    return q


def _internal_question(session: Session, internal_id) -> Question:
    try:
        internal_id = int(str(internal_id).strip().lstrip("#"))
    except ValueError:
        raise field_error("internal_id", "Give the number of an internal question, e.g. 42.") from None
    q = session.get(Question, internal_id) if 1 <= internal_id <= 2**31 - 1 else None
    if q is None or q.deleted_at is not None or not is_internal(q):
        raise field_error("internal_id", f"Question {internal_id} is not an internal question.")
    return q


def link(session: Session, *, actor: User | None, question_id: int, internal_id, escalation_id: int | None = None
         ) -> InternalLink:
    """Link internal question `internal_id` from public question `question_id` (from its page or from
    one of its escalations, `escalation_id`); idempotent. Staff only (NotFound otherwise); 422 when
    either side is of the wrong kind; 409 past LINKS_MAX links on one thread. Audited."""
    from app.moderation import audit

    actor = require_staff(actor, write=True)
    question = _public_question(session, question_id)
    internal = _internal_question(session, internal_id)
    if escalation_id is not None:
        from app.escalation.models import Escalation

        esc = session.get(Escalation, escalation_id)
        if esc is None or esc.question_id != question.id:
            raise NotFound(f"Escalation {escalation_id} does not exist.")
    existing = session.exec(select(InternalLink).where(InternalLink.question_id == question.id,
                                                       InternalLink.internal_id == internal.id)).first()
    if existing is not None:
        return existing
    n = session.exec(select(func.count()).select_from(InternalLink).where(InternalLink.question_id == question.id)).one()
    if n >= LINKS_MAX:
        raise Conflict(f"This thread links {LINKS_MAX} internal questions already; remove one first.")
    row = InternalLink(question_id=question.id, internal_id=internal.id, escalation_id=escalation_id,
                       created_by_id=actor.id, created_at=utcnow())
    session.add(row)
    session.flush()
    audit.record(session, actor=actor, action="internal.link", target_type="question", target_id=question.id,
                 details={"internal_id": internal.id, "escalation_id": escalation_id})
    return row


def unlink(session: Session, *, actor: User | None, question_id: int, internal_id: int) -> None:
    """Remove a link (staff only; NotFound when there is none). Audited."""
    from app.moderation import audit

    actor = require_staff(actor, write=True)
    row = session.exec(select(InternalLink).where(InternalLink.question_id == question_id,
                                                  InternalLink.internal_id == internal_id)).first()
    if row is None:
        raise NotFound("There is no such link.")
    session.delete(row)
    session.flush()
    audit.record(session, actor=actor, action="internal.unlink", target_type="question", target_id=question_id,
                 details={"internal_id": internal_id})


def linked_from(session: Session, *, viewer: User | None, question_id: int) -> list[Question]:
    """The internal questions linked from public question `question_id`, oldest link first; [] for
    anyone who may not see the internal space (so callers can render it unconditionally)."""
    if not can_see_internal(viewer):
        return []
    return list(session.exec(
        select(Question).join(InternalLink, InternalLink.internal_id == Question.id)
        .where(InternalLink.question_id == question_id, _live_internal()).order_by(InternalLink.id)).all())


def linking_to(session: Session, *, viewer: User | None, internal_id: int) -> list[Question]:
    """The public questions that link internal question `internal_id` (shown on its page to staff)."""
    if not can_see_internal(viewer):
        return []
    return list(session.exec(
        select(Question).join(InternalLink, InternalLink.question_id == Question.id)
        .where(InternalLink.internal_id == internal_id, Question.deleted_at.is_(None),
               or_(Question.visibility == PUBLIC, Question.visibility.is_(None))).order_by(InternalLink.id)).all())
