"""Build ``pairs.jsonl``, the labelled duplicates set of the meaning-aware dedup benchmark (see README.md here).

Inputs (nothing is downloaded):

* the three official SkillRL banks and the hand labels of their real pairs (``../dedup_labels.json``, read by
  ``benchmarks/bench_dedup.py``'s ``load_labels``);
* the first offline teacher's real pairs (``offline_v1_pairs.jsonl``: frozen rows of the earlier build, labelled
  by the ``offline`` rules of ``../dedup_labels.json``; that teacher's templates are gone, so they cannot be
  regenerated);
* the current offline teacher's real pairs (``teacher_pairs.jsonl``, collected by ``teacher_pairs.py`` from its
  distillation of the demos plus the official memories and its lessons on real failures) with the hand labels of
  ``teacher_labels.json``;
* hand-written paraphrases (``paraphrases_*.jsonl``: a moderate and a heavy rewrite of every official skill);
* hand-written near-misses (``near_misses_*.jsonl``: an edit ``from -> to`` on a real principle that flips the
  advice; ``from`` must occur exactly once);
* templated light paraphrases (``bench_dedup.paraphrases``: title words, clause order, synonyms);
* templated, instantiated skills in the language of real data: ALFWorld goals of the 3,554 expert demos
  (objects and receptacles) and WebShop human instructions (materials and the product they qualify).

Run: ``PYTHONPATH=$PWD python benchmarks/data/dedup/build.py`` (under a minute: it embeds the cross-domain pairs
once to pick the hardest ones). Deterministic.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import os
import re
import sys
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[2]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "benchmarks"))

import bench_dedup as B

from skillrl.bank import SkillBank
from skillrl.skill import Skill

OUT = HERE / "pairs.jsonl"
HUMAN_GOALS = "agentgym/agentenv-webshop/webshop/baseline_models/data/human_goals.json"
SALT = "skillrl-dedup-split-v1"
CROSS_HARD, CROSS_RANDOM = 300, 300
#: Cross-domain pairs read and judged to give the same generic advice (kept out of the metrics: skillrl never
#: compares two domains' banks, and calling them distinct would be wrong). Filled from the hardest pairs.
CROSS_SAME_ADVICE_FILE = HERE / "cross_domain_same_advice.json"
OFFLINE_V1 = HERE / "offline_v1_pairs.jsonl"
TEACHER_PAIRS = HERE / "teacher_pairs.jsonl"
TEACHER_LABELS = HERE / "teacher_labels.json"


def assign_parts(rows: list[dict[str, Any]]) -> None:
    """Stable split stratified by kind: within each (kind, subkind), the groups (the source skill of a derived
    pair, the instance of a templated one, the pair itself for real pairs) are ranked by sha256 and alternate
    tune / report, so every pair derived from one skill lands in the same part of its kind."""
    groups: dict[str, set[str]] = defaultdict(set)
    for r in rows:
        groups[f"{r['kind']}/{r['subkind']}"].add(r["group"])
    part = {}
    for k, gs in groups.items():
        for i, g in enumerate(sorted(gs, key=lambda g: hashlib.sha256(f"{SALT}/{k}/{g}".encode()).hexdigest())):
            part[(k, g)] = "tune" if i % 2 == 0 else "report"
    for r in rows:
        r["part"] = part[(f"{r['kind']}/{r['subkind']}", r["group"])]


def rec(s: Skill) -> dict[str, str]:
    return {"title": s.title, "principle": s.principle}


def load_jsonl(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


# ------------------------------------------------------------------------------------------------
# instantiated skills in the language of real data
# ------------------------------------------------------------------------------------------------

#: Per ALFWorld task kind: base wordings and reworded wordings of one piece of advice about ``{o}`` (object)
#: and ``{r}`` (receptacle). A positive pairs a base with a rewording (same o, r); a near-miss pairs a base with
#: a base or rewording whose object or receptacle is another real one of the same task type.
ALF_TEMPLATES: dict[str, tuple[list[tuple[str, str]], list[tuple[str, str]]]] = {
    "heat": ([("Heat The {O}", "Take the {o}, heat it in the microwave, then put it in the {r}."),
              ("Warm {O} Before Placing", "Carry the {o} to the microwave and heat it before you place it in the {r}.")],
             [("Microwave The {O} First", "Pick up the {o}, run it through the microwave to warm it, and only then set it in the {r}."),
              ("Hot {O} Goes To {R}", "Once the {o} is in hand, warm it up with the microwave; afterwards drop it off in the {r}.")]),
    "cool": ([("Cool The {O}", "Take the {o}, cool it in the fridge, then put it in the {r}."),
              ("Chill {O} Before Placing", "Bring the {o} to the fridge and cool it before you place it in the {r}.")],
             [("Fridge The {O} First", "Grab the {o}, chill it using the fridge, and only after that set it in the {r}."),
              ("Cold {O} Goes To {R}", "With the {o} in hand, make it cold in the fridge; then deliver it to the {r}.")]),
    "clean": ([("Clean The {O}", "Take the {o}, clean it at the sinkbasin, then put it in the {r}."),
               ("Wash {O} Before Placing", "Bring the {o} to the sinkbasin and wash it before you place it in the {r}.")],
              [("Rinse The {O} First", "Pick up the {o}, rinse it clean at the sinkbasin, and only then set it in the {r}."),
               ("Clean {O} Goes To {R}", "Holding the {o}, wash it under the sinkbasin tap; afterwards leave it in the {r}.")]),
    "pick": ([("Deliver The {O}", "Find the {o}, take it, and put it in the {r}."),
              ("Move {O} To {R}", "Pick up the {o} and place it in the {r} directly.")],
             [("Bring The {O} Over", "Locate the {o}, grab it and set it down in the {r}."),
              ("{O} Belongs In {R}", "Get hold of the {o} and drop it off in the {r}.")]),
    "two": ([("Two {O}s To {R}", "Find two {o}s and put both of them in the {r}, one after the other."),
             ("Deliver A Pair Of {O}s", "Take the first {o} to the {r}, then find the second {o} and put it in the {r} too.")],
            [("Both {O}s In {R}", "Collect a pair of {o}s and place the two of them in the {r}, one at a time."),
             ("Second {O} Too", "Place one {o} in the {r}, then look for another {o} and place it in the {r} as well.")]),
    "look": ([("Examine {O} Under Lamp", "Take the {o} to the {r} and switch the {r} on to look at the {o}."),
              ("Light Up The {O}", "Hold the {o} next to the {r} and turn on the {r} to examine it.")],
             [("Inspect {O} By {R}", "Bring the {o} over to the {r}, then use the {r} so you can examine the {o}."),
              ("{R} On, {O} In Hand", "With the {o} picked up, go to the {r} and switch it on to inspect the {o}.")]),
}

_DEMO_GOAL = re.compile(r"Your task is to: (.+?)\.?\s*$", re.MULTILINE)


def alfworld_goals(demos_path: Path) -> dict[str, list[tuple[str, str]]]:
    """Per task kind, the distinct (object, receptacle-or-lamp) pairs of the real expert demos' goals."""
    from skillrl.teachers import parse_alfworld_task

    out: dict[str, set[tuple[str, str]]] = defaultdict(set)
    with open(demos_path) as f:
        for line in f:
            d = json.loads(line)
            m = _DEMO_GOAL.search(d["conversations"][0]["value"])
            g = parse_alfworld_task(m.group(1)) if m else None
            if g is None:
                continue
            second = g.lamp if g.kind == "look" else g.target
            if second:
                out[g.kind].add((g.obj, second))
    return {k: sorted(v) for k, v in out.items()}


def _fill(t: tuple[str, str], o: str, r: str) -> dict[str, str]:
    def f(s: str) -> str:
        return s.format(o=o, r=r, O=o.title(), R=r.title())

    return {"title": f(t[0]), "principle": f(t[1])}


def _h(*parts: str) -> int:
    return int(hashlib.sha256("/".join(parts).encode()).hexdigest(), 16)


def alfworld_instantiated(goals: dict[str, list[tuple[str, str]]], per_kind: int = 36) -> list[dict[str, Any]]:
    rows = []
    for kind, (bases, rewords) in ALF_TEMPLATES.items():
        cands = sorted(goals.get(kind, []), key=lambda x: _h("alf", kind, *x))[:per_kind]
        objs = sorted({o for o, _ in goals.get(kind, [])})
        receps = sorted({r for _, r in goals.get(kind, [])})
        for i, (o, r) in enumerate(cands):
            base = bases[i % len(bases)]
            group = f"alf:{kind}:{o}:{r}"
            rows.append({"kind": "paraphrase", "subkind": "instantiated", "label": "duplicate", "group": group,
                         "a": _fill(base, o, r), "b": _fill(rewords[i % len(rewords)], o, r),
                         "source": f"ALFWorld goal '{kind}' {o} -> {r} (expert demos)"})
            if i % 2 == 0 or len(receps) < 2:   # swap the object
                o2 = sorted((x for x in objs if x != o), key=lambda x: _h("alf-o", kind, o, r, x))[0]
                what, b = f"object {o} -> {o2}", (o2, r)
            else:                               # swap the receptacle (or lamp)
                r2 = sorted((x for x in receps if x != r), key=lambda x: _h("alf-r", kind, o, r, x))[0]
                what, b = f"receptacle {r} -> {r2}", (o, r2)
            tmpl = bases[(i + 1) % len(bases)] if i % 3 == 0 else (rewords[(i + 1) % len(rewords)] if i % 3 == 1
                                                                    else base)
            rows.append({"kind": "near_miss", "subkind": "object", "label": "distinct", "group": group,
                         "a": _fill(base, o, r), "b": _fill(tmpl, *b),
                         "source": f"ALFWorld goal '{kind}' {o} -> {r}, {what}",
                         "reworded": tmpl is not base})
    return rows


MATERIAL_CLASSES = {
    "fabric": ["cotton", "polyester", "leather", "fleece", "spandex", "linen", "velvet", "denim", "satin", "canvas",
               "nylon", "silk", "wool", "suede", "mesh"],
    "metal": ["gold", "silver", "stainless steel", "aluminum", "copper", "brass"],
    "other": ["wood", "walnut", "oak", "bamboo", "glass", "plastic", "silicone", "rubber", "vinyl", "foam",
              "marble", "ceramic", "acrylic"],
}
WS_BASES = [("Confirm The {M} {P}", "For a {m} {p}, open the description and confirm it is made of {m} before "
             "clicking Buy Now."),
            ("{M} Only", "When the user asks for a {m} {p}, search with the word {m} and buy only an item whose title or "
             "specs say {m}."),
            ("Check {M} In Specs", "Before buying the {p}, read the features and make sure the material listed is {m}.")]
WS_REWORDS = [("Verify {M} Material", "Before you press Buy Now on a {m} {p}, read its details and make sure {m} is "
               "stated as the material."),
              ("Insist On {M}", "A request for a {m} {p} means putting {m} in the query and purchasing only a listing "
               "whose title or spec sheet mentions {m}."),
              ("{M} Listed?", "Check the feature list of the {p} for {m} as its material, and buy it only then.")]
_STOP = set(["and", "or", "with", "for", "that", "which", "in", "of", "to", "a", "an", "the",
            "is", "are", "it", "its", "be", "under", "less", "lower", "than", "price", "dollars", "size",
            "color", "pack", "set", "not", "free", "made"])


def webshop_materials(goals: list[str]) -> list[tuple[str, str, str]]:
    """(material, class, product phrase) from real WebShop instructions: the 1-2 words after the material."""
    out = {}
    mats = [(m, c) for c, ms in MATERIAL_CLASSES.items() for m in ms]
    for g in goals:
        words = re.findall(r"[a-z]+", g.lower())
        text = " ".join(words)
        for m, c in sorted(mats, key=lambda x: -len(x[0])):
            mm = re.search(rf"\b{m}\b((?: [a-z]+){{1,2}})", text)
            if not mm:
                continue
            prod = [w for w in mm.group(1).split() if w not in _STOP]
            if prod and len(prod[0]) > 2 and not any(w in {x for ms in MATERIAL_CLASSES.values() for x in ms}
                                                    for w in prod):
                out.setdefault((m, " ".join(prod)), (m, c, " ".join(prod)))
            break
    return sorted(out.values())


def _wfill(t: tuple[str, str], m: str, p: str) -> dict[str, str]:
    def f(s: str) -> str:
        return s.format(m=m, p=p, M=m.title(), P=p.title())

    return {"title": f(t[0]), "principle": f(t[1])}


def webshop_instantiated(goals: list[str], n: int = 200) -> list[dict[str, Any]]:
    rows = []
    cands = sorted(webshop_materials(goals), key=lambda x: _h("ws", x[0], x[2]))[:n]
    for i, (m, c, p) in enumerate(cands):
        base = WS_BASES[i % len(WS_BASES)]
        group = f"ws:{m}:{p}"
        rows.append({"kind": "paraphrase", "subkind": "instantiated", "label": "duplicate", "group": group,
                     "a": _wfill(base, m, p), "b": _wfill(WS_REWORDS[i % len(WS_REWORDS)], m, p),
                     "source": f"WebShop instruction: {m} {p} (human goals)"})
        m2 = sorted((x for x in MATERIAL_CLASSES[c] if x != m), key=lambda x: _h("ws-m", m, p, x))[0]
        tmpl = WS_REWORDS[(i + 1) % len(WS_REWORDS)] if i % 2 else base
        rows.append({"kind": "near_miss", "subkind": "material", "label": "distinct", "group": group,
                     "a": _wfill(base, m, p), "b": _wfill(tmpl, m2, p),
                     "source": f"WebShop instruction: {m} {p}, material {m} -> {m2}", "reworded": tmpl is not base})
    return rows


# ------------------------------------------------------------------------------------------------
# the current offline teacher's real pairs, labelled by hand
# ------------------------------------------------------------------------------------------------


def teacher_kind(rec: dict[str, Any], kinds: list[tuple[str, re.Pattern[str]]]) -> str:
    """The one kind of ``teacher_labels.json`` whose pattern matches the record's title (mistakes: description)."""
    text = rec.get("title") or rec.get("description") or ""
    hits = [k for k, rx in kinds if rx.search(text)]
    if len(hits) != 1:
        raise ValueError(f"{TEACHER_LABELS.name}: {len(hits)} kinds match {text!r}: {hits}")
    return hits[0]


def teacher_rows() -> list[dict[str, Any]]:
    """Rows of the current offline teacher's pairs: the label of the first rule whose two kinds (and, if given,
    the task-specific member's category) match, else the default. Duplicates go to ``real_duplicate/teacher``,
    distinct pairs to ``distinct/teacher_{same_category,general,mistake}`` (so they count in "other distinct"),
    borderline pairs to ``borderline/teacher`` (kept out of the metrics). A pair's group is its kind pair: every
    category's instance of one template pair lands in the same part."""
    doc = json.loads(TEACHER_LABELS.read_text())
    kinds = [(k, re.compile(rx)) for k, rx in doc["kinds"].items()]
    rules = [(frozenset((r["a"], r["b"])), r) for r in doc["rules"]]
    lines = TEACHER_PAIRS.read_text().splitlines()
    used: set[int] = set()
    out = []
    for line in lines[1:]:
        p = json.loads(line)
        ka, kb = sorted((teacher_kind(p["a"], kinds), teacher_kind(p["b"], kinds)))
        cats = {x.get("category") for x in (p["a"], p["b"]) if x.get("tier") == "task_specific"}
        label, note = doc["default_label"], ""
        for i, (k, r) in enumerate(rules):
            if k == frozenset((ka, kb)) and (not r.get("categories") or cats & set(r["categories"])):
                label, note = r["label"], r.get("note", "")
                used.add(i)
                break
        sub = {"same_category": "teacher_same_category", "general_vs_category": "teacher_general",
               "general_vs_general": "teacher_general", "mistake": "teacher_mistake"}[p["subkind"]]
        kind = {"duplicate": "real_duplicate", "distinct": "distinct", "borderline": "borderline"}[label]
        if kind == "real_duplicate":
            sub = "teacher"
        elif kind == "borderline":
            sub = "teacher"
        run = p.get("rejected_in_run")
        row = {"kind": kind, "subkind": sub, "label": label, "group": f"teacher:{ka}~{kb}", "a": p["a"], "b": p["b"],
               "record": p["record"], "teacher_kinds": [ka, kb], "evolved": p["evolved"],
               "source": f"offline teacher ({p['subkind']}, {', '.join(p['sources'])}) {ka} ~ {kb}"
                         + (f" ({note})" if note else "")}
        if run:
            row["rejected_in_run"] = run
        out.append(row)
    unused = [doc["rules"][i] for i in range(len(rules)) if i not in used]
    if unused:
        raise ValueError(f"{TEACHER_LABELS.name}: rules that match no pair (teacher changed?): {unused}")
    return out


# ------------------------------------------------------------------------------------------------
# the set
# ------------------------------------------------------------------------------------------------


def apply_edit(s: Skill, e: dict[str, Any]) -> Skill:
    n = s.principle.count(e["from"])
    if n != 1:
        raise ValueError(f"near-miss of {e['id']} ({e['kind']}): {e['from']!r} occurs {n} times in the principle")
    return s.model_copy(update={"skill_id": f"{s.skill_id}~{e['kind']}", "principle": s.principle.replace(e["from"], e["to"]),
                                "title": e.get("title", s.title)})


def build(data: Path) -> list[dict[str, Any]]:
    banks = {n: SkillBank.load(data / p) for n, p in B.BANKS.items()}
    skill = {f"{n}/{s.skill_id}": s for n, b in banks.items() for s in b.skills()}
    rows: list[dict[str, Any]] = []

    # (a) paraphrases: light (templated), moderate and heavy (by hand)
    for key, s in skill.items():
        for k, p in B.paraphrases(s).items():
            if k == "truncate":  # drops advice: not a paraphrase
                continue
            rows.append({"kind": "paraphrase", "subkind": "light", "label": "duplicate", "group": key,
                         "a": rec(s), "b": rec(p), "source": f"{key} templated '{k}'"})
    para: dict[str, dict[str, Any]] = {}
    for name in banks:
        for d in load_jsonl(HERE / f"paraphrases_{name}.jsonl"):
            if d["id"] not in skill:
                raise ValueError(f"paraphrases_{name}.jsonl: unknown skill {d['id']}")
            para[d["id"]] = d
            for level in ("moderate", "heavy"):
                t, p = d[level]
                rows.append({"kind": "paraphrase", "subkind": level, "label": "duplicate", "group": d["id"],
                             "a": rec(skill[d["id"]]), "b": {"title": t, "principle": p},
                             "source": f"{d['id']} hand-written {level} paraphrase"})
    missing = sorted(set(skill) - set(para))
    if missing:
        raise ValueError(f"skills without hand-written paraphrases: {missing}")

    # (c) near-misses: the edit on the original (verbatim) and against the moderate paraphrase (reworded)
    for name in banks:
        for e in load_jsonl(HERE / f"near_misses_{name}.jsonl"):
            s = skill[e["id"]]
            nm = apply_edit(s, e)
            rows.append({"kind": "near_miss", "subkind": e["kind"], "label": "distinct", "group": e["id"],
                         "a": rec(s), "b": rec(nm), "reworded": False,
                         "source": f"{e['id']} hand-written edit: {e['from']!r} -> {e['to']!r}"})
            t, p = para[e["id"]]["moderate"]
            rows.append({"kind": "near_miss", "subkind": e["kind"], "label": "distinct", "group": e["id"],
                         "a": {"title": t, "principle": p}, "b": rec(nm), "reworded": True,
                         "source": f"{e['id']} moderate paraphrase vs the edit {e['from']!r} -> {e['to']!r}"})

    # templated instantiations in real data's language: (a) positives and (c) object / material near-misses
    rows += alfworld_instantiated(alfworld_goals(data / B.DEMOS))
    rows += webshop_instantiated(json.loads((data / HUMAN_GOALS).read_text()))

    # (a) real duplicates and (b) real distinct pairs (hand labels of dedup_labels.json)
    real = B.load_labels(banks)
    for r in real:
        if r["label"] not in ("duplicate", "distinct"):
            continue
        pid = f"{r['bank']}:{r['a'].skill_id}~{r['b'].skill_id}"
        if r["label"] == "duplicate":
            kind, sub = "real_duplicate", "official" if "/" not in r["bank"] else "offline"
        else:
            kind, sub = "distinct", "same_category" if r["same_category"] else "other_category"
        rows.append({"kind": kind, "subkind": sub, "label": r["label"], "group": pid, "a": rec(r["a"]),
                     "b": rec(r["b"]), "source": f"dedup_labels.json {pid}" + (f" ({r['note']})" if r["note"] else "")})
    # the first offline teacher's pairs (frozen: that teacher's templates are gone) and the current teacher's
    rows += load_jsonl(OFFLINE_V1)
    rows += teacher_rows()

    # (d) cross-domain pairs: the hardest by cosine and a stable random sample
    from skillrl.dedup import dedup_text
    from skillrl.embedders import SentenceTransformerEmbedder

    cross = [(f"{na}/{a.skill_id}", f"{nb}/{b.skill_id}", a, b)
             for (na, ba), (nb, bb) in itertools.combinations(banks.items(), 2)
             for a in ba.skills() for b in bb.skills()]
    emb = SentenceTransformerEmbedder()
    vec = dict(zip(skill, emb.embed([dedup_text(s) for s in skill.values()])))
    cos = [float(vec[x] @ vec[y]) for x, y, _, _ in cross]
    hard = sorted(range(len(cross)), key=lambda i: -cos[i])[:CROSS_HARD]
    rest = sorted((i for i in range(len(cross)) if i not in set(hard)), key=lambda i: _h("cross", *cross[i][:2]))
    same_advice = json.loads(CROSS_SAME_ADVICE_FILE.read_text())["pairs"] if CROSS_SAME_ADVICE_FILE.is_file() else []
    same_advice = {frozenset(p["ids"]): p["note"] for p in same_advice}
    for sel, i in [("hard", i) for i in hard] + [("random", i) for i in rest[:CROSS_RANDOM]]:
        x, y, a, b = cross[i]
        note = same_advice.get(frozenset((x, y)))
        rows.append({"kind": "cross_domain", "subkind": sel, "label": "same_advice_other_domain" if note else "distinct",
                     "group": f"{x}~{y}", "a": rec(a), "b": rec(b),
                     "source": f"{x} vs {y}" + (f" ({note})" if note else "")})

    seen: set[str] = set()
    out = []
    for r in rows:
        pid = f"{r['kind']}/{r['subkind']}/{r['group']}/" + hashlib.sha256(
            json.dumps([r["a"], r["b"]], sort_keys=True).encode()).hexdigest()[:10]
        if pid in seen:
            if r["subkind"] == "light":  # two templated rewrites that happen to give the same text
                continue
            raise ValueError(f"duplicate pair {pid}")
        seen.add(pid)
        r["id"] = pid
        out.append(r)
    assign_parts(out)
    return out


def main() -> int:
    data = B.DATA
    rows = build(data)
    keys = ["id", "kind", "subkind", "label", "part", "group", "reworded", "record", "teacher_kinds", "evolved",
            "rejected_in_run", "a", "b", "source"]
    with open(OUT, "w") as f:
        f.writelines(json.dumps({k: r[k] for k in keys if k in r}, ensure_ascii=False) + "\n" for r in rows)
    c = Counter((r["kind"], r["subkind"], r["part"]) for r in rows)
    for k in sorted({(a, b) for a, b, _ in c}):
        print(f"{k[0]:>15} {k[1]:>16}: tune {c[(*k, 'tune')]:4d}  report {c[(*k, 'report')]:4d}")
    print(f"{len(rows)} pairs -> {OUT.relative_to(REPO)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
