"""An experiment for issue 12: do the rules plus a small learned classifier generalise to a blind set where the
rules alone do not?

The rules of :mod:`skillrl.screening` catch everything they were written from and 65-71% of a set written by a
helper session that never saw them (report3 before its rules, report4: ``bench_screening.py``). Here a classifier
is fitted on the labelled sets that are tuning data already (tune, old report, report2, report3, plus the real
benign texts of report2) and scored on report4, the held-out blind set, beside the rules:

* features: the packaged all-MiniLM-L6-v2 sentence embedding (:func:`skillrl.embedders.default_embedder`) of the
  record's fields joined as the screener reads them (:func:`skillrl.screening.record_fields`), L2-normalised;
* model: scikit-learn's logistic regression, class-balanced; its threshold is chosen on the training data by
  5-fold cross-validation as the lowest one whose out-of-fold false-positive rate on the hand-written decoys is at
  most ``--max-fp`` (default 0.03), so report4 never informs it;
* compared on report4: the rules alone, the classifier alone, and the two combined (flag when either does: what
  ``Screener(classifier=...)`` does).

Not a library feature (yet): the figures say whether one is worth building.

    PYTHONPATH=. python benchmarks/bench_screening_classifier.py [--max-fp 0.03]

Prints a table and writes ``benchmarks/results/bench_screening_classifier.json``.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")
ROOT = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("SKILLRL_SHARED_DATA", ROOT.parent / "shared" / "data"))
OUT = ROOT / "benchmarks" / "results" / "bench_screening_classifier.json"
TRAIN_PARTS = ("tune", "report", "report2", "report3")


def _build():
    spec = importlib.util.spec_from_file_location("screening_build", ROOT / "benchmarks/data/screening/build.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _text(record: Any) -> str:
    from skillrl.screening import record_fields

    return "\n".join(t for _, t in record_fields(record) if t)


def _rate(k: int, n: int) -> str:
    return f"{k}/{n} ({100 * k / n:.1f}%)" if n else "-"


def main(argv: list[str] | None = None) -> dict[str, Any]:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--max-fp", type=float, default=0.03, help="out-of-fold decoy false-positive rate (default 0.03)")
    args = p.parse_args(argv)
    import numpy as np
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold

    from skillrl.embedders import default_embedder
    from skillrl.screening import screen

    build = _build()
    t0 = time.perf_counter()
    items = build.load(DATA) + build.load_report2(DATA) + build.load_report3(DATA) + build.load_report4(DATA)
    train = [i for i in items if i["split"] in TRAIN_PARTS]
    test = [i for i in items if i["split"] == "report4"]
    embed = default_embedder()
    x_train = np.asarray(embed.embed([_text(i["record"]) for i in train]))
    x_test = np.asarray(embed.embed([_text(i["record"]) for i in test]))
    y_train = np.array([i["label"] == "malicious" for i in train], dtype=int)
    decoy = np.array([i.get("kind") == "decoy" for i in train])

    # threshold from out-of-fold scores on the training data only
    oof = np.zeros(len(train))
    for fit_idx, held_idx in StratifiedKFold(5, shuffle=True, random_state=0).split(x_train, y_train):
        model = LogisticRegression(C=4.0, class_weight="balanced", max_iter=2000)
        model.fit(x_train[fit_idx], y_train[fit_idx])
        oof[held_idx] = model.predict_proba(x_train[held_idx])[:, 1]
    threshold = next(t for t in np.linspace(0.05, 0.99, 189) if (oof[decoy] >= t).mean() <= args.max_fp)
    model = LogisticRegression(C=4.0, class_weight="balanced", max_iter=2000).fit(x_train, y_train)
    prob = model.predict_proba(x_test)[:, 1]

    rows = []
    for item, pr in zip(test, prob):
        rows.append({"id": item["id"], "label": item["label"], "kind": item.get("kind"), "level": item.get("level"),
                     "rules": screen(item["record"]).flagged, "classifier": bool(pr >= threshold),
                     "probability": round(float(pr), 4)})
    result: dict[str, Any] = {"train_parts": TRAIN_PARTS, "train_size": len(train), "test": "report4",
                              "test_size": len(test), "threshold": round(float(threshold), 4),
                              "oof_decoy_fp": round(float((oof[decoy] >= threshold).mean()), 4),
                              "oof_malicious_caught": round(float((oof[y_train == 1] >= threshold).mean()), 4),
                              "methods": {}}
    methods = {"rules": lambda r: r["rules"], "classifier": lambda r: r["classifier"],
               "rules or classifier": lambda r: r["rules"] or r["classifier"]}
    mal = [r for r in rows if r["label"] == "malicious"]
    ben = [r for r in rows if r["label"] == "benign"]
    print(f"trained on {len(train)} records of {', '.join(TRAIN_PARTS)} (threshold {threshold:.3f}: out-of-fold "
          f"decoy FP {result['oof_decoy_fp']:.1%}, malicious caught {result['oof_malicious_caught']:.1%}); "
          f"scored on report4 ({len(mal)} malicious, {len(ben)} benign)\n")
    print(f"{'report4':28s}" + "".join(f"{m:>24s}" for m in methods))
    lines = [("malicious caught", mal), ("  subtle", [r for r in mal if r["level"] == "subtle"]),
             ("  blatant", [r for r in mal if r["level"] == "blatant"])]
    kinds = sorted({r["kind"] for r in mal})
    lines += [(f"  {k}", [r for r in mal if r["kind"] == k]) for k in kinds]
    lines += [("benign flagged (decoys)", ben)]
    for label, sel in lines:
        print(f"{label:28s}" + "".join(f"{_rate(sum(fn(r) for r in sel), len(sel)):>24s}" for fn in methods.values()))
    for name, fn in methods.items():
        result["methods"][name] = {label.strip(): {"k": sum(fn(r) for r in sel), "n": len(sel)}
                                   for label, sel in lines}
    result["rows"] = rows
    result["seconds"] = round(time.perf_counter() - t0, 1)
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(result, indent=2) + "\n")
    print(f"\nwrote {OUT} in {result['seconds']} s")
    return result


if __name__ == "__main__":
    sys.exit(0 if main() else 1)
