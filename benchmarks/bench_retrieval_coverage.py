"""Do the right skills reach the prompt? Skill coverage per task type, at the defaults of every adapter (issue 11).

SkillRL's policy should read *all* general skills plus task-specific skills of its task's category (paper Sec. 3.2).
This script measures what each adapter really puts into the prompt, at its own defaults, on real data:

* ALFWorld: the 140 valid_seen games (goal and first observation from the real game, task type from
  ``traj_data.json["task_type"]``), the official ALFWorld bank;
* WebShop: the 200 official memories' goals, the official WebShop bank. The memories carry no category, so groups
  and the "right" category are the profile's *detected* category (this then measures retrieval, not detection);
* Search: the 196 official memories' goals with their true query type, the official Search bank.

Adapters, each at its defaults (only ``bank``, ``profile`` and ``mode`` given), each queried on what it really
retrieves on:

* ``trl``: ``SkillRuntime(bank, profile=..., mode=...)``, what ``SkillCallback`` builds, fed as the callback feeds it
  (``runtime.augment(prompts, rows)``) with a ``task`` column holding the goal;
* ``trl-multiturn`` (ALFWorld): the same runtime on the main example's rows (examples/trl_grpo_alfworld.py) *without*
  the ``task`` column: the dataset prompt ("Here is the game."), the goal only comes with ``reset()``;
* ``openrlhf``: ``SkillBankService(SkillRLConfig(bank=..., profile=..., mode=...))`` (in-process, no Ray), reached
  through the agent wrapper's own ``EpisodeContext.on_reset`` with ``reset()`` returning only the chat-templated
  first observation (Qwen2.5 template of ``skillrl.testing.build_tiny_causal_lm``);
* ``openrlhf-extras`` (ALFWorld): the same, ``reset()`` also returning ``task`` and the true ``category`` as
  examples/openrlhf/alfworld_agent.py does;
* ``agent``: ``SkillAgentMemory(bank, profile=..., mode=...).start(first observation)``;
* ``sft``: ``SFTDataBuilder(bank=..., profile=..., mode=...)`` on one successful episode per goal (block of its
  ``rl_row``; the skill ids are checked against the built SFT example's).

WebShop / Search have no first observation here: the goal is used as the observation text.

Metrics per group (task type / category) and overall: prompts carrying *all* general skills; >= 1 and >= 3 skills
of the right bank category (``detector.to_bank_category(task_type, bank.categories)``); any task-specific skill;
the category the adapter used equals the right one; mean general / task-specific skills; mean block tokens (the
``ceil(chars/4)`` estimate, and a real pretrained tokenizer: all-MiniLM-L6-v2's WordPiece, not a policy's);
mean common mistakes shown. Then evolved mistakes: each adapter's runtime evolves once (offline teacher) on the
domain's real failed memories, and we count prompts that show any mistake the evolution added.

    ALFWORLD_DATA=../shared/data/alfworld python benchmarks/bench_retrieval_coverage.py [--quick] [--json PATH]

``--quick``: 3 prompts per group (a smoke run; the shares are then not comparable). The ALFWorld first observations
come from the real engine (2-10 s a game on a busy 2-core machine: 25 min for the 140 games under load) and are kept
in ``--obs-cache`` (default: a JSON file in the temp folder) for the next run; ``--observations goal`` skips the
engine and uses "Your task is to: <goal>" instead.
Prints the table and writes benchmarks/results/bench_retrieval_coverage.json.

The adapters' construction (``build_*``) and querying (``run_*``) are small functions so that a configuration API
change only touches them.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import importlib.util
import json
import os
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("SKILLRL_SHARED_DATA", ROOT.parent / "shared" / "data"))
os.environ.setdefault("ALFWORLD_DATA", str(SHARED / "alfworld"))
MEM = SHARED / "skillrl-official" / "memory_data"
DOMAINS: dict[str, dict[str, Any]] = {
    "alfworld": {"bank": MEM / "alfworld/claude_style_skills.json", "profile": "alfworld",
                 "memories": [MEM / "alfworld/generated_memories_alfworld_total.json"]},
    "webshop": {"bank": MEM / "webshop/claude_style_skills.json", "profile": "webshop",
                "memories": [MEM / "webshop/generated_memories_webshop_100.json",
                             MEM / "webshop/generated_memories_webshop_101-200.json"]},
    "search": {"bank": MEM / "search/claude_style_skills_search.json", "profile": "search",
               "memories": [MEM / "search/generated_memories_search.json"]},
}
MODES = ("template", "embedding")
EXAMPLE = ROOT / "examples" / "trl_grpo_alfworld.py"


@dataclass(frozen=True)
class Item:
    """One prompt source: a goal, the group it is reported under, the bank category it should get skills of."""

    domain: str
    group: str
    goal: str
    right: str | None  # bank category key
    observation: str  # the first observation the environment shows
    game: Any = None  # skillrl.envs.alfworld.GameInfo (ALFWorld)


@dataclass(frozen=True)
class Shown:
    """What one prompt carried: the query the adapter retrieved on, its category, the block."""

    query: str
    category: str | None
    skill_ids: tuple[str, ...]
    mistake_ids: tuple[str, ...]
    text: str


# ================================================================================ adapters at their defaults
# Construction: bank, profile and mode only (plus ``extra``, used for the evolution check's teacher).


def build_trl(bank: Path, profile: str, mode: str, **extra: Any) -> Any:
    """What ``SkillCallback(trainer, bank=..., profile=..., mode=...)`` builds (it adds the trainer's tokenizer,
    which only counts tokens: no budget at the defaults)."""
    from skillrl.runtime import SkillRuntime

    return SkillRuntime(str(bank), profile=profile, mode=mode, **extra)


def build_openrlhf(bank: Path, profile: str, mode: str, **extra: Any) -> Any:
    """The OpenRLHF bank actor's object, from ``SkillRLConfig`` defaults (what ``SKILLRL_BANK`` / ``SKILLRL_PROFILE``
    / ``SKILLRL_MODE`` give)."""
    from skillrl.adapters.openrlhf import SkillBankService, SkillRLConfig

    return SkillBankService(SkillRLConfig(bank=str(bank), profile=profile, mode=mode, **extra))


def build_agent(bank: Path, profile: str, mode: str, **extra: Any) -> Any:
    from skillrl.adapters.agent import SkillAgentMemory

    return SkillAgentMemory(str(bank), profile=profile, mode=mode, **extra)


def build_sft(bank: Path, profile: str, mode: str, **extra: Any) -> Any:
    from skillrl.sft import SFTDataBuilder

    return SFTDataBuilder(bank=str(bank), profile=profile, mode=mode, **extra)


def runtime_of(adapter: Any) -> Any:
    """The :class:`SkillRuntime` behind an adapter object (itself for a runtime)."""
    return getattr(adapter, "runtime", adapter)


# ================================================================================ what each adapter retrieves on


def _from_aug(aug: Any) -> Shown:
    return Shown(aug.task, aug.category, tuple(aug.skill_ids), tuple(aug.block.mistake_ids), aug.block.text)


@functools.lru_cache(maxsize=1)
def _example_module() -> Any:
    spec = importlib.util.spec_from_file_location("skillrl_example_trl_grpo_alfworld", EXAMPLE)
    mod = importlib.util.module_from_spec(spec)
    assert spec.loader is not None
    spec.loader.exec_module(mod)
    return mod


def _trl_row(item: Item) -> dict[str, Any]:
    if item.game is not None:  # the main example's row for this game
        return dict(_example_module().rows([item.game])[0])
    return {"prompt": [{"role": "user", "content": item.goal}]}


def run_trl_task_column(runtime: Any, items: Sequence[Item], ctx: dict[str, Any]) -> list[Shown]:
    """TRL with a ``task`` column: ``SkillCallback._augment_inputs`` calls ``runtime.augment(prompts, rows=inputs)``."""
    rows = [{**_trl_row(it), "task": it.goal} for it in items]
    return [_from_aug(a) for a in runtime.augment([r["prompt"] for r in rows], rows=rows)]


def run_trl_multiturn(runtime: Any, items: Sequence[Item], ctx: dict[str, Any]) -> list[Shown]:
    """TRL multi-turn (``environment_factory``) without a ``task`` column: ``SkillCallback`` wraps each environment's
    ``reset()`` and retrieves for the observation it returns (``SkillCallback._augment_observation``: the row without
    a task column, one prompt at a time)."""
    rows = []
    for it in items:
        row = _trl_row(it)
        row.pop("task", None)
        rows.append(row)
    return [_from_aug(runtime.augment([it.observation], rows=[row], track=False)[0]) for it, row in zip(items, rows)]


def run_openrlhf(service: Any, items: Sequence[Item], ctx: dict[str, Any], extras: bool = False) -> list[Shown]:
    """The agent wrapper's ``EpisodeContext.on_reset``: ``reset()`` returned the chat-templated first observation
    (no ``task`` / ``category`` extras); the wrapper finds the user turn and asks the bank. ``extras``: ``reset()``
    also returns ``task`` (the goal) and ``category`` (the true task type), as examples/openrlhf/alfworld_agent.py
    does."""
    from skillrl.adapters.openrlhf import BankClient, EpisodeContext

    tok = ctx["chat_tokenizer"]
    client = BankClient(service)

    async def one(it: Item) -> dict[str, Any]:
        prompt = tok.apply_chat_template([{"role": "user", "content": it.observation}], tokenize=False,
                                         add_generation_prompt=True)
        ec = EpisodeContext(client, prompt, it.game.game_id if it.game else it.goal, tok)
        result: dict[str, Any] = {"observation": prompt}
        if extras:
            result.update(task=it.goal, category=it.game.task_type if it.game else it.group)
        out = await ec.on_reset({}, result)
        if ec.skills["block"] and ec.skills["block"] not in out["observation"]:
            raise AssertionError("the block did not reach the observation")
        return ec.skills

    out = []
    for it in items:
        s = asyncio.run(one(it))
        out.append(Shown(s["task"], s["category"], tuple(s["skill_ids"]), tuple(s["mistake_ids"]), s["block"]))
    return out


def run_openrlhf_extras(service: Any, items: Sequence[Item], ctx: dict[str, Any]) -> list[Shown]:
    return run_openrlhf(service, items, ctx, extras=True)


def run_agent(memory: Any, items: Sequence[Item], ctx: dict[str, Any]) -> list[Shown]:
    """The inference agent: ``memory.start(first observation)`` (the goal parsed from it; WebShop / Search: the
    goal is the observation and is passed as ``task``)."""
    out = []
    for it in items:
        session = memory.start(it.observation, task=None if it.domain == "alfworld" else it.goal)
        b = session.block
        out.append(Shown(session.task, session.category, tuple(b.skill_ids), tuple(b.mistake_ids), b.text))
    return out


def run_sft(builder: Any, items: Sequence[Item], ctx: dict[str, Any]) -> list[Shown]:
    """Cold-start SFT: one successful one-step episode per goal (ALFWorld: with its real first observation).
    The block is the one of the episode's RL row; its skill ids must equal the built SFT example's."""
    from skillrl.episode import Episode, Step

    eps = [Episode(episode_id=f"e{i}", task=it.goal, initial_observation=it.observation if it.game else "",
                   steps=[Step(action="look")], reward=1.0, success=True, source="bench")
           for i, it in enumerate(items)]
    examples = builder.examples(eps)
    rows = [builder.rl_row(ep) for ep in eps]
    augs = runtime_of(builder).augment([r["prompt"] for r in rows], rows=rows)
    for ex, a in zip(examples, augs):
        if list(ex["skill_ids"]) != list(a.skill_ids):
            raise AssertionError(f"SFT example and RL row disagree for {ex['task']!r}")
    return [_from_aug(a) for a in augs]


#: (name, what the query is, builder, runner, domains)
ADAPTERS: list[tuple[str, str, Callable[..., Any], Callable[..., list[Shown]], tuple[str, ...]]] = [
    ("trl", "task column = goal", build_trl, run_trl_task_column, tuple(DOMAINS)),
    ("trl-multiturn", "dataset prompt, no task column", build_trl, run_trl_multiturn, ("alfworld",)),
    ("openrlhf", "chat-templated first observation", build_openrlhf, run_openrlhf, tuple(DOMAINS)),
    ("openrlhf-extras", "as openrlhf + reset() task & true category", build_openrlhf, run_openrlhf_extras,
     ("alfworld",)),
    ("agent", "first observation (goal parsed)", build_agent, run_agent, tuple(DOMAINS)),
    ("sft", "episode task (rl_row)", build_sft, run_sft, tuple(DOMAINS)),
]


def settings_of(adapter: Any) -> dict[str, Any]:
    """The effective retrieval / rendering settings, read defensively (the attribute names may change)."""
    rt = runtime_of(adapter)
    out: dict[str, Any] = {}
    for name in ("mode", "style", "max_tokens", "max_mistakes", "placement", "task_field"):
        if hasattr(rt, name):
            out[name] = getattr(rt, name)
    out.update(getattr(rt, "retrieval_args", None) or {})
    cfg = getattr(rt, "config", None)
    if cfg is not None:
        try:
            out["config"] = cfg.model_dump(mode="json") if hasattr(cfg, "model_dump") else repr(cfg)
        except Exception:  # noqa: BLE001 - informational only
            out["config"] = repr(cfg)
    if out.get("mode") == "embedding":
        try:
            out["delta_effective"] = float(rt.retriever.delta)
        except Exception:  # noqa: BLE001
            pass
    return {k: (v if isinstance(v, (str, int, float, bool, type(None), dict, list)) else repr(v))
            for k, v in out.items()}


# ================================================================================ data


def first_observations(games: Sequence[Any], cache: Path | None) -> tuple[list[str], dict[str, Any]]:
    """Each game's real first observation (``ALFWorldEnv.reset``). Resets cost 2-10 s each on a busy 2-core
    machine, so observations are kept in ``cache`` (a JSON file ``{game_id: observation}``, outside the repo) and
    reused by the next run; every one is an engine output."""
    from skillrl.envs.alfworld import ALFWorldEnv, extract_goal

    known: dict[str, str] = {}
    if cache is not None and cache.is_file():
        try:
            known = json.loads(cache.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError):
            known = {}
    todo = [g for g in games if g.game_id not in known]
    t0 = time.perf_counter()
    if todo:
        env = ALFWorldEnv()
        try:
            for i, g in enumerate(todo):
                known[g.game_id] = env.reset(g)[0]
                print(f"\r  ALFWorld first observations: {i + 1}/{len(todo)}", end="", file=sys.stderr, flush=True)
        finally:
            env.close()
        print(file=sys.stderr)
        if cache is not None:
            tmp = cache.with_suffix(f".tmp-{os.getpid()}")
            tmp.write_text(json.dumps(known), encoding="utf-8")
            os.replace(tmp, cache)
    observations = [known[g.game_id] for g in games]
    return observations, {"engine_resets": len(todo), "from_cache": len(games) - len(todo),
                          "cache": str(cache) if cache else None, "engine_seconds": round(time.perf_counter() - t0, 1),
                          "goal_differs_from_observation": sum(extract_goal(o) != g.goal
                                                               for g, o in zip(games, observations))}


def alfworld_items(bank: Any, det: Any, per_group: int | None, engine: bool,
                   cache: Path | None = None) -> tuple[list[Item], dict[str, Any]]:
    from skillrl.envs.alfworld import ALFWORLD_TASK_TYPES, list_games

    games = list_games("valid_seen")
    if per_group is not None:
        games = [g for t in ALFWORLD_TASK_TYPES for g in [x for x in games if x.task_type == t][:per_group]]
    info: dict[str, Any] = {"games": len(games), "observations": "engine" if engine else "goal"}
    if engine:
        observations, more = first_observations(games, cache)
        info.update(more)
    else:
        observations = [f"Your task is to: {g.goal}" for g in games]
    items = [Item("alfworld", g.task_type, g.goal, det.to_bank_category(g.task_type, bank.categories), o, g)
             for g, o in zip(games, observations)]
    return items, info


def memory_items(domain: str, bank: Any, det: Any, per_group: int | None) -> tuple[list[Item], dict[str, Any]]:
    from skillrl.episode import load_official_memories

    eps = [e for p in DOMAINS[domain]["memories"] for e in load_official_memories(p)]
    items, seen = [], set()
    true_known = sum(e.category is not None for e in eps)
    for e in eps:
        if e.task in seen:
            continue
        seen.add(e.task)
        if e.category is not None:
            group, right = e.category, det.to_bank_category(e.category, bank.categories)
        else:
            right = det.detect_for_bank(e.task, bank.categories)
            group = f"{right} (detected)"
        items.append(Item(domain, group, e.task, right, e.task))
    if per_group is not None:
        count: dict[str, int] = defaultdict(int)
        kept = []
        for it in items:
            count[it.group] += 1
            if count[it.group] <= per_group:
                kept.append(it)
        items = kept
    return items, {"memories": len(eps), "distinct_goals": len(items), "with_true_category": true_known,
                   "grouping": "true category" if true_known else "detected category (memories carry none)"}


def failures(domain: str, bank: Any, det: Any) -> list[Any]:
    """The domain's failed official memories as validation episodes, categories as the adapters record them."""
    from skillrl.episode import load_official_memories

    out = []
    for p in DOMAINS[domain]["memories"]:
        for e in load_official_memories(p):
            if e.success:
                continue
            cat = det.to_bank_category(e.category, bank.categories) if e.category else \
                det.detect_for_bank(e.task, bank.categories)
            out.append(e.model_copy(update={"category": cat, "split": "validation"}))
    return out


# ================================================================================ metrics


def wordpiece_counter() -> Callable[[str], int]:
    from tokenizers import Tokenizer

    from skillrl.embedders import default_model_path

    tok = Tokenizer.from_file(str(Path(default_model_path()) / "tokenizer.json"))
    tok.no_truncation()
    tok.no_padding()
    return lambda text: len(tok.encode(text, add_special_tokens=False).ids)


def summarize(items: Sequence[Item], shown: Sequence[Shown], bank: Any, count_wp: Callable[[str], int]) -> dict:
    from skillrl.render import estimate_tokens

    general = {s.skill_id for s in bank.general}
    ts_all = {s.skill_id for c in bank.categories for s in bank.task_specific[c]}
    by_cat = {c: {s.skill_id for s in bank.task_specific[c]} for c in bank.categories}
    groups: dict[str, list[tuple[Item, Shown]]] = defaultdict(list)
    for it, sh in zip(items, shown):
        groups[it.group].append((it, sh))
        groups["ALL"].append((it, sh))
    out = {}
    for g in sorted(groups, key=lambda x: (x == "ALL", x)):
        pairs = groups[g]
        n = len(pairs)
        ids = [set(sh.skill_ids) for _, sh in pairs]
        right = [len(i & by_cat.get(it.right, set())) for (it, _), i in zip(pairs, ids)]
        out[g] = {
            "n": n,
            "all_general": sum(general <= i for i in ids),
            "right_ge1": sum(r >= 1 for r in right),
            "right_ge3": sum(r >= 3 for r in right),
            "right_known": sum(it.right is not None for it, _ in pairs),
            "any_task_specific": sum(bool(i & ts_all) for i in ids),
            "category_correct": sum(sh.category == it.right for it, sh in pairs),
            "mean_general": round(sum(len(i & general) for i in ids) / n, 2),
            "mean_task_specific": round(sum(len(i & ts_all) for i in ids) / n, 2),
            "mean_right": round(sum(right) / n, 2),
            "mean_tokens_est": round(sum(estimate_tokens(sh.text) for _, sh in pairs) / n, 1),
            "mean_tokens_wordpiece": round(sum(count_wp(sh.text) for _, sh in pairs) / n, 1),
            "mean_mistakes": round(sum(len(sh.mistake_ids) for _, sh in pairs) / n, 2),
            "query_is_goal": sum(sh.query == it.goal for it, sh in pairs),
        }
    return out


def mistake_positions(shown: Sequence[Shown], bank: Any) -> dict[str, Any]:
    order = [m.mistake_id for m in bank.mistakes]
    ever = sorted({m for sh in shown for m in sh.mistake_ids}, key=lambda m: order.index(m) if m in order else 1e9)
    return {"bank_mistakes": len(order), "distinct_shown": len(ever), "shown_ids": ever,
            "positions_shown": [order.index(m) + 1 for m in ever if m in order]}


def evolved_mistakes(builder: Callable[..., Any], runner: Callable[..., list[Shown]], domain: str, mode: str,
                     items: Sequence[Item], ctx: dict[str, Any], failed: Sequence[Any]) -> dict[str, Any]:
    """Evolve once (offline teacher, the domain's failed memories), then count prompts showing an added mistake."""
    spec = DOMAINS[domain]
    adapter = builder(spec["bank"], spec["profile"], mode, teacher="offline")
    rt = runtime_of(adapter)
    before = len(rt.bank.mistakes)
    report = rt.after_validation(1, split="validation", episodes=list(failed))
    added = list(report.mistakes_added) if report is not None else []
    shown = runner(adapter, items, ctx)
    with_added = sum(bool(set(sh.mistake_ids) & set(added)) for sh in shown)
    return {"mistakes_before": before, "mistakes_after": len(rt.bank.mistakes), "added": added,
            "skills_added": list(report.added) if report is not None else [],
            "prompts": len(shown), "prompts_showing_an_added_mistake": with_added}


# ================================================================================ claims of issue 11


def _get(results: list[dict], domain: str, adapter: str, mode: str, group: str) -> dict | None:
    for r in results:
        if (r["domain"], r["adapter"], r["mode"], r["group"]) == (domain, adapter, mode, group):
            return r
    return None


def claims(results: list[dict], evol: list[dict]) -> list[dict[str, Any]]:
    out = []

    def claim(text: str, row: dict | None, key: str, expect: tuple[int, int]) -> None:
        if row is None:
            out.append({"claim": text, "verdict": "not measured"})
            return
        got = (row[key], row["n"])
        verdict = ("confirmed" if got == expect else "refuted") if row["n"] == expect[1] else \
            f"not comparable (measured on {row['n']} prompts, the claim on {expect[1]})"
        out.append({"claim": text, "measured": f"{got[0]}/{got[1]}", "setting": f"{row['adapter']} {row['mode']}",
                    "verdict": verdict})

    claim("0/140 prompts get all 12 general skills at the runtime defaults",
          _get(results, "alfworld", "trl", "embedding", "ALL"), "all_general", (0, 140))
    claim("pick_and_place: 3/35 goals get any pick_and_place skill (embedding, delta 0.22)",
          _get(results, "alfworld", "trl", "embedding", "pick_and_place_simple"), "right_ge1", (3, 35))
    claim("heat: 14/16 goals get any heat skill (embedding, delta 0.22)",
          _get(results, "alfworld", "trl", "embedding", "pick_heat_then_place_in_recep"), "right_ge1", (14, 16))
    claim("clean: 24/27 goals get any clean skill (embedding, delta 0.22)",
          _get(results, "alfworld", "trl", "embedding", "pick_clean_then_place_in_recep"), "right_ge1", (24, 27))
    claim("delta 0.4 (OpenRLHF default): 13/140 goals get any task-specific skill",
          _get(results, "alfworld", "openrlhf", "embedding", "ALL"), "any_task_specific", (13, 140))
    ev = [e for e in evol if e["domain"] == "alfworld"]
    if ev:
        never = all(e["prompts_showing_an_added_mistake"] == 0 for e in ev) and all(e["added"] for e in ev)
        out.append({"claim": "evolved mistakes (appended after the first 5) are never rendered",
                    "measured": "; ".join(f"{e['adapter']} {e['mode']}: {len(e['added'])} added, shown in "
                                          f"{e['prompts_showing_an_added_mistake']}/{e['prompts']}" for e in ev),
                    "setting": "one evolution per adapter and mode", "verdict": "confirmed" if never else "refuted"})
    return out


# ================================================================================ main

COLUMNS = [("all_gen", "all_general"), ("right>=1", "right_ge1"), ("right>=3", "right_ge3"),
           ("any_ts", "any_task_specific"), ("cat_ok", "category_correct")]
MEANS = [("gen", "mean_general"), ("ts", "mean_task_specific"), ("tok_est", "mean_tokens_est"),
         ("tok_wp", "mean_tokens_wordpiece"), ("mist", "mean_mistakes")]


def print_table(results: list[dict]) -> None:
    head = f"{'domain':<9}{'adapter':<16}{'mode':<10}{'group':<34}{'n':>4}" + \
        "".join(f"{c:>10}" for c, _ in COLUMNS) + "".join(f"{c:>8}" for c, _ in MEANS)
    print(head)
    print("-" * len(head))
    last = None
    for r in results:
        key = (r["domain"], r["adapter"], r["mode"])
        if last is not None and key != last:
            print()
        last = key
        print(f"{r['domain']:<9}{r['adapter']:<16}{r['mode']:<10}{r['group'][:33]:<34}{r['n']:>4}"
              + "".join(f"{str(r[k]) + '/' + str(r['n']):>10}" for _, k in COLUMNS)
              + "".join(f"{r[k]:>8}" for _, k in MEANS))


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--json", default=str(ROOT / "benchmarks" / "results" / "bench_retrieval_coverage.json"),
                   help="where to write the results JSON")
    p.add_argument("--quick", action="store_true", help="3 prompts per group (smoke run)")
    p.add_argument("--observations", choices=["engine", "goal"], default="engine",
                   help="ALFWorld first observation: from the real game (default) or 'Your task is to: <goal>'")
    p.add_argument("--obs-cache", default=str(Path(tempfile.gettempdir()) / "skillrl-bench-coverage-observations.json"),
                   help="JSON file keeping the engine's first observations between runs ('' : no cache)")
    p.add_argument("--domains", nargs="+", choices=list(DOMAINS), default=list(DOMAINS))
    argv = list(sys.argv[1:] if argv is None else argv)  # before ALFWorld runs: its PDDL translator rewrites sys.argv
    args = p.parse_args(argv)
    missing = [str(DOMAINS[d]["bank"]) for d in args.domains if not Path(DOMAINS[d]["bank"]).exists()]
    if missing:
        print(f"skip: data not found: {missing}")
        return 0
    t0 = time.perf_counter()
    from transformers import AutoTokenizer

    from skillrl.bank import SkillBank
    from skillrl.profiles import get_profile
    from skillrl.embedders import default_embedder
    from skillrl.testing import build_tiny_causal_lm

    per_group = 3 if args.quick else None
    tiny = build_tiny_causal_lm(Path(tempfile.gettempdir()) / "skillrl-bench-coverage-tiny-lm")
    ctx = {"chat_tokenizer": AutoTokenizer.from_pretrained(tiny)}
    count_wp = wordpiece_counter()
    results: list[dict] = []
    data_info: dict[str, Any] = {}
    settings: dict[str, Any] = {}
    mistakes_seen: list[dict] = []
    evol: list[dict] = []
    examples: dict[str, Any] = {}
    for domain in args.domains:
        spec = DOMAINS[domain]
        bank = SkillBank.load(spec["bank"])
        det = get_profile(spec["profile"])
        if domain == "alfworld":
            items, info = alfworld_items(bank, det, per_group, engine=args.observations == "engine",
                                         cache=Path(args.obs_cache) if args.obs_cache else None)
        else:
            items, info = memory_items(domain, bank, det, per_group)
        data_info[domain] = {**info, "bank": str(spec["bank"].relative_to(SHARED)), "bank_counts": bank.counts()}
        failed = failures(domain, bank, det)
        for name, query, builder, runner, domains in ADAPTERS:
            if domain not in domains:
                continue
            for mode in MODES:
                t1 = time.perf_counter()
                adapter = builder(spec["bank"], spec["profile"], mode)
                shown = runner(adapter, items, ctx)
                settings[f"{domain}/{name}/{mode}"] = {"query": query, **settings_of(adapter)}
                for group, row in summarize(items, shown, bank, count_wp).items():
                    results.append({"domain": domain, "adapter": name, "mode": mode, "group": group, **row})
                mistakes_seen.append({"domain": domain, "adapter": name, "mode": mode,
                                      **mistake_positions(shown, bank)})
                examples[f"{domain}/{name}/{mode}"] = [{"goal": it.goal, "query": sh.query, "category": sh.category,
                                                        "skill_ids": list(sh.skill_ids)}
                                                       for it, sh in list(zip(items, shown))[:2]]
                if name in ("trl", "openrlhf", "agent", "sft") and failed:
                    evol.append({"domain": domain, "adapter": name, "mode": mode,
                                 **evolved_mistakes(builder, runner, domain, mode, items, ctx, failed)})
                print(f"  {domain} {name} {mode}: {time.perf_counter() - t1:.1f} s", file=sys.stderr, flush=True)
    print_table(results)
    print("\nmistakes shown (bank order positions):")
    for m in mistakes_seen:
        print(f"  {m['domain']:<9}{m['adapter']:<16}{m['mode']:<10} {m['distinct_shown']} of {m['bank_mistakes']}: "
              f"positions {m['positions_shown']}")
    print("\nevolved mistakes (one evolution, offline teacher, the domain's failed memories):")
    for e in evol:
        print(f"  {e['domain']:<9}{e['adapter']:<16}{e['mode']:<10} added {e['added']} "
              f"({e['mistakes_before']} -> {e['mistakes_after']} mistakes); prompts showing one: "
              f"{e['prompts_showing_an_added_mistake']}/{e['prompts']}")
    found = claims(results, evol)
    print("\nissue 11 claims:")
    for c in found:
        print(f"  [{c['verdict']}] {c['claim']}: measured {c.get('measured')} ({c.get('setting', '')})")
    emb = default_embedder()
    out = {"benchmark": "bench_retrieval_coverage", "quick": args.quick, "observations": args.observations,
           "command": " ".join(["python benchmarks/bench_retrieval_coverage.py", *argv]),
           "embedder": emb.name, "tokens_wordpiece": "all-MiniLM-L6-v2 WordPiece (bert-base-uncased vocabulary)",
           "chat_template": "Qwen2.5 (skillrl.testing.build_tiny_causal_lm)", "data": data_info,
           "adapters": settings, "results": results, "mistakes_shown": mistakes_seen, "evolved_mistakes": evol,
           "claims": found, "examples": examples, "seconds": round(time.perf_counter() - t0, 1)}
    path = Path(args.json)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(out, indent=2) + "\n")
    print(f"\nwrote {path} ({out['seconds']} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
