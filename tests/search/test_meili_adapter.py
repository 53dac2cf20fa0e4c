"""The Meilisearch adapter without a server: mapping, settings, filters, highlights, task checks,
and real network failures (a closed port, a listener that never answers)."""

from __future__ import annotations

import dataclasses
import socket
import threading
import time
from datetime import UTC, datetime, timedelta, timezone

import meilisearch
import pytest
from meilisearch.models.task import Task

from app.core.config import Settings, SettingsError
from app.search import meili
from app.search.meili import (
    EMBEDDERS,
    INDEX_SETTINGS,
    MeiliBackend,
    build_filter,
    build_filter_list,
    check_task,
    index_settings,
    quote,
    safe_highlight,
    settings_mismatch,
    to_document,
)
from app.search.ports import (
    DIMENSIONS,
    Filters,
    QuestionDoc,
    SearchBackend,
    SearchQuery,
    SearchUnavailable,
    SimilarQuery,
)

CREATED = datetime(2024, 5, 17, 9, 30, 15, tzinfo=UTC)


def make_doc(**kw) -> QuestionDoc:
    base = dict(
        id=42,
        title="Wi-Fi drops every few minutes",
        body="Since the update my laptop loses the connection.",
        tags=("wifi", "windows"),
        product="kestrel-router",
        status="open",
        solved=True,
        score=7,
        answer_count=3,
        created_at=CREATED,
        accepted_answer="Update the driver.",
        alternate_titles=("Wireless keeps disconnecting",),
        alternate_bodies=("It disconnects all the time.",),
    )
    base.update(kw)
    return QuestionDoc(**base)


def unit_vector(i: int) -> tuple[float, ...]:
    v = [0.0] * DIMENSIONS
    v[i] = 1.0
    return tuple(v)


# --- document mapping -------------------------------------------------------------------------


def test_document_has_every_field():
    doc = to_document(make_doc(), semantic=False)
    assert doc == {
        "id": 42,
        "title": "Wi-Fi drops every few minutes",
        "body": "Since the update my laptop loses the connection.",
        "tags": ["wifi", "windows"],
        "product": "kestrel-router",
        "status": "open",
        "solved": True,
        "score": 7,
        "answer_count": 3,
        "created_at": int(CREATED.timestamp()),
        "accepted_answer": "Update the driver.",
        "alternate_titles": ["Wireless keeps disconnecting"],
        "alternate_bodies": ["It disconnects all the time."],
    }
    # Every QuestionDoc field but the vectors is in the document, under its own name.
    assert set(doc) == {f.name for f in dataclasses.fields(QuestionDoc)} - {"vectors"}


def test_created_at_is_a_sortable_unix_timestamp():
    doc = to_document(make_doc())
    assert doc["created_at"] == 1715938215
    assert isinstance(doc["created_at"], int)
    # Another timezone, same instant; a naive value counts as UTC.
    plus2 = CREATED.astimezone(timezone(timedelta(hours=2)))
    assert to_document(make_doc(created_at=plus2))["created_at"] == 1715938215
    assert to_document(make_doc(created_at=CREATED.replace(tzinfo=None)))["created_at"] == 1715938215


def test_lists_booleans_and_missing_product():
    doc = to_document(make_doc(tags=(), product=None, solved=False, alternate_titles=(), alternate_bodies=()))
    assert doc["tags"] == [] and doc["alternate_titles"] == [] and doc["alternate_bodies"] == []
    assert doc["product"] is None
    assert doc["solved"] is False


def test_vectors_all_phrasings_as_an_array_of_embeddings():
    doc = to_document(make_doc(vectors=(unit_vector(0), unit_vector(1))), semantic=True)
    vectors = doc["_vectors"]["default"]
    assert len(vectors) == 2
    assert all(len(v) == DIMENSIONS for v in vectors)
    assert vectors[0][0] == 1.0 and vectors[1][1] == 1.0 and vectors[0][1] == 0.0
    assert all(isinstance(x, float) for x in vectors[0])


def test_one_vector_is_still_a_list_of_lists():
    doc = to_document(make_doc(vectors=(unit_vector(3),)), semantic=True)
    assert len(doc["_vectors"]["default"]) == 1
    assert len(doc["_vectors"]["default"][0]) == DIMENSIONS


def test_semantic_without_vectors_opts_the_document_out():
    # A userProvided embedder refuses documents without _vectors.<embedder>; null opts out.
    assert to_document(make_doc(vectors=None), semantic=True)["_vectors"] == {"default": None}
    assert to_document(make_doc(vectors=()), semantic=True)["_vectors"] == {"default": None}


def test_no_vectors_at_all_when_semantic_is_off():
    assert "_vectors" not in to_document(make_doc(vectors=(unit_vector(0),)), semantic=False)
    assert "_vectors" not in to_document(make_doc(vectors=None), semantic=False)


def test_highlight_markers_are_stripped_from_indexed_text():
    doc = to_document(make_doc(title="a\x02b\x03c", body="\x02x", tags=("t\x03",)))
    assert doc["title"] == "abc" and doc["body"] == "x" and doc["tags"] == ["t"]


# --- settings -----------------------------------------------------------------------------------


def test_searchable_attributes_in_weight_order():
    assert INDEX_SETTINGS["searchableAttributes"] == [
        "title", "alternate_titles", "tags", "body", "accepted_answer", "alternate_bodies",
    ]


def test_filterable_and_sortable_sets():
    assert set(INDEX_SETTINGS["filterableAttributes"]) == {"product", "tags", "status", "solved"}
    assert set(INDEX_SETTINGS["sortableAttributes"]) == {"created_at", "score"}


def test_every_configured_attribute_is_emitted_by_to_document():
    """Guard against drift: settings may only name keys the documents actually carry."""
    keys = set(to_document(make_doc(vectors=(unit_vector(0),)), semantic=True))
    for setting in ("searchableAttributes", "filterableAttributes", "sortableAttributes"):
        missing = set(INDEX_SETTINGS[setting]) - keys
        assert not missing, f"{setting} names {missing}, which to_document does not emit"
    for facet in meili.FACETS:
        assert facet in keys and facet in INDEX_SETTINGS["filterableAttributes"]
    custom = [r.split(":")[0] for r in INDEX_SETTINGS["rankingRules"] if ":" in r]
    assert custom and set(custom) <= keys
    # Everything build_filter can produce is filterable.
    every = Filters(product="p", tag="t", solved=True, status="open")
    fields = {c.split(" ")[0] for c in build_filter_list(every)}
    assert fields <= set(INDEX_SETTINGS["filterableAttributes"])


def test_ranking_rules_are_the_defaults_then_score():
    assert INDEX_SETTINGS["rankingRules"] == [
        "words", "typo", "proximity", "attribute", "sort", "exactness", "score:desc",
    ]


def test_typo_tolerance_synonyms_and_limits():
    typo = INDEX_SETTINGS["typoTolerance"]
    assert typo["enabled"] is True
    sizes = typo["minWordSizeForTypos"]
    assert 4 <= sizes["oneTypo"] < sizes["twoTypos"]
    syn = INDEX_SETTINGS["synonyms"]
    # Synonyms are one-way in Meilisearch: the map is made mutual.
    assert "wi-fi" in syn["wifi"] and "wifi" in syn["wi-fi"] and "wireless" in syn["wifi"]
    assert "blue screen" in syn["bsod"] and "bsod" in syn["blue screen"]
    assert {"computer", "laptop"} <= set(syn["pc"])
    for word, others in syn.items():
        assert word == word.lower() and word not in others
        for other in others:
            assert word in syn[other]
    assert INDEX_SETTINGS["pagination"]["maxTotalHits"] >= 100
    assert INDEX_SETTINGS["faceting"]["maxValuesPerFacet"] >= 20


def test_embedder_only_with_semantic():
    on = index_settings(True)
    assert on["embedders"] == {"default": {"source": "userProvided", "dimensions": DIMENSIONS}}
    assert on["embedders"] == EMBEDDERS
    off = index_settings(False)
    assert off["embedders"] is None  # null resets: no embedder left from a semantic past
    assert "embedders" not in INDEX_SETTINGS
    on["synonyms"]["wifi"].append("zzz")  # a copy: the constant is untouched
    assert "zzz" not in INDEX_SETTINGS["synonyms"]["wifi"]


def test_settings_mismatch():
    wanted = index_settings(True)
    actual = {
        **index_settings(True),
        "filterableAttributes": list(reversed(wanted["filterableAttributes"])),
        "sortableAttributes": sorted(wanted["sortableAttributes"]),
        "synonyms": {k: list(reversed(v)) for k, v in wanted["synonyms"].items()},
        "typoTolerance": {**wanted["typoTolerance"], "disableOnWords": [], "disableOnAttributes": []},
        "displayedAttributes": ["*"],
        "embedders": {"default": {"source": "userProvided", "dimensions": DIMENSIONS, "binaryQuantized": False}},
    }
    assert settings_mismatch(wanted, actual) is None

    swapped = {**actual, "searchableAttributes": ["body", *[a for a in wanted["searchableAttributes"] if a != "body"]]}
    assert settings_mismatch(wanted, swapped) == "searchableAttributes"
    assert settings_mismatch(wanted, {**actual, "rankingRules": wanted["rankingRules"][:-1]}) == "rankingRules"
    assert settings_mismatch(wanted, {**actual, "filterableAttributes": ["product"]}) == "filterableAttributes"
    small = {**actual, "typoTolerance": {"enabled": True, "minWordSizeForTypos": {"oneTypo": 5, "twoTypos": 7}}}
    assert settings_mismatch(wanted, small) == "typoTolerance.minWordSizeForTypos.twoTypos"
    assert settings_mismatch(wanted, {**actual, "embedders": {}}) == "embedders.default"
    wrong_dims = {**actual, "embedders": {"default": {"source": "userProvided", "dimensions": 768}}}
    assert settings_mismatch(wanted, wrong_dims) == "embedders.default.dimensions"
    assert settings_mismatch(wanted, {**actual, "synonyms": {}}) == "synonyms"
    # Semantic off asks for no embedder: an empty map reads back fine, a leftover one does not.
    off = index_settings(False)
    assert settings_mismatch(off, {**actual, "embedders": {}}) is None
    assert settings_mismatch(off, actual) == "embedders"


# --- filters --------------------------------------------------------------------------------


def test_no_filter():
    assert build_filter(Filters()) is None
    assert build_filter_list(Filters()) == []


def test_every_filter_field():
    f = Filters(product="kestrel-router", tag="wifi", solved=True, status="open")
    assert build_filter_list(f) == [
        'product = "kestrel-router"', 'tags = "wifi"', "solved = true", 'status = "open"',
    ]
    assert build_filter(f) == 'product = "kestrel-router" AND tags = "wifi" AND solved = true AND status = "open"'
    assert build_filter(Filters(solved=False)) == "solved = false"


def test_values_are_always_quoted_and_escaped():
    assert quote("plain") == '"plain"'
    assert quote('say "hi"') == r'"say \"hi\""'
    assert quote("C:\\path\\") == r'"C:\\path\\"'
    assert quote('\\"') == r'"\\\""'
    assert quote("AND") == '"AND"'
    assert build_filter(Filters(tag="c++ & \"rust\"")) == r'tags = "c++ & \"rust\""'


def _unquote(literal: str) -> str:
    """Meilisearch's reading of a double-quoted literal (filter-parser `quoted_by` + unescape)."""
    assert literal[0] == '"' and literal[-1] == '"'
    inner, out, i = literal[1:-1], [], 0
    while i < len(inner):
        ch = inner[i]
        assert ch != '"', "an unescaped quote would end the value early"
        if ch == "\\":
            out.append(inner[i + 1])
            i += 2
        else:
            out.append(ch)
            i += 1
    return "".join(out)


@pytest.mark.parametrize("value", [
    'x" OR status = "closed',
    'x\\" OR status = "closed',
    "x\\",
    '"',
    '\\"\\\\"',
    "ends with backslash \\",
    "new\nline and \\n",
    "ünïcödé ✓",
])
def test_injection_stays_one_quoted_value(value):
    cond = build_filter_list(Filters(product=value))
    assert len(cond) == 1
    literal = cond[0][len("product = "):]
    assert _unquote(literal) == value


def test_injection_attempt_is_not_an_or():
    expr = build_filter(Filters(product='x" OR status = "closed'))
    assert expr == r'product = "x\" OR status = \"closed"'


def test_unknown_field_is_refused():
    @dataclasses.dataclass(frozen=True)
    class Evil(Filters):
        views: int | None = None

    with pytest.raises(ValueError, match="views"):
        build_filter(Evil(views=3))
    with pytest.raises(ValueError):
        meili.condition("id", "1")
    with pytest.raises(ValueError):
        meili.condition("product = 1 OR title", "x")


# --- highlights -----------------------------------------------------------------------------


def test_safe_highlight_marks_matches():
    assert safe_highlight("the \x02wifi\x03 drops") == "the <mark>wifi</mark> drops"
    assert safe_highlight("no match") == "no match"
    assert safe_highlight("") == ""


def test_safe_highlight_escapes_document_text():
    out = safe_highlight('<script>alert("x")</script> \x02boot\x03 & <b>')
    assert out == "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; <mark>boot</mark> &amp; &lt;b&gt;"
    assert "<script" not in out and "<b>" not in out


def test_safe_highlight_balances_markers():
    assert safe_highlight("\x02a\x02b\x03c\x03") == "<mark>ab</mark>c"
    assert safe_highlight("a\x03b") == "ab"
    assert safe_highlight("\x02open") == "<mark>open</mark>"


# --- task checks ------------------------------------------------------------------------------


def _task(status: str, error: dict | None = None) -> Task:
    return Task(uid=7, index_uid="questions", status=status, type="documentAdditionOrUpdate",
                error=error, enqueued_at="2024-05-17T09:30:15.000000Z")


def test_check_task_passes_succeeded():
    check_task(_task("succeeded"))
    check_task({"uid": 1, "status": "succeeded", "type": "settingsUpdate"})


def test_check_task_raises_for_failed_with_the_error_message():
    err = {"message": "Index `questions`: Invalid vector dimensions in document with id `0`.\n  - note: x",
           "code": "invalid_vector_dimensions", "type": "invalid_request"}
    with pytest.raises(SearchUnavailable) as exc:
        check_task(_task("failed", err))
    msg = str(exc.value)
    assert "failed" in msg and "Invalid vector dimensions" in msg and "invalid_vector_dimensions" in msg
    assert "\n" not in msg and "task 7" in msg


@pytest.mark.parametrize("status", ["canceled", "enqueued", "processing"])
def test_check_task_raises_for_anything_but_succeeded(status):
    with pytest.raises(SearchUnavailable, match=status):
        check_task(_task(status))


# --- the backend against real network failures ------------------------------------------------


def _settings(url: str, timeout: float = 2.0, **kw) -> Settings:
    return Settings(meili_url=url, meili_key="masterKey", meili_timeout=timeout, meili_index="questions", **kw)


def _closed_port() -> int:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()  # nothing listens there any more: connections are refused
    return port


@pytest.fixture
def refused() -> MeiliBackend:
    return MeiliBackend(_settings(f"http://127.0.0.1:{_closed_port()}"), semantic=True)


@pytest.fixture
def black_hole():
    """A TCP listener that accepts connections and never answers (not an HTTP server)."""
    srv = socket.socket()
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("127.0.0.1", 0))
    srv.listen(16)
    srv.settimeout(0.2)
    held: list[socket.socket] = []
    stop = threading.Event()

    def serve():
        while not stop.is_set():
            try:
                conn, _ = srv.accept()
            except OSError:
                continue
            held.append(conn)  # read nothing, write nothing

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield srv.getsockname()[1]
    stop.set()
    thread.join(timeout=2)
    for conn in held:
        conn.close()
    srv.close()


def test_backend_satisfies_the_port(refused):
    backend: SearchBackend = refused
    assert backend.name == "meilisearch"
    for method in ("ensure_index", "upsert", "delete", "search", "similar", "rebuild", "healthy"):
        assert callable(getattr(backend, method))


def test_missing_url_is_a_settings_error():
    with pytest.raises(SettingsError, match="GROUNDSWELL_MEILI_URL"):
        MeiliBackend(Settings(meili_url=None))


def test_client_uses_settings(refused):
    assert refused.client.config.timeout == 2.0
    assert refused.client.config.api_key == "masterKey"
    assert refused.index_name == "questions"


def test_existing_client_is_used():
    client = meilisearch.Client("http://127.0.0.1:1", timeout=1)
    backend = MeiliBackend(_settings("http://unused"), client=client)
    assert backend.client is client


CALLS = [
    ("ensure_index", lambda b: b.ensure_index()),
    ("upsert", lambda b: b.upsert([make_doc(vectors=(unit_vector(0),))])),
    ("delete", lambda b: b.delete([1, 2, 3])),
    ("search", lambda b: b.search(SearchQuery(q="wifi", filters=Filters(product="x")))),
    ("similar", lambda b: b.similar(SimilarQuery(title="wifi drops", vector=unit_vector(0)))),
    ("rebuild", lambda b: b.rebuild([[make_doc()]])),
]


@pytest.mark.parametrize("name,call", CALLS, ids=[c[0] for c in CALLS])
def test_connection_refused_is_search_unavailable(refused, name, call):
    start = time.monotonic()
    with pytest.raises(SearchUnavailable) as exc:
        call(refused)
    assert time.monotonic() - start < 2.0
    msg = str(exc.value)
    assert msg.startswith(f"meilisearch {name} failed: MeilisearchCommunicationError")
    assert "\n" not in msg and len(msg) <= 300
    assert "masterKey" not in msg


def test_connection_refused_is_not_healthy(refused):
    start = time.monotonic()
    assert refused.healthy() is False
    assert time.monotonic() - start < 2.0


def test_empty_writes_do_not_touch_the_network(refused):
    refused.upsert([])
    refused.delete([])


@pytest.mark.parametrize("name,call", [CALLS[0], CALLS[3], CALLS[4]], ids=["ensure_index", "search", "similar"])
def test_black_hole_times_out(black_hole, name, call):
    backend = MeiliBackend(_settings(f"http://127.0.0.1:{black_hole}", timeout=0.5))
    start = time.monotonic()
    with pytest.raises(SearchUnavailable) as exc:
        call(backend)
    elapsed = time.monotonic() - start
    assert 0.4 <= elapsed < 3.0
    assert "MeilisearchTimeoutError" in str(exc.value)


def test_black_hole_is_not_healthy(black_hole):
    backend = MeiliBackend(_settings(f"http://127.0.0.1:{black_hole}", timeout=0.5))
    start = time.monotonic()
    assert backend.healthy() is False
    assert time.monotonic() - start < 3.0


# --- error translation and task waiting, without any server ------------------------------------


def test_api_error_becomes_one_line_search_unavailable(refused):
    import requests
    from meilisearch.errors import MeilisearchApiError

    response = requests.Response()
    response.status_code = 401
    response._content = (b'{"message": "The provided API key is invalid.\\nTry again.", "code": "invalid_api_key",'
                         b' "type": "auth", "link": "https://docs.meilisearch.com/errors#invalid_api_key"}')
    with pytest.raises(SearchUnavailable) as exc:
        with refused._guard("search"):
            raise MeilisearchApiError("401 Client Error", response)
    assert str(exc.value) == (
        "meilisearch search failed: HTTP 401 [invalid_api_key]: The provided API key is invalid. Try again."
    )


class _TaskClient:
    """Stands in for the client's wait_for_task only: returns a finished task as the server would."""

    def __init__(self, task: Task):
        self.task = task
        self.waited: list[tuple[int, int]] = []

    def wait_for_task(self, uid, timeout_in_ms=5000, interval_in_ms=50):
        self.waited.append((uid, timeout_in_ms))
        return self.task  # like the real client: a failed task is returned, not raised


def _info(uid: int = 7):
    from meilisearch.models.task import TaskInfo

    return TaskInfo(task_uid=uid, index_uid="questions", status="enqueued", type="documentAdditionOrUpdate",
                    enqueued_at="2024-05-17T09:30:15.000000Z")


def test_wait_checks_the_final_status():
    err = {"message": "Index `questions` not found.", "code": "index_not_found"}
    client = _TaskClient(_task("failed", err))
    backend = MeiliBackend(_settings("http://unused"), client=client, task_timeout=12.5)
    with pytest.raises(SearchUnavailable, match=r"\[index_not_found\]: Index `questions` not found"):
        backend._wait(_info())
    assert client.waited == [(7, 12500)]
    backend._wait(_info(), ok_codes=frozenset({"index_not_found"}))  # an expected failure passes
    client.task = _task("succeeded")
    backend._wait(_info())
    client.task = _task("canceled")
    with pytest.raises(SearchUnavailable, match="canceled"):
        backend._wait(_info(), ok_codes=frozenset({"index_not_found"}))


# --- matching settings and query building, derived from app.search.analysis (issue 12) ------------

@pytest.mark.parametrize("symbol_word", ["c#", "f#", "c++", "notepad++"])
def test_symbols_that_end_a_technical_token_do_not_separate_words(symbol_word):
    # What the embedded analysis keeps whole, Meilisearch must not split either.
    from app.search import analysis

    assert [t.whole or t.terms[0] for t in analysis.analyze(symbol_word)] == [symbol_word]
    assert {ch for ch in symbol_word if not ch.isalnum()} <= set(INDEX_SETTINGS["nonSeparatorTokens"])


@pytest.mark.parametrize("form, others", [
    ("wifi", {"wi-fi", "wi fi", "wireless", "wlan"}),
    ("wi fi", {"wifi", "wi-fi"}),
    ("two-factor", {"twofactor", "two factor", "2fa", "mfa"}),
    ("log in", {"login", "sign in", "signin"}),
    ("sign in", {"log in", "login"}),
])
def test_synonyms_cover_every_surface_form_both_ways(form, others):
    syn = INDEX_SETTINGS["synonyms"]
    assert others <= set(syn[form])
    for other in others:
        assert form in syn[other]


def _query(q, **kw):
    return SearchQuery(q=q, **kw)


def test_search_params_relax_like_the_embedded_backend():
    q, params = meili.search_params(_query("wifi keeps dropping after update"), semantic=False)
    assert q == "wifi keeps dropping after update"
    assert params["matchingStrategy"] == "frequency"
    assert "hybrid" not in params and "vector" not in params


@pytest.mark.parametrize("typed, sent", [
    ("\u201cKestrel Glance\u201d", '"Kestrel Glance"'),
    ("\u00abblue light\u00bb filter", '"blue light" filter'),
    ('"unclosed phrase', '"unclosed phrase'),
])
def test_typographic_quotes_become_a_phrase(typed, sent):
    assert meili.search_params(_query(typed), semantic=False)[0] == sent


def test_search_is_hybrid_with_a_vector_unless_a_phrase_is_quoted():
    vector = tuple([0.1] * DIMENSIONS)
    _, params = meili.search_params(_query("laptop wont turn on", vector=vector), semantic=True)
    assert params["hybrid"] == {"embedder": "default", "semanticRatio": meili.SEARCH_SEMANTIC_RATIO}
    assert len(params["vector"]) == DIMENSIONS
    _, params = meili.search_params(_query('"laptop wont turn on"', vector=vector), semantic=True)
    assert "hybrid" not in params
    _, params = meili.search_params(_query("laptop", vector=vector), semantic=False)
    assert "hybrid" not in params  # the index has no embedder
    _, params = meili.search_params(_query("", vector=vector), semantic=True)
    assert "hybrid" not in params


def test_search_params_keep_paging_filters_and_highlights():
    _, params = meili.search_params(_query("wifi", filters=Filters(product="aero-14", solved=True),
                                           page=3, size=500), semantic=False)
    assert params["page"] == 3 and params["hitsPerPage"] == meili.MAX_PAGE_SIZE
    assert params["filter"] == 'product = "aero-14" AND solved = true'
    assert params["highlightPreTag"] == meili.HL_PRE and params["attributesToCrop"] == ["body"]
