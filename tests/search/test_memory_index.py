"""The in-memory index's tag filter and tag facet, on rows as `search_documents` holds them.

Both run in numpy over (slot, tag) pairs (issue 11: walking every question's tags in Python cost
~50 ms per search at 100k questions). The expectations here are computed the slow, obvious way.
"""

from __future__ import annotations

import random
from collections import Counter
from datetime import UTC, datetime

from app.search.embedded import TAG_FACETS, MemoryIndex
from app.search.ports import Filters, SearchQuery


def row(qid: int, tags: list[str], *, title: str = "printer offline", visible: bool = True, seq: int = 0) -> dict:
    return {"question_id": qid, "visible": visible, "title": f"{title} {qid}", "alternate_titles": "",
            "tags": " ".join(tags), "body": "the printer shows offline after the update", "accepted_answer": "",
            "alternate_bodies": "", "vectors_key": None, "vectors": None, "product": None, "status": "open",
            "solved": qid % 2 == 0, "score": 0, "created_at": datetime(2026, 1, 1 + qid % 28, tzinfo=UTC),
            "seq": seq}


def facet(index: MemoryIndex, q: str = "", **filters) -> tuple[list[int], dict[str, int]]:
    page, _total, facets, _ = index.search(SearchQuery(q=q, filters=Filters(**filters), page=1, size=100))
    return sorted(qid for qid, _ in page), facets["tags"]


def expected(docs: dict[int, list[str]], only=lambda qid: True) -> dict[str, int]:
    counts = Counter(t for qid, tags in docs.items() if only(qid) for t in tags)
    return dict(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:TAG_FACETS])


def test_the_tag_facet_lists_the_most_frequent_tags_then_by_name():
    rng = random.Random(7)
    names = [f"tag-{i:02d}" for i in range(TAG_FACETS + 15)]
    docs = {qid: rng.sample(names, rng.randint(0, 5)) for qid in range(1, 90)}
    index = MemoryIndex()
    for qid, tags in docs.items():
        index._apply(row(qid, tags))
    _ids, tags = facet(index)
    assert tags == expected(docs)
    assert len(tags) == TAG_FACETS
    # Ties at the cut are settled by name, as a full sort would.
    assert list(tags) == [name for name, _ in sorted(tags.items(), key=lambda kv: (-kv[1], kv[0]))]
    _ids, solved_tags = facet(index, solved=True)
    assert solved_tags == expected(docs, lambda qid: qid % 2 == 0)


def test_retagged_and_removed_questions_leave_no_trace_in_the_filter_or_the_facet():
    docs = {1: ["wifi", "driver"], 2: ["wifi"], 3: ["battery"], 4: ["battery", "wifi"]}
    index = MemoryIndex()
    for qid, tags in docs.items():
        index._apply(row(qid, tags))
    assert facet(index, tag="wifi")[0] == [1, 2, 4]
    index._apply(row(1, ["battery"]))  # re-tagged: a new slot, the old one's pairs dropped
    index._apply(row(2, ["wifi"], visible=False))  # deleted
    index._apply(row(4, ["battery", "wifi"], title="printer offline again"))  # edited, same tags
    docs = {1: ["battery"], 3: ["battery"], 4: ["battery", "wifi"]}
    ids, tags = facet(index)
    assert ids == [1, 3, 4] and tags == expected(docs) == {"battery": 3, "wifi": 1}
    assert facet(index, tag="wifi")[0] == [4]
    assert facet(index, tag="driver") == ([], {})
    assert facet(index, tag="battery")[0] == [1, 3, 4]
    # Tags changed on the same slot (only metadata re-read) replace its pairs too.
    index._set_meta(index.slot_of[3], row(3, ["driver"]))
    assert facet(index, tag="driver")[0] == [3]
    assert facet(index, tag="battery")[0] == [1, 4]
    assert facet(index)[1] == {"battery": 2, "driver": 1, "wifi": 1}


def test_with_words_the_facet_counts_only_the_matches():
    index = MemoryIndex()
    index._apply(row(1, ["printer"], title="printer offline"))
    index._apply(row(2, ["router"], title="router reboots nightly"))
    index._apply(row(3, ["printer", "router"], title="printer and router"))
    ids, tags = facet(index, "reboots")
    assert ids == [2] and tags == {"router": 1}
