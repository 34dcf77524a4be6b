"""Cold-start SFT data with skills: trajectories + a skill bank -> a TRL conversational dataset.

SkillRL (arXiv 2602.08234) fine-tunes the policy on skill-augmented trajectories before GRPO ("cold-start SFT";
without it ALFWorld success drops from 89.9 to 65.2). This module turns any :class:`skillrl.episode.Episode` list
(ALFWorld expert demonstrations, official SkillRL memories, your own rollouts) into examples whose prompt carries
the task's skills **exactly as the RL adapters inject them**: the same :class:`skillrl.runtime.SkillRuntime`
``augment`` call (retrieval, rendering style, token budget, placement, ``task_field``) on the same initial prompt
(:func:`skillrl.adapters.agent.initial_prompt`), so SFT, RL and inference see one context. Use the same runtime settings
for :class:`SFTDataBuilder` and for ``SkillCallback`` / :class:`skillrl.adapters.agent.SkillAgentMemory`.

Formats (TRL 1.16 ``SFTTrainer`` dataset types, ``trl/trainer/sft_trainer.py``):

``granularity="step"`` (default): conversational **prompt-completion**, one example per action::

    {"prompt": [system, user(initial observation, skills placed per the runtime), assistant(a1), user(o1), ...,
                assistant(a_{k-1}), user(o_{k-1})],
     "completion": [{"role": "assistant", "content": a_k}], ...}

    SFTTrainer trains on the completion only (``completion_only_loss`` defaults to True for this type).

``granularity="episode"``: conversational **language modeling**, one example per episode::

    {"messages": [system, user(initial observation + skills), assistant(a1), user(o1), ..., assistant(a_n)], ...}

    Set ``SFTConfig(assistant_only_loss=True)`` to train on the actions only (TRL swaps in a training chat template
    with generation markers for known templates, Qwen2.5 among them).

Every row also has ``task``, ``category`` (the bank category detected, as at RL time), ``episode_id``,
``skill_ids``, ``bank_version``, ``step`` (index of the completion's action; ``-1`` for episodes) and
``history_dropped`` (turns removed to meet the budget). SFTTrainer drops these extra columns before training.

Token budget (``max_tokens``): counted on the chat-templated example with the builder's tokenizer (or the
``ceil(chars / 4)`` estimate without one). A step example over budget loses its oldest history turns first (the
initial prompt with the skills and the completion are never cut); an example that does not fit even without
history, and an episode example over budget, is left out and counted in :attr:`SFTDataBuilder.stats`. Keep
``max_tokens <= SFTConfig.max_length``: TRL truncates only with ``keep_start``, which would cut the completion.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from skillrl.adapters.agent.session import DEFAULT_SYSTEM_PROMPT, initial_prompt
from skillrl.config import SkillConfig
from skillrl.episode import Episode
from skillrl.errors import ConfigError, InputTypeError, MissingDependencyError, SkillRLError
from skillrl.render import estimate_tokens
from skillrl.runtime import SkillRuntime

if TYPE_CHECKING:
    from datasets import Dataset

    from skillrl.bank import SkillBank

__all__ = ["Granularity", "SFTDataBuilder", "SFTStats", "build_sft_dataset", "default_prompt"]

logger = logging.getLogger("skillrl.sft")

Granularity = Literal["step", "episode"]
Messages = list[dict[str, str]]


@dataclass
class SFTStats:
    """What the last :meth:`SFTDataBuilder.examples` call did.

    Attributes:
        episodes: episodes given. used: episodes that produced at least one example.
        skipped_failures: unsuccessful episodes left out (``successes_only=True``).
        skipped_no_steps: episodes without steps (e.g. official failure memories).
        examples: examples produced.
        truncated: step examples that lost history turns to the token budget; history_dropped: turns removed in all.
        over_budget: examples left out because they do not fit ``max_tokens`` even without history.
        max_example_tokens: the longest example kept, in tokens.
    """

    episodes: int = 0
    used: int = 0
    skipped_failures: int = 0
    skipped_no_steps: int = 0
    examples: int = 0
    truncated: int = 0
    history_dropped: int = 0
    over_budget: int = 0
    max_example_tokens: int = 0

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


def default_prompt(episode: Episode, system_prompt: str | None = DEFAULT_SYSTEM_PROMPT) -> Messages:
    """The initial prompt of ``episode`` before skills: :func:`skillrl.adapters.agent.initial_prompt` on its initial
    observation, or on ``"Your task is to: <task>"`` when none was recorded (official memories)."""
    observation = episode.initial_observation.strip() or f"Your task is to: {episode.task}"
    return initial_prompt(observation, system_prompt)


class SFTDataBuilder:
    """Builds cold-start SFT examples whose prompts carry skills as the RL adapters inject them.

    Args:
        runtime: the :class:`SkillRuntime` to take skills from (build it with the settings of your
            ``SkillCallback``); or pass ``bank`` and the settings as ``**runtime_kwargs``.
        bank: a :class:`SkillBank` or a path, when no ``runtime`` is given.
        granularity: ``"step"`` (prompt-completion, one example per action; default) or ``"episode"``
            (``messages``, one example per episode). See the module docstring.
        system_prompt: system message of the initial prompt (default :data:`skillrl.adapters.agent.DEFAULT_SYSTEM_PROMPT`;
            ``None``: none). Ignored when ``prompt_builder`` is given.
        prompt_builder: ``Episode -> messages`` for the initial prompt (default :func:`default_prompt`). It must
            build the same prompt as your RL dataset's ``prompt`` column.
        max_tokens: token budget per example (``None``: no budget). See the module docstring.
        tokenizer: counts tokens for ``max_tokens`` through its chat template (a ``transformers`` tokenizer);
            also the runtime's tokenizer when the runtime is built here (as ``SkillCallback`` passes the
            trainer's). Default: the runtime's tokenizer, else the character estimate.
        max_history_turns: keep at most the last ``N`` (action, observation) turns in step prompts (``None``: all),
            as :class:`skillrl.adapters.agent.SkillSession` does at inference.
        successes_only: leave out unsuccessful episodes (default ``True``).
        with_skills: ``False`` builds the same examples without skills (the no-skill SFT baseline).
        skill_max_tokens: token budget of the skill block (the runtime's ``max_tokens``) when the runtime is built
            here (default: the configuration's).
        config: the :class:`skillrl.config.SkillConfig` of your RL run (e.g. ``SkillConfig.from_pretrained(dir)``),
            when the runtime is built here: the SFT prompts then carry the block RL will inject.
        **runtime_kwargs: other :class:`SkillRuntime` settings when the runtime is built here (``mode``,
            ``profile``, ``style``, ``placement``, ``task_field``, ``top_k``, ``delta``...).

    Raises:
        ValueError: unknown ``granularity``, a negative budget, or neither ``runtime`` nor ``bank``.
    """

    def __init__(self, runtime: SkillRuntime | None = None, *, bank: SkillBank | str | Path | None = None,
                 granularity: Granularity = "step", system_prompt: str | None = DEFAULT_SYSTEM_PROMPT,
                 prompt_builder: Callable[[Episode], Messages] | None = None, max_tokens: int | None = None,
                 tokenizer: Any = None, max_history_turns: int | None = None, successes_only: bool = True,
                 with_skills: bool = True, skill_max_tokens: int | None = None, config: SkillConfig | None = None,
                 **runtime_kwargs: Any) -> None:
        if granularity not in ("step", "episode"):
            raise ConfigError(f"granularity must be 'step' or 'episode', got {granularity!r}")
        if max_tokens is not None and max_tokens < 1:
            raise ConfigError(f"max_tokens must be >= 1, got {max_tokens}")
        if max_history_turns is not None and max_history_turns < 0:
            raise ConfigError(f"max_history_turns must be >= 0, got {max_history_turns}")
        if runtime is None:
            if bank is None:
                raise ConfigError("SFTDataBuilder needs a runtime or a bank (SkillBank or path)")
            if tokenizer is not None:
                runtime_kwargs.setdefault("tokenizer", tokenizer)
            if skill_max_tokens is not None:
                runtime_kwargs["max_tokens"] = skill_max_tokens
            runtime = SkillRuntime(bank, config, **runtime_kwargs)
        elif runtime_kwargs or skill_max_tokens is not None or config is not None:
            raise ConfigError(f"runtime settings {sorted(runtime_kwargs)} are ignored when a runtime is given")
        self.runtime = runtime
        self.granularity = granularity
        self.system_prompt = system_prompt
        self.prompt_builder = prompt_builder or (lambda ep: default_prompt(ep, system_prompt))
        self.max_tokens = max_tokens
        self.tokenizer = tokenizer if tokenizer is not None else runtime.tokenizer
        self.max_history_turns = max_history_turns
        self.successes_only = successes_only
        self.with_skills = with_skills
        self.stats = SFTStats()
        self._count = _message_counter(self.tokenizer)

    # ------------------------------------------------------------------ the RL side of the same prompt
    def initial_prompt(self, episode: Episode) -> Messages:
        """The episode's initial prompt without skills (what the RL dataset's ``prompt`` column holds)."""
        return [dict(m) for m in self.prompt_builder(episode)]

    def rl_row(self, episode: Episode) -> dict[str, Any]:
        """The RL dataset row for the episode's task: ``{"prompt": initial prompt, <task_field>: task}``. Passed
        through ``SkillCallback`` it becomes exactly the prompt the SFT examples start with."""
        return {"prompt": self.initial_prompt(episode), self.runtime.task_field or "task": episode.task}

    def count_tokens(self, messages: Messages) -> int:
        """Tokens of a conversation as SFTTrainer tokenizes it (chat template), or the estimate."""
        return self._count(messages)

    # ------------------------------------------------------------------ building
    def examples(self, episodes: Iterable[Episode]) -> list[dict[str, Any]]:
        """The examples (plain dicts) for ``episodes``, in episode then step order; updates :attr:`stats`.

        Raises:
            TypeError: an item is not an :class:`Episode`.
        """
        episodes = list(episodes)
        stats = SFTStats(episodes=len(episodes))
        kept: list[Episode] = []
        for i, ep in enumerate(episodes):
            if not isinstance(ep, Episode):
                raise InputTypeError(f"episodes[{i}] is a {type(ep).__name__}, expected skillrl.episode.Episode "
                                "(load files with skillrl.episode.load_episodes)")
            if self.successes_only and not ep.success:
                stats.skipped_failures += 1
            elif not ep.steps:
                stats.skipped_no_steps += 1
            else:
                kept.append(ep)
        prompts = [self.initial_prompt(ep) for ep in kept]
        if self.with_skills and kept:
            field = self.runtime.task_field or "task"
            augs = self.runtime.augment(prompts, [{field: ep.task} for ep in kept])
        else:
            augs = [None] * len(kept)
        out: list[dict[str, Any]] = []
        for ep, prompt, aug in zip(kept, prompts, augs):
            start = aug.prompt if aug is not None else prompt
            meta = {"task": ep.task, "category": aug.category if aug is not None else None,
                    "episode_id": ep.episode_id, "skill_ids": list(aug.skill_ids) if aug is not None else [],
                    "bank_version": aug.bank_version if aug is not None else self.runtime.bank.version}
            made = self._episode_examples(ep, start, meta, stats)
            stats.used += bool(made)
            out += made
        stats.examples = len(out)
        if stats.over_budget:
            logger.warning("skillrl sft: %d example(s) left out: longer than max_tokens=%s even without history",
                           stats.over_budget, self.max_tokens)
        self.stats = stats
        return out

    def dataset(self, episodes: Iterable[Episode]) -> Dataset:
        """The examples as a ``datasets.Dataset`` for ``trl.SFTTrainer``.

        Raises:
            MissingDependencyError: ``datasets`` is not installed.
            SkillRLError: no example could be built (all episodes failed, had no steps or were over budget).
        """
        try:
            from datasets import Dataset
        except ImportError as err:
            raise MissingDependencyError("datasets", "trl", "skillrl.sft datasets") from err
        rows = self.examples(episodes)
        if not rows:
            raise SkillRLError(f"no SFT example could be built: {self.stats.as_dict()}")
        return Dataset.from_list(rows)

    # ------------------------------------------------------------------ internals
    def _episode_examples(self, ep: Episode, start: Messages, meta: dict[str, Any],
                          stats: SFTStats) -> list[dict[str, Any]]:
        turns: list[Messages] = [[{"role": "assistant", "content": s.action},
                                  {"role": "user", "content": s.observation}] for s in ep.steps]
        if self.granularity == "episode":
            messages = [dict(m) for m in start] + [m for t in turns for m in t][:-1]  # end on the last action
            n = self._count(messages)
            if self.max_tokens is not None and n > self.max_tokens:
                stats.over_budget += 1
                return []
            stats.max_example_tokens = max(stats.max_example_tokens, n)
            return [{"messages": messages, **meta, "step": -1, "history_dropped": 0}]
        out = []
        for k, st in enumerate(ep.steps):
            history = turns[:k]
            dropped = 0
            if self.max_history_turns is not None and len(history) > self.max_history_turns:
                dropped = len(history) - self.max_history_turns
            completion = [{"role": "assistant", "content": st.action}]

            def build(d: int, history: list[Messages] = history) -> Messages:
                return [dict(m) for m in start] + [dict(m) for t in history[d:] for m in t]

            n = self._count(build(dropped) + completion)
            if self.max_tokens is not None and n > self.max_tokens:
                lo, hi = dropped + 1, len(history)  # smallest d in [lo, hi] that fits (length falls as d grows)
                if self._count(build(hi) + completion) > self.max_tokens:
                    stats.over_budget += 1
                    continue
                while lo < hi:
                    mid = (lo + hi) // 2
                    if self._count(build(mid) + completion) <= self.max_tokens:
                        hi = mid
                    else:
                        lo = mid + 1
                dropped = lo
                n = self._count(build(dropped) + completion)
                stats.truncated += 1
            stats.history_dropped += dropped
            stats.max_example_tokens = max(stats.max_example_tokens, n)
            out.append({"prompt": build(dropped), "completion": completion, **meta, "step": k,
                        "history_dropped": dropped})
        return out


def _message_counter(tokenizer: Any) -> Callable[[Messages], int]:
    """Tokens of a conversation: the tokenizer's chat template when it has one, else content tokens + 4 per
    message (the tokenizer's count, or the character estimate)."""
    if tokenizer is not None and getattr(tokenizer, "chat_template", None):
        def count(messages: Messages) -> int:
            ids = tokenizer.apply_chat_template(messages, tokenize=True, return_dict=False)
            return len(ids)
        return count
    if tokenizer is not None and hasattr(tokenizer, "encode"):
        def count_plain(messages: Messages) -> int:
            return sum(len(tokenizer.encode(m["content"], add_special_tokens=False)) + 4 for m in messages)
        return count_plain
    return lambda messages: sum(estimate_tokens(m["content"]) + 4 for m in messages)


def build_sft_dataset(episodes: Sequence[Episode], bank: SkillBank | str | Path | None = None, *,
                      runtime: SkillRuntime | None = None, **kwargs: Any) -> Dataset:
    """One call: ``SFTDataBuilder(runtime, bank=bank, **kwargs).dataset(episodes)`` (see :class:`SFTDataBuilder`
    for the options and errors)."""
    return SFTDataBuilder(runtime, bank=bank, **kwargs).dataset(episodes)
