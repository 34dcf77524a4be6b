"""The trainer's side: subclasses of OpenRLHF's trainer Ray actor classes (OpenRLHF has no callbacks) that close
a SkillRL validation after each evaluation and keep a bank snapshot beside each checkpoint, and :func:`install`,
which swaps them into OpenRLHF's modules.

* sync (``openrlhf/trainer/ppo_trainer.py``): ``PPOTrainer.__ray_actor_class__`` with ``evaluate(global_step,
  **generate_kwargs)`` extended: the eval samples returned by ``samples_generator.generate_eval_samples`` (each an
  ``Experience`` with ``prompts``, ``labels``, ``rewards``) are kept, OpenRLHF's own ``compute_eval_metrics`` runs
  as before, then the bank closes the validation (per-category success, evolution) and the result is logged
  (:meth:`SkillBankService.validation_logs`, names under ``skills/``);
* async (``--train.async_enable``, ``openrlhf/trainer/ppo_trainer_async.py``): the same around
  ``GenerateSamplesActor._run_eval`` (eval runs there, between generation batches, under the vLLM lock);
  ``TrainingActor`` gets the checkpoint part;
* checkpoints: ``save_logs_and_checkpoints`` also has the bank write its state (:meth:`SkillRuntime.save`) to
  ``<ckpt.path>/_skillrl/global_step<N>/`` (beside DeepSpeed's ``<ckpt.path>/_actor/global_step<N>``);
  ``init_checkpoint_states`` (resume) loads the snapshot of the restored step (:meth:`SkillRuntime.load`); after
  ``fit`` the final bank goes to ``<ckpt.output_dir>/skillrl/``. Snapshots are rewritten after each evaluation's
  evolution so a resume continues with the evolved bank.

Checked against openrlhf 0.11.2 (:func:`check_openrlhf` verifies the methods it overrides).
"""

from __future__ import annotations

import inspect
import logging
import os
import re
import shutil
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import ray

from skillrl.adapters.openrlhf.service import BankClient, _jsonable, _newer_snapshot, get_bank_actor
from skillrl.errors import MissingDependencyError, SkillRLError
from skillrl.runtime import BANK_FILE, METRIC_PREFIX

logger = logging.getLogger("skillrl.openrlhf")

__all__ = ["UnsupportedOpenRLHFVersion", "check_openrlhf", "install", "read_snapshot", "trainer_classes",
           "write_snapshot"]

SUPPORTED_OPENRLHF = ">=0.11,<0.12"
SNAPSHOT_DIR = "_skillrl"
"""Folder of the per-step bank snapshots inside ``--ckpt.path``."""
FINAL_DIR = "skillrl"
"""Folder of the final bank inside ``--ckpt.output_dir``."""


class UnsupportedOpenRLHFVersion(SkillRLError, RuntimeError):
    """The installed OpenRLHF lacks the trainer internals the launcher extends."""


# ====================================================================================== snapshots


def _state_runtime() -> Any:
    """A bare runtime (empty bank, no plugins from entry points): the vehicle of :meth:`SkillRuntime.save` /
    :meth:`SkillRuntime.load` for a state that lives elsewhere."""
    from skillrl.bank import SkillBank
    from skillrl.runtime import SkillRuntime

    return SkillRuntime(SkillBank(), load_entry_points=False)


def write_snapshot(directory: str | os.PathLike[str], state: dict[str, Any]) -> Path | None:
    """Write a bank state (:meth:`SkillBankService.state_dict`) into ``directory`` with :meth:`SkillRuntime.save`
    (``skill_bank.json`` + ``skillrl_state.json``). A snapshot already there with a newer bank version is kept
    (the bank only moves forward). The trainer classes have the bank actor write its own state instead
    (:meth:`SkillBankService.save`); this is for a state dict you hold.

    Returns:
        ``directory``, or ``None`` when it kept the newer one.

    Raises:
        BankFormatError: ``state["bank"]`` is not a bank.
    """
    if _newer_snapshot(directory, int(state["bank"].get("version", 0))):
        return None
    rt = _state_runtime()
    rt.load_state_dict(state)
    return rt.save(directory)


def read_snapshot(directory: str | os.PathLike[str]) -> dict[str, Any]:
    """The state a snapshot directory holds (:meth:`SkillRuntime.load`, then :meth:`SkillRuntime.state_dict`):
    ``{"bank", "reports", "validations", "extra"}``.

    Raises:
        FileNotFoundError: the directory has no ``skill_bank.json``.
    """
    rt = _state_runtime()
    rt.load(directory)
    return rt.state_dict()


_STEP_RE = re.compile(r"^(?:best_)?global_step(\d+)$")


def _snapshot_root(args: Any) -> Path:
    """``<ckpt.path>/_skillrl`` as an absolute path: the bank actor that writes it may run in another directory."""
    return Path(os.path.abspath(args.ckpt.path)) / SNAPSHOT_DIR


def _prune_snapshots(args: Any, keep: int) -> None:
    """Drop snapshots whose step has no DeepSpeed checkpoint left (OpenRLHF rotates ``_actor`` to ckpt.max_num),
    keeping the newest one."""
    root = _snapshot_root(args)
    actor = Path(args.ckpt.path) / "_actor"
    if not root.is_dir() or not actor.is_dir():
        return
    alive = {int(m.group(1)) for d in actor.iterdir() if (m := _STEP_RE.match(d.name))}
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


class _BankTrainerMixin:
    """Bank calls and checkpoint snapshots shared by the sync trainer, the async training actor and the async
    generator. They look for snapshots under ``args.ckpt.path`` (as OpenRLHF's own ``init_checkpoint_states`` looks
    for ``_actor`` there); the bank actor writes and reads them (:meth:`SkillBankService.save` / ``load``), so that
    folder must be reachable from its node too (one machine, or a shared disk as multi-node resume needs)."""

    _skillrl_bank_client: BankClient | None = None

    def _skillrl_bank(self) -> BankClient:
        if self._skillrl_bank_client is None:
            self._skillrl_bank_client = BankClient(get_bank_actor())
        return self._skillrl_bank_client

    def _skillrl_snapshot(self, step: int) -> None:
        version = self._skillrl_bank().call_sync("save", str(_snapshot_root(self.args) / f"global_step{step}"))
        if version is not None:
            logger.info("skillrl: bank v%s saved with checkpoint step %s", version, step)
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
        version = self._skillrl_bank().call_sync("load", str(exact))
        logger.info("skillrl: restored skill bank v%s from %s", version, exact)

    def _skillrl_save_final(self) -> None:
        out = getattr(self.args.ckpt, "output_dir", None)
        if out:
            self._skillrl_bank().call_sync("save", os.path.join(os.path.abspath(out), FINAL_DIR))

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
        skill_logs = bank.call_sync("validation_logs", int(step))
        logger.info("skillrl: evaluation at step %s: %d episodes (%d matched), success %s, bank v%s -> v%s", step,
                    summary["episodes"], summary["matched"], summary["success_rates"],
                    summary["bank_version_before"], summary["bank_version"])
        self._skillrl_snapshot(int(step))
        out = dict(logs or {})
        out.update(skill_logs)
        self._skillrl_last_summary = summary
        return out


class _CheckpointHooks(_BankTrainerMixin):
    """The checkpoint side of the sync trainer and the async training actor (placed before OpenRLHF's class in the
    MRO, so ``super()`` is OpenRLHF's method): the bank's metrics join each log line, a snapshot follows each
    checkpoint, a resume restores the snapshot of its step, and ``fit`` ends with the final bank."""

    def save_logs_and_checkpoints(self, global_step, logs_dict=None, client_states=None):
        if logs_dict is not None:
            logs_dict.update(self._skillrl_bank().call_sync("metrics"))
        super().save_logs_and_checkpoints(global_step, logs_dict, client_states)  # type: ignore[misc]
        if global_step % self.args.ckpt.save_steps == 0:
            self._skillrl_snapshot(global_step)

    def init_checkpoint_states(self):
        states = super().init_checkpoint_states()  # type: ignore[misc]
        if int(states.get("global_step", 0) or 0) > 0:
            self._skillrl_restore(int(states["global_step"]))
        return states

    def fit(self, global_step: int = 0) -> None:
        super().fit(global_step)  # type: ignore[misc]
        self._skillrl_save_final()


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

    class SkillRLPPOTrainer(_CheckpointHooks, base_sync):  # type: ignore[valid-type, misc]
        """OpenRLHF's PPOTrainer with SkillRL evaluation hooks and bank snapshots."""

        def evaluate(self, global_step, **generate_kwargs):
            n = generate_kwargs.get("n_samples_per_prompt", self.args.eval.n_samples_per_prompt)
            logs = self._skillrl_evaluate(global_step, lambda: base_sync.evaluate(self, global_step, **generate_kwargs),
                                          self.samples_generator, self.eval_dataloader, n)
            _trainer_logging(self, global_step, {k: v for k, v in logs.items() if k.startswith(METRIC_PREFIX)})
            return logs

    class SkillRLGenerateSamplesActor(_BankTrainerMixin, base_gen):  # type: ignore[valid-type, misc]
        """OpenRLHF's async GenerateSamplesActor whose evaluation closes the SkillRL validation."""

        def _run_eval(self):
            step = int(self._last_eval_step)
            return self._skillrl_evaluate(step, lambda: base_gen._run_eval(self), self.samples_generator,
                                          self.eval_dataloader, self.args.eval.n_samples_per_prompt)

    class SkillRLTrainingActor(_CheckpointHooks, base_train):  # type: ignore[valid-type, misc]
        """OpenRLHF's async TrainingActor with bank snapshots."""

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
