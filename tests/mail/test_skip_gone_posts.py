"""An instant notification mail about a post that is hidden, deleted or moved to the internal space
by the time the worker sends it is skipped (status "skipped", with the reason), by the pages' own
rule (app/moderation/posts.load with the recipient as viewer)."""

from __future__ import annotations

from types import SimpleNamespace

from sqlmodel import Session

from app.accounts.models import Role
from app.mail import delivery, outbox, sender
from app.moderation import posts
from app.questions import service as questions_service
from app.questions.models import Question
from tests.factories import make_answer, make_question, make_user
from tests.mail.helpers import outbox_rows, run_worker


def _answered(session, engine):
    """maya asks, raj answers: one answer_posted mail to maya waits in the outbox."""
    maya, raj = make_user(session, "maya"), make_user(session, "raj")
    mod = make_user(session, "moira", role=Role.moderator)
    q = make_question(session, author=maya, title="Dock does not charge the laptop")
    a = make_answer(session, q, author=raj, body="Use the 100 W cable that came in the box.")
    session.commit()
    [row] = outbox_rows(engine, kind="answer_posted")
    assert row.to_addr == "maya@example.com" and f"#answer-{a.id}" in row.text_body
    return SimpleNamespace(maya=maya, raj=raj, mod=mod, q=q, a=a, row=row)


def test_answer_hidden_before_sending_is_skipped(session, clean_engine, smtp, settings):
    handler, _ = smtp
    outbox.configure(settings)
    t = _answered(session, clean_engine)
    raj, mod, a, row = t.raj, t.mod, t.a, t.row
    delivery.set_preference(session, raj, "post_hidden", "email")  # (its default is the daily digest)
    posts.hide(session, posts.load(session, "answer", a.id, viewer=mod), reason="moderator", actor=mod)
    session.commit()
    result = run_worker(clean_engine, settings)
    [skipped] = outbox_rows(clean_engine, id=row.id)
    assert skipped.status == "skipped" and skipped.sent_at is None
    assert skipped.last_error.startswith(f"not sent: answer {a.id}, which it is about, is ")
    assert "deleted, hidden or moved to the internal space" in skipped.last_error
    assert result.skip_reasons == {row.id: skipped.last_error} and result.dead == 0 and result.retrying == 0
    # the author still hears that the answer is hidden (that notice is about the hiding itself)
    assert [m.rcpt_tos for m in handler.messages] == [["raj@example.com"]]
    assert "hidden" in handler.messages[0].message["Subject"]
    assert f"1 skipped (not sent: answer {a.id}, which it is about" in result.summary()
    # skipped is final: nothing later sends it
    assert not run_worker(clean_engine, settings).did_work


def test_question_deleted_before_sending_is_skipped(session, clean_engine, smtp, settings):
    handler, _ = smtp
    outbox.configure(settings)
    t = _answered(session, clean_engine)
    mod, q, a, row = t.mod, t.q, t.a, t.row
    questions_service.delete_question(session, actor=mod, question_id=q.id)
    session.commit()
    result = run_worker(clean_engine, settings)
    [skipped] = outbox_rows(clean_engine, id=row.id)
    assert skipped.status == "skipped" and result.skipped == 1
    assert skipped.last_error == (f"not sent: answer {a.id}, which it is about, is deleted, "
                                  "so the recipient may not see it")
    assert "maya@example.com" not in [r for m in handler.messages for r in m.rcpt_tos]


def test_question_moved_to_the_internal_space_reaches_staff_only(session, clean_engine, smtp, settings, browsers):
    handler, _ = smtp
    outbox.configure(settings)
    maya = make_user(session, "maya")
    lena = make_user(session, "lena", role=Role.staff)
    q = make_question(session, author=make_user(session, "raj"), title="Dock firmware 2.1 bricks the hub")
    link = f"{settings.base_url}/questions/{q.id}/{q.slug}"
    rows = [outbox.enqueue(session, to=u.email, user=u, kind="followed_new_question", template="notification",
                           subject="New question: Dock firmware", context={"text": "New question.", "link": link,
                                                                           "kind_label": ""})
            for u in (maya, lena)]
    session.commit()
    assert sender.linked_post(rows[0]) == ("question", q.id)
    with Session(clean_engine) as s:  # staff move it to the internal space before the worker runs
        moved = s.get(Question, q.id)
        moved.visibility = "internal"
        s.add(moved)
        s.commit()
    result = run_worker(clean_engine, settings)
    assert (result.sent, result.skipped) == (1, 1)
    assert [m.rcpt_tos for m in handler.messages] == [["lena@example.com"]]
    [maya_row] = outbox_rows(clean_engine, id=rows[0].id)
    assert maya_row.status == "skipped" and "moved to the internal space" in maya_row.last_error
    # staff see it, with its reason, under the Skipped tab of /staff/mail
    b = browsers()
    b.sign_in("lena")
    listing = b.get("/staff/mail?status=skipped")
    assert listing.status_code == 200 and 'href="/staff/mail?status=skipped" aria-current="page"' in listing.text
    assert f'href="/staff/mail/{maya_row.id}"' in listing.text and f'href="/staff/mail/{rows[1].id}"' not in listing.text
    assert "moved to the internal space" in listing.text


def test_visible_post_is_sent_and_the_askers_own_hidden_question_too(session, clean_engine, smtp, settings):
    """The rule is the page's: a hidden question still shows to its author, so their mail about it goes."""
    handler, _ = smtp
    outbox.configure(settings)
    t = _answered(session, clean_engine)
    mod, q, row = t.mod, t.q, t.row
    posts.hide(session, posts.load(session, "question", q.id, viewer=mod), reason="moderator", actor=mod)
    session.commit()
    result = run_worker(clean_engine, settings)
    assert result.skipped == 0
    assert outbox_rows(clean_engine, id=row.id)[0].status == "sent"
    assert ["maya@example.com"] in [m.rcpt_tos for m in handler.messages]


def test_links_that_name_no_post_are_not_checked():
    from app.mail.models import EmailOutbox

    def row(kind, link, security=False):
        return EmailOutbox(to_addr="a@example.com", to_key="a@example.com", kind=kind, security=security,
                           subject="s", text_body=f"Text “/questions/5/x” quoted.\n\n{link}\n\n-- \nfooter",
                           html_body="", message_id="<x@y>")

    assert sender.linked_post(row("answer_posted", "http://h/questions/12/dock#answer-7")) == ("answer", 7)
    assert sender.linked_post(row("comment_posted", "https://h/forum/questions/12/dock#comment-3")) == ("comment", 3)
    assert sender.linked_post(row("mention", "http://h/questions/12/dock")) == ("question", 12)
    assert sender.linked_post(row("escalation_assigned", "http://h/escalations/4")) is None
    assert sender.linked_post(row("flag_helpful", "http://h/moderation/my-flags")) is None
    assert sender.linked_post(row("post_hidden", "http://h/questions/12/dock#answer-7")) is None
    assert sender.linked_post(row("digest_daily", "http://h/questions/12/dock")) is None
    assert sender.linked_post(row("password_reset", "http://h/questions/12/dock", security=True)) is None
