"""The one audit log is written by every moderator, staff and admin action; destroy spammer
leaves the reputation ledger consistent (`groundswell recompute-reputation --check`); roles
change on the web and the API; locked and protected threads."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import select

from app.accounts.models import User
from app.accounts.schemas import UserCreate
from app.accounts import service as accounts_service
from app.answers import service as answers_service
from app.comments import service as comments_service
from app.core.errors import Conflict, Forbidden, InvalidInput
from app.escalation import service as escalation_service
from app.moderation import audit, flags, posts, review, suspensions
from app.moderation.models import AuditEntry, BlockedEmail
from app.products import service as products_service
from app.products.schemas import ProductCreate, ProductUpdate
from app.questions import duplicates, suggested_edits
from app.questions import service as questions_service
from app.questions.schemas import AnswerCreate, AnswerUpdate, CommentCreate, QuestionUpdate
from app.reputation import gaming
from app.reputation import service as reputation
from app.reputation.models import VotingReport
from app.votes import service as votes_service
from tests.factories import PASSWORD, make_answer, make_question, make_user
from tests.reputation.helpers import day_start, fans, vote
from tests.test_cli import run
from tests.web.conftest import Browser, browsers, csrf_from  # noqa: F401  (fixture)

API = "/api/v1"


def _last(session) -> AuditEntry:
    return session.exec(select(AuditEntry).order_by(AuditEntry.id.desc())).first()


def test_every_action_writes_the_audit_log(session):
    admin = make_user(session, "ada", role="admin")
    mod = make_user(session, "omar", role="moderator")
    staff = make_user(session, "lena", role="staff")
    author, helper, member = make_user(session), make_user(session), make_user(session, reputation=50)
    long = "It only charges at 60 W with the supplied cable; the 100 W one is not detected."

    def check(action, target_type, target_id, actor):
        e = _last(session)
        assert (e.action, e.target_type, e.target_id, e.actor_id) == (action, target_type, str(target_id), actor.id)

    q, q2, q3 = (make_question(session, author) for _ in range(3))
    a = make_answer(session, q, helper)
    questions_service.edit(session, actor=mod, question_id=q.id, data=QuestionUpdate(body=long, comment="clarity"))
    check("post.edit", "question", q.id, mod)
    answers_service.edit(session, actor=mod, answer_id=a.id, data=AnswerUpdate(body=long))
    check("post.edit", "answer", a.id, mod)
    before = session.exec(select(AuditEntry).order_by(AuditEntry.id)).all()
    questions_service.edit(session, actor=author, question_id=q.id, data=QuestionUpdate(body=long + " Thanks."))
    assert session.exec(select(AuditEntry).order_by(AuditEntry.id)).all() == before  # an author's own edit is no moderator action
    posts.close(session, actor=mod, question_id=q3.id, reason="not about a product")
    check("question.close", "question", q3.id, mod)
    duplicates.reopen(session, actor=mod, question_id=q3.id)
    check("question.reopen", "question", q3.id, mod)
    duplicates.close_as_duplicate(session, actor=mod, question_id=q2.id, original_id=q.id)
    check("question.close_duplicate", "question", q2.id, mod)
    duplicates.merge(session, actor=mod, question_id=q2.id)
    check("question.merge", "question", q2.id, mod)
    posts.set_lock(session, actor=mod, question_id=q3.id, locked=True, reason="heated")
    check("question.lock", "question", q3.id, mod)
    posts.set_lock(session, actor=mod, question_id=q3.id, locked=False)
    check("question.unlock", "question", q3.id, mod)
    posts.set_protect(session, actor=mod, question_id=q3.id, protected=True)
    check("question.protect", "question", q3.id, mod)
    posts.set_protect(session, actor=mod, question_id=q3.id, protected=False)
    check("question.unprotect", "question", q3.id, mod)
    c = comments_service.add(session, actor=author, post_type="question", post_id=q.id,
                             data=CommentCreate(body="Still happening after the update."))
    comments_service.delete_comment(session, actor=mod, comment_id=c.id, reason="noise")
    check("post.delete", "comment", c.id, mod)
    a2 = make_answer(session, q3, helper)
    answers_service.delete_answer(session, actor=mod, answer_id=a2.id, reason="not an answer")
    check("post.delete", "answer", a2.id, mod)
    flagged = make_question(session, author)
    flags.raise_flag(session, actor=member, post_type="question", post_id=flagged.id, reason="off_topic")
    flags.handle(session, actor=mod, post_type="question", post_id=flagged.id, action="delete")
    assert [e.action for e in session.exec(select(AuditEntry).order_by(AuditEntry.id.desc()).limit(2))] == [
        "flag.helpful", "post.delete"]
    product = products_service.create(session, actor=staff, data=ProductCreate(slug="dock", name="Dock Pro"))
    check("product.create", "product", "dock", staff)
    products_service.update(session, actor=staff, slug="dock", data=ProductUpdate(first_posts_review=True))
    check("product.update", "product", "dock", staff)
    assert _last(session).details and '"first_posts_review": true' in _last(session).details
    escalation_service.set_levels(session, actor=staff, product_slug="dock", tier="priority")
    check("service_level.update", "product", "dock", staff)
    suspensions.set_role(session, actor=admin, username=member.username, role="moderator", reason="trusted")
    check("user.role", "user", member.username, admin)
    with pytest.raises(Forbidden):
        suspensions.set_role(session, actor=mod, username=helper.username, role="admin")
    suspensions.suspend(session, actor=mod, username=helper.username, days=2, reason="rude")
    check("user.suspend", "user", helper.username, mod)
    suspensions.lift(session, actor=mod, username=helper.username)
    check("user.unsuspend", "user", helper.username, mod)
    suspensions.block_email(session, actor=mod, pattern="@spam.example", reason="spam wave")
    check("email.block", "email", "@spam.example", mod)
    low = make_user(session)
    se = suggested_edits.suggest(session, actor=low, post_type="question", post_id=q.id,
                                 data=QuestionUpdate(body=long + " (typo fixed)"))
    suggested_edits.review(session, actor=mod, edit_id=se.id, approve=True)
    check("edit.review", "question", q.id, mod)
    report = VotingReport(kind="sock_puppet", voter_id=low.id, author_id=helper.id, votes=1, detail="test")
    session.add(report)
    session.flush()
    gaming.resolve_report(session, actor=mod, report_id=report.id)
    check("voting.resolve", "voting_report", report.id, mod)
    pending = make_question(session, make_user(session), product="dock")
    assert pending.hidden_reason == "review"
    review.decide(session, actor=mod, post_type="question", post_id=pending.id, approve=True)
    check("post.approve", "question", pending.id, mod)
    questions_service.delete_question(session, actor=mod, question_id=q3.id, reason="abandoned")
    check("post.delete", "question", q3.id, mod)
    # every entry names a known action; the page's filters work
    keys = {e.action for e in session.exec(select(AuditEntry)).all()}
    assert keys <= set(audit.ACTIONS)
    only = audit.entries(session, actor=mod, action="user.").items
    assert {e.action for e in only} == {"user.role", "user.suspend", "user.unsuspend"}
    by_staff = audit.entries(session, actor=mod, actor_name="lena").items
    assert {e.action for e in by_staff} == {"product.create", "product.update", "service_level.update"}
    assert [e.id for e in audit.entries(session, actor=mod).items] == sorted(
        (e.id for e in session.exec(select(AuditEntry)).all()), reverse=True)[:50]
    with pytest.raises(Forbidden):
        audit.entries(session, actor=author)
    assert product.id


def test_audit_log_api_and_page(client, session, browsers):
    mod = make_user(session, "omar", role="moderator")
    author = make_user(session, "maya")
    q = make_question(session, author)
    posts.set_lock(session, actor=mod, question_id=q.id, locked=True, reason="heated thread")
    suspensions.suspend(session, actor=mod, username="maya", days=1, reason="rude")
    session.commit()
    h = {"Authorization": "Bearer " + client.post(f"{API}/auth/token", data={"username": "omar", "password": PASSWORD}).json()["access_token"]}
    r = client.get(f"{API}/moderation/audit-log", headers=h)
    assert r.status_code == 200, r.text
    items = r.json()["items"]
    assert [i["action"] for i in items] == ["user.suspend", "question.lock"]
    first = items[1]
    assert set(first) >= {"id", "actor", "action", "target_type", "target_id", "reason", "created_at"}
    assert first["actor"]["username"] == "omar" and first["reason"] == "heated thread"
    assert first["target_type"] == "question" and first["target_id"] == str(q.id)
    assert [i["action"] for i in client.get(f"{API}/moderation/audit-log?action=question.lock", headers=h).json()["items"]] == ["question.lock"]
    paged = client.get(f"{API}/moderation/audit-log?limit=1", headers=h).json()
    assert len(paged["items"]) == 1 and paged["next_cursor"]
    rest = client.get(f"{API}/moderation/audit-log?limit=1&cursor={paged['next_cursor']}", headers=h).json()
    assert rest["items"][0]["action"] == "question.lock"
    mh = {"Authorization": "Bearer " + client.post(f"{API}/auth/token", data={"username": "maya", "password": PASSWORD}).json()["access_token"]}
    assert client.get(f"{API}/moderation/audit-log", headers=mh).status_code == 403
    assert client.get(f"{API}/moderation/audit-log").status_code == 401
    web = browsers()
    web.sign_in("omar")
    page = web.get("/moderation/audit-log?action=user.suspend")
    assert page.status_code == 200 and "rude" in page.text and "heated thread" not in page.text
    assert 'href="/staff/escalations"' in page.text  # the escalation queue's own log stays, linked


def test_destroy_spammer_leaves_the_ledger_consistent(session, db_url):
    asker, helper = make_user(session, "asker"), make_user(session, "helper")
    spammer = make_user(session, "spammy", email="spammy@spam.example")
    mod = make_user(session, "omar", role="moderator")
    voters = fans(session, 6)
    t = day_start(2)
    good_q = make_question(session, asker)
    good_a = make_answer(session, good_q, helper)
    spam_q = make_question(session, spammer, title="Best dock deals this week only")
    spam_a = make_answer(session, good_q, spammer, body="Buy a new dock from my shop, it fixes everything fast.")
    answer_on_spam = make_answer(session, spam_q, helper)
    for v in voters[:3]:  # the spammer's posts earned reputation
        vote(session, v, spam_q, 1, now=t)
        vote(session, v, spam_a, 1, now=t)
    vote(session, voters[3], answer_on_spam, 1, now=t)  # the helper earned points on the spam thread
    vote(session, spammer, good_a, 1, now=t)  # the spammer's votes gave others reputation
    vote(session, spammer, good_q, 1, now=t)
    answers_service.accept(session, actor=asker, question_id=good_q.id, answer_id=spam_a.id, now=t)
    answers_service.accept(session, actor=spammer, question_id=spam_q.id, answer_id=answer_on_spam.id, now=t)
    comments_service.add(session, actor=spammer, post_type="question", post_id=good_q.id,
                         data=CommentCreate(body="Visit my shop for cheap docks"))
    assert reputation.recompute(session, fix=False).differences == 0
    assert spammer.reputation > 1
    done = suspensions.destroy_spammer(session, actor=mod, username="spammy", block="domain")
    assert (done.questions, done.answers, done.comments, done.votes) == (1, 1, 1, 2)
    assert done.blocked == "@spam.example"
    session.refresh(spammer)
    assert not spammer.is_active and spammer.reputation == 1
    assert session.exec(select(BlockedEmail.pattern)).all() == ["@spam.example"]
    assert reputation.recompute(session, fix=False).differences == 0
    session.commit()
    r = run(["recompute-reputation", "--check"], db_url)
    assert r.returncode == 0, r.stderr
    assert "0 missing" in r.stdout and "0 cached balances corrected" in r.stdout
    with pytest.raises(InvalidInput):
        accounts_service.register(session, UserCreate(username="spammy2", email="again@spam.example",
                                                      password="a long unguessable pass 42"), self_service=True)
    assert _last(session).action == "user.destroy"
    with pytest.raises(Forbidden):
        suspensions.destroy_spammer(session, actor=helper, username="asker")


def test_locked_and_protected_threads(session):
    author, helper, newcomer = make_user(session), make_user(session, reputation=200), make_user(session)
    mod = make_user(session, role="moderator")
    q = make_question(session, author)
    a = make_answer(session, q, helper)
    posts.set_lock(session, actor=mod, question_id=q.id, locked=True)
    body = AnswerCreate(body="Another idea: reset the dock's firmware from the settings app.")
    with pytest.raises(Conflict, match="locked"):
        answers_service.post(session, actor=helper, question_id=q.id, data=body)
    with pytest.raises(Conflict, match="locked"):
        comments_service.add(session, actor=author, post_type="answer", post_id=a.id,
                             data=CommentCreate(body="Did not help."))
    with pytest.raises(Conflict, match="locked"):
        votes_service.cast(session, actor=author, post_type="answer", post_id=a.id, value=1)
    with pytest.raises(Conflict, match="locked"):
        questions_service.edit(session, actor=author, question_id=q.id,
                               data=QuestionUpdate(body="Edited while locked, which is refused."))
    with pytest.raises(Forbidden):
        posts.set_lock(session, actor=helper, question_id=q.id, locked=False)
    posts.set_lock(session, actor=mod, question_id=q.id, locked=False)
    posts.set_protect(session, actor=mod, question_id=q.id, protected=True)
    with pytest.raises(Forbidden, match="protected"):
        answers_service.post(session, actor=newcomer, question_id=q.id, data=body)
    assert answers_service.post(session, actor=helper, question_id=q.id, data=body).id


def test_admin_changes_a_role_on_the_web(session, browsers):
    make_user(session, "ada", role="admin")
    make_user(session, "omar", role="moderator")
    member = make_user(session, "raj")
    session.commit()
    web = browsers()
    web.sign_in("omar")
    page = web.get("/users/raj/moderate")
    assert page.status_code == 200 and 'value="role"' not in page.text  # moderators do not see the role form
    web = browsers()
    web.sign_in("ada")
    r = web.submit("/users/raj/moderate", "/users/raj/moderate", {"do": "role", "role": "moderator", "reason": "helps"})
    assert r.status_code == 303
    session.expire_all()
    assert session.get(User, member.id).role == "moderator"
    assert _last(session).action == "user.role"
