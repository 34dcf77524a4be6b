"""Rendering: the official format exactly, the compact one, the token budget, placement in prompts."""

from __future__ import annotations

from pathlib import Path

import pytest

from skillrl.bank import SkillBank
from skillrl.render import as_message, estimate_tokens, format_sections, inject, render_block
from skillrl.retrieval import Retrieval, ScoredSkill, template_retrieval

BANK = Path(__file__).resolve().parents[2] / "shared/data/skillrl-official/memory_data/alfworld/claude_style_skills.json"


@pytest.fixture(scope="module")
def bank() -> SkillBank:
    if not BANK.exists():
        pytest.skip(f"official bank not found at {BANK}")
    return SkillBank.load(BANK)


def official_format_for_prompt(retrieved: dict, task_type: str, mode: str) -> str:
    """aiming-lab/SkillRL's SkillsOnlyMemory.format_for_prompt, transcribed as the reference."""
    sections = []
    general = retrieved.get("general_skills", [])
    if general:
        lines = ["### General Principles"]
        for skill in general:
            lines.append(f"- **{skill['title']}**: {skill['principle']}")
        sections.append("\n".join(lines))
    task_skills = retrieved.get("task_specific_skills", [])
    if task_skills:
        title = "### Task-Relevant Skills" if mode == "embedding" else f"### {task_type.replace('_', ' ').title()} Skills"
        lines = [title]
        for skill in task_skills:
            lines.append(f"- **{skill['title']}**: {skill['principle']}")
            if skill.get("when_to_apply"):
                lines.append(f"  _Apply when: {skill['when_to_apply']}_")
        sections.append("\n".join(lines))
    mistakes = retrieved.get("mistakes_to_avoid", [])
    if mistakes:
        lines = ["### Mistakes to Avoid"]
        for m in mistakes:
            lines.append(f"- **Don't**: {m['description']}")
            lines.append(f"  **Instead**: {m['how_to_avoid']}")
        sections.append("\n".join(lines))
    return "\n\n".join(sections) if sections else "No relevant skills found for this task."


@pytest.mark.parametrize("category", ["heat", "look_at_obj_in_light", "pick_and_place"])
def test_official_style_matches_the_official_renderer_byte_for_byte(bank, category):
    r = template_retrieval(bank, category)
    doc = bank.to_official()
    reference = official_format_for_prompt({
        "general_skills": doc["general_skills"],
        "task_specific_skills": doc["task_specific_skills"][category],
        "mistakes_to_avoid": doc["common_mistakes"][:5],
    }, category, "template")
    block = render_block(r)
    assert block.text == reference
    assert block.skill_ids == tuple(s.skill_id for s in bank.general + bank.task_specific[category])
    assert block.mistake_ids == tuple(m.mistake_id for m in bank.mistakes[:5])


def test_no_category_uses_the_task_relevant_heading_and_empty_gives_the_official_text(bank):
    r = Retrieval(query="q", category=None, task_specific=[ScoredSkill(bank.task_specific["heat"][0], 0.7)])
    assert render_block(r).text.startswith("### Task-Relevant Skills")
    assert render_block(Retrieval(query="q", category=None)).text == "No relevant skills found for this task."


def test_compact_is_smaller_and_keeps_every_skill(bank):
    r = template_retrieval(bank, "clean")
    full, compact = render_block(r), render_block(r, style="compact")
    assert compact.tokens < 0.8 * full.tokens
    assert compact.skill_ids == full.skill_ids
    for s in r.skills:
        assert s.principle in compact.text


def test_budget_drops_lowest_ranked_first(bank):
    general = [ScoredSkill(s, 0.9 - 0.05 * i) for i, s in enumerate(bank.general[:4])]
    task = [ScoredSkill(s, 0.8 - 0.1 * i) for i, s in enumerate(bank.task_specific["heat"][:3])]
    r = Retrieval(query="q", category="heat", general=general, task_specific=task, mistakes=bank.mistakes[:2])
    full = render_block(r)
    budget = full.tokens - 1
    cut = render_block(r, max_tokens=budget)
    assert cut.tokens <= budget
    assert cut.dropped_ids[0] == bank.mistakes[1].mistake_id  # mistakes go first, last one first
    tighter = render_block(r, max_tokens=full.tokens // 3)
    assert tighter.tokens <= full.tokens // 3
    dropped_skills = [i for i in tighter.dropped_ids if not i.startswith("err")]
    scores = {s.skill.skill_id: s.score for s in general + task}
    kept = [scores[i] for i in tighter.skill_ids]
    # every dropped general skill scored no higher than every kept general skill
    kept_general = [scores[s.skill.skill_id] for s in general if s.skill.skill_id in tighter.skill_ids]
    dropped_general = [scores[i] for i in dropped_skills if i.startswith("gen")]
    assert not kept_general or not dropped_general or max(dropped_general) <= min(kept_general)
    assert kept  # the best task-specific skill survives a third of the budget
    assert task[0].skill.skill_id in tighter.skill_ids


def test_budget_with_a_real_tokenizer_counts_its_tokens(bank):
    class WordTokenizer:  # any object with encode(); HF tokenizers are tested in the TRL adapter tests
        def encode(self, text, add_special_tokens=False):
            return text.split()

    r = template_retrieval(bank, "cool")
    block = render_block(r, tokenizer=WordTokenizer(), max_tokens=200)
    assert block.tokens == len(block.text.split()) <= 200
    assert block.tokens != estimate_tokens(block.text)


def test_inject_places_the_block_for_text_and_conversations():
    assert inject("Solve it.", "SKILLS") == "SKILLS\n\nSolve it."
    assert inject("Solve it.", "SKILLS", placement="user_suffix") == "Solve it.\n\nSKILLS"
    conv = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Task"}]
    assert inject(conv, "SKILLS", placement="system")[0]["content"] == "Be brief.\n\nSKILLS"
    assert inject(conv, "SKILLS")[1]["content"] == "SKILLS\n\nTask"
    assert conv[1]["content"] == "Task"  # input untouched
    no_system = [{"role": "user", "content": "Task"}]
    assert inject(no_system, "SKILLS", placement="system") == [{"role": "system", "content": "SKILLS"},
                                                              {"role": "user", "content": "Task"}]
    with pytest.raises(ValueError, match="no user message"):
        inject([{"role": "system", "content": "x"}], "S")
    with pytest.raises(ValueError, match="unknown placement"):
        inject("x", "S", placement="middle")
    assert inject(conv, "") == conv
    assert as_message("S") == {"role": "system", "content": "S"}


def test_format_sections_rejects_unknown_style(bank):
    with pytest.raises(ValueError, match="unknown style"):
        format_sections(bank.general, [], [], None, style="fancy")
