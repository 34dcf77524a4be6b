"""The OpenRLHF adapter against the real OpenRLHF 0.11 code paths, on CPU.

What is real: ``openrlhf.utils.agent.MultiTurnAgentExecutor`` (the executor loop), the vLLM actor's own
``generate_responses`` fan-out (``RolloutRayActor.__ray_actor_class__``), ``_load_agent_executor`` loading the example
agent file, ``SamplesGenerator._process_response_into_experience``, ``PPOTrainer.evaluate`` with the real
``compute_eval_metrics``, OpenRLHF's CLI argparse, the bank as a Ray named actor under ``ray.init(num_cpus=2)``,
real ALFWorld games, the official SkillRL ALFWorld bank, the offline teacher and a tiny local Qwen2 tokenizer with the
Qwen2.5 chat template. What stands in: vLLM (an engine object with the same ``generate`` coroutine that plays scripted
ALFWorld commands, as OpenRLHF's own tests do) and the ``vllm`` / ``flash_attn`` modules, stubbed with real module
specs so the trainer modules import (as OpenRLHF's tests do).
"""

from __future__ import annotations

import asyncio
import importlib.machinery
import importlib.util
import json
import os
import re
import shlex
import sys
import time
import types
import uuid
from pathlib import Path
from types import SimpleNamespace

import pytest

pytest.importorskip("openrlhf.utils.agent", reason="openrlhf not installed (bash .ci/install-openrlhf.sh)")
ray = pytest.importorskip("ray")

from skillrl import hookimpl
from skillrl.adapters import openrlhf as orl
from skillrl.adapters.openrlhf.trainer import _eval_samples
from skillrl.render import DEFAULT_FRAME

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples" / "openrlhf"
BANK = "skillrl-official/memory_data/alfworld/claude_style_skills.json"
ACTOR = f"skillrl_test_bank_{uuid.uuid4().hex[:6]}"
MAX_STEPS = 12  # ALFWorld step budget of the example agent in these tests


# ------------------------------------------------------------------ stand-ins for vLLM / flash_attn


class SamplingParams:
    """vllm.SamplingParams as OpenRLHF uses it (attributes only)."""

    def __init__(self, **kw):
        self.__dict__.update({"max_tokens": None, "logprobs": None, **kw})


def _stub(name: str, **attrs) -> types.ModuleType:
    mod = types.ModuleType(name)
    mod.__spec__ = importlib.machinery.ModuleSpec(name, None)  # transformers' find_spec checks need a real spec
    mod.__dict__.update(attrs)
    sys.modules[name] = mod
    parent, _, child = name.rpartition(".")
    if parent:
        setattr(sys.modules[parent], child, mod)
    return mod


@pytest.fixture(scope="module")
def openrlhf_modules():
    """OpenRLHF's vLLM actor, samples generator and trainer modules, importable on CPU."""
    added = []
    if importlib.util.find_spec("vllm") is None:
        def unavailable(*a, **k):
            raise RuntimeError("flash_attn is stubbed in these CPU tests")

        for name, attrs in [("vllm", {"__version__": "0.29.0", "SamplingParams": SamplingParams}),
                            ("vllm.inputs", {"TokensPrompt": dict}),
                            ("vllm.utils", {"random_uuid": lambda: uuid.uuid4().hex}),
                            ("flash_attn", {}), ("flash_attn.bert_padding", dict.fromkeys(
                                ["index_first_axis", "pad_input", "rearrange", "unpad_input"], unavailable)),
                            ("flash_attn.utils", {}), ("flash_attn.utils.distributed", {"all_gather": unavailable})]:
            _stub(name, **attrs)
            added.append(name)
    from openrlhf.trainer import ppo_trainer, ppo_trainer_async
    from openrlhf.trainer.ppo_utils import samples_generator
    from openrlhf.trainer.ray import vllm_engine

    yield SimpleNamespace(vllm_engine=vllm_engine, samples_generator=samples_generator, ppo_trainer=ppo_trainer,
                          ppo_trainer_async=ppo_trainer_async)
    for name in added:
        sys.modules.pop(name, None)


@pytest.fixture(scope="module")
def tokenizer(tmp_path_factory):
    pytest.importorskip("transformers")
    from transformers import AutoTokenizer

    from skillrl.testing import build_tiny_causal_lm

    return AutoTokenizer.from_pretrained(build_tiny_causal_lm(tmp_path_factory.mktemp("tiny") / "policy"))


# ------------------------------------------------------------------ chat layout (no Ray)

LLAMA3_LIKE = ("{{ bos_token }}{% for m in messages %}<|start_header_id|>{{ m['role'] }}<|end_header_id|>\n\n"
               "{{ m['content'] | trim }}<|eot_id|>{% endfor %}"
               "{% if add_generation_prompt %}<|start_header_id|>assistant<|end_header_id|>\n\n{% endif %}")
GEMMA_LIKE = ("{{ bos_token }}{% if messages[0]['role'] == 'system' %}{% set sys = messages[0]['content'] + '\n\n' %}"
              "{% set msgs = messages[1:] %}{% else %}{% set sys = '' %}{% set msgs = messages %}{% endif %}"
              "{% for m in msgs %}<start_of_turn>{{ 'model' if m['role'] == 'assistant' else 'user' }}\n"
              "{{ sys if loop.first else '' }}{{ m['content'] }}<end_of_turn>\n{% endfor %}"
              "{% if add_generation_prompt %}<start_of_turn>model\n{% endif %}")


def _with_template(tokenizer, template):
    import copy

    tok = copy.deepcopy(tokenizer)
    tok.chat_template = template
    return tok


def test_chat_layout_finds_turns_in_three_templates(tokenizer):
    msgs = [{"role": "system", "content": "Be brief."},
            {"role": "user", "content": "Your task is to: put a mug in cabinet."}]
    # Qwen2.5 (the tiny model's template, verbatim)
    qwen = orl.ChatLayout.from_tokenizer(tokenizer)
    assert qwen.user_open == "<|im_end|>\n<|im_start|>user\n" and qwen.user_close == "<|im_end|>\n"
    assert qwen.system_open == "<|im_start|>system\n"
    prompt = tokenizer.apply_chat_template(msgs, tokenize=False, add_generation_prompt=True)
    assert qwen.user_content(prompt) == "Your task is to: put a mug in cabinet."
    assert qwen.inject(prompt, "BLOCK") == prompt.replace("user\nYour task", "user\nBLOCK\n\nYour task")
    assert qwen.inject(prompt, "BLOCK", "user_suffix") == prompt.replace("cabinet.<|im_end|>",
                                                                         "cabinet.\n\nBLOCK<|im_end|>")
    assert qwen.inject(prompt, "BLOCK", "system") == prompt.replace("Be brief.", "Be brief.\n\nBLOCK")
    default_sys = tokenizer.apply_chat_template(msgs[1:], tokenize=False, add_generation_prompt=True)
    assert "assistant.\n\nBLOCK<|im_end|>" in qwen.inject(default_sys, "BLOCK", "system")  # Qwen's default system turn
    # feedback after an action that ended with <|im_end|>: the token is not repeated
    assert qwen.next_user_turn("OBS", action_ended_with="<|im_end|>") == \
        "\n<|im_start|>user\nOBS<|im_end|>\n<|im_start|>assistant\n"
    assert qwen.next_user_turn("OBS", done=True).startswith("<|im_end|>\n<|im_start|>user\nOBS<|im_end|>")
    assert qwen.strip_markup("\n<|im_start|>user\nOBS<|im_end|>\n<|im_start|>assistant\n") == "OBS"

    llama = orl.ChatLayout.from_tokenizer(_with_template(tokenizer, LLAMA3_LIKE))
    assert llama.user_open.endswith("<|start_header_id|>user<|end_header_id|>\n\n") and llama.user_close == "<|eot_id|>"
    tok = _with_template(tokenizer, LLAMA3_LIKE)
    p = tok.apply_chat_template(msgs[1:], tokenize=False, add_generation_prompt=True)
    assert llama.inject(p, "BLOCK").endswith("user<|end_header_id|>\n\nBLOCK\n\nYour task is to: put a mug in cabinet."
                                            "<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n")
    assert llama.inject(p, "BLOCK", "system") == llama.inject(p, "BLOCK")  # no system turn in p: user_prefix

    gemma = orl.ChatLayout.from_tokenizer(_with_template(tokenizer, GEMMA_LIKE))
    assert gemma.system_open is None  # the system prompt is folded into the user turn
    tok = _with_template(tokenizer, GEMMA_LIKE)
    p = tok.apply_chat_template(msgs, tokenize=False, add_generation_prompt=True)
    assert gemma.inject(p, "BLOCK", "system") == p.replace("user\nBe brief.", "user\nBLOCK\n\nBe brief.")


def test_config_from_env_file_and_overrides(tmp_path):
    cfg = tmp_path / "skillrl.json"
    cfg.write_text(json.dumps({"bank": "a.json", "mode": "template", "evolution": {"update_threshold": 0.5}}))
    c = orl.SkillRLConfig.from_env({"SKILLRL_CONFIG": str(cfg), "SKILLRL_BANK": "b.json", "SKILLRL_TOP_K": "3",
                                    "SKILLRL_TEACHER": "offline"})
    assert (c.bank, c.mode, c.top_k, c.teacher, c.evolution.update_threshold) == ("b.json", "template", 3, "offline",
                                                                                  0.5)
    cfg.write_text(json.dumps({"bank": "a.json", "retrival": "x"}))
    with pytest.raises(orl.OpenRLHFConfigError, match="retrival"):
        orl.SkillRLConfig.from_env({"SKILLRL_CONFIG": str(cfg)})
    cfg.write_text("{not json")
    with pytest.raises(orl.OpenRLHFConfigError, match="not valid JSON"):
        orl.SkillRLConfig.from_env({"SKILLRL_CONFIG": str(cfg)})
    with pytest.raises(orl.OpenRLHFConfigError, match="mode"):
        orl.SkillRLConfig.from_env({"SKILLRL_MODE": "fuzzy"})
    ours, rest = orl.split_skillrl_args(["--skillrl.bank", "x.json", "--eval.steps", "5", "--skillrl.mode=template"])
    assert ours == {"bank": "x.json", "mode": "template"} and rest == ["--eval.steps", "5"]
    with pytest.raises(orl.OpenRLHFConfigError, match="unknown option --skillrl.bnak"):
        orl.split_skillrl_args(["--skillrl.bnak", "x"])


def test_bank_service_in_process(shared_data):
    """The service the Ray actor runs, called directly: category override, phases, success by threshold."""
    svc = orl.SkillBankService({"bank": str(shared_data / BANK), "mode": "template", "profile": "alfworld",
                                "success_threshold": 0.5})
    plain = svc.augment("You are in a room.\nYour task is to: tidy the desk.")
    assert plain["category"] is None and plain["task"] == "tidy the desk." and plain["split"] == "train"
    told = svc.augment("Your task is to: tidy the shelf.", category="pick_cool_then_place_in_recep")
    assert told["category"] == "cool" and set(told["skill_ids"]) - set(plain["skill_ids"])  # cool skills added
    assert svc.augment("Your task is to: tidy the shelf.") == told  # same task, same version: same block
    svc.record({"task": "tidy the shelf.", "reward": 0.7, "split": "train", "category_raw": "pick_two_obj_and_place"},
               prompt="p", label="l")
    (ep,) = svc.episodes("train")
    assert ep["success"] is True and ep["category"] == "pick_and_place"
    assert ep["metadata"]["label"] == "l" and ep["metadata"]["prompt"] == "p"
    assert svc.begin_validation(5) == 0 and svc.augment("Your task is to: tidy the desk.")["split"] == "validation"
    svc.record({"task": "tidy the desk.", "reward": 0.0, "split": "validation"}, prompt="p2", label="l2")
    assert [e["episode_id"] for e in svc.episodes("validation")] == ["validation-s5-1"]
    summary = svc.end_validation(5, [{"prompt": "p2", "label": "l2", "reward": 0.0,
                                      "datasource": "look_at_obj_in_light"}])
    assert summary["matched"] == 1 and summary["success_rates"] == {"look_at_obj_in_light": 0.0}
    assert summary["evolution"] is None and svc.phase == "train"  # no teacher configured
    svc.begin_validation(6)
    svc.record({"task": "tidy the desk.", "reward": 1.0, "split": "validation"}, prompt="p3", label="l3")
    assert svc.abort_validation(6) == 1 and svc.phase == "train" and svc.augment("x")["split"] == "train"


@pytest.mark.parametrize("evolve_split", ["train", None])
def test_the_bank_evolves_from_evolve_split_not_from_the_scored_evaluation(shared_data, evolve_split, caplog):
    """With ``evolve_split="train"`` the evaluation is scored and not learned from: the offline teacher sees only
    the training failures recorded since the last evaluation; without it (the official code's way) it learns from
    the scored games and the summary and logs say so (test-time learning)."""
    svc = orl.SkillBankService({"bank": str(shared_data / BANK), "mode": "template", "profile": "alfworld",
                                "teacher": "offline", "evolve_split": evolve_split})
    train = ["heat some egg and put it in garbagecan.", "cool some potato and put it in sidetable."]
    scored = ["put a hot mug in cabinet.", "put a cool tomato in countertop."]
    for task in train:
        svc.augment(f"Your task is to: {task}")
        svc.record({"task": task, "reward": 0.0, "split": "train", "steps": [{"action": "look"}]})
    svc.begin_validation(3)
    for i, task in enumerate(scored):
        svc.augment(f"Your task is to: {task}")
        svc.record({"task": task, "reward": 0.0, "split": "validation", "steps": [{"action": "look"}]},
                   prompt=f"p{i}", label=f"l{i}")
    with caplog.at_level("WARNING", logger="skillrl.openrlhf"):
        summary = svc.end_validation(3, [{"prompt": f"p{i}", "label": f"l{i}", "reward": 0.0} for i in range(2)])
    report = summary["evolution"]
    assert report is not None and report["error"] is None
    used = [i for ids in report["failures_used"].values() for i in ids]
    learned = "train" if evolve_split else "validation"
    assert used and all(i.startswith(f"{learned}-") for i in used), used
    assert summary["success_rates"] == {"heat": 0.0, "cool": 0.0} and summary["scored_split"] == "validation"
    assert (summary["evolved_split"], summary["test_time_learning"]) == (learned, evolve_split is None)
    assert summary["evolve_episodes"] == 2
    assert [(v["split"], v["evolution"] is not None) for v in svc.runtime.validations] == \
        ([("validation", False), ("train", True)] if evolve_split else [("validation", True)])
    logs = svc.validation_logs(3)
    assert logs["skills/test_time_learning"] == float(evolve_split is None)
    assert logs["skills/success/heat"] == 0.0 and logs["skills/evolution/added"] == len(report["added"])
    assert ("skills/train/success/heat" in logs) == bool(evolve_split)
    leak = [r for r in caplog.records if "test-time learning" in r.getMessage()]
    assert len(leak) == (0 if evolve_split else 1)
    if evolve_split:  # nothing recorded under the split since: the next evaluation is scored, nothing evolves
        svc.begin_validation(4)
        assert svc.end_validation(4, [])["evolution"] is None and svc.runtime.pending("train") == []


def test_bank_service_state_goes_through_the_runtime(shared_data, tmp_path):
    """Eval episodes wait in the runtime, logs use the runtime's names, snapshots are the runtime's save/load with
    the service's summaries in ``runtime.extra``, and a newer snapshot is never overwritten by an older bank."""
    from skillrl.runtime import BANK_FILE, STATE_FILE
    from skillrl.skill import Skill

    config = {"bank": str(shared_data / BANK), "mode": "template", "profile": "alfworld"}
    svc = orl.SkillBankService(config)
    svc.begin_validation(2)
    svc.augment("Your task is to: put a mug in cabinet.")
    label = {"game": "valid_seen/g1"}  # a non-string label, as OpenRLHF datasets may carry
    svc.record({"task": "put a mug in cabinet.", "reward": 0.0, "split": "validation"}, prompt="p", label=label)
    assert [e.episode_id for e in svc.runtime.pending("validation")] == ["validation-s2-0"]
    summary = svc.end_validation(2, [{"prompt": "p", "label": label, "reward": 0.0},
                                     {"prompt": "q", "label": "other", "reward": 1.0, "response": "look"}])
    assert (summary["matched"], summary["from_samples"], summary["episodes"]) == (1, 1, 2)
    assert svc.runtime.pending("validation") == []
    assert svc.runtime.validations[-1]["episodes"] == 2
    logs = svc.validation_logs(2)
    assert logs == {**svc.runtime.validation_logs(step=2), "skills/eval_episodes": 2.0,
                    "skills/eval_from_samples": 1.0}
    assert all(k.startswith("skills/") for k in logs) and "skills/bank_version" in logs

    from skillrl.config import CONFIG_FILE
    from skillrl.storage import STATE_SUBDIR

    snap = tmp_path / "snap"
    assert svc.save(snap) == 0  # one atomic state directory: bank, state and configuration
    assert sorted(p.name for p in snap.iterdir()) == sorted([BANK_FILE, STATE_FILE, CONFIG_FILE, STATE_SUBDIR])
    assert orl.read_snapshot(snap)["extra"]["openrlhf"]["summaries"] == [summary]
    fresh = orl.SkillBankService(config)
    assert fresh.summaries == [] and fresh.load(snap) == 0
    assert fresh.summaries == [summary] and fresh.info()["validations"] == 1
    assert fresh.runtime.validations == svc.runtime.validations

    fresh.runtime.bank.add(Skill(skill_id="gen_900", title="Check twice", principle="Look before you act."))
    assert fresh.save(snap) == 1 and svc.save(snap) is None  # v0 does not replace v1
    assert orl.write_snapshot(snap, svc.state_dict()) is None
    assert orl.read_snapshot(snap)["bank"]["version"] == 1
    assert orl.write_snapshot(tmp_path / "other", fresh.state_dict()) == tmp_path / "other"
    assert orl.read_snapshot(tmp_path / "other")["extra"] == fresh.state_dict()["extra"]


class MarkerPlacement:
    """A placement plugin named by import path in the configuration (``plugins``), as OpenRLHF users configure it."""

    @hookimpl
    def skillrl_place_block(self, prompt, block):
        return f"<<SKILLS>>{block.text}<</SKILLS>>{prompt}" if isinstance(prompt, str) else None


def test_the_executor_places_blocks_through_the_place_block_hook(shared_data, tokenizer):
    """The same hooks as under TRL: the default places the block in the chat template's user turn; a placement plugin
    from the configuration wins, in the rollout executor, exactly as it does in SkillRuntime.augment."""
    from skillrl.adapters.openrlhf import BankClient, EpisodeContext

    svc = orl.SkillBankService({"bank": str(shared_data / BANK), "mode": "template", "profile": "alfworld"})
    prompt = tokenizer.apply_chat_template([{"role": "user", "content": "Your task is to: put a hot apple in fridge."}],
                                           tokenize=False, add_generation_prompt=True)

    def placed(plugins: tuple[str, ...]) -> str:
        ctx = EpisodeContext(BankClient(svc), prompt, "label", tokenizer, plugins=plugins)
        return asyncio.run(ctx.on_reset({}, {"observation": prompt}))["observation"]

    block = svc.augment("Your task is to: put a hot apple in fridge.")["block"]
    default = placed(())
    assert block in default and default.index(block) > default.index("user")  # inside the user turn
    custom = placed(("test_openrlhf:MarkerPlacement",))
    assert custom == f"<<SKILLS>>{block}<</SKILLS>>{prompt}"
    # and the runtime under TRL asks the same plugin
    from skillrl.runtime import SkillRuntime

    rt = SkillRuntime(shared_data / BANK, mode="template", profile="alfworld", plugins=[MarkerPlacement()])
    assert rt.augment(["Your task is to: put a hot apple in fridge."])[0].prompt.startswith("<<SKILLS>>")


def test_wrapping_rejects_a_non_agent_class():
    with pytest.raises(TypeError, match="AgentInstanceBase subclass"):
        orl.skillrl_agent_executor(dict)


# ------------------------------------------------------------------ Ray: the bank actor, rollouts, evaluation


@pytest.fixture(scope="module")
def cluster(shared_data):
    alf = shared_data / "alfworld"
    if not (alf / "json_2.1.1").is_dir():
        pytest.skip("ALFWorld games not found")
    pytest.importorskip("alfworld")
    env = {"SKILLRL_ACTOR_NAME": ACTOR, "SKILLRL_BANK": str(shared_data / BANK), "SKILLRL_MODE": "template",
           "SKILLRL_PROFILE": "alfworld", "SKILLRL_TEACHER": "offline", "ALFWORLD_DATA": str(alf),
           "ALFWORLD_MAX_STEPS": str(MAX_STEPS)}
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    t0 = time.time()
    ray.init(num_cpus=2, include_dashboard=False, namespace="skillrl-tests",
             runtime_env={"env_vars": {"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1",
                                       "TOKENIZERS_PARALLELISM": "false"}})
    handle = orl.get_bank_actor()
    print(f"\n[ray.init + bank actor: {time.time() - t0:.1f}s]")
    yield handle
    ray.shutdown()
    for k, v in saved.items():
        if v is None:
            os.environ.pop(k, None)
        else:
            os.environ[k] = v


class Engine:
    """Stands in for the vLLM actor: ``generate`` as RolloutRayActor.generate (token ids in, one output out) and the
    real ``generate_responses`` bound to it. The policy plays scripted commands per goal, one per assistant turn."""

    def __init__(self, tokenizer, plans: dict[str, list[str]], executor, default: str = "look"):
        self.tokenizer, self.plans, self.executor, self.default = tokenizer, plans, executor, default
        self.prompts: list[str] = []

    async def generate(self, prompt_token_ids, sampling_params, multi_modal_data=None):
        text = self.tokenizer.decode(prompt_token_ids)
        self.prompts.append(text)
        turn = text.count("<|im_start|>assistant") - 1
        goal = re.search(r"Your task is to: (.+?)\n", text).group(1)
        plan = self.plans.get(goal, [])
        command = plan[turn] if turn < len(plan) else self.default
        reply = f"<think>step {turn}</think><action>{command}</action>"
        ids = self.tokenizer(reply, add_special_tokens=False)["input_ids"] + [self.tokenizer.eos_token_id]
        await asyncio.sleep(0)
        out = SimpleNamespace(token_ids=ids, text=reply, finish_reason="stop", logprobs=None)
        return SimpleNamespace(outputs=[out])

    def rollout(self, mods, rows, n, max_length=16384):
        """OpenRLHF's ``RolloutRayActor.generate_responses`` for each (prompt, label), all prompts concurrently."""
        gen = mods.vllm_engine.RolloutRayActor.__ray_actor_class__.generate_responses

        async def run():
            return await asyncio.gather(*[
                gen(self, prompt=p, label=label, sampling_params=SamplingParams(temperature=1.0), max_length=max_length,
                    hf_tokenizer=self.tokenizer, num_samples=n) for p, label in rows])

        return asyncio.run(run())


def _load_example(name: str):
    spec = importlib.util.spec_from_file_location(f"skillrl_example_{name}", EXAMPLES / f"{name}.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _prompt_rows(mods, tokenizer, rows):
    """Dataset rows through OpenRLHF's own preprocessing (chat template applied as PromptDataset does)."""
    from openrlhf.datasets.prompts_dataset import preprocess_data

    return [preprocess_data(r, None, "prompt", "label", tokenizer.apply_chat_template) for r in rows]


@pytest.fixture(scope="module")
def agent_executor(openrlhf_modules, cluster):
    # exactly how a vLLM rollout actor loads --train.agent_func_path
    return openrlhf_modules.vllm_engine._load_agent_executor(str(EXAMPLES / "alfworld_agent.py"))


@pytest.mark.ray
@pytest.mark.alfworld
def test_rollout_injects_skills_and_records_the_episode(openrlhf_modules, cluster, agent_executor, tokenizer,
                                                        shared_data):
    from skillrl.envs.alfworld import list_games
    from skillrl.episode import load_alfworld_demos

    data = _load_example("make_alfworld_data")
    games = {g.game_id: g for g in list_games("train")}
    demo = next(d for d in load_alfworld_demos(shared_data / "alfworld/expert_demos_train.jsonl", progress=False)
                if d.episode_id in games and d.category == "pick_and_place_simple" and len(d.steps) <= 5)
    row = next(r for r in data.rows("train") if r["label"] == demo.episode_id)
    (prompt, label), = _prompt_rows(openrlhf_modules, tokenizer, [row])
    engine = Engine(tokenizer, {demo.task: demo.actions}, agent_executor)
    t0 = time.time()
    (responses,) = engine.rollout(openrlhf_modules, [(prompt, label)], n=2)
    print(f"\n[2 real ALFWorld episodes through MultiTurnAgentExecutor: {time.time() - t0:.1f}s]")

    bank = ray.get(cluster.info.remote())
    episodes = [e for e in ray.get(cluster.episodes.remote("train")) if e["metadata"]["label"] == label]
    assert len(responses) == 2 and len(episodes) == 2
    from skillrl.bank import SkillBank

    official = SkillBank.load(shared_data / BANK)
    for r, ep in zip(responses, episodes):
        obs = tokenizer.decode(r["observation_tokens"])
        first_user = obs.split("<|im_start|>user\n", 1)[1]
        # the block sits at the start of the first user turn, then the dataset's text
        assert first_user.startswith(DEFAULT_FRAME + "\n### General Principles\n- **")
        assert first_user.split("\n\n### Mistakes to Avoid", 1)[1].split("\n\n", 1)[1].startswith(
            "You are an expert agent in a household text environment")
        for sid in ep["skill_ids"]:
            assert f"**{official.get(sid).title}**" in first_user
        assert {s.skill_id for s in official.general} <= set(ep["skill_ids"])  # template mode: every general skill
        assert r["reward"] == 1.0 and r["extra_logs"]["alfworld_won"] == 1.0
        assert r["extra_logs"]["skillrl_skills"] == len(ep["skill_ids"]) > len(official.general)
        assert ep["success"] is True and ep["reward"] == 1.0 and ep["split"] == "train"
        assert ep["category"] == "pick_and_place" and ep["metadata"]["category_raw"] == "pick_and_place_simple"
        assert [s["action"] for s in ep["steps"]] == demo.actions
        assert ep["task"] == demo.task and ep["metadata"]["bank_version"] == bank["bank_version"]
        assert "Your task is to" not in ep["steps"][0]["observation"] and ep["steps"][0]["observation"]
    # both samples of the prompt saw the identical block (identical prompt tokens up to the first action)
    firsts = [r["observation_tokens"][:r["action_ranges"][0][0]] for r in responses]
    assert firsts[0] == firsts[1]
    assert episodes[0]["skill_ids"] == episodes[1]["skill_ids"]


def _eval_setup(mods, tokenizer, agent_executor, task_type, n_games):
    from skillrl.envs.alfworld import list_games

    data = _load_example("make_alfworld_data")
    ids = [g.game_id for g in list_games("valid_seen", task_types=[task_type])][:n_games]
    rows = [r for r in data.rows("valid_seen") if r["label"] in ids]
    pairs = _prompt_rows(mods, tokenizer, rows)
    engine = Engine(tokenizer, {}, agent_executor, default="look")  # never acts toward the goal: every game fails
    loader = [([r["datasource"] for r in rows], [p for p, _ in pairs], [lb for _, lb in pairs], [None] * len(rows))]

    class EvalSamplesGenerator:
        """SamplesGenerator.generate_eval_samples without vLLM: the real fan-out and the real response->Experience."""

        def __init__(self):
            self.tokenizer = tokenizer
            self.calls = 0

        def generate_eval_samples(self, **kw):
            self.calls += 1
            responses = engine.rollout(mods, pairs, n=kw["n_samples_per_prompt"])
            proc = mods.samples_generator.SamplesGenerator.__new__(mods.samples_generator.SamplesGenerator)
            return [proc._process_response_into_experience(r, max_len=16384) for rs in responses for r in rs]

    return EvalSamplesGenerator(), loader


def _args(tmp_path, n):
    return SimpleNamespace(eval=SimpleNamespace(n_samples_per_prompt=n, temperature=0.4, steps=1),
                           ckpt=SimpleNamespace(path=str(tmp_path / "ckpt"), save_steps=1, load_enable=True,
                                                output_dir=str(tmp_path / "final"), max_num=3),
                           logger=SimpleNamespace(logging_steps=1))


@pytest.mark.ray
@pytest.mark.alfworld
def test_evaluation_hook_evolves_the_bank_from_failed_samples(openrlhf_modules, cluster, agent_executor, tokenizer,
                                                              tmp_path):
    Trainer = orl.trainer_classes()["PPOTrainer"]
    generator, loader = _eval_setup(openrlhf_modules, tokenizer, agent_executor, "pick_cool_then_place_in_recep", 2)
    trainer = Trainer.__new__(Trainer)  # as OpenRLHF's own trainer tests build it: no GPUs, no Ray actor groups
    trainer.args = _args(tmp_path, 2)
    trainer.samples_generator, trainer.eval_dataloader = generator, loader
    trainer.wandb_logger = trainer.tensorboard_logger = None
    before = ray.get(cluster.info.remote())["bank_version"]

    t0 = time.time()
    logs = trainer.evaluate(7, n_samples_per_prompt=2, temperature=0.4)
    print(f"\n[evaluation of 4 real ALFWorld episodes + evolution: {time.time() - t0:.1f}s]")

    # OpenRLHF's compute_eval_metrics ran on the kept samples (per datasource = task type)
    assert logs["eval_pick_cool_then_place_in_recep_pass1"] == 0.0 and logs["eval_num_samples"] == 4.0
    summary = trainer._skillrl_last_summary
    assert summary["episodes"] == 4 and summary["matched"] == 4 and summary["from_samples"] == 0
    assert summary["success_rates"] == {"cool": 0.0} and logs["skills/success/cool"] == 0.0
    ev = summary["evolution"]
    assert ev is not None and ev["error"] is None and ev["low_categories"] == ["cool"]
    assert summary["bank_version"] == before + 1 == logs["skills/bank_version"]
    assert len(ev["added"]) + len(ev["refined"]) + len(ev["mistakes_added"]) >= 1
    state = ray.get(cluster.state_dict.remote())
    from skillrl.bank import SkillBank

    bank = SkillBank.from_dict(state["bank"])
    new = [s for s in bank.skills() if s.provenance and s.provenance.step == 7]
    new_mistakes = [m for m in bank.mistakes if m.provenance and m.provenance.step == 7]
    assert new or new_mistakes
    for rec in new + new_mistakes:
        assert rec.provenance.teacher == "offline"
        assert all(e.startswith("validation-s7-") for e in rec.provenance.episode_ids)
    assert ray.get(cluster.info.remote())["phase"] == "train"
    # the snapshot beside the checkpoints holds the evolved bank
    snap = orl.read_snapshot(tmp_path / "ckpt" / "_skillrl" / "global_step7")
    assert snap["bank"]["version"] == before + 1

    # resume: the bank is restored from the snapshot of the restored step
    first = ray.get(cluster.state_dict.remote())
    original = SkillBank.from_dict(first["bank"]).at_version(before)
    ray.get(cluster.load_state_dict.remote({"bank": original.to_native()}))
    assert ray.get(cluster.info.remote())["bank_version"] == before
    (tmp_path / "ckpt" / "_actor").mkdir(parents=True)
    resumed = Trainer.__new__(Trainer)
    resumed.args = _args(tmp_path, 2)
    states = {"episode": 0, "global_step": 7, "total_consumed_prompts": 3, "data_loader_state_dict": {}}
    resumed.actor_model_group = SimpleNamespace(async_run_method=lambda method_name: [ray.put(states)])
    assert resumed.init_checkpoint_states()["global_step"] == 7
    assert ray.get(cluster.info.remote())["bank_version"] == before + 1


@pytest.mark.ray
@pytest.mark.alfworld
def test_async_generator_eval_hook_and_samples_without_episodes(openrlhf_modules, cluster, agent_executor,
                                                                tokenizer, tmp_path):
    Gen = orl.trainer_classes()["GenerateSamplesActor"]
    generator, loader = _eval_setup(openrlhf_modules, tokenizer, agent_executor, "look_at_obj_in_light", 1)
    actor = Gen.__new__(Gen)
    actor.args = _args(tmp_path, 1)
    actor.samples_generator, actor.eval_dataloader = generator, loader
    actor._last_eval_step, actor.generate_kwargs = 3, {"max_len": 16384, "do_sample": True}
    before = ray.get(cluster.info.remote())["bank_version"]
    logs = actor._run_eval()  # GenerateSamplesActor._run_eval -> compute_eval_metrics, wrapped
    assert logs["eval_look_at_obj_in_light_pass1"] == 0.0 and logs["skills/success/look_at_obj_in_light"] == 0.0
    assert actor._skillrl_last_summary["matched"] == 1
    assert (tmp_path / "ckpt" / "_skillrl" / "global_step3" / "skill_bank.json").is_file()

    # samples from an executor without skillrl (nothing recorded): episodes are built from the samples themselves
    samples = generator.generate_eval_samples(n_samples_per_prompt=1)
    ray.get(cluster.begin_validation.remote(4))
    summary = ray.get(cluster.end_validation.remote(4, _eval_samples(samples, tokenizer, loader)))
    assert summary["matched"] == 0 and summary["from_samples"] == 1
    assert summary["success_rates"] == {"look_at_obj_in_light": 0.0}
    assert summary["bank_version_before"] >= before


@pytest.mark.ray
def test_launcher_installs_the_classes_and_passes_the_example_flags_to_openrlhf(openrlhf_modules, cluster,
                                                                               shared_data, tmp_path):
    mods = openrlhf_modules
    installed = orl.install()
    assert mods.ppo_trainer.PPOTrainer is installed["PPOTrainer"]
    assert issubclass(mods.ppo_trainer.PPOTrainer.__ray_actor_class__, orl.trainer_classes()["PPOTrainer"])
    assert issubclass(mods.ppo_trainer_async.GenerateSamplesActor.__ray_actor_class__,
                      orl.trainer_classes()["GenerateSamplesActor"])
    assert orl.install()["PPOTrainer"] is installed["PPOTrainer"]  # idempotent
    # PPOTrainerAsync runs in its own Ray worker: the actor classes it starts are captured when Ray pickles it
    from ray import cloudpickle

    init = cloudpickle.loads(cloudpickle.dumps(mods.ppo_trainer_async.PPOTrainerAsync.__ray_actor_class__)).__init__
    assert issubclass(init.__globals__["TrainingActor"].__ray_actor_class__, orl.trainer_classes()["TrainingActor"])

    # the example launch script's flags through OpenRLHF's real argparse and validation, stopping before GPUs
    script = (EXAMPLES / "train_alfworld_grpo.sh").read_text()
    cmd = script.rsplit("python -m skillrl.adapters.openrlhf", 1)[1].split('"$@"')[0].replace("\\\n", " ")
    values = {"BANK": str(shared_data / BANK), "TEACHER": "offline", "MODEL": "Qwen/Qwen2.5-7B-Instruct",
              "OUT": str(tmp_path / "run")}
    argv = shlex.split(re.sub(r"\$(\w+)", lambda m: values[m.group(1)], cmd))

    class Stop(Exception):
        pass

    seen = {}

    def get_strategy(args):
        seen["args"] = args
        raise Stop

    import openrlhf.utils

    saved_env, saved_argv, saved_gs = dict(os.environ), list(sys.argv), openrlhf.utils.get_strategy
    openrlhf.utils.get_strategy = get_strategy
    try:
        with pytest.raises(Stop):
            orl.main(argv)
    finally:
        openrlhf.utils.get_strategy = saved_gs
        os.environ.clear()
        os.environ.update(saved_env)
        sys.argv[:] = saved_argv
    args = seen["args"]
    assert args.train.agent_func_path == "examples/openrlhf/alfworld_agent.py"
    assert args.rollout.n_samples_per_prompt == 8 and args.eval.steps == 10
    assert args.eval.dataset.endswith("valid_seen.jsonl") and args.data.apply_chat_template
    assert args.reward.remote_url == ["agent"]  # OpenRLHF's own post-processing of --train.agent_func_path ran
