"""On the forum: a loop of duplicates is refused with a
message naming it and nothing changed."""

from __future__ import annotations

from sqlmodel import select

from app.questions.models import Question
from tests.web.conftest import db_rows, text_of


def test_closing_in_a_loop_is_explained_on_the_page(web, factory, session):
    a = factory.question(title="Smart plug drops off the network at night")
    b = factory.question(title="Plug disconnects from wifi overnight")
    factory.user("omar", role="moderator")
    session.commit()
    web.sign_in("omar")
    r = web.submit(f"/questions/{a.id}/{a.slug}", f"/questions/{a.id}/close-as-duplicate",
                   {"original": str(b.id), "confirmed": "1"})  # as the confirmation step's button posts
    assert r.status_code == 303
    r = web.submit(f"/questions/{b.id}/{b.slug}", f"/questions/{b.id}/close-as-duplicate",
                   {"original": f"/questions/{a.id}/{a.slug}", "confirmed": "1"})
    page = text_of(web.follow(r).text)
    assert f"would make a loop: {b.id} → {a.id} → {b.id}" in page
    session.expire_all()
    rows = {q.id: (q.status, q.duplicate_of_id) for q in db_rows(session, select(Question))}
    assert rows == {a.id: ("duplicate", b.id), b.id: ("open", None)}
