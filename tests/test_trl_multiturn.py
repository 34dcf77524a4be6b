"""Multi-turn TRL (``environment_factory``) on real ALFWorld games with NO task column: the skills come from the task
the environment states after ``reset()``, and evolution triggers from the failures."""

from __future__ import annotations

import pytest

pytest.importorskip("trl")
pytest.importorskip("textworld", reason="ALFWorld is not installed (pip install -e '.[alfworld]')")

import sys  # noqa: E402
from pathlib import Path  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from httpserver import OpenAICompatServer, category_lesson  # noqa: E402
from trainer_spy import spy_on_generate  # noqa: E402

from skillrl.bank import SkillBank  # noqa: E402
from skillrl.teachers import OpenAITeacher  # noqa: E402

SYSTEM = "You are an agent in a household. Call the step tool with one command at a time."


class GameTool:
    """One real ALFWorld game per rollout; ``reset(game=...)`` returns the first observation (with the goal)."""

    def __init__(self) -> None:
        from skillrl.envs.alfworld import ALFWorldEnv

        self.env = ALFWorldEnv(max_steps=2)

    def reset(self, game: str, **row) -> str:
        observation, _ = self.env.reset(game)
        return "\n\n" + observation

    def step(self, action: str) -> str:
        """Take one action in the game.

        Args:
            action: one ALFWorld command, e.g. "go to desk 1".

        Returns:
            The observation after the action.
        """
        observation, _reward, _done, _info = self.env.step(action)
        return observation

    def get_reward(self) -> float:
        return self.env.reward


@pytest.mark.slow
@pytest.mark.alfworld
def test_environment_task_drives_retrieval_and_evolution(tiny_model, shared_data, tmp_path, monkeypatch):
    from datasets import Dataset
    from trl import GRPOConfig, GRPOTrainer

    from skillrl.adapters.trl import SkillCallback
    from skillrl.envs.alfworld import list_games
    from skillrl.profiles import get_profile

    monkeypatch.setenv("ALFWORLD_DATA", str(shared_data / "alfworld"))
    monkeypatch.setenv("TRL_EXPERIMENTAL_SILENCE", "1")
    bank = SkillBank.load(shared_data / "skillrl-official/memory_data/alfworld/claude_style_skills.json")
    games = list_games("valid_seen")
    picked = [next(g for g in games if g.task_type == t)
              for t in ("pick_heat_then_place_in_recep", "pick_clean_then_place_in_recep")]
    rows = [{"prompt": [{"role": "system", "content": SYSTEM}, {"role": "user", "content": "Here is the game."}],
             "game": str(g.path)} for g in picked]  # no "task" column: only reset() says what the task is
    config = GRPOConfig(output_dir=str(tmp_path / "out"), max_steps=1, per_device_train_batch_size=4,
                        num_generations=2, per_device_eval_batch_size=2, num_generations_eval=1,
                        max_completion_length=24, max_tool_calling_iterations=1, eval_strategy="steps",
                        eval_steps=1, logging_steps=1, save_strategy="no", report_to="none", use_cpu=True,
                        bf16=False, seed=0)
    trainer = GRPOTrainer(model=tiny_model, args=config, train_dataset=Dataset.from_list(rows),
                          eval_dataset=Dataset.from_list(rows), environment_factory=GameTool, reward_funcs=[])
    seen = spy_on_generate(trainer)
    with OpenAICompatServer(default=category_lesson) as srv:  # a real HTTP teacher: the offline one rightly learns
        teacher = OpenAITeacher("test-model", base_url=srv.url, api_key="x", timeout=10, max_retries=0)  # nothing
        cb = SkillCallback(trainer, bank=bank, profile="alfworld", teacher=teacher)  # from a random policy's noise
        trainer.add_callback(cb)  # embedding mode, the defaults
        trainer.train()

    detector = get_profile("alfworld")
    titles = {c: {s.title for s in skills} for c, skills in bank.task_specific.items()}
    assert len(seen) == 4 + 2  # 2 games x G=2 in training, 2 in the evaluation
    for prompt in seen:  # the user turn the policy was sampled on
        user = prompt[-1]["content"]
        goal = next(g for g in picked if g.goal in user)
        cat = detector.to_bank_category(goal.task_type, bank.categories)
        shown = {c for c, ts in titles.items() if any(f"**{t}**" in user for t in ts)}
        assert shown == {cat}, (goal.goal, shown)
        assert all(f"**{s.title}**" in user for s in bank.general)  # all 12 general skills
        assert user.index("### General Principles") < user.index(goal.goal)  # before the observation
    # the G copies of a group saw byte-identical prompts
    assert seen[0] == seen[1] and seen[2] == seen[3]
    # the episodes know their category, so the failures triggered evolution for both categories
    report = cb.runtime.reports[-1]
    assert set(report.low_categories) == {"heat", "clean"}, report.summary()
    assert report.error is None and cb.runtime.bank.version > 0
    for req in srv.requests:  # the teacher read the failed episodes of the games the environment named
        user = req.json["messages"][-1]["content"]
        cat = user.split("Task category: ", 1)[1].split("\n", 1)[0]
        assert any(g.goal in user and detector.to_bank_category(g.task_type, bank.categories) == cat for g in picked)
    assert len(srv.requests) == 2
    assert cb.runtime.last_batch.unknown == 0.0
