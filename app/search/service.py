"""Search services: similar questions, full-text search, deflections, and search health.

The configured backend answers with ids and scores; rows are then loaded from the database, so
a question deleted or closed since it was indexed never shows. When Meilisearch cannot answer,
reads fall back to the embedded index (always kept up to date from the same outbox, in the web
process too) and search is reported as degraded on /readyz. After a failure a circuit breaker
(app/search/breaker.py) sends reads straight to the fallback, without waiting on the network,
until a background probe finds Meilisearch healthy again.
"""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import logging
import threading
from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import func, select
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from app.accounts import permissions
from app.accounts.models import User
from app.core.config import Settings
from app.core.db import utcnow
from app.core.errors import Conflict, NotFound, ServiceBusy, field_error
from app.core.pagination import decode_cursor, encode_cursor
from app.core.text import require_text
from app.internal.visibility import public_only
from app.products import service as products_service
from app.questions import views
from app.questions.models import Question, QuestionStatus
from app.search import analysis
from app.search import embedded, learned, owner
from app.search.embedded import EmbeddedBackend
from app.search.models import Deflection, DismissedSuggestion
from app.search.breaker import CircuitOpen
from app.search.ports import Filters, Hit, SearchQuery, SearchResult, SearchUnavailable, SimilarQuery

log = logging.getLogger("groundswell.search")

SIMILAR_MAX = 50
SEARCH_MAX = 100
QUERY_MAX_CHARS = 500


# --- backends ------------------------------------------------------------------------------------

_lock = threading.Lock()
_cache: dict[tuple, object] = {}


def encoder_for(settings: Settings):
    """The sentence encoder, or None (setting off, extra not installed, model refused)."""
    try:
        from app.search import embedding
    except ImportError:  # numpy missing would be a broken install; be graceful anyway
        return None
    return embedding.load_encoder(settings.search_semantic, arithmetic=settings.search_encoder,
                                  model_dir=settings.search_model_dir)


def semantic_status(settings: Settings) -> str:
    try:
        from app.search import embedding
    except ImportError:
        return "off: numpy is not installed"
    return embedding.semantic_status(settings.search_semantic, arithmetic=settings.search_encoder,
                                     model_dir=settings.search_model_dir)


def embedded_backend(settings: Settings, engine: Engine) -> EmbeddedBackend:
    key = ("embedded", id(engine), settings.search_semantic)
    with _lock:
        backend = _cache.get(key)
        if backend is None:
            backend = _cache[key] = EmbeddedBackend(engine, encoder=encoder_for(settings))
        return backend  # type: ignore[return-value]


def remote_backend(settings: Settings):
    """The Meilisearch backend when configured, else None (the embedded index is the backend)."""
    if settings.search_backend != "meilisearch":
        return None
    key = ("meilisearch", settings.meili_url, settings.meili_index)
    with _lock:
        backend = _cache.get(key)
        if backend is None:
            from app.search.meili import MeiliBackend

            backend = _cache[key] = MeiliBackend(settings, semantic=encoder_for(settings) is not None)
        return backend


def reset_backends() -> None:
    with _lock:
        _cache.clear()


def _read(settings: Settings, engine: Engine, call):
    remote = remote_backend(settings)
    if remote is not None:
        try:
            return call(remote)
        except CircuitOpen:
            pass  # known down: the breaker logged the failure that opened it
        except SearchUnavailable as exc:
            log.warning("search: %s unavailable, answering from the embedded index: %s", remote.name, exc)
    return call(embedded_backend(settings, engine))


# --- similar questions ---------------------------------------------------------------------------

@dataclass
class SimilarItem:
    id: int
    title: str
    url: str
    score: int
    answer_count: int
    has_accepted_answer: bool
    similarity: float
    product: str | None
    tags: list[str]
    status: str
    answer_id: int | None = None  # the answer to open ("Yes, this solved it" lands on it): best_answers()
    best_answer_score: int | None = None


def best_answers(session: Session, question_ids: list[int]) -> dict[int, tuple[int, int]]:
    """For each question with a visible answer: (answer id, its score) of the answer most likely
    to have helped: the accepted one, else the highest-scored (the oldest among equals)."""
    from app.answers.models import Answer

    if not question_ids:
        return {}
    accepted = dict(session.execute(select(Question.id, Question.accepted_answer_id).where(
        Question.id.in_(question_ids), Question.accepted_answer_id.is_not(None))).all())
    out: dict[int, tuple[int, int]] = {}
    rows = session.execute(select(Answer.question_id, Answer.id, Answer.score).where(
        Answer.question_id.in_(question_ids), Answer.deleted_at.is_(None), Answer.hidden_at.is_(None))
        .order_by(Answer.question_id, Answer.score.desc(), Answer.created_at, Answer.id)).all()
    for qid, aid, score in rows:
        if accepted.get(qid) == aid:
            out[qid] = (aid, score)  # the accepted answer wins
        elif qid not in out:
            out[qid] = (aid, score)  # until then, the first in score order
    return out


def similar(session: Session, *, settings: Settings, engine: Engine, title: str | None, body: str | None = None,
            product: str | None = None, limit: int | None = None, exclude: int | None = None) -> list[SimilarItem]:
    """Canonical questions like the would-be one, most similar first (`exclude`: the question itself)."""
    title = (title or "").strip()
    body = (body or "").strip()
    if not title and not body:
        raise field_error("title", "Give the title of the question (what you would type as a new question).", "query")
    if len(title) > QUERY_MAX_CHARS:
        raise field_error("title", f"The title can be at most {QUERY_MAX_CHARS} characters.", "query")
    limit = 5 if limit is None else limit
    if not 1 <= limit <= SIMILAR_MAX:
        raise field_error("limit", f"limit must be between 1 and {SIMILAR_MAX}.", "query")
    product_slug = None
    if product:
        product_slug = products_service.resolve(session, product).slug
    limit_asked = limit + (exclude is not None)
    hits = _search_part(settings, engine, "similar", title=title, body=body[:5000], product=product_slug,
                        limit=limit_asked)
    rows = _canonical_questions(session, [h.id for h in hits])
    summaries = {v.id: v for v in views.summaries(session, list(rows.values()))}
    best = best_answers(session, list(rows))
    items = []
    for hit in hits:
        v = summaries.get(hit.id)
        if v is None or hit.id == exclude or len(items) == limit:
            continue
        answer_id, answer_score = best.get(v.id, (None, None))
        items.append(SimilarItem(id=v.id, title=v.title, url=v.url, score=v.score, answer_count=v.answer_count,
                                 has_accepted_answer=v.has_accepted_answer, similarity=round(hit.score, 4),
                                 product=v.product, tags=v.tags, status=v.status, answer_id=answer_id,
                                 best_answer_score=answer_score))
    return items


def similar_hits(settings: Settings, engine: Engine, *, title: str, body: str, product: str | None,
                 limit: int) -> list[Hit]:
    """The search part of similar(): `limit` canonical questions like the title (or body), most
    similar first, from the backend with the learned ranker; run in the search process when there
    is one (app/search/owner.py). Inputs are already checked; `product` is a slug or None."""
    encoder = encoder_for(settings)
    vector = base = ranker = None
    if encoder is not None:
        learning = settings.search_learning == "auto"
        base = encoder.embed_query(title or body[:300])
        # What was learned from this community's duplicate links, if anything (app.search.learned):
        # a re-ranker over the candidates, and/or a query adapter applied to the query vector.
        ranker = learned.served_ranker(engine, encoder.name) if learning else None
        adapted = learned.adapt_query(engine, encoder.name, base, enabled=learning and (
            ranker is None or ranker.with_adapter))
        vector = tuple(adapted.tolist())
    query = SimilarQuery(title=title, body=body, product=product, limit=limit, vector=vector)

    def ask(backend):
        if ranker is None:
            return backend.similar(query)
        base_vector = base if ranker.with_adapter else None
        if isinstance(backend, EmbeddedBackend):
            return backend.similar_reranked(query, ranker.ranker, base_vector)
        # Meilisearch: its first RERANK_DEPTH candidates, re-ordered by the ranker over the features
        # the embedded index (kept in step in every process) computes for them.
        deep = backend.similar(dataclasses.replace(query, limit=max(query.limit, embedded.RERANK_DEPTH)))
        return embedded_backend(settings, engine).rerank(query, deep, ranker.ranker, base_vector)[:query.limit]

    return _read(settings, engine, ask)


def _search_part(settings: Settings, engine: Engine, op: str, **kwargs):
    """SEARCH_PARTS[op] in this process, or in the search process when `serve --workers N` runs one."""
    client = owner.client()
    if client is None:
        return SEARCH_PARTS[op](settings, engine, **kwargs)
    return _from_search_process(client, op, settings.db_timeout, **kwargs)


def _from_search_process(client: owner.OwnerClient, op: str, timeout: float, **kwargs):
    """`op` answered by the search process within `timeout` seconds (GROUNDSWELL_DB_TIMEOUT, as
    for a database connection); its absence is a 503 (ServiceBusy), never a 500."""
    try:
        return client.call(op, timeout=timeout, **kwargs)
    except owner.Unreachable as exc:
        log.warning("search: %s", exc)
        raise ServiceBusy("Search is not available right now; please try again in a moment.",
                          retry_after=5) from exc
    except SearchUnavailable as exc:  # it answered: its index is still loading
        raise ServiceBusy(f"Search is starting up ({exc}); please try again in a moment.", retry_after=5) from exc


def _canonical_questions(session: Session, ids: list[int]) -> dict[int, Question]:
    if not ids:
        return {}
    rows = session.execute(select(Question).where(
        Question.id.in_(ids), Question.deleted_at.is_(None), Question.hidden_at.is_(None),
        Question.status != QuestionStatus.duplicate.value, public_only())).scalars()
    return {q.id: q for q in rows}


# --- full-text search ----------------------------------------------------------------------------

@dataclass
class SearchItem:
    summary: views.QuestionSummaryView
    highlights: dict[str, str]


@dataclass
class SearchPage:
    items: list[SearchItem]
    total: int
    facets: dict[str, dict[str, int]]
    next_cursor: str | None
    page: int
    size: int
    q: str
    filters: Filters = field(default_factory=Filters)


def search(session: Session, *, settings: Settings, engine: Engine, q: str | None, product: str | None = None,
           tag: str | None = None, solved: bool | None = None, cursor: str | None = None,
           limit: int | None = None, page: int | None = None) -> SearchPage:
    q = (q or "").strip()
    if len(q) > QUERY_MAX_CHARS:
        raise field_error("q", f"The search can be at most {QUERY_MAX_CHARS} characters.", "query")
    size = 20 if limit is None else limit
    if not 1 <= size <= SEARCH_MAX:
        raise field_error("limit", f"limit must be between 1 and {SEARCH_MAX}.", "query")
    if cursor:
        values = decode_cursor(cursor, 1)
        if not isinstance(values[0], int) or not 1 <= values[0] <= 10_000:
            raise field_error("cursor", "The cursor is not valid; start again from the first page.", "query")
        page = values[0]
    page = page or 1
    if not 1 <= page <= 10_000:
        raise field_error("page", "page must be between 1 and 10000.", "query")
    product_slug = products_service.resolve(session, product).slug if product else None
    tag_name = None
    if tag:
        from app.questions.tags import normalise_tag

        tag_name = normalise_tag(tag)
    filters = Filters(product=product_slug, tag=tag_name, solved=solved)
    result = _search_part(settings, engine, "search", q=q, filters=filters, page=page, size=size)
    rows = _canonical_questions(session, [h.id for h in result.hits])
    summaries = {v.id: v for v in views.summaries(session, [rows[h.id] for h in result.hits if h.id in rows])}
    items = [SearchItem(summaries[h.id], h.highlights) for h in result.hits if h.id in summaries]
    more = page * size < result.total
    return SearchPage(items=items, total=result.total, facets=result.facets,
                      next_cursor=encode_cursor([page + 1]) if more else None, page=page, size=size, q=q,
                      filters=filters)


def search_result(settings: Settings, engine: Engine, *, q: str, filters: Filters, page: int,
                  size: int) -> SearchResult:
    """The search part of search(): one page of hits, the total and the facets from the backend;
    run in the search process when there is one (app/search/owner.py). Inputs are already checked."""
    vector = None
    # Hybrid for a sentence: its meaning finds questions worded otherwise. A single word or code
    # has no meaning beyond itself, so it is not embedded (that saves the model call and the scan).
    encoder = encoder_for(settings) if len(analysis.parse_query(q).clauses) >= 2 else None
    if encoder is not None:
        vector = tuple(encoder.embed_query(q).tolist())
    query = SearchQuery(q=q, filters=filters, page=page, size=size, vector=vector)
    return _read(settings, engine, lambda backend: backend.search(query))


# The parts of similar() and search() that need the index, by the name the search process answers
# them under (app/search/owner.py): plain values in, plain values out.
SEARCH_PARTS = {"similar": similar_hits, "search": search_result}

# --- deflections ---------------------------------------------------------------------------------

def deflection_visitor(*, actor: User | None, secret: str, address: str, user_agent: str,
                       today: date | None = None) -> str:
    """Who a deflection is counted for, at most once per question: a signed-in customer by account
    ("u:<id>"); an anonymous one (API callers may be anonymous) by a keyed hash of client address,
    user agent and UTC day ("v:<32 hex>"), so the same visitor repeating the call counts once a day,
    and neither the address nor the agent is stored. A cookie would not do: product sites call
    the API from their own pages and servers, where the forum's cookies are not sent."""
    if actor is not None:
        return f"u:{actor.id}"
    day = (today or utcnow().date()).isoformat()
    key = f"deflection|{address}|{user_agent[:300]}|{day}".encode()
    return "v:" + hmac.new(secret.encode(), key, hashlib.sha256).hexdigest()[:32]


def record_deflection(session: Session, *, actor: User | None, question_id: int, title: str, visitor: str,
                      product: str | None = None, source: str = "web",
                      answer_id: int | None = None) -> tuple[Deflection, bool]:
    """"Yes, this solved it": the would-be question is linked to the original instead of being posted.

    Counted once per `visitor` (deflection_visitor) and question: a repeat returns the first row
    and False (the unique constraint settles concurrent repeats). Returns (row, counted now).
    Errors: 404 (no such question for `actor`); 422 on `title` when it shows nothing (it is what
    the customer was about to ask, the very thing counted; docs/api.md and docs/search.md), on
    `answer_id` when it names no answer of this question (or of its original, for a duplicate)
    that `actor` may see (check_answer_that_helped); 409 when the question has no visible answer
    (nothing there can have solved it)."""
    from app.questions import service as questions_service

    if actor is not None:
        actor = permissions.require_user(actor)
    named = questions_service.get_visible(session, question_id, viewer=actor)
    question = named
    if question.status == QuestionStatus.duplicate.value and question.duplicate_of_id:
        question = questions_service.get_visible(session, question.duplicate_of_id, viewer=actor)
    title = require_text("title", title, "Give the title of the question you were about to ask: spaces and "
                                         "invisible characters (such as zero-width spaces) do not count.")[:150]
    if answer_id is not None:
        check_answer_that_helped(session, actor=actor, question_ids={named.id, question.id}, answer_id=answer_id)
    product_id = None
    if product:
        resolved = products_service.resolve(session, product)
        product_id = resolved.id if resolved else None
    def existing() -> Deflection | None:
        return session.execute(select(Deflection).where(Deflection.question_id == question.id,
                                                        Deflection.visitor == visitor)).scalars().first()

    found = existing()
    if found is not None:
        return found, False
    if not best_answers(session, [question.id]):
        raise Conflict("This question has no answer yet, so it cannot have solved your problem; "
                       "ask yours, or follow this one to hear when it is answered.")
    row = Deflection(question_id=question.id, user_id=actor.id if actor else None, title=title, visitor=visitor,
                     product_id=product_id, source=source)
    try:
        with session.begin_nested():
            session.add(row)
            session.flush()
    except IntegrityError:  # the same visitor's concurrent call won the race
        found = existing()
        if found is None:
            raise
        return found, False
    return row, True


def check_answer_that_helped(session: Session, *, actor: User | None, question_ids: set[int], answer_id: int) -> int:
    """`answer_id` when it is a live answer `actor` may see (answers_service.get_visible) to one of
    `question_ids`; else InvalidInput, 422 at ["body", "answer_id"] (never a 404: the question is
    there, the click named the wrong answer)."""
    from app.answers import service as answers_service

    try:
        answer = answers_service.get_visible(session, answer_id, viewer=actor)
    except NotFound:
        answer = None
    if answer is None or answer.question_id not in question_ids:
        raise field_error("answer_id", f"Answer {answer_id} is not an answer to this question; name one of its "
                                       "answers (from /questions/similar's answer_id) or leave it out.")
    return answer.id


def answer_that_helped(session: Session, question_id: int, named: int | None) -> int | None:
    """The answer a "Yes, this solved it" lands on: the one the click named when it is a visible
    answer to this question, else the best one (best_answers); None without answers."""
    from app.answers.models import Answer

    if named is not None:
        row = session.get(Answer, named)
        if row is not None and row.question_id == question_id and row.deleted_at is None:
            return row.id
    best = best_answers(session, [question_id]).get(question_id)
    return best[0] if best else None


def record_dismissed(session: Session, *, question: Question, suggested_ids: list[int]) -> int:
    """The asker saw these suggestions and posted anyway: remember what did not help."""
    wanted = sorted({i for i in suggested_ids if isinstance(i, int) and 0 < i <= 2**31 - 1 and i != question.id})[:10]
    if not wanted:
        return 0
    existing = set(session.execute(select(Question.id).where(Question.id.in_(wanted))).scalars())
    for sid in wanted:
        if sid in existing:
            session.add(DismissedSuggestion(question_id=question.id, suggested_id=sid))
    session.flush()
    return len(existing)


def dismissed_for(session: Session, question_id: int) -> list[views.QuestionSummaryView]:
    """What the asker of this question was shown before posting and passed over (still visible ones)."""
    ids = list(session.execute(select(DismissedSuggestion.suggested_id).where(
        DismissedSuggestion.question_id == question_id).order_by(DismissedSuggestion.id)).scalars())
    if not ids:
        return []
    rows = {q.id: q for q in session.execute(select(Question).where(
        Question.id.in_(ids), Question.deleted_at.is_(None), Question.hidden_at.is_(None), public_only())).scalars()}
    return views.summaries(session, [rows[i] for i in ids if i in rows])


def deflection_counts(session: Session, question_ids: list[int] | None = None) -> dict[int, int]:
    stmt = select(Deflection.question_id, func.count()).group_by(Deflection.question_id)
    if question_ids is not None:
        if not question_ids:
            return {}
        stmt = stmt.where(Deflection.question_id.in_(question_ids))
    return {qid: n for qid, n in session.execute(stmt)}


def deflections_total(session: Session) -> int:
    return session.execute(select(func.count()).select_from(Deflection)).scalar_one()


# --- health --------------------------------------------------------------------------------------

def learned_status(settings: Settings, engine: Engine) -> str:
    """A short human string: which learned model similar() serves, or why none."""
    if settings.search_learning == "off":
        return "off: GROUNDSWELL_SEARCH_LEARNING=off"
    encoder = encoder_for(settings)
    if encoder is None:
        return "off: no sentence embeddings"
    model = learned.served(engine, encoder.name)
    ranker = learned.served_ranker(engine, encoder.name)
    if ranker is not None and ranker.with_adapter and model is not None:
        return (f"ranker {ranker.version} with query adapter {model.version}, learned from "
                f"{ranker.links} duplicate links")
    if ranker is not None:  # served instead of the adapter unless trained with it
        return f"ranker {ranker.version}, learned from {ranker.links} duplicate links"
    if model is None:
        return f"none yet: learns once the database holds {learned.MIN_LINKS} duplicate links"
    return f"model {model.version}, learned from {model.links} duplicate links"


def health(settings: Settings, engine: Engine) -> dict:
    """For /readyz: which backend, whether search is degraded and why (never fails readiness).
    With a search process (`serve --workers N`), its own view, with `"process": "search process"`;
    if it does not answer within 2 s, degraded with that reason."""
    from app.search import outbox

    owner_client = owner.client()
    if owner_client is not None:
        try:
            return owner_client.call("health", timeout=2.0)
        except (owner.Unreachable, SearchUnavailable) as exc:
            return {"backend": settings.search_backend, "degraded": True, "reasons": [str(exc)]}

    body: dict = {"backend": settings.search_backend, "degraded": False, "semantic": semantic_status(settings)}
    reasons = []
    try:
        backlog = outbox.pending(engine)
    except Exception as exc:  # noqa: BLE001
        backlog = None
        reasons.append(f"outbox unreadable: {exc.__class__.__name__}")
    remote = remote_backend(settings)
    if remote is not None:
        # Within 0.5 s whatever Meilisearch does: no network at all while the breaker is open.
        if not remote.healthy():
            state = remote.breaker.snapshot()
            reasons.append(f"meilisearch unreachable ({state.reason}); reads use the embedded index "
                           f"until a health probe succeeds")
            body["breaker"] = {"state": state.state, "failures": state.failures,
                               "retry_in_seconds": round(state.retry_in, 1)}
        if backlog and backlog["failing"]:
            reasons.append(f"{backlog['failing']} index changes waiting to be retried")
    if backlog is not None:
        body["pending"] = backlog["pending"]
    body["learned"] = learned_status(settings, engine)
    if reasons:
        body["degraded"] = True
        body["reasons"] = reasons
    return body
