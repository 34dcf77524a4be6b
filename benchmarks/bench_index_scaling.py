"""Index scaling: exact (IndexFlatIP) vs approximate (HNSW, inner product) search over 1k-100k skills.

Data: ``n`` unit vectors of dimension 384 (MiniLM's) with a fixed seed, in two flavours:

* ``uniform``: i.i.d. Gaussian vectors, normalized (isotropic: the worst case for any approximate
  index, because in 384 dimensions every point is nearly equidistant from a query);
* ``clustered``: ``n / 50`` random unit centres, each point a centre plus Gaussian noise scaled so that
  cos(point, centre) is about 0.8, normalized (text embeddings have this kind of low-dimensional
  structure). Queries are drawn the same way (new noise around random centres).

For each flavour and size: single-query latency (one ``VectorIndex.search(q, 6)`` call, as the retriever
issues it, Python overhead included) p50/p99 over ``--queries`` queries, with FAISS's OpenMP thread count
at 1 and at 2; recall@6 of HNSW against the exact index (the baseline of the same run); build times.
Speed ratios compare each HNSW p50 with the exact index's p50 at its best thread count.
HNSW is swept over ``M`` and ``efSearch``. The indexes are built with ``search_threads=None`` so that the
thread column is the thread count really used (the library default, ``search_threads=1``, runs single
queries on one thread, i.e. the ``thr=1`` rows).

Target (issue): at 100k, p50 < 2 ms and recall@6 >= 0.95.

Run: ``python benchmarks/bench_index_scaling.py`` (several minutes on 2 cores: HNSW construction at 100k
dominates); ``--sizes 1000,10000`` for a quick run. Writes ``benchmarks/results/bench_index_scaling.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import numpy as np

from skillrl.retrieval import VectorIndex, import_faiss, set_faiss_threads

OUT = REPO / "benchmarks" / "results" / "bench_index_scaling.json"
K = 6


def unit(x: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(x / np.linalg.norm(x, axis=1, keepdims=True), dtype=np.float32)


def make_data(kind: str, n: int, n_queries: int, dim: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    if kind == "uniform":
        return (unit(rng.standard_normal((n, dim), dtype=np.float32)),
                unit(rng.standard_normal((n_queries, dim), dtype=np.float32)))
    centres = unit(rng.standard_normal((max(1, n // 50), dim), dtype=np.float32))
    sigma = np.sqrt((1 / 0.8**2 - 1) / dim)
    base = unit(centres[rng.integers(0, len(centres), n)] + sigma * rng.standard_normal((n, dim), dtype=np.float32))
    qs = unit(centres[rng.integers(0, len(centres), n_queries)]
              + sigma * rng.standard_normal((n_queries, dim), dtype=np.float32))
    return base, qs


def latency(index: VectorIndex, queries: np.ndarray, threads: int) -> dict[str, float]:
    set_faiss_threads(threads)
    for q in queries[:20]:  # warm-up
        index.search(q[None, :], K)
    ts = np.empty(len(queries))
    for i, q in enumerate(queries):
        q1 = q[None, :]
        t = time.perf_counter()
        index.search(q1, K)
        ts[i] = time.perf_counter() - t
    return {"p50_ms": float(np.median(ts) * 1e3), "p99_ms": float(np.quantile(ts, 0.99) * 1e3)}


def recall(approx: np.ndarray, exact: np.ndarray) -> float:
    return float(np.mean([len(set(a) & set(e)) / K for a, e in zip(approx, exact)]))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sizes", default="1000,10000,100000")
    ap.add_argument("--datasets", default="clustered,uniform")
    ap.add_argument("--dim", type=int, default=384)
    ap.add_argument("--queries", type=int, default=500)
    ap.add_argument("--m", default="16,32", help="HNSW M values")
    ap.add_argument("--ef-search", default="32,64,128,256")
    ap.add_argument("--ef-construction", type=int, default=64)
    ap.add_argument("--threads", default="1,2", help="FAISS OpenMP threads for the latency runs")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    ms = [int(s) for s in args.m.split(",")]
    efs = [int(s) for s in args.ef_search.split(",")]
    threads = [int(s) for s in args.threads.split(",")]
    faiss = import_faiss()
    default_threads = faiss.omp_get_max_threads()
    load_start = os.getloadavg()[0]

    rows: list[dict] = []
    print(f"{'data':<10}{'n':>7} {'index':<22}{'thr':>4}{'p50 ms':>9}{'p99 ms':>9}{'recall@6':>10}"
          f"{'build s':>9}{'x vs exact':>12}")

    def show(r: dict) -> None:
        ratio = r.get("speedup_p50_vs_exact")
        print(f"{r['data']:<10}{r['n']:>7} {r['index']:<22}{r['threads']:>4}{r['p50_ms']:>9.3f}{r['p99_ms']:>9.3f}"
              f"{r['recall_at_6']:>10.3f}{r['build_s']:>9.1f}{(f'{ratio:.1f}x' if ratio else '-'):>12}", flush=True)

    for data in args.datasets.split(","):
        for n in sizes:
            base, qs = make_data(data, n, args.queries, args.dim, args.seed)
            ids = np.arange(n, dtype=np.int64)
            set_faiss_threads(default_threads)
            t = time.perf_counter()
            flat = VectorIndex(args.dim, "flat", search_threads=None)
            flat.add(ids, base)
            flat_build = time.perf_counter() - t
            _, exact = flat.search(qs, K)
            exact_p50 = {}
            for th in threads:
                lat = latency(flat, qs, th)
                exact_p50[th] = lat["p50_ms"]
                r = {"data": data, "n": n, "index": "flat (exact)", "threads": th, **lat, "recall_at_6": 1.0,
                     "build_s": flat_build}
                rows.append(r)
                show(r)
            del flat
            best_exact = min(exact_p50.values())  # ratios are against the exact index at its best thread count
            for m in ms:
                set_faiss_threads(default_threads)
                t = time.perf_counter()
                hnsw = VectorIndex(args.dim, "hnsw", hnsw_m=m, ef_construction=args.ef_construction,
                                   search_threads=None)
                hnsw.add(ids, base)
                build = time.perf_counter() - t
                for ef in efs:
                    hnsw.ef_search = ef
                    set_faiss_threads(default_threads)
                    _, approx = hnsw.search(qs, K)
                    rec = recall(approx, exact)
                    for th in threads:
                        lat = latency(hnsw, qs, th)
                        r = {"data": data, "n": n, "index": f"hnsw M={m} ef={ef}", "m": m, "ef_search": ef,
                             "threads": th, **lat, "recall_at_6": rec, "build_s": build,
                             "speedup_p50_vs_exact": best_exact / lat["p50_ms"]}
                        rows.append(r)
                        show(r)
                del hnsw
    set_faiss_threads(default_threads)

    # the target at the largest size: the fastest HNSW setting with recall >= 0.95, per flavour
    summary = {}
    top = max(sizes)
    for data in args.datasets.split(","):
        ok = [r for r in rows if r["data"] == data and r["n"] == top and r["index"].startswith("hnsw")
              and r["recall_at_6"] >= 0.95]
        best = min(ok, key=lambda r: r["p50_ms"]) if ok else None
        best_recall = max((r for r in rows if r["data"] == data and r["n"] == top and r["index"].startswith("hnsw")),
                          key=lambda r: r["recall_at_6"], default=None)
        summary[data] = {
            "n": top,
            "fastest_with_recall_ge_0.95": best,
            "best_recall": best_recall and {k: best_recall[k] for k in ("index", "threads", "recall_at_6", "p50_ms")},
            "target_met": bool(best and best["p50_ms"] < 2.0),
        }
        print(f"\n{data} @ {top}: " + (
            f"fastest HNSW with recall@6 >= 0.95: {best['index']} threads={best['threads']}: p50 "
            f"{best['p50_ms']:.3f} ms, p99 {best['p99_ms']:.3f} ms, recall {best['recall_at_6']:.3f}, "
            f"{best['speedup_p50_vs_exact']:.1f}x faster than exact; target met: {summary[data]['target_met']}"
            if best else f"no HNSW setting reached recall@6 >= 0.95 (best: {summary[data]['best_recall']})"))

    out = {
        "benchmark": "bench_index_scaling",
        "config": {"sizes": sizes, "dim": args.dim, "queries": args.queries, "k": K, "m": ms, "ef_search": efs,
                   "ef_construction": args.ef_construction, "threads": threads, "seed": args.seed},
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count(), "faiss": faiss.__version__,
                    "faiss_default_threads": default_threads, "load_avg_1m_at_start": load_start,
                    "load_avg_1m_at_end": os.getloadavg()[0]},
        "rows": rows,
        "summary_at_largest_size": summary,
    }
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(out, indent=2) + "\n")
    print(f"wrote {OUT.relative_to(REPO)}")


if __name__ == "__main__":
    main()
