"""Loads the demo community (app/demo/content.py) through the real services, in one transaction.

Idempotent: when the demo's users are already there, nothing is written again.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import timedelta

from sqlalchemy import func, update
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from app.accounts import service as accounts_service
from app.accounts.models import Role, User
from app.accounts.schemas import UserCreate
from app.answers import service as answers_service
from app.answers.models import Answer
from app.comments import service as comments_service
from app.core.db import utcnow, writer
from app.demo import content
from app.escalation.models import Escalation
from app.products.models import Product
from app.questions import service as questions_service
from app.questions.models import Question, QuestionTag, Revision
from app.questions.schemas import AnswerCreate, CommentCreate, QuestionCreate
from app.votes import service as votes_service

DEMO_PASSWORD = "kestrel-demo"


def load(engine: Engine, progress: Callable[[str], None] = lambda _m: None) -> str:
    with Session(writer(engine), expire_on_commit=False) as session, session.begin():
        first = content.USERS[0]["username"]
        if session.exec(select(User.id).where(User.username == first)).first() is not None:
            return "already loaded, nothing changed"
        rng = random.Random(20261126)  # the same community every time
        from app.mail.models import EmailOutbox

        mail_before = session.exec(select(func.max(EmailOutbox.id))).one() or 0
        now = utcnow()
        progress(f"loading demo community: {len(content.USERS)} users, {len(content.PRODUCTS)} products, "
                 f"{len(content.QUESTIONS)} questions…")
        users = _users(session)
        products = {}
        for p in content.PRODUCTS:
            product = Product(slug=p["slug"], name=p["name"], description=p["description"])
            session.add(product)
            products[p["slug"]] = product
        session.flush()
        counts = {"questions": 0, "answers": 0, "votes": 0, "comments": 0, "comments_skipped": 0}
        # Oldest first, so that reputation (and with it privileges) builds up as it would have.
        ordered = sorted(content.QUESTIONS, key=lambda q: -q["days_ago"])
        comments = []
        for i, q in enumerate(ordered, 1):
            comments += _question(session, q, users, now, rng, counts)
            if i % 10 == 0:
                progress(f"  {i}/{len(ordered)} questions")
        for comment in comments:
            _comment(session, users, now, rng, counts, *comment)
        _quotes(session, users, now)
        escalated, resolved, claimed = _escalations(session, users, now)
        _saved_views(session, users)
        from app.demo import internal as internal_demo  # the staff-only space (docs/internal.md)

        internal_count = internal_demo.load(session, users, now, claimed)
        # Badges (app/badges/, docs/badges.md): what the seeded history earns, without notices.
        from app.badges import service as badges

        awarded = badges.recompute(session).new
        # The seed's history is backdated: no e-mail about it, whatever time it carries (the
        # notifications stay in-app); a worker started beside the demo has nothing of it to send.
        from sqlalchemy import delete

        session.exec(delete(EmailOutbox).where(EmailOutbox.id > mail_before))
        skipped = f" ({counts['comments_skipped']} comments left out: their authors lack the privilege)" \
            if counts["comments_skipped"] else ""
        return (f"{len(users)} users, {len(products)} products, {counts['questions']} questions, "
                f"{counts['answers']} answers, {counts['votes']} votes, {counts['comments']} comments{skipped}, "
                f"{escalated} escalations in the support queue ({resolved} more resolved), {internal_count} internal (staff-only) questions, "
                f"{awarded} badges")


def _users(session: Session) -> dict[str, User]:
    users = {}
    for u in content.USERS:
        user = accounts_service.register(
            session, UserCreate(username=u["username"], email=u["email"], password=DEMO_PASSWORD),
            role=Role(u["role"]), display_name=u.get("display_name", ""),
            password_policy=False,  # the published demo password; `groundswell demo` refuses production
        )
        user.bio = u.get("bio", "")
        user.created_at = utcnow() - timedelta(days=200)  # members since before the oldest question
        users[user.username] = user
    session.flush()
    return users


def _question(session: Session, q: dict, users: dict[str, User], now, rng: random.Random, counts: dict) -> list:
    asked_at = now - timedelta(days=q["days_ago"], hours=rng.randint(0, 20), minutes=rng.randint(0, 59))
    author = users[q["author"]]
    question = questions_service.ask(session, actor=author, data=QuestionCreate(
        title=q["title"], body=q["body"], tags=q["tags"], product=q["product"]), now=asked_at)
    counts["questions"] += 1
    _set_time(session, Question, question.id, asked_at, "question")
    latest = asked_at
    answers: list[Answer] = []
    for a in q["answers"]:
        when = min(asked_at + timedelta(hours=a["hours_after"], minutes=rng.randint(0, 59)), now)
        answer = answers_service.post(session, actor=users[a["author"]], question_id=question.id,
                                      data=AnswerCreate(body=a["body"]), now=when)
        _set_time(session, Answer, answer.id, when, "answer")
        latest = max(latest, when)
        answers.append(answer)
        counts["answers"] += 1
        counts["votes"] += _votes(session, "answer", answer.id, users[a["author"]], a["votes"], users, rng, when, now)
        if a.get("accepted"):
            answers_service.accept(session, actor=author, question_id=question.id, answer_id=answer.id,
                                   now=min(when + timedelta(hours=rng.randint(1, 48)), now))
    counts["votes"] += _votes(session, "question", question.id, author, q["votes"], users, rng, asked_at, now)
    session.exec(update(Question).where(Question.id == question.id).values(last_activity_at=latest))
    comments = []
    for c in q.get("comments", []):
        on = c["on"]
        post_type, post_id, base = ("question", question.id, asked_at) if on == "question" else (
            "answer", answers[on].id, answers[on].created_at)
        comments.append((question.id, post_type, post_id, base, c))
    return comments


def _comment(session: Session, users: dict[str, User], now, rng: random.Random, counts: dict,
             question_id: int, post_type: str, post_id: int, base, c: dict) -> None:
    from app.core.errors import Forbidden

    active_before = session.get(Question, question_id).last_activity_at  # adding a comment moves it to `when`
    when = min(base + timedelta(hours=rng.randint(1, 30)), now)
    try:
        with session.begin_nested():  # dated at `when`: the comment and the notices it causes
            comments_service.add(session, actor=users[c["author"]], post_type=post_type, post_id=post_id,
                                 data=CommentCreate(body=c["body"]), now=when)
    except Forbidden:
        counts["comments_skipped"] += 1
        return
    session.exec(update(Question).where(Question.id == question_id)
                 .values(last_activity_at=max(active_before, when)))
    counts["comments"] += 1


def _quotes(session: Session, users: dict[str, User], now) -> int:
    """Answers quoting another thread's answer (content.QUOTES; docs/quoting.md), posted after both."""
    mine = [u.id for u in users.values()]

    def thread(title: str) -> Question:  # the demo's own thread, whatever else the database holds
        return session.exec(select(Question).where(Question.title == title, Question.author_id.in_(mine))).one()

    for spec in content.QUOTES:
        title, index = spec["quoted"]
        quoted = sorted(answers_service.for_question(session, thread(title).id), key=lambda a: a.id)[index]
        where = thread(spec["question"])
        when = min(max(where.created_at, quoted.created_at) + timedelta(hours=spec["hours_after"]), now)
        body = f"[quote=answer:{quoted.id}]\n{spec['quote']}\n[/quote]\n\n{spec['body']}"
        answer = answers_service.post(session, actor=users[spec["author"]], question_id=where.id,
                                      data=AnswerCreate(body=body), now=when)
        _set_time(session, Answer, answer.id, when, "answer")
    return len(content.QUOTES)


def _set_time(session: Session, model, post_id: int, when, post_type: str) -> None:
    session.exec(update(model).where(model.id == post_id).values(created_at=when))
    if model is Question:  # the copy beside each tag follows (migration 0023: a tag's newest-first list)
        session.exec(update(QuestionTag).where(QuestionTag.question_id == post_id).values(question_created_at=when))
    session.exec(update(Revision).where(Revision.post_type == post_type, Revision.post_id == post_id)
                 .values(created_at=when))
    session.expire_all()


def _votes(session: Session, post_type: str, post_id: int, author: User, net: int, users: dict[str, User],
           rng: random.Random, posted_at, now) -> int:
    """Cast votes that add up to `net`, with a little disagreement on popular posts, over the days after
    the post. Downvotes come from people who hold that privilege at the time."""
    from app.accounts import permissions

    if net == 0:
        return 0
    value = 1 if net > 0 else -1
    dissent = 1 if abs(net) >= 6 else 0
    ups, downs = (abs(net) + dissent, dissent) if value > 0 else (dissent, abs(net) + dissent)
    others = [u for u in users.values() if u.id != author.id]
    rng.shuffle(others)
    downvoters = [u for u in others if permissions.can_vote(u, author.id, -1)][:downs]
    upvoters = [u for u in others if u not in downvoters][:ups]
    cast = 0
    for voter, v in [*((u, 1) for u in upvoters), *((u, -1) for u in downvoters)]:
        when = min(posted_at + timedelta(hours=rng.randint(1, 96), minutes=rng.randint(0, 59)), now)
        votes_service.cast(session, actor=voter, post_type=post_type, post_id=post_id, value=v, now=when)
        cast += 1
    return cast


def _escalations(session: Session, users: dict[str, User], now) -> tuple[int, int, Escalation | None]:
    """The support queue as it stands after the demo's history, each escalation arrived by a
    different way: the asker's "I still need help" (policy.ASKER_WAIT after asking), a staff
    escalation of a problem several customers have, claimed by the support lead, and the worker's
    unanswered/unsolved check (app/escalation/sweep.py), replayed at the moment each question came
    due, so that the first `groundswell worker` run finds nothing more to open. Those whose
    first-response target has passed were worked by then: claimed and resolved with a pointer to the
    thread's best answer, or handed off when it had none. Every time stays in the past and after
    its cause. Returns (how many are in the queue, how many were resolved, the claimed staff
    escalation or None). Questions the database held before (an imported community) are never
    touched: escalating one would speak for its author."""
    from app.escalation import metoo, policy
    from app.escalation import service as escalation_service

    unsolved = list(session.exec(
        select(Question).where(Question.accepted_answer_id.is_(None), Question.status == "open",
                               Question.deleted_at.is_(None), Question.visibility == "public",
                               Question.author_id.in_([u.id for u in users.values()]))
        .order_by(Question.created_at.desc(), Question.id)).all())
    staff = [u for u in users.values() if u.is_staff]
    customers = [u for u in users.values() if not u.is_staff and u.role == "customer"]
    if not staff:
        return 0, 0, None
    lead = staff[0]
    due = {q.id: _due(session, q, now) for q in unsolved}  # when the worker's check opens it, or None
    pressed, me_too_at, escalated_at = now - timedelta(hours=3), now - timedelta(hours=5), now - timedelta(hours=4)

    def not_due_by(q: Question, when) -> bool:
        return due[q.id] is None or due[q.id][0] > when

    asked = next((q for q in unsolved if q.created_at + policy.ASKER_WAIT <= pressed and not_due_by(q, pressed)), None)
    if asked is not None:
        escalation_service.escalate(session, actor=session.get(User, asked.author_id), question_id=asked.id,
                                    reason="I tried every suggestion here and it still happens after each restart.",
                                    now=pressed)
    many = next((q for q in unsolved if q is not asked and q.created_at <= me_too_at - timedelta(hours=1)
                 and not_due_by(q, me_too_at)), None)
    esc = None
    if many is not None:
        for customer in [c for c in customers if c.id != many.author_id][:3]:
            metoo.add(session, actor=customer, question_id=many.id, now=me_too_at)
        esc, _ = escalation_service.escalate(session, actor=lead, question_id=many.id, now=escalated_at,
                                             reason="Several customers report the same: looks like a product defect.")
        escalation_service.claim(session, actor=lead, escalation_id=esc.id, now=now - timedelta(hours=2))
        escalation_service.add_note(session, actor=lead, escalation_id=esc.id, now=now - timedelta(hours=1),
                                    body="Asked engineering whether the last firmware changed this.")
        _private_messages(session, esc, lead, session.get(User, many.author_id), now)
    resolved = 0
    for q in unsolved:
        if q is asked or q is many or due[q.id] is None:
            continue
        when, signal, best = due[q.id]
        worker_esc, _ = escalation_service.record_signal(session, question=q, trigger=signal[0], actor=None,
                                                         reason=signal[1], now=when)
        lv = escalation_service.level_for(session, q.product_id)
        if now - when < lv.first_response:
            continue  # came due recently: waiting in the queue, within its first-response target
        escalation_service.claim(session, actor=lead, escalation_id=worker_esc.id, now=when + timedelta(hours=1))
        if best is not None and best.created_at <= when + timedelta(hours=2):
            escalation_service.resolve(session, actor=lead, escalation_id=worker_esc.id, answer_id=best.id,
                                       now=when + timedelta(hours=2),
                                       resolution="The community answer covers it: pointed the asker to it.")
            resolved += 1
        else:
            escalation_service.hand_off(session, actor=lead, escalation_id=worker_esc.id,
                                        ticket=f"KST-{4000 + q.id}", now=when + timedelta(hours=2))
    queued = session.exec(select(func.count()).select_from(Escalation)
                          .where(Escalation.open_question_id.in_([q.id for q in unsolved]))).one() if unsolved else 0
    return int(queued), resolved, esc


def _due(session: Session, q: Question, now):
    """When the worker's timer check (app/escalation/sweep.py check) would have opened `q`'s
    escalation, had it run through the demo's history: (when, (trigger, reason), the thread's
    best answer or None), or None when `q` is not due by `now`. Unanswered counts at that moment:
    an answer posted after the unanswered threshold came too late to stop it."""
    from app.escalation import service as escalation_service
    from app.escalation import sweep

    lv = escalation_service.level_for(session, q.product_id)
    answers = list(session.exec(select(Answer).where(Answer.question_id == q.id, Answer.deleted_at.is_(None))
                                .order_by(Answer.score.desc(), Answer.created_at, Answer.id)).all())
    first = min((a.created_at for a in answers), default=None)
    when = q.created_at + lv.unanswered
    if first is not None and first <= when:
        when = q.created_at + lv.unsolved
    signal = sweep.check(q, lv, when, answered=first is not None and first <= when)
    if when > now or signal is None:
        return None
    return when, signal, answers[0] if answers else None


def _private_messages(session: Session, esc, lead: User, asker: User, now) -> None:
    """A private exchange on the claimed escalation (docs/escalation.md, "Private messages"): what
    never goes on the public thread. The serial number is made up."""
    from app.escalation import messages

    messages.post(session, actor=lead, escalation_id=esc.id, now=now - timedelta(minutes=90),
                  body="Thanks for your patience. Could you send the **serial number** from the label under "
                       "the device (it starts with KST)? We will check it against the affected batch.")
    messages.post(session, actor=asker, escalation_id=esc.id, now=now - timedelta(minutes=40),
                  body="Sure: `KST-2291-40518`, bought in March (order 2026-03-18-7781).")


def _saved_views(session: Session, users: dict[str, User]) -> None:
    """Saved views (docs/saved-views.md): the support agent's escalation columns, one shared with
    the staff team, and a helper's product and tag columns."""
    from app.savedviews import service as saved_views
    from app.savedviews.schemas import ViewCreate

    views = {
        "lena_kestrel": [
            {"name": "Unresolved escalations", "shared": True, "filters": {"escalation_status": "active"}},
            {"name": "Due within a day", "filters": {"breaching_within_hours": 24}},
            {"name": "Many have it too", "filters": {"has_me_too": True, "unsolved": True}, "sort": "active"},
        ],
        "raj_builds": [
            {"name": "Dock Pro, unanswered", "filters": {"product": "dock-pro", "unanswered": True}},
            {"name": "Wi-Fi, unsolved", "filters": {"tag": "wifi", "unsolved": True}, "sort": "active"},
        ],
    }
    for username, items in views.items():
        if username in users:
            for item in items:
                saved_views.create(session, actor=users[username], data=ViewCreate(**item))
