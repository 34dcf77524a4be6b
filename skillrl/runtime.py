"""The framework-neutral engine that adapters drive.

An adapter (TRL, OpenRLHF, an inference agent) translates its framework's events into four calls:

* :meth:`SkillRuntime.augment` - *put skills into these prompts* (before a rollout / generation batch);
* :meth:`SkillRuntime.record` - *here are scored episodes* (after rewards are computed);
* :meth:`SkillRuntime.after_validation` - *a validation finished* (runs evolution, SkillRL Sec. 3.3);
* :meth:`SkillRuntime.state_dict` / :meth:`SkillRuntime.load_state_dict` / :meth:`save` / :meth:`load` - checkpoints and
  cross-process broadcast.

Every decision on the way (task text, category, retrieval, rendering, placement, accepting a skill) is a
pluggy hook (:mod:`skillrl.hookspecs`) whose default is :class:`skillrl.plugins.BuiltinPlugin`.
"""

from __future__ import annotations

import itertools
import logging
import threading
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable, Literal, Sequence

from pydantic import BaseModel

from skillrl import storage
from skillrl.bank import SkillBank
from skillrl.config import CONFIG_FILE, SkillConfig
from skillrl.episode import Episode, Step, success_rates
from skillrl.errors import BankFormatError, BankNotFoundError, ConfigError
from skillrl.plugins import BuiltinPlugin, make_plugin_manager
from skillrl.profiles import resolve_profile
from skillrl.utility import UsageStats, ablation_choice, group_id

if TYPE_CHECKING:
    from skillrl.evolve import EvolutionConfig, EvolutionReport
    from skillrl.render import SkillBlock
    from skillrl.retrieval import Retrieval, SkillRetriever

logger = logging.getLogger("skillrl")

BANK_FILE = "skill_bank.json"
"""The bank's file inside a runtime state directory (:meth:`SkillRuntime.save`)."""
STATE_FILE = "skillrl_state.json"
"""The runtime's own state (evolution reports, validations) beside :data:`BANK_FILE`."""
METRIC_PREFIX = "skills/"
"""The prefix of every metric the runtime reports (adapters log these names unchanged)."""
Mode = Literal["embedding", "template"]


@dataclass(frozen=True)
class Augmentation:
    """One prompt with its skills.

    Attributes:
        prompt: the augmented prompt (same type as the original: text or list of messages).
        original: the prompt as it came in.
        task: the task text skills were retrieved for.
        category: the detected bank category (``None`` when unknown / no detector).
        block: the rendered block (text, skill ids, tokens).
        bank_version: the bank version the skills came from.
        withheld: ids of the skills the ablation design left out of this group's block (``()``: the full block;
            :attr:`skillrl.config.SkillConfig.ablation`).
        group: the group id (``<group key>|<hash of task and category>``) when the adapter passed a group key; the
            episodes of one group share it (the cluster of :mod:`skillrl.utility`'s intervals).
    """

    prompt: Any
    original: Any
    task: str
    category: str | None
    block: "SkillBlock"
    bank_version: int
    withheld: tuple[str, ...] = ()
    group: str | None = None

    @property
    def skill_ids(self) -> tuple[str, ...]:
        return self.block.skill_ids


@dataclass
class _BatchStats:
    prompts: int = 0
    distinct_tasks: int = 0
    skills: float = 0.0
    tokens: float = 0.0
    dropped: float = 0.0
    unknown: float = 0.0
    ablated: float = 0.0


class SkillRuntime:
    """Skills for prompts, episodes in, evolution after validation: what every adapter drives.

    Args:
        bank: the :class:`SkillBank` (or a path to one) to read and grow. The runtime edits it in place.
        config: a :class:`skillrl.config.SkillConfig` (``None``: the defaults, the paper's rule; see
            :mod:`skillrl.config` for every setting and why).
        **settings: :class:`~skillrl.config.SkillConfig` fields overriding ``config`` (``mode="template"``,
            ``profile="alfworld"``, ``teacher="offline"``, ``top_k=3``, ``evolution={...}``, ...). ``profile``,
            ``teacher`` and ``embedder`` may also be objects (a :class:`skillrl.profiles.CategoryDetector`, a
            :class:`skillrl.teachers.Teacher`, an :class:`skillrl.embedders.Embedder`); objects are used as given and
            are not part of the saved configuration.
        tokenizer: counts block tokens exactly (a Hugging Face tokenizer or ``str -> int``; default: an estimate).
        plugins: extra pluggy plugins (objects or modules with ``@skillrl.hookimpl`` functions), registered after
            those named in ``config.plugins``.
        load_entry_points: load plugins published under the ``skillrl`` entry-point group (default True).
        output_dir: when set, every bank version is written there as ``banks/bank_v<version>.json``.

    Attributes:
        config: the resolved :class:`~skillrl.config.SkillConfig` (saved beside the bank by :meth:`save`).
        extra: state an adapter keeps beside the runtime's own (JSON-serialisable, one key per adapter, e.g.
            ``extra["openrlhf"]``). The runtime never reads it; :meth:`state_dict` / :meth:`load_state_dict` and
            :meth:`save` / :meth:`load` carry it unchanged (in ``skillrl_state.json``), so an adapter's extra state
            is checkpointed and broadcast with the bank, by the one state writer. Default ``{}``.

    Raises:
        ConfigError: an unknown setting or an invalid value (the message names it).

    Thread safety: :meth:`augment`, :meth:`record` and :meth:`after_validation` may run on different threads;
    they share a lock, which evolution holds only to take its snapshot and to commit (not during teacher calls).
    """

    def __init__(
        self,
        bank: SkillBank | str | Path,
        config: SkillConfig | None = None,
        *,
        tokenizer: Any = None,
        plugins: Sequence[Any] = (),
        load_entry_points: bool = True,
        output_dir: str | Path | None = None,
        **settings: Any,
    ) -> None:
        objects = {k: settings.pop(k) for k in ("profile", "teacher", "embedder")
                   if k in settings and settings[k] is not None and not isinstance(settings[k], (str, Path))}
        for k in ("profile", "embedder"):
            if isinstance(settings.get(k), Path):
                settings[k] = str(settings[k])
        if isinstance(settings.get("evolution"), BaseModel):
            settings["evolution"] = settings["evolution"].model_dump()
        base = (config or SkillConfig()).skill_config()
        self.config: SkillConfig = base.replace(**settings) if settings else base
        self.bank = bank if isinstance(bank, SkillBank) else SkillBank.load(bank)
        self.detector = objects["profile"] if "profile" in objects else resolve_profile(self.config.profile)
        self._embedder = objects.get("embedder")
        if self._embedder is None and self.config.embedder:
            self._embedder = _make_embedder(self.config.embedder)
        self.tokenizer = tokenizer
        self.teacher = objects["teacher"] if "teacher" in objects else _make_teacher(self.config.teacher)
        self.output_dir = Path(output_dir) if output_dir else None
        self.pm = make_plugin_manager(load_entry_points=load_entry_points)
        self.pm.register(BuiltinPlugin(self), name="skillrl-builtin")
        for p in [*load_plugins(self.config.plugins), *plugins]:
            self.pm.register(p)
        self._retriever: "SkillRetriever | None" = None
        self._lock = threading.RLock()
        self._cache: dict[tuple[str, str | None], tuple["Retrieval", "SkillBlock"]] = {}
        self._ablated: dict[tuple[str, str | None, str], "SkillBlock"] = {}  # (task, category, withheld id)
        self._usage_delta = UsageStats()  # counted since the last take_usage_delta (cross-rank synchronisation)
        self._category_cache: dict[str, str | None] = {}
        self._cache_version = self.bank.version
        self._episodes: dict[str, list["Episode"]] = defaultdict(list)
        self._episode_counter = itertools.count()
        self.reports: list["EvolutionReport"] = []
        self.last_batch = _BatchStats()
        self.validations: list[dict[str, Any]] = []
        self.extra: dict[str, Any] = {}
        if self.output_dir:
            self._write_version()

    # ------------------------------------------------------------------ settings (read-only views of the config)
    @property
    def mode(self) -> str:
        return self.config.mode

    @property
    def style(self) -> str:
        return self.config.style

    @property
    def max_tokens(self) -> int | None:
        return self.config.max_tokens

    @property
    def max_mistakes(self) -> int:
        return self.config.max_mistakes

    @property
    def placement(self) -> str:
        return self.config.placement

    @property
    def task_field(self) -> str | None:
        return self.config.task_field

    @property
    def evolution_config(self) -> "EvolutionConfig":
        return self.config.evolution

    @property
    def evolve_split(self) -> str | None:
        return self.config.evolve_split

    @property
    def success_threshold(self) -> float:
        return self.config.success_threshold

    @property
    def retrieval_args(self) -> dict[str, Any]:
        """What :class:`skillrl.retrieval.SkillRetriever` is built with (from :attr:`config`)."""
        c = self.config
        return dict(top_k_general=c.top_k_general, top_k=c.top_k, delta=c.delta,
                    restrict_to_category=c.restrict_to_category, delta_in_category=c.delta_in_category,
                    mistakes=c.mistakes)

    # ------------------------------------------------------------------ pieces built on first use
    @property
    def retriever(self) -> "SkillRetriever":
        """The embedding retriever (built on first use; loads the embedding model)."""
        if self._retriever is None:
            from skillrl.retrieval import SkillRetriever

            self._retriever = SkillRetriever(self.bank, embedder=self._embedder, **self.retrieval_args)
        return self._retriever

    @property
    def hook(self) -> Any:
        """``self.pm.hook``: call a hook directly, e.g. ``runtime.hook.skillrl_render(retrieval=r)``."""
        return self.pm.hook

    # ------------------------------------------------------------------ prompts
    def augment(self, prompts: Sequence[Any], rows: Sequence[dict[str, Any]] | None = None, *,
                track: bool = True, group_key: str | int | None = None, split: str = "train") -> list[Augmentation]:
        """Skills into each prompt of a batch.

        Args:
            prompts: ``n`` prompts, text or conversations (lists of ``{"role", "content"}``). In a GRPO batch
                each prompt appears ``G`` times; identical prompts get identical augmented prompts.
            rows: ``n`` dataset rows (dicts) that may carry the task text under ``task_field``.
            track: count this call as one batch in :meth:`metrics` (and warn when most of its prompts have no known
                category); an adapter that augments a batch one prompt at a time passes ``False`` and reports the
                whole batch with :meth:`note_batch`.
            group_key: what makes a group a group besides its task and category, the same for every copy of the
                group on every rank (TRL: ``"train:<step>"``; ``None``: no groups). With it, each augmentation gets
                its :attr:`Augmentation.group` and, when ``config.ablation > 0``, the skill ablation of
                :mod:`skillrl.utility`: a share ``ablation`` of the groups ``(group_key, task, category)`` get the
                block without one skill (:func:`skillrl.utility.ablation_choice`), the same block for every copy,
                whether they come in one call (the prompt path) or one prompt at a time (an environment's reset).
            split: the split the episodes will be recorded under; evaluation splits (anything but ``"train"``) are
                ablated only with ``config.ablation_eval``.

        Returns:
            ``n`` :class:`Augmentation` in input order. Distinct tasks are retrieved and rendered once per bank
            version (cached), so the cost grows with distinct tasks, not with ``G`` (a withheld skill's block is
            cached too, per task and skill).
        """
        rows = list(rows) if rows is not None else [{} for _ in prompts]
        if len(rows) != len(prompts):
            raise ConfigError(f"got {len(prompts)} prompts but {len(rows)} rows")
        hook = self.pm.hook
        with self._lock:
            if self.bank.version != self._cache_version:  # any bank change: categories may have been added too
                self._cache.clear()
                self._ablated.clear()
                self._category_cache.clear()
                self._cache_version = self.bank.version
            tasks = [hook.skillrl_task_text(prompt=p, row=r or {}) or "" for p, r in zip(prompts, rows)]
            cats: list[str | None] = []
            for t in tasks:
                if t not in self._category_cache:
                    if len(self._category_cache) > 100_000:
                        self._category_cache.clear()
                    self._category_cache[t] = hook.skillrl_detect_category(task=t, bank=self.bank) if t else None
                cats.append(self._category_cache[t])
            keys = list(dict.fromkeys(zip(tasks, cats)))
            missing = [k for k in keys if k not in self._cache and k[0]]
            if missing:
                found = hook.skillrl_retrieve(tasks=[k[0] for k in missing], categories=[k[1] for k in missing],
                                              bank=self.bank)
                for key, retrieval in zip(missing, found):
                    self._cache[key] = (retrieval, hook.skillrl_render(retrieval=retrieval))
            out = []
            from skillrl.render import SkillBlock

            empty = SkillBlock(text="")
            key = None if group_key is None else str(group_key)
            ablate = key is not None and self.config.ablation > 0 and (split == "train" or self.config.ablation_eval)
            for p, t, c in zip(prompts, tasks, cats):
                block = self._cache[(t, c)][1] if t else empty
                withheld: tuple[str, ...] = ()
                if ablate and t and block.skill_ids:
                    block, withheld = self._ablate(self._cache[(t, c)][0], block, key, t, c)  # type: ignore[arg-type]
                placed = hook.skillrl_place_block(prompt=p, block=block) if block.text else p
                out.append(Augmentation(prompt=placed, original=p, task=t, category=c, block=block,
                                        bank_version=self.bank.version, withheld=withheld,
                                        group=group_id(key, t, c) if key is not None and t else None))
        if track:
            self.note_batch(out, distinct_tasks=len(keys))
        return out

    def _ablate(self, retrieval: "Retrieval", block: "SkillBlock", key: str, task: str,
                category: str | None) -> tuple["SkillBlock", tuple[str, ...]]:
        """The group's block with its withheld skill left out, or the block unchanged (not ablated)."""
        import dataclasses

        scope = self.config.ablation_scope
        general = {s.skill_id for s in getattr(retrieval, "general", ())}
        eligible = [i for i in block.skill_ids if scope == "all" or (i in general) == (scope == "general")]
        wid = ablation_choice(eligible, fraction=self.config.ablation, seed=self.config.ablation_seed, key=key,
                              task=task, category=category)
        if wid is None:
            return block, ()
        cached = self._ablated.get((task, category, wid))
        if cached is None:
            if not dataclasses.is_dataclass(retrieval):
                return block, ()  # a plugin's own retrieval type: nothing to leave out safely
            fewer = dataclasses.replace(
                retrieval, general=[s for s in retrieval.general if s.skill_id != wid],
                task_specific=[s for s in retrieval.task_specific if s.skill_id != wid])
            cached = self._ablated[(task, category, wid)] = self.pm.hook.skillrl_render(retrieval=fewer)
        if wid in cached.skill_ids:  # a render plugin put it back: this group is not ablated
            return block, ()
        return cached, (wid,)

    def note_batch(self, augmentations: Sequence[Augmentation], distinct_tasks: int | None = None) -> None:
        """Record one generation batch's numbers for :meth:`metrics` (skills, tokens and dropped items per prompt,
        share of prompts with no known category) and warn when most prompts have no known category."""
        out = list(augmentations)
        n = max(len(out), 1)
        unknown = sum(a.category is None for a in out)
        self.last_batch = _BatchStats(prompts=len(out),
                                      distinct_tasks=len({(a.task, a.category) for a in out})
                                      if distinct_tasks is None else distinct_tasks,
                                      skills=sum(len(a.skill_ids) for a in out) / n,
                                      tokens=sum(a.block.tokens for a in out) / n,
                                      dropped=sum(len(a.block.dropped_ids) for a in out) / n,
                                      unknown=unknown / n, ablated=sum(bool(a.withheld) for a in out) / n)
        if out and unknown * 2 > len(out):
            self._warn_unknown(out)

    def _warn_unknown(self, out: Sequence[Augmentation]) -> None:
        self._unknown_batches = getattr(self, "_unknown_batches", 0) + 1
        if self._unknown_batches not in (1, 10, 100) and self._unknown_batches % 1000:
            return
        example = next((a.task for a in out if a.category is None), "")
        fix = ("no detection profile is set: pass profile=... (a registered name or a rules JSON)"
               if self.detector is None else
               f"the task text is what the profile {getattr(self.detector, 'name', '')!r} reads: name the task with a "
               f"'{self.task_field or 'task'}' column (task_field), or task_source='environment' when an "
               "environment's reset() states it")
        logger.warning("skillrl: %d/%d prompts of this batch have no known category (e.g. task text %r), so they get "
                       "general skills only and their failures cannot trigger evolution; %s. Counted in "
                       "skills/unknown_category_frac. (warning %d)", sum(a.category is None for a in out), len(out),
                       example[:80], fix, self._unknown_batches)

    def skills_for(self, task: str, query: str | None = None) -> Augmentation:
        """Skills for one task text (inference agents): ``augment([task], [{"task": task}])[0]``.

        Args:
            task: the task text; the category is detected from it.
            query: embedding mode only: retrieve with this text instead of ``task`` (e.g. the task plus the current
                observation); the block is not cached. Ignored in template mode, where skills depend on the
                category only.

        Returns:
            The :class:`Augmentation` of ``task`` (its ``prompt`` is ``task`` with the block placed in it).
        """
        if query is None or self.mode != "embedding":
            return self.augment([task], [{self.task_field or "task": task}])[0]
        hook = self.pm.hook
        with self._lock:
            category = hook.skillrl_detect_category(task=task, bank=self.bank) if task else None
            retrieval = hook.skillrl_retrieve(tasks=[query], categories=[category], bank=self.bank)[0]
            block = hook.skillrl_render(retrieval=retrieval)
            placed = hook.skillrl_place_block(prompt=task, block=block) if block.text else task
            return Augmentation(prompt=placed, original=task, task=task, category=category, block=block,
                                bank_version=self.bank.version)

    # ------------------------------------------------------------------ episodes and validation
    def episode(self, *, task: str | None = None, steps: Sequence[Step | dict[str, Any] | str] = (),
                reward: float = 0.0, success: bool | None = None, augmentation: Augmentation | None = None,
                category: str | None = None, skill_ids: Sequence[str] | None = None, split: str | None = None,
                episode_id: str | None = None, step: int | None = None, source: str = "skillrl",
                initial_observation: str = "", metadata: dict[str, Any] | None = None) -> Episode:
        """Build the :class:`Episode` of one finished rollout: the one place adapters turn what they saw into the
        record evolution and credit read (adapters never build ``Episode`` themselves).

        Args:
            task: the task text (default: ``augmentation.task``).
            steps: the turns, as :class:`Step`, ``{"action", "observation", ...}`` dicts or bare action strings.
            reward: the episode's total reward.
            success: whether the task was solved; ``None``: ``reward >= success_threshold``.
            augmentation: what :meth:`augment` returned for this rollout's prompt: category, injected skill and
                mistake ids, bank version, withheld skill ids (``metadata["withheld"]``) and group
                (``metadata["group"]``) are taken from it.
            category: the bank category (overrides the augmentation's; ``None`` and no augmentation: detected
                from ``task`` with the ``skillrl_detect_category`` hook).
            skill_ids: ids shown to the policy (overrides the augmentation's).
            split: ``"train"`` or an evaluation split name (default ``"train"``).
            episode_id: default ``"<split>[-s<step>]-<n>"``, unique within this runtime.
            step: trainer global step (kept in ``metadata["step"]`` and the id).
            source: who produced it (``"trl"``, ``"openrlhf"``, ``"agent"``...).
            initial_observation, metadata: stored as given (``metadata`` must be JSON-serialisable).

        Returns:
            The episode (not recorded: pass it to :meth:`record`).
        """
        aug = augmentation
        task = task if task is not None else (aug.task if aug is not None else "")
        if category is None:
            if aug is not None:
                category = aug.category
            elif task:
                category = self.pm.hook.skillrl_detect_category(task=task, bank=self.bank)
        split = split or "train"
        meta = dict(metadata or {})
        if step is not None:
            meta.setdefault("step", int(step))
        if aug is not None:
            meta.setdefault("bank_version", aug.bank_version)
            if aug.block.mistake_ids:
                meta.setdefault("mistake_ids", list(aug.block.mistake_ids))
            if aug.withheld:
                meta.setdefault("withheld", list(aug.withheld))
            if aug.group is not None:
                meta.setdefault("group", aug.group)
        if episode_id is None:
            episode_id = f"{split}-{'s' + str(step) + '-' if step is not None else ''}{next(self._episode_counter)}"
        norm_steps = [s if isinstance(s, Step) else Step(action=s) if isinstance(s, str) else Step.model_validate(s)
                      for s in steps]
        ids = list(skill_ids) if skill_ids is not None else (list(aug.skill_ids) if aug is not None else [])
        return Episode(episode_id=episode_id, task=task or "", category=category,
                       initial_observation=initial_observation, steps=norm_steps, reward=float(reward),
                       success=bool(float(reward) >= self.success_threshold) if success is None else bool(success),
                       source=source, split=split, skill_ids=ids, metadata=meta)

    def record(self, episodes: Iterable["Episode"], split: str | None = None) -> None:
        """Keep scored episodes until the next :meth:`after_validation` of their split, and count them in the bank's
        usage statistics (:attr:`SkillBank.stats`: shown / withheld per skill, split, category and bank version).

        ``split`` overrides each episode's own ``split`` (default ``"train"`` when neither is set).
        """
        episodes = list(episodes)
        by_split: dict[str, list["Episode"]] = defaultdict(list)
        for ep in episodes:
            by_split[split or ep.split or "train"].append(ep)
        with self._lock:
            for s, eps in by_split.items():
                counted = UsageStats()
                counted.add(eps, split=s, version=self.bank.version)
                if counted:
                    self.bank.merge_usage(counted)
                    self._usage_delta.merge(counted)
                self._episodes[s].extend(eps)
                if s == "train" and len(self._episodes[s]) > 10_000:  # train episodes only feed logs
                    del self._episodes[s][:-10_000]
        for s, eps in by_split.items():
            self.pm.hook.skillrl_episodes_recorded(episodes=eps, split=s)

    def pending(self, split: str) -> list["Episode"]:
        """Episodes recorded for ``split`` since its last validation (a copy; they stay pending)."""
        with self._lock:
            return list(self._episodes.get(split, []))

    def take_pending(self, split: str) -> list["Episode"]:
        """Hand over the episodes recorded for ``split`` and forget them (e.g. to gather them across ranks before
        :meth:`after_validation` ``(episodes=...)``)."""
        with self._lock:
            return self._episodes.pop(split, [])

    def take_usage_delta(self) -> UsageStats:
        """The usage counted by :meth:`record` since the last call (and forget it): what another process must add to
        its bank's statistics (:meth:`merge_usage`) before broadcasting the bank, so every rank's episodes count."""
        with self._lock:
            delta, self._usage_delta = self._usage_delta, UsageStats()
            return delta

    def merge_usage(self, stats: UsageStats) -> None:
        """Add usage counted elsewhere (another rank's :meth:`take_usage_delta`) to the bank's statistics."""
        with self._lock:
            self.bank.merge_usage(stats)

    def utility(self, by: Literal["skill", "cell"] = "skill", **kwargs: Any) -> list[Any]:
        """:func:`skillrl.utility.estimate` on the bank's statistics with ``config.evolution.utility``'s settings
        (``by="cell"``: general skills per category, for :func:`skillrl.utility.plot_utility`)."""
        from skillrl.utility import estimate

        with self._lock:
            bank = self.bank
            stats = bank.stats.copy()
        return estimate(stats, bank, by=by, config=self.evolution_config.utility, **kwargs)

    def after_validation(self, step: int, split: str = "validation",
                         episodes: Sequence["Episode"] | None = None, *,
                         evolve: bool = True) -> "EvolutionReport | None":
        """Close a validation: per-category success rates, then evolution (when ``evolve``, a teacher is set and the
        split is ``evolve_split`` or that is ``None``). Never raises for teacher faults: the report says what happened.

        Training never waits on the teacher: evolution runs on a snapshot of the bank (:meth:`SkillBank.copy`)
        without the runtime's lock, so :meth:`augment` keeps serving the current version from other threads
        meanwhile; the teacher calls take at most ``EvolutionConfig.max_seconds`` (default 600 s). The step's one
        new version is then applied under the lock (:meth:`skillrl.evolve.Evolver.commit`) only if the bank is
        still the one snapshotted, at the same version; if it was edited or replaced meanwhile (:meth:`set_bank`,
        :meth:`load_state_dict`, another evolution), nothing is applied and the report is a conflict
        (``report.conflict`` / ``report.error``; the other change is kept). Cache invalidation, ``output_dir`` and
        the ``skillrl_bank_changed`` hook follow a commit as for any bank change.

        Args:
            step: trainer global step (recorded in provenance).
            split: which recorded split this validation was.
            episodes: use these instead of the recorded ones.
            evolve: ``False``: record the validation only (an adapter closing an evaluation round of several
                datasets evolves once, on one of them).

        Returns:
            The :class:`skillrl.evolve.EvolutionReport`, or ``None`` when evolution did not run.
        """
        with self._lock:
            eps = list(episodes) if episodes is not None else self._episodes.pop(split, [])
        rates = success_rates(eps)
        entry = {"step": step, "split": split, "episodes": len(eps), "success_rates": rates,
                 "bank_version": self.bank.version, "evolution": None}
        self.validations.append(entry)
        self.pm.hook.skillrl_after_validation(step=step, success_rates=rates, episodes=eps)
        if (not evolve or self.teacher is None or (self.evolve_split is not None and split != self.evolve_split)
                or not eps):
            return None
        report = self._evolve_snapshot(eps, step)
        self.reports.append(report)
        entry["evolution"] = len(self.reports) - 1
        self.pm.hook.skillrl_after_evolution(report=report, bank=self.bank)
        if report.changed:
            self._bank_changed(report.version_before)
        return report

    def _evolve_snapshot(self, eps: list["Episode"], step: int) -> "EvolutionReport":
        """One evolution step on a copy of the bank, outside the lock; committed under it (see
        :meth:`after_validation`)."""
        from skillrl.evolve import Evolver

        with self._lock:
            live = self.bank
            embedder = self._dedup_embedder()
        snapshot = live.copy()  # holds only the bank's own lock, for the copy
        evolver = Evolver(self.teacher, self.evolution_config, embedder=embedder,
                          accept=lambda skill, context: self._accept(skill, context, bank=snapshot),
                          screen=self.screener())
        report = evolver.evolve(snapshot, eps, step=step)
        with self._lock:
            if self.bank is not live:
                return evolver.conflict(report, snapshot, f"the runtime's bank was replaced (now v{self.bank.version})"
                                                          " while the teacher was asked")
            return evolver.commit(live, snapshot, report)

    def screener(self) -> Any:
        """What screens the records evolution files: with ``config.screening`` (default) the built-in rules plus the
        ``skillrl_screen_record`` hook of this runtime's plugins (:meth:`skillrl.screening.Screener.from_plugin_manager`)
        and, with ``config.screening_model``, the learned screen (loaded once per process), else ``False`` (none)."""
        if not self.config.screening:
            return False
        from skillrl.screening import Screener

        model = None
        if self.config.screening_model:
            from skillrl.screening_model import resolve_model

            model = resolve_model(self.config.screening_model)
        return Screener.from_plugin_manager(self.pm, model=model)

    def _dedup_embedder(self) -> Any:
        if self.mode == "embedding":
            return self.retriever.embedder
        return self._embedder  # None: the evolver loads the default when it needs one

    def _accept(self, skill: Any, context: dict[str, Any], bank: SkillBank | None = None) -> str | None:
        from skillrl.skill import Mistake

        context = {"kind": "mistake" if isinstance(skill, Mistake) else "skill", "action": "add", **context}
        bank = self.bank if bank is None else bank  # evolution asks about the snapshot it files into
        reasons = [r for r in self.pm.hook.skillrl_accept_skill(skill=skill, bank=bank, context=context) if r]
        return "; ".join(reasons) or None

    def _bank_changed(self, old_version: int) -> None:
        if self.output_dir:
            self._write_version()
        self.pm.hook.skillrl_bank_changed(bank=self.bank, old_version=old_version, new_version=self.bank.version)

    def _write_version(self) -> None:
        assert self.output_dir is not None
        self.bank.save(self.output_dir / "banks" / f"bank_v{self.bank.version}.json")

    # ------------------------------------------------------------------ metrics
    def metrics(self, prefix: str = METRIC_PREFIX) -> dict[str, float]:
        """Numbers for the trainer's logger: bank size per tier, version, skills and tokens injected per prompt
        (last batch), and the last evolution's counts and teacher tokens."""
        c = self.bank.counts()
        out = {
            "bank_version": c["version"], "bank_size": c["total"], "general": c["general"],
            "task_specific": sum(c["task_specific"].values()), "mistakes": c["mistakes"],
            "injected_per_prompt": self.last_batch.skills, "tokens_per_prompt": self.last_batch.tokens,
            "dropped_per_prompt": self.last_batch.dropped, "unknown_category_frac": self.last_batch.unknown,
        }
        if self.config.ablation > 0:
            out["ablated_frac"] = self.last_batch.ablated
        if self.reports:
            r = self.reports[-1]
            out.update({"evolution/added": len(r.added), "evolution/refined": len(r.refined),
                        "evolution/rejected": len(r.rejected), "evolution/teacher_tokens": r.tokens})
        return {prefix + k: float(v) for k, v in out.items()}

    def validation_logs(self, prefix: str = METRIC_PREFIX, step: int | None = None,
                        split: str | None = None) -> dict[str, float]:
        """Numbers to log after a validation: success per category of the last validation (of ``split`` when given;
        ``success/<cat>``; only if it ran at ``step`` when given), the evolution that validation ran
        (``evolution/added``, ``refined``, ``rejected``, ``mistakes_added``, ``teacher_tokens``, ``failed``,
        ``retired``, ``rolled_back``, and per
        decision its evidence: ``evolution/retired/<skill_id>/utility``, ``/ci_low``, ``/ci_high``, ``/shown``,
        ``/withheld``; ``evolution/rolled_back/<skill_id>/...`` also ``previous_utility`` and ``prob_better``), the
        bank's version and size, and each skill's utility where it has evidence (``utility/<skill_id>``, at least
        ``evolution.utility.min_episodes`` per arm). The one definition of these names; every adapter logs them as
        they are."""
        out: dict[str, float] = {}
        last = next((v for v in reversed(self.validations) if split is None or v["split"] == split), None)
        if last and (step is None or last["step"] == step):
            out.update({f"success/{c}": float(r) for c, r in last["success_rates"].items()})
            if "evolution" in last:  # which report this validation ran (None: it did not evolve)
                i = last["evolution"]
                report = self.reports[i] if isinstance(i, int) and 0 <= i < len(self.reports) else None
            else:  # a state saved before validations said so
                report = self.reports[-1] if self.reports and self.reports[-1].step == last["step"] else None
            if report is not None:
                out.update({"evolution/added": len(report.added), "evolution/refined": len(report.refined),
                            "evolution/rejected": len(report.rejected),
                            "evolution/mistakes_added": len(report.mistakes_added),
                            "evolution/teacher_tokens": report.tokens,
                            "evolution/failed": float(report.error is not None),
                            "evolution/retired": len(report.retired),
                            "evolution/rolled_back": len(report.rolled_back)})
                for kind, decisions in (("retired", report.retired), ("rolled_back", report.rolled_back)):
                    for d in decisions:
                        fields = ["utility", "ci_low", "ci_high", "shown", "withheld"]
                        fields += ["previous_utility", "prob_better"] if kind == "rolled_back" else []
                        out.update({f"evolution/{kind}/{d.skill_id}/{f}": getattr(d, f) for f in fields
                                    if getattr(d, f) is not None})
        out["bank_version"] = self.bank.version
        out["bank_size"] = len(self.bank)
        if self.bank.stats.any_withheld:
            minimum = self.evolution_config.utility.min_episodes
            for e in self.utility(include_unknown=False):
                if e.enough(minimum):
                    out[f"utility/{e.skill_id}"] = e.utility
        return {prefix + k: float(v) for k, v in out.items()}

    # ------------------------------------------------------------------ state
    def state_dict(self) -> dict[str, Any]:
        """Everything needed to continue: the bank (native, with history), the evolution reports, the validations
        and the adapters' :attr:`extra` state."""
        return {"bank": self.bank.to_native(), "reports": [r.model_dump(mode="json") for r in self.reports],
                "validations": self.validations, "extra": dict(self.extra)}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Replace the bank, reports, validations and :attr:`extra` with ``state`` from :meth:`state_dict` (e.g. a
        rank-0 broadcast); keys missing from ``state`` reset to empty."""
        from skillrl.evolve import EvolutionReport

        new = SkillBank.from_dict(state["bank"])
        self.set_bank(new)
        self.reports = [EvolutionReport.model_validate(r) for r in state.get("reports", [])]
        self.validations = list(state.get("validations", []))
        self.extra = dict(state.get("extra") or {})

    def set_bank(self, bank: SkillBank) -> None:
        """Swap in another bank object (retriever and caches follow)."""
        with self._lock:
            old = self.bank.version
            self.bank = bank
            self._cache.clear()
            self._ablated.clear()
            self._category_cache.clear()  # a new bank may have new categories for tasks seen before
            self._cache_version = bank.version
            if self._retriever is not None:
                self._retriever.bank = bank
                self._retriever.refresh(force=True)
        if bank.version != old:
            self._bank_changed(old)

    def save(self, directory: str | Path) -> Path:
        """Write ``skill_bank.json`` (native), ``skillrl_state.json`` and ``skillrl_config.json`` (the
        :class:`~skillrl.config.SkillConfig`) into ``directory`` as ONE atomic unit
        (:func:`skillrl.storage.write_state_dir`: a new generation folder, then one rename), so after a kill at any
        moment :meth:`load` finds the bank and the state of the same save. Other files in ``directory`` are left alone."""
        directory = Path(directory)
        state = self.state_dict()
        bank = state.pop("bank")
        storage.write_state_dir(directory, {BANK_FILE: bank, STATE_FILE: state,
                                            CONFIG_FILE: self.config.model_dump(mode="json")})
        return directory

    @classmethod
    def from_pretrained(cls, directory: str | Path, **settings: Any) -> SkillRuntime:
        """A runtime restored from a state directory written by :meth:`save`: its bank (with history), state and
        configuration (``skillrl_config.json``; ``settings`` override it). The shape of ``save_pretrained`` /
        ``from_pretrained`` in sentence-transformers and PEFT, so SFT, RL and inference read the same context.

        Raises:
            ConfigError: the directory holds no configuration, or an invalid one.
            BankFormatError: the bank file is missing or malformed.
        """
        config = SkillConfig.from_pretrained(directory)
        objects = {k: settings.pop(k) for k in ("tokenizer", "plugins", "load_entry_points", "output_dir")
                   if k in settings}
        runtime = cls(Path(directory) / BANK_FILE, config, **objects, **settings)
        runtime.load(directory)
        return runtime

    def load(self, directory: str | Path) -> None:
        """Restore what :meth:`save` wrote (:func:`skillrl.storage.read_state_dir`, each file checked against the
        manifest's sha256; a directory of the older layout is read as plain files).

        Raises:
            BankNotFoundError: ``directory`` has no bank (also a ``FileNotFoundError``).
            BankFormatError: the bank or the state is unreadable, malformed, or not the one the manifest names.
        """
        directory = Path(directory)
        files = storage.read_state_dir(directory, names=(BANK_FILE, STATE_FILE))
        if BANK_FILE not in files:
            raise BankNotFoundError(directory / BANK_FILE)
        state: dict[str, Any] = {"bank": SkillBank.from_bytes(files[BANK_FILE], directory / BANK_FILE).to_native()}
        if STATE_FILE in files:
            extra = storage.parse_json(files[STATE_FILE], directory / STATE_FILE)
            if not isinstance(extra, dict) or "bank" in extra:
                raise BankFormatError(directory / STATE_FILE, "$", "an object of runtime state (no 'bank')",
                                      type(extra).__name__)
            state.update(extra)
        self.load_state_dict(state)


#: Deprecated alias of :func:`skillrl.profiles.resolve_profile` (kept for callers of the old private name).
_make_detector = resolve_profile


def load_plugins(paths: Sequence[str]) -> list[Any]:
    """Import the plugins named by ``"pkg.module"`` or ``"pkg.module:attribute"`` (an attribute that is a class is
    instantiated with no arguments).

    Raises:
        ConfigError: a module or attribute that cannot be imported.
    """
    import importlib

    out = []
    for spec in paths:
        module_name, _, attr = str(spec).partition(":")
        try:
            obj: Any = importlib.import_module(module_name)
            for part in filter(None, attr.split(".")):
                obj = getattr(obj, part)
        except (ImportError, AttributeError) as exc:
            raise ConfigError(f"plugin {spec!r} cannot be imported: {exc}") from None
        out.append(obj() if isinstance(obj, type) else obj)
    return out


def _make_embedder(spec: str) -> Any:
    from skillrl.embedders import OpenAIEmbedder, SentenceTransformerEmbedder

    if spec.startswith("openai:"):
        return OpenAIEmbedder(spec.split(":", 1)[1])
    return SentenceTransformerEmbedder(spec)


def _make_teacher(teacher: Any) -> Any:
    if teacher is None or not isinstance(teacher, str):
        return teacher
    from skillrl.teachers import make_teacher

    return make_teacher(teacher)
