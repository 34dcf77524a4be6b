"""Skills that carry evidence: usage per skill, a causal credit signal (skill ablation), decisions by evidence.

**Usage** (:class:`UsageStats`, the ``stats`` section of a native bank file). Every episode the runtime records
(:meth:`skillrl.runtime.SkillRuntime.record`, train and evaluation alike) is counted per *cell* ``(skill, split,
category, bank version)``, in one of three arms: *shown* (the skill was in the full block, ``Episode.skill_ids``,
nothing withheld), *withheld* (it would have been in the block, but the ablation design left it out,
``Episode.metadata["withheld"]``) and *shown_ablated* (shown in a group that withheld another skill: counted as a
use, not compared, since that block lacks another skill whose effect would leak into the comparison). An arm keeps
the number of episodes, successes and the reward sum, and three sums over GRPO groups (clusters) for the interval
(see below). Per ``(split, category, version)`` the same numbers are kept for all episodes that carried a block. The
official export never contains them; the strict loader checks them (:meth:`UsageStats.from_native`).

**Why ablation.** Without it every episode of a category sees the same skills, so "success when shown" has nothing to
be compared with; comparing across bank versions or across tasks measures how hard the tasks were and how far the
policy had come, not the skill. The runtime therefore withholds one skill from a configurable fraction of GRPO
*groups* (:attr:`skillrl.config.SkillConfig.ablation`, default 0 = off): the choice is a hash of the seed, the group
key the adapter passes (TRL: the mode and trainer step), the task and the category (:func:`ablation_choice`), so the
``G`` copies of a group, even split across ranks, get the identical block (GRPO's rule: the advantage compares
completions sampled from one context) and the choice is independent of the outcome. ReSkill runs its A/B tests of
skill versions inside GRPO groups the same way; this is the leave-one-out variant for single skills.

**Estimator** (:func:`estimate`). A skill's utility in its category is ``P(success | shown) - P(success | withheld)``
among the episodes where it was eligible (in the block the task would get): the full block against the full block
without that one skill, both from groups the hash assigned at random. ``ablation`` must therefore stay below 1 (the
full-block groups are the comparison); the variance ``K/ablation + 1/(1 - ablation)`` (``K`` skills per block) is
lowest near ``ablation = sqrt(K) / (1 + sqrt(K))``: 0.7 for 6 skills, 0.8 for 17. Per arm a Beta posterior (prior
``Beta(1, 1)``) on the success probability; the difference is summarised by Monte-Carlo draws (``draws``, default
20,000, a fixed seed per skill: results do not depend on the order of skills), giving the posterior mean (the
reported ``utility``, in [-1, 1]), an equal-tailed interval and ``P(utility > 0)``. Source: the Beta-Bernoulli model
of Thompson sampling (Thompson 1933; Chapelle & Li 2011; Russo et al., "A Tutorial on Thompson Sampling", 2018),
ReSkill's Thompson-sampling pruning of skill versions, ACE's helpful/harmful counts per bullet. Three corrections
make it honest on RL data:

* *groups*: the ``G`` completions of a GRPO group share a task and a block, so their outcomes are correlated. Each
  arm's counts are divided by the design effect (Kish 1965, *Survey Sampling*): the ratio of the cluster-robust
  variance of the success rate (groups as clusters: ``m/(m-1) * sum_g (k_g - p n_g)^2 / n^2``) to the binomial one,
  at least 1 and at most the mean group size; the Beta posterior is then taken on those effective counts.
* *time*: the chance that a given skill is withheld is ``ablation / (skills in the block)``, and blocks grow while
  the policy improves, so the withheld episodes are not spread over bank versions (and splits, and for general skills
  categories) as the shown ones are. The shown arm is therefore standardised to the withheld arm's strata (direct
  standardisation, as Mantel-Haenszel estimators do; strata = ``(split, category, version)``): its posterior is the
  mixture ``sum_s w_s Beta_s`` with ``w_s`` the share of withheld episodes in stratum ``s``, moment-matched to one
  Beta; the withheld arm is pooled over the same strata. Strata without a withheld (or without a shown) episode do
  not count.
* *many skills*: with ``simultaneous=True`` (default) the intervals of the skills of one family (one category's
  task-specific skills; all general skills) are Bonferroni-adjusted: each is taken at level ``1 - (1 - level) / m``
  for the ``m`` skills with evidence in the family, so the chance that *any* neutral skill of the family gets an
  interval excluding zero is at most ``1 - level``. The reported ``level`` is the adjusted one.

Only the skill's current text counts: cells of bank versions before its ``provenance.updated_version`` (before a
refinement) are left out (they are what a rollback compares against). Episodes without ablation contribute to
``uses`` and to the shown arm's strata only where a withheld episode exists.

**Cost in episodes.** The withheld arm is the scarce one: ``episodes x ablation / eligible skills`` per skill and
category. Measured by ``benchmarks/bench_utility.py`` on a known model through the runtime (effects +0.2 / -0.2, four
neutral skills, one added half-way; G=4; ``ablation=0.7``, ``ablation_scope="task_specific"``, 6 heat skills, each
withheld in 13% of the category's episodes): both planted skills found with no neutral one flagged in 0%, 25%, 62%,
90% and 95% of runs at 200, 500, 1,000, 1,500 and 2,000 episodes per category; intervals covered the true effect in
99-100% (``benchmarks/results/bench_utility.json``, docs/utility.md). With ``ablation_scope="all"`` the 12 general
skills join the candidates and each skill is withheld about three times less often.

**What ablation does to training.** The withheld groups are trained on a block one skill short: a mild, random
*skill dropout*, which (like dropout, Srivastava et al. 2014) keeps the policy from leaning on any single line of its
context; SKILL0 withdraws skills on purpose, by a curriculum, until the policy acts without them. GRPO's advantage is
still computed among completions of one context, so the gradient is unbiased for the contexts it was sampled from;
what changes is the context distribution (a fraction ``ablation / skills`` of contexts lacks a given skill) and, if a
withheld skill helps, a slightly lower reward in those groups. Evaluation is not ablated unless
``SkillConfig.ablation_eval`` is set, so scored splits see the full block.

**Decisions** (:func:`decide`, run by :class:`skillrl.evolve.Evolver` at each evolution, thresholds in
:class:`UtilityConfig`): a skill with at least ``min_episodes`` in each arm whose interval lies below zero is
*retired* (removed from the rendered set in the evolution's version; the removal, the record and the evidence stay in
the bank's history, :func:`retired` lists them, :func:`restore` brings one back); a refinement whose utility is not
better than its predecessor's (``P(new > old) < rollback_below``, each with ``min_episodes`` per arm) is *rolled back*
to the previous text; a full category evicts its lowest-utility skill (:func:`skillrl.filing.eviction_candidate`).
Repeated evolutions look at the evidence again each time: the family-wise guarantee holds per look, not over a run.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictFloat, StrictInt, ValidationError, model_validator

from skillrl.errors import BankFormatError, ConfigError, SkillRLError, short_repr

if TYPE_CHECKING:  # pragma: no cover
    import numpy as np

    from skillrl.bank import SkillBank
    from skillrl.episode import Episode

__all__ = [
    "ARM_FIELDS",
    "Decision",
    "Estimate",
    "UsageStats",
    "UtilityConfig",
    "UtilityError",
    "ablation_choice",
    "apply_decisions",
    "decide",
    "estimate",
    "plot_utility",
    "restore",
    "retired",
    "retired_records",
]

ARM_FIELDS = ("n", "successes", "reward", "groups", "sum_k2", "sum_nk", "sum_n2")
"""What one arm keeps: episodes ``n``, ``successes``, ``reward`` (sum), ``groups`` (clusters), and over groups ``g``
with ``n_g`` episodes and ``k_g`` successes: ``sum_k2 = sum k_g^2``, ``sum_nk = sum n_g k_g``, ``sum_n2 = sum n_g^2``
(what the design effect needs)."""
_N, _K, _R, _M, _K2, _NK, _N2 = range(7)
SHOWN, WITHHELD, SHOWN_ABLATED = 0, 1, 2
ARMS = ("shown", "withheld", "shown_ablated")
_FAMILY_GENERAL = "\x00general"


class UtilityError(SkillRLError, ValueError):
    """Bad input to the utility functions (an unknown skill to restore, a skill that is not retired, ...)."""


def _new_arm() -> list[Any]:
    return [0, 0, 0.0, 0, 0, 0, 0]


def _add_arm(into: list[Any], other: Sequence[Any]) -> None:
    for i in range(7):
        into[i] += other[i]


# ====================================================================================== usage statistics


class _ArmDoc(BaseModel):
    model_config = ConfigDict(extra="forbid")

    n: StrictInt = Field(ge=1)
    successes: StrictInt = Field(ge=0)
    reward: StrictFloat
    groups: StrictInt = Field(ge=1)
    sum_k2: StrictInt = Field(ge=0)
    sum_nk: StrictInt = Field(ge=0)
    sum_n2: StrictInt = Field(ge=1)

    @model_validator(mode="after")
    def _consistent(self) -> _ArmDoc:
        # k_g <= n_g in every group: k <= n, groups <= n, k <= sum k^2 <= sum n k <= sum n^2, n <= sum n^2
        if not (self.successes <= self.n and self.groups <= self.n and self.successes <= self.sum_k2 <= self.sum_nk
                <= self.sum_n2 and self.n <= self.sum_n2 <= self.n * self.n):
            raise ValueError("counts that some grouping of episodes could give (successes <= n, groups <= n, "
                             "successes <= sum_k2 <= sum_nk <= sum_n2, n <= sum_n2 <= n^2)")
        return self

    def as_list(self) -> list[Any]:
        return [self.n, self.successes, float(self.reward), self.groups, self.sum_k2, self.sum_nk, self.sum_n2]


class _CellDoc(BaseModel):
    model_config = ConfigDict(extra="forbid")

    skill_id: str = Field(pattern=r"^[A-Za-z0-9_.:\-]{1,64}$")
    split: str = Field(min_length=1)
    category: str | None = Field(min_length=1)
    version: StrictInt = Field(ge=0)
    shown: _ArmDoc | None = None
    withheld: _ArmDoc | None = None
    shown_ablated: _ArmDoc | None = None

    @model_validator(mode="after")
    def _some_arm(self) -> _CellDoc:
        if self.shown is None and self.withheld is None and self.shown_ablated is None:
            raise ValueError("a cell with at least one of 'shown' / 'withheld' / 'shown_ablated'")
        return self


class _CategoryDoc(_ArmDoc):
    split: str = Field(min_length=1)
    category: str | None = Field(min_length=1)
    version: StrictInt = Field(ge=0)


class _StatsDoc(BaseModel):
    model_config = ConfigDict(extra="forbid")

    episodes: StrictInt = Field(ge=0)
    cells: list[_CellDoc] = Field(default_factory=list)
    categories: list[_CategoryDoc] = Field(default_factory=list)


def _format_error(err: ValidationError, file: str | None, path: str) -> BankFormatError:
    first = err.errors()[0]
    loc = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in first["loc"])
    msg = first["msg"]
    return BankFormatError(file, path + loc, msg[0].lower() + msg[1:], short_repr(first.get("input")))


CellKey = tuple[str, str, "str | None", int]
"""``(skill_id, split, category, bank version)``."""


class UsageStats:
    """How often each skill was shown or withheld, and how those episodes went, per split, category and bank version.

    Attributes:
        episodes: episodes counted (those that carried a block: some shown or withheld skill).
        cells: ``{(skill_id, split, category, version): [shown arm, withheld arm]}``; an arm is a list of the
            :data:`ARM_FIELDS` values.
        categories: ``{(split, category, version): arm}`` over every counted episode.

    Not thread-safe by itself: :meth:`skillrl.bank.SkillBank.record_usage` holds the bank's lock around :meth:`add`.
    """

    def __init__(self) -> None:
        self.episodes = 0
        self.cells: dict[CellKey, list[list[Any]]] = {}
        self.categories: dict[tuple[str, str | None, int], list[Any]] = {}

    def __bool__(self) -> bool:
        return self.episodes > 0 or bool(self.cells)

    def __repr__(self) -> str:
        skills = len({k[0] for k in self.cells})
        return f"UsageStats({self.episodes} episodes, {skills} skills, {len(self.cells)} cells)"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, UsageStats) and self.to_native() == other.to_native()

    # ------------------------------------------------------------------ counting
    def add(self, episodes: Iterable[Episode], *, split: str | None = None, version: int = 0) -> int:
        """Count ``episodes``. Returns how many carried a block (the others are skipped).

        Args:
            episodes: recorded episodes; shown ids from ``skill_ids``, withheld ids from ``metadata["withheld"]``,
                the bank version from ``metadata["bank_version"]`` (else ``version``), the group (cluster) from
                ``metadata["group"]`` (else the episode is a group of its own). Episodes of one group are clustered
                only within one call (the G copies of a group arrive in the same batch).
            split: overrides each episode's ``split`` (default ``"train"`` when neither is set).
            version: bank version for episodes whose metadata has none.
        """
        clusters: dict[tuple[Any, ...], list[Any]] = defaultdict(list)
        for ep in episodes:
            meta = ep.metadata or {}
            withheld = [w for w in (meta.get("withheld") or []) if isinstance(w, str)]
            shown = [s for s in dict.fromkeys(ep.skill_ids) if s not in withheld]
            if not shown and not withheld:
                continue
            v = meta.get("bank_version")
            v = v if type(v) is int and v >= 0 else int(version)
            group = meta.get("group")
            group = str(group) if group is not None else f"\x00{ep.episode_id}-{id(ep)}"
            key = (group, split or ep.split or "train", ep.category or None, v)
            clusters[key].append((shown, list(dict.fromkeys(withheld)), bool(ep.success), float(ep.reward)))
        counted = 0
        for (_group, sp, cat, v), members in clusters.items():
            per: dict[tuple[str, int], list[Any]] = {}
            total = [0, 0, 0.0]
            for shown, withheld, won, reward in members:
                for arm, ids in ((SHOWN_ABLATED if withheld else SHOWN, shown), (WITHHELD, withheld)):
                    for sid in ids:
                        acc = per.setdefault((sid, arm), [0, 0, 0.0])
                        acc[0] += 1
                        acc[1] += int(won)
                        acc[2] += reward
                total[0] += 1
                total[1] += int(won)
                total[2] += reward
            for (sid, arm), (n, k, r) in per.items():
                cell = self.cells.setdefault((sid, sp, cat, v), [_new_arm(), _new_arm(), _new_arm()])
                _add_arm(cell[arm], [n, k, r, 1, k * k, n * k, n * n])
            n, k, r = total
            _add_arm(self.categories.setdefault((sp, cat, v), _new_arm()), [n, k, r, 1, k * k, n * k, n * n])
            counted += n
        self.episodes += counted
        return counted

    def merge(self, other: UsageStats) -> None:
        """Add ``other``'s counts to these (e.g. another rank's episodes since the last synchronisation)."""
        self.episodes += other.episodes
        for key, arms in other.cells.items():
            cell = self.cells.setdefault(key, [_new_arm(), _new_arm(), _new_arm()])
            for mine, theirs in zip(cell, arms):
                _add_arm(mine, theirs)
        for key, arm in other.categories.items():
            _add_arm(self.categories.setdefault(key, _new_arm()), arm)

    def copy(self) -> UsageStats:
        out = UsageStats()
        out.merge(self)
        return out

    # ------------------------------------------------------------------ reading
    def uses(self, skill_id: str) -> int:
        """Episodes that showed ``skill_id`` (every split, category and version)."""
        return sum(c[SHOWN][_N] + c[SHOWN_ABLATED][_N] for k, c in self.cells.items() if k[0] == skill_id)

    def withheld(self, skill_id: str) -> int:
        """Episodes from which ``skill_id`` was withheld."""
        return sum(c[WITHHELD][_N] for k, c in self.cells.items() if k[0] == skill_id)

    @property
    def any_withheld(self) -> bool:
        """Some skill was withheld at least once (there is something to estimate)."""
        return any(c[WITHHELD][_N] for c in self.cells.values())

    def skill_ids(self) -> list[str]:
        """Skills with any count, sorted."""
        return sorted({k[0] for k in self.cells})

    def summary(self, skill_id: str) -> dict[str, Any]:
        """``{"shown", "shown_successes", "shown_reward", "withheld", ...}`` over every cell of ``skill_id``, plus
        ``"by_version"``: ``{version: {"shown": n, "success_rate": r}}`` (what ``skillrl inspect --json`` shows)."""
        shown, held = _new_arm(), _new_arm()
        versions: dict[int, list[Any]] = {}
        for (sid, _sp, _c, v), cell in self.cells.items():
            if sid != skill_id:
                continue
            _add_arm(shown, cell[SHOWN])
            _add_arm(shown, cell[SHOWN_ABLATED])
            _add_arm(held, cell[WITHHELD])
            _add_arm(versions.setdefault(v, _new_arm()), cell[SHOWN])
            _add_arm(versions[v], cell[SHOWN_ABLATED])
        return {"shown": shown[_N], "shown_successes": shown[_K], "shown_reward": shown[_R],
                "withheld": held[_N], "withheld_successes": held[_K], "withheld_reward": held[_R],
                "by_version": {v: {"shown": a[_N], "success_rate": a[_K] / a[_N] if a[_N] else None}
                               for v, a in sorted(versions.items())}}

    # ------------------------------------------------------------------ (de)serialisation
    def to_native(self) -> dict[str, Any]:
        """The ``stats`` section of a native bank file (cells sorted; empty arms left out)."""
        def arm(a: Sequence[Any]) -> dict[str, Any]:
            return {name: (float(x) if name == "reward" else int(x)) for name, x in zip(ARM_FIELDS, a)}

        cells = []
        for (sid, sp, cat, v), arms in sorted(self.cells.items(), key=lambda kv: _sort_key(kv[0])):
            doc: dict[str, Any] = {"skill_id": sid, "split": sp, "category": cat, "version": v}
            doc.update({name: arm(a) for name, a in zip(ARMS, arms) if a[_N]})
            cells.append(doc)
        cats = [{"split": sp, "category": cat, "version": v, **arm(a)}
                for (sp, cat, v), a in sorted(self.categories.items(), key=lambda kv: _sort_key(("",) + kv[0]))]
        return {"episodes": self.episodes, "cells": cells, "categories": cats}

    @classmethod
    def from_native(cls, doc: Any, file: str | None = None, path: str = "$.stats") -> UsageStats:
        """Parse what :meth:`to_native` wrote, strictly.

        Raises:
            BankFormatError: not an object of that shape, an unknown key, a count that is not a non-negative
                integer, counts no grouping of episodes could give (more successes than episodes, ...), a duplicate
                cell, with the JSON path.
        """
        if not isinstance(doc, dict):
            raise BankFormatError(file, path, "an object {episodes, cells, categories}", type(doc).__name__)
        try:
            parsed = _StatsDoc.model_validate(doc)
        except ValidationError as err:
            raise _format_error(err, file, path) from None
        out = cls()
        out.episodes = parsed.episodes
        for i, c in enumerate(parsed.cells):
            key = (c.skill_id, c.split, c.category, c.version)
            if key in out.cells:
                raise BankFormatError(file, f"{path}.cells[{i}]", "each (skill_id, split, category, version) once",
                                      short_repr(list(key)))
            out.cells[key] = [a.as_list() if a else _new_arm() for a in (c.shown, c.withheld, c.shown_ablated)]
        for i, c in enumerate(parsed.categories):
            key2 = (c.split, c.category, c.version)
            if key2 in out.categories:
                raise BankFormatError(file, f"{path}.categories[{i}]", "each (split, category, version) once",
                                      short_repr(list(key2)))
            out.categories[key2] = c.as_list()
        return out


def _sort_key(key: tuple[Any, ...]) -> tuple[Any, ...]:
    return tuple("" if x is None else x for x in key)


# ====================================================================================== ablation


def ablation_choice(skill_ids: Sequence[str], *, fraction: float, seed: int, key: str, task: str,
                    category: str | None) -> str | None:
    """Which skill a group withholds, or ``None`` (the group gets the full block).

    A deterministic function of ``(seed, key, task, category)`` (SHA-256, not Python's salted ``hash``), so every
    copy of a group gets the same answer on every rank and in every process: the first 8 bytes decide whether the
    group is ablated (with probability ``fraction``), the next 8 pick one of ``skill_ids`` uniformly. Independent of
    anything the episode does, so withholding is randomised with respect to the outcome.

    Args:
        skill_ids: the eligible skills, in block order.
        fraction: share of groups that withhold a skill, in [0, 1].
        seed: :attr:`skillrl.config.SkillConfig.ablation_seed`.
        key: the group key the adapter passes (TRL: ``"train:<step>"``).
        task, category: the group's task text and category.
    """
    if fraction <= 0 or not skill_ids:
        return None
    digest = hashlib.sha256("\x1f".join([str(seed), key, task, category or ""]).encode("utf-8")).digest()
    if int.from_bytes(digest[:8], "big") / 2.0 ** 64 >= fraction:
        return None
    return skill_ids[int.from_bytes(digest[8:16], "big") % len(skill_ids)]


def group_id(key: str, task: str, category: str | None) -> str:
    """A short id of the group ``(key, task, category)`` (episodes' ``metadata["group"]``, the cluster of the
    interval)."""
    return f"{key}|{hashlib.sha256(chr(31).join([task, category or '']).encode('utf-8')).hexdigest()[:12]}"


# ====================================================================================== estimation


class UtilityConfig(BaseModel):
    """Evidence thresholds for :func:`decide` and the estimator's settings (``EvolutionConfig.utility``).

    Attributes:
        retire: retire skills whose interval lies below zero (default True).
        rollback: roll back refinements that are not better than their predecessor (default True).
        evict_by_utility: a full category evicts its lowest-utility skill with evidence (default True).
        min_episodes: episodes needed in *each* arm (shown, withheld) before a skill is judged (default 30).
        level: interval level (default 0.95).
        simultaneous: Bonferroni-adjust the intervals within each family (default True, see the module docstring).
        rollback_below: roll back when the posterior probability that the refinement's utility exceeds its
            predecessor's is below this (default 0.5: keep whichever text has the higher utility, ReSkill's rule).
        draws: Monte-Carlo draws per estimate (default 20,000).
        seed: seed of the draws (default 0).
    """

    model_config = ConfigDict(extra="forbid")

    retire: bool = True
    rollback: bool = True
    evict_by_utility: bool = True
    min_episodes: int = Field(30, ge=1)
    level: float = Field(0.95, gt=0.0, lt=1.0)
    simultaneous: bool = True
    rollback_below: float = Field(0.5, ge=0.0, le=1.0)
    draws: int = Field(20_000, ge=100)
    seed: int = 0


@dataclass(frozen=True)
class Estimate:
    """One skill's estimated effect on success.

    Attributes:
        skill_id: the skill.
        category: the category it was estimated in; ``None`` for a general skill pooled over categories.
        tier: ``"general"``, ``"task_specific"`` or ``None`` (not in the bank).
        uses: episodes that showed it (every split, category and version).
        shown, withheld: episodes in the two arms that entered the estimate (strata with both arms, current text).
        utility: posterior mean of ``P(success | shown) - P(success | withheld)``, in [-1, 1]; ``None`` without a
            withheld episode.
        ci_low, ci_high: equal-tailed interval at ``level``; ``None`` like ``utility``.
        level: the interval's level (Bonferroni-adjusted when ``simultaneous``).
        p_shown, p_withheld: posterior means per arm (the shown arm standardised to the withheld arm's strata).
        prob_positive: posterior probability that the utility is above zero.
        reward_shown, reward_withheld: mean reward of the two arms' episodes (raw, not standardised).
        since_version: the bank version from which cells counted (the skill's ``provenance.updated_version``).
    """

    skill_id: str
    category: str | None
    tier: str | None
    uses: int
    shown: int = 0
    withheld: int = 0
    utility: float | None = None
    ci_low: float | None = None
    ci_high: float | None = None
    level: float = 0.95
    p_shown: float | None = None
    p_withheld: float | None = None
    prob_positive: float | None = None
    reward_shown: float | None = None
    reward_withheld: float | None = None
    since_version: int = 0
    draws: Any = field(default=None, repr=False, compare=False)

    def enough(self, min_episodes: int) -> bool:
        """Both arms have at least ``min_episodes`` episodes."""
        return self.utility is not None and self.shown >= min_episodes and self.withheld >= min_episodes

    def row(self) -> dict[str, Any]:
        """The ``skillrl utility --json`` record: exactly ``skill_id, category, uses, utility, ci_low, ci_high``."""
        return {"skill_id": self.skill_id, "category": self.category, "uses": self.uses,
                "utility": _round(self.utility), "ci_low": _round(self.ci_low), "ci_high": _round(self.ci_high)}

    def to_dict(self) -> dict[str, Any]:
        """Every field but the draws (JSON-ready)."""
        return {k: (_round(v) if isinstance(v, float) else v) for k, v in self.__dict__.items() if k != "draws"}


def _round(x: float | None) -> float | None:
    return None if x is None else round(float(x), 6)


def _seed_for(seed: int, *parts: Any) -> int:
    return int.from_bytes(hashlib.sha256("\x1f".join(map(str, (seed, *parts))).encode("utf-8")).digest()[:8], "big")


def _effective(arm: Sequence[Any]) -> tuple[float, float]:
    """``(n_eff, k_eff)``: the arm's counts divided by its design effect (see the module docstring)."""
    n, k, m = arm[_N], arm[_K], arm[_M]
    if n <= 0:
        return 0.0, 0.0
    p = k / n
    var_binomial = p * (1.0 - p) / n
    deff = 1.0
    if m > 1 and var_binomial > 0:
        resid = arm[_K2] - 2.0 * p * arm[_NK] + p * p * arm[_N2]
        var_cluster = m / (m - 1.0) * max(resid, 0.0) / (n * n)
        deff = min(max(var_cluster / var_binomial, 1.0), max(arm[_N2] / n, 1.0))
    return n / deff, k / deff


def _beta(arm: Sequence[Any], prior: tuple[float, float]) -> tuple[float, float]:
    n, k = _effective(arm)
    return prior[0] + k, prior[1] + n - k


def _standardised(strata: Sequence[tuple[Sequence[Any], Sequence[Any]]],
                  prior: tuple[float, float]) -> tuple[tuple[float, float], tuple[float, float]]:
    """Beta parameters of the shown arm standardised to the withheld arm's strata (moment-matched mixture), and of
    the withheld arm pooled over them."""
    total = sum(w[_N] for _s, w in strata)
    if len(strata) == 1:
        return _beta(strata[0][0], prior), _beta(strata[0][1], prior)
    mean = var = 0.0
    pooled = _new_arm()
    for shown, held in strata:
        a, b = _beta(shown, prior)
        mu = a / (a + b)
        w = held[_N] / total
        mean += w * mu
        var += w * w * mu * (1.0 - mu) / (a + b + 1.0)
        _add_arm(pooled, held)
    nu = mean * (1.0 - mean) / var - 1.0 if var > 0 else 1e12
    nu = max(nu, 1e-6)
    return (max(mean * nu, 1e-9), max((1.0 - mean) * nu, 1e-9)), _beta(pooled, prior)


@dataclass
class _Target:
    skill_id: str
    category: str | None  # the estimate's category (None: pooled over categories)
    tier: str | None
    since: int = 0
    until: int | None = None  # exclusive
    only_category: str | None = None  # restrict cells to this category (task-specific skills)


CellList = list[tuple[CellKey, list[list[Any]]]]


def _cells_by_skill(stats: UsageStats) -> dict[str, CellList]:
    out: dict[str, CellList] = defaultdict(list)
    for key, cell in stats.cells.items():
        out[key[0]].append((key, cell))
    return out


def _strata(cells: CellList, t: _Target) -> tuple[list[tuple[list[Any], list[Any]]], list[Any], list[Any]]:
    strata = []
    shown_all, held_all = _new_arm(), _new_arm()
    for (_sid, _sp, cat, v), (shown, held, _partial) in cells:
        if v < t.since or (t.until is not None and v >= t.until):
            continue
        if t.only_category is not None and cat != t.only_category:
            continue
        if t.category is not None and cat != t.category:
            continue
        if shown[_N] and held[_N]:
            strata.append((shown, held))
            _add_arm(shown_all, shown)
            _add_arm(held_all, held)
    return strata, shown_all, held_all


def _draw(cells: CellList, t: _Target, draws: int, seed: int,
          prior: tuple[float, float]) -> tuple[dict[str, Any], np.ndarray | None]:
    import numpy as np

    strata, shown_all, held_all = _strata(cells, t)
    out: dict[str, Any] = {"shown": shown_all[_N], "withheld": held_all[_N]}
    if not strata:
        return out, None
    (a1, b1), (a0, b0) = _standardised(strata, prior)
    rng = np.random.Generator(np.random.PCG64(_seed_for(seed, t.skill_id, t.category, t.since, t.until)))
    diff = rng.beta(a1, b1, draws) - rng.beta(a0, b0, draws)
    out.update(p_shown=a1 / (a1 + b1), p_withheld=a0 / (a0 + b0), utility=a1 / (a1 + b1) - a0 / (a0 + b0),
               prob_positive=float(np.mean(diff > 0)),
               reward_shown=shown_all[_R] / shown_all[_N], reward_withheld=held_all[_R] / held_all[_N])
    return out, diff


def _targets(stats: UsageStats, bank: SkillBank | None, by: Literal["skill", "cell"],
             include_unknown: bool) -> list[_Target]:
    out: list[_Target] = []
    known: set[str] = set()
    cats_of: dict[str, set[str | None]] = defaultdict(set)
    for sid, _sp, cat, _v in stats.cells:
        cats_of[sid].add(cat)
    if bank is not None:
        for s in bank.skills():
            known.add(s.skill_id)
            since = s.provenance.updated_version
            if s.tier == "task_specific":
                out.append(_Target(s.skill_id, s.category, s.tier, since, only_category=s.category))
            elif by == "cell":
                out += [_Target(s.skill_id, c, s.tier, since) for c in sorted(cats_of.get(s.skill_id, ()),
                                                                              key=lambda c: c or "")]
            else:
                out.append(_Target(s.skill_id, None, s.tier, since))
    if include_unknown or bank is None:
        for sid in stats.skill_ids():
            if sid in known:
                continue
            cats = cats_of[sid]
            if by == "cell":
                out += [_Target(sid, c, None) for c in sorted(cats, key=lambda c: c or "")]
            else:
                only = next(iter(cats)) if len(cats) == 1 else None
                out.append(_Target(sid, only, None, only_category=only))
    return out


def estimate(stats: UsageStats, bank: SkillBank | None = None, *, by: Literal["skill", "cell"] = "skill",
             config: UtilityConfig | None = None, level: float | None = None, simultaneous: bool | None = None,
             draws: int | None = None, seed: int | None = None, prior: tuple[float, float] = (1.0, 1.0),
             include_unknown: bool = True, keep_draws: bool = False) -> list[Estimate]:
    """Each skill's effect on success within its category (see the module docstring for the estimator).

    Args:
        stats: the counts (a bank's :attr:`~skillrl.bank.SkillBank.stats`, or :meth:`UsageStats.add` of episodes).
        bank: gives each skill its tier, category and current text's version (``provenance.updated_version``);
            ``None``: every skill in ``stats``, pooled over its categories unless it has only one.
        by: ``"skill"`` (default): one estimate per skill (task-specific: in its category; general: pooled over
            categories, standardised to where it was withheld); ``"cell"``: general skills once per category (for
            :func:`plot_utility`).
        config: :class:`UtilityConfig` supplying ``level``, ``simultaneous``, ``draws`` and ``seed`` (defaults:
            0.95, True, 20,000, 0); the keyword arguments override it.
        prior: the Beta prior of each arm (default uniform, ``(1, 1)``).
        include_unknown: also estimate skills in ``stats`` that are not in ``bank`` (retired or removed ones).
        keep_draws: keep the Monte-Carlo draws of the difference in :attr:`Estimate.draws` (a float array).

    Returns:
        Estimates in bank order (general, then each category), then skills not in the bank by id. A skill never
        withheld has ``utility=None`` (no evidence); ``uses`` still counts its episodes.

    Raises:
        ConfigError: ``by`` is not ``"skill"`` / ``"cell"``, or a setting out of range.
    """
    if by not in ("skill", "cell"):
        raise ConfigError(f"by must be 'skill' or 'cell', got {by!r}")
    cfg = config or UtilityConfig()
    level = cfg.level if level is None else float(level)
    if not 0.0 < level < 1.0:
        raise ConfigError(f"level must be in (0, 1), got {level!r}")
    simultaneous = cfg.simultaneous if simultaneous is None else simultaneous
    draws = cfg.draws if draws is None else int(draws)
    seed = cfg.seed if seed is None else int(seed)
    import numpy as np

    index = _cells_by_skill(stats)
    rows: list[tuple[_Target, dict[str, Any], Any]] = []
    for t in _targets(stats, bank, by, include_unknown):
        fields, diff = _draw(index.get(t.skill_id, []), t, draws, seed, prior)
        rows.append((t, fields, diff))
    family_size: dict[Any, int] = defaultdict(int)
    for t, _f, diff in rows:
        if diff is not None:
            family_size[_family(t)] += 1
    out = []
    for t, fields, diff in rows:
        lvl = level
        if simultaneous and family_size[_family(t)] > 1:
            lvl = 1.0 - (1.0 - level) / family_size[_family(t)]
        if diff is not None:
            lo, hi = np.quantile(diff, [(1.0 - lvl) / 2.0, 1.0 - (1.0 - lvl) / 2.0])
            fields.update(ci_low=float(lo), ci_high=float(hi))
        uses = sum(c[SHOWN][_N] + c[SHOWN_ABLATED][_N] for k, c in index.get(t.skill_id, [])
                   if (t.only_category is None or k[2] == t.only_category)
                   and (by == "skill" or t.category is None or k[2] == t.category))
        out.append(Estimate(skill_id=t.skill_id, category=t.category, tier=t.tier, uses=uses, level=lvl,
                            since_version=t.since, draws=diff if keep_draws else None, **fields))
    return out


def _family(t: _Target) -> Any:
    return t.category if t.category is not None else _FAMILY_GENERAL


# ====================================================================================== decisions


class Decision(BaseModel):
    """A retirement or rollback, with its evidence (kept in the evolution's history entry, ``meta["decisions"]``,
    and in :attr:`skillrl.evolve.EvolutionReport.retired` / ``rolled_back``).

    Attributes:
        kind: ``"retire"`` or ``"rollback"``.
        skill_id, category: the skill (``category`` ``None``: a general skill).
        utility, ci_low, ci_high, level: the estimate the decision rests on (the current text's).
        shown, withheld: episodes in its two arms.
        previous_utility, previous_ci_low, previous_ci_high, previous_shown, previous_withheld: rollback only: the
            predecessor text's estimate.
        prob_better: rollback only: posterior probability that the refinement's utility exceeds its predecessor's.
        restored_from: rollback only: the bank version whose text is restored (the predecessor's
            ``updated_version``).
        step: trainer step of the evolution that decided.
        reason: one line for logs.
    """

    model_config = ConfigDict(extra="forbid")

    kind: Literal["retire", "rollback"]
    skill_id: str
    category: str | None = None
    utility: float
    ci_low: float
    ci_high: float
    level: float
    shown: int
    withheld: int
    previous_utility: float | None = None
    previous_ci_low: float | None = None
    previous_ci_high: float | None = None
    previous_shown: int | None = None
    previous_withheld: int | None = None
    prob_better: float | None = None
    restored_from: int | None = None
    step: int | None = None
    reason: str = ""


def _refinement_of(bank: SkillBank, skill_id: str, version: int) -> dict[str, Any] | None:
    """The record ``skill_id`` had before the evolution refinement that made it at ``version`` (``None``: its current
    text did not come from an evolution's refinement, e.g. it was added, edited by hand, or restored by a rollback)."""
    change = _change_at(bank, version)
    if change is None or change.op != "evolve":
        return None
    if any(d.get("kind") == "rollback" and d.get("skill_id") == skill_id
           for d in change.meta.get("decisions", []) if isinstance(d, dict)):
        return None
    for edit in change.edits:
        if edit.kind == "skill" and edit.item_id == skill_id and edit.before is not None and edit.after is not None:
            keys = ("title", "principle", "when_to_apply")
            if any(edit.before.get(k) != edit.after.get(k) for k in keys):
                return edit.before
    return None


def _change_at(bank: SkillBank, version: int) -> Any:
    """The history entry that made ``version`` (``None`` when the history does not hold it)."""
    hist = bank.history
    i = version - hist[0].version if hist else -1
    if 0 <= i < len(hist) and hist[i].version == version:
        return hist[i]
    return next((c for c in hist if c.version == version), None)


def decide(bank: SkillBank, config: UtilityConfig | None = None, *, step: int | None = None,
           estimates: Sequence[Estimate] | None = None) -> list[Decision]:
    """The retirements and rollbacks the evidence in ``bank.stats`` calls for (nothing is changed; see
    :func:`apply_decisions`).

    * retire: a skill of the bank with at least ``min_episodes`` per arm whose interval (simultaneous within its
      family when configured) lies below zero;
    * rollback: a skill whose current text came from an evolution's refinement, when both texts have at least
      ``min_episodes`` per arm and ``P(utility_new > utility_old) < rollback_below``; a skill that qualifies for both
      is rolled back when its predecessor's interval does not lie below zero, else retired.

    Args:
        bank: the bank (its ``stats`` and history).
        config: thresholds (:class:`UtilityConfig`).
        step: recorded in each decision.
        estimates: precomputed :func:`estimate` results (``by="skill"``, same config); computed when ``None``.
    """
    import numpy as np

    cfg = config or UtilityConfig()
    stats = bank.stats
    if not stats.any_withheld or not (cfg.retire or cfg.rollback):
        return []
    if estimates is None:
        estimates = estimate(stats, bank, config=cfg, include_unknown=False, keep_draws=cfg.rollback)
    out: list[Decision] = []
    for e in estimates:
        if e.skill_id not in bank or not e.enough(cfg.min_episodes):
            continue
        skill = bank.get(e.skill_id)
        evidence = dict(skill_id=e.skill_id, category=skill.category, utility=float(e.utility),
                        ci_low=float(e.ci_low), ci_high=float(e.ci_high), level=e.level, shown=e.shown,
                        withheld=e.withheld, step=step)
        harmful = cfg.retire and e.ci_high < 0
        previous = _refinement_of(bank, e.skill_id, skill.provenance.updated_version) if cfg.rollback else None
        if previous is not None and e.draws is not None:
            since = int((previous.get("provenance") or {}).get("updated_version", 0))
            t = _Target(e.skill_id, skill.category, skill.tier, since, until=skill.provenance.updated_version,
                        only_category=skill.category)
            cells = [(k, c) for k, c in stats.cells.items() if k[0] == e.skill_id]
            old, old_diff = _draw(cells, t, len(e.draws), cfg.seed, (1.0, 1.0))
            if old_diff is not None and old["shown"] >= cfg.min_episodes and old["withheld"] >= cfg.min_episodes:
                prob_better = float(np.mean(e.draws > old_diff))
                lo, hi = np.quantile(old_diff, [(1.0 - e.level) / 2.0, 1.0 - (1.0 - e.level) / 2.0])
                if prob_better < cfg.rollback_below and (not harmful or hi >= 0):
                    out.append(Decision(
                        kind="rollback", previous_utility=float(old["utility"]), previous_ci_low=float(lo),
                        previous_ci_high=float(hi), previous_shown=old["shown"], previous_withheld=old["withheld"],
                        prob_better=prob_better, restored_from=since,
                        reason=(f"rolled back {e.skill_id}: refinement utility {e.utility:+.3f} "
                                f"[{e.ci_low:+.3f}, {e.ci_high:+.3f}] vs previous {old['utility']:+.3f}, "
                                f"P(better)={prob_better:.2f} < {cfg.rollback_below:g} "
                                f"({e.withheld}+{old['withheld']} withheld episodes)"),
                        **evidence))
                    continue
        if harmful:
            out.append(Decision(kind="retire", reason=(
                f"retired {e.skill_id}: utility {e.utility:+.3f}, {e.level:.4g} interval [{e.ci_low:+.3f}, "
                f"{e.ci_high:+.3f}] below zero ({e.shown} shown / {e.withheld} withheld episodes)"), **evidence))
    return out


def apply_decisions(bank: SkillBank, decisions: Sequence[Decision], reason: str = "") -> list[Decision]:
    """Apply ``decisions`` to ``bank`` as ONE version (or inside the caller's open transaction, e.g. an evolution's):
    a retirement removes the skill (the history keeps the record, where it was and the evidence in
    ``meta["decisions"]``); a rollback restores the predecessor's title, principle and when-to-apply. Decisions whose
    skill is gone are skipped. Returns the decisions applied.

    A transaction opened here carries ``meta["decisions"]``; inside an evolution the evolver puts them in its own
    transaction's meta (a nested transaction folds into the open one).
    """
    applied = [d for d in decisions if d.skill_id in bank]
    if not applied:
        return []
    meta = {"decisions": [d.model_dump(mode="json") for d in applied]}
    with bank.transaction(reason or "decisions by evidence", op="transaction", **meta):
        for d in applied:
            if d.kind == "retire":
                bank.remove(d.skill_id, reason=d.reason)
            else:
                previous = _refinement_of(bank, d.skill_id, bank.get(d.skill_id).provenance.updated_version)
                if previous is None:
                    raise UtilityError(f"{d.skill_id}: its current text is not an evolution's refinement")
                current = bank.get(d.skill_id)
                prov = current.provenance.model_copy(update={"note": f"rolled back to the text of "
                                                                     f"v{d.restored_from}: {d.reason}"[:1000]})
                bank.update(d.skill_id, reason=d.reason, title=previous["title"], principle=previous["principle"],
                            when_to_apply=previous.get("when_to_apply", ""), provenance=prov)
    return applied


def _decisions_in(bank: SkillBank) -> list[tuple[int, Decision]]:
    out = []
    for change in bank.history:
        for d in change.meta.get("decisions", []) if isinstance(change.meta, dict) else []:
            try:
                out.append((change.version, Decision.model_validate(d)))
            except ValidationError:
                continue
    return out


def retired(bank: SkillBank) -> list[Decision]:
    """The skills retired by evidence and not in the bank now (latest retirement per skill), oldest first."""
    last: dict[str, Decision] = {}
    for _v, d in _decisions_in(bank):
        if d.kind == "retire":
            last[d.skill_id] = d
    return [d for sid, d in last.items() if sid not in bank]


def retired_records(bank: SkillBank) -> list[Any]:
    """The records (:class:`~skillrl.skill.Skill`) of the skills :func:`retired` lists, as they were when retired
    (evolution rejects proposals that duplicate one of them)."""
    from skillrl.skill import Skill

    out = []
    for d in retired(bank):
        edit = _retire_edit(bank, d.skill_id)
        if edit is not None:
            out.append(Skill.model_validate(edit[1].before))
    return out


def _retire_edit(bank: SkillBank, skill_id: str) -> tuple[int, Any, Decision] | None:
    """``(version, edit, decision)`` of the latest retirement of ``skill_id`` in the history."""
    for version, d in reversed(_decisions_in(bank)):
        if d.kind != "retire" or d.skill_id != skill_id:
            continue
        change = _change_at(bank, version)
        edit = None if change is None else next((e for e in change.edits if e.kind == "skill" and
                                                 e.item_id == skill_id and e.after is None and e.before is not None),
                                                None)
        return None if edit is None else (version, edit, d)
    return None


def restore(bank: SkillBank, skill_id: str, reason: str = "") -> Any:
    """Bring a retired skill back, where it was, as a new version (its evidence starts again from that version).

    Raises:
        UtilityError: ``skill_id`` is in the bank, or was never retired by evidence.
    """
    from skillrl.skill import Skill

    if skill_id in bank:
        raise UtilityError(f"{skill_id!r} is in the bank; only a retired skill can be restored")
    found = _retire_edit(bank, skill_id)
    if found is None:
        raise UtilityError(f"{skill_id!r} was never retired by evidence in this bank's history")
    version, edit, d = found
    index = edit.before_at[1] if edit.before_at else None
    return bank.add(Skill.model_validate(edit.before), index=index,
                    reason=reason or f"restored {skill_id} (retired at v{version}: {d.reason})")



# ====================================================================================== plots


def plot_utility(estimates: Sequence[Estimate], path: str | Path, *, title: str | None = None) -> Path:
    """One panel per category: each skill's utility (posterior mean) with its interval, zero marked; green when the
    interval lies above zero, red below, grey otherwise. Skills without evidence are left out (counted in the
    panel's title). Use ``estimate(stats, bank, by="cell")`` for general skills inside each category.

    Args:
        estimates: from :func:`estimate`.
        path: image file to write (``.png``, ``.pdf``, ``.svg``: matplotlib's formats); folders are created.
        title: figure title.

    Returns:
        ``Path(path)``.

    Raises:
        MissingDependencyError: matplotlib is not installed (``pip install matplotlib``).
    """
    from skillrl.errors import MissingDependencyError

    try:
        import matplotlib

        matplotlib.use("Agg", force=False)
        import matplotlib.pyplot as plt
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise MissingDependencyError("matplotlib", "trl", "skillrl.utility.plot_utility") from exc
    panels: dict[str, list[Estimate]] = defaultdict(list)
    missing: dict[str, int] = defaultdict(int)
    for e in estimates:
        name = e.category if e.category is not None else "general"
        if e.utility is None:
            missing[name] += 1
        else:
            panels[name].append(e)
    names = sorted(set(panels) | set(missing), key=lambda n: (n != "general", n))
    fig, axes = plt.subplots(max(len(names), 1), 1, squeeze=False,
                             figsize=(7.0, 1.2 + sum(0.28 * max(len(panels[n]), 1) + 0.6 for n in names)))
    for ax, name in zip(axes[:, 0], names or ["(no estimates)"]):
        rows = sorted(panels.get(name, []), key=lambda e: e.utility or 0.0)
        ys = list(range(len(rows)))
        for y, e in zip(ys, rows):
            color = "tab:green" if e.ci_low > 0 else "tab:red" if e.ci_high < 0 else "tab:gray"
            ax.errorbar([e.utility], [y], xerr=[[e.utility - e.ci_low], [e.ci_high - e.utility]], fmt="o",
                        color=color, capsize=3)
        ax.axvline(0.0, color="black", linewidth=0.8)
        ax.set_yticks(ys, [e.skill_id for e in rows])
        ax.set_xlim(-1.0, 1.0)
        extra = f" ({missing[name]} without evidence)" if missing.get(name) else ""
        ax.set_title(f"{name}{extra}", fontsize=9)
        ax.tick_params(labelsize=8)
    axes[-1, 0].set_xlabel("utility: P(success | shown) - P(success | withheld), with interval")
    if title:
        fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def estimates_by_id(estimates: Iterable[Estimate], min_episodes: int = 1) -> Mapping[str, float]:
    """``{skill_id: utility}`` of the estimates with at least ``min_episodes`` per arm (what eviction reads)."""
    return {e.skill_id: float(e.utility) for e in estimates if e.enough(min_episodes)}

