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

from skillrl.bank import SkillBank, atomic_write_json
from skillrl.episode import Episode, Step, success_rates
from skillrl.errors import ConfigError
from skillrl.plugins import BuiltinPlugin, make_plugin_manager
from skillrl.profiles import resolve_profile

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
    """

    prompt: Any
    original: Any
    task: str
    category: str | None
    block: "SkillBlock"
    bank_version: int

    @property
    def skill_ids(self) -> tuple[str, ...]:
        return self.block.skill_ids


@dataclass
class _BatchStats:
    prompts: int = 0
    distinct_tasks: int = 0
    skills: float = 0.0
    tokens: float = 0.0


class SkillRuntime:
    """Skills for prompts, episodes in, evolution after validation: what every adapter drives.

    Args:
        bank: the :class:`SkillBank` (or a path to one) to read and grow. The runtime edits it in place.
        mode: ``"embedding"`` (default: FAISS retrieval, paper Sec. 3.2) or ``"template"`` (all general skills +
            the detected category's skills, the official template mode).
        profile: category detection profile (a registered name: ``"alfworld"``, ``"webshop"``, ``"search"`` or a
            plugin's; a rules JSON path; a :class:`skillrl.profiles.CategoryDetector`; see
            :func:`skillrl.profiles.resolve_profile`), or ``None`` (no detection: embedding mode then ranks
            every category's task-specific skills; template mode shows general skills only).
        embedder: embedder for embedding mode (default: the packaged all-MiniLM-L6-v2).
        top_k_general, top_k, delta, restrict_to_category: retrieval rule (defaults 6, 6, the embedder's
            recommended threshold (0.22 for the packaged MiniLM, else the paper's 0.4), True; see
            :class:`skillrl.retrieval.SkillRetriever`).
        style, max_tokens, tokenizer, max_mistakes: rendering (see :func:`skillrl.render.render_block`).
        placement: where the block goes (``"user_prefix"`` default, ``"user_suffix"``, ``"system"``).
        task_field: dataset column holding the task text (default ``"task"``); without it the task text is
            taken from the prompt (the goal after "Your task is to:", else the last user message).
        teacher: a :class:`skillrl.teachers.Teacher` or a spec (``"offline"``, ``"openai:MODEL"``,
            ``"hf:PATH"``); ``None`` disables evolution.
        evolution: :class:`skillrl.evolve.EvolutionConfig` (defaults from the paper: threshold 0.4, ...).
        evolve_split: only validations of this split evolve the bank (``None``: any split). Name a split you do
            not report to keep evolution out of the reported score.
        plugins: extra pluggy plugins (objects or modules with ``@skillrl.hookimpl`` functions).
        output_dir: when set, every bank version is written there as ``bank_v<version>.json``.
        success_threshold: an episode whose reward is at least this counts as a success when the environment does
            not say (default 1.0: binary "task won" rewards); used by :meth:`episode`.

    Attributes:
        extra: state an adapter keeps beside the runtime's own (JSON-serialisable, one key per adapter, e.g.
            ``extra["openrlhf"]``). The runtime never reads it; :meth:`state_dict` / :meth:`load_state_dict` and
            :meth:`save` / :meth:`load` carry it unchanged (in ``skillrl_state.json``), so an adapter's extra state
            is checkpointed and broadcast with the bank, by the one state writer. Default ``{}``.

    Thread safety: :meth:`augment`, :meth:`record` and :meth:`after_validation` may run on different threads;
    they share a lock, which evolution holds only to take its snapshot and to commit (not during teacher calls).
    """

    def __init__(
        self,
        bank: SkillBank | str | Path,
        *,
        mode: Mode = "embedding",
        profile: Any = None,
        embedder: Any = None,
        top_k_general: int | None = 6,
        top_k: int = 6,
        delta: float | None = None,
        restrict_to_category: bool = True,
        style: str = "official",
        max_tokens: int | None = None,
        tokenizer: Any = None,
        max_mistakes: int = 5,
        placement: str = "user_prefix",
        task_field: str | None = "task",
        teacher: Any = None,
        evolution: "EvolutionConfig | None" = None,
        evolve_split: str | None = None,
        plugins: Sequence[Any] = (),
        load_entry_points: bool = True,
        output_dir: str | Path | None = None,
        success_threshold: float = 1.0,
    ) -> None:
        if mode not in ("embedding", "template"):
            raise ConfigError(f"mode must be 'embedding' or 'template', got {mode!r}")
        self.bank = bank if isinstance(bank, SkillBank) else SkillBank.load(bank)
        self.mode = mode
        self.detector = resolve_profile(profile)
        self._embedder = embedder
        self.retrieval_args = dict(top_k_general=top_k_general, top_k=top_k, delta=delta,
                                   restrict_to_category=restrict_to_category)
        self.style, self.max_tokens, self.tokenizer, self.max_mistakes = style, max_tokens, tokenizer, max_mistakes
        self.placement = placement
        self.task_field = task_field
        self.teacher = _make_teacher(teacher)
        self.evolution_config = evolution
        self.evolve_split = evolve_split
        self.output_dir = Path(output_dir) if output_dir else None
        self.success_threshold = float(success_threshold)
        self.pm = make_plugin_manager(load_entry_points=load_entry_points)
        self.pm.register(BuiltinPlugin(self), name="skillrl-builtin")
        for p in plugins:
            self.pm.register(p)
        self._retriever: "SkillRetriever | None" = None
        self._lock = threading.RLock()
        self._cache: dict[tuple[str, str | None], tuple["Retrieval", "SkillBlock"]] = {}
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
    def augment(self, prompts: Sequence[Any], rows: Sequence[dict[str, Any]] | None = None) -> list[Augmentation]:
        """Skills into each prompt of a batch.

        Args:
            prompts: ``n`` prompts, text or conversations (lists of ``{"role", "content"}``). In a GRPO batch
                each prompt appears ``G`` times; identical prompts get identical augmented prompts.
            rows: ``n`` dataset rows (dicts) that may carry the task text under ``task_field``.

        Returns:
            ``n`` :class:`Augmentation` in input order. Distinct tasks are retrieved and rendered once per bank
            version (cached), so the cost grows with distinct tasks, not with ``G``.
        """
        rows = list(rows) if rows is not None else [{} for _ in prompts]
        if len(rows) != len(prompts):
            raise ConfigError(f"got {len(prompts)} prompts but {len(rows)} rows")
        hook = self.pm.hook
        with self._lock:
            if self.bank.version != self._cache_version:
                self._cache.clear()
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
            for p, t, c in zip(prompts, tasks, cats):
                block = self._cache[(t, c)][1] if t else empty
                placed = hook.skillrl_place_block(prompt=p, block=block) if block.text else p
                out.append(Augmentation(prompt=placed, original=p, task=t, category=c, block=block,
                                        bank_version=self.bank.version))
            n = max(len(out), 1)
            self.last_batch = _BatchStats(prompts=len(out), distinct_tasks=len(keys),
                                          skills=sum(len(a.skill_ids) for a in out) / n,
                                          tokens=sum(a.block.tokens for a in out) / n)
            return out

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
                mistake ids and bank version are taken from it.
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
        """Keep scored episodes until the next :meth:`after_validation` of their split.

        ``split`` overrides each episode's own ``split`` (default ``"train"`` when neither is set).
        """
        episodes = list(episodes)
        by_split: dict[str, list["Episode"]] = defaultdict(list)
        for ep in episodes:
            by_split[split or ep.split or "train"].append(ep)
        with self._lock:
            for s, eps in by_split.items():
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

    def after_validation(self, step: int, split: str = "validation",
                         episodes: Sequence["Episode"] | None = None) -> "EvolutionReport | None":
        """Close a validation: per-category success rates, then evolution (when a teacher is set and the split
        is ``evolve_split`` or that is ``None``). Never raises for teacher faults: the report says what happened.

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

        Returns:
            The :class:`skillrl.evolve.EvolutionReport`, or ``None`` when evolution did not run.
        """
        with self._lock:
            eps = list(episodes) if episodes is not None else self._episodes.pop(split, [])
        rates = success_rates(eps)
        self.validations.append({"step": step, "split": split, "episodes": len(eps), "success_rates": rates,
                                 "bank_version": self.bank.version})
        self.pm.hook.skillrl_after_validation(step=step, success_rates=rates, episodes=eps)
        if self.teacher is None or (self.evolve_split is not None and split != self.evolve_split) or not eps:
            return None
        report = self._evolve_snapshot(eps, step)
        self.reports.append(report)
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
                          accept=lambda skill, context: self._accept(skill, context, bank=snapshot))
        report = evolver.evolve(snapshot, eps, step=step)
        with self._lock:
            if self.bank is not live:
                return evolver.conflict(report, snapshot, f"the runtime's bank was replaced (now v{self.bank.version})"
                                                          " while the teacher was asked")
            return evolver.commit(live, snapshot, report)

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
        }
        if self.reports:
            r = self.reports[-1]
            out.update({"evolution/added": len(r.added), "evolution/refined": len(r.refined),
                        "evolution/rejected": len(r.rejected), "evolution/teacher_tokens": r.tokens})
        return {prefix + k: float(v) for k, v in out.items()}

    def validation_logs(self, prefix: str = METRIC_PREFIX, step: int | None = None) -> dict[str, float]:
        """Numbers to log after a validation: success per category of the last validation (``success/<cat>``;
        only if it ran at ``step`` when given), the last evolution's counts (``evolution/added``, ``refined``,
        ``rejected``, ``mistakes_added``, ``teacher_tokens``, ``failed``) and the bank's version and size. The one
        definition of these names; every adapter logs them as they are."""
        out: dict[str, float] = {}
        last = self.validations[-1] if self.validations else None
        if last and (step is None or last["step"] == step):
            out.update({f"success/{c}": float(r) for c, r in last["success_rates"].items()})
            report = self.reports[-1] if self.reports and self.reports[-1].step == last["step"] else None
            if report is not None:
                out.update({"evolution/added": len(report.added), "evolution/refined": len(report.refined),
                            "evolution/rejected": len(report.rejected),
                            "evolution/mistakes_added": len(report.mistakes_added),
                            "evolution/teacher_tokens": report.tokens,
                            "evolution/failed": float(report.error is not None)})
        out["bank_version"] = self.bank.version
        out["bank_size"] = len(self.bank)
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
            self._cache_version = bank.version
            if self._retriever is not None:
                self._retriever.bank = bank
                self._retriever.refresh(force=True)
        if bank.version != old:
            self._bank_changed(old)

    def save(self, directory: str | Path) -> Path:
        """Write ``skill_bank.json`` (native) and ``skillrl_state.json`` into ``directory`` (atomically)."""
        directory = Path(directory)
        self.bank.save(directory / BANK_FILE)
        state = self.state_dict()
        state.pop("bank")
        atomic_write_json(directory / STATE_FILE, state)
        return directory

    def load(self, directory: str | Path) -> None:
        """Restore what :meth:`save` wrote. Raises ``FileNotFoundError`` when ``directory`` has no bank."""
        directory = Path(directory)
        state: dict[str, Any] = {"bank": SkillBank.load(directory / BANK_FILE).to_native()}
        if (directory / STATE_FILE).exists():
            import json

            state.update(json.loads((directory / STATE_FILE).read_text()))
        self.load_state_dict(state)


#: Deprecated alias of :func:`skillrl.profiles.resolve_profile` (kept for callers of the old private name).
_make_detector = resolve_profile


def _make_teacher(teacher: Any) -> Any:
    if teacher is None or not isinstance(teacher, str):
        return teacher
    from skillrl.teachers import make_teacher

    return make_teacher(teacher)
