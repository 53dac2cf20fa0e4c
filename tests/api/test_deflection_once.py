"""Issue 10 item 11: "Yes, this solved it" counts once per visitor and question, however often it
is repeated (signed in: per account; anonymous: per address and browser, per UTC day)."""

from __future__ import annotations

from datetime import date
from threading import Barrier, Thread

from sqlalchemy import text

from app.search import service as search_service
from app.search.models import Deflection
from tests.api.conftest import API


def _deflect(client, qid: int, **kw):
    return client.post(f"{API}/questions/{qid}/deflect", json={"title": "Dock charges at 60 W"}, **kw)


def _landing(q, answer) -> str:
    return f"/questions/{q.id}/{q.slug}#answer-{answer.id}"


def test_repeating_the_call_counts_once(client, factory, session, login, count):
    q = factory.question(title="Dock Pro will not charge my laptop at 100 W")
    a = factory.answer(q)
    factory.user("maya")
    session.commit()
    first = _deflect(client, q.id, headers={"User-Agent": "Firefox/140"})
    assert first.status_code == 201 and first.json() == {"question_id": q.id, "deflections": 1, "counted": True,
                                                         "answer_url": _landing(q, a)}
    for _ in range(5):
        again = _deflect(client, q.id, headers={"User-Agent": "Firefox/140"})
        assert again.status_code == 200 and again.json() == {"question_id": q.id, "deflections": 1, "counted": False,
                                                             "answer_url": _landing(q, a)}
    # another browser from the same address is another visitor; a signed-in customer is counted by account
    assert _deflect(client, q.id, headers={"User-Agent": "Chromium/131"}).json()["deflections"] == 2
    maya = login("maya")
    assert _deflect(client, q.id, headers={**maya, "User-Agent": "Firefox/140"}).json()["deflections"] == 3
    assert _deflect(client, q.id, headers={**maya, "User-Agent": "Safari/18"}).json() == {
        "question_id": q.id, "deflections": 3, "counted": False, "answer_url": _landing(q, a)}
    assert count(Deflection) == 3
    # and another question is counted on its own
    other = factory.question(title="Bluetooth mouse lags in games on the Aero 14")
    factory.answer(other)
    session.commit()
    assert _deflect(client, other.id, headers={"User-Agent": "Firefox/140"}).status_code == 201


def test_a_duplicate_and_its_original_count_once_together(client, factory, session, login):
    from app.questions import duplicates

    original = factory.question(title="Dock Pro will not charge my laptop at 100 W")
    a = factory.answer(original)
    dup = factory.question(title="Dock Pro only charges at sixty watts")
    duplicates.close_as_duplicate(session, actor=factory.user("mod", role="moderator"), question_id=dup.id,
                                  original_id=original.id)
    factory.user("maya")
    session.commit()
    maya = login("maya")
    assert _deflect(client, dup.id, headers=maya).json() == {"question_id": original.id, "deflections": 1,
                                                              "counted": True, "answer_url": _landing(original, a)}
    assert _deflect(client, original.id, headers=maya).json()["counted"] is False


def test_a_question_without_an_answer_cannot_have_solved_it(client, factory, session, count):
    """Issue 14 item 5: nothing is counted for an unanswered question (409 problem); the answer the
    click names is where the customer lands, the best one when it names none."""
    bare = factory.question(title="Dock Pro will not charge my laptop at 100 W")
    q = factory.question(title="Bluetooth mouse lags in games on the Aero 14")
    first, second = factory.answer(q), factory.answer(q)
    session.commit()
    r = _deflect(client, bare.id)
    assert r.status_code == 409 and r.headers["content-type"].startswith("application/problem+json")
    assert "no answer" in r.json()["detail"] and count(Deflection) == 0
    named = client.post(f"{API}/questions/{q.id}/deflect", json={"title": "mouse lag", "answer_id": second.id})
    assert named.status_code == 201 and named.json()["answer_url"] == _landing(q, second)
    foreign = client.post(f"{API}/questions/{q.id}/deflect", json={"title": "mouse lag", "answer_id": 999999},
                          headers={"User-Agent": "Other/1"})
    # An answer the question does not have is the caller's mistake (T2 item 3): 422, nothing counted.
    assert foreign.status_code == 422 and foreign.json()["errors"][0]["loc"] == ["body", "answer_id"]
    assert count(Deflection) == 1
    plain = client.post(f"{API}/questions/{q.id}/deflect", json={"title": "mouse lag"}, headers={"User-Agent": "Other/1"})
    assert plain.status_code == 201 and plain.json()["answer_url"] == _landing(q, first)


def test_anonymous_visitors_are_keyed_by_day_and_never_stored_in_clear():
    one = search_service.deflection_visitor(actor=None, secret="s" * 40, address="203.0.113.9",
                                            user_agent="Firefox/140", today=date(2026, 11, 30))
    assert one.startswith("v:") and "203.0.113.9" not in one and len(one) == 34
    same = search_service.deflection_visitor(actor=None, secret="s" * 40, address="203.0.113.9",
                                             user_agent="Firefox/140", today=date(2026, 11, 30))
    assert one == same
    for changed in ({"today": date(2026, 12, 1)}, {"address": "203.0.113.10"}, {"user_agent": "Chromium"},
                    {"secret": "t" * 40}):
        args = {"secret": "s" * 40, "address": "203.0.113.9", "user_agent": "Firefox/140",
                "today": date(2026, 11, 30), **changed}
        assert search_service.deflection_visitor(actor=None, **args) != one


def test_concurrent_repeats_count_once(clean_engine, factory, session):
    """The unique constraint settles two requests of one visitor racing (no error, one row)."""
    from sqlmodel import Session

    from app.core.db import writer

    q = factory.question(title="Dock Pro will not charge my laptop at 100 W")
    factory.answer(q)
    maya = factory.user("maya")
    session.commit()
    start, results, errors = Barrier(4), [], []

    def press():
        try:
            with Session(writer(clean_engine)) as s:
                start.wait(timeout=10)
                _, counted = search_service.record_deflection(s, actor=s.get(type(maya), maya.id), question_id=q.id,
                                                              title="Dock at 60 W", visitor=f"u:{maya.id}")
                s.commit()
                results.append(counted)
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(repr(exc))

    threads = [Thread(target=press) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert errors == [] and sorted(results) == [False, False, False, True]
    with clean_engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM deflections")).scalar_one() == 1


def test_the_migration_keeps_every_existing_count(tmp_path):
    """Rows from before 0009 (repeats included) keep counting after the upgrade."""
    from sqlalchemy import create_engine

    from app.core import migrate

    url = f"sqlite:///{tmp_path / 'before.db'}"
    migrate.upgrade(url, "0006_escalation")
    eng = create_engine(url)
    with eng.begin() as conn:
        # (a plain SQLite connection does not enforce the foreign keys: no question row is needed)
        for _ in range(3):  # the same anonymous visitor, three times: counted three times then
            conn.execute(text("INSERT INTO deflections (question_id, title, source, created_at) "
                              "VALUES (1, 'Dock at 60 W', 'api', '2026-11-02 00:00:00')"))
    migrate.upgrade(url)
    with eng.connect() as conn:
        rows = conn.execute(text("SELECT question_id, visitor FROM deflections ORDER BY id")).all()
    eng.dispose()
    assert [r[0] for r in rows] == [1, 1, 1] and len({r[1] for r in rows}) == 3
    assert all(r[1].startswith("legacy:") for r in rows)


def test_the_migration_moves_stored_table_alignment_to_classes(tmp_path):
    """Bodies rendered before 0009 carried style="text-align:…", which the CSP ignores."""
    from sqlalchemy import create_engine

    from app.core import migrate
    from app.core.markdown import render_markdown

    url = f"sqlite:///{tmp_path / 'before.db'}"
    migrate.upgrade(url, "0006_escalation")
    old_html = ('<table>\n<thead>\n<tr>\n<th style="text-align:left">Model</th>\n<th style="text-align:right">W</th>\n'
                '</tr>\n</thead>\n<tbody>\n<tr>\n<td style="text-align:left">Dock Pro</td>\n'
                '<td style="text-align:right">100</td>\n</tr>\n</tbody>\n</table>\n')
    eng = create_engine(url)
    with eng.begin() as conn:
        conn.execute(text("INSERT INTO answers (id, question_id, author_id, body, body_html, score, created_at) "
                          "VALUES (1, 1, 1, :body, :html, 0, '2026-11-01 00:00:00')"),
                     {"body": "| Model | W |\n|:--|--:|\n| Dock Pro | 100 |", "html": old_html})
    migrate.upgrade(url)
    with eng.connect() as conn:
        body, html = conn.execute(text("SELECT body, body_html FROM answers")).one()
    eng.dispose()
    assert "style=" not in html and html == render_markdown(body)
