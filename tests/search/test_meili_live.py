"""The Meilisearch adapter against a real server (GROUNDSWELL_MEILI_URL, GROUNDSWELL_MEILI_KEY).

Each run uses its own index names and deletes them afterwards:

    GROUNDSWELL_MEILI_URL=http://127.0.0.1:7700 GROUNDSWELL_MEILI_KEY=... \
        .venv/bin/python -m pytest tests/search/test_meili_live.py
"""

from __future__ import annotations

import os
import secrets
from datetime import UTC, datetime

import pytest

if not os.environ.get("GROUNDSWELL_MEILI_URL"):
    pytest.skip("GROUNDSWELL_MEILI_URL is not set: no Meilisearch server to test against", allow_module_level=True)

from meilisearch.errors import MeilisearchApiError  # noqa: E402

from app.core.config import Settings  # noqa: E402
from app.search.meili import MeiliBackend, index_settings, settings_mismatch  # noqa: E402
from app.search.ports import (  # noqa: E402
    DIMENSIONS,
    Filters,
    QuestionDoc,
    SearchQuery,
    SearchUnavailable,
    SimilarQuery,
)

pytestmark = pytest.mark.meili

RUN = f"gs_test_{os.getpid()}_{secrets.token_hex(3)}"


def vec(*hot: int) -> tuple[float, ...]:
    """A unit vector spread evenly over the given dimensions."""
    v = [0.0] * DIMENSIONS
    for i in hot:
        v[i] = 1.0
    norm = len(hot) ** 0.5
    return tuple(x / norm for x in v)


def doc(id: int, title: str, body: str = "", **kw) -> QuestionDoc:
    base = dict(
        id=id, title=title, body=body, tags=(), product="kestrel-router", status="open", solved=False,
        score=0, answer_count=0, created_at=datetime(2024, 1, id % 28 + 1, tzinfo=UTC),
    )
    base.update(kw)
    return QuestionDoc(**base)


def make_backend(name: str, *, semantic: bool) -> MeiliBackend:
    settings = Settings(
        meili_url=os.environ["GROUNDSWELL_MEILI_URL"],
        meili_key=os.environ.get("GROUNDSWELL_MEILI_KEY") or None,
        meili_index=name,
        meili_timeout=10.0,
    )
    return MeiliBackend(settings, semantic=semantic)


def drop(backend: MeiliBackend, uid: str) -> None:
    try:
        task = backend.client.delete_index(uid)
        backend.client.wait_for_task(task.task_uid, timeout_in_ms=30_000)
    except MeilisearchApiError:
        pass


@pytest.fixture
def backend(request):
    name = f"{RUN}_{request.node.name[:40].replace('[', '_').replace(']', '_')}"
    b = make_backend(name, semantic=True)
    b.ensure_index()
    yield b
    drop(b, name)
    drop(b, f"{name}_rebuild")


CORPUS = [
    doc(1, "How to install the printer driver", "The installer stops at 80 percent.",
        tags=("printer", "drivers"), product="kestrel-printer", solved=True, score=5,
        vectors=(vec(0),)),
    doc(2, "Wireless drops every few minutes", "My laptop loses the network after sleep.",
        tags=("wifi",), product="kestrel-router", score=2, vectors=(vec(1),)),
    doc(3, "Blue screen after update", "Windows crashes with a stop code.",
        tags=("windows", "crash"), product="kestrel-laptop", status="closed", score=1,
        vectors=(vec(2), vec(3)), alternate_titles=("BSOD since yesterday",)),
    doc(4, 'Product with "quotes" in its slug', "Filter values with quotes must stay one value.",
        tags=('odd"tag',), product='acme "pro" \\ edition', vectors=None),
    doc(5, "Page shows <script>alert(1)</script> in the title", "Rendering <b>raw</b> html is bad.",
        tags=("web",), product="kestrel-router", vectors=(vec(4),)),
]


def ids(result) -> list[int]:
    return [h.id for h in (result.hits if hasattr(result, "hits") else result)]


def test_ensure_index_applies_and_verifies_settings(backend):
    raw = backend._read_settings(backend.index_name)
    assert settings_mismatch(index_settings(True), raw) is None
    assert raw["searchableAttributes"][:2] == ["title", "alternate_titles"]
    assert raw["embedders"]["default"]["source"] == "userProvided"
    assert raw["embedders"]["default"]["dimensions"] == DIMENSIONS
    backend.ensure_index()  # idempotent
    info = backend.client.get_raw_index(backend.index_name)
    assert info["primaryKey"] in (None, "id")


def test_semantic_off_removes_the_embedder(backend):
    off = make_backend(backend.index_name, semantic=False)
    off.ensure_index()
    assert not off._read_settings(off.index_name)["embedders"]
    off.upsert([doc(9, "No vectors here", vectors=None)])
    assert ids(off.search(SearchQuery(q="vectors"))) == [9]


def test_upsert_search_facets_highlights(backend):
    backend.upsert(CORPUS)
    res = backend.search(SearchQuery(q="printer driver"))
    assert ids(res)[0] == 1
    assert res.total >= 1
    top = res.hits[0]
    assert "<mark>" in top.highlights["title"]
    assert 0.0 < top.score <= 1.0

    everything = backend.search(SearchQuery(q=""))
    assert everything.total == len(CORPUS)
    assert everything.facets["product"]["kestrel-router"] == 2
    assert everything.facets["tags"]["wifi"] == 1
    assert everything.facets["solved"] == {"true": 1, "false": 4}

    page2 = backend.search(SearchQuery(q="", page=2, size=2))
    assert len(page2.hits) == 2 and page2.total == len(CORPUS)


def test_typo_prefix_and_synonyms(backend):
    backend.upsert(CORPUS)
    # "instal" is not the last word, so it is a typo match rather than a prefix match.
    assert 1 in ids(backend.search(SearchQuery(q="instal driver")))
    assert 1 in ids(backend.search(SearchQuery(q="instal")))
    # wifi -> wireless, bsod (alternate title) and blue screen.
    assert 2 in ids(backend.search(SearchQuery(q="wifi drops")))
    assert 3 in ids(backend.search(SearchQuery(q="bsod")))


def test_highlights_are_escaped(backend):
    backend.upsert(CORPUS)
    hit = backend.search(SearchQuery(q="script alert")).hits[0]
    assert hit.id == 5
    title = hit.highlights["title"]
    assert "<mark>" in title and "<script" not in title
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in title.replace("<mark>", "").replace("</mark>", "")
    assert "<b>" not in hit.highlights.get("body", "")


def test_filters(backend):
    backend.upsert(CORPUS)
    q = lambda **f: ids(backend.search(SearchQuery(q="", filters=Filters(**f))))  # noqa: E731
    assert sorted(q(product="kestrel-router")) == [2, 5]
    assert q(tag="printer") == [1]
    assert q(solved=True) == [1]
    assert sorted(q(solved=False)) == [2, 3, 4, 5]
    assert q(status="closed") == [3]
    assert q(product='acme "pro" \\ edition') == [4]
    assert q(tag='odd"tag') == [4]
    assert q(product="kestrel-router", tag="wifi") == [2]
    # An injection attempt is one (unknown) product, not an OR.
    assert q(product='x" OR status = "closed') == []
    assert q(product='kestrel-router" OR product = "kestrel-printer') == []


def test_upsert_replaces_by_id(backend):
    backend.upsert(CORPUS)
    backend.upsert([doc(2, "Router firmware question", vectors=(vec(1),))])
    assert ids(backend.search(SearchQuery(q="firmware"))) == [2]
    assert ids(backend.search(SearchQuery(q="wireless drops"))) == []
    assert backend.search(SearchQuery(q="")).total == len(CORPUS)


def test_delete(backend):
    backend.upsert(CORPUS)
    backend.delete([1, 3, 999])  # unknown ids are ignored
    assert sorted(ids(backend.search(SearchQuery(q="", size=50)))) == [2, 4, 5]


def test_failed_task_is_search_unavailable(backend):
    with pytest.raises(SearchUnavailable, match="invalid_vector_dimensions|dimensions"):
        backend.upsert([doc(7, "Wrong vector size", vectors=((1.0, 0.0),))])


def test_rebuild_swaps(backend):
    backend.upsert(CORPUS)
    fresh = [doc(10, "Brand new question about bluetooth pairing", vectors=(vec(5),)),
             doc(11, "Another new question about batteries", vectors=None)]
    count = backend.rebuild(iter([fresh[:1], [], fresh[1:]]))
    assert count == 2
    assert sorted(ids(backend.search(SearchQuery(q="", size=50)))) == [10, 11]
    assert ids(backend.search(SearchQuery(q="printer"))) == []
    assert ids(backend.search(SearchQuery(q="bluetooth"))) == [10]
    # Settings came along; the temporary index is gone.
    assert settings_mismatch(index_settings(True), backend._read_settings(backend.index_name)) is None
    with pytest.raises(MeilisearchApiError):
        backend.client.get_raw_index(f"{backend.index_name}_rebuild")
    # A second rebuild (live index exists, stale tmp absent) works too.
    assert backend.rebuild([CORPUS]) == len(CORPUS)
    assert backend.search(SearchQuery(q="")).total == len(CORPUS)


def test_rebuild_creates_a_missing_live_index(backend):
    drop(backend, backend.index_name)
    assert backend.rebuild([CORPUS[:2]]) == 2
    assert sorted(ids(backend.search(SearchQuery(q="")))) == [1, 2]


def test_similar_keyword_and_hybrid(backend):
    backend.upsert(CORPUS)
    hits = backend.similar(SimilarQuery(title="printer driver install fails"))
    assert hits and hits[0].id == 1
    assert all(0.0 <= h.score <= 1.0 for h in hits)
    # No shared words, but the vector matches question 2.
    hybrid = backend.similar(SimilarQuery(title="connection keeps vanishing", vector=vec(1), limit=3))
    assert hybrid and hybrid[0].id == 2
    # The second phrasing vector of question 3 (its alternate title) is searched too.
    alt = backend.similar(SimilarQuery(title="machine halts unexpectedly", vector=vec(3), limit=3))
    assert alt and alt[0].id == 3
    # Product filter.
    only = backend.similar(SimilarQuery(title="question", vector=vec(1), product="kestrel-printer"))
    assert ids(only) == [1]
    assert len(backend.similar(SimilarQuery(title="question", vector=vec(0), limit=2))) <= 2


def test_healthy(backend):
    assert backend.healthy() is True
