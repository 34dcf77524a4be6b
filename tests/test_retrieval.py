"""Retrieval: the SkillRL rule on real MiniLM embeddings and real FAISS, category restriction, GRPO batch
dedup, incremental bank updates, template mode, the HNSW index and its recall."""

from __future__ import annotations

import sys

import numpy as np
import pytest

from skillrl.testing import CountingEmbedder as Counting

from skillrl import Mistake, Skill
from skillrl.bank import SkillBank
from skillrl.embedders import CachedEmbedder
from skillrl.errors import MissingDependencyError
from skillrl.retrieval import (
    Retrieval,
    RetrievalError,
    ScoredSkill,
    SkillRetriever,
    VectorIndex,
    template_retrieval,
)




def ts(skill_id: str, title: str, principle: str, category: str, when: str = "") -> Skill:
    return Skill(skill_id=skill_id, title=title, principle=principle, when_to_apply=when,
                 tier="task_specific", category=category)


def gen(skill_id: str, title: str, principle: str) -> Skill:
    return Skill(skill_id=skill_id, title=title, principle=principle)


HEAT = [
    ts("hea_001", "Microwave heating", "Put the object in the microwave and heat it before placing it.", "heat"),
    ts("hea_002", "Find the microwave", "Go to the microwave first when the task says hot or heat.", "heat"),
    ts("hea_003", "Open before use", "Open the microwave door before putting the object inside.", "heat"),
    ts("hea_004", "Carry the hot item", "After heating, take the object out and carry it to the target.", "heat"),
    ts("hea_005", "Stove fallback", "If no microwave exists, use the stoveburner to heat the item.", "heat"),
]
COOL = [
    ts("coo_001", "Fridge cooling", "Put the object in the fridge to cool it, then take it out.", "cool"),
    ts("coo_002", "Open the fridge", "Open the fridge before placing anything inside it.", "cool"),
]
GENERAL = [
    gen("gen_001", "Systematic exploration", "Search every surface and container once before revisiting."),
    gen("gen_002", "Check the inventory", "Look at what you carry before taking another object."),
    gen("gen_003", "Read the goal", "Parse the object, the action and the receptacle from the task text."),
]
MISTAKES = [Mistake(mistake_id="err_001", description="Looping between two places.", how_to_avoid="Track visits.")]


def small_bank() -> SkillBank:
    return SkillBank(general=list(GENERAL), task_specific={"heat": list(HEAT), "cool": list(COOL)},
                     mistakes=list(MISTAKES))


_REFERENCE: dict[tuple[str, str], np.ndarray] = {}


def reference_vectors(embedder, texts: list[str]) -> np.ndarray:
    """Embeddings computed by the test itself (memoized per test module to keep the suite fast)."""
    todo = [t for t in dict.fromkeys(texts) if (embedder.name, t) not in _REFERENCE]
    if todo:
        _REFERENCE.update({(embedder.name, t): v for t, v in zip(todo, embedder.embed(todo))})
    return np.stack([_REFERENCE[(embedder.name, t)] for t in texts])


def brute_force(embedder, query: str, skills: list[Skill], k: int, delta: float | None) -> list[tuple[str, float]]:
    """The rule computed independently: cosine sims by numpy, > delta, top k, ties by id."""
    q = reference_vectors(embedder, [query])[0]
    vecs = reference_vectors(embedder, [s.text for s in skills])
    sims = vecs @ q
    rows = [(s.skill_id, float(x)) for s, x in zip(skills, sims) if delta is None or x > delta]
    rows.sort(key=lambda r: (-round(r[1], 6), r[0]))
    return rows[:k]


@pytest.fixture(scope="module")
def cached(embedder):
    """The real embedder behind one cache shared by this module's tests (those that do not count calls)."""
    return CachedEmbedder(embedder)


@pytest.fixture(scope="module")
def official_bank_path(shared_data):
    path = shared_data / "skillrl-official" / "memory_data" / "alfworld" / "claude_style_skills.json"
    if not path.exists():
        pytest.skip(f"official ALFWorld bank not found at {path}")
    return path


# ---------------------------------------------------------------------------------------- the rule


def test_retrieval_matches_the_rule_computed_by_brute_force(embedder, cached):
    bank = small_bank()
    query = "heat some egg and put it in the garbagecan."
    r = SkillRetriever(bank, cached, top_k_general=2, top_k=3, delta=0.1).retrieve(query, "heat")
    assert isinstance(r, Retrieval) and r.category == "heat" and r.bank_version == bank.version
    want_ts = brute_force(embedder, query, HEAT, 3, 0.1)
    want_gen = brute_force(embedder, query, GENERAL, 2, None)
    assert [s.skill_id for s in r.task_specific] == [i for i, _ in want_ts]
    assert [s.skill_id for s in r.general] == [i for i, _ in want_gen]
    np.testing.assert_allclose([s.score for s in r.task_specific], [x for _, x in want_ts], atol=1e-5)
    assert r.skill_ids == [i for i, _ in want_gen] + [i for i, _ in want_ts]
    assert [m.mistake_id for m in r.mistakes] == ["err_001"]


def test_threshold_is_strict_and_k_caps_the_list(embedder, cached):
    bank = small_bank()
    query = "heat some egg and put it in the garbagecan."
    sims = sorted((x for _, x in brute_force(embedder, query, HEAT, 10, None)), reverse=True)
    assert sims[1] - sims[2] > 1e-3  # the real scores are distinct enough for the threshold checks below
    # delta between the 2nd and 3rd best scores: only two pass (the paper's formula, delta inside the category)
    mid = (sims[1] + sims[2]) / 2
    r = SkillRetriever(bank, cached, top_k=6, delta=mid, delta_in_category=True).retrieve(query, "heat")
    assert len(r.task_specific) == 2 and all(s.score > mid for s in r.task_specific)
    r = SkillRetriever(bank, cached, top_k=3, delta=-1.0).retrieve(query, "heat")
    assert len(r.task_specific) == 3  # 5 pass the threshold, K caps at 3
    r = SkillRetriever(bank, cached, top_k=6, delta=0.99, delta_in_category=True).retrieve(query, "heat")
    assert r.task_specific == []
    # the default: a detected category keeps its K best whatever their cosine; delta filters unknown categories
    r = SkillRetriever(bank, cached, top_k=3, delta=0.99).retrieve(query, "heat")
    assert [s.skill_id for s in r.task_specific] == [i for i, _ in brute_force(embedder, query, HEAT, 3, None)]
    assert SkillRetriever(bank, cached, top_k=3, delta=0.99).retrieve(query).task_specific == []
    r = SkillRetriever(bank, cached, top_k=0, top_k_general=0, delta=-1.0).retrieve(query, "heat")
    assert r.skill_ids == []


def test_ties_are_broken_by_skill_id_whatever_the_insertion_order(embedder, cached):
    same = "Put the object in the microwave and heat it before placing it."
    twins = [ts(f"hea_{i}", "Microwave heating", same, "heat") for i in ("z9", "c3", "m5", "a1", "q7")]
    bank = SkillBank(task_specific={"heat": twins})
    r = SkillRetriever(bank, cached, top_k=3, delta=-1.0).retrieve("heat the egg", "heat")
    assert [s.skill_id for s in r.task_specific] == ["hea_a1", "hea_c3", "hea_m5"]
    assert len({round(s.score, 6) for s in r.task_specific}) == 1


def test_general_none_returns_all_general_skills_in_bank_order(embedder, cached):
    bank = small_bank()
    r = SkillRetriever(bank, cached, top_k_general=None).retrieve("cool a tomato", "cool")
    assert [s.skill_id for s in r.general] == ["gen_001", "gen_002", "gen_003"]
    want = dict(brute_force(embedder, "cool a tomato", GENERAL, 3, None))
    np.testing.assert_allclose([s.score for s in r.general], [want[s.skill_id] for s in r.general], atol=1e-5)


# ---------------------------------------------------------------------------------------- categories


def test_category_restriction_on_the_official_bank(embedder, cached, official_bank_path):
    bank = SkillBank.load(official_bank_path)
    query = "put a hot apple in fridge."
    restricted = SkillRetriever(bank, cached, delta=-1.0)
    for cat in bank.categories:
        r = restricted.retrieve(query, cat)
        assert r.task_specific, cat
        assert {s.skill.category for s in r.task_specific} == {cat}
        assert [s.skill_id for s in r.task_specific] == [
            i for i, _ in brute_force(embedder, query, bank.task_specific[cat], 6, -1.0)]
    everything = [s for lst in bank.task_specific.values() for s in lst]
    across = [i for i, _ in brute_force(embedder, query, everything, 6, -1.0)]
    assert len({bank.get(i).category for i in across}) > 1  # the unrestricted ranking mixes categories
    assert restricted.retrieve(query).skill_ids[len(bank.general):] == across  # all general skills, then these
    unrestricted = SkillRetriever(bank, cached, delta=-1.0, restrict_to_category=False)
    r = unrestricted.retrieve(query, "heat")
    assert r.category == "heat" and [s.skill_id for s in r.task_specific] == across
    assert restricted.retrieve(query, "no_such_category").task_specific == []


def test_template_retrieval_is_everything_of_the_category_in_bank_order(official_bank_path):
    bank = SkillBank.load(official_bank_path)
    r = template_retrieval(bank, "heat", query="heat some egg")
    assert [s.skill_id for s in r.general] == [s.skill_id for s in bank.general]
    assert [s.skill_id for s in r.task_specific] == [s.skill_id for s in bank.task_specific["heat"]]
    assert [m.mistake_id for m in r.mistakes] == [m.mistake_id for m in bank.mistakes]
    assert {s.score for s in r.general + r.task_specific} == {1.0}
    assert len(r.skill_ids) == 12 + 5
    assert template_retrieval(bank, None).task_specific == []


# ---------------------------------------------------------------------------------------- batches


def test_batch_embeds_each_distinct_prompt_once_and_groups_share_results(embedder, official_bank_path):
    bank = SkillBank.load(official_bank_path)
    counting = Counting(embedder)
    r = SkillRetriever(bank, counting, mistakes="first")
    goals = ["heat some egg and put it in garbagecan.", "put a clean lettuce in diningtable.",
             "look at alarmclock under the desklamp.", "put two cellphone in bed."]
    G = 8
    batch = [g for g in goals for _ in range(G)]  # GRPO: each prompt repeated G times in a row
    out = r.retrieve_batch(batch)
    assert len(out) == len(batch)
    skill_texts = {s.text for s in bank.skills()}
    assert len(counting.batches) == 1 + len(goals)
    assert set(counting.batches[0]) == skill_texts and len(counting.batches[0]) == 44  # the bank, once
    # each distinct prompt once, on its own: its vector (and so its skills) never depends on the batch it came in
    assert counting.batches[1:] == [[g] for g in goals]
    for i in range(0, len(batch), G):
        assert all(o is out[i] for o in out[i:i + G])  # every rollout of a group sees the same skills
    single = SkillRetriever(bank, embedder).retrieve(goals[2])
    assert out[2 * G].skill_ids == single.skill_ids
    # a second batch with the same prompts embeds nothing (query cache)
    r.retrieve_batch(batch, categories=["heat"] * len(batch))
    assert len(counting.batches) == 1 + len(goals)
    assert r.query_texts_requested == 8


def test_batch_with_categories_dedups_by_query_and_category(embedder):
    bank = small_bank()
    counting = Counting(embedder)
    r = SkillRetriever(bank, counting, delta=-1.0)
    out = r.retrieve_batch(["heat the egg", "heat the egg", "heat the egg"], categories=["heat", "cool", "heat"])
    assert counting.batches[-1] == ["heat the egg"]
    assert out[0] is out[2] and out[0] is not out[1]
    assert {s.skill.category for s in out[1].task_specific} == {"cool"}


def test_retrieve_embedded_searches_precomputed_vectors_without_embedding_them(embedder):
    bank = small_bank()
    counting = Counting(embedder)
    r = SkillRetriever(bank, counting, delta=0.1, mistakes="first")
    queries = ["heat the egg", "cool the apple", "heat the egg"]
    cats = ["heat", None, "heat"]
    vecs = embedder.embed(queries)
    n = len(counting.texts)
    got = r.retrieve_embedded(queries, vecs, cats)
    assert len(counting.texts) - n == 10  # the bank only, on first use; no query is embedded
    want = r.retrieve_batch(queries, cats)
    assert [g.skill_ids for g in got] == [w.skill_ids for w in want]
    np.testing.assert_allclose([s.score for g in got for s in g.general + g.task_specific],
                               [s.score for w in want for s in w.general + w.task_specific], atol=1e-5)
    with pytest.raises(RetrievalError, match=r"shape \(3, 384\)"):
        r.retrieve_embedded(queries, vecs[:2])


def test_bad_input_gets_clear_errors(embedder, cached):
    r = SkillRetriever(small_bank(), cached)
    with pytest.raises(RetrievalError, match="non-empty string"):
        r.retrieve("   ")
    with pytest.raises(RetrievalError, match="2 queries but 1 categories"):
        r.retrieve_batch(["a", "b"], categories=["heat"])
    with pytest.raises(RetrievalError, match="single str"):
        r.retrieve_batch("heat the egg")
    with pytest.raises(RetrievalError, match="top_k"):
        SkillRetriever(small_bank(), cached, top_k=-1)
    with pytest.raises(RetrievalError, match="delta"):
        SkillRetriever(small_bank(), cached, delta=1.5)
    with pytest.raises(RetrievalError, match="index"):
        SkillRetriever(small_bank(), cached, index="ivf")
    assert r.retrieve_batch([]) == []


# ---------------------------------------------------------------------------------------- bank changes


def test_bank_edits_embed_only_new_or_changed_texts(embedder):
    bank = small_bank()
    counting = Counting(embedder)
    r = SkillRetriever(bank, counting, top_k=10, delta=-1.0, mistakes="first")
    q = "heat some egg and put it in the garbagecan."
    r.retrieve(q, "heat")
    assert len(counting.texts) == 10 + 1  # 10 skills + the query
    n = len(counting.texts)

    new = ts("hea_006", "Check the temperature", "Look at the item after heating to confirm it is hot.", "heat")
    bank.add(new)
    out = r.retrieve(q, "heat")
    assert counting.texts[n:] == [new.text]
    assert "hea_006" in out.skill_ids and out.bank_version == bank.version
    n = len(counting.texts)

    bank.update("hea_002", principle="Walk to the microwave as soon as the goal mentions heat.")
    out = r.retrieve(q, "heat")
    assert counting.texts[n:] == [bank.get("hea_002").text]
    want = dict(brute_force(embedder, q, bank.task_specific["heat"], 10, -1.0))
    got = {s.skill_id: s.score for s in out.task_specific}
    assert got.keys() == want.keys()
    np.testing.assert_allclose([got[k] for k in want], list(want.values()), atol=1e-5)
    n = len(counting.texts)

    bank.remove("hea_003")
    bank.update("coo_002", category="heat")  # moves, same text: no re-embedding
    out = r.retrieve(q, "heat")
    assert counting.texts[n:] == []
    assert "hea_003" not in out.skill_ids and "coo_002" in out.skill_ids
    assert [s.skill_id for s in r.retrieve(q, "cool").task_specific] == ["coo_001"]
    assert r.skill_texts_embedded == 12

    bank.add_mistake(Mistake(mistake_id="err_002", description="Forgetting to open.", how_to_avoid="Open it."))
    assert [m.mistake_id for m in r.retrieve(q, "heat").mistakes] == ["err_001", "err_002"]
    assert counting.texts[n:] == []


def test_auto_index_switches_to_hnsw_above_the_threshold_without_re_embedding(embedder):
    bank = small_bank()
    counting = Counting(embedder)
    r = SkillRetriever(bank, counting, index="auto", hnsw_threshold=5, top_k=10, delta=-1.0)
    q = "heat some egg and put it in the garbagecan."
    flat_ids = r.retrieve(q, "heat").skill_ids
    assert r.index_kinds()["task:heat"] == "flat"  # 5 skills: not above 5
    n = len(counting.texts)
    extra = ts("hea_006", "Check the temperature", "Look at the item after heating to confirm it is hot.", "heat")
    bank.add(extra)
    out = r.retrieve(q, "heat")
    assert r.index_kinds()["task:heat"] == "hnsw" and r.index_kinds()["task:cool"] == "flat"
    assert counting.texts[n:] == [extra.text]  # the 5 others came from cached vectors
    assert [i for i in out.skill_ids if i != "hea_006"] == flat_ids  # HNSW is exact at this size
    bank.remove("hea_006")
    assert r.retrieve(q, "heat").skill_ids == flat_ids and r.index_kinds()["task:heat"] == "flat"


# ---------------------------------------------------------------------------------------- VectorIndex


def unit(n: int, d: int, seed: int) -> np.ndarray:
    x = np.random.default_rng(seed).standard_normal((n, d)).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


@pytest.mark.parametrize("kind", ["flat", "hnsw"])
def test_vector_index_add_upsert_remove_search(kind):
    idx = VectorIndex(4, kind)
    vecs = np.eye(4, dtype=np.float32)
    idx.add([10, 11, 12, 13], vecs)
    scores, ids = idx.search(vecs[1], 2)
    assert ids[0, 0] == 11 and scores[0, 0] == pytest.approx(1.0)
    idx.add([11], vecs[2:3])  # upsert: 11 now points where 12 does
    assert len(idx) == 4 and set(idx.search(vecs[2], 2)[1][0]) == {11, 12}
    idx.remove([12, 13])
    assert len(idx) == 2 and list(idx.ids()) == [10, 11]
    scores, ids = idx.search(vecs[3], 5)  # fewer results than k: padded
    assert set(ids[0, :2]) == {10, 11} and list(ids[0, 2:]) == [-1, -1, -1] and np.isinf(scores[0, 2:]).all()
    with pytest.raises(RetrievalError, match="unknown ids"):
        idx.remove([99])
    with pytest.raises(RetrievalError, match="shape"):
        idx.add([1], np.ones((1, 3), dtype=np.float32))
    with pytest.raises(RetrievalError, match="duplicate"):
        idx.add([1, 1], np.ones((2, 4), dtype=np.float32))


def test_single_queries_run_on_one_openmp_thread_and_restore_the_setting():
    import faiss

    prev = faiss.omp_get_max_threads()
    idx = VectorIndex(8, "flat")
    base = unit(100, 8, 3)
    idx.add(np.arange(100), base)
    faiss.omp_set_num_threads(2)
    try:
        _, one = idx.search(base[:1], 3)
        assert faiss.omp_get_max_threads() == 2 and one[0, 0] == 0
        idx.threaded_min_work = 100 * 100  # 100 queries x 100 vectors: FAISS's own setting
        _, many = idx.search(base, 1)
        assert list(many[:, 0]) == list(range(100)) and faiss.omp_get_max_threads() == 2
    finally:
        faiss.omp_set_num_threads(prev)


def clustered(n: int, centres: np.ndarray, seed: int) -> np.ndarray:
    """Unit vectors around the given centres (cos to centre ~0.8), structured like text embeddings."""
    rng = np.random.default_rng(seed)
    d = centres.shape[1]
    noise = np.sqrt((1 / 0.8**2 - 1) / d) * rng.standard_normal((n, d)).astype(np.float32)
    x = centres[rng.integers(0, len(centres), n)] + noise
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)


def test_hnsw_recall_at_6_on_a_few_thousand_vectors():
    d, n = 384, 4000
    centres = unit(80, d, 7)
    base, queries = clustered(n, centres, 0), clustered(200, centres, 1)
    ids = np.arange(1000, 1000 + n)
    flat, hnsw = VectorIndex(d, "flat"), VectorIndex(d, "hnsw")  # the defaults: M=16, efSearch=64
    flat.add(ids, base)
    hnsw.add(ids, base)
    _, exact = flat.search(queries, 6)
    _, approx = hnsw.search(queries, 6)
    recall = np.mean([len(set(a) & set(e)) / 6 for a, e in zip(approx, exact)])
    assert recall >= 0.95, recall
    # masked deletions never come back, and the graph is rebuilt once they pass the fraction
    gone = ids[: n // 2]
    hnsw.remove(gone[:500])
    assert hnsw._n_dead == 500
    _, got = hnsw.search(queries, 6)
    assert not set(got.ravel()) & set(gone[:500].tolist())
    hnsw.remove(gone[500:])
    assert hnsw._n_dead == 0 and len(hnsw) == n // 2  # rebuilt
    flat.remove(gone)
    _, exact = flat.search(queries, 6)
    _, approx = hnsw.search(queries, 6)
    assert np.mean([len(set(a) & set(e)) / 6 for a, e in zip(approx, exact)]) >= 0.95


def test_missing_faiss_names_the_package(monkeypatch):
    monkeypatch.setitem(sys.modules, "faiss", None)
    with pytest.raises(MissingDependencyError, match="'faiss-cpu' package"):
        VectorIndex(8)


def test_scored_skill_and_retrieval_records():
    s = ScoredSkill(HEAT[0], 0.5)
    r = Retrieval(query="q", category="heat", general=[ScoredSkill(GENERAL[0], 0.3)], task_specific=[s])
    assert r.skill_ids == ["gen_001", "hea_001"] and r.skills == [GENERAL[0], HEAT[0]]
    assert r.to_dict()["task_specific"] == [["hea_001", 0.5]]
    with pytest.raises(AttributeError):
        r.query = "other"  # frozen
