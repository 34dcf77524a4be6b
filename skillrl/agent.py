"""Skills for inference agents: the bank in the prompt, episodes recorded, the bank evolved between episodes.

A small API for agent authors, built on :class:`skillrl.runtime.SkillRuntime` (so retrieval, rendering and
placement are exactly the ones the RL adapters and the cold-start SFT data use)::

    from skillrl.agent import SkillAgentMemory, OpenAIChatPolicy

    memory = SkillAgentMemory("claude_style_skills.json", mode="template", profile="alfworld",
                              teacher="openai:gpt-4o-mini", evolve_every=20)
    policy = OpenAIChatPolicy("Qwen2.5-7B-Instruct", base_url="http://127.0.0.1:8000/v1")   # vLLM, any server

    obs, info = env.reset(game)
    session = memory.start(obs)                      # the initial prompt with the task's skills placed in it
    while not done:
        action = policy.act(session.messages(info["admissible_commands"]), info["admissible_commands"])
        obs, reward, done, info = env.step(action)
        session.step(action, obs)
    memory.record(session.finish(success=info["won"]))   # evolves the bank every 20 episodes

Or, with your own prompt: ``memory.skills(task)`` -> :class:`skillrl.render.SkillBlock`, ``memory.message(task)``
-> ``{"role": "system", "content": block}``.

Continual learning at inference (as ExpeL, Zhao et al. 2024, and ReasoningBank, Ouyang et al. 2025, do with
their memories) runs SkillRL's evolution step (arXiv 2602.08234, Sec. 3.3) on the agent's own recent
episodes: categories whose success rate is below the threshold send their failures to the teacher; the
bank's dedup, caps and versions apply as in training.

Policies (:class:`OpenAIChatPolicy`, :class:`HFChatPolicy`) map a conversation to one admissible command:
the reply is parsed (``<action>...</action>`` tags, ``Action:`` / ``>`` prefixes, a bare command) and, when it
is not exactly an admissible command, the admissible command it contains or, failing that, the closest one
(:func:`choose_admissible`) is taken. ``policy.choices`` counts how often each rule decided.
"""

from __future__ import annotations

import difflib
import logging
import re
import threading
import uuid
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from skillrl.episode import Episode, Step, parse_alfworld_goal
from skillrl.errors import MissingDependencyError, SkillRLError
from skillrl.render import SkillBlock, as_message
from skillrl.runtime import Augmentation, SkillRuntime

if TYPE_CHECKING:
    from skillrl.bank import SkillBank
    from skillrl.evolve import EvolutionReport

__all__ = [
    "DEFAULT_SYSTEM_PROMPT",
    "ChatPolicy",
    "Choice",
    "HFChatPolicy",
    "OpenAIChatPolicy",
    "PolicyError",
    "SkillAgentMemory",
    "SkillSession",
    "admissible_text",
    "choose_admissible",
    "initial_prompt",
]

logger = logging.getLogger("skillrl.agent")

#: The system message of agent prompts (inference, cold-start SFT data, RL datasets built by :mod:`skillrl.sft`).
DEFAULT_SYSTEM_PROMPT = (
    "You are an agent acting in a text environment. Read the observation and the task, then reply with "
    "exactly one action: the command only, no explanation."
)


class PolicyError(SkillRLError, RuntimeError):
    """The policy could not answer (endpoint unreachable or failing after retries, prompt longer than the
    model's context, a generation fault)."""


# ----------------------------------------------------------------------------------------------------------------
# prompts
# ----------------------------------------------------------------------------------------------------------------


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


# ----------------------------------------------------------------------------------------------------------------
# the memory: skills in, episodes in, evolution
# ----------------------------------------------------------------------------------------------------------------


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
        **runtime_kwargs: passed to :class:`SkillRuntime`, with its defaults (``mode="embedding"``,
            ``profile=None``, ``style="official"``, ``placement="user_prefix"``, ``teacher=None``, ``top_k``,
            ``delta``, ``max_tokens``, ``evolution``, ``output_dir``...). Use the same settings as your trainer's
            SkillCallback so the policy sees at inference the context it was trained on.

    Raises:
        ValueError: ``evolve_every`` < 1, or ``evolve_every`` without a teacher.
        BankFormatError: the bank file is not a skill bank.

    Thread safety: the runtime's lock guards retrieval and evolution; record episodes from one thread.
    """

    def __init__(self, bank: SkillBank | str | Path | None = None, *, runtime: SkillRuntime | None = None,
                 evolve_every: int | None = None, split: str = "inference",
                 system_prompt: str | None = DEFAULT_SYSTEM_PROMPT, **runtime_kwargs: Any) -> None:
        if runtime is None:
            if bank is None:
                raise ValueError("SkillAgentMemory needs a bank (SkillBank or path) or a runtime")
            runtime = SkillRuntime(bank, **runtime_kwargs)
        elif runtime_kwargs:
            raise ValueError(f"runtime settings {sorted(runtime_kwargs)} are ignored when a runtime is given")
        if evolve_every is not None:
            if evolve_every < 1:
                raise ValueError(f"evolve_every must be >= 1, got {evolve_every}")
            if runtime.teacher is None:
                raise ValueError("evolve_every needs a teacher: pass teacher='offline' | 'openai:MODEL' | 'hf:PATH' "
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
            ValueError: ``task`` is empty.
        """
        if not isinstance(task, str) or not task.strip():
            raise ValueError("task must be a non-empty string (the goal text)")
        task = task.strip()
        if observation is None or self.runtime.mode != "embedding" or not observation.strip():
            return self.runtime.skills_for(task)
        # embedding mode with an observation: category from the task, retrieval query = task + observation
        hook = self.runtime.hook
        with self.runtime._lock:
            category = hook.skillrl_detect_category(task=task, bank=self.bank)
            query = f"{task}\n{observation.strip()}"
            retrieval = hook.skillrl_retrieve(tasks=[query], categories=[category], bank=self.bank)[0]
            block = hook.skillrl_render(retrieval=retrieval)
            return Augmentation(prompt=block.text, original=task, task=task, category=category, block=block,
                                bank_version=self.bank.version)

    def skills(self, task: str, observation: str | None = None) -> SkillBlock:
        """The rendered skill block for ``task``: ``.text`` (markdown), ``.skill_ids``, ``.tokens``.

        Args:
            task: the goal text (``"put a clean apple in fridge."``).
            observation: the current observation. In embedding mode it joins the retrieval query (the category is
                still detected from the task); in template mode skills depend on the category only and it is
                ignored. Leave it out to get exactly the block the RL adapters inject for the task.

        Raises:
            ValueError: ``task`` is empty.
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
            ValueError: no task given and none found in the observation.
        """
        return SkillSession(observation, task=task, memory=self if use_skills else None,
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
            TypeError: ``episode`` is not an :class:`Episode`.
        """
        if not isinstance(episode, Episode):
            raise TypeError(f"record() takes an Episode, got {type(episode).__name__} "
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


# ----------------------------------------------------------------------------------------------------------------
# one episode's conversation
# ----------------------------------------------------------------------------------------------------------------


class SkillSession:
    """One episode's conversation: the initial prompt (with skills), then the agent's actions (assistant
    messages) and the environment's observations (user messages).

    Args:
        observation: the first observation.
        task: the goal (default: parsed from ``"Your task is to: ..."`` in ``observation``).
        memory: where skills come from (``None``: no skills, the baseline).
        system_prompt: system message (``None``: none).
        show_admissible: :meth:`messages` appends :func:`admissible_text` to the last user message when given
            admissible commands (default ``True``; the cold-start SFT data has none, ALFWorld's expert demos
            record no admissible commands).
        max_history_turns: keep only the last ``N`` (action, observation) turns in :meth:`messages` (``None``: all).
            The initial prompt, with the skills, is always kept.
        episode_id: id of the episode (default: a random one).
        split: split name of the episode.

    Attributes:
        prompt: the initial conversation with the skills placed in it.
        block: the skill block (``None`` without skills). skill_ids, category, bank_version: what was injected.
        steps: the :class:`Step` list so far.

    Raises:
        ValueError: no task given and none found in the observation; a negative ``max_history_turns``.
    """

    def __init__(self, observation: str, *, task: str | None = None, memory: SkillAgentMemory | None = None,
                 system_prompt: str | None = DEFAULT_SYSTEM_PROMPT, show_admissible: bool = True,
                 max_history_turns: int | None = None, episode_id: str | None = None,
                 split: str | None = "inference") -> None:
        task = (task or parse_alfworld_goal(observation) or "").strip()
        if not task:
            raise ValueError("no task: pass task=... or an observation containing 'Your task is to: <goal>'")
        if max_history_turns is not None and max_history_turns < 0:
            raise ValueError(f"max_history_turns must be >= 0, got {max_history_turns}")
        self.task = task
        self.initial_observation = observation
        self.show_admissible = show_admissible
        self.max_history_turns = max_history_turns
        self.episode_id = episode_id or f"episode-{uuid.uuid4().hex[:12]}"
        self.split = split
        base = initial_prompt(observation, system_prompt)
        self.block: SkillBlock | None = None
        self.category: str | None = None
        self.bank_version: int | None = None
        if memory is not None:
            aug = memory.augment(base, task=task)
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
        """The episode as an :class:`Episode`: task, bank category, steps, outcome, injected skill ids.

        Args:
            success: whether the task was solved.
            reward: episode reward (default 1.0 / 0.0 from ``success``).
            category: override the detected bank category.
            **metadata: stored in ``Episode.metadata`` (JSON-serialisable values: task type, game id...).
        """
        meta = {"bank_version": self.bank_version, "with_skills": self.block is not None, **metadata}
        return Episode(episode_id=self.episode_id, task=self.task, category=category or self.category,
                       initial_observation=self.initial_observation, steps=list(self.steps),
                       reward=float(reward if reward is not None else (1.0 if success else 0.0)),
                       success=bool(success), source="skillrl-agent", split=self.split,
                       skill_ids=list(self.skill_ids), metadata=meta)


# ----------------------------------------------------------------------------------------------------------------
# choosing an admissible command from a free-text reply
# ----------------------------------------------------------------------------------------------------------------

_TAG_RE = re.compile(r"<action>(.*?)(?:</action>|$)", re.IGNORECASE | re.DOTALL)
_PREFIX_RE = re.compile(r"^\s*(?:>+|(?:next\s+)?action\s*[:=]|act\s*:|command\s*:)\s*", re.IGNORECASE)
_EDGE_RE = re.compile(r"^[\s\"'`*.>\-]+|[\s\"'`*.!]+$")
_SPACE_RE = re.compile(r"\s+")


def _norm(text: str) -> str:
    return _SPACE_RE.sub(" ", _EDGE_RE.sub("", str(text))).lower().strip()


@dataclass(frozen=True)
class Choice:
    """What :func:`choose_admissible` decided.

    Attributes:
        action: the command to send to the environment.
        reply: the policy's raw reply.
        how: ``"exact"`` (a parsed candidate is an admissible command), ``"contained"`` (the reply contains one;
            the longest wins), ``"closest"`` (the most similar by ``difflib`` ratio), ``"empty"`` (empty reply:
            the first admissible command), or ``"free"`` (no admissible list: the parsed reply itself).
        score: similarity of the chosen command to the reply (1.0 for exact / contained).
    """

    action: str
    reply: str
    how: Literal["exact", "contained", "closest", "empty", "free"]
    score: float = 1.0


def _candidates(reply: str) -> list[str]:
    out = [m.strip() for m in _TAG_RE.findall(reply)][::-1]  # the last tagged action first
    lines = [ln for ln in reply.splitlines() if ln.strip()][:20]
    prefixed = [_PREFIX_RE.sub("", ln) for ln in lines if _PREFIX_RE.match(ln)]
    out += prefixed[::-1]
    out += [_PREFIX_RE.sub("", ln) for ln in lines]
    out.append(reply)
    return [c for c in (c.strip() for c in out) if c]


def choose_admissible(reply: str, admissible: Sequence[str]) -> Choice:
    """Map a policy's free-text reply to one admissible command.

    Rules, in order: (1) a candidate - the text of an ``<action>...</action>`` tag (verl-agent / SkillRL's format),
    a line after ``Action:`` / ``>``, any line, the whole reply - equals an admissible command (case, surrounding
    quotes, backticks and final period ignored); (2) the reply contains admissible commands as whole words: the
    longest wins (``"I will go to desk 1 now"`` -> ``"go to desk 1"``, never ``"go to desk 10"``); (3) the
    admissible command most similar to a candidate (``difflib.SequenceMatcher`` ratio; ties: list order).

    Args:
        reply: the policy's reply.
        admissible: the commands valid now (ALFWorld ``admissible_commands``); empty: the reply is returned parsed.

    Returns:
        a :class:`Choice`; ``choice.action`` is always one of ``admissible`` when that is non-empty.
    """
    reply = reply or ""
    cands = _candidates(reply)
    if not admissible:
        return Choice(action=cands[0] if cands else "", reply=reply, how="free", score=0.0)
    table: dict[str, str] = {}
    for a in admissible:
        table.setdefault(_norm(a), a)
    if not cands:
        return Choice(action=admissible[0], reply=reply, how="empty", score=0.0)
    for c in cands:
        hit = table.get(_norm(c))
        if hit is not None:
            return Choice(action=hit, reply=reply, how="exact")
    flat = _norm(reply)
    contained = [(len(n), a) for n, a in table.items()
                 if n and re.search(r"(?<![\w])" + re.escape(n) + r"(?![\w])", flat)]
    if contained:
        best = max(contained, key=lambda t: t[0])  # max() keeps the first of equal lengths (list order)
        return Choice(action=best[1], reply=reply, how="contained")
    best_a, best_s = admissible[0], -1.0
    normed = [_norm(c) for c in cands[:12]]
    for n, a in table.items():
        s = max(difflib.SequenceMatcher(None, c, n).ratio() for c in normed)
        if s > best_s:
            best_a, best_s = a, s
    return Choice(action=best_a, reply=reply, how="closest", score=round(best_s, 4))


# ----------------------------------------------------------------------------------------------------------------
# policies
# ----------------------------------------------------------------------------------------------------------------


class ChatPolicy:
    """A chat model acting in an environment: ``act(messages, admissible) -> command``.

    Subclasses implement :meth:`reply` (messages -> text). :meth:`act` maps the reply to an admissible command
    (:func:`choose_admissible`), keeps it in ``last_choice`` and counts the rule used in ``choices``.
    """

    name = "policy"

    def __init__(self) -> None:
        self.choices: Counter[str] = Counter()
        self.last_choice: Choice | None = None
        self.seed: int | None = None

    def reply(self, messages: list[dict[str, str]]) -> str:  # pragma: no cover - abstract
        raise NotImplementedError

    def set_seed(self, seed: int | None) -> None:
        """Seed the policy's sampling for the next replies (``None``: unseeded)."""
        self.seed = seed

    def act(self, messages: list[dict[str, str]], admissible: Sequence[str] = ()) -> str:
        """One action for the conversation ``messages`` (``[{"role", "content"}]``).

        Returns:
            one of ``admissible`` (any text when ``admissible`` is empty).

        Raises:
            PolicyError: the model could not answer.
        """
        choice = choose_admissible(self.reply(messages), list(admissible))
        self.last_choice = choice
        self.choices[choice.how] += 1
        return choice.action

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.name!r})"


class OpenAIChatPolicy(ChatPolicy):
    """A policy behind an OpenAI-compatible ``/v1/chat/completions`` endpoint (vLLM, llama.cpp, a hosted API),
    through the ``openai`` SDK.

    Args:
        model: the served model name.
        base_url: endpoint root including ``/v1`` (``None``: the SDK default / ``OPENAI_BASE_URL``).
        api_key: default ``OPENAI_API_KEY``; for a local server without auth any string works (``"not-needed"`` is
            sent when ``base_url`` is set and no key is found).
        temperature: sampling temperature (default 0.0: greedy, as evaluations usually run).
        max_tokens: reply budget (default 64 tokens: one command, or a short thought plus an ``<action>`` tag).
        timeout: seconds per request (default 60). max_retries: SDK retries on connection errors, 408/409/429
            and 5xx (default 3).
        extra_body: extra JSON fields for the request (server-specific options).

    :meth:`set_seed` sends ``seed`` with each request (servers that support it make sampling reproducible).

    Raises:
        PolicyError: no API key for the public endpoint (on construction); the request failing (on :meth:`act`).
        MissingDependencyError: ``openai`` is not installed (on the first request).
    """

    def __init__(self, model: str, base_url: str | None = None, api_key: str | None = None, *,
                 temperature: float | None = 0.0, max_tokens: int | None = 64, timeout: float = 60.0,
                 max_retries: int = 3, extra_body: dict[str, Any] | None = None) -> None:
        super().__init__()
        if not model:
            raise ValueError("OpenAIChatPolicy needs a model name")
        if timeout <= 0:
            raise ValueError(f"timeout must be > 0 seconds, got {timeout}")
        self.model = model
        from skillrl.teachers import openai_credentials

        self.base_url, self._api_key = openai_credentials(base_url, api_key, "OpenAIChatPolicy", PolicyError)
        self.temperature, self.max_tokens = temperature, max_tokens
        self.timeout, self.max_retries = float(timeout), int(max_retries)
        self.extra_body = dict(extra_body or {})
        self.name = f"openai:{model}"
        self.usage = Counter()
        self._client = None

    def _get_client(self):
        if self._client is None:
            from skillrl.teachers import openai_client

            self._client = openai_client("OpenAIChatPolicy", self._api_key, self.base_url, self.timeout,
                                         self.max_retries)
        return self._client

    def reply(self, messages: list[dict[str, str]]) -> str:
        """The model's reply text. Raises :class:`PolicyError` when the request fails after retries."""
        client = self._get_client()
        import openai

        kwargs: dict[str, Any] = {"model": self.model, "messages": messages}
        if self.temperature is not None:
            kwargs["temperature"] = self.temperature
        if self.max_tokens is not None:
            kwargs["max_tokens"] = self.max_tokens
        if self.seed is not None:
            kwargs["seed"] = self.seed
        if self.extra_body:
            kwargs["extra_body"] = self.extra_body
        try:
            resp = client.chat.completions.create(**kwargs)
        except openai.APIStatusError as err:
            raise PolicyError(f"{self.name}: HTTP {err.status_code} after {self.max_retries} retries: "
                              f"{str(getattr(err, 'message', '') or err)[:200]}") from None
        except openai.APITimeoutError:
            raise PolicyError(f"{self.name}: request timed out after {self.timeout:g} s "
                              f"({self.max_retries} retries)") from None
        except openai.APIConnectionError as err:
            raise PolicyError(f"{self.name}: cannot connect to {self.base_url or 'the OpenAI API'}: "
                              f"{err.__cause__ or err}") from None
        except openai.OpenAIError as err:
            raise PolicyError(f"{self.name}: {type(err).__name__}: {str(err)[:200]}") from None
        u = getattr(resp, "usage", None)
        self.usage["calls"] += 1
        self.usage["prompt_tokens"] += int(getattr(u, "prompt_tokens", 0) or 0)
        self.usage["completion_tokens"] += int(getattr(u, "completion_tokens", 0) or 0)
        choices = getattr(resp, "choices", None) or []
        if not choices:
            raise PolicyError(f"{self.name}: the response has no choices")
        return getattr(choices[0].message, "content", None) or ""


class HFChatPolicy(ChatPolicy):
    """A policy running a local ``transformers`` causal LM through its chat template (CPU by default).

    Args:
        path: a local directory with the model and its tokenizer (nothing is downloaded).
        max_new_tokens: reply budget (default 24 tokens: one ALFWorld command).
        temperature: 0 (default) = greedy; > 0 samples (seed it with :meth:`set_seed`).
        device: torch device (default ``"cpu"``).

    Raises:
        MissingDependencyError: ``transformers`` / ``torch`` are not installed.
        PolicyError: the model cannot be loaded (on construction); the prompt does not fit the model's context
            (``max_position_embeddings - max_new_tokens``) or generation fails (on :meth:`act`).
    """

    def __init__(self, path: str | Path, *, max_new_tokens: int = 24, temperature: float = 0.0,
                 device: str = "cpu") -> None:
        super().__init__()
        try:
            import torch  # noqa: F401
            from transformers import AutoModelForCausalLM, AutoTokenizer
        except ImportError as err:
            raise MissingDependencyError("transformers", "trl", "HFChatPolicy") from err
        self.path = str(path)
        self.max_new_tokens = int(max_new_tokens)
        self.temperature = float(temperature)
        self.device = device
        self.name = f"hf:{self.path}"
        try:
            self.tokenizer = AutoTokenizer.from_pretrained(self.path, local_files_only=True)
            self.model = AutoModelForCausalLM.from_pretrained(self.path, local_files_only=True).to(device)
        except (OSError, ValueError) as err:
            raise PolicyError(f"HFChatPolicy cannot load a causal LM from {self.path}: {err}") from err
        self.model.eval()
        self.usage = Counter()
        self._lock = threading.Lock()

    def set_seed(self, seed: int | None) -> None:
        """Seed torch's generator for the next replies (matters only when ``temperature > 0``)."""
        super().set_seed(seed)
        if seed is not None:
            import torch

            torch.manual_seed(int(seed))

    def reply(self, messages: list[dict[str, str]]) -> str:
        """The model's reply text (new tokens only, special tokens removed)."""
        import torch

        tok = self.tokenizer
        try:
            if getattr(tok, "chat_template", None):
                enc = tok.apply_chat_template(messages, add_generation_prompt=True, tokenize=True, return_dict=True,
                                              return_tensors="pt")
            else:
                text = "\n\n".join(f"{m['role']}: {m['content']}" for m in messages) + "\n\nassistant:"
                enc = tok(text, return_tensors="pt")
        except Exception as err:  # noqa: BLE001 - template faults are policy errors
            raise PolicyError(f"{self.name}: cannot build the prompt: {type(err).__name__}: {err}") from None
        input_ids = enc["input_ids"]
        n_in = int(input_ids.shape[-1])
        limit = getattr(self.model.config, "max_position_embeddings", None)
        if limit is not None and n_in + self.max_new_tokens > limit:
            raise PolicyError(f"{self.name}: prompt of {n_in} tokens + max_new_tokens {self.max_new_tokens} exceeds "
                              f"the model context of {limit} tokens (use max_history_turns to shorten the history)")
        pad = tok.pad_token_id if tok.pad_token_id is not None else tok.eos_token_id
        kwargs: dict[str, Any] = {"max_new_tokens": self.max_new_tokens, "pad_token_id": pad}
        kwargs.update(do_sample=True, temperature=self.temperature) if self.temperature > 0 else \
            kwargs.update(do_sample=False)
        mask = enc.get("attention_mask")
        try:
            with self._lock, torch.no_grad():
                out = self.model.generate(input_ids=input_ids.to(self.device),
                                          attention_mask=None if mask is None else mask.to(self.device), **kwargs)
        except Exception as err:  # noqa: BLE001 - generation faults must not crash an agent loop silently
            raise PolicyError(f"{self.name}: generation failed: {type(err).__name__}: {err}") from None
        new = out[0, n_in:]
        self.usage["calls"] += 1
        self.usage["prompt_tokens"] += n_in
        self.usage["completion_tokens"] += int(new.shape[-1])
        return tok.decode(new, skip_special_tokens=True)
