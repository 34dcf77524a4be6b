"""The process-wide registries of teacher backends and detection profiles (simonw/llm's ``register_models`` shape).

One pluggy manager per process holds skillrl's hook specs, the :data:`BUILTIN_PLUGINS` modules (skillrl's own
teachers and profiles, registered like any third-party plugin) and the ``skillrl`` entry points. The hooks
``skillrl_register_teachers`` / ``skillrl_register_profiles`` are called once to fill :func:`teacher_registry` and
:func:`profile_registry`; :func:`register_plugin` adds a plugin at run time. This module depends on the hook specs
only, so the teachers and profiles can resolve names through it without importing the rest of skillrl.
"""

from __future__ import annotations

import importlib
import threading
from dataclasses import dataclass
from typing import Any, Callable

import pluggy

from skillrl import hookspecs
from skillrl.hookspecs import PROJECT

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
