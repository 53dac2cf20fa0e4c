"""The services called directly with a session (flush only): the rules behind the API."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func
from sqlmodel import select

from app.accounts import service as accounts_service
from app.accounts.models import Role, User
from app.accounts.schemas import UserCreate
from app.answers import service as answers_service
from app.answers.models import Answer
from app.comments import service as comments_service
from app.core.db import utcnow
from app.core.errors import Conflict, Forbidden, InvalidInput, NotAuthenticated, NotFound
from app.products import service as products_service
from app.products.schemas import ProductCreate, ProductUpdate
from app.questions import service as questions_service
from app.questions.models import Question, QuestionStatus, QuestionTag, Revision, Tag
from app.questions.schemas import AnswerCreate, AnswerUpdate, CommentCreate, QuestionCreate, QuestionUpdate
from app.votes import service as votes_service
from app.votes.models import Vote
from tests.factories import PASSWORD


def _count(session, model, *where) -> int:
    return session.exec(select(func.count()).select_from(model).where(*where)).one()


# --- accounts ---------------------------------------------------------------------------------

def test_register_and_authenticate(session):
    user = accounts_service.register(session, UserCreate(username="Zed", email="Zed@Example.com", password=PASSWORD))
    assert user.id and user.username == "zed" and user.role == "customer" and user.password_hash != PASSWORD
    assert accounts_service.authenticate(session, "ZED", PASSWORD).id == user.id
    assert accounts_service.authenticate(session, "zed@example.com", PASSWORD).id == user.id
    assert accounts_service.authenticate(session, "zed", "wrong password") is None
    assert accounts_service.authenticate(session, "nobody", PASSWORD) is None
    user.is_active = False
    assert accounts_service.authenticate(session, "zed", PASSWORD) is None


def test_register_conflicts(session, factory):
    factory.user("taken", email="taken@example.com")
    with pytest.raises(Conflict):
        accounts_service.register(session, UserCreate(username="taken", email="x@example.com", password=PASSWORD))
    with pytest.raises(Conflict):
        accounts_service.register(session, UserCreate(username="fresh", email="TAKEN@example.com", password=PASSWORD))
    assert _count(session, User) == 1


def test_get_by_username_hides_inactive(session, factory):
    factory.user("ghost", is_active=False)
    with pytest.raises(NotFound):
        accounts_service.get_by_username(session, "ghost")


def test_set_role_only_by_admin(session, factory):
    admin, staff, user = factory.user(role="admin"), factory.user(role="staff"), factory.user()
    with pytest.raises(Forbidden):
        accounts_service.set_role(session, actor=staff, user=user, role=Role.moderator)
    assert accounts_service.set_role(session, actor=admin, user=user, role=Role.moderator).role == "moderator"


def test_sign_out_everywhere_bumps_token_version(session, factory):
    user = factory.user()
    before = user.token_version
    accounts_service.sign_out_everywhere(session, user)
    assert user.token_version == before + 1


def test_api_keys(session, factory):
    owner = factory.user()
    key, plain = accounts_service.create_api_key(session, user=owner, name="  shop  ")
    assert plain.startswith("gsk_") and key.key_hash != plain and key.name == "shop"
    assert accounts_service.user_for_api_key(session, plain).id == owner.id
    assert accounts_service.user_for_api_key(session, plain + "x") is None
    owner.is_active = False
    assert accounts_service.user_for_api_key(session, plain) is None
    owner.is_active = True
    accounts_service.revoke_api_key(session, key.id)
    assert accounts_service.user_for_api_key(session, plain) is None
    with pytest.raises(InvalidInput):
        accounts_service.create_api_key(session, user=owner, name="   ")
    with pytest.raises(NotFound):
        accounts_service.revoke_api_key(session, 999_999)


# --- products ---------------------------------------------------------------------------------

def test_products_create_update_resolve(session, factory):
    staff, customer = factory.user(role="staff"), factory.user()
    data = ProductCreate(slug="Dock-Pro", name="Dock Pro")
    with pytest.raises(NotAuthenticated):
        products_service.create(session, actor=None, data=data)
    with pytest.raises(Forbidden):
        products_service.create(session, actor=customer, data=data)
    product = products_service.create(session, actor=staff, data=data)
    assert product.slug == "dock-pro"
    with pytest.raises(Conflict):
        products_service.create(session, actor=staff, data=data)
    with pytest.raises(Forbidden):
        products_service.update(session, actor=customer, slug="dock-pro", data=ProductUpdate(name="Hacked"))
    assert products_service.update(session, actor=staff, slug="dock-pro",
                                   data=ProductUpdate(description="Better")).description == "Better"
    assert products_service.resolve(session, " Dock-Pro ").id == product.id
    assert products_service.resolve(session, None) is None and products_service.resolve(session, "") is None
    with pytest.raises(InvalidInput):
        products_service.resolve(session, "nope")
    with pytest.raises(NotFound):
        products_service.get(session, "nope")


def test_product_question_counts(session, factory):
    p = factory.product("aero-14")
    q1 = factory.question(product="aero-14")
    factory.question(product="aero-14")
    factory.question()
    assert products_service.question_counts(session) == {p.id: 2}
    questions_service.delete_question(session, actor=session.get(User, q1.author_id), question_id=q1.id)
    assert products_service.question_counts(session, [p.id]) == {p.id: 1}


# --- questions --------------------------------------------------------------------------------

def _ask(session, actor, **kw):
    data = dict(title="Battery drains overnight in sleep", body="Lost 40% overnight with the lid closed. Why?",
                tags=["Battery", "sleep"])
    data.update(kw)
    return questions_service.ask(session, actor=actor, data=QuestionCreate(**data))


def test_ask_writes_question_tags_and_first_revision(session, factory):
    user = factory.user()
    q = _ask(session, user)
    assert q.id and q.slug == "battery-drains-overnight-in-sleep" and q.status == QuestionStatus.open
    assert q.created_at.tzinfo is not None and q.last_activity_at == q.created_at
    assert questions_service.tags_for(session, [q.id]) == {q.id: ["battery", "sleep"]}
    (rev,) = session.exec(select(Revision).where(Revision.post_type == "question", Revision.post_id == q.id)).all()
    assert rev.number == 1 and rev.tags == "battery sleep" and rev.author_id == user.id


def test_ask_refusals_write_nothing(session, factory):
    user = factory.user()
    with pytest.raises(NotAuthenticated):
        _ask(session, None)
    with pytest.raises(Forbidden):
        _ask(session, factory.user(is_active=False))
    with pytest.raises(InvalidInput):
        _ask(session, user, tags=["a", "b", "c", "d", "e", "f"])
    with pytest.raises(InvalidInput):
        _ask(session, user, tags=["new-tag"], product="missing")
    assert _count(session, Question) == 0 and _count(session, Tag) == 0 and _count(session, Revision) == 0


def test_existing_tags_are_reused(session, factory):
    q1 = _ask(session, factory.user(), tags=["wifi"])
    q2 = _ask(session, factory.user(), tags=["WiFi", "new"])
    assert _count(session, Tag) == 2
    assert questions_service.tags_for(session, [q1.id, q2.id]) == {q1.id: ["wifi"], q2.id: ["wifi", "new"]}


def test_edit_revisions_and_permissions(session, factory):
    author, mod, other = factory.user(), factory.user(role="moderator"), factory.user()
    factory.product("aero-14")
    q = _ask(session, author)
    with pytest.raises(Forbidden):
        questions_service.edit(session, actor=other, question_id=q.id, data=QuestionUpdate(title="Someone else's title"))
    questions_service.edit(session, actor=author, question_id=q.id,
                           data=QuestionUpdate(tags=["sleep", "Power"], product="aero-14", comment="tags"))
    assert questions_service.tags_for(session, [q.id])[q.id] == ["sleep", "power"]
    assert q.product_id is not None and q.updated_at is not None
    questions_service.edit(session, actor=mod, question_id=q.id, data=QuestionUpdate(body="A clearer body from a moderator."))
    # no change: no revision
    questions_service.edit(session, actor=author, question_id=q.id, data=QuestionUpdate(title=q.title))
    views = questions_service.revisions(session, "question", q.id)
    assert [v.revision.number for v in views] == [3, 2, 1]
    assert views[0].author.id == mod.id and views[1].revision.comment == "tags"
    assert views[1].tags_changed == ("battery sleep", "sleep power")
    assert ("insert", "A clearer body from a moderator.") in views[0].body_diff
    # product removed explicitly
    questions_service.edit(session, actor=author, question_id=q.id, data=QuestionUpdate(product=None))
    assert q.product_id is None
    assert [v.revision.product_slug for v in questions_service.revisions(session, "question", q.id)][:2] == [None, "aero-14"]


def test_delete_question_soft(session, factory):
    author, other = factory.user(), factory.user()
    q = _ask(session, author)
    with pytest.raises(Forbidden):
        questions_service.delete_question(session, actor=other, question_id=q.id)
    questions_service.delete_question(session, actor=author, question_id=q.id)
    assert q.deleted_at is not None and q.deleted_by_id == author.id
    with pytest.raises(NotFound):
        questions_service.get_visible(session, q.id)
    assert questions_service.list_questions(session).items == []
    assert questions_service.popular_tags(session) == []


def test_list_questions_keyset(session, factory):
    qs = [factory.question() for _ in range(5)]
    base = utcnow() - timedelta(hours=1)
    for i, q in enumerate(qs):
        q.created_at = base + timedelta(minutes=i)
    qs[0].created_at = qs[1].created_at  # a tie on the sort key: id decides
    session.flush()
    seen, cursor = [], None
    while True:
        page = questions_service.list_questions(session, limit=2, cursor=cursor)
        seen += [q.id for q in page.items]
        cursor = page.next_cursor
        if cursor is None:
            break
    assert seen == [qs[4].id, qs[3].id, qs[2].id, qs[1].id, qs[0].id]
    with pytest.raises(InvalidInput):
        questions_service.list_questions(session, limit=0)
    with pytest.raises(NotFound):
        questions_service.list_questions(session, product="nope")


def test_list_filters(session, factory):
    factory.product("aero-14")
    a = factory.question(product="aero-14", tags=["wifi"])
    b = factory.question(tags=["Dock Pro"])
    ans = factory.answer(a)
    answers_service.accept(session, actor=session.get(User, a.author_id), question_id=a.id, answer_id=ans.id)
    ids = lambda **kw: [q.id for q in questions_service.list_questions(session, **kw).items]  # noqa: E731
    assert ids(product="aero-14") == [a.id]
    assert ids(tag="dock pro") == [b.id] and ids(tag="DOCK-PRO") == [b.id]
    assert ids(solved=True) == [a.id] and ids(solved=False) == [b.id]
    assert ids(sort="unanswered") == [b.id]
    assert ids(author_id=b.author_id) == [b.id]


def test_popular_tags(session, factory):
    factory.question(tags=["wifi", "dock"])
    factory.question(tags=["wifi"])
    assert questions_service.popular_tags(session) == [("wifi", 2), ("dock", 1)]
    assert questions_service.get_tag(session, "WIFI").name == "wifi"
    with pytest.raises(NotFound):
        questions_service.get_tag(session, "none")


# --- answers ----------------------------------------------------------------------------------

def test_post_answer_counts_and_revision(session, factory):
    q = factory.question()
    before = q.last_activity_at
    a1 = factory.answer(q)
    factory.answer(q)
    session.refresh(q)
    assert q.answer_count == 2 and q.last_activity_at >= before
    assert _count(session, Revision, Revision.post_type == "answer", Revision.post_id == a1.id) == 1
    with pytest.raises(NotAuthenticated):
        answers_service.post(session, actor=None, question_id=q.id, data=AnswerCreate(body="x" * 25))
    with pytest.raises(NotFound):
        answers_service.post(session, actor=factory.user(), question_id=q.id + 100, data=AnswerCreate(body="x" * 25))


def test_answer_on_closed_question_is_conflict(session, factory):
    q = factory.question()
    q.status = QuestionStatus.duplicate.value
    session.flush()
    with pytest.raises(Conflict):
        factory.answer(q)
    assert _count(session, Answer) == 0


def test_edit_answer(session, factory):
    q = factory.question()
    author = factory.user()
    a = factory.answer(q, author=author)
    with pytest.raises(Forbidden):
        answers_service.edit(session, actor=factory.user(), answer_id=a.id, data=AnswerUpdate(body="y" * 30))
    answers_service.edit(session, actor=author, answer_id=a.id, data=AnswerUpdate(body="Better: " + "y" * 30))
    answers_service.edit(session, actor=author, answer_id=a.id, data=AnswerUpdate(body="Better: " + "y" * 30))
    assert a.updated_at is not None and "Better" in a.body_html
    assert _count(session, Revision, Revision.post_type == "answer", Revision.post_id == a.id) == 2


def test_accept_rules(session, factory):
    asker, staff, other = factory.user(), factory.user(role="staff"), factory.user()
    q = factory.question(asker)
    a1, a2 = factory.answer(q), factory.answer(q)
    foreign = factory.answer(factory.question())
    with pytest.raises(Forbidden):
        answers_service.accept(session, actor=other, question_id=q.id, answer_id=a1.id)
    with pytest.raises(Forbidden):
        answers_service.accept(session, actor=staff, question_id=q.id, answer_id=a1.id)
    with pytest.raises(InvalidInput):
        answers_service.accept(session, actor=asker, question_id=q.id, answer_id=foreign.id)
    with pytest.raises(InvalidInput):
        answers_service.accept(session, actor=asker, question_id=q.id, answer_id=2**40)
    assert answers_service.accept(session, actor=asker, question_id=q.id, answer_id=a1.id).accepted_answer_id == a1.id
    assert answers_service.accept(session, actor=asker, question_id=q.id, answer_id=a2.id).accepted_answer_id == a2.id
    q.created_at = utcnow() - timedelta(days=15)
    session.flush()
    assert answers_service.unaccept(session, actor=staff, question_id=q.id).accepted_answer_id is None
    assert answers_service.accept(session, actor=staff, question_id=q.id, answer_id=a1.id).accepted_answer_id == a1.id
    with pytest.raises(Forbidden):
        answers_service.unaccept(session, actor=other, question_id=q.id)


def test_delete_answer_updates_question(session, factory):
    asker = factory.user()
    q = factory.question(asker)
    a1, a2 = factory.answer(q), factory.answer(q)
    answers_service.accept(session, actor=asker, question_id=q.id, answer_id=a1.id)
    with pytest.raises(Forbidden):
        answers_service.delete_answer(session, actor=factory.user(), answer_id=a1.id)
    with pytest.raises(Conflict):  # its author may not delete an accepted answer (issue 10 item 9)
        answers_service.delete_answer(session, actor=session.get(User, a1.author_id), answer_id=a1.id)
    answers_service.delete_answer(session, actor=factory.user(role="moderator"), answer_id=a1.id)
    session.refresh(q)
    assert q.answer_count == 1 and q.accepted_answer_id is None
    assert [a.id for a in answers_service.for_question(session, q.id)] == [a2.id]
    with pytest.raises(NotFound):
        answers_service.get_visible(session, a1.id)
    # an answer of a deleted question is gone too
    questions_service.delete_question(session, actor=asker, question_id=q.id)
    with pytest.raises(NotFound):
        answers_service.get_visible(session, a2.id)


# --- votes ------------------------------------------------------------------------------------

def test_vote_sequence(session, factory):
    q = factory.question()
    voter, second = factory.user(role="moderator"), factory.user(role="moderator")  # moderators may vote down
    cast = lambda who, v, post_type="question", pid=q.id: votes_service.cast(  # noqa: E731
        session, actor=who, post_type=post_type, post_id=pid, value=v)
    assert cast(voter, 1) == (1, 1)
    assert cast(voter, 1) == (1, 1)
    assert cast(second, -1) == (0, -1)
    assert cast(voter, -1) == (-2, -1)
    assert cast(voter, 0) == (-1, 0)
    assert cast(voter, 0) == (-1, 0)
    assert _count(session, Vote) == 1
    assert votes_service.my_votes(session, second, "question", [q.id]) == {q.id: -1}
    assert votes_service.my_votes(session, voter, "question", [q.id]) == {}
    assert votes_service.my_votes(session, None, "question", [q.id]) == {}
    session.refresh(q)
    assert q.score == -1


def test_vote_refusals(session, factory):
    author = factory.user()
    q = factory.question(author)
    a = factory.answer(q, author=author)
    with pytest.raises(Forbidden):
        votes_service.cast(session, actor=author, post_type="question", post_id=q.id, value=1)
    with pytest.raises(Forbidden):
        votes_service.cast(session, actor=author, post_type="answer", post_id=a.id, value=1)
    with pytest.raises(NotAuthenticated):
        votes_service.cast(session, actor=None, post_type="answer", post_id=a.id, value=1)
    with pytest.raises(NotFound):
        votes_service.cast(session, actor=factory.user(), post_type="answer", post_id=a.id + 50, value=1)
    with pytest.raises(NotFound):
        votes_service.cast(session, actor=factory.user(), post_type="comment", post_id=1, value=1)
    assert _count(session, Vote) == 0


# --- comments ---------------------------------------------------------------------------------

def test_comments(session, factory):
    q = factory.question()
    a = factory.answer(q)
    writer, other, mod = factory.user(reputation=50), factory.user(), factory.user(role="moderator")
    c1 = comments_service.add(session, actor=writer, post_type="question", post_id=q.id, data=CommentCreate(body="Which model?"))
    c2 = comments_service.add(session, actor=writer, post_type="answer", post_id=a.id, data=CommentCreate(body="Thanks"))
    found = comments_service.for_posts(session, [("question", q.id), ("answer", a.id)])
    assert [c.id for c in found[("question", q.id)]] == [c1.id] and [c.id for c in found[("answer", a.id)]] == [c2.id]
    with pytest.raises(Forbidden):
        comments_service.delete_comment(session, actor=other, comment_id=c1.id)
    comments_service.delete_comment(session, actor=mod, comment_id=c1.id)
    with pytest.raises(NotFound):
        comments_service.delete_comment(session, actor=writer, comment_id=c1.id)
    assert ("question", q.id) not in comments_service.for_posts(session, [("question", q.id)])
    with pytest.raises(NotFound):
        comments_service.add(session, actor=writer, post_type="question", post_id=q.id + 9, data=CommentCreate(body="??"))
    with pytest.raises(NotFound):
        comments_service.add(session, actor=writer, post_type="user", post_id=1, data=CommentCreate(body="??"))
    assert comments_service.for_posts(session, []) == {}


def test_question_tags_replaced_not_orphaned(session, factory):
    author = factory.user()
    q = _ask(session, author, tags=["one", "two"])
    questions_service.edit(session, actor=author, question_id=q.id, data=QuestionUpdate(tags=["two"]))
    assert _count(session, QuestionTag, QuestionTag.question_id == q.id) == 1
    questions_service.edit(session, actor=author, question_id=q.id, data=QuestionUpdate(tags=[]))
    assert questions_service.tags_for(session, [q.id]) == {}
