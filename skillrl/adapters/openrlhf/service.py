"""The one skill bank every rollout actor and the trainer share: :class:`SkillBankService` (a
:class:`skillrl.runtime.SkillRuntime` plus the evaluation phases), the Ray named actor that runs it
(:func:`get_bank_actor`) and the way rollout and trainer code call it (:class:`BankClient`).

The runtime owns the bookkeeping: episodes are built by :meth:`SkillRuntime.episode` and wait in the runtime until
:meth:`SkillRuntime.take_pending`; metric names come from :meth:`SkillRuntime.validation_logs`; state directories are
written and read by :meth:`SkillRuntime.save` / :meth:`SkillRuntime.load`. The service adds only what is
OpenRLHF's: the train / eval phase, matching the trainer's scored eval samples to the recorded episodes, and the
per-evaluation summaries (kept in ``runtime.extra["openrlhf"]`` so they travel with every save and state dict).
"""

from __future__ import annotations

import json
import logging
import os
import threading
from collections import Counter, defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import ray

from skillrl.adapters.openrlhf.config import OpenRLHFConfigError, SkillRLConfig
from skillrl.errors import SkillRLError
from skillrl.hookspecs import hookimpl
from skillrl.runtime import BANK_FILE, METRIC_PREFIX

logger = logging.getLogger("skillrl.openrlhf")

__all__ = ["ACTOR_MAX_CONCURRENCY", "BankClient", "SkillBankService", "get_bank_actor"]

ACTOR_MAX_CONCURRENCY = 16
"""Threads of the bank actor (Ray ``max_concurrency``): rollouts' ``augment`` / ``record`` calls are served while
``end_validation`` waits on the teacher (one thread), instead of queueing behind it as in a one-thread actor."""

EXTRA_KEY = "openrlhf"
"""The service's entry in :attr:`SkillRuntime.extra`: ``{"summaries": [<end_validation summary>, ...]}``."""


class _CategoryOverride:
    """Plugin: the category the environment reported for a task wins over keyword detection."""

    def __init__(self) -> None:
        self.current: dict[str, str | None] = {}

    @hookimpl(tryfirst=True)
    def skillrl_detect_category(self, task: str, bank: Any) -> str | None:
        return self.current.get(task)


class SkillBankService:
    """The shared skill bank behind every rollout actor and the trainer (run as a Ray named actor by
    :func:`get_bank_actor`; a plain object in-process).

    Phases: ``"train"`` until :meth:`begin_validation`, the eval split (``config.eval_split``) until
    :meth:`end_validation` has taken the evaluation's episodes (before evolution starts). An episode belongs to
    the phase in force when its skills were retrieved.

    Thread safety: every method may be called from several threads at once (the Ray actor is a threaded actor,
    :data:`ACTOR_MAX_CONCURRENCY`); the phase and in-flight counts are guarded by a lock that is never held while
    the teacher is asked, so :meth:`augment` and :meth:`record` are served during an evolution.

    Args:
        config: a :class:`SkillRLConfig` or its dict. ``bank`` is required.

    Raises:
        OpenRLHFConfigError: no bank configured.
    """

    def __init__(self, config: SkillRLConfig | dict[str, Any]) -> None:
        from skillrl.runtime import SkillRuntime

        self.config = config if isinstance(config, SkillRLConfig) else SkillRLConfig.model_validate(config)
        if not self.config.bank:
            raise OpenRLHFConfigError("no skill bank configured: set SKILLRL_BANK=<path> (or 'bank' in SKILLRL_CONFIG)")
        tokenizer = None
        if self.config.tokenizer:
            from transformers import AutoTokenizer

            tokenizer = AutoTokenizer.from_pretrained(self.config.tokenizer)
        self._override = _CategoryOverride()
        c = self.config
        # the one configuration: the same settings (and defaults) as SkillCallback and the inference agent
        self.runtime = SkillRuntime(c.bank, c.skill_config(), tokenizer=tokenizer, plugins=[self._override],
                                    output_dir=c.output_dir)
        self.phase = "train"
        self.validation_step: int | None = None
        self._in_flight: Counter[str] = Counter()
        self._warned_leak = False
        self._lock = threading.RLock()  # phase, validation_step, _in_flight, summaries; never held across evolution

    @property
    def summaries(self) -> list[dict[str, Any]]:
        """The :meth:`end_validation` summaries so far, oldest first (stored in ``runtime.extra["openrlhf"]``)."""
        return self.runtime.extra.setdefault(EXTRA_KEY, {}).setdefault("summaries", [])

    # ------------------------------------------------------------------ rollouts
    def augment(self, text: str, task: str | None = None, category: str | None = None) -> dict[str, Any]:
        """The skill block for one prompt.

        Args:
            text: the user turn's text (the chat template's markup removed); the task text is taken from it by
                the ``skillrl_task_text`` hook (the goal after "Your task is to:", else the text).
            task: the task text to retrieve for, overriding ``text``.
            category: the task's true category (mapped to a bank key by the detection profile), overriding
                keyword detection.

        Returns:
            ``{"block", "skill_ids", "mistake_ids", "tokens", "task", "category", "bank_version", "split",
            "placement"}``; the same task at the same bank version always gets the same block.
        """
        rt = self.runtime
        row = {rt.task_field or "task": task} if task else {}
        if category is not None:
            key = task or rt.hook.skillrl_task_text(prompt=text, row=row) or ""
            self._override.current[key] = self._bank_category(category)
        aug = rt.augment([text], [row])[0]
        with self._lock:
            phase = self.phase
            self._in_flight[phase] += 1
        return {"block": aug.block.text, "skill_ids": list(aug.skill_ids), "mistake_ids": list(aug.block.mistake_ids),
                "tokens": aug.block.tokens, "task": aug.task, "category": aug.category,
                "bank_version": aug.bank_version, "split": phase, "placement": self.config.placement}

    def _bank_category(self, category: str | None) -> str | None:
        if category is None:
            return None
        det = self.runtime.detector
        if det is not None:
            return det.to_bank_category(category, self.runtime.bank)
        return category

    def record(self, episode: dict[str, Any], prompt: str = "", label: Any = "") -> str:
        """Store one finished episode.

        Args:
            episode: ``task``, ``steps`` (``{"action", "observation"}`` dicts), ``reward``, optional ``success``,
                ``category`` (bank key), ``category_raw`` (the environment's category, mapped to a bank key; wins
                over ``category``), ``split``, ``skill_ids``, ``initial_observation``, ``metadata``,
                ``episode_id``, ``source`` (default ``"openrlhf"``).
            prompt, label: what OpenRLHF passed to the executor (kept in the metadata; eval episodes are matched
                to the trainer's scored samples by them).

        ``success`` absent: ``reward >= config.success_threshold``. The episode is built by
        :meth:`SkillRuntime.episode` and recorded in the runtime under its split: train episodes feed the logs,
        eval-split ones wait for :meth:`end_validation`. Returns the episode id.
        """
        data = dict(episode)
        split = data.get("split") or "train"
        meta = dict(data.get("metadata") or {})
        category = data.get("category")
        raw = data.get("category_raw")
        if raw is not None:
            meta["category_raw"] = raw
            category = self._bank_category(raw)
        meta.update({"label": _jsonable(label), "prompt": prompt})
        with self._lock:
            validation_step = self.validation_step
            self._in_flight[split] = max(0, self._in_flight[split] - 1)
        ep = self.runtime.episode(
            task=data.get("task") or "", steps=data.get("steps") or (), reward=float(data.get("reward") or 0.0),
            success=data.get("success"), category=category, skill_ids=data.get("skill_ids") or [], split=split,
            episode_id=data.get("episode_id") or None,
            step=validation_step if split == self.config.eval_split else None,
            source=data.get("source") or "openrlhf", initial_observation=data.get("initial_observation") or "",
            metadata=meta)
        self.runtime.record([ep], split=split)
        return ep.episode_id

    # ------------------------------------------------------------------ validation
    def begin_validation(self, step: int) -> int:
        """Enter the eval phase (episodes retrieved from now on belong to the eval split); eval episodes left from
        an earlier evaluation (late arrivals) are dropped. Returns the bank version the evaluation runs with."""
        with self._lock:
            if self._in_flight["train"]:
                logger.warning("skillrl: validation starts while %d train rollouts are unfinished",
                               self._in_flight["train"])
            stale = self.runtime.take_pending(self.config.eval_split)
            if stale:
                logger.warning("skillrl: dropping %d eval episodes recorded outside an evaluation", len(stale))
            self.phase = self.config.eval_split
            self.validation_step = int(step)
            return self.runtime.bank.version

    def end_validation(self, step: int, samples: Sequence[dict[str, Any]] = ()) -> dict[str, Any]:
        """Close an evaluation: match the scored eval samples to the recorded episodes, then per-category success
        rates and evolution (:meth:`SkillRuntime.after_validation`); back to the train phase.

        Args:
            step: trainer global step.
            samples: the trainer's eval samples, one dict per sample: ``prompt``, ``label``, ``reward`` (float or
                None), optional ``datasource`` (OpenRLHF's per-dataset key) and ``response`` (decoded actions).
                A sample with no recorded episode (an executor without skillrl) becomes a one-step episode.

        Returns:
            ``{"step", "episodes", "matched", "from_samples", "unmatched_episodes", "success_rates",
            "bank_version_before", "bank_version", "scored_split", "evolved_split", "evolve_episodes",
            "test_time_learning", "evolution"}`` (``evolution``: the report as a dict, or None; ``success_rates``:
            of the scored split, ``config.eval_split``).

        Which episodes evolve the bank (``config.evolve_split``, ``SKILLRL_EVOLVE_SPLIT``):

        * ``None`` (default) or the eval split: the scored evaluation's episodes, as the official code does; its
          score then includes test-time learning (``"test_time_learning": True``, warned once);
        * any other name, e.g. ``"train"`` (training rollouts) or a split an executor records held-out games under
          (``record({"split": name, ...})``): the evaluation is scored and not learned from; evolution uses that
          split's episodes recorded since the last evaluation (none: no evolution).

        The phase goes back to ``"train"`` as soon as the episodes are taken, before the teacher is asked: rollouts
        served during the evolution are training rollouts (they see the bank as it was until the step commits).
        """
        rt, split = self.runtime, self.config.eval_split
        wanted = self.config.evolve_split
        with self._lock:
            before, ordered, built, leftover, episodes = self._take_validation(step, samples)
            self.phase = "train"
            self._in_flight[split] = 0
            held = rt.take_pending(wanted) if wanted is not None and wanted != split else []
        # no service lock held below (the teacher may take long)
        if wanted is None or wanted == split:  # the official code's way: evolution learns from the scored games
            report = rt.after_validation(int(step), split=split, episodes=episodes)
            evolved = split if report is not None else None
        else:  # scored without evolving; evolution from the held-out split's episodes since the last evaluation
            rt.after_validation(int(step), split=split, episodes=episodes, evolve=False)
            report = rt.after_validation(int(step), split=wanted, episodes=held) if held else None
            evolved = wanted if report is not None else None
        last = next((v for v in reversed(rt.validations) if v["split"] == split), {})
        test_time = evolved == split
        if test_time and not self._warned_leak:
            self._warned_leak = True
            logger.warning("skillrl: evolve_split=%r: the bank evolves from the evaluation it scores (%r), so the "
                           "reported success includes test-time learning; set SKILLRL_EVOLVE_SPLIT to a held-out "
                           "split (e.g. 'train')", wanted, split)
        summary = {"step": int(step), "episodes": len(episodes), "matched": len(ordered) - len(built),
                   "from_samples": len(built), "unmatched_episodes": len(leftover),
                   "success_rates": last.get("success_rates", {}), "bank_version_before": before,
                   "bank_version": rt.bank.version, "scored_split": split, "evolved_split": evolved,
                   "evolve_episodes": len(episodes) if test_time else len(held), "test_time_learning": test_time,
                   "evolution": report.model_dump(mode="json") if report is not None else None}
        with self._lock:
            self.summaries.append(summary)
        if report is not None:
            logger.info("skillrl: step %s: %s", step, report.summary())
        return summary

    def _take_validation(self, step: int, samples: Sequence[dict[str, Any]]) -> tuple[Any, ...]:
        """The evaluation's episodes in sample order, matched to the scored samples (see :meth:`end_validation`):
        ``(bank version, [(episode, datasource)], built, leftover, episodes)``."""
        rt, split = self.runtime, self.config.eval_split
        before = rt.bank.version
        by_key: dict[tuple[str, str], list[Any]] = defaultdict(list)
        for ep in rt.pending(split):
            by_key[(str(ep.metadata.get("prompt", "")), _label_key(ep.metadata.get("label", "")))].append(ep)
        ordered: list[tuple[Any, str | None]] = []  # (episode, datasource) in sample order
        built: list[Any] = []
        for i, s in enumerate(samples):
            key = (str(s.get("prompt", "")), _label_key(_jsonable(s.get("label", ""))))
            if by_key.get(key):
                ep = by_key[key].pop(0)
            else:
                prompt = str(s.get("prompt", ""))
                ep = rt.episode(task=rt.hook.skillrl_task_text(prompt=prompt, row={}) or prompt,
                                steps=[str(s.get("response") or "")], reward=float(s.get("reward") or 0.0),
                                split=split, episode_id=f"{split}-s{step}-sample{i}", step=int(step),
                                source="openrlhf", metadata={"label": _jsonable(s.get("label")), "from_sample": True})
                built.append(ep)
            ordered.append((ep, s.get("datasource")))
        leftover = [ep for eps in by_key.values() for ep in eps]
        rt.record(built, split=split)
        taken = rt.take_pending(split)  # the recorded episodes, the ones built above, any that arrived meanwhile
        seen = {id(ep) for ep, _ in ordered} | {id(ep) for ep in leftover}
        episodes = [_with_datasource(ep, ds, self._bank_category) for ep, ds in ordered] + leftover + \
            [ep for ep in taken if id(ep) not in seen]
        return before, ordered, built, leftover, episodes

    def abort_validation(self, step: int) -> int:
        """Leave the eval phase without scoring (the evaluation failed); its episodes are dropped. Returns how
        many were dropped."""
        with self._lock:
            dropped = len(self.runtime.take_pending(self.config.eval_split))
            logger.warning("skillrl: evaluation at step %s aborted; %d episodes dropped", step, dropped)
            self.phase = "train"
            self._in_flight[self.config.eval_split] = 0
            return dropped

    # ------------------------------------------------------------------ inspection, metrics and state
    def episodes(self, split: str = "train") -> list[dict[str, Any]]:
        """Episodes recorded for ``split`` and not yet consumed by a validation (dicts)."""
        return [ep.model_dump(mode="json") for ep in self.runtime.pending(split)]

    def info(self) -> dict[str, Any]:
        """Phase, bank version and size, in-flight rollouts, the configuration."""
        with self._lock:
            return {"phase": self.phase, "bank_version": self.runtime.bank.version,
                    "bank_size": len(self.runtime.bank), "in_flight": dict(self._in_flight),
                    "config": self.config.model_dump(mode="json"), "validations": len(self.summaries)}

    def metrics(self, prefix: str = METRIC_PREFIX) -> dict[str, float]:
        """:meth:`SkillRuntime.metrics` (bank size, version, injected skills/tokens of the last prompt, ...)."""
        return self.runtime.metrics(prefix=prefix)

    def validation_logs(self, step: int | None = None) -> dict[str, float]:
        """:meth:`SkillRuntime.validation_logs` (``skills/success/<category>``, ``skills/evolution/...``,
        ``skills/bank_version``, ``skills/bank_size``) of the scored split plus this adapter's counts of the last
        :meth:`end_validation` (only when it ran at ``step``, if given): ``skills/eval_episodes``,
        ``skills/eval_from_samples`` (samples that had no recorded episode) and, when it evolved the bank,
        ``skills/test_time_learning`` (1.0: from the games it scored). When evolution used another split, its
        ``evolution/...`` numbers are logged under the same names and its success under
        ``skills/<split>/success/<category>``."""
        logs = self.runtime.validation_logs(step=step, split=self.config.eval_split)
        last = self.summaries[-1] if self.summaries else None
        if last is not None and (step is None or last["step"] == step):
            logs[METRIC_PREFIX + "eval_episodes"] = float(last["episodes"])
            logs[METRIC_PREFIX + "eval_from_samples"] = float(last["from_samples"])
            evolved = last.get("evolved_split")
            if evolved is not None:
                logs[METRIC_PREFIX + "test_time_learning"] = float(bool(last.get("test_time_learning")))
            if evolved is not None and evolved != self.config.eval_split:
                held = self.runtime.validation_logs(step=step, split=evolved)
                logs.update({k: v for k, v in held.items() if k.startswith(METRIC_PREFIX + "evolution/")})
                logs.update({f"{METRIC_PREFIX}{evolved}/{k[len(METRIC_PREFIX):]}": v for k, v in held.items()
                             if k.startswith(METRIC_PREFIX + "success/")})
        return logs

    def state_dict(self) -> dict[str, Any]:
        """:meth:`SkillRuntime.state_dict`: the bank with history, evolution reports, validations and ``extra``
        (this service's summaries under ``extra["openrlhf"]``)."""
        return self.runtime.state_dict()

    def load_state_dict(self, state: dict[str, Any]) -> int:
        """Replace the bank and history with ``state`` (from :meth:`state_dict`). Returns the bank version."""
        self.runtime.load_state_dict(state)
        return self.runtime.bank.version

    def save(self, directory: str | os.PathLike[str]) -> int | None:
        """Write the state into ``directory`` with :meth:`SkillRuntime.save` (``skill_bank.json`` +
        ``skillrl_state.json``), unless a bank there has a newer version (a resumed run may be behind a snapshot
        written before; the bank only moves forward). The directory must be reachable from this process (the bank
        actor's node): the checkpoint folder, as OpenRLHF's own resume needs, is on a shared or local disk.

        Returns:
            The bank version written, or ``None`` when the newer snapshot was kept.
        """
        version = self.runtime.bank.version
        if _newer_snapshot(directory, version):
            return None
        self.runtime.save(directory)
        return version

    def load(self, directory: str | os.PathLike[str]) -> int:
        """Restore what :meth:`save` wrote (:meth:`SkillRuntime.load`). Returns the bank version.

        Raises:
            FileNotFoundError: ``directory`` has no ``skill_bank.json``.
        """
        self.runtime.load(directory)
        return self.runtime.bank.version


def _with_datasource(ep: Any, datasource: str | None, to_bank: Any) -> Any:
    """``ep`` with OpenRLHF's datasource in its metadata (and as its category when it has none)."""
    if not datasource or datasource in ("default", "unknown"):
        return ep
    update: dict[str, Any] = {"metadata": {**ep.metadata, "datasource": datasource}}
    if ep.category is None:
        update["category"] = to_bank(datasource)
    return ep.model_copy(update=update)


def _newer_snapshot(directory: str | os.PathLike[str], version: int) -> bool:
    """Whether ``directory`` holds a bank whose version is above ``version`` (an unreadable one counts as not)."""
    path = Path(directory) / BANK_FILE
    if not path.is_file():
        return False
    try:
        return int(json.loads(path.read_text(encoding="utf-8")).get("version", -1)) > int(version)
    except (OSError, ValueError, AttributeError):
        return False


def _label_key(label: Any) -> str:
    return label if isinstance(label, str) else json.dumps(_jsonable(label), sort_keys=True)


def _jsonable(value: Any) -> Any:
    try:
        json.dumps(value)
        return value
    except (TypeError, ValueError):
        return repr(value)


# ====================================================================================== finding the bank


_LOCAL: dict[str, SkillBankService] = {}
_LOCAL_LOCK = threading.Lock()


def get_bank_actor(config: SkillRLConfig | None = None, *, create: bool = True) -> Any:
    """The shared bank: the Ray named actor ``config.actor_name`` (created with ``get_if_exists`` on first use; a
    threaded actor with :data:`ACTOR_MAX_CONCURRENCY` threads, so reads are served while an evolution runs), or
    an in-process :class:`SkillBankService` when Ray is not initialised (a local run; logged).

    Args:
        config: default :meth:`SkillRLConfig.from_env`.
        create: create the actor when it does not exist (else raise).

    Returns:
        a Ray actor handle (call ``handle.method.remote(...)``) or a :class:`SkillBankService`.

    Raises:
        OpenRLHFConfigError: invalid configuration, or no bank configured when the actor must be created.
        SkillRLError: ``create=False`` and no such actor.
    """
    config = config or SkillRLConfig.from_env()
    if not ray.is_initialized():
        with _LOCAL_LOCK:
            if config.actor_name not in _LOCAL:
                if not create:
                    raise SkillRLError(f"no skill bank {config.actor_name!r} in this process")
                logger.warning("skillrl: Ray is not initialised; using an in-process skill bank %r", config.actor_name)
                _LOCAL[config.actor_name] = SkillBankService(config)
            return _LOCAL[config.actor_name]
    try:
        return ray.get_actor(config.actor_name, namespace=config.namespace)
    except ValueError:  # Ray's "no such actor"
        if not create:
            raise SkillRLError(f"no Ray actor named {config.actor_name!r} (namespace {config.namespace!r})") from None
    if not config.bank:
        raise OpenRLHFConfigError(
            "no skill bank configured: set SKILLRL_BANK=<path> (or 'bank' in SKILLRL_CONFIG) before the first "
            "rollout, or start training with python -m skillrl.adapters.openrlhf")
    options: dict[str, Any] = {"name": config.actor_name, "get_if_exists": True, "num_cpus": 0,
                               "max_restarts": 0, "max_concurrency": ACTOR_MAX_CONCURRENCY}
    if config.namespace:
        options["namespace"] = config.namespace
    if config.detached:
        options["lifetime"] = "detached"
    handle = ray.remote(SkillBankService).options(**options).remote(config.model_dump(mode="json"))
    ray.get(handle.info.remote())  # surface construction errors (bad bank path, ...) here
    return handle


class BankClient:
    """Calls into the bank from rollout and trainer code, the same way for a Ray actor handle and an in-process
    :class:`SkillBankService`.

    Args:
        target: what :func:`get_bank_actor` returned.
    """

    def __init__(self, target: Any) -> None:
        self.target = target
        self.remote = not isinstance(target, SkillBankService)

    async def call(self, method: str, *args: Any, **kwargs: Any) -> Any:
        """``await`` the service's ``method(*args, **kwargs)`` (from async rollout code)."""
        if self.remote:
            return await getattr(self.target, method).remote(*args, **kwargs)
        return getattr(self.target, method)(*args, **kwargs)

    def call_sync(self, method: str, *args: Any, **kwargs: Any) -> Any:
        """The service's ``method(*args, **kwargs)``, blocking (from trainer code)."""
        if self.remote:
            return ray.get(getattr(self.target, method).remote(*args, **kwargs))
        return getattr(self.target, method)(*args, **kwargs)
