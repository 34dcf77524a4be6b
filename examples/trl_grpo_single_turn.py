"""The shortest SkillRL integration: TRL GRPO on a single-turn dataset, plus one line for skills.

    python examples/trl_grpo_single_turn.py                       # tiny local policy, a few CPU steps
    python examples/trl_grpo_single_turn.py --model Qwen/Qwen2.5-0.5B-Instruct --max-steps 200

The dataset is the ALFWorld goals of the 140 valid_seen games (no environment: the reward function gives 1.0
when the first line of the completion is a plausible first action, a toy reward). What matters is the one
line marked below: everything else is an ordinary TRL script.
"""

from __future__ import annotations

import argparse
import os
import tempfile
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default=None, help="HF causal LM path or id (default: a tiny local policy)")
    parser.add_argument("--bank", default=str(SHARED / "skillrl-official/memory_data/alfworld/claude_style_skills.json"))
    parser.add_argument("--max-steps", type=int, default=4)
    parser.add_argument("--output-dir", default=None)
    args = parser.parse_args()

    from datasets import Dataset
    from trl import GRPOConfig, GRPOTrainer

    from skillrl.adapters.trl import SkillCallback
    from skillrl.envs.alfworld import list_games

    out = Path(args.output_dir or tempfile.mkdtemp(prefix="skillrl-single-"))
    model = args.model
    if model is None:
        from skillrl.testing import build_tiny_causal_lm

        print("!! No --model given: using a tiny random policy built locally. This run shows the loop, not learning.")
        model = str(build_tiny_causal_lm(out / "tiny-policy"))

    goals = [g.goal for g in list_games("valid_seen", data_dir=SHARED / "alfworld")]
    dataset = Dataset.from_list([{"prompt": [{"role": "user", "content": f"Your task is to: {g}\nFirst action:"}],
                                  "task": g} for g in goals])

    def first_action_reward(completions, skill_ids, **kwargs):  # TRL passes every dataset column + skill_ids
        verbs = ("go to", "take", "open", "put", "heat", "cool", "clean", "use", "examine")
        texts = [c[-1]["content"] if isinstance(c, list) else c for c in completions]
        return [1.0 if t.strip().lower().startswith(verbs) else 0.0 for t in texts]

    config = GRPOConfig(output_dir=str(out), max_steps=args.max_steps, per_device_train_batch_size=4,
                        num_generations=4, max_completion_length=16, logging_steps=1, report_to="none",
                        use_cpu=True, bf16=False, save_strategy="no", eval_strategy="no")
    trainer = GRPOTrainer(model=model, reward_funcs=first_action_reward, args=config, train_dataset=dataset)
    # ---- the one SkillRL line -------------------------------------------------------------------------------
    trainer.add_callback(SkillCallback(trainer, bank=args.bank, profile="alfworld", mode="template"))
    # ----------------------------------------------------------------------------------------------------------
    trainer.train()
    print(f"done: {trainer.state.global_step} steps; logs and checkpoints in {out}")


if __name__ == "__main__":
    main()
