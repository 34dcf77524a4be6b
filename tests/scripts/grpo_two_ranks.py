"""Run by tests/test_trl_multiprocess.py under ``python -m torch.distributed.run --nproc_per_node 2``.

Modes:

* ``evolve``: each rank trains the tiny policy with SkillCallback (an HTTP teacher at ``$SKILLRL_TEST_TEACHER_URL``), evaluates once with failures,
  and writes what bank it ended with to OUT/rank<k>.json;
* ``split``: embedding mode with ``per_device_train_batch_size=3`` and ``num_generations=2``, so one GRPO group is
  split across the two ranks; every retrieval's exact scores and every prompt the policy saw are written down;
* ``raise``: as ``evolve``, with a plugin that raises when evolution changes the bank (on the main process, where
  evolution runs): every rank must keep the previous bank, and nobody may hang in the broadcast.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from skillrl import hookimpl  # noqa: E402


class ScoreLog:
    """Records every retrieval the runtime renders: the task, category and the exact float scores."""

    def __init__(self) -> None:
        self.rows: list[dict] = []

    @hookimpl
    def skillrl_render(self, retrieval):
        self.rows.append({"query": retrieval.query, "category": retrieval.category,
                          "scores": [[s.skill_id, float(s.score).hex()] for s in retrieval.general
                                     + retrieval.task_specific]})
        return None  # fall through to the default renderer


class FailingPlugin:
    @hookimpl
    def skillrl_bank_changed(self, bank, old_version, new_version):
        raise RuntimeError(f"plugin failure while the bank moved v{old_version} -> v{new_version}")


def main(model: str, bank_path: str, out: str, mode: str = "evolve") -> None:
    from datasets import Dataset
    from trl import GRPOConfig, GRPOTrainer

    from skillrl.adapters.trl import SkillCallback
    from skillrl.teachers import OpenAITeacher

    goals = ["put a hot apple in fridge.", "clean some mug and put it in coffeemachine.",
             "look at bowl under the desklamp.", "cool some egg and put it in microwave."]
    ds = Dataset.from_list([{"prompt": [{"role": "user", "content": f"Your task is to: {g}"}], "task": g}
                            for g in goals])

    def reward(completions, task, **kwargs):
        return [0.0 if ("hot" in t or "cool" in t) else 1.0 for t in task]

    per_device = 3 if mode == "split" else 2
    config = GRPOConfig(output_dir=str(Path(out) / "trainer"), max_steps=2, per_device_train_batch_size=per_device,
                        per_device_eval_batch_size=per_device, num_generations=2, max_completion_length=8,
                        logging_steps=1, report_to="none", use_cpu=True, bf16=False, seed=0,
                        eval_strategy="steps", eval_steps=2, save_strategy="no")
    trainer = GRPOTrainer(model=model, reward_funcs=reward, args=config, train_dataset=ds, eval_dataset=ds)
    scores = ScoreLog()
    plugins = [scores] + ([FailingPlugin()] if mode == "raise" else [])
    settings = {"mode": "embedding"} if mode == "split" else {"mode": "template"}
    # the teacher: a real OpenAI-compatible HTTP server the test runs on 127.0.0.1 (only the main process asks it)
    teacher = OpenAITeacher("test-model", base_url=os.environ["SKILLRL_TEST_TEACHER_URL"], api_key="x", timeout=30,
                            max_retries=0)
    cb = SkillCallback(trainer, bank=bank_path, profile="alfworld", teacher=teacher, plugins=plugins, **settings)
    trainer.add_callback(cb)
    seen: list = []
    generate = trainer._generate

    def spy(prompts):
        seen.extend(prompts)
        return generate(prompts)

    trainer._generate = spy
    trainer.train()
    rank = trainer.accelerator.process_index
    doc = json.dumps(cb.runtime.bank.to_official(), sort_keys=True)
    logged = {k for entry in trainer.state.log_history for k in entry}
    Path(out, f"rank{rank}.json").write_text(json.dumps({
        "rank": rank, "world": trainer.accelerator.num_processes, "version": cb.runtime.bank.version,
        "sha256": hashlib.sha256(doc.encode()).hexdigest(), "size": len(cb.runtime.bank),
        "reports": len(cb.runtime.reports), "eval_episodes": sum(v["episodes"] for v in cb.runtime.validations),
        "last_error": cb.last_error, "failed_logged": "eval_skills/evolution/failed" in logged,
        "prompts": [p[-1]["content"] for p in seen], "scores": scores.rows,
    }))


if __name__ == "__main__":
    main(*sys.argv[1:5])
