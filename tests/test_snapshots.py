"""tests/snapshots.py: a restored snapshot is the rows the services wrote, ids and links included,
and the database goes on numbering after them."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlmodel import Session, select

from app.answers import service as answers_service
from app.core.db import writer
from app.questions.models import Question
from app.votes import service as votes_service
from tests.conftest import _truncate
from tests.factories import make_answer, make_question, make_user
from tests.snapshots import RowSnapshot


def _rows(engine) -> dict:
    return {name: sorted(rows, key=repr) for name, rows in RowSnapshot.take(engine).rows.items()}


def test_a_restored_snapshot_is_the_same_rows_and_ids_go_on_after_them(clean_engine):
    with Session(writer(clean_engine), expire_on_commit=False) as s:
        asker = make_user(s, "asker")
        question = make_question(s, author=asker, title="Dock Pro does not charge the laptop")
        answer = make_answer(s, question, body="Update the dock's firmware first.")
        answers_service.accept(s, actor=asker, question_id=question.id, answer_id=answer.id)  # questions ↔ answers
        votes_service.cast(s, actor=make_user(s, "voter", reputation=500), post_type="answer", post_id=answer.id,
                           value=1)  # votes: an AUTOINCREMENT table on SQLite (sqlite_sequence)
        s.commit()
    snapshot = RowSnapshot.take(clean_engine)
    before = _rows(clean_engine)
    assert before["questions"] and before["answers"] and before["acceptances"]

    _truncate(clean_engine)
    assert not _rows(clean_engine)["questions"]
    snapshot.restore(clean_engine, now=snapshot.taken_at + timedelta(hours=1))  # an hour later: datetimes move by it

    after = _rows(clean_engine)
    assert after.keys() == before.keys()
    for name in before:
        moved = [{k: v + timedelta(hours=1) if isinstance(v, datetime) else v
                  for k, v in row.items()} for row in before[name]]
        assert sorted(moved, key=repr) == after[name], name
    with Session(writer(clean_engine), expire_on_commit=False) as s:
        restored = s.exec(select(Question).where(Question.id == question.id)).one()
        assert restored.accepted_answer_id == answer.id
        newer = make_question(s, author=make_user(s, "second"), title="Fan is loud after the BIOS update")
        s.commit()
    assert newer.id > question.id  # the sequence (PostgreSQL) goes on after the restored ids
    if clean_engine.dialect.name == "sqlite":
        assert ("votes", 1) in snapshot.sqlite_sequence
        assert sorted(RowSnapshot.take(clean_engine).sqlite_sequence) == sorted(snapshot.sqlite_sequence)
