"""Deduplicator: exact/title matching, embedding threshold with the real all-MiniLM-L6-v2, the contrast veto that
keeps opposite advice apart, and the labelled set behind DEFAULT_DEDUP_THRESHOLD (benchmarks/bench_dedup.py,
benchmarks/data/dedup/)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest
from benchdata import load_build

from skillrl.bank import SkillBank
from skillrl.dedup import (
    DEFAULT_DEDUP_THRESHOLD,
    DEFAULT_RULES,
    ContrastRules,
    Deduplicator,
    Duplicate,
    PairView,
    dedup_text,
    find_contrasts,
    normalize,
)
from skillrl.embedders import CachedEmbedder
from skillrl.errors import ConfigError, TeacherError
from skillrl.skill import Mistake, Skill

REPO = Path(__file__).resolve().parents[1]
OFFICIAL = {"alfworld": "skillrl-official/memory_data/alfworld/claude_style_skills.json",
            "webshop": "skillrl-official/memory_data/webshop/claude_style_skills.json",
            "search": "skillrl-official/memory_data/search/claude_style_skills_search.json"}


def skill(sid: str, title: str, principle: str, **kw) -> Skill:
    return Skill(skill_id=sid, title=title, principle=principle, **kw)


@pytest.fixture(scope="module")
def banks(shared_data: Path) -> dict[str, SkillBank]:
    return {n: SkillBank.load(shared_data / p) for n, p in OFFICIAL.items()}


@pytest.fixture()
def dedup(embedder) -> Deduplicator:
    return Deduplicator(CachedEmbedder(embedder))


def test_exact_matches_need_no_embedder():
    d = Deduplicator(None, lazy_default=False)
    pool = [skill("a1", "Open Before Judging Empty", "Open closed containers before deciding the object is absent."),
            skill("a2", "Heat first", "Heat the mug with the microwave.")]
    same_principle = skill("c1", "Another title", "  open CLOSED containers, before deciding the object is absent ")
    assert d.find(same_principle, pool) == Duplicate("a1", "principle", 1.0)
    same_title = skill("c2", "open before judging: empty!", "A different principle entirely.")
    assert d.find(same_title, pool) == Duplicate("a1", "title", 1.0)
    assert d.find(skill("c3", "Cool the egg", "Cool it in the fridge."), pool) is None  # no embedder: exact only
    assert d.find(pool[0], pool) is None  # a skill is not its own duplicate (same id)
    assert d.similarities([pool[0]], pool).shape == (1, 2) and not d.similarities([pool[0]], pool).any()
    assert normalize("Put with 'in/on'!") == "put with in on"


def test_threshold_is_inclusive_and_the_best_match_wins():
    # threshold mechanics only: no lexical support asked for (these one-word texts share no words)
    d = Deduplicator(None, threshold=0.7, lazy_default=False, rules=ContrastRules(support_overlap=0.0))
    pool = [skill("a", "A", "alpha"), skill("b", "B", "beta"), skill("c", "C", "gamma")]
    cand = skill("x", "X", "delta")
    assert d.find(cand, pool, sims=np.array([0.2, 0.7, 0.69], dtype=np.float32)) == Duplicate("b", "embedding",
                                                                                               pytest.approx(0.7))
    assert d.find(cand, pool, sims=np.array([0.71, 0.9, 0.3], dtype=np.float32)).skill_id == "b"
    assert d.find(cand, pool, sims=np.array([0.6999, 0.1, 0.3], dtype=np.float32)) is None
    with pytest.raises(ValueError, match="cosine"):
        Deduplicator(None, threshold=1.5)
    # with the default rules a merge below 0.75 also needs shared words
    assert Deduplicator(None, threshold=0.7, lazy_default=False).find(cand, pool, sims=np.array(
        [0.2, 0.7, 0.69], dtype=np.float32)) is None


def test_real_embedder_catches_a_paraphrase_but_not_a_same_category_neighbour(banks, dedup):
    heat = banks["alfworld"].task_specific["heat"]
    open_then_heat = banks["alfworld"].get("hea_003")
    paraphrase = skill("new_1", "Heat inside the opened microwave",
                       "Once you reach the microwave holding the target, open its door, put the object inside and run "
                       "the heat action before you leave.")
    sims = dedup.similarities([paraphrase], heat)[0]
    found = dedup.find(paraphrase, heat)
    assert found is not None and found.skill_id == "hea_003" and found.kind == "embedding"
    assert found.score == pytest.approx(float(sims.max()), abs=1e-5) and found.score >= DEFAULT_DEDUP_THRESHOLD
    # the other heat skills are distinct advice: none of them is taken for hea_003 (hea_001 and hea_004 share its
    # words at cosines 0.58 / 0.62: the lexical-support check keeps them apart below 0.75)
    probe = open_then_heat.model_copy(update={"skill_id": "probe"})
    others = [s for s in heat if s.skill_id != "hea_003"]
    assert dedup.find(probe, others) is None
    hea_004 = banks["alfworld"].get("hea_004")
    assert "word overlap below" in dedup.compare(probe, hea_004).reason
    assert Deduplicator(dedup.embedder, rules=ContrastRules(support_overlap=0.0)).find(probe, [hea_004]) is not None
    # a teacher asked through the adjudicator hook can still overrule the offline verdict
    v = Deduplicator(dedup.embedder, adjudicator=lambda view: True).compare(probe, hea_004)
    assert v.duplicate and v.adjudicated is True and "adjudicator" in v.reason
    # a real cross-category duplicate of the official WebShop bank (labelled 'duplicate', cosine ~0.90)
    ws = banks["webshop"]
    assert dedup.find(ws.get("app_003").model_copy(update={"skill_id": "probe"}), [ws.get("foo_003")]) is not None


def test_similarities_are_cosines(banks, dedup):
    sk = banks["search"].skills()[:5]
    s = dedup.similarities(sk, sk)
    assert s.shape == (5, 5) and s.dtype == np.float32
    assert np.allclose(np.diag(s), 1.0, atol=1e-5) and np.allclose(s, s.T, atol=1e-5)
    assert dedup_text(sk[0]) == f"{sk[0].title}: {sk[0].principle}"


# ------------------------------------------------------------------ the labelled set and the chosen threshold


@pytest.fixture(scope="module")
def bench():
    sys.path.insert(0, str(REPO / "benchmarks"))
    try:
        import bench_dedup
    finally:
        sys.path.pop(0)
    return bench_dedup


def test_labels_refer_to_real_skills_and_are_consistent(banks, bench):
    rows = bench.load_labels(banks)  # raises on unknown ids, pairs labelled twice, skills in two clusters
    assert len(rows) == sum(len(b) * (len(b) - 1) // 2 for b in banks.values()) == 2812
    labels = {(r["bank"], frozenset((r["a"].skill_id, r["b"].skill_id))): r["label"] for r in rows}
    assert labels[("webshop", frozenset(("app_003", "foo_003")))] == "duplicate"    # same cluster
    assert labels[("webshop", frozenset(("gen_004", "foo_005")))] == "duplicate"    # explicit pair
    assert labels[("alfworld", frozenset(("hea_005", "coo_005")))] == "other_category"
    assert labels[("alfworld", frozenset(("hea_003", "hea_004")))] == "distinct"    # default
    counts = {lab: sum(v == lab for v in labels.values()) for lab in ("duplicate", "distinct", "borderline")}
    assert counts["duplicate"] >= 100 and counts["distinct"] > 2000
    doc = json.loads(bench.LABELS.read_text())
    assert "labelled by" in doc["about"] and set(doc["definitions"]) >= {"duplicate", "distinct"}


def test_paraphrases_change_the_text_and_keep_the_skill(banks, bench):
    s = banks["alfworld"].get("gen_002")
    ps = bench.paraphrases(s)
    assert set(ps) >= {"title", "reorder", "synonyms", "combined"}
    for kind, p in ps.items():
        assert dedup_text(p) != dedup_text(s) and p.category == s.category and p.skill_id != s.skill_id, kind
    assert ps["reorder"].principle.startswith("Take it before moving elsewhere")
    assert bench.truncate("Do A; then B.") is None  # under 5 words
    assert bench.truncate("Search every surface exactly once before revisiting; prioritize unopened places.") == \
        "Search every surface exactly once before revisiting."


def test_default_threshold_and_rules_are_the_measured_ones():
    result = REPO / "benchmarks" / "results" / "bench_dedup.json"
    if not result.is_file():
        pytest.skip("run benchmarks/bench_dedup.py first")
    doc = json.loads(result.read_text())
    chosen = doc["chosen"]
    assert DEFAULT_DEDUP_THRESHOLD == chosen["threshold"]
    assert (DEFAULT_RULES.close_overlap, DEFAULT_RULES.condition_overlap, DEFAULT_RULES.order_overlap,
            DEFAULT_RULES.support_overlap) == (chosen["close_overlap"], chosen["condition_overlap"],
                                               chosen["order_overlap"], chosen["support_overlap"])
    rep = doc["new"]["report"]
    # the figures quoted in the constant's docstring are the measured ones (report part)
    src = (REPO / "skillrl" / "dedup.py").read_text()
    note = src[src.index("DEFAULT_DEDUP_THRESHOLD ="):src.index("CONTRAST_KINDS =")]
    for figure in (f"near-miss false merges {100 * rep['near_miss_false_merge']:.1f}%",
                   f"paraphrase recall {100 * rep['paraphrase_recall']:.1f}%",
                   f"other distinct pairs merged {100 * rep['other_distinct_merged']:.1f}%"):
        assert figure in note, figure


# ------------------------------------------------------------------ meaning: opposite advice is never merged


@pytest.fixture(scope="module")
def real_dedup(embedder) -> Deduplicator:
    return Deduplicator(CachedEmbedder(embedder))


def pair(a: str, b: str, title: str = "Same Title", b_title: str | None = None) -> tuple[Skill, Skill]:
    return skill("a1", title, a), skill("b1", b_title or title, b)


@pytest.mark.parametrize("a, b, kind", [
    ("Open the microwave before heating the mug.", "Do not open the microwave before heating the mug.", "negation"),
    ("Check the price before buying the item.", "Buy the item before checking the price.", "order"),
    ("Verify that the selected variant's price is below the user's budget before buying.",
     "Verify that the selected variant's price is above the user's budget before buying.", "threshold"),
    ("Search every drawer exactly once before revisiting any of them.",
     "Search every drawer at least three times before revisiting any of them.", "number"),
    ("Take the mug, heat it in the microwave, then put it in the cabinet.",
     "Take the cup, heat it in the microwave, then put it in the cabinet.", "object"),
    ("For a cotton shirt, confirm in the description that the fabric is cotton before clicking Buy Now.",
     "For a cotton shirt, confirm in the description that the fabric is polyester before clicking Buy Now.",
     "material"),
    ("If the top results are irrelevant, refine the query with synonyms.",
     "Unless the top results are irrelevant, refine the query with synonyms.", "condition"),
])
def test_near_misses_are_not_merged_however_close(real_dedup, a, b, kind):
    sa, sb = pair(a, b)
    cosine = float(real_dedup.similarities([sa], [sb])[0, 0])
    assert cosine >= DEFAULT_DEDUP_THRESHOLD  # embedding similarity alone would merge them ...
    assert Deduplicator(real_dedup.embedder, contrast=False).compare(sa, sb).duplicate
    v = real_dedup.compare(sa, sb)  # ... the contrast veto does not, and says why
    assert not v.duplicate and v.contrast == kind, v
    assert kind in {c.kind for c in v.contrasts}
    assert real_dedup.find(sa, [sb]) is None and real_dedup.find(sb, [sa]) is None  # same title: vetoed too
    assert find_contrasts(a, b)[0].kind == kind


def test_real_paraphrases_are_merged(real_dedup, banks, bench):
    """Hand-written paraphrases of real skills (benchmarks/data/dedup) are found in the skill's own pool."""
    rows = [json.loads(line) for line in (REPO / "benchmarks" / "data" / "dedup" / "paraphrases_alfworld.jsonl")
            .read_text().splitlines()]
    bank = banks["alfworld"]
    got = {}
    for d in rows:
        sid = d["id"].split("/")[1]
        s = bank.get(sid)
        pool = bank.general if s.tier == "general" else bank.general + bank.task_specific[s.category]
        title, principle = d["moderate"]
        found = real_dedup.find(skill("new", title, principle), pool)
        got[sid] = found.skill_id if found else None
    # the original, or a skill the hand labels call its duplicate (the official bank repeats advice)
    dup = {frozenset((r["a"].skill_id, r["b"].skill_id)) for r in bench.load_labels(banks)
           if r["bank"] == "alfworld" and r["label"] == "duplicate"}
    hits = sum(got[k] == k or frozenset((k, got[k])) in dup for k in got)
    wrong = [k for k in got if got[k] is not None and got[k] != k and frozenset((k, got[k])) not in dup]
    # measured: 35 of 44 found, 3 taken for another skill (the benchmark's moderate-paraphrase recall is 78-88%)
    assert hits >= 0.75 * len(got) and len(wrong) <= 4, got
    # a specific one, with the original's id and an embedding match
    s = bank.get("hea_003")
    para = skill("p", "Open The Microwave Then Heat", "When you get to the microwave holding the target, always "
                 "open its door, put the object in and run the heat action before walking away.")
    found = real_dedup.find(para, bank.task_specific["heat"])
    assert found is not None and found.skill_id == "hea_003" and found.kind == "embedding"
    assert real_dedup.compare(para, s).duplicate and real_dedup.compare(para, s).contrast is None


def test_a_vetoed_near_miss_does_not_hide_a_real_duplicate(real_dedup):
    original = skill("o", "Price Check", "Check the price against the budget before buying the item.")
    flipped = skill("f", "Price Check", "Buy the item before checking the price against the budget.")
    para = skill("p", "Verify Cost First", "Compare the item's price with the budget before you buy it.")
    sims = real_dedup.similarities([original], [flipped, para])[0]
    assert sims[0] > sims[1] >= DEFAULT_DEDUP_THRESHOLD  # the near-miss is the most similar
    assert real_dedup.find(original, [flipped, para]) == Duplicate("p", "embedding", pytest.approx(float(sims[1]),
                                                                                                 abs=1e-5))
    verdicts = real_dedup.explain(original, [flipped, para])
    assert [(v.other_id, v.duplicate, v.contrast) for v in verdicts] == [("f", False, "order"), ("p", True, None)]
    assert "vetoed: order" in verdicts[0].reason


def test_adjudicator_decides_borderline_pairs_only(real_dedup):
    sa, sb = pair("Open the microwave before heating the mug.", "Do not open the microwave before heating the mug.")
    seen: list[PairView] = []

    def teacher(view: PairView) -> bool | None:
        seen.append(view)
        return True

    d = Deduplicator(real_dedup.embedder, adjudicator=teacher)
    v = d.compare(sa, sb)
    assert v.duplicate and v.adjudicated is True and seen[0].contrasts[0].kind == "negation"
    assert seen[0].a_text == sa.principle and seen[0].score >= DEFAULT_DEDUP_THRESHOLD
    far = skill("z", "Other", "Cross-check the release date in two independent sources.")
    assert not d.compare(sa, far).duplicate and len(seen) == 1  # not borderline: not asked
    assert not Deduplicator(real_dedup.embedder, adjudicator=lambda view: None).compare(sa, sb).duplicate

    def broken(view: PairView) -> bool | None:
        raise TeacherError("teacher down")

    v = Deduplicator(real_dedup.embedder, adjudicator=broken).compare(sa, sb)
    assert not v.duplicate and "adjudicator failed" in v.reason
    with pytest.raises(ConfigError, match="True, False or None"):
        Deduplicator(real_dedup.embedder, adjudicator=lambda view: "yes").compare(sa, sb)
    with pytest.raises(ConfigError, match="margin"):
        Deduplicator(None, margin=-0.1)


def test_find_mistake(real_dedup, banks):
    pool = banks["alfworld"].mistakes
    m = pool[1]  # err_002: deciding a closed container is empty without opening it
    same = Mistake(mistake_id="new_1", description="  " + m.description.upper(), how_to_avoid="x")
    assert real_dedup.find_mistake(same, pool) == Duplicate(m.mistake_id, "description", 1.0)
    para = Mistake(mistake_id="new_2",
                   description="Agent concludes a closed container is empty without opening it, so it misses "
                               "target objects inside.",
                   how_to_avoid="Always open and inspect every plausible closed container at least once before "
                                "ruling it out, keeping a checklist of unopened containers in the room.")
    found = real_dedup.find_mistake(para, pool)
    assert found is not None and found.record_id == m.mistake_id and found.kind == "embedding"
    flipped = para.model_copy(update={"mistake_id": "new_3", "how_to_avoid": "Never open a closed container; rule "
                                      "it out at once, keeping a checklist of unopened containers in the room."})
    assert float(real_dedup._cosines([flipped.text], [m.text])[0, 0]) >= DEFAULT_DEDUP_THRESHOLD
    assert real_dedup.find_mistake(flipped, [m]) is None


def test_contrast_rules_can_be_narrowed():
    a, b = "Open the microwave before heating.", "Do not open the microwave before heating."
    assert [c.kind for c in find_contrasts(a, b)] == ["negation"]
    assert find_contrasts(a, b, ContrastRules(enabled=frozenset({"order"}))) == []
    assert find_contrasts(a, a) == []
    # paraphrase pieces the rule must not call a contrast
    assert find_contrasts("Avoid revisiting checked spots.", "Do not go back to spots already checked.") == []
    assert find_contrasts("Take it before moving elsewhere.", "Before moving elsewhere, take it.") == []
    assert find_contrasts("Check the cost before buying.", "Check the price prior to buying.") == []


# ------------------------------------------------------------------ the labelled set (benchmarks/data/dedup)


def test_labelled_set_edits_apply_and_parts_are_stratified(banks, bench):
    build = load_build("dedup")
    skills = {f"{n}/{s.skill_id}": s for n, b in banks.items() for s in b.skills()}
    edits = [e for n in banks for e in build.load_jsonl(build.HERE / f"near_misses_{n}.jsonl")]
    assert len(edits) >= 350 and {e["kind"] for e in edits} >= {"negation", "condition", "number", "order",
                                                                 "object", "material", "threshold"}
    for e in edits:  # raises when a 'from' does not occur exactly once
        nm = build.apply_edit(skills[e["id"]], e)
        assert nm.principle != skills[e["id"]].principle
    paras = {d["id"] for n in banks for d in build.load_jsonl(build.HERE / f"paraphrases_{n}.jsonl")}
    assert paras == set(skills)
    rows = [json.loads(line) for line in (build.OUT).read_text().splitlines()]
    by: dict[str, dict[str, set[str]]] = {}
    for r in rows:
        by.setdefault(f"{r['kind']}/{r['subkind']}", {}).setdefault(r["part"], set()).add(r["group"])
    for k, parts in by.items():
        assert not parts.get("tune", set()) & parts.get("report", set()), k  # a group never in both parts
        assert abs(len(parts.get("tune", ())) - len(parts.get("report", ()))) <= 1, k  # groups alternate
    kinds = {r["kind"] for r in rows}
    assert kinds == {"paraphrase", "real_duplicate", "distinct", "near_miss", "cross_domain", "borderline"}
    assert {r["label"] for r in rows if r["kind"] == "borderline"} == {"borderline"}  # kept out of the metrics
