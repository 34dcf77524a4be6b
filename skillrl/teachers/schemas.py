"""The data shapes a teacher answers with: skill and mistake proposals, usage and the answer envelope.

:class:`SkillProposal` / :class:`MistakeProposal` are what :meth:`skillrl.teachers.Teacher.distill` and
:meth:`~skillrl.teachers.Teacher.reflect` propose (SkillRL, arXiv 2602.08234, Sec. 3.2 and 3.4);
:class:`Proposals` holds both; :class:`TeacherAnswer` wraps any validated answer with its :class:`Usage` and
error. Field limits follow :mod:`skillrl.skill` (``MAX_TITLE`` etc.).
"""

from __future__ import annotations

from typing import Generic, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, model_validator

from skillrl.errors import TeacherError
from skillrl.skill import MAX_MISTAKE_FIELD, MAX_PRINCIPLE, MAX_TITLE, MAX_WHEN

__all__ = ["MistakeProposal", "Proposals", "SkillProposal", "TeacherAnswer", "Usage"]


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
            # pydantic's validator protocol: a ValueError here surfaces as a pydantic ValidationError
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
