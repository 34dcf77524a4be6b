"""Cold-start SFT with skills (SkillRL's phase before GRPO), with TRL's SFTTrainer on real ALFWorld demonstrations.

    python examples/trl_sft_cold_start.py                                   # tiny local policy, 5 CPU steps
    python examples/trl_sft_cold_start.py --model /path/to/Qwen2.5-7B-Instruct --limit 0 --max-steps 500 \\
        --max-length 4096 --output-dir runs/sft
    python examples/trl_grpo_single_turn.py --model runs/sft                # then RL from the SFT checkpoint

Each training example's prompt carries the skills retrieved for its task exactly as ``SkillCallback`` injects them
in GRPO (same SkillRuntime settings, same initial prompt: :func:`skillrl.adapters.agent.initial_prompt`), so the policy is
fine-tuned on the context it will see in RL and at inference. The settings used are written next to the checkpoint
(``skillrl_sft.json``) together with the bank (``skill_bank.json``): pass them to SkillCallback / SkillAgentMemory.

Data: ``--demos`` (ALFWorld expert demonstrations, JSONL; ``--limit`` of them, 0 = all 3,554) and optionally
``--memories`` (official SkillRL memories; their successes). Granularity ``step`` (one example per action,
prompt-completion) or ``episode`` (one per demonstration, ``messages`` + assistant-only loss).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

SHARED = Path(os.environ.get("SKILLRL_SHARED_DATA") or Path(__file__).resolve().parents[2] / "shared" / "data")
DEFAULT_BANK = SHARED / "skillrl-official/memory_data/alfworld/claude_style_skills.json"
DEFAULT_DEMOS = SHARED / "alfworld/expert_demos_train.jsonl"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", default=None, help="local HF causal LM directory (default: a tiny local policy)")
    p.add_argument("--bank", default=str(DEFAULT_BANK), help="skill bank (official or native JSON)")
    p.add_argument("--demos", default=str(DEFAULT_DEMOS), help="ALFWorld expert demonstrations (JSONL)")
    p.add_argument("--memories", default=None, help="also official SkillRL memories (generated_memories_*.json)")
    p.add_argument("--limit", type=int, default=8, help="demonstrations to use (0 = all; default 8, a smoke run)")
    p.add_argument("--granularity", choices=["step", "episode"], default="step")
    p.add_argument("--mode", choices=["template", "embedding"], default="template", help="skill retrieval")
    p.add_argument("--profile", default="alfworld", help="category detection profile")
    p.add_argument("--style", choices=["official", "compact"], default="official", help="skill block style")
    p.add_argument("--placement", choices=["user_prefix", "user_suffix", "system"], default="user_prefix")
    p.add_argument("--skill-tokens", type=int, default=None, help="token budget of the skill block (default none)")
    p.add_argument("--no-skills", action="store_true", help="the same data without skills (baseline)")
    p.add_argument("--max-length", type=int, default=4096,
                   help="token budget per example (oldest history turns dropped first) and SFTConfig.max_length")
    p.add_argument("--max-history-turns", type=int, default=None, help="keep at most N past turns per step example")
    p.add_argument("--max-steps", type=int, default=5)
    p.add_argument("--batch-size", type=int, default=2)
    p.add_argument("--lr", type=float, default=1e-5)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--output-dir", default=None, help="where the final checkpoint goes (default: a temp dir)")
    return p.parse_args(argv)


def runtime_settings(args: argparse.Namespace) -> dict[str, Any]:
    """The SkillRuntime settings shared by this SFT run and the RL / inference runs that follow it."""
    return {"mode": args.mode, "profile": args.profile, "style": args.style, "placement": args.placement,
            "max_tokens": args.skill_tokens}


def load_episodes(args: argparse.Namespace) -> list:
    from skillrl.episode import load_alfworld_demos, load_official_memories

    episodes = load_alfworld_demos(args.demos, limit=args.limit or None, progress=False)
    if args.memories:
        episodes += load_official_memories(args.memories)
    return episodes


def build_dataset(args: argparse.Namespace, tokenizer: Any = None, episodes: list | None = None):
    """``(dataset, builder)``: the SFT dataset and the :class:`skillrl.sft.SFTDataBuilder` that made it."""
    from skillrl.sft import SFTDataBuilder

    settings = runtime_settings(args)
    builder = SFTDataBuilder(bank=args.bank, granularity=args.granularity, tokenizer=tokenizer,
                             max_tokens=args.max_length, max_history_turns=args.max_history_turns,
                             with_skills=not args.no_skills, skill_max_tokens=settings.pop("max_tokens"), **settings)
    return builder.dataset(load_episodes(args) if episodes is None else episodes), builder


def main(argv: list[str] | None = None) -> dict[str, Any]:
    args = parse_args(argv)
    t0 = time.perf_counter()
    from transformers import AutoTokenizer
    from trl import SFTConfig, SFTTrainer

    out = Path(args.output_dir or tempfile.mkdtemp(prefix="skillrl-sft-"))
    model = args.model
    if model is None:
        from skillrl.testing import build_tiny_causal_lm

        print("!! SMOKE RUN: no --model given, fine-tuning a tiny random policy built locally. It shows the "
              "pipeline, not learning.", file=sys.stderr)
        model = str(build_tiny_causal_lm(out.parent / f".{out.name}-tiny-base"))
    tokenizer = AutoTokenizer.from_pretrained(model, local_files_only=True)
    dataset, builder = build_dataset(args, tokenizer)
    stats = builder.stats.as_dict()
    print(f"SFT data: {len(dataset)} {args.granularity} examples from {stats['used']} episodes "
          f"({'no skills' if args.no_skills else 'skills: ' + args.mode}); budget {args.max_length} tokens: "
          f"{stats['truncated']} examples lost {stats['history_dropped']} history turns, "
          f"{stats['over_budget']} left out; longest {stats['max_example_tokens']} tokens")
    example = dataset[0]
    first = example["prompt"] if "prompt" in example else example["messages"]
    print("first prompt, user turn (head):\n  " + first[1]["content"][:300].replace("\n", "\n  "))

    config = SFTConfig(output_dir=str(out), max_steps=args.max_steps, per_device_train_batch_size=args.batch_size,
                       learning_rate=args.lr, logging_steps=1, report_to="none", use_cpu=True, bf16=False,
                       save_strategy="no", seed=args.seed, max_length=args.max_length,
                       assistant_only_loss=args.granularity == "episode",
                       # the tiny smoke policy needs no activation checkpointing (TRL's default, for big models)
                       gradient_checkpointing=args.model is not None)
    trainer = SFTTrainer(model=model, args=config, train_dataset=dataset, processing_class=tokenizer)
    result = trainer.train()
    trainer.save_model(str(out))  # weights + tokenizer: a checkpoint GRPO (or HFChatPolicy) can start from
    builder.runtime.bank.save(out / "skill_bank.json")
    summary = {"model": model, "output_dir": str(out), "examples": len(dataset), "granularity": args.granularity,
               "with_skills": not args.no_skills, "runtime_settings": runtime_settings(args),
               "bank_version": builder.runtime.bank.version, "data_stats": stats, "max_steps": args.max_steps,
               "train_loss": float(result.training_loss), "seconds": round(time.perf_counter() - t0, 1)}
    (out / "skillrl_sft.json").write_text(json.dumps(summary, indent=2), encoding="utf-8")
    print(f"done in {summary['seconds']} s: {trainer.state.global_step} steps, loss {summary['train_loss']:.3f}; "
          f"checkpoint in {out}\nnext: python examples/trl_grpo_single_turn.py --model {out}")
    return summary


if __name__ == "__main__":
    main()
