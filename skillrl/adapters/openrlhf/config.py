"""How the shared bank actor is configured: :class:`SkillRLConfig`, read from ``SKILLRL_*`` environment variables
or a JSON file (OpenRLHF builds agent executors with no arguments, so nothing can be passed to them directly)."""

from __future__ import annotations

from typing import ClassVar

from skillrl.config import SkillConfig
from skillrl.errors import ConfigError

__all__ = ["ENV_PREFIX", "OpenRLHFConfigError", "SkillRLConfig"]

ENV_PREFIX = "SKILLRL_"
"""Prefix of the environment variables :meth:`SkillRLConfig.from_env` reads (``SKILLRL_<FIELD>``, ``SKILLRL_CONFIG``)."""


class OpenRLHFConfigError(ConfigError):
    """The SkillRL configuration for OpenRLHF (environment variables / JSON file) is missing or invalid."""


class SkillRLConfig(SkillConfig):
    """How the shared bank actor is built: a :class:`skillrl.config.SkillConfig` (every retrieval, rendering and
    evolution setting, with the same defaults as every other adapter) plus the Ray actor's own settings. OpenRLHF
    constructs executors without arguments, so this is read from the environment (:meth:`from_env`): a JSON file
    named by ``SKILLRL_CONFIG`` first, then ``SKILLRL_<FIELD>`` variables (upper case) override single fields, e.g.
    ``SKILLRL_BANK=skills.json SKILLRL_PROFILE=alfworld SKILLRL_MODE=template``.

    Attributes (beyond :class:`~skillrl.config.SkillConfig`'s):
        bank: path of the initial bank (official or native JSON). Required.
        tokenizer: tokenizer path for exact block token counts in the bank actor (default: estimate).
        eval_split: split name given to evaluation episodes (default ``"validation"``).
        evolve_split (from :class:`~skillrl.config.SkillConfig`): ``None`` (default) or ``eval_split``: the bank
            evolves from the scored evaluation (the official code's test-time learning, flagged in each summary);
            another name, e.g. ``"train"``: the evaluation is only scored and evolution uses that split's episodes
            recorded since the last evaluation (:meth:`SkillBankService.end_validation`).
        output_dir: when set, every bank version is also written there (``banks/bank_v<N>.json``).
        actor_name, namespace: the Ray named actor (default ``"skillrl_bank"``, the job's namespace).
        detached: create the actor with ``lifetime="detached"`` (it then outlives the job; default False).

    The ``system`` placement appends the block to the chat-templated prompt's system turn and falls back to
    ``user_prefix`` when the prompt has none.
    """

    bank: str | None = None
    tokenizer: str | None = None
    eval_split: str = "validation"
    output_dir: str | None = None
    actor_name: str = "skillrl_bank"
    namespace: str | None = None
    detached: bool = False

    error_class: ClassVar[type[Exception]] = OpenRLHFConfigError
