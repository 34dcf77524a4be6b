"""The plugin manager and skillrl's built-in behaviour, registered as an ordinary plugin.

:class:`BuiltinPlugin` implements every ``firstresult`` hook with ``trylast=True``, so any plugin you add
(an object or a module with ``@skillrl.hookimpl`` functions, or an entry point in the ``skillrl`` group)
is asked first and wins by returning a value; returning ``None`` falls through to the default.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Iterable, Sequence

import pluggy

from skillrl import hookspecs
from skillrl.hookspecs import PROJECT, hookimpl
from skillrl.profiles.base import TASK_MARKER, extract_goal

if TYPE_CHECKING:
    from skillrl.bank import SkillBank
    from skillrl.render import SkillBlock
    from skillrl.retrieval import Retrieval
    from skillrl.runtime import SkillRuntime

# the process-wide registries live in skillrl.registry; their public names are re-exported here
from skillrl.registry import (  # noqa: E402
    BUILTIN_PLUGINS,
    ENTRY_POINT_GROUP,
    Registration,
    get_plugin_manager,
    profile_registry,
    register_plugin,
    teacher_registry,
    unregister_plugin,
)

__all__ = [
    "BUILTIN_PLUGINS",
    "ENTRY_POINT_GROUP",
    "BuiltinPlugin",
    "Registration",
    "extract_task",
    "get_plugin_manager",
    "make_plugin_manager",
    "profile_registry",
    "prompt_text",
    "register_plugin",
    "teacher_registry",
    "unregister_plugin",
]


def make_plugin_manager(plugins: Iterable[Any] = (), load_entry_points: bool = True) -> pluggy.PluginManager:
    """A fresh manager with skillrl's hook specs, entry-point plugins (group ``skillrl``) and ``plugins``.

    Built-in behaviour is registered by the caller (:class:`skillrl.runtime.SkillRuntime` registers its
    :class:`BuiltinPlugin`), so each runtime has its own manager and its own defaults.
    """
    pm = pluggy.PluginManager(PROJECT)
    pm.add_hookspecs(hookspecs)
    if load_entry_points:
        pm.load_setuptools_entrypoints(ENTRY_POINT_GROUP)
    for plugin in plugins:
        pm.register(plugin)
    return pm


def prompt_text(prompt: Any) -> str:
    """The text of a prompt: itself for text, the last user message's text for a conversation."""
    if isinstance(prompt, str):
        return prompt
    for message in reversed(list(prompt or [])):
        if isinstance(message, dict) and message.get("role") == "user":
            content = message.get("content", "")
            if isinstance(content, list):
                return "\n".join(p.get("text", "") for p in content if isinstance(p, dict))
            return str(content)
    return ""


def extract_task(text: str) -> str:
    """The goal after the last ``"Your task is to:"`` (ALFWorld / ReAct prompts), trailing period kept, when
    present, else ``text`` stripped: :func:`skillrl.profiles.base.extract_goal` with that one marker."""
    goal = extract_goal(text, (TASK_MARKER,), keep_period=True, required=True)
    return goal if goal is not None else text.strip()


class BuiltinPlugin:
    """skillrl's default behaviour for each hook, reading its settings from the runtime it serves."""

    def __init__(self, runtime: "SkillRuntime") -> None:
        self.runtime = runtime

    @hookimpl(trylast=True)
    def skillrl_task_text(self, prompt: Any, row: dict[str, Any]) -> str | None:
        field = self.runtime.task_field
        if field and isinstance(row.get(field), str) and row[field].strip():
            return row[field].strip()
        return extract_task(prompt_text(prompt)) or None

    @hookimpl(trylast=True)
    def skillrl_detect_category(self, task: str, bank: "SkillBank") -> str | None:
        detector = self.runtime.detector
        if detector is None:
            return None
        return detector.detect_for_bank(task, bank.categories)

    @hookimpl(trylast=True)
    def skillrl_retrieve(self, tasks: Sequence[str], categories: Sequence[str | None],
                         bank: "SkillBank") -> "list[Retrieval]":
        from skillrl.retrieval import template_retrieval

        if self.runtime.mode == "template":
            return [template_retrieval(bank, c, query=t) for t, c in zip(tasks, categories)]
        return self.runtime.retriever.retrieve_batch(list(tasks), list(categories))

    @hookimpl(trylast=True)
    def skillrl_render(self, retrieval: "Retrieval") -> "SkillBlock":
        from skillrl.render import render_block

        rt = self.runtime
        return render_block(retrieval, style=rt.style, max_tokens=rt.max_tokens, tokenizer=rt.tokenizer,
                            max_mistakes=rt.max_mistakes, frame=rt.config.frame)

    @hookimpl(trylast=True)
    def skillrl_place_block(self, prompt: Any, block: "SkillBlock") -> Any:
        from skillrl.render import inject

        return inject(prompt, block.text, placement=self.runtime.placement)
