"""Which similarity threshold (delta) fits the packaged embedding model?

The paper's delta=0.4 was set for Qwen3-Embedding-0.6B. With all-MiniLM-L6-v2 the cosine similarities of an
ALFWorld goal to skill texts are much lower, so delta=0.4 filters out almost every task-specific skill. This
script measures, on the 140 valid_seen goals (real goal text) and the official ALFWorld bank:

* for each delta, the share of goals that get >= 1 task-specific skill (cross-category search, the official
  embedding mode), and the precision of those skills (share from the goal's true category);
* the delta maximising Youden's J between own-category and other-category similarities.

Prints a table and writes benchmarks/results/bench_delta.json.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

import numpy as np

os.environ.setdefault("HF_HUB_OFFLINE", "1")
ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("SKILLRL_SHARED_DATA", ROOT.parent / "shared" / "data"))


def main() -> int:
    from skillrl.bank import SkillBank
    from skillrl.profiles import get_profile
    from skillrl.embedders import default_embedder
    from skillrl.envs.alfworld import list_games

    bank_path = SHARED / "skillrl-official/memory_data/alfworld/claude_style_skills.json"
    if not bank_path.exists():
        print(f"skip: {bank_path} not found")
        return 0
    bank = SkillBank.load(bank_path)
    det = get_profile("alfworld")
    games = list_games("valid_seen", data_dir=SHARED / "alfworld")
    goals = [g.goal for g in games]
    truth = [det.to_bank_category(g.task_type, bank) for g in games]
    skills = [s for c in bank.categories for s in bank.task_specific[c]]
    emb = default_embedder()
    t0 = time.perf_counter()
    q = emb.embed(goals)
    k = emb.embed([s.text for s in skills])
    sims = q @ k.T  # (140, 32)
    own = np.array([[s.category == t for s in skills] for t in truth])
    own_s, other_s = sims[own], sims[~own]
    rows = []
    for delta in np.round(np.arange(0.0, 0.51, 0.05), 2):
        passed = sims > delta
        top = []
        for i in range(len(goals)):  # TopK(K=6) over all categories above delta
            idx = [j for j in np.argsort(-sims[i]) if passed[i, j]][:6]
            top.append(idx)
        covered = sum(bool(t) for t in top) / len(goals)
        chosen = [own[i, j] for i, t in enumerate(top) for j in t]
        rows.append({"delta": float(delta), "goals_with_task_skills": round(covered, 3),
                     "skills_per_goal": round(sum(len(t) for t in top) / len(goals), 2),
                     "precision_own_category": round(float(np.mean(chosen)), 3) if chosen else None,
                     "own_pass_rate": round(float((own_s > delta).mean()), 3),
                     "other_pass_rate": round(float((other_s > delta).mean()), 3)})
    grid = np.round(np.arange(0.0, 0.6, 0.01), 2)
    youden = [float((own_s > d).mean() - (other_s > d).mean()) for d in grid]
    best = float(grid[int(np.argmax(youden))])
    out = {"benchmark": "bench_delta", "embedder": emb.name, "goals": len(goals), "skills": len(skills),
           "own_similarity": {"median": float(np.median(own_s)), "p90": float(np.quantile(own_s, 0.9))},
           "other_similarity": {"median": float(np.median(other_s)), "p90": float(np.quantile(other_s, 0.9))},
           "youden_best_delta": best, "youden_j": max(youden), "rows": rows,
           "seconds": round(time.perf_counter() - t0, 2)}
    print(f"embedder {emb.name}: own-category cosine median {np.median(own_s):.3f}, other {np.median(other_s):.3f}")
    print(f"{'delta':>6} {'goals w/ skills':>16} {'skills/goal':>12} {'own-cat precision':>18} {'own pass':>9} {'other pass':>11}")
    for r in rows:
        print(f"{r['delta']:>6.2f} {r['goals_with_task_skills']:>16.3f} {r['skills_per_goal']:>12.2f} "
              f"{str(r['precision_own_category']):>18} {r['own_pass_rate']:>9.3f} {r['other_pass_rate']:>11.3f}")
    print(f"best separating delta (Youden's J={max(youden):.3f}): {best}")
    res = ROOT / "benchmarks" / "results"
    res.mkdir(parents=True, exist_ok=True)
    (res / "bench_delta.json").write_text(json.dumps(out, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
