"""Recursive skill evolution after validation (SkillRL Sec. 3.3), with the official code's flaws fixed.

After each validation:

1. success rate per category; only categories **below** ``update_threshold`` (default 0.4, paper) trigger
   (the official code evolves as soon as any rate is below it, then takes the first 10 failures of the batch
   in batch order, whatever their category);
2. failures of each low category, **most severe first** (lowest reward, then loops, then length), up to
   ``max_failures`` per category (default 10) of which ``max_shown`` (default 5) go to the teacher: per-category
   caps, so one category cannot crowd out the others;
3. the teacher sees the **real** task text, observations and actions of each failure and the category's
   current skills, and may propose new skills *or refinements* of existing ones; new task-specific skills
   go to their category (the official code puts every new skill in the general tier);
4. each proposal goes through the one filing path (:mod:`skillrl.filing`, shared with distillation): token budget
   and schema limits, screening (on by default; a flagged proposal goes to the bank's quarantine, never into a
   prompt), content dedup (:mod:`skillrl.dedup`, not id-only), plugins
   (``skillrl_accept_skill``, for skills and mistakes); at most ``max_new_skills`` changes are applied (default 3), taken round-robin
   across categories, lowest success rate first; a category over ``max_skills_per_category`` evicts its
   lowest-utility skill when there is evidence, else its least recently updated non-official skill (then the least
   recently updated one);
5. decisions by evidence (:mod:`skillrl.utility`, from the bank's usage statistics, whatever the success rates):
   skills whose utility interval lies below zero are retired, refinements not better than their predecessor are
   rolled back (:attr:`EvolutionReport.retired` / ``rolled_back``, with the evidence; the history entry keeps them
   in ``meta["decisions"]``); the teacher is not shown skills being retired, and proposals duplicating a retired
   skill are rejected;
6. everything is applied in one :meth:`SkillBank.transaction` (one new version) with provenance (validation
   step, episode ids, teacher). Any failure - teacher timeout, 429, invalid JSON, a bug - leaves the bank exactly
   as it was and is described in the :class:`EvolutionReport`; :meth:`Evolver.evolve` never raises.

Time: the low categories are asked concurrently (at most ``max_concurrent_categories`` at a time, in a thread
pool) and the whole teacher phase of a step has one wall-time budget, ``max_seconds`` (default 600 s). Each
``reflect`` call is given the budget's deadline (``Teacher.reflect(..., deadline=)``: the OpenAI teacher then
sends each HTTP request with the time left as its timeout); a category still unanswered when the budget runs out
is abandoned (its worker thread is left to finish on its own; what it returns is dropped; the interpreter waits
for it at exit, which a teacher given the deadline keeps short) and listed in :attr:`EvolutionReport.timed_out`. Filing the answers that did arrive follows the budget (it takes well under a
second).

Cost: ``max_teacher_tokens`` bounds the teacher tokens of a step (answers within the budget are applied, the one
that crosses it and later ones are not, categories not yet asked are not asked; see :class:`EvolutionConfig`), and
``redact`` / ``redact_patterns`` redact the trajectories sent to a hosted teacher (:mod:`skillrl.redaction`).

Training that must not wait for the teacher evolves a **snapshot** and commits it (what
:meth:`skillrl.runtime.SkillRuntime.after_validation` does)::

    snapshot = bank.copy()                         # readers keep using ``bank``
    report = evolver.evolve(snapshot, episodes)    # teacher calls and filing, no lock held
    with lock:                                     # the lock the readers take
        report = evolver.commit(bank, snapshot, report)

:meth:`Evolver.commit` replays the snapshot's one new version onto ``bank`` only if ``bank`` is still at the
snapshot's version; otherwise the step is a *conflict* (:attr:`EvolutionReport.conflict`): nothing is applied,
the other writer's edits stay, and the report lists the proposals it dropped.
"""

from __future__ import annotations

import logging
import re
import time
from collections import Counter
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from typing import Any, Callable, Sequence

from pydantic import BaseModel, Field, field_validator

from skillrl.bank import SkillBank
from skillrl.dedup import DEFAULT_DEDUP_THRESHOLD, Deduplicator
from skillrl.episode import Episode, success_rates
from skillrl.filing import Filed, Filer, FilingPolicy
from skillrl.skill import Provenance
from skillrl.teachers.base import ask_teacher
from skillrl.utility import (Decision, UtilityConfig, apply_decisions, decide, estimate, estimates_by_id,
                             retired_records)

logger = logging.getLogger("skillrl.evolve")


class EvolutionConfig(BaseModel):
    """Settings of an evolution step (defaults from the paper and the official code where they exist).

    Attributes:
        update_threshold: a category evolves when its validation success rate is below this (paper: 0.4).
        max_failures: failures sampled per low category, most severe first (official: 10).
        max_shown: of those, how many the teacher sees per category (official: 5).
        max_new_skills: at most this many bank changes (adds + refinements + mistakes) per step (official: 3).
        max_skills_per_category: cap on task-specific skills per category; past it the least recently
            updated non-official skill gives way (default 12).
        max_general_skills: cap on general skills, same rule (default 20).
        dedup_threshold: cosine similarity at or above which a proposal duplicates an existing skill.
        allow_refine: let the teacher rewrite existing skills (default True).
        include_unknown: let episodes without a category trigger (their proposals go to the general tier).
        max_skill_tokens: token budget of one rendered skill or mistake; longer proposals are trimmed (default 125,
            the same budget distillation uses; ``None``: no trimming).
        max_seconds: wall-time budget (seconds) of the teacher calls of one step, all categories together
            (default 600: ten minutes, against the OpenAI teacher's 60 s x 4 attempts per request, about four
            minutes per category before; a category unanswered by then is abandoned and reported in
            :attr:`EvolutionReport.timed_out`, the others are filed).
        max_concurrent_categories: how many categories are asked at the same time (default 4; 1 asks them one
            after another, lowest success rate first).
        utility: decisions by evidence at each step (:class:`skillrl.utility.UtilityConfig`: retire skills whose
            utility interval lies below zero, roll back refinements not better than their predecessor, evict the
            lowest-utility skill of a full category; at least ``min_episodes=30`` per arm). They need withheld
            episodes (``SkillConfig.ablation > 0``); without them nothing is decided and eviction keeps its rule.
        max_teacher_tokens: token budget (prompt + completion, as the teacher reports them) of the teacher calls of
            one step (default ``None``: unlimited). Answers are taken in ask order (lowest success rate first) while
            the running total stays within the budget; the answer that takes it over and every later one are not
            applied, and once the calls that finished have spent more than the budget, categories not yet asked are
            never asked (calls already in flight finish, are counted in ``tokens``, and are dropped). What came
            before is applied; when nothing did, the bank is unchanged. Reported in
            :attr:`EvolutionReport.over_budget` and ``errors``. With concurrent asks up to
            ``max_concurrent_categories`` calls can be in flight when the budget is crossed: set that to 1 for the
            tightest bound (at most one call past the budget).
        redact: redact the trajectories sent to the teacher (:mod:`skillrl.redaction`): ``None`` (default) the
            teacher's own setting (the OpenAI teacher redacts when its endpoint is not on the loopback interface),
            ``True`` / ``False`` to force it.
        redact_patterns: opt-in extra regular expressions to redact (with the default patterns; implies
            ``redact`` unless it is ``False``).
    """

    update_threshold: float = Field(0.4, ge=0.0, le=1.0)
    max_failures: int = Field(10, ge=1)
    max_shown: int = Field(5, ge=1)
    max_new_skills: int = Field(3, ge=0)
    max_skills_per_category: int = Field(12, ge=1)
    max_general_skills: int = Field(20, ge=1)
    dedup_threshold: float = Field(DEFAULT_DEDUP_THRESHOLD, ge=-1.0, le=1.0)
    allow_refine: bool = True
    include_unknown: bool = False
    max_skill_tokens: int | None = Field(125, ge=16)
    max_seconds: float = Field(600.0, gt=0)
    max_concurrent_categories: int = Field(4, ge=1)
    utility: UtilityConfig = Field(default_factory=UtilityConfig)
    max_teacher_tokens: int | None = Field(None, ge=0)
    redact: bool | None = None
    redact_patterns: list[str] = Field(default_factory=list)

    @field_validator("redact_patterns")
    @classmethod
    def _patterns_compile(cls, value: list[str]) -> list[str]:
        for rx in value:
            try:
                re.compile(rx)
            except re.error as err:
                raise ValueError(f"redaction pattern {rx!r} is not a valid regular expression: {err}") from None
        return value

    def redaction(self) -> Any:
        """What evolution passes to the teacher as ``redact`` (``None``: the teacher's own setting)."""
        if self.redact is False:
            return False
        if self.redact_patterns:
            from skillrl.redaction import Redactor

            return Redactor(extra=self.redact_patterns)
        return self.redact


class Rejected(BaseModel):
    """A proposal that was not applied, and why."""

    category: str | None
    title: str
    reason: str


class EvolutionReport(BaseModel):
    """What one evolution step saw and did.

    Attributes:
        step: trainer global step of the validation.
        success_rates: per-category validation success rate.
        low_categories: categories below the threshold, lowest first.
        failures_used: per category, ids of the failures shown to the teacher.
        added / refined / evicted: skill ids; mistakes_added: mistake ids.
        rejected: proposals not applied, with the reason; quarantined: proposals screening flagged.
        retired / rolled_back: decisions by evidence (:class:`skillrl.utility.Decision`: the skill, its utility
            and interval, episodes per arm; a rollback also its predecessor's), applied in this step's version.
        tokens: teacher tokens spent (prompt + completion); cost_usd when the teacher knows prices.
        teacher: teacher name. errors: what went wrong per category (the step goes on with the others).
        error: a failure that stopped the whole step (bank unchanged).
        timed_out: categories whose teacher call had not answered when ``max_seconds`` ran out (abandoned, also
            described in ``errors``).
        over_budget: categories whose answer was not applied (or that were never asked) because the step's teacher
            tokens passed ``max_teacher_tokens`` (also described in ``errors``).
        conflict: set when the step's changes were not applied because the bank changed while the teacher was
            asked (:meth:`Evolver.commit`); ``error`` says the same, the dropped proposals are in ``rejected``.
        version_before / version_after: bank versions around the step (equal when the step changed nothing,
            conflicts included). seconds: wall time.
    """

    step: int
    success_rates: dict[str, float] = Field(default_factory=dict)
    low_categories: list[str] = Field(default_factory=list)
    failures_used: dict[str, list[str]] = Field(default_factory=dict)
    added: list[str] = Field(default_factory=list)
    refined: list[str] = Field(default_factory=list)
    evicted: list[str] = Field(default_factory=list)
    mistakes_added: list[str] = Field(default_factory=list)
    rejected: list[Rejected] = Field(default_factory=list)
    quarantined: list[Rejected] = Field(default_factory=list)
    retired: list[Decision] = Field(default_factory=list)
    rolled_back: list[Decision] = Field(default_factory=list)
    tokens: int = 0
    cost_usd: float = 0.0
    teacher: str = ""
    errors: list[str] = Field(default_factory=list)
    error: str | None = None
    timed_out: list[str] = Field(default_factory=list)
    over_budget: list[str] = Field(default_factory=list)
    conflict: str | None = None
    version_before: int = 0
    version_after: int = 0
    seconds: float = 0.0

    def note(self, filed: Filed, category: str | None) -> None:
        """Record what :class:`skillrl.filing.Filer` did with one proposal."""
        if filed.outcome == "added":
            (self.mistakes_added if filed.kind == "mistake" else self.added).append(filed.record_id or "")
        elif filed.outcome == "refined":
            self.refined.append(filed.record_id or "")
        else:
            target = self.quarantined if filed.outcome == "quarantined" else self.rejected
            target.append(Rejected(category=category, title=filed.title, reason=filed.reason))
        self.evicted.extend(filed.evicted)

    @property
    def triggered(self) -> bool:
        return bool(self.low_categories)

    @property
    def changed(self) -> bool:
        return self.version_after != self.version_before

    def summary(self) -> str:
        """One line for logs."""
        rates = ", ".join(f"{c}={r:.2f}" for c, r in self.success_rates.items())
        return (f"evolution@{self.step}: low={self.low_categories or '-'} +{len(self.added)} skills "
                f"~{len(self.refined)} refined +{len(self.mistakes_added)} mistakes "
                f"-{len(self.rejected)} rejected"
                f"{f' -{len(self.retired)} retired' if self.retired else ''}"
                f"{f' ~{len(self.rolled_back)} rolled back' if self.rolled_back else ''}"
                f", v{self.version_before}->v{self.version_after}, "
                f"{self.tokens} teacher tokens"
                f"{' out of time: ' + ','.join(self.timed_out) if self.timed_out else ''}"
                f"{' over token budget: ' + ','.join(self.over_budget) if self.over_budget else ''}"
                f"{f' {len(self.quarantined)} quarantined' if self.quarantined else ''}"
                f"{' ERROR: ' + self.error if self.error else ''} [{rates}]")


def failure_severity(ep: Episode) -> tuple[float, float, int]:
    """Sort key, larger = more severe: (1 - reward, fraction of repeated actions, number of steps)."""
    actions = ep.actions
    repeats = (len(actions) - len(set(actions))) / len(actions) if actions else 0.0
    return (1.0 - float(ep.reward), repeats, len(actions))


def select_failures(episodes: Sequence[Episode], category: str | None, limit: int) -> list[Episode]:
    """The ``limit`` most severe failures of ``category`` (deterministic: ties by episode id)."""
    fails = [e for e in episodes if not e.success and (e.category or None) == category]
    return sorted(fails, key=lambda e: (tuple(-x for x in failure_severity(e)), e.episode_id))[:limit]


class Evolver:
    """Runs evolution steps on a bank with a teacher.

    Args:
        teacher: a :class:`skillrl.teachers.Teacher` (``reflect(failures, category, existing)``).
        config: :class:`EvolutionConfig` (``None``: defaults).
        embedder: embedder for content dedup (``None``: the packaged all-MiniLM-L6-v2 on first use).
        accept: ``(record, context) -> reason | None``, a veto for skills and mistakes (the runtime passes the
            ``skillrl_accept_skill`` hook).
        screen: ``True`` (default) the built-in screening rules (:func:`skillrl.screening.screen`); a screener
            ``(record) -> verdict`` (``flagged``, ``reasons``, ``score``; e.g. ``Screener.from_plugin_manager(pm)``);
            ``False`` / ``None``: none. Flagged proposals go to the bank's quarantine, not into the bank.
    """

    def __init__(self, teacher: Any, config: EvolutionConfig | None = None, embedder: Any = None,
                 accept: Callable[[Any, dict[str, Any]], str | None] | None = None,
                 screen: Callable[[Any], Any] | bool | None = True) -> None:
        self.teacher = teacher
        self.config = config or EvolutionConfig()
        self.dedup = Deduplicator(embedder, threshold=self.config.dedup_threshold)
        self.accept = accept
        self.screen = screen

    def evolve(self, bank: SkillBank, episodes: Sequence[Episode], step: int = 0) -> EvolutionReport:
        """One evolution step from validation ``episodes`` (see the module docstring), edited into ``bank`` in
        place. Never raises. The teacher calls take at most ``config.max_seconds`` in all.

        Returns:
            The :class:`EvolutionReport`; the bank has at most one new version.
        """
        t0 = time.perf_counter()
        cfg = self.config
        deadline = time.monotonic() + cfg.max_seconds
        report = EvolutionReport(step=step, teacher=getattr(self.teacher, "name", type(self.teacher).__name__),
                                 version_before=bank.version, version_after=bank.version)
        try:
            report.success_rates = success_rates(episodes)
            low = sorted((r, c) for c, r in report.success_rates.items()
                         if r < cfg.update_threshold and (c != "unknown" or cfg.include_unknown))
            report.low_categories = [c for _, c in low]
            estimates = (estimate(bank.stats, bank, config=cfg.utility, include_unknown=False,
                                  keep_draws=cfg.utility.rollback) if bank.stats.any_withheld else [])
            decisions = decide(bank, cfg.utility, step=step, estimates=estimates) if estimates else []
            leaving = {d.skill_id for d in decisions if d.kind == "retire"}
            asks: list[tuple[str, str | None, list[Episode], list[Any]]] = []
            for cat in report.low_categories:
                bank_cat = None if cat == "unknown" else cat
                failures = select_failures(episodes, bank_cat, cfg.max_failures)
                shown = failures[: cfg.max_shown]
                report.failures_used[cat] = [e.episode_id for e in shown]
                if not shown:
                    continue
                existing = bank.task_specific.get(bank_cat, []) + bank.general if bank_cat else bank.general
                existing = [sk for sk in existing if sk.skill_id not in leaving]  # retired in this step
                category_mistakes = [m for m in bank.mistakes if m.category in (None, bank_cat)]
                asks.append((cat, bank_cat, shown, existing, category_mistakes))
            answers = self._ask(asks, deadline, report)
            proposals: dict[str, list[Any]] = {}
            budget, crossed = cfg.max_teacher_tokens, False
            for cat, _bank_cat, shown, _existing, _mistakes in asks:
                if cat not in answers:
                    continue
                answer = answers[cat]
                usage = getattr(answer, "usage", None)
                if usage is not None:
                    report.tokens += int(usage.prompt_tokens + usage.completion_tokens)
                    report.cost_usd += float(getattr(usage, "cost_usd", 0.0) or 0.0)
                if budget is not None and (crossed or report.tokens > budget):
                    crossed = True
                    report.over_budget.append(cat)
                    report.errors.append(f"{cat}: answer not applied: the step's teacher tokens reached "
                                         f"{report.tokens} > max_teacher_tokens={budget}")
                    continue
                if answer.error or answer.value is None:
                    report.errors.append(f"{cat}: teacher failed: {answer.error or 'no answer'}")
                    continue
                items = [("skill", p) for p in answer.value.skills] + [("mistake", p) for p in answer.value.mistakes]
                proposals[cat] = [(kind, p, [e.episode_id for e in shown]) for kind, p in items]
            report.over_budget.sort(key=report.low_categories.index)  # ask order
            reason = f"evolution at step {step}: low categories {report.low_categories}"
            for kind, label in (("retire", "retired"), ("rollback", "rolled back")):
                ids = [d.skill_id for d in decisions if d.kind == kind]
                reason += f"; {label} {ids} by evidence" if ids else ""
            meta = {"decisions": [d.model_dump(mode="json") for d in decisions]} if decisions else {}
            utility = estimates_by_id(estimates, cfg.utility.min_episodes) if cfg.utility.evict_by_utility else {}
            with bank.transaction(reason, op="evolve", step=step, teacher=report.teacher, **meta):
                for d in apply_decisions(bank, decisions):
                    (report.retired if d.kind == "retire" else report.rolled_back).append(d)
                self._apply(bank, proposals, step, report, utility={k: v for k, v in utility.items()
                                                                    if k not in leaving})
        except Exception as err:  # noqa: BLE001 - the training loop must never die here
            logger.exception("skillrl evolution failed; the bank is unchanged")
            report.error = f"{type(err).__name__}: {err}"
            _clear_changes(report)
        report.version_after = bank.version
        report.seconds = time.perf_counter() - t0
        logger.info(report.summary())
        return report

    def _ask(self, asks: Sequence[tuple[str, str | None, list[Episode], list[Any], list[Any]]], deadline: float,
             report: EvolutionReport) -> dict[str, Any]:
        """``teacher.reflect`` for each ``(category, bank category, shown failures, existing skills, mistakes)``, at most
        ``max_concurrent_categories`` at a time, until ``deadline`` (:func:`time.monotonic`).

        Returns ``{category: answer}`` for the calls that finished in time; the others are listed in
        ``report.timed_out`` and ``report.errors``. An exception raised inside ``reflect`` propagates (the step
        then fails as a whole, bank unchanged).
        """
        if not asks:
            return {}
        cfg = self.config
        budget = cfg.max_teacher_tokens
        redact = cfg.redaction()
        workers = min(len(asks), cfg.max_concurrent_categories)
        pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="skillrl-evolve")
        queue = list(asks)  # submitted as workers free up, so a spent token budget stops further asks
        futures: dict[str, Future[Any]] = {}
        done: set[Future[Any]] = set()
        unasked: list[str] = []  # never asked: the token budget was spent first

        def submit_next() -> Future[Any]:
            cat, bank_cat, shown, existing, mistakes = queue.pop(0)
            futures[cat] = pool.submit(ask_teacher, self.teacher, "reflect", shown, bank_cat, existing, mistakes,
                                       deadline=deadline, redact=redact)
            return futures[cat]

        try:
            pending = {submit_next() for _ in range(workers)}
            while pending:
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                finished, pending = wait(pending, timeout=left, return_when=FIRST_COMPLETED)
                done |= finished
                if budget is not None and queue and _tokens_of(done) > budget:
                    unasked += [a[0] for a in queue]
                    queue.clear()
                while queue and len(pending) < workers:
                    pending.add(submit_next())
        finally:
            pool.shutdown(wait=False, cancel_futures=True)  # never wait for an abandoned call
        answers: dict[str, Any] = {}
        for cat, *_ in asks:  # in ask order: lowest success rate first
            fut = futures.get(cat)
            if fut is not None and fut in done:
                answers[cat] = fut.result()
                continue
            if cat in unasked:
                report.over_budget.append(cat)
                report.errors.append(f"{cat}: never asked: the step's teacher calls had spent "
                                     f"{_tokens_of(done)} tokens > max_teacher_tokens={budget}")
                continue
            report.timed_out.append(cat)
            state = "never asked (queued behind other categories)" if fut is None else "no answer, abandoned"
            report.errors.append(f"{cat}: teacher ran out of time: {state} when the step's budget of "
                                 f"max_seconds={cfg.max_seconds:g} s ran out")
        return answers

    # ------------------------------------------------------------------ committing a snapshot
    def commit(self, bank: SkillBank, snapshot: SkillBank, report: EvolutionReport) -> EvolutionReport:
        """Apply the step :meth:`evolve` made on ``snapshot`` (a :meth:`SkillBank.copy` of ``bank``) to ``bank``.

        Hold the lock ``bank``'s readers and writers share. When ``bank`` is still at ``report.version_before``
        (the snapshot's version), the snapshot's new version is replayed onto it edit for edit, as ONE new version
        with the same reason and metadata; the result is checked to equal the snapshot (else undone). When ``bank``
        moved meanwhile, nothing is applied: the report becomes a conflict (:meth:`conflict`). Never raises.

        Returns:
            ``report``, updated (``version_after`` = ``bank.version`` after a commit).
        """
        if not report.changed:
            return report
        if bank.version != report.version_before:
            return self.conflict(report, snapshot, f"the bank moved from v{report.version_before} to v{bank.version} "
                                                   "while the teacher was asked")
        changes = [c for c in snapshot.history if c.version > report.version_before]
        try:
            if len(changes) != 1 or snapshot.version != report.version_before + 1:
                raise RuntimeError(f"expected one new version in the snapshot, found {len(changes)}")
            (change,) = changes
            with bank.transaction(change.reason, op=change.op, **change.meta):
                for edit in change.edits:
                    bank._apply(edit.model_copy(deep=True))  # noqa: SLF001 - exact replay, as at_version does
                diff = bank.diff(snapshot)
                if not diff.empty:
                    raise RuntimeError(f"the replayed version differs from the snapshot: {diff}")
        except Exception as err:  # noqa: BLE001 - the training loop must never die here
            logger.exception("skillrl evolution could not be committed; the bank is unchanged")
            report.error = f"commit failed: {type(err).__name__}: {err}"
            _clear_changes(report)
            report.version_after = report.version_before
            return report
        report.version_after = bank.version
        return report

    def conflict(self, report: EvolutionReport, snapshot: SkillBank, why: str) -> EvolutionReport:
        """Mark ``report`` as a conflict (``why``: what happened to the bank): its changes are not applied, the
        proposals it had filed move to ``rejected`` (reason ``"not applied: <why>"``), ``version_after`` goes back
        to ``version_before``."""
        if not report.changed:
            return report
        reason = f"not applied: {why}"
        for sid in report.added + report.refined:
            title = snapshot.get(sid).title if sid in snapshot else sid
            report.rejected.append(Rejected(category=_category_of(snapshot, sid), title=title[:80], reason=reason))
        for mid in report.mistakes_added:
            report.rejected.append(Rejected(category=None, title=snapshot.get_mistake(mid).description[:80],
                                            reason=reason))
        for d in report.retired + report.rolled_back:
            report.rejected.append(Rejected(category=d.category, title=f"{d.kind} {d.skill_id}", reason=reason))
        for q in report.quarantined:  # not kept in the bank's quarantine either
            report.rejected.append(Rejected(category=q.category, title=q.title, reason=f"{reason} ({q.reason})"))
        n = len(report.added) + len(report.refined) + len(report.mistakes_added) + len(report.evicted) + \
            len(report.retired) + len(report.rolled_back)
        report.conflict = f"{why}; this step's {n} changes were not applied (bank unchanged by this step)"
        report.error = f"conflict: {report.conflict}"
        _clear_changes(report)
        report.version_after = report.version_before
        logger.warning("skillrl evolution at step %s: %s", report.step, report.conflict)
        return report

    # ------------------------------------------------------------------ applying proposals
    def filer(self, utility: dict[str, float] | None = None, bank: SkillBank | None = None) -> Filer:
        """The :class:`skillrl.filing.Filer` evolution files through: full tiers evict (the lowest ``utility`` first
        when given, :func:`skillrl.filing.eviction_candidate`), refinements as configured; proposals that duplicate a
        skill ``bank`` retired by evidence are rejected."""
        cfg = self.config
        policy = FilingPolicy(max_general=cfg.max_general_skills, max_per_category=cfg.max_skills_per_category,
                              when_full="evict", allow_refine=cfg.allow_refine, max_skill_tokens=cfg.max_skill_tokens)
        filer = Filer(policy, dedup=self.dedup, accept=self.accept, screen=self.screen, utility=utility)
        if bank is not None:
            filer.retired = retired_records(bank)
        return filer

    def _apply(self, bank: SkillBank, proposals: dict[str, list[Any]], step: int, report: EvolutionReport,
               utility: dict[str, float] | None = None) -> None:
        cfg = self.config
        filer = self.filer(utility, bank)
        budget = cfg.max_new_skills
        queues = {c: list(v) for c, v in proposals.items()}
        while budget > 0 and any(queues.values()):
            for cat in list(queues):  # round-robin, lowest success rate first
                if budget <= 0 or not queues[cat]:
                    continue
                kind, prop, episode_ids = queues[cat].pop(0)
                bank_cat = None if cat == "unknown" else cat
                prov = Provenance(source="evolve", episode_ids=episode_ids, teacher=report.teacher, step=step,
                                  note=getattr(prop, "rationale", "") or "")
                ctx = {"step": step, "teacher": report.teacher}
                filed = (filer.mistake(bank, prop, category=bank_cat, provenance=prov, context=ctx) if kind == "mistake"
                         else filer.skill(bank, prop, category=bank_cat, provenance=prov, context=ctx))
                report.note(filed, cat)
                budget -= int(filed.ok)
        for cat, rest in queues.items():
            for _kind, prop, _ in rest:
                report.rejected.append(Rejected(category=cat, title=_title(prop),
                                                reason=f"over max_new_skills={cfg.max_new_skills}"))


def _tokens_of(futures: set[Future[Any]]) -> int:
    """Prompt + completion tokens of the finished teacher calls (a call that raised counts 0)."""
    total = 0
    for fut in futures:
        if fut.done() and not fut.cancelled() and fut.exception() is None:
            usage = getattr(fut.result(), "usage", None)
            if usage is not None:
                total += int(usage.prompt_tokens + usage.completion_tokens)
    return total


def _clear_changes(report: EvolutionReport) -> None:
    report.added, report.refined, report.evicted, report.mistakes_added = [], [], [], []
    report.quarantined, report.retired, report.rolled_back = [], [], []


def _category_of(bank: SkillBank, skill_id: str) -> str | None:
    return bank.get(skill_id).category if skill_id in bank else None


def _title(prop: Any) -> str:
    return str(getattr(prop, "title", "") or getattr(prop, "description", ""))[:80]


def category_counts(episodes: Sequence[Episode]) -> Counter[str]:
    """Episodes per category (``"unknown"`` for none)."""
    return Counter(e.category or "unknown" for e in episodes)
