"""SkillRL for OpenRLHF 0.11 (Ray + vLLM): skills in multi-turn agent rollouts, one shared skill bank, evolution
at every evaluation, the bank saved with each checkpoint.

Three pieces, one per place OpenRLHF runs code:

**1. The agent file** (``--train.agent_func_path``, loaded inside every vLLM rollout actor). Wrap your own
``AgentInstance`` in one line::

    from skillrl.adapters.openrlhf import skillrl_agent_executor
    AgentExecutor = skillrl_agent_executor(MyAgentInstance)

``MultiTurnAgentExecutor.execute`` (``openrlhf/utils/agent.py``) builds one instance per sample, calls
``reset({"observation": prompt, "label": label})`` and then ``step`` until done. The wrapper runs your ``reset``
first (so the environment's first observation, e.g. ALFWorld's "Your task is to: ...", is known), asks the bank for
the skills of that task and writes the block into the user turn of the chat-templated observation. Where the user
turn is is learnt from the tokenizer's own chat template (rendered around sentinels, see :class:`ChatLayout`), not
guessed. After the episode it sends the bank the episode: task, category, the injected skill and mistake ids, the
actions and observations, the total reward. Optional extras your ``reset`` / ``step`` results may carry (OpenRLHF
ignores unknown keys): ``reset`` -> ``"task"`` (task text to retrieve for), ``"category"`` (the true task category);
``step`` -> ``"action"`` / ``"observation"`` (clean texts for the episode log), ``"success"`` (bool). The wrapped
instance also gets ``self.skillrl`` (an :class:`EpisodeContext`): ``self.skillrl.next_user_turn(text)`` formats
environment feedback as the next chat turn for the policy's template. An optional ``close()`` of your instance is
called when the episode ends (return pooled environments there).

**2. The bank** is a Ray named actor (:class:`SkillBankService` wrapping a :class:`skillrl.runtime.SkillRuntime`)
shared by every rollout actor and the trainer: retrieval, the episode log and bank versions live in one place.
It is created on first use (``get_if_exists``) and found by name after that. OpenRLHF builds executors with no
arguments, so it is configured by environment variables or a JSON file (:class:`SkillRLConfig`): ``SKILLRL_BANK``,
``SKILLRL_PROFILE``, ``SKILLRL_MODE``, ``SKILLRL_TEACHER``, ``SKILLRL_CONFIG=config.json``, ... The samples of one
prompt get the same block: the same task text and the same bank version give the same block (the runtime caches by
task and version) and the bank changes only inside :meth:`SkillBankService.end_validation`, which the trainer calls
after all evaluation rollouts have returned, never while a batch is being generated.

**3. The launcher**: ``python -m skillrl.adapters.openrlhf [--skillrl.* options] <train_ppo_ray arguments>`` runs
``openrlhf.cli.train_ppo_ray`` as ``__main__`` (``runpy``) after swapping in subclasses of the trainer's Ray actor
classes (OpenRLHF has no callbacks):

* sync (``openrlhf/trainer/ppo_trainer.py``): ``PPOTrainer.__ray_actor_class__`` with ``evaluate(global_step,
  **generate_kwargs)`` extended: the eval samples returned by ``samples_generator.generate_eval_samples`` (each an
  ``Experience`` with ``prompts``, ``labels``, ``rewards``) are kept, OpenRLHF's own ``compute_eval_metrics`` runs
  as before, then the bank closes the validation (per-category success, evolution) and the result is logged;
* async (``--train.async_enable``, ``openrlhf/trainer/ppo_trainer_async.py``): the same around
  ``GenerateSamplesActor._run_eval`` (eval runs there, between generation batches, under the vLLM lock);
  ``TrainingActor`` gets the checkpoint part;
* checkpoints: ``save_logs_and_checkpoints`` also writes the bank to ``<ckpt.path>/_skillrl/global_step<N>/``
  (beside DeepSpeed's ``<ckpt.path>/_actor/global_step<N>``); ``init_checkpoint_states`` (resume) loads the snapshot
  of the restored step into the bank actor; after ``fit`` the final bank goes to ``<ckpt.output_dir>/skillrl/``.
  Snapshots are rewritten after each evaluation's evolution so a resume continues with the evolved bank.

Checked against openrlhf 0.11.2 (:func:`check_openrlhf` verifies the methods it overrides).
"""

from __future__ import annotations

import contextvars
import hashlib
import inspect
import itertools
import json
import logging
import os
import re
import sys
import threading
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from skillrl.errors import MissingDependencyError, SkillRLError, short_repr
from skillrl.hookspecs import hookimpl

try:  # this adapter module needs its framework; ``import skillrl`` alone does not import it
    import ray
    from openrlhf.utils.agent import AgentInstanceBase, MultiTurnAgentExecutor
except ImportError as _err:  # pragma: no cover - depends on the environment
    raise MissingDependencyError("openrlhf", "openrlhf", "skillrl.adapters.openrlhf (agent executor, bank actor)") \
        from _err

logger = logging.getLogger("skillrl.openrlhf")

__all__ = [
    "BankClient",
    "ChatLayout",
    "EpisodeContext",
    "OpenRLHFConfigError",
    "SkillBankService",
    "SkillRLConfig",
    "UnsupportedOpenRLHFVersion",
    "check_openrlhf",
    "get_bank_actor",
    "install",
    "main",
    "read_snapshot",
    "skillrl_agent_executor",
    "split_skillrl_args",
    "trainer_classes",
    "write_snapshot",
]

SUPPORTED_OPENRLHF = ">=0.11,<0.12"
SNAPSHOT_DIR = "_skillrl"
FINAL_DIR = "skillrl"
BANK_FILE = "skill_bank.json"
STATE_FILE = "skillrl_state.json"
ENV_PREFIX = "SKILLRL_"


class OpenRLHFConfigError(SkillRLError, ValueError):
    """The SkillRL configuration for OpenRLHF (environment variables / JSON file) is missing or invalid."""


class UnsupportedOpenRLHFVersion(SkillRLError, RuntimeError):
    """The installed OpenRLHF lacks the trainer internals the launcher extends."""


# ====================================================================================== configuration


class SkillRLConfig(BaseModel):
    """How the shared bank actor is built. OpenRLHF constructs executors without arguments, so this is read from
    the environment (:meth:`from_env`): a JSON file named by ``SKILLRL_CONFIG`` first, then ``SKILLRL_<FIELD>``
    variables (upper case) override single fields, e.g. ``SKILLRL_BANK=skills.json SKILLRL_PROFILE=alfworld``.

    Attributes:
        bank: path of the initial bank (official or native JSON). Required.
        mode: ``"embedding"`` (FAISS retrieval, default) or ``"template"`` (general + detected category).
        profile: category detection profile (``"alfworld"``, ``"webshop"``, ``"search"``, a rules JSON path) or
            ``None``.
        teacher: evolution teacher spec (``"offline"``, ``"openai:MODEL"``, ``"hf:PATH"``); ``None``: no evolution.
        placement: where the block goes in the chat-templated prompt: ``"user_prefix"`` (default),
            ``"user_suffix"`` or ``"system"`` (appended to the prompt's system turn; falls back to
            ``user_prefix`` when the prompt has none).
        top_k_general, top_k, delta, restrict_to_category: retrieval (see :class:`SkillRuntime`; 6, 6, 0.4, True).
        style, max_tokens, max_mistakes: rendering (``"official"``, no budget, 5).
        tokenizer: tokenizer path for exact block token counts in the bank actor (default: estimate).
        evolution: :class:`skillrl.evolve.EvolutionConfig` fields (threshold 0.4, ...).
        evolve_split: only validations of this split evolve (``None``: every evaluation does).
        eval_split: split name given to evaluation episodes (default ``"validation"``).
        success_threshold: an episode succeeds when its total reward is at least this, unless the environment
            reported ``success`` itself (default 1.0).
        output_dir: when set, every bank version is also written there (``banks/bank_v<N>.json``).
        actor_name, namespace: the Ray named actor (default ``"skillrl_bank"``, the job's namespace).
        detached: create the actor with ``lifetime="detached"`` (it then outlives the job; default False).
    """

    model_config = ConfigDict(extra="forbid")

    bank: str | None = None
    mode: Literal["embedding", "template"] = "embedding"
    profile: str | None = None
    teacher: str | None = None
    placement: Literal["user_prefix", "user_suffix", "system"] = "user_prefix"
    top_k_general: int | None = 6
    top_k: int = 6
    delta: float = 0.4
    restrict_to_category: bool = True
    style: Literal["official", "compact"] = "official"
    max_tokens: int | None = None
    max_mistakes: int = 5
    tokenizer: str | None = None
    evolution: dict[str, Any] = Field(default_factory=dict)
    evolve_split: str | None = None
    eval_split: str = "validation"
    success_threshold: float = 1.0
    output_dir: str | None = None
    actor_name: str = "skillrl_bank"
    namespace: str | None = None
    detached: bool = False

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> SkillRLConfig:
        """Read ``SKILLRL_CONFIG`` (a JSON object file) then ``SKILLRL_<FIELD>`` overrides.

        Raises:
            OpenRLHFConfigError: unreadable or invalid JSON file, unknown field, wrong value type.
        """
        env = os.environ if environ is None else environ
        data: dict[str, Any] = {}
        path = env.get(ENV_PREFIX + "CONFIG")
        if path:
            try:
                data = json.loads(Path(path).read_text(encoding="utf-8"))
            except OSError as exc:
                raise OpenRLHFConfigError(f"SKILLRL_CONFIG={path}: cannot read the file ({exc})") from exc
            except json.JSONDecodeError as exc:
                raise OpenRLHFConfigError(f"SKILLRL_CONFIG={path}: not valid JSON ({exc})") from exc
            if not isinstance(data, dict):
                raise OpenRLHFConfigError(f"SKILLRL_CONFIG={path}: expected a JSON object, got {short_repr(data)}")
        for name in cls.model_fields:
            raw = env.get(ENV_PREFIX + name.upper())
            if raw is None or raw == "":
                continue
            if name == "evolution":
                try:
                    data[name] = json.loads(raw)
                except json.JSONDecodeError as exc:
                    raise OpenRLHFConfigError(f"SKILLRL_EVOLUTION must be a JSON object, got {short_repr(raw)}") \
                        from exc
            elif raw.lower() in ("none", "null") and name not in ("bank",):
                data[name] = None
            else:
                data[name] = raw
        try:
            return cls.model_validate(data)
        except ValidationError as exc:
            where = f"SKILLRL_CONFIG={path} / SKILLRL_* variables" if path else "SKILLRL_* variables"
            problems = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']} (got {short_repr(e.get('input'))})"
                                 for e in exc.errors())
            raise OpenRLHFConfigError(f"invalid SkillRL configuration in {where}: {problems}") from None


# ====================================================================================== the bank service


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
    :meth:`end_validation`. An episode belongs to the phase in force when its skills were retrieved.

    Args:
        config: a :class:`SkillRLConfig` or its dict. ``bank`` is required.

    Raises:
        OpenRLHFConfigError: no bank configured.
    """

    def __init__(self, config: SkillRLConfig | dict[str, Any]) -> None:
        from skillrl.evolve import EvolutionConfig
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
        self.runtime = SkillRuntime(
            c.bank, mode=c.mode, profile=c.profile, top_k_general=c.top_k_general, top_k=c.top_k, delta=c.delta,
            restrict_to_category=c.restrict_to_category, style=c.style, max_tokens=c.max_tokens, tokenizer=tokenizer,
            max_mistakes=c.max_mistakes, placement=c.placement, teacher=c.teacher,
            evolution=EvolutionConfig(**c.evolution), evolve_split=c.evolve_split, plugins=[self._override],
            output_dir=c.output_dir)
        self.phase = "train"
        self.validation_step: int | None = None
        self._validation: list[tuple[Any, tuple[str, str]]] = []  # (Episode, (prompt, label))
        self._in_flight: Counter[str] = Counter()
        self._ids = itertools.count()
        self.summaries: list[dict[str, Any]] = []

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
        self._in_flight[self.phase] += 1
        return {"block": aug.block.text, "skill_ids": list(aug.skill_ids), "mistake_ids": list(aug.block.mistake_ids),
                "tokens": aug.block.tokens, "task": aug.task, "category": aug.category,
                "bank_version": aug.bank_version, "split": self.phase, "placement": self.config.placement}

    def _bank_category(self, category: str | None) -> str | None:
        if category is None:
            return None
        det = self.runtime.detector
        if det is not None:
            return det.to_bank_category(category, self.runtime.bank)
        return category

    def record(self, episode: dict[str, Any], prompt: str = "", label: Any = "") -> str:
        """Store one finished episode (dict of :class:`skillrl.episode.Episode` fields plus ``"category_raw"``).

        ``success`` is filled from ``reward >= success_threshold`` when absent; ``category`` from
        ``category_raw`` (mapped to a bank key) when given. Train episodes go to the runtime at once; episodes of
        the eval split wait for :meth:`end_validation`. Returns the episode id.
        """
        from skillrl.episode import Episode

        data = dict(episode)
        split = data.get("split") or "train"
        raw = data.pop("category_raw", None)
        meta = dict(data.get("metadata") or {})
        if raw is not None:
            meta["category_raw"] = raw
            data["category"] = self._bank_category(raw)
        if data.get("success") is None:
            data["success"] = float(data.get("reward") or 0.0) >= self.config.success_threshold
        step = self.validation_step if split == self.config.eval_split else None
        data["episode_id"] = data.get("episode_id") or \
            f"{split}-{'s' + str(step) + '-' if step is not None else ''}{next(self._ids)}"
        data["metadata"] = {**meta, "label": _jsonable(label), "prompt": prompt}
        data.setdefault("source", "openrlhf")
        ep = Episode.model_validate(data)
        self._in_flight[split] = max(0, self._in_flight[split] - 1)
        if split == self.config.eval_split:
            self._validation.append((ep, (prompt, _label_key(label))))
        else:
            self.runtime.record([ep], split=split)
        return ep.episode_id

    # ------------------------------------------------------------------ validation
    def begin_validation(self, step: int) -> int:
        """Enter the eval phase (episodes retrieved from now on belong to the eval split). Returns the bank
        version the evaluation runs with."""
        if self._in_flight["train"]:
            logger.warning("skillrl: validation starts while %d train rollouts are unfinished",
                           self._in_flight["train"])
        self.phase = self.config.eval_split
        self.validation_step = int(step)
        self._validation = []
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
            "bank_version_before", "bank_version", "evolution"}`` (``evolution``: the report as a dict, or None).
        """
        from skillrl.episode import Episode, Step

        split = self.config.eval_split
        before = self.runtime.bank.version
        by_key: dict[tuple[str, str], list[Any]] = defaultdict(list)
        for ep, key in self._validation:
            by_key[key].append(ep)
        episodes: list[Any] = []
        matched = built = 0
        for i, s in enumerate(samples):
            key = (str(s.get("prompt", "")), _label_key(s.get("label", "")))
            ds = s.get("datasource")
            if by_key.get(key):
                ep = by_key[key].pop(0)
                matched += 1
            else:
                reward = float(s.get("reward") or 0.0)
                prompt = str(s.get("prompt", ""))
                task = self.runtime.hook.skillrl_task_text(prompt=prompt, row={}) or prompt
                ep = Episode(episode_id=f"{split}-s{step}-sample{i}", task=task,
                             category=self.runtime.detector.detect_for_bank(task, self.runtime.bank.categories)
                             if self.runtime.detector else None,
                             steps=[Step(action=str(s.get("response") or ""))], reward=reward,
                             success=reward >= self.config.success_threshold, source="openrlhf", split=split,
                             metadata={"label": _jsonable(s.get("label")), "from_sample": True})
                built += 1
            if ds and ds not in ("default", "unknown"):
                upd: dict[str, Any] = {"metadata": {**ep.metadata, "datasource": ds}}
                if ep.category is None:
                    upd["category"] = self._bank_category(ds)
                ep = ep.model_copy(update=upd)
            episodes.append(ep)
        leftover = [ep for eps in by_key.values() for ep in eps]
        episodes += leftover
        self.runtime.record(episodes, split=split)
        report = self.runtime.after_validation(int(step), split=split)
        self.phase = "train"
        self._validation = []
        self._in_flight[split] = 0
        last = self.runtime.validations[-1] if self.runtime.validations else {}
        summary = {"step": int(step), "episodes": len(episodes), "matched": matched, "from_samples": built,
                   "unmatched_episodes": len(leftover), "success_rates": last.get("success_rates", {}),
                   "bank_version_before": before, "bank_version": self.runtime.bank.version,
                   "evolution": report.model_dump(mode="json") if report is not None else None}
        self.summaries.append(summary)
        if report is not None:
            logger.info("skillrl: step %s: %s", step, report.summary())
        return summary

    def abort_validation(self, step: int) -> int:
        """Leave the eval phase without scoring (the evaluation failed); its episodes are dropped. Returns how
        many were dropped."""
        dropped = len(self._validation)
        logger.warning("skillrl: evaluation at step %s aborted; %d episodes dropped", step, dropped)
        self.phase, self._validation = "train", []
        self._in_flight[self.config.eval_split] = 0
        return dropped

    # ------------------------------------------------------------------ inspection and state
    def episodes(self, split: str = "train") -> list[dict[str, Any]]:
        """Episodes recorded for ``split`` and not yet consumed by a validation (dicts)."""
        if split == self.config.eval_split and self.phase == split:
            return [ep.model_dump(mode="json") for ep, _ in self._validation]
        return [ep.model_dump(mode="json") for ep in self.runtime.pending(split)]

    def info(self) -> dict[str, Any]:
        """Phase, bank version and size, in-flight rollouts, the configuration."""
        return {"phase": self.phase, "bank_version": self.runtime.bank.version, "bank_size": len(self.runtime.bank),
                "in_flight": dict(self._in_flight), "config": self.config.model_dump(mode="json"),
                "validations": len(self.summaries)}

    def metrics(self, prefix: str = "skillrl/") -> dict[str, float]:
        """:meth:`SkillRuntime.metrics` (bank size, version, injected skills/tokens of the last prompt, ...)."""
        return self.runtime.metrics(prefix=prefix)

    def state_dict(self) -> dict[str, Any]:
        """The runtime's state (bank with history, evolution reports, validations) plus validation summaries."""
        return {**self.runtime.state_dict(), "summaries": self.summaries}

    def load_state_dict(self, state: dict[str, Any]) -> int:
        """Replace the bank and history with ``state`` (from :meth:`state_dict`). Returns the bank version."""
        self.runtime.load_state_dict(state)
        self.summaries = list(state.get("summaries", []))
        return self.runtime.bank.version


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
    """The shared bank: the Ray named actor ``config.actor_name`` (created with ``get_if_exists`` on first use), or
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
    except ValueError:
        if not create:
            raise SkillRLError(f"no Ray actor named {config.actor_name!r} (namespace {config.namespace!r})") from None
    if not config.bank:
        raise OpenRLHFConfigError(
            "no skill bank configured: set SKILLRL_BANK=<path> (or 'bank' in SKILLRL_CONFIG) before the first "
            "rollout, or start training with python -m skillrl.adapters.openrlhf")
    options: dict[str, Any] = {"name": config.actor_name, "get_if_exists": True, "num_cpus": 0,
                               "max_restarts": 0}
    if config.namespace:
        options["namespace"] = config.namespace
    if config.detached:
        options["lifetime"] = "detached"
    handle = ray.remote(SkillBankService).options(**options).remote(config.model_dump(mode="json"))
    ray.get(handle.info.remote())  # surface construction errors (bad bank path, ...) here
    return handle


class BankClient:
    """Async access to the bank from rollout code (a Ray actor handle or an in-process service)."""

    def __init__(self, target: Any) -> None:
        self.target = target
        self.remote = not isinstance(target, SkillBankService)

    async def call(self, method: str, *args: Any, **kwargs: Any) -> Any:
        if self.remote:
            return await getattr(self.target, method).remote(*args, **kwargs)
        return getattr(self.target, method)(*args, **kwargs)

    def call_sync(self, method: str, *args: Any, **kwargs: Any) -> Any:
        if self.remote:
            return ray.get(getattr(self.target, method).remote(*args, **kwargs))
        return getattr(self.target, method)(*args, **kwargs)


# ====================================================================================== chat template layout

_S_USER1, _S_USER2, _S_ASSIST, _S_SYSTEM = ("SKILLRLSENTINELUSERONE", "SKILLRLSENTINELUSERTWO",
                                           "SKILLRLSENTINELASSISTANT", "SKILLRLSENTINELSYSTEM")


def _common_suffix(texts: Sequence[str]) -> str:
    if not texts:
        return ""
    rev = os.path.commonprefix([t[::-1] for t in texts])
    return rev[::-1]


@dataclass(frozen=True)
class ChatLayout:
    """Where turns start and end in the text a tokenizer's chat template renders, learnt by rendering the
    template around sentinel messages (``apply_chat_template(..., tokenize=False)``), so any template works
    without per-model rules.

    Attributes:
        user_open: text right before a user message's content (common to every rendering: a first user turn,
            one after a system turn, one after an assistant turn), e.g. Qwen2.5 ``"<|im_end|>\\n<|im_start|>user\\n"``.
        user_close: text right after a user message's content (``"<|im_end|>\\n"``).
        after_assistant: text between an assistant message and the next user content (``None`` when the template
            cannot render a second user turn).
        next_turn_tail: text after the last user content with the generation prompt (``"<|im_end|>\\n<|im_start|>
            assistant\\n"``).
        final_tail: the same without the generation prompt.
        system_open: text before a system message's content when the template renders a separate system turn
            (``None`` when it folds the system prompt into the user turn, e.g. Gemma).
        system_end: text between the system content and the first user content.
    """

    user_open: str
    user_close: str
    after_assistant: str | None
    next_turn_tail: str
    final_tail: str
    system_open: str | None = None
    system_end: str | None = None

    @classmethod
    def from_tokenizer(cls, tokenizer: Any) -> ChatLayout | None:
        """The layout of ``tokenizer``'s chat template, or ``None`` when it has no template (or one that cannot
        be located: then blocks go in front of the prompt text). Cached per (name, template)."""
        template = getattr(tokenizer, "chat_template", None)
        if not template or not hasattr(tokenizer, "apply_chat_template"):
            return None
        key = (str(getattr(tokenizer, "name_or_path", "")), hashlib.sha1(str(template).encode()).hexdigest())
        if key not in _LAYOUTS:
            _LAYOUTS[key] = cls._build(tokenizer)
        return _LAYOUTS[key]

    @classmethod
    def _build(cls, tokenizer: Any) -> ChatLayout | None:
        def render(messages: list[dict[str, str]], gen: bool) -> str | None:
            try:
                out = tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=gen)
            except Exception:  # noqa: BLE001 - templates raise anything (TemplateError, ValueError, ...)
                return None
            return out if isinstance(out, str) else None

        u1, u2 = {"role": "user", "content": _S_USER1}, {"role": "user", "content": _S_USER2}
        asst, sys_m = {"role": "assistant", "content": _S_ASSIST}, {"role": "system", "content": _S_SYSTEM}
        a, a0 = render([u1], True), render([u1], False)
        if not a or _S_USER1 not in a:
            return None
        c, c0 = render([u1, asst, u2], True), render([u1, asst, u2], False)
        if c is None or _S_ASSIST not in c or _S_USER2 not in c:
            c = c0 = None
        b = render([sys_m, u1], True)
        befores = [a[:a.index(_S_USER1)]]
        if c is not None:
            befores.append(c[c.index(_S_ASSIST) + len(_S_ASSIST):c.index(_S_USER2)])
        if c is None and b is not None and _S_USER1 in b:  # a system turn as the second sample of a turn start
            befores.append(b[:b.index(_S_USER1)])
        user_open = _common_suffix(befores)
        if not user_open.strip():
            return None
        afters = [a[a.index(_S_USER1) + len(_S_USER1):]]
        if a0 and _S_USER1 in a0:
            afters.append(a0[a0.index(_S_USER1) + len(_S_USER1):])
        if c is not None:
            afters.append(c[c.index(_S_USER2) + len(_S_USER2):])
        user_close = os.path.commonprefix(afters)
        after_assistant = c[c.index(_S_ASSIST) + len(_S_ASSIST):c.index(_S_USER2)] if c is not None else None
        next_tail = c[c.index(_S_USER2) + len(_S_USER2):] if c is not None else afters[0]
        final_tail = c0[c0.index(_S_USER2) + len(_S_USER2):] if c0 and _S_USER2 in c0 else (
            afters[1] if len(afters) > 1 else user_close)
        system_open = system_end = None
        if b is not None and _S_SYSTEM in b and _S_USER1 in b:
            xs, us = b.index(_S_SYSTEM), b.index(_S_USER1)
            uo = b.rfind(user_open, 0, us)
            if xs < us and uo >= xs + len(_S_SYSTEM):  # the system text sits outside the user turn
                system_open = b[:xs]
                system_end = b[xs + len(_S_SYSTEM):uo + len(user_open)]
        return cls(user_open=user_open, user_close=user_close, after_assistant=after_assistant,
                   next_turn_tail=next_tail, final_tail=final_tail, system_open=system_open or None,
                   system_end=system_end or None)

    def user_span(self, prompt: str) -> tuple[int, int] | None:
        """``(start, end)`` of the last user message's content in ``prompt``, or ``None`` when none is found."""
        i = prompt.rfind(self.user_open)
        if i < 0:
            return None
        start = i + len(self.user_open)
        end = prompt.find(self.user_close, start) if self.user_close else -1
        return start, (end if end >= 0 else len(prompt))

    def user_content(self, prompt: str) -> str:
        """The last user message's content (the whole prompt when no user turn is found)."""
        span = self.user_span(prompt)
        return prompt[span[0]:span[1]] if span else prompt

    def inject(self, prompt: str, block: str, placement: str = "user_prefix", separator: str = "\n\n") -> str:
        """``prompt`` with ``block`` at ``placement`` (``"user_prefix"``, ``"user_suffix"``, ``"system"``); a text
        without a recognisable user turn gets the block in front. ``"system"`` appends to the prompt's system turn
        and falls back to ``user_prefix`` when there is none."""
        if not block:
            return prompt
        if placement not in ("user_prefix", "user_suffix", "system"):
            raise ValueError(f"unknown placement {placement!r}: expected 'user_prefix', 'user_suffix' or 'system'")
        if placement == "system" and self.system_open and self.system_end and prompt.startswith(self.system_open):
            start = len(self.system_open)
            end = prompt.find(self.system_end, start)
            if end >= 0:
                return prompt[:end] + (separator if end > start else "") + block + prompt[end:]
        span = self.user_span(prompt)
        if span is None:
            return f"{block}{separator}{prompt}"
        start, end = span
        sep = separator if end > start else ""
        if placement == "user_suffix":
            return prompt[:end] + sep + block + prompt[end:]
        return prompt[:start] + block + sep + prompt[start:]

    def next_user_turn(self, text: str, *, done: bool = False, action_ended_with: str | None = None) -> str:
        """Environment feedback as the next user turn (with the generation prompt unless ``done``), to append
        after the policy's action. ``action_ended_with``: the special token text the action's tokens ended with
        (e.g. ``"<|im_end|>"``); it is not repeated.

        Raises:
            SkillRLError: the template cannot render a user turn after an assistant turn.
        """
        if self.after_assistant is None:
            raise SkillRLError("this chat template cannot render a user turn after an assistant turn")
        head = self.after_assistant
        if action_ended_with and head.startswith(action_ended_with):
            head = head[len(action_ended_with):]
        return head + text + (self.final_tail if done else self.next_turn_tail)

    def strip_markup(self, text: str) -> str:
        """``text`` without the template's turn markup (for logging feedback as a plain observation)."""
        markers = {self.after_assistant or "", self.next_turn_tail, self.final_tail, self.user_open, self.user_close}
        # the bare headers too (feedback after an action whose end-of-turn token was not repeated)
        for m, prefix in ((self.user_open, self.user_close), (self.after_assistant or "", self.user_close),
                          (self.next_turn_tail, self.final_tail)):
            if prefix and m.startswith(prefix):
                markers.add(m[len(prefix):])
        for marker in sorted(markers, key=len, reverse=True):
            if marker.strip():
                text = text.replace(marker, "\n")
        return text.strip()


_LAYOUTS: dict[tuple[str, str], ChatLayout | None] = {}


# ====================================================================================== the agent executor

_CURRENT: contextvars.ContextVar[EpisodeContext | None] = contextvars.ContextVar("skillrl_episode", default=None)


class EpisodeContext:
    """What the wrapper knows about the episode being played; the wrapped instance sees it as ``self.skillrl``.

    Attributes:
        prompt, label: what OpenRLHF passed to ``execute``.
        tokenizer, layout: the policy's tokenizer and its :class:`ChatLayout` (``None`` without a template).
        skills: the bank's answer for this episode (block, skill_ids, category, bank_version, split, ...) once
            ``reset`` ran.
        steps: the episode's :class:`skillrl.episode.Step` records so far.
        category, task, success: set from the instance's ``reset`` / ``step`` extras, or by hand.
    """

    def __init__(self, client: BankClient, prompt: str, label: Any, tokenizer: Any) -> None:
        self.client = client
        self.prompt, self.label, self.tokenizer = prompt, label, tokenizer
        self.layout = ChatLayout.from_tokenizer(tokenizer) if tokenizer is not None else None
        self.skills: dict[str, Any] | None = None
        self.initial_observation = ""
        self.steps: list[Any] = []
        self.category: str | None = None
        self.task: str | None = None
        self.success: bool | None = None
        self.instance: Any = None
        self.last_action_end: str | None = None  # special token text the last action's tokens ended with

    def next_user_turn(self, text: str, done: bool = False) -> str:
        """``text`` as the next chat turn after the policy's last action (see :meth:`ChatLayout.next_user_turn`);
        the end-of-turn token the action already emitted is not repeated. Without a chat template: ``"\\n" +
        text + "\\n"``."""
        if self.layout is None:
            return f"\n{text}\n"
        return self.layout.next_user_turn(text, done=done, action_ended_with=self.last_action_end)

    async def on_reset(self, states: dict[str, Any], result: dict[str, Any]) -> dict[str, Any]:
        observation = result.get("observation") if isinstance(result, dict) else None
        if not isinstance(observation, str):
            raise SkillRLError(f"skillrl: reset() must return {{'observation': <text>}}, got {short_repr(result)}")
        if result.get("category") is not None:
            self.category = str(result["category"])
        if result.get("task"):
            self.task = str(result["task"])
        text = self.layout.user_content(observation) if self.layout else observation
        self.initial_observation = text
        self.skills = await self.client.call("augment", text, task=self.task, category=self.category)
        block = self.skills["block"]
        if self.layout is not None:
            new = self.layout.inject(observation, block, self.skills["placement"])
        else:
            from skillrl.render import inject

            new = inject(observation, block, "user_suffix" if self.skills["placement"] == "user_suffix"
                         else "user_prefix")
        return {**result, "observation": new}

    def on_step(self, states: dict[str, Any], result: dict[str, Any]) -> None:
        from skillrl.episode import Step

        action = result.get("action")
        if action is None:
            action = states.get("action_text", "")
            if self.layout is not None:
                action = self.layout.strip_markup(action)
        observation = result.get("observation")
        if observation is None:
            feedback = str(result.get("environment_feedback") or "")
            observation = self.layout.strip_markup(feedback) if self.layout else feedback.strip()
        if result.get("success") is not None:
            self.success = bool(result["success"])
        self.steps.append(Step(action=str(action).strip(), observation=str(observation)))

    def episode(self, response: dict[str, Any]) -> dict[str, Any]:
        skills = self.skills or {}
        reward = response.get("reward")
        return {
            "task": skills.get("task") or self.task or "", "category": skills.get("category"),
            "category_raw": self.category, "initial_observation": self.initial_observation,
            "steps": [s.model_dump() for s in self.steps], "reward": float(reward) if reward is not None else 0.0,
            "success": self.success, "split": skills.get("split", "train"), "skill_ids": skills.get("skill_ids", []),
            "metadata": {"bank_version": skills.get("bank_version"), "mistake_ids": skills.get("mistake_ids", []),
                         "truncated": bool(response.get("truncated", False)), "block_tokens": skills.get("tokens", 0)},
        }


class _EngineProxy:
    """Passes generation to the real engine and notes how each action's tokens ended."""

    def __init__(self, engine: Any, ctx: EpisodeContext) -> None:
        self._engine, self._ctx = engine, ctx

    async def generate(self, *args: Any, **kwargs: Any) -> Any:
        out = await self._engine.generate(*args, **kwargs)
        ctx = self._ctx
        try:
            ids = list(out.outputs[0].token_ids)
            tok = ctx.tokenizer
            special = set(getattr(tok, "all_special_ids", []) or [])
            ctx.last_action_end = tok.convert_ids_to_tokens(ids[-1]) if ids and ids[-1] in special else None
        except Exception:  # noqa: BLE001 - bookkeeping only
            ctx.last_action_end = None
        return out

    def __getattr__(self, name: str) -> Any:
        return getattr(self._engine, name)


def skillrl_agent_executor(instance_cls: type, *, config: SkillRLConfig | None = None,
                           name: str = "AgentExecutor") -> type:
    """An OpenRLHF ``MultiTurnAgentExecutor`` subclass (no-argument constructor, as ``--train.agent_func_path``
    requires) that plays ``instance_cls`` with skills from the shared bank.

    Usage, in the agent file: ``AgentExecutor = skillrl_agent_executor(MyAgentInstance)``.

    Per sample (``MultiTurnAgentExecutor.execute``): your ``reset`` runs, then the skill block for the task goes into
    the observation's user turn (:class:`ChatLayout`, placement from the config); ``step`` runs unchanged; when the
    episode ends the bank receives it (prompt, label, actions, observations, total reward, category, injected skill
    ids) and three numbers join the sample's ``extra_logs`` (so OpenRLHF logs them): ``skillrl_skills`` (skills
    injected), ``skillrl_block_tokens`` and ``skillrl_bank_version``.

    Args:
        instance_cls: your ``AgentInstanceBase`` subclass (constructed with no arguments, as OpenRLHF does).
        config: bank configuration (default: :meth:`SkillRLConfig.from_env` in each rollout actor).
        name: the generated class's name.

    Raises:
        TypeError: ``instance_cls`` is not an ``openrlhf.utils.agent.AgentInstanceBase`` subclass.
    """
    if not (isinstance(instance_cls, type) and issubclass(instance_cls, AgentInstanceBase)):
        raise TypeError(f"skillrl_agent_executor() needs an openrlhf.utils.agent.AgentInstanceBase subclass, got "
                        f"{short_repr(instance_cls)}")

    class _SkillRLInstance(instance_cls):  # type: ignore[valid-type, misc]
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            self.skillrl = _CURRENT.get()
            if self.skillrl is not None:
                self.skillrl.instance = self
            super().__init__(*args, **kwargs)

        async def reset(self, states: dict, **kwargs: Any) -> dict:
            result = await super().reset(states, **kwargs)
            if self.skillrl is None:
                return result
            return await self.skillrl.on_reset(states, result)

        async def step(self, states: dict, **kwargs: Any) -> dict:
            result = await super().step(states, **kwargs)
            if self.skillrl is not None:
                self.skillrl.on_step(states, result)
            return result

    _SkillRLInstance.__name__ = _SkillRLInstance.__qualname__ = f"SkillRL{instance_cls.__name__}"
    _SkillRLInstance.__module__ = instance_cls.__module__
    _SkillRLInstance.__doc__ = instance_cls.__doc__

    def __init__(self: Any) -> None:
        MultiTurnAgentExecutor.__init__(self, _SkillRLInstance)
        self.skillrl_config = config
        self._client: BankClient | None = None

    def client(self: Any) -> BankClient:
        if self._client is None:
            self._client = BankClient(get_bank_actor(self.skillrl_config or SkillRLConfig.from_env()))
        return self._client

    async def execute(self: Any, prompt: str, label: Any, sampling_params: Any, max_length: int, hf_tokenizer: Any,
                      llm_engine: Any, images: Any = None) -> dict[str, Any]:
        ctx = EpisodeContext(self.client(), prompt, label, hf_tokenizer)
        token = _CURRENT.set(ctx)
        try:
            response = await MultiTurnAgentExecutor.execute(
                self, prompt, label, sampling_params, max_length, hf_tokenizer, _EngineProxy(llm_engine, ctx),
                images=images)
        finally:
            _CURRENT.reset(token)
            await _close(ctx.instance)
        await ctx.client.call("record", ctx.episode(response), prompt=prompt, label=label)
        skills = ctx.skills or {}
        response["extra_logs"] = {**(response.get("extra_logs") or {}),
                                  "skillrl_skills": float(len(skills.get("skill_ids", []))),
                                  "skillrl_block_tokens": float(skills.get("tokens", 0)),
                                  "skillrl_bank_version": float(skills.get("bank_version") or 0)}
        return response

    doc = (f"OpenRLHF agent executor playing {instance_cls.__name__} with skills from the shared SkillRL bank "
           f"(made by skillrl.adapters.openrlhf.skillrl_agent_executor).")
    return type(name, (MultiTurnAgentExecutor,), {"__init__": __init__, "client": client, "execute": execute,
                                                   "__doc__": doc, "__module__": instance_cls.__module__,
                                                   "instance_cls": _SkillRLInstance})


async def _close(instance: Any) -> None:
    close = getattr(instance, "close", None) if instance is not None else None
    if not callable(close):
        return
    try:
        out = close()
        if inspect.isawaitable(out):
            await out
    except Exception:
        logger.exception("skillrl: %s.close() failed", type(instance).__name__)


# ====================================================================================== snapshots


def write_snapshot(directory: str | os.PathLike[str], state: dict[str, Any]) -> Path | None:
    """Write a bank state (:meth:`SkillBankService.state_dict`) as ``skill_bank.json`` (native) and
    ``skillrl_state.json``, the layout :meth:`SkillRuntime.save` uses. A snapshot already there with a newer bank
    version is kept (two processes may write the same step; the bank only moves forward). Returns the directory,
    or ``None`` when it kept the newer one."""
    from skillrl.bank import SkillBank, atomic_write_json

    directory = Path(directory)
    old = directory / BANK_FILE
    new_version = int(state["bank"].get("version", 0))
    if old.is_file():
        try:
            if int(json.loads(old.read_text(encoding="utf-8")).get("version", -1)) > new_version:
                return None
        except (OSError, ValueError, AttributeError):
            pass
    rest = {k: v for k, v in state.items() if k != "bank"}
    atomic_write_json(directory / STATE_FILE, rest)
    SkillBank.from_dict(state["bank"]).save(directory / BANK_FILE)
    return directory


def read_snapshot(directory: str | os.PathLike[str]) -> dict[str, Any]:
    """The state :func:`write_snapshot` wrote (``FileNotFoundError`` when the directory has no bank)."""
    from skillrl.bank import SkillBank

    directory = Path(directory)
    state: dict[str, Any] = {"bank": SkillBank.load(directory / BANK_FILE).to_native()}
    if (directory / STATE_FILE).is_file():
        state.update(json.loads((directory / STATE_FILE).read_text(encoding="utf-8")))
    return state


_STEP_RE = re.compile(r"^(?:best_)?global_step(\d+)$")


def _snapshot_root(args: Any) -> Path:
    return Path(args.ckpt.path) / SNAPSHOT_DIR


def _prune_snapshots(args: Any, keep: int) -> None:
    """Drop snapshots whose step has no DeepSpeed checkpoint left (OpenRLHF rotates ``_actor`` to ckpt.max_num),
    keeping the newest one."""
    root = _snapshot_root(args)
    actor = Path(args.ckpt.path) / "_actor"
    if not root.is_dir() or not actor.is_dir():
        return
    alive = {int(m.group(1)) for d in actor.iterdir() if (m := _STEP_RE.match(d.name))}
    import shutil

    for d in root.iterdir():
        m = _STEP_RE.match(d.name)
        if m and int(m.group(1)) not in alive and int(m.group(1)) != keep:
            shutil.rmtree(d, ignore_errors=True)


# ====================================================================================== trainer side


def _eval_samples(samples: Sequence[Any], tokenizer: Any, eval_dataloader: Any) -> list[dict[str, Any]]:
    """Flatten OpenRLHF eval ``Experience`` objects into per-sample dicts for :meth:`SkillBankService.end_validation`:
    prompt, label, reward, datasource (as ``compute_eval_metrics`` maps it) and the decoded action tokens."""
    to_ds: dict[str, str] = {}
    if eval_dataloader is not None:
        for datasources, prompts, _labels, _images in eval_dataloader:
            to_ds.update(zip(prompts, datasources))
    out = []
    for s in samples:
        n = len(s.prompts)
        rewards = s.rewards.view(-1).tolist() if getattr(s, "rewards", None) is not None else [None] * n
        for i in range(n):
            response = ""
            if tokenizer is not None and getattr(s, "sequences", None) is not None and s.action_mask is not None:
                seq, mask = s.sequences[i], s.action_mask[i]
                ids = seq[1:][mask.bool()[: len(seq) - 1]].tolist()
                response = tokenizer.decode(ids, skip_special_tokens=True)
            out.append({"prompt": s.prompts[i], "label": _jsonable(s.labels[i] if i < len(s.labels) else ""),
                        "reward": rewards[i], "datasource": to_ds.get(s.prompts[i]), "response": response})
    return out


def _eval_logs(summary: dict[str, Any], metrics: dict[str, float]) -> dict[str, float]:
    logs = {f"skillrl/success/{c}": float(r) for c, r in summary.get("success_rates", {}).items()}
    logs["skillrl/eval_episodes"] = float(summary.get("episodes", 0))
    logs["skillrl/eval_from_samples"] = float(summary.get("from_samples", 0))
    ev = summary.get("evolution")
    if ev is not None:
        logs.update({"skillrl/evolution/added": float(len(ev.get("added", []))),
                     "skillrl/evolution/refined": float(len(ev.get("refined", []))),
                     "skillrl/evolution/rejected": float(len(ev.get("rejected", []))),
                     "skillrl/evolution/failed": float(ev.get("error") is not None)})
    logs.update({k: float(v) for k, v in metrics.items() if k in ("skillrl/bank_version", "skillrl/bank_size")})
    return logs


class _BankTrainerMixin:
    """Bank calls and checkpoint snapshots shared by the sync trainer, the async training actor and the async
    generator (all run where ``args.ckpt.path`` is visible, as OpenRLHF's own ``init_checkpoint_states``)."""

    _skillrl_bank_client: BankClient | None = None

    def _skillrl_bank(self) -> BankClient:
        if self._skillrl_bank_client is None:
            self._skillrl_bank_client = BankClient(get_bank_actor())
        return self._skillrl_bank_client

    def _skillrl_snapshot(self, step: int) -> None:
        state = self._skillrl_bank().call_sync("state_dict")
        if write_snapshot(_snapshot_root(self.args) / f"global_step{step}", state) is not None:
            logger.info("skillrl: bank v%s saved with checkpoint step %s", state["bank"].get("version"), step)
        _prune_snapshots(self.args, keep=step)

    def _skillrl_restore(self, step: int) -> None:
        root = _snapshot_root(self.args)
        exact = root / f"global_step{step}"
        if not (exact / BANK_FILE).is_file():
            older = sorted((int(m.group(1)), d) for d in (root.iterdir() if root.is_dir() else [])
                           if (m := _STEP_RE.match(d.name)) and int(m.group(1)) <= step and (d / BANK_FILE).is_file())
            if not older:
                logger.warning("skillrl: resuming at step %s but %s has no bank snapshot; keeping the configured "
                               "bank", step, root)
                return
            logger.warning("skillrl: no bank snapshot for step %s; using the one of step %s", step, older[-1][0])
            exact = older[-1][1]
        version = self._skillrl_bank().call_sync("load_state_dict", read_snapshot(exact))
        logger.info("skillrl: restored skill bank v%s from %s", version, exact)

    def _skillrl_save_final(self) -> None:
        out = getattr(self.args.ckpt, "output_dir", None)
        if out:
            write_snapshot(Path(out) / FINAL_DIR, self._skillrl_bank().call_sync("state_dict"))

    def _skillrl_evaluate(self, step: int, run: Callable[[], dict], generator: Any, eval_dataloader: Any,
                          n_samples: int) -> dict:
        """Run OpenRLHF's evaluation ``run()`` keeping the eval samples, then close the validation in the bank."""
        kept: list[Any] = []
        original = generator.generate_eval_samples

        def generate_eval_samples(**kwargs: Any) -> list[Any]:
            samples = original(**kwargs)
            kept.extend(samples)
            return samples

        bank = self._skillrl_bank()
        bank.call_sync("begin_validation", int(step))
        generator.generate_eval_samples = generate_eval_samples
        try:
            logs = run()
        except BaseException:
            bank.call_sync("abort_validation", int(step))
            raise
        finally:
            try:
                del generator.generate_eval_samples
            except AttributeError:  # pragma: no cover - not an instance attribute
                generator.generate_eval_samples = original
        summary = bank.call_sync("end_validation", int(step),
                                 _eval_samples(kept, getattr(generator, "tokenizer", None), eval_dataloader))
        skill_logs = _eval_logs(summary, bank.call_sync("metrics"))
        logger.info("skillrl: evaluation at step %s: %d episodes (%d matched), success %s, bank v%s -> v%s", step,
                    summary["episodes"], summary["matched"], summary["success_rates"],
                    summary["bank_version_before"], summary["bank_version"])
        self._skillrl_snapshot(int(step))
        out = dict(logs or {})
        out.update(skill_logs)
        self._skillrl_last_summary = summary
        return out


def _trainer_logging(trainer: Any, step: int, logs: dict[str, float]) -> None:
    if getattr(trainer, "wandb_logger", None):
        trainer.wandb_logger.log_eval(step, logs)
    if getattr(trainer, "tensorboard_logger", None):
        trainer.tensorboard_logger.log_eval(step, logs)


_CLASSES: dict[str, dict[str, type]] = {}


def check_openrlhf() -> str:
    """Check that the installed OpenRLHF has the trainer structure the launcher extends; returns its version.

    Raises:
        UnsupportedOpenRLHFVersion: a class or method is missing or has another signature.
    """
    from importlib.metadata import version as _version

    from openrlhf.trainer import ppo_trainer, ppo_trainer_async

    problems = []
    need = [(ppo_trainer, "PPOTrainer", ["evaluate", "fit", "save_logs_and_checkpoints", "init_checkpoint_states"]),
            (ppo_trainer_async, "GenerateSamplesActor", ["_run_eval"]),
            (ppo_trainer_async, "TrainingActor", ["fit", "save_logs_and_checkpoints", "init_checkpoint_states"])]
    for mod, cls_name, methods in need:
        actor = getattr(mod, cls_name, None)
        cls = getattr(actor, "__ray_actor_class__", None)
        if cls is None:
            problems.append(f"{mod.__name__}.{cls_name} is not a Ray actor class")
            continue
        problems += [f"{cls_name}.{m} is missing" for m in methods if not hasattr(cls, m)]
    if not hasattr(ppo_trainer, "compute_eval_metrics"):
        problems.append("ppo_trainer.compute_eval_metrics is missing")
    ev = getattr(getattr(ppo_trainer.PPOTrainer, "__ray_actor_class__", None), "evaluate", None)
    if ev is not None and list(inspect.signature(ev).parameters)[:2] != ["self", "global_step"]:
        problems.append(f"PPOTrainer.evaluate{inspect.signature(ev)} does not take (self, global_step, ...)")
    version = _version("openrlhf")
    if problems:
        raise UnsupportedOpenRLHFVersion(
            f"skillrl's OpenRLHF launcher supports openrlhf {SUPPORTED_OPENRLHF}; the installed {version} differs: "
            + "; ".join(problems))
    return version


def trainer_classes() -> dict[str, type]:
    """The plain (not yet ``ray.remote``) subclasses the launcher installs: ``"PPOTrainer"`` (sync),
    ``"GenerateSamplesActor"`` and ``"TrainingActor"`` (async). Imports OpenRLHF's trainer modules (they need
    ``vllm``)."""
    if "plain" in _CLASSES:
        return _CLASSES["plain"]
    try:
        check_openrlhf()
    except ModuleNotFoundError as err:  # vllm / flash_attn: OpenRLHF's trainer is GPU-only
        raise MissingDependencyError(err.name or "vllm", "openrlhf",
                                     "OpenRLHF's PPO trainer (the launcher's evaluation hook)") from err
    from openrlhf.trainer import ppo_trainer, ppo_trainer_async

    base_sync = ppo_trainer.PPOTrainer.__ray_actor_class__
    base_gen = ppo_trainer_async.GenerateSamplesActor.__ray_actor_class__
    base_train = ppo_trainer_async.TrainingActor.__ray_actor_class__

    class SkillRLPPOTrainer(_BankTrainerMixin, base_sync):  # type: ignore[valid-type, misc]
        """OpenRLHF's PPOTrainer with SkillRL evaluation hooks and bank snapshots."""

        def evaluate(self, global_step, **generate_kwargs):
            n = generate_kwargs.get("n_samples_per_prompt", self.args.eval.n_samples_per_prompt)
            logs = self._skillrl_evaluate(global_step, lambda: base_sync.evaluate(self, global_step, **generate_kwargs),
                                          self.samples_generator, self.eval_dataloader, n)
            _trainer_logging(self, global_step, {k: v for k, v in logs.items() if k.startswith("skillrl/")})
            return logs

        def save_logs_and_checkpoints(self, global_step, logs_dict=None, client_states=None):
            if logs_dict is not None:
                logs_dict.update(self._skillrl_bank().call_sync("metrics"))
            base_sync.save_logs_and_checkpoints(self, global_step, logs_dict, client_states)
            if global_step % self.args.ckpt.save_steps == 0:
                self._skillrl_snapshot(global_step)

        def init_checkpoint_states(self):
            states = base_sync.init_checkpoint_states(self)
            if int(states.get("global_step", 0) or 0) > 0:
                self._skillrl_restore(int(states["global_step"]))
            return states

        def fit(self, global_step: int = 0) -> None:
            base_sync.fit(self, global_step)
            self._skillrl_save_final()

    class SkillRLGenerateSamplesActor(_BankTrainerMixin, base_gen):  # type: ignore[valid-type, misc]
        """OpenRLHF's async GenerateSamplesActor whose evaluation closes the SkillRL validation."""

        def _run_eval(self):
            step = int(self._last_eval_step)
            return self._skillrl_evaluate(step, lambda: base_gen._run_eval(self), self.samples_generator,
                                          self.eval_dataloader, self.args.eval.n_samples_per_prompt)

    class SkillRLTrainingActor(_BankTrainerMixin, base_train):  # type: ignore[valid-type, misc]
        """OpenRLHF's async TrainingActor with bank snapshots."""

        def save_logs_and_checkpoints(self, global_step, logs_dict=None, client_states=None):
            if logs_dict is not None:
                logs_dict.update(self._skillrl_bank().call_sync("metrics"))
            base_train.save_logs_and_checkpoints(self, global_step, logs_dict, client_states)
            if global_step % self.args.ckpt.save_steps == 0:
                self._skillrl_snapshot(global_step)

        def init_checkpoint_states(self):
            states = base_train.init_checkpoint_states(self)
            if int(states.get("global_step", 0) or 0) > 0:
                self._skillrl_restore(int(states["global_step"]))
            return states

        def fit(self, global_step: int = 0) -> None:
            base_train.fit(self, global_step)
            self._skillrl_save_final()

    _CLASSES["plain"] = {"PPOTrainer": SkillRLPPOTrainer, "GenerateSamplesActor": SkillRLGenerateSamplesActor,
                         "TrainingActor": SkillRLTrainingActor}
    return _CLASSES["plain"]


def install() -> dict[str, Any]:
    """Swap the SkillRL trainer classes into OpenRLHF's modules (``ppo_trainer.PPOTrainer``,
    ``ppo_trainer_async.GenerateSamplesActor`` / ``TrainingActor``) as Ray actor classes with the originals'
    options. ``train_ppo_ray.train`` imports ``PPOTrainer`` / ``PPOTrainerAsync`` when it runs, and
    ``PPOTrainerAsync`` looks its two actor classes up in its module, so both paths get them. Idempotent."""
    from openrlhf.trainer import ppo_trainer, ppo_trainer_async

    plain = trainer_classes()
    installed = {}
    for mod, name in ((ppo_trainer, "PPOTrainer"), (ppo_trainer_async, "GenerateSamplesActor"),
                      (ppo_trainer_async, "TrainingActor")):
        current = getattr(mod, name)
        if getattr(current, "__ray_actor_class__", None) is not None and \
                issubclass(current.__ray_actor_class__, plain[name]):
            installed[name] = current
            continue
        options = dict(getattr(current, "_default_options", {}) or {})
        remote = ray.remote(**options)(plain[name]) if options else ray.remote(plain[name])
        setattr(mod, name, remote)
        installed[name] = remote
    return installed


# ====================================================================================== the launcher

# the runtime_env train_ppo_ray.train() gives ray.init (it skips its own ray.init when Ray is already up)
_OPENRLHF_ENV_DEFAULTS = {"TOKENIZERS_PARALLELISM": "true", "NCCL_DEBUG": "WARN",
                          "RAY_ENABLE_ZERO_COPY_TORCH_TENSORS": "1"}


def split_skillrl_args(argv: Sequence[str]) -> tuple[dict[str, str], list[str]]:
    """Separate ``--skillrl.<field> VALUE`` / ``--skillrl.<field>=VALUE`` options from OpenRLHF's arguments.

    Raises:
        OpenRLHFConfigError: an unknown field or a missing value.
    """
    fields = set(SkillRLConfig.model_fields) | {"config"}
    ours: dict[str, str] = {}
    rest: list[str] = []
    i = 0
    argv = list(argv)
    while i < len(argv):
        arg = argv[i]
        if arg.startswith("--skillrl."):
            key, eq, value = arg[len("--skillrl."):].partition("=")
            key = key.replace("-", "_")
            if key not in fields:
                raise OpenRLHFConfigError(f"unknown option --skillrl.{key}; known: "
                                          + ", ".join(f"--skillrl.{f}" for f in sorted(fields)))
            if not eq:
                if key == "detached" and (i + 1 >= len(argv) or argv[i + 1].startswith("--")):
                    value = "true"
                else:
                    if i + 1 >= len(argv):
                        raise OpenRLHFConfigError(f"--skillrl.{key} needs a value")
                    i += 1
                    value = argv[i]
            ours[key] = value
        else:
            rest.append(arg)
        i += 1
    return ours, rest


def main(argv: Sequence[str] | None = None) -> None:
    """``python -m skillrl.adapters.openrlhf [--skillrl.<field> VALUE ...] <openrlhf.cli.train_ppo_ray arguments>``.

    ``--skillrl.*`` options (``bank``, ``profile``, ``mode``, ``teacher``, ``config``, ... see
    :class:`SkillRLConfig`) become ``SKILLRL_*`` variables; everything else goes to OpenRLHF unchanged. The launcher
    initialises Ray with OpenRLHF's own ``runtime_env`` plus the ``SKILLRL_*`` variables (so every worker sees the
    same configuration), creates the bank actor, installs the trainer classes (:func:`install`) and runs
    ``openrlhf.cli.train_ppo_ray`` as ``__main__``.
    """
    import runpy

    argv = list(sys.argv[1:] if argv is None else argv)
    ours, rest = split_skillrl_args(argv)
    for key, value in ours.items():
        os.environ[ENV_PREFIX + key.upper()] = value
    if any(a in ("-h", "--help") for a in rest):
        print(__doc__.split("\n\n")[0] + "\n\nSkillRL options: " + ", ".join(
            f"--skillrl.{f}" for f in ["config", *SkillRLConfig.model_fields]) + "\n\nOpenRLHF's options follow.\n")
    else:
        config = SkillRLConfig.from_env()
        if not config.bank:
            raise OpenRLHFConfigError("no skill bank: pass --skillrl.bank PATH (or set SKILLRL_BANK / SKILLRL_CONFIG)")
        if not ray.is_initialized():
            env = {k: os.environ.get(k, v) for k, v in _OPENRLHF_ENV_DEFAULTS.items()}
            env.update({k: v for k, v in os.environ.items() if k.startswith(ENV_PREFIX)})
            ray.init(runtime_env={"env_vars": env})
        get_bank_actor(config)
        install()
    sys.argv = ["openrlhf.cli.train_ppo_ray", *rest]
    runpy.run_module("openrlhf.cli.train_ppo_ray", run_name="__main__", alter_sys=True)


if __name__ == "__main__":  # pragma: no cover - exercised by users on GPU machines
    # Run the imported module's main, not this ``__main__`` copy: the trainer classes Ray pickles must reference
    # ``skillrl.adapters.openrlhf`` by name (a ``__main__`` module would be pickled by value, locks and all).
    from skillrl.adapters.openrlhf import main as _main

    _main()
