"""PostLinks duplicates (LinkTypeId 3) that chain or loop: every duplicate ends up pointing at a
canonical question, loops are broken the same way every time, and nothing vanishes from search."""

from __future__ import annotations

from sqlmodel import select

from app.importer.models import ImportMap
from app.questions.models import Question
from app.search import outbox
from app.search import service as search_service
from tests.conftest import make_settings
from tests.importer.dumps import SITE, Dump
from tests.importer.support import run_import


def states(read) -> dict[int, tuple[str, int | None]]:
    """Source question id → (status, source id of its original or None)."""
    with read() as s:
        local = dict(s.exec(select(ImportMap.local_id, ImportMap.source_id)
                            .where(ImportMap.site == SITE, ImportMap.kind == "question")).all())
        return {local[q.id]: (q.status, local.get(q.duplicate_of_id)) for q in s.exec(select(Question)).all()}


def site(*questions: tuple[int, str]) -> Dump:
    d = Dump().user(1, "Ann")
    for sid, title in questions:
        d.question(sid, title, owner=1, created=f"2021-01-{sid:02d}T09:00:00.000")
    return d


def test_a_loop_keeps_the_oldest_question_canonical_and_both_searchable(db, tmp_path, read, db_url):
    d = site((8, "Zigbee bulb unpairs overnight"), (9, "Smart lamp forgets its hub every morning"))
    d.link(8, 9, type=3).link(9, 8, type=3)
    summary = run_import(db, d.write(tmp_path / "dump"))
    assert states(read) == {8: ("open", None), 9: ("duplicate", 8)}
    assert any("loops broken" in line for line in summary.lines())
    # Both texts reach the canonical question in search and suggestions.
    outbox.drain(db)
    settings = make_settings(db_url)
    search_service.reset_backends()
    try:
        with read() as s:
            for words in ("zigbee unpairs", "lamp forgets hub"):
                page = search_service.search(s, settings=settings, engine=db, q=words)
                assert [i.summary.title for i in page.items] == ["Zigbee bulb unpairs overnight"], words
            similar = search_service.similar(s, settings=settings, engine=db, title="Smart lamp forgets its hub")
            assert [i.title for i in similar][:1] == ["Zigbee bulb unpairs overnight"]
    finally:
        search_service.reset_backends()


def test_chains_follow_to_the_final_original_whatever_the_link_order(db, tmp_path, read):
    d = site((1, "Thermostat offline"), (2, "Thermostat shows no connection"), (3, "Heating app cannot reach it"),
             (4, "Thermostat lost wifi"), (5, "Hub offline"))
    # 3 → 2 → 1 written leaf first, 4 → 3 into the chain; 5 has no link.
    d.link(3, 2, type=3).link(4, 3, type=3).link(2, 1, type=3)
    run_import(db, d.write(tmp_path / "dump"))
    assert states(read) == {1: ("open", None), 2: ("duplicate", 1), 3: ("duplicate", 1), 4: ("duplicate", 1),
                            5: ("open", None)}


def vias(read) -> dict[int, int | None]:
    """Source question id → source id of the question it was closed against when re-pointed, or None."""
    with read() as s:
        local = dict(s.exec(select(ImportMap.local_id, ImportMap.source_id)
                            .where(ImportMap.site == SITE, ImportMap.kind == "question")).all())
        return {local[q.id]: local.get(q.duplicate_via_id) for q in s.exec(select(Question)).all()}


def test_a_re_pointed_duplicate_keeps_the_question_it_was_closed_against(db, tmp_path, read):
    d = site((1, "Thermostat offline"), (2, "Thermostat shows no connection"), (3, "Heating app cannot reach it"),
             (4, "Thermostat lost wifi"), (6, "Valve clicks all night"), (7, "Radiator valve noise"))
    d.link(3, 2, type=3).link(4, 3, type=3).link(2, 1, type=3).link(7, 6, type=3)
    run_import(db, d.write(tmp_path / "first"))
    assert vias(read) == {1: None, 2: None, 3: 2, 4: 3, 6: None, 7: None}
    # A later dump closes 6 against 1: 7 is re-pointed and keeps 6; those re-pointed before keep theirs.
    d.link(6, 1, type=3)
    run_import(db, d.write(tmp_path / "second"))
    assert states(read)[7] == ("duplicate", 1)
    assert vias(read) == {1: None, 2: None, 3: 2, 4: 3, 6: None, 7: 6}


def test_a_loop_of_three_with_a_tail(db, tmp_path, read):
    d = site(*((i, f"Door sensor question {i}") for i in (21, 22, 23, 24)))
    d.link(22, 23, type=3).link(23, 21, type=3).link(21, 22, type=3).link(24, 23, type=3)
    run_import(db, d.write(tmp_path / "dump"))
    assert states(read) == {21: ("open", None), 22: ("duplicate", 21), 23: ("duplicate", 21),
                            24: ("duplicate", 21)}
    assert vias(read) == {21: None, 22: 23, 23: None, 24: 23}  # 21, reopened to break the loop, keeps none


def test_a_later_dump_closing_the_loop_is_repaired_too(db, tmp_path, read):
    d = site((8, "Camera stream freezes"), (9, "Doorbell video stops"))
    d.link(9, 8, type=3)
    run_import(db, d.write(tmp_path / "first"))
    assert states(read) == {8: ("open", None), 9: ("duplicate", 8)}
    d.link(8, 9, type=3)  # the next dump has the reverse link as well
    run_import(db, d.write(tmp_path / "second"))
    assert states(read) == {8: ("open", None), 9: ("duplicate", 8)}
