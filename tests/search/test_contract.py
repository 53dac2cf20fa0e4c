"""The search contract, run against every available backend (embedded always; Meilisearch when configured).

Everything goes through the real write services, the real outbox and the search services, on
SQLite and PostgreSQL.
"""

from __future__ import annotations

import pytest

from app.accounts.models import Role
from app.answers import service as answers_service
from app.core.errors import InvalidInput
from app.questions import duplicates
from app.questions import service as questions_service
from app.questions.schemas import QuestionUpdate
from tests.factories import make_answer, make_product, make_question, make_user


def titles(items) -> list[str]:
    return [i.title for i in items]


@pytest.fixture
def support_forum(forum):
    """A small forum: two products, a solved question, a question with a duplicate folded in."""
    mod = make_user(forum, "moddy", role=Role.moderator)
    asker = make_user(forum, "asker")
    aero = make_product(forum, "aero-14", "Kestrel Aero 14")
    make_product(forum, "dock-3", "Kestrel Dock 3")
    wifi = make_question(forum, asker, "Wi-Fi keeps disconnecting every few minutes", product="aero-14",
                         tags=["wifi", "network"], body="The wireless connection drops and comes back.")
    answer = make_answer(forum, wifi, body="Turn off power saving for the wireless adapter in Device Manager.")
    answers_service.accept(forum, actor=asker, question_id=wifi.id, answer_id=answer.id)
    battery = make_question(forum, asker, "Battery drains overnight while the laptop sleeps", product="aero-14",
                            tags=["battery"], body="It loses half its charge with the lid closed.")
    dock = make_question(forum, asker, "External monitor stays black when connected through the dock",
                         product="dock-3", tags=["display"], body="The dock charges the laptop but no picture.")
    install = make_question(forum, asker, "How do I install the fingerprint reader driver", tags=["drivers"],
                            body="Windows Hello does not find the reader after a clean install.")
    # Asked again in other words and closed as a duplicate of the battery question.
    dup = make_question(forum, asker, "Power goes from full to empty during standby", tags=["battery"],
                        body="Standby empties the charge.")
    duplicates.close_as_duplicate(forum, actor=mod, question_id=dup.id, original_id=battery.id)
    forum.commit()
    return {"wifi": wifi, "battery": battery, "dock": dock, "install": install, "dup": dup, "aero": aero,
            "mod": mod, "asker": asker}


def test_similar_finds_a_paraphrase_and_marks_it_solved(searcher, support_forum):
    searcher.index()
    items = searcher.similar("My wifi connection keeps dropping")
    assert items and items[0].id == support_forum["wifi"].id
    assert items[0].has_accepted_answer is True
    assert items[0].answer_count == 1
    assert 0 < items[0].similarity <= 1
    assert items[0].url.startswith(f"/questions/{support_forum['wifi'].id}/")


def test_similar_never_returns_a_duplicate_and_its_wording_counts_for_the_original(searcher, support_forum):
    searcher.index()
    # Words only the duplicate used ("standby", "empty") find the original.
    items = searcher.similar("Power empty after standby")
    ids = [i.id for i in items]
    assert support_forum["dup"].id not in ids
    assert ids and ids[0] == support_forum["battery"].id
    for query in ("Power goes from full to empty during standby", "battery drains"):
        assert support_forum["dup"].id not in [i.id for i in searcher.similar(query, limit=10)]


def test_similar_is_scoped_to_the_product(searcher, support_forum):
    searcher.index()
    everywhere = searcher.similar("monitor black through the dock", limit=10)
    assert support_forum["dock"].id in [i.id for i in everywhere]
    scoped = searcher.similar("monitor black through the dock", product="aero-14", limit=10)
    assert support_forum["dock"].id not in [i.id for i in scoped]
    assert all(i.product == "aero-14" for i in scoped)


def test_changes_reach_the_index_through_the_outbox(searcher, support_forum, forum):
    searcher.index()
    asker = support_forum["asker"]
    questions_service.edit(forum, actor=asker, question_id=support_forum["install"].id,
                           data=QuestionUpdate(title="Fingerprint sensor not detected by Windows Hello"))
    questions_service.delete_question(forum, actor=support_forum["mod"], question_id=support_forum["dock"].id)
    forum.commit()
    searcher.index()
    assert searcher.similar("fingerprint sensor not detected")[0].id == support_forum["install"].id
    hits = searcher.search("sensor")
    assert [i.summary.id for i in hits.items] == [support_forum["install"].id]
    assert searcher.search("dock").total == 0


def test_reopening_removes_the_alternate_phrasing(searcher, support_forum, forum):
    searcher.index()
    duplicates.reopen(forum, actor=support_forum["mod"], question_id=support_forum["dup"].id)
    forum.commit()
    searcher.index()
    items = searcher.similar("Power goes from full to empty during standby", limit=10)
    assert items[0].id == support_forum["dup"].id  # a canonical question of its own again


def test_a_deleted_question_is_not_returned_even_before_the_index_catches_up(searcher, support_forum, forum):
    searcher.index()
    questions_service.delete_question(forum, actor=support_forum["mod"], question_id=support_forum["wifi"].id)
    forum.commit()
    # No indexing here: the stale index still has it, the service must not show it.
    assert support_forum["wifi"].id not in [i.id for i in searcher.similar("wifi keeps disconnecting", limit=10)]
    assert support_forum["wifi"].id not in [i.summary.id for i in searcher.search("wifi").items]


def test_search_filters_facets_and_highlights(searcher, support_forum):
    searcher.index()
    page = searcher.search("wireless")
    assert [i.summary.id for i in page.items] == [support_forum["wifi"].id]
    assert "<mark>" in page.items[0].highlights["body"].lower() or "<mark>" in page.items[0].highlights["title"]
    everything = searcher.search(None)
    assert everything.total == 4  # canonical questions only
    assert everything.facets["product"] == {"aero-14": 2, "dock-3": 1}
    assert everything.facets["solved"] == {"true": 1, "false": 3}
    assert everything.facets["tags"]["battery"] == 1
    assert [i.summary.id for i in searcher.search(None, product="dock-3").items] == [support_forum["dock"].id]
    assert [i.summary.id for i in searcher.search(None, solved=True).items] == [support_forum["wifi"].id]
    assert [i.summary.id for i in searcher.search(None, tag="drivers").items] == [support_forum["install"].id]
    assert searcher.search(None, product="aero-14", solved=False).total == 1


def test_search_matches_the_accepted_answer_and_tolerates_typos(searcher, support_forum):
    searcher.index()
    assert [i.summary.id for i in searcher.search("power saving adapter").items] == [support_forum["wifi"].id]
    assert support_forum["install"].id in [i.summary.id for i in searcher.search("fingerprnt").items]
    assert support_forum["battery"].id in [i.summary.id for i in searcher.search("overnigth").items]


def test_search_pages(searcher, forum, support_forum):
    for n in range(5):
        make_question(forum, support_forum["asker"], f"Keyboard backlight flickers pattern {n}", tags=["keyboard"])
    forum.commit()
    searcher.index()
    first = searcher.search("keyboard backlight", limit=2)
    assert first.total == 5 and len(first.items) == 2 and first.next_cursor
    second = searcher.search("keyboard backlight", limit=2, cursor=first.next_cursor)
    third = searcher.search("keyboard backlight", limit=2, cursor=second.next_cursor)
    seen = [i.summary.id for p in (first, second, third) for i in p.items]
    assert len(seen) == len(set(seen)) == 5
    assert third.next_cursor is None


def test_highlights_are_escaped(searcher, forum, support_forum):
    make_question(forum, support_forum["asker"], "<script>alert(1)</script> touchpad freezes", tags=["touchpad"],
                  body="The <b>touchpad</b> freezes & stops.")
    forum.commit()
    searcher.index()
    hit = searcher.search("touchpad").items[0]
    assert "<script>" not in hit.highlights["title"]
    assert "&lt;script&gt;" in hit.highlights["title"]
    assert "<mark>touchpad</mark>" in hit.highlights["title"]


def test_bad_input_is_a_clear_error(searcher, support_forum):
    with pytest.raises(InvalidInput):
        searcher.similar("")
    with pytest.raises(InvalidInput):
        searcher.similar("wifi", product="no-such-product")
    with pytest.raises(InvalidInput):
        searcher.similar("wifi", limit=0)
    with pytest.raises(InvalidInput):
        searcher.search("wifi", cursor="not-a-cursor")


def test_keyword_only_fallback_without_embeddings(keyword_searcher, support_forum):
    keyword_searcher.index()
    items = keyword_searcher.similar("wifi keeps disconnecting")
    assert items[0].id == support_forum["wifi"].id
    assert support_forum["dup"].id not in [i.id for i in keyword_searcher.similar("standby empty", limit=10)]
    assert keyword_searcher.similar("standby empty")[0].id == support_forum["battery"].id


def test_search_knows_support_synonyms(searcher, support_forum):
    searcher.index()
    # The Wi-Fi question says "wireless" and "Wi-Fi", never "wlan".
    assert support_forum["wifi"].id in [i.summary.id for i in searcher.search("wlan disconnecting").items]


def test_similar_serves_the_learned_model_on_every_backend(searcher, support_forum, clean_engine):
    """The learned query adapter (app.search.learned) changes the vector sent to the backend: a
    model that steers every query towards the battery question makes it the top suggestion for
    an unrelated question, on the embedded index and in Meilisearch alike."""
    import numpy as np

    from app.search import learned, service

    encoder = service.encoder_for(searcher.settings)
    if encoder is None:
        pytest.skip("the semantic extra is not installed")
    searcher.index()
    query = "How do I install the fingerprint reader driver"
    before = searcher.similar(query, limit=5)
    assert support_forum["battery"].id not in [i.id for i in before[:1]]
    target = encoder.embed_query(support_forum["battery"].title)
    q = encoder.embed_query(query)
    steer = 0.01 * np.eye(len(q), dtype=np.float32) + np.outer(target, q) / float(q @ q)
    learned.forget_served()
    learned.store(clean_engine, steer, encoder_name=encoder.name, links=1)
    try:
        after = searcher.similar(query, limit=5)
        assert after[0].id == support_forum["battery"].id
        if searcher.remote is None:  # the embedded index reports the cosine; Meilisearch its own score
            assert after[0].similarity > 0.9
    finally:
        learned.forget_served()
