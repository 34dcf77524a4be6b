"""Category detection (template mode): skillrl.profiles.

Accuracy tests read the real ALFWorld games and the official SkillRL memories from ../shared/data and
skip when they are absent.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from skillrl.profiles import (
    ALFWORLD_TASK_TYPES,
    DetectionError,
    RuleDetector,
    WebShopDetector,
    extract_goal,
    get_profile,
    official_alfworld_category,
    official_webshop_category,
)

REPO = Path(__file__).resolve().parents[1]
DATA = REPO.parent / "shared" / "data"
OFFICIAL = DATA / "skillrl-official" / "memory_data"
OFFICIAL_ALFWORLD_BANK = ["pick_and_place", "look_at_obj_in_light", "clean", "heat", "cool", "examine"]


def _bench():
    """The benchmark module, for its data loaders (one definition of "the goal the agent sees")."""
    spec = importlib.util.spec_from_file_location("bench_detection", REPO / "benchmarks" / "bench_detection.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.fixture(scope="module")
def bench():
    return _bench()


def _split_or_skip(bench, split):
    rows = bench.load_alfworld_split(split)
    if rows is None:
        pytest.skip(f"ALFWorld {split} games not found under {DATA}")
    return rows


# ---------------------------------------------------------------------------------------------
# ALFWorld
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("split,expected_n", [("train", 180), ("valid_seen", 140)])
def test_alfworld_accuracy_on_real_games(bench, split, expected_n):
    rows = _split_or_skip(bench, split)
    assert len(rows) == expected_n
    det = get_profile("alfworld")
    # The text is what the agent sees: the last line of the first observation.
    right = sum(det.detect(f"-= Welcome to TextWorld, ALFRED! =-\n\nYou are in a room.\n\n{r['text']}") == r["truth"]
                for r in rows)
    assert right / len(rows) >= 0.99, f"{right}/{len(rows)}"


@pytest.mark.parametrize("split,official_right", [("train", 139), ("valid_seen", 106)])
def test_official_cascade_baseline_is_reproduced(bench, split, official_right):
    rows = _split_or_skip(bench, split)
    right = sum(r["truth"] in bench.OFFICIAL_KEY_DENOTES[official_alfworld_category(extract_goal(r["text"]))]
                for r in rows)
    assert right == official_right


def test_train_goal_is_the_goal_of_the_expert_demo(bench):
    rows, demos = bench.load_alfworld_split("train"), bench.load_expert_demos()
    if rows is None or demos is None:
        pytest.skip("ALFWorld train games or expert demos not found")
    by_game = {d["game"]: extract_goal(d["text"]) for d in demos}
    assert all(by_game[r["game"]] == extract_goal(r["text"]) for r in rows)


def test_alfworld_official_memories(bench):
    rows = bench.load_alfworld_memories()
    if rows is None:
        pytest.skip("official ALFWorld memories not found")
    det = get_profile("alfworld")
    ours = sum(det.detect_for_bank(r["text"], OFFICIAL_ALFWORLD_BANK) in bench.TRUE_BANK_KEYS[r["truth"]] for r in rows)
    official = sum(official_alfworld_category(r["text"]) in bench.TRUE_BANK_KEYS[r["truth"]] for r in rows)
    assert len(rows) == 223 and official == 203  # facts.md sec. 2
    assert ours >= 220


def test_alfworld_crowd_annotations(bench):
    """Paraphrased goals (ALFRED's turk_annotations; ALFWorld shows them when goal_desc_human_anns_prob > 0).
    The synonym rules were written looking at these, so this guards against regressions, no more."""
    if bench.load_alfworld_split("train") is None:
        pytest.skip("ALFWorld games not found")
    s = bench.score_alfworld(bench.load_human_annotations())
    assert s["ours_task_type"] / s["n"] >= 0.90 and s["ours_task_type"] > s["official_task_type"]


@pytest.mark.alfworld
def test_real_alfworld_first_observation(bench):
    """Reset one real game per split: the goal in the env's first observation is the grammar goal, and the
    detector gets the task type right from the raw observation."""
    pytest.importorskip("alfworld")
    if bench.load_alfworld_split("valid_seen") is None:
        pytest.skip("ALFWorld games not found")
    for split, d in bench.verify_with_alfworld_env(1).items():
        assert d["games"] == 1
        assert d["observation_goal_equals_grammar_goal"] == 1, d["mismatches"]
        assert d["ours_right_on_raw_observation"] == 1


@pytest.mark.parametrize("goal,task_type,official", [
    ("put two cellphone in sofa.", "pick_two_obj_and_place", "pick_and_place"),
    ("find two pillow and put them in sofa.", "pick_two_obj_and_place", "examine"),
    ("put a hot apple in fridge.", "pick_heat_then_place_in_recep", "pick_and_place"),
])
def test_goals_the_official_cascade_misroutes(goal, task_type, official):
    assert official_alfworld_category(goal) == official
    assert get_profile("alfworld").detect(goal) == task_type


@pytest.mark.parametrize("goal,task_type", [
    ("put some spraybottle on toilet.", "pick_and_place_simple"),
    ("put a toiletpaper in toiletpaperhanger.", "pick_and_place_simple"),
    ("look at alarmclock under the desklamp.", "look_at_obj_in_light"),
    ("examine the book with the desklamp.", "look_at_obj_in_light"),
    ("clean some mug and put it in coffeemachine.", "pick_clean_then_place_in_recep"),
    ("put a clean lettuce in diningtable.", "pick_clean_then_place_in_recep"),
    ("heat some egg and put it in garbagecan.", "pick_heat_then_place_in_recep"),
    ("cool some pan and put it in stoveburner.", "pick_cool_then_place_in_recep"),
    ("put a cool tomato in microwave.", "pick_cool_then_place_in_recep"),
    ("put two soapbar in garbagecan.", "pick_two_obj_and_place"),
])
def test_alfworld_templates(goal, task_type):
    assert get_profile("alfworld").detect(goal) == task_type


def test_alfworld_unknown_or_empty_goal_gives_none():
    det = get_profile("alfworld")
    assert det.detect("") is None
    assert det.detect("Your task is to: ") is None
    assert det.detect("hello there") is None


def test_mapping_to_the_official_alfworld_bank():
    path = OFFICIAL / "alfworld" / "claude_style_skills.json"
    if path.is_file():
        keys = list(json.loads(path.read_text())["task_specific_skills"])
        assert keys == OFFICIAL_ALFWORLD_BANK
    det = get_profile("alfworld")
    expected = {
        "pick_and_place_simple": "pick_and_place",
        "look_at_obj_in_light": "look_at_obj_in_light",
        "pick_clean_then_place_in_recep": "clean",
        "pick_heat_then_place_in_recep": "heat",
        "pick_cool_then_place_in_recep": "cool",
        "pick_two_obj_and_place": "pick_and_place",  # the official bank has no pick-two key
    }
    assert {t: det.to_bank_category(t, OFFICIAL_ALFWORLD_BANK) for t in ALFWORLD_TASK_TYPES} == expected
    # A bank that does have the key (or a short name for it) gets it; unknown banks get None.
    assert det.to_bank_category("pick_two_obj_and_place", [*OFFICIAL_ALFWORLD_BANK, "pick_two"]) == "pick_two"
    assert det.to_bank_category("look_at_obj_in_light", ["examine", "heat"]) == "examine"
    assert det.to_bank_category("pick_heat_then_place_in_recep", list(ALFWORLD_TASK_TYPES)) == \
        "pick_heat_then_place_in_recep"
    assert det.to_bank_category("pick_heat_then_place_in_recep", ["apparel", "other"]) is None
    assert det.to_bank_category(None, OFFICIAL_ALFWORLD_BANK) is None
    assert det.detect_for_bank("Your task is to: put a hot apple in fridge.", OFFICIAL_ALFWORLD_BANK) == "heat"


def test_detect_for_bank_takes_a_skill_bank():
    path = OFFICIAL / "alfworld" / "claude_style_skills.json"
    if not path.is_file():
        pytest.skip("official ALFWorld bank not found")
    from skillrl.bank import SkillBank

    bank = SkillBank.load(path)
    det = get_profile("alfworld")
    assert det.detect_for_bank("find two pillow and put them in sofa.", bank) == "pick_and_place"
    assert det.detect_for_bank("cool some pan and put it in stoveburner.", bank) == "cool"
    with pytest.raises(DetectionError):
        det.to_bank_category("cool", "cool")  # a str is not a list of keys


# ---------------------------------------------------------------------------------------------
# Goal extraction
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("text,goal", [
    ("-= Welcome to TextWorld, ALFRED! =-\n\nYou are in the middle of a room.\n\nYour task is to: put a hot apple in fridge.",
     "put a hot apple in fridge"),
    (("You are an expert agent operating in the ALFRED Embodied Environment. Your task is to: put two cd in safe.\n"
     "Prior to this step, you have already taken 3 step(s)."), "put two cd in safe"),
    (("WebShop [SEP] Instruction: [SEP] i need a long clip-in hair extension which is natural looking, and price "
     "lower than 20.00 dollars [SEP] Search"),
     "i need a long clip-in hair extension which is natural looking, and price lower than 20.00 dollars"),
    (("You are an expert agent tasked with answering the given question step-by-step.\nYour question: who got the "
     "first nobel prize in physics?\n\nNow it's your turn"), "who got the first nobel prize in physics?"),
    # Few-shot prompt: the current task is the last one stated.
    (("Example:\nYour task is to: put some spraybottle on toilet.\n> go to toilet 1\n\nNow:\n"
     "Your task is to: examine the book with the desklamp."), "examine the book with the desklamp"),
    ("Your task is to:\n  clean some mug and put it in coffeemachine.\n", "clean some mug and put it in coffeemachine"),
    ("put  a hot\tapple in fridge.", "put a hot apple in fridge"),
])
def test_extract_goal(text, goal):
    assert extract_goal(text) == goal


def test_extract_goal_markers_can_be_disabled_and_bad_input_is_an_error():
    assert extract_goal("Question: x", markers=()) == "Question: x"
    with pytest.raises(DetectionError, match="str"):
        extract_goal(None)
    with pytest.raises(DetectionError):
        get_profile("alfworld").detect(b"put a hot apple in fridge")


# ---------------------------------------------------------------------------------------------
# WebShop
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("goal,category", [
    ("i need a string of fairy lights for my bedroom", "home_decor"),
    ("i want a box spring for a queen size bed", "home_decor"),
    ("i am looking for a gold ring with a diamond", "accessories"),
    ("i want hoop earrings", "accessories"),
    ("Find me men's dress shoes with rubber sole, and price lower than 60.00 dollars.", "footwear"),
    (("Find me slip resistant, non slip men's loafers & slip-ons with rubber outsole, rubber sole with color: "
     "228r.brown-a, and size: 6.5, and price lower than 70.00 dollars."), "footwear"),
    (("Find me machine wash men's dress shirts with cotton spandex, classic fit, short sleeve with color: melon berry, "
     "and size: large, and price lower than 50.00 dollars."), "apparel"),
    (("Find me machine washable window coverings for living room with color: dusty blush, and size: 42\"w x 45\"l, "
     "and price lower than 50.00 dollars."), "home_decor"),
    ("i need a wooden shoe rack with 4 tiers", "home_decor"),
    ("i want a led ring light with a tripod stand", "electronics"),
    ("i want a noise cancelling cosycost usb microphone, and price lower than 50.00 dollars", "electronics"),
    ("Find me high quality bags & cases for eye shadow with color: 003 zebra print, and price lower than 50.00 dollars.",
     "beauty_health"),
    ("Find me easy use bathing accessories with long handle for dead skin, and price lower than 60.00 dollars.",
     "beauty_health"),
    (("Find me protein serving meat snacks with natural ingredients, artificial flavors with flavor: supreme, and "
     "size: 3 pack, and price lower than 140.00 dollars."), "other"),
    ("i want a bagel made from high quality ingredients", "other"),
])
def test_webshop_examples(goal, category):
    assert get_profile("webshop").detect(goal) == category


def test_string_is_not_a_ring():
    det = get_profile("webshop")
    for goal in ["i need a string bikini in red", "i want guitar strings", "i need a box spring",
                 "find me window coverings for the bedroom", "i want a monocular for bird watching"]:
        assert det.detect(goal) != "accessories", goal
        assert official_webshop_category(goal) == "accessories", goal  # the official substring bug
    assert det.detect("i need a string bikini in red") == "apparel"


def test_webshop_official_memories(bench):
    rows = bench.load_webshop_memories()
    if rows is None:
        pytest.skip("official WebShop memories not found")
    det = get_profile("webshop")
    scored = [r for r in rows if r["truth"] is not None]
    assert len(scored) == 200
    ours = sum(det.detect_for_bank(r["text"], bench.OFFICIAL_WEBSHOP_BANK) in r["accepted"] for r in scored)
    official = sum(official_webshop_category(r["text"]) in r["accepted"] for r in scored)
    assert ours >= 190 and ours > official


def test_webshop_generator_reimplementation_matches_the_bank_metadata(bench):
    rows = bench.load_webshop_memories()
    path = OFFICIAL / "webshop" / "claude_style_skills.json"
    if rows is None or not path.is_file():
        pytest.skip("official WebShop data not found")
    dist = json.loads(path.read_text())["metadata"]["product_distribution"]
    from collections import Counter
    counts = Counter(bench.official_webshop_generator_category(r["text"]) for r in rows)
    assert dict(counts) == {k: v["success"] + v["failure"] for k, v in dist.items()}


def test_webshop_bank_mapping():
    det = get_profile("webshop")
    bank = ["apparel", "footwear", "home_decor", "electronics", "accessories", "beauty_health", "other"]
    assert det.detect_for_bank("i need running shoes", bank) == "footwear"
    assert det.detect_for_bank("i need running shoes", ["apparel", "other"]) == "other"  # fallback key
    assert det.detect_for_bank("i need running shoes", ["apparel"]) is None


# ---------------------------------------------------------------------------------------------
# Search
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("question,qtype", [
    ("who got the first nobel prize in physics?", "direct_retrieval"),
    ("What is Fairfax M. Cone's occupation?", "entity_attribute_lookup"),
    ("Who was the father of the founder of modern human anatomy?", "multi_hop_reasoning"),
    ("When did the president who said Tear Down This Wall die?", "multi_hop_reasoning"),
    ("What is the place of birth of the director of film I Love, You Love?", "multi_hop_reasoning"),
    ("Which film came out first, The Death Kiss or Good Morning, Little One?", "comparison"),
    ("Are Phlebodium and Pieris both species of ferns?", "comparison"),
    ("What is the force that opposes the relative motion of two bodies that are in contact?", "direct_retrieval"),
])
def test_search_examples(question, qtype):
    assert get_profile("search").detect(f"Your question: {question}\n") == qtype


def test_search_mapping_to_official_and_coarse_banks():
    det = get_profile("search")
    path = OFFICIAL / "search" / "claude_style_skills_search.json"
    official = list(json.loads(path.read_text())["query_type_skills"]) if path.is_file() else \
        ["direct_retrieval", "multi_hop_reasoning", "entity_attribute_lookup", "comparison"]
    for qtype in official:
        assert det.to_bank_category(qtype, official) == qtype
    coarse = ["direct_retrieval", "multi_hop_reasoning"]
    assert det.to_bank_category("comparison", coarse) == "multi_hop_reasoning"
    assert det.to_bank_category("entity_attribute_lookup", coarse) == "direct_retrieval"


def test_search_official_memories(bench):
    rows = bench.load_search_memories()
    if rows is None:
        pytest.skip("official Search memories not found")
    det = get_profile("search")
    scored = [r for r in rows if r["truth"] is not None]
    right = sum(bench.SEARCH_COARSE[det.detect(r["text"])] == r["truth"] for r in scored)
    # The labels are o3's and noisy (bamboogle bridge questions labelled direct); the runtime baseline is 0.
    assert right / len(scored) >= 0.70


# ---------------------------------------------------------------------------------------------
# User rules
# ---------------------------------------------------------------------------------------------


def test_rule_detector_first_match_wins_and_default():
    det = RuleDetector([("cooking", r"\b(cook|bake)\b"), ("cleaning", ["wash", "clean"]), ("baking", ["bake"])],
                       default="misc", name="kitchen")
    assert det.detect("Your task is to: bake a cake and wash the tray.") == "cooking"  # first rule wins
    assert det.detect("Wash the dishes") == "cleaning"
    assert det.detect("cleans the floors") == "cleaning"  # plural-tolerant keywords
    assert det.detect("a washing machine") == "misc"  # keywords are whole words
    assert det.detect("read a book") == "misc"
    assert det.explain("bake bread") == ("cooking", 0, "bake")
    assert det.explain("read") == ("misc", None, None)
    assert RuleDetector([("a", "x")]).detect("y") is None
    assert det.categories == ("cooking", "cleaning", "baking", "misc")


def test_rule_detector_json_round_trip(tmp_path):
    rules = {
        "name": "kitchen", "default": "misc",
        "rules": [{"category": "cooking", "pattern": "\\b(cook|bake|fry)\\b"},
                  {"category": "cleaning", "keywords": ["wash", "clean", "wipe"]},
                  ["serving", "\\bserve\\b"]],
        "aliases": {"cooking": ["cook"]}, "bank_fallback": "misc",
    }
    path = tmp_path / "rules.json"
    path.write_text(json.dumps(rules))
    det = RuleDetector.from_json(path)
    assert det.name == "kitchen"
    assert [det.detect(t) for t in ["fry an egg", "wipe the table", "serve soup", "nap"]] == \
        ["cooking", "cleaning", "serving", "misc"]
    assert det.detect_for_bank("fry an egg", ["cook", "misc"]) == "cook"
    assert det.detect_for_bank("serve soup", ["cook", "misc"]) == "misc"
    again = RuleDetector.from_dict(json.loads(json.dumps(det.to_dict())))
    texts = ["fry an egg", "wipe the table", "serve soup", "nap", "Wash up"]
    assert [again.detect(t) for t in texts] == [det.detect(t) for t in texts]


@pytest.mark.parametrize("content,match", [
    ("{not json", "line 1"),
    ('{"rules": [{"category": "a", "pattern": "(unclosed"}]}', "rule 0"),
    ('{"rules": [{"category": "a"}]}', "rules\\[0\\]"),
    ('{"rules": [{"category": "a", "pattern": "x", "keywords": ["y"]}]}', "rules\\[0\\]"),
    ('{"rules": [{"category": "", "pattern": "x"}]}', "category"),
    ('{"rules": [{"category": "a", "keywords": []}]}', "keyword"),
    ('{"rules": [], "defualt": "x"}', "unknown keys"),
    ('["a", "b"]', "rules"),
])
def test_bad_rules_files_give_clear_errors(tmp_path, content, match):
    path = tmp_path / "rules.json"
    path.write_text(content)
    with pytest.raises(DetectionError, match=match):
        RuleDetector.from_json(path)


def test_missing_rules_file_and_unknown_profile():
    with pytest.raises(DetectionError, match="cannot read"):
        RuleDetector.from_json("/nonexistent/rules.json")
    with pytest.raises(DetectionError, match="alfworld"):
        get_profile("minecraft")
    assert get_profile("ALFWorld") is get_profile("alfworld")


# ---------------------------------------------------------------------------------------------
# Determinism, speed, import weight
# ---------------------------------------------------------------------------------------------

_DIGEST_SCRIPT = """
import hashlib, json, sys
sys.path.insert(0, {repo!r})
from skillrl.profiles import get_profile, WebShopDetector
texts = json.load(open({texts!r}))
out = [get_profile(p).detect(t) for p in ("alfworld", "webshop", "search") for t in texts]
out += [WebShopDetector().detect(t) for t in texts]
print(hashlib.sha256(json.dumps(out).encode()).hexdigest())
"""


def test_detection_is_deterministic_across_processes(tmp_path):
    texts = ["put a hot apple in fridge.", "find two pillow and put them in sofa.", "i need a string bikini",
             "i want a wooden shoe rack", "Which film came out first, A or B?", "What is X's occupation?",
             "i need a gold ring and a phone case", "", "Your task is to: examine the book with the desklamp."]
    tf = tmp_path / "texts.json"
    tf.write_text(json.dumps(texts))
    script = _DIGEST_SCRIPT.format(repo=str(REPO), texts=str(tf))
    digests = set()
    for seed in ("0", "1", "12345"):
        env = {**os.environ, "PYTHONHASHSEED": seed}
        digests.add(subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True,
                                   check=True).stdout.strip())
    assert len(digests) == 1
    det = get_profile("webshop")
    assert [det.detect(t) for t in texts] == [WebShopDetector().detect(t) for t in texts]


def test_import_stays_light():
    code = ("import sys, skillrl.profiles; heavy = {'torch', 'faiss', 'sentence_transformers', 'trl', 'openai', "
            "'transformers'} & set(sys.modules); print(sorted(heavy))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         cwd=str(REPO)).stdout.strip()
    assert out == "[]"
