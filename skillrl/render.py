"""Skills -> the text block the policy reads, within a token budget, and where it goes in a prompt.

The default ``official`` style reproduces aiming-lab/SkillRL's ``format_for_prompt`` byte for byte, so a
checkpoint trained with SkillRL sees the format it knows::

    ### General Principles
    - **<title>**: <principle>

    ### <Category> Skills            (``### Task-Relevant Skills`` when no category was detected)
    - **<title>**: <principle>
      _Apply when: <when_to_apply>_

    ### Mistakes to Avoid            (first 5 mistakes, as the official code)
    - **Don't**: <description>
      **Instead**: <how_to_avoid>

A *frame* line can head the block (``frame=``; :data:`DEFAULT_FRAME`, "Skills learned from past episodes (advice,
not instructions):"), so that a skill reads as advice drawn from past episodes, never as a system instruction
(issue 12). :class:`skillrl.config.SkillConfig` turns it on for the ``"paper"`` preset and off for ``"official"``,
whose block then stays byte-identical to the official ``format_for_prompt``.

The ``compact`` style keeps only the principles (task-specific first) and each mistake's remedy: no titles,
no "Apply when" lines, no mistake descriptions: about two thirds of the official style's tokens on the
official ALFWorld bank (874 vs 1,279 estimated tokens for pick_and_place in template mode).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Callable, Literal, Protocol, Sequence

from skillrl.errors import ConfigError
from skillrl.skill import Mistake, Skill

Style = Literal["official", "compact"]
Placement = Literal["system", "user_prefix", "user_suffix"]
NO_SKILLS_TEXT = "No relevant skills found for this task."
DEFAULT_FRAME = "Skills learned from past episodes (advice, not instructions):"
"""The header line of a framed block (``render_block(..., frame=DEFAULT_FRAME)``)."""


class _Scored(Protocol):
    skill: Skill
    score: float


class RetrievalLike(Protocol):
    """What :func:`render_block` reads: a :class:`skillrl.retrieval.Retrieval` or anything shaped like it."""

    category: str | None
    general: Sequence[_Scored]
    task_specific: Sequence[_Scored]
    mistakes: Sequence[Mistake]


@dataclass(frozen=True)
class SkillBlock:
    """A rendered skill block.

    Attributes:
        text: the block (empty string when nothing was selected and ``empty_text`` is ``""``).
        skill_ids: ids of the skills shown, general first then task-specific (what reward functions receive).
        mistake_ids: ids of the mistakes shown.
        tokens: the block's length in tokens (tokenizer count when one was given, else the estimate).
        dropped_ids: ids removed to meet the token budget, lowest-ranked first.
    """

    text: str
    skill_ids: tuple[str, ...] = ()
    mistake_ids: tuple[str, ...] = ()
    tokens: int = 0
    dropped_ids: tuple[str, ...] = field(default=())


def estimate_tokens(text: str) -> int:
    """A tokenizer-free token estimate: ``ceil(len(text) / 4)`` (about right for English BPE vocabularies)."""
    return math.ceil(len(text) / 4)


def token_counter(tokenizer: Any | None) -> Callable[[str], int]:
    """A function counting tokens with ``tokenizer`` (a Hugging Face tokenizer, a ``tokenizers.Tokenizer``,
    or any callable ``str -> int``); :func:`estimate_tokens` when ``None``."""
    if tokenizer is None:
        return estimate_tokens
    if callable(tokenizer) and not hasattr(tokenizer, "encode"):
        return tokenizer
    def count(text: str) -> int:
        try:
            ids = tokenizer.encode(text, add_special_tokens=False)
        except TypeError:  # tokenizers.Tokenizer.encode has no add_special_tokens keyword
            ids = tokenizer.encode(text)
        return len(getattr(ids, "ids", ids))
    return count


def _task_heading(category: str | None) -> str:
    if not category:
        return "### Task-Relevant Skills"
    return f"### {category.replace('_', ' ').title()} Skills"


def format_sections(general: Sequence[Skill], task: Sequence[Skill], mistakes: Sequence[Mistake],
                    category: str | None, style: Style = "official") -> str:
    """Format already-selected records (no budget, no truncation). Returns ``""`` when all are empty."""
    sections: list[str] = []
    if style == "official":
        if general:
            sections.append("\n".join(["### General Principles"] + [f"- **{s.title}**: {s.principle}" for s in general]))
        if task:
            lines = [_task_heading(category)]
            for s in task:
                lines.append(f"- **{s.title}**: {s.principle}")
                if s.when_to_apply:
                    lines.append(f"  _Apply when: {s.when_to_apply}_")
            sections.append("\n".join(lines))
        if mistakes:
            lines = ["### Mistakes to Avoid"]
            for m in mistakes:
                lines.append(f"- **Don't**: {m.description}")
                lines.append(f"  **Instead**: {m.how_to_avoid}")
            sections.append("\n".join(lines))
    elif style == "compact":
        if general or task:
            sections.append("\n".join(["Skills:"] + [f"- {s.principle}" for s in [*task, *general]]))
        if mistakes:
            sections.append("\n".join(["Instead of common mistakes:"] + [f"- {m.how_to_avoid}" for m in mistakes]))
    else:
        raise ConfigError(f"unknown style {style!r}: expected 'official' or 'compact'")
    return "\n\n".join(sections)


def render_block(
    retrieval: RetrievalLike,
    style: Style = "official",
    max_tokens: int | None = None,
    tokenizer: Any | None = None,
    max_mistakes: int = 5,
    empty_text: str = NO_SKILLS_TEXT,
    frame: str | None = None,
) -> SkillBlock:
    """Render a retrieval as a skill block, dropping the lowest-ranked items until it fits ``max_tokens``.

    Args:
        retrieval: the selected skills with their scores (see :class:`RetrievalLike`).
        style: ``"official"`` (SkillRL's markdown, default) or ``"compact"``.
        max_tokens: token budget for the whole block; ``None`` = no budget.
        tokenizer: counts tokens for the budget (see :func:`token_counter`); default: the estimate.
        max_mistakes: at most this many mistakes, in bank order (official: 5).
        empty_text: text when nothing is selected (official: "No relevant skills found for this task.").
        frame: a header line put above the skills (``None``, default: none, the official output), e.g.
            :data:`DEFAULT_FRAME`; it counts toward ``max_tokens`` and is left out when nothing is shown (the block
            is then ``empty_text``).

    Drop order (lowest rank first): mistakes from the last, then general and task-specific skills by
    ascending score (general before task-specific on equal score, later before earlier).

    Raises:
        ValueError: unknown ``style`` or a negative ``max_tokens``.
    """
    if max_tokens is not None and max_tokens < 0:
        raise ConfigError(f"max_tokens must be >= 0, got {max_tokens}")
    count = token_counter(tokenizer)
    general = list(retrieval.general)
    task = list(retrieval.task_specific)
    mistakes = list(retrieval.mistakes)[:max_mistakes]
    # rank = (tier priority, score, -position): the smallest goes first
    ranked: list[tuple[tuple[float, float, int], str]] = []
    ranked += [((0, 0.0, -i), m.mistake_id) for i, m in enumerate(mistakes)]
    ranked += [((1, s.score, -i), s.skill.skill_id) for i, s in enumerate(general)]
    ranked += [((1.5, s.score, -i), s.skill.skill_id) for i, s in enumerate(task)]
    ranked.sort()
    dropped: list[str] = []

    def build() -> str:
        gone = set(dropped)
        text = format_sections([s.skill for s in general if s.skill.skill_id not in gone],
                               [s.skill for s in task if s.skill.skill_id not in gone],
                               [m for m in mistakes if m.mistake_id not in gone], retrieval.category, style)
        return f"{frame}\n{text}" if text and frame else text

    text = build()
    if max_tokens is not None:
        # drop one by one from the lowest rank (n is at most a few dozen items)
        while text and count(text) > max_tokens and len(dropped) < len(ranked):
            dropped.append(ranked[len(dropped)][1])
            text = build()
    gone = set(dropped)
    skill_ids = tuple(s.skill.skill_id for s in [*general, *task] if s.skill.skill_id not in gone)
    mistake_ids = tuple(m.mistake_id for m in mistakes if m.mistake_id not in gone)
    if not text:
        text = empty_text
    return SkillBlock(text=text, skill_ids=skill_ids, mistake_ids=mistake_ids,
                      tokens=count(text) if text else 0, dropped_ids=tuple(dropped))


def inject(prompt: str | list[dict[str, Any]], block: str, placement: Placement = "user_prefix",
           separator: str = "\n\n") -> str | list[dict[str, Any]]:
    """Put ``block`` into a prompt, returning a new prompt of the same type (the input is not modified).

    Args:
        prompt: plain text, or a conversation ``[{"role": ..., "content": ...}, ...]`` (TRL's conversational format).
        block: the rendered skill block; an empty block returns the prompt unchanged.
        placement: for conversations, ``"system"`` appends the block to the first system message (or inserts
            one at the front), ``"user_prefix"`` / ``"user_suffix"`` put it before / after the text of the
            last user message. Plain text prompts always get the block in front (``user_suffix``: behind).
        separator: between block and existing text.

    Raises:
        ValueError: unknown placement, or a conversation without a user message for the ``user_*`` placements.
    """
    if placement not in ("system", "user_prefix", "user_suffix"):
        raise ConfigError(f"unknown placement {placement!r}: expected 'system', 'user_prefix' or 'user_suffix'")
    if not block:
        return prompt
    if isinstance(prompt, str):
        return f"{prompt}{separator}{block}" if placement == "user_suffix" else f"{block}{separator}{prompt}"
    messages = [dict(m) for m in prompt]
    if placement == "system":
        if messages and messages[0].get("role") == "system":
            messages[0]["content"] = _join(messages[0].get("content", ""), block, separator, front=False)
        else:
            messages.insert(0, {"role": "system", "content": block})
        return messages
    for m in reversed(messages):
        if m.get("role") == "user":
            m["content"] = _join(m.get("content", ""), block, separator, front=placement == "user_prefix")
            return messages
    raise ConfigError("the conversation has no user message to put the skill block into")


def _join(content: Any, block: str, separator: str, front: bool) -> Any:
    if isinstance(content, list):  # multimodal content parts
        part = {"type": "text", "text": block}
        return [part, *content] if front else [*content, part]
    if not content:
        return block
    return f"{block}{separator}{content}" if front else f"{content}{separator}{block}"


def as_message(block: SkillBlock | str, role: str = "system") -> dict[str, str]:
    """The block as a chat message ``{"role": role, "content": text}``."""
    return {"role": role, "content": block.text if isinstance(block, SkillBlock) else block}


def remove_block(prompt: str | list[dict[str, Any]], block: str,
                 separator: str = "\n\n") -> str | list[dict[str, Any]]:
    """Undo :func:`inject`: the prompt without ``block`` (any placement), e.g. to score rewards on the prompt
    the user wrote. Text the environment appended after injection (a first observation) is kept."""
    if not block:
        return prompt

    def strip(text: str) -> str:
        for pattern in (f"{block}{separator}", f"{separator}{block}", block):
            if pattern in text:
                return text.replace(pattern, "", 1)
        return text

    if isinstance(prompt, str):
        return strip(prompt)
    out = []
    for m in prompt:
        content = m.get("content")
        if content == block:
            continue
        if isinstance(content, str):
            m = {**m, "content": strip(content)}
        elif isinstance(content, list):
            m = {**m, "content": [p for p in content if not (isinstance(p, dict) and p.get("text") == block)]}
        out.append(m)
    return out
