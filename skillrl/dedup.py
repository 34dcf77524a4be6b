"""Is a proposed skill already in the bank? Exact / title match, then embedding similarity.

The official code deduplicates by ``skill_id`` only, so a teacher that renames a known skill adds it again.
:class:`Deduplicator` compares content: two skills are duplicates when their normalised titles or
principles are equal, or when the cosine similarity of their embedded ``"title: principle"`` texts is at
least ``threshold``. The default threshold was chosen on a labelled set of real skill pairs
(``benchmarks/bench_dedup.py``), preferring precision: merging two distinct skills loses one, missing a
paraphrase only costs a bank slot.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np

from skillrl.skill import Skill

DEFAULT_DEDUP_THRESHOLD = 0.725
"""Cosine threshold on all-MiniLM-L6-v2 embeddings of ``"title: principle"``, measured by ``benchmarks/bench_dedup.py``.

Labelled set: the 2,812 within-bank pairs of the three official SkillRL banks (128 real skills), hand-labelled
(``benchmarks/data/dedup_labels.json``): 118 real duplicates, 2,596 distinct pairs (405 of them in the same
category), 98 borderline / other-category pairs left out; plus 495 deterministic paraphrases of the same skills.
Rule, fixed before the sweep: highest F0.5 on real pairs among thresholds with real-pair precision >= 0.90.

At 0.725 (exact title/principle match included): real pairs precision 90.2%, recall 31.4%, F0.5 65.6%; 4 false
merges out of 2,596 distinct pairs (0.15%; 2 within a category); synthetic paraphrase recall 99.4%.
Neighbours: 0.70 -> P 83.1% R 41.5% (10 false merges); 0.75 -> P 96.8% R 25.4% (1); 0.80 (the former
placeholder) -> P 100% R 12.7% (0). Embedding similarity catches only about a third of the duplicates that
real teachers write (they reword more than any rule-based paraphrase): treat dedup as a guard against repeats,
not as a merge of everything that means the same. Other embedders need their own sweep.
"""

_WORDS = re.compile(r"[a-z0-9]+")


def normalize(text: str) -> str:
    """Lowercase words joined by single spaces (punctuation and case ignored)."""
    return " ".join(_WORDS.findall(text.lower()))


def dedup_text(skill: Skill) -> str:
    """The text compared by embedding: ``"title: principle"``."""
    return f"{skill.title}: {skill.principle}"


@dataclass(frozen=True)
class Duplicate:
    """A match: the existing skill id, how it matched (``"title"``, ``"principle"`` or ``"embedding"``) and the
    cosine similarity (1.0 for exact matches)."""

    skill_id: str
    kind: str
    score: float


class Deduplicator:
    """Find the existing skill a candidate duplicates.

    Args:
        embedder: an :class:`skillrl.embedders.Embedder` (``None``: exact matching only... unless
            ``lazy_default=True``, which loads the packaged all-MiniLM-L6-v2 on first use).
        threshold: cosine similarity at or above which two skills count as duplicates (default
            :data:`DEFAULT_DEDUP_THRESHOLD`).
    """

    def __init__(self, embedder: Any = None, threshold: float = DEFAULT_DEDUP_THRESHOLD,
                 lazy_default: bool = True) -> None:
        if not -1.0 <= threshold <= 1.0:
            raise ValueError(f"threshold is a cosine similarity in [-1, 1], got {threshold}")
        self._embedder = embedder
        self.threshold = threshold
        self.lazy_default = lazy_default

    @property
    def embedder(self) -> Any:
        if self._embedder is None and self.lazy_default:
            from skillrl.embedders import default_embedder

            self._embedder = default_embedder()
        return self._embedder

    def similarities(self, candidates: Sequence[Skill], pool: Sequence[Skill]) -> np.ndarray:
        """Cosine similarities, shape ``(len(candidates), len(pool))`` (float32)."""
        if not candidates or not pool or self.embedder is None:
            return np.zeros((len(candidates), len(pool)), dtype=np.float32)
        vecs = self.embedder.embed([dedup_text(s) for s in [*candidates, *pool]])
        return vecs[: len(candidates)] @ vecs[len(candidates):].T

    def find(self, candidate: Skill, pool: Sequence[Skill], sims: np.ndarray | None = None) -> Duplicate | None:
        """The first duplicate of ``candidate`` in ``pool`` (exact matches first, then the most similar), or ``None``.

        Args:
            sims: precomputed similarities of ``candidate`` to ``pool`` (shape ``(len(pool),)``).
        """
        title, principle = normalize(candidate.title), normalize(candidate.principle)
        for s in pool:
            if s.skill_id == candidate.skill_id:
                continue
            if normalize(s.principle) == principle:
                return Duplicate(s.skill_id, "principle", 1.0)
            if normalize(s.title) == title:
                return Duplicate(s.skill_id, "title", 1.0)
        if not pool:
            return None
        row = self.similarities([candidate], pool)[0] if sims is None else sims
        order = np.argsort(-row, kind="stable")
        for j in order:
            if pool[j].skill_id == candidate.skill_id:
                continue
            if row[j] >= self.threshold:
                return Duplicate(pool[j].skill_id, "embedding", float(row[j]))
            break
        return None
