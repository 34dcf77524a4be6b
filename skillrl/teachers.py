"""Teachers: the model that turns episodes into skills (SkillRL, arXiv 2602.08234, Sec. 3.2 and 3.4).

One interface, :class:`Teacher`, three backends:

- :class:`OpenAITeacher` - any OpenAI-compatible chat-completions endpoint (OpenAI, Azure-compatible
  gateways, vLLM / llama.cpp / Ollama servers) through the ``openai`` SDK;
- :class:`HFTeacher` - a local ``transformers`` causal LM, prompted through its chat template;
- :class:`OfflineTeacher` - no LLM at all: statistics over the episodes' real actions and observations
  (the embedded default, deterministic, fast).

Every backend answers the two questions SkillRL asks a teacher:

- :meth:`Teacher.distill` - from (mostly successful) episodes, propose skills: strategic patterns per task
  category (task-specific) and regularities across categories (general); Sec. 3.2 "skill distillation".
- :meth:`Teacher.reflect` - from failed episodes (validation failures of weak categories), propose new or
  refined skills and common mistakes; Sec. 3.4 "recursive skill evolution".

Both return a :class:`TeacherAnswer` holding :class:`Proposals`. API faults never raise into the caller:
the answer carries ``error`` instead (set ``raise_on_error=True``, or call :meth:`TeacherAnswer.unwrap`,
to get a :class:`skillrl.errors.TeacherError`). LLM backends also expose :meth:`Teacher.complete_json`
(one system + user prompt -> a pydantic-validated JSON answer, with one repair round) and
:meth:`Teacher.complete_many` (bounded concurrency).

Unlike the official implementation (which shows the teacher placeholder prompts), the LLM teachers see
the real task text, observations and actions of each episode, truncated to a character budget, and the
current skills of the category, and may propose refinements of existing skills.
"""

from __future__ import annotations

import json
import math
import os
import re
import statistics
import threading
from abc import ABC
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Generic, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from skillrl.episode import Episode
from skillrl.errors import MissingDependencyError, TeacherError, TeacherSpecError
from skillrl.hookspecs import hookimpl
from skillrl.skill import MAX_MISTAKE_FIELD, MAX_PRINCIPLE, MAX_TITLE, MAX_WHEN, Skill

__all__ = [
    "HFTeacher",
    "MistakeProposal",
    "OfflineTeacher",
    "OpenAITeacher",
    "Proposals",
    "SkillProposal",
    "Teacher",
    "TeacherAnswer",
    "Usage",
    "build_distill_prompt",
    "build_reflect_prompt",
    "make_teacher",
    "parse_json_answer",
    "render_episode",
]

# ===================================================================================================
# schemas
# ===================================================================================================


class SkillProposal(BaseModel):
    """A skill the teacher proposes: a new one (``action="add"``) or a new text for an existing one.

    Attributes:
        action: ``"add"`` a new skill, or ``"refine"`` the existing skill ``skill_id``.
        skill_id: the id of the skill to refine (required for ``"refine"``; ignored for ``"add"``, the bank
            assigns ids).
        title: short name (<= 120 chars).
        principle: what to do (<= 1000 chars).
        when_to_apply: the situation it applies to (<= 500 chars, may be empty).
        tier: ``"general"`` or ``"task_specific"``.
        category: the task category of a task-specific skill (``None`` for general skills; callers fill it
            with the requested category when a task-specific proposal leaves it empty).
        rationale: why the teacher proposes it (evidence, counts); kept as provenance note.
        episode_ids: ids of the episodes it was learned from (may be empty).
    """

    model_config = ConfigDict(extra="ignore")

    action: Literal["add", "refine"] = "add"
    skill_id: str | None = None
    title: str = Field(min_length=1, max_length=MAX_TITLE)
    principle: str = Field(min_length=1, max_length=MAX_PRINCIPLE)
    when_to_apply: str = Field(default="", max_length=MAX_WHEN)
    tier: Literal["general", "task_specific"] = "general"
    category: str | None = None
    rationale: str = ""
    episode_ids: list[str] = Field(default_factory=list)

    @model_validator(mode="after")
    def _refine_needs_id(self) -> SkillProposal:
        if self.action == "refine" and not self.skill_id:
            raise ValueError("a 'refine' proposal needs the skill_id of the skill it refines")
        return self


class MistakeProposal(BaseModel):
    """A common mistake the teacher proposes (official ``common_mistakes`` entry without its id).

    Attributes:
        description: what the agent does wrong (<= 1000 chars).
        why_it_happens: its cause (may be empty).
        how_to_avoid: the remedy (<= 1000 chars).
        episode_ids: ids of the failed episodes it was seen in.
    """

    model_config = ConfigDict(extra="ignore")

    description: str = Field(min_length=1, max_length=MAX_MISTAKE_FIELD)
    why_it_happens: str = Field(default="", max_length=MAX_MISTAKE_FIELD)
    how_to_avoid: str = Field(min_length=1, max_length=MAX_MISTAKE_FIELD)
    episode_ids: list[str] = Field(default_factory=list)


class Proposals(BaseModel):
    """The teacher's answer to :meth:`Teacher.distill` / :meth:`Teacher.reflect`."""

    model_config = ConfigDict(extra="ignore")

    skills: list[SkillProposal] = Field(default_factory=list)
    mistakes: list[MistakeProposal] = Field(default_factory=list)


class Usage(BaseModel):
    """Token usage and cost of teacher calls.

    Attributes:
        prompt_tokens: input tokens, as reported by the API (0 when the server reports none).
        completion_tokens: output tokens.
        calls: teacher -> model calls made, including repair calls and failed calls. HTTP retries made
            inside the ``openai`` SDK (429 / 5xx / timeouts) are not counted separately.
        errors: calls that failed (transport errors, timeouts, HTTP errors after retries).
        cost_usd: cost in US dollars from the configured per-1k-token prices; ``None`` when no price is
            configured (local models, unknown prices).
    """

    prompt_tokens: int = 0
    completion_tokens: int = 0
    calls: int = 0
    errors: int = 0
    cost_usd: float | None = None

    def __add__(self, other: Usage) -> Usage:
        cost = None if self.cost_usd is None and other.cost_usd is None else \
            (self.cost_usd or 0.0) + (other.cost_usd or 0.0)
        return Usage(prompt_tokens=self.prompt_tokens + other.prompt_tokens,
                     completion_tokens=self.completion_tokens + other.completion_tokens,
                     calls=self.calls + other.calls, errors=self.errors + other.errors, cost_usd=cost)


T = TypeVar("T")


class TeacherAnswer(BaseModel, Generic[T]):
    """The outcome of one teacher request.

    Attributes:
        value: the validated answer (an instance of the requested schema), ``None`` on error.
        raw: the model's last raw text (``""`` when no text came back; a JSON dump for the offline teacher).
        usage: usage of this request (all its calls, including a repair call).
        error: what went wrong (timeout, HTTP status, invalid JSON after one repair...), ``None`` on success.
    """

    model_config = ConfigDict(arbitrary_types_allowed=True)

    value: T | None = None
    raw: str = ""
    usage: Usage = Field(default_factory=Usage)
    error: str | None = None

    @property
    def ok(self) -> bool:
        """True when a value came back and no error."""
        return self.error is None and self.value is not None

    def unwrap(self) -> T:
        """The value, or raise :class:`skillrl.errors.TeacherError` with the error message."""
        if not self.ok:
            raise TeacherError(self.error or "the teacher returned no value")
        return self.value  # type: ignore[return-value]


# ===================================================================================================
# JSON parsing shared by the LLM backends
# ===================================================================================================

_THINK_RE = re.compile(r"<think>.*?</think>", re.DOTALL | re.IGNORECASE)
_FENCE_RE = re.compile(r"```(?:json|JSON)?\s*(.*?)```", re.DOTALL)


def _short_validation_error(err: ValidationError, limit: int = 5) -> str:
    parts = []
    for item in err.errors()[:limit]:
        loc = ".".join(str(p) for p in item["loc"]) or "(root)"
        parts.append(f"{loc}: {item['msg']}")
    more = f" (+{err.error_count() - limit} more)" if err.error_count() > limit else ""
    return "; ".join(parts) + more


def parse_json_answer(raw: str, schema: type[BaseModel]) -> tuple[BaseModel | None, str | None]:
    """Parse a model's text answer into ``schema``.

    Accepts a bare JSON object, one wrapped in a markdown code fence, or one surrounded by prose (the
    outermost ``{...}`` is tried); ``<think>...</think>`` blocks of reasoning models are dropped.

    Returns:
        ``(value, None)`` on success, ``(None, error_message)`` otherwise (empty answer, no JSON object,
        invalid JSON, or a pydantic validation error listing the failing fields). Never raises.
    """
    text = _THINK_RE.sub("", raw or "").strip()
    if not text:
        return None, "empty answer: expected one JSON object"
    if "{" not in text and "[" not in text:
        return None, f"no JSON object found in the answer (it starts: {_clip(text, 60)!r})"
    candidates = [text]
    candidates += [m.group(1).strip() for m in _FENCE_RE.finditer(text)]
    start, end = text.find("{"), text.rfind("}")
    if 0 <= start < end:
        candidates.append(text[start:end + 1])
    last_error = "no JSON object found in the answer"
    for cand in candidates:
        try:
            data = json.loads(cand)
        except json.JSONDecodeError as err:
            last_error = f"invalid JSON: {err.msg} at line {err.lineno} column {err.colno}"
            continue
        if not isinstance(data, dict):
            last_error = f"expected a JSON object, got {type(data).__name__}"
            continue
        try:
            return schema.model_validate(data), None
        except ValidationError as err:
            return None, f"JSON does not match the schema: {_short_validation_error(err)}"
    return None, last_error


# ===================================================================================================
# prompts for LLM teachers
# ===================================================================================================


def _clip(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: max(0, limit - 3)] + "..."


def render_episode(ep: Episode, max_chars: int = 2000, obs_chars: int = 240) -> str:
    """Render an episode for a teacher prompt: task, outcome, initial observation and steps.

    Long episodes keep their first and last steps and say how many were omitted in between; each
    observation is cut to ``obs_chars`` characters. The result is at most about ``max_chars`` characters.
    """
    head = [(f"Episode {ep.episode_id} | category: {ep.category or 'unknown'} | "
             f"outcome: {'SUCCESS' if ep.success else 'FAILURE'} (reward {ep.reward:g}) | {ep.num_steps} steps"),
            f"Task: {ep.task}"]
    if ep.initial_observation:
        head.append(f"Initial observation: {_clip(ep.initial_observation, obs_chars * 2)}")
    if not ep.steps:
        for key in ("contextual_description",):
            if ep.metadata.get(key):
                head.append(f"Summary: {_clip(str(ep.metadata[key]), obs_chars * 2)}")
    lines = []
    for i, st in enumerate(ep.steps, 1):
        think = f" (thought: {_clip(st.reasoning, 120)})" if st.reasoning else ""
        lines.append(f"{i}. > {st.action}{think}\n   {_clip(st.observation, obs_chars)}")
    text = "\n".join(head)
    budget = max_chars - len(text)
    if sum(len(x) + 1 for x in lines) <= budget:
        return text + ("\n" + "\n".join(lines) if lines else "")
    # keep the first and the last steps
    kept_head: list[str] = []
    kept_tail: list[str] = []
    used = 60
    lo, hi = 0, len(lines) - 1
    while lo <= hi:
        if len(kept_head) <= len(kept_tail):
            if used + len(lines[lo]) + 1 > budget:
                break
            kept_head.append(lines[lo])
            used += len(lines[lo]) + 1
            lo += 1
        else:
            if used + len(lines[hi]) + 1 > budget:
                break
            kept_tail.insert(0, lines[hi])
            used += len(lines[hi]) + 1
            hi -= 1
    omitted = len(lines) - len(kept_head) - len(kept_tail)
    return "\n".join([text, *kept_head, f"   ... ({omitted} steps omitted) ...", *kept_tail])


def _render_skills(skills: Sequence[Skill], category: str | None) -> str:
    chosen = [s for s in skills if category is None or s.tier == "general" or s.category == category]
    if not chosen:
        return "(none yet)"
    out = []
    for s in chosen:
        where = "general" if s.tier == "general" else f"task_specific/{s.category}"
        when = f" [when: {s.when_to_apply}]" if s.when_to_apply else ""
        out.append(f"- {s.skill_id} ({where}) {s.title}: {s.principle}{when}")
    return "\n".join(out)


def _pick_episodes(episodes: Sequence[Episode], max_episodes: int) -> list[Episode]:
    """Up to ``max_episodes`` episodes, round-robin over categories (deterministic, file order within)."""
    by_cat: dict[str | None, list[Episode]] = defaultdict(list)
    for ep in episodes:
        by_cat[ep.category].append(ep)
    return round_robin(list(by_cat.values()), max_episodes)


def round_robin(queues: Sequence[Sequence[Any]], k: int) -> list[Any]:
    """Up to ``k`` items taken one at a time from each queue in turn (so no queue crowds out the others)."""
    pending = [list(q) for q in queues]
    out: list[Any] = []
    i = 0
    while len(out) < k and any(pending):
        q = pending[i % len(pending)]
        if q:
            out.append(q.pop(0))
        i += 1
    return out


_SCHEMA_HINT = (
    'Reply with ONE JSON object and nothing else, of the form {"skills": [{"action": "add" or "refine", '
    '"skill_id": null or the id of the existing skill to refine, "title": "...", "principle": "...", '
    '"when_to_apply": "...", "tier": "general" or "task_specific", "category": "<category>" or null, '
    '"rationale": "...", "episode_ids": ["..."]}], "mistakes": [{"description": "...", "why_it_happens": "...", '
    '"how_to_avoid": "...", "episode_ids": ["..."]}]}. Limits: title <= 120 characters, principle <= 1000, '
    "when_to_apply <= 500."
)

_DISTILL_SYSTEM = (
    "You are the teacher of a SkillRL agent (arXiv 2602.08234). You read an agent's episodes and distil "
    "reusable skills: short, actionable principles that would help a policy solve NEW tasks of the same "
    "kind. From successful episodes extract strategic patterns (plans, where things are, which command "
    "works); from failed episodes extract lessons and common mistakes. A general skill holds across task "
    "categories; a task-specific skill belongs to one category. Do not copy task-specific object names "
    "into principles unless they matter; do not repeat existing skills - refine one (action 'refine' with "
    "its skill_id) when you can improve it. " + _SCHEMA_HINT
)

_REFLECT_SYSTEM = (
    "You are the teacher of a SkillRL agent (arXiv 2602.08234). The agent failed the episodes below "
    "while using the current skills. Find where each episode went wrong (the first wrong or wasted action), "
    "and propose what would have prevented it: new skills, refinements of existing skills that were "
    "insufficient (action 'refine' with the skill_id), and common mistakes (what the agent did, why, and "
    "what to do instead). Ground every proposal in the episodes. " + _SCHEMA_HINT
)


def build_distill_prompt(episodes: Sequence[Episode], category: str | None, existing: Sequence[Skill] = (), *,
                         max_chars: int = 12000, max_episodes: int = 8, max_skills: int = 5) -> tuple[str, str]:
    """The (system, user) prompt an LLM teacher gets for :meth:`Teacher.distill`.

    The user prompt shows the category, the current skills (general + that category's), and up to
    ``max_episodes`` episodes (round-robin over categories) rendered by :func:`render_episode` with an equal
    share of ``max_chars``.
    """
    chosen = _pick_episodes(episodes, max_episodes)
    share = max(400, (max_chars - 1500) // max(1, len(chosen)))
    cat = category or "several (see each episode)"
    parts = [
        f"Task category: {cat}",
        f"Current skills:\n{_render_skills(existing, category)}",
        (f"{len(chosen)} of {len(episodes)} episodes "
         f"({sum(e.success for e in chosen)} successful, {sum(not e.success for e in chosen)} failed):"),
        *(render_episode(ep, share) for ep in chosen),
        f"Propose at most {max_skills} skills (new or refined) and at most 3 common mistakes. "
        + (f"Task-specific skills must have category '{category}'." if category else
           "Give each task-specific skill the category of the episodes it comes from."),
    ]
    return _DISTILL_SYSTEM, "\n\n".join(parts)


def build_reflect_prompt(failures: Sequence[Episode], category: str | None, existing: Sequence[Skill] = (), *,
                         max_chars: int = 12000, max_episodes: int = 5, max_skills: int = 3) -> tuple[str, str]:
    """The (system, user) prompt an LLM teacher gets for :meth:`Teacher.reflect` (see :func:`build_distill_prompt`)."""
    chosen = _pick_episodes(failures, max_episodes)
    share = max(400, (max_chars - 1500) // max(1, len(chosen)))
    parts = [
        f"Task category: {category or 'several (see each episode)'}",
        f"Current skills:\n{_render_skills(existing, category)}",
        f"{len(chosen)} of {len(failures)} failed episodes:",
        *(render_episode(ep, share) for ep in chosen),
        f"Propose at most {max_skills} skills (new or refined) and at most 3 common mistakes."
        + (f" Task-specific skills must have category '{category}'." if category else ""),
    ]
    return _REFLECT_SYSTEM, "\n\n".join(parts)


_REPAIR = ("Your previous answer could not be used: {error}. Reply again with ONLY the corrected JSON object "
           "(no prose, no code fences) that follows the required format.")


# ===================================================================================================
# the interface
# ===================================================================================================


class Teacher(ABC):
    """A teacher: proposes skills from episodes (see the module docstring).

    Attributes:
        name: ``"openai:<model>"``, ``"hf:<path>"``, ``"offline"``; recorded in skill provenance.
        max_concurrency: parallel calls in :meth:`complete_many` (LLM backends).
        raise_on_error: raise :class:`skillrl.errors.TeacherError` instead of returning an answer with
            ``error`` set (for the CLI; training loops keep the default ``False``).
        repair: make one repair call when the answer is not valid JSON for the schema (default ``True``).
    """

    name: str = "teacher"

    def __init__(self, *, max_concurrency: int = 1, raise_on_error: bool = False, repair: bool = True):
        if max_concurrency < 1:
            raise ValueError(f"max_concurrency must be >= 1, got {max_concurrency}")
        self.max_concurrency = max_concurrency
        self.raise_on_error = raise_on_error
        self.repair = repair
        self._usage = Usage()
        self._lock = threading.Lock()

    # -- usage ------------------------------------------------------------------------------------
    @property
    def usage(self) -> Usage:
        """Running totals over every call this teacher made (a copy)."""
        with self._lock:
            return self._usage.model_copy()

    def _count(self, usage: Usage) -> None:
        with self._lock:
            self._usage = self._usage + usage

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r})"

    # -- the LLM primitive ------------------------------------------------------------------------
    def _chat(self, messages: list[dict[str, str]]) -> tuple[str, Usage]:
        """One model call: chat ``messages`` -> (answer text, usage of this call).

        Backends raise :class:`TeacherError` for transport faults (after their own retries).
        """
        raise TeacherError(f"{self.name} does not answer free-form prompts")

    def _call(self, messages: list[dict[str, str]]) -> tuple[str | None, Usage, str | None]:
        try:
            text, usage = self._chat(messages)
        except TeacherError as err:
            usage = Usage(calls=1, errors=1)
            self._count(usage)
            return None, usage, str(err)
        self._count(usage)
        return text, usage, None

    def _finish(self, answer: TeacherAnswer) -> TeacherAnswer:
        if answer.error is not None and self.raise_on_error:
            raise TeacherError(f"{self.name}: {answer.error}")
        return answer

    def complete_json(self, system: str, user: str, schema: type[BaseModel]) -> TeacherAnswer:
        """Ask for one JSON object matching ``schema`` (a pydantic model class).

        Makes one call; when the answer is not valid JSON for the schema (or empty), sends the error back
        and asks once for corrected JSON (``repair=True``). Never raises for API faults or bad answers
        (unless ``raise_on_error``): the returned answer has ``error`` set.

        Returns:
            :class:`TeacherAnswer` with ``value`` an instance of ``schema`` and the usage of both calls.
        """
        messages = [{"role": "system", "content": system}, {"role": "user", "content": user}]
        text, usage, err = self._call(messages)
        if err is not None:
            return self._finish(TeacherAnswer(raw="", usage=usage, error=err))
        value, perr = parse_json_answer(text, schema)
        if perr is None:
            return self._finish(TeacherAnswer(value=value, raw=text, usage=usage))
        if not self.repair:
            return self._finish(TeacherAnswer(raw=text, usage=usage, error=perr))
        messages += [{"role": "assistant", "content": text}, {"role": "user", "content": _REPAIR.format(error=perr)}]
        text2, usage2, err2 = self._call(messages)
        usage = usage + usage2
        if err2 is not None:
            return self._finish(TeacherAnswer(raw=text, usage=usage, error=f"{perr}; the repair call failed: {err2}"))
        value, perr2 = parse_json_answer(text2, schema)
        if perr2 is None:
            return self._finish(TeacherAnswer(value=value, raw=text2, usage=usage))
        return self._finish(TeacherAnswer(raw=text2, usage=usage,
                                          error=f"no valid JSON after one repair: {perr2} (first answer: {perr})"))

    def complete_many(self, requests: Sequence[tuple[str, str]], schema: type[BaseModel]) -> list[TeacherAnswer]:
        """:meth:`complete_json` for many ``(system, user)`` pairs, at most ``max_concurrency`` at a time.

        Returns the answers in the order of ``requests``.
        """
        if self.max_concurrency == 1 or len(requests) <= 1:
            return [self.complete_json(s, u, schema) for s, u in requests]
        with ThreadPoolExecutor(max_workers=min(self.max_concurrency, len(requests)),
                                thread_name_prefix="skillrl-teacher") as pool:
            return list(pool.map(lambda req: self.complete_json(req[0], req[1], schema), requests))

    # -- the SkillRL questions --------------------------------------------------------------------
    @staticmethod
    def _fill_category(answer: TeacherAnswer, category: str | None) -> TeacherAnswer:
        if answer.value is not None and category is not None:
            for sp in answer.value.skills:
                if sp.tier == "task_specific" and not sp.category:
                    sp.category = category
        return answer

    def distill(self, episodes: Sequence[Episode], category: str | None = None,
                existing: Sequence[Skill] = ()) -> TeacherAnswer:
        """Propose skills from episodes (SkillRL Sec. 3.2).

        Args:
            episodes: episodes to learn from, usually successes (failures are used as counter-examples).
            category: the task category the episodes belong to; ``None`` = use each episode's own category.
            existing: the current skills (the teacher may refine them instead of duplicating them).

        Returns:
            ``TeacherAnswer[Proposals]``; task-specific proposals without a category get ``category``.

        LLM backends show the model at most 8 episodes (round-robin over categories, ~12,000 characters;
        see :func:`build_distill_prompt`): to learn from thousands of episodes, call once per category or
        per batch (:meth:`complete_many` runs prompts concurrently). The offline teacher reads them all.
        """
        system, user = build_distill_prompt(episodes, category, existing)
        return self._fill_category(self.complete_json(system, user, Proposals), category)

    def reflect(self, failures: Sequence[Episode], category: str | None = None,
                existing: Sequence[Skill] = ()) -> TeacherAnswer:
        """Propose skills and common mistakes from failed episodes (SkillRL Sec. 3.4, skill evolution).

        Args:
            failures: failed episodes (e.g. validation failures of a category below the threshold).
            category: their category (``None`` = mixed).
            existing: the current skills.

        Returns:
            ``TeacherAnswer[Proposals]``.
        """
        system, user = build_reflect_prompt(failures, category, existing)
        return self._fill_category(self.complete_json(system, user, Proposals), category)


# ===================================================================================================
# OpenAI-compatible backend
# ===================================================================================================


def openai_client(owner: str, api_key: str, base_url: str | None, timeout: float, max_retries: int) -> Any:
    """An ``openai.OpenAI`` client (its own retries with backoff on 408/409/429/5xx and timeouts).

    Raises:
        MissingDependencyError: the ``openai`` package is missing (extra ``openai``).
    """
    try:
        import openai
    except ImportError as err:  # pragma: no cover - openai is installed in CI
        raise MissingDependencyError("openai", "openai", owner) from err
    return openai.OpenAI(api_key=api_key, base_url=base_url, timeout=timeout, max_retries=max_retries)


def openai_credentials(base_url: str | None, api_key: str | None, owner: str,
                       error: type[Exception]) -> tuple[str | None, str]:
    """``(base_url, api_key)`` for an OpenAI-compatible client: the arguments, else ``OPENAI_BASE_URL`` /
    ``OPENAI_API_KEY``; a local server (``base_url`` set) without a key gets ``"not-needed"``.

    Raises:
        error: no key and no ``base_url`` (the message names ``owner`` and how to fix it).
    """
    base_url = base_url or os.environ.get("OPENAI_BASE_URL")
    key = api_key or os.environ.get("OPENAI_API_KEY")
    if not key:
        if base_url is None:
            raise error(f"{owner} needs an API key: pass api_key= or set OPENAI_API_KEY "
                        "(for a local server pass base_url=...)")
        key = "not-needed"
    return base_url, key


class OpenAITeacher(Teacher):
    """A teacher behind an OpenAI-compatible ``/v1/chat/completions`` endpoint (``openai`` SDK).

    Args:
        model: model name sent to the server (``"gpt-4o-mini"``, ``"o3"``, a vLLM served model name).
        base_url: endpoint root including ``/v1`` (``None`` = the SDK default / ``OPENAI_BASE_URL``).
        api_key: key; default ``OPENAI_API_KEY``; for a local server without auth any string works (when
            ``base_url`` is set and no key is found, ``"not-needed"`` is sent).
        timeout: seconds per HTTP request (default 60).
        max_retries: retries made by the SDK on connection errors, timeouts, 408/409/429 and 5xx, with
            exponential backoff (0.5 s doubling, capped at 8 s, jittered) or the server's ``Retry-After`` /
            ``retry-after-ms`` when it is between 0 and 120 s (``openai`` SDK ``_base_client``). Default 3.
        max_concurrency: parallel requests in :meth:`complete_many` (default 4).
        temperature: sampling temperature (``None`` = server default; reasoning models reject it).
        max_tokens: ``max_tokens`` per answer (``None`` = server default).
        json_mode: send ``response_format={"type": "json_object"}`` (default ``True``; turn off for servers
            that reject it).
        price_per_1k_input, price_per_1k_output: USD per 1,000 prompt / completion tokens; when both are
            ``None`` the cost is ``None``.
        extra_body: extra JSON fields for the request body (server-specific options).
        raise_on_error, repair: see :class:`Teacher`.

    Raises:
        MissingDependencyError: ``openai`` is not installed (on the first call).
        TeacherError: no API key for the public endpoint (on construction).
    """

    def __init__(self, model: str, base_url: str | None = None, api_key: str | None = None, *,
                 timeout: float = 60.0, max_retries: int = 3, max_concurrency: int = 4,
                 temperature: float | None = None, max_tokens: int | None = None, json_mode: bool = True,
                 price_per_1k_input: float | None = None, price_per_1k_output: float | None = None,
                 extra_body: dict[str, Any] | None = None, raise_on_error: bool = False, repair: bool = True):
        super().__init__(max_concurrency=max_concurrency, raise_on_error=raise_on_error, repair=repair)
        if not model:
            raise ValueError("OpenAITeacher needs a model name")
        if timeout <= 0:
            raise ValueError(f"timeout must be > 0 seconds, got {timeout}")
        if max_retries < 0:
            raise ValueError(f"max_retries must be >= 0, got {max_retries}")
        self.model = model
        self.base_url, self._api_key = openai_credentials(base_url, api_key, "OpenAITeacher", TeacherError)
        self.timeout = float(timeout)
        self.max_retries = int(max_retries)
        self.temperature = temperature
        self.max_tokens = max_tokens
        self.json_mode = json_mode
        self.price_per_1k_input = price_per_1k_input
        self.price_per_1k_output = price_per_1k_output
        self.extra_body = dict(extra_body or {})
        self.name = f"openai:{model}"
        self._client = None
        self._client_lock = threading.Lock()

    def _get_client(self):
        with self._client_lock:
            if self._client is None:
                self._client = openai_client("OpenAITeacher", self._api_key, self.base_url, self.timeout,
                                             self.max_retries)
            return self._client

    def _cost(self, prompt_tokens: int, completion_tokens: int) -> float | None:
        if self.price_per_1k_input is None and self.price_per_1k_output is None:
            return None
        return (prompt_tokens * (self.price_per_1k_input or 0.0)
                + completion_tokens * (self.price_per_1k_output or 0.0)) / 1000.0

    def _chat(self, messages: list[dict[str, str]]) -> tuple[str, Usage]:
        import openai

        client = self._get_client()
        kwargs: dict[str, Any] = {"model": self.model, "messages": messages}
        if self.temperature is not None:
            kwargs["temperature"] = self.temperature
        if self.max_tokens is not None:
            kwargs["max_tokens"] = self.max_tokens
        if self.json_mode:
            kwargs["response_format"] = {"type": "json_object"}
        if self.extra_body:
            kwargs["extra_body"] = self.extra_body
        try:
            resp = client.chat.completions.create(**kwargs)
        except openai.APITimeoutError:
            raise TeacherError(f"{self.name}: request timed out after {self.timeout:g} s "
                               f"({self.max_retries} retries)") from None
        except openai.APIStatusError as err:
            body = _clip(str(getattr(err, "message", "") or err), 200)
            raise TeacherError(f"{self.name}: HTTP {err.status_code} after {self.max_retries} retries: {body}") from None
        except openai.APIConnectionError as err:
            raise TeacherError(f"{self.name}: cannot connect to {self.base_url or 'the OpenAI API'}: "
                               f"{err.__cause__ or err}") from None
        except openai.OpenAIError as err:
            raise TeacherError(f"{self.name}: {type(err).__name__}: {_clip(str(err), 200)}") from None
        u = getattr(resp, "usage", None)
        pt = int(getattr(u, "prompt_tokens", 0) or 0)
        ct = int(getattr(u, "completion_tokens", 0) or 0)
        usage = Usage(prompt_tokens=pt, completion_tokens=ct, calls=1, cost_usd=self._cost(pt, ct))
        choices = getattr(resp, "choices", None) or []
        if not choices:
            self._count(Usage(prompt_tokens=pt, completion_tokens=ct, calls=0, cost_usd=usage.cost_usd))
            raise TeacherError(f"{self.name}: the response has no choices")
        content = getattr(choices[0].message, "content", None) or ""
        return content, usage


# ===================================================================================================
# local transformers backend
# ===================================================================================================


class HFTeacher(Teacher):
    """A teacher that runs a local ``transformers`` causal LM (chat template, greedy by default).

    Args:
        model_path: a local directory with a causal LM and its tokenizer (nothing is downloaded).
        max_new_tokens: generation budget per answer (default 512).
        device: torch device (default ``"cpu"``).
        temperature: 0 (default) = greedy decoding; > 0 samples.
        raise_on_error, repair: see :class:`Teacher`.

    The model is loaded on construction. Calls are serialised (one generation at a time). A prompt that
    does not fit the model's context (``max_position_embeddings - max_new_tokens``) is an error answer.

    Raises:
        MissingDependencyError: ``transformers`` / ``torch`` are not installed.
        TeacherError: the model or tokenizer cannot be loaded from ``model_path``.
    """

    def __init__(self, model_path: str | os.PathLike, *, max_new_tokens: int = 512, device: str = "cpu",
                 temperature: float = 0.0, raise_on_error: bool = False, repair: bool = True):
        super().__init__(max_concurrency=1, raise_on_error=raise_on_error, repair=repair)
        try:
            import torch  # noqa: F401
            from transformers import AutoModelForCausalLM, AutoTokenizer
        except ImportError as err:
            raise MissingDependencyError("transformers", "trl", "HFTeacher") from err
        self.model_path = str(model_path)
        self.max_new_tokens = int(max_new_tokens)
        self.device = device
        self.temperature = float(temperature)
        self.name = f"hf:{self.model_path}"
        try:
            self.tokenizer = AutoTokenizer.from_pretrained(self.model_path, local_files_only=True)
            self.model = AutoModelForCausalLM.from_pretrained(self.model_path, local_files_only=True).to(device)
        except (OSError, ValueError) as err:
            raise TeacherError(f"HFTeacher cannot load a causal LM from {self.model_path}: {err}") from err
        self.model.eval()
        self._gen_lock = threading.Lock()

    def _encode(self, messages: list[dict[str, str]]):
        tok = self.tokenizer
        if getattr(tok, "chat_template", None):
            ids = tok.apply_chat_template(messages, add_generation_prompt=True, tokenize=True, return_dict=True,
                                          return_tensors="pt")
            return ids["input_ids"], ids.get("attention_mask")
        text = "\n\n".join(f"{m['role']}: {m['content']}" for m in messages) + "\n\nassistant:"
        enc = tok(text, return_tensors="pt")
        return enc["input_ids"], enc.get("attention_mask")

    def _chat(self, messages: list[dict[str, str]]) -> tuple[str, Usage]:
        import torch

        try:
            input_ids, attention = self._encode(messages)
        except Exception as err:  # noqa: BLE001 - tokenizer/template faults are answer errors, not crashes
            raise TeacherError(f"{self.name}: cannot build the prompt: {type(err).__name__}: {err}") from None
        n_in = int(input_ids.shape[-1])
        limit = getattr(self.model.config, "max_position_embeddings", None)
        if limit is not None and n_in + self.max_new_tokens > limit:
            raise TeacherError(f"{self.name}: prompt of {n_in} tokens + max_new_tokens {self.max_new_tokens} "
                               f"exceeds the model context of {limit} tokens")
        kwargs: dict[str, Any] = {"max_new_tokens": self.max_new_tokens,
                                  "pad_token_id": self.tokenizer.pad_token_id
                                  if self.tokenizer.pad_token_id is not None else self.tokenizer.eos_token_id}
        if self.temperature > 0:
            kwargs.update(do_sample=True, temperature=self.temperature)
        else:
            kwargs.update(do_sample=False)
        try:
            with self._gen_lock, torch.no_grad():
                out = self.model.generate(input_ids=input_ids.to(self.device),
                                          attention_mask=None if attention is None else attention.to(self.device),
                                          **kwargs)
        except Exception as err:  # noqa: BLE001 - generation faults (OOM, shape errors) must not reach a training loop
            raise TeacherError(f"{self.name}: generation failed: {type(err).__name__}: {err}") from None
        new = out[0, n_in:]
        text = self.tokenizer.decode(new, skip_special_tokens=True)
        return text, Usage(prompt_tokens=n_in, completion_tokens=int(new.shape[-1]), calls=1)


# ===================================================================================================
# offline teacher: statistics over real episodes
# ===================================================================================================

# -- ALFWorld vocabulary ---------------------------------------------------------------------------

_NUM = r"(?:\s+(\d+))?"
_ALF_ACTIONS: list[tuple[str, re.Pattern]] = [
    ("goto", re.compile(rf"^go to ([a-z]+){_NUM}$")),
    ("take", re.compile(rf"^(?:take|pick up) ([a-z]+){_NUM} from ([a-z]+){_NUM}$")),
    ("put", re.compile(rf"^(?:put|move|place) ([a-z]+){_NUM} (?:in/on|in|on|into|onto|to) (?:the )?([a-z]+){_NUM}$")),
    ("open", re.compile(rf"^open ([a-z]+){_NUM}$")),
    ("close", re.compile(rf"^close ([a-z]+){_NUM}$")),
    ("heat", re.compile(rf"^heat ([a-z]+){_NUM} with ([a-z]+){_NUM}$")),
    ("cool", re.compile(rf"^cool ([a-z]+){_NUM} with ([a-z]+){_NUM}$")),
    ("clean", re.compile(rf"^clean ([a-z]+){_NUM} with ([a-z]+){_NUM}$")),
    ("use", re.compile(rf"^use ([a-z]+){_NUM}$")),
    ("examine", re.compile(rf"^examine ([a-z]+){_NUM}$")),
    ("look", re.compile(r"^look$")),
    ("inventory", re.compile(r"^inventory$")),
]
_TRANSFORMS = ("heat", "cool", "clean")
_LAMPS = ("desklamp", "floorlamp")
_CLOSED_RE = re.compile(r"^The ([a-z]+) (\d+) is closed\.")
_NOTHING = "nothing happens"

_GOAL_RES: list[tuple[str, re.Pattern]] = [
    ("two", re.compile(r"^(?:put|find) two ([a-z]+) (?:and put them )?(?:in|on) ([a-z]+)")),
    ("look", re.compile(r"^look at ([a-z]+) under the ([a-z]+)")),
    ("look", re.compile(r"^examine the ([a-z]+) with the ([a-z]+)")),
    ("state", re.compile(r"^(heat|cool|clean) (?:a|an|some) ([a-z]+) and put it (?:in|on) ([a-z]+)")),
    ("state_adj", re.compile(r"^put (?:a|an|some) (hot|cool|clean) ([a-z]+) (?:in|on) ([a-z]+)")),
    ("pick", re.compile(r"^put (?:a|an|some) ([a-z]+) (?:in|on) ([a-z]+)")),
]
_ADJ_TO_VERB = {"hot": "heat", "cool": "cool", "clean": "clean"}
_ADJ = {"heat": "hot", "cool": "cool", "clean": "clean"}
_GOAL_SHAPES = [  # phrasing templates, for the "recognise this task" skill
    (re.compile(r"^find two \w+ and put them in \w+"), "find two X and put them in Y"),
    (re.compile(r"^put two \w+ (in|on) \w+"), "put two X in Y"),
    (re.compile(r"^look at \w+ under the \w+"), "look at X under the <lamp>"),
    (re.compile(r"^examine the \w+ with the \w+"), "examine the X with the <lamp>"),
    (re.compile(r"^heat (a|an|some) \w+ and put it"), "heat some X and put it in Y"),
    (re.compile(r"^cool (a|an|some) \w+ and put it"), "cool some X and put it in Y"),
    (re.compile(r"^clean (a|an|some) \w+ and put it"), "clean some X and put it in Y"),
    (re.compile(r"^put (a|an|some) hot \w+"), "put a hot X in Y"),
    (re.compile(r"^put (a|an|some) cool \w+"), "put a cool X in Y"),
    (re.compile(r"^put (a|an|some) clean \w+"), "put a clean X in Y"),
    (re.compile(r"^put (a|an) \w+ (in|on) \w+"), "put a X in Y"),
    (re.compile(r"^put some \w+ (in|on) \w+"), "put some X on Y"),
]


@dataclass
class _Act:
    verb: str
    obj: str | None = None      # object type (take/put/heat/use...)
    obj_id: str | None = None   # "mug 2"
    rec: str | None = None      # receptacle type
    rec_id: str | None = None   # "countertop 1"


def _join_id(name: str | None, num: str | None) -> str | None:
    if name is None:
        return None
    return f"{name} {num}" if num else name


def parse_alfworld_action(text: str) -> _Act | None:
    """Parse an ALFWorld command (``"take mug 2 from countertop 1"``); ``None`` if it is not one."""
    t = " ".join(text.strip().lower().rstrip(".").split())
    for verb, rx in _ALF_ACTIONS:
        m = rx.match(t)
        if not m:
            continue
        g = m.groups()
        if verb in ("goto", "open", "close", "examine"):
            return _Act(verb, rec=g[0], rec_id=_join_id(g[0], g[1]))
        if verb in ("take", "put", *_TRANSFORMS):
            return _Act(verb, obj=g[0], obj_id=_join_id(g[0], g[1]), rec=g[2], rec_id=_join_id(g[2], g[3]))
        if verb == "use":
            return _Act(verb, obj=g[0], obj_id=_join_id(g[0], g[1]))
        return _Act(verb)
    return None


@dataclass
class _Goal:
    kind: str                 # pick | look | heat | cool | clean | two
    obj: str
    target: str | None = None  # receptacle type (None for look)
    lamp: str | None = None


def parse_alfworld_task(goal: str) -> _Goal | None:
    """Parse an ALFWorld goal sentence into (kind, object, target, lamp); ``None`` if not ALFWorld."""
    g = " ".join(goal.strip().lower().rstrip(".").split())
    for kind, rx in _GOAL_RES:
        m = rx.match(g)
        if not m:
            continue
        if kind == "two":
            return _Goal("two", m.group(1), m.group(2))
        if kind == "look":
            return _Goal("look", m.group(1), None, m.group(2))
        if kind == "state":
            return _Goal(m.group(1), m.group(2), m.group(3))
        if kind == "state_adj":
            return _Goal(_ADJ_TO_VERB[m.group(1)], m.group(2), m.group(3))
        return _Goal("pick", m.group(1), m.group(2))
    return None


def _goal_shape(goal: str) -> str | None:
    g = " ".join(goal.strip().lower().split())
    for rx, shape in _GOAL_SHAPES:
        if rx.match(g):
            return shape
    return None


def _pct(k: int, n: int) -> str:
    return f"{100.0 * k / n:.0f}%" if n else "n/a"


def _frac(k: int, n: int) -> str:
    """``"412/459 (90%)"``."""
    return f"{k}/{n} ({_pct(k, n)})"


def _top(counter: Counter, n: int, total: int | None = None) -> str:
    total = total if total is not None else sum(counter.values())
    items = sorted(counter.items(), key=lambda kv: (-kv[1], kv[0]))[:n]
    return ", ".join(f"{k} ({_pct(v, total)})" for k, v in items)


def _quantile(values: list[int], q: float) -> int:
    if not values:
        return 0
    s = sorted(values)
    return s[min(len(s) - 1, max(0, math.ceil(q * len(s)) - 1))]


_CATEGORY_NAMES = {
    "pick_and_place_simple": "pick-and-place", "pick_and_place": "pick-and-place",
    "look_at_obj_in_light": "look-at-in-light", "pick_clean_then_place_in_recep": "clean-and-place",
    "clean": "clean-and-place", "pick_heat_then_place_in_recep": "heat-and-place", "heat": "heat-and-place",
    "pick_cool_then_place_in_recep": "cool-and-place", "cool": "cool-and-place",
    "pick_two_obj_and_place": "pick-two-and-place",
}


_KIND_TO_TASK_TYPE = {"pick": "pick_and_place_simple", "look": "look_at_obj_in_light",
                      "clean": "pick_clean_then_place_in_recep", "heat": "pick_heat_then_place_in_recep",
                      "cool": "pick_cool_then_place_in_recep", "two": "pick_two_obj_and_place"}


def _category_of(ep: Episode, category: str | None) -> str | None:
    """The requested category, else the episode's, else the ALFWorld task type its goal implies."""
    if category is not None:
        return category
    if ep.category is not None:
        return ep.category
    goal = parse_alfworld_task(ep.task)
    return _KIND_TO_TASK_TYPE[goal.kind] if goal is not None else None


def _cat_name(category: str | None) -> str:
    if category is None:
        return "all"
    return _CATEGORY_NAMES.get(category, category.replace("_", " "))


# -- per-episode analysis of ALFWorld successes -----------------------------------------------------


@dataclass
class _AlfTrace:
    ep: Episode
    goal: _Goal
    acts: list[_Act | None]
    plan: str = ""
    found_on: list[str] = field(default_factory=list)       # receptacle types the goal object was taken from
    found_on_ids: list[str] = field(default_factory=list)
    visits_before_find: list[int] = field(default_factory=list)  # receptacles visited per search phase
    revisit_phases: int = 0
    search_phases: int = 0
    closed_seen: int = 0          # search-time visits that found a closed receptacle
    closed_opened: int = 0        # ... followed immediately by open
    direct_after_take: int = 0    # after taking the goal object, next move goes to appliance/target/lamp
    takes_of_goal: int = 0
    take_id_seen: int = 0         # take actions whose object id appeared in the previous observation
    takes_total: int = 0
    puts_total: int = 0
    puts_inon: int = 0
    transform: tuple[str, str] | None = None   # (verb, appliance id)
    transform_opened_first: bool = False
    transform_in_hand: bool = False
    target_closed: int = 0
    target_closed_opened: int = 0
    lamp_on: str | None = None          # receptacle type where the lamp was used
    lamp_with_object: bool | None = None
    use_while_holding: bool | None = None
    second_same_place: bool | None = None


def _analyse_alfworld(ep: Episode, goal: _Goal) -> _AlfTrace:
    acts = [parse_alfworld_action(a) for a in ep.actions]
    tr = _AlfTrace(ep=ep, goal=goal, acts=acts)
    holding: str | None = None          # object id in hand
    prev_obs = ep.initial_observation
    appliances = {a.rec for a in acts if a is not None and a.verb in _TRANSFORMS}
    tokens: list[str] = []
    visited: list[str] = []             # receptacle ids visited in the current search phase
    phase_open = True
    at: str | None = None               # receptacle id where the agent is
    first_take_at: str | None = None
    lamp_rec_obs: dict[str, str] = {}   # receptacle id -> observation at arrival
    for i, (act, st) in enumerate(zip(acts, ep.steps)):
        obs = st.observation or ""
        if act is None:
            prev_obs = obs
            continue
        v = act.verb
        if v == "goto":
            at = act.rec_id
            lamp_rec_obs[act.rec_id or ""] = obs
            if holding is None:
                tokens.append("S")
                visited.append(act.rec_id or "")
                cm = _CLOSED_RE.match(obs)
                if cm and act.rec not in appliances:
                    tr.closed_seen += 1
                    nxt = acts[i + 1] if i + 1 < len(acts) else None
                    if nxt is not None and nxt.verb == "open" and nxt.rec_id == act.rec_id:
                        tr.closed_opened += 1
            elif act.rec == goal.target:
                tokens.append("go to [Target]")
                if _CLOSED_RE.match(obs):
                    tr.target_closed += 1
                    nxt = acts[i + 1] if i + 1 < len(acts) else None
                    if nxt is not None and nxt.verb == "open" and nxt.rec_id == act.rec_id:
                        tr.target_closed_opened += 1
            elif act.rec in appliances:
                tokens.append(f"go to {act.rec}")
            elif goal.kind == "look":
                tokens.append("go to the [Lamp]'s receptacle")
            else:
                tokens.append("go to [Receptacle]")
        elif v in ("open", "close", "examine") and act.obj is None:
            if holding is None:
                tokens.append("S")
            elif act.rec == goal.target:
                tokens.append(f"{v} [Target]")
            elif act.rec in appliances:
                tokens.append(f"{v} {act.rec}")
            else:
                tokens.append(f"{v} [Receptacle]")
        elif v == "take":
            tr.takes_total += 1
            if act.obj_id and act.obj_id in prev_obs:
                tr.take_id_seen += 1
            is_goal = act.obj == goal.obj
            tokens.append("take [Object] from [Receptacle]" if is_goal else "take [Other] from [Receptacle]")
            if is_goal:
                tr.takes_of_goal += 1
                tr.found_on.append(act.rec or "?")
                tr.found_on_ids.append(act.rec_id or "?")
                if phase_open:
                    tr.search_phases += 1
                    distinct = list(dict.fromkeys(visited))
                    tr.visits_before_find.append(max(1, len(distinct)) if visited else 0)
                    if len(distinct) < len(visited):
                        tr.revisit_phases += 1
                if first_take_at is None:
                    first_take_at = act.rec_id
                elif goal.kind == "two" and tr.second_same_place is None:
                    tr.second_same_place = act.rec_id == first_take_at
                nxt = next((a for a in acts[i + 1:] if a is not None), None)
                if nxt is not None and (
                        (nxt.verb == "goto" and (nxt.rec in appliances or nxt.rec == goal.target
                                                  or goal.kind == "look"))
                        or nxt.verb in ("use", *_TRANSFORMS) or (nxt.verb == "put" and nxt.rec == goal.target)):
                    tr.direct_after_take += 1
            holding = act.obj_id
            visited = []
            phase_open = False
        elif v == "put":
            tr.puts_total += 1
            if " in/on " in ep.steps[i].action.lower():
                tr.puts_inon += 1
            tokens.append("put [Object] in/on [Target]" if act.rec == goal.target else "put [Object] in/on [Receptacle]")
            holding = None
            visited = []
            phase_open = True
        elif v in _TRANSFORMS:
            tokens.append(f"{v} [Object] with {act.rec}")
            if tr.transform is None:
                tr.transform = (v, act.rec_id or act.rec or "?")
                tr.transform_in_hand = holding is not None and holding == act.obj_id
                j = i - 1
                while j >= 0 and (acts[j] is None or acts[j].verb != "goto"):
                    if acts[j] is not None and acts[j].verb == "open" and acts[j].rec == act.rec:
                        tr.transform_opened_first = True
                    j -= 1
        elif v == "use":
            tokens.append(f"use {act.obj}")
            if act.obj in _LAMPS and tr.lamp_on is None:
                tr.use_while_holding = holding is not None
                where = at or ""
                tr.lamp_on = where.rsplit(" ", 1)[0] if where else None
                tr.lamp_with_object = bool(first_take_at) and first_take_at == at
        elif v == "examine":
            tokens.append("examine [Object]")
        prev_obs = obs
    # collapse search runs
    plan: list[str] = []
    for tok in tokens:
        if tok == "S":
            if plan and plan[-1].startswith("search"):
                continue
            plan.append("search receptacles (opening closed ones) until [Object] is found")
        else:
            if plan and plan[-1] == tok:
                continue
            plan.append(tok)
    tr.plan = " -> ".join(plan)
    return tr


# -- generic (non-ALFWorld) action abstraction -------------------------------------------------------

_BRACKET_RE = re.compile(r"^\s*([A-Za-z_][\w ]*?)\s*\[(.*)\]\s*$", re.DOTALL)


def _generic_verb(action: str) -> tuple[str, str | None]:
    m = _BRACKET_RE.match(action)
    if m:
        return m.group(1).strip().lower(), m.group(2).strip().lower()
    words = action.strip().split()
    return (words[0].lower() if words else "(empty)"), None


_STOP = frozenset(["the", "a", "an", "and", "or", "of", "to", "in", "on", "for", "with", "without", "into", "from", "by", "at", "is", "are", "be", "it", "its", "this", "that", "than", "then", "when", "while", "which", "who", "as", "not", "no", "any", "all", "so", "such", "was", "were", "has", "have", "had", "instead", "rather"])
_REMEDY_RE = re.compile(r"^(.*?)[,;]?\s*\b(?:instead of|rather than|without)\s+(.+)$", re.IGNORECASE)


def _content_words(text: str) -> set[str]:
    return {w for w in re.findall(r"[a-z]+", text.lower()) if len(w) > 2 and w not in _STOP}


def _split_remedy(bad_action: str) -> tuple[str, str]:
    """Split ``"X instead of Y"`` / ``"X without Y"`` into ``("X", "Y")``; ``(text, "")`` otherwise."""
    m = _REMEDY_RE.match(bad_action)
    if not m or not m.group(1).strip():
        return bad_action, ""
    remedy = re.split(r",\s*(?:thereby|leading|which|causing|resulting)\b", m.group(2).strip(), maxsplit=1)[0]
    return m.group(1).strip(), remedy.strip()


def _failure_reason(ep: Episode, max_steps: int) -> list[tuple[str, str]]:
    """Domain-neutral findings of a failed episode: loops, invalid actions, running out of steps."""
    out: list[tuple[str, str]] = []
    acts = [" ".join(a.strip().lower().split()) for a in ep.actions]
    # repeated action loop: the same action 3+ times in a row, or an A-B cycle repeated 3+ times
    best = ("", 0)
    i = 0
    while i < len(acts):
        j = i
        while j + 1 < len(acts) and acts[j + 1] == acts[i]:
            j += 1
        if j - i + 1 > best[1]:
            best = (acts[i], j - i + 1)
        i = j + 1
    if best[1] >= 3:
        out.append(("loop", best[0]))
    else:
        for i in range(len(acts) - 5):
            a, b = acts[i], acts[i + 1]
            if a != b and acts[i + 2] == a and acts[i + 3] == b and acts[i + 4] == a and acts[i + 5] == b:
                out.append(("cycle", f"{a} / {b}"))
                break
    invalid = [s.action for s in ep.steps if _NOTHING in s.observation.lower()
               or s.observation.lower().startswith("invalid")]
    if invalid:
        out.append(("invalid", json.dumps(sorted(Counter(invalid).items(), key=lambda kv: -kv[1])[:3])))
    limit = int(ep.metadata.get("max_steps", max_steps) or max_steps)
    if ep.num_steps >= limit:
        out.append(("out_of_steps", str(ep.num_steps)))
    return out


class OfflineTeacher(Teacher):
    """A teacher that needs no LLM: it abstracts the real actions and observations of episodes.

    From successes (:meth:`distill`):

    - ALFWorld episodes (recognised from their commands: go to / take / put / open / close / heat / cool /
      clean / use / examine): objects and receptacles become ``[Object]`` / ``[Receptacle]`` / ``[Target]``,
      repeated ``go to`` searches collapse to "search receptacles until found", and per category it writes
      task-specific skills: the most common abstract plan (with its share), the appliance step with the
      command that worked, where the object was found (receptacle-type frequencies), how many receptacles
      were searched (median / 90th percentile), the goal phrasings of the category, and category extras
      (where the lamp is, where the second object is). General skills come from regularities that hold in
      at least ``min_categories`` categories: opening closed receptacles, going straight to the target
      after taking the object, not revisiting searched receptacles, using exact object ids, the
      ``put ... in/on ...`` syntax, opening closed targets.
    - Other domains (WebShop ``search[...]`` / ``click[...]``, Search-QA...): generic action-frequency
      skills: the most common action plan, the usual first and last actions, the typical length.

    From failures (:meth:`reflect`): the failure point of each episode - a repeated-action loop, "Nothing
    happens." answers to invalid commands, the wrong object taken, a missing heat/cool/clean step, a
    missing or wrong put, the lamp used before taking the object, running out of steps - aggregated per
    category into lessons (task-specific skills) and common mistakes quoting the real actions. Official
    failure memories (no steps) contribute their recorded ``mistakes_to_avoid``: similar entries are
    clustered and each large cluster gives one mistake (remedy taken from its "instead of ..." clause).

    Every number in a skill is computed from the given episodes. When an existing skill of the same
    category has the same title, a ``refine`` proposal (with its ``skill_id``) replaces an ``add``, and an
    unchanged one is skipped, so re-distilling does not duplicate skills.

    Args:
        min_support: fewest episodes of a category needed for its skills (default 3).
        min_categories: fewest categories in which a regularity must hold to become a general skill
            (default 2; it is capped at the number of categories present).
        regularity: share of cases a regularity must reach in each such category (default 0.6).
        max_steps: episode step limit used to recognise "out of steps" failures when the episode's
            ``metadata["max_steps"]`` is absent (default 50, ALFWorld's usual limit).
        max_mistakes: most common mistakes taken from recorded ``mistakes_to_avoid`` per call (default 5):
            similar entries (word overlap) are clustered and the largest clusters win.
    """

    name = "offline"

    def __init__(self, *, min_support: int = 3, min_categories: int = 2, regularity: float = 0.6,
                 max_steps: int = 50, max_mistakes: int = 5, raise_on_error: bool = False):
        super().__init__(max_concurrency=1, raise_on_error=raise_on_error, repair=False)
        self.max_mistakes = max_mistakes
        self.min_support = min_support
        self.min_categories = min_categories
        self.regularity = regularity
        self.max_steps = max_steps

    def complete_json(self, system: str, user: str, schema: type[BaseModel]) -> TeacherAnswer:
        """The offline teacher does not read free-form prompts: returns an answer with ``error`` set."""
        return self._finish(TeacherAnswer(error="the offline teacher answers distill() and reflect() only, "
                                                "not free-form prompts"))

    # -- helpers ----------------------------------------------------------------------------------
    @staticmethod
    def _answer(proposals: Proposals) -> TeacherAnswer:
        return TeacherAnswer(value=proposals, raw=proposals.model_dump_json(), usage=Usage(calls=0))

    @staticmethod
    def _dedupe_against(proposals: list[SkillProposal], existing: Sequence[Skill]) -> list[SkillProposal]:
        by_key = {(s.tier, s.category, s.title.strip().lower()): s for s in existing}
        out: list[SkillProposal] = []
        seen_principles: set[str] = {s.principle.strip().lower() for s in existing}
        for sp in proposals:
            old = by_key.get((sp.tier, sp.category, sp.title.strip().lower()))
            if old is not None:
                if old.principle.strip() == sp.principle.strip() and old.when_to_apply.strip() == sp.when_to_apply.strip():
                    continue
                sp = sp.model_copy(update={"action": "refine", "skill_id": old.skill_id})
            elif sp.principle.strip().lower() in seen_principles:
                continue
            seen_principles.add(sp.principle.strip().lower())
            out.append(sp)
        return out

    def _groups(self, episodes: Sequence[Episode], category: str | None) -> dict[str | None, list[Episode]]:
        groups: dict[str | None, list[Episode]] = defaultdict(list)
        for ep in episodes:
            groups[_category_of(ep, category)].append(ep)
        return groups

    # -- distill ----------------------------------------------------------------------------------
    def distill(self, episodes: Sequence[Episode], category: str | None = None,
                existing: Sequence[Skill] = ()) -> TeacherAnswer:
        """Skills from the successes among ``episodes`` (see the class docstring). Never raises."""
        try:
            proposals = self._distill(list(episodes), category)
        except Exception as err:  # noqa: BLE001 - an offline bug must not crash a training loop
            return self._finish(TeacherAnswer(error=f"offline distill failed: {type(err).__name__}: {err}"))
        proposals.skills = self._dedupe_against(proposals.skills, existing)
        return self._finish(self._answer(proposals))

    def _distill(self, episodes: list[Episode], category: str | None) -> Proposals:
        successes = [ep for ep in episodes if ep.success and ep.steps]
        groups = self._groups(successes, category)
        alf_traces: dict[str | None, list[_AlfTrace]] = {}
        generic: dict[str | None, list[Episode]] = {}
        for cat, eps in groups.items():
            traces = []
            parsed = total = 0
            for ep in eps:
                acts = ep.actions
                total += len(acts)
                parsed += sum(parse_alfworld_action(a) is not None for a in acts)
                goal = parse_alfworld_task(ep.task)
                if goal is not None:
                    traces.append(_analyse_alfworld(ep, goal))
            if total and parsed / total >= 0.6 and len(traces) >= max(1, len(eps) // 2):
                alf_traces[cat] = traces
            else:
                generic[cat] = eps
        skills: list[SkillProposal] = []
        for cat, traces in sorted(alf_traces.items(), key=lambda kv: str(kv[0])):
            if cat is not None and len(traces) >= self.min_support:
                skills += self._alf_category_skills(cat, traces)
        skills += self._alf_general_skills(alf_traces)
        for cat, eps in sorted(generic.items(), key=lambda kv: str(kv[0])):
            if len(eps) >= self.min_support:
                skills += self._generic_skills(cat, eps)
        return Proposals(skills=skills)

    # ALFWorld, per category
    def _alf_category_skills(self, cat: str, traces: list[_AlfTrace]) -> list[SkillProposal]:
        n = len(traces)
        name = _cat_name(cat)
        ids = [t.ep.episode_id for t in traces][:20]
        out: list[SkillProposal] = []

        def add(title: str, principle: str, when: str, rationale: str) -> None:
            out.append(SkillProposal(title=title[:MAX_TITLE], principle=principle[:MAX_PRINCIPLE],
                                     when_to_apply=when[:MAX_WHEN], tier="task_specific", category=cat,
                                     rationale=rationale, episode_ids=ids))

        kinds = Counter(t.goal.kind for t in traces)
        kind = kinds.most_common(1)[0][0]
        shapes = Counter(s for s in (_goal_shape(t.ep.task) for t in traces) if s)
        when = "Goals phrased " + " or ".join(f"'{s}'" for s, _ in shapes.most_common(3)) if shapes else \
            f"{name} tasks"

        # 1. the plan
        plans = Counter(t.plan for t in traces if t.plan)
        if plans:
            plan, k = plans.most_common(1)[0]
            steps = plan.split(" -> ")
            numbered = "; ".join(f"{i}) {s}" for i, s in enumerate(steps, 1))
            add(f"Standard {name} plan", f"Follow the expert plan: {numbered}. This exact abstract plan solved "
                f"{_frac(k, n)} expert {name} episodes; {len(plans)} plan variants were seen in total.",
                when, f"most common abstract action sequence over {n} successful episodes")

        # 2. the appliance / lamp step
        transforms = [t.transform for t in traces if t.transform]
        if kind in _TRANSFORMS and transforms:
            app_ids = Counter(a for _, a in transforms)
            verb = Counter(v for v, _ in transforms).most_common(1)[0][0]
            app_id, k = app_ids.most_common(1)[0]
            app = app_id.rsplit(" ", 1)[0] if " " in app_id else app_id
            opened = sum(t.transform_opened_first for t in traces if t.transform)
            in_hand = sum(t.transform_in_hand for t in traces if t.transform)
            m = len(transforms)
            if opened <= m // 2:
                open_note = (f"There is no need to open the {app} or put the object inside: the command worked "
                             f"without opening it in {_frac(m - opened, m)} episodes.")
            else:
                open_note = f"Open the {app} first, as experts did in {_frac(opened, m)} episodes."
            add(f"Use the {app} to {verb} the object",
                f"To {verb} the object, carry it to the {app} and run `{verb} [Object] with {app_id}` while "
                f"holding it ({_frac(in_hand, m)} of expert {verb} commands were issued with the object in hand; "
                f"the appliance was {app_id} in {_frac(k, m)}). {open_note}",
                f"The goal needs the object {_ADJ[verb]} ({name}), after taking the object", f"{m} expert {verb} commands")
        if kind == "look":
            lamps = Counter(t.goal.lamp for t in traces if t.goal.lamp)
            used = [t for t in traces if t.use_while_holding is not None]
            holding = sum(bool(t.use_while_holding) for t in used)
            examined = sum(any(a is not None and a.verb == "examine" and a.obj is None and a.rec in (t.goal.obj,)
                               for a in t.acts) for t in traces)
            if used and holding / len(used) >= self.regularity:
                add("Turn on the lamp while holding the object",
                    f"Take the [Object] first, then go to the lamp and `use` it (e.g. `use {lamps.most_common(1)[0][0]} 1`)"
                    f" while holding the object: {_frac(holding, len(used))} expert episodes turned the lamp on with "
                    f"the object in hand, and {_frac(n - examined, n)} finished without an extra `examine`. Lamps "
                    f"named in goals: {_top(lamps, 2)}.", when, f"{len(used)} lamp uses")
            places = Counter(t.lamp_on for t in traces if t.lamp_on)
            same = [t.lamp_with_object for t in traces if t.lamp_with_object is not None]
            if places:
                add("Where the lamp is",
                    f"The lamp was used on: {_top(places, 4)}. In {_frac(sum(same), len(same))} episodes the object "
                    f"lay on the same receptacle as the lamp, so check the lamp's receptacle for the object first.",
                    when, f"{sum(places.values())} lamp locations")

        # 3. where the object is found
        found = Counter(r for t in traces for r in t.found_on)
        if found:
            by_obj: dict[str, Counter] = defaultdict(Counter)
            for t in traces:
                for r in t.found_on:
                    by_obj[t.goal.obj][r] += 1
            top_objs = sorted(by_obj.items(), key=lambda kv: (-sum(kv[1].values()), kv[0]))[:3]
            per_obj = "; ".join(f"{o}: {_top(c, 2)}" for o, c in top_objs)
            add(f"Where {name} objects are found",
                f"Search likely places first. In expert {name} episodes the object was taken from: "
                f"{_top(found, 5)} (of {sum(found.values())} pick-ups). Most frequent objects: {per_obj}.",
                f"Looking for the [Object] in a {name} task", f"{sum(found.values())} pick-ups")

        # 4. search effort
        visits = [v for t in traces for v in t.visits_before_find if v > 0]
        if visits:
            med = statistics.median(visits)
            p90 = _quantile(visits, 0.9)
            revisits = sum(t.revisit_phases for t in traces)
            phases = sum(t.search_phases for t in traces)
            add(f"Expected search effort in {name} tasks",
                f"Expect to check about {med:g} receptacle{'s' if med != 1 else ''} (median; 90% of searches "
                f"within {p90}, maximum "
                f"{max(visits)}) before finding the [Object]. Experts visited each receptacle at most once in "
                f"{_frac(phases - revisits, phases)} searches: keep a mental list of checked places and keep going "
                f"instead of giving up or looping.", f"Searching for the [Object] in a {name} task",
                f"{len(visits)} search phases")

        # 5. goal phrasing
        if len(shapes) >= 1:
            total = sum(shapes.values())
            need = {"heat": "take the object, heat it, then put it in/on the target",
                    "cool": "take the object, cool it, then put it in/on the target",
                    "clean": "take the object, clean it, then put it in/on the target",
                    "two": "put two objects of that type in/on the target, one at a time",
                    "look": "take the object and turn on the lamp while holding it",
                    "pick": "take the object and put it in/on the target, with no heating, cooling or cleaning"}[kind]
            add(f"Recognise {name} goals",
                f"{name.capitalize()} goals come in these phrasings: "
                + ", ".join(f"'{s}' ({_pct(c, total)})" for s, c in shapes.most_common(4))
                + f". All of them mean the same task: {need}.",
                "Reading the task to decide the plan", f"{total} goals")

        # 6. category extras
        if kind == "two":
            same = [t.second_same_place for t in traces if t.second_same_place is not None]
            if same:
                add("Find the second object",
                    f"After putting the first [Object] in/on the [Target], check the receptacle where you found it "
                    f"before searching elsewhere: the second one was there in {_frac(sum(same), len(same))} expert "
                    f"episodes; otherwise continue with unchecked receptacles.", when, f"{len(same)} second pick-ups")
        closed_t = sum(t.target_closed for t in traces)
        if closed_t >= self.min_support:
            opened_t = sum(t.target_closed_opened for t in traces)
            targets = Counter(t.goal.target for t in traces if t.target_closed)
            add(f"Open a closed target in {name} tasks",
                f"When the [Target] is closed (here: {_top(targets, 3)}), `open` it before `put`: experts did in "
                f"{_frac(opened_t, closed_t)} arrivals at a closed target.", "Arriving at a closed [Target]",
                f"{closed_t} closed targets")
        return out

    # ALFWorld, across categories
    def _alf_general_skills(self, alf: dict[str | None, list[_AlfTrace]]) -> list[SkillProposal]:
        cats = {c: ts for c, ts in alf.items() if len(ts) >= self.min_support}
        if not cats:
            return []
        need = min(self.min_categories, len(cats))
        all_traces = [t for ts in cats.values() for t in ts]
        ids = [t.ep.episode_id for t in all_traces][:20]
        out: list[SkillProposal] = []

        def regular(num, den) -> tuple[bool, str]:
            rates = {}
            for c, ts in cats.items():
                d = sum(den(t) for t in ts)
                if d >= self.min_support:
                    rates[c] = sum(num(t) for t in ts) / d
            held = [c for c, r in rates.items() if r >= self.regularity]
            ok = len(held) >= need
            if not rates:
                return False, ""
            lo = min(rates.values())
            hi = max(rates.values())
            return ok, f"held in {len(held)}/{len(rates)} categories (per-category share {lo:.0%}-{hi:.0%})"

        def add(title, principle, when, rationale):
            out.append(SkillProposal(title=title, principle=principle[:MAX_PRINCIPLE], when_to_apply=when,
                                     tier="general", category=None, rationale=rationale, episode_ids=ids))

        tot = lambda f: sum(f(t) for t in all_traces)
        ok, how = regular(lambda t: t.closed_opened, lambda t: t.closed_seen)
        if ok:
            add("Open closed receptacles before looking inside",
                f"A receptacle reported as closed ('The drawer 1 is closed.') hides its contents: `open` it right away "
                f"before deciding the object is not there. Experts opened {_frac(tot(lambda t: t.closed_opened), tot(lambda t: t.closed_seen))}"
                f" of the closed receptacles they reached while searching.", "Searching and arriving at a closed "
                "drawer, cabinet, fridge, safe or microwave", how)
        ok, how = regular(lambda t: t.direct_after_take, lambda t: t.takes_of_goal)
        if ok:
            add("Take the object then go directly to the target",
                f"Once the goal object is in hand, stop exploring: go straight to where it is needed (the appliance, "
                f"the lamp or the [Target]). Experts did so right after "
                f"{_frac(tot(lambda t: t.direct_after_take), tot(lambda t: t.takes_of_goal))} pick-ups of the goal object.",
                "Right after `take [Object] from [Receptacle]`", how)
        ok, how = regular(lambda t: t.search_phases - t.revisit_phases, lambda t: t.search_phases)
        if ok:
            add("Search each receptacle once",
                f"Visit receptacles systematically and do not return to one already checked unless something changed: "
                f"{_frac(tot(lambda t: t.search_phases - t.revisit_phases), tot(lambda t: t.search_phases))} expert "
                f"searches visited no receptacle twice.", "Searching for an object", how)
        ok, how = regular(lambda t: t.take_id_seen, lambda t: t.takes_total)
        if ok:
            add("Use the exact object ids you observed",
                f"Refer to objects and receptacles by the exact name and number in the last observation ('take mug 2 "
                f"from countertop 1'): {_frac(tot(lambda t: t.take_id_seen), tot(lambda t: t.takes_total))} expert "
                f"`take` commands named an object id that appeared in the preceding observation.",
                "Issuing take / put / heat / cool / clean / use commands", how)
        ok, how = regular(lambda t: t.puts_inon, lambda t: t.puts_total)
        if ok:
            add("Put with 'in/on'",
                f"Write the put command as `put [Object] in/on [Receptacle]`, with the literal 'in/on' (not 'in' or "
                f"'on'): {_frac(tot(lambda t: t.puts_inon), tot(lambda t: t.puts_total))} expert put commands had "
                f"this form.", "Placing an object", how)
        ok, how = regular(lambda t: t.target_closed_opened, lambda t: t.target_closed)
        if ok:
            add("Open a closed target before putting",
                f"If the receptacle where the object must go is closed, `open` it before `put`: experts opened "
                f"{_frac(tot(lambda t: t.target_closed_opened), tot(lambda t: t.target_closed))} closed targets first.",
                "Arriving at a closed target receptacle with the object in hand", how)
        return out

    # other domains
    def _generic_skills(self, cat: str | None, eps: list[Episode]) -> list[SkillProposal]:
        n = len(eps)
        tier = "task_specific" if cat is not None else "general"
        domain = Counter(str(e.metadata.get("environment") or e.source.rsplit(":", 1)[-1]).lower() for e in eps)
        name = _cat_name(cat) if cat is not None else domain.most_common(1)[0][0]
        ids = [e.episode_id for e in eps][:20]
        arg_counts: Counter = Counter()
        for ep in eps:
            arg_counts.update({a for a in (_generic_verb(x)[1] for x in ep.actions) if a})
        common_args = {a for a, c in arg_counts.items() if c >= max(2, 0.3 * n)}

        def token(action: str) -> str:
            verb, arg = _generic_verb(action)
            if arg is None:
                return verb
            return f"{verb}[{arg}]" if arg in common_args else f"{verb}[...]"

        plans: Counter = Counter()
        firsts: Counter = Counter()
        lasts: Counter = Counter()
        verbs: Counter = Counter()
        for ep in eps:
            toks = [token(a) for a in ep.actions]
            collapsed: list[str] = []
            for t in toks:
                if collapsed and collapsed[-1].split(" (x")[0] == t:
                    base, _, cnt = collapsed[-1].partition(" (x")
                    collapsed[-1] = f"{base} (x{int(cnt.rstrip(')') or 1) + 1})"
                else:
                    collapsed.append(t)
            plans[" -> ".join(collapsed)] += 1
            firsts[toks[0]] += 1
            lasts[" ".join(ep.actions[-1].strip().lower().split())] += 1
            verbs.update(_generic_verb(a)[0] for a in ep.actions)
        out: list[SkillProposal] = []

        def add(title, principle, when, rationale):
            out.append(SkillProposal(title=title[:MAX_TITLE], principle=principle[:MAX_PRINCIPLE],
                                     when_to_apply=when[:MAX_WHEN], tier=tier, category=cat, rationale=rationale,
                                     episode_ids=ids))

        when = f"Solving a {name} task"
        plan, k = plans.most_common(1)[0]
        add(f"Typical action plan ({name})", f"Successful episodes most often followed: {plan} "
            f"({_frac(k, n)}; {len(plans)} variants). Common actions: {_top(verbs, 4)}.", when,
            f"{n} successful episodes")
        first, k1 = firsts.most_common(1)[0]
        lengths = [e.num_steps for e in eps]
        add(f"How to start and finish ({name})",
            f"Start with `{first}` (first action in {_frac(k1, n)} successes); the last action was "
            f"`{_clip(lasts.most_common(1)[0][0], 80)}` in {_frac(lasts.most_common(1)[0][1], n)}. Successes took "
            f"a median of {statistics.median(lengths):g} actions (90% within {_quantile(lengths, 0.9)}), so a much "
            f"longer episode signals a detour.", when, f"{n} successful episodes")
        return out

    # -- reflect ----------------------------------------------------------------------------------
    def reflect(self, failures: Sequence[Episode], category: str | None = None,
                existing: Sequence[Skill] = ()) -> TeacherAnswer:
        """Lessons and common mistakes from failed episodes (see the class docstring). Never raises."""
        try:
            proposals = self._reflect([ep for ep in failures if not ep.success], category)
        except Exception as err:  # noqa: BLE001 - an offline bug must not crash a training loop
            return self._finish(TeacherAnswer(error=f"offline reflect failed: {type(err).__name__}: {err}"))
        proposals.skills = self._dedupe_against(proposals.skills, existing)
        return self._finish(self._answer(proposals))

    def _reflect(self, failures: list[Episode], category: str | None) -> Proposals:
        findings: dict[tuple[str | None, str], list[tuple[Episode, str]]] = defaultdict(list)
        recorded: list[tuple[Episode, dict]] = []
        for ep in failures:
            cat = _category_of(ep, category)
            if not ep.steps:
                for m in ep.metadata.get("mistakes_to_avoid") or []:
                    if isinstance(m, dict) and m.get("bad_action"):
                        recorded.append((ep, m))
                continue
            for kind, detail in _failure_reason(ep, self.max_steps):
                findings[(cat, kind)].append((ep, detail))
            goal = parse_alfworld_task(ep.task)
            if goal is not None:
                for kind, detail in self._alf_failure(ep, goal):
                    findings[(cat, kind)].append((ep, detail))
        skills: list[SkillProposal] = []
        mistakes: list[MistakeProposal] = []
        for (cat, kind), items in sorted(findings.items(), key=lambda kv: (str(kv[0][0]), kv[0][1])):
            made = self._lesson(cat, kind, items)
            if isinstance(made, SkillProposal):
                skills.append(made)
            elif isinstance(made, MistakeProposal):
                mistakes.append(made)
        mistakes += self._recorded_mistakes(recorded)
        return Proposals(skills=skills, mistakes=mistakes)


    def _recorded_mistakes(self, recorded: list[tuple[Episode, dict]]) -> list[MistakeProposal]:
        """Cluster recorded ``{trigger_condition, bad_action}`` entries; one mistake per large cluster."""
        clusters: list[list[tuple[Episode, dict, set[str]]]] = []
        for ep, m in recorded:
            words = _content_words(f"{m.get('bad_action', '')} {m.get('trigger_condition', '')}")
            for cl in clusters:
                ref = cl[0][2]
                if words and ref and len(words & ref) / len(words | ref) >= 0.3:
                    cl.append((ep, m, words))
                    break
            else:
                clusters.append([(ep, m, words)])
        clusters.sort(key=lambda cl: -len(cl))
        out: list[MistakeProposal] = []
        for cl in clusters[: self.max_mistakes]:
            ep, m, _ = next((x for x in cl if _split_remedy(str(x[1]["bad_action"]))[1]), cl[0])
            bad, remedy = _split_remedy(" ".join(str(m["bad_action"]).split()))
            trigger = " ".join(str(m.get("trigger_condition") or "").split()).rstrip(".")
            if remedy:
                how = remedy[0].upper() + remedy[1:].rstrip(".") + "."
            elif trigger:
                how = f"When {trigger[0].lower() + trigger[1:]}, stop and choose a different action that serves the goal."
            else:
                how = "Stop and choose a different action that serves the goal."
            n_eps = len({x[0].episode_id for x in cl})
            out.append(MistakeProposal(
                description=f"{bad.rstrip('.')} (recorded in {n_eps} failed episode{'s' if n_eps != 1 else ''}).",
                why_it_happens=(f"It happens when: {trigger}." if trigger else "")[:MAX_MISTAKE_FIELD],
                how_to_avoid=how[:MAX_MISTAKE_FIELD],
                episode_ids=list(dict.fromkeys(x[0].episode_id for x in cl))[:20]))
        return out

    @staticmethod
    def _alf_failure(ep: Episode, goal: _Goal) -> list[tuple[str, str]]:
        acts = [parse_alfworld_action(a) for a in ep.actions]
        out: list[tuple[str, str]] = []
        takes = [a for a in acts if a is not None and a.verb == "take"]
        wrong = [a for a in takes if a.obj != goal.obj]
        right = [a for a in takes if a.obj == goal.obj]
        if wrong:
            out.append(("wrong_object", f"{wrong[0].obj_id}|{goal.obj}"))
        if not right:
            visited = [a.rec_id for a in acts if a is not None and a.verb == "goto"]
            distinct = list(dict.fromkeys(visited))
            out.append(("not_found", json.dumps([goal.obj, len(visited), len(distinct), distinct[:8]])))
            return out
        if goal.kind in _TRANSFORMS and not any(a is not None and a.verb == goal.kind for a in acts):
            out.append(("missing_transform", f"{goal.kind}|{goal.obj}|{right[0].obj_id}"))
        if goal.kind == "look":
            uses = [i for i, a in enumerate(acts) if a is not None and a.verb == "use" and a.obj in _LAMPS]
            first_take = next(i for i, a in enumerate(acts) if a is not None and a.verb == "take" and a.obj == goal.obj)
            if uses and uses[0] < first_take:
                out.append(("lamp_before_object", f"{ep.actions[uses[0]]}|{ep.actions[first_take]}"))
        elif goal.target:
            puts = [a for a in acts if a is not None and a.verb == "put" and a.obj == goal.obj]
            if not puts:
                out.append(("missing_put", f"{goal.obj}|{goal.target}"))
            elif all(a.rec != goal.target for a in puts):
                out.append(("wrong_target", f"{puts[0].rec_id}|{goal.target}"))
            elif goal.kind == "two" and len({a.obj_id for a in puts if a.rec == goal.target}) < 2:
                out.append(("only_one", f"{goal.obj}|{goal.target}"))
        return out

    def _lesson(self, cat: str | None, kind: str, items: list[tuple[Episode, str]]):
        n = len(items)
        eps = list(dict.fromkeys(ep.episode_id for ep, _ in items))
        name = _cat_name(cat)
        ep0, d0 = items[0]
        tier = "task_specific" if cat is not None else "general"
        label = f"{name} " if cat is not None else ""
        tail = f" (seen in {n} failed {label}episode{'s' if n != 1 else ''}, e.g. task '{_clip(ep0.task, 80)}')"

        def skill(title, principle, when):
            return SkillProposal(title=title[:MAX_TITLE], principle=principle[:MAX_PRINCIPLE], when_to_apply=when[:MAX_WHEN],
                                 tier=tier, category=cat, rationale=f"reflection on {n} failures: {kind}",
                                 episode_ids=eps[:20])

        if kind in ("loop", "cycle"):
            examples = Counter(d for _, d in items).most_common(2)
            obs = next((s.observation for s in ep0.steps if " ".join(s.action.lower().split()) == d0.split(" / ")[0]), "")
            return MistakeProposal(
                description=f"Repeating `{examples[0][0]}` in a {'loop' if kind == 'loop' else 'two-action cycle'} "
                            f"without progress{tail}.",
                why_it_happens=f"The observation did not change ('{_clip(obs, 100)}'), so repeating the action "
                               f"could not bring the agent closer to the goal.",
                how_to_avoid="If an action returns the same observation twice, do something different: take the next "
                             "step of the plan with the object you hold, or go to a receptacle you have not checked.",
                episode_ids=eps[:20])
        if kind == "invalid":
            bad: Counter = Counter()
            for _, d in items:
                for action, c in json.loads(d):
                    bad[action] += c
            shown = ", ".join(f"`{a}`" if a else "an empty action" for a, _ in bad.most_common(3))
            return MistakeProposal(
                description=f"Issuing commands the environment rejects ({shown} answered 'Nothing happens.', "
                            f"{sum(bad.values())} times){tail}.",
                why_it_happens="The command was not admissible here: a wrong verb or syntax, an object or receptacle "
                               "id that is not in view, or an action that needs the object in hand.",
                how_to_avoid="Use only the command forms the environment accepts and ids you have seen in the last "
                             "observation; after 'Nothing happens.' never resend the same command - change it.",
                episode_ids=eps[:20])
        if kind == "out_of_steps":
            lengths = [int(d) for _, d in items]
            return MistakeProposal(
                description=f"Running out of steps ({statistics.median(lengths):g} actions, median) before finishing"
                            f"{tail}.",
                why_it_happens="Steps were spent on detours, repeated visits or rejected commands instead of the plan.",
                how_to_avoid="Budget the steps: follow the category's plan, search each receptacle once, and move to the "
                             "next sub-goal as soon as the current one is done.",
                episode_ids=eps[:20])
        if kind == "wrong_object":
            taken, wanted = d0.split("|")
            return skill(f"Take the object the goal names ({name})",
                         f"Read the object type in the goal before `take`: a failed episode took `{taken}` when the goal "
                         f"asked for a {wanted}{tail}. Similar-looking objects (cup/mug, knife/butterknife) are "
                         f"different types - only the named type counts.",
                         "Before every take in a " + name + " task")
        if kind == "not_found":
            obj, visits, distinct, where = json.loads(d0)
            mean_visits = statistics.mean(json.loads(d)[1] for _, d in items)
            return skill(f"Search wider for the {name} object",
                         f"Failed episodes never picked up the goal object: e.g. {visits} moves over only {distinct} "
                         f"receptacles ({', '.join(where[:6])}) without finding a {obj}; on average {mean_visits:.0f} "
                         f"moves{tail}. Open closed receptacles, check each unvisited one in turn, and do not return "
                         f"to already-checked places.", f"The [Object] of a {name} task is not in sight")
        if kind == "missing_transform":
            verb, obj, oid = d0.split("|")
            tool = {"heat": "microwave", "cool": "fridge", "clean": "sinkbasin"}[verb]
            return skill(f"Do not skip the {verb} step ({name})",
                         f"The object must be {_ADJ[verb]} before it is placed: a failed "
                         f"episode took `{oid}` but never ran `{verb} {oid} with {tool} 1`{tail}. Go to the {tool} "
                         f"with the object in hand and {verb} it, then go to the target.",
                         f"Holding the object in a {name} task")
        if kind == "lamp_before_object":
            use, take = d0.split("|")
            return skill("Take the object before using the lamp",
                         f"The lamp must be turned on while you hold the object: a failed episode ran `{use}` before "
                         f"`{take}`{tail}. Find and take the object first, then go to the lamp and use it.",
                         "look-at-in-light tasks, before `use`")
        if kind == "missing_put":
            obj, target = d0.split("|")
            return skill(f"Finish by putting the object in the target ({name})",
                         f"A failed episode held the {obj} but never ran `put {obj} ... in/on {target} ...`{tail}. "
                         f"After the last transformation go straight to the {target} and put the object there.",
                         f"Holding the prepared object in a {name} task")
        if kind == "wrong_target":
            put_at, target = d0.split("|")
            return skill(f"Put the object in the receptacle the goal names ({name})",
                         f"A failed episode put the object in/on `{put_at}` but the goal asked for a {target}{tail}. "
                         f"Check the target type in the goal before `put`.", f"Before put in a {name} task")
        if kind == "only_one":
            obj, target = d0.split("|")
            return skill("Place both objects",
                         f"Two {obj}s must end up in/on the {target}; a failed episode placed at most one{tail}. After "
                         f"the first put, search for the second object (check where the first was found).",
                         "pick-two tasks after the first put")
        return None


# ===================================================================================================
# factory
# ===================================================================================================


def make_teacher(spec: str, **kwargs: Any) -> Teacher:
    """Build a teacher from a spec ``"name"`` or ``"name:arg"``: ``"offline"``, ``"openai:<model>"``,
    ``"hf:<local path>"``, or any backend a plugin registers (hook ``skillrl_register_teachers``).

    Extra keyword arguments go to the backend's factory (``base_url=...``, ``max_new_tokens=...``).

    Raises:
        TeacherSpecError: an unknown backend name, or a backend that needs an argument got none.
    """
    from skillrl.plugins import teacher_registry

    name, _, arg = str(spec).partition(":")
    registry = teacher_registry()
    reg = registry.get(name.strip().lower())
    if reg is None:
        raise TeacherSpecError(f"unknown teacher {spec!r}: expected one of "
                               + ", ".join(f"'{n}'" for n in sorted(registry))
                               + " ('name' or 'name:arg', e.g. 'openai:<model>', 'hf:<path>')")
    return reg.factory(arg.strip() or None, **kwargs)


def _needs_arg(name: str, what: str, arg: str | None) -> str:
    if not arg:
        raise TeacherSpecError(f"teacher '{name}' needs {what}: use '{name}:<{what}>'")
    return arg


@hookimpl
def skillrl_register_teachers(register: Callable[..., None]) -> None:
    """skillrl's built-in teachers."""
    register("offline", lambda arg=None, **kw: OfflineTeacher(**kw),
             "no LLM: skills from statistics over the episodes (ALFWorld-aware)")
    register("openai", lambda arg=None, **kw: OpenAITeacher(_needs_arg("openai", "model", arg), **kw),
             "any OpenAI-compatible chat endpoint: 'openai:<model>'")
    register("hf", lambda arg=None, **kw: HFTeacher(_needs_arg("hf", "path", arg), **kw),
             "a local transformers model: 'hf:<path>'")
