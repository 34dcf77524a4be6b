"""How the shared bank actor is configured: :class:`SkillRLConfig`, read from ``SKILLRL_*`` environment variables
or a JSON file (OpenRLHF builds agent executors with no arguments, so nothing can be passed to them directly)."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from skillrl.errors import SkillRLError, short_repr
from skillrl.render import Placement, Style

__all__ = ["ENV_PREFIX", "OpenRLHFConfigError", "SkillRLConfig"]

ENV_PREFIX = "SKILLRL_"
"""Prefix of the environment variables :meth:`SkillRLConfig.from_env` reads (``SKILLRL_<FIELD>``, ``SKILLRL_CONFIG``)."""


class OpenRLHFConfigError(SkillRLError, ValueError):
    """The SkillRL configuration for OpenRLHF (environment variables / JSON file) is missing or invalid."""


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
    placement: Placement = "user_prefix"
    top_k_general: int | None = 6
    top_k: int = 6
    delta: float = 0.4
    restrict_to_category: bool = True
    style: Style = "official"
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
