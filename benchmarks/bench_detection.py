"""Category detection (template mode): the official SkillRL keyword cascades vs skillrl's detectors.

Data (read in place from ``../shared/data``, i.e. the folder beside the repository; a set whose files
are missing is skipped):

* ALFWorld ``json_2.1.1/train`` (180 games) and ``valid_seen`` (140 games). Text: the goal the agent
  sees, i.e. the ``task`` line of the game's ``game.tw-pddl`` grammar ("Your task is to: <goal>.",
  which ALFWorld's intro ``#look.feedback#\\n\\n#task#`` prints at the end of the first observation;
  for the 180 train games it equals the first human turn of ``expert_demos_train.jsonl`` byte for byte,
  and this script checks that again). Truth: ``traj_data.json["task_type"]``.
* ALFWorld ``expert_demos_train.jsonl`` (3,554 training games). Text: the goal after "Your task is
  to:" in the first human turn. Truth: its ``task_type`` (copied from each game's ``traj_data.json``).
* Official SkillRL memories: ALFWorld (223; goal ``content.task_meta.original_goal``, truth the
  ``classified as '<type>'`` in ``contextual_description``), WebShop (200) and Search (196), see the
  truth notes at :func:`webshop_truth` and :func:`search_truth`.
* ALFRED crowd annotations of the same 320 games (``turk_annotations``, 3 per game): paraphrased goals,
  shown by ALFWorld only when ``goal_desc_human_anns_prob > 0``; a robustness check.
* WebShop human instructions (``agentgym/.../human_goals.json``, 12,087): no truth; counts how often the
  official list routes a goal to ``accessories`` only through a ``ring`` inside another word.

Scoring conventions for ALFWorld (both printed):

* ``task type``: is the task type identified? Ours returns task types. The official cascade returns
  bank keys; a key counts as right when it denotes the true type (``pick_and_place`` for
  pick_and_place_simple, ``look_at_obj_in_light`` or ``examine`` for look_at_obj_in_light, ``clean`` /
  ``heat`` / ``cool``); no key denotes pick_two_obj_and_place. This is the convention of 139/180 and
  106/140.
* ``bank key``: is the right key of the official ALFWorld bank chosen? Truth keys: pick_and_place_simple
  and pick_two_obj_and_place -> ``pick_and_place`` (the bank has no pick-two key),
  look_at_obj_in_light -> ``look_at_obj_in_light`` or ``examine``, the others -> ``clean``/``heat``/
  ``cool``. Ours goes through ``detect_for_bank``. This is the convention of facts.md's 203/223.

Speed: microseconds per detection over all ALFWorld goals, ours vs the official cascade (same run).

Run: ``python benchmarks/bench_detection.py`` (about a second). Writes
``benchmarks/results/bench_detection.json``.
"""

from __future__ import annotations

import json
import platform
import re
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from skillrl.profiles import (
    WEBSHOP_CATEGORIES,
    extract_goal,
    get_profile,
    official_alfworld_category,
    official_webshop_category,
)
from skillrl.profiles.alfworld import OFFICIAL_ALFWORLD_BANK_KEYS

DATA = REPO.parent / "shared" / "data"
ALFWORLD = DATA / "alfworld"
OFFICIAL = DATA / "skillrl-official" / "memory_data"
RESULTS = REPO / "benchmarks" / "results" / "bench_detection.json"

OFFICIAL_ALFWORLD_BANK = list(OFFICIAL_ALFWORLD_BANK_KEYS)
OFFICIAL_WEBSHOP_BANK = list(WEBSHOP_CATEGORIES)

# Official bank key -> the task types it denotes (task-type convention).
OFFICIAL_KEY_DENOTES = {
    "pick_and_place": {"pick_and_place_simple"},
    "look_at_obj_in_light": {"look_at_obj_in_light"},
    "examine": {"look_at_obj_in_light"},
    "clean": {"pick_clean_then_place_in_recep"},
    "heat": {"pick_heat_then_place_in_recep"},
    "cool": {"pick_cool_then_place_in_recep"},
}
# True task type -> the official bank keys that are right for it (bank-key convention).
TRUE_BANK_KEYS = {
    "pick_and_place_simple": {"pick_and_place"},
    "pick_two_obj_and_place": {"pick_and_place"},
    "look_at_obj_in_light": {"look_at_obj_in_light", "examine"},
    "pick_clean_then_place_in_recep": {"clean"},
    "pick_heat_then_place_in_recep": {"heat"},
    "pick_cool_then_place_in_recep": {"cool"},
}
_TASK_LINE = re.compile(r'"task":\s*\[\s*\{\s*"rhs":\s*"(.*?)"\s*\}', re.DOTALL)


# --------------------------------------------------------------------------------------------------
# Loaders: each returns a list of (text, truth) or None when the data is absent
# --------------------------------------------------------------------------------------------------


def game_goal(trial_dir: Path) -> str:
    """The goal line an ALFWorld game shows the agent: the grammar's ``task`` rule of ``game.tw-pddl``
    (``"Your task is to: put two newspaper in drawer."``). Raises ValueError if it is not there exactly once."""
    grammar = json.loads((trial_dir / "game.tw-pddl").read_text())["grammar"]
    found = _TASK_LINE.findall(grammar)
    if len(found) != 1:
        raise ValueError(f"{trial_dir}: expected one task line in the grammar, found {len(found)}")
    return found[0]


def load_alfworld_split(split: str) -> list[dict[str, str]] | None:
    """``[{game, text, truth}]`` for the games of ``json_2.1.1/<split>``; ``text`` is the full
    "Your task is to: ..." line. None when the split is absent."""
    root = ALFWORLD / "json_2.1.1" / split
    if not root.is_dir():
        return None
    rows = []
    for traj in sorted(root.glob("*/*/traj_data.json")):
        trial = traj.parent
        rows.append({
            "game": f"{split}/{trial.parent.name}/{trial.name}",
            "text": game_goal(trial),
            "truth": json.loads(traj.read_text())["task_type"],
        })
    return rows


def load_human_annotations() -> list[dict[str, str]] | None:
    """``[{game, text, truth}]``: the ALFRED crowd annotations (``traj_data.json`` ``turk_annotations.anns[*]
    .task_desc``, e.g. "Look at an alarm clock by the light of a lamp.") of the train and valid_seen games.
    ALFWorld shows these instead of the template goal when ``goal_desc_human_anns_prob > 0`` (games
    regenerated with ``alfworld-generate``): a paraphrase robustness check, not the default text."""
    rows = []
    for split in ("train", "valid_seen"):
        root = ALFWORLD / "json_2.1.1" / split
        for traj in sorted(root.glob("*/*/traj_data.json")):
            d = json.loads(traj.read_text())
            for i, ann in enumerate(d.get("turk_annotations", {}).get("anns", [])):
                rows.append({"game": f"{split}/{traj.parent.parent.name}/{traj.parent.name}#{i}",
                             "text": ann["task_desc"], "truth": d["task_type"]})
    return rows or None


def load_expert_demos() -> list[dict[str, str]] | None:
    path = ALFWORLD / "expert_demos_train.jsonl"
    if not path.is_file():
        return None
    rows = []
    with path.open() as f:
        for line in f:
            d = json.loads(line)
            first = d["conversations"][0]["value"]
            rows.append({"game": d["game"], "text": first, "truth": d["task_type"]})
    return rows


def load_alfworld_memories() -> list[dict[str, str]] | None:
    path = OFFICIAL / "alfworld" / "generated_memories_alfworld_total.json"
    if not path.is_file():
        return None
    rows = []
    for m in json.loads(path.read_text()):
        label = re.search(r"classified as '([^']+)'", m["contextual_description"]).group(1)
        truth = "pick_and_place_simple" if label == "pick_and_place" else label
        rows.append({"game": m["memory_id"], "text": m["content"]["task_meta"]["original_goal"], "truth": truth})
    return rows


def webshop_truth(description: str) -> tuple[str | None, frozenset[str]]:
    """``(strict key, accepted keys)``: the official WebShop bank key a memory's ``contextual_description``
    names.

    The memories were described by o3 in its own words ("an Apparel item", "men's loafers & slip-ons",
    "Home & Kitchen window coverings", "an Office & Computer Accessory"); this maps the product words of
    the first sentence to the seven bank keys, the most specific product word first (footwear before
    apparel: "Apparel (men's loafers & slip-ons)" is footwear). Derived truth, not an official label; the
    200 mappings were read by hand (see ``--show-truth``).

    *Strict* takes the mapped key as the only right answer. *Lenient* also accepts ``footwear`` and
    ``accessories`` when o3 named only the department ("Apparel", "an Apparel item", "men's apparel",
    with no garment word): o3 uses "Apparel" as WebShop's clothing-shoes-jewelry department (it wrote
    "Apparel" for women's sandals, men's boots and pumps), which the bank splits into three keys.
    """
    d = description.split(". ")[0].lower()
    rules = [
        ("footwear", r"footwear|shoe|loafer|slip-on|sneaker|boot|sandal"),
        ("beauty_health", r"personal care|hair care|cosmetic|beauty|bath|oral care|skin ?care|makeup"),
        ("electronics", r"electronic|computer|binocular|hdmi|audio"),
        ("home_decor", r"home|furniture|furnishing|decor|window covering|pillow|blanket|living room|desk mat"),
        ("accessories", r"jewel|accessor|handbag|wallet|watch"),
        ("apparel", (r"apparel|\btop\b|shirt|pants|jeans|sweater|hoodie|blazer|activewear|sleepwear|swimwear|"
                    r"outerwear|formalwear|clothing|shorts|dress")),
        ("other", r"food|grocery|snack|nutrition"),
    ]
    for key, pat in rules:
        if re.search(pat, d):
            garment = r"\btop\b|shirt|pants|jeans|sweater|hoodie|blazer|wear\b|shorts|dress|\(|sweatshirt"
            if key == "apparel" and not re.search(garment, d):
                return key, frozenset({"apparel", "footwear", "accessories"})
            return key, frozenset({key})
    return None, frozenset()


def load_webshop_memories() -> list[dict[str, Any]] | None:
    paths = sorted((OFFICIAL / "webshop").glob("generated_memories_webshop_*.json"))
    if not paths:
        return None
    rows = []
    for p in paths:
        for m in json.loads(p.read_text()):
            strict, accepted = webshop_truth(m["contextual_description"])
            rows.append({"game": m["memory_id"], "text": m["content"]["task_meta"]["original_goal"],
                         "truth": strict, "accepted": accepted,
                         "description": m["contextual_description"].split(". ")[0]})
    return rows


def official_webshop_generator_category(goal: str) -> str:
    """The WebShop classifier of the official bank *generator* (aiming-lab/SkillRL
    ``skill_generation/webshop.py``, ``categorize_by_product_type``): a second, different substring list
    (apparel, footwear, home, electronics, accessories, beauty_health; else other). Its counts on the 200
    memories are the bank's ``metadata.product_distribution``; this script checks that."""
    g = goal.lower()
    lists = [
        ("apparel", ["shirt", "dress", "t-shirt", "polo", "pants", "jeans", "jacket", "coat", "sweater", "blouse",
                     "skirt", "shorts", "underwear", "swimsuit", "swimwear", "hoodie", "vest", "cardigan", "suit",
                     "blazer", "tee", "top"]),
        ("footwear", ["shoe", "boot", "sandal", "sneaker", "slipper", "loafer", "heel", "flat", "oxford", "pump",
                      "moccasin", "flip-flop", "footwear"]),
        ("home_decor", ["pillow", "curtain", "rug", "mat", "blanket", "bedding", "towel", "lamp", "decor",
                        "furniture", "cushion", "sheet", "tablecloth", "vase"]),
        ("electronics", ["phone", "laptop", "tablet", "computer", "headphone", "earphone", "speaker", "charger",
                         "cable", "mouse", "keyboard", "monitor", "camera", "watch", "smartwatch", "electronic",
                         "device", "gadget", "armoires"]),
        ("accessories", ["bag", "wallet", "belt", "hat", "cap", "scarf", "glove", "jewelry", "necklace", "bracelet",
                         "ring", "earring", "sunglasses", "glasses", "watch", "purse", "backpack", "handbag", "tie",
                         "bow"]),
        ("beauty_health", ["makeup", "cosmetic", "skincare", "lotion", "cream", "shampoo", "conditioner", "perfume",
                           "cologne", "brush", "bathing", "soap", "body wash", "nail", "lipstick", "mascara",
                           "foundation", "serum", "moisturizer"]),
    ]
    for key, words in lists:
        if any(w in g for w in words):
            return key
    return "other"


def search_truth(description: str) -> str | None:
    """``direct_retrieval`` or ``multi_hop_reasoning``: the type o3 wrote at the start of a Search memory's
    ``contextual_description`` ("The task was a "Direct retrieval" task ..."). Only these two types occur
    (135 / 61). Noisy: e.g. "Who was the father of the founder of modern human anatomy?" is labelled
    direct retrieval and "What is Heath's occupation?" multi-hop."""
    head = description[:160].lower()
    if "multi-hop" in head or "multi hop" in head:
        return "multi_hop_reasoning"
    if "direct retrieval" in head:
        return "direct_retrieval"
    return None


SEARCH_COARSE = {"comparison": "multi_hop_reasoning", "entity_attribute_lookup": "direct_retrieval",
                 "multi_hop_reasoning": "multi_hop_reasoning", "direct_retrieval": "direct_retrieval"}


def official_search_generator_category(goal: str, data_source: str) -> str:
    """The Search classifier of the official bank generator (``skill_generation/search.py``,
    ``classify_query_type``). It needs the dataset name (hotpotqa, 2wikimultihopqa, musique, bamboogle ->
    multi-hop or comparison; popqa -> entity lookup; else direct), which a policy's prompt does not carry:
    an oracle baseline, not a text classifier. (At runtime the official ``SkillsOnlyMemory`` finds no
    ``task_specific_skills`` in the Search bank and returns ``'unknown'`` for every question.)"""
    g = goal.lower()
    if data_source in ("hotpotqa", "2wikimultihopqa", "musique", "bamboogle"):
        kws = ["both", "are the", "which of", "same", "common", "more", "less", "older", "younger", "taller", "shorter"]
        return "comparison" if any(k in g for k in kws) else "multi_hop_reasoning"
    if data_source == "popqa":
        return "entity_attribute_lookup"
    return "direct_retrieval"


def load_search_memories() -> list[dict[str, Any]] | None:
    path = OFFICIAL / "search" / "generated_memories_search.json"
    if not path.is_file():
        return None
    return [{"game": m["memory_id"], "text": m["content"]["task_meta"]["original_goal"],
             "truth": search_truth(m["contextual_description"]), "data_source": m["tags"].get("data_source", "")}
            for m in json.loads(path.read_text())]


def load_webshop_human_goals() -> list[str] | None:
    path = DATA / "agentgym" / "agentenv-webshop" / "webshop" / "baseline_models" / "data" / "human_goals.json"
    if not path.is_file():
        return None
    return [str(g) for g in json.loads(path.read_text())]


# --------------------------------------------------------------------------------------------------
# Scoring
# --------------------------------------------------------------------------------------------------


def score_alfworld(rows: list[dict[str, str]]) -> dict[str, Any]:
    det = get_profile("alfworld")
    out: dict[str, Any] = {"n": len(rows)}
    ours_tt = off_tt = ours_bk = off_bk = 0
    errors: dict[str, list] = {"ours": [], "official": []}
    for r in rows:
        goal = extract_goal(r["text"])
        truth = r["truth"]
        mine = det.detect(r["text"])
        mine_key = det.to_bank_category(mine, OFFICIAL_ALFWORLD_BANK)
        off = official_alfworld_category(goal)
        ours_tt += mine == truth
        off_tt += truth in OFFICIAL_KEY_DENOTES[off]
        ours_bk += mine_key in TRUE_BANK_KEYS[truth]
        off_bk += off in TRUE_BANK_KEYS[truth]
        if mine != truth:
            errors["ours"].append([goal, truth, mine])
        if truth not in OFFICIAL_KEY_DENOTES[off]:
            errors["official"].append([goal, truth, off])
    out.update(ours_task_type=ours_tt, official_task_type=off_tt, ours_bank_key=ours_bk, official_bank_key=off_bk)
    out["ours_errors"] = errors["ours"]
    out["official_errors_by_pattern"] = dict(Counter(_template(g) + f" [{t}->{o}]" for g, t, o in errors["official"]))
    return out


def _template(goal: str) -> str:
    keep = {"put", "a", "some", "two", "in", "on", "them", "it", "and", "look", "at", "under", "the", "examine",
            "with", "find", "clean", "hot", "cool", "heat"}
    return " ".join(w if w in keep else "X" for w in goal.lower().split())


def score_webshop(rows: list[dict[str, Any]]) -> dict[str, Any]:
    det = get_profile("webshop")
    scored = [r for r in rows if r["truth"] is not None]
    preds = {
        "ours": [det.detect_for_bank(r["text"], OFFICIAL_WEBSHOP_BANK) for r in scored],
        "official_runtime": [official_webshop_category(r["text"]) for r in scored],
        "official_generator": [official_webshop_generator_category(r["text"]) for r in scored],
    }
    out: dict[str, Any] = {
        "n": len(rows), "n_with_truth": len(scored),
        "n_department_only": sum(len(r["accepted"]) > 1 for r in scored),
        "truth_distribution": dict(Counter(r["truth"] for r in scored)),
    }
    for name, p in preds.items():
        out[f"{name}_strict"] = sum(a == r["truth"] for a, r in zip(p, scored))
        out[f"{name}_lenient"] = sum(a in r["accepted"] for a, r in zip(p, scored))
    out["runtime_vs_generator_disagree"] = sum(a != b for a, b in zip(preds["official_runtime"], preds["official_generator"]))
    out["generator_distribution"] = dict(Counter(preds["official_generator"]))
    out["ours_errors_lenient"] = [[r["text"][:110], r["description"][:90], a] for r, a in zip(scored, preds["ours"])
                                  if a not in r["accepted"]]
    out["runtime_errors_lenient"] = [[r["text"][:110], r["description"][:90], a]
                                     for r, a in zip(scored, preds["official_runtime"]) if a not in r["accepted"]]
    return out


def score_search(rows: list[dict[str, Any]]) -> dict[str, Any]:
    det = get_profile("search")
    scored = [r for r in rows if r["truth"] is not None]
    ours = [det.detect(r["text"]) for r in scored]
    gen = [official_search_generator_category(r["text"], r["data_source"]) for r in scored]
    truth = [r["truth"] for r in scored]
    return {
        "n": len(rows), "n_with_truth": len(scored), "truth_distribution": dict(Counter(truth)),
        "ours_coarse": sum(SEARCH_COARSE[a] == t for a, t in zip(ours, truth)),
        "official_runtime": 0,  # SkillsOnlyMemory returns 'unknown' for every Search question
        "official_generator_oracle_coarse": sum(SEARCH_COARSE[a] == t for a, t in zip(gen, truth)),
        "ours_distribution": dict(Counter(ours)),
        "ours_errors": [[r["text"][:120], t, a] for r, a, t in zip(scored, ours, truth) if SEARCH_COARSE[a] != t],
    }


def ring_bug(goals: list[str]) -> dict[str, Any]:
    """Human goals the official list sends to accessories although no accessory word is a whole word."""
    det = get_profile("webshop")
    whole = re.compile(r"\b(?:necklace|ring|bracelet|earring|watch|jewelry|bag|purse|wallet)s?\b")
    off = [official_webshop_category(g) for g in goals]
    ours = [det.detect(g) for g in goals]
    false_acc = [g for g, o in zip(goals, off) if o == "accessories" and not whole.search(g.lower())]
    return {
        "n": len(goals),
        "official_accessories": sum(o == "accessories" for o in off),
        "official_accessories_without_whole_word": len(false_acc),
        "examples": false_acc[:8],
        "ours_vs_official_disagree": sum(a != b for a, b in zip(off, ours)),
        "ours_distribution": dict(Counter(ours)),
        "official_distribution": dict(Counter(off)),
    }


def timing(texts: list[str], reps: int = 20) -> dict[str, float]:
    det = get_profile("alfworld")
    goals = [extract_goal(t) for t in texts]

    def run(fn, items):
        best = float("inf")
        for _ in range(5):
            t0 = time.perf_counter()
            for _ in range(reps):
                for x in items:
                    fn(x)
            best = min(best, time.perf_counter() - t0)
        return best / (reps * len(items)) * 1e6

    return {
        "official_us_per_goal": run(official_alfworld_category, goals),
        "ours_us_per_goal": run(det.detect, goals),
        "ours_us_per_full_observation": run(det.detect, texts),
    }


def verify_with_alfworld_env(per_split: int) -> dict[str, Any]:
    """Reset real ALFWorld games (``textworld.gym`` with ALFWorld's ``AlfredDemangler``/``AlfredInfos``
    wrappers, as ``AlfredTWEnv.init_env`` does) and check that the goal in the first observation is the
    grammar goal used above, and what the detector says on the raw observation. ``per_split`` games per
    split (0 = all). Needs the ``alfworld`` package; about 1-2 s per game."""
    import os
    import tempfile

    os.environ.setdefault("ALFWORLD_DATA", tempfile.mkdtemp(prefix="alfworld_data_"))
    import textworld
    import textworld.gym
    from alfworld.agents.environment.alfred_tw_env import AlfredDemangler, AlfredInfos

    det = get_profile("alfworld")
    out: dict[str, Any] = {}
    for split in ("train", "valid_seen"):
        rows = load_alfworld_split(split) or []
        rows = rows if per_split == 0 else rows[:per_split]
        same = right = 0
        mismatches = []
        t0 = time.perf_counter()
        for r in rows:
            gamefile = str(ALFWORLD / "json_2.1.1" / r["game"] / "game.tw-pddl")
            infos = textworld.EnvInfos(won=True, admissible_commands=True, extras=["gamefile"])
            env_id = textworld.gym.register_game(gamefile, infos, max_episode_steps=50,
                                                 wrappers=[AlfredDemangler(), AlfredInfos])
            env = textworld.gym.make(env_id)
            obs, _ = env.reset()
            env.close()
            same += extract_goal(obs) == extract_goal(r["text"])
            right += det.detect(obs) == r["truth"]
            if extract_goal(obs) != extract_goal(r["text"]):
                mismatches.append([r["game"], extract_goal(obs), extract_goal(r["text"])])
        out[split] = {"games": len(rows), "observation_goal_equals_grammar_goal": same,
                      "ours_right_on_raw_observation": right, "mismatches": mismatches[:10],
                      "seconds": round(time.perf_counter() - t0, 1)}
    return out


# --------------------------------------------------------------------------------------------------


def pct(a: int, n: int) -> str:
    return f"{a}/{n} ({100 * a / n:.1f}%)" if n else "-"


def main(argv: list[str] | None = None) -> int:
    import argparse

    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--alfworld-env", type=int, default=None, metavar="N",
                    help="also reset N real ALFWorld games per split (0 = all) and check the observation's goal")
    args = ap.parse_args(argv)
    results: dict[str, Any] = {"data": str(DATA), "python": platform.python_version(), "sets": {}, "skipped": []}
    table: list[tuple[str, str, str, str]] = []

    train = load_alfworld_split("train")
    demos = load_expert_demos()
    if train is not None and demos is not None:
        by_game = {d["game"]: extract_goal(d["text"]) for d in demos}
        same = sum(by_game.get(r["game"]) == extract_goal(r["text"]) for r in train)
        results["train_goal_equals_expert_demo_goal"] = f"{same}/{len(train)}"

    for name, rows in [("alfworld_train", train), ("alfworld_valid_seen", load_alfworld_split("valid_seen")),
                       ("alfworld_expert_demos", demos), ("alfworld_official_memories", load_alfworld_memories()),
                       ("alfworld_human_annotations", load_human_annotations())]:
        if rows is None:
            results["skipped"].append(name)
            continue
        s = score_alfworld(rows)
        results["sets"][name] = s
        table.append((name, "task type", pct(s["official_task_type"], s["n"]), pct(s["ours_task_type"], s["n"])))
        table.append((name, "bank key", pct(s["official_bank_key"], s["n"]), pct(s["ours_bank_key"], s["n"])))

    ws = load_webshop_memories()
    if ws is None:
        results["skipped"].append("webshop_official_memories")
    else:
        s = score_webshop(ws)
        results["sets"]["webshop_official_memories"] = s
        n = s["n_with_truth"]
        for conv in ("strict", "lenient"):
            table.append(("webshop_official_memories", f"{conv} (runtime list)", pct(s[f"official_runtime_{conv}"], n),
                          pct(s[f"ours_{conv}"], n)))
            table.append(("webshop_official_memories", f"{conv} (generator list)",
                          pct(s[f"official_generator_{conv}"], n), pct(s[f"ours_{conv}"], n)))

    se = load_search_memories()
    if se is None:
        results["skipped"].append("search_official_memories")
    else:
        s = score_search(se)
        results["sets"]["search_official_memories"] = s
        n = s["n_with_truth"]
        table.append(("search_official_memories", "2-class (runtime)", pct(0, n), pct(s["ours_coarse"], n)))
        table.append(("search_official_memories", "2-class (generator+dataset)",
                      pct(s["official_generator_oracle_coarse"], n), pct(s["ours_coarse"], n)))

    hg = load_webshop_human_goals()
    if hg is None:
        results["skipped"].append("webshop_human_goals")
    else:
        results["sets"]["webshop_human_goals"] = ring_bug(hg)

    all_alf = [r["text"] for k in ("alfworld_train", "alfworld_valid_seen") for r in (
        load_alfworld_split(k.split("_", 1)[1]) or [])]
    if all_alf:
        results["timing"] = timing(all_alf)

    w = max(len(r[0]) for r in table) if table else 10
    print(f"{'set':<{w}}  {'scoring':<28} {'official':>18} {'skillrl':>18}")
    for name, scoring, off, ours in table:
        print(f"{name:<{w}}  {scoring:<28} {off:>18} {ours:>18}")
    if "webshop_human_goals" in results["sets"]:
        h = results["sets"]["webshop_human_goals"]
        print(f"\nWebShop human goals ({h['n']}): official list -> accessories {h['official_accessories']}, "
              f"of which {h['official_accessories_without_whole_word']} without any accessory word as a whole word "
              f"(substring bug); ours and official disagree on {h['ours_vs_official_disagree']}.")
    if "timing" in results:
        t = results["timing"]
        print(f"\nSpeed (ALFWorld goals): official {t['official_us_per_goal']:.2f} us/goal, ours "
              f"{t['ours_us_per_goal']:.2f} us/goal (x{t['ours_us_per_goal'] / t['official_us_per_goal']:.1f}), "
              f"ours on the full first observation {t['ours_us_per_full_observation']:.2f} us")
    if "train_goal_equals_expert_demo_goal" in results:
        print(f"Train goal from game.tw-pddl == goal in the expert demo's first observation: "
              f"{results['train_goal_equals_expert_demo_goal']}")
    if args.alfworld_env is not None:
        try:
            results["alfworld_env_check"] = v = verify_with_alfworld_env(args.alfworld_env)
            for split, d in v.items():
                print(f"Real ALFWorld reset ({split}, {d['games']} games, {d['seconds']} s): goal in the first observation "
                      f"== grammar goal for {d['observation_goal_equals_grammar_goal']}; ours right on the raw "
                      f"observation for {d['ours_right_on_raw_observation']}")
        except ImportError as err:
            results["skipped"].append(f"alfworld_env_check ({err})")
    if results["skipped"]:
        print("skipped (data missing):", ", ".join(results["skipped"]))
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=1, ensure_ascii=False))
    print(f"wrote {RESULTS.relative_to(REPO)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
