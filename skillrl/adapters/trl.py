"""``SkillCallback``: SkillRL for TRL's ``GRPOTrainer`` with one added line.

    trainer = GRPOTrainer(model=..., reward_funcs=..., args=GRPOConfig(...), train_dataset=..., eval_dataset=...)
    trainer.add_callback(SkillCallback(trainer, bank="skills.json", profile="alfworld", teacher="offline"))
    trainer.train()

What it does, and the TRL 1.16 internals it relies on (``trl/trainer/grpo_trainer.py``):

* **Skills in every rollout prompt.** TRL has no public hook that rewrites prompts per rollout, so the callback
  wraps the trainer's ``_generate_and_score_completions(inputs)`` (train and eval both pass through it) and
  rewrites each row's ``"prompt"`` before generation. Prompts are built on the trainer side for every generation
  backend (transformers, vLLM server and colocate), so the skills reach all of them. Identical prompts (the G
  copies of a GRPO group, which ``RepeatSampler`` places in a row) get the identical block, and the bank only
  changes between generation batches (evolution runs in ``on_evaluate``).
* **What reward functions see.** It wraps ``_calculate_rewards(inputs, prompts, completions, completion_ids_list)``:
  by default reward functions get the prompt *without* the skill block (``reward_prompt="original"``; reward
  models must not score our text), or the augmented one (``"augmented"``). They also get the injected ids as the
  ``skill_ids`` column (so an ``environment_factory``'s ``reset(**row)`` should accept ``**kwargs``).
* **Episodes.** The same wrapper reads the gathered rewards and records this rank's scored episodes (prompt,
  completion, reward = weighted sum of reward functions, category, injected skill ids, train/eval).
* **Evolution.** ``on_evaluate``: the ranks' eval episodes are gathered (``accelerate.utils.gather_object``),
  the main process evolves the bank, and the new bank is broadcast (``broadcast_object_list``) so every rank holds
  the same version (with the usage statistics of every rank's episodes, :mod:`skillrl.utility`).
* **Several evaluation datasets.** With a dict ``eval_dataset``, ``Trainer.evaluate`` calls itself once per dataset
  with ``metric_key_prefix=f"eval_{name}"`` and ``on_evaluate`` fires per dataset. The callback wraps
  ``trainer.evaluate`` to know which one is running: eval episodes are recorded under ``split=name`` (one dataset:
  ``eval_split``), validation logs go under ``eval_<name>_skills/...`` (one dataset: ``eval_skills/...``), and the
  bank evolves at most once per evaluation round, when the round ends (every dataset of the round is scored with the
  same bank): from ``config.evolve_split`` when set (no evolution when the round has no such dataset), else from the
  round's first dataset, with a warning that evolution then learns from a split it also scores.
* **Skill ablation** (``config.ablation > 0``, :mod:`skillrl.utility`): the group key is ``"<split>:<step>"``, passed
  on both paths (the prompt path's G identical prompts, and each environment ``reset()`` one prompt at a time), so
  every copy of a group, on every rank, gets the same block.
* **Logging.** Per-batch numbers go into the trainer's own metric buffer (``trainer._metrics[mode]``), so they
  appear in every log line and reach W&B / TensorBoard through ``report_to``: ``skills/bank_size``,
  ``skills/injected_per_prompt``, ``skills/tokens_per_prompt``, ... ; evolution results and per-category
  validation success are logged with ``trainer.log`` after each evaluation.
* **Checkpoints.** ``on_save`` writes the bank into ``checkpoint-N/skillrl/``; resuming with
  ``trainer.train(resume_from_checkpoint=...)`` restores it (the callback wraps ``_load_from_checkpoint`` to learn
  the path, and falls back to ``output_dir/checkpoint-<global_step>``).

The private methods are checked at construction: a TRL without them (or with other signatures) raises
:class:`UnsupportedTRLVersion` naming the supported range.
"""

from __future__ import annotations

import dataclasses
import inspect
import logging
import os
from pathlib import Path
from typing import Any, Literal, Sequence

from skillrl.actions import parse_reply
from skillrl.config import SkillConfig
from skillrl.episode import Episode, Step
from skillrl.errors import ConfigError, MissingDependencyError, SkillRLError
from skillrl.plugins import prompt_text
from skillrl.render import remove_block
from skillrl.runtime import BANK_FILE, METRIC_PREFIX, SkillRuntime

logger = logging.getLogger("skillrl.trl")

SUPPORTED_TRL = ">=1.16,<1.17"
CHECKPOINT_SUBDIR = "skillrl"
_REQUIRED = {
    "_generate_and_score_completions": ["inputs"],
    "_calculate_rewards": ["inputs", "prompts", "completions", "completion_ids_list"],
}


class UnsupportedTRLVersion(SkillRLError, RuntimeError):
    """The installed TRL lacks the trainer internals SkillCallback wraps."""


try:  # this adapter module needs its framework; ``import skillrl`` alone does not import it
    import trl
    from transformers import TrainerCallback
except ImportError as _err:  # pragma: no cover - depends on the environment
    raise MissingDependencyError("trl", "trl", "skillrl.adapters.trl (SkillCallback)") from _err


def check_trainer(trainer: Any) -> str:
    """Check that ``trainer`` has the private methods SkillCallback wraps, with the expected parameters.

    Returns the TRL version. Raises :class:`UnsupportedTRLVersion` otherwise (the message names the supported
    range and what is missing).
    """
    version = getattr(trl, "__version__", "unknown")
    problems = []
    for name, params in _REQUIRED.items():
        fn = getattr(trainer, name, None)
        if fn is None:
            problems.append(f"{type(trainer).__name__}.{name} is missing")
            continue
        got = list(inspect.signature(fn).parameters)
        if got[: len(params)] != params:
            problems.append(f"{name}{tuple(got)} does not take {tuple(params)}")
    if problems:
        raise UnsupportedTRLVersion(
            f"SkillCallback supports TRL {SUPPORTED_TRL} (GRPOTrainer); the installed TRL {version} differs: "
            + "; ".join(problems) + ". Install a supported version: pip install 'trl" + SUPPORTED_TRL + "'")
    from packaging.version import Version

    if not Version("1.16") <= Version(version.split("+")[0]) < Version("1.17"):
        logger.warning("skillrl: SkillCallback was tested with TRL %s; you have %s (the wrapped methods are present, "
                       "continuing)", SUPPORTED_TRL, version)
    return version


def completion_steps(completion: Any) -> list[Step]:
    """A TRL completion as episode steps: text -> one step; a conversation -> one step per assistant message, the
    following tool/user message(s) as its observation. An assistant message that calls the ``step`` tool or carries
    an ``<action>`` tag (the ALFWorld action protocol, :func:`skillrl.actions.parse_reply`) is recorded as its
    command, with its reasoning and the raw reply (``Step.reasoning``, extra field ``raw``)."""
    if isinstance(completion, str):
        return [Step(action=completion)]
    steps: list[Step] = []
    for m in completion or []:
        role = m.get("role")
        content = m.get("content") or ""
        if isinstance(content, list):
            content = " ".join(p.get("text", "") for p in content if isinstance(p, dict))
        if role == "assistant":
            calls = m.get("tool_calls") or []
            action = content or "; ".join(
                f"{c.get('function', {}).get('name')}({c.get('function', {}).get('arguments')})" for c in calls)
            parsed = parse_reply(m)  # the action protocol's one parser: a step call or an <action> tag is a command
            if parsed.form in ("tool_call", "action_tag"):
                steps.append(Step(action=parsed.command, reasoning=parsed.reasoning, raw=parsed.raw))
                continue
            steps.append(Step(action=str(action)))
        elif steps:
            obs = steps[-1].observation
            steps[-1] = steps[-1].model_copy(update={"observation": (obs + "\n" if obs else "") + str(content)})
    return steps


class SkillCallback(TrainerCallback):
    """Skills in GRPO rollouts, evolution at each evaluation, the bank in every checkpoint.

    Args:
        trainer: the ``trl.GRPOTrainer`` (callbacks do not receive it, so like TRL's own
            ``LogCompletionsCallback`` it is passed here).
        bank: a :class:`skillrl.bank.SkillBank`, or a path to one; ignored when ``runtime`` is given.
        runtime: a ready :class:`SkillRuntime` (otherwise one is built from ``bank``, ``config`` and ``settings``).
        config: a :class:`skillrl.config.SkillConfig` (the same object every adapter takes; default: its defaults).
        reward_prompt: ``"original"`` (default) - reward functions see the prompt without skills; ``"augmented"``
            - with them.
        skill_ids_column: name of the column carrying the injected skill ids to reward functions (``None``: no
            column).
        eval_split: the split name eval episodes are recorded under with one eval dataset (default
            ``"validation"``); with a dict of eval datasets each dataset's name is its split.
        log_prefix: prefix of logged metric names (default :data:`skillrl.runtime.METRIC_PREFIX`, ``"skills/"``);
            what is logged after an evaluation gets TRL's ``eval_`` prefix in front, so dashboards show it beside
            ``eval_reward``.
        **settings: :class:`~skillrl.config.SkillConfig` fields (``mode``, ``profile``, ``teacher``, ``evolution``,
            ``top_k``, ``task_source``, ``success_threshold``, ...) and the runtime's own keywords (``output_dir``,
            ``plugins``, ``tokenizer``). ``success_threshold``: an episode counts as a success when its reward
            (weighted sum over reward functions) is at least this.

    Where the task comes from (``config.task_source``): with a ``task`` column (``config.task_field``) the skills are
    retrieved for it and put into the prompt before generation. Without one, when the trainer has an
    ``environment_factory`` (multi-turn), the skills are retrieved for the task the environment states: each
    environment's ``reset(**row)`` is wrapped, the block is retrieved for the observation it returns (the goal after
    "Your task is to:") and placed in that observation (before it for ``user_prefix``, after it for ``user_suffix``),
    which TRL appends to the last user message. The G copies of a group reset to the same task and so get the same
    block. Otherwise the prompt's own text is used.

    Raises:
        UnsupportedTRLVersion: the trainer lacks the wrapped internals.
        MissingDependencyError: TRL is not installed (``pip install -e '.[trl]'``).
        ConfigError: an unknown setting or an invalid value.
    """

    def __init__(self, trainer: Any, bank: Any = None, *, runtime: SkillRuntime | None = None,
                 config: SkillConfig | None = None, reward_prompt: Literal["original", "augmented"] = "original",
                 skill_ids_column: str | None = "skill_ids", eval_split: str = "validation",
                 log_prefix: str = METRIC_PREFIX, **settings: Any) -> None:
        self.trl_version = check_trainer(trainer)
        if reward_prompt not in ("original", "augmented"):
            raise ConfigError(f"reward_prompt must be 'original' or 'augmented', got {reward_prompt!r}")
        if runtime is None:
            if bank is None:
                raise ConfigError("SkillCallback needs a bank (SkillBank or path) or a runtime")
            settings.setdefault("tokenizer", getattr(trainer, "processing_class", None))
            runtime = SkillRuntime(bank, config, **settings)
        elif config is not None or settings:
            raise ConfigError("pass settings to the SkillRuntime you give (runtime=...), not to SkillCallback: "
                              f"got {sorted(settings) + (['config'] if config is not None else [])}")
        self.runtime = runtime
        self.trainer = trainer
        self.reward_prompt = reward_prompt
        self.skill_ids_column = skill_ids_column
        self.eval_split = eval_split
        self.log_prefix = log_prefix
        self._batch: list[Any] = []  # Augmentations of the batch being scored
        self._env_batch = False  # this batch's skills come from the environments' reset()
        self._resume_dir: str | None = None
        self.last_error: str | None = None  # why the last evolution failed on the main process (all ranks see it)
        self.episodes_seen = {"train": 0, eval_split: 0}
        self.injection_log: list[dict[str, Any]] = []  # per generation batch: mode, prompts, min/mean skills
        self._eval_stack: list[str] = []  # metric_key_prefix of the evaluate() calls running (outer first)
        self._round: list[tuple[str, str, list[Episode]]] | None = None  # (split, prefix, episodes) this round
        self.evaluation_rounds: list[dict[str, Any]] = []  # per round: step, splits, which one evolved
        self._warned: set[str] = set()
        self._wrap(trainer)

    @property
    def success_threshold(self) -> float:
        """Reward at or above which an episode counts as a success (``runtime.config.success_threshold``)."""
        return self.runtime.success_threshold

    # ------------------------------------------------------------------ wrapping the trainer
    def _wrap(self, trainer: Any) -> None:
        if getattr(trainer, "_skillrl_callback", None) is not None:
            raise SkillRLError("this trainer already has a SkillCallback; add only one")
        trainer._skillrl_callback = self
        generate = trainer._generate_and_score_completions
        rewards = trainer._calculate_rewards

        def _generate_and_score_completions(inputs: list[dict[str, Any]]) -> Any:
            return generate(self._augment_inputs(inputs))

        def _calculate_rewards(inputs, prompts, completions, completion_ids_list):  # noqa: ANN001
            if self._env_batch:
                self._batch = [getattr(env, "_skillrl_augmentation", None) for env in (trainer.environments or [])]
                if len(self._batch) != len(completions) or any(a is None for a in self._batch):
                    logger.warning("skillrl: the environments' augmentations do not match this batch; no episodes "
                                   "are recorded for it")
                    self._batch = []
                elif self.skill_ids_column:
                    inputs = [{**x, self.skill_ids_column: list(a.skill_ids)} for x, a in zip(inputs, self._batch)]
            shown = prompts
            if self.reward_prompt == "original" and self._batch:
                shown = [remove_block(p, a.block.text) if a.block.text else p for p, a in zip(prompts, self._batch)]
            rewards_per_func = rewards(inputs, shown, completions, completion_ids_list)
            try:
                self._record(prompts, completions, rewards_per_func)
            except Exception:  # noqa: BLE001 - bookkeeping must never break training
                logger.exception("skillrl: could not record episodes for this batch")
            return rewards_per_func

        trainer._generate_and_score_completions = _generate_and_score_completions
        trainer._calculate_rewards = _calculate_rewards
        self._wrap_environments(trainer)
        self._wrap_evaluate(trainer)
        if hasattr(trainer, "_load_from_checkpoint"):
            load = trainer._load_from_checkpoint

            def _load_from_checkpoint(resume_from_checkpoint, *args, **kwargs):  # noqa: ANN001
                self._resume_dir = str(resume_from_checkpoint)
                return load(resume_from_checkpoint, *args, **kwargs)

            trainer._load_from_checkpoint = _load_from_checkpoint

    def _wrap_evaluate(self, trainer: Any) -> None:
        """Wrap ``trainer.evaluate`` (an instance attribute, so ``Trainer.evaluate``'s own per-dataset recursion goes
        through it too) to know each dataset's ``metric_key_prefix`` and to close the evaluation round at the end of
        the outermost call."""
        evaluate = getattr(trainer, "evaluate", None)
        if evaluate is None:
            return
        try:
            signature = inspect.signature(evaluate)
        except (TypeError, ValueError):  # pragma: no cover - a C callable
            signature = None

        def _evaluate(*args: Any, **kwargs: Any) -> Any:
            prefix = "eval"
            if signature is not None:
                try:
                    prefix = str(signature.bind(*args, **kwargs).arguments.get("metric_key_prefix", "eval"))
                except TypeError:
                    pass
            outer = not self._eval_stack
            if outer:
                self._round = []
            self._eval_stack.append(prefix)
            try:
                result = evaluate(*args, **kwargs)
            finally:
                self._eval_stack.pop()
                items = self._round if outer else None
                if outer:
                    self._round = None
            if items:
                self._close_round(int(self.trainer.state.global_step), items)
            return result

        trainer.evaluate = _evaluate

    def _current_eval(self) -> tuple[str, str]:
        """``(split, metric prefix)`` of the evaluation running: the dataset's name and ``eval_<name>`` inside a
        dict evaluation, else ``eval_split`` and the call's prefix (``eval``)."""
        stack = self._eval_stack
        if len(stack) >= 2:
            outer, inner = stack[0], stack[-1]
            return (inner[len(outer) + 1:] if inner.startswith(outer + "_") else inner) or self.eval_split, inner
        return self.eval_split, stack[0] if stack else "eval"

    def _split(self) -> str:
        return "train" if self._mode == "train" else self._current_eval()[0]

    def _group_key(self, split: str) -> str:
        return f"{split}:{int(self.trainer.state.global_step)}"

    def _wrap_environments(self, trainer: Any) -> None:
        """Wrap ``reset`` of every environment instance, present (TRL's pool) and future (its factories)."""
        factories = getattr(trainer, "environment_factories", None)
        if not factories or self.runtime.config.task_source in ("row", "prompt"):
            return
        for pool in getattr(trainer, "_environment_pool", {}).values():
            for env in pool:
                self._wrap_environment(env)

        def wrapped(factory: Any) -> Any:
            def make() -> Any:
                return self._wrap_environment(factory())
            return make

        trainer.environment_factories = {name: wrapped(f) for name, f in factories.items()}

    def _wrap_environment(self, env: Any) -> Any:
        if getattr(env, "_skillrl_reset", None) is not None:
            return env
        original = env.reset
        env._skillrl_reset = original

        def reset(**row: Any) -> Any:
            observation = original(**row)
            if not self._env_batch:
                return observation
            aug = self._augment_observation(observation, row)
            env._skillrl_augmentation = aug
            return aug.prompt if isinstance(observation, str) or observation is None else observation

        env.reset = reset
        return env

    def _augment_observation(self, observation: Any, row: dict[str, Any]) -> Any:
        """The skills for the task an environment's first observation states, placed in that observation."""
        text = observation if isinstance(observation, str) else prompt_text(
            [{"role": "user", "content": observation}]) if observation is not None else ""
        placement = self.runtime.placement if self.runtime.placement != "system" else "user_prefix"
        split = self._split()
        aug = self.runtime.augment([text], rows=[{k: v for k, v in row.items() if k != self.runtime.task_field}],
                                   track=False, group_key=self._group_key(split), split=split)[0]
        if isinstance(observation, str) and aug.block.text:
            from skillrl.render import inject

            body = observation.lstrip()  # keep the environment's own leading separator in front
            lead = observation[: len(observation) - len(body)] or "\n\n"
            aug = dataclasses.replace(aug, prompt=lead + inject(body, aug.block.text, placement=placement))
        return aug

    def _uses_environment(self, inputs: list[dict[str, Any]]) -> bool:
        source = self.runtime.config.task_source
        if not getattr(self.trainer, "environment_factories", None) or source in ("row", "prompt"):
            return False
        if source == "environment":
            return True
        field = self.runtime.task_field
        return not (field and all(isinstance(x.get(field), str) and x[field].strip() for x in inputs))

    @property
    def _mode(self) -> str:
        return "train" if self.trainer.model.training else "eval"

    def _augment_inputs(self, inputs: list[dict[str, Any]]) -> list[dict[str, Any]]:
        self._env_batch = self._uses_environment(inputs)
        if self._env_batch:
            self._batch = []  # filled from the environments after their reset()
            self.injection_log.append({"step": int(self.trainer.state.global_step), "mode": self._mode,
                                       "prompts": len(inputs), "source": "environment",
                                       "bank_version": self.runtime.bank.version})
            return inputs
        prompts = [x.get("prompt", [{"role": "user", "content": ""}]) for x in inputs]
        split = self._split()
        augs = self.runtime.augment(prompts, rows=inputs, group_key=self._group_key(split), split=split)
        self._batch = augs
        out = []
        for x, a in zip(inputs, augs):
            row = {**x, "prompt": a.prompt}
            if self.skill_ids_column:
                row[self.skill_ids_column] = list(a.skill_ids)
            out.append(row)
        self._log_batch(augs)
        return out

    def _log_batch(self, augs: Sequence[Any]) -> None:
        counts = [len(a.skill_ids) for a in augs]
        entry = {"step": int(self.trainer.state.global_step), "mode": self._mode, "prompts": len(augs),
                 "min_skills": min(counts, default=0), "mean_skills": sum(counts) / max(len(counts), 1),
                 "bank_version": self.runtime.bank.version}
        if self.injection_log and self.injection_log[-1].get("source") == "environment" and \
                self.injection_log[-1]["step"] == entry["step"]:
            self.injection_log[-1].update(entry)
        else:
            self.injection_log.append(entry)
        metrics = getattr(self.trainer, "_metrics", None)
        if metrics is not None:
            for k, v in self.runtime.metrics(prefix=self.log_prefix).items():
                if "/evolution/" not in k:
                    metrics[self._mode][k].append(v)

    def _record(self, prompts: Sequence[Any], completions: Sequence[Any], rewards_per_func: Any) -> None:
        if not self._batch or len(self._batch) != len(completions):
            return
        if self._env_batch:
            self.runtime.note_batch(self._batch)
            self._log_batch(self._batch)
        n = len(completions)
        rank = int(getattr(self.trainer.accelerator, "process_index", 0))
        local = rewards_per_func[rank * n:(rank + 1) * n]
        weights = self.trainer.reward_weights.to(local.device)
        rewards = (local * weights.unsqueeze(0)).nansum(dim=1).tolist()
        split = self._split()
        step = int(self.trainer.state.global_step)
        episodes = []
        for i, (a, completion, reward) in enumerate(zip(self._batch, completions, rewards)):
            k = self.episodes_seen.get(split, 0) + i
            episodes.append(self.runtime.episode(
                augmentation=a, steps=completion_steps(completion), reward=float(reward),
                success=float(reward) >= self.success_threshold, source="trl", split=split, step=step,
                episode_id=f"{split}-s{step}-r{rank}-{k}"))
        self.episodes_seen[split] = self.episodes_seen.get(split, 0) + n
        self.runtime.record(episodes, split=split)
        self._batch = []

    # ------------------------------------------------------------------ callback events
    def on_evaluate(self, args: Any, state: Any, control: Any, metrics: dict[str, float] | None = None,
                    **kwargs: Any) -> None:
        """Gather this dataset's eval episodes from the ranks; within an evaluation round (``trainer.evaluate``),
        keep them until the round ends, else close it now: success rates per dataset, evolution from one of them on
        the main process, the bank broadcast to every rank, the outcome logged."""
        acc = self.trainer.accelerator
        split, prefix = self._current_eval()
        local = self.runtime.take_pending(split)
        episodes = local
        if acc.num_processes > 1:
            from accelerate.utils import gather_object

            episodes = [Episode.model_validate(e) for e in gather_object([e.model_dump() for e in local])]
        if self._round is not None:
            self._round.append((split, prefix, episodes))
            return
        self._close_round(int(state.global_step), [(split, prefix, episodes)])

    def _evolving_split(self, names: Sequence[str]) -> str | None:
        """The split of this round that may evolve the bank (see the module docstring)."""
        wanted = self.runtime.evolve_split
        if wanted is not None:
            if wanted not in names and len(names) > 1 and "missing" not in self._warned:
                self._warned.add("missing")
                logger.warning("skillrl: evolve_split=%r is none of the evaluation datasets %s: the bank does not "
                               "evolve", wanted, list(names))
            return wanted if wanted in names else None
        if len(names) > 1 and "leak" not in self._warned:
            self._warned.add("leak")
            logger.warning("skillrl: %d evaluation datasets and evolve_split=None: the bank evolves once per round "
                           "from the first, %r, which is also scored, so its score includes test-time learning; set "
                           "evolve_split to a held-out split that is not reported", len(names), names[0])
        return names[0] if names else None

    def _close_round(self, step: int, items: list[tuple[str, str, list[Episode]]]) -> None:
        """One evaluation round: per dataset the validation (success rates, logs under its prefix), evolution at most
        once (the evolving dataset is closed last), the bank and usage statistics synchronised across ranks."""
        from skillrl.utility import UsageStats

        acc = self.trainer.accelerator
        chosen = self._evolving_split([s for s, _p, _e in items])
        deltas: list[Any] = []
        delta = self.runtime.take_usage_delta()  # this rank's usage since the last round
        if acc.num_processes > 1:
            from accelerate.utils import gather_object

            deltas = gather_object([delta.to_native()])
        report, error = None, None
        logs: dict[str, float] = {}
        failed_prefix = "eval"
        if acc.is_main_process:
            for rank, d in enumerate(deltas):
                if rank != acc.process_index:
                    self.runtime.merge_usage(UsageStats.from_native(d))
            before = self.runtime.state_dict()
            try:
                for split, prefix, episodes in sorted(items, key=lambda it: it[0] == chosen):  # stable: others first
                    evolve = split == chosen
                    out = self.runtime.after_validation(step, split=split, episodes=episodes, evolve=evolve)
                    if evolve:
                        report, failed_prefix = out, prefix
                    logs.update({f"{prefix}_{k}": v for k, v in
                                 self.runtime.validation_logs(prefix=self.log_prefix, step=step).items()})
            except Exception as err:  # noqa: BLE001 - a plugin or a disk write failed: every rank keeps the old bank
                error = f"{type(err).__name__}: {err}"
                logger.exception("skillrl: evolution after the evaluation at step %d failed; every rank keeps bank "
                                 "v%d", step, before["bank"]["version"])
                try:
                    self.runtime.load_state_dict(before)  # the bank is back before any hook runs
                except Exception:  # noqa: BLE001 - a bank_changed plugin failing again must not skip the broadcast
                    logger.exception("skillrl: a plugin failed again while the previous bank was restored")
        if acc.num_processes > 1:
            from accelerate.utils import broadcast_object_list

            # always reached, also after a failure on the main process, so no rank waits for a collective that
            # never comes; the payload is the bank every rank must hold
            payload = [(self.runtime.state_dict(), error) if acc.is_main_process else None]
            broadcast_object_list(payload, from_process=0)
            state_dict, error = payload[0]
            if not acc.is_main_process:
                self.runtime.load_state_dict(state_dict)
        self.last_error = error
        self.evaluation_rounds.append({"step": step, "splits": [s for s, _p, _e in items], "evolved": chosen,
                                       "changed": bool(report is not None and report.changed)})
        if error is not None:
            logs[f"{failed_prefix}_{self.log_prefix}evolution/failed"] = 1.0
        if report is not None:
            logger.info("skillrl: %s", report.summary())
        if acc.is_main_process:
            # "eval_" first: Trainer.log and the TensorBoard / W&B callbacks file these under eval/, beside eval_reward
            self.trainer.log(logs)

    def on_save(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        """Write the bank and evolution state into the checkpoint just saved (``checkpoint-N/skillrl/``)."""
        if not state.is_world_process_zero:
            return
        ckpt = Path(args.output_dir) / f"checkpoint-{state.global_step}"
        self.runtime.save(ckpt / CHECKPOINT_SUBDIR)

    def on_train_begin(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        """On resume, load the bank saved with the checkpoint, so the run continues with the same bank version."""
        candidates = [self._resume_dir] if self._resume_dir else []
        if state.global_step > 0:
            candidates.append(os.path.join(args.output_dir, f"checkpoint-{state.global_step}"))
        for c in candidates:
            if c and (Path(c) / CHECKPOINT_SUBDIR / BANK_FILE).exists():
                self.runtime.load(Path(c) / CHECKPOINT_SUBDIR)
                logger.info("skillrl: restored skill bank v%d from %s", self.runtime.bank.version, c)
                return
        if state.global_step > 0:
            logger.warning("skillrl: resuming at step %d but no skill bank was found in the checkpoint; keeping the "
                           "bank given to SkillCallback", state.global_step)
