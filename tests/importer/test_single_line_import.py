"""The importer stores names and titles as one line, as the site's own services do
(app/core/text.py clean_single_line): a dump's display names, question titles and the names of
authors without an account arrive without newlines, tabs, control characters, zero-width spaces or
direction overrides. Tag names are left alone (docs/content-rules.md)."""

from __future__ import annotations

from sqlmodel import select

from app.accounts.models import User
from app.answers.models import Answer
from app.questions.models import Question, Revision
from tests.importer.dumps import Dump
from tests.importer.support import run_import


def test_names_and_titles_arrive_as_one_line(db, read, tmp_path):
    d = Dump()
    d.user(1, "Alice\n\tAsker\u200b").user(2, "\u202eBob\u202c Builder\u0007").user(3, "\u200b\n")
    d.question(10, "Router\nreboots\t every  hour\u0085", owner=1)
    d.question(20, "\u200b\t\n", owner=2, created="2021-01-04T09:00:00.000")
    d.answer(11, 10, owner=None, OwnerDisplayName="Old\nTimer\u2066")
    run_import(db, d.write(tmp_path / "dump"))
    with read() as s:
        names = set(s.exec(select(User.display_name)).all())
        assert {"Alice Asker", "Bob Builder", "user 3"} <= names, names
        titles = {q.title for q in s.exec(select(Question)).all()}
        assert titles == {"Router reboots every hour", "Question 20"}, titles
        assert set(s.exec(select(Revision.title).where(Revision.post_type == "question")).all()) == titles
        assert s.exec(select(Answer.source_author)).one() == "Old Timer"
