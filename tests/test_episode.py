"""Episodes and their loaders, on the real trajectory files (ALFWorld demos, official SkillRL memories)."""

from __future__ import annotations

import json
import statistics
import time
from collections import Counter
from pathlib import Path

import pytest

from skillrl.episode import (
    ALFWORLD_TASK_TYPES,
    Episode,
    Step,
    detect_format,
    load_alfworld_demos,
    load_episodes,
    load_official_memories,
    parse_alfworld_goal,
    parse_transcript,
    save_episodes,
)
from skillrl.errors import EpisodeFormatError, SkillRLError


@pytest.fixture(scope="module")
def demos_path(shared_data: Path) -> Path:
    path = shared_data / "alfworld" / "expert_demos_train.jsonl"
    if not path.is_file():
        pytest.skip(f"{path} not found")
    return path


@pytest.fixture(scope="module")
def demos(demos_path: Path) -> list[Episode]:
    return load_episodes(demos_path, progress=False)


def _memories(shared_data: Path, env: str) -> list[Path]:
    files = sorted((shared_data / "skillrl-official" / "memory_data" / env).glob("generated_memories_*.json"))
    if not files:
        pytest.skip(f"no official {env} memories under {shared_data}")
    return files


# ----------------------------------------------------------------------------------------------- demos


def test_demos_load_fast_and_match_the_published_counts(demos_path: Path):
    t0 = time.perf_counter()
    eps = load_episodes(demos_path, progress=False)
    seconds = time.perf_counter() - t0
    assert seconds < 10, f"loading 3,554 demos took {seconds:.1f} s"
    assert detect_format(demos_path) == "alfworld_demos"
    assert len(eps) == 3554
    # counts by task type and action statistics as published in PROVENANCE-train-and-demos.md
    assert Counter(e.category for e in eps) == {
        "pick_two_obj_and_place": 813, "pick_and_place_simple": 790, "pick_clean_then_place_in_recep": 651,
        "pick_cool_then_place_in_recep": 533, "pick_heat_then_place_in_recep": 459, "look_at_obj_in_light": 308}
    lengths = [e.num_steps for e in eps]
    assert (min(lengths), max(lengths), statistics.median(lengths)) == (3, 106, 12)
    assert round(statistics.mean(lengths), 1) == 17.1
    assert {e.category for e in eps} == set(ALFWORLD_TASK_TYPES)
    assert all(e.success and e.reward == 1.0 and e.split == "train" for e in eps)
    assert len({e.episode_id for e in eps}) == 3554


def test_demo_episode_fields(demos: list[Episode], demos_path: Path):
    first = json.loads(demos_path.open().readline())
    ep = demos[0]
    conv = first["conversations"]
    assert ep.episode_id == first["game"]
    assert ep.initial_observation == conv[0]["value"]
    assert ep.task == "look at alarmclock under the desklamp."
    assert ep.task == parse_alfworld_goal(conv[0]["value"])
    assert ep.actions == [t["value"] for t in conv[1::2]]
    # observation = what the env answered after the action
    assert [s.observation for s in ep.steps] == [t["value"] for t in conv[2::2]]
    assert ep.steps[-2].action.startswith("take alarmclock")
    assert ep.source == "alfworld-expert-demo"


def test_demo_progress_bar_can_be_disabled(demos_path: Path, capsys):
    load_alfworld_demos(demos_path, progress=False, limit=50)
    assert capsys.readouterr().err == ""
    eps = load_alfworld_demos(demos_path, progress=True, limit=50)
    assert len(eps) == 50
    assert "demos" in capsys.readouterr().err  # tqdm writes its bar to stderr


# -------------------------------------------------------------------------------------- memories


def test_official_alfworld_memories(shared_data: Path):
    (path,) = _memories(shared_data, "alfworld")
    eps = load_episodes(path, progress=False)
    raw = json.loads(path.read_text())
    assert detect_format(path) == "official_memories"
    assert len(eps) == len(raw) == 223
    assert Counter(e.success for e in eps) == {True: 113, False: 110}
    # categories come from "classified as '...'"; the label pick_and_place is ALFWorld's pick_and_place_simple
    assert {e.category for e in eps} == set(ALFWORLD_TASK_TYPES)
    assert Counter(e.metadata["category_label"] for e in eps)["pick_and_place"] == 38
    for ep, rec in zip(eps, raw):
        assert ep.episode_id == rec["memory_id"]
        assert ep.task == rec["content"]["task_meta"]["original_goal"]
        steps = (rec["content"]["refined_trajectory"] or {}).get("refined_trajectory") or []
        assert ep.actions == [s["action"] for s in steps]
        assert [s.observation for s in ep.steps] == [s["critical_observation"] for s in steps]
        if not ep.success:
            assert ep.steps == [] and ep.reward == 0.0
            assert ep.metadata["mistakes_to_avoid"] == rec["content"]["strategic_guidelines"]["mistakes_to_avoid"]


def test_official_search_and_webshop_memories(shared_data: Path):
    (search,) = _memories(shared_data, "search")
    eps = load_episodes(search, progress=False)
    assert len(eps) == 196
    # Search's query types are normalised to the keys of the official Search bank (query_type_skills)
    bank = json.loads((search.parent / "claude_style_skills_search.json").read_text())
    assert {e.category for e in eps} <= set(bank["query_type_skills"])
    assert Counter(e.category for e in eps) == {"direct_retrieval": 135, "multi_hop_reasoning": 61}
    ok = [e for e in eps if e.success]
    # Search keeps its trajectory as a plain list (13 of its 132 successes have an empty one)
    assert len(ok) == 132 and sum(1 for e in ok if not e.steps) == 13
    assert sum(e.num_steps for e in ok) == 207
    assert all(e.metadata["data_source"] for e in eps)

    webshop = []
    for path in _memories(shared_data, "webshop"):
        webshop += load_episodes(path, progress=False)
    assert len(webshop) == 200
    assert all(e.category is None for e in webshop)  # WebShop memories carry no category label
    assert sum(1 for e in webshop if e.metadata.get("category_hint")) > 50
    assert Counter(e.success for e in webshop) == {True: 120, False: 80}
    wins = [e for e in webshop if e.success]
    assert all(e.steps and e.steps[0].action.startswith("search[") for e in wins)


# -------------------------------------------------------------------------------------- native JSONL


def _sample() -> list[Episode]:
    return [
        Episode(episode_id="a", task="put a mug in cabinet.", category="pick_and_place_simple",
                initial_observation="You are in the middle of a room.",
                steps=[Step(action="go to countertop 1", observation="On the countertop 1, you see a mug 1."),
                       Step(action="take mug 1 from countertop 1", observation="You pick up the mug 1.",
                            reasoning="the mug is here")],
                reward=1.0, success=True, source="trl", split="validation", skill_ids=["gen_001", "pic_002"],
                metadata={"step": 12, "nested": {"x": [1, 2]}}),
        Episode(episode_id="b", task="search for shoes", steps=[], reward=0.25, source="webshop", extra_field="kept"),
    ]


def test_native_roundtrip_and_detection(tmp_path: Path):
    path = tmp_path / "sub" / "eps.jsonl"
    assert save_episodes(path, _sample()) == 2
    assert detect_format(path) == "native"
    lines = path.read_text().splitlines()
    assert lines[0] == _sample()[0].model_dump_json()
    back = load_episodes(path, progress=False)
    assert back == _sample()
    assert back[1].model_extra == {"extra_field": "kept"}


def test_save_is_atomic(tmp_path: Path):
    path = tmp_path / "eps.jsonl"
    save_episodes(path, _sample())
    before = path.read_bytes()

    def broken():
        yield _sample()[0]
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError):
        save_episodes(path, broken())
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["eps.jsonl"]  # no temp file left behind


# -------------------------------------------------------------------------------------- bad input


def _write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_bad_json_line_names_file_and_line(tmp_path: Path):
    good = _sample()[0].model_dump_json()
    path = _write(tmp_path, "eps.jsonl", good + "\n\n" + '{"episode_id": "x", "task": ' + "\n")
    with pytest.raises(EpisodeFormatError) as info:
        load_episodes(path, progress=False)
    err = info.value
    assert err.line == 3 and err.file == str(path)
    assert "eps.jsonl, line 3" in str(err) and "one JSON object per line" in str(err)
    assert isinstance(err, SkillRLError) and isinstance(err, ValueError)


def test_bad_native_field_gives_json_path(tmp_path: Path):
    rec = json.loads(_sample()[0].model_dump_json())
    rec["steps"][1]["action"] = 7
    path = _write(tmp_path, "eps.jsonl", _sample()[1].model_dump_json() + "\n" + json.dumps(rec) + "\n")
    with pytest.raises(EpisodeFormatError) as info:
        load_episodes(path, progress=False)
    assert info.value.line == 2
    assert info.value.json_path == "$.steps[1].action"
    assert "got 7" in str(info.value)


def test_bad_demo_turn_order(tmp_path: Path):
    rec = {"game": "train/x/trial", "task_type": "pick_and_place_simple", "conversations": [
        {"from": "human", "value": "You are in a room.\n\nYour task is to: put a mug in cabinet."},
        {"from": "gpt", "value": "go to cabinet 1"},
        {"from": "gpt", "value": "open cabinet 1"}]}
    path = _write(tmp_path, "demos.jsonl", json.dumps(rec) + "\n")
    with pytest.raises(EpisodeFormatError) as info:
        load_episodes(path, progress=False)
    assert info.value.json_path == "$.conversations[2].from"
    assert "'human'" in info.value.expected and info.value.line == 1

    rec["conversations"] = rec["conversations"][:2]
    rec["conversations"][0]["value"] = "You are in a room."
    path = _write(tmp_path, "demos.jsonl", json.dumps(rec) + "\n")
    with pytest.raises(EpisodeFormatError, match=r"conversations\[0\]\.value: expected the initial observation"):
        load_episodes(path, progress=False)


def test_bad_memory_names_the_record(tmp_path: Path):
    ok = {"memory_id": "m1", "contextual_description": "", "tags": {"outcome": "Success"},
          "content": {"task_meta": {"original_goal": "g"}, "refined_trajectory": [{"action": "a"}]}}
    bad = json.loads(json.dumps(ok))
    bad["memory_id"] = "m2"
    bad["tags"]["outcome"] = "Win"
    path = _write(tmp_path, "mem.json", json.dumps([ok, bad], indent=1))
    with pytest.raises(EpisodeFormatError) as info:
        load_episodes(path, progress=False)
    assert info.value.json_path == "$[1].tags.outcome" and "'Win'" in str(info.value)
    path = _write(tmp_path, "mem.json", json.dumps([ok]))
    (ep,) = load_official_memories(path)
    assert ep.actions == ["a"] and ep.success


@pytest.mark.parametrize("text, message", [
    ("", "an empty file"),
    ("hello\n", "a JSON array or JSON lines"),
    ('{"foo": 1}\n', "keys ['foo']"),
    ('[{"foo": 1}]', "an official SkillRL memory"),
])
def test_unknown_formats(tmp_path: Path, text: str, message: str):
    path = _write(tmp_path, "x.jsonl", text)
    with pytest.raises(EpisodeFormatError, match=message.replace("[", r"\[").replace("]", r"\]")):
        load_episodes(path, progress=False)


def test_missing_file(tmp_path: Path):
    with pytest.raises(FileNotFoundError):
        load_episodes(tmp_path / "nope.jsonl")


# -------------------------------------------------------------------------------------- transcripts


def test_parse_reflexion_transcript(shared_data: Path):
    path = shared_data / "reflexion" / "alfworld_runs" / "reflexion_few_shot_examples.txt"
    if not path.is_file():
        pytest.skip(f"{path} not found")
    blocks = [b for b in path.read_text().split("\n\n") if "Your task is to:" in b]
    assert len(blocks) == 2
    heat = parse_transcript(blocks[0], episode_id="r0", success=False, source="reflexion")
    assert heat.task == "heat some mug and put it in coffeemachine."
    assert heat.actions[:3] == ["look", "look", "go to countertop 1"]
    assert heat.actions[-4:] == ["examine stoveburner 1"] * 4
    assert heat.steps[3].observation == "You pick up the mug 1 from the countertop 1."
    assert heat.steps[0].reasoning.startswith("To solve the task")  # thoughts attach to the next action
    assert not heat.success and heat.reward == 0.0
    look = parse_transcript(blocks[1], episode_id="r1", success=False)
    assert "" in look.actions  # the empty '> ' action is kept
    assert look.steps[3].action == "go to drawer 3" and look.steps[3].observation == "Nothing happens."
    with pytest.raises(EpisodeFormatError):
        parse_transcript("> go to desk 1\nOn the desk 1, you see nothing.", episode_id="x", success=False)
