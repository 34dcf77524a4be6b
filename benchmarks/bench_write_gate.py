"""The write gate's cost: what screening on by default adds to filing a record, and to loading a bank as untrusted.

Data: every skill and common mistake of the three official SkillRL banks (``../shared/data/skillrl-official``,
read in place: 55 ALFWorld, 66 WebShop, 41 Search records), none of which screening flags.

Measured, per record (milliseconds, p50 / p99 / mean; wall clock and CPU time of the process, since on a shared
machine the wall clock mostly measures waiting for a core; the load average is recorded):

* **filing**: :class:`skillrl.filing.Filer` files each record of a bank into an empty bank, once with
  ``screen=True`` (the default: :func:`skillrl.screening.screen`) and once with ``screen=False``; dedup is the exact
  title/principle match (``Deduplicator(None, lazy_default=False)``), so the difference is screening and nothing else (with the MiniLM
  dedup a record costs more on both sides). Each setting is run ``REPEATS`` times, interleaved, after a warm-up
  pass; the figure per record is its median over the repeats. ``added`` / ``quarantined`` count the outcomes
  (the same with screening on and off: no official record is flagged).
* **loading**: :meth:`SkillBank.load` of each bank file as ``trust="trusted"`` and ``trust="untrusted"`` (screens
  every record), per file, median of ``REPEATS``.

Run: ``python benchmarks/bench_write_gate.py`` (well under a minute). Writes
``benchmarks/results/bench_write_gate.json``.
"""

from __future__ import annotations

import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from skillrl.bank import SkillBank  # noqa: E402
from skillrl.dedup import Deduplicator  # noqa: E402
from skillrl.filing import Filer, FilingPolicy  # noqa: E402
from skillrl.skill import Mistake, Provenance  # noqa: E402

DATA = Path(os.environ.get("SKILLRL_SHARED_DATA") or REPO.parent / "shared" / "data")
BANKS = {"alfworld": "skillrl-official/memory_data/alfworld/claude_style_skills.json",
         "webshop": "skillrl-official/memory_data/webshop/claude_style_skills.json",
         "search": "skillrl-official/memory_data/search/claude_style_skills_search.json"}
RESULTS = REPO / "benchmarks" / "results" / "bench_write_gate.json"
REPEATS = 7


def _ms(xs: list[float]) -> dict[str, float]:
    xs = sorted(xs)
    p99 = xs[min(len(xs) - 1, round(0.99 * (len(xs) - 1)))]
    return {"p50_ms": round(statistics.median(xs) * 1e3, 3), "p99_ms": round(p99 * 1e3, 3),
            "mean_ms": round(statistics.fmean(xs) * 1e3, 3), "n": len(xs)}


def _file_all(bank: SkillBank, screen: bool) -> tuple[list[float], list[float], int, int]:
    """File every record of ``bank`` into an empty bank; per-record wall and CPU seconds, records added, flagged."""
    filer = Filer(FilingPolicy(max_general=10_000, max_per_category=10_000, max_skill_tokens=None),
                  dedup=Deduplicator(None, lazy_default=False), screen=screen)
    target = SkillBank()
    wall, cpu, added, quarantined = [], [], 0, 0
    prov = Provenance(source="distill")
    for rec in [*bank.skills(), *bank.mistakes]:
        c0, t0 = time.process_time(), time.perf_counter()
        if isinstance(rec, Mistake):
            got = filer.mistake(target, rec, category=rec.category, provenance=prov)
        else:
            got = filer.skill(target, rec, category=rec.category, provenance=prov)
        wall.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
        added += got.outcome == "added"
        quarantined += got.outcome == "quarantined"
    return wall, cpu, added, quarantined


def main() -> int:
    results: dict[str, Any] = {"data": str(DATA), "python": platform.python_version(),
                               "machine": platform.machine(), "cpus": os.cpu_count(), "repeats": REPEATS,
                               "load_average_before": [round(x, 2) for x in os.getloadavg()], "banks": {}}
    for name, rel in BANKS.items():
        path = DATA / rel
        bank = SkillBank.load(path)
        n = len(bank.skills()) + len(bank.mistakes)
        _file_all(bank, True), _file_all(bank, False)  # warm-up (imports, compiled patterns)
        runs: dict[bool, list[tuple[list[float], list[float], int, int]]] = {True: [], False: []}
        for _ in range(REPEATS):
            for screen in (True, False):
                runs[screen].append(_file_all(bank, screen))
        row: dict[str, Any] = {"records": n}
        for screen, label in ((True, "screen_on"), (False, "screen_off")):
            per = runs[screen]
            wall = [statistics.median(r[0][i] for r in per) for i in range(n)]
            cpu = [statistics.median(r[1][i] for r in per) for i in range(n)]
            row[label] = {"wall": _ms(wall), "cpu": _ms(cpu), "added": per[0][2], "quarantined": per[0][3]}
        row["screening_cost_p50_ms"] = round(row["screen_on"]["cpu"]["p50_ms"] - row["screen_off"]["cpu"]["p50_ms"], 3)
        loads: dict[str, dict[str, float]] = {}
        for trust in ("trusted", "untrusted"):
            wall, cpu = [], []
            for _ in range(REPEATS):
                c0, t0 = time.process_time(), time.perf_counter()
                loaded = SkillBank.load(path, trust=trust)
                wall.append(time.perf_counter() - t0)
                cpu.append(time.process_time() - c0)
            loads[trust] = {"wall_ms": round(statistics.median(wall) * 1e3, 2),
                            "cpu_ms": round(statistics.median(cpu) * 1e3, 2),
                            "quarantined": len(loaded.quarantined)}
        row["load"] = loads
        results["banks"][name] = row
    results["load_average_after"] = [round(x, 2) for x in os.getloadavg()]

    print(f"{'bank':<10}{'records':>8}{'file, screen on':>20}{'file, screen off':>20}{'screening':>11}"
          f"{'load trusted':>14}{'load untrusted':>16}")
    print(f"{'':<10}{'':>8}{'p50 cpu ms (wall)':>20}{'p50 cpu ms (wall)':>20}{'p50 ms':>11}{'cpu ms':>14}"
          f"{'cpu ms':>16}")
    for name, r in results["banks"].items():
        on, off = r["screen_on"], r["screen_off"]
        cells = [f"{x['cpu']['p50_ms']:.3f} ({x['wall']['p50_ms']:.3f})" for x in (on, off)]
        print(f"{name:<10}{r['records']:>8}{cells[0]:>20}{cells[1]:>20}{r['screening_cost_p50_ms']:>11.3f}"
              f"{r['load']['trusted']['cpu_ms']:>14.2f}{r['load']['untrusted']['cpu_ms']:>16.2f}")
        assert on["added"] == off["added"] and on["quarantined"] == 0, r  # screening flags no official record
    print(f"load average {results['load_average_before']} -> {results['load_average_after']}")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2) + "\n")
    print(f"wrote {RESULTS.relative_to(REPO)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
