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

DEFAULT_DEDUP_THRESHOLD = 0.75
"""Cosine threshold on all-MiniLM-L6-v2 embeddings of ``"title: principle"``, measured by ``benchmarks/bench_dedup.py``.

Labelled set (``benchmarks/data/dedup_labels.json``, hand-labelled): the 2,812 within-bank pairs of the three
official SkillRL banks (128 real skills: 118 real duplicates, 2,596 distinct pairs) and 916 pairs that skillrl's
dedup really compares when the offline teacher distils the ALFWorld demos and draws lessons from real failures
(37 duplicates, 839 distinct); 3,435 distinct pairs in all (707 within one category), 138 borderline /
other-category pairs left out; plus 489 rule-based paraphrases of the official skills. Rule: the highest F0.5
on the 155 real duplicates + 3,435 distinct pairs among thresholds whose precision is >= 0.90.

At 0.75 (exact title/principle match included): precision 93.8%, recall 19.4%, F0.5 53.0%; 2 false merges out
of 3,435 distinct pairs (exa_001 ~ exa_002 of the official bank, cosine 0.751; the offline teacher's cool
lessons "Finish by putting..." ~ "Do not skip the cool step", 0.773); paraphrase recall 98.8%.
Neighbours: 0.725 (what the official pairs alone give) -> precision 84.1%, recall 23.9%, 7 false merges;
0.775 -> precision 100%, recall 13.5%, 0 false merges; 0.80 (the former placeholder) -> 100%, 9.7%.
Embedding similarity misses most duplicates that teachers write (they reword far more than rule-based
paraphrases; none of the offline teacher's 37 real duplicates reaches 0.75): dedup here guards against
near-verbatim repeats, it does not merge everything that means the same. Another embedder needs its own sweep.
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
