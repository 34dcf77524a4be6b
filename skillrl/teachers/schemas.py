"""The data shapes a teacher answers with: skill and mistake proposals, usage and the answer envelope.

:class:`SkillProposal` / :class:`MistakeProposal` are what :meth:`skillrl.teachers.Teacher.distill` and
:meth:`~skillrl.teachers.Teacher.reflect` propose (SkillRL, arXiv 2602.08234, Sec. 3.2 and 3.4);
:class:`Proposals` holds both; :class:`TeacherAnswer` wraps any validated answer with its :class:`Usage` and
error. Field limits follow :mod:`skillrl.skill` (``MAX_TITLE`` etc.).
"""

from __future__ import annotations

import copy
from typing import Any, Generic, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, model_validator

from skillrl.errors import TeacherError
from skillrl.skill import MAX_MISTAKE_FIELD, MAX_PRINCIPLE, MAX_TITLE, MAX_WHEN

__all__ = ["MistakeProposal", "Proposals", "SkillProposal", "TeacherAnswer", "Usage", "strict_json_schema"]


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
        rationale: why the teacher proposes it (evidence, counts); kept as provenance note, never shown to the
            policy.
        episode_ids: ids of the episodes it was learned from (may be empty).

    The field descriptions are part of the JSON schema an LLM teacher is given (:func:`strict_json_schema`).
    """

    model_config = ConfigDict(extra="ignore")

    action: Literal["add", "refine"] = Field("add", description="'add' a new skill or 'refine' the existing skill_id")
    skill_id: str | None = Field(None, description="id of the existing skill to refine; null for 'add'")
    title: str = Field(min_length=1, max_length=MAX_TITLE, description="2-6 words naming the skill")
    principle: str = Field(min_length=1, max_length=MAX_PRINCIPLE,
                           description="what to do and why, 1-2 sentences, about 30 words; no counts, no episode ids")
    when_to_apply: str = Field(default="", max_length=MAX_WHEN, description="the situation that triggers it, one clause")
    tier: Literal["general", "task_specific"] = Field("general", description="'general' (any task category) or "
                                                                                "'task_specific' (this category only)")
    category: str | None = Field(None, description="the task category of a task_specific skill; null for general")
    rationale: str = Field("", description="the evidence (episode ids, what happened); not shown to the agent")
    episode_ids: list[str] = Field(default_factory=list, description="ids of the episodes it comes from")

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
        rationale: the evidence (counts, quoted actions); kept as provenance note, never shown to the policy.
        episode_ids: ids of the failed episodes it was seen in.
    """

    model_config = ConfigDict(extra="ignore")

    description: str = Field(min_length=1, max_length=MAX_MISTAKE_FIELD,
                             description="what the agent does wrong, one sentence, in general terms")
    why_it_happens: str = Field(default="", max_length=MAX_MISTAKE_FIELD, description="its cause, one sentence")
    how_to_avoid: str = Field(min_length=1, max_length=MAX_MISTAKE_FIELD,
                              description="the remedy as an instruction (what to do instead), one sentence")
    rationale: str = Field("", description="the evidence (episode ids, the actions seen); not shown to the agent")
    episode_ids: list[str] = Field(default_factory=list, description="ids of the failed episodes it was seen in")


class Proposals(BaseModel):
    """The teacher's answer to :meth:`Teacher.distill` / :meth:`Teacher.reflect`."""

    model_config = ConfigDict(extra="ignore")

    skills: list[SkillProposal] = Field(default_factory=list)
    mistakes: list[MistakeProposal] = Field(default_factory=list)


class Usage(BaseModel):
    """Token usage and cost of teacher calls.

    Attributes:
        prompt_tokens: input tokens, as reported by the API (0 when the server reports none).
        cached_tokens: of ``prompt_tokens``, those served from the provider's prompt cache
            (``usage.prompt_tokens_details.cached_tokens``; billed at the cached-input price).
        completion_tokens: output tokens (for reasoning models including the hidden reasoning tokens).
        calls: teacher -> model calls made, including repair calls and failed calls. HTTP retries made
            inside the ``openai`` SDK (429 / 5xx / timeouts) are not counted separately.
        errors: calls that failed (transport errors, timeouts, HTTP errors after retries).
        cost_usd: cost in US dollars from the configured per-1k-token prices; ``None`` when no price is
            configured (local models, unknown prices).
    """

    prompt_tokens: int = 0
    cached_tokens: int = 0
    completion_tokens: int = 0
    calls: int = 0
    errors: int = 0
    cost_usd: float | None = None

    def __add__(self, other: Usage) -> Usage:
        cost = None if self.cost_usd is None and other.cost_usd is None else \
            (self.cost_usd or 0.0) + (other.cost_usd or 0.0)
        return Usage(prompt_tokens=self.prompt_tokens + other.prompt_tokens,
                     cached_tokens=self.cached_tokens + other.cached_tokens,
                     completion_tokens=self.completion_tokens + other.completion_tokens,
                     calls=self.calls + other.calls, errors=self.errors + other.errors, cost_usd=cost)


# keywords OpenAI's strict structured outputs do not accept (moved into the description instead)
_UNSUPPORTED = ("minLength", "maxLength", "minItems", "maxItems", "default", "title")


def strict_json_schema(model: type[BaseModel]) -> dict[str, Any]:
    """The JSON schema of ``model`` in the form OpenAI's strict structured outputs accept.

    Every object lists all its properties as ``required`` with ``additionalProperties: false`` (optional fields stay
    nullable or empty), ``$defs`` references are kept, class docstrings are dropped (field descriptions stay), and
    keywords strict mode rejects (``minLength``, ``maxLength``, ``default``, ``title``...) are removed, their limits
    written into the field's description ("at most 120 characters"; limits of 500 characters and more are left to
    the description's word target). The answer is still validated by ``model``
    itself, so the limits hold either way.

    Source: OpenAI "Structured Outputs" guide (supported schemas, strict mode).

    Returns:
        a JSON-serialisable dict for ``response_format={"type": "json_schema", "json_schema": {"name": ...,
        "schema": <this>, "strict": True}}``.
    """
    schema = copy.deepcopy(model.model_json_schema())

    def fix(node: Any, is_field: bool = False) -> Any:
        if isinstance(node, list):
            return [fix(x) for x in node]
        if not isinstance(node, dict):
            return node
        out: dict[str, Any] = {}
        limit = node.get("maxLength")
        for key, value in node.items():
            if key in _UNSUPPORTED:
                continue
            if key == "description" and not is_field:
                continue  # a class docstring: long and not addressed to the model
            if key == "properties":
                out[key] = {k: fix(v, is_field=True) for k, v in value.items()}
            elif key in ("$defs", "definitions"):
                out[key] = {k: fix(v) for k, v in value.items()}
            else:
                out[key] = fix(value)
        if limit is not None and limit < 500:  # long texts: the description asks for ~30 words instead
            out["description"] = (f"{out.get('description', '')} (at most {limit} characters)").strip()
        if out.get("type") == "object" and "properties" in out:
            out["required"] = list(out["properties"])
            out["additionalProperties"] = False
        return out

    return fix(schema)


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
