"""The offline teacher (``"offline"``): skills from statistics over real episodes, no LLM.

Its two phases live in :mod:`~skillrl.teachers.offline.distill` and :mod:`~skillrl.teachers.offline.reflect`; the
episode analyses they read in :mod:`~skillrl.teachers.offline.alfworld` (the ALFWorld action grammar, goal shapes
and traces) and :mod:`~skillrl.teachers.offline.generic` (any environment).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from pydantic import BaseModel

from skillrl.episode import Episode
from skillrl.hookspecs import hookimpl
from skillrl.skill import Skill
from skillrl.teachers.base import Teacher
from skillrl.teachers.offline.alfworld import parse_alfworld_action, parse_alfworld_task
from skillrl.teachers.offline.distill import DistillPhase
from skillrl.teachers.offline.reflect import ReflectPhase
from skillrl.teachers.schemas import Proposals, SkillProposal, TeacherAnswer, Usage

__all__ = ["OfflineTeacher", "parse_alfworld_action", "parse_alfworld_task"]


class OfflineTeacher(DistillPhase, ReflectPhase, Teacher):
    """A teacher that needs no LLM: it abstracts the real actions and observations of episodes.

    From successes (:meth:`distill`):

    - ALFWorld episodes (recognised from their commands: go to / take / put / open / close / heat / cool /
      clean / use / examine): objects and receptacles become ``[Object]`` / ``[Receptacle]`` / ``[Target]``,
      repeated ``go to`` searches collapse to "search receptacles until found", and per category it writes
      task-specific skills: the most common abstract plan (with its share), the appliance step with the
      command that worked, where the object was found (receptacle-type frequencies), how many receptacles
      were searched (median / 90th percentile), the goal phrasings of the category, and category extras
      (where the lamp is, where the second object is). General skills come from regularities that hold in
      at least ``min_categories`` categories: opening closed receptacles, going straight to the target
      after taking the object, not revisiting searched receptacles, using exact object ids, the
      ``put ... in/on ...`` syntax, opening closed targets.
    - Other domains (WebShop ``search[...]`` / ``click[...]``, Search-QA...): generic action-frequency
      skills: the most common action plan, the usual first and last actions, the typical length.

    From failures (:meth:`reflect`): the failure point of each episode - a repeated-action loop, "Nothing
    happens." answers to invalid commands, the wrong object taken, a missing heat/cool/clean step, a
    missing or wrong put, the lamp used before taking the object, running out of steps - aggregated per
    category into lessons (task-specific skills) and common mistakes quoting the real actions. Official
    failure memories (no steps) contribute their recorded ``mistakes_to_avoid``: similar entries are
    clustered and each large cluster gives one mistake (remedy taken from its "instead of ..." clause).

    Every number in a skill is computed from the given episodes. When an existing skill of the same
    category has the same title, a ``refine`` proposal (with its ``skill_id``) replaces an ``add``, and an
    unchanged one is skipped, so re-distilling does not duplicate skills.

    Args:
        min_support: fewest episodes of a category needed for its skills (default 3).
        min_categories: fewest categories in which a regularity must hold to become a general skill
            (default 2; it is capped at the number of categories present).
        regularity: share of cases a regularity must reach in each such category (default 0.6).
        max_steps: episode step limit used to recognise "out of steps" failures when the episode's
            ``metadata["max_steps"]`` is absent (default 50, ALFWorld's usual limit).
        max_mistakes: most common mistakes taken from recorded ``mistakes_to_avoid`` per call (default 5):
            similar entries (word overlap) are clustered and the largest clusters win.
    """

    name = "offline"

    def __init__(self, *, min_support: int = 3, min_categories: int = 2, regularity: float = 0.6,
                 max_steps: int = 50, max_mistakes: int = 8, min_moves: int = 3, raise_on_error: bool = False):
        super().__init__(max_concurrency=1, raise_on_error=raise_on_error, repair=False)
        self.min_moves = min_moves
        self.max_mistakes = max_mistakes
        self.min_support = min_support
        self.min_categories = min_categories
        self.regularity = regularity
        self.max_steps = max_steps

    def complete_json(self, system: str, user: str, schema: type[BaseModel]) -> TeacherAnswer:
        """The offline teacher does not read free-form prompts: returns an answer with ``error`` set."""
        return self._finish(TeacherAnswer(error="the offline teacher answers distill() and reflect() only, "
                                                "not free-form prompts"))

    # -- helpers ----------------------------------------------------------------------------------
    @staticmethod
    def _answer(proposals: Proposals) -> TeacherAnswer:
        return TeacherAnswer(value=proposals, raw=proposals.model_dump_json(), usage=Usage(calls=0))

    @staticmethod
    def _dedupe_against(proposals: list[SkillProposal], existing: Sequence[Skill]) -> list[SkillProposal]:
        by_key = {(s.tier, s.category, s.title.strip().lower()): s for s in existing}
        out: list[SkillProposal] = []
        seen_principles: set[str] = {s.principle.strip().lower() for s in existing}
        for sp in proposals:
            old = by_key.get((sp.tier, sp.category, sp.title.strip().lower()))
            if old is not None:
                if old.principle.strip() == sp.principle.strip() and old.when_to_apply.strip() == sp.when_to_apply.strip():
                    continue
                sp = sp.model_copy(update={"action": "refine", "skill_id": old.skill_id})
            elif sp.principle.strip().lower() in seen_principles:
                continue
            seen_principles.add(sp.principle.strip().lower())
            out.append(sp)
        return out

    # -- distill ----------------------------------------------------------------------------------
    def yields_lessons(self, episode: Episode) -> bool:
        """Whether a failure can give this teacher a lesson (a task-specific skill): it needs recorded steps, or
        recorded ``mistakes_to_avoid`` (official memories). The distiller reserves lesson slots only then."""
        return bool(episode.steps) or bool(episode.metadata.get("mistakes_to_avoid"))

    def distill(self, episodes: Sequence[Episode], category: str | None = None,
                existing: Sequence[Skill] = (), mistakes: Sequence = ()) -> TeacherAnswer:
        """Skills from the successes among ``episodes`` (see the class docstring). Never raises."""
        try:
            proposals = self._distill(list(episodes), category)
        except Exception as err:  # noqa: BLE001 - an offline bug must not crash a training loop
            return self._finish(TeacherAnswer(error=f"offline distill failed: {type(err).__name__}: {err}"))
        proposals.skills = self._dedupe_against(proposals.skills, existing)
        return self._finish(self._answer(proposals))

    # -- reflect ----------------------------------------------------------------------------------
    def reflect(self, failures: Sequence[Episode], category: str | None = None,
                existing: Sequence[Skill] = (), mistakes: Sequence = ()) -> TeacherAnswer:
        """Lessons and common mistakes from failed episodes (see the class docstring); ``mistakes`` (the bank's
        current ones) are not proposed again. Never raises."""
        try:
            proposals = self._reflect([ep for ep in failures if not ep.success], category, mistakes)
        except Exception as err:  # noqa: BLE001 - an offline bug must not crash a training loop
            return self._finish(TeacherAnswer(error=f"offline reflect failed: {type(err).__name__}: {err}"))
        proposals.skills = self._dedupe_against(proposals.skills, existing)
        return self._finish(self._answer(proposals))


@hookimpl
def skillrl_register_teachers(register: Callable[..., None]) -> None:
    """Register the built-in ``"offline"`` teacher."""
    register("offline", lambda arg=None, **kw: OfflineTeacher(**kw),
             "no LLM: skills from statistics over the episodes (ALFWorld-aware)")
