"""Every example plugin in docs/plugins.md runs and changes what the runtime does."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from skillrl.bank import SkillBank
from skillrl.episode import Episode
from skillrl.runtime import SkillRuntime
from skillrl.skill import Skill

DOC = Path(__file__).resolve().parents[1] / "docs" / "plugins.md"


@pytest.fixture(scope="module")
def plugins() -> dict:
    namespace: dict = {}
    for block in re.findall(r"```python\n(.*?)```", DOC.read_text(), flags=re.S):
        if "SkillRuntime(\"bank.json\"" in block:
            continue  # the usage snippet, not a plugin
        exec(compile(block, str(DOC), "exec"), namespace)  # noqa: S102 - our own documentation
    return namespace


@pytest.fixture()
def bank(shared_data) -> SkillBank:
    return SkillBank.load(shared_data / "skillrl-official/memory_data/alfworld/claude_style_skills.json")


def runtime(bank, *plugins, **kw):
    return SkillRuntime(bank, mode="template", profile="alfworld", plugins=list(plugins), load_entry_points=False, **kw)


def test_task_text_and_category_plugins(plugins, bank):
    rt = runtime(bank, plugins["WebShopInstruction"](), plugins["LabelledCategory"]({"heat the mug": "heat"}))
    a = rt.augment(["WebShop\nInstruction: heat the mug\n[Search]"])[0]
    assert a.task == "heat the mug" and a.category == "heat"


def test_retrieve_render_and_place_plugins(plugins, bank):
    rt = runtime(bank, plugins["OnlyTaskSpecific"](), plugins["XmlSkills"](), plugins["AfterFirstLine"]())
    a = rt.augment(["Instruction line\nYour task is to: put a clean mug in coffeemachine."])[0]
    assert a.skill_ids == tuple(s.skill_id for s in bank.task_specific["clean"])
    assert a.prompt.startswith("Instruction line\n<skills>\n<skill id=\"cle_001\">")


def test_accept_and_event_plugins(plugins, bank, tmp_path):
    counter, archive = plugins["SuccessCounter"](), plugins["BankArchive"](str(tmp_path))
    rt = runtime(bank, plugins["NoLongSkills"](), counter, archive, plugins["PrintRates"]())
    assert rt._accept(Skill(skill_id="x", title="t", principle="p" * 301), {}) == "principle has 301 chars (> 300)"
    assert rt._accept(Skill(skill_id="x", title="t", principle="short"), {}) is None
    rt.record([Episode(episode_id="1", task="t", success=True), Episode(episode_id="2", task="t")])
    assert counter.successes == 1
    newer = bank.copy()
    newer.add(Skill(skill_id="gen_100", title="T", principle="P"))
    rt.set_bank(newer)  # e.g. a bank broadcast from rank 0: another version fires skillrl_bank_changed
    assert SkillBank.load(tmp_path / "bank_v1.json").version == 1
