"""Learning from the community's duplicate links (app/search/learned.py), on SQLite and PostgreSQL.

The fixture is a forum whose duplicate closures follow a pattern the base vectors do not know:
customers word a problem in their own jargon (a fixed rotation of the "which problem" part of
the vector), so for a new query the base model prefers a same-topic decoy that shares the
jargon, and only a model learned from the closures brings the original back to the top. The
vectors are given to the index directly (the stored phrasing vectors); everything else is the
real path: questions, closures, the index table, training, the model table, the embedded
backend's similar().
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import subprocess
import sys
from datetime import timedelta

import numpy as np
import pytest
from sqlalchemy import func, select
from sqlmodel import Session

from app import worker
from app.accounts.models import Role
from app.core.db import utcnow, writer
from app.questions import duplicates
from app.search import embedded, indexer, learned
from app.search.embedded import EmbeddedBackend
from app.search.models import LearnedModel
from app.search.ports import DIMENSIONS, SimilarQuery
from tests.factories import make_question, make_user

ENCODER = "test-encoder"
IDENTITY_DIMS = 64  # the subspace that says *which* problem a question is about
TOPICS = 10


def unit(v: np.ndarray) -> np.ndarray:
    return (v / np.linalg.norm(v)).astype(np.float32)


class Geometry:
    """Vectors of a toy community: topic + 0.5 × problem identity. Customers who ask again word it
    in the community's jargon (+0.7 × one fixed direction, say everyone calling the hub "the
    puck"); the decoy shares the topic and the jargon but is another problem."""

    def __init__(self, seed: int = 5) -> None:
        rng = np.random.default_rng(seed)
        basis = np.linalg.qr(rng.normal(size=(DIMENSIONS, DIMENSIONS)))[0].astype(np.float32)
        self.topics = basis[:TOPICS]
        self.identity = basis[TOPICS:TOPICS + IDENTITY_DIMS]
        self.jargon_direction = basis[TOPICS + IDENTITY_DIMS]
        self.rng = rng

    def problem(self) -> np.ndarray:
        return unit(self.rng.normal(size=IDENTITY_DIMS))

    def original(self, topic: int, problem: np.ndarray) -> np.ndarray:
        return unit(self.topics[topic] + 0.5 * problem @ self.identity)

    def jargon(self, topic: int, problem: np.ndarray) -> np.ndarray:
        return unit(self.topics[topic] + 0.5 * problem @ self.identity + 0.7 * self.jargon_direction)

    def decoy(self, topic: int, other: np.ndarray) -> np.ndarray:
        """Same topic and jargon, another problem."""
        return unit(self.topics[topic] + 0.7 * self.jargon_direction + 0.15 * other @ self.identity)


def _word(i: int) -> str:
    """A title of made-up words no other title shares (the keyword ranking stays out of it)."""
    letters = "bcdfghjklmnpqrstvwxz"
    return "".join(letters[(i // 20 ** k) % 20] + "aeiou"[(i + k) % 5] for k in range(4))


def _index_with_vectors(session: Session, vectors: dict[int, np.ndarray], alternates: dict[int, list[int]]) -> None:
    """Store the search documents of these questions with the given vectors per phrasing."""
    docs, gone = indexer.build(session, list(vectors))
    out = []
    for d in docs:
        phrasings = ([vectors[d.id]] if d.body else []) + [vectors[d.id]] + [vectors[a] for a in alternates.get(d.id, [])]
        out.append(dataclasses.replace(d, vectors=tuple(tuple(map(float, v)) for v in phrasings)))
    embedded.write_documents(session, out, gone)


@pytest.fixture
def community(forum):
    """60 closures in the jargon pattern, plus the query's original and its same-topic decoy."""
    geo = Geometry()
    mod = make_user(forum, "mod", role=Role.moderator)
    asker = make_user(forum, "asker")
    vectors: dict[int, np.ndarray] = {}
    alternates: dict[int, list[int]] = {}
    counter = iter(range(10_000))

    def ask(vec: np.ndarray):
        q = make_question(forum, asker, f"{_word(next(counter))} {_word(next(counter))}", tags=["t"])
        vectors[q.id] = vec
        return q

    for i in range(60):
        topic, problem = i % TOPICS, geo.problem()
        original = ask(geo.original(topic, problem))
        dup = ask(geo.jargon(topic, problem))
        duplicates.close_as_duplicate(forum, actor=mod, question_id=dup.id, original_id=original.id)
        alternates.setdefault(original.id, []).append(dup.id)
    problem, other = geo.problem(), geo.problem()
    target = ask(geo.original(0, problem))
    decoy = ask(geo.decoy(0, other))
    forum.flush()
    _index_with_vectors(forum, {k: v for k, v in vectors.items()}, alternates)
    forum.commit()
    return {"geo": geo, "target": target, "decoy": decoy, "query": geo.jargon(0, problem), "mod": mod,
            "asker": asker, "ask": ask, "vectors": vectors, "alternates": alternates}


def ranking(engine, vector: np.ndarray, *, learned_on: bool = True) -> list[int]:
    vec = learned.adapt_query(engine, ENCODER, vector, enabled=learned_on)
    hits = EmbeddedBackend(engine).similar(SimilarQuery(title="zzzz", vector=tuple(vec.tolist()), limit=5))
    return [h.id for h in hits]


@pytest.fixture(autouse=True)
def _fresh_models():
    learned.forget_served()
    embedded.forget_memory_indexes()
    yield
    learned.forget_served()
    embedded.forget_memory_indexes()


def test_the_learned_model_ranks_the_known_duplicate_above_the_same_topic_decoy(clean_engine, community):
    before = ranking(clean_engine, community["query"])
    assert before[0] == community["decoy"].id  # the base vectors fall for the shared jargon

    outcome = learned.train(clean_engine, encoder_name=ENCODER, min_links=20)

    assert outcome.version is not None, outcome.reason
    assert outcome.links == 60
    assert outcome.metrics["validation_R@5"] >= outcome.metrics["validation_base_R@5"]
    after = ranking(clean_engine, community["query"])
    assert after[0] == community["target"].id
    assert after.index(community["decoy"].id) > 0 if community["decoy"].id in after else True
    # the setting off serves the base ranking again
    assert ranking(clean_engine, community["query"], learned_on=False)[0] == community["decoy"].id


def test_same_links_give_the_same_model_and_ranking(clean_engine, community):
    first = learned.train(clean_engine, encoder_name=ENCODER, min_links=20)
    ranked_first = ranking(clean_engine, community["query"])
    second = learned.train(clean_engine, encoder_name=ENCODER, min_links=20)
    ranked_second = ranking(clean_engine, community["query"])
    with Session(clean_engine) as s:
        blobs = {m.id: m.blob for m in s.execute(select(LearnedModel)).scalars()}
    assert second.version == first.version + 1
    assert blobs[first.version] == blobs[second.version]
    assert ranked_first == ranked_second


def test_too_few_links_keep_the_base_ranking(clean_engine, community):
    base = ranking(clean_engine, community["query"])

    outcome = learned.train(clean_engine, encoder_name=ENCODER, min_links=61)

    assert outcome.version is None and "fewer than the 61" in outcome.reason
    with Session(clean_engine) as s:
        assert s.execute(select(func.count()).select_from(LearnedModel)).scalar_one() == 0
    assert learned.served(clean_engine, ENCODER) is None
    assert ranking(clean_engine, community["query"]) == base


def test_a_failed_training_keeps_the_previous_model(clean_engine, community):
    good = learned.train(clean_engine, encoder_name=ENCODER, min_links=20)
    served = learned.served(clean_engine, ENCODER)
    assert served is not None and served.version == good.version

    timed_out = learned.train(clean_engine, encoder_name=ENCODER, min_links=20, time_budget=0.0)

    assert timed_out.version is None and "failed" in timed_out.reason
    assert learned.served(clean_engine, ENCODER).version == good.version
    assert ranking(clean_engine, community["query"])[0] == community["target"].id


def test_a_model_that_does_not_beat_the_base_is_not_served(clean_engine, forum):
    """Links that carry no pattern (random pairs) must not replace the base ranking."""
    rng = np.random.default_rng(1)
    mod = make_user(forum, "mod2", role=Role.moderator)
    vectors, alternates = {}, {}
    for i in range(40):
        original = make_question(forum, mod, f"{_word(2 * i)} {_word(2 * i + 1)}", tags=["t"])
        dup = make_question(forum, mod, f"{_word(500 + 2 * i)} {_word(501 + 2 * i)}", tags=["t"])
        vectors[original.id] = unit(rng.normal(size=DIMENSIONS))
        vectors[dup.id] = unit(rng.normal(size=DIMENSIONS))
        duplicates.close_as_duplicate(forum, actor=mod, question_id=dup.id, original_id=original.id)
        alternates[original.id] = [dup.id]
    forum.flush()
    _index_with_vectors(forum, vectors, alternates)
    forum.commit()

    outcome = learned.train(clean_engine, encoder_name=ENCODER, min_links=20)

    if outcome.version is None:
        assert "kept the previous state" in outcome.reason
    else:  # it may tie the base on pure noise; it must never be worse on the held-out links
        assert outcome.metrics["validation_R@5"] >= outcome.metrics["validation_base_R@5"]


def test_the_worker_refreshes_after_new_closures_and_on_age(clean_engine, community, forum, monkeypatch):
    monkeypatch.setattr(learned, "MIN_LINKS", 20)
    monkeypatch.setattr(learned, "REFRESH_AFTER_LINKS", 3)

    class FakeSettings:  # only what the job reads; the encoder is the test's named one
        search_learning = "auto"

    class NamedEncoder:
        name = ENCODER

    from app.core import config
    from app.search import service

    monkeypatch.setattr(config, "get_settings", lambda: FakeSettings())
    monkeypatch.setattr(service, "encoder_for", lambda settings: NamedEncoder())

    assert learned.refresh(clean_engine, encoder_name=ENCODER).startswith("model ")
    first = learned.served(clean_engine, ENCODER).version
    assert learned.refresh(clean_engine, encoder_name=ENCODER) == ""  # nothing new: not due

    # Two more closures: not yet due (3 needed); a third: due, through the worker's job.
    geo, ask = community["geo"], community["ask"]
    for n in range(3):
        problem = geo.problem()
        original, dup = ask(geo.original(1, problem)), ask(geo.jargon(1, problem))
        duplicates.close_as_duplicate(forum, actor=community["mod"], question_id=dup.id, original_id=original.id)
        community["alternates"][original.id] = [dup.id]
        forum.flush()
        _index_with_vectors(forum, {original.id: community["vectors"][original.id],
                                    dup.id: community["vectors"][dup.id]}, community["alternates"])
        forum.commit()
        if n == 1:
            assert learned.refresh(clean_engine, encoder_name=ENCODER) == ""
    job = next(j for j in worker.JOBS if j.name == "search-learn")
    worker.run_job(clean_engine, job)
    report = worker.wait_for_learning(timeout=300)
    assert report.startswith("model ") and "from 63 links" in report
    assert learned.served(clean_engine, ENCODER).version > first  # ids are shared with the ranker rows

    # Age alone is not a reason when nothing changed; age plus a change (a reopened link) is.
    later = utcnow() + timedelta(days=8)
    assert learned.refresh(clean_engine, encoder_name=ENCODER, now=later) == ""
    duplicates.reopen(forum, actor=community["mod"], question_id=dup.id)
    forum.commit()
    assert learned.refresh(clean_engine, encoder_name=ENCODER, now=later).startswith("model ")


_PROBE = """
import hashlib, json, os, sys
import numpy as np
from app.core.db import make_engine
from app.search import learned
engine = make_engine(os.environ["GROUNDSWELL_DATABASE_URL"])
model = learned.served(engine, sys.argv[1])
q = np.asarray(json.loads(sys.argv[2]), dtype=np.float32)
out = learned.adapt_query(engine, sys.argv[1], q)
print(json.dumps({"version": model.version, "sha": hashlib.sha256(model.matrix.tobytes()).hexdigest(),
                  "query": hashlib.sha256(out.tobytes()).hexdigest()}))
"""


def test_two_processes_serve_the_same_model(clean_engine, community, db_url):
    learned.train(clean_engine, encoder_name=ENCODER, min_links=20)
    mine = learned.served(clean_engine, ENCODER)
    query = json.dumps([float(x) for x in community["query"]])
    env = dict(os.environ, GROUNDSWELL_DATABASE_URL=db_url)
    runs = [json.loads(subprocess.run([sys.executable, "-c", _PROBE, ENCODER, query], env=env, check=True,
                                      capture_output=True, text=True).stdout) for _ in range(2)]
    assert runs[0] == runs[1]
    assert runs[0]["version"] == mine.version
    assert runs[0]["sha"] == hashlib.sha256(mine.matrix.tobytes()).hexdigest()
    expected = learned.adapt_query(clean_engine, ENCODER, community["query"])
    assert runs[0]["query"] == hashlib.sha256(expected.tobytes()).hexdigest()


def test_train_adapter_is_deterministic_and_learns_the_jargon():
    """The numpy training on its own: the same pairs give the same matrix, bit for bit."""
    geo = Geometry(seed=9)
    problems = [geo.problem() for _ in range(80)]
    q = np.stack([geo.jargon(i % TOPICS, p) for i, p in enumerate(problems)])
    p = np.stack([geo.original(i % TOPICS, p) for i, p in enumerate(problems)])
    # the corpus to mine hard negatives from: the originals and the duplicates folded into them
    corpus, owner = np.concatenate([p[:60], q[:60]]), np.concatenate([np.arange(60), np.arange(60)])
    data = learned.TrainingSet(queries=q[:60], positives=p[:60], groups=np.arange(60), corpus=corpus,
                               corpus_owner=owner)
    w1, w2 = learned.train_adapter(data), learned.train_adapter(data)
    assert np.array_equal(w1, w2)
    held_q, held_p = q[60:], p[60:]
    decoys = np.stack([geo.decoy(i % TOPICS, geo.problem()) for i in range(20)])

    def wins(queries):  # share of held-out queries whose original beats its same-topic decoy
        return float(np.mean(np.sum(queries * held_p, axis=1) > np.sum(queries * decoys, axis=1)))

    adapted = np.stack([learned.adapt(w1, v) for v in held_q])
    assert wins(held_q) < 0.5 < wins(adapted)


def test_the_check_runs_the_served_similar_path_and_refuses_a_harmful_adapter(clean_engine, community, monkeypatch):
    """The held-out check asks similar() (keyword + cosine fusion) with the candidate adapter: one
    that scrambles the query vectors (a permutation of their coordinates, as harmful as a training
    gone wrong can be) loses the held-out originals and is not stored."""
    scramble = np.roll(np.eye(DIMENSIONS, dtype=np.float32), 1, axis=1)
    monkeypatch.setattr(learned, "train_adapter", lambda data, **kw: scramble)

    outcome = learned.train(clean_engine, encoder_name=ENCODER, min_links=20)

    assert outcome.version is None and "kept the previous state" in outcome.reason
    assert outcome.metrics["check"] == "similar"
    assert outcome.metrics["validation_R@5"] < outcome.metrics["validation_base_R@5"]
    assert learned.served(clean_engine, ENCODER) is None
