"""Collect the pairs skillrl's dedup compares in the CURRENT offline teacher's real output (``teacher_pairs.jsonl``).

What it runs (real data, nothing downloaded; ~4 minutes on 2 shared cores):

1. ``SkillDistiller("offline")`` on the 3,554 ALFWorld expert demos plus the official SkillRL ALFWorld memories
   (``generated_memories_alfworld_total.json``), the run the lead found wrong merges in, twice: with the
   deduplicator of the commit (``DEFAULT_DEDUP_THRESHOLD`` and ``DEFAULT_RULES``) and with exact matching only
   (every proposal the caps let in enters the bank, so later proposals meet the pool a looser dedup leaves).
2. ``Evolver(OfflineTeacher())`` on the first run's bank with real failures: per task type 8 expert demos cut
   before their goal action / before the transform or take / with another object taken that the real
   observation showed / looping on a real action (``bench_dedup.real_failures``), plus the Reflexion ALFWorld
   failure transcripts.

Every skill and mistake proposal that reaches the deduplicator (a recording subclass of
:class:`skillrl.dedup.Deduplicator`) is kept, with the pool it met and the verdict. The population written out
is every pair of distinct proposals that skillrl's filing path can compare: a general skill with any skill, a
task-specific skill with the general tier and its own category (:meth:`skillrl.filing.Filer.skill`), a mistake
with every mistake. A pair the first run rejected as a duplicate is flagged ``rejected_in_run`` with its cosine.

Labels are NOT written here: they are hand labels in ``teacher_labels.json`` (see README.md), joined by
``build.py`` on the pair key (sha256 of the two records' texts). A pair without a label stops ``build.py``.

Run: ``PYTHONPATH=$PWD python benchmarks/data/dedup/teacher_pairs.py``.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[2]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "benchmarks"))

import bench_dedup as B  # noqa: E402

from skillrl.dedup import Deduplicator, dedup_text, mistake_text  # noqa: E402
from skillrl.skill import Mistake, Skill  # noqa: E402

OUT = HERE / "teacher_pairs.jsonl"
MEMORIES = "skillrl-official/memory_data/alfworld/generated_memories_alfworld_total.json"
REFLEXION = "reflexion/alfworld_runs/reflexion_few_shot_examples.txt"


def skill_rec(s: Skill) -> dict[str, Any]:
    return {"title": s.title, "principle": s.principle, "tier": s.tier, "category": s.category}


def mistake_rec(m: Mistake) -> dict[str, Any]:
    return {"description": m.description, "how_to_avoid": m.how_to_avoid, "category": m.category}


def record_key(r: dict[str, Any]) -> str:
    return json.dumps([r.get("title"), r.get("principle"), r.get("description"), r.get("how_to_avoid")])


def pair_key(record: str, a: dict[str, Any], b: dict[str, Any]) -> str:
    """Stable id of an unordered pair: sha256 of the record type and the two sorted text keys."""
    ka, kb = sorted((record_key(a), record_key(b)))
    return hashlib.sha256(f"{record}\n{ka}\n{kb}".encode()).hexdigest()[:16]


class RecordingDedup(Deduplicator):
    """A :class:`Deduplicator` that remembers every candidate it is asked about, the pool and the match."""

    def __init__(self, *args: Any, **kw: Any) -> None:
        super().__init__(*args, **kw)
        self.seen: list[tuple[str, Any, list[Any], Any]] = []

    def find(self, candidate, pool, sims=None):  # type: ignore[override]
        dup = super().find(candidate, pool, sims)
        self.seen.append(("skill", candidate, list(pool), dup))
        return dup

    def find_mistake(self, candidate, pool):  # type: ignore[override]
        dup = super().find_mistake(candidate, pool)
        self.seen.append(("mistake", candidate, list(pool), dup))
        return dup


def distill_run(episodes: list[Any], embedder: Any, exact: bool) -> tuple[Any, RecordingDedup]:
    from skillrl.distill import DistillConfig, SkillDistiller

    d = SkillDistiller("offline", DistillConfig(embedding_dedup=not exact), progress=False)
    d.dedup = RecordingDedup(None if exact else embedder, lazy_default=False)
    bank, report = d.distill(episodes)
    print(f"distill ({'exact only' if exact else 'default dedup'}): {report.summary()}")
    return bank, d.dedup


def reflexion_failures(path: Path) -> list[Any]:
    from skillrl.episode import parse_alfworld_goal, parse_transcript
    from skillrl.profiles import get_profile

    alf = get_profile("alfworld")
    blocks = [b for b in path.read_text().split("\n\n") if "Your task is to:" in b]
    out = []
    for i, b in enumerate(blocks):
        goal = parse_alfworld_goal(b.split("\n>")[0])
        out.append(parse_transcript(b, episode_id=f"reflexion-{i}", success=False, source="reflexion",
                                    split="validation", category=alf.detect(goal)))
    return out


def evolve_run(bank: Any, demos: list[Any], embedder: Any) -> RecordingDedup:
    from skillrl.evolve import EvolutionConfig, Evolver
    from skillrl.teachers import OfflineTeacher

    fails = [e.model_copy(update={"split": "validation"}) for tt in B._ABBR for e in B.real_failures(demos, tt)]
    fails += reflexion_failures(B.DATA / REFLEXION)
    ev = Evolver(OfflineTeacher(), EvolutionConfig(max_new_skills=100, max_failures=40, max_shown=40), embedder)
    ev.dedup = RecordingDedup(embedder, lazy_default=False)
    report = ev.evolve(bank.copy(), fails, step=1)
    print(f"evolve: {report.summary()}")
    return ev.dedup


def main() -> int:
    from skillrl.embedders import CachedEmbedder, SentenceTransformerEmbedder
    from skillrl.episode import load_episodes

    demos = load_episodes(B.DATA / B.DEMOS, progress=False)
    episodes = demos + load_episodes(B.DATA / MEMORIES, progress=False)
    emb = CachedEmbedder(SentenceTransformerEmbedder())
    bank_a, rec_a = distill_run(episodes, emb, exact=False)
    bank_b, rec_b = distill_run(episodes, emb, exact=True)
    rec_e = evolve_run(bank_a, demos, emb)

    # every proposal (a record seen by dedup, or in a final bank), with where it came from
    props: dict[str, dict[str, Any]] = {}

    def add(kind: str, x: Any, source: str) -> None:
        r = skill_rec(x) if kind == "skill" else mistake_rec(x)
        r["record"] = kind
        props.setdefault(record_key(r), {**r, "sources": []})
        if source not in props[record_key(r)]["sources"]:
            props[record_key(r)]["sources"].append(source)

    for src, rec in (("distill", rec_a), ("distill", rec_b), ("evolve", rec_e)):
        for kind, cand, pool, _ in rec.seen:
            add(kind, cand, src)
            for p in pool:
                add(kind, p, src if src != "evolve" else "distill")
    for b in (bank_a, bank_b):
        for s in b.skills():
            add("skill", s, "distill")
        for m in b.mistakes:
            add("mistake", m, "distill")

    # the first run's (default dedup) and the evolution's rejections as duplicates: which pair, at what cosine
    rejected: dict[str, dict[str, Any]] = {}
    for run, rec in (("distill", rec_a), ("evolve", rec_e)):
        for kind, cand, pool, dup in rec.seen:
            if dup is None:
                continue
            ids = {getattr(p, "skill_id", getattr(p, "mistake_id", None)): p for p in pool}
            other = ids[dup.skill_id]
            a = skill_rec(cand) if kind == "skill" else mistake_rec(cand)
            b = skill_rec(other) if kind == "skill" else mistake_rec(other)
            rejected[pair_key(kind, a, b)] = {"run": run, "kind": dup.kind, "cosine": round(float(dup.score), 4)}

    items = sorted(props.values(), key=lambda r: (r["record"], r.get("tier") or "", r.get("category") or "",
                                                  record_key(r)))
    rows = []
    for x, y in itertools.combinations(items, 2):
        if x["record"] != y["record"]:
            continue
        if x["record"] == "skill":
            general = "general" in (x["tier"], y["tier"])
            if not general and x["category"] != y["category"]:
                continue  # the filing path never compares two categories' task-specific skills
            sub = ("general_vs_general" if x["tier"] == y["tier"] == "general" else
                   "general_vs_category" if general else "same_category")
        else:
            sub = "mistake"
        a = {k: v for k, v in x.items() if k not in ("record", "sources")}
        b = {k: v for k, v in y.items() if k not in ("record", "sources")}
        key = pair_key(x["record"], a, b)
        rows.append({"key": key, "record": x["record"], "subkind": sub, "a": a, "b": b,
                     "sources": sorted(set(x["sources"]) | set(y["sources"])),
                     "evolved": "evolve" in x["sources"] and "distill" not in x["sources"]
                                or "evolve" in y["sources"] and "distill" not in y["sources"],
                     "rejected_in_run": rejected.get(key)})
    # cosines on the real embedder (what the benchmark recomputes), for reading the pairs
    texts = {}
    for r in rows:
        for side in ("a", "b"):
            t = (dedup_text(Skill(skill_id="x", title=r[side]["title"], principle=r[side]["principle"]))
                 if r["record"] == "skill" else
                 mistake_text(Mistake(mistake_id="x", description=r[side]["description"],
                                      how_to_avoid=r[side]["how_to_avoid"])))
            texts[t] = None
    vecs = dict(zip(texts, emb.embed(list(texts))))
    for r in rows:
        ta, tb = ((dedup_text(Skill(skill_id="x", title=r[s]["title"], principle=r[s]["principle"])) for s in "ab")
                  if r["record"] == "skill" else
                  (mistake_text(Mistake(mistake_id="x", description=r[s]["description"],
                                        how_to_avoid=r[s]["how_to_avoid"])) for s in "ab"))
        r["cosine"] = round(float(vecs[ta] @ vecs[tb]), 4)
    missing = [k for k in rejected if k not in {r["key"] for r in rows}]
    if missing:
        raise RuntimeError(f"rejected pairs outside the population: {missing}")
    commit = subprocess.run(["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"], capture_output=True,
                            text=True).stdout.strip()
    with open(OUT, "w") as f:
        f.write(json.dumps({"meta": {"commit": commit, "proposals": len(items), "pairs": len(rows)}}) + "\n")
        f.writelines(json.dumps(r, ensure_ascii=False) + "\n" for r in rows)
    from collections import Counter

    print(f"{len(items)} proposals, {len(rows)} pairs ({dict(Counter(r['subkind'] for r in rows))}), "
          f"{len(rejected)} rejected in the runs -> {OUT.relative_to(REPO)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
