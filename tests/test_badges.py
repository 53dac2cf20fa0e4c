"""Badges (app/badges/, docs/badges.md): each rule, and awarding idempotent and recomputable."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlmodel import select

from app.answers import service as answers_service
from app.badges import policy
from app.badges import service as badges
from app.badges.models import AwardedBadge
from app.core.db import utcnow
from app.moderation.models import Flag
from app.notifications.models import Notification
from app.search.models import Deflection


def held(session, user) -> set[tuple[str, str]]:
    return {(r.badge, r.subject) for r in session.exec(select(AwardedBadge).where(
        AwardedBadge.user_id == user.id, AwardedBadge.withdrawn_at.is_(None))).all()}


def accepted_answer(factory, session, *, answerer, product=None, asker=None):
    q = factory.question(author=asker, product=product)
    a = factory.answer(q, author=answerer)
    answers_service.accept(session, actor=session.get(type(answerer), q.author_id), question_id=q.id, answer_id=a.id)
    return q, a


def test_first_answer_accepted_answer_and_scholar(session, factory):
    asker, answerer = factory.user("asker"), factory.user("answerer")
    q, a = accepted_answer(factory, session, answerer=answerer, asker=asker)
    badges.sync(session)
    assert held(session, answerer) == {("teacher", ""), ("solver", "")}
    assert held(session, asker) == {("scholar", "")}


def test_accepting_ones_own_answer_earns_neither_solver_nor_scholar(session, factory):
    me = factory.user()
    q = factory.question(author=me)
    a = factory.answer(q, author=me)
    answers_service.accept(session, actor=me, question_id=q.id, answer_id=a.id)
    badges.sync(session)
    assert held(session, me) == {("teacher", "")}


def test_answer_score_badges_once_per_answer(session, factory):
    author = factory.user()
    q = factory.question()
    a1, a2 = factory.answer(q, author=author), factory.answer(q, author=author)
    a1.score, a2.score = 10, 25
    session.flush()
    badges.sync(session)
    assert held(session, author) == {("teacher", ""), ("nice-answer", f"answer:{a1.id}"),
                                     ("nice-answer", f"answer:{a2.id}"), ("good-answer", f"answer:{a2.id}")}


def test_product_expert_takes_ten_accepted_answers_on_one_product(session, factory):
    expert = factory.user("expert")
    aero, other = factory.product("aero-14", "Aero 14"), factory.product("nimbus", "Nimbus")
    for _ in range(9):
        accepted_answer(factory, session, answerer=expert, product="aero-14")
    accepted_answer(factory, session, answerer=expert, product="nimbus")
    badges.sync(session)
    assert ("product-expert", f"product:{aero.id}") not in held(session, expert)
    accepted_answer(factory, session, answerer=expert, product="aero-14")
    badges.sync(session)
    assert ("product-expert", f"product:{aero.id}") in held(session, expert)
    assert ("product-expert", f"product:{other.id}") not in held(session, expert)


def test_helpful_streak_needs_seven_consecutive_utc_days_of_helpful_answers(session, factory):
    author = factory.user()
    start = datetime(2026, 10, 1, 23, 30, tzinfo=UTC)
    answers = []
    for day in range(7):
        a = factory.answer(factory.question(), author=author)
        a.created_at, a.score = start + timedelta(days=day), 1
        answers.append(a)
    answers[3].score = 0  # a gap: day 4's answer is not helpful
    session.flush()
    badges.sync(session)
    assert ("helpful-streak", "") not in held(session, author)
    answers[3].score = 2
    session.flush()
    badges.sync(session)
    assert ("helpful-streak", "") in held(session, author)
    assert badges.longest_run([start.date() + timedelta(days=d) for d in (0, 1, 2, 4, 5)]) == 3


def test_signpost_after_ten_people_said_this_solved_it(session, factory):
    author = factory.user()
    q = factory.question(author=author)
    for n in range(policy.SIGNPOST_DEFLECTIONS):
        session.add(Deflection(question_id=q.id, visitor=f"v:{n}", title="wifi drops"))
    session.flush()
    badges.sync(session)
    assert ("signpost", f"question:{q.id}") in held(session, author)


def test_citizen_patrol_on_the_first_helpful_flag_only(session, factory):
    flagger, other = factory.user("flagger"), factory.user("other")
    q = factory.question()
    session.add(Flag(post_type="question", post_id=q.id, flagger_id=other.id, reason="spam", status="declined",
                     open_key=None))
    session.add(Flag(post_type="question", post_id=q.id, flagger_id=flagger.id, reason="spam", status="open"))
    session.flush()
    badges.sync(session)
    assert ("citizen-patrol", "") not in held(session, flagger) | held(session, other)
    session.exec(select(Flag).where(Flag.flagger_id == flagger.id)).one().status = "helpful"
    session.flush()
    badges.sync(session)
    assert ("citizen-patrol", "") in held(session, flagger)
    assert ("citizen-patrol", "") not in held(session, other)


def test_deleted_and_hidden_posts_earn_nothing(session, factory):
    author = factory.user()
    q = factory.question()
    a = factory.answer(q, author=author)
    a.score = 12
    a.hidden_at = utcnow()
    session.flush()
    badges.sync(session)
    assert held(session, author) == set()
    a.hidden_at, q.deleted_at = None, utcnow()
    session.flush()
    badges.sync(session)
    assert held(session, author) == set()


def test_badge_awarding_idempotent_and_recomputable(session, factory):
    """The issue's test: awarding twice changes nothing; the table can be rebuilt from the data,
    and --check tells when it differs."""
    asker, answerer = factory.user("asker"), factory.user("answerer")
    q, a = accepted_answer(factory, session, answerer=answerer, asker=asker)
    a.score = 10
    session.flush()

    first = badges.sync(session)
    assert first.new == 4 and len(first.awarded) == 4  # teacher, solver, nice answer; scholar for the asker
    second = badges.sync(session)
    assert second.differences == 0 and second.awarded == []
    notes = session.exec(select(Notification).where(Notification.kind == "badge_awarded")).all()
    assert sorted(n.user_id for n in notes) == sorted([answerer.id] * 3 + [asker.id])
    assert badges.recompute(session, fix=False).differences == 0

    # Lose a row and add one nobody earned: the check sees both, the rebuild repairs both.
    session.delete(session.exec(select(AwardedBadge).where(AwardedBadge.badge == "teacher")).one())
    session.add(AwardedBadge(user_id=asker.id, badge="great-answer", subject=f"answer:{a.id}",
                             post_type="answer", post_id=a.id))
    session.flush()
    check = badges.recompute(session, fix=False)
    assert (check.new, check.withdrawn) == (1, 1)
    assert "answerer: +Teacher" in check.changed
    assert badges.recompute(session, fix=False).differences == 2  # checking writes nothing
    fixed = badges.recompute(session)
    assert fixed.differences == 2
    assert badges.recompute(session, fix=False).differences == 0
    assert len(session.exec(select(Notification).where(Notification.kind == "badge_awarded")).all()) == 4


def test_a_badge_whose_cause_goes_is_withdrawn_and_comes_back_without_a_second_notice(session, factory):
    asker, answerer = factory.user("asker"), factory.user("answerer")
    q, a = accepted_answer(factory, session, answerer=answerer, asker=asker)
    badges.sync(session)
    answers_service.unaccept(session, actor=asker, question_id=q.id)
    report = badges.sync(session)
    assert report.withdrawn == 2  # solver and scholar
    assert ("solver", "") not in held(session, answerer)
    answers_service.accept(session, actor=asker, question_id=q.id, answer_id=a.id)
    report = badges.sync(session)
    assert report.restored == 2 and report.awarded == []
    assert ("solver", "") in held(session, answerer)
    notes = session.exec(select(Notification).where(Notification.user_id == answerer.id,
                                                    Notification.kind == "badge_awarded")).all()
    assert len(notes) == 2  # teacher and solver, each once


def test_two_syncs_at_once_award_each_badge_once(session, factory, clean_engine):
    from sqlmodel import Session

    from app.core.db import writer

    factory.answer(factory.question(), author=factory.user("keen"))
    session.commit()
    with Session(writer(clean_engine)) as one, Session(writer(clean_engine)) as two:
        r1 = badges.sync(one)
        one.commit()
        # The second computed before the first committed would insert the same row: ON CONFLICT skips it.
        e = badges.Earned(r1.awarded[0].user_id, "teacher")
        assert badges._insert(two, e, utcnow()) is False
        two.commit()
    rows = session.exec(select(AwardedBadge)).all()
    assert len(rows) == 1


def test_recompute_badges_cli(session, factory, db_url):
    from tests.test_cli import run

    factory.answer(factory.question(), author=factory.user("keen"))
    session.commit()
    check = run(["recompute-badges", "--check"], db_url)
    assert check.returncode == 1
    assert "1 missing" in check.stdout and "keen: +Teacher" in check.stdout
    assert check.stderr.strip().startswith("groundswell: the awarded badges and what the data supports differ")
    assert run(["recompute-badges"], db_url).returncode == 0
    again = run(["recompute-badges", "--check"], db_url)
    assert again.returncode == 0, again.stderr
    assert "0 missing, 0 to restore, 0 no longer earned" in again.stdout


def test_the_worker_job_awards_and_then_has_nothing_to_say(session, factory, clean_engine):
    from app.worker import JOBS, run_job

    job = next(j for j in JOBS if j.name == "badges")
    keen = factory.user("keen")
    factory.answer(factory.question(), author=keen)
    session.commit()
    assert run_job(clean_engine, job) == "1 badges awarded, 0 restored, 0 withdrawn"
    assert run_job(clean_engine, job) == ""  # idempotent: nothing new the second time
    assert held(session, keen) == {("teacher", "")}
    session.commit()
