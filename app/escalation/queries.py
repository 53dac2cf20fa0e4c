"""Read models of the escalation queue: the urgency-ordered list and the view of one escalation,
with the viewer's can_* flags worked out here (pages and API carry no logic)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import case
from sqlmodel import Session, select

from app.accounts import service as accounts_service
from app.accounts.models import User
from app.core.db import MAX_ID, utcnow
from app.core.errors import field_error
from app.core.pagination import Page, clamp_limit, decode_cursor, encode_cursor
from app.escalation import policy
from app.escalation import service as escalation_service
from app.escalation.models import ACTIVE_STATUSES, Escalation, EscalationStatus
from app.products.models import Product
from app.questions.models import Question
from app.questions.views import UserView, question_url

S = EscalationStatus
STATUS_FILTERS = ("open", "claimed", "waiting", "handed_off", "resolved", "active")


@dataclass
class EventView:
    id: int
    kind: str
    signal: str | None
    actor: UserView | None
    detail: str
    created_at: datetime


@dataclass
class EscalationView:
    id: int
    question_id: int
    question_title: str
    question_url: str
    product: str | None
    product_name: str | None
    status: str
    public_status: str
    trigger: str
    trigger_label: str
    reason: str
    priority: int
    affected: int
    created_at: datetime
    due_at: datetime
    respond_by: datetime
    resolve_by: datetime
    first_response_at: datetime | None
    resolved_at: datetime | None
    paused: bool
    assignee: UserView | None
    external_ticket: str | None
    public_answer_id: int | None
    resolution: str | None
    breach: str | None
    can_claim: bool = False
    can_release: bool = False
    can_assign: bool = False
    can_wait: bool = False
    can_resume: bool = False
    can_hand_off: bool = False
    can_resolve: bool = False
    can_note: bool = False
    events: list[EventView] = field(default_factory=list)

    @property
    def breached(self) -> bool:
        return self.breach is not None


def _flags(esc: Escalation, viewer: User | None) -> dict[str, bool]:
    if not policy.is_agent(viewer):
        return {}
    holder = esc.assignee_id == viewer.id or viewer.role == "admin"
    st = esc.status
    return {
        "can_claim": st == S.open,
        "can_release": st == S.claimed and holder,
        "can_assign": st == S.open or (st in (S.claimed, S.waiting) and holder),
        "can_wait": st == S.claimed and holder,
        "can_resume": st == S.waiting and holder,
        "can_hand_off": st == S.open or (st in (S.claimed, S.waiting) and holder),
        "can_resolve": st in (S.open, S.handed_off) or (st in (S.claimed, S.waiting) and holder),
        "can_note": True,
    }


def views_of(session: Session, rows: list[Escalation], viewer: User | None, now: datetime | None = None
             ) -> list[EscalationView]:
    now = now or utcnow()
    qids = {e.question_id for e in rows}
    questions = {q.id: q for q in session.exec(select(Question).where(Question.id.in_(qids))).all()} if qids else {}
    pids = {q.product_id for q in questions.values() if q.product_id}
    products = {p.id: p for p in session.exec(select(Product).where(Product.id.in_(pids))).all()} if pids else {}
    users = accounts_service.users_by_id(session, {e.assignee_id for e in rows if e.assignee_id})
    out = []
    for e in rows:
        q = questions[e.question_id]
        p = products.get(q.product_id)
        out.append(EscalationView(
            id=e.id, question_id=q.id, question_title=q.title, question_url=question_url(q.id, q.slug),
            product=p.slug if p else None, product_name=p.name if p else None, status=e.status,
            public_status=policy.PUBLIC_STATUS[e.status], trigger=e.trigger,
            trigger_label=policy.TRIGGER_LABELS.get(e.trigger, e.trigger), reason=e.reason, priority=e.priority,
            affected=e.affected, created_at=e.created_at, due_at=e.due_at, respond_by=e.respond_by,
            resolve_by=e.resolve_by, first_response_at=e.first_response_at, resolved_at=e.resolved_at,
            paused=e.paused_at is not None,
            assignee=UserView.of(users[e.assignee_id]) if e.assignee_id in users else None,
            external_ticket=e.external_ticket, public_answer_id=e.public_answer_id, resolution=e.resolution,
            breach=escalation_service.breach(e, now), **_flags(e, viewer)))
    return out


def detail(session: Session, *, actor: User | None, escalation_id: int, now: datetime | None = None) -> EscalationView:
    esc = escalation_service.get(session, actor=actor, escalation_id=escalation_id)
    view = views_of(session, [esc], actor, now)[0]
    log = escalation_service.events(session, actor=actor, escalation_id=esc.id)
    users = accounts_service.users_by_id(session, {e.actor_id for e in log if e.actor_id})
    view.events = [EventView(e.id, e.kind, e.signal, UserView.of(users[e.actor_id]) if e.actor_id in users else None,
                             e.detail, e.created_at) for e in log]
    return view


def queue(session: Session, *, actor: User | None, status: str | None = None, product: str | None = None,
          assignee: str | None = None, limit: int | None = None, cursor: str | None = None) -> Page[Escalation]:
    """Staff's queue, most urgent first: breached first, then due soonest (both: by due_at, the
    target being worked to), then the most affected customers. Escalations whose clock is stopped
    (waiting on the customer, handed off) follow. Resolved ones: most recently resolved first.
    `assignee`: a username, "me" or "none". The cursor is a position in this order."""
    actor = escalation_service.require_agent(actor)
    if status is not None and status not in STATUS_FILTERS:
        raise field_error("status", f"status is one of {', '.join(STATUS_FILTERS)}.", "query")
    limit = clamp_limit(limit, default=50)
    after = decode_cursor(cursor, 1)
    offset = 0
    if after is not None:
        if type(after[0]) is not int or not 0 <= after[0] <= MAX_ID:  # an offset; larger ones are forged
            raise field_error("cursor", "The cursor is not valid; start again from the first page.", "query")
        offset = after[0]
    stmt = select(Escalation)
    if status in (None, "active"):
        stmt = stmt.where(Escalation.status.in_([s.value for s in ACTIVE_STATUSES]))
    else:
        stmt = stmt.where(Escalation.status == status)
    if product:
        stmt = stmt.join(Question, Question.id == Escalation.question_id).join(
            Product, Product.id == Question.product_id).where(Product.slug == product.strip().lower())
    if assignee:
        if assignee == "none":
            stmt = stmt.where(Escalation.assignee_id.is_(None))
        else:
            who = actor if assignee == "me" else accounts_service.get_by_username(session, assignee)
            stmt = stmt.where(Escalation.assignee_id == who.id)
    if status == "resolved":
        stmt = stmt.order_by(Escalation.resolved_at.desc(), Escalation.id.desc())
    else:
        stopped = case((Escalation.status.in_([S.waiting.value, S.handed_off.value, S.resolved.value]), 1), else_=0)
        stmt = stmt.order_by(stopped, Escalation.due_at, Escalation.affected.desc(), Escalation.priority.desc(),
                             Escalation.id)
    rows = list(session.exec(stmt.offset(offset).limit(limit + 1)).all())
    next_cursor = None
    if len(rows) > limit:
        rows = rows[:limit]
        next_cursor = encode_cursor([offset + limit])
    return Page(items=rows, next_cursor=next_cursor)


def public_status_for(session: Session, question_id: int) -> str | None:
    """What a customer may see about their question's escalation: its public status only."""
    esc = escalation_service.latest_for(session, question_id)
    return policy.PUBLIC_STATUS[esc.status] if esc is not None else None


@dataclass
class SupportPanel:
    """What the question page shows about "me too" and the support team, for this viewer."""

    me_too_count: int
    my_me_too: bool
    can_me_too: bool  # signed in, not the asker, the question is open and not solved
    public_status: str | None  # for the asker (and staff): "With our support team"…
    can_ask_help: bool  # the asker may press "I still need help" now
    help_from: datetime | None  # …or from then
    is_agent: bool
    escalation_id: int | None  # staff: the open escalation, to open it in the queue
    can_escalate: bool  # staff: escalate by hand (open, unsolved questions with no active escalation)
    # The asker only: (address, message count) of their escalation's private thread with support.
    private_thread: tuple[str, int] | None = None

    @property
    def show_me_too(self) -> bool:
        """Whether the "me too" line shows at all: a count of nobody is noise (and on a solved
        question, or to a signed-out visitor, there is nothing to press)."""
        return self.me_too_count > 0 or self.can_me_too

    @property
    def shows_anything(self) -> bool:
        """Whether the panel has anything for this viewer (else the page leaves it out)."""
        return bool(self.show_me_too or self.public_status or self.can_ask_help or self.help_from
                    or self.can_escalate or self.private_thread)


def support_panel(session: Session, *, question: Question | None = None, viewer: User | None,
                  now: datetime | None = None, preloaded: dict | None = None) -> SupportPanel:
    """The question page's support panel. `preloaded` (app/questions/page_queries.py:support_state,
    loaded with the question) replaces `question` and saves the panel's own queries."""
    from types import SimpleNamespace

    from app.escalation import messages, metoo
    from app.questions.models import QuestionStatus

    now = now or utcnow()
    if preloaded is not None:
        question = SimpleNamespace(**{k: preloaded[k] for k in ("id", "author_id", "status", "accepted_answer_id",
                                                                 "created_at")})
        latest = (SimpleNamespace(id=preloaded["escalation_id"], status=preloaded["escalation_status"])
                  if preloaded["escalation_id"] is not None else None)
        me_too_count, my_me_too = preloaded["me_too_count"], preloaded["my_me_too"]
    else:
        latest = escalation_service.latest_for(session, question.id)
        me_too_count = metoo.counts(session, [question.id]).get(question.id, 0)
        my_me_too = metoo.has(session, viewer, question.id)
    is_open = question.status == QuestionStatus.open
    asker = viewer is not None and viewer.id == question.author_id
    agent = policy.is_agent(viewer)
    active = latest is not None and escalation_service.is_active(latest)
    ready_at = question.created_at + policy.ASKER_WAIT
    # While an escalation waits on the asker, pressing "I still need help" again is their reply.
    unsolved = is_open and question.accepted_answer_id is None
    asker_may = asker and unsolved and (
        not active or latest.status == EscalationStatus.waiting)
    return SupportPanel(
        me_too_count=me_too_count,
        my_me_too=my_me_too,
        can_me_too=viewer is not None and viewer.is_active and not asker and unsolved,
        public_status=policy.PUBLIC_STATUS[latest.status] if latest is not None and (asker or agent) else None,
        can_ask_help=asker_may and now >= ready_at,
        help_from=ready_at if asker_may and now < ready_at else None,
        is_agent=agent,
        escalation_id=latest.id if agent and active else None,
        can_escalate=agent and not active and unsolved,
        private_thread=messages.latest_thread_for_asker(
            session, viewer=viewer, question_id=question.id, author_id=question.author_id,
            escalation_id=latest.id if latest is not None else None,
            escalation_status=latest.status if latest is not None else None) if asker else None,
    )


# --- filters of question lists by escalation state (saved views, app/savedviews) ------------------------

# The statuses whose service-level clock runs (waiting and handed-off escalations are paused: breach()).
RUNNING_STATUSES = (S.open.value, S.claimed.value)


def question_conditions(*, viewer: User, status: str | None = None, breaching_hours: int | None = None,
                        assigned_to_me: bool = False, now: datetime | None = None) -> list:
    """SQL conditions on Question (for questions_service.filtered_questions(where=…)) selecting
    questions by their escalations, as the queue filters them:
    * `status`: one of STATUS_FILTERS ("active" = any unresolved status) — an escalation of the
      question has it;
    * `breaching_hours` (N ≥ 1): an escalation whose clock runs (open or claimed) is due within N
      hours of `now` (already breached ones included; `due_at` as the queue orders by);
    * `assigned_to_me`: an unresolved escalation is assigned to `viewer`.
    Staff only: the caller checks policy.is_agent(viewer) (escalations are the staff's to see)."""
    from datetime import timedelta

    from sqlalchemy import exists

    def has(*conditions):
        return exists().where(Escalation.question_id == Question.id, *conditions)

    active = [s.value for s in ACTIVE_STATUSES]
    out = []
    if status:
        if status not in STATUS_FILTERS:
            raise field_error("escalation_status", f"escalation_status is one of {', '.join(STATUS_FILTERS)}.")
        out.append(has(Escalation.status.in_(active) if status == "active" else Escalation.status == status))
    if breaching_hours is not None:
        by = (now or utcnow()) + timedelta(hours=breaching_hours)
        out.append(has(Escalation.status.in_(RUNNING_STATUSES), Escalation.due_at <= by))
    if assigned_to_me:
        out.append(has(Escalation.status.in_(active), Escalation.assignee_id == viewer.id))
    return out


@dataclass
class EscalationBrief:
    """What a staff list shows about a question's latest escalation."""

    id: int
    status: str
    due_at: datetime
    breach: str | None  # "first response" | "resolution" | None
    paused: bool
    assignee: UserView | None

    @property
    def label(self) -> str:
        return self.status.replace("_", " ").capitalize()


def briefs_for(session: Session, question_ids: list[int], now: datetime | None = None) -> dict[int, EscalationBrief]:
    """{question id: its latest escalation, briefly} for these questions (2 statements)."""
    if not question_ids:
        return {}
    now = now or utcnow()
    latest: dict[int, Escalation] = {}
    for e in session.exec(select(Escalation).where(Escalation.question_id.in_(question_ids))
                          .order_by(Escalation.id.desc())).all():
        latest.setdefault(e.question_id, e)
    users = accounts_service.users_by_id(session, {e.assignee_id for e in latest.values() if e.assignee_id})
    return {qid: EscalationBrief(e.id, e.status, e.due_at, escalation_service.breach(e, now),
                                 e.paused_at is not None or e.status == S.handed_off,
                                 UserView.of(users[e.assignee_id]) if e.assignee_id in users else None)
            for qid, e in latest.items()}
