"""One inference episode's conversation: the initial prompt with skills, the turns, the finished :class:`Episode`.

:func:`initial_prompt` is also the ``prompt`` column of the RL dataset and of the cold-start SFT data
(:mod:`skillrl.sft`), so training, SFT and inference see the same context; :func:`admissible_text` words the
admissible commands as verl-agent's ALFWorld prompt does (the SkillRL code base).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from skillrl.episode import Episode, Step, parse_alfworld_goal
from skillrl.errors import ConfigError

if TYPE_CHECKING:
    from skillrl.adapters.agent.memory import SkillAgentMemory
    from skillrl.render import SkillBlock
    from skillrl.runtime import Augmentation

__all__ = ["DEFAULT_SYSTEM_PROMPT", "SkillSession", "admissible_text", "initial_prompt"]

#: The system message of agent prompts (inference, cold-start SFT data, RL datasets built by :mod:`skillrl.sft`).
DEFAULT_SYSTEM_PROMPT = (
    "You are an agent acting in a text environment. Read the observation and the task, then reply with "
    "exactly one action: the command only, no explanation."
)


def initial_prompt(observation: str, system_prompt: str | None = DEFAULT_SYSTEM_PROMPT) -> list[dict[str, str]]:
    """The conversation an episode starts from, before skills: ``[system, user]`` (no system message when
    ``system_prompt`` is empty or ``None``).

    Args:
        observation: the environment's first observation (ALFWorld: the room description ending with
            ``"Your task is to: <goal>."``), or just ``"Your task is to: <goal>"`` when there is none.
        system_prompt: the system message (default :data:`DEFAULT_SYSTEM_PROMPT`).

    This is also the ``prompt`` column of the RL dataset and of the cold-start SFT data (:mod:`skillrl.sft`), so
    the three see the same context.
    """
    msgs = [{"role": "system", "content": system_prompt}] if system_prompt else []
    msgs.append({"role": "user", "content": observation})
    return msgs


def admissible_text(admissible: Sequence[str]) -> str:
    """The admissible commands as one line, in verl-agent's ALFWorld prompt wording (the SkillRL code base):
    ``Your admissible actions of the current situation are: ['go to desk 1', 'look'].``"""
    return "Your admissible actions of the current situation are: [" + ", ".join(repr(str(a)) for a in admissible) \
        + "]."


class SkillSession:
    """One episode's conversation: the initial prompt (with skills), then the agent's actions (assistant
    messages) and the environment's observations (user messages).

    Args:
        observation: the first observation.
        task: the goal (default: parsed from ``"Your task is to: ..."`` in ``observation`` with
            :func:`skillrl.episode.parse_alfworld_goal`).
        memory: where skills come from and whose runtime builds the finished episode (``None``: no skills, and
            :meth:`finish` is unavailable).
        use_skills: ``False`` gives the same prompt without skills (the no-skill baseline; default ``True``).
        system_prompt: system message (``None``: none).
        show_admissible: :meth:`messages` appends :func:`admissible_text` to the last user message when given
            admissible commands (default ``True``; the cold-start SFT data has none, ALFWorld's expert demos
            record no admissible commands).
        max_history_turns: keep only the last ``N`` (action, observation) turns in :meth:`messages` (``None``: all).
            The initial prompt, with the skills, is always kept.
        episode_id: id of the episode (default: a random one).
        split: split name of the episode (default ``"inference"``).

    Attributes:
        prompt: the initial conversation with the skills placed in it.
        block: the skill block (``None`` without skills). skill_ids, category, bank_version: what was injected.
        steps: the :class:`Step` list so far.

    Raises:
        ConfigError: no task given and none found in the observation; a negative ``max_history_turns``.
    """

    def __init__(self, observation: str, *, task: str | None = None, memory: SkillAgentMemory | None = None,
                 use_skills: bool = True, system_prompt: str | None = DEFAULT_SYSTEM_PROMPT,
                 show_admissible: bool = True, max_history_turns: int | None = None, episode_id: str | None = None,
                 split: str | None = "inference") -> None:
        task = (task or parse_alfworld_goal(observation) or "").strip()
        if not task:
            raise ConfigError("no task: pass task=... or an observation containing 'Your task is to: <goal>'")
        if max_history_turns is not None and max_history_turns < 0:
            raise ConfigError(f"max_history_turns must be >= 0, got {max_history_turns}")
        self.task = task
        self.initial_observation = observation
        self.show_admissible = show_admissible
        self.max_history_turns = max_history_turns
        self.episode_id = episode_id or f"episode-{uuid.uuid4().hex[:12]}"
        self.split = split
        self.memory = memory
        base = initial_prompt(observation, system_prompt)
        self._augmentation: Augmentation | None = None
        self.block: SkillBlock | None = None
        self.category: str | None = None
        self.bank_version: int | None = None
        if memory is not None and use_skills:
            aug = memory.augment(base, task=task)
            self._augmentation = aug
            self.prompt = aug.prompt
            self.block, self.category, self.bank_version = aug.block, aug.category, aug.bank_version
        else:
            self.prompt = base
        self.steps: list[Step] = []

    @property
    def skill_ids(self) -> tuple[str, ...]:
        return self.block.skill_ids if self.block is not None else ()

    def step(self, action: str, observation: str) -> None:
        """Append one turn: the action taken and the observation the environment returned."""
        self.steps.append(Step(action=str(action), observation=str(observation)))

    def messages(self, admissible: Sequence[str] | None = None) -> list[dict[str, str]]:
        """The conversation to send to the policy now: the initial prompt, the (last ``max_history_turns``)
        turns, and - when ``admissible`` is given and ``show_admissible`` - the admissible commands appended to
        the last user message. Returns new dicts (safe to mutate)."""
        msgs = [dict(m) for m in self.prompt]
        n = self.max_history_turns
        turns = self.steps if n is None else self.steps[-n:] if n else []
        for st in turns:
            msgs.append({"role": "assistant", "content": st.action})
            msgs.append({"role": "user", "content": st.observation})
        if admissible and self.show_admissible:
            last = msgs[-1]
            last["content"] = f"{last['content']}\n\n{admissible_text(admissible)}"
        return msgs

    def finish(self, success: bool, reward: float | None = None, *, category: str | None = None,
               **metadata: Any) -> Episode:
        """The episode as an :class:`Episode`, built by the memory's runtime (:meth:`SkillRuntime.episode`): task,
        bank category, steps, outcome, injected skill and mistake ids, bank version.

        Args:
            success: whether the task was solved.
            reward: episode reward (default 1.0 / 0.0 from ``success``).
            category: override the bank category (default: the injected skills' category; without skills, the
                category the runtime detects for the task).
            **metadata: stored in ``Episode.metadata`` (JSON-serialisable values: task type, game id...), beside
                ``bank_version`` and ``with_skills``.

        Raises:
            ConfigError: the session has no memory (build sessions with :meth:`SkillAgentMemory.start`).
        """
        if self.memory is None:
            raise ConfigError("SkillSession.finish() needs the session's memory to build the episode: start sessions "
                              "with SkillAgentMemory.start(observation, use_skills=False) for a no-skill baseline")
        meta = {"bank_version": self.bank_version, "with_skills": self.block is not None, **metadata}
        return self.memory.runtime.episode(
            task=self.task, steps=self.steps, reward=float(reward if reward is not None else (1.0 if success else 0.0)),
            success=bool(success), augmentation=self._augmentation, category=category or self.category,
            skill_ids=list(self.skill_ids), split=self.split, episode_id=self.episode_id, source="skillrl-agent",
            initial_observation=self.initial_observation, metadata=meta)
