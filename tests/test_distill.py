"""Distillation from real episodes: the 3,554 ALFWorld expert demos, real failures (expert demos cut before their
goal action or with another object taken, the Reflexion transcripts, the official failure memories), the
offline teacher, an OpenAI-compatible teacher on a real local HTTP server, a tiny local transformers model,
and the ``skillrl distill`` command."""

from __future__ import annotations

import itertools
import json
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from httpserver import OpenAICompatServer, RecordedRequest, Reply, chat_reply, error_reply  # noqa: E402

from skillrl.bank import SkillBank  # noqa: E402
from skillrl.dedup import DEFAULT_DEDUP_THRESHOLD, Deduplicator, dedup_text  # noqa: E402
from skillrl.profiles import get_profile  # noqa: E402
from skillrl.distill import (  # noqa: E402
    DistillConfig,
    SkillDistiller,
    compression_stats,
    episode_text,
    fit_mistake,
    fit_skill,
)
from skillrl.embedders import CachedEmbedder  # noqa: E402
from skillrl.episode import ALFWORLD_TASK_TYPES, Episode, load_episodes, parse_transcript, save_episodes  # noqa: E402
from skillrl.render import estimate_tokens, format_sections  # noqa: E402
from skillrl.teachers import OfflineTeacher, OpenAITeacher  # noqa: E402

ALF = get_profile("alfworld")
HEAT, COOL = "pick_heat_then_place_in_recep", "pick_cool_then_place_in_recep"


@pytest.fixture(scope="module")
def demos_path(shared_data: Path) -> Path:
    path = shared_data / "alfworld" / "expert_demos_train.jsonl"
    if not path.is_file():
        pytest.skip(f"{path} not found")
    return path


@pytest.fixture(scope="module")
def demos(demos_path: Path) -> list[Episode]:
    return load_episodes(demos_path, progress=False)


@pytest.fixture(scope="module")
def distilled(demos, embedder):
    emb = CachedEmbedder(embedder)
    bank, report = SkillDistiller("offline", embedder=emb, progress=False).distill(demos)
    return bank, report, emb


def cut_before(ep: Episode, verb: str, eid: str) -> Episode:
    i = next(i for i, a in enumerate(ep.actions) if a.startswith(verb + " "))
    return ep.model_copy(update={"episode_id": eid, "steps": ep.steps[:i], "success": False, "reward": 0.0})


def rendered_line(s) -> str:
    return format_sections([], [s], [], s.category or "x").split("\n", 1)[1]


# ------------------------------------------------------------------ the 3,554 demos with the offline teacher


def test_demos_give_a_bank_for_all_six_task_types(demos, distilled):
    bank, report, _ = distilled
    assert set(bank.categories) == set(ALFWORLD_TASK_TYPES)
    # demos only, with meaning-aware dedup: 3-6 per category (5-6 with the official memories' lessons, see
    # benchmarks/bench_skill_quality.py)
    assert all(3 <= len(v) <= 6 for v in bank.task_specific.values()), bank.counts()
    assert 1 <= len(bank.general) <= 15 and bank.mistakes == []  # the demos hold no failure
    assert report.shape["general"] == {"count": len(bank.general), "min": 8, "max": 15, "ok": len(bank.general) >= 8}
    assert report.shape["mistakes"]["ok"] is False
    assert len(report.calls) == 1 and report.calls[0].phase == "general" and report.calls[0].episodes == 3554
    assert report.episodes == report.successes == 3554 and report.tokens == 0
    assert {c: v["episodes"] for c, v in report.categories.items()} == dict(Counter(e.category for e in demos))
    # one version, with the teacher and the episode count
    assert bank.version == 1 and len(bank.history) == 1
    change = bank.history[0]
    assert change.op == "distill" and change.meta == {"teacher": "offline", "episodes": 3554}
    assert {e.item_id for e in change.edits} == {s.skill_id for s in bank.skills()}
    # provenance: distill, the teacher, episodes of the skill's own category
    by_cat = {c: {e.episode_id for e in demos if e.category == c} for c in ALFWORLD_TASK_TYPES}
    for s in bank.skills():
        p = s.provenance
        assert p.source == "distill" and p.teacher == "offline" and p.note and p.episode_ids, s.skill_id
        pool = by_cat[s.category] if s.category else set().union(*by_cat.values())
        assert set(p.episode_ids) <= pool, s.skill_id
    # one id scheme (skillrl.filing.category_prefix): the first distinctive word of the category key
    assert bank.get("hea_001").category == "pick_heat_then_place_in_recep"
    assert {s.skill_id.split("_")[0] for s in bank.task_specific["pick_two_obj_and_place"]} == {"two"}


def test_the_bank_respects_the_token_budget_and_is_dedup_clean(demos, distilled):
    bank, report, emb = distilled
    for s in bank.skills():
        assert estimate_tokens(rendered_line(s)) <= 125, (s.skill_id, estimate_tokens(rendered_line(s)))
    proposed = {(p.category, p.title): p for p in OfflineTeacher().distill(demos).value.skills}
    assert report.trimmed == []  # skills are short now: none needs cutting to the 125-token budget
    for sid in report.trimmed:
        s = bank.get(sid)
        full = proposed[(s.category, s.title)].principle
        assert len(s.principle) < len(full) and full.startswith(s.principle.rstrip(".")), sid
    # no two skills a policy sees together are duplicates under the dedup rule...
    d = Deduplicator(emb)
    for skills in bank.task_specific.values():
        scope = bank.general + skills
        sims = d.similarities(scope, scope)
        for i, j in itertools.combinations(range(len(scope)), 2):
            v = d.compare(scope[i], scope[j], score=float(sims[i, j]))  # cosine + the contrast veto
            assert not v.duplicate, (scope[i].title, scope[j].title, v.reason)
    # ...and what was rejected as a duplicate really is one
    for r in report.rejected:
        assert r.reason.startswith("duplicate of "), r
        kept = bank.get(r.reason.split()[2])
        cand = proposed[(r.category, r.title)]
        a, b = emb.embed([f"{cand.title}: {cand.principle}", dedup_text(kept)])
        assert float(a @ b) >= DEFAULT_DEDUP_THRESHOLD


def test_distilling_again_into_the_bank_adds_nothing(demos, distilled):
    bank, _, emb = distilled
    again, report = SkillDistiller("offline", embedder=emb, progress=False).distill(demos, bank=bank)
    assert report.added == [] and report.refined == [] and again.version == bank.version
    assert again.to_native() == bank.to_native() and again is not bank


def test_caps_shape_the_bank(demos):
    few = [e for c in ALFWORLD_TASK_TYPES for e in [x for x in demos if x.category == c][:40]]
    cfg = DistillConfig(max_general=2, max_per_category=3, embedding_dedup=False)
    bank, report = SkillDistiller("offline", cfg, progress=False).distill(few)
    assert len(bank.general) == 2 and all(len(v) == 3 for v in bank.task_specific.values())
    reasons = Counter(r.reason for r in report.rejected)
    assert reasons["general tier full (max_general=2)"] >= 1
    assert sum(v for k, v in reasons.items() if k.startswith("category full (3 slots")) >= 6
    assert report.shape["general"]["ok"] is False  # 2 < the 8 the official banks have


# ------------------------------------------------------------------ failures: lessons and common mistakes


def _failures(demos: list[Episode], shared_data: Path) -> list[Episode]:
    out = []
    for tt in (HEAT, COOL):
        src = [e for e in demos if e.category == tt][100:106]
        verb = "heat" if tt == HEAT else "cool"
        out += [cut_before(e, "put" if i % 2 else verb, f"fail-{tt}-{i}") for i, e in enumerate(src)]
    path = shared_data / "reflexion" / "alfworld_runs" / "reflexion_few_shot_examples.txt"
    blocks = [b for b in path.read_text().split("\n\n") if "Your task is to:" in b]
    for i, b in enumerate(blocks):
        ep = parse_transcript(b, episode_id=f"reflexion-{i}", success=False, source="reflexion")
        out.append(ep.model_copy(update={"category": ALF.detect(ep.task)}))
    mem = shared_data / "skillrl-official/memory_data/alfworld/generated_memories_alfworld_total.json"
    out += [e for e in load_episodes(mem, progress=False) if not e.success]
    return out


def test_failures_become_lessons_and_common_mistakes(demos, shared_data, embedder):
    fails = _failures(demos, shared_data)
    assert {e.category for e in fails} >= {HEAT, COOL, "look_at_obj_in_light"}
    wins = [e for c in ALFWORLD_TASK_TYPES for e in [x for x in demos if x.category == c][:30]]
    bank, report = SkillDistiller("offline", DistillConfig(max_mistakes=8), embedder=CachedEmbedder(embedder),
                                  progress=False).distill(wins + fails)
    fail_ids = {e.episode_id for e in fails}
    lessons = [s for s in bank.skills() if set(s.provenance.episode_ids) <= fail_ids]
    assert {s.category for s in lessons} >= {HEAT, COOL}
    # the Reflexion lamp failure teaches what the demos already taught: filed as a duplicate, not twice
    (lamp,) = [r for r in report.rejected if r.title == "Take the object before using the lamp"]
    kept = bank.get(lamp.reason.split()[2])
    assert kept.title == "Hold the object under the lamp" and "embedding match" in lamp.reason
    assert 1 <= len(bank.mistakes) <= 8
    assert all(set(m.provenance.episode_ids) <= fail_ids and m.provenance.source == "distill" for m in bank.mistakes)
    assert any("recorded mistakes_to_avoid" in m.provenance.note for m in bank.mistakes)  # official memories
    assert not any("recorded in" in m.description for m in bank.mistakes)  # the count is not in the text
    # categories with failures keep slots for lessons: at most 6 - 2 success patterns there
    for cat in (HEAT, COOL):
        patterns = [s for s in bank.task_specific[cat] if not set(s.provenance.episode_ids) <= fail_ids]
        assert len(patterns) <= 4 and len(bank.task_specific[cat]) <= 6
    phases = Counter(c.phase for c in report.calls)
    # the offline teacher reads every failure in one lessons call (shared advice becomes one mistake)
    assert phases["general"] == 1 and phases["lessons"] == 1 and all(c.ok for c in report.calls)
    for m in bank.mistakes:
        assert estimate_tokens(f"- **Don't**: {m.description}\n  **Instead**: {m.how_to_avoid}") <= 125


# ------------------------------------------------------------------ token budget helpers


def test_fit_skill_drops_sentences_then_words():
    plan = ("Follow the expert plan: 1) search receptacles (opening closed ones) until [Object] is found; 2) take "
            "[Object] from [Receptacle]; 3) go to [Target]; 4) put [Object] in/on [Target]. This exact abstract plan "
            "solved 536/813 (66%) expert pick-two-and-place episodes; 30 plan variants were seen in total.")
    when = "Goals phrased 'put two X in Y' or 'find two X and put them in Y'"
    p, w, trimmed = fit_skill("Standard plan", plan, when, 80)
    assert trimmed and w == when and p == plan.split(" This exact")[0]
    p, w, trimmed = fit_skill("Standard plan", plan, when, 40)
    assert trimmed and p.endswith("...") and estimate_tokens(f"- **Standard plan**: {p}" +
                                                              (f"\n  _Apply when: {w}_" if w else "")) <= 40
    assert fit_skill("T", "Take the lamp (e.g. `use desklamp 1`) first. Then go.", "", 14)[0] == \
        "Take the lamp (e.g. `use desklamp 1`) first."  # 'e.g.' does not end a sentence
    assert fit_skill("T", "Short.", "w", 125) == ("Short.", "w", False)
    count_words = lambda t: len(t.split())  # noqa: E731 - any str -> int counter works
    p, _, _ = fit_skill("T", plan, "", 20, count_words)
    assert len(f"- **T**: {p}".split()) <= 20
    d, h, trimmed = fit_mistake("Repeating `go to desk 1` in a loop. It wastes steps. Seen 3 times.",
                                "Do something else. Go to an unchecked receptacle.", 24)
    assert trimmed and d == "Repeating `go to desk 1` in a loop." and h.startswith("Do something else.")


# ------------------------------------------------------------------ compression


def test_compression_stats_compare_skill_and_trajectory_tokens(demos, distilled):
    bank, _, _ = distilled
    stats = compression_stats(bank, demos)
    heat = [e for e in demos if e.category == HEAT]
    h = stats["categories"][HEAT]
    assert h["raw_tokens"] == sum(estimate_tokens(episode_text(e)) for e in heat) and h["episodes"] == len(heat)
    assert h["skill_tokens"] == estimate_tokens(format_sections([], bank.task_specific[HEAT], [], HEAT))
    assert h["ratio"] == pytest.approx(h["raw_tokens"] / h["skill_tokens"]) and h["ratio"] > 10
    ov = stats["overall"]
    assert ov["raw_tokens"] == sum(v["raw_tokens"] for v in stats["categories"].values())
    assert ov["ratio"] == pytest.approx(ov["raw_tokens"] / ov["bank_tokens"])
    first = heat[0]
    text = episode_text(first)
    assert text.startswith(first.initial_observation) and f"> {first.actions[0]}\n{first.steps[0].observation}" in text
    words = compression_stats(bank, demos, count=lambda t: len(t.split()))
    assert words["categories"][HEAT]["raw_tokens"] == sum(len(episode_text(e).split()) for e in heat)


# ------------------------------------------------------------------ LLM teachers


def _by_category(req: RecordedRequest) -> Reply:
    user = req.json["messages"][-1]["content"]
    system = req.json["messages"][0]["content"]
    cat = user.split("Task category: ", 1)[1].split("\n", 1)[0]
    if cat == COOL and "failed the episodes" in system:
        return error_reply(500, "the lessons call for cool breaks")
    if cat.startswith("several"):
        return chat_reply(json.dumps({"skills": [
            {"title": "Open closed receptacles", "principle": "Open every closed receptacle you search.",
             "tier": "general"},
            {"title": "Invented", "principle": "A category nobody asked for.", "tier": "task_specific",
             "category": "pick_nothing"}]}))
    short = "heat" if cat == HEAT else "cool"
    return chat_reply(json.dumps({"skills": [
        {"title": f"Use the right appliance to {short}", "principle": f"{short.capitalize()} the object with the "
         f"{'microwave' if short == 'heat' else 'fridge'} while holding it, then go to the target.",
         "tier": "task_specific"}],
        "mistakes": [{"description": f"Placing the object before it is {short}ed", "how_to_avoid":
                      f"{short.capitalize()} it first."}] if "failed the episodes" in system else []}),
        prompt_tokens=900, completion_tokens=100)


def test_openai_teacher_per_category_calls_over_real_http(demos, embedder):
    heat = [e for e in demos if e.category == HEAT][:12]
    cool = [e for e in demos if e.category == COOL][:12]
    fails = [cut_before(e, "put", f"f{i}") for i, e in enumerate([x for x in demos if x.category == HEAT][20:23])]
    fails += [cut_before(e, "put", f"g{i}") for i, e in enumerate([x for x in demos if x.category == COOL][20:23])]
    with OpenAICompatServer(default=_by_category) as srv:
        teacher = OpenAITeacher("test-model", base_url=srv.url, api_key="x", timeout=5, max_retries=0,
                                max_concurrency=2)
        bank, report = SkillDistiller(teacher, embedder=CachedEmbedder(embedder), progress=False).distill(
            heat + cool + fails)
    # 1 general call, 2 pattern calls per category (12 episodes, 8 per call), 1 lessons call per category
    assert Counter((c.phase, c.category) for c in report.calls) == {
        ("general", None): 1, ("patterns", HEAT): 2, ("patterns", COOL): 2, ("lessons", HEAT): 1, ("lessons", COOL): 1}
    assert len(srv.requests) == 7
    (bad,) = [c for c in report.calls if not c.ok]
    assert bad.phase == "lessons" and bad.category == COOL and "HTTP 500" in bad.error
    assert report.errors == [f"lessons/{COOL}: {bad.error}"]
    shown = [r.json["messages"][1]["content"] for r in srv.requests]
    assert sum(e.task in u for e in heat for u in shown) >= 12  # every heat demo was shown to some call
    assert report.tokens == 5 * (900 + 100) + 15  # 5 category replies, the general one (10 + 5), the 500 has no usage
    assert bank.general[0].title == "Open closed receptacles"
    assert any(r.title == "Invented" and "not a category of the episodes" in r.reason for r in report.rejected)
    heat_skill, = bank.task_specific[HEAT]
    assert heat_skill.title == "Use the right appliance to heat" and heat_skill.provenance.teacher == "openai:test-model"
    assert set(heat_skill.provenance.episode_ids) <= {e.episode_id for e in heat}
    assert [m.description for m in bank.mistakes] == ["Placing the object before it is heated"]
    # the same proposal from the second pattern call (and the heat lesson call) was a duplicate, not a second copy
    assert any(r.reason.startswith("duplicate of") and r.category == HEAT for r in report.rejected)


def test_hf_teacher_failures_are_reported_not_raised(demos, tmp_path):
    pytest.importorskip("transformers")
    from test_teachers import _build_tiny_lm

    from skillrl.teachers import HFTeacher

    model = _build_tiny_lm(tmp_path / "lm")
    eps = [e for e in demos if e.category == HEAT][:3]
    bank, report = SkillDistiller(HFTeacher(model, max_new_tokens=8), DistillConfig(embedding_dedup=False),
                                  progress=False).distill(eps)
    assert len(bank) == 0 and bank.version == 0
    assert report.calls and not any(c.ok for c in report.calls) and len(report.errors) == len(report.calls)
    assert report.teacher == f"hf:{model}"


def test_bad_input():
    with pytest.raises(ValueError, match="at least one episode"):
        SkillDistiller("offline", progress=False).distill([])
    with pytest.raises(TypeError, match=r"episodes\[0\] is a dict"):
        SkillDistiller("offline", progress=False).distill([{"task": "x"}])
    with pytest.raises(ValueError, match="unknown teacher"):
        SkillDistiller("gpt-4")


# ------------------------------------------------------------------ CLI


def test_cli_distill_then_inspect(demos_path, tmp_path):
    from typer.testing import CliRunner

    from skillrl.cli import app

    out = tmp_path / "bank.json"
    runner = CliRunner()
    res = runner.invoke(app, ["distill", str(demos_path), "--teacher", "offline", "-o", str(out), "--exact-dedup",
                              "--no-progress", "--json"])
    assert res.exit_code == 0, res.output
    doc = json.loads(res.stdout)
    assert set(doc["counts"]["task_specific"]) == set(ALFWORLD_TASK_TYPES)
    assert doc["report"]["episodes"] == 3554 and doc["compression"]["overall"]["ratio"] > 10
    res = runner.invoke(app, ["inspect", str(out), "--json"])
    shown = json.loads(res.stdout)
    assert set(shown["categories"]) == set(ALFWORLD_TASK_TYPES) and all(v >= 4 for v in shown["categories"].values())
    assert SkillBank.load(out).get("gen_001").provenance.source == "distill"
    # the table, and the official format
    small = tmp_path / "small.jsonl"
    save_episodes(small, load_episodes(demos_path, progress=False)[::40])
    res = runner.invoke(app, ["distill", str(small), "-o", str(tmp_path / "off.json"), "--format", "official",
                              "--exact-dedup", "--no-progress"])
    assert res.exit_code == 0, res.output
    assert "raw/skill" in res.stdout and "outside the target shape" in res.stdout and "distilled 89 episodes" in res.stdout
    assert "format" not in json.loads((tmp_path / "off.json").read_text())


def test_cli_errors_are_one_line(tmp_path):
    res = subprocess.run([sys.executable, "-m", "skillrl.cli", "distill", str(tmp_path / "missing.jsonl"), "-o",
                          str(tmp_path / "b.json")], capture_output=True, text=True, timeout=120)
    assert res.returncode == 2 and "error:" in res.stderr and "missing.jsonl" in res.stderr
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"conversations": [{"from": "gpt", "value": "go to desk 1"}]}\n')
    res = subprocess.run([sys.executable, "-m", "skillrl.cli", "distill", str(bad), "-o", str(tmp_path / "b.json")],
                         capture_output=True, text=True, timeout=120)
    assert res.returncode == 2 and "line 1" in res.stderr and not (tmp_path / "b.json").exists()
