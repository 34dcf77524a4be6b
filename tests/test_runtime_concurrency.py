"""Training never waits on the teacher (issue 10, part 2).

Evolution runs on a snapshot of the bank outside the runtime's lock and commits under it only if the bank did not
move; the teacher phase of a step has one wall-time budget (``EvolutionConfig.max_seconds``) with categories asked
concurrently; the OpenRLHF bank actor is a threaded Ray actor that serves ``augment`` while ``end_validation`` is
inside the teacher. The slow and hanging teachers are a real HTTP server on 127.0.0.1 (tests/httpserver.py) behind
the real ``OpenAITeacher``; its answers are held until the test releases them, so "during the teacher call" is a
fact of the test, not a guess about timing. Failures are real ALFWorld expert demonstrations cut before their goal
action (tests/test_evolve.py).
"""

from __future__ import annotations

import sys
import threading
import time
import uuid
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from httpserver import OpenAICompatServer, RecordedRequest, Reply  # noqa: E402
from test_evolve import CLEAN, COOL, HEAT, _proposals_for, batch, bank, demos, emb  # noqa: E402,F401

from skillrl import hookimpl  # noqa: E402
from skillrl.evolve import EvolutionConfig, Evolver  # noqa: E402
from skillrl.runtime import SkillRuntime  # noqa: E402
from skillrl.skill import Skill  # noqa: E402
from skillrl.teachers import OfflineTeacher, OpenAITeacher  # noqa: E402

GOALS = ["put a hot apple in fridge.", "clean some mug and put it in coffeemachine.",
         "look at bowl under the desklamp.", "find two pillow and put them in sofa.",
         "cool some egg and put it in microwave.", "put a clean cloth in bathtubbasin."]
WAIT = 60.0  # upper bound of any wait in these tests (a regression fails instead of hanging)
HOLD = 5 * WAIT  # the longest the server holds an answer (and the slow teachers' timeout): outlasts every WAIT


class HeldServer(OpenAICompatServer):
    """The OpenAI-compatible test server, holding every chat answer until :meth:`release` (or forever)."""

    def __init__(self, answer=_proposals_for):
        self.released = threading.Event()
        self.in_flight = 0
        self.max_in_flight = 0
        self._count = threading.Lock()

        def held(req: RecordedRequest) -> Reply:
            with self._count:
                self.in_flight += 1
                self.max_in_flight = max(self.max_in_flight, self.in_flight)
            self.released.wait(HOLD)
            with self._count:
                self.in_flight -= 1
            return answer(req)

        super().__init__(default=held)

    def release(self) -> None:
        self.released.set()

    def wait_for_requests(self, n: int) -> None:
        t0 = time.monotonic()
        while len(self.requests) < n:
            assert time.monotonic() - t0 < WAIT, f"the teacher made {len(self.requests)} of {n} requests"
            time.sleep(0.01)

    def stop(self) -> None:
        self.release()
        super().stop()


class BankChanges:
    """Plugin recording ``skillrl_bank_changed``."""

    def __init__(self):
        self.seen: list[tuple[int, int]] = []

    @hookimpl
    def skillrl_bank_changed(self, bank, old_version, new_version):
        self.seen.append((old_version, new_version))


def _teacher(srv: OpenAICompatServer, **kw) -> OpenAITeacher:
    return OpenAITeacher("test-model", base_url=srv.url, api_key="x", **kw)


def _in_thread(fn, *args, **kwargs):
    out: dict = {}

    def run():
        try:
            out["value"] = fn(*args, **kwargs)
        except BaseException as err:  # noqa: BLE001 - handed to the test
            out["error"] = err

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread, out


def test_augment_is_served_from_other_threads_while_the_teacher_is_asked(demos, bank, emb):
    changes = BankChanges()
    rt = SkillRuntime(bank, mode="embedding", profile="alfworld", embedder=emb, load_entry_points=False,
                      plugins=[changes], teacher=None, evolution=EvolutionConfig(max_new_skills=3))
    rt.augment([f"Your task is to: {GOALS[0]}"])  # index the bank before the clock matters
    v0 = bank.version
    rt.record(batch(demos, bank, {HEAT: (1, 4), COOL: (3, 0)}), split="validation")
    with HeldServer() as srv:
        rt.teacher = _teacher(srv, timeout=HOLD, max_retries=0)
        evolution, result = _in_thread(rt.after_validation, step=5)
        srv.wait_for_requests(1)  # the teacher call is in flight, its answer held
        served: list = []

        def rollouts(offset: int) -> None:
            for i in range(12):
                goal = GOALS[(offset + i) % len(GOALS)]
                served.append(rt.augment([[{"role": "user", "content": f"Your task is to: {goal}"}]])[0])

        workers = [threading.Thread(target=rollouts, args=(k,), daemon=True) for k in range(4)]
        for w in workers:
            w.start()
        until = time.monotonic() + WAIT
        for w in workers:
            w.join(max(0.0, until - time.monotonic()))
        assert not any(w.is_alive() for w in workers), "augment waited for the teacher"
        assert evolution.is_alive() and not srv.released.is_set() and len(srv.requests) == 1
        assert len(served) == 48 and {a.bank_version for a in served} == {v0}
        assert any(a.skill_ids for a in served) and bank.version == v0
        srv.release()
        evolution.join(WAIT)
    assert not evolution.is_alive() and "error" not in result
    report = result["value"]
    assert report.error is None and report.conflict is None and report.changed
    assert report.version_before == v0 and report.version_after == bank.version == v0 + 1
    assert rt.bank is bank and report.added and all(i in bank for i in report.added)
    assert changes.seen == [(v0, v0 + 1)]
    assert rt.augment([f"Your task is to: {GOALS[0]}"])[0].bank_version == v0 + 1  # the cache followed


def test_a_hanging_endpoint_ends_the_step_within_its_budget_with_the_bank_unchanged(demos, bank):
    budget = 2.0
    rt = SkillRuntime(bank, mode="template", profile="alfworld", load_entry_points=False,
                      evolution=EvolutionConfig(max_seconds=budget, max_concurrent_categories=2))
    before = bank.to_native()
    rt.record(batch(demos, bank, {HEAT: (0, 3), COOL: (0, 3), CLEAN: (1, 3)}), split="validation")
    with HeldServer() as srv:  # never answers while the step runs
        rt.teacher = _teacher(srv)  # the defaults: 60 s per request, 3 retries
        t0 = time.monotonic()
        evolution, result = _in_thread(rt.after_validation, step=9)
        evolution.join(budget + WAIT)
        seconds = time.monotonic() - t0
        assert not evolution.is_alive(), "the step did not end"
        # two categories asked at once (one after the other, the second would never be reached), the third queued
        # and never asked (requests seen later are the abandoned calls' own retries)
        asked = {r.json["messages"][-1]["content"].split("Task category: ", 1)[1].split("\n", 1)[0]
                 for r in srv.requests}
        assert asked == {"heat", "cool"}, asked
    report = result["value"]
    assert seconds < budget + 5.0, seconds  # the budget, plus thread and filing overhead on a loaded machine
    assert report.low_categories == ["cool", "heat", "clean"]  # lowest success rate first (ties by name)
    assert report.timed_out == ["cool", "heat", "clean"] and not report.changed and report.error is None
    assert bank.to_native() == before and rt.bank is bank
    assert [e.split(":")[0] for e in report.errors] == ["cool", "heat", "clean"]
    assert "no answer, abandoned" in report.errors[0] and "never asked" in report.errors[2]
    assert f"max_seconds={budget:g} s" in report.errors[0] and "out of time: cool,heat,clean" in report.summary()


def test_a_bank_replaced_during_the_teacher_call_is_a_reported_conflict_not_a_lost_edit(demos, bank):
    changes = BankChanges()
    rt = SkillRuntime(bank, mode="template", profile="alfworld", load_entry_points=False, plugins=[changes])
    other = bank.copy()
    other.add(Skill(skill_id="gen_900", title="Check twice", principle="Look at the goal before acting."))
    other.add(Skill(skill_id="gen_901", title="Check thrice", principle="Look at the room before acting."))
    rt.record(batch(demos, bank, {HEAT: (0, 4)}), split="validation")
    with HeldServer() as srv:
        rt.teacher = _teacher(srv, timeout=HOLD, max_retries=0)
        evolution, result = _in_thread(rt.after_validation, step=11)
        srv.wait_for_requests(1)
        rt.load_state_dict({"bank": other.to_native()})  # e.g. a broadcast of another rank's bank, v2
        srv.release()
        evolution.join(WAIT)
    report = result["value"]
    assert rt.bank.to_native() == other.to_native() and rt.bank.version == 2  # the other change is kept whole
    assert report.conflict and "replaced" in report.conflict and report.error.startswith("conflict: ")
    assert not report.changed and report.version_after == report.version_before == 0
    assert report.added == [] and report.refined == [] and report.mistakes_added == []
    dropped = [r for r in report.rejected if r.reason.startswith("not applied: ")]
    assert {r.title for r in dropped} >= {"Check the heat appliance first", "Heat without opening"}
    assert changes.seen == [(0, 2)]  # load_state_dict's change only; the evolution fired nothing
    assert rt.reports == [report]  # load_state_dict reset the reports; the conflict is recorded after it


def test_an_in_place_edit_during_the_teacher_call_is_a_conflict_and_stays(demos, bank):
    rt = SkillRuntime(bank, mode="template", profile="alfworld", load_entry_points=False)
    rt.record(batch(demos, bank, {HEAT: (0, 4)}), split="validation")
    with HeldServer() as srv:
        rt.teacher = _teacher(srv, timeout=HOLD, max_retries=0)
        evolution, result = _in_thread(rt.after_validation, step=12)
        srv.wait_for_requests(1)
        bank.add(Skill(skill_id="gen_902", title="Mind the door", principle="Open closed receptacles first."))
        edited = bank.to_native()
        srv.release()
        evolution.join(WAIT)
    report = result["value"]
    assert "moved from v0 to v1" in report.conflict and not report.changed
    assert bank.to_native() == edited and bank.version == 1 and "gen_902" in bank


def test_without_interference_the_commit_equals_evolving_in_place(demos, bank, emb):
    """The snapshot path gives the bank exactly what evolving it in place gives: same records, one version."""
    eps = batch(demos, bank, {HEAT: (0, 4), COOL: (1, 3)})
    in_place = bank.copy()
    Evolver(OfflineTeacher(), EvolutionConfig(max_new_skills=4), embedder=emb).evolve(in_place, eps, step=3)
    rt = SkillRuntime(bank, mode="template", profile="alfworld", load_entry_points=False, embedder=emb,
                      teacher=OfflineTeacher(), evolution=EvolutionConfig(max_new_skills=4))
    report = rt.after_validation(step=3, episodes=eps)
    assert report.changed and bank.version == in_place.version == 1 and len(bank.history) == 1
    assert bank.diff(in_place).empty and bank.to_official() == in_place.to_official()
    assert bank.history[-1].op == "evolve" and bank.history[-1].meta == {"step": 3, "teacher": "offline"}
    assert [e.item_id for e in bank.history[-1].edits] == [e.item_id for e in in_place.history[-1].edits]
    assert bank.at_version(0).to_official() == in_place.at_version(0).to_official()


class Sleepy(OfflineTeacher):
    """The offline teacher, slowed down, counting calls in flight and recording the deadline it was given."""

    def __init__(self, seconds: float):
        super().__init__()
        self.seconds, self.now, self.most, self.deadlines = seconds, 0, 0, []
        self._n = threading.Lock()

    def reflect(self, failures, category=None, existing=(), *, deadline=None):
        with self._n:
            self.now += 1
            self.most = max(self.most, self.now)
            self.deadlines.append(deadline)
        time.sleep(self.seconds)
        with self._n:
            self.now -= 1
        return super().reflect(failures, category, existing)


@pytest.mark.parametrize("bound", [1, 2])
def test_categories_are_asked_concurrently_within_the_bound(demos, bank, emb, bound):
    eps = batch(demos, bank, {HEAT: (0, 3), COOL: (0, 3), CLEAN: (0, 3)})
    teacher = Sleepy(0.3)
    t0 = time.monotonic()
    report = Evolver(teacher, EvolutionConfig(max_concurrent_categories=bound, max_seconds=WAIT),
                     embedder=emb).evolve(bank, eps, step=4)
    assert teacher.most == bound and len(teacher.deadlines) == 3
    assert all(t0 + WAIT <= d <= time.monotonic() + WAIT for d in teacher.deadlines)  # the step's one deadline
    assert report.timed_out == [] and report.changed and report.error is None


def test_each_teacher_call_gets_the_time_left(demos, bank):
    failures = [e for e in batch(demos, bank, {HEAT: (0, 2)})]
    with HeldServer() as srv:
        teacher = _teacher(srv, timeout=HOLD, max_retries=0)
        t0 = time.monotonic()
        answer = teacher.reflect(failures, "heat", bank.general, deadline=time.monotonic() + 1.0)
        seconds = time.monotonic() - t0
        assert len(srv.requests) == 1
        late = teacher.reflect(failures, "heat", bank.general, deadline=time.monotonic() - 0.1)
        assert len(srv.requests) == 1  # past the deadline: no request at all
    assert answer.value is None and "request timed out after 0." in answer.error, answer.error  # ~1 s, not 60
    assert seconds < WAIT / 2, seconds  # the 1 s left, not the teacher's 60 s
    assert late.value is None and late.error.startswith("out of time")


# ------------------------------------------------------------------ the OpenRLHF bank actor under a real Ray


def _as_record(ep) -> dict:
    return {"task": ep.task, "steps": [s.model_dump() for s in ep.steps], "reward": ep.reward,
            "success": ep.success, "category": ep.category, "split": "validation"}


@pytest.mark.ray
def test_the_ray_bank_actor_serves_augment_while_end_validation_is_inside_the_teacher(demos, bank, shared_data):
    ray = pytest.importorskip("ray")
    from skillrl.adapters import openrlhf as orl

    srv = HeldServer().start()
    ray.init(num_cpus=2, include_dashboard=False, namespace="skillrl-tests-concurrency",
             runtime_env={"env_vars": {"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1",
                                       "TOKENIZERS_PARALLELISM": "false", "OPENAI_BASE_URL": srv.url,
                                       "OPENAI_API_KEY": "x"}})
    try:
        config = orl.SkillRLConfig(bank=str(shared_data / "skillrl-official/memory_data/alfworld/"
                                            "claude_style_skills.json"),
                                   mode="template", profile="alfworld", teacher="openai:test-model",
                                   actor_name=f"skillrl_concurrency_{uuid.uuid4().hex[:6]}")
        actor = orl.get_bank_actor(config)
        v0 = ray.get(actor.begin_validation.remote(3))
        for i, ep in enumerate(batch(demos, bank, {HEAT: (0, 3)})):
            ray.get(actor.record.remote(_as_record(ep), prompt=f"p{i}", label=f"l{i}"))
        closing = actor.end_validation.remote(3, [])
        srv.wait_for_requests(1)  # end_validation is inside the teacher call
        served = [ray.get(actor.augment.remote(f"Your task is to: {goal}"), timeout=WAIT) for goal in GOALS]
        ready, _ = ray.wait([closing], timeout=0)
        assert ready == [] and not srv.released.is_set()  # still inside the teacher while augment was served
        assert {s["bank_version"] for s in served} == {v0} and {s["split"] for s in served} == {"train"}
        assert ray.get(actor.info.remote(), timeout=WAIT)["phase"] == "train"
        srv.release()
        summary = ray.get(closing, timeout=WAIT)
        assert summary["evolution"]["error"] is None and summary["bank_version"] == v0 + 1
        assert ray.get(actor.augment.remote("Your task is to: put a hot apple in fridge."))["bank_version"] == v0 + 1
    finally:
        srv.stop()
        ray.shutdown()
