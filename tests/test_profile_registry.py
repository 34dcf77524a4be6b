"""skillrl.profiles: adding a profile is one new file plus a registration; profile= resolves the same way everywhere;
the old import paths still work; one goal extractor behind every "Your task is to:" reader; ALFWorld data that
matches the real files."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import skillrl.plugins as plugins
from skillrl.bank import SkillBank
from skillrl.profiles import (
    TASK_MARKER,
    DetectionError,
    RuleDetector,
    extract_goal,
    get_profile,
    resolve_profile,
)
from skillrl.profiles.alfworld import ALFWORLD_BANK_KEYS, ALFWORLD_TASK_TYPES, OFFICIAL_ALFWORLD_BANK_KEYS
from skillrl.profiles.search import SEARCH_QUERY_TYPES
from skillrl.profiles.webshop import WEBSHOP_CATEGORIES
from skillrl.runtime import SkillRuntime

REPO = Path(__file__).resolve().parents[1]

# The whole plugin: one file with a profile and its registration.
PLUGIN_FILE = '''
from skillrl import hookimpl
from skillrl.profiles import RuleDetector


def tidy_profile():
    # "tidy" / "sort" goals of a home-robot environment, mapped onto the official ALFWorld bank's keys
    return RuleDetector([("warm_up", ["tidy", "sort"])], name="mine", aliases={"warm_up": ["heat"]})


@hookimpl
def skillrl_register_profiles(register):
    register("mine", tidy_profile, "a test profile")
'''


@pytest.fixture()
def bank(shared_data: Path) -> SkillBank:
    return SkillBank.load(shared_data / "skillrl-official/memory_data/alfworld/claude_style_skills.json")


@pytest.fixture()
def my_plugin(tmp_path: Path):
    path = tmp_path / "my_profiles.py"
    path.write_text(PLUGIN_FILE)
    spec = importlib.util.spec_from_file_location("my_profiles", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    plugins.register_plugin(module, name="my_profiles")
    yield module
    plugins.unregister_plugin(module)


def test_a_plugin_file_adds_a_profile_that_get_profile_and_the_runtime_use(my_plugin, bank):
    det = get_profile("mine")
    assert det.name == "mine" and get_profile("MINE") is det
    assert det.detect("Your task is to: tidy the desk.") == "warm_up"
    reg = plugins.profile_registry()["mine"]
    assert (reg.description, reg.plugin) == ("a test profile", "my_profiles")

    task = "Your task is to: tidy the desk."
    mine = SkillRuntime(bank, profile="mine", mode="template", load_entry_points=False).augment([task])[0]
    assert mine.category == "heat" and any(i.startswith("hea_") for i in mine.skill_ids)
    assert all(bank.get(i).category in (None, "heat") for i in mine.skill_ids)
    # the built-in ALFWorld profile sees no ALFWorld operation in that goal: general skills only
    builtin = SkillRuntime(bank, profile="alfworld", mode="template", load_entry_points=False).augment([task])[0]
    assert builtin.category is None and not any(i.startswith("hea_") for i in builtin.skill_ids)

    with pytest.raises(DetectionError, match=r"unknown detection profile 'minecraft'; expected one of "
                                             r"\['alfworld', 'mine', 'search', 'webshop'\]"):
        get_profile("minecraft")


def test_unregistering_the_plugin_removes_its_profile(my_plugin):
    assert "mine" in plugins.profile_registry()
    plugins.unregister_plugin(my_plugin)
    try:
        with pytest.raises(DetectionError, match=r"expected one of \['alfworld', 'search', 'webshop'\]"):
            get_profile("mine")
        with pytest.raises(DetectionError, match="unknown detection profile 'mine'"):
            SkillRuntime(SkillBank(), profile="mine", mode="template", load_entry_points=False)
    finally:
        plugins.register_plugin(my_plugin, name="my_profiles")  # the fixture unregisters it


def test_the_builtins_are_three_plugin_modules():
    reg = plugins.profile_registry()
    assert {n: reg[n].plugin for n in ("alfworld", "webshop", "search")} == {
        "alfworld": "skillrl.profiles.alfworld", "webshop": "skillrl.profiles.webshop",
        "search": "skillrl.profiles.search"}
    assert {"skillrl.profiles.alfworld", "skillrl.profiles.webshop", "skillrl.profiles.search"} <= set(
        plugins.BUILTIN_PLUGINS) and "skillrl.detection" not in plugins.BUILTIN_PLUGINS


def test_resolve_profile_takes_none_a_detector_a_rules_file_or_a_name(tmp_path):
    assert resolve_profile(None) is None
    det = RuleDetector([("a", ["apple"])])
    assert resolve_profile(det) is det
    assert resolve_profile("alfworld") is get_profile("alfworld")
    rules = tmp_path / "kitchen.json"
    rules.write_text(json.dumps({"rules": [{"category": "cooking", "keywords": ["bake"]}], "default": "misc"}))
    for spec in (str(rules), rules):
        loaded = resolve_profile(spec)
        assert loaded.name == "kitchen" and loaded.detect("bake bread") == "cooking" and loaded.detect("x") == "misc"
    with pytest.raises(DetectionError, match="missing.json: rules file not found"):
        resolve_profile(str(tmp_path / "missing.json"))
    with pytest.raises(DetectionError, match="unknown detection profile"):
        resolve_profile("nope")
    from skillrl.runtime import _make_detector  # the old private name the CLI used

    assert _make_detector is resolve_profile


def test_old_import_paths_still_work_and_warn_once():
    code = textwrap.dedent("""
        import importlib, json, warnings
        warnings.simplefilter("always")
        with warnings.catch_warnings(record=True) as caught:
            import skillrl.detection as det, skillrl.agent as agent
            importlib.import_module("skillrl.detection"); importlib.import_module("skillrl.agent")
        import skillrl.profiles as profiles, skillrl.adapters.agent as new_agent, skillrl.actions as actions
        same = [det.get_profile is profiles.get_profile, det.RuleDetector is profiles.RuleDetector,
                det.ALFWORLD_TASK_TYPES is profiles.ALFWORLD_TASK_TYPES, det.extract_goal is profiles.extract_goal,
                agent.SkillAgentMemory is new_agent.SkillAgentMemory, agent.choose_admissible is actions.choose_admissible,
                agent.HFChatPolicy is new_agent.HFChatPolicy, agent.DEFAULT_SYSTEM_PROMPT is new_agent.DEFAULT_SYSTEM_PROMPT]
        print(json.dumps({"same": same, "warnings": [(w.category.__name__, str(w.message)) for w in caught]}))
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=str(REPO))
    got = json.loads(out.stdout)
    assert all(got["same"]), got
    assert [c for c, _ in got["warnings"]] == ["DeprecationWarning", "DeprecationWarning"], got["warnings"]
    assert "skillrl.profiles" in got["warnings"][0][1] and "skillrl.adapters.agent" in got["warnings"][1][1]


# ------------------------------------------------------------------ one goal extractor


def _goal_readers():
    from skillrl.envs.alfworld import extract_goal as env_goal
    from skillrl.episode import parse_alfworld_goal
    from skillrl.plugins import extract_task

    return {"plugins.extract_task": extract_task, "episode.parse_alfworld_goal": parse_alfworld_goal,
            "envs.alfworld.extract_goal": env_goal,
            "profiles.extract_goal": lambda t: extract_goal(t, [TASK_MARKER], keep_period=True, required=True)}


def test_every_reader_of_your_task_is_to_gives_the_same_goal_on_real_texts(shared_data):
    texts = [json.loads(line)["conversations"][0]["value"]
             for line in (shared_data / "alfworld/expert_demos_train.jsonl").read_text().splitlines()[:400]]
    react = json.loads((shared_data / "react/prompts/alfworld.json").read_text())
    texts += list(react.values())  # whole ReAct traces: the goal line, then the trajectory
    assert len(texts) > 400
    readers = _goal_readers()
    for text in texts:
        goals = {name: read(text) for name, read in readers.items()}
        assert len(set(goals.values())) == 1, goals
        assert goals["plugins.extract_task"].endswith(".") and "\n" not in goals["plugins.extract_task"]
    first = react["react_put_0"]
    assert readers["episode.parse_alfworld_goal"](first) == "put some spraybottle on toilet."  # not the trajectory


def test_the_readers_differ_only_where_their_contract_does():
    from skillrl.envs.alfworld import extract_goal as env_goal
    from skillrl.episode import parse_alfworld_goal
    from skillrl.plugins import extract_task

    no_goal = "You are in the middle of a room.\nLooking quickly around you, you see a desk 1."
    assert extract_task(no_goal) == no_goal  # the task text falls back to the prompt
    assert parse_alfworld_goal(no_goal) is None and env_goal(no_goal) is None
    assert extract_goal(no_goal) == " ".join(no_goal.split())[:-1]  # detection classifies the whole text
    told = "Your task is to: put a mug in desk."
    assert extract_goal(told) == "put a mug in desk" and extract_task(told) == "put a mug in desk."


# ------------------------------------------------------------------ ALFWorld data that matches the real files


def test_profile_data_matches_the_official_banks_and_the_games(shared_data):
    official = shared_data / "skillrl-official/memory_data"
    alf = json.loads((official / "alfworld/claude_style_skills.json").read_text())["task_specific_skills"]
    assert list(alf) == list(OFFICIAL_ALFWORLD_BANK_KEYS)
    shop = json.loads((official / "webshop/claude_style_skills.json").read_text())["task_specific_skills"]
    assert list(shop) == list(WEBSHOP_CATEGORIES)
    search = json.loads((official / "search/claude_style_skills_search.json").read_text())["query_type_skills"]
    assert list(search) == list(SEARCH_QUERY_TYPES)
    types = {json.loads(p.read_text())["task_type"]
             for p in (shared_data / "alfworld/json_2.1.1/valid_seen").glob("*/*/traj_data.json")}
    assert types == set(ALFWORLD_TASK_TYPES) == set(ALFWORLD_BANK_KEYS)
    det = get_profile("alfworld")
    assert all(det.to_bank_category(t, OFFICIAL_ALFWORLD_BANK_KEYS) in OFFICIAL_ALFWORLD_BANK_KEYS
               for t in ALFWORLD_TASK_TYPES)


def test_the_documented_profile_plugin_registers_and_runs(bank):
    import re

    doc = (REPO / "docs" / "plugins.md").read_text()
    block = next(b for b in re.findall(r"```python\n(.*?)```", doc, flags=re.S) if "skillrl_register_profiles" in b)
    namespace: dict = {}
    exec(compile(block, "docs/plugins.md", "exec"), namespace)  # noqa: S102 - our own documentation
    plugin = namespace["KitchenProfiles"]()
    plugins.register_plugin(plugin)
    try:
        rt = SkillRuntime(bank, profile="kitchen", mode="template", load_entry_points=False)
        got = rt.augment(["Your task is to: bake some bread.", "Your task is to: wipe the table."])
        assert [a.category for a in got] == ["heat", "clean"]
    finally:
        plugins.unregister_plugin(plugin)
    with pytest.raises(DetectionError, match="unknown detection profile 'kitchen'"):
        get_profile("kitchen")
