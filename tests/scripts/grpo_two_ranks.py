"""Run by tests/test_trl_multiprocess.py under `accelerate launch --num_processes 2 --cpu`.

Each rank trains the tiny policy with SkillCallback (offline teacher), evaluates once with failures, and
writes what bank it ended with to OUT/rank<k>.json.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")


def main(model: str, bank_path: str, out: str) -> None:
    from datasets import Dataset
    from trl import GRPOConfig, GRPOTrainer

    from skillrl.adapters.trl import SkillCallback

    goals = ["put a hot apple in fridge.", "clean some mug and put it in coffeemachine.",
             "look at bowl under the desklamp.", "cool some egg and put it in microwave."]
    ds = Dataset.from_list([{"prompt": [{"role": "user", "content": f"Your task is to: {g}"}], "task": g}
                            for g in goals])

    def reward(completions, task, **kwargs):
        return [0.0 if ("hot" in t or "cool" in t) else 1.0 for t in task]

    config = GRPOConfig(output_dir=str(Path(out) / "trainer"), max_steps=2, per_device_train_batch_size=2,
                        per_device_eval_batch_size=2, num_generations=2, max_completion_length=8, logging_steps=1,
                        report_to="none", use_cpu=True, bf16=False, seed=0, eval_strategy="steps", eval_steps=2,
                        save_strategy="no")
    trainer = GRPOTrainer(model=model, reward_funcs=reward, args=config, train_dataset=ds, eval_dataset=ds)
    cb = SkillCallback(trainer, bank=bank_path, mode="template", profile="alfworld", teacher="offline")
    trainer.add_callback(cb)
    trainer.train()
    rank = trainer.accelerator.process_index
    doc = json.dumps(cb.runtime.bank.to_official(), sort_keys=True)
    Path(out, f"rank{rank}.json").write_text(json.dumps({
        "rank": rank, "world": trainer.accelerator.num_processes, "version": cb.runtime.bank.version,
        "sha256": hashlib.sha256(doc.encode()).hexdigest(), "size": len(cb.runtime.bank),
        "reports": len(cb.runtime.reports), "eval_episodes": sum(v["episodes"] for v in cb.runtime.validations),
    }))


if __name__ == "__main__":
    main(*sys.argv[1:4])
