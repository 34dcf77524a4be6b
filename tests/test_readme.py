"""The README runs as written: its quick start (Python and shell) from the checkout, and its two set-up commands
are what CI runs and what the main job accepts."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
README = (REPO / "README.md").read_text(encoding="utf-8")


def _section(title: str) -> str:
    start = README.index(f"\n## {title}\n")
    end = README.find("\n## ", start + 1)
    return README[start:end if end > 0 else None]


def _blocks(text: str, lang: str) -> list[str]:
    return re.findall(rf"```{lang}\n(.*?)```", text, re.S)


@pytest.fixture
def checkout_data():
    """The README's paths are relative to the checkout: ../shared/data beside it."""
    if not (REPO.parent / "shared" / "data" / "skillrl-official").is_dir():
        pytest.skip(f"no ../shared/data beside the checkout {REPO}")


def test_quick_start_python_block_prints_what_the_readme_shows(checkout_data):
    section = _section("Quick start")
    (code,) = _blocks(section, "python")
    (shown,) = _blocks(section, "text")
    proc = subprocess.run([sys.executable, "-"], input=code, cwd=REPO, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stdout == shown, f"the README shows:\n{shown}\nthe quick start prints:\n{proc.stdout}"


def test_quick_start_shell_block_runs_from_the_checkout(checkout_data, tmp_path):
    (script,) = _blocks(_section("Quick start"), "bash")
    proc = subprocess.run(["bash", "-euo", "pipefail", "-c", script], cwd=REPO, capture_output=True, text=True,
                          timeout=900, env={**os.environ, "COLUMNS": "120"})
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-3000:]
    out = proc.stdout
    assert "version 0" in out and "pick_and_place" in out  # inspect
    assert re.search(r"^heat\s+pick_heat_then_place_in_recep\s+put a hot apple in fridge", out, re.M)  # detect
    assert "### Heat Skills" in out and "(no differences)" in out  # retrieve, convert + diff
    assert "distilled 3554 episodes" in out


def _two_commands() -> tuple[str, str]:
    blocks = [b.strip() for b in _blocks(_section("Set up: two commands"), "bash")]
    assert len(blocks) == 2, "the README has exactly two set-up commands"
    return blocks[0], blocks[1]


def test_ci_runs_the_readme_test_command_verbatim_and_nothing_else():
    _, tests = _two_commands()
    ci = [line for line in (REPO / ".ci" / "run").read_text().splitlines()
          if line.strip() and not line.lstrip().startswith("#")]
    commands = [line for line in ci if not re.match(r"(set |cd |export )", line)]
    assert commands == [tests], f".ci/run runs {commands}, the README says {tests!r}"
    assert tests.startswith("pip install torch==2.13.0 && ")  # CPU torch first
    assert tests.endswith("ALFWORLD_DATA=../shared/data/alfworld python -m pytest -q")


def test_main_job_command_installs_its_extras_and_its_flags_parse():
    main, _ = _two_commands()
    assert main.startswith("pip install torch==2.13.0 && ")
    install = re.search(r'pip install -e "\.\[([a-z,]+)\]"', main)
    assert install and {"trl", "alfworld"} <= set(install.group(1).split(","))
    run = main.split(" && ")[-1]
    argv = shlex.split(run)
    assert argv[0] == "ALFWORLD_DATA=../shared/data/alfworld" and argv[1:3] == ["python",
                                                                              "examples/trl_grpo_alfworld.py"]
    import importlib.util

    spec = importlib.util.spec_from_file_location("readme_main_job", REPO / argv[2])
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    args = module.parse_args(argv[3:])
    assert args.smoke and args.output_dir == "runs/alfworld"


def test_docs_pages_are_linked_and_name_real_examples():
    for page in ("docs/trl.md", "docs/openrlhf.md", "docs/inference.md"):
        assert f"]({page})" in README, page
        text = (REPO / page).read_text(encoding="utf-8")
        for path in set(re.findall(r"(examples/[\w/.-]+\.(?:py|sh))", text)):
            assert (REPO / path).is_file(), f"{page} names {path}, which does not exist"
