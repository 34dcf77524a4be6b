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
   lessons and *common mistakes* (the paper's "failed trajectories -> lessons / counterfactuals"). A teacher that
   reads every episode (the offline teacher) gets all failures in one call, so advice shared by several categories
   becomes one common mistake instead of one per category.

Every proposal then passes the same checks, in order:

* **token budget** per record (``max_skill_tokens``, default 125 estimated tokens of the rendered line
  ``- **title**: principle`` + ``_Apply when: ..._``, i.e. ReSkill's 500-character cap): trailing sentences
  of the principle are dropped, then the text is cut at a word, until it fits;
* **screening** (:mod:`skillrl.screening`, on by default): a flagged proposal goes to the bank's quarantine;
* **dedup as it goes** (:class:`skillrl.dedup.Deduplicator`, exact title/principle match + cosine >=
  :data:`~skillrl.dedup.DEFAULT_DEDUP_THRESHOLD`): a general proposal is compared with the general skills, a
  task-specific one with the general skills and its own category's skills; mistakes by normalised
  description and by the same cosine rule on ``description Instead: how_to_avoid``;
* **shape**, aiming at the official banks (12 / 15 / 10 general skills, 5-6 per category, 11-12 mistakes):
  at most ``max_general`` (15) general skills, ``max_per_category`` (6) per category of which
  ``lesson_slots`` (2) are kept for lessons when the category has failures the teacher can learn from
  (``Teacher.yields_lessons``; the offline teacher needs steps or recorded mistakes); success patterns turned away
  only for those slots are filed after the lessons into the slots left free, ``max_mistakes`` (15) mistakes.
  The lower ends of the targets (8 general, 4 per category, 8 mistakes) are reported, not forced: a teacher
  that finds less says so in :attr:`DistillReport.shape`.

The result is a native bank whose records carry provenance ``source="distill"``, the episode ids they came
from and the teacher's name; categories are the episodes' own ``category`` keys (ALFWorld demos: the task
types ``pick_heat_then_place_in_recep`` ...; :mod:`skillrl.profiles` maps task types to whatever keys a bank
has). All additions form ONE bank version (one :meth:`SkillBank.transaction`).

Teacher faults (timeouts, HTTP errors, invalid JSON) never raise: the call is recorded in
:attr:`DistillReport.calls` with its error and distillation goes on with the other calls.
"""

from __future__ import annotations

import time
from collections import Counter, defaultdict
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Callable, Literal, NamedTuple

from pydantic import BaseModel, Field

from skillrl.bank import SkillBank
from skillrl.dedup import DEFAULT_DEDUP_THRESHOLD, Deduplicator
from skillrl.episode import Episode
from skillrl.errors import ConfigError, InputTypeError
from skillrl.filing import Filed, Filer, FilingPolicy, fit_mistake, fit_skill
from skillrl.render import format_sections, token_counter
from skillrl.skill import Provenance

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
    "map_categories",
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
        rejected: proposals not filed (duplicate, category full, invalid...); quarantined: flagged by screening.
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
    quarantined: list[DistillRejection] = Field(default_factory=list)
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


def _bank_key(detector: Any, category: str | None, bank: SkillBank) -> str | None:
    """The bank key for ``category`` through the profile's own mapping and aliases; a profile's catch-all
    fallback (``bank_fallback``) does not count: a category with no counterpart keeps its own key."""
    if category is None or category in bank.categories:
        return category
    key = detector.to_bank_category(category, bank)
    if key is None:
        return None
    fallback = getattr(detector, "bank_fallback", None)
    aliases = getattr(detector, "aliases", {}).get(category, ())
    if key == fallback and key not in aliases:
        return None
    return key


def map_categories(episodes: Sequence[Episode], bank: SkillBank, profile: Any = "auto") -> list[Episode]:
    """Episodes with their categories mapped to ``bank``'s category keys (``CategoryDetector.to_bank_category``),
    e.g. ALFWorld task types to the official ALFWorld bank's keys (``pick_heat_then_place_in_recep -> heat``).

    Categories that are bank keys already, and categories the profile maps only to its catch-all fallback
    (``pick_two_obj_and_place`` with the official bank, which has no pick-two key), are kept as they are.

    Args:
        profile: a profile name, a detector, or ``"auto"``: of the registered profiles, the one mapping the most
            distinct categories (none mapping any: the episodes are returned unchanged).

    Raises:
        ProfileError: an unknown profile name.
    """
    from skillrl.profiles import get_profile

    cats = sorted({e.category for e in episodes if e.category is not None and e.category not in bank.categories})
    if not cats:
        return list(episodes)
    if profile == "auto":
        from skillrl.plugins import profile_registry

        best, best_n = None, 0
        for name in sorted(profile_registry()):
            try:
                det = get_profile(name)
            except Exception:  # noqa: BLE001 - a broken third-party profile is just not a candidate
                continue
            n = sum(_bank_key(det, c, bank) is not None for c in cats)
            if n > best_n:
                best, best_n = det, n
        if best is None:
            return list(episodes)
        detector = best
    else:
        detector = get_profile(profile) if isinstance(profile, str) else profile
    table = {c: _bank_key(detector, c, bank) or c for c in cats}
    return [e.model_copy(update={"category": table.get(e.category, e.category)}) for e in episodes]


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
        accept: ``(record, context) -> reason | None``, a veto for skills and mistakes (as evolution's
            ``skillrl_accept_skill`` hook).
        screen: ``True`` (default) the built-in screening rules (:func:`skillrl.screening.screen`); a screener
            ``(record) -> verdict`` (a :class:`skillrl.screening.Screener`); ``False`` / ``None``: none. Flagged
            proposals go to the new bank's quarantine (kept with their reasons, never rendered), not into the bank.

    One distiller runs one :meth:`distill` at a time (it keeps per-run state); teacher calls of one phase run
    concurrently when the teacher's ``max_concurrency`` is above 1.

    Example::

        from skillrl.distill import SkillDistiller
        from skillrl.episode import load_episodes

        bank, report = SkillDistiller("offline").distill(load_episodes("expert_demos_train.jsonl"))
        bank.save("bank.json")
    """

    def __init__(self, teacher: Any = "offline", config: DistillConfig | None = None, embedder: Any = None,
                 tokenizer: Any = None, progress: bool = True,
                 accept: Callable[[Any, dict[str, Any]], str | None] | None = None,
                 screen: Callable[[Any], Any] | bool | None = True) -> None:
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
        self.accept = accept
        self.screen = screen

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
    def distill(self, episodes: Sequence[Episode], bank: SkillBank | None = None,
                profile: Any = "auto") -> Distillation:
        """Distil ``episodes`` into a bank.

        Args:
            episodes: successes and failures (any category mix; episodes without a category take part in the
                general phase and their failures give general lessons).
            bank: extend a copy of this bank (its skills count for dedup and caps); ``None``: a new bank.
            profile: when extending ``bank``, map episode categories to the bank's keys before anything is filed
                (:func:`map_categories`), so the bank's own skills are reachable and dedup-checked: a detection
                profile (name or :class:`skillrl.profiles.CategoryDetector`), ``"auto"`` (default: the registered
                profile that maps the most categories to the bank's keys, none when no profile maps any) or ``None``
                (keep the episodes' categories).

        Returns:
            :class:`Distillation` ``(bank, report)``; the bank has one new version holding every addition.

        Raises:
            TypeError: an item of ``episodes`` is not an :class:`Episode`.
            ValueError: ``episodes`` is empty.
        """
        t0 = time.perf_counter()
        eps = list(episodes)
        if not eps:
            raise ConfigError("distill() needs at least one episode")
        for i, ep in enumerate(eps):
            if not isinstance(ep, Episode):
                raise InputTypeError(f"episodes[{i}] is a {type(ep).__name__}, expected skillrl.episode.Episode")
        if bank is not None and profile is not None and bank.categories:
            eps = map_categories(eps, bank, profile)
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
        can = getattr(self.teacher, "yields_lessons", None)
        self._has_failures = {c for c, v in fail.items() if v and (can is None or any(can(e) for e in v))}
        self._waiting: list[tuple[Phase, str | None, Any, list[str]]] = []  # patterns rejected only for room
        self._filer = self.filer()
        self._filer.categories = set(self._known)

        plan: list[tuple[Phase, str | None, list[list[Episode]]]] = []
        all_succ = [e for v in succ.values() for e in v]
        if all_succ:
            per = self._per_call()
            plan.append(("general", None, [all_succ if per is None else _round_robin(succ, per)]))
        if self._per_call() is not None:  # a teacher that reads every episode got them all in the general call
            plan += [("patterns", c, self._batches(succ[c])) for c in cats if succ.get(c)]
        all_fail = [e for v in fail.values() for e in v]
        if self._per_call() is None and all_fail:
            # a teacher that reads every episode sees all failures at once: an idea shared by several categories is
            # then one general mistake, not one per category
            plan.append(("lessons", None, [all_fail]))
        else:
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
                self._backfill(out, report)
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
        from skillrl.teachers.base import ask_teacher

        existing = bank.skills() if cat is None else bank.general + bank.task_specific.get(cat, [])
        mistakes = list(bank.mistakes)

        def one(batch: list[Episode]) -> Any:
            try:
                return ask_teacher(self.teacher, "reflect" if phase == "lessons" else "distill", batch, cat,
                                   existing, mistakes)
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

    def filer(self, accept: Callable[[Any, dict[str, Any]], str | None] | None = None,
              screen: Callable[[Any], Any] | None = None) -> Filer:
        """The :class:`skillrl.filing.Filer` distillation files through: full tiers reject, budgets from the
        config."""
        cfg = self.config
        policy = FilingPolicy(max_general=cfg.max_general, max_per_category=cfg.max_per_category,
                              max_mistakes=cfg.max_mistakes, when_full="reject", allow_refine=True,
                              max_skill_tokens=cfg.max_skill_tokens, max_episode_ids=cfg.max_episode_ids)
        return Filer(policy, dedup=self.dedup, accept=accept if accept is not None else self.accept,
                     screen=screen if screen is not None else self.screen, count=self.count)

    def _note(self, filed: Filed, phase: Phase, report: DistillReport) -> None:
        if filed.outcome == "added":
            (report.mistakes_added if filed.kind == "mistake" else report.added).append(filed.record_id or "")
        elif filed.outcome == "refined":
            report.refined.append(filed.record_id or "")
        elif filed.outcome in ("rejected", "quarantined"):
            target = report.quarantined if filed.outcome == "quarantined" else report.rejected
            target.append(DistillRejection(phase=phase, category=filed.category, title=filed.title,
                                           reason=filed.reason))
        if filed.trimmed and filed.ok:
            report.trimmed.append(filed.record_id or "")

    def _file_skill(self, bank: SkillBank, phase: Phase, call_cat: str | None, sp: Any, batch_ids: list[str],
                    report: DistillReport) -> None:
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
        if sp.action == "refine" and not (sp.skill_id and sp.skill_id in bank):
            sp = sp.model_copy(update={"action": "add", "skill_id": None})  # nothing to refine: a new skill
        prov = self._provenance(list(sp.episode_ids), batch_ids, sp.rationale)
        cap = self._cap(phase, cat) if cat is not None else None
        filed = self._filer.skill(bank, sp, category=cat if tier == "task_specific" else call_cat, provenance=prov,
                                  cap=cap, context={"phase": phase, "teacher": self.teacher_name})
        if (filed.outcome == "rejected" and filed.reason.startswith("category full") and cat is not None
                and cap is not None and cap < self.config.max_per_category):
            # rejected only because slots were kept for lessons: filed after the lessons if slots stay free
            self._waiting.append((phase, cat, sp, batch_ids))
            return
        self._note(filed, phase, report)

    def _backfill(self, bank: SkillBank, report: DistillReport) -> None:
        """File the success patterns that waited for lesson slots, into the slots the lessons left free (full
        categories reject them as usual)."""
        waiting, self._waiting = self._waiting, []
        for phase, cat, sp, batch_ids in waiting:
            prov = self._provenance(list(sp.episode_ids), batch_ids, sp.rationale)
            filed = self._filer.skill(bank, sp, category=cat, provenance=prov, cap=self.config.max_per_category,
                                      context={"phase": phase, "teacher": self.teacher_name, "backfill": True})
            self._note(filed, phase, report)

    def _file_mistake(self, bank: SkillBank, phase: Phase, cat: str | None, mp: Any, batch_ids: list[str],
                      report: DistillReport) -> None:
        note = getattr(mp, "rationale", "") or f"{phase} of {cat or 'all categories'}"
        prov = self._provenance(list(mp.episode_ids), batch_ids, note)
        filed = self._filer.mistake(bank, mp, category=cat, provenance=prov,
                                    context={"phase": phase, "teacher": self.teacher_name})
        self._note(filed, phase, report)

    def _shape(self, bank: SkillBank) -> dict[str, Any]:
        cfg = self.config

        def rng(n: int, lo: int, hi: int) -> dict[str, Any]:
            return {"count": n, "min": lo, "max": hi, "ok": lo <= n <= hi}

        return {"general": rng(len(bank.general), cfg.min_general, cfg.max_general),
                "task_specific": {c: rng(len(v), cfg.min_per_category, cfg.max_per_category)
                                  for c, v in bank.task_specific.items()},
                "mistakes": rng(len(bank.mistakes), cfg.min_mistakes, cfg.max_mistakes)}
