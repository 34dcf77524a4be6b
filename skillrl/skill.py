"""The records a skill bank holds: :class:`Skill` and :class:`Mistake`.

Field names follow the official SkillRL JSON (arXiv 2602.08234, Sec. 3.2; ``memory_data/*/claude_style_skills.json``
of aiming-lab/SkillRL): a skill is ``{skill_id, title, principle, when_to_apply}``, a common mistake is
``{mistake_id, description, why_it_happens, how_to_avoid}``. skillrl adds the tier, the category and a
:class:`Provenance` record; those live only in the native format (see :mod:`skillrl.bank`).

Limits (checked on construction, raising :class:`pydantic.ValidationError`, which the bank turns into
:class:`skillrl.errors.BankFormatError` with the JSON path):

=================  ===================  ===============================================
field              limit                why
=================  ===================  ===============================================
``skill_id``       1-64 chars, ``[A-Za-z0-9_.:-]``  ids appear in logs, file names, reward kwargs
``title``          1-120 chars          official maximum is 32
``principle``      1-1000 chars         official maximum is 217; ReSkill caps content at 500
``when_to_apply``  0-500 chars          official maximum is 133
mistake fields     1-1000 chars         (``why_it_happens`` may be empty)
=================  ===================  ===============================================

Unknown keys in an input record are kept (``extra``) and written back, so foreign files round-trip.
"""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictInt, field_validator, model_validator

ID_PATTERN = r"^[A-Za-z0-9_.:\-]{1,64}$"
MAX_TITLE = 120
MAX_PRINCIPLE = 1000
MAX_WHEN = 500
MAX_MISTAKE_FIELD = 1000

Tier = Literal["general", "task_specific"]


class Provenance(BaseModel):
    """Where a skill came from.

    Attributes:
        source: ``"official"`` (loaded from an official bank), ``"manual"``, ``"distill"`` or ``"evolve"``.
        created_version: bank version at which the skill was added (0 = present when loaded).
        updated_version: bank version of its last change.
        episode_ids: ids of the episodes it was learned from (empty when unknown).
        teacher: teacher model name (``"offline"`` for the offline teacher), ``None`` when not taught.
        step: trainer global step of the validation that produced it, if any.
        note: free text (e.g. the teacher's rationale).
    """

    model_config = ConfigDict(extra="allow")

    source: str = "manual"
    created_version: StrictInt = 0  # strict: a boolean or "3" in a file is an error, not a version
    updated_version: StrictInt = 0
    episode_ids: list[str] = Field(default_factory=list)
    teacher: str | None = None
    step: int | None = None
    note: str = ""


def _strip_nonempty(value: str, name: str) -> str:
    value = value.strip()
    if not value:
        raise ValueError(f"{name} must not be empty")
    return value


class Skill(BaseModel):
    """One reusable behavioural pattern (a general skill or a task-specific skill).

    Attributes:
        skill_id: unique id within a bank (official ids look like ``gen_001``, ``hea_003``).
        title: a short name, rendered in bold.
        principle: what to do, one or two sentences.
        when_to_apply: the situation the skill applies to (may be empty).
        tier: ``"general"`` or ``"task_specific"``.
        category: the task category for task-specific skills (``None`` for general skills).
        provenance: where it came from (native format only).

    Raises:
        pydantic.ValidationError: a field is empty, too long, or the id has characters outside
            ``[A-Za-z0-9_.:-]``; a task-specific skill has no category.
    """

    model_config = ConfigDict(extra="allow", validate_assignment=True, frozen=False)

    skill_id: str = Field(pattern=ID_PATTERN)
    title: str = Field(max_length=MAX_TITLE)
    principle: str = Field(max_length=MAX_PRINCIPLE)
    when_to_apply: str = Field(default="", max_length=MAX_WHEN)
    tier: Tier = "general"
    category: str | None = None
    provenance: Provenance = Field(default_factory=Provenance)

    @field_validator("title", "principle")
    @classmethod
    def _nonempty(cls, value: str, info) -> str:  # noqa: ANN001
        return _strip_nonempty(value, info.field_name)

    @field_validator("category")
    @classmethod
    def _category(cls, value: str | None) -> str | None:
        if value is not None and not value.strip():
            raise ValueError("category must not be empty")
        return value

    @model_validator(mode="after")
    def _tier_category(self) -> "Skill":
        if self.tier == "task_specific" and not self.category:
            raise ValueError("a task_specific skill needs a category")
        if self.tier == "general" and self.category is not None:
            raise ValueError("a general skill has no category (category must be None)")
        return self

    # -- text -----------------------------------------------------------------------------------
    @property
    def text(self) -> str:
        """The text that is embedded for retrieval: ``"title: principle When: when_to_apply"``."""
        when = f" When: {self.when_to_apply}" if self.when_to_apply else ""
        return f"{self.title}: {self.principle}{when}"

    def to_official(self) -> dict[str, Any]:
        """The record as the official SkillRL JSON has it (plus any unknown keys it was loaded with)."""
        out = {"skill_id": self.skill_id, "title": self.title, "principle": self.principle,
               "when_to_apply": self.when_to_apply}
        out.update(self.model_extra or {})
        return out

    def to_native(self) -> dict[str, Any]:
        """The record with tier, category and provenance (the native bank format)."""
        return self.model_dump(mode="json")

    def content_equal(self, other: "Skill") -> bool:
        """True when title, principle and when_to_apply are the same (ids and provenance ignored)."""
        return (self.title, self.principle, self.when_to_apply) == (other.title, other.principle, other.when_to_apply)


class Mistake(BaseModel):
    """A common mistake and how to avoid it (official ``common_mistakes`` entry).

    Attributes:
        mistake_id: unique id within a bank (official ids look like ``err_001``).
        description: what the agent does wrong.
        why_it_happens: the cause (may be empty).
        how_to_avoid: the remedy, rendered after ``**Instead**:``.
        category: the task category the mistake was learnt in (evolution and distillation tag their mistakes), shown
            first to that category's tasks and never to another's; ``None`` (official mistakes): every category
            (native format only; the official export leaves it out).
        provenance: where it came from (native format only).
    """

    model_config = ConfigDict(extra="allow", validate_assignment=True)

    mistake_id: str = Field(pattern=ID_PATTERN)
    description: str = Field(max_length=MAX_MISTAKE_FIELD)
    why_it_happens: str = Field(default="", max_length=MAX_MISTAKE_FIELD)
    how_to_avoid: str = Field(max_length=MAX_MISTAKE_FIELD)
    category: str | None = Field(default=None, min_length=1)
    provenance: Provenance = Field(default_factory=Provenance)

    @field_validator("description", "how_to_avoid")
    @classmethod
    def _nonempty(cls, value: str, info) -> str:  # noqa: ANN001
        return _strip_nonempty(value, info.field_name)

    @property
    def text(self) -> str:
        """The text that is embedded: ``"description Instead: how_to_avoid"``."""
        return f"{self.description} Instead: {self.how_to_avoid}"

    def to_official(self) -> dict[str, Any]:
        out = {"mistake_id": self.mistake_id, "description": self.description,
               "why_it_happens": self.why_it_happens, "how_to_avoid": self.how_to_avoid}
        out.update(self.model_extra or {})
        return out

    def to_native(self) -> dict[str, Any]:
        out = self.model_dump(mode="json")
        if out.get("category") is None:
            out.pop("category", None)  # untagged: the same document as before tags existed
        return out


_SLUG = re.compile(r"[^a-z0-9]+")


def slugify(text: str, max_len: int = 24) -> str:
    """Lowercase ``text`` to ``[a-z0-9_]`` (for generated ids): ``"Heat First!"`` -> ``"heat_first"``."""
    return _SLUG.sub("_", text.lower()).strip("_")[:max_len] or "x"
