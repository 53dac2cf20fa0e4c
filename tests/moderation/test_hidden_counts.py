"""Hidden posts (held for review, hidden after flags or by a moderator) stay out of every public
count and list: a profile's counts and tabs, `answer_count` (and so the Unanswered list), tag and
product counts. Their author and moderators still see them on the profile, marked."""

from __future__ import annotations

from sqlalchemy import func
from sqlmodel import select

from app.answers import service as answers_service
from app.answers.models import Answer
from app.moderation import posts, review
from app.products import service as products_service
from app.products.schemas import ProductCreate, ProductUpdate
from app.questions.models import Question
from tests.factories import make_answer, make_question, make_user
from tests.web.conftest import browsers, text_of  # noqa: F401  (fixture)

API = "/api/v1"


def _reviewed_product(session, slug="dock"):
    staff = make_user(session, role="staff")
    products_service.create(session, actor=staff, data=ProductCreate(slug=slug, name="Dock Pro"))
    return staff


def _review_on(session, staff, slug="dock"):
    products_service.update(session, actor=staff, slug=slug, data=ProductUpdate(first_posts_review=True))


def _visible_answers(session, question_id: int) -> int:
    return session.exec(select(func.count()).select_from(Answer).where(
        Answer.question_id == question_id, Answer.deleted_at.is_(None), Answer.hidden_at.is_(None))).one()


def _count(session, question) -> int:
    session.refresh(question)
    assert question.answer_count == _visible_answers(session, question.id)  # the rule, at every step
    return question.answer_count


def test_answer_count_follows_visibility_through_hold_hide_unhide_and_delete(session, client):
    staff = _reviewed_product(session)
    asker, helper, other = make_user(session), make_user(session), make_user(session)
    q = make_question(session, asker, product="dock", title="Dock does not wake the second screen")
    _review_on(session, staff)
    mod = make_user(session, role="moderator")

    held = make_answer(session, q, helper)  # the helper's first post here: held at creation
    assert held.hidden_reason == "review"
    assert _count(session, q) == 0
    session.commit()
    assert client.get(f"{API}/questions/{q.id}").json()["answer_count"] == 0
    # Still unanswered for everyone: a held answer does not take it off the list.
    assert q.id in [i["id"] for i in client.get(f"{API}/questions?sort=unanswered").json()["items"]]
    assert f"/questions/{q.id}/" in client.get("/questions?sort=unanswered").text

    review.decide(session, actor=mod, post_type="answer", post_id=held.id, approve=True)
    assert _count(session, q) == 1
    session.commit()
    assert q.id not in [i["id"] for i in client.get(f"{API}/questions?sort=unanswered").json()["items"]]

    ref = posts.load(session, "answer", held.id, viewer=mod)
    posts.hide(session, ref, reason="moderator", actor=mod)
    posts.hide(session, ref, reason="moderator", actor=mod)  # idempotent: counted out once
    assert _count(session, q) == 0
    posts.unhide(session, ref, actor=mod)
    posts.unhide(session, ref, actor=mod)
    assert _count(session, q) == 1

    second = make_answer(session, q, other)
    assert second.hidden_at is None or second.hidden_reason == "review"
    if second.hidden_at is not None:
        review.decide(session, actor=mod, post_type="answer", post_id=second.id, approve=True)
    assert _count(session, q) == 2
    # Hidden, then deleted: counted out once, when it was hidden.
    ref2 = posts.load(session, "answer", second.id, viewer=mod)
    posts.hide(session, ref2, reason="flags", actor=None, notify_author=False)
    assert _count(session, q) == 1
    answers_service.delete_answer(session, actor=mod, answer_id=second.id)
    assert _count(session, q) == 1
    # A held post rejected in review (deleted while hidden) never counted.
    newcomer = make_user(session)
    spam = make_answer(session, q, newcomer)
    assert spam.hidden_reason == "review" and _count(session, q) == 1
    review.decide(session, actor=mod, post_type="answer", post_id=spam.id, approve=False)
    assert _count(session, q) == 1
    answers_service.delete_answer(session, actor=mod, answer_id=held.id)
    assert _count(session, q) == 0
    session.commit()
    body = client.get(f"{API}/questions/{q.id}").json()
    assert body["answer_count"] == 0


def test_merging_moves_only_visible_answers_into_the_count(session):
    from app.questions import duplicates

    staff = _reviewed_product(session)
    a1, a2, helper, newcomer = (make_user(session) for _ in range(4))
    original = make_question(session, a1, product="dock", title="Dock charges the laptop slowly")
    dup = make_question(session, a2, product="dock", title="Slow charging through the dock")
    make_answer(session, dup, helper)
    _review_on(session, staff)
    held = make_answer(session, dup, newcomer)
    assert held.hidden_reason == "review"
    assert _count(session, dup) == 1
    mod = make_user(session, role="moderator")
    duplicates.merge(session, actor=mod, question_id=dup.id, original_id=original.id)
    assert _count(session, original) == 1 and _count(session, dup) == 0


def test_profile_counts_and_lists_leave_out_hidden_posts_for_others(session, browsers):  # noqa: F811
    staff = _reviewed_product(session)
    newbie, asker = make_user(session, "newbie"), make_user(session, "asker")
    open_q = make_question(session, newbie, title="Wi-Fi card not found after the update")
    theirs = make_question(session, asker, product="dock", title="Dock ethernet port is dead")
    _review_on(session, staff)
    held_q = make_question(session, newbie, product="dock", title="Casino dock bonus question")
    assert held_q.hidden_reason == "review"
    make_question(session, asker, title="Battery drains overnight in sleep")
    held_a = make_answer(session, theirs, make_user(session, "helper2"))
    assert held_a.hidden_reason == "review"
    # newbie's answer on the dock question: its second post there, shown; then hidden after flags.
    shown_a = make_answer(session, theirs, newbie)
    assert shown_a.hidden_at is None
    flagged = make_question(session, asker, title="Touchpad clicks by itself")
    hidden_a = make_answer(session, flagged, newbie)
    posts.hide(session, posts.load(session, "answer", hidden_a.id, viewer=staff), reason="flags", actor=None,
               notify_author=False)
    make_user(session, "mod", role="moderator")
    make_user(session, "stranger")
    session.commit()

    anon = browsers()
    for tab in ("", "?tab=questions", "?tab=answers"):
        page = anon.get(f"/users/newbie{tab}").text
        words = text_of(page)
        assert held_q.title not in words and "Touchpad clicks by itself" not in words, tab
        assert "Hidden" not in words, tab
    summary = text_of(anon.get("/users/newbie").text)
    assert "Questions 1 " in summary and "Answers 1 " in summary, summary[:400]
    assert "1 question" in text_of(anon.get("/users/newbie?tab=questions").text)
    assert "1 answer" in text_of(anon.get("/users/newbie?tab=answers").text)
    assert "Dock ethernet port is dead" in text_of(anon.get("/users/newbie?tab=answers").text)
    # helper2's only answer is held: nobody else sees it or counts it.
    helper_page = text_of(anon.get("/users/helper2?tab=answers").text)
    assert "Dock ethernet port is dead" not in helper_page and "0 answers" in helper_page

    stranger = browsers()
    stranger.sign_in("stranger")
    assert "Casino dock bonus question" not in stranger.get("/users/newbie?tab=questions").text

    for who in ("newbie", "mod"):
        b = browsers()
        b.sign_in(who)
        questions = text_of(b.get("/users/newbie?tab=questions").text)
        assert "2 questions" in questions and "Casino dock bonus question" in questions, who
        assert "Hidden" in questions, who
        answers = text_of(b.get("/users/newbie?tab=answers").text)
        assert "2 answers" in answers and "Touchpad clicks by itself" in answers and "Hidden" in answers, who
        assert "Questions 2 " in text_of(b.get("/users/newbie").text), who
    assert open_q.title in text_of(anon.get("/users/newbie?tab=questions").text)


def test_tag_and_product_counts_leave_out_hidden_questions(session, client):
    staff = _reviewed_product(session)
    asker = make_user(session)
    for n in range(3):
        make_question(session, asker, product="dock", title=f"Display flickers on port {n + 1}", tags=["display"])
    _review_on(session, staff)
    held = make_question(session, make_user(session), product="dock", title="Display casino offer", tags=["display"])
    assert held.hidden_reason == "review"
    hidden = session.exec(select(Question).where(Question.title == "Display flickers on port 3")).one()
    mod = make_user(session, role="moderator")
    posts.hide(session, posts.load(session, "question", hidden.id, viewer=mod), reason="moderator", actor=mod)
    session.commit()

    listed = [i["id"] for i in client.get(f"{API}/questions?tag=display").json()["items"]]
    assert len(listed) == 2
    tags = {t["name"]: t["question_count"] for t in client.get(f"{API}/tags").json()["items"]}
    assert tags["display"] == 2
    typed = {t["name"]: t["question_count"] for t in client.get(f"{API}/tags?prefix=disp").json()["items"]}
    assert typed["display"] == 2
    assert client.get(f"{API}/products/dock").json()["question_count"] == 2
    assert {p["slug"]: p["question_count"] for p in client.get(f"{API}/products").json()["items"]}["dock"] == 2
    directory = text_of(client.get("/tags?q=display", headers={"Accept": "text/html"}).text)
    assert "display 2 questions" in directory, directory
    sidebar = text_of(client.get("/questions", headers={"Accept": "text/html"}).text)
    assert "Dock Pro 2 " in sidebar and "display , 2 questions" in sidebar, sidebar
