"""The demo community loads through the real services, on both databases, once."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func
from sqlmodel import Session, select

from app.answers.models import Answer
from app.badges.models import AwardedBadge
from app.demo import content, loader
from app.questions.models import Question
from app.votes.models import Vote


def test_content_rules_hold():
    content.validate()


def test_demo_loads_consistently_and_idempotently(clean_engine, demo_community):
    summary = demo_community
    assert "49 questions" in summary or "questions" in summary
    assert loader.load(clean_engine) == "already loaded, nothing changed"
    with Session(clean_engine) as s:
        questions = s.exec(select(Question).where(Question.visibility == "public")).all()
        assert len(questions) == len(content.QUESTIONS)
        assert sum(q.accepted_answer_id is not None for q in questions) >= 20
        for q in questions:
            votes = s.exec(select(func.coalesce(func.sum(Vote.value), 0))
                           .where(Vote.post_type == "question", Vote.post_id == q.id)).one()
            assert q.score == votes
            answers = s.exec(select(func.count()).where(Answer.question_id == q.id)).one()
            assert q.answer_count == answers
            assert q.last_activity_at >= q.created_at
        scores = {a.body[:40]: a.score for a in s.exec(select(Answer).join(Question, Question.id == Answer.question_id)
                                                      .where(Question.visibility == "public")).all()}
        wanted = {a["body"][:40]: a["votes"] for q in content.QUESTIONS for a in q["answers"]}
        quoting = {body: score for body, score in scores.items() if body.startswith("[quote=answer:")}
        assert len(quoting) == len(content.QUOTES) and set(quoting.values()) == {0}  # content.QUOTES, unvoted
        assert {body: score for body, score in scores.items() if body not in quoting} == wanted
        # a few badges, and exactly what the data supports (docs/badges.md)
        from app.badges import service as badges

        held = {r.badge for r in s.exec(select(AwardedBadge)).all()}
        assert {"teacher", "solver", "scholar"} <= held
        assert badges.recompute(s, fix=False).differences == 0
        # a tag's newest-first list in the questions' own order (checked here: the demo loads once)
        _tag_lists_page_in_the_questions_own_order(s)


def test_demo_activity_dates_stay_in_the_past(clean_engine, demo_community):
    from datetime import timedelta

    from app.core.db import utcnow

    with Session(clean_engine) as s:
        recent = [q for q in s.exec(select(Question)).all() if q.last_activity_at > utcnow() - timedelta(minutes=5)]
    # Only recent questions can show activity "just now" (answers are capped at now); none of the old ones.
    assert all(q.created_at > utcnow() - timedelta(days=7) for q in recent)


def test_demo_has_an_internal_question_linked_from_a_public_thread(clean_engine, demo_community):
    """docs/internal.md: the staff-only space has a known-defect question with an answer, linked
    from the escalated public thread; customers' lists do not show it."""
    from app.internal.models import InternalLink
    from app.questions import service as questions_service

    with Session(clean_engine) as s:
        internal = s.exec(select(Question).where(Question.visibility == "internal")).all()
        assert len(internal) == 2 and any(q.answer_count == 1 for q in internal)
        link = s.exec(select(InternalLink)).one()
        assert link.escalation_id is not None
        assert s.get(Question, link.question_id).visibility == "public"
        assert s.get(Question, link.internal_id).visibility == "internal"
        listed = questions_service.list_questions(s, limit=100).items
        assert listed and all(q.visibility == "public" for q in listed)


def _tag_lists_page_in_the_questions_own_order(s: Session) -> None:
    """The loader backdates each question after asking it: the copy of its creation time beside
    each tag (migration 0023) must follow, or a tag's newest-first list is in load order; so must
    the copies of its score and last activity (migration 0024's trigger), which the loader
    backdates in SQL."""
    from sqlalchemy import or_

    from app.questions import service as questions_service
    from app.questions.models import QuestionTag, Tag

    stale = s.exec(select(func.count()).select_from(QuestionTag).join(Question, Question.id == QuestionTag.question_id)
                   .where(or_(QuestionTag.question_created_at != Question.created_at,
                              QuestionTag.question_last_activity_at != Question.last_activity_at,
                              QuestionTag.question_score != Question.score))).one()
    assert stale == 0
    tag = s.exec(select(Tag.name).join(QuestionTag, QuestionTag.tag_id == Tag.id).group_by(Tag.name)
                 .order_by(func.count().desc(), Tag.name)).first()
    wanted = [q.id for q in s.exec(
        select(Question).join(QuestionTag, QuestionTag.question_id == Question.id).join(Tag, Tag.id == QuestionTag.tag_id)
        .where(Tag.name == tag, Question.deleted_at.is_(None), Question.hidden_at.is_(None),
               Question.visibility == "public").order_by(Question.created_at.desc(), Question.id.desc())).all()]
    assert len(wanted) > 3
    listed, cursor = [], None
    for _ in range(len(wanted)):
        page = questions_service.list_questions(s, tag=tag, sort="newest", limit=2, cursor=cursor)
        listed += [q.id for q in page.items]
        cursor = page.next_cursor
        if cursor is None:
            break
    assert listed == wanted


def test_demo_leaves_a_community_already_in_the_database_alone(clean_engine):
    """Loaded into a database that already holds questions (an imported community: recent, unsolved,
    some by the inactive placeholder of deleted accounts, one titled like a demo thread), the demo
    loads, and escalates, joins, quotes and links only its own questions: escalating someone else's
    would speak for its author (and the placeholder's, refused, stopped the load with a traceback)."""
    from app.accounts.models import User
    from app.core.db import writer
    from app.escalation.models import Escalation, MeToo
    from app.quotes.models import PostQuote
    from tests.factories import make_question, make_user

    with Session(writer(clean_engine), expire_on_commit=False) as s:
        member = make_user(s, "imported_member")
        placeholder = make_user(s, "imported_deleted")
        theirs = [make_question(s, author=placeholder, title=f"Imported: fan noise after update {i}") for i in range(3)]
        theirs.append(make_question(s, author=member, title=content.QUOTES[0]["quoted"][0]))
        theirs.append(make_question(s, author=member, title="Imported: the newest unsolved question of all"))
        s.get(User, placeholder.id).is_active = False
        s.commit()
    foreign = {q.id for q in theirs}

    summary = loader.load(clean_engine)
    assert "3 escalations" in summary and "2 internal" in summary, summary
    with Session(clean_engine) as s:
        escalated = set(s.exec(select(Escalation.question_id)).all())
        active = s.exec(select(Escalation.question_id).where(Escalation.open_question_id.is_not(None))).all()
        assert len(active) == 3 and len(escalated) > 3 and not escalated & foreign
        assert not set(s.exec(select(MeToo.question_id)).all()) & foreign
        quoted_answers = s.exec(select(Answer.question_id).join(PostQuote, PostQuote.quoted_id == Answer.id)
                                .where(PostQuote.quoted_type == "answer")).all()
        assert quoted_answers and not set(quoted_answers) & foreign
        assert all(q.answer_count == 0 and q.score == 0 for q in s.exec(select(Question).where(Question.id.in_(foreign))))


def _timeline_faults(s: Session) -> list[str]:
    """Every demo timestamp in the past and after its cause: what the tables say, one line per fault."""
    from sqlalchemy import DateTime
    from sqlmodel import SQLModel

    from app.accounts.models import User
    from app.answers.models import Acceptance
    from app.comments.models import Comment
    from app.core.db import utcnow
    from app.escalation import policy
    from app.escalation import service as escalation_service
    from app.escalation.models import Escalation, EscalationEvent, EscalationMessage, MeToo
    from app.questions.models import Revision

    now, faults = utcnow(), []
    targets = {("escalations", "respond_by"), ("escalations", "resolve_by"), ("escalations", "due_at")}  # deadlines
    for table in SQLModel.metadata.sorted_tables:
        for column in table.columns:
            kind = getattr(column.type, "impl", column.type)  # UTCDateTime decorates DateTime
            if isinstance(kind, DateTime) and (table.name, column.name) not in targets:
                n = s.exec(select(func.count()).select_from(table).where(column > now)).one()
                if n:
                    faults.append(f"{n} {table.name}.{column.name} in the future")
    users = {u.id: u.created_at for u in s.exec(select(User)).all()}
    questions = {q.id: q for q in s.exec(select(Question)).all()}
    answers = {a.id: a for a in s.exec(select(Answer)).all()}
    posts = {("question", i): q.created_at for i, q in questions.items()} | \
            {("answer", i): a.created_at for i, a in answers.items()}

    def after(what: str, when, cause, cause_name: str) -> None:
        if when < cause:
            faults.append(f"{what} at {when} before {cause_name} at {cause}")

    for q in questions.values():
        after(f"question {q.id}", q.created_at, users[q.author_id], "its author's account")
        after(f"question {q.id}'s last activity", q.last_activity_at, q.created_at, "the question")
    for a in answers.values():
        after(f"answer {a.id}", a.created_at, questions[a.question_id].created_at, "its question")
        after(f"answer {a.id}", a.created_at, users[a.author_id], "its author's account")
    for v in s.exec(select(Vote)).all():
        after(f"vote {v.id}", v.created_at, posts[(v.post_type, v.post_id)], "the post")
        after(f"vote {v.id}", v.created_at, users[v.voter_id], "the voter's account")
    for c in s.exec(select(Comment)).all():
        after(f"comment {c.id}", c.created_at, posts[(c.post_type, c.post_id)], "the post")
        after(f"comment {c.id}", c.created_at, users[c.author_id], "its author's account")
    for r in s.exec(select(Revision)).all():
        after(f"revision {r.id}", r.created_at, posts[(r.post_type, r.post_id)], "the post")
    for acc in s.exec(select(Acceptance)).all():
        after(f"acceptance {acc.id}", acc.created_at, answers[acc.answer_id].created_at, "the answer")
    for m in s.exec(select(MeToo)).all():
        after(f"me too {m.id}", m.created_at, questions[m.question_id].created_at, "the question")
    for esc in s.exec(select(Escalation)).all():
        q = questions[esc.question_id]
        lv = escalation_service.level_for(s, q.product_id)
        first_answer = min((a.created_at for a in answers.values() if a.question_id == q.id), default=None)
        earliest = {"asker": q.created_at + policy.ASKER_WAIT, "unanswered": q.created_at + lv.unanswered,
                    "unsolved": q.created_at + lv.unsolved}.get(esc.trigger, q.created_at)
        after(f"escalation {esc.id} ({esc.trigger})", esc.created_at, earliest, "the rule allows it")
        if esc.trigger == "unanswered" and first_answer is not None:
            after(f"question {q.id}'s first answer", first_answer, esc.created_at, "its unanswered escalation")
        for name in ("first_response_at", "handed_off_at", "resolved_at"):
            if getattr(esc, name) is not None:
                after(f"escalation {esc.id}'s {name}", getattr(esc, name), esc.created_at, "the escalation")
        log = s.exec(select(EscalationEvent).where(EscalationEvent.escalation_id == esc.id)
                     .order_by(EscalationEvent.id)).all()
        if not log or log[0].kind != "created" or log[0].created_at != esc.created_at:
            faults.append(f"escalation {esc.id}'s audit log does not open with its creation")
        for earlier, later in zip(log, log[1:]):
            after(f"escalation {esc.id}'s {later.kind}", later.created_at, earlier.created_at, earlier.kind)
        for m in s.exec(select(EscalationMessage).where(EscalationMessage.escalation_id == esc.id)).all():
            after(f"private message {m.id}", m.created_at, esc.created_at, "its escalation")
    return faults


def test_demo_timestamps_are_in_the_past_and_after_their_causes(clean_engine, demo_community):
    """Nothing in the future (an asker's escalation dated 15 hours ahead, so that "I still need help"
    came before the 24 hours docs/escalation.md gives the community), nothing before its cause
    (answers, votes, comments, edits, acceptances, escalations, their audit log and messages)."""
    with Session(clean_engine) as s:
        assert _timeline_faults(s) == []


def test_demo_escalations_follow_the_rules_that_opened_them(clean_engine, demo_community):
    """The asker pressed "I still need help" at least policy.ASKER_WAIT after asking; the worker's
    escalations opened when their question came due; the queue holds what the summary reports."""
    from app.escalation.models import ACTIVE_STATUSES, Escalation

    with Session(clean_engine) as s:
        rows = s.exec(select(Escalation)).all()
        triggers = {e.trigger for e in rows}
        assert {"asker", "staff", "unanswered"} <= triggers
        active = [e for e in rows if e.status in {st.value for st in ACTIVE_STATUSES}]
        assert f"{len(active)} escalations in the support queue" in demo_community
        resolved = [e for e in rows if e.status == "resolved"]
        assert f"({len(resolved)} more resolved)" in demo_community
        assert all(e.public_answer_id is not None and e.resolved_at > e.created_at for e in resolved)


def test_a_worker_beside_the_demo_opens_nothing_and_mails_nothing(clean_engine, demo_community, db_url):
    """docs/demo: the demo loads a settled state. The worker's first escalation check opens no
    escalation the demo did not report, raises none, finds none past its targets; no backdated mail
    waits in the outbox (the history's notifications stay in-app)."""
    from app.core.db import writer
    from app.escalation import sweep
    from app.mail import sender
    from app.mail.models import EmailOutbox
    from app.notifications.models import Notification
    from tests.conftest import make_settings

    with Session(writer(clean_engine)) as s, s.begin():
        result = sweep.run(s)
        assert (result.opened, result.raised, result.breached) == (0, 0, 0), str(result)
        s.rollback()
    with Session(clean_engine) as s:
        assert s.exec(select(func.count()).select_from(EmailOutbox)).one() == 0
        assert s.exec(select(func.count()).select_from(Notification)).one() > 0  # in-app, as before
    assert not sender.run(clean_engine, make_settings(db_url)).did_work


def test_demo_command_links_loaded_mail_to_the_served_address(clean_engine, monkeypatch, db_url):
    """`groundswell demo --port N` sets the base URL before loading, so that anything the loader
    renders (mail links) points at :N, not the default :8000; a base URL set by the operator wins."""
    import argparse

    from app import cli
    from app.mail import outbox
    from tests.conftest import make_settings

    seen = []
    monkeypatch.setattr(outbox, "_config", {})  # put back afterwards: other tests' mail config
    monkeypatch.setattr(cli, "_check_listen", lambda host, port: None)
    monkeypatch.setattr(cli, "_engine", lambda settings: clean_engine)
    monkeypatch.setattr(cli, "_ensure_migrated", lambda settings, engine: None)
    monkeypatch.setattr(cli, "cmd_serve", lambda args: seen.append(("served", outbox.config().base_url)))
    monkeypatch.setattr(loader, "load", lambda engine, progress: seen.append(("loaded", outbox.config().base_url)) or "")
    for settings, wanted in ((make_settings(db_url), "http://127.0.0.1:8104"),
                             (make_settings(db_url, base_url="https://help.example.com/"), "https://help.example.com")):
        seen.clear()
        monkeypatch.setattr(cli, "_settings", lambda s=settings: s)
        cli.cmd_demo(argparse.Namespace(host="127.0.0.1", port=8104))
        assert seen == [("loaded", wanted), ("served", wanted)]


def test_demo_notices_are_dated_at_their_source_event(clean_engine, demo_community):
    """A notice is dated when what it tells happened (the question asked, the answer posted, the
    comment added), not when the demo was loaded: questions_service.ask and comments_service.add
    take the loader's `now` (docs/notifications.md)."""
    import re

    from app.comments.models import Comment
    from app.notifications.models import Notification

    with Session(clean_engine) as s:
        notices = s.exec(select(Notification)).all()
        questions = {q.id: q.created_at for q in s.exec(select(Question)).all()}
        answers = {a.id: a.created_at for a in s.exec(select(Answer)).all()}
        comments = {c.id: c.created_at for c in s.exec(select(Comment)).all()}
    source = {None: questions, "answer": answers, "comment": comments}
    checked, faults = 0, []
    for n in notices:
        found = re.match(r"^/questions/(\d+)/[^#]*(?:#(answer|comment)-(\d+))?$", n.url)
        if found is None or n.kind not in ("followed_new_question", "mention", "followed_question_answer",
                                           "followed_user_post", "answer_posted", "comment_posted"):
            continue
        post_id = int(found.group(3) or found.group(1))
        when = source[found.group(2)].get(post_id)
        checked += 1
        if when != n.created_at:
            faults.append(f"{n.kind} notice {n.id} at {n.created_at}, its {found.group(2) or 'question'} at {when}")
    assert checked >= 20 and faults == [], faults[:10]
    # and the notices spread over the demo's weeks, instead of all at the moment of loading
    assert max(n.created_at for n in notices) - min(n.created_at for n in notices) > timedelta(days=30)
