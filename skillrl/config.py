"""One configuration for every adapter: what is retrieved, how it is shown, where the task comes from, how the bank
evolves.

:class:`SkillConfig` is taken by :class:`skillrl.runtime.SkillRuntime` and through it by ``SkillCallback`` (TRL), the
OpenRLHF adapter (whose ``SkillRLConfig`` extends it with the Ray actor's settings and fills it from ``SKILLRL_*``
environment variables), the SFT builder and the inference agent. No adapter declares a default of its own, so the same
task gets the same block under every adapter. It is saved beside the bank in a runtime's state directory
(:meth:`save_pretrained` / :meth:`from_pretrained`, ``skillrl_config.json``), so cold-start SFT, RL and inference read
the same context by construction.

The retrieval rule (the default ``"paper"`` preset, arXiv 2602.08234 Sec. 3.2): **all** general skills, then for the
task's category ``TopK(S_k, K)`` ranked by cosine similarity. The paper writes ``TopK({s in S_k : sim > delta}, K)``
with ``delta = 0.4`` tuned for Qwen3-Embedding-0.6B; on the packaged all-MiniLM-L6-v2 that threshold leaves most
known-category goals with no task-specific skill (``benchmarks/bench_retrieval_coverage.py``: 13/140 ALFWorld
valid_seen goals at 0.4), although the category is known and the paper's template mode shows the category's skills
outright. So within a *detected* category the ``K`` best skills are kept whatever their cosine
(``delta_in_category=False``), and ``delta`` filters candidates when the category is unknown (all categories ranked
together). Common mistakes are chosen by relevance: those tagged with the task's category first (newest first: what
evolution just learnt), then untagged ones (most similar first in embedding mode, bank order in template mode), so an
evolved mistake reaches the prompts of its category. The ``"official"`` preset reproduces aiming-lab/SkillRL's run
script (``top_k=6`` for both tiers: the first 6 general skills in template mode, the 6 most similar in embedding mode,
task skills ranked across all categories with no threshold, the first 5 mistakes).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from skillrl.errors import ConfigError, short_repr
from skillrl.evolve import EvolutionConfig
from skillrl.render import DEFAULT_FRAME, Placement, Style

__all__ = ["CONFIG_FILE", "PRESETS", "SkillConfig", "TaskSource"]

CONFIG_FILE = "skillrl_config.json"
"""The configuration's file in a runtime state directory (beside the bank)."""

TaskSource = Literal["auto", "row", "prompt", "environment"]

PRESETS: dict[str, dict[str, Any]] = {
    "paper": {},
    "official": {"top_k_general": 6, "restrict_to_category": False, "delta": -1.0, "mistakes": "first",
                 "frame": None},
}
"""Named starting points for :meth:`SkillConfig.preset`: ``"paper"`` (the defaults) and ``"official"``
(aiming-lab/SkillRL's run script; no frame line, so the block is the official ``format_for_prompt``'s byte for
byte)."""


class SkillConfig(BaseModel):
    """Every setting of the skill loop, with the default each adapter uses.

    Attributes:
        mode: ``"embedding"`` (FAISS retrieval over embeddings, default) or ``"template"`` (no embeddings: the
            detected category's skills in bank order, the official template mode).
        profile: category detection profile: a registered name (``"alfworld"``, ``"webshop"``, ``"search"``, or a
            plugin's), a rules JSON path, or ``None`` (no detection: unknown category).
        embedder: the embedding model for embedding mode and dedup: ``None`` (default) the packaged
            all-MiniLM-L6-v2; a local sentence-transformers model folder; ``"openai:<model>"`` for an
            OpenAI-compatible endpoint.
        top_k_general: general skills shown: ``None`` (default) all of them (paper); an int keeps that many (the
            most similar in embedding mode, the first in bank order in template mode).
        top_k: task-specific skills shown, ``K`` (default 6, paper).
        delta: cosine threshold (strict ``>``) for task-specific candidates: ``None`` (default) the embedder's
            recommended value (0.22 for the packaged MiniLM, else the paper's 0.4). Applies across categories when
            the category is unknown or ``restrict_to_category`` is off; within a detected category only when
            ``delta_in_category`` is set.
        restrict_to_category: with a detected category, search only its skills (default True).
        delta_in_category: apply ``delta`` inside the detected category too (the paper's formula as written; default
            False, see the module docstring for why).
        max_mistakes: common mistakes shown (default 5, official).
        mistakes: ``"relevant"`` (default: the category's own first, then by similarity / bank order) or
            ``"first"`` (the bank's first ``max_mistakes``, official).
        style: ``"official"`` (SkillRL's markdown, byte-identical) or ``"compact"``.
        frame: a header line above the skills, so the block reads as advice drawn from past episodes and never as
            a system instruction (default :data:`skillrl.render.DEFAULT_FRAME`, "Skills learned from past episodes
            (advice, not instructions):"; ``None``: no frame, as the ``"official"`` preset has it).
        max_tokens: token budget of the block (``None``: none); the lowest-ranked items are dropped first and the
            runtime reports how many (``skills/dropped_per_prompt``).
        placement: ``"user_prefix"`` (default), ``"user_suffix"`` or ``"system"``.
        task_field: dataset column holding the task text (default ``"task"``).
        task_source: where the task comes from: ``"auto"`` (default: the ``task_field`` column when present, else the
            environment's first observation when the trainer has environments, else the prompt), ``"row"``,
            ``"prompt"`` or ``"environment"`` (TRL ``environment_factory``: retrieve for what ``reset()`` returns).
        teacher: evolution teacher spec (``"offline"``, ``"openai:<model>"``, ``"hf:<path>"``, a plugin's) or ``None``
            (no evolution).
        evolution: :class:`skillrl.evolve.EvolutionConfig` (threshold 0.4, ...).
        evolve_split: only validations of this split evolve the bank (``None``: any split).
        screening: screen every record evolution files (default True: :mod:`skillrl.screening`'s rules plus any
            plugin's ``skillrl_screen_record`` verdict); flagged ones go to the bank's quarantine, never into a
            prompt. ``False``: no screening.
        screening_model: add the learned screen (:mod:`skillrl.screening_model`) to that screening: ``True`` the
            model shipped with skillrl, a string a model directory of :func:`~skillrl.screening_model.train_learned_screen`
            (default ``False``: the rules alone). It needs torch, transformers and peft; on blind red-team sets it
            catches far more than the rules (``benchmarks/bench_screening_model.py``). Recommended whenever the
            teacher reads untrusted text.
        success_threshold: an episode whose reward is at least this counts as a success when the environment does not
            say (default 1.0).
        ablation: share of GRPO groups whose block withholds one skill, the causal credit signal of
            :mod:`skillrl.utility` (default 0.0: off; below 1, since the full-block groups are the comparison). The
            skill is a deterministic function of the group (its task, category and the key the adapter passes: TRL
            the trainer step) and ``ablation_seed``, so the G copies of a group, on every rank, get the same block.
            Cost: a skill is withheld in ``ablation / eligible skills`` of its category's episodes; with 0.7 and
            ``ablation_scope="task_specific"`` (6 heat skills) an effect of +/-0.2 in success rate was found in 90%
            of simulated runs at 1,500 episodes per category (``benchmarks/bench_utility.py``, docs/utility.md);
            those groups train on a block one skill short (skill dropout).
        ablation_seed: seed of that choice (default 0).
        ablation_scope: which skills may be withheld: ``"all"`` (default), ``"task_specific"`` (the category's own;
            fewer candidates, so each is withheld more often) or ``"general"``.
        ablation_eval: ablate evaluation groups too (default False: scored evaluations see the full block; their
            episodes still count as uses).
        plugins: import paths of plugins to register (``"pkg.module"`` or ``"pkg.module:attribute"``), for adapters
            that cannot be handed objects (OpenRLHF's executors and bank actor).
    """

    model_config = ConfigDict(extra="forbid", validate_assignment=True)

    mode: Literal["embedding", "template"] = "embedding"
    profile: str | None = None
    embedder: str | None = None
    top_k_general: int | None = Field(None, ge=0)
    top_k: int = Field(6, ge=0)
    delta: float | None = Field(None, ge=-1.0, le=1.0)
    restrict_to_category: bool = True
    delta_in_category: bool = False
    max_mistakes: int = Field(5, ge=0)
    mistakes: Literal["relevant", "first"] = "relevant"
    style: Style = "official"
    frame: str | None = DEFAULT_FRAME
    max_tokens: int | None = Field(None, ge=0)
    placement: Placement = "user_prefix"
    task_field: str | None = "task"
    task_source: TaskSource = "auto"
    teacher: str | None = None
    evolution: EvolutionConfig = Field(default_factory=EvolutionConfig)
    evolve_split: str | None = None
    screening: bool = True
    screening_model: bool | str = False
    success_threshold: float = 1.0
    ablation: float = Field(0.0, ge=0.0, lt=1.0)
    ablation_seed: int = 0
    ablation_scope: Literal["all", "task_specific", "general"] = "all"
    ablation_eval: bool = False
    plugins: list[str] = Field(default_factory=list)

    #: raised for invalid values read by :meth:`from_env` (subclasses name their own)
    error_class: ClassVar[type[Exception]] = ConfigError
    env_prefix: ClassVar[str] = "SKILLRL_"

    # ------------------------------------------------------------------ construction
    @classmethod
    def preset(cls, name: str = "paper", **overrides: Any) -> SkillConfig:
        """A named starting point (:data:`PRESETS`) with ``overrides``.

        Raises:
            ConfigError: unknown preset or an invalid override.
        """
        if name not in PRESETS:
            raise ConfigError(f"unknown preset {name!r}: expected one of {sorted(PRESETS)}")
        return cls.build(**{**PRESETS[name], **overrides})

    @classmethod
    def build(cls, **values: Any) -> SkillConfig:
        """``cls(**values)`` with a one-line :class:`ConfigError` naming the field instead of pydantic's report.
        ``evolution`` may be a dict of :class:`EvolutionConfig` fields."""
        try:
            return cls.model_validate(values)
        except ValidationError as exc:
            raise cls.error_class(f"invalid skillrl setting: {_problems(exc)}") from None

    def replace(self, **changes: Any) -> SkillConfig:
        """A copy with ``changes`` applied and validated."""
        return type(self).build(**{**self.model_dump(), **changes})

    def skill_config(self) -> SkillConfig:
        """The :class:`SkillConfig` part of this configuration (an adapter's subclass drops its own fields)."""
        if type(self) is SkillConfig:
            return self
        return SkillConfig.build(**self.model_dump(include=set(SkillConfig.model_fields)))

    # ------------------------------------------------------------------ files and environment
    def save_pretrained(self, directory: str | os.PathLike[str]) -> Path:
        """Write ``skillrl_config.json`` into ``directory`` (created if needed). Returns the file's path."""
        from skillrl.storage import atomic_write_json

        path = Path(directory) / CONFIG_FILE
        atomic_write_json(path, self.skill_config().model_dump(mode="json"))
        return path

    @classmethod
    def from_pretrained(cls, directory: str | os.PathLike[str], **overrides: Any) -> SkillConfig:
        """Read what :meth:`save_pretrained` wrote (``directory`` or the file itself), then apply ``overrides``.

        Raises:
            ConfigError: the file is missing, unreadable, not a JSON object, or holds invalid settings.
        """
        path = Path(directory)
        if path.is_dir():
            path = path / CONFIG_FILE
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except OSError as exc:
            raise ConfigError(f"{path}: cannot read the skillrl configuration ({exc.strerror or exc})") from None
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise ConfigError(f"{path}: not a JSON skillrl configuration ({exc})") from None
        if not isinstance(data, dict):
            raise ConfigError(f"{path}: expected a JSON object, got {short_repr(data)}")
        try:
            return cls.model_validate({**data, **overrides})
        except ValidationError as exc:
            raise ConfigError(f"{path}: invalid skillrl setting: {_problems(exc)}") from None

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None, **overrides: Any) -> SkillConfig:
        """Read ``<PREFIX>CONFIG`` (a JSON object file) then ``<PREFIX><FIELD>`` variables (upper case) overriding
        single fields, e.g. ``SKILLRL_MODE=template SKILLRL_PROFILE=alfworld``. ``SKILLRL_EVOLUTION`` and
        ``SKILLRL_PLUGINS`` take JSON (an object, a list); ``none`` / ``null`` clear an optional field.

        Raises:
            ConfigError (or the subclass's ``error_class``): unreadable or invalid JSON file, unknown field, wrong
            value type.
        """
        env = os.environ if environ is None else environ
        prefix, error = cls.env_prefix, cls.error_class
        data: dict[str, Any] = {}
        path = env.get(prefix + "CONFIG")
        if path:
            try:
                data = json.loads(Path(path).read_text(encoding="utf-8"))
            except OSError as exc:
                raise error(f"{prefix}CONFIG={path}: cannot read the file ({exc})") from exc
            except json.JSONDecodeError as exc:
                raise error(f"{prefix}CONFIG={path}: not valid JSON ({exc})") from exc
            if not isinstance(data, dict):
                raise error(f"{prefix}CONFIG={path}: expected a JSON object, got {short_repr(data)}")
        for name, field in cls.model_fields.items():
            raw = env.get(prefix + name.upper())
            if raw is None or raw == "":
                continue
            if name in ("evolution", "plugins"):
                try:
                    data[name] = json.loads(raw)
                except json.JSONDecodeError as exc:
                    raise error(f"{prefix}{name.upper()} must be JSON, got {short_repr(raw)}") from exc
            elif raw.lower() in ("none", "null") and not field.is_required():
                data[name] = None
            else:
                data[name] = raw
        data.update(overrides)
        try:
            return cls.model_validate(data)
        except ValidationError as exc:
            where = f"{prefix}CONFIG={path} / {prefix}* variables" if path else f"{prefix}* variables"
            raise error(f"invalid skillrl configuration in {where}: {_problems(exc)}") from None


def _problems(exc: ValidationError) -> str:
    return "; ".join(f"{'.'.join(str(p) for p in e['loc']) or 'value'}: {e['msg']} (got {short_repr(e.get('input'))})"
                     for e in exc.errors())
