"""Task-category detection for template-mode retrieval.

SkillRL (arXiv 2602.08234, Sec. 3.3) gives the policy the general skills plus the task-specific skills of
the task's category. In *template mode* the official code (``SkillsOnlyMemory._detect_task_type`` in
aiming-lab/SkillRL) picks that category with a lowercase substring cascade over the goal text. That
cascade misroutes whole task types: on ALFWorld it sends "put two X in Y" and "put a hot X in Y" to
pick-and-place and "find two X and put them in Y" to ``examine`` (139/180 train and 106/140 valid_seen
games get a category that matches their task type), and its WebShop list sends "string" and "spring"
to ``accessories`` because ``'ring' in goal``.

This module replaces it with small, deterministic, regex-based detectors:

* :func:`get_profile` returns a built-in profile: ``"alfworld"`` (ALFWorld's six task types),
  ``"webshop"`` (the official WebShop bank's seven product categories) or ``"search"`` (the official
  Search-QA bank's four query types).
* :class:`RuleDetector` runs user rules ``[(category, pattern), ...]`` (first match wins, optional
  default), from Python or from a plain JSON file (:meth:`RuleDetector.from_json`).
* Every detector has :meth:`~CategoryDetector.detect` (text -> the profile's canonical category),
  :meth:`~CategoryDetector.to_bank_category` (canonical category -> one of a bank's category keys, via
  a per-profile alias table) and :meth:`~CategoryDetector.detect_for_bank` (both at once).

Detection accepts either a bare goal or a whole prompt/observation: the goal after the last
``Your task is to:`` / ``Your question:`` / ``Question:`` / ``Instruction:`` marker is used when one is
present (:func:`extract_goal`), so the ALFWorld first observation (``... Your task is to: put a hot
apple in fridge.``), the verl-agent / SkillRL prompt templates and the raw WebShop observation
(``WebShop [SEP] Instruction: [SEP] i need ... [SEP] Search``) all work.

The official cascades are kept as baselines: :func:`official_alfworld_category` and
:func:`official_webshop_category` reproduce them exactly, bugs included.

Everything is pure Python (``re``); patterns are compiled once per detector. A detection costs a few
microseconds (``benchmarks/bench_detection.py`` measures it).
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from skillrl.errors import ProfileError, short_repr
from skillrl.hookspecs import hookimpl

__all__ = [
    "ALFWORLD_TASK_TYPES",
    "DEFAULT_GOAL_MARKERS",
    "PROFILES",
    "SEARCH_QUERY_TYPES",
    "WEBSHOP_CATEGORIES",
    "CategoryDetector",
    "DetectionError",
    "RuleDetector",
    "WebShopDetector",
    "extract_goal",
    "get_profile",
    "keyword_pattern",
    "official_alfworld_category",
    "official_webshop_category",
]


class DetectionError(ProfileError):
    """Bad input to category detection: a text that is not a string, an unknown profile name, a rule
    whose pattern does not compile, or a rules file that is missing or malformed."""


#: ALFWorld's six task types, as in ``traj_data.json["task_type"]`` of every ALFWorld game.
ALFWORLD_TASK_TYPES: tuple[str, ...] = (
    "pick_and_place_simple",
    "look_at_obj_in_light",
    "pick_clean_then_place_in_recep",
    "pick_heat_then_place_in_recep",
    "pick_cool_then_place_in_recep",
    "pick_two_obj_and_place",
)

#: The product categories of the official WebShop bank (``task_specific_skills`` keys of
#: ``memory_data/webshop/claude_style_skills.json``); ``"other"`` is the catch-all.
WEBSHOP_CATEGORIES: tuple[str, ...] = (
    "apparel",
    "footwear",
    "home_decor",
    "electronics",
    "accessories",
    "beauty_health",
    "other",
)

#: The query types of the official Search-QA bank (``query_type_skills`` keys of
#: ``memory_data/search/claude_style_skills_search.json``).
SEARCH_QUERY_TYPES: tuple[str, ...] = (
    "direct_retrieval",
    "multi_hop_reasoning",
    "entity_attribute_lookup",
    "comparison",
)

#: Markers after which a prompt states its goal: ALFWorld's first observation and the verl-agent /
#: SkillRL templates (``Your task is to:``), the verl-agent Search template (``Your question:``),
#: Search-R1 style prompts (``Question:``) and the raw WebShop observation (``Instruction: [SEP]``).
DEFAULT_GOAL_MARKERS: tuple[str, ...] = ("Your task is to:", "Your question:", "Question:", "Instruction:")

_SEP = re.compile(r"\[SEP\]", re.IGNORECASE)
_SPACES = re.compile(r"\s+")

Rule = tuple[str, str | Sequence[str]]


# --------------------------------------------------------------------------------------------------
# Goal extraction and helpers
# --------------------------------------------------------------------------------------------------


def _marker_regex(markers: Sequence[str]) -> re.Pattern[str] | None:
    if not markers:
        return None
    alts = "|".join(re.escape(m.rstrip(":").strip()) + r"\s*:" for m in markers)
    return re.compile(rf"(?:{alts})[ \t]*(?:\[SEP\][ \t]*)?", re.IGNORECASE)


_DEFAULT_MARKER_RE = _marker_regex(DEFAULT_GOAL_MARKERS)


def extract_goal(text: str, markers: Sequence[str] | None = None) -> str:
    """The goal stated in ``text``, or ``text`` itself when it states none.

    Looks for the *last* occurrence of any marker (few-shot prompts show example tasks first, the
    current task last) and returns what follows it up to the end of that line or the next WebShop
    ``[SEP]``, stripped of surrounding whitespace and a trailing period. Without a marker the whole
    text is returned, whitespace-collapsed.

    Args:
        text: a goal, an observation or a whole prompt.
        markers: marker strings such as ``"Your task is to:"`` (matched case-insensitively, the colon
            optional in the marker but required in the text). Default :data:`DEFAULT_GOAL_MARKERS`;
            ``()`` disables extraction.

    Returns:
        The goal text (possibly empty).

    Raises:
        DetectionError: ``text`` is not a string.

    Example:
        >>> extract_goal("-= Welcome to TextWorld, ALFRED! =-\\n\\nYour task is to: put a hot apple in fridge.")
        'put a hot apple in fridge'
    """
    if not isinstance(text, str):
        raise DetectionError(f"detection needs a str (a goal or a prompt), got {type(text).__name__}: "
                             f"{short_repr(text)}")
    return _extract(text, _DEFAULT_MARKER_RE if markers is None else _marker_regex(markers))


def _extract(text: str, regex: re.Pattern[str] | None) -> str:
    goal = text
    if regex is not None and ":" in text:  # every marker ends with a colon
        last = None
        for last in regex.finditer(text):
            pass
        if last is not None:
            rest = text[last.end():]
            goal = _SEP.split(rest, maxsplit=1)[0].split("\n", 1)[0]
            if not goal.strip():  # marker at the end of a line: the goal is on the next non-empty line
                lines = [ln for ln in _SEP.split(rest, maxsplit=1)[0].split("\n") if ln.strip()]
                goal = lines[0] if lines else ""
    goal = _SPACES.sub(" ", goal).strip()
    return goal[:-1].rstrip() if goal.endswith(".") else goal


def keyword_pattern(keywords: Iterable[str]) -> str:
    """A regex matching any of ``keywords`` as a whole word or phrase, with an optional plural ``s``/``es``.

    Words are escaped, so ``"t-shirt"`` and ``"c++"`` are literal; inner spaces match any run of
    whitespace. Matching is meant to be case-insensitive (detectors compile with ``re.IGNORECASE``).
    Whole-word matching is what keeps ``"ring"`` from matching ``"string"``.

    Raises:
        DetectionError: no keyword, or a keyword that is empty or not a string.

    Example:
        >>> bool(re.search(keyword_pattern(["ring"]), "a string of lights"))
        False
    """
    words = list(keywords) if not isinstance(keywords, str) else [keywords]
    if not words:
        raise DetectionError("a keyword rule needs at least one keyword")
    parts = []
    for w in words:
        if not isinstance(w, str) or not w.strip():
            raise DetectionError(f"keywords must be non-empty strings, got {short_repr(w)}")
        parts.append(r"\s+".join(re.escape(p) for p in w.strip().lower().split()))
    # (?<!\w) / (?!\w) instead of \b so keywords that start or end with punctuation still work.
    return r"(?<!\w)(?:" + "|".join(sorted(parts, key=len, reverse=True)) + r")(?:e?s)?(?!\w)"


def _bank_keys(bank_categories: Any) -> list[str]:
    cats = getattr(bank_categories, "categories", bank_categories)  # a SkillBank works too
    if isinstance(cats, str) or not isinstance(cats, Iterable):
        raise DetectionError(f"bank_categories must be a sequence of category keys (or a SkillBank), "
                             f"got {short_repr(bank_categories)}")
    return [str(c) for c in cats]


# --------------------------------------------------------------------------------------------------
# Detectors
# --------------------------------------------------------------------------------------------------


class CategoryDetector:
    """Base class: text -> canonical category -> a bank's category key.

    Subclasses implement :meth:`_detect_goal` (goal text -> category or ``None``). Instances are
    immutable after construction and safe to share between threads.

    Attributes:
        name: profile name (``"alfworld"``, ``"webshop"``, ``"search"`` or a user name).
        categories: the canonical categories :meth:`detect` can return, in rule order.
        aliases: canonical category -> bank keys to try, in order, in :meth:`to_bank_category`.
        bank_fallback: bank key used when no alias of the category is in the bank (if the bank has it),
            e.g. ``"other"`` for WebShop; ``None`` for no fallback.
        goal_markers: markers for :func:`extract_goal`; ``()`` feeds the text to the rules unchanged.
    """

    def __init__(
        self,
        name: str,
        categories: Sequence[str],
        aliases: Mapping[str, Sequence[str]] | None = None,
        bank_fallback: str | None = None,
        goal_markers: Sequence[str] | None = None,
    ):
        self.name = name
        self.categories: tuple[str, ...] = tuple(dict.fromkeys(categories))
        self.aliases: dict[str, tuple[str, ...]] = {}
        for cat, keys in (aliases or {}).items():
            if isinstance(keys, str):
                keys = [keys]
            self.aliases[str(cat)] = tuple(str(k) for k in keys)
        self.bank_fallback = bank_fallback
        self.goal_markers: tuple[str, ...] = DEFAULT_GOAL_MARKERS if goal_markers is None else tuple(goal_markers)
        self._marker_re = _marker_regex(self.goal_markers)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r}, categories={list(self.categories)!r})"

    # ---- public API ----------------------------------------------------------------------------

    def goal(self, text: str) -> str:
        """The goal this detector classifies: :func:`extract_goal` with this detector's markers.

        Raises:
            DetectionError: ``text`` is not a string.
        """
        if not isinstance(text, str):
            extract_goal(text)  # raises the DetectionError
        return _extract(text, self._marker_re)

    def detect(self, text: str) -> str | None:
        """The canonical category of ``text`` (a goal, an observation or a whole prompt).

        Returns:
            One of :attr:`categories`, or ``None`` when the goal is empty or no rule matches and the
            detector has no default. The same text always gives the same answer.

        Raises:
            DetectionError: ``text`` is not a string.
        """
        goal = self.goal(text)
        if not goal:
            return None
        return self._detect_goal(goal.lower())

    def to_bank_category(self, category: str | None, bank_categories: Any) -> str | None:
        """Map a canonical category to one of a bank's category keys.

        Tries, in order: ``category`` itself, its aliases (:attr:`aliases`, in order), then
        :attr:`bank_fallback`; returns the first one the bank has. E.g. with the ALFWorld profile and the
        official ALFWorld bank (keys ``pick_and_place, look_at_obj_in_light, clean, heat, cool,
        examine``): ``pick_heat_then_place_in_recep -> "heat"``, ``pick_two_obj_and_place ->
        "pick_and_place"`` (that bank has no pick-two category).

        Args:
            category: a canonical category (``None`` gives ``None``).
            bank_categories: the bank's category keys (a sequence of str) or a ``SkillBank``.

        Returns:
            A key of ``bank_categories``, or ``None`` when none fits (the caller then uses the general
            skills only).

        Raises:
            DetectionError: ``bank_categories`` is not a sequence of keys.
        """
        keys = _bank_keys(bank_categories)
        if category is None:
            return None
        present = set(keys)
        for cand in (category, *self.aliases.get(category, ())):
            if cand in present:
                return cand
        if self.bank_fallback is not None and self.bank_fallback in present:
            return self.bank_fallback
        return None

    def detect_for_bank(self, text: str, bank_categories: Any) -> str | None:
        """``to_bank_category(detect(text), bank_categories)``: the bank key whose task-specific skills
        fit ``text``, or ``None``."""
        return self.to_bank_category(self.detect(text), bank_categories)

    # ---- for subclasses ------------------------------------------------------------------------

    def _detect_goal(self, goal: str) -> str | None:  # pragma: no cover - abstract
        raise NotImplementedError


class RuleDetector(CategoryDetector):
    """Ordered rules, first match wins: ``[(category, pattern), ...]``.

    A pattern is either a regular expression (a ``str``, searched case-insensitively in the lowercased
    goal) or a sequence of keywords (whole-word / whole-phrase, plural-tolerant; see
    :func:`keyword_pattern`). Rules are compiled once, here.

    Args:
        rules: ``[(category, pattern), ...]``; several rules may name the same category.
        default: category returned when no rule matches (``None``: return ``None``).
        name: a name for logs and reprs.
        aliases: canonical category -> bank keys to try (see :meth:`to_bank_category`).
        bank_fallback: bank key used when no alias is in the bank.
        goal_markers: markers for :func:`extract_goal` (default :data:`DEFAULT_GOAL_MARKERS`).

    Raises:
        DetectionError: an empty category, or a pattern that is neither a str nor a list of str, or a
            regex that does not compile (the message names the rule's index).

    Example:
        >>> d = RuleDetector([("cooking", r"\\b(cook|bake)\\b"), ("cleaning", ["wash", "clean"])], default="misc")
        >>> d.detect("Your task is to: wash the dishes."), d.detect("read a book")
        ('cleaning', 'misc')
    """

    def __init__(
        self,
        rules: Sequence[Rule],
        default: str | None = None,
        *,
        name: str = "custom",
        aliases: Mapping[str, Sequence[str]] | None = None,
        bank_fallback: str | None = None,
        goal_markers: Sequence[str] | None = None,
    ):
        compiled: list[tuple[str, re.Pattern[str]]] = []
        for i, rule in enumerate(rules):
            try:
                category, pattern = rule
            except (TypeError, ValueError):
                raise DetectionError(f"rule {i}: expected a (category, pattern) pair, got {short_repr(rule)}") from None
            if not isinstance(category, str) or not category.strip():
                raise DetectionError(f"rule {i}: category must be a non-empty str, got {short_repr(category)}")
            if isinstance(pattern, str):
                regex = pattern
            elif isinstance(pattern, Sequence) and all(isinstance(k, str) for k in pattern):
                try:
                    regex = keyword_pattern(pattern)
                except DetectionError as err:
                    raise DetectionError(f"rule {i} ({category}): {err}") from None
            else:
                raise DetectionError(f"rule {i} ({category}): pattern must be a regex str or a list of keywords, "
                                     f"got {short_repr(pattern)}")
            try:
                compiled.append((category, re.compile(regex, re.IGNORECASE)))
            except re.error as err:
                raise DetectionError(f"rule {i} ({category}): pattern {regex!r} does not compile: {err}") from None
        if default is not None and (not isinstance(default, str) or not default):
            raise DetectionError(f"default must be a non-empty str or None, got {short_repr(default)}")
        cats = [c for c, _ in compiled] + ([default] if default else [])
        super().__init__(name, cats, aliases, bank_fallback, goal_markers)
        self.rules: tuple[tuple[str, re.Pattern[str]], ...] = tuple(compiled)
        self.default = default

    def _detect_goal(self, goal: str) -> str | None:
        for category, regex in self.rules:
            if regex.search(goal):
                return category
        return self.default

    def explain(self, text: str) -> tuple[str | None, int | None, str | None]:
        """``(category, rule index, matched text)`` for ``text``; the index is ``None`` when the default
        (or ``None``) was returned. Useful to debug a rules file."""
        goal = self.goal(text)
        if not goal:
            return None, None, None
        for i, (category, regex) in enumerate(self.rules):
            m = regex.search(goal.lower())
            if m:
                return category, i, m.group(0)
        return self.default, None, None

    # ---- JSON ----------------------------------------------------------------------------------

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], source: str | None = None) -> RuleDetector:
        """Build from ``{"rules": [...], "default": ..., "name": ..., "aliases": {...},
        "bank_fallback": ..., "goal_markers": [...]}``.

        Each rule is ``{"category": str, "pattern": regex}`` or ``{"category": str, "keywords": [str, ...]}``
        (or a two-element list ``[category, pattern]``). Only ``"rules"`` is required.

        Raises:
            DetectionError: the document does not have that shape (the message names ``source`` and
                the offending rule).
        """
        where = f"{source}: " if source else ""
        if not isinstance(data, Mapping) or not isinstance(data.get("rules"), list):
            raise DetectionError(f"{where}expected an object with a 'rules' list, got {short_repr(data)}")
        rules: list[Rule] = []
        for i, r in enumerate(data["rules"]):
            if isinstance(r, Mapping):
                has_p, has_k = "pattern" in r, "keywords" in r
                if "category" not in r or has_p == has_k:
                    raise DetectionError(f"{where}$.rules[{i}]: expected {{'category', 'pattern'}} or "
                                         f"{{'category', 'keywords'}}, got {short_repr(dict(r))}")
                rules.append((r["category"], r["pattern"] if has_p else r["keywords"]))
            elif isinstance(r, list) and len(r) == 2:
                rules.append((r[0], r[1]))
            else:
                raise DetectionError(f"{where}$.rules[{i}]: expected an object or a [category, pattern] pair, "
                                     f"got {short_repr(r)}")
        unknown = set(data) - {"rules", "default", "name", "aliases", "bank_fallback", "goal_markers"}
        if unknown:
            raise DetectionError(f"{where}unknown keys {sorted(unknown)}")
        aliases = data.get("aliases") or {}
        if not isinstance(aliases, Mapping):
            raise DetectionError(f"{where}$.aliases: expected an object, got {short_repr(aliases)}")
        try:
            return cls(
                rules,
                default=data.get("default"),
                name=str(data.get("name") or (Path(source).stem if source else "custom")),
                aliases=aliases,
                bank_fallback=data.get("bank_fallback"),
                goal_markers=data.get("goal_markers"),
            )
        except DetectionError as err:
            raise DetectionError(f"{where}{err}") from None

    @classmethod
    def from_json(cls, path: str | os.PathLike[str]) -> RuleDetector:
        """Load rules from a JSON file (the shape of :meth:`from_dict`).

        Example file::

            {"name": "kitchen", "default": "misc",
             "rules": [{"category": "cooking", "pattern": "\\\\b(cook|bake|fry)\\\\b"},
                       {"category": "cleaning", "keywords": ["wash", "clean", "wipe"]}],
             "aliases": {"cooking": ["cook"]}}

        Raises:
            DetectionError: the file is missing or unreadable, is not valid JSON (the message gives the
                line and column), or does not have the expected shape.
        """
        p = Path(path)
        try:
            text = p.read_text(encoding="utf-8")
        except OSError as err:
            raise DetectionError(f"{p}: cannot read rules file: {err.strerror or err}") from None
        try:
            data = json.loads(text)
        except json.JSONDecodeError as err:
            raise DetectionError(f"{p}: not valid JSON (line {err.lineno}, column {err.colno}): {err.msg}") from None
        return cls.from_dict(data, source=str(p))

    def to_dict(self) -> dict[str, Any]:
        """The JSON-ready form :meth:`from_dict` reads back (patterns as regexes)."""
        out: dict[str, Any] = {"name": self.name, "rules": [{"category": c, "pattern": r.pattern} for c, r in self.rules]}
        if self.default is not None:
            out["default"] = self.default
        if self.aliases:
            out["aliases"] = {k: list(v) for k, v in self.aliases.items()}
        if self.bank_fallback is not None:
            out["bank_fallback"] = self.bank_fallback
        if self.goal_markers != DEFAULT_GOAL_MARKERS:
            out["goal_markers"] = list(self.goal_markers)
        return out


# --------------------------------------------------------------------------------------------------
# ALFWorld
# --------------------------------------------------------------------------------------------------

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

_ALFWORLD_ALIASES: dict[str, tuple[str, ...]] = {
    # Official ALFWorld bank keys: pick_and_place, look_at_obj_in_light, clean, heat, cool, examine.
    "pick_and_place_simple": ("pick_and_place",),
    "look_at_obj_in_light": ("look", "examine"),
    "pick_clean_then_place_in_recep": ("clean",),
    "pick_heat_then_place_in_recep": ("heat",),
    "pick_cool_then_place_in_recep": ("cool",),
    # No pick-two category in the official bank: its pick-and-place skills are the closest.
    "pick_two_obj_and_place": ("pick_two", "pick_and_place_simple", "pick_and_place"),
}


def _alfworld() -> RuleDetector:
    return RuleDetector(_ALFWORLD_RULES, default=None, name="alfworld", aliases=_ALFWORLD_ALIASES)


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


# --------------------------------------------------------------------------------------------------
# WebShop
# --------------------------------------------------------------------------------------------------

_OFFICIAL_WEBSHOP: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("apparel", ("shirt", "dress", "jacket", "pant", "coat", "sweater", "blouse", "clothing", "clothes", "t-shirt")),
    ("footwear", ("shoe", "boot", "sneaker", "sandal", "heel", "slipper", "footwear")),
    ("electronics", ("laptop", "phone", "computer", "tablet", "charger", "cable", "headphone", "speaker",
                     "camera", "electronic")),
    ("accessories", ("necklace", "ring", "bracelet", "earring", "watch", "jewelry", "bag", "purse", "wallet")),
    ("home_decor", ("furniture", "lamp", "curtain", "pillow", "bedding", "decor", "candle", "vase", "rug")),
    ("beauty_health", ("cream", "lotion", "shampoo", "conditioner", "moisturizer", "serum", "makeup", "beauty",
                       "vitamin", "supplement")),
)


def official_webshop_category(goal: str) -> str:
    """The official SkillRL template-mode WebShop cascade, reproduced exactly (bugs included).

    Source: the WebShop branch of ``SkillsOnlyMemory._detect_task_type`` (aiming-lab/SkillRL): lowercase
    substring tests, first category with a hit wins, in the order apparel, footwear, electronics,
    accessories, home_decor, beauty_health; otherwise ``other``. Substring tests are why ``"string"``
    goes to ``accessories`` (``'ring'``) and ``"dress shoes"`` to ``apparel`` (``'dress'``).
    """
    g = goal.lower()
    for category, words in _OFFICIAL_WEBSHOP:
        if any(w in g for w in words):
            return category
    return "other"


# Product nouns per category (regex fragments; each is matched as a whole word with an optional plural).
_WEBSHOP_VOCAB: dict[str, tuple[str, ...]] = {
    "apparel": (
        "apparel", "clothing", "clothes", "garment", "outfit", "shirt", "t-shirt", "t shirt", "tee", "tank",
        "tank top", "top", "blouse", "henley", "polo", "tunic", "camisole", "sweater", "sweatshirt", "hoodie",
        "pullover", "cardigan", "jacket", "coat", "parka", "vest", "blazer", "suit", "suiting", "tuxedo",
        "dress", "gown", "skirt", "pant", "pants", "trousers", "jeans", "leggings", "legging", "shorts",
        "joggers", "sweatpant", "overalls", "jumpsuit", "romper", "bodysuit", "activewear", "sportswear",
        "sleepwear", "loungewear", "sleep & lounge", "sleep and lounge", "pajama", "pyjama", "nightgown",
        "robe", "lingerie", "bra", "underwear", "panty", "panties", "boxer", "briefs", "socks", "sock",
        "stockings", "tights", "swimsuit", "swimwear", "bikini", "cover up", "cover-up", "trunks",
        "uniform", "costume", "scrubs", "kimono", "onesie", "outerwear",
    ),
    "footwear": (
        "footwear", "shoe", "sneaker", "trainers", "boot", "bootie", "sandal", "slipper", "loafer",
        "slip-on", "slip on", "oxford", "pumps", "heels", "flats", "ballet flat", "moccasin", "clog",
        "mules", "flip flop", "flip-flop", "espadrille", "wedges", "cleats", "insole",
    ),
    "home_decor": (
        "home decor", "decor", "decoration", "ornament", "furniture", "furniture set", "living room set",
        "pillow", "pillowcase", "pillow cover", "cushion", "throw", "blanket", "quilt", "comforter", "duvet",
        "bedding", "bedspread", "sheet set", "bed sheet", "curtain", "drape", "window covering",
        "window treatment", "blinds", "valance", "rug", "carpet", "doormat", "bath mat", "floor mat",
        "tablecloth", "table runner", "placemat", "towel", "lamp", "chandelier", "sconce", "lantern",
        "fairy lights", "string lights", "night light",
        "candle", "candle holder", "vase", "wall art", "art print", "painting", "poster", "picture frame",
        "mirror", "wall clock", "wreath", "figurine", "sculpture", "sofa", "couch", "loveseat", "chair",
        "recliner", "stool", "ottoman", "bench", "table", "desk", "nightstand", "dresser", "cabinet",
        "shelf", "shelves", "bookcase", "bookshelf", "armoire", "wardrobe", "headboard", "bed", "bed frame", "box spring",
        "mattress", "futon", "hammock", "shower curtain", "coat rack", "shoe rack", "rack", "storage bench",
    ),
    "electronics": (
        "electronic", "electronics", "laptop", "computer", "pc", "desktop", "notebook computer", "tablet",
        "ipad", "kindle", "e-reader", "phone", "cell phone", "smartphone", "iphone", "charger", "charging",
        "cable", "hdmi", "usb", "adapter", "power bank", "headphone", "headset", "earphone", "earbud",
        "airpods", "speaker", "soundbar", "subwoofer", "amplifier", "receiver", "microphone", "mic",
        "camera", "webcam", "dash cam", "lens", "tripod", "ring light", "monitor", "tv", "television",
        "projector", "router", "modem", "signal booster", "antenna", "keyboard", "mouse", "printer",
        "scanner", "hard drive", "ssd", "flash drive", "memory card", "sd card", "smartwatch",
        "smart watch", "fitness tracker", "remote control", "game controller", "controller", "console",
        "drone", "radio", "walkie talkie", "mp3 player", "cd player", "dvd player", "blu-ray player", "audio",
        "stereo", "recorder", "gps",
        "binoculars", "telescope", "screen protector", "stylus", "tv mount", "mount", "battery",
    ),
    "accessories": (
        "jewelry", "jewellery", "necklace", "pendant", "bracelet", "bangle", "anklet", "earring",
        "ring", "brooch", "cufflink", "watch", "wristwatch", "watch band", "wallet", "purse", "handbag",
        "tote", "clutch", "crossbody", "bag", "backpack", "belt", "hat", "cap", "beanie", "scarf", "scarves",
        "glove", "mitten", "sunglasses", "eyeglasses", "reading glasses", "necktie", "bow tie", "tie",
        "keychain", "umbrella", "suspenders", "bandana", "headband",
    ),
    "beauty_health": (
        "beauty", "cosmetic", "makeup", "make up", "lipstick", "lip gloss", "lip balm", "mascara",
        "eyeliner", "eyeshadow", "eye shadow", "foundation", "concealer", "bronzer", "primer",
        "nail polish", "nail", "manicure", "skincare", "skin care", "serum", "moisturizer", "lotion",
        "cream", "cleanser", "toner", "sunscreen", "face mask", "shampoo", "conditioner", "hair",
        "hair care", "hair extension", "wig", "perfume", "cologne", "fragrance", "deodorant", "soap",
        "body wash", "shower gel", "bath bomb", "bath salt", "toothpaste", "toothbrush", "oral care",
        "floss", "mouthwash", "razor", "shaver", "vitamin", "supplement", "essential oil", "massage",
        "brush", "comb", "personal care", "body care", "bath", "bathing", "health", "first aid",
    ),
    "other": (
        "food", "snack", "granola", "nutrition bar", "protein bar", "bar", "chocolate", "candy", "cookie",
        "cracker", "chips", "jerky", "coffee", "tea", "juice", "drink", "beverage", "sauce", "seasoning",
        "spice", "nuts", "gourmet", "grocery", "toy", "puzzle", "book", "pet", "dog", "cat food", "tool",
    ),
}

# Request phrases to drop before looking for the product noun ("i am looking for ...": "for" would cut).
_WS_REQUEST = re.compile(
    r"^(?:(?:please|hi|hello|hey)[,!]?\s+)?(?:(?:can|could|would|will) you\s+)?(?:please\s+)?(?:help me\s+)?"
    r"(?:find me|find|get me|get|buy me|buy|show me|search for|look for|i'?m (?:looking|searching|shopping) for"
    r"|i am (?:looking|searching|shopping) for|i (?:need|want|would like|'d like)(?: to (?:buy|get|find|purchase|order))?"
    r"|looking for|searching for|shopping for)\b\s*"
)
# Option clauses of synthetic WebShop goals ("with color: x, and size: y") and the price limit.
_WS_OPTIONS = re.compile(r"(?:,?\s*(?:with|and)\s+[a-z][a-z ]{0,24}:\s).*$")
_WS_PRICE = re.compile(r",?\s*(?:and\s+)?(?:with\s+)?(?:the\s+)?price\s+(?:lower|less|under|below|cheaper)\s+than.*$")
# The product noun phrase ends where its post-modifiers start.
_WS_HEAD_END = re.compile(
    r"\s(?:with|without|for|that|which|who|whose|to|in|under|below|from|made|suitable|compatible|priced)\s"
)


_CONTAINER = re.compile(r"(?:bag|case|pouch|holder|organizer|box|cover)(?:e?s)?", re.IGNORECASE)


class WebShopDetector(CategoryDetector):
    """WebShop product category from a shopping instruction, by the *head noun* of the product phrase.

    Steps: extract the goal; drop request phrases ("find me", "i am looking for"), option clauses
    ("with color: ..., and size: ...") and the price limit; take the product phrase (up to the first
    "with/for/that/in/..."); find every category noun in it (whole words, plural-tolerant, so "ring" never
    matches "string"); the noun that ends last wins (English noun phrases end with their head: "dress
    shoes" -> footwear, "shoe rack" -> home_decor), the longer one on ties ("ring light" ->
    electronics). A container noun takes the category of what it holds when the rest of the goal names
    it ("bags & cases for eye shadow" -> beauty_health). If the phrase names no product, the first noun
    in the rest of the goal decides; otherwise ``"other"``. Generic heads ("accessories", "products",
    "set") are not category nouns, so their modifier decides ("bathing accessories" -> beauty_health).

    Categories are the official WebShop bank's keys (:data:`WEBSHOP_CATEGORIES`); a bank without the
    detected key falls back to its ``"other"`` key if it has one.
    """

    def __init__(self, vocab: Mapping[str, Sequence[str]] | None = None, default: str = "other"):
        vocab = dict(_WEBSHOP_VOCAB if vocab is None else vocab)
        super().__init__("webshop", list(vocab) + [default], aliases={}, bank_fallback=default)
        self.default = default
        self._patterns: tuple[tuple[str, re.Pattern[str]], ...] = tuple(
            (cat, re.compile(keyword_pattern(words), re.IGNORECASE)) for cat, words in vocab.items()
        )

    def product_phrase(self, text: str) -> tuple[str, str]:
        """``(product phrase, rest)`` of the cleaned goal of ``text``: what :meth:`detect` looks at."""
        return self._split(self.goal(text).lower())

    @staticmethod
    def _split(g: str) -> tuple[str, str]:
        g = _WS_REQUEST.sub("", g, count=1)
        g = _WS_PRICE.sub("", g)
        g = _WS_OPTIONS.sub("", g)
        m = _WS_HEAD_END.search(g)
        return (g[: m.start()], g[m.start():]) if m else (g, "")

    def _matches(self, text: str) -> list[tuple[int, int, str, str]]:
        """``[(end, length, category, matched text)]`` of every category noun in ``text``."""
        out = []
        for cat, regex in self._patterns:
            out.extend((m.end(), m.end() - m.start(), cat, m.group(0)) for m in regex.finditer(text))
        return out

    def _first(self, text: str) -> str | None:
        hits = self._matches(text)
        if not hits:
            return None
        start = min(h[0] - h[1] for h in hits)
        return max(h for h in hits if h[0] - h[1] == start)[2]  # earliest, then longest

    def _detect_goal(self, goal: str) -> str | None:
        head, rest = self._split(goal)
        hits = self._matches(head)
        if hits:
            _end, _, cat, word = max(hits)  # ends last, then longest, then (deterministic) category name
            # A container takes the category of what it holds: "cases for eye shadow" -> beauty_health.
            if _CONTAINER.fullmatch(word):
                return self._first(rest) or cat
            return cat
        return self._first(rest) or self.default


# --------------------------------------------------------------------------------------------------
# Search-QA
# --------------------------------------------------------------------------------------------------

_ROLE = (r"(?:father|mother|son|daughter|wife|husband|spouse|brother|sister|child|parent|founder|creator|author|"
         r"writer|director|producer|composer|singer|performer|actor|actress|voice actor|star|host|president|leader|"
         r"ceo|owner|inventor|designer|architect|developer|publisher|manufacturer|coach|captain|governor|mayor|"
         r"king|queen|successor|predecessor|member|headquarters|capital|birthplace|team|company|band|studio|"
         r"university|college|school|country|state|city|county|river|league|network|station|album|film|movie|"
         r"show|series|book|novel|song)")
_ATTR_START = (r"(?:when|where|what year|what city|what country|what nationality|which country|which city|"
               r"which state|in what|in which|how many|how old|how long)")

_SEARCH_RULES: tuple[Rule, ...] = (
    # Comparison: a choice between named alternatives, or a property two entities share.
    ("comparison", r"\b(?:in common|both|the same|same (?:\w+ )?as)\b"),
    ("comparison", r"^(?:which|who|what)\b.*,[^,]+\s+or\s+.+$"),
    ("comparison", (r"\b(?:which|who)\b.*\b(?:first|earlier|later|older|younger|longer|shorter|larger|bigger|"
                   r"smaller|higher|lower|taller|more|fewer|less|closer|farther|further)\b.*\b(?:or|between)\b")),
    ("comparison", r"^(?:is|are|was|were|did|does|do|has|have)\b.*\s+or\s+"),
    # A relative clause that describes the answer itself ("What is the force that opposes ...?") is one hop.
    ("direct_retrieval", (r"^(?:what|which|who)(?:'s|\s+is|\s+was|\s+are|\s+were)\s+(?:the\s+|a\s+|an\s+)?"
                         r"(?:name\s+of\s+(?:the\s+)?)?(?:[\w-]+\s+){0,2}?(?:that|which|who)\b")),
    # Multi-hop: a relation of a relation ("the father of the founder of"), a relation of a possessive
    # ("X's mother") asked for an attribute, or an entity described by a relative clause.
    ("multi_hop_reasoning", rf"\b{_ROLE}\s+(?:of|for)\s+(?:the\s+)?(?:[\w'-]+\s+){{0,3}}?{_ROLE}\s+(?:of|for|that|who|which|in)\b"),
    ("multi_hop_reasoning", rf"(?<!name )\bof\s+the\s+{_ROLE}\s+of\b"),
    ("multi_hop_reasoning", rf"^{_ATTR_START}\b.*\b(?:the\s+{_ROLE}\s+of|'s\s+{_ROLE})\b"),
    ("multi_hop_reasoning", rf"^(?:what|which)\s+\w+\s+(?:is|was|are|were)\s+[^?]*'s\s+{_ROLE}\b"),
    ("multi_hop_reasoning", (r"\b(?:the|a|an)\s+(?:[\w'-]+\s+){0,3}?(?:who|that|which|whose|where|when)\s+"
                            r"(?!is\b\s*\??$)")),
    ("multi_hop_reasoning", r"\s(?:of|for|in|to|by|from|with)\s+(?:which|whom)\s+(?![\w-]+(?:\s+[\w-]+)?\s*\??$)"),
    # Entity-attribute lookup: one named entity and one attribute (PopQA-style templates).
    ("entity_attribute_lookup",
     (r"^what (?:is|was) [^?]+'s? (?:occupation|job|profession|religion|genre|nationality|birthplace|"
     r"place of birth|date of birth|position|sport)\b")),
    ("entity_attribute_lookup",
     (r"^(?:in )?what (?:city|country|town|state|year|genre|sport|colou?r|language)\b[^?]*\b(?:born|located|"
     r"founded|play|die|died|speak|released|is|was)\b")),
    ("entity_attribute_lookup", rf"^who (?:is|was) (?:the {_ROLE} (?:of|for)\b|[^?]+'s\s+{_ROLE}\s*\??$)"),
    ("entity_attribute_lookup", r"^what (?:is|was) the (?:capital|religion|occupation|genre|population) of\b"),
)

_SEARCH_ALIASES: dict[str, tuple[str, ...]] = {
    # Coarser banks: a comparison needs facts about two entities (multi-hop); an attribute lookup is a
    # single-hop retrieval.
    "comparison": ("multi_hop_reasoning", "multi_hop"),
    "entity_attribute_lookup": ("direct_retrieval", "direct"),
    "multi_hop_reasoning": ("multi_hop",),
    "direct_retrieval": ("direct",),
}


def _search() -> RuleDetector:
    return RuleDetector(_SEARCH_RULES, default="direct_retrieval", name="search", aliases=_SEARCH_ALIASES)


# --------------------------------------------------------------------------------------------------
# Profiles
# --------------------------------------------------------------------------------------------------

#: Built-in profiles: name -> factory (registered through ``skillrl_register_profiles`` below).
PROFILES = {"alfworld": _alfworld, "webshop": WebShopDetector, "search": _search}
_CACHE: dict[str, tuple[Any, CategoryDetector]] = {}


@hookimpl
def skillrl_register_profiles(register: Callable[..., None]) -> None:
    """skillrl's built-in detection profiles."""
    register("alfworld", _alfworld, "ALFWorld's six task types")
    register("webshop", WebShopDetector, "WebShop product categories")
    register("search", _search, "Search-QA query types")


def get_profile(name: str) -> CategoryDetector:
    """The detector registered as ``name``: ``"alfworld"``, ``"webshop"``, ``"search"`` (case-insensitive), or a
    plugin's (hook ``skillrl_register_profiles``).

    * ``alfworld``: returns ALFWorld task types (:data:`ALFWORLD_TASK_TYPES`); ``None`` for a text with
      no recognisable ALFWorld operation. Bank mapping: ``pick_and_place_simple -> pick_and_place``,
      ``look_at_obj_in_light -> look_at_obj_in_light`` (else ``look``/``examine``), ``pick_clean... ->
      clean``, ``pick_heat... -> heat``, ``pick_cool... -> cool``, ``pick_two_obj_and_place ->
      pick_two_obj_and_place`` / ``pick_two`` if the bank has one, else ``pick_and_place``.
    * ``webshop``: returns :data:`WEBSHOP_CATEGORIES` (``other`` when no product noun is known).
    * ``search``: returns :data:`SEARCH_QUERY_TYPES` (``direct_retrieval`` by default); a bank that only
      has ``direct_retrieval``/``multi_hop_reasoning`` gets comparisons as multi-hop and attribute
      lookups as direct retrieval.

    Detectors are immutable; the same instance is returned on every call.

    Raises:
        DetectionError: unknown profile name.
    """
    from skillrl.plugins import profile_registry

    key = str(name).strip().lower()
    registry = profile_registry()
    if key not in registry:
        raise DetectionError(f"unknown detection profile {name!r}; expected one of {sorted(registry)} "
                             f"(or build a RuleDetector for your own environment)")
    if key not in _CACHE or _CACHE[key][0] is not registry[key].factory:
        _CACHE[key] = (registry[key].factory, registry[key].factory())
    return _CACHE[key][1]
