"""The pluggy hook specifications of skillrl (project name ``"skillrl"``).

Each hook is named for the moment it fires. skillrl's own behaviour is registered as ordinary plugins
(:mod:`skillrl.plugins`), so a plugin of yours overrides a default the same way: implement the hook with
``@skillrl.hookimpl`` and pass the plugin to the runtime (``SkillRuntime(..., plugins=[MyPlugin()])``) or
publish it under the ``skillrl`` entry-point group. For ``firstresult`` hooks the most recently registered
plugin that returns something other than ``None`` wins; return ``None`` to fall through to the default.
See ``docs/plugins.md`` for one example plugin per hook.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable, Sequence

import pluggy

if TYPE_CHECKING:
    from skillrl.bank import SkillBank
    from skillrl.episode import Episode
    from skillrl.render import SkillBlock
    from skillrl.retrieval import Retrieval
    from skillrl.screening import Verdict
    from skillrl.skill import Mistake, Skill

PROJECT = "skillrl"
hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


@hookspec(firstresult=True)
def skillrl_task_text(prompt: Any, row: dict[str, Any]) -> str | None:
    """The task text to retrieve skills for, from a prompt (text or conversation) and its dataset row."""


@hookspec(firstresult=True)
def skillrl_detect_category(task: str, bank: "SkillBank") -> str | None:
    """The bank category of ``task`` (a key of ``bank.task_specific``), or ``None`` for "unknown"."""


@hookspec(firstresult=True)
def skillrl_retrieve(tasks: "Sequence[str]", categories: "Sequence[str | None]",
                     bank: "SkillBank") -> "list[Retrieval] | None":
    """The skills (and mistakes) to show for each distinct task of a batch (one result per task, in order)."""


@hookspec(firstresult=True)
def skillrl_render(retrieval: "Retrieval") -> "SkillBlock | None":
    """The text block shown to the policy for a retrieval."""


@hookspec(firstresult=True)
def skillrl_place_block(prompt: Any, block: "SkillBlock") -> Any:
    """The prompt with ``block`` placed in it (same type as ``prompt``: text or a list of messages)."""


@hookspec
def skillrl_accept_skill(skill: "Skill | Mistake", bank: "SkillBank", context: dict[str, Any]) -> str | None:
    """Veto a skill or common mistake before it is filed (evolution or distillation): a reason rejects it.

    ``context`` holds ``kind`` ("skill" or "mistake"), ``action`` ("add" or "refine"), ``category`` and the caller's
    ``step`` / ``phase`` and ``teacher``.
    """


@hookspec(firstresult=True)
def skillrl_screen_record(record: "Skill | Mistake") -> "Verdict | None":
    """Screen a record (a classifier's verdict, see :class:`skillrl.screening.Screener`), or ``None`` for no opinion."""


@hookspec
def skillrl_episodes_recorded(episodes: "Sequence[Episode]", split: str) -> None:
    """Scored episodes arrived from the trainer (``split`` is ``"train"`` or an evaluation split name)."""


@hookspec
def skillrl_after_validation(step: int, success_rates: dict[str, float], episodes: "Sequence[Episode]") -> None:
    """A validation finished; ``success_rates`` maps category -> success rate over its episodes."""


@hookspec
def skillrl_after_evolution(report: Any, bank: "SkillBank") -> None:
    """An evolution step finished (``report`` is a :class:`skillrl.evolve.EvolutionReport`)."""


@hookspec
def skillrl_bank_changed(bank: "SkillBank", old_version: int, new_version: int) -> None:
    """The bank moved from ``old_version`` to ``new_version`` (evolution, load, or a rank broadcast)."""


# ------------------------------------------------------------------ registries (process-wide, like simonw/llm's
# ``register_models``): called once by :func:`skillrl.registry.get_plugin_manager` to collect what plugins provide.


@hookspec
def skillrl_register_teachers(register: Callable[..., None]) -> None:
    """Register teacher backends: ``register(name, factory, description="")``, where ``factory(arg, **kwargs)``
    builds the :class:`skillrl.teachers.Teacher` for the spec ``"name:arg"`` (``arg`` is ``None`` for ``"name"``)."""


@hookspec
def skillrl_register_profiles(register: Callable[..., None]) -> None:
    """Register category detection profiles: ``register(name, factory, description="")``, where ``factory()``
    returns a :class:`skillrl.profiles.CategoryDetector`."""
