"""Issue 10 item 9 on the forum: no Delete button where deleting would be refused, and a message
on the question (not an error page) when a page from before the answer was accepted is used."""

from __future__ import annotations

from app.answers import service as answers_service
from app.questions.models import Question
from app.votes import service as votes_service
from tests.web.conftest import csrf_from, text_of


def test_asker_sees_why_an_answered_question_stays(web, browsers, session, factory):
    asker, helper = factory.user("asker"), factory.user("helper")
    q = factory.question(author=asker, title="Keyboard backlight never turns off on the Aero 14")
    a = factory.answer(q, author=helper, body="Fn+F5 cycles the backlight; off is the fourth press.")
    session.commit()
    web.sign_in("asker")
    url = f"/questions/{q.id}/{q.slug}"
    before = web.get(url).text
    assert f'action="/questions/{q.id}/delete"' in before  # nothing accepted or upvoted yet
    token = csrf_from(before, f"/questions/{q.id}/delete")
    answers_service.accept(session, actor=asker, question_id=q.id, answer_id=a.id)
    session.commit()

    page = web.get(url).text
    assert f'action="/questions/{q.id}/delete"' not in page
    # the page loaded earlier still has the button: pressing it explains instead of deleting
    r = web.post(f"/questions/{q.id}/delete", {"csrf_token": token})
    assert r.status_code == 303 and r.headers["location"] == url
    shown = web.follow(r)
    assert shown.status_code == 200
    assert 'role="alert"' in shown.text
    assert "cannot be deleted because it has an accepted answer by another member" in text_of(shown.text)
    session.expire_all()
    assert session.get(Question, q.id).deleted_at is None


def test_helper_cannot_delete_the_accepted_answer_but_a_moderator_can(web, browsers, session, factory):
    asker, helper, voter = factory.user("asker"), factory.user("helper"), factory.user("voter")
    factory.user("mod", role="moderator")
    q = factory.question(author=asker, title="Fan runs at full speed after waking from sleep")
    a = factory.answer(q, author=helper, body="Update the embedded controller firmware to 1.07.")
    votes_service.cast(session, actor=voter, post_type="answer", post_id=a.id, value=1)
    session.commit()
    web.sign_in("helper")
    url = f"/questions/{q.id}/{q.slug}"
    token = csrf_from(web.get(url).text, f"/answers/{a.id}/delete")
    answers_service.accept(session, actor=asker, question_id=q.id, answer_id=a.id)
    session.commit()
    assert f'action="/answers/{a.id}/delete"' not in web.get(url).text
    r = web.post(f"/answers/{a.id}/delete", {"csrf_token": token})
    assert r.status_code == 303 and r.headers["location"] == f"{url}#answer-{a.id}"
    assert "the asker accepted it" in text_of(web.follow(r).text)

    mod = browsers()
    mod.sign_in("mod")
    page = mod.get(url).text
    assert f'action="/answers/{a.id}/delete"' in page and f'action="/questions/{q.id}/delete"' in page
    r = mod.post(f"/questions/{q.id}/delete", {"csrf_token": csrf_from(page, f"/questions/{q.id}/delete")})
    assert r.status_code == 303 and r.headers["location"] == "/"
    session.expire_all()
    assert session.get(Question, q.id).deleted_at is not None
