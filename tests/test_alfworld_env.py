"""skillrl.envs.alfworld on the real ALFWorld games of the shared data folder.

Listing games needs only the data; playing needs the ``alfworld`` package (skipped when absent).
"""

from __future__ import annotations

import collections
import json
from pathlib import Path

import pytest

from skillrl.envs import ALFWORLD_TASK_TYPES, ALFWorldEnv, ALFWorldError, GameInfo, extract_goal, list_games
from skillrl.envs.alfworld import strip_arrive_loc


@pytest.fixture(scope="module")
def alfworld_dir(shared_data: Path) -> Path:
    path = shared_data / "alfworld"
    if not (path / "json_2.1.1" / "train").is_dir():
        pytest.skip(f"ALFWorld games not found under {path}")
    return path


@pytest.fixture(scope="module")
def train_games(alfworld_dir: Path) -> list[GameInfo]:
    return list_games("train", alfworld_dir)


@pytest.fixture(scope="module")
def env():
    pytest.importorskip("alfworld", reason="playing ALFWorld needs the alfworld package")
    with ALFWorldEnv() as environment:
        yield environment


def _expert_actions(game: GameInfo) -> tuple[str, list[str], list[str]]:
    conv = json.loads((game.trial_dir / "gt_traj.json").read_text(encoding="utf-8"))
    first = conv[0]["value"]
    actions = [turn["value"] for turn in conv if turn["from"] == "gpt"]
    observations = [turn["value"] for turn in conv if turn["from"] == "human"][1:]
    return first, actions, observations


# -- listing ----------------------------------------------------------------------------------------------------


def test_train_split_has_180_games_30_per_type(train_games):
    assert len(train_games) == 180
    assert collections.Counter(g.task_type for g in train_games) == {t: 30 for t in ALFWORLD_TASK_TYPES}
    assert [g.game_id for g in train_games] == sorted(g.game_id for g in train_games)
    assert all(g.split == "train" and g.path.name == "game.tw-pddl" and g.path.is_file() for g in train_games)


def test_valid_seen_has_the_standard_140_games(alfworld_dir):
    games = list_games("valid_seen", alfworld_dir)
    assert len(games) == 140
    # Counts from the data's PROVENANCE-valid.md (traj_data.json task types).
    assert collections.Counter(g.task_type for g in games) == {
        "pick_and_place_simple": 35,
        "look_at_obj_in_light": 13,
        "pick_clean_then_place_in_recep": 27,
        "pick_heat_then_place_in_recep": 16,
        "pick_cool_then_place_in_recep": 25,
        "pick_two_obj_and_place": 24,
    }


def test_game_info_matches_traj_data_and_expert_demos(train_games, alfworld_dir):
    for game in train_games[::17]:
        traj = json.loads((game.trial_dir / "traj_data.json").read_text(encoding="utf-8"))
        assert game.task_type == traj["task_type"]
        first, _, _ = _expert_actions(game)
        assert game.goal == extract_goal(first)
        assert game.goal and game.goal.endswith(".")
    demo_ids = set()
    with open(alfworld_dir / "expert_demos_train.jsonl", encoding="utf-8") as fh:
        for line in fh:
            demo_ids.add(json.loads(line)["game"])
    assert {g.game_id for g in train_games} <= demo_ids


def test_task_type_filter(alfworld_dir):
    games = list_games("train", alfworld_dir, task_types=["pick_heat_then_place_in_recep"])
    assert len(games) == 30 and {g.task_type for g in games} == {"pick_heat_then_place_in_recep"}


def test_list_games_reads_alfworld_data_env_var(alfworld_dir, monkeypatch):
    monkeypatch.setenv("ALFWORLD_DATA", str(alfworld_dir))
    assert len(list_games("valid_seen")) == 140


def test_list_games_errors(tmp_path, monkeypatch, alfworld_dir):
    monkeypatch.delenv("ALFWORLD_DATA", raising=False)
    with pytest.raises(ALFWorldError, match="ALFWORLD_DATA"):
        list_games("train")
    with pytest.raises(ALFWorldError, match="json_2.1.1"):
        list_games("train", tmp_path)
    with pytest.raises(ALFWorldError, match="unknown ALFWorld split"):
        list_games("test", alfworld_dir)
    with pytest.raises(ALFWorldError, match="unknown task type"):
        list_games("train", alfworld_dir, task_types=["pick_and_place"])
    (tmp_path / "json_2.1.1").mkdir()
    with pytest.raises(ALFWorldError, match="does not exist"):
        list_games("valid_seen", tmp_path)


def test_malformed_game_file_is_reported(tmp_path):
    trial = tmp_path / "json_2.1.1" / "train" / "pick_and_place_simple-Apple-None-Fridge-1" / "trial_T1"
    trial.mkdir(parents=True)
    (trial / "traj_data.json").write_text('{"task_type": "pick_and_place_simple"}', encoding="utf-8")
    (trial / "game.tw-pddl").write_text("{not json", encoding="utf-8")
    with pytest.raises(ALFWorldError, match="game.tw-pddl"):
        list_games("train", tmp_path)


def test_text_helpers():
    assert (
        strip_arrive_loc("You arrive at loc 15. On the desk 1, you see a pen 1.")
        == "On the desk 1, you see a pen 1."
    )
    assert strip_arrive_loc("Nothing happens.") == "Nothing happens."
    assert extract_goal("You are in a room.\n\nYour task is to: put a mug in desk.") == "put a mug in desk."
    assert extract_goal("no goal here") is None


# -- playing ----------------------------------------------------------------------------------------------------


@pytest.mark.alfworld
def test_expert_actions_win_one_game_per_task_type(env, train_games):
    for task_type in ALFWORLD_TASK_TYPES:
        game = next(g for g in train_games if g.task_type == task_type)
        first, actions, expected = _expert_actions(game)
        observation, info = env.reset(game)
        assert observation == first
        assert info["goal"] == env.goal == game.goal
        assert info["task_type"] == env.task_type == task_type
        assert info["admissible_commands"] and not env.won and not env.done
        rewards = []
        for action, want in zip(actions, expected, strict=True):
            assert not env.done
            observation, reward, done, info = env.step(action)
            assert observation == want  # ETO format: "You arrive at loc N. " removed
            rewards.append(reward)
        assert rewards[-1] == 1.0 and sum(rewards) == 1.0, task_type
        assert done and env.won and info["won"] and not info["truncated"]
        assert env.num_steps == len(actions) and env.reward == 1.0


@pytest.mark.alfworld
def test_reset_by_path_replays_identically(env, train_games):
    game = train_games[0]
    first, actions, expected = _expert_actions(game)
    for _ in range(2):  # same game twice: cached translation, fresh state
        observation, info = env.reset(game.trial_dir)  # a trial folder works too
        assert observation == first and info["task_type"] == game.task_type and env.game is None
        assert [env.step(a)[0] for a in actions] == expected
        assert env.won


@pytest.mark.alfworld
def test_wrong_actions_and_truncation(train_games):
    pytest.importorskip("alfworld")
    with ALFWorldEnv(max_steps=3, strip_arrive_loc=False) as env:
        env.reset(train_games[40])
        observation, reward, done, info = env.step("dance with the fridge")
        assert observation == "Nothing happens." and reward == 0.0 and not done
        go = next(c for c in env.admissible_commands if c.startswith("go to "))
        observation, reward, done, info = env.step(go)
        assert observation.startswith("You arrive at loc ")  # kept when strip_arrive_loc=False
        observation, reward, done, info = env.step("look")
        assert done and info["truncated"] and not info["won"] and reward == 0.0 and info["step"] == 3
        with pytest.raises(ALFWorldError, match="episode is over"):
            env.step("look")
        env.reset(train_games[40])
        with pytest.raises(TypeError):
            env.step(None)  # type: ignore[arg-type]


def test_env_misuse_errors(tmp_path):
    env = ALFWorldEnv()
    assert env.done and env.admissible_commands == [] and env.goal is None
    with pytest.raises(ALFWorldError, match="before reset"):
        env.step("look")
    with pytest.raises(ALFWorldError, match="does not exist"):
        env.reset(tmp_path / "nothing" / "game.tw-pddl")
    with pytest.raises(ALFWorldError, match="max_steps"):
        ALFWorldEnv(max_steps=0)
