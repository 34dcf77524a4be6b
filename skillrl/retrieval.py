"""Skill retrieval: the SkillRL embedding rule over FAISS, and the official template mode.

The paper's rule (arXiv 2602.08234, Sec. 3.2): for a task with embedding ``e_task`` the policy's prompt gets the
general skills plus ``TopK({s in S_k : sim(e_task, e_s) > delta}, K)`` task-specific skills, cosine similarity,
``K = 6``, ``delta = 0.4``. Here (the defaults of :class:`skillrl.config.SkillConfig`, which explains the choices):

* general skills: **all** of them in bank order (``top_k_general=None``; an int keeps the most similar);
* task-specific skills of a **detected category** (``restrict_to_category=True``): that category's ``top_k`` most
  similar, kept whatever their cosine (``delta_in_category=False``; set it for the formula as written);
* with **no category** (or ``restrict_to_category=False``): all categories ranked together, cosine ``> delta``
  (the official code's embedding mode, which has no threshold in code: ``delta=-1``);
* ties (scores equal to 1e-6) are broken by ``skill_id``, so results never depend on insertion order; queries are
  embedded one by one (never padded into a batch), so the same task gets bit-identical scores in every batch and on
  every rank, and a GRPO group split across ranks sees one block;
* mistakes (:func:`rank_mistakes`): those tagged with the task's category first, newest first, then untagged ones
  (most similar first; bank order in template mode); mistakes of other categories are left out.

:class:`SkillRetriever` keeps one FAISS index per tier/category, embeds each distinct skill text once
(keyed by the SHA-256 of :attr:`skillrl.skill.Skill.text`), follows ``bank.version`` incrementally, and
deduplicates the ``G`` copies of each prompt in a GRPO batch (:meth:`SkillRetriever.retrieve_batch`).
:func:`template_retrieval` is the official template mode (everything of the category, no embeddings).
:class:`VectorIndex` is the index underneath: exact (``IndexFlatIP``) or approximate
(``IndexHNSWFlat`` with ``METRIC_INNER_PRODUCT``).

FAISS is imported on first use, so importing this module is light.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from skillrl.errors import MissingDependencyError, SkillRLError, short_repr

if TYPE_CHECKING:  # pragma: no cover
    from skillrl.embedders import Embedder
    from skillrl.skill import Mistake, Skill

__all__ = [
    "IndexKind",
    "Retrieval",
    "RetrievalError",
    "ScoredSkill",
    "SkillRetriever",
    "VectorIndex",
    "import_faiss",
    "rank_mistakes",
    "set_faiss_threads",
    "template_retrieval",
]

IndexKind = Literal["flat", "hnsw"]

#: Scores closer than this are a tie, broken by skill id.
TIE_DECIMALS = 6


PAPER_DELTA = 0.4
"""The paper's similarity threshold (SkillRL Sec. 3.2), tuned for Qwen3-Embedding-0.6B."""
from skillrl.embedders import MINILM_DELTA  # noqa: E402  (re-exported: the packaged model's threshold)


class RetrievalError(SkillRLError, ValueError):
    """Bad input to retrieval (an empty query, mismatched batch lengths, an invalid parameter, vectors
    of the wrong shape, an unknown id)."""


def import_faiss() -> Any:
    """``import faiss``, or :class:`MissingDependencyError` naming the ``faiss-cpu`` package."""
    try:
        import faiss
    except ImportError as exc:
        raise MissingDependencyError("faiss-cpu", "embeddings", "Embedding retrieval (FAISS)") from exc
    return faiss


def set_faiss_threads(n: int) -> None:
    """Set FAISS's OpenMP thread count (process-wide). One thread often gives the lowest latency for
    single-query search on a small machine; batched search benefits from more."""
    import_faiss().omp_set_num_threads(int(n))


# ------------------------------------------------------------------------------------------------
# VectorIndex
# ------------------------------------------------------------------------------------------------


class VectorIndex:
    """An inner-product index over unit vectors with int64 ids (add/upsert, remove, top-k search).

    Args:
        dim: vector dimension ``d``.
        kind: ``"flat"`` (exact, ``faiss.IndexIDMap2(IndexFlatIP)``) or ``"hnsw"`` (approximate,
            ``faiss.IndexHNSWFlat(d, M, METRIC_INNER_PRODUCT)``).
        hnsw_m: HNSW graph degree ``M`` (default 16).
        ef_construction: HNSW ``efConstruction`` (default 64).
        ef_search: HNSW ``efSearch`` (default 64; raised to the number of results fetched when larger).
            Measured by benchmarks/bench_index_scaling.py on 100k clustered 384-d unit vectors: M=16,
            efSearch=64 gives recall@6 1.000 at p50 0.26 ms (exact: 10 ms); on 100k *isotropic* random
            vectors no HNSW setting tried reaches recall 0.5 (no structure to exploit) - use ``"flat"`` there.
        rebuild_fraction: HNSW cannot delete; removed vectors are masked out of results and the graph is
            rebuilt from the stored vectors once they exceed this fraction of it (default 0.25).
        search_threads: OpenMP threads for small searches, those with ``queries x indexed vectors`` below
            ``threaded_min_work`` (default 1; ``None`` keeps FAISS's process-wide setting). On a busy 2-core
            machine one exact query over 1k-100k vectors took 16-96 ms with 2 threads and 0.03-13 ms with 1
            (benchmarks/bench_index_scaling.py); a warm 512-prompt retrieval over the 44-skill ALFWorld bank
            took 212 ms (median) with 2 threads vs 7-11 ms with 1 (benchmarks/bench_retrieval_batch.py). The
            setting is applied to the calling thread only and restored after the call.
        threaded_min_work: ``queries x vectors`` from which FAISS's own thread setting is used (default 10M).

    ``add`` of an id already present replaces its vector. Vectors must be L2-normalized by the caller
    (the inner product is then cosine similarity).

    Raises:
        MissingDependencyError: faiss-cpu is not installed.
        RetrievalError: wrong shapes, duplicate ids within one ``add``, unknown ids in ``remove``.
    """

    def __init__(self, dim: int, kind: IndexKind = "flat", *, hnsw_m: int = 16, ef_construction: int = 64,
                 ef_search: int = 64, rebuild_fraction: float = 0.25, search_threads: int | None = 1,
                 threaded_min_work: int = 10_000_000):
        if dim < 1:
            raise RetrievalError(f"VectorIndex: dim must be >= 1, got {dim}")
        if kind not in ("flat", "hnsw"):
            raise RetrievalError(f"VectorIndex: kind must be 'flat' or 'hnsw', got {kind!r}")
        self.dim = int(dim)
        self.kind: IndexKind = kind
        self.hnsw_m = hnsw_m
        self.ef_construction = ef_construction
        self.ef_search = ef_search
        self.rebuild_fraction = rebuild_fraction
        self.search_threads = search_threads
        self.threaded_min_work = threaded_min_work
        self._faiss = import_faiss()
        self._new_index()

    def _new_index(self) -> None:
        faiss = self._faiss
        if self.kind == "flat":
            self._index = faiss.IndexIDMap2(faiss.IndexFlatIP(self.dim))
            self._ids: set[int] = set()
        else:
            idx = faiss.IndexHNSWFlat(self.dim, self.hnsw_m, faiss.METRIC_INNER_PRODUCT)
            idx.hnsw.efConstruction = self.ef_construction
            self._index = idx
            self._labels = np.zeros(0, dtype=np.int64)  # internal position -> id
            self._alive = np.zeros(0, dtype=bool)
            self._pos: dict[int, int] = {}  # id -> internal position
            self._n_dead = 0

    def __len__(self) -> int:
        return len(self._ids) if self.kind == "flat" else len(self._pos)

    def __contains__(self, id_: object) -> bool:
        return (id_ in self._ids) if self.kind == "flat" else (id_ in self._pos)

    def ids(self) -> np.ndarray:
        """The ids present, sorted (int64)."""
        keys = self._ids if self.kind == "flat" else self._pos.keys()
        return np.array(sorted(keys), dtype=np.int64)

    def _check(self, ids: Sequence[int] | np.ndarray, vecs: np.ndarray | None = None) -> tuple[np.ndarray, Any]:
        ids_arr = np.asarray(ids, dtype=np.int64).reshape(-1)
        if vecs is None:
            return ids_arr, None
        v = np.ascontiguousarray(vecs, dtype=np.float32)
        if v.ndim != 2 or v.shape[1] != self.dim or v.shape[0] != ids_arr.shape[0]:
            raise RetrievalError(f"VectorIndex.add: expected vectors of shape ({ids_arr.shape[0]}, {self.dim}), "
                                 f"got {v.shape}")
        if len(np.unique(ids_arr)) != len(ids_arr):
            raise RetrievalError("VectorIndex.add: duplicate ids in one call")
        return ids_arr, v

    def add(self, ids: Sequence[int] | np.ndarray, vecs: np.ndarray) -> None:
        """Add (or replace) vectors: ``ids`` int64 ``(n,)``, ``vecs`` float32 ``(n, dim)``."""
        ids_arr, v = self._check(ids, vecs)
        if ids_arr.size == 0:
            return
        present = [int(i) for i in ids_arr if int(i) in self]
        if present:
            self.remove(present)
        if self.kind == "flat":
            self._index.add_with_ids(v, ids_arr)
            self._ids.update(int(i) for i in ids_arr)
        else:
            start = self._index.ntotal
            self._index.add(v)
            self._labels = np.concatenate([self._labels, ids_arr])
            self._alive = np.concatenate([self._alive, np.ones(len(ids_arr), dtype=bool)])
            for j, i in enumerate(ids_arr):
                self._pos[int(i)] = start + j

    def remove(self, ids: Sequence[int] | np.ndarray) -> None:
        """Remove ids. Raises :class:`RetrievalError` if one is not present (nothing is removed then)."""
        ids_arr, _ = self._check(ids)
        unknown = [int(i) for i in ids_arr if int(i) not in self]
        if unknown:
            raise RetrievalError(f"VectorIndex.remove: unknown ids {short_repr(unknown)}")
        if ids_arr.size == 0:
            return
        if self.kind == "flat":
            self._index.remove_ids(self._faiss.IDSelectorBatch(ids_arr))
            self._ids.difference_update(int(i) for i in ids_arr)
            return
        for i in ids_arr:
            p = self._pos.pop(int(i))
            self._alive[p] = False
            self._n_dead += 1
        if self._n_dead > self.rebuild_fraction * max(1, self._index.ntotal):
            self.rebuild()

    def rebuild(self) -> None:
        """HNSW: rebuild the graph from the live vectors (drops masked deletions). Flat: no-op."""
        if self.kind == "flat" or self._n_dead == 0:
            return
        live = np.flatnonzero(self._alive)
        vecs = self._index.reconstruct_n(0, self._index.ntotal)[live] if live.size else None
        labels = self._labels[live]
        self._new_index()
        if vecs is not None:
            self.add(labels, vecs)

    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Top-``k`` by inner product.

        Args:
            queries: float32 ``(m, dim)`` (or ``(dim,)`` for one query), unit rows.
            k: results per query.

        Returns:
            ``(scores, ids)``, both ``(m, k)``: float32 inner products, descending, and int64 ids; rows
            with fewer than ``k`` results are padded with score ``-inf`` and id ``-1``.
        """
        q = np.ascontiguousarray(queries, dtype=np.float32)
        if q.ndim == 1:
            q = q[None, :]
        if q.ndim != 2 or q.shape[1] != self.dim:
            raise RetrievalError(f"VectorIndex.search: expected queries of shape (m, {self.dim}), got {q.shape}")
        if k < 0:
            raise RetrievalError(f"VectorIndex.search: k must be >= 0, got {k}")
        m = q.shape[0]
        scores = np.full((m, k), -np.inf, dtype=np.float32)
        ids = np.full((m, k), -1, dtype=np.int64)
        n = len(self)
        if k == 0 or n == 0 or m == 0:
            return scores, ids
        kk = min(k, n)
        if self.search_threads is None or m * n >= self.threaded_min_work:
            return self._search(q, k, kk, scores, ids)
        prev = self._faiss.omp_get_max_threads()
        self._faiss.omp_set_num_threads(self.search_threads)
        try:
            return self._search(q, k, kk, scores, ids)
        finally:
            self._faiss.omp_set_num_threads(prev)

    def _search(self, q: np.ndarray, k: int, kk: int, scores: np.ndarray,
                ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        m = q.shape[0]
        if self.kind == "flat":
            d, i = self._index.search(q, kk)
            valid = i >= 0
            scores[:, :kk] = np.where(valid, d, -np.inf)
            ids[:, :kk] = i
            return scores, ids
        fetch = min(kk + self._n_dead, self._index.ntotal)
        params = self._faiss.SearchParametersHNSW(efSearch=max(self.ef_search, fetch))
        d, pos = self._index.search(q, fetch, params=params)
        if self._n_dead == 0:
            valid = pos >= 0
            scores[:, :kk] = np.where(valid, d, -np.inf)[:, :kk]
            ids[:, :kk] = np.where(valid, self._labels[np.maximum(pos, 0)], -1)[:, :kk]
            return scores, ids
        for r in range(m):
            keep = pos[r][(pos[r] >= 0)]
            keep_mask = self._alive[keep]
            sel = np.flatnonzero(pos[r] >= 0)[keep_mask][:kk]
            scores[r, :len(sel)] = d[r, sel]
            ids[r, :len(sel)] = self._labels[pos[r, sel]]
        return scores, ids

    def __repr__(self) -> str:
        return f"VectorIndex(dim={self.dim}, kind={self.kind!r}, size={len(self)})"


# ------------------------------------------------------------------------------------------------
# results
# ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ScoredSkill:
    """A retrieved skill and its cosine similarity to the query (1.0 in template mode)."""

    skill: Skill
    score: float

    @property
    def skill_id(self) -> str:
        return self.skill.skill_id


@dataclass(frozen=True)
class Retrieval:
    """What was retrieved for one task.

    Attributes:
        query: the task text that was embedded (``""`` in template mode without a query).
        category: the category passed in (the detected category), or ``None``. Task-specific skills come
            from that category only when the retriever restricts to it; otherwise from all categories.
        general: general skills, most similar first (bank order in template mode or with
            ``top_k_general=None``).
        task_specific: task-specific skills passing the threshold, most similar first.
        mistakes: the common mistakes, most relevant first (:func:`rank_mistakes`).
        bank_version: ``bank.version`` the result was computed from.
    """

    query: str
    category: str | None
    general: list[ScoredSkill] = field(default_factory=list)
    task_specific: list[ScoredSkill] = field(default_factory=list)
    mistakes: list[Mistake] = field(default_factory=list)
    bank_version: int = 0

    @property
    def skill_ids(self) -> list[str]:
        """Ids of the retrieved skills: general first, then task-specific."""
        return [s.skill.skill_id for s in self.general] + [s.skill.skill_id for s in self.task_specific]

    @property
    def skills(self) -> list[Skill]:
        """The retrieved skills: general first, then task-specific."""
        return [s.skill for s in self.general] + [s.skill for s in self.task_specific]

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready summary (ids and scores, not the skill texts) for logs."""
        return {
            "query": self.query,
            "category": self.category,
            "bank_version": self.bank_version,
            "general": [[s.skill.skill_id, round(s.score, 6)] for s in self.general],
            "task_specific": [[s.skill.skill_id, round(s.score, 6)] for s in self.task_specific],
            "mistakes": [m.mistake_id for m in self.mistakes],
        }


def rank_mistakes(mistakes: Sequence[Mistake], category: str | None, scores: dict[str, float] | None = None,
                  order: Literal["relevant", "first"] = "relevant") -> list[Mistake]:
    """The common mistakes to show for a task of ``category``, most relevant first.

    ``"relevant"``: mistakes tagged with ``category`` (:attr:`skillrl.skill.Mistake.category`) first, newest first
    (highest ``provenance.created_version``: what evolution just learnt from this category's failures), then untagged
    mistakes, by descending ``scores`` (cosine to the task, embedding mode) or in bank order; mistakes tagged with
    another category are left out. ``"first"``: the bank order, all of them (the official code shows the first 5).
    """
    if order == "first":
        return list(mistakes)
    own = [m for m in mistakes if category is not None and m.category == category]
    own.sort(key=lambda m: -m.provenance.created_version)  # stable: bank order among equals
    untagged = [m for m in mistakes if m.category is None]
    if scores:
        untagged.sort(key=lambda m: (-round(scores.get(m.mistake_id, -2.0), TIE_DECIMALS), m.mistake_id))
    return own + untagged


def template_retrieval(bank: Any, category: str | None, query: str = "", *, top_k_general: int | None = None,
                       mistakes: Literal["relevant", "first"] = "relevant") -> Retrieval:
    """The template mode (no embeddings): general skills, all of ``category``'s task-specific skills, in bank
    order, each with score 1.0, and the mistakes by :func:`rank_mistakes`.

    Args:
        bank: a :class:`skillrl.bank.SkillBank`.
        category: the detected category; ``None`` or a category with no skills gives no task-specific skills.
        query: recorded in the result only.
        top_k_general: ``None`` (default) all general skills; an int the first that many (the official run script's
            ``top_k=6`` in template mode).
        mistakes: ``"relevant"`` or ``"first"`` (see :func:`rank_mistakes`).
    """
    ts = list(bank.task_specific.get(category, [])) if category is not None else []
    general = list(bank.general) if top_k_general is None else list(bank.general)[:top_k_general]
    return Retrieval(query=query, category=category,
                     general=[ScoredSkill(s, 1.0) for s in general],
                     task_specific=[ScoredSkill(s, 1.0) for s in ts],
                     mistakes=rank_mistakes(list(bank.mistakes), category, order=mistakes),
                     bank_version=int(getattr(bank, "version", 0)))


# ------------------------------------------------------------------------------------------------
# SkillRetriever
# ------------------------------------------------------------------------------------------------

_GENERAL: tuple[str, str | None] = ("general", None)


class SkillRetriever:
    """Embedding retrieval over a skill bank, following the bank's versions incrementally.

    Args:
        bank: a :class:`skillrl.bank.SkillBank` (uses ``version``, ``general``, ``task_specific``, ``mistakes``).
        embedder: any :class:`skillrl.embedders.Embedder`; it is wrapped in a
            :class:`~skillrl.embedders.CachedEmbedder` (query and skill embeddings cached by
            ``(model name, text)``). ``None`` uses :func:`skillrl.embedders.default_embedder` (the packaged
            all-MiniLM-L6-v2, loaded once per process).
        top_k_general: general skills returned: ``None`` (default) all of them in bank order (the paper's "all
            general skills"); an int, the most similar.
        top_k: maximum task-specific skills ``K`` (default 6, paper).
        delta: similarity threshold for task-specific candidates, strict ``>``, applied when the category is unknown
            or not restricted to (and inside the category with ``delta_in_category``). ``None`` (default): the
            embedder's ``recommended_delta`` when it has one, else 0.4 (the paper's value, set for
            Qwen3-Embedding-0.6B). The packaged all-MiniLM-L6-v2 recommends :data:`MINILM_DELTA` (0.22): its
            goal-to-skill cosines are far lower (``benchmarks/bench_delta.py``).
        restrict_to_category: when a ``category`` is passed to :meth:`retrieve`, search only that
            category's task-specific skills (default ``True``); ``False`` ranks all categories (official
            embedding mode).
        delta_in_category: apply ``delta`` within a detected category too (default False: its ``top_k`` best are
            kept, see :mod:`skillrl.config`).
        mistakes: ``"relevant"`` (default) or ``"first"`` (see :func:`rank_mistakes`).
        index: ``"auto"`` (exact below ``hnsw_threshold`` skills per index, HNSW above), ``"flat"`` or ``"hnsw"``.
        hnsw_threshold: index size above which ``"auto"`` switches to HNSW (default 20,000).
        hnsw_m, ef_construction, ef_search: HNSW parameters (see :class:`VectorIndex`).

    Attributes:
        skill_texts_embedded: skill texts sent to the embedder so far (unchanged skills are never re-embedded).
        query_texts_requested: distinct queries looked up so far (cache hits included).

    Raises:
        RetrievalError: a negative ``top_k``/``top_k_general``, ``delta`` outside [-1, 1], an unknown ``index``.
    """

    def __init__(self, bank: Any, embedder: Embedder | None = None, top_k_general: int | None = None, top_k: int = 6,
                 delta: float | None = None, restrict_to_category: bool = True, index: str = "auto", *,
                 delta_in_category: bool = False, mistakes: Literal["relevant", "first"] = "relevant",
                 hnsw_threshold: int = 20_000, hnsw_m: int = 16, ef_construction: int = 64, ef_search: int = 64):
        from skillrl.embedders import CachedEmbedder, default_embedder

        if top_k_general is not None and (not isinstance(top_k_general, int) or top_k_general < 0):
            raise RetrievalError(f"top_k_general must be an int >= 0 or None, got {top_k_general!r}")
        if not isinstance(top_k, int) or top_k < 0:
            raise RetrievalError(f"top_k must be an int >= 0, got {top_k!r}")
        if delta is None:
            delta = getattr(embedder, "recommended_delta", None) if embedder is not None else MINILM_DELTA
            delta = PAPER_DELTA if delta is None else delta
        if not -1.0 <= float(delta) <= 1.0:
            raise RetrievalError(f"delta is a cosine similarity threshold in [-1, 1], got {delta!r}")
        if index not in ("auto", "flat", "hnsw"):
            raise RetrievalError(f"index must be 'auto', 'flat' or 'hnsw', got {index!r}")
        import_faiss()  # fail early with MissingDependencyError
        self.bank = bank
        self.embedder = default_embedder() if embedder is None else CachedEmbedder(embedder)
        self.top_k_general = top_k_general
        self.top_k = top_k
        self.delta = float(delta)
        self.restrict_to_category = restrict_to_category
        self.delta_in_category = bool(delta_in_category)
        if mistakes not in ("relevant", "first"):
            raise RetrievalError(f"mistakes must be 'relevant' or 'first', got {mistakes!r}")
        self.mistake_order = mistakes
        self.index_mode = index
        self.hnsw_threshold = hnsw_threshold
        self.hnsw_m = hnsw_m
        self.ef_construction = ef_construction
        self.ef_search = ef_search
        self.skill_texts_embedded = 0
        self.query_texts_requested = 0
        self._lock = threading.RLock()
        self._synced_version: int | None = None
        self._vec_of_hash: dict[str, np.ndarray] = {}
        self._entry: dict[str, tuple[tuple[str, str | None], str]] = {}  # skill_id -> (partition, text hash)
        self._int_of: dict[str, int] = {}
        self._sid_of: dict[int, str] = {}
        self._next_int = 0
        self._skill: dict[str, Skill] = {}
        self._general_order: list[str] = []
        self._mistakes: list[Mistake] = []
        self._mistake_hash: dict[str, str] = {}
        self._indexes: dict[tuple[str, str | None], VectorIndex] = {}

    # -- index maintenance ----------------------------------------------------------------------
    def _kind_for(self, n: int) -> IndexKind:
        if self.index_mode == "auto":
            return "hnsw" if n > self.hnsw_threshold else "flat"
        return self.index_mode  # type: ignore[return-value]

    def _new_index(self, kind: IndexKind) -> VectorIndex:
        return VectorIndex(self.embedder.dim, kind, hnsw_m=self.hnsw_m, ef_construction=self.ef_construction,
                           ef_search=self.ef_search)

    def refresh(self, force: bool = False) -> None:
        """Bring the indexes up to ``bank.version``: embed new or changed skill texts only, drop removed
        skills, move skills whose tier/category changed. Called by :meth:`retrieve`; ``force=True`` also
        re-diffs when the version is unchanged (e.g. after editing a Skill object in place)."""
        from skillrl.embedders import text_key

        with self._lock:
            if not force and int(self.bank.version) == self._synced_version:
                return
            # a consistent snapshot: SkillBank's reads and edits share its (reentrant) lock
            with getattr(self.bank, "_lock", None) or contextlib.nullcontext():
                version = int(self.bank.version)
                parts: list[tuple[tuple[str, str | None], list[Skill]]] = [(_GENERAL, list(self.bank.general))]
                parts += [(("task", cat), list(lst)) for cat, lst in self.bank.task_specific.items()]
                mistakes = list(self.bank.mistakes)
            current: dict[str, tuple[tuple[str, str | None], str]] = {}
            skills: dict[str, Skill] = {}
            texts: dict[str, str] = {}
            for part, lst in parts:
                for s in lst:
                    h = text_key(s.text)
                    current[s.skill_id] = (part, h)
                    skills[s.skill_id] = s
                    texts[h] = s.text
            # removals (deleted, or moved to another partition)
            for sid, (part, _h) in list(self._entry.items()):
                if sid not in current or current[sid][0] != part:
                    self._indexes[part].remove([self._int_of[sid]])
                    del self._entry[sid]
            # additions and changes
            changed = [sid for sid, e in current.items() if self._entry.get(sid) != e]
            need = list(dict.fromkeys(current[sid][1] for sid in changed if current[sid][1] not in self._vec_of_hash))
            if need:
                vecs = self.embedder.embed([texts[h] for h in need])
                self.skill_texts_embedded += len(need)
                for h, v in zip(need, vecs):
                    self._vec_of_hash[h] = np.asarray(v, dtype=np.float32)
            by_part: dict[tuple[str, str | None], list[str]] = {}
            for sid in changed:
                by_part.setdefault(current[sid][0], []).append(sid)
                if sid not in self._int_of:
                    self._int_of[sid] = self._next_int
                    self._sid_of[self._next_int] = sid
                    self._next_int += 1
            for part, sids in by_part.items():
                idx = self._indexes.get(part)
                if idx is None:
                    idx = self._indexes[part] = self._new_index(self._kind_for(len(sids)))
                idx.add([self._int_of[s] for s in sids], np.stack([self._vec_of_hash[current[s][1]] for s in sids]))
                for s in sids:
                    self._entry[s] = current[s]
            # switch exact <-> approximate when a partition crosses the threshold (rebuilt from cached
            # vectors, never re-embedded); drop empty partitions
            for part in list(self._indexes):
                idx = self._indexes[part]
                if len(idx) == 0:
                    del self._indexes[part]
                    continue
                kind = self._kind_for(len(idx))
                if kind != idx.kind:
                    sids = [sid for sid, e in self._entry.items() if e[0] == part]
                    new = self._new_index(kind)
                    new.add([self._int_of[s] for s in sids], np.stack([self._vec_of_hash[self._entry[s][1]] for s in sids]))
                    self._indexes[part] = new
            # untagged mistakes are ranked by similarity to the task (tagged ones by category and recency)
            mistake_hash = {m.mistake_id: text_key(m.text) for m in mistakes if m.category is None}
            if self.mistake_order == "relevant":
                need_m = list(dict.fromkeys(h for h in mistake_hash.values() if h not in self._vec_of_hash))
                if need_m:
                    texts_m = {text_key(m.text): m.text for m in mistakes}
                    for h, v in zip(need_m, self.embedder.embed([texts_m[h] for h in need_m])):
                        self._vec_of_hash[h] = np.asarray(v, dtype=np.float32)
                    self.skill_texts_embedded += len(need_m)
            used = {h for _p, h in current.values()} | set(mistake_hash.values())
            for h in [h for h in self._vec_of_hash if h not in used]:
                del self._vec_of_hash[h]
            self._skill = skills
            self._general_order = [s.skill_id for s in parts[0][1]]
            self._mistakes = mistakes
            self._mistake_hash = mistake_hash if self.mistake_order == "relevant" else {}
            self._synced_version = version

    def index_kinds(self) -> dict[str, str]:
        """Index kind per partition: ``{"general": "flat", "task:heat": "flat", ...}`` (after a refresh)."""
        with self._lock:
            return {(p[0] if p[1] is None else f"task:{p[1]}"): idx.kind for p, idx in self._indexes.items()}

    # -- search ---------------------------------------------------------------------------------
    def _topk(self, parts: list[tuple[str, str | None]], q: np.ndarray, k: int,
              threshold: float | None) -> list[list[ScoredSkill]]:
        """Per query row: the ``k`` best skills over ``parts``, score > threshold, ties by skill id."""
        m = q.shape[0]
        cands: list[dict[str, float]] = [{} for _ in range(m)]
        if k == 0:
            return [[] for _ in range(m)]
        for part in parts:
            idx = self._indexes.get(part)
            if idx is None:
                continue
            n = len(idx)
            rows = np.arange(m)
            fetch = min(n, 2 * k)
            while rows.size:
                scores, ids = idx.search(q[rows], fetch)
                again = []
                for r, sc, ii in zip(rows, scores, ids):
                    ok = ii >= 0
                    for s, i in zip(sc[ok], ii[ok]):
                        if threshold is None or s > threshold:
                            cands[r][self._sid_of[int(i)]] = float(s)
                    # a tie at the k-th place may extend past what was fetched: fetch more
                    if fetch < n and ok.sum() >= k:
                        kth, last = np.round(sc[k - 1], TIE_DECIMALS), np.round(sc[ok][-1], TIE_DECIMALS)
                        if kth == last and (threshold is None or last > threshold):
                            again.append(r)
                rows = np.array(again, dtype=np.int64)
                fetch = min(n, fetch * 2)
        out = []
        for c in cands:
            ranked = sorted(c.items(), key=lambda kv: (-round(kv[1], TIE_DECIMALS), kv[0]))[:k]
            out.append([ScoredSkill(self._skill[sid], score) for sid, score in ranked])
        return out

    def _all_general(self, q: np.ndarray) -> list[list[ScoredSkill]]:
        if not self._general_order:
            return [[] for _ in range(q.shape[0])]
        mat = np.stack([self._vec_of_hash[self._entry[sid][1]] for sid in self._general_order])
        sims = [mat @ row for row in q]  # one matrix-vector product per query: scores independent of the batch
        return [[ScoredSkill(self._skill[sid], float(s)) for sid, s in zip(self._general_order, row)] for row in sims]

    def retrieve(self, query: str, category: str | None = None) -> Retrieval:
        """Skills for one task: see :meth:`retrieve_batch` (a batch of one)."""
        return self.retrieve_batch([query], None if category is None else [category])[0]

    def retrieve_batch(self, queries: Sequence[str], categories: Sequence[str | None] | None = None) -> list[Retrieval]:
        """Skills for a batch of tasks, e.g. the ``B x G`` prompts of a GRPO batch.

        Each distinct ``(query, category)`` is embedded and searched once (embeddings are cached across
        calls), and all its copies get the same :class:`Retrieval` object, so every rollout of a GRPO
        group sees the same skills.

        Args:
            queries: task texts (non-empty strings), length ``n``.
            categories: ``None`` or ``n`` categories (each ``str`` or ``None``); a category restricts the
                task-specific search to that category when ``restrict_to_category`` is set. A category the
                bank does not have yields no task-specific skills.

        Returns:
            ``n`` :class:`Retrieval` results, in input order.

        Raises:
            RetrievalError: a query is not a non-empty string, or ``categories`` has the wrong length.
            skillrl.embedders.EmbeddingError: the embedder failed.
        """
        queries, cats = self._check_batch(queries, categories, "retrieve_batch")
        if not queries:
            return []
        with self._lock:
            self.refresh()
            keys = list(dict.fromkeys(zip(queries, cats)))
            distinct_q = list(dict.fromkeys(q for q, _c in keys))
            self.query_texts_requested += len(distinct_q)
            qvec = self._embed_queries(distinct_q)
            row_of = {q: i for i, q in enumerate(distinct_q)}
            results = self._search(keys, qvec, [row_of[q] for q, _c in keys])
            result_of_key = dict(zip(keys, results))
        return [result_of_key[(q, c)] for q, c in zip(queries, cats)]

    def retrieve_embedded(self, queries: Sequence[str], vectors: np.ndarray,
                          categories: Sequence[str | None] | None = None) -> list[Retrieval]:
        """Like :meth:`retrieve_batch` for queries embedded elsewhere: row ``i`` of ``vectors`` (float32
        ``(n, dim)``, unit rows, same model as the retriever's embedder) is the embedding of ``queries[i]``.
        Every row is searched (no deduplication); nothing is embedded except changed skills.

        Raises:
            RetrievalError: as :meth:`retrieve_batch`, or ``vectors`` of the wrong shape.
        """
        queries, cats = self._check_batch(queries, categories, "retrieve_embedded")
        q = np.ascontiguousarray(vectors, dtype=np.float32)
        with self._lock:
            self.refresh()
            if q.ndim != 2 or q.shape[0] != len(queries) or (len(queries) and q.shape[1] != self.embedder.dim):
                raise RetrievalError(f"retrieve_embedded: expected vectors of shape ({len(queries)}, "
                                     f"{self.embedder.dim}), got {q.shape}")
            if not queries:
                return []
            return self._search(list(zip(queries, cats)), q, list(range(len(queries))))

    def _check_batch(self, queries: Sequence[str], categories: Sequence[str | None] | None,
                     where: str) -> tuple[list[str], list[str | None]]:
        if isinstance(queries, str):
            raise RetrievalError(f"{where} takes a list of queries, got a single str; use retrieve()")
        queries = list(queries)
        for i, qt in enumerate(queries):
            if not isinstance(qt, str) or not qt.strip():
                raise RetrievalError(f"queries[{i}] must be a non-empty string, got {short_repr(qt)}")
        if categories is None:
            return queries, [None] * len(queries)
        if isinstance(categories, str):
            raise RetrievalError("categories must be a list (one per query) or None, got a single str")
        cats = list(categories)
        if len(cats) != len(queries):
            raise RetrievalError(f"got {len(queries)} queries but {len(cats)} categories")
        for i, c in enumerate(cats):
            if c is not None and not isinstance(c, str):
                raise RetrievalError(f"categories[{i}] must be a str or None, got {short_repr(c)}")
        return queries, cats

    def _embed_queries(self, queries: Sequence[str]) -> np.ndarray:
        """float32 ``(n, dim)`` query vectors, each embedded on its own (cached by text): a query's vector never
        depends on the batch it came in (padding changes the last bits), so every rank scores a task identically."""
        rows = [np.asarray(self.embedder.embed([q])[0], dtype=np.float32) for q in queries]
        return np.stack(rows) if rows else np.zeros((0, self.embedder.dim), dtype=np.float32)

    def _search(self, keys: list[tuple[str, str | None]], qvec: np.ndarray, rows: list[int]) -> list[Retrieval]:
        """One :class:`Retrieval` per ``keys[j]`` = (query, category), whose vector is ``qvec[rows[j]]``.

        Every query is scored on its own (a ``(1, d)`` matrix): BLAS and FAISS sum in an order that depends on how
        many queries share a call, which moves the last bits of a score, and a GRPO group split across ranks (each
        rank with other queries in its batch) must see bit-identical scores to get one block.
        """
        task_parts_all = [p for p in self._indexes if p[0] == "task"]
        mistake_ids = list(self._mistake_hash)
        mistake_mat = (np.stack([self._vec_of_hash[self._mistake_hash[i]] for i in mistake_ids])
                       if mistake_ids else None)
        version = int(self._synced_version or 0)
        general_of: dict[int, list[ScoredSkill]] = {}
        mistakes_of: dict[int, dict[str, float] | None] = {}
        out = []
        for j, (qt, c) in enumerate(keys):
            r = rows[j]
            q = qvec[r: r + 1]
            if r not in general_of:
                general_of[r] = (self._all_general(q) if self.top_k_general is None
                                 else self._topk([_GENERAL], q, self.top_k_general, None))[0]
                mistakes_of[r] = (dict(zip(mistake_ids, map(float, (mistake_mat @ q[0]).tolist())))
                                  if mistake_mat is not None else None)
            own = c is not None and self.restrict_to_category
            parts = [("task", c)] if own else task_parts_all
            thresholded = self.delta_in_category or not own
            task = self._topk(parts, q, self.top_k, self.delta if thresholded else None)[0]
            out.append(Retrieval(query=qt, category=c, general=list(general_of[r]), task_specific=task,
                                 mistakes=rank_mistakes(self._mistakes, c, mistakes_of[r], self.mistake_order),
                                 bank_version=version))
        return out

    def __repr__(self) -> str:
        return (f"SkillRetriever(embedder={self.embedder.name!r}, top_k_general={self.top_k_general}, "
                f"top_k={self.top_k}, delta={self.delta}, restrict_to_category={self.restrict_to_category}, "
                f"delta_in_category={self.delta_in_category}, mistakes={self.mistake_order!r}, "
                f"index={self.index_mode!r})")
