"""Where the turns are in chat-templated text, learnt from the tokenizer's own template.

Frameworks that hand an agent an already templated string (OpenRLHF's ``MultiTurnAgentExecutor`` passes
``apply_chat_template(..., tokenize=False)`` output as the first observation) leave the adapter to find the user
turn in it. :class:`ChatLayout` renders the template around sentinel messages once and reads the markup off the
result, so any template works without per-model rules (Qwen2.5 / SmolLM2 ChatML, Llama 3 headers, Gemma's folded
system prompt...). The block goes where :func:`skillrl.render.inject` would put it in a conversation: the same
placement vocabulary (``"user_prefix"``, ``"user_suffix"``, ``"system"``), applied to the rendered text.

This module needs no framework: a tokenizer object with ``chat_template`` and ``apply_chat_template`` (e.g. a
``transformers`` tokenizer) is all it reads.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, get_args

from skillrl.errors import ConfigError, SkillRLError
from skillrl.render import Placement
from skillrl.render import inject as inject_text

__all__ = ["ChatLayout"]

PLACEMENTS: tuple[str, ...] = get_args(Placement)
"""The placements :meth:`ChatLayout.inject` accepts: those of :func:`skillrl.render.inject`."""

_S_USER1, _S_USER2, _S_ASSIST, _S_SYSTEM = ("SKILLRLSENTINELUSERONE", "SKILLRLSENTINELUSERTWO",
                                           "SKILLRLSENTINELASSISTANT", "SKILLRLSENTINELSYSTEM")


def _common_suffix(texts: Sequence[str]) -> str:
    """The longest string every text in ``texts`` ends with (``""`` for no texts)."""
    if not texts:
        return ""
    rev = os.path.commonprefix([t[::-1] for t in texts])
    return rev[::-1]


@dataclass(frozen=True)
class ChatLayout:
    """Where turns start and end in the text a tokenizer's chat template renders, learnt by rendering the
    template around sentinel messages (``apply_chat_template(..., tokenize=False)``), so any template works
    without per-model rules.

    Attributes:
        user_open: text right before a user message's content (common to every rendering: a first user turn,
            one after a system turn, one after an assistant turn), e.g. Qwen2.5 ``"<|im_end|>\\n<|im_start|>user\\n"``.
        user_close: text right after a user message's content (``"<|im_end|>\\n"``).
        after_assistant: text between an assistant message and the next user content (``None`` when the template
            cannot render a second user turn).
        next_turn_tail: text after the last user content with the generation prompt (``"<|im_end|>\\n<|im_start|>
            assistant\\n"``).
        final_tail: the same without the generation prompt.
        system_open: text before a system message's content when the template renders a separate system turn
            (``None`` when it folds the system prompt into the user turn, e.g. Gemma).
        system_end: text between the system content and the first user content.
    """

    user_open: str
    user_close: str
    after_assistant: str | None
    next_turn_tail: str
    final_tail: str
    system_open: str | None = None
    system_end: str | None = None

    @classmethod
    def from_tokenizer(cls, tokenizer: Any) -> ChatLayout | None:
        """The layout of ``tokenizer``'s chat template.

        Args:
            tokenizer: any object with ``chat_template`` (a Jinja string) and ``apply_chat_template(messages,
                tokenize=False, add_generation_prompt=...)``, as ``transformers`` tokenizers have.

        Returns:
            The layout, or ``None`` when there is no template or its user turn cannot be located (callers then
            put blocks in front of the whole text). Cached per (``name_or_path``, template text).
        """
        template = getattr(tokenizer, "chat_template", None)
        if not template or not hasattr(tokenizer, "apply_chat_template"):
            return None
        key = (str(getattr(tokenizer, "name_or_path", "")), hashlib.sha1(str(template).encode()).hexdigest())
        if key not in _LAYOUTS:
            _LAYOUTS[key] = cls._build(tokenizer)
        return _LAYOUTS[key]

    @classmethod
    def _build(cls, tokenizer: Any) -> ChatLayout | None:
        def render(messages: list[dict[str, str]], gen: bool) -> str | None:
            try:
                out = tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=gen)
            except Exception:  # noqa: BLE001 - templates raise anything (TemplateError, ValueError, ...)
                return None
            return out if isinstance(out, str) else None

        u1, u2 = {"role": "user", "content": _S_USER1}, {"role": "user", "content": _S_USER2}
        asst, sys_m = {"role": "assistant", "content": _S_ASSIST}, {"role": "system", "content": _S_SYSTEM}
        a, a0 = render([u1], True), render([u1], False)
        if not a or _S_USER1 not in a:
            return None
        c, c0 = render([u1, asst, u2], True), render([u1, asst, u2], False)
        if c is None or _S_ASSIST not in c or _S_USER2 not in c:
            c = c0 = None
        b = render([sys_m, u1], True)
        befores = [a[:a.index(_S_USER1)]]
        if c is not None:
            befores.append(c[c.index(_S_ASSIST) + len(_S_ASSIST):c.index(_S_USER2)])
        if c is None and b is not None and _S_USER1 in b:  # a system turn as the second sample of a turn start
            befores.append(b[:b.index(_S_USER1)])
        user_open = _common_suffix(befores)
        if not user_open.strip():
            return None
        afters = [a[a.index(_S_USER1) + len(_S_USER1):]]
        if a0 and _S_USER1 in a0:
            afters.append(a0[a0.index(_S_USER1) + len(_S_USER1):])
        if c is not None:
            afters.append(c[c.index(_S_USER2) + len(_S_USER2):])
        user_close = os.path.commonprefix(afters)
        after_assistant = c[c.index(_S_ASSIST) + len(_S_ASSIST):c.index(_S_USER2)] if c is not None else None
        next_tail = c[c.index(_S_USER2) + len(_S_USER2):] if c is not None else afters[0]
        final_tail = c0[c0.index(_S_USER2) + len(_S_USER2):] if c0 and _S_USER2 in c0 else (
            afters[1] if len(afters) > 1 else user_close)
        system_open = system_end = None
        if b is not None and _S_SYSTEM in b and _S_USER1 in b:
            xs, us = b.index(_S_SYSTEM), b.index(_S_USER1)
            uo = b.rfind(user_open, 0, us)
            if xs < us and uo >= xs + len(_S_SYSTEM):  # the system text sits outside the user turn
                system_open = b[:xs]
                system_end = b[xs + len(_S_SYSTEM):uo + len(user_open)]
        return cls(user_open=user_open, user_close=user_close, after_assistant=after_assistant,
                   next_turn_tail=next_tail, final_tail=final_tail, system_open=system_open or None,
                   system_end=system_end or None)

    def user_span(self, prompt: str) -> tuple[int, int] | None:
        """``(start, end)`` character offsets of the last user message's content in ``prompt``, or ``None`` when
        no user turn is found (an unterminated last turn ends at ``len(prompt)``)."""
        i = prompt.rfind(self.user_open)
        if i < 0:
            return None
        start = i + len(self.user_open)
        end = prompt.find(self.user_close, start) if self.user_close else -1
        return start, (end if end >= 0 else len(prompt))

    def user_content(self, prompt: str) -> str:
        """The last user message's content (the whole prompt when no user turn is found)."""
        span = self.user_span(prompt)
        return prompt[span[0]:span[1]] if span else prompt

    def inject(self, prompt: str, block: str, placement: Placement = "user_prefix", separator: str = "\n\n") -> str:
        """``prompt`` (rendered text) with ``block`` where :func:`skillrl.render.inject` would put it in the
        conversation the text was rendered from.

        Args:
            prompt: chat-templated text.
            block: the rendered skill block; empty: ``prompt`` unchanged.
            placement: ``"user_prefix"`` (default) / ``"user_suffix"``: before / after the last user message's
                content; ``"system"``: appended to the system turn the text starts with (templates that fold the
                system prompt into the user turn, or a text without one: ``"user_prefix"``). A text without a
                recognisable user turn is treated as plain text, as :func:`skillrl.render.inject` treats it
                (block in front; ``"user_suffix"``: behind).
            separator: between the block and the existing content (left out when that content is empty).

        Raises:
            ConfigError: ``placement`` is not one of :data:`PLACEMENTS`.
        """
        if placement not in PLACEMENTS:
            raise ConfigError(f"unknown placement {placement!r}: expected one of {', '.join(map(repr, PLACEMENTS))}")
        if not block:
            return prompt
        if placement == "system" and self.system_open and self.system_end and prompt.startswith(self.system_open):
            start = len(self.system_open)
            end = prompt.find(self.system_end, start)
            if end >= 0:
                return prompt[:end] + (separator if end > start else "") + block + prompt[end:]
        span = self.user_span(prompt)
        if span is None:
            return str(inject_text(prompt, block, placement, separator))
        start, end = span
        sep = separator if end > start else ""
        if placement == "user_suffix":
            return prompt[:end] + sep + block + prompt[end:]
        return prompt[:start] + block + sep + prompt[start:]

    def next_user_turn(self, text: str, *, done: bool = False, action_ended_with: str | None = None) -> str:
        """Environment feedback as the next user turn, to append after the policy's action.

        Args:
            text: the feedback (plain text).
            done: leave out the generation prompt (the episode ends here).
            action_ended_with: the special token text the action's tokens ended with (e.g. ``"<|im_end|>"``);
                it is not repeated.

        Raises:
            SkillRLError: the template cannot render a user turn after an assistant turn.
        """
        if self.after_assistant is None:
            raise SkillRLError("this chat template cannot render a user turn after an assistant turn")
        head = self.after_assistant
        if action_ended_with and head.startswith(action_ended_with):
            head = head[len(action_ended_with):]
        return head + text + (self.final_tail if done else self.next_turn_tail)

    def strip_markup(self, text: str) -> str:
        """``text`` without the template's turn markup (each marker becomes a newline; the result is stripped),
        for logging feedback or an action as plain text."""
        markers = {self.after_assistant or "", self.next_turn_tail, self.final_tail, self.user_open, self.user_close}
        # the bare headers too (feedback after an action whose end-of-turn token was not repeated)
        for m, prefix in ((self.user_open, self.user_close), (self.after_assistant or "", self.user_close),
                          (self.next_turn_tail, self.final_tail)):
            if prefix and m.startswith(prefix):
                markers.add(m[len(prefix):])
        for marker in sorted(markers, key=len, reverse=True):
            if marker.strip():
                text = text.replace(marker, "\n")
        return text.strip()


_LAYOUTS: dict[tuple[str, str], ChatLayout | None] = {}
