"""Time per GRPO step with and without SkillCallback (TRL GRPOTrainer, tiny CPU policy, same seeds).

Skills make prompts longer, and a longer prompt costs the policy more whatever injects it. So the callback's
own overhead is measured against a baseline that trains on the *same* augmented prompts written into the
dataset beforehand (no callback): the ratio ``callback / same prompts`` is the cost of retrieval, rendering,
reward-prompt restoration and episode bookkeeping. The ratio against plain prompts (no skills at all) is
reported too; it is dominated by context length, not by skillrl.

Runs are interleaved (A B C A B C ...) so load drift on a shared machine hits every configuration alike.
Per configuration: ``--steps`` measured steps after one warm-up step, ``--repeats`` runs; the median step time.

    python benchmarks/bench_callback_overhead.py [--steps 4] [--repeats 2]

Prints a table and writes benchmarks/results/bench_callback_overhead.json.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("SKILLRL_SHARED_DATA", ROOT.parent / "shared" / "data"))
BANK = SHARED / "skillrl-official/memory_data/alfworld/claude_style_skills.json"


def step_times(model, rows, callback_factory, steps, workdir, seed=0):
    from datasets import Dataset
    from transformers import TrainerCallback
    from trl import GRPOConfig, GRPOTrainer

    times: list[float] = []

    class Clock(TrainerCallback):
        def on_step_begin(self, args, state, control, **kw):
            self.t = time.perf_counter()

        def on_step_end(self, args, state, control, **kw):
            times.append(time.perf_counter() - self.t)

    def reward(completions, **kw):
        return [float(len(c[-1]["content"]) % 2) for c in completions]

    config = GRPOConfig(output_dir=str(workdir), max_steps=steps + 1, per_device_train_batch_size=8,
                        num_generations=4, max_completion_length=16, logging_steps=100, report_to="none",
                        use_cpu=True, bf16=False, seed=seed, save_strategy="no", eval_strategy="no",
                        disable_tqdm=True)
    trainer = GRPOTrainer(model=model, reward_funcs=reward, args=config, train_dataset=Dataset.from_list(rows))
    trainer.add_callback(Clock())
    if callback_factory is not None:
        trainer.add_callback(callback_factory(trainer))
    trainer.train()
    return times[1:]  # drop the warm-up step


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--steps", type=int, default=4)
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()
    if not BANK.exists():
        print(f"skip: {BANK} not found")
        return 0
    from skillrl.adapters.trl import SkillCallback
    from skillrl.bank import SkillBank
    from skillrl.envs.alfworld import list_games
    from skillrl.runtime import SkillRuntime
    from skillrl.testing import build_tiny_causal_lm

    work = Path(tempfile.mkdtemp(prefix="skillrl-bench-"))
    model = str(build_tiny_causal_lm(work / "policy"))
    goals = [g.goal for g in list_games("train", data_dir=SHARED / "alfworld")][:64]
    plain = [{"prompt": [{"role": "user", "content": f"Your task is to: {g}"}], "task": g} for g in goals]

    runtimes = {}
    for mode in ("template", "embedding"):
        rt = SkillRuntime(SkillBank.load(BANK), mode=mode, profile="alfworld", load_entry_points=False)
        rt.skills_for("warm up the embedding model")  # loads MiniLM before timing
        runtimes[mode] = rt

    def pre_augmented(mode):
        rt = SkillRuntime(SkillBank.load(BANK), mode=mode, profile="alfworld", load_entry_points=False,
                          embedder=runtimes["embedding"].retriever.embedder if mode == "embedding" else None)
        augs = rt.augment([r["prompt"] for r in plain], rows=plain)
        return [{**r, "prompt": a.prompt} for r, a in zip(plain, augs)]

    def fresh_callback(mode):
        def make(trainer):
            rt = SkillRuntime(SkillBank.load(BANK), mode=mode, profile="alfworld", load_entry_points=False,
                              embedder=runtimes["embedding"].retriever.embedder.inner if mode == "embedding" else None)
            if mode == "embedding":
                rt.retriever.refresh()  # index the bank (one-time cost, paid at construction in real use)
            return SkillCallback(trainer, runtime=rt)
        return make

    configs = {
        "plain prompts (no skills)": (plain, None),
        "template: same prompts, no callback": (pre_augmented("template"), None),
        "template: SkillCallback": (plain, fresh_callback("template")),
        "embedding: same prompts, no callback": (pre_augmented("embedding"), None),
        "embedding: SkillCallback": (plain, fresh_callback("embedding")),
    }
    samples: dict[str, list[float]] = {k: [] for k in configs}
    for rep in range(args.repeats):
        for name, (rows, cb) in configs.items():
            samples[name] += step_times(model, rows, cb, args.steps, work / f"run-{rep}", seed=rep)
            print(f"  rep {rep}: {name}: median {statistics.median(samples[name]):.3f} s/step", flush=True)
    med = {k: statistics.median(v) for k, v in samples.items()}
    rows = []
    for mode in ("template", "embedding"):
        cb, same = med[f"{mode}: SkillCallback"], med[f"{mode}: same prompts, no callback"]
        rows.append({"mode": mode, "callback_s_per_step": round(cb, 4), "same_prompts_s_per_step": round(same, 4),
                     "plain_s_per_step": round(med["plain prompts (no skills)"], 4),
                     "ratio_vs_same_prompts": round(cb / same, 3),
                     "ratio_vs_plain": round(cb / med["plain prompts (no skills)"], 3)})
    print(f"\n{'mode':<10} {'callback s/step':>16} {'same prompts':>13} {'plain':>8} {'callback/same':>14} {'callback/plain':>15}")
    for r in rows:
        print(f"{r['mode']:<10} {r['callback_s_per_step']:>16.3f} {r['same_prompts_s_per_step']:>13.3f} "
              f"{r['plain_s_per_step']:>8.3f} {r['ratio_vs_same_prompts']:>14.3f} {r['ratio_vs_plain']:>15.3f}")
    out = {"benchmark": "bench_callback_overhead", "steps": args.steps, "repeats": args.repeats,
           "batch": "8 prompts x G=4", "load_avg_1m": os.getloadavg()[0], "rows": rows,
           "samples": {k: [round(x, 4) for x in v] for k, v in samples.items()}}
    res = ROOT / "benchmarks" / "results"
    res.mkdir(parents=True, exist_ok=True)
    (res / "bench_callback_overhead.json").write_text(json.dumps(out, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
