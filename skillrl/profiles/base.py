"""The category-detection engine of template-mode retrieval, and the one goal extractor.

SkillRL (arXiv 2602.08234, Sec. 3.3) gives the policy the general skills plus the task-specific skills of
the task's category. In *template mode* the official code (``SkillsOnlyMemory._detect_task_type`` in
aiming-lab/SkillRL) picks that category with a lowercase substring cascade over the goal text; the
environment profiles (:mod:`skillrl.profiles.alfworld`, :mod:`~skillrl.profiles.webshop`,
:mod:`~skillrl.profiles.search`) replace it with small deterministic detectors built on this module:

* :func:`extract_goal`: THE extractor of the goal a prompt states (after the last ``Your task is to:`` /
  ``Your question:`` / ``Question:`` / ``Instruction:`` marker). The task-text hook
  (:func:`skillrl.plugins.extract_task`), the episode loaders (:func:`skillrl.episode.parse_alfworld_goal`) and
  the ALFWorld environment (:func:`skillrl.envs.alfworld.extract_goal`) are thin wrappers over it.
* :class:`CategoryDetector`: text -> the profile's canonical category (:meth:`~CategoryDetector.detect`) ->
  one of a bank's category keys (:meth:`~CategoryDetector.to_bank_category`, via a per-profile alias table).
* :class:`RuleDetector`: user rules ``[(category, pattern), ...]`` (first match wins, optional default), from
  Python or a plain JSON file (:meth:`RuleDetector.from_json`).
* :func:`get_profile` / :func:`resolve_profile`: a registered profile by name (hook
  ``skillrl_register_profiles``, :func:`skillrl.plugins.profile_registry`), or whatever a ``profile=`` argument
  names (``None``, a detector, a rules JSON path, a name).

Everything is pure Python (``re``); patterns are compiled once per detector. A detection costs a few
microseconds (``benchmarks/bench_detection.py`` measures it).
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, Literal, overload

from skillrl.errors import ProfileError, short_repr

__all__ = [
    "DEFAULT_GOAL_MARKERS",
    "TASK_MARKER",
    "CategoryDetector",
    "DetectionError",
    "Rule",
    "RuleDetector",
    "extract_goal",
    "get_profile",
    "keyword_pattern",
    "resolve_profile",
]


class DetectionError(ProfileError):
    """Bad input to category detection: a text that is not a string, an unknown profile name, a rule
    whose pattern does not compile, or a rules file that is missing or malformed."""


#: The goal marker of ALFWorld's first observation and of the verl-agent / SkillRL prompt templates.
TASK_MARKER = "Your task is to:"

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


@overload
def extract_goal(text: str, markers: Sequence[str] | None = None, *, keep_period: bool = False,
                 required: Literal[False] = False) -> str: ...
@overload
def extract_goal(text: str, markers: Sequence[str] | None = None, *, keep_period: bool = False,
                 required: bool = ...) -> str | None: ...


def extract_goal(text: str, markers: Sequence[str] | None = None, *, keep_period: bool = False,
                 required: bool = False) -> str | None:
    """The goal stated in ``text``, or ``text`` itself when it states none: the one goal extractor of skillrl.

    Looks for the *last* occurrence of any marker (few-shot prompts show example tasks first, the
    current task last) and returns what follows it up to the end of that line or the next WebShop
    ``[SEP]`` (the next non-empty line when the marker ends its line), whitespace-collapsed and stripped,
    and without a trailing period unless ``keep_period``. Without a marker the whole text is returned,
    whitespace-collapsed (``None`` when ``required``).

    Args:
        text: a goal, an observation or a whole prompt.
        markers: marker strings such as ``"Your task is to:"`` (matched case-insensitively, the colon
            optional in the marker but required in the text). Default :data:`DEFAULT_GOAL_MARKERS`;
            ``()`` disables extraction.
        keep_period: keep the goal's trailing period (ALFWorld prints ``"put a mug in desk."``; the task text
            of prompts and episodes keeps it). Default ``False`` (detection ignores it).
        required: return ``None`` when ``text`` states no goal (no marker, or nothing after it) instead of
            the whole text. Default ``False``.

    Returns:
        The goal text (possibly empty), or ``None`` (only with ``required``).

    Raises:
        DetectionError: ``text`` is not a string.

    Example:
        >>> extract_goal("-= Welcome to TextWorld, ALFRED! =-\\n\\nYour task is to: put a hot apple in fridge.")
        'put a hot apple in fridge'
        >>> extract_goal("You are in a room.\\nYour task is to: put a mug in desk.", [TASK_MARKER], keep_period=True)
        'put a mug in desk.'
    """
    if not isinstance(text, str):
        raise DetectionError(f"detection needs a str (a goal or a prompt), got {type(text).__name__}: "
                             f"{short_repr(text)}")
    return _extract(text, _DEFAULT_MARKER_RE if markers is None else _marker_regex(markers),
                    keep_period=keep_period, required=required)


def _extract(text: str, regex: re.Pattern[str] | None, keep_period: bool = False,
             required: bool = False) -> str | None:
    goal = None
    if regex is not None and ":" in text:  # every marker ends with a colon
        last = None
        for last in regex.finditer(text):
            pass
        if last is not None:
            rest = _SEP.split(text[last.end():], maxsplit=1)[0]
            goal = rest.split("\n", 1)[0]
            if not goal.strip():  # marker at the end of a line: the goal is on the next non-empty line
                lines = [ln for ln in rest.split("\n") if ln.strip()]
                goal = lines[0] if lines else ""
    if goal is None:
        if required:
            return None
        goal = text
    goal = _SPACES.sub(" ", goal).strip()
    if not keep_period and goal.endswith("."):
        goal = goal[:-1].rstrip()
    return None if required and not goal else goal




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
# Resolving profiles
# --------------------------------------------------------------------------------------------------

_CACHE: dict[str, tuple[Any, CategoryDetector]] = {}


def get_profile(name: str) -> CategoryDetector:
    """The detector registered as ``name`` (case-insensitive) with the hook ``skillrl_register_profiles``:
    the built-ins ``"alfworld"`` (:mod:`skillrl.profiles.alfworld`), ``"webshop"``
    (:mod:`skillrl.profiles.webshop`), ``"search"`` (:mod:`skillrl.profiles.search`), or a plugin's
    (:func:`skillrl.plugins.register_plugin`, or an entry point in the ``skillrl`` group).

    * ``alfworld``: returns ALFWorld task types (:data:`skillrl.profiles.alfworld.ALFWORLD_TASK_TYPES`); ``None``
      for a text with no recognisable ALFWorld operation. Bank mapping
      (:data:`skillrl.profiles.alfworld.ALFWORLD_BANK_KEYS`): ``pick_and_place_simple -> pick_and_place``,
      ``look_at_obj_in_light -> look_at_obj_in_light`` (else ``look``/``examine``), ``pick_clean... ->
      clean``, ``pick_heat... -> heat``, ``pick_cool... -> cool``, ``pick_two_obj_and_place ->
      pick_two_obj_and_place`` / ``pick_two`` if the bank has one, else ``pick_and_place``.
    * ``webshop``: returns :data:`skillrl.profiles.webshop.WEBSHOP_CATEGORIES` (``other`` when no product noun
      is known).
    * ``search``: returns :data:`skillrl.profiles.search.SEARCH_QUERY_TYPES` (``direct_retrieval`` by default); a
      bank that only has ``direct_retrieval``/``multi_hop_reasoning`` gets comparisons as multi-hop and
      attribute lookups as direct retrieval.

    Detectors are immutable; the same instance is returned on every call (a new one when a plugin re-registers
    the name with another factory).

    Raises:
        DetectionError: unknown profile name (the message lists the registered ones).
    """
    from skillrl.registry import profile_registry

    key = str(name).strip().lower()
    registry = profile_registry()
    if key not in registry:
        raise DetectionError(f"unknown detection profile {name!r}; expected one of {sorted(registry)} "
                             f"(or build a RuleDetector for your own environment)")
    if key not in _CACHE or _CACHE[key][0] is not registry[key].factory:
        _CACHE[key] = (registry[key].factory, registry[key].factory())
    return _CACHE[key][1]


def resolve_profile(profile: Any) -> CategoryDetector | None:
    """The detector a ``profile=`` argument names (``SkillRuntime``, ``SkillCallback``, the CLI's ``--profile``).

    Args:
        profile: ``None`` (no detection); a detector (any object with ``detect_for_bank``, returned as it is); a
            path to a rules JSON file (a ``str`` ending in ``.json`` or an ``os.PathLike``; see
            :meth:`RuleDetector.from_json`); or a registered profile name (:func:`get_profile`).

    Returns:
        The detector, or ``None`` for ``None``.

    Raises:
        DetectionError: unknown profile name; a rules file that is missing, unreadable or malformed.
    """
    if profile is None or hasattr(profile, "detect_for_bank"):
        return profile
    if isinstance(profile, os.PathLike) or (isinstance(profile, str) and profile.strip().lower().endswith(".json")):
        path = Path(profile)
        if path.is_file():
            return RuleDetector.from_json(path)
        if str(profile).strip().lower() not in _registered_names():  # a name may end in ".json" too
            raise DetectionError(f"{path}: rules file not found (a --profile/profile= ending in .json names a "
                                 f"rules file; registered profiles: {sorted(_registered_names())})")
    return get_profile(profile)


def _registered_names() -> set[str]:
    from skillrl.registry import profile_registry

    return set(profile_registry())
