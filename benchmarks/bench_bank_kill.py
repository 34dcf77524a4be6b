"""SIGKILL at random moments during bank and runtime-state save loops: what survives?

Runs tests/scripts/bank_kill.py (forked writer processes in save loops, each SIGKILLed at a uniformly random
moment within two loop periods after its first loop) several times with different seeds and starting banks:

* ``hostile_base`` - the small native excerpt of the official ALFWorld bank (tests/data/hostile_base);
* ``alfworld`` - the full official ALFWorld bank (55 records; writes take longer, so more kills land mid-write).

Counts per run: kills, corrupt banks (strict load fails or the version went back), disagreeing state directories
(``SkillRuntime.load`` fails or the state's bank_version is not the bank's), kills that left a temporary file or an
unfinished state generation, how many of those survived the next save, and leftovers after a final clean save.

    PYTHONPATH=. python benchmarks/bench_bank_kill.py [--kills 100] [--runs 3]

Prints a table and writes benchmarks/results/bench_bank_kill.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("SKILLRL_SHARED_DATA", ROOT.parent / "shared" / "data"))
sys.path.insert(0, str(ROOT / "tests" / "scripts"))

COLUMNS = ("kills", "corrupt_banks", "disagreeing_state_dirs", "kills_leaving_leftovers", "stale_after_next_save",
           "final_leftovers", "writer_failures", "final_bank_version", "seconds")


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--kills", type=int, default=100, help="kills per run")
    ap.add_argument("--runs", type=int, default=3, help="runs (seeds) per starting bank")
    args = ap.parse_args()

    import bank_kill

    bases = {"hostile_base": ROOT / "tests/data/hostile_base/base_native.json",
             "alfworld": SHARED / "skillrl-official/memory_data/alfworld/claude_style_skills.json"}
    rows = []
    for label, base in bases.items():
        if not base.exists():
            print(f"skip {label}: {base} not found")
            continue
        for seed in range(args.runs):
            with tempfile.TemporaryDirectory(prefix="bench_bank_kill_") as tmp:
                res = bank_kill.run(Path(tmp) / "w", kills=args.kills, seed=seed, base=base)
            rows.append({"base": label, "seed": seed, **{k: res[k] for k in COLUMNS}, "max_delay_s": res["max_delay_s"],
                         "errors": res["errors"]})
            print(f"{label} seed {seed}: " + ", ".join(f"{k}={res[k]}" for k in COLUMNS), flush=True)
    total = {k: sum(r[k] for r in rows) for k in COLUMNS if k not in ("final_bank_version", "seconds")}
    head = f"{'base':<13} {'seed':>4} " + " ".join(f"{c[:14]:>14}" for c in COLUMNS)
    print("\n" + head)
    for r in rows:
        print(f"{r['base']:<13} {r['seed']:>4} " + " ".join(f"{r[c]!s:>14}" for c in COLUMNS))
    print(f"{'total':<13} {'':>4} " + " ".join(f"{total.get(c, ''):>14}" for c in COLUMNS))
    out = ROOT / "benchmarks" / "results" / "bench_bank_kill.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"benchmark": "bench_bank_kill", "date": time.strftime("%Y-%m-%d %H:%M:%S"),
                               "python": platform.python_version(), "kills_per_run": args.kills, "runs": rows,
                               "total": total}, indent=2) + "\n")
    print(f"\nwrote {out}")
    bad = total["corrupt_banks"] + total["disagreeing_state_dirs"] + total["stale_after_next_save"] + \
        total["final_leftovers"] + total["writer_failures"]
    return 1 if bad else 0


if __name__ == "__main__":
    raise SystemExit(main())
