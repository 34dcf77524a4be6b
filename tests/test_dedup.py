"""Deduplicator: exact/title matching, embedding threshold with the real all-MiniLM-L6-v2, and the labelled set
behind DEFAULT_DEDUP_THRESHOLD (benchmarks/bench_dedup.py)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest

from skillrl.bank import SkillBank
from skillrl.dedup import DEFAULT_DEDUP_THRESHOLD, Deduplicator, Duplicate, dedup_text, normalize
from skillrl.embedders import CachedEmbedder
from skillrl.skill import Skill

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
    d = Deduplicator(None, threshold=0.7, lazy_default=False)
    pool = [skill("a", "A", "alpha"), skill("b", "B", "beta"), skill("c", "C", "gamma")]
    cand = skill("x", "X", "delta")
    assert d.find(cand, pool, sims=np.array([0.2, 0.7, 0.69], dtype=np.float32)) == Duplicate("b", "embedding",
                                                                                               pytest.approx(0.7))
    assert d.find(cand, pool, sims=np.array([0.71, 0.9, 0.3], dtype=np.float32)).skill_id == "b"
    assert d.find(cand, pool, sims=np.array([0.6999, 0.1, 0.3], dtype=np.float32)) is None
    with pytest.raises(ValueError, match="cosine"):
        Deduplicator(None, threshold=1.5)


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
    # the other heat skills are distinct advice: none of them is taken for hea_003
    others = [s for s in heat if s.skill_id != "hea_003"]
    assert dedup.find(open_then_heat.model_copy(update={"skill_id": "probe"}), others) is None
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


def test_default_threshold_is_the_measured_one():
    result = REPO / "benchmarks" / "results" / "bench_dedup.json"
    if not result.is_file():
        pytest.skip("run benchmarks/bench_dedup.py first")
    doc = json.loads(result.read_text())
    chosen = doc["chosen"]
    assert DEFAULT_DEDUP_THRESHOLD == doc["chosen_threshold"]
    assert chosen["real"]["precision"] >= 0.9 and len(doc["false_merges_at_chosen"]) == chosen["false_merges"]
    # the figures quoted in the constant's docstring are the measured ones
    src = (REPO / "skillrl" / "dedup.py").read_text()
    note = src[src.index("DEFAULT_DEDUP_THRESHOLD ="):src.index("_WORDS =")]
    for figure in (f"precision {100 * chosen['real']['precision']:.1f}%", f"recall {100 * chosen['real']['recall']:.1f}%",
                   f"{chosen['false_merges']} false", f"{doc['pairs']['duplicate']} real duplicates",
                   f"{doc['pairs']['distinct']:,} distinct"):
        assert figure in note, figure
