"""Mechanical quality of the skills a teacher writes, side by side with the official SkillRL ALFWorld bank.

What is scored is what the policy reads: a skill's ``title``, ``principle`` and ``when_to_apply``; a mistake's
``description``, ``why_it_happens`` and ``how_to_avoid``. Provenance (episode ids, the teacher's rationale, counts)
is not read by the policy and is not scored. Every check is a regular expression or word overlap, so the scores
are cheap and reproducible; they measure form, not whether the advice is right.

Banks scored:

* **official** - ``../shared/data/skillrl-official/memory_data/alfworld/claude_style_skills.json`` (written by an LLM
  teacher for the SkillRL paper: the reference form);
* **offline distilled** - ``skillrl distill`` with the offline teacher on the 3,554 ALFWorld expert demos
  (``../shared/data/alfworld/expert_demos_train.jsonl``) plus the 223 official memories
  (``generated_memories_alfworld_total.json``: 113 successes with steps, 110 failures with recorded
  ``mistakes_to_avoid`` and no steps); exact dedup (``--exact-dedup``) so no embedding model is needed;
* **offline evolved** - one evolution step (offline teacher) on the distilled bank from degenerate failures as the
  tiny-model smoke run produces them: real ALFWorld tasks and initial observations (from the demos) with no moves,
  or with only rejected raw tool calls (``step({'action': 'go to dresser 1'})`` answered "Nothing happens."); and
  from real failures (expert demos cut before their transform or put step). Only the records the step added are
  scored.

Checks (share of records unless said otherwise):

* ``words``: mean / max words of the text the policy reads;
* ``statistics``: percentages, ``k/n`` fractions, "seen in / recorded in N", "N episodes/times/moves...",
  "median", "on average", "percentile";
* ``quotes``: episode quotes - ALFWorld instance ids (``drawer 1``, ``mug 2``), "task '...'", a quoted observation
  sentence (``'The drawer 1 is closed.'``);
* ``tool_call``: tool-call syntax (``step(``, ``{'action': ...}``, ``"action":``);
* ``placeholders``: mean bracket placeholders (``[Object]``) per record; ``broken_placeholders``: records with an
  unfilled or empty slot (``{x}``, ``None``, ``nan``, ``n/a``, ``()``, "0 moves over only 0");
* ``grammar``: records with a templating slip: "a" before a vowel word ("a apple"), "an" before a consonant word,
  "1 receptacles"/"2 receptacle", a doubled word, ``..``, a lower-case start;
* ``dup_when``: records whose ``when_to_apply`` repeats another record's of the same category;
* ``dup_across``: task-specific skills whose principle shares >= 50% of its content words with a skill of another
  category or the general tier (the same advice filed twice);
* ``remedy_repeats_failure``: mistakes whose remedy repeats the failure (>= 60% of the remedy's content words are in
  the description, or it holds a failure marker: "without addressing", "repeatedly", "again and again"), or is
  not an instruction (starts with "Any"/"Ever"/a noun phrase);
* per-category counts (min-max) and the number of general skills and mistakes.

Run: ``python benchmarks/bench_skill_quality.py [--label after]`` (about 30 s on 2 cores). Writes
``benchmarks/results/bench_skill_quality.json`` (``--label before`` on a checkout of the code before issue 13 writes
``bench_skill_quality_before.json``; the table then shows both when both files exist) and five skills verbatim per
bank.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import statistics
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

DATA = Path(os.environ.get("SKILLRL_SHARED_DATA") or REPO.parent / "shared" / "data")
OFFICIAL = DATA / "skillrl-official" / "memory_data" / "alfworld" / "claude_style_skills.json"
MEMORIES = DATA / "skillrl-official" / "memory_data" / "alfworld" / "generated_memories_alfworld_total.json"
DEMOS = DATA / "alfworld" / "expert_demos_train.jsonl"
RESULTS = Path(__file__).resolve().parent / "results"

# ---------------------------------------------------------------------------------------------- the checks

STAT_RE = re.compile(r"\d+(?:\.\d+)?\s*%|\b\d+\s*/\s*\d+\b|\b(?:seen|recorded) in \d+|\b\d+ (?:failed |expert |successful )?"
                     r"(?:episodes?|times|moves|variants|actions|receptacles|pick-ups|searches|commands|goals)\b"
                     r"|\bmedian\b|\bon average\b|\bpercentile\b", re.IGNORECASE)
QUOTE_RE = re.compile(r"\b[a-z]+ \d+\b(?!\))|\btask '|'[A-Z][^']{8,}\.'")
TOOL_RE = re.compile(r"\b\w+\(\s*\{|\{\s*['\"]action['\"]\s*:|\"action\"\s*:")
PLACEHOLDER_RE = re.compile(r"\[[A-Z][A-Za-z_]*\]")
BROKEN_RE = re.compile(r"\{[A-Za-z_0-9]*\}|\bNone\b|\bnan\b|\bn/a\b|\(\s*\)|\b0 moves\b|\bover only 0\b")
VOWEL_SOUND_EXCEPTIONS = ("one", "uni", "use", "eu", "u.")
WORD_RE = re.compile(r"[a-z]+")
STOP = frozenset("the a an and or of to in on for with without into from by at is are be it its this that than then "
                 "when while which who as not no any all so such was were has have had instead rather you your do "
                 "does before after first".split())
NOUNS = "receptacle|move|episode|time|step|action|object|search|variant|command|location|container"
FAIL_MARKERS = re.compile(r"without addressing|\brepeatedly\b|again and again", re.IGNORECASE)
NOT_INSTRUCTION = re.compile(r"^(?:any|ever|some|the|a|an)\b", re.IGNORECASE)


def content(text: str) -> set[str]:
    return {w for w in WORD_RE.findall(text.lower()) if len(w) > 2 and w not in STOP}


def grammar_slips(text: str) -> list[str]:
    out = []
    for m in re.finditer(r"\b(an?) (\[?[A-Za-z]+)", text):
        art, word = m.group(1).lower(), m.group(2).lstrip("[").lower()
        if word.startswith(VOWEL_SOUND_EXCEPTIONS) or word in ("hour", "honest"):
            continue
        vowel = word[0] in "aeiou"
        if art == "a" and vowel:
            out.append(m.group(0))
        elif art == "an" and not vowel:
            out.append(m.group(0))
    for m in re.finditer(rf"\b1 (?:{NOUNS})s\b|\b(?:0|[2-9]|\d\d+) (?:{NOUNS})\b(?!s)", text):
        out.append(m.group(0))
    for m in re.finditer(r"\b(\w+) \1\b", text):
        out.append(m.group(0))
    if ".." in text.replace("...", ""):
        out.append("..")
    stripped = text.lstrip("`'\"([")
    if stripped and stripped[0].islower():
        out.append("lower-case start")
    return out


def skill_text(s: dict[str, Any]) -> str:
    return " | ".join(x for x in (s.get("title", ""), s.get("principle", ""), s.get("when_to_apply", "")) if x)


def mistake_text(m: dict[str, Any]) -> str:
    return " | ".join(x for x in (m.get("description", ""), m.get("why_it_happens", ""), m.get("how_to_avoid", "")) if x)


def remedy_repeats_failure(m: dict[str, Any]) -> bool:
    how, desc = m.get("how_to_avoid", ""), m.get("description", "")
    r, d = content(how), content(desc)
    if FAIL_MARKERS.search(how) or NOT_INSTRUCTION.match(how.strip()):
        return True
    return bool(r) and len(r & d) / len(r) >= 0.6


def score(skills: list[dict[str, Any]], mistakes: list[dict[str, Any]]) -> dict[str, Any]:
    """The checks of the module docstring over ``skills`` (dicts with ``tier``, ``category``, ...) and ``mistakes``."""
    records = [("skill", s, skill_text(s)) for s in skills] + [("mistake", m, mistake_text(m)) for m in mistakes]
    n = len(records)
    share = lambda k: round(k / n, 3) if n else 0.0  # noqa: E731
    words = [sum(w != "|" for w in t.split()) for _, _, t in records]
    by_cat: dict[Any, list[dict[str, Any]]] = {}
    for s in skills:
        by_cat.setdefault(s.get("category"), []).append(s)
    dup_when = 0
    for group in by_cat.values():
        whens = Counter(" ".join(s.get("when_to_apply", "").lower().split()) for s in group if s.get("when_to_apply"))
        dup_when += sum(c for c in whens.values() if c > 1)
    dup_across = 0
    for s in skills:
        if s.get("tier") != "task_specific":
            continue
        a = content(s.get("principle", ""))
        for o in skills:
            if o is s or o.get("category") == s.get("category"):
                continue
            b = content(o.get("principle", ""))
            if a and b and len(a & b) / min(len(a), len(b)) >= 0.5:
                dup_across += 1
                break
    grammar = [(t[:60], g) for _, _, t in records for g in grammar_slips(t)]
    cats = {c: len(v) for c, v in by_cat.items() if c is not None}
    return {
        "records": n, "general": sum(s.get("tier") == "general" for s in skills),
        "task_specific": sum(s.get("tier") == "task_specific" for s in skills), "mistakes": len(mistakes),
        "per_category": cats, "per_category_min": min(cats.values()) if cats else 0,
        "per_category_max": max(cats.values()) if cats else 0,
        "words_mean": round(statistics.mean(words), 1) if words else 0.0, "words_max": max(words) if words else 0,
        "statistics": share(sum(bool(STAT_RE.search(t)) for _, _, t in records)),
        "quotes": share(sum(bool(QUOTE_RE.search(t)) for _, _, t in records)),
        "tool_call": share(sum(bool(TOOL_RE.search(t)) for _, _, t in records)),
        "placeholders": round(sum(len(PLACEHOLDER_RE.findall(t)) for _, _, t in records) / n, 2) if n else 0.0,
        "broken_placeholders": sum(bool(BROKEN_RE.search(t)) for _, _, t in records),
        "grammar": len({t for t, _ in grammar}), "grammar_examples": sorted({g for _, g in grammar})[:8],
        "dup_when": dup_when, "dup_across": dup_across,
        "remedy_repeats_failure": sum(remedy_repeats_failure(m) for m in mistakes),
    }


# ---------------------------------------------------------------------------------------------- the banks


def bank_records(bank: Any, only: set[str] | None = None) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    skills = [{"id": s.skill_id, "tier": s.tier, "category": s.category, "title": s.title, "principle": s.principle,
               "when_to_apply": s.when_to_apply} for s in bank.skills() if only is None or s.skill_id in only]
    mistakes = [{"id": m.mistake_id, "description": m.description, "why_it_happens": m.why_it_happens,
                 "how_to_avoid": m.how_to_avoid} for m in bank.mistakes if only is None or m.mistake_id in only]
    return skills, mistakes


def degenerate_failures(demos: list[Any]) -> list[Any]:
    """Smoke-run-like failures: real tasks and first observations, no moves or only rejected raw tool calls; plus
    real failures (demos cut before their transform or put)."""
    from skillrl.episode import Step

    out = []
    by_cat: dict[str, list[Any]] = {}
    for e in demos:
        by_cat.setdefault(e.category, []).append(e)
    for cat, eps in sorted(by_cat.items()):
        for i, e in enumerate(eps[:4]):
            steps = [] if i % 2 == 0 else [Step(action="step({'action': 'go to dresser 1'})",
                                                observation="Nothing happens.")] * 3
            out.append(e.model_copy(update={"episode_id": f"smoke-{cat}-{i}", "steps": steps, "success": False,
                                            "reward": 0.0}))
        for i, e in enumerate(eps[50:53]):
            k = next(j for j, a in enumerate(e.actions) if a.split()[0] in ("heat", "cool", "clean", "put", "use"))
            out.append(e.model_copy(update={"episode_id": f"cut-{cat}-{i}", "steps": e.steps[:k], "success": False,
                                            "reward": 0.0}))
    return out


def run(label: str) -> dict[str, Any]:
    from skillrl.bank import SkillBank
    from skillrl.distill import DistillConfig, SkillDistiller
    from skillrl.episode import load_episodes
    from skillrl.evolve import EvolutionConfig, Evolver

    t0 = time.perf_counter()
    demos = load_episodes(DEMOS, progress=False)
    memories = load_episodes(MEMORIES, progress=False)
    bank, report = SkillDistiller("offline", DistillConfig(embedding_dedup=False), progress=False).distill(
        demos + memories)
    t_distill = time.perf_counter() - t0
    official = SkillBank.load(OFFICIAL)

    from skillrl.dedup import Deduplicator

    from skillrl.teachers import OfflineTeacher

    evolver = Evolver(OfflineTeacher(), EvolutionConfig(max_new_skills=12))
    evolver.dedup = Deduplicator(None, threshold=evolver.config.dedup_threshold, lazy_default=False)
    fails = degenerate_failures(demos)
    evolved = bank.copy()
    ev = evolver.evolve(evolved, fails, step=1)
    new_ids = set(ev.added) | set(ev.refined) | set(ev.mistakes_added)

    banks = {"official": bank_records(official), "offline distilled": bank_records(bank),
             "offline evolved (new records)": bank_records(evolved, new_ids)}
    scores = {name: score(*recs) for name, recs in banks.items()}
    samples: dict[str, list[dict[str, Any]]] = {}
    for name, (skills, mistakes) in banks.items():
        pick = _five(skills)
        samples[name] = [{k: s[k] for k in ("id", "category", "title", "principle", "when_to_apply")} for s in pick]
        samples[name + " mistakes"] = [{k: m[k] for k in ("id", "description", "how_to_avoid")} for m in mistakes[:3]]
    return {"label": label, "scores": scores, "samples": samples,
            "distill": {"rejected": dict(Counter(r.reason.split(" (")[0] for r in report.rejected)),
                        "shape": report.shape, "seconds": round(t_distill, 1)},
            "evolution": {"added": ev.added, "mistakes_added": ev.mistakes_added, "errors": ev.errors,
                          "low_categories": ev.low_categories},
            "machine": {"python": platform.python_version(), "cpu_count": os.cpu_count()},
            "seconds": round(time.perf_counter() - t0, 1)}


def _five(skills: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Five skills to read verbatim: the first general skill, then one per ALFWorld task kind (heat, look, two, pick),
    matched by category name, so before/after show comparable skills."""
    out = [s for s in skills if s["tier"] == "general"][:1]
    for key in ("heat", "look", "two", "pick_and_place", "clean"):
        hit = next((s for s in skills if s["tier"] == "task_specific" and key in str(s["category"])
                    and s not in out), None)
        if hit is not None and len(out) < 5:
            out.append(hit)
    return out[:5]


COLUMNS = [("records", "records"), ("general", "general"), ("per_category_min", "cat min"),
           ("per_category_max", "cat max"), ("mistakes", "mistakes"), ("words_mean", "words"),
           ("words_max", "max words"), ("statistics", "stats"), ("quotes", "quotes"), ("tool_call", "tool call"),
           ("placeholders", "[ph]/rec"), ("broken_placeholders", "broken ph"), ("grammar", "grammar"),
           ("dup_when", "dup when"), ("dup_across", "dup across"), ("remedy_repeats_failure", "bad remedy")]


def table(results: list[dict[str, Any]]) -> str:
    rows = []
    for res in results:
        for name, sc in res["scores"].items():
            if res["label"] != results[-1]["label"] and name == "official":
                continue
            rows.append([f"{name} [{res['label']}]" if name != "official" else name] +
                        [str(sc[k]) for k, _ in COLUMNS])
    head = ["bank"] + [h for _, h in COLUMNS]
    widths = [max(len(r[i]) for r in [head, *rows]) for i in range(len(head))]
    fmt = lambda r: "  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths)))  # noqa: E731
    return "\n".join([fmt(head), "  ".join("-" * w for w in widths), *map(fmt, rows)])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    ap.add_argument("--label", default="after", help="'before' (a checkout before issue 13) or 'after' (default)")
    args = ap.parse_args()
    for path in (OFFICIAL, MEMORIES, DEMOS):
        if not path.is_file():
            sys.exit(f"missing {path}: set SKILLRL_SHARED_DATA")
    res = run(args.label)
    RESULTS.mkdir(parents=True, exist_ok=True)
    name = "bench_skill_quality.json" if args.label == "after" else f"bench_skill_quality_{args.label}.json"
    (RESULTS / name).write_text(json.dumps(res, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    shown = [res]
    before = RESULTS / "bench_skill_quality_before.json"
    if args.label == "after" and before.is_file():
        shown = [json.loads(before.read_text(encoding="utf-8")), res]
    print(table(shown))
    print("\nstats/quotes/tool call: share of records; [ph]/rec: bracket placeholders per record; other columns: counts")
    for bank_name, items in res["samples"].items():
        print(f"\n{bank_name} [{res['label']}]:")
        for s in items:
            if "principle" in s:
                print(f"  - ({s['category'] or 'general'}) {s['title']}: {s['principle']}  [when: {s['when_to_apply']}]")
            else:
                print(f"  - Don't: {s['description']}  Instead: {s['how_to_avoid']}")
    print(f"\nwrote {RESULTS / name} ({res['seconds']} s)")


if __name__ == "__main__":
    main()
