"""Evolution (SkillRL Sec. 3.3) with real teachers and real failures.

Failures are built from real data: ALFWorld expert demonstrations cut before their goal action (so the goal is
never reached), demonstrations in which the agent takes another object that the real observation showed, a
real demonstration whose last action is repeated (a loop), and the Reflexion ALFWorld failure transcripts.
Categories are mapped to the official bank's keys by the ALFWorld detection profile (as the runtime does).
The OpenAI-compatible teacher talks to a real HTTP server on 127.0.0.1 (tests/httpserver.py).
"""

from __future__ import annotations

import json
import re
import sys
from collections import Counter
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from httpserver import OpenAICompatServer, RecordedRequest, Reply, chat_reply, error_reply  # noqa: E402

from skillrl.bank import SkillBank  # noqa: E402
from skillrl.profiles import get_profile  # noqa: E402
from skillrl.embedders import CachedEmbedder  # noqa: E402
from skillrl.episode import Episode, Step, load_episodes, parse_alfworld_goal, parse_transcript  # noqa: E402
from skillrl.evolve import EvolutionConfig, Evolver, failure_severity, select_failures  # noqa: E402
from skillrl.runtime import SkillRuntime  # noqa: E402
from skillrl.teachers import OfflineTeacher, OpenAITeacher  # noqa: E402

ALF = get_profile("alfworld")
HEAT, COOL, CLEAN, PICK = "pick_heat_then_place_in_recep", "pick_cool_then_place_in_recep", \
    "pick_clean_then_place_in_recep", "pick_and_place_simple"


# ------------------------------------------------------------------ real data, real failures


@pytest.fixture(scope="module")
def demos(shared_data: Path) -> list[Episode]:
    path = shared_data / "alfworld" / "expert_demos_train.jsonl"
    if not path.is_file():
        pytest.skip(f"{path} not found")
    return load_episodes(path, progress=False)


@pytest.fixture()
def bank(shared_data: Path) -> SkillBank:
    return SkillBank.load(shared_data / "skillrl-official/memory_data/alfworld/claude_style_skills.json")


@pytest.fixture()
def emb(embedder) -> CachedEmbedder:
    return CachedEmbedder(embedder)


def of_type(demos: list[Episode], task_type: str, skip: int = 0, n: int = 1) -> list[Episode]:
    return [e for e in demos if e.category == task_type][skip:skip + n]


def to_bank(ep: Episode, bank: SkillBank, **update) -> Episode:
    """The episode as the runtime hands it to evolution: category = the bank's key, validation split."""
    return ep.model_copy(update={"category": ALF.to_bank_category(ep.category, bank), "split": "validation",
                                 **update})


def cut_before(ep: Episode, verb: str, eid: str) -> Episode:
    """The real demo up to (not including) its first action starting with ``verb``: the goal is never reached."""
    i = next(i for i, a in enumerate(ep.actions) if a.startswith(verb + " "))
    return ep.model_copy(update={"episode_id": eid, "steps": ep.steps[:i], "success": False, "reward": 0.0})


def wrong_object(ep: Episode, eid: str) -> Episode:
    """The real demo until the agent first sees an object other than the goal's, then it takes that one."""
    goal_obj = ep.task.split()[2] if ep.task.startswith(("heat", "cool", "clean")) else ep.task.split()[-3]
    for i, st in enumerate(ep.steps):
        if st.action.startswith("go to ") and "you see" in st.observation:
            seen = re.findall(r"\ban? ([a-z]+ \d+)", st.observation.split("you see", 1)[1])
            other = next((x for x in seen if not x.startswith(goal_obj + " ")), None)
            if other:
                rec = st.action[len("go to "):]
                take = Step(action=f"take {other} from {rec}", observation=f"You pick up the {other} from the {rec}.")
                return ep.model_copy(update={"episode_id": eid, "steps": ep.steps[:i + 1] + [take],
                                             "success": False, "reward": 0.0})
    raise AssertionError(f"no other object seen in {ep.episode_id}")


def looping(ep: Episode, eid: str, times: int = 4) -> Episode:
    """The real demo cut before its goal action, then its last real action repeated with its real observation."""
    cut = cut_before(ep, "use" if ep.category == "look_at_obj_in_light" else "put", eid)
    return cut.model_copy(update={"steps": cut.steps + [cut.steps[-1]] * times})


def batch(demos: list[Episode], bank: SkillBank, spec: dict[str, tuple[int, int]], tag: str = "v") -> list[Episode]:
    """Validation episodes: per task type ``(successes, failures)``; failures rotate over cut-before-put,
    cut-before-transform, wrong object and loop, each from a different real demo."""
    out: list[Episode] = []
    for tt, (ok, bad) in spec.items():
        wins = of_type(demos, tt, 0, ok)
        out += [to_bank(e, bank, episode_id=f"{tag}-{tt}-ok{i}") for i, e in enumerate(wins)]
        src = of_type(demos, tt, 50, bad)
        goal = "use" if tt == "look_at_obj_in_light" else "put"  # the action that completes the goal
        verb = {HEAT: "heat", COOL: "cool", CLEAN: "clean"}.get(tt, "take")
        for i, e in enumerate(src):
            made = (cut_before(e, goal, f"{tag}-{tt}-{goal}{i}") if i % 4 == 0 else
                    cut_before(e, verb, f"{tag}-{tt}-{verb}{i}") if i % 4 == 1 else
                    wrong_object(e, f"{tag}-{tt}-wrong{i}") if i % 4 == 2 else
                    looping(e, f"{tag}-{tt}-loop{i}"))
            out.append(to_bank(made, bank))
    return out


class Recording(OfflineTeacher):
    """The real offline teacher, recording what each reflect() call was shown."""

    def __init__(self, **kw):
        super().__init__(**kw)
        self.seen: list[tuple[str | None, list[str], list[str]]] = []

    def reflect(self, failures, category=None, existing=()):
        self.seen.append((category, [e.episode_id for e in failures], [s.skill_id for s in existing]))
        return super().reflect(failures, category, existing)


def evolver(teacher, emb, **cfg) -> Evolver:
    return Evolver(teacher, EvolutionConfig(**cfg), embedder=emb)


def categories_of(bank: SkillBank) -> dict[str, list[dict]]:
    return {c: [s.to_native() for s in v] for c, v in bank.task_specific.items()}


# ------------------------------------------------------------------ which categories evolve, from which failures


def test_only_categories_below_the_threshold_change(demos, bank, emb):
    eps = batch(demos, bank, {HEAT: (1, 4), COOL: (4, 1), CLEAN: (2, 3), PICK: (3, 1)})
    before = bank.copy()
    teacher = Recording()
    report = evolver(teacher, emb, max_new_skills=3).evolve(bank, eps, step=40)
    assert report.success_rates == {"clean": 0.4, "cool": 0.8, "heat": 0.2, "pick_and_place": 0.75}
    assert report.low_categories == ["heat"]  # 0.4 is not below 0.4
    assert [c for c, _, _ in teacher.seen] == ["heat"]
    assert report.changed and bank.version == before.version + 1
    diff = before.diff(bank)
    assert diff.removed == [] and diff.changed == {}
    assert diff.added and all(bank.get(i).category == "heat" for i in diff.added)
    for cat in before.categories:
        if cat != "heat":
            assert categories_of(bank)[cat] == categories_of(before)[cat], cat
    assert [s.to_native() for s in bank.general] == [s.to_native() for s in before.general]
    # the lessons cite the real failures in their provenance note (issue 13: not in the text the policy reads)
    texts = " ".join(bank.get(i).provenance.note for i in diff.added)
    assert any(e.task[:30] in texts for e in eps if e.category == "heat" and not e.success)


def test_failures_are_sampled_per_category_most_severe_first_and_capped(demos, bank, emb):
    cuts = [cut_before(e, "put", e.episode_id) for e in of_type(demos, HEAT, 60, 80)]
    clean_cuts = sorted((c for c in cuts if failure_severity(c)[1] == 0), key=lambda c: c.num_steps)
    loop = to_bank(looping(of_type(demos, HEAT, 20)[0], "loop"), bank)               # reward 0, repeated actions
    long_cut = to_bank(clean_cuts[-1], bank, episode_id="long")                      # reward 0, long, no repeats
    short_cut = to_bank(clean_cuts[0], bank, episode_id="short")                     # reward 0, short, no repeats
    partial = to_bank(clean_cuts[-2], bank, episode_id="partial", reward=0.5)        # partly solved
    assert long_cut.num_steps > short_cut.num_steps and failure_severity(loop)[1] > 0
    shuffled = [partial, short_cut, loop, long_cut]
    assert [e.episode_id for e in select_failures(shuffled, "heat", 10)] == ["loop", "long", "short", "partial"]
    assert [e.episode_id for e in select_failures(shuffled, "cool", 10)] == []
    # max_shown: what the teacher sees; max_failures: the sample it is taken from
    teacher = Recording()
    report = evolver(teacher, emb, max_shown=2).evolve(bank.copy(), shuffled, step=1)
    assert teacher.seen[0][1] == ["loop", "long"] == report.failures_used["heat"]
    teacher = Recording()
    evolver(teacher, emb, max_failures=1, max_shown=5).evolve(bank.copy(), shuffled, step=1)
    assert teacher.seen[0][1] == ["loop"]
    # per-category caps: two low categories, each teacher call sees only its own failures, at most max_shown
    eps = batch(demos, bank, {HEAT: (0, 7), COOL: (1, 6)})
    teacher = Recording()
    # one category at a time, so the order of the calls is the order they are asked in
    report = evolver(teacher, emb, max_shown=5, max_new_skills=4, max_concurrent_categories=1).evolve(bank, eps, step=2)
    assert [c for c, _, _ in teacher.seen] == ["heat", "cool"]  # lowest success rate first
    for cat, ids, existing in teacher.seen:
        assert len(ids) == 5 and all(i.startswith(f"v-pick_{cat}") for i in ids)
        assert {s[:3] for s in existing} == {"gen", cat[:3]}  # the category's skills + general ones
    # max_new_skills is shared round-robin: neither category takes it all
    touched = Counter(bank.get(i).category for i in report.added + report.refined)
    touched["mistakes"] = len(report.mistakes_added)
    assert sum(touched.values()) == 4 and all(v <= 2 for v in touched.values())
    assert any(r.reason == "over max_new_skills=4" for r in report.rejected)


def test_max_new_skills_caps_the_changes(demos, bank, emb):
    eps = batch(demos, bank, {HEAT: (0, 8)})
    probe = Recording().reflect(select_failures(eps, "heat", 5), "heat", bank.general + bank.task_specific["heat"])
    assert len(probe.value.skills) + len(probe.value.mistakes) >= 3  # the teacher proposes more than the cap
    report = evolver(OfflineTeacher(), emb, max_new_skills=1).evolve(bank, eps, step=3)
    assert len(report.added) + len(report.refined) + len(report.mistakes_added) == 1
    assert [r.reason for r in report.rejected].count("over max_new_skills=1") >= 2
    report0 = evolver(OfflineTeacher(), emb, max_new_skills=0).evolve(bank, eps, step=4)
    assert not report0.changed and report0.triggered


def test_category_cap_evicts_the_least_recently_updated_non_official_skill(demos, bank, emb, shared_data):
    official_path = shared_data / "skillrl-official/memory_data/alfworld/claude_style_skills.json"
    official_heat = [s.skill_id for s in bank.task_specific["heat"]]
    assert len(official_heat) == 5
    first = evolver(OfflineTeacher(), emb, max_new_skills=1, max_skills_per_category=6).evolve(
        bank, batch(demos, bank, {HEAT: (0, 4)}, tag="a"), step=10)
    (new1,) = first.added
    assert first.evicted == [] and len(bank.task_specific["heat"]) == 6
    second = evolver(OfflineTeacher(), emb, max_new_skills=1, max_skills_per_category=6).evolve(
        bank, [to_bank(wrong_object(e, f"b{i}"), bank) for i, e in enumerate(of_type(demos, HEAT, 200, 3))], step=20)
    assert second.evicted == [new1], second  # the evolved skill gives way, the official ones stay
    assert len(bank.task_specific["heat"]) == 6 and all(s in bank for s in official_heat)
    # only official skills in the category: the least recently updated one gives way (ties: smallest id)
    third = evolver(OfflineTeacher(), emb, max_new_skills=1, max_skills_per_category=5).evolve(
        SkillBank.load(official_path), batch(demos, bank, {HEAT: (0, 4)}, tag="c"), step=30)
    assert third.evicted == ["hea_001"] and len(third.added) == 1


def test_provenance_and_history(demos, bank, emb, shared_data):
    eps = batch(demos, bank, {HEAT: (0, 4)})
    report = evolver(OfflineTeacher(), emb, max_new_skills=3).evolve(bank, eps, step=40)
    assert report.added
    for sid in report.added:
        prov = bank.get(sid).provenance
        assert prov.source == "evolve" and prov.step == 40 and prov.teacher == "offline"
        assert prov.episode_ids == report.failures_used["heat"] and prov.note
        assert prov.created_version == bank.version
    for mid in report.mistakes_added:
        assert bank.get_mistake(mid).provenance.episode_ids == report.failures_used["heat"]
    change = bank.history[-1]
    assert change.op == "evolve" and change.version == bank.version and change.meta == {"step": 40, "teacher": "offline"}
    assert {e.item_id for e in change.edits} >= set(report.added)
    official = SkillBank.load(shared_data / "skillrl-official/memory_data/alfworld/claude_style_skills.json")
    assert bank.at_version(report.version_before).to_official() == official.to_official()


def test_nothing_below_the_threshold_means_no_teacher_call(demos, bank, emb):
    teacher = Recording()
    before = bank.to_native()
    report = evolver(teacher, emb).evolve(bank, batch(demos, bank, {HEAT: (3, 1), COOL: (2, 1)}), step=5)
    assert not report.triggered and not report.changed and teacher.seen == [] and bank.to_native() == before


def test_reflexion_failure_transcripts(shared_data, demos, bank, emb):
    path = shared_data / "reflexion" / "alfworld_runs" / "reflexion_few_shot_examples.txt"
    if not path.is_file():
        pytest.skip(f"{path} not found")
    blocks = [b for b in path.read_text().split("\n\n") if "Your task is to:" in b]
    fails = []
    for i, b in enumerate(blocks):
        goal = parse_alfworld_goal(b.split("\n>")[0])
        fails.append(parse_transcript(b, episode_id=f"reflexion-{i}", success=False, source="reflexion",
                                      split="validation", category=ALF.detect_for_bank(goal, bank)))
    assert {e.category for e in fails} == {"heat", "look_at_obj_in_light"}
    eps = fails + batch(demos, bank, {COOL: (2, 0)})
    report = evolver(OfflineTeacher(), emb, max_new_skills=6).evolve(bank, eps, step=50)
    assert report.low_categories == ["heat", "look_at_obj_in_light"]
    mistakes = [bank.get_mistake(m) for m in report.mistakes_added]
    assert any("examine stoveburner 1" in m.provenance.note for m in mistakes)
    lamp = [bank.get(i) for i in report.added if bank.get(i).category == "look_at_obj_in_light"]
    if not lamp:  # known: see the reason below (issue 12, dedup report)
        (rej,) = [r for r in report.rejected if r.title == "Take the object before using the lamp"]
        assert rej.reason.startswith("duplicate of loo_002 (embedding match")
        pytest.xfail("meaning-aware dedup (cosine 0.55 + contrast veto + word overlap >= 0.15 below 0.75) takes this "
                     "lesson for loo_002 (cosine 0.74, overlap 0.17, no lexical contrast); cosine 0.75 alone kept it")
    assert any("'use desklamp 1' before 'take bowl 2 from desk 2'" in s.provenance.note for s in lamp)


# ------------------------------------------------------------------ an LLM teacher over real HTTP


def _proposals_for(req: RecordedRequest) -> Reply:
    user = req.json["messages"][-1]["content"]
    cat = user.split("Task category: ", 1)[1].split("\n", 1)[0]
    return chat_reply(json.dumps({"skills": [
        {"title": f"Check the {cat} appliance first", "principle": f"Before searching in a {cat} task, look at the "
         "appliance you will need and open it if it is closed.", "tier": "task_specific", "rationale": "4 failures"},
        {"action": "refine", "skill_id": "hea_003", "title": "Heat without opening",
         "principle": "Go to the microwave holding the object and run the heat command; opening it is not needed.",
         "tier": "task_specific"}],
        "mistakes": [{"description": f"Placing the object before it is processed ({cat})",
                      "why_it_happens": "the agent skips a step", "how_to_avoid": "Process the object first."}]}),
        prompt_tokens=1000, completion_tokens=200)


def test_openai_teacher_sees_the_real_failures_and_its_answer_is_applied(demos, bank, emb):
    eps = batch(demos, bank, {HEAT: (1, 4), COOL: (3, 0)})
    with OpenAICompatServer(default=_proposals_for) as srv:
        teacher = OpenAITeacher("test-model", base_url=srv.url, api_key="x", timeout=5, max_retries=0)
        report = evolver(teacher, emb, max_new_skills=3).evolve(bank, eps, step=60)
    (req,) = srv.requests
    user = req.json["messages"][1]["content"]
    shown = [e for e in eps if e.episode_id in report.failures_used["heat"]]
    assert len(shown) == 4
    for ep in shown:  # the real task text, actions and observations, not placeholders
        assert ep.episode_id in user and f"Task: {ep.task}" in user
        assert f"> {ep.actions[0]}" in user and ep.steps[0].observation[:50] in user
    assert "hea_003" in user and "gen_001" in user and "coo_001" not in user
    assert report.tokens == 1200 and report.teacher == "openai:test-model"
    (added,) = report.added
    assert bank.get(added).category == "heat" and bank.get(added).provenance.teacher == "openai:test-model"
    assert report.refined == ["hea_003"] and bank.get("hea_003").title == "Heat without opening"
    assert bank.get("hea_003").provenance.step == 60 and report.mistakes_added


def test_dedup_rejects_a_paraphrase_but_not_another_categorys_skill(demos, bank, emb):
    coo_002 = bank.get("coo_002")  # generic advice the cool category has and the heat category lacks
    paraphrase_of_hea_005 = ("Go straight to the destination after heating",
                             "Once the object is heated, navigate directly to the specified destination and place it "
                             "once, without extra exploration or detours.")
    answer = json.dumps({"skills": [{"title": t, "principle": p, "tier": "task_specific"}
                                    for t, p in (paraphrase_of_hea_005, (coo_002.title, coo_002.principle))]})
    with OpenAICompatServer([chat_reply(answer)]) as srv:
        teacher = OpenAITeacher("m", base_url=srv.url, api_key="x", timeout=5, max_retries=0)
        report = evolver(teacher, emb).evolve(bank, batch(demos, bank, {HEAT: (0, 3)}), step=70)
    (rej,) = report.rejected
    assert rej.title == paraphrase_of_hea_005[0] and rej.reason.startswith("duplicate of hea_005 (embedding match")
    # the cool category's skill, word for word, is still added to heat: dedup looks at heat + general only
    (added,) = report.added
    new = bank.get(added)
    assert (new.title, new.principle, new.category) == (coo_002.title, coo_002.principle, "heat")
    assert "coo_002" in bank and bank.get("coo_002").category == "cool"


# ------------------------------------------------------------------ faults leave the bank exactly as it was


def _faulty_server(kind: str) -> OpenAICompatServer:
    if kind == "timeout":
        return OpenAICompatServer(default=lambda r: chat_reply('{"skills": []}', delay=1.5))
    if kind == "429":
        return OpenAICompatServer(default=lambda r: error_reply(429, "rate limited", headers={"Retry-After": "0"}))
    return OpenAICompatServer(default=lambda r: chat_reply("Sure! {skills: [oops"))


@pytest.mark.parametrize("kind, message", [("timeout", "timed out after 0.5 s"), ("429", "HTTP 429"),
                                           ("invalid", "no valid JSON after one repair")])
def test_teacher_faults_leave_the_bank_unchanged(demos, bank, emb, kind, message):
    eps = batch(demos, bank, {HEAT: (0, 3)})
    before = bank.to_native()
    with _faulty_server(kind) as srv:
        teacher = OpenAITeacher("m", base_url=srv.url, api_key="x", timeout=0.5, max_retries=1)
        report = evolver(teacher, emb).evolve(bank, eps, step=80)
    assert bank.to_native() == before and not report.changed
    assert report.triggered and report.error is None
    (err,) = report.errors
    assert err.startswith("heat: teacher failed") and message in err, err
    assert len(srv.requests) == 2  # one retry (429, timeout) or one repair call (invalid JSON)


def test_an_exception_inside_reflect_or_while_applying_leaves_the_bank_unchanged(demos, bank, emb):
    class Broken(OfflineTeacher):
        def reflect(self, failures, category=None, existing=()):
            raise RuntimeError("the teacher crashed")

    eps = batch(demos, bank, {HEAT: (0, 4)})
    before = bank.to_native()
    report = evolver(Broken(), emb).evolve(bank, eps, step=90)
    assert report.error == "RuntimeError: the teacher crashed" and bank.to_native() == before

    calls = []

    def accept(skill, ctx):  # a plugin that fails on its second call, after one skill went in
        calls.append(skill.skill_id)
        if len(calls) == 2:
            raise ValueError("plugin bug")
        return None  # accepted

    ev = Evolver(OfflineTeacher(), EvolutionConfig(max_new_skills=5), embedder=emb, accept=accept)
    report = ev.evolve(bank, eps, step=91)
    assert len(calls) == 2 and report.error == "ValueError: plugin bug"
    assert report.added == [] and bank.to_native() == before and bank.version == report.version_before


# ------------------------------------------------------------------ the runtime: evolve only from the named split


def test_runtime_evolves_only_from_the_evolve_split(demos, bank, emb):
    teacher = Recording()
    rt = SkillRuntime(bank, mode="template", profile="alfworld", teacher=teacher, embedder=emb,
                      evolution=EvolutionConfig(max_new_skills=2), evolve_split="evolve", load_entry_points=False)
    reported = batch(demos, bank, {HEAT: (1, 4), COOL: (4, 1)}, tag="val")
    held_out = [e.model_copy(update={"split": "evolve"}) for e in batch(demos, bank, {HEAT: (0, 3)}, tag="evo")]
    rt.record(reported, split="validation")
    rt.record(held_out, split="evolve")
    v0 = bank.version
    assert rt.after_validation(step=100, split="validation") is None
    assert bank.version == v0 and teacher.seen == []
    report = rt.after_validation(step=100, split="evolve")
    assert report is not None and report.changed and bank.version == v0 + 1
    used = report.failures_used["heat"]
    assert used and all(i.startswith("evo-") for i in used) and teacher.seen[0][1] == used
    assert [v["split"] for v in rt.validations] == ["validation", "evolve"]
    assert rt.validations[0]["success_rates"] == {"cool": 0.8, "heat": 0.2}
    assert rt.pending("evolve") == [] and rt.reports == [report]


# ------------------------------------------------------------------ CLI


def test_cli_evolve_writes_a_new_version(demos, bank, tmp_path, monkeypatch):
    from typer.testing import CliRunner

    from skillrl.cli import app
    from skillrl.episode import save_episodes

    src = tmp_path / "official.json"
    bank.save(src, format="official")
    raw = [e.model_copy(update={"category": ALF.detect(e.task)}) for e in batch(demos, bank, {HEAT: (1, 4), COOL: (3, 1)})]
    assert {e.category for e in raw} == {HEAT, COOL}  # task types, mapped by --profile
    eps_file = tmp_path / "val.jsonl"
    save_episodes(eps_file, raw)
    out = tmp_path / "evolved.json"
    runner = CliRunner()
    res = runner.invoke(app, ["evolve", str(src), str(eps_file), "--teacher", "offline", "--step", "7", "-o", str(out),
                              "--profile", "alfworld", "--exact-dedup", "--json"])
    assert res.exit_code == 0, res.output
    doc = json.loads(res.stdout)
    rep = doc["report"]
    assert rep["low_categories"] == ["heat"] and rep["step"] == 7 and doc["wrote"] == str(out)
    new = SkillBank.load(out)
    assert new.version == 1 and new.history[-1].op == "evolve" and set(rep["added"]) <= {s.skill_id for s in new.skills()}
    assert SkillBank.load(src).to_official() == bank.to_official()  # the input is untouched with -o
    # in place: the official file stays official
    res = runner.invoke(app, ["evolve", str(src), str(eps_file), "--profile", "alfworld", "--exact-dedup"])
    assert res.exit_code == 0, res.output
    assert "heat" in res.stdout and "wrote" in res.stdout
    in_place = json.loads(src.read_text())
    assert "format" not in in_place and len(in_place["task_specific_skills"]["heat"]) > 5
    # a teacher that cannot be reached: exit 1, nothing written
    before = src.read_text()
    res = runner.invoke(app, ["evolve", str(src), str(eps_file), "--profile", "alfworld", "--exact-dedup",
                              "--teacher", "openai:m", "--base-url", "http://127.0.0.1:9/v1"])
    assert res.exit_code == 1 and "teacher failed" in res.stdout and src.read_text() == before
