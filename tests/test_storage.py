"""Bank files under concurrent writers, kills and hostile input (issue 10, parts 1, 4, 5).

Real processes (subprocesses of tests/scripts/bank_writer.py; forked writers SIGKILLed by tests/scripts/bank_kill.py),
real files, the real official ALFWorld bank (an excerpt of it in tests/data/hostile_base/).
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from skillrl import storage
from skillrl.bank import SkillBank
from skillrl.errors import BankConflictError, BankFormatError, BankNotFoundError, StaleBankError
from skillrl.runtime import BANK_FILE, STATE_FILE, SkillRuntime
from skillrl.skill import Skill

ROOT = Path(__file__).resolve().parents[1]
HOSTILE = ROOT / "tests" / "data" / "hostile"
BASE = ROOT / "tests" / "data" / "hostile_base"
SCRIPTS = ROOT / "tests" / "scripts"
EXPECTED = json.loads((HOSTILE / "expected.json").read_text(encoding="utf-8"))
ENV = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep)}


def _skill(sid: str, **kw) -> Skill:
    return Skill(skill_id=sid, title=kw.pop("title", f"Title {sid}"), principle=kw.pop("principle", "Do it."), **kw)


def _native_copy(tmp_path: Path, name: str = "bank.json") -> Path:
    path = tmp_path / name
    shutil.copyfile(BASE / "base_native.json", path)
    return path


# ====================================================================================== hostile files


def _matches(err: BankFormatError, expected: dict) -> bool:
    path = expected["json_path"]
    prefix = path.endswith(("(line", "byte "))
    return (err.json_path.startswith(path) if prefix else err.json_path == path) and expected["fragment"] in str(err)


def test_the_hostile_corpus_is_complete_and_its_bases_are_valid():
    on_disk = sorted(p.name for p in HOSTILE.iterdir() if p.name not in ("expected.json", "README.md"))
    assert on_disk == sorted(EXPECTED) and len(on_disk) >= 40
    # the bases the hostile files were cut from load (so each failure is the mutation's), native round-trips exactly
    native = SkillBank.load(BASE / "base_native.json")
    assert native.version == 3 and SkillBank.load(BASE / "base_official.json").version == 0
    assert native.to_native() == json.loads((BASE / "base_native.json").read_text())


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_every_hostile_file_is_one_bank_format_error_naming_it(name):
    path = HOSTILE / name
    with pytest.raises(BankFormatError) as info:
        SkillBank.load(path)
    err = info.value
    assert "\n" not in str(err) and str(err).startswith(f"{path}: ")
    assert _matches(err, EXPECTED[name]), (err.json_path, str(err))


def test_skillrl_inspect_gives_one_line_naming_each_hostile_file(monkeypatch, capsys):
    from skillrl import cli

    failures = []
    for name in sorted(EXPECTED):
        monkeypatch.setattr(sys, "argv", ["skillrl", "inspect", str(HOSTILE / name)])
        with pytest.raises(SystemExit) as info:
            cli.main()
        out, err = capsys.readouterr()
        lines = err.strip().splitlines()
        if not (info.value.code == 2 and len(lines) == 1 and f"error: {HOSTILE / name}: " in lines[0]
                and EXPECTED[name]["fragment"] in lines[0] and not out):
            failures.append((name, info.value.code, err))
    assert failures == []


def test_a_hostile_file_through_the_real_console_process_is_one_line_without_traceback():
    name = "bank[x][bold].json"  # Rich markup in the file name must be printed literally
    out = subprocess.run([sys.executable, "-m", "skillrl.cli", "inspect", str(HOSTILE / name)], env=ENV,
                         capture_output=True, text=True, timeout=120, check=False)
    assert out.returncode == 2 and "Traceback" not in out.stderr
    assert out.stderr.strip().splitlines() == [f"error: {HOSTILE / name}: $: expected a skill bank: at least one of "
                                               "'general_skills', 'task_specific_skills', 'query_type_skills', "
                                               "'common_mistakes', got an empty object"]


def test_fifo_oversize_and_missing_files_are_bank_format_errors(tmp_path):
    fifo = tmp_path / "pipe.json"
    os.mkfifo(fifo)
    with pytest.raises(BankFormatError, match=r"pipe\.json: \$: expected a regular file, got a FIFO"):
        SkillBank.load(fifo)  # would block forever if opened
    big = tmp_path / "big.json"
    with open(big, "wb") as fh:  # sparse: 1 byte over the documented limit without writing 64 MiB
        fh.truncate(storage.MAX_BANK_BYTES + 1)
    with pytest.raises(BankFormatError, match=rf"at most {storage.MAX_BANK_BYTES} bytes"):
        SkillBank.load(big)
    small = _native_copy(tmp_path)
    with pytest.raises(BankFormatError, match="at most 100 bytes"):
        SkillBank.load(small, max_bytes=100)
    with pytest.raises(BankNotFoundError) as info:
        SkillBank.load(tmp_path / "nope.json")
    assert isinstance(info.value, FileNotFoundError) and isinstance(info.value, BankFormatError)


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads files regardless of their mode")
def test_an_unreadable_file_is_a_bank_format_error(tmp_path):
    path = _native_copy(tmp_path)
    path.chmod(0)
    with pytest.raises(BankFormatError, match="a readable file, got PermissionError"):
        SkillBank.load(path)


def test_in_memory_documents_get_the_same_checks_and_nan_is_never_written(tmp_path):
    doc = json.loads((BASE / "base_official.json").read_text())
    doc["metadata"]["score"] = float("nan")
    with pytest.raises(BankFormatError, match=r"\$\.metadata\.score: expected a finite number"):
        SkillBank.from_dict(doc)
    bank = SkillBank.load(BASE / "base_official.json")
    target = bank.save(tmp_path / "b.json")
    before = target.read_bytes()
    bank.metadata["score"] = float("inf")
    with pytest.raises(BankFormatError, match="finite number"):
        bank.save(target)
    assert target.read_bytes() == before


def test_transaction_ops_are_checked_so_every_written_file_loads_again():
    bank = SkillBank()
    with pytest.raises(ValueError, match="not one of"), bank.transaction("x", op="frobnicate"):
        bank.add(_skill("a"))
    assert bank.version == 0


# ====================================================================================== conflicts


def test_a_stale_save_raises_naming_both_versions_and_writes_nothing(tmp_path):
    path = _native_copy(tmp_path)
    a, b = SkillBank.load(path), SkillBank.load(path)
    a.add(_skill("from_a"))
    a.save(path)
    on_disk = path.read_bytes()
    b.add(_skill("from_b"))
    with pytest.raises(StaleBankError) as info:
        b.save(path)
    err = info.value
    assert (err.loaded_version, err.disk_version, err.unsaved) == (3, 4, 1)
    assert "loaded v3" in str(err) and "on disk v4" in str(err) and "rebase" in str(err)
    assert err.loaded_sha256 == storage.sha256_hex((BASE / "base_native.json").read_bytes())
    assert err.disk_sha256 == storage.sha256_hex(on_disk)
    assert path.read_bytes() == on_disk  # nothing written
    # the documented merge: rebase re-applies b's unsaved change on top of v4, then save works
    b.rebase(path)
    assert b.version == 5 and "from_a" in b and "from_b" in b
    assert b.get("from_b").provenance.created_version == 5
    b.save(path)
    final = SkillBank.load(path)
    assert final.version == 5 and [c.op for c in final.history][-2:] == ["add", "add"]
    assert {"from_a", "from_b"} <= {s.skill_id for s in final.skills()}
    assert final.at_version(3).to_native()["general_skills"] == SkillBank.load(BASE / "base_native.json").to_native()[
        "general_skills"]


def test_rebase_refuses_changes_to_a_record_the_other_writer_changed(tmp_path):
    path = _native_copy(tmp_path)
    a, b = SkillBank.load(path), SkillBank.load(path)
    a.update("gen_002", principle="A's wording.")
    a.save(path)
    b.update("gen_002", principle="B's wording.")
    before = b.to_native()
    with pytest.raises(StaleBankError):
        b.save(path)
    with pytest.raises(BankConflictError, match="'gen_002' was changed or removed by the other writer"):
        b.rebase(path)
    assert b.to_native() == before  # unchanged; the user decides
    b.save(path, overwrite=True)  # the documented escape hatch
    assert SkillBank.load(path).get("gen_002").principle == "B's wording."


def test_edit_saves_under_the_lock_and_writes_nothing_when_the_block_fails(tmp_path):
    path = _native_copy(tmp_path)
    before = path.read_bytes()
    with pytest.raises(RuntimeError), SkillBank.edit(path) as bank:
        bank.add(_skill("x"))
        raise RuntimeError("changed my mind")
    assert path.read_bytes() == before
    with SkillBank.edit(path) as bank:
        bank.add(_skill("x"))
    assert SkillBank.load(path).version == 4
    with pytest.raises(BankNotFoundError), SkillBank.edit(tmp_path / "new.json"):
        pass
    with SkillBank.edit(tmp_path / "new.json", create=True) as bank:
        bank.add(_skill("first"))
    assert SkillBank.load(tmp_path / "new.json").version == 1
    official = tmp_path / "official.json"
    shutil.copyfile(BASE / "base_official.json", official)
    with SkillBank.edit(official) as bank:  # format "auto": stays official
        bank.add(_skill("y"))
    assert "format" not in json.loads(official.read_text()) and "y" in SkillBank.load(official)


def _writers(tmp_path: Path, n: int, rounds: int, mode: str, lockstep: bool) -> tuple[int, int, SkillBank, list]:
    """Run ``n`` real writer processes on a copy of the native base bank; ``(saved, lost, final bank, outputs)``
    where ``saved`` counts the saves that returned and ``lost`` those of them whose skill is not in the final file."""
    path = _native_copy(tmp_path)
    cmd = [sys.executable, str(SCRIPTS / "bank_writer.py"), str(path), "--rounds", str(rounds), "--mode", mode]
    if lockstep:
        (tmp_path / "sync").mkdir()
        cmd += ["--lockstep", str(tmp_path / "sync"), "--parties", str(n)]
    procs = [subprocess.Popen([*cmd, "--id", f"w{i}"], env=ENV, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True) for i in range(n)]
    outs = []
    for p in procs:
        out, err = p.communicate(timeout=600)
        assert p.returncode == 0, err
        outs.append(json.loads(out))
    final = SkillBank.load(path)  # strict: the history replays
    saved = [sid for o in outs for sid in o["saved"]]
    return len(saved), sum(sid not in final for sid in saved), final, outs


def test_two_writers_in_lockstep_get_conflicts_not_lost_updates(tmp_path):
    saved, lost, final, outs = _writers(tmp_path, 2, 50, "plain", lockstep=True)
    # every round both loaded the same version; exactly one save per round lands, the other is refused loudly
    assert lost == 0 and saved == 50 and sum(o["conflicts"] for o in outs) == 50
    assert final.version == 3 + 50 and len(final) == len(SkillBank.load(BASE / "base_native.json")) + 50


@pytest.mark.slow
def test_two_writers_in_lockstep_that_rebase_lose_nothing(tmp_path):
    saved, lost, final, outs = _writers(tmp_path, 2, 50, "rebase", lockstep=True)
    assert saved == 100 and lost == 0 and sum(o["rebases"] for o in outs) == 50
    assert final.version == 3 + 100


@pytest.mark.slow
def test_four_writers_editing_under_the_lock_lose_nothing(tmp_path):
    saved, lost, final, outs = _writers(tmp_path, 4, 50, "edit", lockstep=False)
    assert saved == 200 and lost == 0 and final.version == 3 + 200
    assert sum(o["conflicts"] for o in outs) == 0


# ====================================================================================== files


def test_stale_temp_files_of_our_pattern_are_removed_on_the_next_save(tmp_path):
    path = _native_copy(tmp_path)
    stale = [tmp_path / ".bank.json.4242-deadbeef.tmp", tmp_path / ".bank.json.abc123.tmp"]  # ours, old mkstemp style
    for p in stale:
        p.write_bytes(b'{"general_skills": [')  # partial writes of a killed writer
    keep = [tmp_path / ".other.json.1-2.tmp", tmp_path / "bank.json.bak", tmp_path / ".bank.json.tmp.keep",
            tmp_path / ".bank.json.bak.77-0badf00d.tmp"]  # the last is a writer of bank.json.bak: not ours to remove
    for p in keep:
        p.write_text("not ours")
    SkillBank.load(path).save(path)
    assert not any(p.exists() for p in stale) and all(p.exists() for p in keep)


def test_new_files_follow_the_umask_and_replaced_files_keep_their_mode(tmp_path):
    old = os.umask(0o027)
    try:
        bank = SkillBank.load(BASE / "base_native.json")
        new = bank.save(tmp_path / "new.json")
        assert stat.S_IMODE(new.stat().st_mode) == 0o640  # 0o666 & ~0o027
        kept = _native_copy(tmp_path, "kept.json")
        kept.chmod(0o604)
        SkillBank.load(kept).save(kept)
        assert stat.S_IMODE(kept.stat().st_mode) == 0o604
        storage.write_state_dir(tmp_path / "state", {"a.json": {"x": 1}})
        assert stat.S_IMODE((tmp_path / "state" / "a.json").stat().st_mode) == 0o640
    finally:
        os.umask(old)


def test_saving_through_a_symlink_writes_the_target_and_keeps_the_link(tmp_path):
    real = _native_copy(tmp_path, "real.json")
    link = tmp_path / "link.json"
    link.symlink_to("real.json")
    bank = SkillBank.load(link)
    bank.add(_skill("via_link"))
    bank.save(link)
    assert link.is_symlink() and os.readlink(link) == "real.json"
    assert "via_link" in SkillBank.load(real)
    # the conflict check sees through links: a writer of the real path and one of the link are the same file
    other = SkillBank.load(real)
    other.add(_skill("other"))
    other.save(real)
    bank.add(_skill("late"))
    with pytest.raises(StaleBankError):
        bank.save(link)
    dangling = tmp_path / "dangling.json"
    dangling.symlink_to("made_by_save.json")
    SkillBank().save(dangling)
    assert dangling.is_symlink() and (tmp_path / "made_by_save.json").is_file()


def _cli(monkeypatch, capsys, *args) -> tuple[int, str, str]:
    from skillrl import cli

    monkeypatch.setattr(sys, "argv", ["skillrl", *args])
    try:
        cli.main()
        code = 0
    except SystemExit as exc:
        code = exc.code or 0
    out, err = capsys.readouterr()
    return code, out, err


def test_convert_refuses_to_overwrite_its_source_with_less_history(tmp_path, monkeypatch, capsys):
    src = _native_copy(tmp_path)
    before = src.read_bytes()
    code, _, err = _cli(monkeypatch, capsys, "convert", f"{src}@1", str(src))
    assert code == 2 and "would overwrite its source" in err and "3 changes" in err and len(err.splitlines()) == 1
    code, _, err = _cli(monkeypatch, capsys, "convert", str(src), str(src), "--format", "official")
    assert code == 2 and "keeping 0 changes" in err
    link = tmp_path / "alias.json"
    link.symlink_to(src.name)
    code, _, err = _cli(monkeypatch, capsys, "convert", f"{src}@2", str(link))
    assert code == 2 and "would overwrite its source" in err
    assert src.read_bytes() == before
    code, _, _ = _cli(monkeypatch, capsys, "convert", f"{src}@1", str(tmp_path / "v1.json"))
    assert code == 0 and SkillBank.load(tmp_path / "v1.json").version == 1
    code, _, _ = _cli(monkeypatch, capsys, "convert", str(src), str(src))  # same history: allowed, nothing lost
    assert code == 0 and SkillBank.load(src).to_native() == json.loads(before)


# ====================================================================================== PATH@VERSION and markup


@pytest.fixture()
def spec_dir(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    shutil.copyfile(BASE / "base_native.json", tmp_path / "b.json")
    shutil.copyfile(BASE / "base_official.json", tmp_path / "v@2")  # a file literally named with @digits
    (tmp_path / "at@dir").mkdir()
    shutil.copyfile(BASE / "base_native.json", tmp_path / "at@dir" / "b.json")
    return tmp_path


@pytest.mark.parametrize("spec, version, error", [
    ("b.json", 3, None),
    ("b.json@0", 0, None),
    ("b.json@1", 1, None),
    ("b.json@003", 3, None),
    ("v@2", 0, None),                       # literal file: the path "v" does not exist
    ("at@dir/b.json", 3, None),             # '@' in a folder name
    ("at@dir/b.json@2", 2, None),
    ("b.json@9", None, "version 9 is not available"),
    ("b.json@\u00b2", None, "b.json@\u00b2: $: expected an existing file"),   # superscript two is no version
    ("b.json@\u0661", None, "b.json@\u0661: $: expected an existing file"),   # Arabic-Indic one is no version
    ("b.json@", None, "b.json@: $: expected an existing file"),
    ("b.json@-1", None, "b.json@-1: $: expected an existing file"),
    ("b.json@1.0", None, "b.json@1.0: $: expected an existing file"),
    ("b.json@ 1", None, "b.json@ 1: $: expected an existing file"),
])
def test_path_at_version_specs(spec_dir, monkeypatch, capsys, spec, version, error):
    code, out, err = _cli(monkeypatch, capsys, "inspect", spec, "--json")
    if error is None:
        assert code == 0 and json.loads(out)["version"] == version
    else:
        assert code == 2 and error in err and len(err.strip().splitlines()) == 1 and "Traceback" not in err


def test_rich_markup_in_user_data_is_printed_literally(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)  # short names: the table title is not folded
    bank = SkillBank.load(BASE / "base_native.json")
    bank.add(_skill("mk_001", tier="task_specific", category="[/bold]"))
    bank.add(_skill("mk_002", tier="task_specific", category="[red]hot[/red]"))
    path = bank.save("[bold]bank[red].json")
    code, out, err = _cli(monkeypatch, capsys, "inspect", str(path))
    assert code == 0, err
    assert "[/bold]" in out and "[red]hot[/red]" in out and "[bold]bank[red].json" in out
    code, out, _ = _cli(monkeypatch, capsys, "convert", str(path), "[i]out.json")
    assert code == 0 and "wrote " in out and "[i]out.json" in out


# ====================================================================================== state directories


def test_state_dir_round_trips_verifies_hashes_and_leaves_other_files_alone(tmp_path):
    d = tmp_path / "ckpt"
    d.mkdir()
    (d / "model.safetensors").write_bytes(b"weights")
    storage.write_state_dir(d, {"a.json": {"v": 1}, "b.bin": b"\x00\x01"})
    storage.write_state_dir(d, {"a.json": {"v": 2}, "b.bin": b"\x00\x02"})
    assert storage.read_state_dir(d) == {"a.json": b'{\n  "v": 2\n}\n', "b.bin": b"\x00\x02"}
    assert (d / "model.safetensors").read_bytes() == b"weights" and storage.state_dir_leftovers(d) == []
    assert json.loads((d / "a.json").read_text()) == {"v": 2}  # plain paths still work (links to the current unit)
    # a copy with links followed (shutil.copytree, cp -rL) still reads, and can be written again
    shutil.copytree(d, tmp_path / "copy")
    assert storage.read_state_dir(tmp_path / "copy")["b.bin"] == b"\x00\x02"
    storage.write_state_dir(tmp_path / "copy", {"a.json": {"v": 3}, "b.bin": b""})
    assert storage.read_state_dir(tmp_path / "copy")["a.json"] == b'{\n  "v": 3\n}\n'
    # a file changed behind the manifest's back is an error, not a silent mix
    real = (d / "a.json").resolve()
    real.write_text('{"v": 99}\n')
    with pytest.raises(BankFormatError, match=r"a\.json: \$: expected the content the state manifest names"):
        storage.read_state_dir(d)
    with pytest.raises(BankConflictError):
        storage.write_state_dir(d, {"../escape.json": {}})


def test_runtime_reads_the_older_plain_layout_and_rejects_bad_state(tmp_path):
    bank = SkillBank.load(BASE / "base_native.json")
    legacy = tmp_path / "legacy"
    legacy.mkdir()
    bank.save(legacy / BANK_FILE)
    (legacy / STATE_FILE).write_text(json.dumps({"reports": [], "validations": [{"step": 1, "bank_version": 3}]}))
    rt = SkillRuntime(SkillBank(), mode="template", load_entry_points=False)
    rt.load(legacy)
    assert rt.bank.version == 3 and rt.validations[0]["step"] == 1
    (legacy / STATE_FILE).write_text('{"reports": [], "reports": []}')
    with pytest.raises(BankFormatError, match=r"skillrl_state\.json: \$: expected each key once"):
        rt.load(legacy)
    with pytest.raises(BankNotFoundError):
        rt.load(tmp_path / "empty")
    rt.save(tmp_path / "new")
    assert (tmp_path / "new" / BANK_FILE).is_file() and os.path.islink(tmp_path / "new" / BANK_FILE)


# ====================================================================================== kills


def _kill_module():
    sys.path.insert(0, str(SCRIPTS))
    try:
        import bank_kill
    finally:
        sys.path.remove(str(SCRIPTS))
    return bank_kill


def test_the_kill_checker_counts_what_it_should(tmp_path):
    """The kill test's checks can fail: a disagreeing state directory and a corrupt bank are both counted."""
    bank_kill = _kill_module()
    bank = SkillBank.load(BASE / "base_native.json")
    bank.save(tmp_path / "bank.json")
    rt = SkillRuntime(bank.copy(), mode="template", load_entry_points=False)
    rt.validations.append({"step": 0, "bank_version": 3})
    rt.save(tmp_path / "state")
    last = {"bank": 0, "state": 0}
    assert bank_kill._check(tmp_path, last) == {"corrupt_bank": 0, "disagree_state": 0, "errors": []}
    rt.validations.append({"step": 1, "bank_version": 4})  # state of a later save than its bank
    rt.save(tmp_path / "state")
    (tmp_path / "bank.json").write_bytes((tmp_path / "bank.json").read_bytes()[:100])
    res = bank_kill._check(tmp_path, last)
    assert res["corrupt_bank"] == 1 and res["disagree_state"] == 1


@pytest.mark.slow
def test_sigkill_during_save_loops_leaves_no_corrupt_bank_no_disagreeing_state_and_no_leftovers(tmp_path):
    out = subprocess.run([sys.executable, str(SCRIPTS / "bank_kill.py"), str(tmp_path / "kill"), "--kills", "50",
                          "--seed", "10", "--base", str(BASE / "base_native.json")], env=ENV, capture_output=True,
                         text=True, timeout=900, check=False)
    assert out.returncode == 0, out.stderr
    res = json.loads(out.stdout)
    assert res["kills"] == 50 and res["writer_failures"] == 0, res
    assert (res["corrupt_banks"], res["disagreeing_state_dirs"]) == (0, 0), res
    assert (res["stale_after_next_save"], res["final_leftovers"]) == (0, 0), res
    assert res["final_bank_version"] >= 3 + 50  # every writer saved at least once before its kill
