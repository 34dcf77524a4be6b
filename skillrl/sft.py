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

__all__ = [
    "ColdStartConfig",
    "Granularity",
    "ReplayStats",
    "SFTDataBuilder",
    "SFTStats",
    "build_sft_dataset",
    "alfworld_cold_start",
    "cold_start_key",
    "cold_start_policy",
    "cold_start_report",
    "default_prompt",
    "environment_prompt",
    "replay_alfworld_demos",
    "tool_examples",
    "train_cold_start",
]

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


# ---------------------------------------------------------------------------------------------------------------
# The tool form (TRL environment_factory): the prompt SkillCallback builds, ALFWorld demos replayed, cold-start SFT
# ---------------------------------------------------------------------------------------------------------------


def environment_prompt(runtime: SkillRuntime, prompt: Messages, observation: str, row: dict[str, Any] | None = None,
                       *, with_skills: bool = True) -> tuple[Messages, Any]:
    """The conversation a policy sees when TRL's ``environment_factory`` environment returns ``observation`` from
    ``reset(**row)`` and ``SkillCallback`` places the skills in it (the environment path).

    TRL 1.16 appends ``reset``'s text to the row prompt's last message (``grpo_trainer.py``,
    ``_generate_and_score_completions``); ``SkillCallback`` wraps ``reset`` and retrieves the skills for the task the
    observation states (the goal after "Your task is to:"; the row's ``task_field`` column is left out, as in the
    callback), then puts the block into the observation with the runtime's placement (``"system"`` counts as
    ``"user_prefix"`` there), keeping the observation's own leading whitespace (``"\\n\\n"`` when it has none) in
    front. This function does the same, so cold-start SFT examples and inference prompts start exactly where GRPO
    rollouts start (``tests/test_sft_tool.py`` checks the examples against it; a comparison with the prompt a real
    ``GRPOTrainer`` tokenizes is not written yet).

    Args:
        runtime: the :class:`SkillRuntime` of the RL run (same bank, mode, style, budget, placement).
        prompt: the dataset row's ``prompt`` (``[system, user]``).
        observation: what the environment's ``reset`` returns.
        row: the dataset row (its columns reach the retrieval hooks, as in the callback).
        with_skills: ``False``: no skills (the no-skill baseline of the same prompt).

    Returns:
        ``(messages, augmentation)``; ``augmentation`` is ``None`` without skills.
    """
    from skillrl.render import inject

    aug = None
    text = observation
    if with_skills:
        clean = {k: v for k, v in (row or {}).items() if k != runtime.task_field}
        aug = runtime.augment([observation], rows=[clean], track=False)[0]
        if aug.block.text:
            placement = runtime.placement if runtime.placement != "system" else "user_prefix"
            body = observation.lstrip()
            lead = observation[: len(observation) - len(body)] or "\n\n"
            text = lead + inject(body, aug.block.text, placement=placement)
        else:
            text = aug.prompt
    messages = [dict(m) for m in prompt]
    messages[-1] = {**messages[-1], "content": messages[-1]["content"] + text}
    return messages, aug


@dataclass
class ReplayStats:
    """What :func:`replay_alfworld_demos` did.

    Attributes:
        demos: demonstrations given. replayed: those whose game was found and played.
        missing_game: demonstrations whose game is not among the playable games given.
        actions: demonstration actions replayed. dropped: actions the game did not list as admissible (left out).
        won: replayed demonstrations that won the game.
        observation_mismatch: kept actions whose observation differs from the demonstration's (the game's is kept).
    """

    demos: int = 0
    replayed: int = 0
    missing_game: int = 0
    actions: int = 0
    dropped: int = 0
    won: int = 0
    observation_mismatch: int = 0

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


def replay_alfworld_demos(demos: Iterable[Episode], games: Iterable[Any], *, env: Any = None,
                          max_actions: int | None = None) -> tuple[list[Episode], ReplayStats]:
    """Replay demonstrations in the real games and keep only the actions the game accepts.

    Each demonstration whose game is among ``games`` (matched on ``episode_id == GameInfo.game_id``) is played from
    ``reset``: an action that is not among the game's admissible commands at that point is dropped (the game would
    answer "Nothing happens." and nothing changes), the others are played and kept with the game's observation and,
    as the extra step field ``admissible``, the commands that were admissible before it. Demonstrations of other
    games are left out (counted in ``missing_game``): without their game nothing can be checked.

    Args:
        demos: e.g. :func:`skillrl.episode.load_alfworld_demos` of ``expert_demos_train.jsonl``.
        games: playable :class:`skillrl.envs.alfworld.GameInfo` (e.g. ``list_games("train")``).
        env: an :class:`skillrl.envs.alfworld.ALFWorldEnv` to reuse (default: one made and closed here).
        max_actions: keep at most this many actions per demonstration (the first ones; ``None``: all).

    Returns:
        ``(episodes, stats)``: the replayed episodes (``initial_observation`` = the game's first observation,
        ``success`` = the game was won within the kept actions, ``metadata["dropped_actions"]``).

    Raises:
        MissingDependencyError: ``alfworld`` is not installed.
    """
    from skillrl.envs.alfworld import ALFWorldEnv
    from skillrl.episode import Step

    by_id = {g.game_id: g for g in games}
    stats = ReplayStats()
    out: list[Episode] = []
    own = env is None
    env = env or ALFWorldEnv(max_steps=10_000)
    try:
        for demo in demos:
            stats.demos += 1
            game = by_id.get(demo.episode_id)
            if game is None:
                stats.missing_game += 1
                continue
            observation, info = env.reset(game)
            steps, dropped = [], 0
            for st in demo.steps:
                if env.done or (max_actions is not None and len(steps) >= max_actions):
                    break
                stats.actions += 1
                admissible = list(info["admissible_commands"])
                if st.action not in admissible:
                    dropped += 1
                    continue
                obs, _r, _d, info = env.step(st.action)
                stats.observation_mismatch += obs.strip() != st.observation.strip()
                steps.append(Step(action=st.action, observation=obs, admissible=admissible))
            stats.dropped += dropped
            stats.replayed += 1
            stats.won += env.won
            out.append(demo.model_copy(update={
                "steps": steps, "initial_observation": observation, "success": env.won,
                "category": game.task_type, "metadata": {**demo.metadata, "dropped_actions": dropped,
                                                         "game": str(game.path)}}))
    finally:
        if own:
            env.close()
    return out, stats


def tool_examples(episodes: Iterable[Episode], runtime: SkillRuntime, *, rows: dict[str, dict[str, Any]],
                  tools: list[dict[str, Any]], first_observation: Callable[[Episode], str],
                  with_skills: bool = True) -> list[dict[str, Any]]:
    """Cold-start SFT examples in the tool form, one per episode (TRL ``SFTTrainer``'s conversational language
    modelling type, with a ``tools`` column): ``{"messages": [system, user(row turn + first observation with the
    skills, exactly as :func:`environment_prompt` places them), assistant(step call 1), tool(observation 1), ...,
    assistant(step call n)], "tools": tools, "task", "category", "skill_ids", "bank_version", "episode_id"}``.

    Args:
        episodes: e.g. replayed demonstrations (:func:`replay_alfworld_demos`); only their steps' actions and
            observations are used (an action's reasoning, when recorded, becomes the call's message content).
        runtime: the runtime of the RL run.
        rows: the RL dataset row of each episode, by ``episode_id`` (e.g. :func:`skillrl.envs.alfworld.alfworld_rows`).
        tools: the tool schemas the trainer renders (``[transformers.utils.get_json_schema(ALFWorldTool.step)]``).
        first_observation: what the environment's ``reset`` returns for the episode
            (e.g. :func:`skillrl.envs.alfworld.first_observation_text` of its initial observation).
        with_skills: ``False``: the same examples without skills.

    Raises:
        ConfigError: an episode has no row.
    """
    from skillrl.actions import tool_call_message

    out = []
    for ep in episodes:
        if not ep.steps:
            continue
        row = rows.get(ep.episode_id)
        if row is None:
            raise ConfigError(f"no RL dataset row for episode {ep.episode_id!r}")
        messages, aug = environment_prompt(runtime, row["prompt"], first_observation(ep), row,
                                           with_skills=with_skills)
        for k, st in enumerate(ep.steps):
            messages.append(tool_call_message(st.action, st.reasoning))
            if k < len(ep.steps) - 1:
                messages.append({"role": "tool", "name": tools[0]["function"]["name"], "content": st.observation})
        out.append({"messages": messages, "tools": tools, "task": ep.task,
                    "category": aug.category if aug is not None else None, "episode_id": ep.episode_id,
                    "skill_ids": list(aug.skill_ids) if aug is not None else [],
                    "bank_version": aug.bank_version if aug is not None else runtime.bank.version})
    return out


@dataclass(frozen=True)
class ColdStartConfig:
    """Settings of :func:`train_cold_start` (part of the cache key of :func:`cold_start_policy`).

    Attributes:
        epochs: passes over the examples (default 1). learning_rate: AdamW's (default 1e-4, constant, no weight
            decay). max_grad_norm: gradient clipping (default 1.0). seed: example order and torch seed (default 0).
        prefix_no_grad: run the examples' shared start (system, tools, the first observation with the skills: every
            token before the first assistant turn) without gradient and train on the rest with it (default
            ``True``): the loss is the same (assistant tokens only), the gradient leaves out the dependence of the
            prompt's keys and values on the weights. That halves the cost of a tool-form example on CPU (its prompt
            is 500-800 tokens, the actions 30 tokens each). ``False``: the full gradient.
        threads: torch threads while training (default 1: faster than 2 on the shared 2-core machine).
    """

    epochs: int = 1
    learning_rate: float = 1e-4
    max_grad_norm: float = 1.0
    seed: int = 0
    prefix_no_grad: bool = True
    threads: int = 1


def _training_template(tok: Any) -> str | None:
    """The chat template to encode SFT examples with: ``None`` (the tokenizer's own) when it marks generation, else
    TRL's training variant of it (``trl.chat_template_utils.get_training_chat_template``: the same text with
    ``{% generation %}`` markers, e.g. for Qwen2.5's template), else ``None`` (and the caller's check fails)."""
    try:
        from trl.chat_template_utils import get_training_chat_template, has_generation_markers
    except ImportError:
        return None
    if tok.chat_template and has_generation_markers(tok.chat_template):
        return None
    try:
        return get_training_chat_template(tok)
    except Exception:  # noqa: BLE001 - an unknown template has no training variant
        return None


def train_cold_start(base: str | Path, examples: Sequence[dict[str, Any]], out: str | Path,
                     config: ColdStartConfig | None = None) -> dict[str, Any]:
    """Cold-start SFT of a causal LM on tool-form (or any ``messages``) examples; saves model and tokenizer in ``out``.

    A plain PyTorch loop (one example per optimiser step, AdamW), loss on the assistant tokens only: the chat
    template's ``{% generation %}`` markers (``return_assistant_tokens_mask``), i.e. each call and its ``<|im_end|>``;
    a template without them (Qwen2.5's, the tiny test model's) is encoded with TRL's training variant of it.
    See :class:`ColdStartConfig` for the settings.

    Args:
        base: a local model folder (e.g. :func:`skillrl.models.smollm2_path`) whose tokenizer's template has
            generation markers (:data:`skillrl.models.SMOLLM2_TOOL_TEMPLATE` has).
        examples: rows with ``messages`` and optional ``tools`` (:func:`tool_examples`).
        out: the folder to write (``save_pretrained`` of model and tokenizer).

    Returns:
        ``{"examples", "steps", "tokens", "assistant_tokens", "losses" (per step), "first_loss", "last_loss"
        (mean of the first / last 10% of the steps), "seconds"}``.

    Raises:
        MissingDependencyError: ``torch`` / ``transformers`` are missing.
        SkillRLError: no example, or an example without assistant tokens (a template without generation markers).
    """
    import random
    import time

    try:
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer
    except ImportError as err:
        raise MissingDependencyError("transformers", "trl", "skillrl.sft.train_cold_start") from err
    config = config or ColdStartConfig()
    if not examples:
        raise SkillRLError("train_cold_start got no example")
    t0 = time.perf_counter()
    threads = torch.get_num_threads()
    torch.set_num_threads(config.threads)
    torch.manual_seed(config.seed)
    try:
        tok = AutoTokenizer.from_pretrained(str(base))
        model = AutoModelForCausalLM.from_pretrained(str(base), dtype=torch.float32)
        model.train()
        template = _training_template(tok)
        encoded = []
        for i, ex in enumerate(examples):
            enc = tok.apply_chat_template(ex["messages"], tools=ex.get("tools"), tokenize=True, return_dict=True,
                                          return_assistant_tokens_mask=True, chat_template=template)
            ids, mask = list(enc["input_ids"]), list(enc["assistant_masks"])
            if 1 not in mask:
                raise SkillRLError(f"example {i} has no assistant token (does the chat template mark generation?)")
            encoded.append((ids, mask))
        opt = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=config.learning_rate,
                                weight_decay=0.0)
        rng = random.Random(config.seed)
        losses: list[float] = []
        tokens = assistant_tokens = 0
        for _epoch in range(config.epochs):
            order = list(range(len(encoded)))
            rng.shuffle(order)
            for i in order:
                ids, mask = encoded[i]
                cut = mask.index(1) - 1 if config.prefix_no_grad else 0  # the logits at `cut` predict token cut + 1
                cache = None
                if cut > 0:
                    with torch.no_grad():
                        cache = model(input_ids=torch.tensor([ids[:cut]]), use_cache=True).cache
                part = ids[cut:]
                logits = model(input_ids=torch.tensor([part]), cache=cache,
                               use_cache=cache is not None).logits[0, :-1]
                labels = torch.tensor([t if m else -100 for t, m in zip(part[1:], mask[cut + 1:])])
                loss = torch.nn.functional.cross_entropy(logits.float(), labels, ignore_index=-100)
                loss.backward()
                torch.nn.utils.clip_grad_norm_(model.parameters(), config.max_grad_norm)
                opt.step()
                opt.zero_grad(set_to_none=True)
                losses.append(round(loss.item(), 4))
                tokens += len(ids)
                assistant_tokens += int((labels != -100).sum())
        out = Path(out)
        out.mkdir(parents=True, exist_ok=True)
        model.save_pretrained(out)
        tok.save_pretrained(out)
    finally:
        torch.set_num_threads(threads)
    k = max(1, len(losses) // 10)
    return {"examples": len(encoded), "steps": len(losses), "tokens": tokens, "assistant_tokens": assistant_tokens,
            "losses": losses, "first_loss": round(sum(losses[:k]) / k, 4),
            "last_loss": round(sum(losses[-k:]) / k, 4), "seconds": round(time.perf_counter() - t0, 1)}


#: Bumped whenever :func:`train_cold_start` or the cache layout changes, so cached policies are rebuilt.
COLD_START_FORMAT_VERSION = 1
_SFT_MARKER = "skillrl_sft.json"


def cold_start_key(base: str | Path, examples: Sequence[dict[str, Any]], config: ColdStartConfig | None = None) -> str:
    """The cache key of a cold-start policy: sha256 (first 16 hex digits) of everything it depends on - the base
    model (its ``skillrl_model.json`` marker when it has one: GGUF hash and format version; else its path), the
    examples (messages and tools, so bank, rendering, budget, games and demonstrations are all in it), the
    :class:`ColdStartConfig`, :data:`COLD_START_FORMAT_VERSION` and the torch / transformers versions."""
    import hashlib
    import json

    base = Path(base)
    try:
        marker = json.loads((base / "skillrl_model.json").read_text(encoding="utf-8"))
        source = {k: marker.get(k) for k in ("format_version", "gguf_sha256", "parameters")}
    except (OSError, ValueError):
        source = {"path": str(base.resolve())}
    versions = {}
    for name in ("torch", "transformers"):
        try:
            versions[name] = __import__(name).__version__
        except ImportError:
            versions[name] = None
    payload = {"format": COLD_START_FORMAT_VERSION, "base": source, "config": asdict(config or ColdStartConfig()),
               "versions": versions,
               "examples": [{"messages": e["messages"], "tools": e.get("tools")} for e in examples]}
    return hashlib.sha256(json.dumps(payload, sort_keys=True, ensure_ascii=False).encode()).hexdigest()[:16]


def cold_start_policy(base: str | Path, examples: Sequence[dict[str, Any]], config: ColdStartConfig | None = None, *,
                      cache: str | Path | None = None, name: str = "cold-start") -> Path:
    """The cold-start SFT policy for these examples, trained once and cached (:func:`train_cold_start`).

    The folder is ``<cache>/<name>-<cold_start_key(...)>`` (``cache`` default :func:`skillrl.models.cache_dir`,
    i.e. ``$SKILLRL_CACHE``), built under a file lock by :func:`skillrl.models.build_folder_once`: concurrent
    processes train once, a finished folder is returned at once, any change of base model, examples or settings
    gives another key. The folder holds the model, the tokenizer and ``skillrl_sft.json`` (key, settings, what
    :func:`train_cold_start` returned, the examples' episode ids).

    Raises:
        as :func:`train_cold_start`.
    """
    import json

    from skillrl.models import build_folder_once, cache_dir

    config = config or ColdStartConfig()
    key = cold_start_key(base, examples, config)
    root = Path(cache).expanduser() if cache is not None else cache_dir()
    out = root.resolve() / f"{name}-{key}"

    def is_current(folder: Path) -> bool:
        try:
            marker = json.loads((folder / _SFT_MARKER).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return False
        return marker.get("key") == key and (folder / "model.safetensors").is_file()

    def build(tmp: Path) -> None:
        logger.warning("skillrl sft: training the cold-start policy %s (%d examples; once per cache)", out.name,
                       len(examples))
        report = train_cold_start(base, examples, tmp, config)
        marker = {"key": key, "format_version": COLD_START_FORMAT_VERSION, "base": str(base), "config": asdict(config),
                  "episode_ids": [e.get("episode_id") for e in examples], **report}
        (tmp / _SFT_MARKER).write_text(json.dumps(marker, indent=1), encoding="utf-8")

    return build_folder_once(out, marker=_SFT_MARKER, is_current=is_current, build=build,
                             owner="skillrl.sft.cold_start_policy")


def cold_start_report(folder: str | Path) -> dict[str, Any]:
    """The ``skillrl_sft.json`` of a folder written by :func:`cold_start_policy` (``{}`` when absent)."""
    import json

    try:
        return json.loads((Path(folder) / _SFT_MARKER).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def alfworld_cold_start(runtime: SkillRuntime, games: Sequence[Any], *, demos: str | Path | Sequence[Episode],
                        base: str | Path | None = None, max_actions: int | None = None,
                        config: ColdStartConfig | None = None, show_admissible: bool = False,
                        cache: str | Path | None = None, env: Any = None) -> tuple[Path, dict[str, Any]]:
    """SkillRL's cold start for the ALFWorld tool form, cached: the expert demonstrations of ``games`` replayed in
    the real games (:func:`replay_alfworld_demos`: rejected actions dropped), turned into tool-form examples whose
    prompts are the GRPO prompts (:func:`tool_examples` with :func:`skillrl.envs.alfworld.alfworld_rows`, the skills
    placed by :func:`environment_prompt`), then trained (:func:`cold_start_policy`).

    Args:
        runtime: the runtime of the RL run (its bank, mode, style, budget and tokenizer shape the prompts).
        games: the training games whose demonstrations to learn from (leave held-out and evaluation games out).
        demos: the demonstrations file (``expert_demos_train.jsonl``) or loaded episodes.
        base: the model to fine-tune (default :func:`skillrl.models.smollm2_path`).
        max_actions: the first ``N`` actions of each demonstration only (``None``: all).
        config: :class:`ColdStartConfig`.
        show_admissible: as :attr:`skillrl.envs.alfworld.ALFWorldTool.show_admissible` of the RL run.
        cache: cache folder (default ``$SKILLRL_CACHE``).
        env: an :class:`~skillrl.envs.alfworld.ALFWorldEnv` to reuse for the replay.

    Returns:
        ``(policy folder, report)``; the report is the folder's ``skillrl_sft.json`` plus the replay's numbers.
    """
    from skillrl.envs.alfworld import ALFWorldTool, alfworld_rows, first_observation_text
    from skillrl.episode import load_alfworld_demos

    if base is None:
        from skillrl.models import smollm2_path

        base = smollm2_path(cache)
    wanted = {g.game_id for g in games}
    if isinstance(demos, (str, Path)):
        episodes = [d for d in load_alfworld_demos(demos, progress=False) if d.episode_id in wanted]
    else:
        episodes = [d for d in demos if d.episode_id in wanted]
    replayed, stats = replay_alfworld_demos(episodes, games, env=env, max_actions=max_actions)
    if show_admissible:  # the tool's observations carry the next admissible commands, as ALFWorldTool.step's do
        from skillrl.adapters.agent.session import admissible_text

        def with_admissible(ep: Episode) -> Episode:
            steps = [st.model_copy(update={"observation": st.observation + "\n\n" + admissible_text(
                [a for a in nxt.model_extra["admissible"] if a != "help"])}) if nxt is not None else st
                for st, nxt in zip(ep.steps, [*ep.steps[1:], None])]
            return ep.model_copy(update={"steps": steps})

        replayed = [with_admissible(ep) for ep in replayed]
    from transformers.utils import get_json_schema

    tools = [get_json_schema(ALFWorldTool.step)]
    rows = {r["game_id"]: r for r in alfworld_rows(games)}

    def first(ep: Episode) -> str:
        admissible = ep.steps[0].model_extra.get("admissible", []) if ep.steps else []
        return first_observation_text(ep.initial_observation, admissible, show_admissible)

    examples = tool_examples(replayed, runtime, rows=rows, tools=tools, first_observation=first)
    if not examples:
        raise SkillRLError(f"no cold-start example: no demonstration of the {len(wanted)} games given replayed "
                           f"({stats.as_dict()})")
    folder = cold_start_policy(base, examples, config, cache=cache)
    return folder, {**cold_start_report(folder), "replay": stats.as_dict()}
