"""skillrl.adapters.agent and examples/inference_alfworld.py: skills for inference agents, with real policies and ALFWorld.

The policies are real: a tiny local transformers model (skillrl.testing) and an OpenAI-compatible HTTP server on
127.0.0.1 (tests/httpserver.py) that parses the admissible commands from the request and answers one of them.
The example plays real ALFWorld games (skipped without the alfworld package or the shared data).
"""

from __future__ import annotations

import ast
import importlib.util
import json
import re
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from httpserver import OpenAICompatServer, RecordedRequest, chat_reply, error_reply

from skillrl.adapters.agent import (
    DEFAULT_SYSTEM_PROMPT,
    OpenAIChatPolicy,
    PolicyError,
    SkillAgentMemory,
    SkillSession,
    admissible_text,
    choose_admissible,
)
from skillrl import hookimpl
from skillrl.bank import SkillBank
from skillrl.episode import Episode, load_alfworld_demos
from skillrl.errors import SkillRLError
from skillrl.render import DEFAULT_FRAME
from skillrl.runtime import SkillRuntime

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "inference_alfworld.py"
ROOM = ("-= Welcome to TextWorld, ALFRED! =-\n\nYou are in the middle of a room. Looking quickly around you, you see "
        "a cabinet 1, a countertop 1, a fridge 1, a microwave 1, and a sinkbasin 1.\n\n")
ADMISSIBLE = ["go to cabinet 1", "go to countertop 1", "go to fridge 1", "go to microwave 1", "inventory", "look"]


@pytest.fixture()
def bank_path(shared_data: Path) -> Path:
    return shared_data / "skillrl-official/memory_data/alfworld/claude_style_skills.json"


@pytest.fixture(scope="module")
def demos(shared_data: Path) -> list[Episode]:
    return load_alfworld_demos(shared_data / "alfworld/expert_demos_train.jsonl", progress=False)



def load_example():
    spec = importlib.util.spec_from_file_location("inference_alfworld_example", EXAMPLE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# ------------------------------------------------------------------ choosing an admissible command


@pytest.mark.parametrize("reply, action, how", [
    ("go to fridge 1", "go to fridge 1", "exact"),
    ("Go to Fridge 1.", "go to fridge 1", "exact"),
    ("<think>the apple may be cold</think>\n<action>go to microwave 1</action>", "go to microwave 1", "exact"),
    ("Thought: look first.\nAction: look", "look", "exact"),
    ("> inventory", "inventory", "exact"),
    ("go to fridg 1", "go to fridge 1", "mapped"),
    # issue 14: no mapping from a sentence that merely contains a command, nor from an empty reply
    ("I should go to cabinet 1 now and open it", "I should go to cabinet 1 now and open it", "invalid"),
    ("", "", "invalid"),
])
def test_replies_map_to_admissible_commands(reply, action, how):
    choice = choose_admissible(reply, ADMISSIBLE)
    assert (choice.action, choice.how) == (action, how)


def test_numbers_are_never_changed_and_no_list_sends_the_parsed_reply():
    adm = ["go to desk 1", "go to desk 10", "take pen 1 from desk 1"]
    assert choose_admissible("go to desk 10", adm).action == "go to desk 10"
    assert choose_admissible("go to desk 11", adm).how == "invalid"
    assert choose_admissible("Action: open drawer 3", []).action == "open drawer 3"  # no list: the parsed reply


# ------------------------------------------------------------------ the memory and sessions


def test_skills_and_sessions_place_what_the_runtime_injects(bank_path):
    memory = SkillAgentMemory(bank_path, mode="template", profile="alfworld")
    runtime = SkillRuntime(bank_path, mode="template", profile="alfworld")
    task = "put a hot apple in fridge."
    block = memory.skills(task)
    assert block.text == runtime.skills_for(task).block.text
    assert block.text.startswith(DEFAULT_FRAME + "\n### General Principles")
    assert any(i.startswith("hea_") for i in block.skill_ids)
    assert memory.message(task) == {"role": "system", "content": block.text}
    assert memory.skills(task, observation="On the fridge 1, you see nothing.") == block  # template: category only

    session = memory.start(ROOM + f"Your task is to: {task}", max_history_turns=1)
    assert session.task == task and session.category == "heat" and session.skill_ids == block.skill_ids
    assert session.prompt[0] == {"role": "system", "content": DEFAULT_SYSTEM_PROMPT}
    assert session.prompt[1]["content"] == f"{block.text}\n\n{ROOM}Your task is to: {task}"  # user_prefix
    session.step("go to fridge 1", "The fridge 1 is closed.")
    session.step("open fridge 1", "You open the fridge 1. The fridge 1 is open. In it, you see an egg 1.")
    msgs = session.messages(ADMISSIBLE)
    assert [m["role"] for m in msgs] == ["system", "user", "assistant", "user"]  # only the last turn kept
    assert msgs[2]["content"] == "open fridge 1"
    assert msgs[3]["content"].endswith("\n\n" + admissible_text(ADMISSIBLE))
    assert "Your admissible actions" not in session.messages()[-1]["content"]
    ep = session.finish(success=False, game_id="g1")
    assert (ep.category, ep.success, ep.reward, ep.actions) == ("heat", False, 0.0, ["go to fridge 1", "open fridge 1"])
    assert ep.skill_ids == list(block.skill_ids) and ep.metadata["game_id"] == "g1"

    bare = memory.start(ROOM + f"Your task is to: {task}", use_skills=False)
    assert bare.block is None and bare.prompt[1]["content"] == ROOM + f"Your task is to: {task}"
    assert bare.finish(success=True).skill_ids == []
    with pytest.raises(ValueError, match="no task"):
        memory.start("You are in the middle of a room.")
    with pytest.raises(ValueError, match="non-empty"):
        memory.skills("  ")


def test_sessions_finish_through_the_runtime_episode_builder(bank_path):
    class RuntimeWatch:
        """A plugin on the memory's runtime: counts the category detections the runtime asks for."""

        def __init__(self):
            self.tasks = []

        @hookimpl
        def skillrl_detect_category(self, task, bank):
            self.tasks.append(task)
            return None  # fall through to the profile

    watch = RuntimeWatch()
    memory = SkillAgentMemory(bank_path, mode="template", profile="alfworld", plugins=[watch], load_entry_points=False)
    task = "put a hot apple in fridge."
    session = memory.start(ROOM + f"Your task is to: {task}", episode_id="e1")
    ep = session.finish(success=True, game_id="g1")
    # what only SkillRuntime.episode adds: the injected mistakes' ids from the augmentation
    assert ep.metadata["mistake_ids"] == list(session.block.mistake_ids) and session.block.mistake_ids
    assert (ep.episode_id, ep.source, ep.split, ep.category) == ("e1", "skillrl-agent", "inference", "heat")
    bare = memory.start(ROOM + f"Your task is to: {task}", use_skills=False)
    n = len(watch.tasks)
    bare_ep = bare.finish(success=False)
    # the runtime detects the bare episode's category with the same hook (the session showed no skills)
    assert watch.tasks[n:] == [task] and bare_ep.category == "heat" and bare.category is None
    assert bare_ep.skill_ids == [] and bare_ep.metadata["with_skills"] is False
    with pytest.raises(SkillRLError, match="needs the session's memory"):
        SkillSession(ROOM + f"Your task is to: {task}").finish(success=True)


def test_embedding_mode_adds_the_observation_to_the_query(bank_path, embedder):
    from skillrl.embedders import CachedEmbedder

    emb = CachedEmbedder(embedder)  # shared: the bank is embedded once for both runtimes
    memory = SkillAgentMemory(bank_path, profile="alfworld", embedder=emb)  # the runtime's default mode
    task = "put a hot apple in fridge."
    plain = memory.skills(task)
    assert plain == SkillRuntime(bank_path, profile="alfworld", embedder=emb).skills_for(task).block
    aug = memory.lookup(task, observation="You arrive at the microwave 1. The microwave 1 is closed.")
    assert aug.category == "heat"  # detected from the task, not the observation
    bank = SkillBank.load(bank_path)
    task_specific = [i for i in aug.skill_ids if bank.get(i).tier == "task_specific"]
    assert task_specific and all(bank.get(i).category == "heat" for i in task_specific)


def test_record_evolves_the_bank_every_n_episodes(bank_path, demos):
    with pytest.raises(ValueError, match="needs a teacher"):
        SkillAgentMemory(bank_path, mode="template", profile="alfworld", evolve_every=2)
    with pytest.raises(SkillRLError, match="needs a teacher"):
        SkillAgentMemory(bank_path, mode="template", profile="alfworld").evolve()
    memory = SkillAgentMemory(bank_path, mode="template", profile="alfworld", teacher="offline", evolve_every=4)
    heat = [d for d in demos if d.category == "pick_heat_then_place_in_recep"][:4]
    assert len(heat) == 4
    reports = []
    for demo in heat:  # the real demonstration, stopped before its "heat" action: a failure of the heat category
        session = memory.start(demo.initial_observation)
        cut = next(i for i, a in enumerate(demo.actions) if a.startswith("heat "))
        for st in demo.steps[:cut]:
            session.step(st.action, st.observation)
        reports.append(memory.record(session.finish(success=False)))
    assert reports[:3] == [None, None, None]
    report = reports[3]
    assert report is not None and report.error is None, report
    assert report.low_categories == ["heat"] and report.changed, report.summary()
    assert memory.bank.version == report.version_after > 0
    changed = memory.bank.at_version(0).diff(memory.bank)
    assert {memory.bank.get(i).category for i in changed.added + list(changed.changed)} <= {"heat", None}
    assert memory.success_rates() == {"heat": {"episodes": 4, "successes": 0, "rate": 0.0}}
    assert memory.evolve() is None  # nothing recorded since
    with pytest.raises(TypeError, match="Episode"):
        memory.record({"task": "x"})


# ------------------------------------------------------------------ policies


def test_hf_policy_chooses_an_admissible_command_reproducibly(tiny_model):
    from skillrl.adapters.agent import HFChatPolicy

    policy = HFChatPolicy(tiny_model, max_new_tokens=6, temperature=1.0)
    msgs = [{"role": "user", "content": ROOM + "Your task is to: put a hot apple in fridge."}]
    runs = []
    for _ in range(2):
        policy.set_seed(7)
        runs.append([policy.act(msgs, ADMISSIBLE) for _ in range(3)])
    assert runs[0] == runs[1]
    # a random model's replies are mostly invalid actions: sent as written and counted so, never mapped silently
    assert (policy.last_choice.action in ADMISSIBLE) == policy.last_choice.valid
    assert sum(policy.choices.values()) == 6 and policy.usage["calls"] == 6
    with pytest.raises(PolicyError, match="cannot load"):
        HFChatPolicy(Path(tiny_model).parent / "missing")


def test_openai_policy_talks_to_a_real_local_server():
    with OpenAICompatServer([chat_reply("I will heat it.\n<action>go to microwave 1</action>"),
                             error_reply(500, "boom")]) as srv:
        policy = OpenAIChatPolicy("served-model", base_url=srv.url, max_retries=0, max_tokens=32)
        policy.set_seed(3)
        msgs = [{"role": "user", "content": "Your task is to: heat some egg."}]
        assert policy.act(msgs, ADMISSIBLE) == "go to microwave 1"
        body = srv.requests[0].json
        assert body["model"] == "served-model" and body["messages"] == msgs
        assert (body["seed"], body["max_tokens"], body["temperature"]) == (3, 32, 0.0)
        assert policy.usage["calls"] == 1 and policy.usage["prompt_tokens"] == 10
        with pytest.raises(PolicyError, match="HTTP 500"):
            policy.act(msgs, ADMISSIBLE)
    with pytest.raises(PolicyError, match="cannot connect"):
        OpenAIChatPolicy("m", base_url=srv.url, max_retries=0, timeout=2).act(msgs, ADMISSIBLE)


# ------------------------------------------------------------------ the example, on real ALFWorld


@pytest.fixture(scope="module")
def alfworld_ready(shared_data: Path) -> Path:
    pytest.importorskip("alfworld", reason="playing ALFWorld needs the alfworld package")
    path = shared_data / "alfworld"
    if not (path / "json_2.1.1" / "valid_seen").is_dir():
        pytest.skip(f"ALFWorld games not found under {path}")
    return path


def check_result(result: dict, out_dir: Path, games: int) -> None:
    saved = json.loads((out_dir / "inference_alfworld.json").read_text())
    assert saved["per_category"] == result["per_category"] and len(saved["games"]) == games
    assert (out_dir / "inference_alfworld.png").stat().st_size > 5_000
    for cond in ("without_skills", "with_skills"):  # the same games under both conditions
        assert [e["game_id"] for e in saved["episodes"] if e["condition"] == cond] == saved["games"]
    for row in saved["per_category"].values():
        assert set(row) == {"games", "without_skills", "with_skills"} and row["games"] >= 1
    for e in saved["episodes"]:
        assert bool(e["skill_ids"]) == (e["condition"] == "with_skills")
        assert 1 <= e["steps"] <= saved["max_steps"] or e["won"]


@pytest.mark.alfworld
def test_inference_example_plays_real_games_with_the_tiny_local_policy(alfworld_ready, tmp_path, capsys):
    example = load_example()
    out = tmp_path / "out"
    result = example.main(["--policy", "tiny", "--games", "2", "--games-per", "total", "--max-steps", "2",
                           "--max-new-tokens", "4", "--data-dir", str(alfworld_ready), "--out-dir", str(out)])
    assert result["smoke_run"] is True and "SMOKE RUN" in capsys.readouterr().err
    check_result(result, out, games=2)
    assert len({e["task_type"] for e in result["episodes"]}) == 2  # "total" picks across task types


@pytest.mark.alfworld
def test_inference_example_against_an_openai_compatible_server(alfworld_ready, tmp_path, bank_path):
    def answer(req: RecordedRequest):
        """A deterministic policy: the first 'go to' command of the admissible list in the last user message."""
        last = req.json["messages"][-1]["content"]
        listed = re.search(r"admissible actions of the current situation are: (\[.*\])\.\s*$", last, re.DOTALL)
        commands = ast.literal_eval(listed.group(1))
        return chat_reply(next((c for c in commands if c.startswith("go to ")), commands[0]))

    example = load_example()
    out = tmp_path / "out"
    with OpenAICompatServer(default=answer) as srv:
        result = example.main(["--base-url", srv.url, "--model", "served", "--games", "1", "--games-per", "total",
                               "--max-steps", "3", "--data-dir", str(alfworld_ready), "--out-dir", str(out)])
        requests = [r.json for r in srv.requests]
    assert result["smoke_run"] is False and result["policy"] == "openai:served"
    check_result(result, out, games=1)
    assert len(requests) == 6  # 1 game x 2 conditions x 3 steps
    block = SkillAgentMemory(bank_path, mode="template", profile="alfworld").skills(result["episodes"][0]["goal"])
    with_skills = [r for r in requests if block.text in r["messages"][1]["content"]]
    assert len(with_skills) == 3 and all(r["messages"][1]["content"].startswith(block.text) for r in with_skills)
    assert all("### General Principles" not in json.dumps(r) for r in requests if r not in with_skills)
    # the server's answers were admissible commands, taken as they were
    assert result["policy_reply_mapping"] == {"without_skills": {"exact": 3}, "with_skills": {"exact": 3}}
    overall = result["summary"]["overall"]
    assert overall["games"] == 1
    for cond in ("without_skills", "with_skills"):
        assert overall[cond]["exact_rate"] == {"mean": 1.0, "ci": (1.0, 1.0)}
        assert overall[cond]["steps"]["mean"] == result["episodes"][0]["steps"]
    assert overall["delta"]["with_skills"]["exact_rate"] == {"mean": 0.0, "ci": (0.0, 0.0)}
    assert all(e["steps"] == 3 or e["won"] for e in result["episodes"])
