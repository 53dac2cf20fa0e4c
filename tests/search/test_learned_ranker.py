"""The learned re-ranker over similar()'s candidates (app/search/learned.py), on SQLite and PostgreSQL.

The fixture is a community where the moderators' closures follow a rule the base ranking does not
know: a new question turns out to be a duplicate of a question that was asked again before (it
has duplicates folded in), even when a same-topic question that nobody ever asked again (a decoy)
is closer in wording. The base ranking (cosine, a small bonus per folded duplicate) puts the decoy
first; the ranker learned from the closures puts the original first. Vectors are given to the
index directly (the stored phrasing vectors); everything else is the real path: questions,
closures, the index table, gathering, LightGBM training, the model table, service.similar().
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import subprocess
import sys
from types import SimpleNamespace

import numpy as np
import pytest
from sqlalchemy import func, select, update
from sqlmodel import Session

from app.accounts.models import Role, User
from app.core.config import get_settings
from app.core.db import writer
from app.questions import duplicates
from app.questions.models import Question
from app.search import embedded, learned, service
from app.search.embedded import EmbeddedBackend
from app.search.models import LearnedModel
from app.search.ports import DIMENSIONS, SimilarQuery
from tests.factories import make_question, make_user
from tests.snapshots import Built
from tests.search.test_learned import _index_with_vectors, _word

ENCODER = "test-encoder"
ORIGINALS = 40
DUPLICATES_EACH = 3


def unit(v: np.ndarray) -> np.ndarray:
    return (v / np.linalg.norm(v)).astype(np.float32)


def _build_community(engine) -> dict:
    """40 originals with 3 closures each; every closure has a same-topic decoy with no duplicates
    that is closer to it (cosine 0.75) than its original's phrasings (0.6 to the title, 0.36 to
    the other duplicates). Plus the query: a fourth wording of original 0, with its own decoy."""
    with Session(writer(engine), expire_on_commit=False) as forum:
        return _ask_community(forum)


def _ask_community(forum) -> dict:
    rng = np.random.default_rng(21)

    def direction() -> np.ndarray:
        return unit(rng.normal(size=DIMENSIONS))

    mod = make_user(forum, "mod", role=Role.moderator)
    asker = make_user(forum, "asker")
    vectors: dict[int, np.ndarray] = {}
    alternates: dict[int, list[int]] = {}
    counter = iter(range(10_000))

    def ask(vec: np.ndarray):
        q = make_question(forum, asker, f"{_word(next(counter))} {_word(next(counter))}", tags=["t"])
        vectors[q.id] = vec
        return q

    def wording(original: np.ndarray, decoy: np.ndarray) -> np.ndarray:
        return unit(0.75 * decoy + 0.6 * original + 0.28 * direction())

    originals = []
    for _ in range(ORIGINALS):
        o_vec = direction()
        original = ask(o_vec)
        originals.append((original, o_vec))
        for _ in range(DUPLICATES_EACH):
            d_vec = direction()
            ask(d_vec)  # the decoy: same topic, never asked again
            dup = ask(wording(o_vec, d_vec))
            duplicates.close_as_duplicate(forum, actor=mod, question_id=dup.id, original_id=original.id)
            alternates.setdefault(original.id, []).append(dup.id)
    target, t_vec = originals[0]
    q_decoy_vec = direction()
    decoy = ask(q_decoy_vec)
    forum.flush()
    _index_with_vectors(forum, vectors, alternates)
    forum.commit()
    return {"target": SimpleNamespace(id=target.id), "decoy": SimpleNamespace(id=decoy.id),
            "query": wording(t_vec, q_decoy_vec), "vectors": vectors, "alternates": alternates}


_COMMUNITY = Built(_build_community)


@pytest.fixture
def community(clean_engine) -> dict:
    """The community of `_build_community`, asked through the real services once per database in
    a run and put back from its row snapshot for later tests (tests/snapshots.py: the 281
    questions and 120 closures took 2–4 s per test)."""
    built = _COMMUNITY.get(clean_engine)
    return {**built, "vectors": dict(built["vectors"]),
            "alternates": {k: list(v) for k, v in built["alternates"].items()}}


@pytest.fixture(autouse=True)
def _fresh_models(monkeypatch):
    monkeypatch.setattr(learned, "RANKER_PARAMS", {**learned.RANKER_PARAMS, "min_data_in_leaf": 5})
    learned.forget_served()
    embedded.forget_memory_indexes()
    yield
    learned.forget_served()
    embedded.forget_memory_indexes()


def ranking(engine, vector: np.ndarray) -> list[int]:
    """similar() as served: with the stored ranker when there is one."""
    served = learned.served_ranker(engine, ENCODER)
    backend = EmbeddedBackend(engine)
    query = SimilarQuery(title="zzzz", vector=tuple(float(x) for x in vector), limit=5)
    hits = backend.similar(query) if served is None else backend.similar_reranked(query, served.ranker)
    return [h.id for h in hits]


def _encoder_returning(monkeypatch, vector: np.ndarray):
    """Make service.similar()'s encoder return `vector` for any text; returns the settings to pass
    (embedded backend, learning on)."""
    class Encoder:
        name = ENCODER

        def embed_query(self, text: str) -> np.ndarray:
            return vector

    monkeypatch.setattr(service, "encoder_for", lambda settings: Encoder())
    service.reset_backends()
    return get_settings().model_copy(update={"search_backend": "embedded", "search_learning": "auto"})


def test_the_ranker_puts_the_known_duplicates_original_above_the_same_topic_decoy(clean_engine, community):
    before = ranking(clean_engine, community["query"])
    assert before[0] == community["decoy"].id  # the base ranking falls for the closer wording
    assert community["target"].id in before

    outcome = learned.train_ranker(clean_engine, encoder_name=ENCODER, min_links=20)

    assert outcome.version is not None, outcome.reason
    assert outcome.metrics["validation_MRR@10"] > outcome.metrics["validation_base_MRR@10"]
    after = ranking(clean_engine, community["query"])
    assert after[0] == community["target"].id
    assert after.index(community["decoy"].id) > 0


def test_service_similar_serves_the_ranker_and_the_setting_turns_it_off(clean_engine, community, monkeypatch):
    """The public path: service.similar() with an encoder that returns the query's vector."""
    learned.train_ranker(clean_engine, encoder_name=ENCODER, min_links=20)

    settings = _encoder_returning(monkeypatch, community["query"])
    with Session(clean_engine) as s:
        on = service.similar(s, settings=settings, engine=clean_engine, title="zzzz")
        off = service.similar(s, settings=settings.model_copy(update={"search_learning": "off"}),
                              engine=clean_engine, title="zzzz")
    service.reset_backends()
    assert on[0].id == community["target"].id
    assert off[0].id == community["decoy"].id


def test_same_links_give_the_same_ranker_and_ranking(clean_engine, community):
    first = learned.train_ranker(clean_engine, encoder_name=ENCODER, min_links=20)
    ranked_first = ranking(clean_engine, community["query"])
    second = learned.train_ranker(clean_engine, encoder_name=ENCODER, min_links=20)
    ranked_second = ranking(clean_engine, community["query"])
    with Session(clean_engine) as s:
        blobs = {m.id: m.blob for m in s.execute(select(LearnedModel).where(
            LearnedModel.kind == learned.RANKER_KIND)).scalars()}
    assert second.version == first.version + 1
    assert blobs[first.version] == blobs[second.version]
    assert ranked_first == ranked_second


def test_too_few_links_keep_the_base_ranking(clean_engine, community):
    base = ranking(clean_engine, community["query"])

    outcome = learned.train_ranker(clean_engine, encoder_name=ENCODER, min_links=ORIGINALS * DUPLICATES_EACH + 1)

    assert outcome.version is None and "fewer than the 121" in outcome.reason
    with Session(clean_engine) as s:
        assert s.execute(select(func.count()).select_from(LearnedModel)).scalar_one() == 0
    assert learned.served_ranker(clean_engine, ENCODER) is None
    assert ranking(clean_engine, community["query"]) == base


def test_a_failed_training_keeps_the_previous_ranker(clean_engine, community, monkeypatch):
    good = learned.train_ranker(clean_engine, encoder_name=ENCODER, min_links=20)
    assert learned.served_ranker(clean_engine, ENCODER).version == good.version

    timed_out = learned.train_ranker(clean_engine, encoder_name=ENCODER, min_links=20, time_budget=0.0)
    assert timed_out.version is None and "failed" in timed_out.reason

    # LightGBM itself failing (here: parameters it refuses) stores nothing either.
    monkeypatch.setattr(learned, "RANKER_PARAMS", {**learned.RANKER_PARAMS, "num_leaves": -3})
    broken = learned.train_ranker(clean_engine, encoder_name=ENCODER, min_links=20)
    assert broken.version is None and "failed" in broken.reason

    assert learned.served_ranker(clean_engine, ENCODER).version == good.version
    assert ranking(clean_engine, community["query"])[0] == community["target"].id


def _count_ranker() -> str:
    """A LightGBM ranker over FEATURES that learned one rule: the candidate asked most often
    (largest `log_duplicates`) is the original; the other columns are noise."""
    rng = np.random.default_rng(3)
    col = embedded.FEATURES.index("log_duplicates")
    x = rng.normal(size=(200 * 8, len(embedded.FEATURES))).astype(np.float32)
    counts = rng.integers(0, 40, size=200 * 8)
    x[:, col] = np.log1p(counts)
    y = np.zeros(len(x), np.int32)
    for g in range(200):
        y[g * 8 + int(np.argmax(counts[g * 8:(g + 1) * 8]))] = 1
    return learned.train_ranker_on(x, y, np.full(200, 8), params={"min_data_in_leaf": 5})


def test_the_ranker_is_served_the_duplicate_count_scaled():
    """count_scale: the rows are scored as if each candidate's duplicate count were scaled (and
    rounded to a whole count); the caller's rows are left as they were."""
    model = _count_ranker()
    col = embedded.FEATURES.index("log_duplicates")
    rows = np.zeros((4, len(embedded.FEATURES)), np.float32)
    rows[:, col] = np.log1p([0, 3, 9, 30])
    given = rows.copy()

    halved = learned.Ranker(model, count_scale=0.5)(rows)

    assert np.array_equal(rows, given)
    by_hand = given.copy()
    by_hand[:, col] = np.log1p([0, 2, 4, 15])  # round(1.5) = 2, round(4.5) = 4 (to even)
    assert np.allclose(halved, learned.Ranker(model)(by_hand))
    assert not np.allclose(halved, learned.Ranker(model)(given))  # the count matters to this model
    assert np.allclose(learned.Ranker(model, count_scale=1.0)(given), learned.Ranker(model)(given))
    with pytest.raises(ValueError):
        learned.Ranker(model, count_scale=-0.5)


def test_the_served_ranker_gets_the_count_scale_it_was_trained_for(clean_engine, community):
    """train_ranker stores RANKER_COUNT_SCALE with the model (its groups saw the counts of indexes
    without one part's titles); a ranker stored without it (before the scale existed) is served
    the counts as they are."""
    outcome = learned.train_ranker(clean_engine, encoder_name=ENCODER, min_links=20)
    assert outcome.metrics["count_scale"] == learned.RANKER_COUNT_SCALE == 1 - 1 / learned.RANKER_INNER_FOLDS
    assert learned.served_ranker(clean_engine, ENCODER).ranker.count_scale == learned.RANKER_COUNT_SCALE

    older = learned.store_ranker(clean_engine, _count_ranker(), encoder_name=ENCODER, metrics={"with_adapter": False})
    learned.forget_served()
    served = learned.served_ranker(clean_engine, ENCODER)
    assert served.version == older and served.ranker.count_scale == 1.0


def test_a_damaged_stored_ranker_is_refused():
    with pytest.raises(ValueError):
        learned.store_ranker(None, "not a model", encoder_name=ENCODER)  # type: ignore[arg-type]


_PROBE = """
import hashlib, json, os, sys
import numpy as np
from app.core.db import make_engine
from app.search import learned
from app.search.embedded import EmbeddedBackend
from app.search.ports import SimilarQuery
engine = make_engine(os.environ["GROUNDSWELL_DATABASE_URL"])
served = learned.served_ranker(engine, sys.argv[1])
vector = json.loads(sys.argv[2])
hits = EmbeddedBackend(engine).similar_reranked(SimilarQuery(title="zzzz", vector=tuple(vector), limit=5), served.ranker)
print(json.dumps({"version": served.version, "count_scale": served.ranker.count_scale,
                  "model": hashlib.sha256(served.ranker.booster.model_to_string().encode()).hexdigest(),
                  "ranking": [h.id for h in hits]}))
"""


def test_two_processes_serve_the_same_ranker(clean_engine, community, db_url):
    learned.train_ranker(clean_engine, encoder_name=ENCODER, min_links=20)
    mine = learned.served_ranker(clean_engine, ENCODER)
    vector = json.dumps([float(x) for x in community["query"]])
    env = dict(os.environ, GROUNDSWELL_DATABASE_URL=db_url)
    runs = [json.loads(subprocess.run([sys.executable, "-c", _PROBE, ENCODER, vector], env=env, check=True,
                                      capture_output=True, text=True).stdout) for _ in range(2)]
    assert runs[0] == runs[1]
    assert runs[0]["version"] == mine.version
    assert runs[0]["count_scale"] == mine.ranker.count_scale == learned.RANKER_COUNT_SCALE
    assert runs[0]["model"] == hashlib.sha256(mine.ranker.booster.model_to_string().encode()).hexdigest()
    assert runs[0]["ranking"] == ranking(clean_engine, community["query"])
    assert runs[0]["ranking"][0] == community["target"].id


def test_the_worker_refresh_trains_the_ranker_when_due(clean_engine, community, forum):
    report = learned.refresh(clean_engine, encoder_name=ENCODER, min_links=20, refresh_after=3)
    served = learned.served_ranker(clean_engine, ENCODER)
    assert served is not None and f"ranker {served.version} learned" in report
    # nothing new: the ranker is not due (the adapter part of the report may retry on its own)
    assert "ranker" not in learned.refresh(clean_engine, encoder_name=ENCODER, min_links=20, refresh_after=3)
    assert learned.served_ranker(clean_engine, ENCODER).version == served.version


def test_training_groups_do_not_see_the_link_they_learn_from(clean_engine, community):
    """Each link's title is asked of an index where it is not folded into its original: the
    original's best cosine is its other phrasings' (about 0.6), never the title's own vector (1.0)."""
    x, y, sizes, originals = learned.ranker_groups(learned._document_rows(clean_engine),
                                                   learned._link_titles(clean_engine))
    assert len(sizes) == ORIGINALS * DUPLICATES_EACH and sizes.sum() == len(y) == len(x)
    assert y.sum() == len(sizes)  # one original per group
    cosine_best = x[:, embedded.FEATURES.index("cosine_best")]
    assert cosine_best[y == 1].max() < 0.9
    assert community["target"].id in set(originals.tolist())


def _adapter(seed: int = 5) -> np.ndarray:
    """A query adapter W = I + 0.2·R (a fixed random R): not the identity, so adapted vectors differ."""
    r = np.random.default_rng(seed).normal(size=(DIMENSIONS, DIMENSIONS)).astype(np.float32) / np.sqrt(DIMENSIONS)
    return (np.eye(DIMENSIONS, dtype=np.float32) + 0.2 * r).astype(np.float32)


def test_with_an_adapter_served_the_ranker_learns_and_serves_on_adapted_vectors(clean_engine, community, monkeypatch):
    """With a query adapter served, each inner part's groups are gathered through an adapter learned
    without that part's links (never the served one, which saw them all), the stored ranker says
    so, and service.similar() serves adapter and ranker together."""
    learned.store(clean_engine, _adapter(), encoder_name=ENCODER, links=120)
    asked_per_part: list[set] = []
    real = learned.adapter_without

    def recording(data, asked, **kw):
        asked_per_part.append(set(asked))
        return real(data, asked, **kw)

    monkeypatch.setattr(learned, "adapter_without", recording)
    outcome = learned.train_ranker(clean_engine, encoder_name=ENCODER, min_links=20)

    assert outcome.version is not None, outcome.reason
    assert outcome.metrics["with_adapter"] is True
    assert len(asked_per_part) == learned.RANKER_INNER_FOLDS
    assert not asked_per_part[0] & asked_per_part[1]
    links = {(o, t) for _d, o, t in learned._link_titles(clean_engine)}
    assert asked_per_part[0] | asked_per_part[1] == links
    served = learned.served_ranker(clean_engine, ENCODER)
    assert served.version == outcome.version and served.with_adapter

    settings = _encoder_returning(monkeypatch, community["query"])
    try:
        with Session(clean_engine) as s:
            hits = service.similar(s, settings=settings, engine=clean_engine, title="zzzz")
            status = service.learned_status(settings, clean_engine)
    finally:
        service.reset_backends()
    assert hits[0].id == community["target"].id
    assert f"ranker {served.version}" in status and "query adapter" in status


def test_adapter_without_leaves_out_the_asked_links_and_their_phrasings(clean_engine, community):
    data = learned.collect(clean_engine)
    titles, corpus_titles = data.extra["titles"], data.extra["corpus_titles"]
    assert len(titles) == len(data.queries) == ORIGINALS * DUPLICATES_EACH
    first = int(data.groups[0])
    asked = {(first, t) for g, t in zip(data.groups.tolist(), titles) if g == first}
    assert len(asked) == DUPLICATES_EACH

    # What it must equal: the adapter learned from the pairs and corpus rows that do not name an
    # asked link (the original's own title vector stays: it was there before the closures).
    keep = [k for k in range(len(titles)) if (int(data.groups[k]), titles[k]) not in asked]
    rows = [k for k in range(len(data.corpus))
            if (int(data.corpus_owner[k]), corpus_titles[k]) not in asked]
    assert len(keep) == len(titles) - DUPLICATES_EACH and len(rows) == len(data.corpus) - DUPLICATES_EACH
    expected = learned.train_adapter(learned.TrainingSet(
        queries=data.queries[keep], positives=data.positives[keep], groups=data.groups[keep],
        corpus=data.corpus[rows], corpus_owner=data.corpus_owner[rows]))

    without = learned.adapter_without(data, asked)
    assert np.array_equal(without, expected)
    assert not np.array_equal(without, learned.adapter_without(data, set()))
    assert learned.adapter_without(data, {(int(g), t) for g, t in zip(data.groups.tolist(), titles)}) is None


def test_links_not_folded_into_their_original_are_embedded_and_learned_from(clean_engine, community, forum,
                                                                             monkeypatch):
    """A link whose title is not among its original's stored phrasings (past the folded maximum,
    50 in production, 1 here) has no stored vector: with the encoder's embed it is asked too, as a
    new question would be; without, it is skipped."""
    vectors, alternates = community["vectors"], community["alternates"]
    target = community["target"].id
    assert _unfold_target(forum, community, monkeypatch) == 2
    titles = {d: t for d, _o, t in learned._link_titles(clean_engine)}
    unfolded = {titles[d]: vectors[d] for d in alternates[target][1:]}
    asked: list[str] = []

    def embed(texts: list[str]) -> np.ndarray:
        asked.extend(texts)
        return np.asarray([unfolded[t] for t in texts], dtype=np.float32)

    rows, links = learned._document_rows(clean_engine), learned._link_titles(clean_engine)
    _x, _y, skipped, _o = learned.ranker_groups(rows, links)
    x, y, sizes, originals = learned.ranker_groups(rows, links, embed=embed)

    assert sorted(asked) == sorted(unfolded)  # exactly the unfolded links' titles, once each
    assert len(skipped) == ORIGINALS * DUPLICATES_EACH - len(unfolded)
    assert len(sizes) == ORIGINALS * DUPLICATES_EACH
    assert list(originals).count(target) == DUPLICATES_EACH
    cosine_best = x[:, embedded.FEATURES.index("cosine_best")]
    assert cosine_best[y == 1].max() < 0.9  # no group sees its own title's vector folded in


def _unfold_target(forum, community, monkeypatch) -> int:
    """Re-index the target original with only its first duplicate folded in (the folded maximum
    lowered to 1), so its other two links have no stored vector; returns their number."""
    from app.search import indexer

    vectors, alternates = community["vectors"], community["alternates"]
    target = community["target"].id
    monkeypatch.setattr(indexer, "ALTERNATES_MAX", 1)
    docs, gone = indexer.build(forum, [target])
    phrasings = ([vectors[target]] if docs[0].body else []) + [vectors[target], vectors[alternates[target][0]]]
    embedded.write_documents(forum, [dataclasses.replace(docs[0], vectors=tuple(
        tuple(map(float, v)) for v in phrasings))], gone)
    forum.commit()
    return len(alternates[target]) - 1


def test_the_refresh_does_not_retrain_when_nothing_changed_though_some_links_are_unused(
        clean_engine, community, forum, monkeypatch):
    """The due rule compares the stored model's link count with every link in the database: links
    the training could not use (no stored vector) must not make a model due again and again."""
    unused = _unfold_target(forum, community, monkeypatch)
    assert unused == 2
    first = learned.refresh(clean_engine, encoder_name=ENCODER, min_links=20, refresh_after=2)
    adapter, ranker = learned.served(clean_engine, ENCODER), learned.served_ranker(clean_engine, ENCODER)
    assert adapter is not None and ranker is not None, first
    assert adapter.links == ranker.links == ORIGINALS * DUPLICATES_EACH  # every link, used or not

    assert learned.refresh(clean_engine, encoder_name=ENCODER, min_links=20, refresh_after=2) == ""
    assert learned.served(clean_engine, ENCODER).version == adapter.version
    assert learned.served_ranker(clean_engine, ENCODER).version == ranker.version


def test_the_ranker_is_retrained_when_a_new_adapter_is_stored(clean_engine, community, monkeypatch):
    """A ranker trained on base vectors would keep a newly stored adapter from being applied
    (service.similar_hits applies it only under a with_adapter ranker): the refresh retrains it."""
    plain = learned.train_ranker(clean_engine, encoder_name=ENCODER, min_links=20)
    assert plain.version is not None and plain.metrics["with_adapter"] is False

    report = learned.refresh(clean_engine, encoder_name=ENCODER, min_links=20, refresh_after=10_000)

    adapter = learned.served(clean_engine, ENCODER)
    assert adapter is not None, report
    ranker = learned.served_ranker(clean_engine, ENCODER)
    assert ranker.version != plain.version and ranker.with_adapter, report


def test_a_title_with_a_line_break_is_matched_to_its_stored_phrasing(clean_engine, community, forum):
    """Stored alternate titles hold a title's line breaks as spaces: the link is recognised as
    folded in (its own vector stripped from the index, not embedded again as if unfolded)."""
    dup_id = community["alternates"][community["target"].id][0]
    forum.execute(update(Question).where(Question.id == dup_id).values(title="zz first line\nsecond line"))
    forum.commit()
    _index_with_vectors(forum, community["vectors"], community["alternates"])
    forum.commit()
    embedded_titles: list[str] = []

    def embed(texts: list[str]) -> np.ndarray:
        embedded_titles.extend(texts)
        return np.zeros((len(texts), DIMENSIONS), dtype=np.float32)

    rows, links = learned._document_rows(clean_engine), learned._link_titles(clean_engine)
    assert "zz first line second line" in {t for _d, _o, t in links}
    x, y, sizes, _originals = learned.ranker_groups(rows, links, embed=embed)

    assert embedded_titles == []  # every link is folded in: nothing to embed
    assert len(sizes) == ORIGINALS * DUPLICATES_EACH
    cosine_best = x[:, embedded.FEATURES.index("cosine_best")]
    assert cosine_best[y == 1].max() < 0.9
    assert "zz first line second line" in learned.collect(clean_engine).extra["titles"]


def test_the_rankers_check_counts_each_original_once():
    """The held-out check's figures with owners: an original with many groups weighs as much as
    one with a single group (three hits for A, one miss for B: per group 0.75, per original 0.5)."""
    from app.search.learned import _ranked_quality

    # Four groups of two candidates; the label-1 row is first in A's groups, second in B's.
    scores = np.array([2.0, 1.0] * 4)
    y = np.array([1, 0, 1, 0, 1, 0, 0, 1])
    sizes = np.array([2, 2, 2, 2])
    owners = np.array([7, 7, 7, 9])
    assert _ranked_quality(scores, y, sizes, k=1) == (0.75, (3 + 0.5) / 4)
    assert _ranked_quality(scores, y, sizes, k=1, owners=owners) == (0.5, (1 + 0.5) / 2)


def test_links_re_pointed_down_a_chain_are_not_learned_from(clean_engine, community, forum):
    """Closing an original with duplicates as a duplicate itself re-points its duplicates to the
    end of the chain; the moderators never named that question for them, so the ranker's training
    leaves those links out (docs/search-research.md, "Chains"), and keeps the closure itself and
    the end question's own duplicates."""
    first, second = list(community["alternates"])[:2]
    before = {d for d, _o, _t in learned._link_titles(clean_engine)}
    assert set(community["alternates"][first]) <= before
    mod = forum.execute(select(User).where(User.username == "mod")).scalar_one()
    duplicates.close_as_duplicate(forum, actor=mod, question_id=first, original_id=second)
    forum.commit()

    links = {d: o for d, o, _t in learned._link_titles(clean_engine)}
    assert not set(community["alternates"][first]) & set(links)  # re-pointed: left out
    assert links[first] == second  # the closure itself: learned from
    assert all(links[d] == second for d in community["alternates"][second])
    assert set(links) == before - set(community["alternates"][first]) | {first}
    with Session(clean_engine) as s:  # still duplicates of the chain's end everywhere else
        assert set(s.execute(select(Question.duplicate_of_id).where(
            Question.id.in_(community["alternates"][first]))).scalars()) == {second}
