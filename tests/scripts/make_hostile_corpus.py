"""Write tests/data/hostile/: bank files that must each be rejected with one BankFormatError line, and
expected.json (file -> the JSON path and a fragment of the message, written here by hand, not read back from
the code). Built from an excerpt of the real official ALFWorld bank (aiming-lab/SkillRL memory_data).

    PYTHONPATH=. python tests/scripts/make_hostile_corpus.py [SHARED_DATA]

Regenerating gives the same files (no timestamps from the clock are stored).
"""

from __future__ import annotations

import codecs
import copy
import json
import os
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "tests" / "data" / "hostile"


def base_docs(shared: Path) -> tuple[dict, dict]:
    from skillrl.bank import SkillBank
    from skillrl.skill import Skill

    full = json.loads((shared / "skillrl-official/memory_data/alfworld/claude_style_skills.json").read_text())
    official = {
        "general_skills": full["general_skills"][:2],
        "task_specific_skills": {"heat": full["task_specific_skills"]["heat"][:2],
                                 "cool": full["task_specific_skills"]["cool"][:1]},
        "common_mistakes": full["common_mistakes"][:1],
        "metadata": {"source": full["metadata"]["source"], "note": "excerpt for tests/data/hostile"},
    }
    bank = SkillBank.from_dict(copy.deepcopy(official))
    bank.add(Skill(skill_id="hea_100", title="Close the microwave", principle="Close the microwave after heating.",
                   tier="task_specific", category="heat"), reason="v1 add")
    bank.update("gen_001", principle="Search every surface once before revisiting any.", reason="v2 update")
    bank.remove("coo_001", reason="v3 remove")
    native = bank.to_native()
    for i, change in enumerate(native["history"]):
        change["timestamp"] = 1_700_000_000.0 + i  # deterministic files
    return official, native


def dumps(doc: object) -> bytes:
    return (json.dumps(doc, indent=2, ensure_ascii=False) + "\n").encode("utf-8")


def corpus(official: dict, native: dict) -> dict[str, tuple[bytes | None, str, str]]:
    """name -> (bytes or None for special entries, expected JSON path, expected message fragment)."""
    o = lambda: copy.deepcopy(official)
    n = lambda: copy.deepcopy(native)
    out: dict[str, tuple[bytes | None, str, str]] = {}

    def add(name: str, data: bytes | None, path: str, fragment: str) -> None:
        assert name not in out, name
        out[name] = (data, path, fragment)

    def edited(doc: dict, fn) -> bytes:
        fn(doc)
        return dumps(doc)

    # --- not a skill bank
    add("empty_object.json", b"{}\n", "$", "got an empty object")
    add("unknown_keys_only.json", b'{"a": 1}\n', "$", "at least one of 'general_skills'")
    add("metadata_only.json", b'{"metadata": {"source": "x"}}\n', "$", "at least one of 'general_skills'")
    add("top_level_list.json", b"[]\n", "$", "a JSON object (a skill bank), got list")
    add("top_level_string.json", b'"general_skills"\n', "$", "got str")
    add("top_level_null.json", b"null\n", "$", "got NoneType")
    # --- not JSON
    add("empty_file.json", b"", "$ (line 1, column 1)", "expected valid JSON, got Expecting value")
    add("whitespace_only.json", b"  \n\n", "$ (line 3, column 1)", "Expecting value")
    full = dumps(native)
    add("truncated_write.json", full[: len(full) // 2], "$ (line", "expected valid JSON")
    add("trailing_garbage.json", dumps(official) + b"}\n", "$ (line", "Extra data")
    add("control_char_in_string.json", dumps(official).replace(b"Systematic Exploration", b"Systematic\x01Exploration"),
        "$ (line", "Invalid control character")
    add("huge_integer.json", b'{"general_skills": [], "metadata": {"n": ' + b"9" * 5000 + b"}}\n", "$",
        "Exceeds the limit (4300 digits)")
    # --- nesting
    add("deep_nesting_20000.json", b"[" * 20000 + b"]" * 20000, "$", "nested at most 64 levels deep")
    deep: object = "bottom"
    for _ in range(70):
        deep = [deep]
    add("deep_nesting_in_metadata.json", edited(o(), lambda d: d["metadata"].update(deep=deep)),
        "$.metadata.deep" + "[0]" * 10 + "...(depth 64)", "nested at most 64 levels deep")
    # --- encodings
    text = dumps(official).decode("utf-8")
    add("latin1_byte.json", dumps(official).replace(b"Systematic Exploration", b"Syst\xe9matic Exploration"),
        "$ (line 5, byte ", "expected UTF-8 text, got byte 0xe9")
    add("utf16_le_bom.json", codecs.BOM_UTF16_LE + text.encode("utf-16-le"), "$", "a UTF-16 LE byte-order mark")
    add("utf16_be_bom.json", codecs.BOM_UTF16_BE + text.encode("utf-16-be"), "$", "a UTF-16 BE byte-order mark")
    add("utf16_le_no_bom.json", text.encode("utf-16-le"), "$", "NUL bytes at the start")
    add("utf32_le_bom.json", codecs.BOM_UTF32_LE + text.encode("utf-32-le"), "$", "a UTF-32 LE byte-order mark")
    add("utf8_bom.json", codecs.BOM_UTF8 + text.encode("utf-8"), "$", "without a byte-order mark, got a UTF-8")
    add("lone_surrogate.json", dumps(official).replace(b"Systematic Exploration", b"Systematic \\ud800 Exploration"),
        "$.general_skills[0].title", "unpaired UTF-16 surrogates")
    # --- numbers JSON does not have
    add("nan_in_metadata.json", dumps(official).replace(b'"note": "excerpt', b'"score": NaN, "note": "excerpt'),
        "$.metadata.score", "a finite number (JSON has no NaN or Infinity), got NaN")
    add("infinity_in_skill.json",
        dumps(official).replace(b'"skill_id": "gen_002",', b'"skill_id": "gen_002", "weight": Infinity,'),
        "$.general_skills[1].weight", "got Infinity")
    add("negative_infinity.json", dumps(official).replace(b'"note": "excerpt', b'"low": -Infinity, "note": "excerpt'),
        "$.metadata.low", "got -Infinity")
    add("float_overflow.json", dumps(official).replace(b'"note": "excerpt', b'"big": 1e400, "note": "excerpt'),
        "$.metadata.big", "got 1e400")
    # --- duplicate keys (last-wins would drop data silently)
    dup_general = dumps(official).replace(b'  "task_specific_skills"',
                                          b'  "general_skills": [],\n  "task_specific_skills"', 1)
    add("duplicate_top_level_key.json", dup_general, "$", "each key once in an object, got 'general_skills' twice")
    dup_cat = dumps(official).replace(b'    "cool": [', b'    "heat": [],\n    "cool": [', 1)
    add("duplicate_category.json", dup_cat, "$.task_specific_skills", "got 'heat' twice")
    dup_title = dumps(official).replace(b'"title": "Systematic Exploration",',
                                        b'"title": "Systematic Exploration", "title": "Other",', 1)
    add("duplicate_field_in_skill.json", dup_title, "$.general_skills[0]", "got 'title' twice")
    # --- official shape
    add("both_task_keys.json", edited(o(), lambda d: d.update(query_type_skills={})), "$", "only one of")
    add("general_not_list.json", edited(o(), lambda d: d.update(general_skills={"gen_001": {}})),
        "$.general_skills", "a list of skill objects, got dict")
    add("skill_not_object.json", edited(o(), lambda d: d["general_skills"].__setitem__(0, "explore")),
        "$.general_skills[0]", "a skill object, got str")
    add("skill_missing_title.json", edited(o(), lambda d: d["general_skills"][1].pop("title")),
        "$.general_skills[1].title", "field required")
    add("skill_bad_id.json", edited(o(), lambda d: d["general_skills"][0].update(skill_id="gen 001!")),
        "$.general_skills[0].skill_id", "pattern")
    add("duplicate_skill_id.json",
        edited(o(), lambda d: d["task_specific_skills"]["heat"][1].update(skill_id="gen_001")),
        "$.task_specific_skills.heat[1].skill_id", "a skill_id unique within the bank")
    add("category_not_list.json", edited(o(), lambda d: d["task_specific_skills"].update(cool="chill")),
        "$.task_specific_skills.cool", "a list of skill objects, got str")
    add("empty_category_name.json", edited(o(), lambda d: d["task_specific_skills"].update({" ": []})),
        "$.task_specific_skills[' ']", "a non-empty category name")
    add("general_skill_with_category.json",
        edited(o(), lambda d: d["general_skills"][0].update(category="heat")),
        "$.general_skills[0].category", "expected None, got 'heat'")
    add("misspelt_content_key.json", edited(o(), lambda d: d.update(comon_mistakes=d.pop("common_mistakes"))),
        "$.comon_mistakes", "did you mean 'common_mistakes'?")
    add("misspelt_only_key.json", b'{"general_skill": [], "metadata": {}}\n', "$.general_skill",
        "did you mean 'general_skills'?")
    add("misspelt_record_field.json",
        edited(o(), lambda d: d["general_skills"][0].update(when_to_aply=d["general_skills"][0].pop("when_to_apply"))),
        "$.general_skills[0].when_to_aply", "did you mean 'when_to_apply'?")
    add("official_with_format_typo.json", edited(o(), lambda d: d.update(fromat="skillrl-bank")),
        "$.fromat", "the key 'format' for 'skillrl-bank'")
    # --- native header
    add("native_format_misspelt_value.json", edited(n(), lambda d: d.update(format="skillrl_bank")),
        "$.format", "expected 'skillrl-bank' (the native skillrl format), got 'skillrl_bank'")
    add("native_format_key_misspelt.json", edited(n(), lambda d: d.update(fromat=d.pop("format"))),
        "$.format", "the document has the native keys format_version, version")
    add("native_format_missing.json", edited(n(), lambda d: d.pop("format")), "$.format", "got no 'format' key")
    add("native_format_version_2.json", edited(n(), lambda d: d.update(format_version=2)),
        "$.format_version", "expected 1, got 2")
    add("native_format_version_true.json", edited(n(), lambda d: d.update(format_version=True)),
        "$.format_version", "expected 1, got True")
    add("native_version_true.json", edited(n(), lambda d: d.update(version=True)),
        "$.version", "a non-negative integer, got True")
    add("native_version_float.json", edited(n(), lambda d: d.update(version=3.0)), "$.version", "got 3.0")
    add("native_version_string.json", edited(n(), lambda d: d.update(version="3")), "$.version", "got '3'")
    add("native_version_negative.json", edited(n(), lambda d: d.update(version=-1)), "$.version", "got -1")
    add("native_task_key_foo.json", edited(n(), lambda d: d.update(task_key="foo")),
        "$.task_key", "'task_specific_skills' or 'query_type_skills', got 'foo'")
    add("native_task_key_other.json", edited(n(), lambda d: d.update(task_key="query_type_skills")),
        "$.query_type_skills", "present in a native bank")
    add("native_both_task_keys.json", edited(n(), lambda d: d.update(query_type_skills={})),
        "$.query_type_skills", "in a native bank whose task_key is 'task_specific_skills'")
    add("native_unknown_top_key.json", edited(n(), lambda d: d.update(notes=["kept?"])),
        "$.notes", "no key 'notes' in a native bank")
    add("native_missing_history.json", edited(n(), lambda d: d.pop("history")), "$.history", "present in a native bank")
    add("native_history_not_list.json", edited(n(), lambda d: d.update(history={})), "$.history", "a list of changes")
    add("native_key_order_string.json", edited(n(), lambda d: d.update(key_order="general_skills")),
        "$.key_order", "a list of distinct key names")
    add("native_key_order_duplicates.json",
        edited(n(), lambda d: d.update(key_order=["general_skills", "general_skills"])),
        "$.key_order", "a list of distinct key names")
    add("native_extra_shadows_general.json", edited(n(), lambda d: d.update(extra={"general_skills": []})),
        "$.extra.general_skills", "it would shadow the real one on export")
    add("native_extra_shadows_format.json", edited(n(), lambda d: d.update(extra={"format": "skillrl-bank"})),
        "$.extra.format", "it would shadow the real one on export")
    add("native_extra_not_object.json", edited(n(), lambda d: d.update(extra=[])), "$.extra", "got list")
    add("native_provenance_version_bool.json",
        edited(n(), lambda d: d["general_skills"][0]["provenance"].update(created_version=True)),
        "$.general_skills[0].provenance.created_version", "valid integer")
    # --- native history
    add("native_history_gap.json", edited(n(), lambda d: d["history"].pop(1)),
        "$.history[1].version", "expected 2 (the history runs 1..version without gaps), got 3")
    add("native_history_short.json", edited(n(), lambda d: d.update(version=5)),
        "$.history", "versions 1..5 for a bank at version 5, got 3 change(s)")
    add("native_history_beyond_version.json", edited(n(), lambda d: d.update(version=2)),
        "$.history", "versions 1..2 for a bank at version 2, got 3 change(s)")
    add("native_history_unknown_op.json", edited(n(), lambda d: d["history"][0].update(op="frobnicate")),
        "$.history[0].op", "input should be 'add'")
    add("native_history_version_true.json", edited(n(), lambda d: d["history"][0].update(version=True)),
        "$.history[0].version", "valid integer")
    add("native_history_extra_field.json", edited(n(), lambda d: d["history"][0].update(author="me")),
        "$.history[0].author", "extra inputs are not permitted")
    add("native_history_timestamp_bool.json", edited(n(), lambda d: d["history"][0].update(timestamp=True)),
        "$.history[0].timestamp", "a number of seconds")
    add("native_history_after_mismatch.json",
        edited(n(), lambda d: d["history"][1]["edits"][0]["after"].update(principle="Something else.")),
        "$.history[1].edits[0].after", "skill 'gen_001' as the history records it, got a different record")
    add("native_history_added_skill_missing.json",
        edited(n(), lambda d: d["task_specific_skills"]["heat"].pop()),
        "$.history[0].edits[0].after", "skill 'hea_100' present, got it is absent")
    add("native_history_removed_skill_present.json",
        edited(n(), lambda d: d["task_specific_skills"]["cool"].append(copy.deepcopy(
            {k: v for k, v in d["history"][2]["edits"][0]["before"].items() if k not in ("tier", "category")}))),
        "$.history[2].edits[0].after", "no skill 'coo_001' (the edit adds it), got one present")
    add("native_history_id_mismatch.json",
        edited(n(), lambda d: d["history"][0]["edits"][0]["after"].update(skill_id="hea_999")),
        "$.history[0].edits[0].after", "as the history records it")
    add("native_history_position_missing.json",
        edited(n(), lambda d: d["history"][0]["edits"][0].update(after_at=None)),
        "$.history[0].edits[0].after_at", "expected ['task:heat', index], got None")
    add("native_history_edit_kind.json", edited(n(), lambda d: d["history"][0]["edits"][0].update(kind="rule")),
        "$.history[0].edits[0].kind", "input should be 'skill', 'mistake' or 'quarantine'")
    # --- file system
    add("a_directory.json", None, "$", "expected a regular file, got a directory")
    add("symlink_loop.json", None, "$", "expected a readable file, got OSError: Too many levels of symbolic links")
    add("dangling_symlink.json", None, "$", "expected an existing file, got no such file")
    add("bank[x][bold].json", b"{}\n", "$", "got an empty object")
    return out


def main() -> int:
    shared = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT.parent / "shared" / "data"
    official, native = base_docs(shared)
    if OUT.exists():
        shutil.rmtree(OUT)
    OUT.mkdir(parents=True)
    expected = {}
    for name, (data, path, fragment) in corpus(official, native).items():
        target = OUT / name
        if name == "a_directory.json":
            target.mkdir()
            (target / "README").write_text("A directory where a bank file is expected.\n")
        elif name == "symlink_loop.json":
            os.symlink(name, target)
        elif name == "dangling_symlink.json":
            os.symlink("no_such_bank.json", target)
        else:
            assert data is not None
            target.write_bytes(data)
        expected[name] = {"json_path": path, "fragment": fragment}
    (OUT / "expected.json").write_text(json.dumps(expected, indent=1, ensure_ascii=False) + "\n")
    (OUT / "README.md").write_text(
        "Hostile bank files: each must be rejected by `SkillBank.load` (and `skillrl inspect`) with ONE\n"
        "`BankFormatError` line naming the file, the JSON path (`json_path`, a prefix when it ends in `(line`)\n"
        "and containing `fragment`. `expected.json` maps every file to its expectation (tests/test_storage.py checks\n"
        "that every file here is listed). Made by tests/scripts/make_hostile_corpus.py from an excerpt of the\n"
        "official ALFWorld bank; the two valid base documents are in `tests/data/hostile_base/`.\n")
    (OUT.parent / "hostile_base").mkdir(exist_ok=True)
    (OUT.parent / "hostile_base" / "base_official.json").write_bytes(dumps(official))
    (OUT.parent / "hostile_base" / "base_native.json").write_bytes(dumps(native))
    print(f"wrote {len(expected)} hostile files to {OUT}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
