"""SkillRuntime: what adapters drive. Real bank, real detection, real embedding model and FAISS."""

from __future__ import annotations

import pytest

from skillrl import hookimpl
from skillrl.bank import SkillBank
from skillrl.render import DEFAULT_FRAME
from skillrl.runtime import SkillRuntime, success_rates
from skillrl.skill import Skill

GOALS = ["put a hot apple in fridge.", "clean some mug and put it in coffeemachine.",
         "look at bowl under the desklamp.", "find two pillow and put them in sofa."]


@pytest.fixture()
def bank(shared_data) -> SkillBank:
    return SkillBank.load(shared_data / "skillrl-official/memory_data/alfworld/claude_style_skills.json")


def grpo_batch(goals, g=4):
    """A GRPO-shaped batch: each prompt repeated G times in a row (TRL's RepeatSampler)."""
    prompts = [[{"role": "user", "content": f"You are in a room.\n\nYour task is to: {goal}"}]
               for goal in goals for _ in range(g)]
    return prompts


def test_template_mode_gives_every_group_copy_the_same_detected_category_skills(bank):
    rt = SkillRuntime(bank, mode="template", profile="alfworld", load_entry_points=False)
    out = rt.augment(grpo_batch(GOALS))
    assert [a.category for a in out[::4]] == ["heat", "clean", "look_at_obj_in_light", "pick_and_place"]
    for i in range(0, len(out), 4):
        group = out[i:i + 4]
        assert len({str(a.prompt) for a in group}) == 1
        assert len({a.skill_ids for a in group}) == 1
    heat = out[0]
    assert heat.task == "put a hot apple in fridge."
    assert set(s.skill_id for s in bank.task_specific["heat"]) <= set(heat.skill_ids)
    assert heat.prompt[0]["content"].startswith(DEFAULT_FRAME + "\n### General Principles")
    assert heat.prompt[0]["content"].endswith("Your task is to: put a hot apple in fridge.")
    assert heat.original[0]["content"].startswith("You are in a room.")


def test_embedding_mode_retrieves_once_per_distinct_task(bank, embedder):
    rt = SkillRuntime(bank, mode="embedding", profile="alfworld", embedder=embedder, load_entry_points=False)
    out = rt.augment(grpo_batch(GOALS, g=8))
    assert rt.last_batch.distinct_tasks == 4 and rt.last_batch.prompts == 32
    assert rt.retriever.query_texts_requested == 4
    heat = out[0]
    assert heat.skill_ids[:6] and all(s in bank for s in heat.skill_ids)
    assert any(s.startswith("hea_") for s in heat.skill_ids)
    assert not any(s.startswith(("coo_", "cle_")) for s in heat.skill_ids)  # restricted to the category
    rt.augment(grpo_batch(GOALS, g=8))  # same bank version: served from the cache
    assert rt.retriever.query_texts_requested == 4


def test_task_column_wins_over_prompt_text_and_cache_follows_bank_versions(bank):
    rt = SkillRuntime(bank, mode="template", profile="alfworld", load_entry_points=False)
    a = rt.augment(["Act now."], [{"task": "cool some egg and put it in microwave."}])[0]
    assert a.category == "cool" and a.prompt.endswith("Act now.")
    bank.add(Skill(skill_id="coo_100", title="Fridge first", principle="Open the fridge before cooling.",
                   tier="task_specific", category="cool"))
    b = rt.augment(["Act now."], [{"task": "cool some egg and put it in microwave."}])[0]
    assert "coo_100" in b.skill_ids and b.bank_version == a.bank_version + 1


def test_a_plugin_overrides_a_default_hook(bank):
    class Always:
        @hookimpl
        def skillrl_detect_category(self, task, bank):
            return "clean"

        @hookimpl
        def skillrl_place_block(self, prompt, block):
            return f"<skills>\n{block.text}\n</skills>\n{prompt}"

    rt = SkillRuntime(bank, mode="template", profile="alfworld", plugins=[Always()], load_entry_points=False)
    a = rt.augment(["Your task is to: put a hot apple in fridge."])[0]
    assert a.category == "clean"
    assert a.prompt.startswith(f"<skills>\n{DEFAULT_FRAME}\n### General Principles")


def test_success_rates_per_category():
    from skillrl.episode import Episode

    eps = [Episode(episode_id=str(i), task="t", category=c, success=s)
           for i, (c, s) in enumerate([("heat", True), ("heat", False), ("cool", False), (None, True)])]
    assert success_rates(eps) == {"cool": 0.0, "heat": 0.5, "unknown": 1.0}


def test_state_round_trips_through_save_and_load(bank, tmp_path):
    rt = SkillRuntime(bank, mode="template", profile="alfworld", load_entry_points=False, output_dir=tmp_path / "out")
    bank.add(Skill(skill_id="gen_100", title="New", principle="Something new."))
    rt.save(tmp_path / "ckpt")
    fresh = SkillRuntime(SkillBank(), mode="template", profile="alfworld", load_entry_points=False)
    fresh.load(tmp_path / "ckpt")
    assert fresh.bank.version == 1 and "gen_100" in fresh.bank
    assert fresh.bank.to_native() == bank.to_native()
    assert (tmp_path / "out/banks/bank_v0.json").exists()
