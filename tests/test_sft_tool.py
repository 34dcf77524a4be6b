"""skillrl.sft's tool form: cold-start examples whose prompts are the GRPO prompts, trained on assistant tokens only,
cached by everything they depend on. Real ALFWorld games, the real official bank, the tiny model (speed)."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("trl")
pytest.importorskip("alfworld", reason="replaying demonstrations needs the alfworld package")


@pytest.fixture(scope="module")
def setup(shared_data: Path, tiny_model):
    from transformers import AutoTokenizer

    from skillrl.envs.alfworld import list_games
    from skillrl.runtime import SkillRuntime

    games = list_games("train", shared_data / "alfworld", task_types=["pick_heat_then_place_in_recep"])[:1]
    bank = shared_data / "skillrl-official/memory_data/alfworld/claude_style_skills.json"
    runtime = SkillRuntime(bank, mode="template", profile="alfworld", style="compact", max_tokens=150,
                           tokenizer=AutoTokenizer.from_pretrained(tiny_model), task_source="environment")
    return games, runtime, shared_data / "alfworld/expert_demos_train.jsonl"


@pytest.mark.slow  # ~70 s on 2 idle cores (replay, 3 SFT steps of the tiny model, the demos file read twice)
@pytest.mark.alfworld
def test_cold_start_examples_start_like_rollouts_and_train_on_the_calls_only(setup, tiny_model, tmp_path, monkeypatch):
    import skillrl.sft as sft
    from skillrl.actions import parse_reply
    from skillrl.envs.alfworld import ALFWorldEnv, alfworld_rows, first_observation_text
    from skillrl.episode import load_alfworld_demos

    games, runtime, demos = setup
    config = sft.ColdStartConfig(epochs=3, learning_rate=3e-3)
    folder, report = sft.alfworld_cold_start(runtime, games, demos=demos, base=tiny_model, max_actions=2,
                                             config=config, cache=tmp_path)
    assert report["replay"]["replayed"] == 1 and report["examples"] == 1 and report["steps"] == 3
    assert report["last_loss"] < report["first_loss"]
    # the example's prompt is what the environment path of SkillCallback builds from the game's first observation
    with ALFWorldEnv() as env:
        observation, _ = env.reset(games[0])
    row = alfworld_rows(games)[0]
    messages, aug = sft.environment_prompt(runtime, row["prompt"], first_observation_text(observation), row)
    assert aug.category == "heat" and aug.skill_ids and aug.block.text in messages[-1]["content"]
    # the examples themselves (rebuilt as alfworld_cold_start does): same start, then step calls and observations
    replayed, _ = sft.replay_alfworld_demos(
        [d for d in load_alfworld_demos(demos, progress=False) if d.episode_id == games[0].game_id], games,
        max_actions=2)
    from transformers.utils import get_json_schema

    from skillrl.envs.alfworld import ALFWorldTool

    tools = [get_json_schema(ALFWorldTool.step)]
    ex = sft.tool_examples(replayed, runtime, rows={row["game_id"]: row}, tools=tools,
                           first_observation=lambda ep: first_observation_text(ep.initial_observation))[0]
    assert ex["messages"][:2] == messages and ex["skill_ids"] == list(aug.skill_ids)
    calls = [parse_reply(m).command for m in ex["messages"] if m["role"] == "assistant"]
    assert calls == [s.action for s in replayed[0].steps] and len(calls) == 2
    # loss on the assistant tokens only: the two calls and their end markers
    assert report["assistant_tokens"] < report["tokens"] / 5
    # cached: the same inputs give the same folder without training again; another setting gives another folder
    monkeypatch.setattr(sft, "train_cold_start", lambda *a, **k: (_ for _ in ()).throw(AssertionError("trained")))
    again, _ = sft.alfworld_cold_start(runtime, games, demos=demos, base=tiny_model, max_actions=2, config=config,
                                       cache=tmp_path)
    assert again == folder and sft.cold_start_report(folder)["key"] in folder.name
    assert sft.cold_start_key(tiny_model, [ex], config) != sft.cold_start_key(
        tiny_model, [ex], sft.ColdStartConfig(epochs=4, learning_rate=3e-3))
