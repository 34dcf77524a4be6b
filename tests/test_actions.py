"""skillrl.actions: the one ALFWorld action protocol (parse a turn in any form; map only above the threshold)."""

from __future__ import annotations

import pytest

from skillrl.actions import (
    MAP_THRESHOLD,
    STEP_TOOL,
    choose_admissible,
    command_similarity,
    format_text_turn,
    format_tool_call,
    parse_reply,
    tool_call_message,
)

ADMISSIBLE = ["go to cabinet 1", "go to cabinet 11", "go to countertop 1", "go to sinkbasin 1", "go to microwave 2",
              "heat mug 1 with microwave 1", "open microwave 1", "take mug 1 from countertop 1", "look", "inventory"]


@pytest.mark.parametrize("reply, command, reasoning, form", [
    ("<think>the mug is cold</think>\n<action>go to countertop 1</action>", "go to countertop 1", "the mug is cold",
     "action_tag"),
    ("I look first.\n<action>look", "look", "I look first.", "action_tag"),  # unclosed tag
    ("go to countertop 1", "go to countertop 1", "", "bare"),
    ("Thought: check the sink.\nAction: go to sinkbasin 1", "go to sinkbasin 1", "Thought: check the sink.", "bare"),
    ('Find the mug.\n<tool_call>\n{"name": "step", "arguments": {"action": "look"}}\n</tool_call>', "look",
     "Find the mug.", "tool_call"),
    ('<tool_call>\n{"name": "step", "arguments": "{\\"action\\": \\"inventory\\"}"}\n</tool_call>', "inventory", "",
     "tool_call"),
    ('<tool_call>\n{"name": "search", "arguments": {"query": "mug"}}\n</tool_call>', None, "", "none"),
    ("I am not sure what to do.\nMaybe the fridge.", None, "", "none"),  # several lines, no tag, no prefix
    ("", None, "", "none"),
])
def test_parse_reply_reads_every_form_of_the_protocol(reply, command, reasoning, form):
    parsed = parse_reply(reply)
    assert (parsed.command, parsed.reasoning, parsed.form) == (command, reasoning, form)
    assert parsed.raw == reply


def test_a_parsed_tool_call_message_keeps_the_call_and_its_reasoning():
    msg = tool_call_message("go to cabinet 1", "the mug may be in a cabinet")
    parsed = parse_reply(msg)
    assert (parsed.command, parsed.reasoning, parsed.form) == ("go to cabinet 1", "the mug may be in a cabinet",
                                                               "tool_call")
    assert parsed.raw.endswith(format_tool_call("go to cabinet 1"))
    # the text the chat template renders for that call parses to the same command
    assert parse_reply(format_tool_call("go to cabinet 1")).command == "go to cabinet 1"
    assert parse_reply(format_text_turn("go to cabinet 1", "why")).command == "go to cabinet 1"
    assert STEP_TOOL["function"]["parameters"]["required"] == ["action"]


@pytest.mark.parametrize("reply, action, how", [
    ("Go to Countertop 1.", "go to countertop 1", "exact"),
    ("<action>go to countertop1</action>", "go to countertop 1", "exact"),  # glued number
    ("go to the countertop 1", "go to countertop 1", "mapped"),
    # the wrong mappings are invalid actions now: sent as written, never turned into another command
    ("asdf", "asdf", "invalid"),
    ("go to microwave 1", "go to microwave 1", "invalid"),
    ("open cabinet 1", "open cabinet 1", "invalid"),
    ("go to cabinet 12", "go to cabinet 12", "invalid"),  # a number the game does not have
    ("I should not go to countertop 1 again; instead go to cabinet 1\nmaybe later",
     "I should not go to countertop 1 again; instead go to cabinet 1 maybe later", "invalid"),
    ("", "", "invalid"),
])
def test_choose_admissible_maps_only_above_the_threshold(reply, action, how):
    choice = choose_admissible(reply, ADMISSIBLE)
    assert (choice.action, choice.how) == (action, how)
    assert choice.valid == (how in ("exact", "mapped")) and (choice.action in ADMISSIBLE) == choice.valid
    assert choice.reply == reply


def test_similarity_never_changes_a_number_and_the_threshold_is_configurable():
    assert command_similarity("go to cabinet 1", "go to cabinet 11") == 0.0
    assert command_similarity("take mug from countertop 1", "take mug 1 from countertop 1") >= MAP_THRESHOLD
    assert choose_admissible("go to the countertop 1", ADMISSIBLE, threshold=1.0).how == "invalid"
    assert choose_admissible("open microwave", ADMISSIBLE, threshold=0.5).action == "open microwave 1"
    free = choose_admissible("Action: open drawer 3", [])  # no admissible list: the parsed command, unchecked
    assert (free.action, free.how) == ("open drawer 3", "free")
