"""Skill distillation: episodes -> a two-tier :class:`~skillrl.bank.SkillBank` (SkillRL, arXiv 2602.08234, Sec. 3.2).

:class:`SkillDistiller` asks a teacher (:mod:`skillrl.teachers`: offline, OpenAI-compatible or local
transformers) three kinds of questions and files the answers:

1. **general patterns** - successes of all categories together (``Teacher.distill(episodes, None)``):
   regularities across categories become *general skills* (task-specific proposals of this call are kept too);
2. **strategic patterns** - the successes of each category (``Teacher.distill(episodes, category)``):
   *task-specific skills* of that category (the paper's "successful trajectories -> strategic patterns").
   A teacher that reads every episode in one call (the offline teacher, ``episodes_per_call=None``) already
   answered this in call 1, so it is asked once; LLM teachers see a few episodes per call and are asked per
   category;
3. **lessons** - the failures of each category (``Teacher.reflect(failures, category)``): task-specific
   lessons and *common mistakes* (the paper's "failed trajectories -> lessons / counterfactuals").

Every proposal then passes the same checks, in order:

* **token budget** per record (``max_skill_tokens``, default 125 estimated tokens of the rendered line
  ``- **title**: principle`` + ``_Apply when: ..._``, i.e. ReSkill's 500-character cap): trailing sentences
  of the principle are dropped, then the text is cut at a word, until it fits;
* **dedup as it goes** (:class:`skillrl.dedup.Deduplicator`, exact title/principle match + cosine >=
  :data:`~skillrl.dedup.DEFAULT_DEDUP_THRESHOLD`): a general proposal is compared with the general skills, a
  task-specific one with the general skills and its own category's skills; mistakes by normalised
  description and by the same cosine rule on ``description Instead: how_to_avoid``;
* **shape**, aiming at the official banks (12 / 15 / 10 general skills, 5-6 per category, 11-12 mistakes):
  at most ``max_general`` (15) general skills, ``max_per_category`` (6) per category of which
  ``lesson_slots`` (2) are kept for lessons when the category has failures, ``max_mistakes`` (15) mistakes.
  The lower ends of the targets (8 general, 4 per category, 8 mistakes) are reported, not forced: a teacher
  that finds less says so in :attr:`DistillReport.shape`.

The result is a native bank whose records carry provenance ``source="distill"``, the episode ids they came
from and the teacher's name; categories are the episodes' own ``category`` keys (ALFWorld demos: the task
types ``pick_heat_then_place_in_recep`` ...; :mod:`skillrl.detection` maps task types to whatever keys a bank
has). All additions form ONE bank version (one :meth:`SkillBank.transaction`).

Teacher faults (timeouts, HTTP errors, invalid JSON) never raise: the call is recorded in
:attr:`DistillReport.calls` with its error and distillation goes on with the other calls.
"""

from __future__ import annotations

import re
import time
from collections import Counter, defaultdict
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Callable, Literal, NamedTuple

from pydantic import BaseModel, Field, ValidationError

from skillrl.bank import SkillBank
from skillrl.dedup import DEFAULT_DEDUP_THRESHOLD, Deduplicator, normalize
from skillrl.episode import Episode
from skillrl.render import estimate_tokens, format_sections, token_counter
from skillrl.skill import MAX_MISTAKE_FIELD, MAX_PRINCIPLE, MAX_TITLE, MAX_WHEN, Mistake, Provenance, Skill, slugify

__all__ = [
    "DistillCall",
    "DistillConfig",
    "DistillRejection",
    "DistillReport",
    "Distillation",
    "SkillDistiller",
    "compression_stats",
    "episode_text",
    "fit_mistake",
    "fit_skill",
]

Phase = Literal["general", "patterns", "lessons"]


class DistillConfig(BaseModel):
    """Settings of :class:`SkillDistiller` (defaults aim at the official SkillRL banks' shape).

    Attributes:
        max_general: most general skills (default 15); ``min_general`` (8) is the reported target.
        max_per_category: most task-specific skills per category (default 6); ``min_per_category`` (4) target.
        lesson_slots: of ``max_per_category``, slots kept for failure lessons in categories that have
            failures (default 2); success patterns fill the rest.
        max_mistakes: most common mistakes (default 15); ``min_mistakes`` (8) target.
        max_skill_tokens: token budget of one rendered skill line (title, principle and "Apply when"), or of
            one rendered mistake (``Don't`` + ``Instead`` lines). Default 125 (~500 characters, ReSkill's cap).
        episodes_per_call: episodes shown per teacher call. ``"auto"`` (default): all of them for the offline
            teacher (it reads statistics over every episode), 8 for LLM teachers (what their prompt shows).
        max_calls_per_category: LLM teachers: calls per category and phase (default 2); the episodes are
            taken evenly spaced over the category, so the calls see different ones.
        dedup_threshold: cosine threshold for dedup (default :data:`skillrl.dedup.DEFAULT_DEDUP_THRESHOLD`).
        embedding_dedup: use embedding similarity (default True; False = exact title/principle match only,
            no embedding model is loaded).
        max_episode_ids: most episode ids kept in one record's provenance (default 50).
    """

    max_general: int = Field(15, ge=0)
    min_general: int = Field(8, ge=0)
    max_per_category: int = Field(6, ge=0)
    min_per_category: int = Field(4, ge=0)
    lesson_slots: int = Field(2, ge=0)
    max_mistakes: int = Field(15, ge=0)
    min_mistakes: int = Field(8, ge=0)
    max_skill_tokens: int = Field(125, ge=16)
    episodes_per_call: int | None | Literal["auto"] = "auto"
    max_calls_per_category: int = Field(2, ge=1)
    dedup_threshold: float = Field(DEFAULT_DEDUP_THRESHOLD, ge=-1.0, le=1.0)
    embedding_dedup: bool = True
    max_episode_ids: int = Field(50, ge=1)


class DistillCall(BaseModel):
    """One teacher call: which phase and category, how many episodes, what came back."""

    phase: Phase
    category: str | None
    episodes: int
    ok: bool
    error: str | None = None
    skills_proposed: int = 0
    mistakes_proposed: int = 0
    tokens: int = 0


class DistillRejection(BaseModel):
    """A proposal that did not enter the bank, and why."""

    phase: Phase
    category: str | None
    title: str
    reason: str


class DistillReport(BaseModel):
    """What a distillation saw and did.

    Attributes:
        teacher: teacher name. episodes / successes / failures: counts of the input.
        categories: per category ``{"episodes", "successes", "failures", "skills"}`` (skills in the final bank).
        calls: every teacher call (phase, category, episodes shown, error).
        added / refined / mistakes_added: ids. trimmed: ids whose text was cut to the token budget.
        rejected: proposals not filed (duplicate, category full, invalid...).
        shape: ``{"general": {"count", "min", "max", "ok"}, "task_specific": {cat: {...}}, "mistakes": {...}}``.
        tokens / cost_usd: teacher usage. bank_version: the new bank's version. seconds: wall time.
    """

    teacher: str
    episodes: int = 0
    successes: int = 0
    failures: int = 0
    categories: dict[str, dict[str, int]] = Field(default_factory=dict)
    calls: list[DistillCall] = Field(default_factory=list)
    added: list[str] = Field(default_factory=list)
    refined: list[str] = Field(default_factory=list)
    mistakes_added: list[str] = Field(default_factory=list)
    trimmed: list[str] = Field(default_factory=list)
    rejected: list[DistillRejection] = Field(default_factory=list)
    shape: dict[str, Any] = Field(default_factory=dict)
    tokens: int = 0
    cost_usd: float | None = None
    bank_version: int = 0
    seconds: float = 0.0

    @property
    def errors(self) -> list[str]:
        """The failed calls, one line each."""
        return [f"{c.phase}/{c.category or '-'}: {c.error}" for c in self.calls if not c.ok]

    def summary(self) -> str:
        """One line for logs."""
        cats = sum(1 for v in self.categories.values() if v.get("skills"))
        return (f"distilled {self.episodes} episodes ({self.successes} successes, {self.failures} failures) with "
                f"{self.teacher}: +{len(self.added)} skills in {cats} categories, +{len(self.mistakes_added)} "
                f"mistakes, {len(self.rejected)} rejected, {len(self.errors)} failed calls, {self.seconds:.1f} s")


class Distillation(NamedTuple):
    """What :meth:`SkillDistiller.distill` returns: ``bank, report = distiller.distill(episodes)``."""

    bank: SkillBank
    report: DistillReport


# ---------------------------------------------------------------------------------------------------
# token budget
# ---------------------------------------------------------------------------------------------------

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


# ---------------------------------------------------------------------------------------------------
# compression
# ---------------------------------------------------------------------------------------------------


def episode_text(ep: Episode) -> str:
    """The raw trajectory text an agent saw and wrote: the initial observation, then ``> action`` and the
    observation for each step (ReAct transcript layout; for ALFWorld demos this is the conversation's text)."""
    parts = [ep.initial_observation or f"Your task is to: {ep.task}"]
    for st in ep.steps:
        parts.append(f"> {st.action}")
        if st.observation:
            parts.append(st.observation)
    return "\n".join(parts)


def compression_stats(bank: SkillBank, episodes: Sequence[Episode], count: Callable[[str], int] | Any = None
                      ) -> dict[str, Any]:
    """Rendered skill tokens vs the raw trajectory tokens they were distilled from.

    Per category: ``raw_tokens`` (sum over the category's episodes of :func:`episode_text`),
    ``raw_tokens_per_episode``, ``skill_tokens`` (the category's task-specific section rendered in the official
    style) and ``ratio`` (raw / skill). ``"general"`` and ``"mistakes"``: their rendered sections. ``"overall"``:
    all episodes' raw tokens vs the whole bank rendered (general + every category + every mistake).

    Args:
        count: a tokenizer or ``str -> int`` (see :func:`skillrl.render.token_counter`); default the
            ``ceil(chars / 4)`` estimate of :func:`skillrl.render.estimate_tokens`.
    """
    n = token_counter(count)
    by_cat: dict[str | None, list[Episode]] = defaultdict(list)
    for ep in episodes:
        by_cat[ep.category].append(ep)
    out: dict[str, Any] = {"categories": {}}
    total_raw = 0
    for cat, eps in by_cat.items():
        raw = sum(n(episode_text(e)) for e in eps)
        total_raw += raw
        if cat is None:
            out["uncategorised_raw_tokens"] = raw
            continue
        skills = bank.task_specific.get(cat, [])
        section = format_sections([], skills, [], cat)
        st = n(section) if section else 0
        out["categories"][cat] = {"episodes": len(eps), "skills": len(skills), "raw_tokens": raw,
                                  "raw_tokens_per_episode": raw / len(eps), "skill_tokens": st,
                                  "ratio": (raw / st) if st else None}
    gen = format_sections(bank.general, [], [], None)
    mis = format_sections([], [], bank.mistakes, None)
    whole = "\n\n".join(x for x in [gen] + [format_sections([], v, [], c) for c, v in bank.task_specific.items()]
                        + [mis] if x)
    out["general"] = {"skills": len(bank.general), "skill_tokens": n(gen) if gen else 0}
    out["mistakes"] = {"mistakes": len(bank.mistakes), "tokens": n(mis) if mis else 0}
    wt = n(whole) if whole else 0
    out["overall"] = {"episodes": len(episodes), "raw_tokens": total_raw, "bank_tokens": wt,
                      "ratio": (total_raw / wt) if wt else None}
    return out


# ---------------------------------------------------------------------------------------------------
# the distiller
# ---------------------------------------------------------------------------------------------------


def _evenly(items: list[Any], k: int) -> list[Any]:
    """``k`` items spread evenly over ``items`` (all when ``k >= len``), order kept."""
    if k >= len(items):
        return list(items)
    step = len(items) / k
    return [items[int(i * step)] for i in range(k)]


def _round_robin(groups: dict[Any, list[Episode]], k: int) -> list[Episode]:
    from skillrl.teachers import round_robin

    return round_robin([v for _, v in sorted(groups.items(), key=lambda kv: str(kv[0]))], k)


class SkillDistiller:
    """Distil a skill bank from episodes with a teacher (see the module docstring).

    Args:
        teacher: a :class:`skillrl.teachers.Teacher` or a spec ``"offline"`` (default), ``"openai:<model>"``,
            ``"hf:<local path>"`` (see :func:`skillrl.teachers.make_teacher`).
        config: :class:`DistillConfig` (``None``: defaults).
        embedder: embedder for dedup (``None``: the packaged all-MiniLM-L6-v2, loaded on first use; not loaded
            at all when ``config.embedding_dedup`` is False).
        tokenizer: counts tokens for the per-record budget (a Hugging Face tokenizer or ``str -> int``);
            default the 4-characters-per-token estimate.
        progress: show a tqdm progress bar over teacher calls (default True).

    One distiller runs one :meth:`distill` at a time (it keeps per-run state); teacher calls of one phase run
    concurrently when the teacher's ``max_concurrency`` is above 1.

    Example::

        from skillrl.distill import SkillDistiller
        from skillrl.episode import load_episodes

        bank, report = SkillDistiller("offline").distill(load_episodes("expert_demos_train.jsonl"))
        bank.save("bank.json")
    """

    def __init__(self, teacher: Any = "offline", config: DistillConfig | None = None, embedder: Any = None,
                 tokenizer: Any = None, progress: bool = True) -> None:
        if isinstance(teacher, str):
            from skillrl.teachers import make_teacher

            teacher = make_teacher(teacher)
        self.teacher = teacher
        self.config = config or DistillConfig()
        if embedder is not None and self.config.embedding_dedup:
            from skillrl.embedders import CachedEmbedder

            embedder = CachedEmbedder(embedder)  # each dedup check re-embeds the pool: cache it
        self.dedup = Deduplicator(embedder if self.config.embedding_dedup else None,
                                  threshold=self.config.dedup_threshold, lazy_default=self.config.embedding_dedup)
        self.count = token_counter(tokenizer)
        self.progress = progress

    @property
    def teacher_name(self) -> str:
        return str(getattr(self.teacher, "name", type(self.teacher).__name__))

    def _per_call(self) -> int | None:
        per = self.config.episodes_per_call
        if per == "auto":
            from skillrl.teachers import OfflineTeacher

            return None if isinstance(self.teacher, OfflineTeacher) else 8
        return per

    def _batches(self, eps: list[Episode]) -> list[list[Episode]]:
        per = self._per_call()
        if not eps:
            return []
        if per is None:
            return [eps]
        chosen = _evenly(eps, per * self.config.max_calls_per_category)
        return [chosen[i:i + per] for i in range(0, len(chosen), per)]

    # ------------------------------------------------------------------ entry point
    def distill(self, episodes: Sequence[Episode], bank: SkillBank | None = None) -> Distillation:
        """Distil ``episodes`` into a bank.

        Args:
            episodes: successes and failures (any category mix; episodes without a category take part in the
                general phase and their failures give general lessons).
            bank: extend a copy of this bank (its skills count for dedup and caps); ``None``: a new bank.

        Returns:
            :class:`Distillation` ``(bank, report)``; the bank has one new version holding every addition.

        Raises:
            TypeError: an item of ``episodes`` is not an :class:`Episode`.
            ValueError: ``episodes`` is empty.
        """
        t0 = time.perf_counter()
        eps = list(episodes)
        if not eps:
            raise ValueError("distill() needs at least one episode")
        for i, ep in enumerate(eps):
            if not isinstance(ep, Episode):
                raise TypeError(f"episodes[{i}] is a {type(ep).__name__}, expected skillrl.episode.Episode")
        out = bank.copy() if bank is not None else SkillBank(metadata={})
        report = DistillReport(teacher=self.teacher_name, episodes=len(eps),
                               successes=sum(e.success for e in eps), failures=sum(not e.success for e in eps))
        succ: dict[str | None, list[Episode]] = defaultdict(list)
        fail: dict[str | None, list[Episode]] = defaultdict(list)
        for ep in eps:
            (succ if ep.success else fail)[ep.category].append(ep)
        cats = sorted({e.category for e in eps if e.category is not None})
        self._known = set(cats) | set(out.categories)
        self._open_categories = any(e.category is None for e in eps)
        self._has_failures = {c for c, v in fail.items() if v}

        plan: list[tuple[Phase, str | None, list[list[Episode]]]] = []
        all_succ = [e for v in succ.values() for e in v]
        if all_succ:
            per = self._per_call()
            plan.append(("general", None, [all_succ if per is None else _round_robin(succ, per)]))
        if self._per_call() is not None:  # a teacher that reads every episode got them all in the general call
            plan += [("patterns", c, self._batches(succ[c])) for c in cats if succ.get(c)]
        plan += [("lessons", c, self._batches(fail[c])) for c in [*cats, None] if fail.get(c)]
        n_calls = sum(len(b) for _, _, b in plan)

        bar = None
        if self.progress:
            from tqdm.auto import tqdm

            bar = tqdm(total=n_calls, desc=f"distill ({self.teacher_name})", unit="call", leave=False)
        try:
            with out.transaction(f"distill {len(eps)} episodes with {self.teacher_name}", op="distill",
                                 teacher=self.teacher_name, episodes=len(eps)):
                for phase, cat, batches in plan:
                    answers = self._ask(phase, cat, batches, out)
                    for batch, answer in zip(batches, answers, strict=True):
                        self._file(out, phase, cat, batch, answer, report)
                        if bar is not None:
                            bar.update(1)
        finally:
            if bar is not None:
                bar.close()
        if bank is None:
            out.metadata = {"source": "skillrl distill", "teacher": self.teacher_name, "episodes": len(eps),
                            "task_distribution": dict(Counter(e.category or "unknown" for e in eps))}
        for c in sorted(set(cats) | set(out.categories)):
            report.categories[c] = {"episodes": len(succ.get(c, [])) + len(fail.get(c, [])),
                                    "successes": len(succ.get(c, [])), "failures": len(fail.get(c, [])),
                                    "skills": len(out.task_specific.get(c, []))}
        report.shape = self._shape(out)
        report.bank_version = out.version
        report.seconds = time.perf_counter() - t0
        return Distillation(out, report)

    # ------------------------------------------------------------------ teacher calls
    def _ask(self, phase: Phase, cat: str | None, batches: list[list[Episode]], bank: SkillBank) -> list[Any]:
        existing = bank.skills() if cat is None else bank.general + bank.task_specific.get(cat, [])

        def one(batch: list[Episode]) -> Any:
            try:
                if phase == "lessons":
                    return self.teacher.reflect(batch, cat, existing)
                return self.teacher.distill(batch, cat, existing)
            except Exception as err:  # noqa: BLE001 - a teacher bug is a failed call, not a failed distillation
                return err

        workers = min(int(getattr(self.teacher, "max_concurrency", 1) or 1), len(batches))
        if workers <= 1:
            return [one(b) for b in batches]
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="skillrl-distill") as pool:
            return list(pool.map(one, batches))

    # ------------------------------------------------------------------ filing proposals
    def _file(self, bank: SkillBank, phase: Phase, cat: str | None, batch: list[Episode], answer: Any,
              report: DistillReport) -> None:
        call = DistillCall(phase=phase, category=cat, episodes=len(batch), ok=False)
        report.calls.append(call)
        if isinstance(answer, Exception):
            call.error = f"the teacher raised {type(answer).__name__}: {answer}"
            return
        usage = getattr(answer, "usage", None)
        if usage is not None:
            call.tokens = int(usage.prompt_tokens + usage.completion_tokens)
            report.tokens += call.tokens
            if usage.cost_usd is not None:
                report.cost_usd = (report.cost_usd or 0.0) + float(usage.cost_usd)
        if getattr(answer, "error", None) or getattr(answer, "value", None) is None:
            call.error = getattr(answer, "error", None) or "the teacher returned no value"
            return
        call.ok = True
        props = answer.value
        call.skills_proposed, call.mistakes_proposed = len(props.skills), len(props.mistakes)
        batch_ids = list(dict.fromkeys(e.episode_id for e in batch))
        # general proposals first: a task-specific proposal is then checked against the general tier it may repeat
        for sp in sorted(props.skills, key=lambda p: p.tier != "general"):
            self._file_skill(bank, phase, cat, sp, batch_ids, report)
        for mp in props.mistakes:
            self._file_mistake(bank, phase, cat, mp, batch_ids, report)

    def _provenance(self, ids: list[str], batch_ids: list[str], note: str) -> Provenance:
        known = set(batch_ids)
        picked = [i for i in ids if i in known] or batch_ids
        return Provenance(source="distill", episode_ids=picked[: self.config.max_episode_ids],
                          teacher=self.teacher_name, note=note)

    def _cap(self, phase: Phase, cat: str) -> int:
        cfg = self.config
        if phase == "lessons" or cat not in self._has_failures:
            return cfg.max_per_category
        return max(0, cfg.max_per_category - cfg.lesson_slots)

    def _file_skill(self, bank: SkillBank, phase: Phase, call_cat: str | None, sp: Any, batch_ids: list[str],
                    report: DistillReport) -> None:
        cfg = self.config

        def reject(reason: str, category: str | None = call_cat) -> None:
            report.rejected.append(DistillRejection(phase=phase, category=category, title=str(sp.title)[:80],
                                                    reason=reason))

        tier = sp.tier
        # a call about one category files its task-specific proposals there, whatever category the answer names
        cat = (call_cat or sp.category) if tier == "task_specific" else None
        if tier == "task_specific" and cat is None:
            return reject("task-specific proposal without a category (general call over uncategorised episodes)")
        if cat is not None and cat not in self._known:
            if not self._open_categories:
                return reject(f"category {cat!r} is not a category of the episodes", cat)
            self._known.add(cat)
        principle, when, trimmed = fit_skill(sp.title, sp.principle, sp.when_to_apply, cfg.max_skill_tokens,
                                             self.count)
        prov = self._provenance(list(sp.episode_ids), batch_ids, sp.rationale)
        if sp.action == "refine" and sp.skill_id and sp.skill_id in bank:
            old = bank.get(sp.skill_id)
            if call_cat is not None and old.category != call_cat:
                return reject(f"refines {old.skill_id} ({old.tier} {old.category or ''}) from a call about "
                              f"{call_cat!r} only", cat)
            if (old.title, old.principle, old.when_to_apply) == (sp.title, principle, when):
                return None  # the same text again (e.g. re-proposed after trimming): nothing to do
            try:
                bank.update(old.skill_id, title=sp.title, principle=principle, when_to_apply=when,
                            provenance=old.provenance.model_copy(update={
                                "episode_ids": list(dict.fromkeys(old.provenance.episode_ids + prov.episode_ids))[
                                    : cfg.max_episode_ids],
                                "teacher": prov.teacher, "note": prov.note}))
            except ValidationError as err:
                return reject(f"invalid refinement: {err.errors()[0]['msg']}", cat)
            report.refined.append(old.skill_id)
            if trimmed:
                report.trimmed.append(old.skill_id)
            return
        prefix = "gen" if tier == "general" else slugify(cat or "task", 40)
        try:
            skill = Skill(skill_id=bank.new_skill_id(prefix), title=sp.title[:MAX_TITLE],
                          principle=principle[:MAX_PRINCIPLE], when_to_apply=when[:MAX_WHEN], tier=tier,
                          category=cat, provenance=prov)
        except ValidationError as err:
            return reject(f"invalid skill: {err.errors()[0]['msg']}", cat)
        pool = bank.general + (bank.task_specific.get(cat, []) if cat is not None else [])
        dup = self.dedup.find(skill, pool) if pool else None
        if dup is not None:
            return reject(f"duplicate of {dup.skill_id} ({dup.kind} match, cosine {dup.score:.2f})", cat)
        if tier == "general":
            if len(bank.general) >= cfg.max_general:
                return reject(f"general tier full (max_general={cfg.max_general})", None)
        elif len(bank.task_specific.get(cat, [])) >= self._cap(phase, cat):
            kind = "lessons" if phase == "lessons" else "success patterns"
            return reject(f"category full ({self._cap(phase, cat)} slots for {kind})", cat)
        bank.add(skill)
        report.added.append(skill.skill_id)
        if trimmed:
            report.trimmed.append(skill.skill_id)

    def _file_mistake(self, bank: SkillBank, phase: Phase, cat: str | None, mp: Any, batch_ids: list[str],
                      report: DistillReport) -> None:
        cfg = self.config

        def reject(reason: str) -> None:
            report.rejected.append(DistillRejection(phase=phase, category=cat, title=str(mp.description)[:80],
                                                    reason=reason))

        desc, how, trimmed = fit_mistake(mp.description, mp.how_to_avoid, cfg.max_skill_tokens, self.count)
        try:
            mistake = Mistake(mistake_id=bank.new_mistake_id(), description=desc[:MAX_MISTAKE_FIELD],
                              why_it_happens=(mp.why_it_happens or "")[:MAX_MISTAKE_FIELD],
                              how_to_avoid=how[:MAX_MISTAKE_FIELD],
                              provenance=self._provenance(list(mp.episode_ids), batch_ids,
                                                          f"{phase} of {cat or 'all categories'}"))
        except ValidationError as err:
            return reject(f"invalid mistake: {err.errors()[0]['msg']}")
        existing = bank.mistakes
        key = normalize(mistake.description)
        same = next((m for m in existing if normalize(m.description) == key), None)
        if same is not None:
            return reject(f"duplicate of {same.mistake_id} (same description)")
        dup = self.dedup.find_mistake(mistake, existing) if existing else None  # cosine + contrast veto
        if dup is not None:
            return reject(f"duplicate of {dup.record_id} ({dup.kind} match, cosine {dup.score:.2f})")
        if len(existing) >= cfg.max_mistakes:
            return reject(f"mistakes full (max_mistakes={cfg.max_mistakes})")
        bank.add_mistake(mistake)
        report.mistakes_added.append(mistake.mistake_id)
        if trimmed:
            report.trimmed.append(mistake.mistake_id)

    def _shape(self, bank: SkillBank) -> dict[str, Any]:
        cfg = self.config

        def rng(n: int, lo: int, hi: int) -> dict[str, Any]:
            return {"count": n, "min": lo, "max": hi, "ok": lo <= n <= hi}

        return {"general": rng(len(bank.general), cfg.min_general, cfg.max_general),
                "task_specific": {c: rng(len(v), cfg.min_per_category, cfg.max_per_category)
                                  for c, v in bank.task_specific.items()},
                "mistakes": rng(len(bank.mistakes), cfg.min_mistakes, cfg.max_mistakes)}
