"""skillrl.envs.alfworld for RL on real games: the episode reward, the TRL tool environment (one action protocol,
invalid actions recorded and penalised), dataset rows, held-out training games, demonstrations replayed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from skillrl.actions import tool_call_message
from skillrl.envs.alfworld import (
    ALFWORLD_TASK_TYPES,
    ALFWorldError,
    ALFWorldTool,
    EpisodeReward,
    alfworld_reward,
    alfworld_rows,
    list_games,
    split_heldout,
)


@pytest.fixture(scope="module")
def train_games(shared_data: Path):
    path = shared_data / "alfworld"
    if not (path / "json_2.1.1" / "train").is_dir():
        pytest.skip(f"ALFWorld games not found under {path}")
    return list_games("train", path)


def _expert(game) -> list[str]:
    conv = json.loads((game.trial_dir / "gt_traj.json").read_text(encoding="utf-8"))
    return [t["value"] for t in conv if t["from"] == "gpt"]


def test_episode_reward_follows_verl_agent_and_refuses_bad_settings():
    r = EpisodeReward()
    assert (r(True, 0), r(True, 3), r(False, 2)) == (10.0, pytest.approx(9.7), pytest.approx(-0.2))
    assert r.success_threshold == 5.0 and EpisodeReward(win_reward=1.0, invalid_penalty=0.0)(False, 9) == 0.0
    with pytest.raises(ALFWorldError, match="win_reward"):
        EpisodeReward(win_reward=0.0)


def test_heldout_games_are_the_last_per_type_and_never_kept(train_games):
    keep, held = split_heldout(train_games, 2)
    assert len(held) == 2 * len(ALFWORLD_TASK_TYPES) and len(keep) + len(held) == len(train_games)
    assert not {g.game_id for g in keep} & {g.game_id for g in held}
    assert split_heldout(train_games, 2) == (keep, held)  # deterministic
    with pytest.raises(ALFWorldError, match="cannot hold out"):
        split_heldout(train_games[:1], 1)
    rows = alfworld_rows(held[:1], split="heldout_train")
    assert rows[0]["game"] == str(held[0].path) and rows[0]["split"] == "heldout_train" and "task" not in rows[0]


@pytest.mark.slow  # ~20 s: one real game played to the win
@pytest.mark.alfworld
def test_tool_plays_commands_records_invalid_replies_and_scores_the_rollout(train_games):
    pytest.importorskip("alfworld")
    game = next(g for g in train_games if g.task_type == "pick_and_place_simple")
    actions = _expert(game)
    tool = ALFWorldTool.configured(max_steps=50)()
    first = tool.reset(game=str(game.path))
    assert first.startswith("\n\n") and "Your task is to:" in first
    completion = []
    # an invalid reply first: sent as written ("Nothing happens."), recorded raw, never mapped to a command
    assert tool.step("asdf").startswith("Nothing happens")
    completion += [tool_call_message("asdf"), {"role": "tool", "content": "Nothing happens."}]
    # an assistant turn that calls no tool while the game runs is an invalid action too
    completion.append({"role": "assistant", "content": "I think the apple is in the fridge."})
    completion.append({"role": "user", "content": "..."})
    for a in actions:
        obs = tool.step(a)
        completion += [tool_call_message(a), {"role": "tool", "content": obs}]
    assert tool.won and tool.done and tool.invalid == 1
    assert [t.model_extra["how"] for t in tool.turns] == ["invalid"] + ["exact"] * len(actions)
    assert tool.turns[0].action == "asdf" and tool.turns[0].model_extra["valid"] is False
    # a turn after the game ended costs nothing
    completion.append({"role": "assistant", "content": "done"})
    assert alfworld_reward([completion], environments=[tool]) == [pytest.approx(10.0 - 0.1 * 2)]
    with pytest.raises(ALFWorldError, match="over"):
        tool.step("look")
    with pytest.raises(ALFWorldError, match="environments"):
        alfworld_reward([completion])


@pytest.mark.alfworld
def test_replayed_demonstrations_drop_actions_the_game_rejects(train_games):
    pytest.importorskip("alfworld")
    from skillrl.episode import Episode, Step
    from skillrl.sft import replay_alfworld_demos

    game = next(g for g in train_games if g.task_type == "pick_and_place_simple")
    actions = _expert(game)
    steps = [Step(action="observe room layout and available furniture")] + [Step(action=a) for a in actions]
    demo = Episode(task=game.goal, steps=steps, success=True, reward=1.0, episode_id=game.game_id)
    other = Episode(task="x", steps=[Step(action="look")], success=True, reward=1.0, episode_id="train/none/trial")
    out, stats = replay_alfworld_demos([demo, other], [game])
    assert (stats.demos, stats.replayed, stats.missing_game, stats.dropped, stats.won) == (2, 1, 1, 1, 1)
    ep = out[0]
    assert [s.action for s in ep.steps] == actions and ep.success and ep.metadata["dropped_actions"] == 1
    assert all(s.action in s.model_extra["admissible"] for s in ep.steps)
    assert ep.initial_observation.startswith("-= Welcome to TextWorld")
