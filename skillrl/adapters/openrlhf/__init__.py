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
classes (OpenRLHF has no callbacks): evaluation closes the SkillRL validation (per-category success, evolution;
logged under ``skills/``), checkpoints carry a bank snapshot (``<ckpt.path>/_skillrl/global_step<N>/``, written by
:meth:`SkillRuntime.save`), a resume restores it, and the final bank goes to ``<ckpt.output_dir>/skillrl/``.

Modules: :mod:`.config` (:class:`SkillRLConfig`, ``SKILLRL_*`` variables), :mod:`.service` (the bank service, its
Ray actor, :class:`BankClient`), :mod:`.executor` (the agent executor wrapper), :mod:`.trainer` (trainer
subclasses, snapshots, :func:`install`), :mod:`.__main__` (the launcher). :class:`ChatLayout` lives in
:mod:`skillrl.chat_template` (no Ray or OpenRLHF needed) and is re-exported here.

Checked against openrlhf 0.11.2 (:func:`check_openrlhf` verifies the methods it overrides).
"""

from __future__ import annotations

from typing import Any

from skillrl.errors import MissingDependencyError

try:  # this adapter needs its framework; ``import skillrl`` alone does not import it
    import ray  # noqa: F401
    from openrlhf.utils.agent import AgentInstanceBase, MultiTurnAgentExecutor  # noqa: F401
except ImportError as _err:  # pragma: no cover - depends on the environment
    raise MissingDependencyError("openrlhf", "openrlhf", "skillrl.adapters.openrlhf (agent executor, bank actor)") \
        from _err

# ``X as X``: module constants of the former single-file adapter, still importable from here (each defined once)
from skillrl.adapters.openrlhf.config import ENV_PREFIX as ENV_PREFIX
from skillrl.adapters.openrlhf.config import OpenRLHFConfigError, SkillRLConfig
from skillrl.adapters.openrlhf.executor import AgentClassError, EpisodeContext, skillrl_agent_executor
from skillrl.adapters.openrlhf.service import BankClient, SkillBankService, get_bank_actor
from skillrl.adapters.openrlhf.trainer import FINAL_DIR as FINAL_DIR
from skillrl.adapters.openrlhf.trainer import SNAPSHOT_DIR as SNAPSHOT_DIR
from skillrl.adapters.openrlhf.trainer import SUPPORTED_OPENRLHF as SUPPORTED_OPENRLHF
from skillrl.adapters.openrlhf.trainer import (
    UnsupportedOpenRLHFVersion,
    check_openrlhf,
    install,
    read_snapshot,
    trainer_classes,
    write_snapshot,
)
from skillrl.chat_template import ChatLayout
from skillrl.runtime import BANK_FILE as BANK_FILE
from skillrl.runtime import STATE_FILE as STATE_FILE

__all__ = [
    "AgentClassError",
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

_LAUNCHER = ("main", "split_skillrl_args")


def __getattr__(name: str) -> Any:
    # The launcher lives in ``__main__.py``. It is imported on first use, not here, so that
    # ``python -m skillrl.adapters.openrlhf`` does not find its own ``__main__`` already imported (runpy warns).
    if name in _LAUNCHER:
        from skillrl.adapters.openrlhf import __main__ as launcher

        return getattr(launcher, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
