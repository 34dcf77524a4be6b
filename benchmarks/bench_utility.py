"""Does the skill-utility estimator recover known effects, and how many episodes does it need?

Episodes are simulated from a KNOWN model and pass through the REAL runtime path: ``SkillRuntime.augment`` with a
group key (the skill ablation of :mod:`skillrl.utility` picks which GRPO groups withhold which skill and renders
their block), ``SkillRuntime.episode`` / ``record`` (usage counted in the bank's native stats section), then
``SkillRuntime.utility()`` (the Beta/MC estimator) and ``skillrl.utility.decide`` (retirements).

The known model, one category (``heat``, the official SkillRL ALFWorld bank, real heat goals from the expert demos):

* success probability = task difficulty (per goal, uniform in [0.25, 0.55], so no probability leaves [0, 1]) + a
  policy that improves over the run (+0.2 from first to last group) + the effect of each skill in the block the
  runtime rendered;
* ``hea_003`` helps (+0.2), ``hea_004`` hurts (-0.2), ``hea_001``, ``hea_002``, ``hea_005`` do nothing, and a sixth
  skill ``hea_new`` (also neutral) is added to the bank half-way through the run, as evolution adds skills;
* GRPO groups of G=4 copies of one goal; ablation 0.7 of the groups, ``ablation_scope="task_specific"`` (one of the
  category's own skills withheld per ablated group; the 12 general skills stay in every block).

Compared in the same run, on the same episodes: the naive correlation a usage counter gives (success of the
episodes that showed the skill minus success of the category's episodes that did not, Wald interval, Bonferroni over
the same family), which ignores that the groups' copies are correlated and that a skill added late is only ever
shown to a better policy.

Reported per episodes-per-category N: share of the six skills with an interval (a skill never withheld has none),
interval coverage of the true effect (of all six; of those with an interval), sign accuracy (planted
skills: sign of the estimate; neutral ones: interval contains 0), detection of the helpful / harmful skill (interval
excludes zero on the right side; "right": both detected and no neutral skill flagged, the call a pruner needs), both
ranked right (helpful first, harmful last), family-wise false positives (some
neutral skill's interval excludes zero), mean absolute error, retirements (``decide`` retires exactly the harmful
skill), and the cost: share of groups ablated, share of the category's episodes that withheld a given skill. Then the
smallest N in the grid with >= 90% of runs "both" and "right", and the estimator / naive ratios.

    PYTHONPATH=. python benchmarks/bench_utility.py [--reps 40] [--sizes 50,200,500,1000,2000,4000]

Prints a table and writes benchmarks/results/bench_utility.json.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("SKILLRL_SHARED_DATA", ROOT.parent / "shared" / "data"))
BANK = SHARED / "skillrl-official/memory_data/alfworld/claude_style_skills.json"
HELPFUL, HARMFUL, LATE = "hea_003", "hea_004", "hea_new"
EFFECTS = {HELPFUL: 0.2, HARMFUL: -0.2}
G = 4
ABLATION = 0.7
LEVEL = 0.95


def heat_goals(limit: int = 40, shared: Path = SHARED) -> list[str]:
    """The first ``limit`` distinct goal sentences of the ALFWorld expert demonstrations of the heat task type
    (``<shared>/alfworld/expert_demos_train.jsonl``; tests/test_utility.py uses them too)."""
    goals: list[str] = []
    with (shared / "alfworld" / "expert_demos_train.jsonl").open() as fh:
        for line in fh:
            rec = json.loads(line)
            if rec["task_type"] == "pick_heat_then_place_in_recep":
                goal = rec["conversations"][0]["value"].rsplit("Your task is to: ", 1)[1].strip()
                if goal not in goals:
                    goals.append(goal)
            if len(goals) == limit:
                break
    return goals


def simulate(bank, goals: list[str], episodes: int, seed: int):
    """One run of ``episodes`` heat episodes through the runtime; returns ``(runtime, episodes, groups ablated)``."""
    from skillrl.runtime import SkillRuntime
    from skillrl.skill import Skill

    rt = SkillRuntime(bank, mode="template", profile="alfworld", load_entry_points=False, ablation=ABLATION,
                      ablation_scope="task_specific", ablation_seed=seed)
    rng = random.Random(seed)
    difficulty = {t: 0.25 + 0.3 * random.Random(f"{seed}-{t}").random() for t in goals}
    groups = max(episodes // G, 1)
    out, ablated = [], 0
    for step in range(groups):
        if step == groups // 2:
            bank.add(Skill(skill_id=LATE, title="Check the microwave door", principle="Open the microwave before "
                           "putting the object in; close it before heating.", tier="task_specific", category="heat"))
        task = goals[rng.randrange(len(goals))]
        augs = rt.augment([f"You are in a room.\n\nYour task is to: {task}"] * G, group_key=f"train:{step}")
        ablated += bool(augs[0].withheld)
        batch = []
        for a in augs:
            p = difficulty[task] + 0.2 * step / max(groups - 1, 1) + sum(EFFECTS.get(s, 0.0) for s in a.skill_ids)
            won = rng.random() < min(max(p, 0.0), 1.0)
            batch.append(rt.episode(augmentation=a, reward=float(won), success=won, split="train", step=step))
        rt.record(batch, split="train")
        out += batch
    return rt, out, ablated / groups


def naive(episodes, skills: list[str]) -> dict[str, tuple[float, float, float] | None]:
    """Success when shown minus success when not shown, Wald interval, Bonferroni over ``skills``."""
    from statistics import NormalDist

    z = NormalDist().inv_cdf(1 - (1 - LEVEL) / (2 * len(skills)))
    out: dict[str, tuple[float, float, float] | None] = {}
    for s in skills:
        shown = [e.success for e in episodes if s in e.skill_ids]
        other = [e.success for e in episodes if s not in e.skill_ids]
        if not shown or not other:
            out[s] = None
            continue
        p1, p0 = sum(shown) / len(shown), sum(other) / len(other)
        se = (p1 * (1 - p1) / len(shown) + p0 * (1 - p0) / len(other)) ** 0.5
        d = p1 - p0
        out[s] = (d, d - z * se, d + z * se)
    return out


def score(rows: dict[str, tuple[float, float, float] | None], skills: list[str]) -> dict[str, float]:
    """Per-run figures of one method: rows ``{skill: (estimate, low, high) | None}``."""
    truth = {s: EFFECTS.get(s, 0.0) for s in skills}
    got = {s: r for s, r in rows.items() if r is not None}
    covered = [s in got and got[s][1] <= truth[s] <= got[s][2] for s in skills]
    sign = []
    for s in skills:
        if s not in got:
            sign.append(False)
        elif truth[s] == 0:
            sign.append(got[s][1] <= 0 <= got[s][2])
        else:
            sign.append((got[s][0] > 0) == (truth[s] > 0))
    ranked = sorted(got, key=lambda s: got[s][0], reverse=True)
    nulls = [s for s in skills if truth[s] == 0]
    return {
        "with_interval": len(got) / len(skills),
        "coverage": sum(covered) / len(skills),
        "coverage_given_interval": sum(covered) / len(got) if got else float("nan"),
        "sign_accuracy": sum(sign) / len(skills),
        "detect_helpful": float(HELPFUL in got and got[HELPFUL][1] > 0),
        "detect_harmful": float(HARMFUL in got and got[HARMFUL][2] < 0),
        "rank_right": float(bool(ranked) and ranked[0] == HELPFUL and ranked[-1] == HARMFUL),
        "false_positive": float(any(s in got and not got[s][1] <= 0 <= got[s][2] for s in nulls)),
        "late_false_positive": float(LATE in got and not got[LATE][1] <= 0 <= got[LATE][2]),
        "abs_error": statistics.fmean(abs(got[s][0] - truth[s]) for s in got) if got else 1.0,
    }


def run(sizes: list[int], reps: int) -> dict:
    from skillrl.bank import SkillBank
    from skillrl.utility import decide

    base = SkillBank.load(BANK)
    goals = heat_goals()
    skills = [s.skill_id for s in base.task_specific["heat"]] + [LATE]
    table = []
    for n in sizes:
        t0 = time.perf_counter()
        per = {"estimator": [], "naive": []}
        cost, withheld_share, retire_exact = [], [], []
        for rep in range(reps):
            bank = base.copy()
            rt, eps, frac = simulate(bank, goals, n, seed=1000 * n + rep)
            est = {e.skill_id: e for e in rt.utility()}
            rows = {s: (est[s].utility, est[s].ci_low, est[s].ci_high) if s in est and est[s].utility is not None
                    else None for s in skills}
            per["estimator"].append(score(rows, skills))
            per["naive"].append(score(naive(eps, skills), skills))
            cost.append(frac)
            withheld_share.append(statistics.fmean(sum(s in (e.metadata.get("withheld") or []) for e in eps) / len(eps)
                                                   for s in skills[:-1]))
            retire_exact.append(float([d.skill_id for d in decide(bank) if d.kind == "retire"] == [HARMFUL]))
        row = {"episodes": n, "groups": n // G, "reps": reps, "ablated_groups": statistics.fmean(cost),
               "withheld_share_per_skill": statistics.fmean(withheld_share),
               "retires_exactly_the_harmful": statistics.fmean(retire_exact),
               "seconds": round(time.perf_counter() - t0, 1)}
        for method, runs in per.items():
            row[method] = {k: statistics.fmean(r[k] for r in runs if r[k] == r[k]) if any(r[k] == r[k] for r in runs)
                           else None for k in runs[0]}
            row[method]["detect_both"] = statistics.fmean(r["detect_helpful"] * r["detect_harmful"] for r in runs)
            row[method]["all_right"] = statistics.fmean(r["detect_helpful"] * r["detect_harmful"]
                                                        * (1 - r["false_positive"]) for r in runs)
        table.append(row)
        print_row(row)
    needed = {m: {k: next((r["episodes"] for r in table if r[m][k] >= 0.9), None) for k in ("detect_both", "all_right")}
              for m in ("estimator", "naive")}
    ratios = {}
    for r in table:
        e, nv = r["estimator"], r["naive"]
        ratios[r["episodes"]] = {
            "coverage_estimator_over_naive": e["coverage"] / nv["coverage"] if nv["coverage"] else None,
            "abs_error_naive_over_estimator": nv["abs_error"] / e["abs_error"] if e["abs_error"] else None,
            "false_positive_naive_minus_estimator": nv["false_positive"] - e["false_positive"],
        }
    return {"model": {"category": "heat", "effects": EFFECTS, "neutral": [s for s in skills if s not in EFFECTS],
                      "late_skill": LATE, "group_size": G, "ablation": ABLATION, "ablation_scope": "task_specific",
                      "level": LEVEL, "difficulty": "uniform [0.25, 0.55] per goal", "trend": "+0.2 over the run",
                      "goals": len(goals)},
            "table": table, "episodes_for_90pct_detection": needed, "ratios": ratios}


HEAD = (f"{'N':>5s} {'abl.grp':>7s} {'wh/skill':>8s} | {'method':9s} {'w/CI':>5s} {'cover':>5s} {'cov|CI':>6s} "
        f"{'sign':>5s} {'det+':>5s} "
        f"{'det-':>5s} {'both':>5s} {'right':>5s} {'rank':>5s} {'FP':>5s} {'lateFP':>6s} {'|err|':>6s} | "
        f"{'retire':>6s} {'sec':>5s}")


def print_row(row: dict) -> None:
    for i, method in enumerate(("estimator", "naive")):
        m = row[method]
        left = (f"{row['episodes']:5d} {row['ablated_groups']:7.2f} {row['withheld_share_per_skill']:8.3f}" if i == 0
                else " " * 22)
        right = f"{row['retires_exactly_the_harmful']:6.2f} {row['seconds']:5.0f}" if i == 0 else ""
        print(f"{left} | {method:9s} {m['with_interval']:5.2f} {m['coverage']:5.2f} "
              f"{m['coverage_given_interval'] if m['coverage_given_interval'] is not None else float('nan'):6.2f} "
              f"{m['sign_accuracy']:5.2f} {m['detect_helpful']:5.2f} "
              f"{m['detect_harmful']:5.2f} {m['detect_both']:5.2f} {m['all_right']:5.2f} {m['rank_right']:5.2f} "
              f"{m['false_positive']:5.2f} "
              f"{m['late_false_positive']:6.2f} {m['abs_error']:6.3f} | {right}", flush=True)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--reps", type=int, default=40, help="simulated runs per size (default 40)")
    ap.add_argument("--sizes", default="50,200,500,1000,2000,4000", help="episodes per category, comma-separated")
    args = ap.parse_args(argv)
    if not BANK.exists():
        print(f"skip: {BANK} not found")
        return 0
    sizes = [int(x) for x in args.sizes.split(",")]
    print(__doc__.split("\n\n")[0])
    print(f"known model: {EFFECTS}, neutral hea_001/002/005 and {LATE} (added half-way), G={G}, ablation={ABLATION}"
          f" (task_specific), {LEVEL:.0%} intervals (Bonferroni over the 6 heat skills), {args.reps} runs per N\n")
    print(HEAD)
    out = run(sizes, args.reps)
    print("\nepisodes per category for >= 90% of runs detecting both planted skills (both), and doing so with no "
          f"neutral skill's interval excluding zero (right): {out['episodes_for_90pct_detection']}")
    for n, r in out["ratios"].items():
        print(f"N={n:5d}: coverage estimator/naive {r['coverage_estimator_over_naive']:.2f}, |error| naive/estimator "
              f"{r['abs_error_naive_over_estimator']:.2f}, false positives naive - estimator "
              f"{r['false_positive_naive_minus_estimator']:+.2f}")
    res = ROOT / "benchmarks" / "results"
    res.mkdir(parents=True, exist_ok=True)
    out["command"] = "python benchmarks/bench_utility.py " + " ".join(argv if argv is not None else sys.argv[1:])
    (res / "bench_utility.json").write_text(json.dumps(out, indent=2) + "\n")
    print(f"wrote {res / 'bench_utility.json'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
