"""The inference agent's memory: skills for a task, episodes recorded, the bank evolved every N episodes.

Built on :class:`skillrl.runtime.SkillRuntime`, so retrieval, rendering, placement, episode bookkeeping and evolution
are exactly the ones the RL adapters and the cold-start SFT data use; see :mod:`skillrl.adapters.agent`.
"""

from __future__ import annotations

import logging
import threading
from collections import Counter, defaultdict
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from skillrl.adapters.agent.session import DEFAULT_SYSTEM_PROMPT, SkillSession
from skillrl.config import SkillConfig
from skillrl.episode import Episode
from skillrl.errors import ConfigError, InputTypeError, SkillRLError
from skillrl.render import SkillBlock, as_message
from skillrl.runtime import Augmentation, SkillRuntime

if TYPE_CHECKING:
    from skillrl.bank import SkillBank
    from skillrl.evolve import EvolutionReport

__all__ = ["SkillAgentMemory"]

logger = logging.getLogger("skillrl.agent")


class SkillAgentMemory:
    """A skill bank for an inference agent: skills for a task, episodes recorded, evolution every N episodes.

    Args:
        bank: a :class:`skillrl.bank.SkillBank` or a path to one (official or native JSON); ignored when
            ``runtime`` is given.
        runtime: a ready :class:`SkillRuntime` (e.g. the one of a training run, to serve the same bank).
        evolve_every: run :meth:`evolve` automatically after every ``N`` recorded episodes (``None``: only when
            you call it). Needs a teacher.
        split: the split name the agent's episodes are recorded under (default ``"inference"``).
        system_prompt: default system message of :meth:`start` sessions.
        config: a :class:`skillrl.config.SkillConfig` (e.g. ``SkillConfig.from_pretrained(run_dir)`` of the training
            run, so the policy sees at inference the context it was trained on).
        **runtime_kwargs: :class:`~skillrl.config.SkillConfig` fields overriding ``config`` and the runtime's own
            keywords (``output_dir``, ``plugins``, ``tokenizer``), as :class:`SkillRuntime` takes them.

    Raises:
        ConfigError: no bank and no runtime; runtime settings beside a ``runtime``; ``evolve_every`` < 1, or
            ``evolve_every`` without a teacher.
        BankFormatError: the bank file is not a skill bank.

    Thread safety: the runtime's lock guards retrieval and evolution; record episodes from one thread.
    """

    def __init__(self, bank: SkillBank | str | Path | None = None, *, runtime: SkillRuntime | None = None,
                 evolve_every: int | None = None, split: str = "inference",
                 system_prompt: str | None = DEFAULT_SYSTEM_PROMPT, config: SkillConfig | None = None,
                 **runtime_kwargs: Any) -> None:
        if runtime is None:
            if bank is None:
                raise ConfigError("SkillAgentMemory needs a bank (SkillBank or path) or a runtime")
            runtime = SkillRuntime(bank, config, **runtime_kwargs)
        elif runtime_kwargs or config is not None:
            raise ConfigError(f"runtime settings {sorted(runtime_kwargs)} are ignored when a runtime is given")
        if evolve_every is not None:
            if evolve_every < 1:
                raise ConfigError(f"evolve_every must be >= 1, got {evolve_every}")
            if runtime.teacher is None:
                raise ConfigError("evolve_every needs a teacher: pass teacher='offline' | 'openai:MODEL' | 'hf:PATH' "
                                 "(or a Teacher)")
        self.runtime = runtime
        self.evolve_every = evolve_every
        self.split = split
        self.system_prompt = system_prompt
        self.episodes_recorded = 0
        self._since_evolve = 0
        self._counts: dict[str, Counter[str]] = defaultdict(Counter)
        self._lock = threading.Lock()

    # ------------------------------------------------------------------ skills
    @property
    def bank(self) -> SkillBank:
        """The bank being read and evolved (``self.runtime.bank``)."""
        return self.runtime.bank

    @property
    def reports(self) -> list[EvolutionReport]:
        """Evolution reports so far, oldest first."""
        return self.runtime.reports

    def lookup(self, task: str, observation: str | None = None) -> Augmentation:
        """The skills for ``task`` with the detected category and the bank version (see :meth:`skills`).

        Raises:
            ConfigError: ``task`` is empty.
        """
        if not isinstance(task, str) or not task.strip():
            raise ConfigError("task must be a non-empty string (the goal text)")
        task = task.strip()
        if observation is None or not observation.strip():
            return self.runtime.skills_for(task)
        # embedding mode: category from the task, retrieval query = task + observation (template mode ignores it)
        return self.runtime.skills_for(task, query=f"{task}\n{observation.strip()}")

    def skills(self, task: str, observation: str | None = None) -> SkillBlock:
        """The rendered skill block for ``task``: ``.text`` (markdown), ``.skill_ids``, ``.tokens``.

        Args:
            task: the goal text (``"put a clean apple in fridge."``).
            observation: the current observation. In embedding mode it joins the retrieval query (the category is
                still detected from the task); in template mode skills depend on the category only and it is
                ignored. Leave it out to get exactly the block the RL adapters inject for the task.

        Raises:
            ConfigError: ``task`` is empty.
        """
        return self.lookup(task, observation).block

    def message(self, task: str, observation: str | None = None, role: str = "system") -> dict[str, str]:
        """The skill block as a chat message, ``{"role": role, "content": block}`` (default role ``"system"``)."""
        return as_message(self.skills(task, observation), role=role)

    def augment(self, prompt: Any, task: str | None = None) -> Augmentation:
        """Place the task's skills into ``prompt`` (text or messages) as the RL adapters do (the runtime's
        ``placement``). ``task`` defaults to the goal found in the prompt (``"Your task is to: ..."``)."""
        row = {self.runtime.task_field or "task": task} if task else {}
        return self.runtime.augment([prompt], [row])[0]

    def start(self, observation: str, *, task: str | None = None, use_skills: bool = True,
              system_prompt: str | None | Literal["default"] = "default", show_admissible: bool = True,
              max_history_turns: int | None = None, episode_id: str | None = None) -> SkillSession:
        """Begin an episode: its initial prompt (:func:`initial_prompt`) with the task's skills placed in it.

        Args:
            observation: the first observation (must contain ``"Your task is to: <goal>"`` unless ``task`` is given).
            task: the goal text (default: parsed from ``observation``).
            use_skills: ``False`` gives the same prompt without skills (the no-skill baseline).
            system_prompt: override the memory's system message (``None``: no system message).
            show_admissible, max_history_turns, episode_id: see :class:`SkillSession`.

        Raises:
            ConfigError: no task given and none found in the observation.
        """
        return SkillSession(observation, task=task, memory=self, use_skills=use_skills,
                            system_prompt=self.system_prompt if system_prompt == "default" else system_prompt,
                            show_admissible=show_admissible, max_history_turns=max_history_turns,
                            episode_id=episode_id, split=self.split)

    # ------------------------------------------------------------------ episodes and evolution
    def record(self, episode: Episode) -> EvolutionReport | None:
        """Record how an episode went; every ``evolve_every`` episodes this runs :meth:`evolve`.

        The episode's ``category`` should be the bank's category (what :meth:`SkillSession.finish` sets). Episodes
        are kept for evolution only when a teacher is set (otherwise only the success counts are kept).

        Returns:
            the :class:`EvolutionReport` when this call evolved the bank, else ``None``.

        Raises:
            InputTypeError: ``episode`` is not an :class:`Episode` (also a ``TypeError``).
        """
        if not isinstance(episode, Episode):
            raise InputTypeError(f"record() takes an Episode, got {type(episode).__name__} "
                            "(SkillSession.finish(...) builds one)")
        with self._lock:
            self.episodes_recorded += 1
            self._since_evolve += 1
            cat = episode.category or "unknown"
            self._counts[cat]["episodes"] += 1
            self._counts[cat]["successes"] += int(bool(episode.success))
            due = self.evolve_every is not None and self._since_evolve >= self.evolve_every
        if self.runtime.teacher is not None:
            self.runtime.record([episode], split=self.split)
        return self.evolve() if due else None

    def evolve(self, step: int | None = None) -> EvolutionReport | None:
        """Evolve the bank from the episodes recorded since the last evolution (SkillRL Sec. 3.3: categories below
        the threshold send their failures to the teacher; dedup, caps and a new bank version apply).

        Args:
            step: recorded in the skills' provenance (default: the number of episodes recorded so far).

        Returns:
            the :class:`EvolutionReport` (``report.changed`` tells whether the bank got a new version), or
            ``None`` when no episode was recorded since the last evolution. Teacher faults do not raise: the
            report's ``error`` says what happened and the bank is unchanged.

        Raises:
            SkillRLError: no teacher is set.
        """
        if self.runtime.teacher is None:
            raise SkillRLError("evolve() needs a teacher: build SkillAgentMemory(..., teacher='offline' | "
                               "'openai:MODEL' | 'hf:PATH')")
        with self._lock:
            self._since_evolve = 0
            n = self.episodes_recorded
        report = self.runtime.after_validation(n if step is None else int(step), split=self.split)
        if report is not None:
            logger.info("skillrl agent: %s", report.summary())
        return report

    def success_rates(self) -> dict[str, dict[str, float]]:
        """Per bank category: ``{"episodes", "successes", "rate"}`` over every recorded episode."""
        return {c: {"episodes": v["episodes"], "successes": v["successes"],
                    "rate": v["successes"] / v["episodes"] if v["episodes"] else 0.0}
                for c, v in sorted(self._counts.items())}

    # ------------------------------------------------------------------ state
    def save(self, directory: str | Path) -> Path:
        """Write the bank (with its history) and the evolution reports (:meth:`SkillRuntime.save`)."""
        return self.runtime.save(directory)

    def load(self, directory: str | Path) -> None:
        """Restore what :meth:`save` wrote."""
        self.runtime.load(directory)

