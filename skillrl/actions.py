"""The ALFWorld action protocol: one parser for a policy's turn, one rule for what goes to the game.

One turn of the policy has two equivalent forms, and both go through :func:`parse_reply`:

* **text** (the default, as in the official SkillRL / verl-agent ALFWorld prompt): ``<think>reasoning</think>
  <action>go to desk 1</action>`` (:data:`TEXT_PROTOCOL_INSTRUCTION` asks for it). A bare command (``go to desk 1``,
  ``Action: go to desk 1``, ``> go to desk 1``) is accepted too;
* **tool** (TRL's ``environment_factory``, and any tool-calling chat model): a call of the ``step`` tool,
  ``step(action="go to desk 1")``, either as the parsed assistant message TRL hands over (``{"role": "assistant",
  "content": ..., "tool_calls": [{"type": "function", "function": {"name": "step", "arguments": {"action": ...}}}]}``)
  or as the decoded text of a Qwen2.5-style call (``<tool_call>\\n{"name": "step", "arguments": {"action":
  "go to desk 1"}}\\n</tool_call>``). Text before the call (or ``reasoning_content``) is the turn's reasoning.

What goes to the game (:func:`choose_admissible`): the parsed command when it is an admissible command (case,
spacing, quotes and a final period ignored: ``"exact"``); else the admissible command most similar to it when the
similarity is at least :data:`MAP_THRESHOLD` (``"mapped"``); else the command as the policy wrote it - or, when no
command could be read, the reply itself - which ALFWorld answers with ``"Nothing happens."`` (``"invalid"``: an
invalid action, which the episode reward penalises, see :class:`skillrl.envs.alfworld.EpisodeReward`). Nothing is
ever mapped from a reply that names no command, so ``"asdf"`` is not turned into ``go to sinkbasin 1``.

Similarity: :func:`command_similarity`, ``difflib.SequenceMatcher`` ratio of the normalised texts (lower case,
``countertop1`` split into ``countertop 1``), 0 when the reply names a number the command does not have (``go to
cabinet 11`` is never ``go to cabinet 1``). :data:`MAP_THRESHOLD` is a chosen value, not yet tuned (see its comment).

Self-contained (``re``, ``json`` and ``difflib`` only): light to import everywhere (SFT data, the TRL environment,
the OpenRLHF agent, the inference agent).
"""

from __future__ import annotations

import difflib
import json
import re
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

__all__ = [
    "MAP_THRESHOLD",
    "STEP_TOOL",
    "STEP_TOOL_ARGUMENT",
    "STEP_TOOL_NAME",
    "TEXT_PROTOCOL_INSTRUCTION",
    "Choice",
    "ParsedReply",
    "choose_admissible",
    "command_similarity",
    "format_tool_call",
    "format_text_turn",
    "match_admissible",
    "normalize_command",
    "parse_reply",
    "tool_call_message",
]

#: Smallest :func:`command_similarity` at which a command that is not admissible is mapped to the closest admissible
#: one; replies below it go to the game as written (an invalid action). 0.85 is chosen, not tuned: it maps
#: ``go to the countertop 1`` and ``take mug from countertop 1`` (tests/test_actions.py) and none of the issue's wrong
#: mappings. A labelled set of real non-exact replies with a tune/report split (e.g. from bench_skill_effect) is
#: still to build.
MAP_THRESHOLD = 0.85

#: The tool the TRL form calls, and its one argument.
STEP_TOOL_NAME = "step"
STEP_TOOL_ARGUMENT = "action"
#: The ``step`` tool's JSON schema (what ``transformers.utils.get_json_schema`` makes of
#: :meth:`skillrl.envs.alfworld.ALFWorldTool.step`), for chat templates of policies outside TRL.
STEP_TOOL: dict[str, Any] = {
    "type": "function",
    "function": {
        "name": STEP_TOOL_NAME,
        "description": "Take one action in the ALFWorld game.",
        "parameters": {
            "type": "object",
            "properties": {STEP_TOOL_ARGUMENT: {"type": "string", "description": 'One admissible command, e.g. "go to '
                                                                                 'desk 1".'}},
            "required": [STEP_TOOL_ARGUMENT],
        },
        "return": {"type": "string", "description": "The observation after the action."},
    },
}

#: verl-agent's ALFWorld instruction for the text form (the SkillRL code base's prompt, last sentences).
TEXT_PROTOCOL_INSTRUCTION = (
    "You should first reason step-by-step about the current situation. This reasoning process MUST be enclosed "
    "within <think> </think> tags. Once you've finished your reasoning, you should choose an admissible action for "
    "current step and present it within <action> </action> tags."
)

Form = Literal["action_tag", "tool_call", "bare", "none"]

_THINK_RE = re.compile(r"<think>(.*?)(?:</think>|$)", re.IGNORECASE | re.DOTALL)
_ACTION_RE = re.compile(r"<action>(.*?)(?:</action>|$)", re.IGNORECASE | re.DOTALL)
_TOOL_RE = re.compile(r"<tool_call>(.*?)(?:</tool_call>|$)", re.IGNORECASE | re.DOTALL)
_TOOL_ARG_RE = re.compile(r'"' + STEP_TOOL_ARGUMENT + r'"\s*:\s*"((?:[^"\\]|\\.)*)"')
_PREFIX_RE = re.compile(r"^\s*(?:>+|(?:next\s+)?action\s*[:=]|act\s*:|command\s*:)\s*", re.IGNORECASE)
_EDGE_RE = re.compile(r"^[\s\"'`*.>\-]+|[\s\"'`*.!]+$")
_SPACE_RE = re.compile(r"\s+")
_GLUED_NUMBER_RE = re.compile(r"(?<=[a-z])(?=\d)|(?<=\d)(?=[a-z])")
_NUMBER_RE = re.compile(r"\d+")


def normalize_command(text: str) -> str:
    """A command in the form used for comparisons: lower case, one space between words, surrounding quotes,
    backticks, ``>``, ``*`` and a final period removed, numbers split from words (``countertop1`` ->
    ``countertop 1``)."""
    t = _EDGE_RE.sub("", str(text)).lower()
    t = _GLUED_NUMBER_RE.sub(" ", t)
    return _SPACE_RE.sub(" ", t).strip()


def command_similarity(command: str, admissible: str) -> float:
    """How close ``command`` is to the admissible command ``admissible``, in [0, 1].

    ``difflib.SequenceMatcher(None, a, b).ratio()`` of the two normalised texts (:func:`normalize_command`), or 0 when
    ``command`` names a number that ``admissible`` does not (as a multiset: ``take apple from countertop 1`` may become
    ``take apple 1 from countertop 1``, ``go to cabinet 11`` never becomes ``go to cabinet 1``).
    """
    a, b = normalize_command(command), normalize_command(admissible)
    if a == b:
        return 1.0
    if Counter(_NUMBER_RE.findall(a)) - Counter(_NUMBER_RE.findall(b)):
        return 0.0
    return difflib.SequenceMatcher(None, a, b).ratio()


@dataclass(frozen=True)
class ParsedReply:
    """One policy turn, read by :func:`parse_reply`.

    Attributes:
        raw: the reply as text (for a parsed tool-call message: its content followed by the calls in the
            ``<tool_call>`` format the chat template renders).
        command: the command the reply names (``None`` when it names none: empty reply, a tool call without an
            ``action`` argument, a multi-line text without tags or ``Action:`` prefix).
        reasoning: the ``<think>`` text, else the text before the ``<action>`` tag / tool call / ``Action:`` line
            (``""`` when there is none).
        form: ``"action_tag"``, ``"tool_call"``, ``"bare"`` or ``"none"`` (no command).
    """

    raw: str
    command: str | None
    reasoning: str
    form: Form


def _clean(text: str) -> str:
    return " ".join(str(text).split())


def _arguments(value: Any) -> dict[str, Any]:
    if isinstance(value, Mapping):
        return dict(value)
    if isinstance(value, str):
        try:
            out = json.loads(value)
        except ValueError:
            m = _TOOL_ARG_RE.search(value)
            return {STEP_TOOL_ARGUMENT: json.loads(f'"{m.group(1)}"')} if m else {}
        return out if isinstance(out, dict) else {}
    return {}


def _think(text: str) -> str:
    found = _THINK_RE.findall(text)
    return _clean(found[-1]) if found else ""


def _parse_text(text: str) -> ParsedReply:
    raw = text
    calls = _TOOL_RE.findall(text)
    if calls:
        body = calls[0].strip()
        try:
            call = json.loads(body)
        except ValueError:
            call = {"name": STEP_TOOL_NAME if STEP_TOOL_NAME in body else None, "arguments": body}
        command = None
        if isinstance(call, dict) and call.get("name") == STEP_TOOL_NAME:
            value = _arguments(call.get("arguments", call.get("parameters"))).get(STEP_TOOL_ARGUMENT)
            command = _clean(value) if isinstance(value, str) and value.strip() else None
        before = text[: text.lower().find("<tool_call>")]
        reasoning = _think(before) or _clean(_THINK_RE.sub("", before))
        return ParsedReply(raw, command, reasoning, "tool_call" if command else "none")
    actions = _ACTION_RE.findall(text)
    if actions:
        command = _clean(actions[-1].split("<")[0])
        before = text[: text.lower().rfind("<action>")]
        reasoning = _think(before) or _clean(_THINK_RE.sub("", before))
        return ParsedReply(raw, command or None, reasoning, "action_tag" if command else "none")
    reasoning = _think(text)
    rest = _THINK_RE.sub("", text)
    lines = [ln.strip() for ln in rest.splitlines() if ln.strip()]
    prefixed = [i for i, ln in enumerate(lines) if _PREFIX_RE.match(ln)]
    if prefixed:
        i = prefixed[-1]
        command = _clean(_PREFIX_RE.sub("", lines[i]))
        reasoning = reasoning or _clean(" ".join(lines[:i]))
    elif len(lines) == 1:
        command = _clean(lines[0])
    else:
        command = None
    if command is not None and not normalize_command(command):
        command = None
    return ParsedReply(raw, command, reasoning, "bare" if command else "none")


def parse_reply(reply: str | Mapping[str, Any] | None) -> ParsedReply:
    """Read one policy turn, in any of the protocol's forms (see the module docstring). The one parser.

    Args:
        reply: the decoded reply text, or an assistant message as TRL's ``parse_response`` returns it
            (``content``, optional ``reasoning_content`` and ``tool_calls``), or ``None`` (an empty reply).

    Returns:
        a :class:`ParsedReply`. A tool call is read from a ``step`` call's ``action`` argument (a dict or a JSON
        string); ``<action>...</action>`` takes the last tag (an unclosed tag runs to the end of its line); a bare
        command is a one-line reply, or the last ``Action:`` / ``>`` line of a longer one.
    """
    if reply is None:
        return ParsedReply("", None, "", "none")
    if isinstance(reply, Mapping):
        content = reply.get("content") or ""
        if isinstance(content, list):
            content = " ".join(p.get("text", "") for p in content if isinstance(p, Mapping))
        content = str(content)
        calls = reply.get("tool_calls") or []
        if not calls:
            parsed = _parse_text(content)
            reasoning = _clean(reply.get("reasoning_content") or "") or parsed.reasoning
            return ParsedReply(parsed.raw, parsed.command, reasoning, parsed.form)
        rendered, command = [], None
        for c in calls:
            fn = c.get("function", c) if isinstance(c, Mapping) else {}
            args = _arguments(fn.get("arguments"))
            rendered.append(format_tool_call(args.get(STEP_TOOL_ARGUMENT, ""), name=str(fn.get("name")),
                                             arguments=args))
            value = args.get(STEP_TOOL_ARGUMENT)
            if command is None and fn.get("name") == STEP_TOOL_NAME and isinstance(value, str) and value.strip():
                command = _clean(value)
        raw = (content + "\n" if content else "") + "\n".join(rendered)
        reasoning = _clean(reply.get("reasoning_content") or "") or _think(content) or _clean(content)
        return ParsedReply(raw, command, reasoning, "tool_call" if command else "none")
    return _parse_text(str(reply))


def format_tool_call(command: str, *, name: str = STEP_TOOL_NAME, arguments: Mapping[str, Any] | None = None) -> str:
    """A ``step`` call as the chat template renders it: ``<tool_call>\\n{"name": "step", "arguments": {"action":
    "go to desk 1"}}\\n</tool_call>``."""
    args = dict(arguments) if arguments is not None else {STEP_TOOL_ARGUMENT: command}
    return "<tool_call>\n" + json.dumps({"name": name, "arguments": args}, ensure_ascii=False) + "\n</tool_call>"


def tool_call_message(command: str, reasoning: str = "") -> dict[str, Any]:
    """An assistant message calling ``step(action=command)``, in the ``tool_calls`` shape chat templates and TRL
    use (``content`` carries the reasoning, ``""`` when there is none)."""
    return {"role": "assistant", "content": reasoning,
            "tool_calls": [{"type": "function", "function": {"name": STEP_TOOL_NAME,
                                                             "arguments": {STEP_TOOL_ARGUMENT: command}}}]}


def format_text_turn(command: str, reasoning: str = "") -> str:
    """The text form of a turn: ``<think>reasoning</think>\\n<action>command</action>`` (no think block when
    ``reasoning`` is empty)."""
    think = f"<think>{reasoning}</think>\n" if reasoning else ""
    return f"{think}<action>{command}</action>"


def match_admissible(command: str, admissible: Sequence[str],
                     threshold: float = MAP_THRESHOLD) -> tuple[str | None, float]:
    """The admissible command ``command`` stands for: itself (similarity 1.0), or the most similar one when its
    :func:`command_similarity` is at least ``threshold`` (ties: list order); ``(None, best similarity)`` otherwise."""
    norm = normalize_command(command)
    best, best_s = None, -1.0
    for a in admissible:
        if normalize_command(a) == norm:
            return a, 1.0
    for a in admissible:
        s = command_similarity(command, a)
        if s > best_s:
            best, best_s = a, s
    if best is not None and best_s >= threshold:
        return best, round(best_s, 4)
    return None, round(max(best_s, 0.0), 4)


@dataclass(frozen=True)
class Choice:
    """What :func:`choose_admissible` decided for one turn.

    Attributes:
        action: the text to send to the environment.
        reply: the policy's raw reply (:attr:`ParsedReply.raw`).
        how: ``"exact"`` (the command is admissible), ``"mapped"`` (the closest admissible command, similarity at
            least the threshold), ``"invalid"`` (no command, or none close enough: the reply's command, or the reply
            itself, goes to the game as written) or ``"free"`` (no admissible list given: the parsed command, unchecked).
        score: similarity of the command to the chosen (or closest) admissible command; 1.0 for exact, 0.0 without a
            command.
        command: the parsed command (``None``: the reply names none). reasoning: the turn's reasoning.
        form: the reply's form (:attr:`ParsedReply.form`).
    """

    action: str
    reply: str
    how: Literal["exact", "mapped", "invalid", "free"]
    score: float = 1.0
    command: str | None = None
    reasoning: str = ""
    form: Form = "bare"

    @property
    def valid(self) -> bool:
        """Whether the action is an admissible command (``exact`` or ``mapped``)."""
        return self.how in ("exact", "mapped")


#: Longest text sent to the game for a reply that names no command (the game answers "Nothing happens." anyway).
_MAX_INVALID_CHARS = 200


def choose_admissible(reply: str | Mapping[str, Any] | None, admissible: Sequence[str], *,
                      threshold: float = MAP_THRESHOLD) -> Choice:
    """Decide what one policy turn sends to the game (the module docstring's rule).

    Args:
        reply: the policy's turn, any form :func:`parse_reply` reads.
        admissible: the commands valid now (ALFWorld ``admissible_commands``); empty: the parsed command is sent
            unchecked (``how="free"``).
        threshold: smallest similarity for ``"mapped"`` (default :data:`MAP_THRESHOLD`).

    Returns:
        a :class:`Choice`. ``choice.action`` is one of ``admissible`` exactly when ``choice.valid``; otherwise it is
        the reply's command as written (or the reply, one line, at most 200 characters, ``""`` for an empty one).
    """
    parsed = parse_reply(reply)
    common = {"reply": parsed.raw, "command": parsed.command, "reasoning": parsed.reasoning, "form": parsed.form}
    if parsed.command is None:
        return Choice(action=_clean(parsed.raw)[:_MAX_INVALID_CHARS], how="invalid", score=0.0, **common)
    if not admissible:
        return Choice(action=parsed.command, how="free", score=0.0, **common)
    hit, score = match_admissible(parsed.command, admissible, threshold)
    if hit is None:
        return Choice(action=parsed.command, how="invalid", score=score, **common)
    return Choice(action=hit, how="exact" if score == 1.0 else "mapped", score=score, **common)
