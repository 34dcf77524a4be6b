"""ALFWorld's profile: task types, the official bank's keys, the rules that detect a goal's task type.

The one home of skillrl's ALFWorld knowledge about task types (imported by :mod:`skillrl.envs.alfworld`,
:mod:`skillrl.episode`, the CLI, the examples and benchmarks):

* :data:`ALFWORLD_TASK_TYPES`: the six task types (``traj_data.json["task_type"]`` of every game).
* :data:`OFFICIAL_ALFWORLD_BANK_KEYS`: the category keys of the official SkillRL ALFWorld bank
  (``memory_data/alfworld/claude_style_skills.json``), and :data:`ALFWORLD_BANK_KEYS`: task type -> the bank
  keys that hold its skills, tried in order (the profile's alias table).
* :data:`ALFWORLD_TASK_KINDS` (one-word kinds: ``pick``, ``look``, ``clean``, ``heat``, ``cool``, ``two``) and
  :data:`ALFWORLD_TASK_LABELS` (the paper's column names: Pick, Look, Clean, Heat, Cool, Pick2).
* :func:`alfworld_profile`: the ``"alfworld"`` detector (goal text -> task type), and
  :func:`official_alfworld_category`: the official template-mode cascade, kept as the baseline.

The official cascade misroutes whole task types: it sends "put two X in Y" and "put a hot X in Y" to
pick-and-place and "find two X and put them in Y" to ``examine`` (139/180 train and 106/140 valid_seen games
get a category that matches their task type; ``benchmarks/bench_detection.py``).
"""

from __future__ import annotations

from collections.abc import Callable

from skillrl.hookspecs import hookimpl
from skillrl.profiles.base import Rule, RuleDetector

__all__ = [
    "ALFWORLD_BANK_KEYS",
    "ALFWORLD_TASK_KINDS",
    "ALFWORLD_TASK_LABELS",
    "ALFWORLD_TASK_TYPES",
    "OFFICIAL_ALFWORLD_BANK_KEYS",
    "OFFICIAL_MEMORY_LABELS",
    "alfworld_profile",
    "official_alfworld_category",
    "skillrl_register_profiles",
]

#: ALFWorld's six task types, as in ``traj_data.json["task_type"]`` of every ALFWorld game.
ALFWORLD_TASK_TYPES: tuple[str, ...] = (
    "pick_and_place_simple",
    "look_at_obj_in_light",
    "pick_clean_then_place_in_recep",
    "pick_heat_then_place_in_recep",
    "pick_cool_then_place_in_recep",
    "pick_two_obj_and_place",
)

#: The ``task_specific_skills`` keys of the official SkillRL ALFWorld bank, in the file's order.
OFFICIAL_ALFWORLD_BANK_KEYS: tuple[str, ...] = ("pick_and_place", "look_at_obj_in_light", "clean", "heat", "cool",
                                                "examine")

#: Task type -> the bank keys to try, in order, after the task type itself (the ``"alfworld"`` profile's aliases,
#: :meth:`skillrl.profiles.CategoryDetector.to_bank_category`). The official bank has no pick-two category: its
#: pick-and-place skills are the closest.
ALFWORLD_BANK_KEYS: dict[str, tuple[str, ...]] = {
    "pick_and_place_simple": ("pick_and_place",),
    "look_at_obj_in_light": ("look", "examine"),
    "pick_clean_then_place_in_recep": ("clean",),
    "pick_heat_then_place_in_recep": ("heat",),
    "pick_cool_then_place_in_recep": ("cool",),
    "pick_two_obj_and_place": ("pick_two", "pick_and_place_simple", "pick_and_place"),
}

#: Task type -> its one-word kind (``clean``/``heat``/``cool`` are also the verb of the state change).
ALFWORLD_TASK_KINDS: dict[str, str] = {
    "pick_and_place_simple": "pick",
    "look_at_obj_in_light": "look",
    "pick_clean_then_place_in_recep": "clean",
    "pick_heat_then_place_in_recep": "heat",
    "pick_cool_then_place_in_recep": "cool",
    "pick_two_obj_and_place": "two",
}

#: Task type -> the short name of the SkillRL paper's ALFWorld table (Pick, Look, Clean, Heat, Cool, Pick2).
ALFWORLD_TASK_LABELS: dict[str, str] = {
    "pick_and_place_simple": "Pick",
    "look_at_obj_in_light": "Look",
    "pick_clean_then_place_in_recep": "Clean",
    "pick_heat_then_place_in_recep": "Heat",
    "pick_cool_then_place_in_recep": "Cool",
    "pick_two_obj_and_place": "Pick2",
}

#: Category labels of the official distilled memories (``classified as '<label>'``) that are not task-type names.
OFFICIAL_MEMORY_LABELS: dict[str, str] = {"pick_and_place": "pick_and_place_simple"}

# ALFWorld builds its goals from templates (alfworld/gen: "put a X in Y", "put some X on Y", "look at X
# under the Y", "examine the X with the Y", "clean some X and put it in Y", "put a clean X in Y",
# "heat some X ...", "put a hot X in Y", "cool some X ...", "put a cool X in Y", "put two X in Y",
# "find two X and put them in Y"). The rules test the operation words as whole words, pick-two first
# (a pick-two goal never names a state change), the light second-to-last (its templates have no
# operation word), and "put/place/..." last. Synonyms cover paraphrased goals (human annotations).
_ALFWORLD_RULES: tuple[Rule, ...] = (
    ("pick_two_obj_and_place", r"\b(?:two|2|pair of|both)\b"),
    ("pick_clean_then_place_in_recep",
     r"\b(?:clean(?:s|ed|ing)?|wash(?:es|ed|ing)?|rins(?:e|es|ed|ing)|wet|water)\b"),
    ("pick_heat_then_place_in_recep",
     r"\b(?:heat(?:s|ed|ing)?|hot|warm(?:s|ed|ing)?|cook(?:s|ed|ing)?|microwaved)\b"
     r"|(?:^|[,;]\s*|\band\s+|\bthen\s+)microwave\s+(?:the|a|an|some)\b"),  # "microwave" as a verb
    ("pick_cool_then_place_in_recep",
     r"\b(?:cool(?:s|ed|ing)?|cold|chill(?:s|ed|ing)?|frozen|freeze|refrigerated)\b"),
    ("look_at_obj_in_light",
     r"\b(?:look at|examine|inspect|observe)\b"
     r"|\b(?:under|with|by|in|using|to|near)\s+(?:the\s+|a\s+)?(?:light|lamp|desk\s*lamp|floor\s*lamp|desklamp"
     r"|floorlamp)\b"
     # ALFRED's crowd annotations of these tasks: "turn on the lamp while holding the book".
     r"|\bturn(?:s|ed|ing)?\s+(?:on\s+)?(?:the\s+|a\s+)?(?:[\w-]+\s+)?(?:lamp|light)\b|\b(?:lamp|light)\s+on\b"),
    ("pick_and_place_simple",
     r"\b(?:put(?:s|ting)?|plac(?:e|es|ed|ing)|mov(?:e|es|ed|ing)|bring(?:s|ing)?|brought|tak(?:e|es|ing)|took"
     r"|carr(?:y|ies|ied|ying)|set|drop(?:s|ped|ping)?|leav(?:e|es|ing)|stor(?:e|es|ed|ing)|throw(?:s|n|ing)?|threw"
     r"|trash|discard|dispos(?:e|ing)|get|grab(?:s|bed|bing)?|pick(?:s|ed|ing)?\s+up|collect|gather|retriev(?:e|ing)"
     r"|transfer(?:s|red|ring)?|return)\b"),
)


def alfworld_profile() -> RuleDetector:
    """The ``"alfworld"`` detector: goal text (or a whole observation / prompt) -> one of
    :data:`ALFWORLD_TASK_TYPES`, ``None`` when the text names no ALFWorld operation; bank keys through
    :data:`ALFWORLD_BANK_KEYS`."""
    return RuleDetector(_ALFWORLD_RULES, default=None, name="alfworld", aliases=ALFWORLD_BANK_KEYS)


def official_alfworld_category(goal: str) -> str:
    """The official SkillRL template-mode ALFWorld cascade, reproduced exactly (bugs included).

    Source: ``SkillsOnlyMemory._detect_task_type`` of aiming-lab/SkillRL
    (``agent_system/memory/skills_only_memory.py``): lowercase the goal, then substring tests in this
    order: ``'look at'`` and ``'under'`` -> ``look_at_obj_in_light``; ``'clean'`` -> ``clean``;
    ``'heat'`` -> ``heat``; ``'cool'`` -> ``cool``; ``'examine'`` or ``'find'`` -> ``examine``; otherwise
    ``pick_and_place``. Kept as the baseline of ``benchmarks/bench_detection.py``.

    Returns:
        One of the official bank keys ``pick_and_place, look_at_obj_in_light, clean, heat, cool,
        examine``.
    """
    g = goal.lower()
    if "look at" in g and "under" in g:
        return "look_at_obj_in_light"
    if "clean" in g:
        return "clean"
    if "heat" in g:
        return "heat"
    if "cool" in g:
        return "cool"
    if "examine" in g or "find" in g:
        return "examine"
    return "pick_and_place"


@hookimpl
def skillrl_register_profiles(register: Callable[..., None]) -> None:
    """The built-in ``"alfworld"`` profile."""
    register("alfworld", alfworld_profile, "ALFWorld's six task types")
