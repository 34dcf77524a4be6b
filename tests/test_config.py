"""One configuration for every adapter: the same task gets the same block under TRL, OpenRLHF, SFT and inference;
the paper's retrieval reaches every valid_seen prompt; evolved mistakes reach their category's prompts."""

from __future__ import annotations

from pathlib import Path

import pytest

from skillrl import SkillBank
from skillrl.config import SkillConfig
from skillrl.errors import ConfigError
from skillrl.runtime import SkillRuntime


@pytest.fixture()
def bank_path(shared_data: Path) -> Path:
    return shared_data / "skillrl-official/memory_data/alfworld/claude_style_skills.json"


def test_config_round_trips_and_rejects_unknown_settings(tmp_path, bank_path) -> None:
    cfg = SkillConfig.preset("official", profile="alfworld", evolution={"update_threshold": 0.3})
    assert cfg.top_k_general == 6 and cfg.restrict_to_category is False and cfg.evolution.update_threshold == 0.3
    cfg.save_pretrained(tmp_path)
    assert SkillConfig.from_pretrained(tmp_path) == cfg
    with pytest.raises(ConfigError, match="top_kk"):
        SkillConfig.build(top_kk=3)
    with pytest.raises(ConfigError, match="top_k"):
        SkillRuntime(bank_path, top_k=-1)
    env = {"SKILLRL_MODE": "template", "SKILLRL_TOP_K": "3", "SKILLRL_EVOLUTION": '{"max_new_skills": 5}',
           "SKILLRL_PROFILE": "none"}
    got = SkillConfig.from_env(env)
    assert (got.mode, got.top_k, got.evolution.max_new_skills, got.profile) == ("template", 3, 5, None)
    with pytest.raises(ConfigError, match="SKILLRL_TOP_K|top_k"):
        SkillConfig.from_env({"SKILLRL_TOP_K": "many"})


def test_a_runtime_saves_its_configuration_beside_the_bank(tmp_path, bank_path) -> None:
    rt = SkillRuntime(bank_path, mode="template", profile="alfworld", top_k=3, style="compact")
    rt.save(tmp_path / "state")
    again = SkillRuntime.from_pretrained(tmp_path / "state")
    assert again.config == rt.config
    goal = "put a hot apple in fridge."
    assert again.skills_for(goal).block == rt.skills_for(goal).block


def test_every_adapter_renders_the_same_block_at_its_defaults(tiny_model, bank_path, tmp_path) -> None:
    """TRL's SkillCallback, the OpenRLHF bank service, the SFT builder and the inference agent, each built at its
    defaults with only the bank and the profile, give the same block for the same task (embedding mode)."""
    pytest.importorskip("trl")
    from datasets import Dataset
    from trl import GRPOConfig, GRPOTrainer

    from skillrl.adapters.agent import SkillAgentMemory
    from skillrl.adapters.trl import SkillCallback
    from skillrl.sft import SFTDataBuilder

    goal = "heat some egg and put it in garbagecan."
    observation = f"-= Welcome to TextWorld, ALFRED! =-\n\nYou are in the middle of a room.\n\nYour task is to: {goal}"
    ds = Dataset.from_list([{"prompt": [{"role": "user", "content": observation}], "task": goal}])
    trainer = GRPOTrainer(model=tiny_model, reward_funcs=lambda completions, **kw: [0.0] * len(completions),
                          args=GRPOConfig(output_dir=str(tmp_path / "out"), max_steps=1, per_device_train_batch_size=2,
                                          num_generations=2, use_cpu=True, bf16=False, report_to="none"),
                          train_dataset=ds)
    blocks = {"trl": SkillCallback(trainer, bank=bank_path, profile="alfworld").runtime.augment(
        [ds[0]["prompt"]], [ds[0]])[0].block.text}
    blocks["agent"] = SkillAgentMemory(bank_path, profile="alfworld").lookup(goal).block.text
    blocks["sft"] = SFTDataBuilder(bank=bank_path, profile="alfworld").runtime.skills_for(goal).block.text
    try:
        from skillrl.adapters.openrlhf import SkillBankService, SkillRLConfig
    except ImportError:  # OpenRLHF is an extra
        SkillBankService = None
    if SkillBankService is not None:
        service = SkillBankService(SkillRLConfig(bank=str(bank_path), profile="alfworld"))
        blocks["openrlhf"] = service.augment(observation)["block"]
    assert len(set(blocks.values())) == 1, {k: v[:200] for k, v in blocks.items()}
    block = blocks["trl"]
    bank = SkillBank.load(bank_path)
    assert all(f"**{s.title}**" in block for s in bank.general)  # all 12 general skills
    assert sum(f"**{s.title}**" in block for s in bank.task_specific["heat"]) == len(bank.task_specific["heat"])


@pytest.mark.parametrize("mode", ["template", "embedding"])
def test_an_evolved_mistake_appears_in_the_next_block_of_its_category(mode, bank_path, shared_data) -> None:
    from skillrl.episode import load_official_memories

    memories = shared_data / "skillrl-official/memory_data/alfworld/generated_memories_alfworld_total.json"
    failures = [e for e in load_official_memories(memories) if not e.success]
    rt = SkillRuntime(bank_path, mode=mode, profile="alfworld", teacher="offline",
                      evolution={"max_new_skills": 6})
    heat_goal, cool_goal = "heat some egg and put it in garbagecan.", "cool some egg and put it in microwave."
    before = rt.skills_for(heat_goal).block
    assert len(rt.bank.mistakes) == 11 and len(before.mistake_ids) == 5
    heat = [e.model_copy(update={"category": "heat"}) for e in failures
            if rt.detector.detect_for_bank(e.task, rt.bank.categories) == "heat"][:5]
    assert heat
    report = rt.after_validation(1, split="validation", episodes=heat)
    assert report.mistakes_added, report.summary()
    new = report.mistakes_added
    assert {rt.bank.get_mistake(i).category for i in new} == {"heat"}
    after = rt.skills_for(heat_goal).block
    assert set(new) & set(after.mistake_ids), (new, after.mistake_ids)  # the 12th+ mistake is shown to heat tasks
    assert not set(new) & set(rt.skills_for(cool_goal).block.mistake_ids)  # and not to other categories


def test_every_valid_seen_goal_gets_all_general_skills_and_its_category(bank_path, shared_data, monkeypatch) -> None:
    """The done-when of the retrieval issue, at the runtime's defaults (embedding mode, the packaged MiniLM)."""
    from skillrl.envs.alfworld import list_games

    monkeypatch.setenv("ALFWORLD_DATA", str(shared_data / "alfworld"))
    games = list_games("valid_seen")
    assert len(games) == 140
    rt = SkillRuntime(bank_path, profile="alfworld")
    bank = rt.bank
    general = {s.skill_id for s in bank.general}
    augs = rt.augment([[{"role": "user", "content": g.goal}] for g in games], [{"task": g.goal} for g in games])
    for g, a in zip(games, augs):
        cat = rt.detector.to_bank_category(g.task_type, bank.categories)
        own = {s.skill_id for s in bank.task_specific[cat]}
        assert general <= set(a.skill_ids), g.goal
        assert len(own & set(a.skill_ids)) >= 3, (g.goal, a.skill_ids)
