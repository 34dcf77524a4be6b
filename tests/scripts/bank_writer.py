"""One writer of a shared bank file, run as a real process by tests/test_storage.py (and by hand for the
before/after figures; it needs only SkillBank.load / add / save in ``plain`` mode, so it also runs against older
skillrl code).

    python tests/scripts/bank_writer.py BANK --id w0 --rounds 50 --mode plain|edit|rebase \
        [--lockstep DIR --parties 2]

Each round adds one skill ``<id>_<round>``:

* ``plain``: load, add, save (a StaleBankError counts as a conflict: that save wrote nothing and said so);
* ``rebase``: load, add, save; on StaleBankError ``bank.rebase(path)`` and save again until it lands;
* ``edit``: ``with SkillBank.edit(path) as bank: bank.add(...)`` (load-edit-save under the file lock).

``--lockstep DIR --parties P``: every round all P writers load, wait until all have loaded, then add and save
(the worst case for lost updates). Prints one JSON line: ``{"id", "saved": [ids whose save returned], "conflicts",
"rebases"}``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path


def barrier(directory: Path, name: str, me: str, parties: int, timeout: float = 120.0) -> None:
    """Wait until ``parties`` writers have reached ``name`` (one marker file each)."""
    (directory / f"{name}.{me}").touch()
    deadline = time.monotonic() + timeout
    while sum(1 for p in directory.iterdir() if p.name.startswith(f"{name}.")) < parties:
        if time.monotonic() > deadline:
            raise SystemExit(f"barrier {name} timed out")
        time.sleep(0.001)


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("bank")
    ap.add_argument("--id", required=True)
    ap.add_argument("--rounds", type=int, default=50)
    ap.add_argument("--mode", choices=["plain", "edit", "rebase"], default="plain")
    ap.add_argument("--lockstep", default=None)
    ap.add_argument("--parties", type=int, default=2)
    args = ap.parse_args()

    from skillrl.bank import SkillBank
    from skillrl.errors import BankConflictError
    from skillrl.skill import Skill

    path = Path(args.bank)
    sync = Path(args.lockstep) if args.lockstep else None
    saved: list[str] = []
    conflicts = rebases = 0
    for r in range(args.rounds):
        sid = f"{args.id}_{r:03d}"
        skill = Skill(skill_id=sid, title=f"Writer {args.id} round {r}", principle=f"Added by {args.id} in round {r}.")
        if args.mode == "edit":
            with SkillBank.edit(path) as bank:
                bank.add(skill, reason=f"{args.id} round {r}")
            saved.append(sid)
            continue
        bank = SkillBank.load(path)
        if sync is not None:
            barrier(sync, f"{r}-loaded", args.id, args.parties)
        bank.add(skill, reason=f"{args.id} round {r}")
        while True:
            try:
                bank.save(path)
                saved.append(sid)
                break
            except BankConflictError:  # StaleBankError on new code; never raised by older code
                conflicts += 1
                if args.mode == "plain":
                    break
                bank.rebase(path)
                rebases += 1
        if sync is not None:
            barrier(sync, f"{r}-saved", args.id, args.parties)
    sys.stdout.write(json.dumps({"id": args.id, "pid": os.getpid(), "saved": saved, "conflicts": conflicts,
                                 "rebases": rebases}) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
