"""The main job: multi-turn GRPO on real ALFWorld games with SkillCallback (SkillRL on TRL).

    # smoke run (CI): tiny local policy, a few steps, two evaluations, minutes on 2 CPU cores
    ALFWORLD_DATA=../shared/data/alfworld python examples/trl_grpo_alfworld.py --smoke --output-dir runs/alfworld

    # a real run (GPU): any HF causal LM with a tool-calling chat template (e.g. Qwen2.5-7B-Instruct)
    python examples/trl_grpo_alfworld.py --model Qwen/Qwen2.5-7B-Instruct --lora --use-vllm \\
        --teacher openai:o3 --max-steps 150 --eval-steps 10 --output-dir runs/alfworld-7b

How it is wired (everything here is ordinary TRL except the one ``add_callback`` line):

* one dataset row per game: a system instruction, a user turn, and ``task`` = the game's goal (read from the
  game files without starting it); TRL's ``environment_factory`` makes one :class:`ALFWorldTool` per rollout,
  ``reset(game=...)`` starts the real game and appends its first observation to the user turn; the policy acts
  through the ``step`` tool; the environment owns the reward (``get_reward`` = 1.0 when the game is won);
* ``SkillCallback`` retrieves skills for the goal and places them in the user turn before the observation, the
  same block for the G rollouts of a group; after each evaluation on valid_seen games the teacher evolves the
  bank from the failures (offline teacher by default; ``--teacher openai:MODEL`` for an LLM);
* the output directory gets ``banks/bank_v<N>.json`` for every bank version, ``run_summary.json`` and
  ``run_summary.png`` (reward and bank size over steps).

Without ``--model`` the policy is a tiny random Qwen2 built locally (``skillrl.testing``), warm-started for a few
seconds to emit tool calls: it shows the loop, NOT learning.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

from skillrl import hookimpl

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRL_EXPERIMENTAL_SILENCE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
os.environ.setdefault("ALFWORLD_DATA", str(SHARED / "alfworld"))

INSTRUCTION = ("You are an expert agent in a household (ALFWorld). Solve the task by calling the step tool with "
               "one admissible command at a time, until the task is done.")
USER_TURN = "Here is the game."


class ALFWorldTool:
    """One ALFWorld game per rollout, for TRL's ``environment_factory`` (public methods become tools)."""

    max_steps = 30

    def __init__(self) -> None:
        from skillrl.envs.alfworld import ALFWorldEnv

        self.env = ALFWorldEnv(max_steps=self.max_steps)

    def reset(self, game: str, **row) -> str:
        observation, _info = self.env.reset(game)
        return "\n\n" + observation

    def step(self, action: str) -> str:
        """Take one action in the ALFWorld game.

        Args:
            action: one admissible ALFWorld command, e.g. "go to desk 1" or "take mug 1 from desk 1".

        Returns:
            The observation after the action.
        """
        if self.env.done:
            raise ValueError("the episode is over")
        observation, _reward, _done, info = self.env.step(action)
        return observation + (" [task complete]" if info["won"] else "")

    def get_reward(self) -> float:
        return self.env.reward


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", default=None, help="HF causal LM path or id (default: tiny local policy, loop only)")
    p.add_argument("--lora", action="store_true", help="train a PEFT LoRA adapter (TRL's peft_config)")
    p.add_argument("--use-vllm", action="store_true", help="generate with vLLM (GPU only)")
    p.add_argument("--bank", default=str(SHARED / "skillrl-official/memory_data/alfworld/claude_style_skills.json"),
                   help="starting skill bank (official or native JSON); default: the official ALFWorld bank")
    p.add_argument("--mode", choices=["embedding", "template"], default="embedding")
    p.add_argument("--teacher", default="offline", help="offline | openai:MODEL | hf:PATH")
    p.add_argument("--max-skill-tokens", type=int, default=None, help="token budget of the skill block")
    p.add_argument("--train-games", type=int, default=30, help="training games per task type (max 30)")
    p.add_argument("--eval-games", type=int, default=None, help="valid_seen games per task type (default all)")
    p.add_argument("--num-generations", type=int, default=8, help="GRPO group size G")
    p.add_argument("--prompts-per-step", type=int, default=2, help="distinct games per step")
    p.add_argument("--max-steps", type=int, default=150)
    p.add_argument("--eval-steps", type=int, default=10)
    p.add_argument("--max-turns", type=int, default=30, help="tool calls per episode")
    p.add_argument("--max-completion-length", type=int, default=4096, help="tokens over all turns of an episode")
    p.add_argument("--learning-rate", type=float, default=1e-6)
    p.add_argument("--output-dir", default="runs/alfworld")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--report-to", default="none", help="wandb | tensorboard | none")
    p.add_argument("--smoke", action="store_true",
                   help="CI size: 1 game per type, G=2, 4 steps, evaluations at steps 2 and 4 on 6 games")
    args = p.parse_args(argv)
    if args.smoke:
        args.train_games, args.eval_games, args.num_generations, args.prompts_per_step = 1, 1, 2, 2
        args.max_steps, args.eval_steps, args.max_turns, args.max_completion_length = 4, 2, 4, 160
        args.learning_rate = 1e-4
        if args.max_skill_tokens is None and args.model is None:
            args.max_skill_tokens = 400  # keeps the tiny policy's CPU steps short
    return args


def pick_games(split: str, per_type: int | None):
    from skillrl.envs.alfworld import ALFWORLD_TASK_TYPES, list_games

    games = list_games(split)
    if per_type is None:
        return games
    return [g for t in ALFWORLD_TASK_TYPES for g in [x for x in games if x.task_type == t][:per_type]]


def rows(games) -> list[dict]:
    return [{"prompt": [{"role": "system", "content": INSTRUCTION}, {"role": "user", "content": USER_TURN}],
             "game": str(g.path), "task": g.goal, "task_type": g.task_type} for g in games]


def tiny_policy(out: Path, runtime, games) -> str:
    """Build the tiny policy and teach it, for a few seconds, to answer with a tool call (the expert's first
    action) on skill-augmented prompts: a miniature of SkillRL's cold-start SFT, enough for TRL's tool loop to
    run. It does not make the policy good at ALFWorld."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from skillrl.envs.alfworld import ALFWorldEnv
    from skillrl.testing import build_tiny_causal_lm

    print("!" * 100 + "\n!! No --model: a tiny random policy built locally. This run shows the SkillRL loop, NOT "
          "learning.\n" + "!" * 100, flush=True)
    base = build_tiny_causal_lm(out / "tiny-policy")
    torch.manual_seed(0)
    tok = AutoTokenizer.from_pretrained(base)
    model = AutoModelForCausalLM.from_pretrained(base)
    env, tool = ALFWorldEnv(), ALFWorldTool()
    samples = []
    for g, row, aug in zip(games, rows(games), runtime.augment([r["prompt"] for r in rows(games)], rows(games))):
        obs, _ = env.reset(g)
        first = json.loads((g.trial_dir / "gt_traj.json").read_text())[1]["value"]
        messages = [*aug.prompt[:-1], {**aug.prompt[-1], "content": aug.prompt[-1]["content"] + "\n\n" + obs}]
        p = tok.apply_chat_template(messages, tools=[tool.step], add_generation_prompt=True, tokenize=True,
                                    return_dict=True)["input_ids"]
        target = '<tool_call>\n{"name": "step", "arguments": {"action": "' + first + '"}}\n</tool_call><|im_end|>'
        samples.append((p, tok(target, add_special_tokens=False)["input_ids"]))
    env.close()
    opt = torch.optim.AdamW(model.parameters(), lr=3e-3)
    for s in range(200):
        p, c = samples[s % len(samples)]
        loss = model(input_ids=torch.tensor([p + c]), labels=torch.tensor([[-100] * len(p) + c])).loss
        loss.backward()
        opt.step()
        opt.zero_grad()
    warm = out / "tiny-policy-warm"
    model.save_pretrained(warm)
    tok.save_pretrained(warm)
    print(f"tiny policy warm-started (200 SFT steps, last loss {loss.item():.3f})", flush=True)
    return str(warm)


def write_summary(out: Path, trainer, callback, wall: float, args) -> dict:
    rt = callback.runtime
    logs = trainer.state.log_history
    episodes = callback.episode_log
    summary = {
        "model": args.model or "tiny local policy (loop only, not learning)",
        "steps": int(trainer.state.global_step), "wall_time_s": round(wall, 1),
        "settings": {k: getattr(args, k) for k in ("mode", "teacher", "num_generations", "prompts_per_step",
                                                   "max_turns", "train_games", "eval_games", "max_skill_tokens")},
        "evaluations": [{"step": v["step"], "episodes": v["episodes"], "success_rates": v["success_rates"],
                         "bank_version_before": v["bank_version"]} for v in rt.validations],
        "evolutions": [{"step": r.step, "low_categories": r.low_categories, "added": r.added, "refined": r.refined,
                        "mistakes_added": r.mistakes_added, "rejected": len(r.rejected), "error": r.error,
                        "bank_version_after": r.version_after, "bank_size_after": None} for r in rt.reports],
        "bank": {"initial_version": rt.bank.history[0].version - 1 if rt.bank.history else rt.bank.version,
                 "final_version": rt.bank.version, "final_size": len(rt.bank), "counts": rt.bank.counts()},
        "skills_injected_per_episode": [len(e["skill_ids"]) for e in episodes],
        "episodes": episodes,
        "reward_by_step": [{"step": e["step"], "reward": e["reward"]} for e in logs if "reward" in e],
        "bank_size_by_step": [{"step": e["step"], "size": e["skills/bank_size"]} for e in logs
                              if "skills/bank_size" in e],
    }
    for ev in summary["evolutions"]:
        ev["bank_size_after"] = len(rt.bank.at_version(ev["bank_version_after"]))
    (out / "run_summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        fig, ax = plt.subplots(figsize=(7, 3.5))
        r = summary["reward_by_step"]
        ax.plot([x["step"] for x in r], [x["reward"] for x in r], "o-", label="train reward (won)")
        ax.set_xlabel("step")
        ax.set_ylabel("reward")
        ax.set_ylim(-0.05, 1.05)
        ax2 = ax.twinx()
        b = summary["bank_size_by_step"]
        ax2.step([x["step"] for x in b], [x["size"] for x in b], "s--", color="tab:orange", where="post",
                 label="bank size")
        ax2.set_ylabel("skills in bank")
        fig.legend(loc="upper center", ncol=2, frameon=False)
        ax.set_title("SkillRL on ALFWorld: train reward and skill bank size", pad=22)
        fig.tight_layout()
        fig.savefig(out / "run_summary.png", dpi=100)
    except ImportError:
        print("matplotlib not installed: no plot (pip install -e '.[trl]')")
    return summary


class EpisodeLog:
    """Keeps, for the summary, every scored episode the callback records (via the episodes-recorded hook)."""

    def __init__(self) -> None:
        self.rows: list[dict] = []

    @hookimpl
    def skillrl_episodes_recorded(self, episodes, split):
        self.rows += [{"split": split, "step": e.metadata.get("step"), "task": e.task, "category": e.category,
                       "won": e.success, "skill_ids": e.skill_ids, "turns": len(e.steps),
                       "bank_version": e.metadata.get("bank_version")} for e in episodes]


def main(argv=None) -> int:
    args = parse_args(argv)
    t0 = time.time()
    out = Path(args.output_dir)
    out.mkdir(parents=True, exist_ok=True)
    if args.model is None:
        import torch

        torch.set_num_threads(1)  # the tiny policy's matmuls are too small for 2 threads to help

    from datasets import Dataset
    from trl import GRPOConfig, GRPOTrainer

    from skillrl.adapters.trl import SkillCallback
    from skillrl.runtime import SkillRuntime

    train_games, eval_games = pick_games("train", args.train_games), pick_games("valid_seen", args.eval_games)
    print(f"ALFWorld games: {len(train_games)} train, {len(eval_games)} valid_seen (from {os.environ['ALFWORLD_DATA']})")
    log = EpisodeLog()
    runtime = SkillRuntime(args.bank, mode=args.mode, profile="alfworld", teacher=args.teacher,
                           max_tokens=args.max_skill_tokens, output_dir=out, plugins=[log])
    model = args.model or tiny_policy(out, runtime, train_games)

    batch = args.prompts_per_step * args.num_generations
    config = GRPOConfig(
        output_dir=str(out / "trainer"), max_steps=args.max_steps, learning_rate=args.learning_rate,
        per_device_train_batch_size=batch, num_generations=args.num_generations,
        per_device_eval_batch_size=len(eval_games) if args.smoke else 8, num_generations_eval=1,
        max_completion_length=args.max_completion_length, max_tool_calling_iterations=args.max_turns,
        eval_strategy="steps", eval_steps=args.eval_steps, logging_steps=1, save_strategy="steps",
        save_steps=args.eval_steps, save_total_limit=2, report_to=args.report_to, seed=args.seed, temperature=1.0,
        use_cpu=args.model is None, bf16=args.model is not None, gradient_checkpointing=args.model is not None,
        use_vllm=args.use_vllm, vllm_mode="colocate" if args.use_vllm else "server",
    )
    peft_config = None
    if args.lora:
        from peft import LoraConfig

        peft_config = LoraConfig(r=16, lora_alpha=32, target_modules="all-linear", task_type="CAUSAL_LM")
    ALFWorldTool.max_steps = args.max_turns
    trainer = GRPOTrainer(model=model, args=config, train_dataset=Dataset.from_list(rows(train_games)),
                          eval_dataset=Dataset.from_list(rows(eval_games)), environment_factory=ALFWorldTool,
                          reward_funcs=[], peft_config=peft_config)
    # ---- SkillRL: the one added line --------------------------------------------------------------------------
    callback = SkillCallback(trainer, runtime=runtime)
    trainer.add_callback(callback)
    # ------------------------------------------------------------------------------------------------------------
    callback.episode_log = log.rows
    trainer.train()
    summary = write_summary(out, trainer, callback, time.time() - t0, args)
    injected = summary["skills_injected_per_episode"]
    print(f"\ndone in {summary['wall_time_s']:.0f} s: {summary['steps']} steps, {len(summary['evaluations'])} "
          f"evaluations, {len(injected)} episodes with {min(injected, default=0)}-{max(injected, default=0)} skills "
          f"each; bank v{summary['bank']['initial_version']} -> v{summary['bank']['final_version']} "
          f"({summary['bank']['final_size']} skills). Summary: {out / 'run_summary.json'}")
    for ev in summary["evaluations"]:
        rates = ", ".join(f"{c} {r:.2f}" for c, r in ev["success_rates"].items())
        print(f"  eval @ step {ev['step']}: {rates}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
