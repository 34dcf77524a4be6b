"""One policy's replies through the four paths of the ALFWorld action protocol - the SFT data, the TRL environment
(and the episode steps TRL completions become), the OpenRLHF ALFWorld agent and the inference agent - on one real
game: every path sends the game the same text and calls the same replies valid or invalid."""

from __future__ import annotations

import asyncio
import importlib.util
from pathlib import Path

import pytest

from skillrl.actions import choose_admissible, parse_reply, tool_call_message

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


@pytest.mark.slow  # 13 resets of one real game: ~130 s on the loaded 2-core machine
@pytest.mark.alfworld
def test_one_policys_replies_mean_the_same_on_every_path(shared_data):
    pytest.importorskip("alfworld")
    from skillrl.adapters.agent.policies import ChatPolicy
    from skillrl.adapters.trl import completion_steps
    from skillrl.envs.alfworld import ALFWorldEnv, ALFWorldTool, list_games

    game = list_games("train", shared_data / "alfworld", task_types=["pick_and_place_simple"])[0]
    with ALFWorldEnv() as env:
        _, info = env.reset(game)
    admissible = info["admissible_commands"]
    go = next(c for c in admissible if c.startswith("go to "))
    # one policy's replies at the first observation, in the protocol's forms (all judged against the same state)
    replies = [f"<think>start with the {go[6:]}</think><action>{go}</action>", go.upper() + ".", "look",
               f"I will {go} now", "asdf", "go to cabinet 99"]
    expected = [choose_admissible(r, admissible) for r in replies]
    assert [c.valid for c in expected] == [True, True, True, False, False, False]

    # 1. the SFT data / tool form: a reply's command as a step call parses back to that command
    for r, c in zip(replies, expected):
        if c.command is not None:
            assert parse_reply(tool_call_message(c.command, c.reasoning)).command == c.command

    # 2. TRL: the environment plays the call's command; the completion's steps record the command and reasoning
    for r, c in zip(replies, expected):
        tool = ALFWorldTool()
        tool.reset(game=str(game.path))
        if c.command is not None:
            tool.step(c.command)
            assert (tool.turns[0].action, tool.turns[0].model_extra["valid"]) == (c.action, c.valid)
    steps = completion_steps([tool_call_message(expected[0].command, expected[0].reasoning),
                              {"role": "tool", "content": "obs"}])
    assert (steps[0].action, steps[0].reasoning) == (expected[0].command, expected[0].reasoning)

    # 3. the OpenRLHF ALFWorld agent: the raw reply text in, what the game got and whether it was valid out
    pytest.importorskip("openrlhf")
    spec = importlib.util.spec_from_file_location("alfworld_agent_paths", EXAMPLES / "openrlhf" / "alfworld_agent.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    for r, c in zip(replies, expected):
        agent = mod.ALFWorldAgent()
        asyncio.run(agent.reset({"label": game.game_id, "observation": mod.OBSERVATION_SLOT}))
        out = asyncio.run(agent.step({"action_text": r}))
        assert (out["action"], out["valid"], out["reasoning"]) == (c.action, c.valid, c.reasoning), r
        assert out["observation"].startswith("Nothing happens") != c.valid
        agent.close()

    # 4. the inference agent: the same replies, the same actions and rules
    class Scripted(ChatPolicy):
        def __init__(self, texts):
            super().__init__()
            self.texts = list(texts)

        def reply(self, messages):
            return self.texts.pop(0)

    policy = Scripted(replies)
    for c in expected:
        assert policy.act([{"role": "user", "content": "x"}], admissible) == c.action
        assert policy.last_choice.valid == c.valid
    assert policy.choices["invalid"] == 3
