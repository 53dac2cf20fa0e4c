"""Flags: every refusal, every outcome, the flag weight, automatic hiding and where hidden posts
disappear (service level, both databases)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import select

from app.accounts.permissions import Suspended
from app.comments import service as comments_service
from app.core.db import utcnow
from app.core.errors import Conflict, Forbidden, InvalidInput, NotFound, RateLimited
from app.moderation import flags, policy
from app.moderation.models import AuditEntry, Flag
from app.notifications.models import Notification
from app.questions import service as questions_service
from app.questions import views
from app.questions.models import Question
from app.questions.schemas import CommentCreate
from app.search import indexer
from tests.factories import make_answer, make_question, make_user


def _flag(session, user, post, reason="spam", post_type=None, **kw):
    post_type = post_type or type(post).__name__.lower()
    return flags.raise_flag(session, actor=user, post_type=post_type, post_id=post.id, reason=reason, **kw)


def _kinds(session, user):
    return [n.kind for n in session.exec(select(Notification).where(Notification.user_id == user.id)).all()]


def _actions(session):
    return [e.action for e in session.exec(select(AuditEntry).order_by(AuditEntry.id)).all()]


def test_refusals(session):
    author = make_user(session)
    q = make_question(session, author)
    newcomer = make_user(session)  # reputation 1: below the flag privilege
    with pytest.raises(Forbidden, match="15 reputation"):
        _flag(session, newcomer, q)
    member = make_user(session, reputation=policy.TRUSTED_FLAGGER_REPUTATION - 1)
    with pytest.raises(Forbidden, match="own post"):
        _flag(session, member, make_question(session, member))
    flag = _flag(session, member, q, "off_topic")
    assert flag.status == "open" and flag.weight == 1
    with pytest.raises(Conflict, match="already flagged"):
        _flag(session, member, q, "spam")
    with pytest.raises(InvalidInput):
        _flag(session, member, make_question(session, author), "other")  # "other" needs text
    with pytest.raises(InvalidInput):
        _flag(session, member, make_question(session, author), "duplicate")  # needs the original
    with pytest.raises(InvalidInput):
        _flag(session, member, make_question(session, author), "rude")  # not a reason
    with pytest.raises(NotFound):
        flags.raise_flag(session, actor=member, post_type="answer", post_id=999999, reason="spam")
    member.suspended_until, member.suspension_reason = utcnow() + timedelta(days=1), "testing"
    with pytest.raises(Suspended):
        _flag(session, member, make_question(session, author), "off_topic")


def test_daily_allowance(session):
    author, member = make_user(session), make_user(session, reputation=50)
    now = utcnow().replace(hour=12)
    for _ in range(policy.FLAGS_PER_DAY):
        _flag(session, member, make_question(session, author), "needs_improvement", now=now)
    with pytest.raises(RateLimited) as refused:
        _flag(session, member, make_question(session, author), "needs_improvement", now=now)
    assert 0 < refused.value.retry_after <= 12 * 3600 + 1
    # the next UTC day the allowance is back
    _flag(session, member, make_question(session, author), "needs_improvement", now=now + timedelta(days=1))


def test_duplicate_and_other_flags_keep_what_was_said(session):
    author, member = make_user(session), make_user(session, reputation=50)
    original, q = make_question(session, author), make_question(session, author)
    dup = _flag(session, member, q, "duplicate", original_id=original.id)
    assert dup.original_id == original.id
    other = _flag(session, member, make_answer(session, original, author), "other", text="Links to a paid tool")
    assert other.text == "Links to a paid tool" and other.post_type == "answer"


@pytest.mark.parametrize("action", ["delete", "edit", "close", "lock", "dismiss"])
def test_every_outcome(session, action):
    author, flagger = make_user(session), make_user(session, reputation=50)
    moderator = make_user(session, role="moderator")
    q = make_question(session, author)
    flag = _flag(session, flagger, q, "needs_improvement")
    extra = {"body": "A clearer body: the Wi-Fi adapter drops after the 2.3 update, on battery only."} \
        if action == "edit" else {}
    handled = flags.handle(session, actor=moderator, post_type="question", post_id=q.id, action=action,
                           note="thanks", **extra)
    assert [f.id for f in handled] == [flag.id]
    session.refresh(flag)
    session.refresh(q)
    assert flag.status == ("declined" if action == "dismiss" else "helpful")
    assert flag.handled_by_id == moderator.id and flag.open_key is None
    assert _kinds(session, flagger) == ["flag_declined" if action == "dismiss" else "flag_helpful"]
    assert {"delete": q.deleted_at is not None, "edit": q.body.startswith("A clearer body"),
            "close": q.status == "closed", "lock": q.locked_at is not None, "dismiss": q.deleted_at is None}[action]
    assert f"flag.{flag.status}" in _actions(session)
    # the flagger's own list shows the outcome; a handled post can be flagged again
    assert flags.my_flags(session, actor=flagger)[0].status == flag.status
    if action == "delete":
        with pytest.raises(NotFound):
            _flag(session, flagger, q, "off_topic")
    else:  # the old flag is decided: a new one may be raised
        assert _flag(session, flagger, q, "off_topic").status == "open"


def test_only_moderators_handle_and_see_the_queue(session):
    author, flagger = make_user(session), make_user(session, reputation=5000)
    q = make_question(session, author)
    _flag(session, flagger, q, "off_topic")
    with pytest.raises(Forbidden):
        flags.handle(session, actor=flagger, post_type="question", post_id=q.id, action="dismiss")
    with pytest.raises(Forbidden):
        flags.queue(session, actor=flagger)
    staff = make_user(session, role="staff")
    groups = flags.queue(session, actor=staff).items
    assert [(g.post_type, g.post_id, g.open_count) for g in groups] == [("question", q.id, 1)]


def test_queue_groups_by_post_open_first(session):
    author = make_user(session)
    flaggers = [make_user(session, reputation=50) for _ in range(3)]
    moderator = make_user(session, role="moderator")
    q1, q2 = make_question(session, author), make_question(session, author)
    a = make_answer(session, q1, author)
    for f in flaggers:
        _flag(session, f, q1, "off_topic")
    _flag(session, flaggers[0], a, "abusive")
    _flag(session, flaggers[1], q2, "needs_improvement")
    flags.handle(session, actor=moderator, post_type="question", post_id=q2.id, action="dismiss")
    groups = flags.queue(session, actor=moderator, status="all").items
    assert [(g.post_type, g.post_id, g.open_count, len(g.flags)) for g in groups] == [
        ("question", q1.id, 3, 3), ("answer", a.id, 1, 1), ("question", q2.id, 0, 1)]
    assert [(g.post_type, g.post_id) for g in flags.queue(session, actor=moderator).items] == [
        ("question", q1.id), ("answer", a.id)]


def test_flag_weight_follows_the_record(session):
    author, member = make_user(session), make_user(session, reputation=50)
    moderator = make_user(session, role="moderator")
    assert flags.flag_weight(session, member) == 1
    assert flags.flag_weight(session, moderator) == policy.AUTO_HIDE_WEIGHT
    for _ in range(policy.WEIGHT_UNRELIABLE_DECLINED):
        q = make_question(session, author)
        _flag(session, member, q, "off_topic")
        flags.handle(session, actor=moderator, post_type="question", post_id=q.id, action="dismiss")
    assert flags.flag_weight(session, member) == 0
    reliable = make_user(session, reputation=50)
    for i in range(policy.WEIGHT_RELIABLE_HELPFUL):
        q = make_question(session, author)
        _flag(session, reliable, q, "needs_improvement", now=utcnow() - timedelta(days=i + 1))
        flags.handle(session, actor=moderator, post_type="question", post_id=q.id, action="lock")
    assert flags.flag_weight(session, reliable) == 2


def test_auto_hide_at_the_documented_weight(session, settings, clean_engine):
    author = make_user(session)
    trusted = [make_user(session, reputation=policy.TRUSTED_FLAGGER_REPUTATION) for _ in range(3)]
    untrusted = [make_user(session, reputation=policy.TRUSTED_FLAGGER_REPUTATION - 1) for _ in range(4)]
    q = make_question(session, author, title="Cheap pills for your Wi-Fi adapter")
    for u in untrusted:  # flags from members below the trusted bar never hide
        _flag(session, u, q, "spam")
    _flag(session, trusted[0], q, "spam")
    _flag(session, trusted[1], q, "abusive")
    assert flags.hiding_weight(session, "question", q.id) == 2 and q.hidden_at is None
    _flag(session, trusted[2], q, "off_topic")  # not a hiding reason
    assert q.hidden_at is None
    other = make_user(session, reputation=policy.TRUSTED_FLAGGER_REPUTATION)
    _flag(session, other, q, "spam")
    session.refresh(q)
    assert q.hidden_at is not None and q.hidden_reason == "flags"
    assert "post_hidden" in _kinds(session, author)
    hide = session.exec(select(AuditEntry).where(AuditEntry.action == "post.hide")).one()
    assert hide.actor_id is None and hide.target_id == str(q.id)
    # hidden: gone from lists, search documents and the sitemap's source; 404 to others
    assert q.id not in [x.id for x in questions_service.list_questions(session).items]
    docs, gone = indexer.build(session, [q.id])
    assert docs == [] and gone == [q.id]
    with pytest.raises(NotFound):
        views.question_detail(session, q.id, None)
    with pytest.raises(NotFound):
        views.question_detail(session, q.id, trusted[0])
    # its author and moderators see it, with the reason
    assert "flags" in views.question_detail(session, q.id, author).hidden
    moderator = make_user(session, role="moderator")
    assert views.question_detail(session, q.id, moderator).hidden
    # a moderator decides: dismissing shows it again and declines the flags
    flags.handle(session, actor=moderator, post_type="question", post_id=q.id, action="dismiss")
    session.refresh(q)
    assert q.hidden_at is None
    assert q.id in [x.id for x in questions_service.list_questions(session).items]


def test_hidden_answer_and_comment_are_shown_only_to_author_and_moderators(session):
    author, answerer = make_user(session), make_user(session)
    q = make_question(session, author)
    a = make_answer(session, q, answerer)
    c = comments_service.add(session, actor=author, post_type="question", post_id=q.id,
                             data=CommentCreate(body="Which driver version do you have?"))
    moderator = make_user(session, role="moderator")
    _flag(session, moderator, a, "abusive")  # a moderator's flag weighs AUTO_HIDE_WEIGHT: hidden at once
    _flag(session, moderator, c, "abusive", post_type="comment")
    reader = make_user(session)
    detail = views.question_detail(session, q.id, reader)
    assert detail.answers == [] and detail.comments == []
    mine = views.question_detail(session, q.id, answerer)
    assert [x.id for x in mine.answers] == [a.id] and mine.answers[0].hidden
    assert views.question_detail(session, q.id, author).comments[0].hidden


def test_moderator_spam_flag_hides_and_deletes(session):
    spammer = make_user(session)
    q = make_question(session, spammer)
    moderator = make_user(session, role="moderator")
    flag = _flag(session, moderator, q, "spam")
    session.refresh(q)
    assert flag.status == "helpful" and flag.outcome == "deleted"
    assert q.hidden_at is not None and q.deleted_at is not None
    assert {"post.hide", "post.delete", "flag.helpful"} <= set(_actions(session))
    assert session.exec(select(Question).where(Question.id == q.id, Question.deleted_at.is_(None))).first() is None
    assert session.exec(select(Flag).where(Flag.status == "open")).all() == []


def test_flags_on_a_post_its_author_deleted_can_still_be_decided(session):
    author, flagger = make_user(session), make_user(session, reputation=50)
    moderator = make_user(session, role="moderator")
    q = make_question(session, author)
    flag = _flag(session, flagger, q, "needs_improvement")
    questions_service.delete_question(session, actor=author, question_id=q.id)
    groups = flags.queue(session, actor=moderator).items
    assert [(g.post_id, g.deleted, g.open_count) for g in groups] == [(q.id, True, 1)]
    with pytest.raises(Conflict):
        flags.handle(session, actor=moderator, post_type="question", post_id=q.id, action="lock")
    flags.handle(session, actor=moderator, post_type="question", post_id=q.id, action="delete")
    session.refresh(flag)
    assert flag.status == "helpful" and flags.queue(session, actor=moderator).items == []


def test_moderators_have_no_daily_allowance(session):
    author, moderator = make_user(session), make_user(session, role="moderator")
    for _ in range(policy.FLAGS_PER_DAY + 1):
        _flag(session, moderator, make_question(session, author), "needs_improvement")
