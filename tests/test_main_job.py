"""The README's main job at smoke size: GRPO on real ALFWorld games with SkillCallback, end to end."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("trl")
pytest.importorskip("textworld", reason="ALFWorld is not installed (pip install -e '.[alfworld]')")

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "trl_grpo_alfworld.py"


@pytest.mark.slow
@pytest.mark.alfworld
def test_smoke_run_injects_skills_in_every_episode_and_grows_the_bank(shared_data, tmp_path):
    out = tmp_path / "run"
    env = {**os.environ, "ALFWORLD_DATA": str(shared_data / "alfworld"), "HF_HUB_OFFLINE": "1"}
    proc = subprocess.run([sys.executable, str(EXAMPLE), "--smoke", "--output-dir", str(out)], env=env,
                          capture_output=True, text=True, timeout=1200)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-5000:]
    assert "shows the SkillRL loop, NOT learning" in proc.stdout  # the tiny policy says so loudly
    s = json.loads((out / "run_summary.json").read_text())
    assert s["steps"] == 4 and [e["step"] for e in s["evaluations"]] == [2, 4]
    # every episode's prompt carried skills, train and validation alike
    assert s["episodes"] and len(s["skills_injected_per_episode"]) == len(s["episodes"])
    assert min(s["skills_injected_per_episode"]) > 0
    assert {e["split"] for e in s["episodes"]} == {"train", "validation"}
    assert sum(e["split"] == "validation" for e in s["episodes"]) == 12  # 6 valid_seen games x 2 evaluations
    # the evaluations had failures, so the bank grew, and every version was written
    first = s["evaluations"][0]
    assert min(first["success_rates"].values()) < 0.4
    assert s["evolutions"][0]["added"] and s["evolutions"][0]["bank_version_after"] > first["bank_version_before"]
    assert s["bank"]["final_version"] > s["bank"]["initial_version"]
    for v in range(s["bank"]["final_version"] + 1):
        assert (out / "banks" / f"bank_v{v}.json").exists()
    assert (out / "run_summary.png").stat().st_size > 0
    # the G copies of a group saw the same skills
    train = [e for e in s["episodes"] if e["split"] == "train"]
    for a, b in zip(train[::2], train[1::2]):
        assert a["task"] == b["task"] and a["skill_ids"] == b["skill_ids"]
