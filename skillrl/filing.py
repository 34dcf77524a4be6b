"""The one path from a teacher's proposal into the bank.

Evolution (:mod:`skillrl.evolve`) and distillation (:mod:`skillrl.distill`) both turn a teacher's answer
(:class:`skillrl.teachers.SkillProposal` / :class:`skillrl.teachers.MistakeProposal`) into bank records. They differ
only in policy (:class:`FilingPolicy`: caps, what a full tier does, whether refinements are allowed); every record
goes through the same checks, in this order:

1. **schema fit**: the text is trimmed to the token budget (``max_skill_tokens``; trailing sentences first, then at a
   word) and must make a valid :class:`~skillrl.skill.Skill` / :class:`~skillrl.skill.Mistake`;
2. **screening**: ``screen(record) -> verdict`` (default :func:`skillrl.screening.screen`; a
   :class:`~skillrl.screening.Screener` with a classifier, or none); a flagged record is not added: it goes to the
   bank's quarantine (:meth:`SkillBank.quarantine`, with the verdict's reasons, score and the proposal's provenance)
   and its outcome is ``"quarantined"``;
3. **dedup**: skills against the general tier and their own category (a general skill against every skill), by
   :class:`~skillrl.dedup.Deduplicator`; mistakes against every mistake, by normalised description and the same
   deduplicator on their text;
4. **veto**: the ``skillrl_accept_skill`` hook (``accept(record, context)`` returns a reason to reject), for skills
   and mistakes alike;
5. **room**: a full tier either rejects the record (distillation) or evicts a record (evolution: the lowest-utility
   skill when there is evidence, else the least recently updated generated skill, see :func:`eviction_candidate`);
6. **id and provenance**: one id scheme (:func:`category_prefix`: ``gen_013`` for general skills, the category's
   prefix as the official banks spell it, ``hea_006``), provenance as given.

Each call returns a :class:`Filed` that says what happened; nothing here raises for a bad proposal.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Literal

from pydantic import BaseModel, Field, ValidationError

from skillrl.bank import SkillBank, resolve_screen
from skillrl.dedup import Deduplicator, normalize
from skillrl.render import estimate_tokens, format_sections
from skillrl.skill import (
    MAX_MISTAKE_FIELD,
    MAX_PRINCIPLE,
    MAX_TITLE,
    MAX_WHEN,
    Mistake,
    Provenance,
    Skill,
    slugify,
)

__all__ = [
    "Filed",
    "Filer",
    "FilingPolicy",
    "category_prefix",
    "eviction_candidate",
    "fit_mistake",
    "fit_skill",
]

Outcome = Literal["added", "refined", "unchanged", "rejected", "quarantined"]


class FilingPolicy(BaseModel):
    """What differs between the callers of :class:`Filer` (evolution, distillation).

    Attributes:
        max_general: most general skills (evolution 20, distillation 15).
        max_per_category: most task-specific skills per category (evolution 12, distillation 6); a call may pass a
            tighter ``cap`` (distillation keeps slots for lessons).
        max_mistakes: most common mistakes (``None``: no cap).
        when_full: ``"reject"`` the new record (distillation) or ``"evict"`` one (evolution).
        allow_refine: accept proposals that rewrite an existing skill (default True).
        max_skill_tokens: token budget of one rendered skill line or mistake (default 125, about 500 characters:
            ReSkill's cap); ``None``: no trimming.
        max_episode_ids: most episode ids kept in a record's provenance (default 50).
    """

    max_general: int = Field(20, ge=0)
    max_per_category: int = Field(12, ge=0)
    max_mistakes: int | None = Field(None, ge=0)
    when_full: Literal["reject", "evict"] = "reject"
    allow_refine: bool = True
    max_skill_tokens: int | None = Field(125, ge=16)
    max_episode_ids: int = Field(50, ge=1)


class Filed(BaseModel):
    """The outcome of filing one proposal.

    Attributes:
        kind: ``"skill"`` or ``"mistake"``.
        outcome: ``added``, ``refined``, ``unchanged`` (a refinement that changes nothing after trimming),
            ``rejected`` or ``quarantined`` (flagged by screening).
        record_id: the id added or refined; for ``quarantined``, the quarantine entry's id (``None`` when
            rejected).
        category: the category the record was filed under (``None``: general tier or a mistake).
        title: the proposal's title (a mistake: its description), cut to 80 characters, for reports.
        reason: why it was rejected or quarantined.
        evicted: ids removed to make room.
        trimmed: the text was cut to fit ``max_skill_tokens``.
    """

    kind: Literal["skill", "mistake"]
    outcome: Outcome
    record_id: str | None = None
    category: str | None = None
    title: str = ""
    reason: str = ""
    evicted: list[str] = Field(default_factory=list)
    trimmed: bool = False

    @property
    def ok(self) -> bool:
        """The bank changed (added or refined)."""
        return self.outcome in ("added", "refined")


# ---------------------------------------------------------------------------------------------- trimming

_SENTENCE = re.compile(r"(?<!\be\.g\.)(?<!\bi\.e\.)(?<!\betc\.)(?<=[.!?])\s+(?=[A-Z`'\"(\[])")


def _skill_line(title: str, principle: str, when: str) -> str:
    return format_sections([], [Skill(skill_id="x", title=title, principle=principle, when_to_apply=when,
                                      tier="task_specific", category="c")], [], "c").split("\n", 1)[1]


def _clip_words(text: str, fits: Callable[[str], bool]) -> str:
    words = text.split()
    lo, hi = 1, len(words)
    if fits(" ".join(words[:1]) + "..."):
        while lo < hi:  # the longest prefix that fits
            mid = (lo + hi + 1) // 2
            if fits(" ".join(words[:mid]) + "..."):
                lo = mid
            else:
                hi = mid - 1
    return " ".join(words[:lo]).rstrip(",;:") + "..."


def fit_skill(title: str, principle: str, when_to_apply: str, max_tokens: int,
              count: Callable[[str], int] = estimate_tokens) -> tuple[str, str, bool]:
    """Fit a skill's rendered line (``- **title**: principle`` + ``_Apply when: ..._``) into ``max_tokens``.

    Drops trailing sentences of the principle (keeping at least one), then shortens ``when_to_apply`` to
    its words that fit, then cuts the principle at a word boundary (ending ``...``).

    Returns:
        ``(principle, when_to_apply, trimmed)``.
    """
    def fits(p: str, w: str) -> bool:
        return count(_skill_line(title, p, w)) <= max_tokens

    if fits(principle, when_to_apply):
        return principle, when_to_apply, False
    sentences = _SENTENCE.split(principle.strip())
    while len(sentences) > 1 and not fits(" ".join(sentences), when_to_apply):
        sentences.pop()
    p = " ".join(sentences)
    if fits(p, when_to_apply):
        return p, when_to_apply, True
    if when_to_apply and fits(p, ""):  # keep as much of the situation as fits
        w = _clip_words(when_to_apply, lambda x: fits(p, x))
        return p, (w if fits(p, w) else ""), True
    return _clip_words(p, lambda x: fits(x, "")), "", True


def fit_mistake(description: str, how_to_avoid: str, max_tokens: int,
                count: Callable[[str], int] = estimate_tokens) -> tuple[str, str, bool]:
    """Fit a rendered mistake (``- **Don't**: description`` / ``**Instead**: how_to_avoid``) into ``max_tokens``:
    trailing sentences of the description go first, then of the remedy, then both are cut at words.

    Returns ``(description, how_to_avoid, trimmed)``.
    """
    def fits(d: str, h: str) -> bool:
        return count(f"- **Don't**: {d}\n  **Instead**: {h}") <= max_tokens

    if fits(description, how_to_avoid):
        return description, how_to_avoid, False
    ds = _SENTENCE.split(description.strip())
    hs = _SENTENCE.split(how_to_avoid.strip())
    while len(ds) > 1 and not fits(" ".join(ds), " ".join(hs)):
        ds.pop()
    while len(hs) > 1 and not fits(" ".join(ds), " ".join(hs)):
        hs.pop()
    d, h = " ".join(ds), " ".join(hs)
    if not fits(d, h):
        budget_d = lambda x: fits(x, h[: max(40, len(h) // 2)])  # noqa: E731 - keep room for the remedy
        if not budget_d(d):
            d = _clip_words(d, budget_d)
        if not fits(d, h):
            h = _clip_words(h, lambda x: fits(d, x))
    return d, h, True


# ---------------------------------------------------------------------------------------------- ids

_ID_NUM = re.compile(r"^(.+)_\d+$")


def category_prefix(bank: SkillBank, category: str | None, siblings: Sequence[str] = ()) -> str:
    """The id prefix of new skills in ``category`` (``None``: the general tier, ``"gen"``).

    The one id scheme of skillrl: the prefix the category's skills already use (``hea`` in the official ALFWorld
    bank); else the first three letters of the first word of the category's name that no other category's name
    shares (the bank's categories and ``siblings``: ``pick_heat_then_place_in_recep`` -> ``hea``,
    ``pick_two_obj_and_place`` -> ``two``) and no other category's prefix takes; else of any word; else the whole
    slug. Ids are then ``<prefix>_<nnn>`` (:meth:`SkillBank.new_skill_id`), as the official banks spell them.
    """
    if category is None:
        return "gen"
    taken: dict[str, str] = {}
    for cat, skills in bank.task_specific.items():
        for s in skills:
            m = _ID_NUM.match(s.skill_id)
            if m:
                taken.setdefault(m.group(1), cat)
    own = {p for p, c in taken.items() if c == category}
    if len(own) == 1:
        return own.pop()
    others = {c for c in [*bank.categories, *siblings] if c != category}
    shared = {w for c in others for w in slugify(c, 64).split("_")}
    words = [w for w in slugify(category, 64).split("_") if w]
    for w in [w for w in words if w not in shared] + words:
        p = w[:3]
        if p != "gen" and taken.get(p, category) == category:
            return p
    return slugify(category, 40)


def eviction_candidate(skills: Sequence[Skill], utility: Mapping[str, float] | None = None) -> Skill:
    """The skill a full tier gives up first.

    With ``utility`` (``{skill_id: estimated utility}`` for the skills with enough evidence,
    :func:`skillrl.utility.estimates_by_id`): the lowest utility first, a skill without an estimate counting as 0
    (neither shown to help nor to hurt); ties, and every skill without ``utility``, by the rule without evidence:
    generated (``evolve`` / ``distill``) before any other, then the least recently updated, then by id."""
    utility = utility or {}
    return min(skills, key=lambda s: (utility.get(s.skill_id, 0.0), s.provenance.source not in ("evolve", "distill"),
                                      s.provenance.updated_version, s.skill_id))


def _first_error(err: ValidationError) -> str:
    return str(err.errors()[0]["msg"])


# ---------------------------------------------------------------------------------------------- the filer


class Filer:
    """Files proposals into a bank under one :class:`FilingPolicy`.

    Args:
        policy: caps and behaviour (see :class:`FilingPolicy`).
        dedup: the content deduplicator (``None``: :class:`~skillrl.dedup.Deduplicator` with the default embedder,
            loaded on first use; ``Deduplicator(None, lazy_default=False)`` for exact title/principle match only).
        accept: ``(record, context) -> reason | None``, a veto (the runtime passes the ``skillrl_accept_skill``
            hook); ``context`` holds ``kind`` (``"skill"`` / ``"mistake"``), ``action`` (``"add"`` / ``"refine"``),
            ``category`` and whatever the caller adds (``step``, ``teacher``, ``phase``).
        screen: ``True`` (default) the built-in rules (:func:`skillrl.screening.screen`); a callable
            ``(record) -> verdict`` with ``flagged``, ``reasons`` and ``score`` (a :class:`skillrl.screening.Screener`,
            e.g. ``Screener.from_plugin_manager(pm)``); ``False`` / ``None``: no screening. Flagged records go to the
            bank's quarantine.
        count: token counter for the budget (default :func:`skillrl.render.estimate_tokens`).
        utility: ``{skill_id: utility}`` of skills with evidence: a full tier evicts the lowest first
            (:func:`eviction_candidate`); ``None``: the rule without evidence.

    Attributes:
        categories: category names known beyond the bank's (e.g. every category of the episodes being distilled),
            so ids stay distinct across categories filed later (:func:`category_prefix`).
        retired: skills retired by evidence (:func:`skillrl.utility.retired_records`): a proposal duplicating one
            is rejected, so a skill shown to hurt does not come back under a new id.
    """

    def __init__(self, policy: FilingPolicy | None = None, *, dedup: Deduplicator | None = None,
                 accept: Callable[[Any, dict[str, Any]], str | None] | None = None,
                 screen: Callable[[Any], Any] | bool | None = True,
                 count: Callable[[str], int] = estimate_tokens,
                 utility: Mapping[str, float] | None = None) -> None:
        self.policy = policy or FilingPolicy()
        self.utility = dict(utility or {})
        self.retired: list[Skill] = []
        self.dedup = dedup if dedup is not None else Deduplicator(None)
        self.accept = accept
        self.screen = resolve_screen(screen)
        self.count = count
        self.categories: set[str] = set()

    # ------------------------------------------------------------------ helpers
    def _veto(self, record: Any, context: dict[str, Any]) -> str | None:
        return self.accept(record, context) if self.accept else None

    def _quarantine(self, bank: SkillBank, record: Any, provenance: Provenance, context: dict[str, Any],
                    action: Literal["add", "update"] = "add") -> tuple[str, str] | None:
        """Screen ``record``; when flagged, file it in ``bank``'s quarantine and return ``(entry id, reason)``."""
        if self.screen is None:
            return None
        verdict = self.screen(record)
        if verdict is None or not getattr(verdict, "flagged", False):
            return None
        reasons = list(getattr(verdict, "reasons", []) or ["flagged by screening"])
        entry = bank.quarantine(record, reasons, score=float(getattr(verdict, "score", 0.0) or 0.0),
                                source=provenance.source, action=action, meta=context)
        return entry.entry_id, "screening: " + "; ".join(reasons)

    def _fit_skill(self, title: str, principle: str, when: str) -> tuple[str, str, bool]:
        if self.policy.max_skill_tokens is None:
            return principle.strip(), when.strip(), False
        return fit_skill(title, principle, when, self.policy.max_skill_tokens, self.count)

    # ------------------------------------------------------------------ skills
    def skill(self, bank: SkillBank, proposal: Any, *, category: str | None, provenance: Provenance,
              cap: int | None = None, context: dict[str, Any] | None = None) -> Filed:
        """File one skill proposal (``action`` ``"add"`` or ``"refine"``; fields ``title``, ``principle``,
        ``when_to_apply``, ``tier``, ``skill_id``).

        Args:
            bank: the bank to edit (the caller holds a transaction around the whole answer).
            proposal: a :class:`skillrl.teachers.SkillProposal` (or anything with those fields).
            category: the bank category of the task the proposal came from (``None``: unknown / all categories).
                A task-specific proposal without a category goes to the general tier.
            provenance: where it came from (source, episode ids, teacher, step, note).
            cap: room in the category for this call (default ``policy.max_per_category``).
            context: extra keys for the veto hook.
        """
        pol = self.policy
        tier = "task_specific" if (getattr(proposal, "tier", "general") == "task_specific" and category) else "general"
        cat = category if tier == "task_specific" else None
        title = str(getattr(proposal, "title", "") or "")
        ctx = {"kind": "skill", "action": getattr(proposal, "action", "add"), "category": cat, **(context or {})}

        def result(outcome: Outcome, **kw: Any) -> Filed:
            return Filed(kind="skill", outcome=outcome, category=kw.pop("category", category), title=title[:80], **kw)

        if getattr(proposal, "action", "add") == "refine":
            return self._refine(bank, proposal, provenance, {**ctx, "category": category}, result)
        principle, when, trimmed = self._fit_skill(title, str(proposal.principle or ""),
                                                   str(getattr(proposal, "when_to_apply", "") or ""))
        try:
            sid = bank.new_skill_id(category_prefix(bank, cat, sorted(self.categories)),
                                    avoid={s.skill_id for s in self.retired})
            candidate = Skill(skill_id=sid, title=title[:MAX_TITLE],
                              principle=principle[:MAX_PRINCIPLE], when_to_apply=when[:MAX_WHEN], tier=tier,
                              category=cat, provenance=self._cap_ids(provenance))
        except ValidationError as err:
            return result("rejected", reason=f"invalid skill: {_first_error(err)}")
        flagged = self._quarantine(bank, candidate, provenance, ctx)
        if flagged:
            return result("quarantined", record_id=flagged[0], reason=flagged[1])
        # a retired skill first: a proposal that brings it back is refused for the evidence, whatever it also resembles
        gone = self.dedup.find(candidate, self.retired) if self.retired else None
        if gone is not None:
            return result("rejected", reason=f"duplicate of {gone.skill_id}, retired by evidence ({gone.kind} match, "
                                             f"cosine {gone.score:.2f})")
        # a task-specific lesson may legitimately repeat another category's (same shape, other appliance): compare it
        # with the general tier and its own category; a general skill with everything
        pool = bank.skills() if tier == "general" else bank.general + bank.task_specific.get(cat, [])
        dup = self.dedup.find(candidate, pool) if pool else None
        if dup is not None:
            return result("rejected", reason=f"duplicate of {dup.skill_id} ({dup.kind} match, cosine {dup.score:.2f})")
        veto = self._veto(candidate, ctx)
        if veto:
            return result("rejected", reason=f"vetoed by a plugin: {veto}")
        current = bank.general if tier == "general" else bank.task_specific.get(cat, [])
        room = pol.max_general if tier == "general" else (pol.max_per_category if cap is None else cap)
        evicted: list[str] = []
        if len(current) >= room:
            if pol.when_full == "reject" or not current:
                what = (f"general tier full (max_general={pol.max_general})" if tier == "general"
                        else f"category full ({room} slots)")
                return result("rejected", reason=what, category=cat)
            victim = eviction_candidate(current, self.utility)
            bank.remove(victim.skill_id)
            evicted.append(victim.skill_id)
        bank.add(candidate)
        return result("added", record_id=candidate.skill_id, evicted=evicted, trimmed=trimmed, category=cat)

    def _refine(self, bank: SkillBank, proposal: Any, provenance: Provenance, ctx: dict[str, Any],
                result: Callable[..., Filed]) -> Filed:
        if not self.policy.allow_refine:
            return result("rejected", reason="refinements are disabled (allow_refine=False)")
        sid = getattr(proposal, "skill_id", None)
        if not sid or sid not in bank:
            return result("rejected", reason=f"refine names an unknown skill {sid!r}")
        old = bank.get(sid)
        if ctx.get("category") is not None and old.category not in (None, ctx["category"]):
            return result("rejected", category=old.category,
                          reason=f"refines {old.skill_id} ({old.tier} {old.category or ''}) from a call about "
                                 f"{ctx['category']!r} only")
        title = str(getattr(proposal, "title", "") or old.title)
        principle, when, trimmed = self._fit_skill(title, str(proposal.principle or old.principle),
                                                   str(getattr(proposal, "when_to_apply", "") or old.when_to_apply))
        try:
            candidate = Skill(skill_id=old.skill_id, title=title[:MAX_TITLE], principle=principle[:MAX_PRINCIPLE],
                              when_to_apply=when[:MAX_WHEN], tier=old.tier, category=old.category)
        except ValidationError as err:
            return result("rejected", category=old.category, reason=f"invalid skill: {_first_error(err)}")
        if candidate.content_equal(old):
            return result("unchanged", record_id=old.skill_id, category=old.category,
                          reason="refinement changes nothing")
        candidate = candidate.model_copy(update={"provenance": provenance})  # where the rewrite came from
        flagged = self._quarantine(bank, candidate, provenance, {**ctx, "action": "refine"}, action="update")
        if flagged:
            return result("quarantined", record_id=flagged[0], category=old.category, reason=flagged[1])
        veto = self._veto(candidate, {**ctx, "action": "refine", "category": old.category})
        if veto:
            return result("rejected", category=old.category, reason=f"vetoed by a plugin: {veto}")
        episode_ids = list(dict.fromkeys(old.provenance.episode_ids + provenance.episode_ids))
        new_prov = old.provenance.model_copy(update={
            "episode_ids": episode_ids[: self.policy.max_episode_ids], "teacher": provenance.teacher,
            "step": provenance.step if provenance.step is not None else old.provenance.step, "note": provenance.note})
        bank.update(old.skill_id, title=candidate.title, principle=candidate.principle,
                    when_to_apply=candidate.when_to_apply, provenance=new_prov)
        return result("refined", record_id=old.skill_id, category=old.category, trimmed=trimmed)

    def _cap_ids(self, provenance: Provenance) -> Provenance:
        ids = provenance.episode_ids
        if len(ids) <= self.policy.max_episode_ids:
            return provenance
        return provenance.model_copy(update={"episode_ids": ids[: self.policy.max_episode_ids]})

    # ------------------------------------------------------------------ mistakes
    def mistake(self, bank: SkillBank, proposal: Any, *, category: str | None, provenance: Provenance,
                context: dict[str, Any] | None = None) -> Filed:
        """File one common-mistake proposal (fields ``description``, ``why_it_happens``, ``how_to_avoid``): the same
        checks as a skill (trim, screening, dedup against every mistake, veto, room). The mistake is tagged with
        ``category`` (:attr:`skillrl.skill.Mistake.category`), so retrieval shows it to that category's tasks."""
        pol = self.policy
        description = str(getattr(proposal, "description", "") or "")

        def result(outcome: Outcome, **kw: Any) -> Filed:
            return Filed(kind="mistake", outcome=outcome, category=category, title=description[:80], **kw)

        how = str(getattr(proposal, "how_to_avoid", "") or "")
        trimmed = False
        if pol.max_skill_tokens is not None:
            description, how, trimmed = fit_mistake(description, how, pol.max_skill_tokens, self.count)
        try:
            mistake = Mistake(mistake_id=bank.new_mistake_id(), description=description[:MAX_MISTAKE_FIELD],
                              why_it_happens=str(getattr(proposal, "why_it_happens", "") or "")[:MAX_MISTAKE_FIELD],
                              how_to_avoid=how[:MAX_MISTAKE_FIELD], category=category or None,
                              provenance=self._cap_ids(provenance))
        except ValidationError as err:
            return result("rejected", reason=f"invalid mistake: {_first_error(err)}")
        ctx = {"kind": "mistake", "action": "add", "category": category, **(context or {})}
        flagged = self._quarantine(bank, mistake, provenance, ctx)
        if flagged:
            return result("quarantined", record_id=flagged[0], reason=flagged[1])
        existing = bank.mistakes
        key = normalize(mistake.description)
        same = next((m for m in existing if normalize(m.description) == key), None)
        if same is not None:
            return result("rejected", reason=f"duplicate of {same.mistake_id} (same description)")
        dup = self.dedup.find_mistake(mistake, existing) if existing else None  # cosine + the contrast veto
        if dup is not None:
            return result("rejected", reason=f"duplicate of {dup.record_id} ({dup.kind} match, cosine {dup.score:.2f})")
        veto = self._veto(mistake, ctx)
        if veto:
            return result("rejected", reason=f"vetoed by a plugin: {veto}")
        if pol.max_mistakes is not None and len(existing) >= pol.max_mistakes:
            return result("rejected", reason=f"mistakes full (max_mistakes={pol.max_mistakes})")
        bank.add_mistake(mistake)
        return result("added", record_id=mistake.mistake_id, trimmed=trimmed)
