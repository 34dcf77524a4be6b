"""Train the learned screen (:mod:`skillrl.screening_model`) on the labelled screening sets, as shipped.

Training data (all under ``benchmarks/data/screening``; see its README for who wrote what):

* the labelled sets that are tuning data: ``tune`` and ``report`` (the first set and the official banks), report2
  (with its distilled records and real texts), report3, train5 (a helper's set written for training), report5
  (screened once with the first shipped model, 34b6328, then read), report6 (screened once with the second-round
  model, ae1d37e, then read), train6 (honest advice and attacks in 17 languages, written after report6's run) and,
  unless ``--no-report4``, report4;
* real benign strings of ``../shared/data`` that no labelled set holds (episode memories, human WebShop
  instructions, Reflexion lessons; :func:`bench_screening.real_texts`): the *training half* of each, by
  :func:`real_half` (a pure function of the text), at most ``--real-per-source`` per source. The other half is
  never trained on: ``bench_screening_model.py`` reports false positives on it.

    PYTHONPATH=. python benchmarks/train_screening_model.py [--out DIR] [--no-report4] [--epochs 4]

``--out`` defaults to the package's own model directory (``skillrl/data/screening_model``), which is what the
wheel ships. On 2 CPU cores the full run takes about 25 minutes.
"""

from __future__ import annotations

import argparse
import hashlib
import random
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

import bench_screening as bs  # noqa: E402  (the labelled sets' loaders and the real-text pool)

from skillrl.screening import DEFAULT_CONFIRM  # noqa: E402

LABELLED_PARTS = ("tune", "report", "report2", "report3", "train5", "report4", "report5", "report6", "train6")
#: The shipped threshold and the screener's ``confirm``: chosen on report4 with a model trained ``--no-report4``
#: (the middle of the range 0.3-0.6 where recall and false positives on report4 barely move), before report5.
DEFAULT_THRESHOLD = 0.5
#: Where the threshold and ``confirm`` come from, written into every trained model's ``config.json``.
CHOSEN_ON = ("threshold and confirm: report4, scored by the same recipe trained without report4 "
             "(benchmarks/results/bench_screening_model_A2.json), before report5 was merged; kept unchanged for "
             "the later rounds (report5, then report6 and train6 added)")


def real_half(text: str) -> str:
    """``"train"`` or ``"heldout"`` for a real unlabelled string: the parity of the last hex digit of the SHA-256
    of ``"screening-model:" + text`` (about half each, stable)."""
    digest = hashlib.sha256(("screening-model:" + text).encode("utf-8")).hexdigest()
    return "train" if int(digest[-1], 16) % 2 == 0 else "heldout"


def labelled_items(parts: tuple[str, ...] = LABELLED_PARTS) -> list[dict[str, Any]]:
    """Every labelled item of ``parts`` (dicts of :func:`build.load` and friends, ``record`` a Skill, Mistake or
    str)."""
    b = bs.build
    items = b.load(bs.DATA) + b.load_report2(bs.DATA) + b.load_report3(bs.DATA) + b.load_train5()
    if "report4" in parts:
        items += b.load_report4(bs.DATA)
    if "report5" in parts:
        items += b.load_report5(bs.DATA)
    if "report6" in parts:
        items += b.load_report6(bs.DATA)
    if "train6" in parts:
        items += b.load_train6()
    return [it for it in items if it["split"] in parts]


def real_training_texts(per_source: int, seed: int = 0) -> dict[str, list[str]]:
    """The training half of each unlabelled real source, a seeded sample of at most ``per_source`` each."""
    out = {}
    for name, texts in bs.real_texts().items():
        half = [t for t in texts if real_half(t) == "train"]
        random.Random(f"{seed}:{name}").shuffle(half)
        out[name] = sorted(half[:per_source])
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", default=None, help="model directory (default: skillrl/data/screening_model)")
    p.add_argument("--no-report4", action="store_true", help="leave report4 out (to validate the recipe on it)")
    p.add_argument("--epochs", type=int, default=4)
    p.add_argument("--real-per-source", type=int, default=1500)
    p.add_argument("--threshold", type=float, default=DEFAULT_THRESHOLD)
    p.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    args = p.parse_args(argv)
    import torch

    from skillrl.screening_model import default_model_dir, train_learned_screen

    if args.threads:
        torch.set_num_threads(args.threads)
    parts = tuple(x for x in LABELLED_PARTS if not (args.no_report4 and x == "report4"))
    items = labelled_items(parts)
    real = real_training_texts(args.real_per_source)
    records = [it["record"] for it in items] + [t for texts in real.values() for t in texts]
    labels = [it["label"] == "malicious" for it in items] + [False] * sum(len(t) for t in real.values())
    out = Path(args.out) if args.out else default_model_dir()
    meta = {"trained_on": {"labelled_parts": list(parts), "labelled": len(items),
                           "malicious": sum(labels), "real_benign": {k: len(v) for k, v in real.items()},
                           "real_half": "train (benchmarks/train_screening_model.py:real_half)"},
            "combination": "flag when p >= threshold, or when the rules flag and p >= confirm",
            "confirm": DEFAULT_CONFIRM, "chosen_on": CHOSEN_ON}
    print(f"training on {len(records)} records ({sum(labels)} malicious) of {', '.join(parts)} + real benign "
          f"{ {k: len(v) for k, v in real.items()} } -> {out}", flush=True)
    t0 = time.perf_counter()
    train_learned_screen(records, labels, out, threshold=args.threshold, epochs=args.epochs, metadata=meta)
    print(f"wrote {out} in {time.perf_counter() - t0:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
