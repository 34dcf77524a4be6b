"""Does training wait on the teacher? ``SkillRuntime.augment`` latency while an evolution step asks a slow teacher.

Setup (all real except the teacher model): the official SkillRL ALFWorld bank, the ALFWorld detection profile, the
packaged MiniLM + FAISS in embedding mode, the real ``OpenAITeacher`` talking to a local OpenAI-compatible HTTP
server (tests/httpserver.py) that answers every chat request after ``--teacher-seconds`` (default 5 s) with a valid
proposal (one new skill, one refinement, one mistake). Validation failures are real ALFWorld expert demonstrations
(heat tasks) cut before their ``put`` action; the other categories succeed, so one category evolves: one teacher
call.

Per mode (template, embedding) and cache state, ``--threads`` threads (default 8) call ``augment`` on one prompt each
time (the OpenRLHF ``reset()`` shape), each pausing ``--think-ms`` (default 1 ms: a rollout does other work between
resets; 0 = back to back, where 8 spinning threads also starve the evolution thread of the GIL) between calls:

* ``warm``: tasks drawn from the 140 real valid_seen goals, all retrieved once before timing (rollouts repeat
  their tasks: GRPO groups, epochs);
* ``cold``: every call a task not seen before (distinct goals of the expert demonstrations).

Figures: p50 / p99 / max latency and calls, (a) without evolution, calls started in ``--teacher-seconds``; (b) calls
that overlap the teacher call (running at some moment between the server receiving the request and it answering),
and how many calls both started and completed inside it; (c) every call started during the whole evolution step
(``after_validation``: snapshot, teacher, filing, commit, and the first retrievals of the new version).

Second table: a hanging endpoint (the server never answers during the step), three low categories, teacher
``timeout=2 s, max_retries=1``, ``EvolutionConfig(max_seconds=3)`` where the code has it: wall time of the step and
whether the bank is unchanged; and (when ``max_seconds`` exists) the same at the teacher's defaults (60 s x 4
attempts) with ``max_seconds=10``.

Runs against whichever ``skillrl`` is importable, so the same script measures before and after::

    git archive b9b6cde | tar -x -C /tmp/skillrl-b9b6cde        # main before the change
    PYTHONPATH=/tmp/skillrl-b9b6cde python benchmarks/bench_runtime_under_evolution.py --label before
    PYTHONPATH=$PWD python benchmarks/bench_runtime_under_evolution.py --label after

Prints a table and writes (merges by label into) benchmarks/results/bench_runtime_under_evolution.json.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import threading
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("SKILLRL_SHARED_DATA", ROOT.parent / "shared" / "data"))
BANK = SHARED / "skillrl-official/memory_data/alfworld/claude_style_skills.json"
DEMOS = SHARED / "alfworld" / "expert_demos_train.jsonl"
sys.path.insert(0, str(ROOT / "tests"))


def pct(xs: list[float], q: float) -> float | None:
    if not xs:
        return None
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(q * (len(xs) - 1))))]


def summary(lat: list[float]) -> dict:
    ms = [x * 1000 for x in lat]
    return {"calls": len(ms), "p50_ms": _r(pct(ms, 0.5)), "p99_ms": _r(pct(ms, 0.99)),
            "max_ms": _r(max(ms) if ms else None), "mean_ms": _r(statistics.fmean(ms) if ms else None)}


def _r(x: float | None) -> float | None:
    return None if x is None else round(x, 2)


def proposal_reply(delay: float):
    from httpserver import chat_reply

    def answer(req):
        user = req.json["messages"][-1]["content"]
        cat = user.split("Task category: ", 1)[1].split("\n", 1)[0]
        body = {"skills": [
            {"title": f"Check the {cat} appliance first", "principle": f"Before searching in a {cat} task, look at "
             "the appliance you will need and open it if it is closed.", "tier": "task_specific"},
            {"action": "refine", "skill_id": "hea_003", "title": "Heat without opening",
             "principle": "Go to the microwave holding the object and run the heat command; opening it is not "
             "needed.", "tier": "task_specific"}],
            "mistakes": [{"description": f"Placing the object before it is processed ({cat})",
                          "why_it_happens": "the agent skips a step", "how_to_avoid": "Process the object first."}]}
        return chat_reply(json.dumps(body), delay=delay, prompt_tokens=1000, completion_tokens=200)

    return answer


def validation_episodes(bank, demos, spec: dict[str, tuple[int, int]]):
    """Per task type ``(successes, failures)``: real demos; failures cut before their first ``put`` action."""
    from skillrl.profiles import get_profile

    alf = get_profile("alfworld")
    out = []
    for tt, (ok, bad) in spec.items():
        eps = [e for e in demos if e.category == tt]
        for i, e in enumerate(eps[:ok]):
            out.append(e.model_copy(update={"episode_id": f"ok-{tt}-{i}", "split": "validation",
                                            "category": alf.to_bank_category(tt, bank)}))
        for i, e in enumerate(eps[50:50 + bad]):
            cut = next(j for j, a in enumerate(e.actions) if a.startswith("put "))
            out.append(e.model_copy(update={"episode_id": f"bad-{tt}-{i}", "steps": e.steps[:cut], "success": False,
                                            "reward": 0.0, "split": "validation",
                                            "category": alf.to_bank_category(tt, bank)}))
    return out


def evolution_config(**fields):
    from skillrl.evolve import EvolutionConfig

    known = {k: v for k, v in fields.items() if k in EvolutionConfig.model_fields}
    return EvolutionConfig(**known)


class Load:
    """``threads`` threads calling ``rt.augment`` back to back; each call's (start, seconds)."""

    def __init__(self, rt, tasks_for, threads: int, think: float = 0.0):
        self.rt, self.tasks_for, self.threads, self.think = rt, tasks_for, threads, think
        self.calls: list[tuple[float, float]] = []
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._workers = [threading.Thread(target=self._run, args=(k,), daemon=True) for k in range(threads)]

    def _run(self, k: int) -> None:
        tasks = self.tasks_for(k)
        i = 0
        while not self._stop.is_set():
            task = tasks[i % len(tasks)]
            i += 1
            t0 = time.perf_counter()
            self.rt.augment([[{"role": "user", "content": f"You are in a room.\n\nYour task is to: {task}"}]])
            dt = time.perf_counter() - t0
            with self._lock:
                self.calls.append((t0, dt))
            if self.think:
                time.sleep(self.think)

    def __enter__(self):
        for w in self._workers:
            w.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        for w in self._workers:
            w.join(120)

    def started_in(self, a: float, b: float) -> list[float]:
        with self._lock:
            return [dt for t0, dt in self.calls if a <= t0 <= b]

    def overlapping(self, a: float, b: float) -> list[float]:
        with self._lock:
            return [dt for t0, dt in self.calls if t0 < b and t0 + dt > a]

    def inside(self, a: float, b: float) -> int:
        with self._lock:
            return sum(1 for t0, dt in self.calls if a <= t0 and t0 + dt <= b)


def augment_under_evolution(mode: str, cache: str, args, bank_path, demos, goals, embedder) -> dict:
    from httpserver import OpenAICompatServer

    from skillrl.bank import SkillBank
    from skillrl.runtime import SkillRuntime
    from skillrl.teachers import OpenAITeacher

    seen: list[float] = []

    def timed(req):
        seen.append(time.perf_counter())
        return proposal_reply(args.teacher_seconds)(req)

    bank = SkillBank.load(bank_path)
    rt = SkillRuntime(bank, mode=mode, profile="alfworld", embedder=embedder, load_entry_points=False,
                      evolution=evolution_config(max_new_skills=3))
    state = {"phase": 0}  # cold: the evolution run gets other never-seen tasks than the baseline run
    if cache == "warm":
        rt.augment([[{"role": "user", "content": f"You are in a room.\n\nYour task is to: {g}"}] for g in goals])

        def tasks_for(k: int) -> list[str]:
            return random.Random(k).sample(goals, len(goals))
    else:
        fresh = sorted({e.task for e in demos})
        random.Random(0).shuffle(fresh)
        share = len(fresh) // (2 * args.threads)
        rt.augment([[{"role": "user", "content": "Your task is to: warm up the model."}]])

        def tasks_for(k: int) -> list[str]:
            base = (state["phase"] * args.threads + k) * share
            return fresh[base:base + share]
    out: dict = {"mode": mode, "cache": cache}
    with Load(rt, tasks_for, args.threads, args.think_ms / 1000) as load:
        t0 = time.perf_counter()
        time.sleep(args.teacher_seconds)
        t1 = time.perf_counter()
    out["no_evolution"] = summary(load.started_in(t0, t1))
    state["phase"] = 1
    with OpenAICompatServer(default=timed) as srv:
        rt.teacher = OpenAITeacher("bench-teacher", base_url=srv.url, api_key="x", max_retries=0)
        rt.record(validation_episodes(bank, demos, {"pick_heat_then_place_in_recep": (1, 4),
                                                    "pick_cool_then_place_in_recep": (3, 0)}), split="validation")
        v0 = bank.version
        with Load(rt, tasks_for, args.threads, args.think_ms / 1000) as load:
            time.sleep(0.5)
            s0 = time.perf_counter()
            report = rt.after_validation(step=1)
            s1 = time.perf_counter()
            time.sleep(0.2)
        req_at = seen[0] if seen else s0
        answer_at = req_at + args.teacher_seconds
    out["during_teacher_call"] = summary(load.overlapping(req_at, answer_at))
    out["during_teacher_call"]["completed_inside"] = load.inside(req_at, answer_at)
    out["whole_step"] = summary(load.started_in(s0, s1))
    out["step_seconds"] = round(s1 - s0, 2)
    out["bank_versions"] = [v0, bank.version]
    out["evolution"] = {"changed": report.changed, "error": report.error, "added": report.added,
                        "refined": report.refined}
    return out


def hanging_endpoint(args, bank_path, demos, embedder, *, timeout: float, retries: int, budget: float) -> dict:
    from httpserver import OpenAICompatServer, chat_reply

    from skillrl.bank import SkillBank
    from skillrl.runtime import SkillRuntime
    from skillrl.teachers import OpenAITeacher

    gate = threading.Event()

    def hang(req):
        gate.wait(900)
        return chat_reply("{}")

    bank = SkillBank.load(bank_path)
    cfg = evolution_config(max_seconds=budget)
    rt = SkillRuntime(bank, mode="template", profile="alfworld", embedder=embedder, load_entry_points=False,
                      evolution=cfg)
    rt.record(validation_episodes(bank, demos, {"pick_heat_then_place_in_recep": (0, 3),
                                                "pick_cool_then_place_in_recep": (0, 3),
                                                "pick_clean_then_place_in_recep": (1, 3)}), split="validation")
    before = bank.to_native()
    with OpenAICompatServer(default=hang) as srv:
        rt.teacher = OpenAITeacher("bench-teacher", base_url=srv.url, api_key="x", timeout=timeout,
                                   max_retries=retries)
        t0 = time.perf_counter()
        report = rt.after_validation(step=1)
        seconds = time.perf_counter() - t0
        requests = len(srv.requests)
        gate.set()
    return {"teacher_timeout_s": timeout, "max_retries": retries,
            "max_seconds": budget if "max_seconds" in type(cfg).model_fields else None,
            "categories": report.low_categories, "step_seconds": round(seconds, 2), "requests": requests,
            "bank_unchanged": bank.to_native() == before, "timed_out": getattr(report, "timed_out", None),
            "errors": report.errors}


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--label", default="after", help="key of this run in the JSON (before / after)")
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--teacher-seconds", type=float, default=5.0)
    parser.add_argument("--think-ms", type=float, default=1.0, help="pause of each thread between its calls")
    parser.add_argument("--modes", default="template,embedding")
    parser.add_argument("--skip-hang", action="store_true")
    args = parser.parse_args()
    if not BANK.exists() or not DEMOS.exists():
        print(f"skip: {BANK} or {DEMOS} not found")
        return 0
    import skillrl
    from skillrl.embedders import default_embedder
    from skillrl.envs.alfworld import list_games
    from skillrl.episode import load_episodes

    print(f"skillrl from {Path(skillrl.__file__).parent}", flush=True)
    embedder = default_embedder()
    embedder.embed(["load the model"])
    demos = load_episodes(DEMOS, progress=False)
    goals = [g.goal for g in list_games("valid_seen", data_dir=SHARED / "alfworld")]
    rows = []
    for mode in args.modes.split(","):
        for cache in ("warm", "cold"):
            row = augment_under_evolution(mode, cache, args, BANK, demos, goals, embedder)
            rows.append(row)
            print(f"  {mode}/{cache}: {json.dumps(row)}", flush=True)
    hang = []
    if not args.skip_hang:
        hang.append(hanging_endpoint(args, BANK, demos, embedder, timeout=2.0, retries=1, budget=3.0))
        print(f"  hang: {json.dumps(hang[-1])}", flush=True)
        from skillrl.evolve import EvolutionConfig

        if "max_seconds" in EvolutionConfig.model_fields:  # at the teacher's defaults only when bounded
            hang.append(hanging_endpoint(args, BANK, demos, embedder, timeout=60.0, retries=3, budget=10.0))
            print(f"  hang: {json.dumps(hang[-1])}", flush=True)

    print(f"\n[{args.label}] augment latency, {args.threads} threads ({args.think_ms:g} ms between calls), teacher "
          f"answering after {args.teacher_seconds:g} s; load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    head = f"{'mode':<10} {'cache':<5} {'window':<20} {'calls':>6} {'p50 ms':>9} {'p99 ms':>9} {'max ms':>9}"
    print(head)
    for r in rows:
        for window in ("no_evolution", "during_teacher_call", "whole_step"):
            s = r[window]
            cells = [f"{s[k]:>9.1f}" if s[k] is not None else f"{'-':>9}" for k in ("p50_ms", "p99_ms", "max_ms")]
            print(f"{r['mode']:<10} {r['cache']:<5} {window:<20} {s['calls']:>6} {' '.join(cells)}")
    for r in rows:
        print(f"{r['mode']}/{r['cache']}: {r['during_teacher_call']['completed_inside']} calls started and completed "
              f"while the teacher call was in flight; step {r['step_seconds']} s; bank v{r['bank_versions'][0]} -> "
              f"v{r['bank_versions'][1]}")
    if hang:
        print(f"\n{'teacher timeout x attempts':<28} {'max_seconds':>11} {'step s':>8} {'requests':>9} "
              f"{'bank unchanged':>15}  timed out")
        for h in hang:
            print(f"{h['teacher_timeout_s']:g} s x {h['max_retries'] + 1:<21} {str(h['max_seconds']):>11} "
                  f"{h['step_seconds']:>8.2f} {h['requests']:>9} {str(h['bank_unchanged']):>15}  {h['timed_out']}")
    res = ROOT / "benchmarks" / "results" / "bench_runtime_under_evolution.json"
    res.parent.mkdir(parents=True, exist_ok=True)
    doc = json.loads(res.read_text()) if res.exists() else {"benchmark": "bench_runtime_under_evolution"}
    doc[args.label] = {"skillrl": str(Path(skillrl.__file__).parent), "threads": args.threads,
                       "think_ms": args.think_ms,
                       "teacher_seconds": args.teacher_seconds, "load_avg_1m": round(os.getloadavg()[0], 2),
                       "augment": rows, "hanging_endpoint": hang}
    res.write_text(json.dumps(doc, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
