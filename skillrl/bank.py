"""The SkillBank: general skills, task-specific skills per category, common mistakes; versioned.

Layout follows SkillRL's two-tier bank (arXiv 2602.08234, Sec. 3.2): *general skills* apply to every task,
*task-specific skills* are grouped by task category, and *common mistakes* list what to avoid.

Two on-disk formats, both JSON and autodetected by :meth:`SkillBank.load`:

* **official** - the aiming-lab/SkillRL ``claude_style_skills.json`` shape
  (``general_skills`` / ``task_specific_skills`` or ``query_type_skills`` / ``common_mistakes`` / ``metadata``).
  Loading then saving an official file gives the same JSON document back (key order kept, unknown keys kept).
* **native** - the same plus ``"format": "skillrl-bank"``, the bank ``version``, each record's tier, category and
  provenance, and the full change ``history`` (so any earlier version can be rebuilt); once episodes were recorded,
  also ``stats``: how often each skill was shown or withheld and how those episodes went, per split, category and
  bank version (:class:`skillrl.utility.UsageStats`; never in the official export).

Every edit (add, update, remove, merge, revert, and the mistake equivalents) bumps :attr:`SkillBank.version`
by one and appends a :class:`Change` with its reason. Several edits can share one version with
:meth:`SkillBank.transaction`, which also undoes them all if the block raises.

**Quarantine** (issue 12): records that screening (:mod:`skillrl.screening`) flagged are kept in the native file's
``quarantine`` list (:class:`QuarantineEntry`: the record, its kind, the verdict's reasons and score, which path
flagged it, when), never rendered, retrieved or exported to the official format. :meth:`SkillBank.quarantine` files
one (or moves an active record there), :meth:`SkillBank.release` moves one into the bank with a recorded reason;
both are history edits of kind ``"quarantine"``, so they replay like every other change. ``add`` / ``update`` /
``add_mistake`` take ``screen=True`` and ``load(path, trust="untrusted")`` screens a bank from elsewhere.

Files (reading, strict parsing, atomic writes, locks) are :mod:`skillrl.storage`'s job. Loading is strict: every
failure is one :class:`~skillrl.errors.BankFormatError` line naming the file and JSON path, and a native file's
history must run 1..version and replay to the stored records. Several processes may share a bank file: a loaded
bank remembers the file's version and sha256, and :meth:`SkillBank.save` raises
:class:`~skillrl.errors.StaleBankError` (a :class:`~skillrl.errors.BankConflictError`) instead of overwriting a file
another process saved in between. Two ways to cooperate:

* ``with SkillBank.edit(path) as bank: ...`` - load, edit and save under the file's lock (no conflict possible
  among skillrl writers; others wait);
* keep a bank in memory, and when ``save`` raises, ``bank.rebase(path)`` (re-applies this bank's unsaved changes
  onto the file's current version; raises BankConflictError when they touch a record the other writer changed)
  and ``save`` again.
"""

from __future__ import annotations

import contextlib
import copy
import difflib
import logging
import os
import threading
import time
from pathlib import Path
from typing import Any, Callable, Iterator, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, StrictInt, ValidationError, field_validator, model_validator

from skillrl import storage
from skillrl.errors import (BankConflictError, BankFormatError, BankNotFoundError, ConfigError, InputTypeError,
                            StaleBankError, short_repr)
from skillrl.skill import ID_PATTERN, Mistake, Provenance, Skill
from skillrl.storage import LOCK_TIMEOUT, MAX_BANK_BYTES, NATIVE_FORMAT, NATIVE_FORMAT_VERSION, TASK_KEYS
from skillrl.storage import atomic_write_json  # noqa: F401  (re-exported: adapters import it from skillrl.bank)
from skillrl.utility import UsageStats

Op = Literal["add", "update", "remove", "merge", "revert", "add_mistake", "update_mistake", "remove_mistake",
             "transaction", "evolve", "distill", "quarantine", "release"]
HISTORY_OPS: tuple[str, ...] = get_args(Op)
"""The ``op`` values a :class:`Change` may have; :meth:`SkillBank.transaction` takes one of them and a file whose
history has another is rejected."""

RecordKind = Literal["skill", "mistake"]
Kind = Literal["skill", "mistake", "quarantine"]
"""What an :class:`Edit` touches: an active skill or mistake, or an entry of the quarantine."""
Trust = Literal["trusted", "untrusted"]
logger = logging.getLogger("skillrl.bank")


class Edit(BaseModel):
    """One record-level edit inside a :class:`Change`: ``before`` -> ``after`` (native dicts; ``None`` = absent).

    ``before_at`` / ``after_at`` give the list the record sat in (``"general"``, ``"task:<category>"``,
    ``"mistakes"`` or ``"quarantine"``) and its index there, so undoing an edit restores the exact order. An edit of
    kind ``"quarantine"`` adds or removes a :class:`QuarantineEntry` (``item_id`` is its ``entry_id``).
    """

    model_config = ConfigDict(extra="forbid")

    kind: Kind
    item_id: str
    before: dict[str, Any] | None = None
    after: dict[str, Any] | None = None
    before_at: tuple[str, StrictInt] | None = None
    after_at: tuple[str, StrictInt] | None = None
    creates_category: str | None = None
    drops_category: str | None = None


class Change(BaseModel):
    """One entry of the bank's history: the edits that made ``version`` out of ``version - 1``.

    Attributes:
        version: the bank version this change produced.
        op: one of :data:`HISTORY_OPS` (``add``, ``update``, ``remove``, ``merge``, ``revert``, ``add_mistake``,
            ``update_mistake``, ``remove_mistake``, ``transaction``, ``evolve``, ``distill``).
        reason: why (free text; evolution puts the validation step and categories here).
        edits: the record edits, in the order applied.
        timestamp: seconds since the epoch.
        meta: anything else worth keeping (e.g. teacher model, tokens).
    """

    model_config = ConfigDict(extra="forbid")

    version: StrictInt = Field(ge=1)
    op: Op
    reason: str = ""
    edits: list[Edit] = Field(default_factory=list)
    timestamp: float = Field(default_factory=time.time)
    meta: dict[str, Any] = Field(default_factory=dict)

    @field_validator("timestamp", mode="before")
    @classmethod
    def _number(cls, value: Any) -> Any:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ValueError("timestamp must be a number of seconds since the epoch")
        return value

    @property
    def summary(self) -> str:
        ids = ", ".join(e.item_id for e in self.edits)
        return f"v{self.version} {self.op} [{ids}] {self.reason}".rstrip()


class BankDiff(BaseModel):
    """What differs between two banks (``a`` -> ``b``), by id.

    ``changed`` maps an id to ``{field: [old, new]}`` for the fields that differ (title, principle,
    when_to_apply, tier, category; or the mistake fields). Provenance is not compared.
    """

    version_a: int
    version_b: int
    added: list[str] = Field(default_factory=list)
    removed: list[str] = Field(default_factory=list)
    changed: dict[str, dict[str, list[Any]]] = Field(default_factory=dict)
    mistakes_added: list[str] = Field(default_factory=list)
    mistakes_removed: list[str] = Field(default_factory=list)
    mistakes_changed: dict[str, dict[str, list[Any]]] = Field(default_factory=dict)

    @property
    def empty(self) -> bool:
        return not (self.added or self.removed or self.changed or self.mistakes_added
                    or self.mistakes_removed or self.mistakes_changed)

    def __str__(self) -> str:
        lines = [f"v{self.version_a} -> v{self.version_b}"]
        lines += [f"+ {i}" for i in self.added] + [f"- {i}" for i in self.removed]
        lines += [f"~ {i}: {', '.join(f)}" for i, f in self.changed.items()]
        lines += [f"+ mistake {i}" for i in self.mistakes_added] + [f"- mistake {i}" for i in self.mistakes_removed]
        lines += [f"~ mistake {i}: {', '.join(f)}" for i, f in self.mistakes_changed.items()]
        return "\n".join(lines if len(lines) > 1 else lines + ["(no differences)"])


class QuarantineEntry(BaseModel):
    """A record screening flagged, kept in the bank's quarantine: never rendered, retrieved or exported to the
    official format (:mod:`skillrl.screening`; issue 12).

    Attributes:
        entry_id: the entry's id: the record's own id, or ``<id>:<n>`` when another entry already uses it (two
            flagged rewrites of one skill).
        kind: ``"skill"`` or ``"mistake"``.
        record: the record as :meth:`Skill.to_native` / :meth:`Mistake.to_native` gives it (with tier, category and
            provenance: the teacher, episodes and step it came from).
        reasons: the verdict's reasons (``"rule [kind] in field at offset: 'span'"``).
        score: the verdict's score (sum of matched rule weights).
        source: the path that quarantined it: ``"evolve"``, ``"distill"``, ``"add"``, ``"update"``,
            ``"add_mistake"``, ``"load"`` (an untrusted bank file) or ``"manual"``.
        action: ``"add"`` (a new record) or ``"update"`` (a rewrite of the active record with the same id, which
            stays as it was); :meth:`SkillBank.release` adds or replaces accordingly.
        origin: where the record came from beyond its provenance (the file of an untrusted load), may be empty.
        timestamp: when, in seconds since the epoch.
        meta: the caller's context (``step``, ``teacher``, ``phase``).

    Raises:
        pydantic.ValidationError: ``record`` is not a valid record of ``kind``.
    """

    model_config = ConfigDict(extra="forbid")

    entry_id: str = Field(pattern=ID_PATTERN)
    kind: RecordKind
    record: dict[str, Any]
    reasons: list[str] = Field(default_factory=list)
    score: float = 0.0
    source: str = "manual"
    action: Literal["add", "update"] = "add"
    origin: str = ""
    timestamp: float = Field(default_factory=time.time)
    meta: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _valid_record(self) -> "QuarantineEntry":
        (Skill if self.kind == "skill" else Mistake).model_validate(self.record)
        return self

    @property
    def record_id(self) -> str:
        """The id of the quarantined record (``skill_id`` / ``mistake_id``)."""
        return str(self.record["skill_id" if self.kind == "skill" else "mistake_id"])

    def to_record(self) -> Skill | Mistake:
        """The quarantined record as a :class:`Skill` or :class:`Mistake`."""
        return (Skill if self.kind == "skill" else Mistake).model_validate(self.record)

    @property
    def text(self) -> str:
        """The record's text (what screening read): ``title: principle`` or ``description Instead: remedy``."""
        return self.to_record().text


class LoadScreening(BaseModel):
    """What :meth:`SkillBank.load` with ``trust="untrusted"`` did: records screened and those quarantined."""

    screened: int = 0
    quarantined: list[str] = Field(default_factory=list)


def resolve_screen(screen: Any) -> Callable[[Any], Any] | None:
    """The screener a ``screen=`` argument names: ``True`` the default rules (:func:`skillrl.screening.screen`),
    ``False`` / ``None`` none, a callable (a :class:`skillrl.screening.Screener`) itself.

    Raises:
        ConfigError: anything else.
    """
    if screen is True:
        from skillrl.screening import screen as default_screen

        return default_screen
    if screen is None or screen is False:
        return None
    if callable(screen):
        return screen
    raise ConfigError(f"screen must be True, False, None or a callable (a skillrl.screening.Screener), got "
                      f"{type(screen).__name__}")


def _flagged(verdict: Any) -> bool:
    return verdict is not None and bool(getattr(verdict, "flagged", False))


def _content_key(kind: str, record: dict[str, Any]) -> tuple[Any, ...]:
    """The text of a record (its tier and category left out): one quarantine entry per injected text."""
    fields = ("title", "principle", "when_to_apply") if kind == "skill" else _MISTAKE_FIELDS
    return (kind, *(record.get(f) for f in fields))


_SKILL_FIELDS = ("title", "principle", "when_to_apply", "tier", "category")
_MISTAKE_FIELDS = ("description", "why_it_happens", "how_to_avoid")


def _field_diff(a: BaseModel, b: BaseModel, fields: tuple[str, ...]) -> dict[str, list[Any]]:
    return {f: [getattr(a, f), getattr(b, f)] for f in fields if getattr(a, f) != getattr(b, f)}


def _pydantic_to_format_error(err: ValidationError, file: str | None, path: str, data: Any) -> BankFormatError:
    first = err.errors()[0]
    loc = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in first["loc"])
    got = first.get("input", data)
    return BankFormatError(file, path + loc, first["msg"][0].lower() + first["msg"][1:], short_repr(got))


class SkillBank:
    """A versioned two-tier skill bank (SkillRL Sec. 3.2).

    Args:
        general: general skills (tier ``general``), in render order.
        task_specific: ``{category: [skills]}``; skills are given tier ``task_specific`` and that category.
        mistakes: common mistakes, in render order.
        metadata: free JSON metadata (kept verbatim, e.g. the official ``task_distribution``).
        task_key: the key task-specific skills are written under in the official format
            (``"task_specific_skills"``, or ``"query_type_skills"`` for the Search bank).

    Raises:
        BankFormatError: duplicate skill or mistake ids, or a skill whose tier/category contradicts where it was put.

    Thread safety: edits and reads of the lists hold an internal lock; a retriever reading
    :meth:`skills` while evolution edits sees either the old or the new list, never a half-edit.
    """

    def __init__(
        self,
        general: list[Skill] | None = None,
        task_specific: dict[str, list[Skill]] | None = None,
        mistakes: list[Mistake] | None = None,
        metadata: Any = None,
        *,
        task_key: str = "task_specific_skills",
    ) -> None:
        self._lock = threading.RLock()
        self._general: list[Skill] = []
        self._task: dict[str, list[Skill]] = {}
        self._mistakes: list[Mistake] = []
        self._skill_index: dict[str, Skill] = {}
        self._mistake_index: dict[str, Mistake] = {}
        self.metadata: Any = {} if metadata is None else metadata
        self.task_key = task_key
        self.version = 0
        self.history: list[Change] = []
        self._key_order: list[str] = ["general_skills", task_key, "common_mistakes", "metadata"]
        self._extra: dict[str, Any] = {}
        self._open: Change | None = None
        self._disk: dict[str, tuple[int, str]] = {}  # real path -> (version, sha256) of the file as loaded/saved
        self.source_format: storage.Format | None = None
        self.stats = UsageStats()  # usage and outcome per skill (skillrl.utility); native files only
        self._quarantine: list[QuarantineEntry] = []  # flagged records (see the quarantine section)
        self._quarantine_index: dict[str, QuarantineEntry] = {}
        self.load_screening: LoadScreening | None = None
        for s in general or []:
            self._load_skill(s.model_copy(update={"tier": "general", "category": None}) if s.tier != "general" else s)
        for cat, skills in (task_specific or {}).items():
            self._task.setdefault(cat, [])
            for s in skills:
                if s.tier != "task_specific" or s.category != cat:
                    s = Skill.model_validate({**s.model_dump(), "tier": "task_specific", "category": cat})
                self._load_skill(s)
        for m in mistakes or []:
            self._load_mistake(m)

    # ------------------------------------------------------------------ construction helpers
    def _load_skill(self, skill: Skill, file: str | None = None, path: str = "$") -> None:
        if skill.skill_id in self._skill_index:
            raise BankFormatError(file, path + ".skill_id", "a skill_id unique within the bank", repr(skill.skill_id))
        self._list_for(skill, create=True).append(skill)
        self._skill_index[skill.skill_id] = skill

    def _load_mistake(self, mistake: Mistake, file: str | None = None, path: str = "$") -> None:
        if mistake.mistake_id in self._mistake_index:
            raise BankFormatError(file, path + ".mistake_id", "a mistake_id unique within the bank",
                                  repr(mistake.mistake_id))
        self._mistakes.append(mistake)
        self._mistake_index[mistake.mistake_id] = mistake

    def _list_for(self, skill: Skill, create: bool = False) -> list[Skill]:
        if skill.tier == "general":
            return self._general
        if create:
            return self._task.setdefault(skill.category, [])  # type: ignore[arg-type]
        return self._task[skill.category]  # type: ignore[index]

    # ------------------------------------------------------------------ read access
    @property
    def general(self) -> list[Skill]:
        """General skills in order (a copy of the list; the records themselves are shared)."""
        with self._lock:
            return list(self._general)

    @property
    def task_specific(self) -> dict[str, list[Skill]]:
        """``{category: [skills]}`` in order, including categories that are currently empty."""
        with self._lock:
            return {c: list(v) for c, v in self._task.items()}

    @property
    def mistakes(self) -> list[Mistake]:
        """Common mistakes in order."""
        with self._lock:
            return list(self._mistakes)

    @property
    def categories(self) -> list[str]:
        """Task categories, in file order."""
        return list(self._task)

    def skills(self) -> list[Skill]:
        """All skills: general first, then each category's task-specific skills."""
        with self._lock:
            return list(self._general) + [s for v in self._task.values() for s in v]

    def get(self, skill_id: str) -> Skill:
        """The skill with this id. Raises ``KeyError`` when absent."""
        return self._skill_index[skill_id]

    def get_mistake(self, mistake_id: str) -> Mistake:
        """The mistake with this id. Raises ``KeyError`` when absent."""
        return self._mistake_index[mistake_id]

    def __contains__(self, skill_id: object) -> bool:
        return skill_id in self._skill_index

    def __len__(self) -> int:
        return len(self._skill_index)

    def __repr__(self) -> str:
        cats = ", ".join(f"{c}={len(v)}" for c, v in self._task.items())
        return (f"SkillBank(v{self.version}: {len(self._general)} general, "
                f"{len(self) - len(self._general)} task-specific [{cats}], {len(self._mistakes)} mistakes)")

    # ------------------------------------------------------------------ usage statistics (skillrl.utility)
    def record_usage(self, episodes: Any, split: str | None = None) -> int:
        """Count recorded episodes in :attr:`stats` (:meth:`skillrl.utility.UsageStats.add`; episodes without a
        bank version in their metadata count at this bank's version). Does not change :attr:`version`: usage is
        evidence about the records, not an edit. Returns how many episodes carried a block."""
        with self._lock:
            return self.stats.add(episodes, split=split, version=self.version)

    def merge_usage(self, stats: UsageStats) -> None:
        """Add counts made elsewhere (:meth:`skillrl.utility.UsageStats.merge`) to :attr:`stats`."""
        with self._lock:
            self.stats.merge(stats)

    def counts(self) -> dict[str, Any]:
        """``{"general": n, "task_specific": {cat: n}, "mistakes": n, "total": n, "version": v}``."""
        return {"general": len(self._general), "task_specific": {c: len(v) for c, v in self._task.items()},
                "mistakes": len(self._mistakes), "total": len(self), "version": self.version}

    # ------------------------------------------------------------------ edits
    def new_skill_id(self, prefix: str, avoid: Any = ()) -> str:
        """A free id ``<prefix>_<nnn>`` (official style: ``gen_013``, ``hea_006``), also unused by the quarantine and
        not in ``avoid`` (e.g. the ids of retired skills, :func:`skillrl.utility.retired`)."""
        n = 1
        while (f"{prefix}_{n:03d}" in self._skill_index or self._in_quarantine(f"{prefix}_{n:03d}")
               or f"{prefix}_{n:03d}" in avoid):
            n += 1
        return f"{prefix}_{n:03d}"

    def new_mistake_id(self, prefix: str = "err") -> str:
        """A free mistake id ``err_<nnn>``, also unused by the quarantine."""
        n = 1
        while f"{prefix}_{n:03d}" in self._mistake_index or self._in_quarantine(f"{prefix}_{n:03d}"):
            n += 1
        return f"{prefix}_{n:03d}"

    def add(self, skill: Skill, reason: str = "", *, index: int | None = None,
            screen: Any = False) -> Skill | QuarantineEntry:
        """Add ``skill`` (at the end of its tier/category list, or at ``index``). Bumps the version.

        The stored record is a copy whose provenance ``created_version``/``updated_version`` is the new version.

        Args:
            screen: screen it first (``True``: :func:`skillrl.screening.screen`; or a screener callable, see
                :func:`resolve_screen`; default ``False``). A flagged skill is not added: it goes to the quarantine
                (:meth:`quarantine`, source ``"add"``) and the :class:`QuarantineEntry` is returned instead.

        Raises:
            BankConflictError: a skill with this id exists.
        """
        with self._lock:
            if skill.skill_id in self._skill_index:
                raise BankConflictError(f"skill id {skill.skill_id!r} already exists in the bank")
            if screen:
                entry = self._screened(skill, screen, "add", reason)
                if entry is not None:
                    return entry
            with self._change("add", reason):
                v = self._pending_version()
                prov = skill.provenance.model_copy(update={"created_version": v, "updated_version": v})
                new = skill.model_copy(update={"provenance": prov}, deep=True)
                self._apply(Edit(kind="skill", item_id=new.skill_id, after=new.to_native(),
                                 after_at=(self._where(new), index if index is not None else -1)))
            return self.get(new.skill_id)

    def update(self, skill_id: str, reason: str = "", *, screen: Any = False,
               **fields: Any) -> Skill | QuarantineEntry:
        """Change fields of a skill (``title``, ``principle``, ``when_to_apply``, ``tier``, ``category``,
        ``provenance`` ...). Bumps the version. Moving to another tier/category appends it there.

        ``screen`` (see :meth:`add`): a flagged new version is not applied (the skill stays as it was); it goes to
        the quarantine as an ``"update"`` entry, which is returned.

        Raises:
            KeyError: no such skill. pydantic.ValidationError: a new value breaks a limit (the bank is unchanged).
        """
        with self._lock:
            old = self.get(skill_id)
            if "skill_id" in fields and fields["skill_id"] != skill_id:
                raise BankConflictError("update() cannot rename a skill; remove and add instead")
            data = {**old.to_native(), **{k: (v.model_dump() if isinstance(v, BaseModel) else v)
                                          for k, v in fields.items()}}
            if data.get("tier") == "general":
                data["category"] = None
            new = Skill.model_validate(data)
            if screen:
                entry = self._screened(new, screen, "update", reason, action="update")
                if entry is not None:
                    return entry
            with self._change("update", reason):
                v = self._pending_version()
                new = new.model_copy(update={"provenance": new.provenance.model_copy(update={"updated_version": v})})
                here = self._location(old)
                to = here if self._where(new) == here[0] else (self._where(new), -1)
                self._apply(Edit(kind="skill", item_id=skill_id, before=old.to_native(), after=new.to_native(),
                                 before_at=here, after_at=to))
            return self.get(skill_id)

    def remove(self, skill_id: str, reason: str = "") -> Skill:
        """Remove a skill; returns it. Bumps the version. Raises ``KeyError`` when absent."""
        with self._lock:
            old = self.get(skill_id)
            with self._change("remove", reason):
                self._apply(Edit(kind="skill", item_id=skill_id, before=old.to_native(), before_at=self._location(old)))
            return old

    def merge(self, keep_id: str, drop_id: str, reason: str = "", **fields: Any) -> Skill:
        """Merge ``drop_id`` into ``keep_id`` (optionally rewriting ``keep_id``'s fields) in one version.

        The kept skill's provenance gains the dropped skill's episode ids.
        """
        with self._lock:
            keep, drop = self.get(keep_id), self.get(drop_id)
            if keep_id == drop_id:
                raise BankConflictError("merge() needs two different skills")
            eps = list(dict.fromkeys(keep.provenance.episode_ids + drop.provenance.episode_ids))
            prov = keep.provenance.model_copy(update={"episode_ids": eps})
            with self._change("merge", reason):
                self.update(keep_id, provenance=prov, **fields)
                self.remove(drop_id)
            return self.get(keep_id)

    def add_mistake(self, mistake: Mistake, reason: str = "", *, screen: Any = False) -> Mistake | QuarantineEntry:
        """Add a common mistake at the end. Bumps the version. Raises BankConflictError on a duplicate id.
        ``screen``: as :meth:`add` (a flagged mistake goes to the quarantine, its entry is returned)."""
        with self._lock:
            if mistake.mistake_id in self._mistake_index:
                raise BankConflictError(f"mistake id {mistake.mistake_id!r} already exists in the bank")
            if screen:
                entry = self._screened(mistake, screen, "add_mistake", reason)
                if entry is not None:
                    return entry
            with self._change("add_mistake", reason):
                v = self._pending_version()
                prov = mistake.provenance.model_copy(update={"created_version": v, "updated_version": v})
                new = mistake.model_copy(update={"provenance": prov}, deep=True)
                self._apply(Edit(kind="mistake", item_id=new.mistake_id, after=new.to_native(),
                                 after_at=("mistakes", -1)))
            return self.get_mistake(new.mistake_id)

    def update_mistake(self, mistake_id: str, reason: str = "", **fields: Any) -> Mistake:
        """Change fields of a mistake. Bumps the version."""
        with self._lock:
            old = self.get_mistake(mistake_id)
            new = Mistake.model_validate({**old.to_native(), **fields})
            with self._change("update_mistake", reason):
                v = self._pending_version()
                new = new.model_copy(update={"provenance": new.provenance.model_copy(update={"updated_version": v})})
                at = ("mistakes", self._mistakes.index(old))
                self._apply(Edit(kind="mistake", item_id=mistake_id, before=old.to_native(), after=new.to_native(),
                                 before_at=at, after_at=at))
            return self.get_mistake(mistake_id)

    def remove_mistake(self, mistake_id: str, reason: str = "") -> Mistake:
        """Remove a mistake; returns it. Bumps the version."""
        with self._lock:
            old = self.get_mistake(mistake_id)
            with self._change("remove_mistake", reason):
                self._apply(Edit(kind="mistake", item_id=mistake_id, before=old.to_native(),
                                 before_at=("mistakes", self._mistakes.index(old))))
            return old

    @contextlib.contextmanager
    def transaction(self, reason: str = "", op: str = "transaction", **meta: Any) -> Iterator["SkillBank"]:
        """Group the edits made inside the block into ONE version; undo them all if the block raises.

        Example::

            with bank.transaction("evolution at step 40", teacher="offline"):
                bank.add(skill_a)
                bank.update("hea_001", principle="...")
            # bank.version went up by exactly one (or not at all when nothing was edited)

        Raises:
            ConfigError: ``op`` is not one of :data:`HISTORY_OPS` (the file would not load again).
        """
        if op not in HISTORY_OPS:
            raise ConfigError(f"transaction op {op!r} is not one of {', '.join(HISTORY_OPS)} (skillrl.bank.HISTORY_OPS)")
        with self._lock, self._change(op, reason, meta):
            yield self

    # ------------------------------------------------------------------ quarantine (issue 12)
    @property
    def quarantined(self) -> tuple[QuarantineEntry, ...]:
        """The quarantine, oldest first (copies: editing them does not change the bank). Quarantined records are
        never rendered, retrieved, counted in ``len(bank)`` or exported to the official format."""
        with self._lock:
            return tuple(e.model_copy(deep=True) for e in self._quarantine)

    def get_quarantined(self, entry_id: str) -> QuarantineEntry:
        """The quarantine entry with this id (a copy). Raises ``KeyError`` when absent."""
        with self._lock:
            return self._quarantine_index[entry_id].model_copy(deep=True)

    def _in_quarantine(self, record_id: str) -> bool:
        return record_id in self._quarantine_index or any(e.record_id == record_id for e in self._quarantine)

    def _screened(self, record: Skill | Mistake, screen: Any, source: str, reason: str,
                  action: Literal["add", "update"] = "add") -> QuarantineEntry | None:
        verdict = resolve_screen(screen)(record)  # type: ignore[misc]  # screen is truthy here
        if not _flagged(verdict):
            return None
        return self.quarantine(record, list(getattr(verdict, "reasons", []) or ["flagged by screening"]),
                               score=float(getattr(verdict, "score", 0.0) or 0.0), source=source, action=action,
                               reason=reason)

    def quarantine(self, record: Skill | Mistake | str, reasons: list[str] | tuple[str, ...], *, score: float = 0.0,
                   source: str = "manual", action: Literal["add", "update"] = "add", origin: str = "",
                   meta: dict[str, Any] | None = None, reason: str = "") -> QuarantineEntry:
        """Keep a flagged record in the bank's quarantine (one new version, op ``"quarantine"``; inside a
        :meth:`transaction` it joins that version). The history records it, so it replays.

        Args:
            record: a :class:`Skill` / :class:`Mistake` that is not added, or the id of an active skill or mistake,
                which is moved out of the bank into the quarantine (what an untrusted load does).
            reasons: why (a :class:`skillrl.screening.Verdict`'s ``reasons``).
            score: the verdict's score.
            source, action, origin, meta: see :class:`QuarantineEntry` (``meta`` keeps its JSON scalar values).
            reason: the history entry's reason (default: ``"quarantined <kind> <id> (<source>): <first reason>"``).

        Returns:
            The entry (a copy). When the quarantine already holds a record of the same kind and content, that entry
            is returned and no new one is made (a teacher repeating an injection does not grow the quarantine; tier
            and category are not compared).

        Raises:
            KeyError: ``record`` is an id no active skill or mistake has.
            InputTypeError: ``record`` is neither a record nor an id.
            ConfigError: ``action`` is not ``"add"`` / ``"update"``.
        """
        if action not in ("add", "update"):
            raise ConfigError(f"action must be 'add' or 'update', got {action!r}")
        with self._lock:
            moved: Skill | Mistake | None = None
            if isinstance(record, str):
                moved = self._skill_index.get(record) or self._mistake_index.get(record)
                if moved is None:
                    raise KeyError(f"no skill or mistake {record!r} in the bank to quarantine")
                record = moved
            if not isinstance(record, (Skill, Mistake)):
                raise InputTypeError(f"quarantine() takes a Skill, a Mistake or the id of one, got "
                                     f"{type(record).__name__}")
            kind: RecordKind = "skill" if isinstance(record, Skill) else "mistake"
            native = record.to_native()
            rid = record.skill_id if isinstance(record, Skill) else record.mistake_id
            key = _content_key(kind, native)
            same = next((e for e in self._quarantine if _content_key(e.kind, e.record) == key), None)
            if same is not None and moved is None:
                return same.model_copy(deep=True)
            entry_id, n = rid, 2
            while entry_id in self._quarantine_index:
                entry_id, n = f"{rid[:56]}:{n}", n + 1
            keep = {k: v for k, v in (meta or {}).items() if v is None or isinstance(v, (str, int, float, bool))}
            entry = QuarantineEntry(entry_id=entry_id, kind=kind, record=native, reasons=list(reasons),
                                    score=float(score), source=source, action=action, origin=origin, meta=keep)
            first = entry.reasons[0] if entry.reasons else "flagged"
            with self._change("quarantine", reason or f"quarantined {kind} {rid} ({source}): {first}"[:300]):
                if moved is not None:
                    at = (self._location(moved) if kind == "skill"  # type: ignore[arg-type]
                          else ("mistakes", next(i for i, m in enumerate(self._mistakes) if m is moved)))
                    self._apply(Edit(kind=kind, item_id=rid, before=native, before_at=at))
                if same is not None:
                    return same.model_copy(deep=True)
                self._apply(Edit(kind="quarantine", item_id=entry_id, after=entry.model_dump(mode="json"),
                                 after_at=("quarantine", -1)))
            return self.get_quarantined(entry_id)

    def release(self, entry_id: str, reason: str, *, new_id: str | None = None) -> Skill | Mistake:
        """Move a quarantined record into the bank: one new version (op ``"release"``) whose reason is ``reason``
        and whose meta keeps the entry id and the screening verdict it overrides.

        An ``"add"`` entry is added at the end of its tier/category (a mistake: of the mistakes); an ``"update"``
        entry replaces the active record with its id (added when that record is gone). The record's provenance is
        kept (``created_version`` / ``updated_version`` become the new version).

        Args:
            entry_id: the :attr:`QuarantineEntry.entry_id` (the record's id unless two entries share it).
            reason: why the verdict is overridden (required; recorded in the history).
            new_id: add it under this id instead (when its own id is taken by an active record).

        Returns:
            The record as it now is in the bank.

        Raises:
            KeyError: no such entry. ConfigError: an empty ``reason``. BankConflictError: the id (or ``new_id``) is
            taken by an active record and the entry is not an update of it. BankFormatError: ``new_id`` is not a
            valid id.
        """
        if not isinstance(reason, str) or not reason.strip():
            raise ConfigError("release() needs a reason (why the screening verdict is overridden)")
        with self._lock:
            entry = self._quarantine_index.get(entry_id)
            if entry is None:
                held = ", ".join(self._quarantine_index) or "none"
                raise KeyError(f"no quarantined record {entry_id!r} (quarantined: {held})")
            kind, id_key = entry.kind, ("skill_id" if entry.kind == "skill" else "mistake_id")
            rid = new_id or entry.record_id
            try:
                record = entry.to_record() if new_id is None else \
                    (Skill if kind == "skill" else Mistake).model_validate({**entry.record, id_key: new_id})
            except ValidationError as err:
                raise _pydantic_to_format_error(err, None, "$.new_id", new_id) from None
            index = self._skill_index if kind == "skill" else self._mistake_index
            old = index.get(rid)
            if old is not None and (entry.action != "update" or new_id is not None):
                raise BankConflictError(f"{kind} id {rid!r} is in the bank already; release {entry_id!r} under "
                                        "another id (new_id=...)")
            at = next(i for i, e in enumerate(self._quarantine) if e is entry)
            meta = {"entry_id": entry_id, "record_id": rid, "screening_reasons": list(entry.reasons),
                    "score": entry.score, "quarantined_by": entry.source}
            with self._change("release", reason.strip(), meta):
                v = self._pending_version()
                self._apply(Edit(kind="quarantine", item_id=entry_id, before=entry.model_dump(mode="json"),
                                 before_at=("quarantine", at)))
                created = old.provenance.created_version if old is not None else v
                prov = record.provenance.model_copy(update={"created_version": created, "updated_version": v})
                new = record.model_copy(update={"provenance": prov}, deep=True)
                if kind == "skill":
                    to = (self._where(new), -1)  # type: ignore[arg-type]
                    here = self._location(old) if old is not None else None  # type: ignore[arg-type]
                    if here is not None and here[0] == to[0]:
                        to = here
                else:
                    here = None if old is None else ("mistakes", next(i for i, m in enumerate(self._mistakes)
                                                                      if m is old))
                    to = here or ("mistakes", -1)
                self._apply(Edit(kind=kind, item_id=rid, before=None if old is None else old.to_native(),
                                 after=new.to_native(), before_at=here, after_at=to))
            return self.get(rid) if kind == "skill" else self.get_mistake(rid)

    def screen_records(self, screen: Any = True, *, origin: str = "", reason: str = "") -> LoadScreening:
        """Screen every active skill and mistake and move the flagged ones into the quarantine (source ``"load"``),
        all in one new version (none when nothing is flagged). What ``load(path, trust="untrusted")`` runs.

        Args:
            screen: the screener (see :func:`resolve_screen`; default the built-in rules).
            origin: recorded in each entry (the file the bank came from).
            reason: the history entry's reason.

        Returns:
            :class:`LoadScreening` (records screened, ids quarantined), also kept in :attr:`load_screening`.
        """
        fn = resolve_screen(screen)
        out = LoadScreening()
        if fn is None:
            return out
        with self._lock:
            records: list[Skill | Mistake] = [*self.skills(), *self._mistakes]
            out.screened = len(records)
            flagged = [(r, v) for r in records if _flagged(v := fn(r))]
            if flagged:
                why = reason or f"untrusted bank{f' {origin}' if origin else ''}: {len(flagged)} of {len(records)} " \
                                "records flagged by screening"
                with self._change("quarantine", why):
                    for r, v in flagged:
                        rid = r.skill_id if isinstance(r, Skill) else r.mistake_id
                        self.quarantine(rid, list(getattr(v, "reasons", []) or ["flagged by screening"]),
                                        score=float(getattr(v, "score", 0.0) or 0.0), source="load", origin=origin)
                        out.quarantined.append(rid)
        self.load_screening = out
        return out

    # ------------------------------------------------------------------ versions
    def at_version(self, version: int) -> "SkillBank":
        """A copy of the bank as it was at ``version`` (rebuilt by undoing later changes).

        Raises:
            BankConflictError: ``version`` is newer than the bank or older than its recorded history.
        """
        with self._lock:
            oldest = self.history[0].version - 1 if self.history else self.version
            if not oldest <= version <= self.version:
                raise BankConflictError(
                    f"version {version} is not available: this bank holds versions {oldest}..{self.version}")
            out = self.copy()
            for change in reversed(out.history):
                if change.version <= version:
                    break
                for edit in reversed(change.edits):
                    out._apply(_inverse(edit))
            out.history = [c for c in out.history if c.version <= version]
            out.version = version
            return out

    def revert_to(self, version: int, reason: str = "") -> BankDiff:
        """Make the contents equal to ``version`` again, as a NEW version (history is never rewritten).

        Returns the diff that was applied (current -> old contents).
        """
        with self._lock:
            target = self.at_version(version)
            diff = self.diff(target)
            with self._change("revert", reason or f"revert to v{version}"):
                for sid in diff.removed + list(diff.changed):
                    self.remove(sid)
                    cat = self._open.edits[-1].before_at[0][5:] if self._open.edits[-1].before_at[0] != "general" else ""
                    if cat and cat not in target._task and not self._task.get(cat):
                        self._open.edits[-1].drops_category = cat
                        self._task.pop(cat)
                for m in diff.mistakes_removed + list(diff.mistakes_changed):
                    self.remove_mistake(m)
                for s in target.skills():
                    if s.skill_id not in self:
                        self.add(s, index=target._location(s)[1])
                for i, m in enumerate(target.mistakes):
                    if m.mistake_id not in self._mistake_index:
                        self._apply(Edit(kind="mistake", item_id=m.mistake_id, after=m.to_native(),
                                         after_at=("mistakes", i)))
            return diff

    def diff(self, other: "SkillBank") -> BankDiff:
        """What changes from this bank to ``other``, compared by id (see :class:`BankDiff`)."""
        a, b = self._skill_index, other._skill_index
        am, bm = self._mistake_index, other._mistake_index
        return BankDiff(
            version_a=self.version, version_b=other.version,
            added=[i for i in b if i not in a], removed=[i for i in a if i not in b],
            changed={i: d for i in a if i in b and (d := _field_diff(a[i], b[i], _SKILL_FIELDS))},
            mistakes_added=[i for i in bm if i not in am], mistakes_removed=[i for i in am if i not in bm],
            mistakes_changed={i: d for i in am if i in bm and (d := _field_diff(am[i], bm[i], _MISTAKE_FIELDS))},
        )

    def copy(self) -> "SkillBank":
        """A deep copy (records, metadata and history)."""
        with self._lock:
            out = SkillBank.__new__(SkillBank)
            out.__dict__.update({k: copy.deepcopy(v) for k, v in self.__dict__.items() if k != "_lock"})
            out._lock = threading.RLock()
            out._open = None
            out._skill_index = {s.skill_id: s for s in out.skills()}
            out._mistake_index = {m.mistake_id: m for m in out._mistakes}
            out._quarantine_index = {e.entry_id: e for e in out._quarantine}
            return out

    # ------------------------------------------------------------------ internals of edits
    def _pending_version(self) -> int:
        return self._open.version if self._open is not None else self.version + 1

    @contextlib.contextmanager
    def _change(self, op: str, reason: str, meta: dict[str, Any] | None = None) -> Iterator[None]:
        if self._open is not None:  # nested: fold into the open change
            yield
            return
        self._open = Change(version=self.version + 1, op=op, reason=reason, meta=meta or {})
        try:
            yield
        except BaseException:
            for edit in reversed(self._open.edits):
                self._apply(_inverse(edit), record=False)
            raise
        else:
            if self._open.edits:
                self.version = self._open.version
                self.history.append(self._open)
        finally:
            self._open = None

    @staticmethod
    def _where(skill: Skill) -> str:
        return "general" if skill.tier == "general" else f"task:{skill.category}"

    def _location(self, item: Skill) -> tuple[str, int]:
        where = self._where(item)
        return where, self._list_for(item).index(item)

    def _seq(self, where: str) -> list[Any]:
        if where == "general":
            return self._general
        if where == "mistakes":
            return self._mistakes
        if where == "quarantine":
            return self._quarantine
        return self._task.setdefault(where.split(":", 1)[1], [])

    def _index_of(self, kind: str) -> dict[str, Any]:
        return {"skill": self._skill_index, "mistake": self._mistake_index,
                "quarantine": self._quarantine_index}[kind]

    def _apply(self, edit: Edit, record: bool = True) -> None:
        index = self._index_of(edit.kind)
        model = {"skill": Skill, "mistake": Mistake, "quarantine": QuarantineEntry}[edit.kind]
        if edit.before is not None:
            seq = self._seq(edit.before_at[0]) if edit.before_at else None
            item = index.pop(edit.item_id)
            seq = seq if seq is not None else self._seq(self._where(item))
            del seq[next(i for i, x in enumerate(seq) if x is item)]  # by identity: pydantic __eq__ is slow
        if edit.drops_category and not self._task.get(edit.drops_category):
            self._task.pop(edit.drops_category, None)
        if edit.after is not None:
            item = model.model_validate(edit.after)
            where = edit.after_at[0] if edit.after_at else ("quarantine" if edit.kind == "quarantine" else "mistakes")
            if where.startswith("task:") and where[5:] not in self._task and record:
                edit.creates_category = where[5:]
            seq = self._seq(where)
            pos = edit.after_at[1] if edit.after_at else -1
            seq.insert(pos, item) if 0 <= pos <= len(seq) else seq.append(item)
            index[edit.item_id] = item
        if record and self._open is not None:
            self._open.edits.append(edit)

    # ------------------------------------------------------------------ (de)serialisation
    @classmethod
    def load(cls, path: str | os.PathLike[str], *, max_bytes: int = MAX_BANK_BYTES, trust: Trust = "trusted",
             screen: Any = True) -> "SkillBank":
        """Read an official or native bank file (autodetected), strictly (see :mod:`skillrl.storage`).

        The bank remembers the file's version and sha256, so a later :meth:`save` to the same file can tell whether
        another process saved in between (:class:`~skillrl.errors.StaleBankError`).

        Args:
            path: the file (symlinks followed).
            max_bytes: largest file accepted (default :data:`skillrl.storage.MAX_BANK_BYTES`, 64 MiB).
            trust: ``"trusted"`` (default: your own file, loaded as it is) or ``"untrusted"`` (a bank from elsewhere:
                every active record is screened and the flagged ones are moved into the quarantine in one new
                version, :meth:`screen_records`; :attr:`load_screening` says how many, and a warning is logged).
            screen: the screener for ``trust="untrusted"`` (default ``True``: :func:`skillrl.screening.screen`;
                a :class:`skillrl.screening.Screener` with a classifier plugged in, ...).

        Raises:
            ConfigError: an unknown ``trust``.
            BankFormatError: any read or parse failure, as one line naming the file and the JSON path: OS errors
                (a directory, permissions), size beyond ``max_bytes``, encoding (BOM, UTF-16, invalid UTF-8),
                invalid JSON, too deep nesting, NaN/Infinity, duplicate keys, no known key, a misspelt key or
                ``format``, a malformed native header or a history that does not run 1..version or does not
                replay to the stored records (:meth:`from_bytes`).
            BankNotFoundError: no such file (a BankFormatError and a ``FileNotFoundError``).
        """
        if trust not in ("trusted", "untrusted"):
            raise ConfigError(f"trust must be 'trusted' or 'untrusted', got {trust!r}")
        data = storage.read_bytes(path, max_bytes=max_bytes)
        bank = cls.from_bytes(data, file=str(path))
        bank._disk[str(storage.resolve(path))] = (bank.version, storage.sha256_hex(data))
        if trust == "untrusted":
            found = bank.screen_records(screen, origin=str(path))
            if found.quarantined:
                logger.warning("%s: %d of %d records flagged by screening and quarantined: %s", path,
                               len(found.quarantined), found.screened, ", ".join(found.quarantined))
        return bank

    @classmethod
    def from_bytes(cls, data: bytes, file: str | os.PathLike[str] | None = None) -> "SkillBank":
        """Build a bank from the bytes of a bank file (:func:`skillrl.storage.parse_json`, then :meth:`from_dict`).
        ``file`` only names the source in errors. Raises :class:`~skillrl.errors.BankFormatError` (see :meth:`load`)."""
        doc = storage.parse_json(data, file)
        return cls._from_document(doc, None if file is None else str(file))

    @classmethod
    def from_dict(cls, data: Any, file: str | None = None) -> "SkillBank":
        """Build a bank from an already-parsed official or native document (see :meth:`load`; in-memory data gets
        the same checks: NaN/Infinity, nesting, surrogates, keys, history)."""
        storage.check_tree(data, file)
        return cls._from_document(data, file)

    @classmethod
    def _from_document(cls, data: Any, file: str | None) -> "SkillBank":
        fmt = storage.document_format(data, file)
        bank = cls._from_native(data, file) if fmt == "native" else cls._from_official_checked(data, file)
        bank.source_format = fmt
        return bank

    @classmethod
    def from_official(cls, data: Any, file: str | None = None) -> "SkillBank":
        """Build a bank from the official SkillRL JSON shape. Every skill gets provenance ``source="official"``.

        Raises:
            BankFormatError: not an object, no known key, a misspelt known key, both task keys, or a record that
                does not validate (with its JSON path).
        """
        if not isinstance(data, dict):
            raise BankFormatError(file, "$", "a JSON object with 'general_skills'", type(data).__name__)
        storage.check_official_keys(data, file)
        return cls._from_official_checked(data, file)

    @classmethod
    def _from_official_checked(cls, data: dict[str, Any], file: str | None,
                               task_key: str | None = None) -> "SkillBank":
        present = [k for k in TASK_KEYS if k in data]
        if len(present) > 1:
            raise BankFormatError(file, "$", "only one of 'task_specific_skills' / 'query_type_skills'", str(present))
        task_key = task_key or (present[0] if present else "task_specific_skills")
        bank = cls(metadata=data.get("metadata", {}), task_key=task_key)
        bank._key_order = list(data) or bank._key_order
        bank._extra = {k: v for k, v in data.items()
                       if k not in ("general_skills", task_key, "common_mistakes", "metadata")}
        general = data.get("general_skills", [])
        if not isinstance(general, list):
            raise BankFormatError(file, "$.general_skills", "a list of skill objects", type(general).__name__)
        for i, raw in enumerate(general):
            p = f"$.general_skills[{i}]"
            bank._load_skill(_parse(Skill, raw, file, p, source="official", tier="general", category=None), file, p)
        tasks = data.get(task_key, {})
        if not isinstance(tasks, dict):
            raise BankFormatError(file, f"$.{task_key}", "an object {category: [skills]}", type(tasks).__name__)
        for cat, skills in tasks.items():
            cp = storage.key_path(f"$.{task_key}", cat)
            if not isinstance(skills, list):
                raise BankFormatError(file, cp, "a list of skill objects", type(skills).__name__)
            if not cat.strip():
                raise BankFormatError(file, cp, "a non-empty category name", repr(cat))
            bank._task.setdefault(cat, [])
            for i, raw in enumerate(skills):
                p = f"{cp}[{i}]"
                bank._load_skill(_parse(Skill, raw, file, p, source="official", tier="task_specific", category=cat),
                                 file, p)
        mistakes = data.get("common_mistakes", [])
        if not isinstance(mistakes, list):
            raise BankFormatError(file, "$.common_mistakes", "a list of mistake objects", type(mistakes).__name__)
        for i, raw in enumerate(mistakes):
            p = f"$.common_mistakes[{i}]"
            bank._load_mistake(_parse(Mistake, raw, file, p, source="official"), file, p)
        return bank

    @classmethod
    def _from_native(cls, data: dict[str, Any], file: str | None) -> "SkillBank":
        task_key = storage.check_native_header(data, file)
        bank = cls._from_official_checked({k: data[k] for k in ("general_skills", task_key, "common_mistakes",
                                                                 "metadata")}, file, task_key=task_key)
        bank._key_order = list(data["key_order"])
        bank._extra = dict(data["extra"])
        bank.version = data["version"]
        bank._load_quarantine(data.get("quarantine", []), file)
        history = data["history"]
        for i, c in enumerate(history):
            try:
                bank.history.append(Change.model_validate(c))
            except ValidationError as err:
                raise _pydantic_to_format_error(err, file, f"$.history[{i}]", c) from None
        bank._verify_history(file)
        if "stats" in data:
            bank.stats = UsageStats.from_native(data["stats"], file)
        return bank

    def _load_quarantine(self, raw: Any, file: str | None) -> None:
        if not isinstance(raw, list):
            raise BankFormatError(file, "$.quarantine", "a list of quarantine entries", type(raw).__name__)
        for i, item in enumerate(raw):
            p = f"$.quarantine[{i}]"
            try:
                entry = QuarantineEntry.model_validate(item)
            except ValidationError as err:
                raise _pydantic_to_format_error(err, file, p, item) from None
            if entry.entry_id in self._quarantine_index:
                raise BankFormatError(file, p + ".entry_id", "an entry_id unique within the quarantine",
                                      repr(entry.entry_id))
            self._quarantine.append(entry)
            self._quarantine_index[entry.entry_id] = entry

    def _verify_history(self, file: str | None) -> None:
        """The history must be versions 1..version without gaps, and undoing it then redoing it must give the stored
        records exactly (each edit's ``before`` is what the record was, its ``after`` what it became)."""
        for i, change in enumerate(self.history):
            if change.version != i + 1:
                raise BankFormatError(file, f"$.history[{i}].version",
                                      f"{i + 1} (the history runs 1..version without gaps)", repr(change.version))
        if len(self.history) != self.version:
            raise BankFormatError(file, "$.history", f"versions 1..{self.version} for a bank at version {self.version}",
                                  f"{len(self.history)} change(s)")
        work = self._bare_copy()
        for i in reversed(range(len(self.history))):
            edits = self.history[i].edits
            for j in reversed(range(len(edits))):
                work._replay_edit(_inverse(edits[j]), file, f"$.history[{i}].edits[{j}]", undo=True)
        for i, change in enumerate(self.history):
            for j, edit in enumerate(change.edits):
                work._replay_edit(edit, file, f"$.history[{i}].edits[{j}]", undo=False)
        if work._content() != self._content():
            raise BankFormatError(file, "$.history", "a history that replays to the stored records",
                                  "different records after replaying it")

    def _bare_copy(self) -> "SkillBank":
        out = SkillBank(task_key=self.task_key)
        out._general = list(self._general)
        out._task = {c: list(v) for c, v in self._task.items()}
        out._mistakes = list(self._mistakes)
        out._skill_index = dict(self._skill_index)
        out._mistake_index = dict(self._mistake_index)
        out._quarantine = list(self._quarantine)
        out._quarantine_index = dict(self._quarantine_index)
        return out

    def _content(self) -> tuple[Any, ...]:
        return ([s.to_native() for s in self._general], {c: [s.to_native() for s in v] for c, v in self._task.items()},
                [m.to_native() for m in self._mistakes], [e.model_dump(mode="json") for e in self._quarantine])

    def _replay_edit(self, edit: Edit, file: str | None, path: str, undo: bool) -> None:
        index = self._index_of(edit.kind)
        cur = index.get(edit.item_id)
        side, other = ("after", "before") if undo else ("before", "after")
        what = f"{edit.kind} {edit.item_id!r}"
        if edit.kind == "quarantine":
            cur = None if cur is None else cur.model_dump(mode="json")
        if edit.before is None:
            if cur is not None:
                raise BankFormatError(file, f"{path}.{side}", f"no {what} (the edit adds it)", "one present")
        elif cur is None:
            raise BankFormatError(file, f"{path}.{side}", f"{what} present", "it is absent")
        elif (cur if isinstance(cur, dict) else cur.to_native()) != edit.before:
            raise BankFormatError(file, f"{path}.{side}", f"{what} as the history records it",
                                  "a different record")
        if edit.after is not None:
            id_key = {"skill": "skill_id", "mistake": "mistake_id", "quarantine": "entry_id"}[edit.kind]
            if edit.after.get(id_key) != edit.item_id:
                raise BankFormatError(file, f"{path}.{other}.{id_key}", repr(edit.item_id),
                                      short_repr(edit.after.get(id_key)))
            model = {"skill": Skill, "mistake": Mistake, "quarantine": QuarantineEntry}[edit.kind]
            try:
                record = model.model_validate(edit.after)
            except ValidationError as err:
                raise _pydantic_to_format_error(err, file, f"{path}.{other}", edit.after) from None
            where = {"skill": lambda: self._where(record), "mistake": lambda: "mistakes",
                     "quarantine": lambda: "quarantine"}[edit.kind]()
            if edit.after_at is None or edit.after_at[0] != where:
                raise BankFormatError(file, f"{path}.{other}_at", f"[{where!r}, index]", short_repr(edit.after_at))
        try:
            self._apply(edit, record=False)
        except (KeyError, ValueError, IndexError) as err:
            raise BankFormatError(file, path, "an edit that applies to the bank", short_repr(err)) from None

    def to_official(self) -> dict[str, Any]:
        """The official SkillRL JSON document (no tier/category/provenance/history; key order as loaded)."""
        with self._lock:
            parts = {
                **self._extra,
                "general_skills": [s.to_official() for s in self._general],
                self.task_key: {c: [s.to_official() for s in v] for c, v in self._task.items()},
                "common_mistakes": [m.to_official() for m in self._mistakes],
                "metadata": self.metadata,
            }
            order = [k for k in self._key_order if k in parts] + [k for k in parts if k not in self._key_order]
            return {k: parts[k] for k in order}

    def to_native(self) -> dict[str, Any]:
        """The native document: official content plus version, provenance and history."""
        with self._lock:
            return {
                "format": NATIVE_FORMAT, "format_version": NATIVE_FORMAT_VERSION, "version": self.version,
                "task_key": self.task_key,
                "general_skills": [_strip_tier(s.to_native()) for s in self._general],
                self.task_key: {c: [_strip_tier(s.to_native()) for s in v] for c, v in self._task.items()},
                "common_mistakes": [m.to_native() for m in self._mistakes],
                "metadata": self.metadata, "key_order": self._key_order, "extra": self._extra,
                "history": [c.model_dump(mode="json") for c in self.history],
                **self._quarantine_native(),
                **({"stats": self.stats.to_native()} if self.stats else {}),
            }

    def _quarantine_native(self) -> dict[str, Any]:
        """``{"quarantine": [...]}`` when it holds entries, else nothing (a bank without quarantined records
        writes the same document as before the quarantine existed)."""
        return {"quarantine": [e.model_dump(mode="json") for e in self._quarantine]} if self._quarantine else {}

    def save(self, path: str | os.PathLike[str], format: Literal["native", "official"] = "native", *,
             overwrite: bool = False, timeout: float = LOCK_TIMEOUT) -> Path:
        """Write the bank atomically (:func:`skillrl.storage.atomic_write_bytes`: temporary file beside the real
        target, fsync, rename, under the file's lock; a symlink's target is written, a replaced file keeps its
        mode). A crash mid-save leaves the previous file intact. Returns ``Path(path)``.

        When this bank was loaded from (or last saved to) ``path``, the file must still be what it was then (same
        sha256, hence same version): otherwise another writer saved in between and nothing is written. A file
        this bank never read or wrote is replaced; a file deleted since is written again.

        Args:
            path: the file.
            format: ``"native"`` (default: version, provenance, history) or ``"official"``.
            overwrite: skip the conflict check and replace whatever is there.
            timeout: seconds to wait for the file lock.

        Raises:
            StaleBankError: the file changed since this bank read or wrote it (names both versions and hashes);
                merge with :meth:`rebase` and save again, or use :meth:`edit`.
            BankConflictError: the lock was not acquired within ``timeout``.
            ConfigError: an unknown ``format``.
            BankFormatError: the bank holds NaN/Infinity or an unpaired surrogate (metadata).
            OSError: the write failed (the old file is intact).
        """
        if format not in ("native", "official"):
            raise ConfigError(f"format must be 'native' or 'official', got {format!r}")
        with self._lock:
            doc = self.to_native() if format == "native" else self.to_official()
            version = self.version
            if format == "official" and self._quarantine:
                logger.warning("%s: the official format has no quarantine; its %d quarantined record(s) are not "
                               "written (save the native format to keep them)", path, len(self._quarantine))
        data = storage.dump_json(doc, file=path)
        key = str(storage.resolve(path))
        with storage.file_lock(key, timeout):
            seen = None if overwrite else self._disk.get(key)
            if seen is not None:
                now = storage.disk_stamp(key)
                if now is not None and now[1] != seen[1]:
                    unsaved = sum(1 for c in self.history if c.version > seen[0])
                    raise StaleBankError(path, seen[0], seen[1], now[0], now[1], unsaved)
            storage.atomic_write_bytes(key, data, timeout=timeout)
            with self._lock:
                self._disk[key] = (version, storage.sha256_hex(data))
        return Path(path)

    @classmethod
    @contextlib.contextmanager
    def edit(cls, path: str | os.PathLike[str], *, format: Literal["auto", "native", "official"] = "auto",
             create: bool = False, timeout: float = LOCK_TIMEOUT) -> Iterator["SkillBank"]:
        """Load, edit and save a bank file under its inter-process lock (``filelock``)::

            with SkillBank.edit("bank.json") as bank:
                bank.add(skill, reason="manual")
            # saved; other processes using edit() waited, none of their edits is lost

        The bank is saved when the block ends without an exception (nothing is written otherwise).

        Args:
            path: the bank file.
            format: ``"auto"`` (the format it was loaded in; native for a new file), ``"native"`` or ``"official"``.
            create: start from an empty bank when the file does not exist (else BankNotFoundError).
            timeout: seconds to wait for the lock.

        Raises:
            BankFormatError / BankNotFoundError: see :meth:`load`.
            BankConflictError: the lock was not acquired within ``timeout``; StaleBankError when a writer that does
                not take the lock changed the file meanwhile.
        """
        with storage.file_lock(path, timeout):
            try:
                bank = cls.load(path)
            except BankNotFoundError:
                if not create:
                    raise
                bank = cls()
            yield bank
            fmt = (bank.source_format or "native") if format == "auto" else format
            bank.save(path, format=fmt, timeout=timeout)  # type: ignore[arg-type]

    def rebase(self, path: str | os.PathLike[str]) -> "SkillBank":
        """Merge after a :class:`~skillrl.errors.StaleBankError`: load ``path`` as it is now and re-apply this bank's
        changes that are not on disk (those after the version it was loaded or last saved at) on top of it, each as a
        new version with its op, reason and meta; this bank then holds the result (in place, so a runtime or
        retriever holding it follows). Call :meth:`save` next. Typical loop::

            while True:
                try:
                    bank.save(path)
                    break
                except StaleBankError:
                    bank.rebase(path)

        Raises:
            BankConflictError: this bank never read or wrote ``path``, or an unsaved change touches a record the
                other writer also added, changed or removed (this bank is unchanged then).
            BankFormatError: see :meth:`load`.
        """
        key = str(storage.resolve(path))
        with self._lock:
            seen = self._disk.get(key)
            if seen is None:
                raise BankConflictError(f"{path}: this bank was not loaded from or saved to it; nothing to rebase onto")
            local = [c for c in self.history if c.version > seen[0]]
        disk = type(self).load(path)
        for change in local:
            disk._reapply(change)
        with self._lock:
            disk._disk = {**self._disk, **disk._disk}
            disk.stats = self.stats  # usage this bank counted stays (the other writer's records are what rebase takes)
            self.__dict__.update({k: v for k, v in disk.__dict__.items() if k != "_lock"})
        return self

    def _reapply(self, change: Change) -> None:
        """Apply another bank's ``change`` here as a new version, checking every record it touches is as it was."""
        with self._lock, self._change(change.op, change.reason, dict(change.meta)):
            v = self._pending_version()
            for edit in change.edits:
                cur = self._index_of(edit.kind).get(edit.item_id)
                what = f"cannot re-apply v{change.version} {change.op} ({change.reason or 'no reason'}): " \
                       f"{edit.kind} {edit.item_id!r}"
                if edit.before is None and cur is not None:
                    raise BankConflictError(f"{what} was added by the other writer too")
                native = None if cur is None else (cur.model_dump(mode="json") if edit.kind == "quarantine"
                                                   else cur.to_native())
                if edit.before is not None and (cur is None or native != edit.before):
                    raise BankConflictError(f"{what} was changed or removed by the other writer")
                after = copy.deepcopy(edit.after)
                if after is not None and isinstance(after.get("provenance"), dict):
                    prov = after["provenance"]
                    for k in ("created_version", "updated_version"):
                        if prov.get(k) == change.version and (k == "updated_version" or edit.before is None):
                            prov[k] = v
                before_at = None
                if cur is not None:
                    if edit.kind == "skill":
                        before_at = self._location(cur)
                    else:
                        where = "mistakes" if edit.kind == "mistake" else "quarantine"
                        before_at = (where, next(i for i, x in enumerate(self._seq(where)) if x is cur))
                after_at = edit.after_at
                if after is not None and before_at is not None and after_at is not None and after_at[0] == before_at[0]:
                    after_at = before_at
                self._apply(Edit(kind=edit.kind, item_id=edit.item_id, before=native,
                                 after=after, before_at=before_at, after_at=after_at,
                                 drops_category=edit.drops_category))


def _strip_tier(d: dict[str, Any]) -> dict[str, Any]:
    d.pop("tier", None)
    d.pop("category", None)
    return d


def _inverse(edit: Edit) -> Edit:
    return Edit(kind=edit.kind, item_id=edit.item_id, before=edit.after, after=edit.before,
                before_at=edit.after_at, after_at=edit.before_at,
                creates_category=edit.drops_category, drops_category=edit.creates_category)


_RECORD_KEYS = {Skill: ("skill_id", "title", "principle", "when_to_apply", "tier", "category", "provenance"),
                Mistake: ("mistake_id", "description", "why_it_happens", "how_to_avoid", "provenance")}


def _parse(model: type[Skill] | type[Mistake], raw: Any, file: str | None, path: str, source: str,
           **fixed: Any) -> Any:
    if not isinstance(raw, dict):
        raise BankFormatError(file, path, f"a {model.__name__.lower()} object", type(raw).__name__)
    known = _RECORD_KEYS[model]
    for key in raw:
        if key not in known:
            close = difflib.get_close_matches(key.lower(), known, n=1, cutoff=0.8)
            if close:
                raise BankFormatError(file, storage.key_path(path, key), f"a known field (did you mean {close[0]!r}?)",
                                      repr(key))
    for key in ("tier", "category"):
        if key in raw and key in fixed and raw[key] != fixed[key]:
            raise BankFormatError(file, f"{path}.{key}", repr(fixed[key]), short_repr(raw[key]))
    try:
        data = {**raw, **fixed}
        if "provenance" not in raw:
            data["provenance"] = Provenance(source=source)
        return model.model_validate(data)
    except ValidationError as err:
        raise _pydantic_to_format_error(err, file, path, raw) from None
