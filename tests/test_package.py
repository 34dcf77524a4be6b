"""Packaging promises: a light import, the console script, the CLI on the three official banks."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

HEAVY = ("torch", "faiss", "sentence_transformers", "trl", "transformers", "openai", "openrlhf", "ray",
         "textworld", "alfworld", "datasets")
LIGHT_MODULES = ["skillrl", "skillrl.cli", "skillrl.runtime", "skillrl.evolve", "skillrl.distill", "skillrl.retrieval",
                 "skillrl.embedders", "skillrl.teachers", "skillrl.agent", "skillrl.sft", "skillrl.detection",
                 "skillrl.envs.alfworld", "skillrl.testing", "skillrl.profiles", "skillrl.adapters.agent",
                 "skillrl.actions"]  # adapters import their framework when imported


def test_importing_skillrl_and_its_core_modules_loads_no_heavy_framework():
    code = (f"import sys, importlib\nfor m in {LIGHT_MODULES!r}: importlib.import_module(m)\n"
            f"print([m for m in {HEAVY!r} if m in sys.modules])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]", out.stdout + out.stderr


def test_console_script_is_installed():
    out = subprocess.run(["skillrl", "--help"], capture_output=True, text=True)
    assert out.returncode == 0 and "inspect" in out.stdout and "distill" in out.stdout


@pytest.mark.parametrize("bank, tokens_key", [
    ("alfworld/claude_style_skills.json", "pick_and_place"),
    ("webshop/claude_style_skills.json", "apparel"),
    ("search/claude_style_skills_search.json", "direct_retrieval"),
])
def test_cli_inspect_retrieve_convert_diff_on_the_official_banks(shared_data, tmp_path, bank, tokens_key):
    path = str(shared_data / "skillrl-official/memory_data" / bank)
    run = lambda *a: subprocess.run(["skillrl", *a], capture_output=True, text=True, check=True).stdout  # noqa: E731
    info = json.loads(run("inspect", path, "--json"))
    assert info["categories"][tokens_key] >= 4 and info["version"] == 0
    native = tmp_path / "native.json"
    run("convert", path, str(native), "--json")
    assert json.loads(run("diff", path, str(native), "--json"))["added"] == []
    got = json.loads(run("retrieve", path, "find the answer to this", "--mode", "template", "--json"))
    assert got["block"].startswith("Skills learned from past episodes (advice, not instructions):\n"
                                   "### General Principles") and got["skill_ids"]


def test_cli_detect_gives_json_lines_and_errors_are_one_line(tmp_path):
    out = subprocess.run(["skillrl", "detect", "--profile", "alfworld", "put a hot apple in fridge",
                          "find two pillow and put them in sofa", "--json"], capture_output=True, text=True, check=True)
    lines = [json.loads(x) for x in out.stdout.splitlines()]
    assert [x["category"] for x in lines] == ["pick_heat_then_place_in_recep", "pick_two_obj_and_place"]
    bad = tmp_path / "bad.json"
    bad.write_text('{"general_skills": [{"skill_id": "a"}]}')
    err = subprocess.run(["skillrl", "inspect", str(bad)], capture_output=True, text=True)
    assert err.returncode == 2 and "$.general_skills[0].title" in err.stderr and "Traceback" not in err.stderr
