"""The plugin manager and skillrl's built-in behaviour, registered as an ordinary plugin.

:class:`BuiltinPlugin` implements every ``firstresult`` hook with ``trylast=True``, so any plugin you add
(an object or a module with ``@skillrl.hookimpl`` functions, or an entry point in the ``skillrl`` group)
is asked first and wins by returning a value; returning ``None`` falls through to the default.
"""

from __future__ import annotations

import importlib
import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, Iterable, Sequence

import pluggy

from skillrl import hookspecs
from skillrl.hookspecs import PROJECT, hookimpl
from skillrl.profiles.base import TASK_MARKER, extract_goal

if TYPE_CHECKING:
    from skillrl.bank import SkillBank
    from skillrl.render import SkillBlock
    from skillrl.retrieval import Retrieval
    from skillrl.runtime import SkillRuntime

ENTRY_POINT_GROUP = "skillrl"

#: Modules whose ``@hookimpl`` functions provide skillrl's own teachers and profiles. They are registered like any
#: third-party plugin (simonw/llm's ``default_plugins``), so a built-in and a plugin travel the same road.
BUILTIN_PLUGINS: tuple[str, ...] = (
    # teachers
    "skillrl.teachers.offline",
    "skillrl.teachers.openai",
    "skillrl.teachers.hf",
    # detection profiles
    "skillrl.profiles.alfworld",
    "skillrl.profiles.webshop",
    "skillrl.profiles.search",
)


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


@dataclass(frozen=True)
class Registration:
    """One registered teacher backend or detection profile: its name, factory and a one-line description."""

    name: str
    factory: Callable[..., Any]
    description: str = ""
    plugin: str = ""


_GLOBAL_PM: pluggy.PluginManager | None = None
_GLOBAL_LOCK = threading.RLock()
_REGISTRIES: dict[str, dict[str, Registration]] = {}


def get_plugin_manager() -> pluggy.PluginManager:
    """The process-wide plugin manager behind the teacher and profile registries: skillrl's hook specs, the
    :data:`BUILTIN_PLUGINS` modules and the ``skillrl`` entry points, loaded once on first use."""
    global _GLOBAL_PM
    with _GLOBAL_LOCK:
        if _GLOBAL_PM is None:
            pm = pluggy.PluginManager(PROJECT)
            pm.add_hookspecs(hookspecs)
            for name in BUILTIN_PLUGINS:
                pm.register(importlib.import_module(name), name=name)
            pm.load_setuptools_entrypoints(ENTRY_POINT_GROUP)
            _GLOBAL_PM = pm
        return _GLOBAL_PM


def register_plugin(plugin: Any, name: str | None = None) -> None:
    """Add ``plugin`` (an object or module with ``@skillrl.hookimpl`` functions) to the process-wide manager, e.g. to
    register a teacher or a profile without publishing an entry point. Registries are rebuilt on next use."""
    with _GLOBAL_LOCK:
        get_plugin_manager().register(plugin, name=name)
        _REGISTRIES.clear()


def unregister_plugin(plugin: Any) -> None:
    """Remove a plugin added with :func:`register_plugin`."""
    with _GLOBAL_LOCK:
        get_plugin_manager().unregister(plugin)
        _REGISTRIES.clear()


def _registry(kind: str) -> dict[str, Registration]:
    with _GLOBAL_LOCK:
        if kind not in _REGISTRIES:
            pm = get_plugin_manager()
            found: dict[str, Registration] = {}
            hook = getattr(pm.hook, f"skillrl_register_{kind}")
            for impl in hook.get_hookimpls():  # registration order: built-ins first, later ones override
                plugin_name = pm.get_name(impl.plugin) or ""

                def register(name: str, factory: Callable[..., Any], description: str = "",
                             _plugin: str = plugin_name) -> None:
                    key = str(name).strip().lower()
                    found[key] = Registration(key, factory, description, _plugin)

                impl.function(register=register)
            _REGISTRIES[kind] = found
        return _REGISTRIES[kind]


def teacher_registry() -> dict[str, Registration]:
    """Registered teacher backends by name (``"offline"``, ``"openai"``, ``"hf"``, plus plugins')."""
    return dict(_registry("teachers"))


def profile_registry() -> dict[str, Registration]:
    """Registered detection profiles by name (``"alfworld"``, ``"webshop"``, ``"search"``, plus plugins')."""
    return dict(_registry("profiles"))


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
                            max_mistakes=rt.max_mistakes)

    @hookimpl(trylast=True)
    def skillrl_place_block(self, prompt: Any, block: "SkillBlock") -> Any:
        from skillrl.render import inject

        return inject(prompt, block.text, placement=self.runtime.placement)
