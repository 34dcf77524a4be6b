"""Kill harness: writer processes in save loops, SIGKILLed at random moments; counts what the kills broke.

Used by tests/test_storage.py (50 kills) and benchmarks/bench_bank_kill.py (more). Run by hand:

    PYTHONPATH=. python tests/scripts/bank_kill.py WORKDIR --kills 50 [--seed 0] [--base BANK.json]

Each round forks one writer (a real process: ``os.fork``, so the ~1 s import is paid once) that loops:

1. ``with SkillBank.edit(WORKDIR/bank.json) as b: b.add(skill)``  (native bank file, locked load-edit-save);
2. ``runtime.bank.add(skill)``; ``runtime.validations.append({..., "bank_version": v})``;
   ``runtime.save(WORKDIR/state)``  (:meth:`SkillRuntime.save`: bank + state as one unit).

After its first loop (so the previous kill's leftovers had a save to be cleaned by) the harness waits a random
0..``max_delay`` s and sends SIGKILL. Then it checks, with the writer dead:

* corrupt bank: ``SkillBank.load(bank.json)`` fails (strict: history replays), or its version went backwards;
* disagreeing state: ``SkillRuntime.load(state)`` fails, or the state's last ``bank_version`` is not the bank's
  version, or the version went backwards;
* leftovers: temp files ``.NAME.*.tmp`` in the bank folder and the state directory and state generations other
  than the current one, left by the kill (expected: a kill mid-write leaves one), and of those, how many were still there after the next
  writer's first save (``stale_after_next_save``; must be 0), and after a final clean save (``final_leftovers``).

Prints / returns one JSON object with the counts. Also runs against code from before issue 10 (no
``SkillBank.edit``: plain load-add-save), for before/after figures: ``PYTHONPATH=/path/to/old/checkout``.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import select
import signal
import sys
import time
from pathlib import Path
from typing import Any


def _writer(workdir: Path, round_no: int, signal_fd: int) -> None:  # runs in the forked child; never returns
    from skillrl.bank import SkillBank
    from skillrl.runtime import SkillRuntime
    from skillrl.skill import Skill

    try:
        rt = _runtime_from(workdir / "state", SkillRuntime, SkillBank)
        i = 0
        while True:
            sid = f"r{round_no:04d}_{i:04d}"
            skill = Skill(skill_id=sid, title=f"Kill round {round_no} loop {i}", principle=f"Written in loop {i}.")
            if hasattr(SkillBank, "edit"):
                with SkillBank.edit(workdir / "bank.json") as bank:
                    bank.add(skill, reason=sid)
            else:  # code before issue 10: plain load-add-save
                bank = SkillBank.load(workdir / "bank.json")
                bank.add(skill, reason=sid)
                bank.save(workdir / "bank.json")
            rt.bank.add(skill, reason=sid)
            rt.validations.append({"step": i, "split": "validation", "episodes": 0, "success_rates": {},
                                   "bank_version": rt.bank.version})
            del rt.validations[:-20]
            rt.save(workdir / "state")
            os.write(signal_fd, b"r")  # one byte per finished loop
            i += 1
    except BaseException as err:
        os.write(2, f"writer failed: {type(err).__name__}: {err}\n".encode())
        os._exit(3)
    os._exit(0)


def _runtime_from(state: Path, runtime_cls: Any, bank_cls: Any) -> Any:
    rt = runtime_cls(bank_cls(), mode="template", load_entry_points=False)
    rt.load(state)
    return rt


def _leftovers(workdir: Path) -> list[str]:
    """Temp files ``.NAME.*.tmp`` in the bank folder and the state directory, and state generations other than the
    current one (self-contained, so the harness also measures code without skillrl.storage)."""
    out = [p.name for p in workdir.iterdir() if p.name.startswith(".") and p.name.endswith(".tmp")]
    state = workdir / "state"
    out += [f"state/{p.name}" for p in state.iterdir() if p.name.startswith(".") and p.name.endswith(".tmp")]
    sub = state / ".skillrl-state"
    if sub.is_dir():
        current = os.readlink(sub / "current") if os.path.islink(sub / "current") else None
        out += [f"state/.skillrl-state/{p.name}" for p in sub.iterdir()
                if p.name.endswith(".tmp") or (re.match(r"^g\d+-", p.name) and p.name != current)]
    return sorted(out)


def _check(workdir: Path, last: dict[str, int]) -> dict[str, Any]:
    from skillrl.bank import SkillBank
    from skillrl.runtime import SkillRuntime

    out: dict[str, Any] = {"corrupt_bank": 0, "disagree_state": 0, "errors": []}
    try:
        bank = SkillBank.load(workdir / "bank.json")
        if bank.version < last["bank"]:
            out["corrupt_bank"] = 1
            out["errors"].append(f"bank went back from v{last['bank']} to v{bank.version}")
        last["bank"] = bank.version
    except Exception as err:  # any failure to read it back counts (older code raises more than SkillRLError)
        out["corrupt_bank"] = 1
        out["errors"].append(str(err))
    try:
        rt = _runtime_from(workdir / "state", SkillRuntime, SkillBank)
        recorded = rt.validations[-1]["bank_version"] if rt.validations else 0
        if recorded != rt.bank.version or rt.bank.version < last["state"]:
            out["disagree_state"] = 1
            out["errors"].append(f"state says v{recorded}, bank is v{rt.bank.version} (before: v{last['state']})")
        last["state"] = rt.bank.version
    except Exception as err:
        out["disagree_state"] = 1
        out["errors"].append(str(err))
    return out


def run(workdir: str | os.PathLike[str], kills: int = 50, seed: int = 0, max_delay: float | None = None,
        base: str | os.PathLike[str] | None = None) -> dict[str, Any]:
    """Run ``kills`` kill rounds in ``workdir`` (created; must be empty or absent). Returns the counts.

    ``max_delay``: the kill comes uniformly 0..max_delay s after the writer's first loop; default: two loop
    periods, measured in round 0 (so kills land anywhere in the loop, writes included)."""
    from skillrl.bank import SkillBank
    from skillrl.runtime import SkillRuntime

    workdir = Path(workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    bank = SkillBank.load(base) if base else SkillBank()
    bank.save(workdir / "bank.json")
    SkillRuntime(bank.copy(), mode="template", load_entry_points=False).save(workdir / "state")
    rng = random.Random(seed)
    last = {"bank": 0, "state": 0}
    totals = {"kills": 0, "corrupt_banks": 0, "disagreeing_state_dirs": 0, "kills_leaving_leftovers": 0,
              "leftovers_left_by_kills": 0, "stale_after_next_save": 0, "writer_failures": 0}
    errors: list[str] = []
    pending: list[str] = []  # leftovers of the previous kill, to be gone after the next writer's first save
    t0 = time.perf_counter()
    for r in range(kills):
        rfd, wfd = os.pipe()
        pid = os.fork()
        if pid == 0:
            os.close(rfd)
            _writer(workdir, r, wfd)
        os.close(wfd)
        ready, _, _ = select.select([rfd], [], [], 120)
        got = os.read(rfd, 1) if ready else b""
        if got != b"r":  # the writer died before its first save
            _, status = os.waitpid(pid, 0)
            totals["writer_failures"] += 1
            errors.append(f"round {r}: writer exited with status {status} before its first save")
            os.close(rfd)
            continue
        if max_delay is None:  # calibrate: time two more loops
            t1 = time.perf_counter()
            for _ in range(2):
                select.select([rfd], [], [], 120)
                os.read(rfd, 1)
            max_delay = 2 * (time.perf_counter() - t1) / 2
        still = [n for n in pending if (workdir / n).exists() or os.path.lexists(workdir / n)]
        totals["stale_after_next_save"] += len(still)
        errors += [f"round {r}: {n} survived a save" for n in still]
        time.sleep(rng.uniform(0, max_delay))
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        os.close(rfd)
        totals["kills"] += 1
        res = _check(workdir, last)
        totals["corrupt_banks"] += res["corrupt_bank"]
        totals["disagreeing_state_dirs"] += res["disagree_state"]
        errors += [f"round {r}: {e}" for e in res["errors"]]
        pending = _leftovers(workdir)
        totals["kills_leaving_leftovers"] += bool(pending)
        totals["leftovers_left_by_kills"] += len(pending)
    # one clean save of each kind: every leftover must be gone
    b = SkillBank.load(workdir / "bank.json")
    b.metadata = {**(b.metadata if isinstance(b.metadata, dict) else {}), "final": True}
    b.save(workdir / "bank.json")
    rt = _runtime_from(workdir / "state", SkillRuntime, SkillBank)
    rt.save(workdir / "state")
    final = _leftovers(workdir)
    final_bank = SkillBank.load(workdir / "bank.json")
    totals.update({"final_leftovers": len(final), "final_bank_version": final_bank.version,
                   "final_state_version": rt.bank.version, "seconds": round(time.perf_counter() - t0, 1),
                   "max_delay_s": round(max_delay or 0, 4), "seed": seed, "errors": errors[:20]})
    return totals


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("workdir")
    ap.add_argument("--kills", type=int, default=50)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--max-delay", type=float, default=None, help="default: two writer loops (measured)")
    ap.add_argument("--base", default=None, help="bank to start from (default: empty)")
    args = ap.parse_args()
    sys.stdout.write(json.dumps(run(args.workdir, args.kills, args.seed, args.max_delay, args.base)) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
