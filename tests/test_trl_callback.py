"""SkillCallback on the real TRL GRPOTrainer with a tiny local policy (CPU)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

pytest.importorskip("trl")

import sys  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from httpserver import OpenAICompatServer, category_lesson  # noqa: E402
from trainer_spy import spy_on_generate  # noqa: E402

from skillrl.bank import SkillBank  # noqa: E402
from skillrl.render import DEFAULT_FRAME  # noqa: E402
from skillrl.teachers import OpenAITeacher  # noqa: E402

GOALS = ["put a hot apple in fridge.", "clean some mug and put it in coffeemachine.",
         "look at bowl under the desklamp.", "cool some egg and put it in microwave."]



@pytest.fixture()
def bank(shared_data) -> SkillBank:
    return SkillBank.load(shared_data / "skillrl-official/memory_data/alfworld/claude_style_skills.json")


def make_trainer(model, tmp_path, rewards_seen, conversational=True, max_steps=2, eval_steps=None, eval_sets=None,
                 **cfg):
    from datasets import Dataset
    from trl import GRPOConfig, GRPOTrainer

    def prompt(g):
        text = f"You are in a room.\n\nYour task is to: {g}"
        return [{"role": "user", "content": text}] if conversational else text

    def dataset(goals):
        return Dataset.from_list([{"prompt": prompt(g), "task": g} for g in goals])

    ds = dataset(GOALS)
    eval_ds = {name: dataset(goals) for name, goals in eval_sets.items()} if eval_sets else ds

    def reward(prompts, completions, skill_ids, task, **kwargs):
        rewards_seen.append({"prompts": prompts, "skill_ids": skill_ids, "task": task})
        # a reward that fails the "heat" and "cool" tasks: the callback must see those failures at eval
        return [0.0 if ("hot" in t or "cool" in t) else 1.0 for t in task]

    config = GRPOConfig(output_dir=str(tmp_path / "out"), max_steps=max_steps, per_device_train_batch_size=4,
                        per_device_eval_batch_size=4, num_generations=2, max_completion_length=8,
                        logging_steps=1, report_to="none", use_cpu=True, bf16=False, seed=0,
                        eval_strategy="steps" if eval_steps else "no", eval_steps=eval_steps,
                        save_strategy="no", **cfg)
    return GRPOTrainer(model=model, reward_funcs=reward, args=config, train_dataset=ds,
                       eval_dataset=eval_ds if eval_steps else None)


def test_every_rollout_prompt_gets_its_groups_skills_and_rewards_see_the_original(tiny_model, bank, tmp_path):
    from skillrl.adapters.trl import SkillCallback

    seen = []
    trainer = make_trainer(tiny_model, tmp_path, seen)
    cb = SkillCallback(trainer, bank=bank, mode="template", profile="alfworld")
    trainer.add_callback(cb)
    generated = spy_on_generate(trainer)
    trainer.train()
    assert generated, "no generation happened"
    for p in generated:  # what the policy was sampled on
        assert p[0]["content"].startswith(DEFAULT_FRAME + "\n### General Principles"), p
    # the G=2 copies of each prompt are adjacent and identical (one GRPO group, one block)
    for a, b in zip(generated[::2], generated[1::2]):
        assert a == b
    # reward functions got the prompt without the block, and the ids of what was injected
    for call in seen:
        for p, ids, task in zip(call["prompts"], call["skill_ids"], call["task"]):
            assert "### General Principles" not in p[0]["content"] and p[0]["content"].endswith(task)
            assert ids and set(ids) <= {s.skill_id for s in bank.skills()}
            heat = [s for s in ids if s.startswith("hea_")]
            assert bool(heat) == ("hot" in task)
    # train episodes were recorded with their rewards and skills
    assert cb.runtime.pending("train") and all(e.skill_ids for e in cb.runtime.pending("train"))
    assert any(k.startswith("skills/") for entry in trainer.state.log_history for k in entry)


def test_text_prompts_and_augmented_reward_prompts(tiny_model, bank, tmp_path):
    from skillrl.adapters.trl import SkillCallback

    seen = []
    trainer = make_trainer(tiny_model, tmp_path, seen, conversational=False, max_steps=1)
    trainer.add_callback(SkillCallback(trainer, bank=bank, mode="template", profile="alfworld",
                                       reward_prompt="augmented", placement="user_suffix"))
    trainer.train()
    assert seen
    for p in seen[0]["prompts"]:  # text prompt, block behind it, and reward functions see it (augmented)
        assert p.startswith("You are in a room.") and f"\n\n{DEFAULT_FRAME}\n### General Principles" in p


def test_evaluation_with_failures_grows_the_bank_and_checkpoint_restores_it(tiny_model, bank, tmp_path):
    from skillrl.adapters.trl import SkillCallback

    seen = []
    trainer = make_trainer(tiny_model, tmp_path, seen, max_steps=2, eval_steps=2, save_steps=2)
    trainer.args.save_strategy = "steps"
    with OpenAICompatServer(default=category_lesson) as srv:  # a real HTTP teacher (the offline one learns nothing
        teacher = OpenAITeacher("test-model", base_url=srv.url, api_key="x", timeout=10, max_retries=0)  # from noise)
        cb = SkillCallback(trainer, bank=bank, mode="template", profile="alfworld", teacher=teacher)
        trainer.add_callback(cb)
        trainer.train()
    report = cb.runtime.reports[-1]
    assert set(report.low_categories) == {"cool", "heat"}, report.summary()
    asked = sorted(r.json["messages"][-1]["content"].split("Task category: ", 1)[1].split("\n", 1)[0]
                   for r in srv.requests)
    assert asked == ["cool", "heat"]  # the teacher was asked about exactly the failing categories
    assert report.error is None
    assert cb.runtime.bank.version > 0, report.summary()
    assert {cb.runtime.bank.get(i).category for i in report.added} == {"cool", "heat"}, report.rejected
    changed = cb.runtime.bank.at_version(0).diff(cb.runtime.bank)
    touched = {cb.runtime.bank.get(i).category for i in changed.added + list(changed.changed)}
    assert touched <= {"cool", "heat", None}
    logged = {k for entry in trainer.state.log_history for k in entry}
    # validation and evolution numbers carry TRL's eval_ prefix: dashboards file them beside eval_reward
    assert "eval_skills/evolution/added" in logged and "eval_skills/success/heat" in logged
    ckpt = Path(trainer.args.output_dir) / "checkpoint-2" / "skillrl" / "skill_bank.json"
    assert ckpt.exists()
    saved = SkillBank.load(ckpt)
    assert saved.version == cb.runtime.bank.version

    # resume: a new trainer with the ORIGINAL bank continues with the bank of the checkpoint
    trainer2 = make_trainer(tiny_model, tmp_path, [], max_steps=3)
    fresh = SkillBank.load(Path(os.environ.get("SKILLRL_SHARED_DATA", Path(__file__).resolve().parents[2] / "shared" /
                                               "data")) / "skillrl-official/memory_data/alfworld/claude_style_skills.json")
    cb2 = SkillCallback(trainer2, bank=fresh, mode="template", profile="alfworld")
    trainer2.add_callback(cb2)
    trainer2.train(resume_from_checkpoint=str(ckpt.parent.parent))
    assert cb2.runtime.bank.version == saved.version
    assert cb2.runtime.bank.to_official() == saved.to_official()


def test_a_trainer_without_the_wrapped_internals_is_refused(bank):
    from skillrl.adapters.trl import SkillCallback, UnsupportedTRLVersion

    class NotGRPO:
        def _generate_and_score_completions(self, batch):
            return batch

    with pytest.raises(UnsupportedTRLVersion, match=r"supports TRL >=1.16,<1.17.*_calculate_rewards is missing"):
        SkillCallback(NotGRPO(), bank=bank)


class RecordingTeacher:
    """The real offline teacher, recording which episodes each reflect() call was shown."""

    def __init__(self):
        from skillrl.teachers import OfflineTeacher

        self.inner = OfflineTeacher()
        self.name = "offline"
        self.seen: list[list[str]] = []

    def reflect(self, failures, category=None, existing=(), mistakes=()):
        self.seen.append([(e.split, e.task) for e in failures])
        return self.inner.reflect(failures, category, existing, mistakes)


HELD = ["heat some egg and put it in garbagecan.", "cool some potato and put it in sidetable."]
VALID = ["put a hot mug in cabinet.", "put a cool tomato in countertop."]


@pytest.mark.parametrize("evolve_split", ["held_out", None])
def test_a_dict_of_eval_datasets_evolves_from_one_split_once_per_round(tiny_model, bank, tmp_path, evolve_split,
                                                                      caplog):
    """Two evaluation datasets, evaluated at steps 1 and 2: episodes are recorded under each dataset's name, logged
    under eval_<name>_skills/..., and the bank evolves once per round, from the named split (listed second, so it is
    the name that counts) or, without one, from the first dataset with a warning."""
    from skillrl.adapters.trl import SkillCallback

    trainer = make_trainer(tiny_model, tmp_path, [], max_steps=2, eval_steps=1,
                           eval_sets={"valid_seen": VALID, "held_out": HELD})
    teacher = RecordingTeacher()
    cb = SkillCallback(trainer, bank=bank, mode="template", profile="alfworld", teacher=teacher,
                       evolve_split=evolve_split)
    trainer.add_callback(cb)
    with caplog.at_level("WARNING", logger="skillrl.trl"):
        trainer.train()
    learned = "held_out" if evolve_split else "valid_seen"
    scored = {"held_out": HELD, "valid_seen": VALID}[learned]
    assert [(r["step"], r["splits"], r["evolved"]) for r in cb.evaluation_rounds] == \
        [(1, ["valid_seen", "held_out"], learned), (2, ["valid_seen", "held_out"], learned)]
    assert len(cb.runtime.reports) == 2  # once per round
    assert teacher.seen and all(split == learned and task in scored for call in teacher.seen for split, task in call)
    for report in cb.runtime.reports:
        assert report.error is None and report.errors == [], report.summary()
        assert report.failures_used and all(i.startswith(f"{learned}-") for ids in report.failures_used.values()
                                            for i in ids)
    other = "valid_seen" if learned == "held_out" else "held_out"
    # each round closes the evolving dataset last (the other one's validation logs carry no evolution)
    assert [(v["step"], v["split"]) for v in cb.runtime.validations] == \
        [(1, other), (1, learned), (2, other), (2, learned)]
    assert [v["evolution"] is not None for v in cb.runtime.validations] == [False, True, False, True]
    assert all(v["episodes"] == 4 for v in cb.runtime.validations)  # 2 prompts x 2 generations per dataset
    logged = {k for entry in trainer.state.log_history for k in entry}
    assert {"eval_held_out_skills/success/heat", "eval_valid_seen_skills/success/heat",
            f"eval_{learned}_skills/evolution/added"} <= logged
    assert f"eval_{other}_skills/evolution/added" not in logged and "eval_skills/success/heat" not in logged
    leak = [r for r in caplog.records if "test-time learning" in r.getMessage()]
    assert len(leak) == (0 if evolve_split else 1)


def test_ablated_groups_keep_the_grpo_rule_every_copy_sees_the_same_block(tiny_model, bank, tmp_path):
    from skillrl.adapters.trl import SkillCallback

    trainer = make_trainer(tiny_model, tmp_path, [], max_steps=3)
    cb = SkillCallback(trainer, bank=bank, mode="template", profile="alfworld", ablation=0.75)
    trainer.add_callback(cb)
    generated = spy_on_generate(trainer)
    trainer.train()
    episodes = cb.runtime.pending("train")
    assert len(generated) == len(episodes) == 12  # 3 steps x 2 prompts x G=2
    titles = {s.skill_id: s.title for s in bank.skills()}
    ablated = 0
    for i in range(0, len(generated), 2):  # each GRPO group: two adjacent copies
        a, b = generated[i], generated[i + 1]
        ea, eb = episodes[i], episodes[i + 1]
        assert a == b, "the copies of one group were sampled from different blocks"
        assert ea.metadata.get("withheld") == eb.metadata.get("withheld") and ea.skill_ids == eb.skill_ids
        assert ea.metadata["group"] == eb.metadata["group"] and ea.task == eb.task
        text = a[0]["content"]
        for w in ea.metadata.get("withheld", []):
            ablated += 1
            assert f"**{titles[w]}**" not in text and w not in ea.skill_ids
        assert all(f"**{titles[s]}**" in text for s in ea.skill_ids)
    assert ablated >= 3, ablated  # the design was exercised
    assert len({e.metadata["group"] for e in episodes}) == 6
    stats = cb.runtime.bank.stats
    assert stats.episodes == 12 and sum(stats.withheld(s) for s in titles) == 2 * ablated
