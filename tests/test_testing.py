"""skillrl.testing.build_tiny_causal_lm: a real (tiny, random) checkpoint that TRL's tool loop accepts."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

pytest.importorskip("transformers")
pytest.importorskip("tokenizers")
torch = pytest.importorskip("torch")

from skillrl.errors import SkillRLError
from skillrl.testing import QWEN2_5_CHAT_TEMPLATE, build_tiny_causal_lm


def step(action: str) -> str:
    """Take one action in the game.

    Args:
        action: one admissible ALFWorld command.

    Returns:
        The observation after the action.
    """
    return action


@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> Path:
    return build_tiny_causal_lm(tmp_path_factory.mktemp("tiny") / "lm")


@pytest.fixture(scope="module")
def loaded(tiny):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    return AutoModelForCausalLM.from_pretrained(tiny), AutoTokenizer.from_pretrained(tiny)


def test_directory_is_a_checkpoint(tiny, loaded):
    model, tokenizer = loaded
    for name in (
        "config.json",
        "generation_config.json",
        "model.safetensors",
        "tokenizer.json",
        "skillrl_tiny_lm.json",
    ):
        assert (tiny / name).is_file(), name
    config = model.config
    assert config.model_type == "qwen2"
    assert (config.hidden_size, config.num_hidden_layers) == (64, 2)
    assert config.vocab_size == len(tokenizer)
    assert sum(p.numel() for p in model.parameters()) < 500_000
    assert tokenizer.eos_token == "<|im_end|>" and tokenizer.pad_token == "<|endoftext|>"
    assert tokenizer.padding_side == "left"
    assert model.generation_config.eos_token_id == [tokenizer.eos_token_id, tokenizer.pad_token_id]


def test_generates(loaded):
    model, tokenizer = loaded
    messages = [{"role": "user", "content": "Your task is to: put a clean apple in fridge."}]
    inputs = tokenizer.apply_chat_template(
        messages, add_generation_prompt=True, return_dict=True, return_tensors="pt"
    )
    torch.manual_seed(0)
    out = model.generate(**inputs, max_new_tokens=8, do_sample=True)
    new = out[0, inputs["input_ids"].shape[1] :]
    assert 1 <= len(new) <= 8
    assert int(new.max()) < len(tokenizer)
    assert isinstance(tokenizer.decode(new), str)


def test_tokenizer_as_trained_round_trips_any_text(tiny, loaded):
    from tokenizers import Tokenizer

    _, tokenizer = loaded
    raw = Tokenizer.from_file(str(tiny / "tokenizer.json"))
    text = 'You arrive at loc 12. On the countertop 1, you see a apple 1. ünï 😀\n\n  <tool_call>{"a": 1}</tool_call>'
    ids = tokenizer(text, add_special_tokens=False)["input_ids"]
    # transformers' Qwen2Tokenizer re-applies Qwen's pre-tokenizer on load: it must equal the trained one.
    assert ids == raw.encode(text, add_special_tokens=False).ids
    assert tokenizer.decode(ids) == text
    # ALFWorld words are in the vocabulary (the corpus was made for them)
    assert len(tokenizer.tokenize(" countertop")) == 1
    assert tokenizer.convert_tokens_to_ids("<tool_call>") != tokenizer.unk_token_id


def test_chat_template_renders_tools_and_tool_turns(loaded):
    _, tokenizer = loaded
    messages = [
        {"role": "user", "content": "Your task is to: put a mug in desk."},
        {
            "role": "assistant",
            "content": "",
            "tool_calls": [
                {"type": "function", "function": {"name": "step", "arguments": {"action": "go to desk 1"}}}
            ],
        },
        {"role": "tool", "name": "step", "content": "On the desk 1, you see a mug 1."},
    ]
    text = tokenizer.apply_chat_template(messages, tools=[step], add_generation_prompt=True, tokenize=False)
    assert (
        '"name": "step"' in text and "Take one action in the game." in text
    )  # tool schema in the system turn
    assert '<tool_call>\n{"name": "step", "arguments": {"action": "go to desk 1"}}\n</tool_call>' in text
    assert "<tool_response>\nOn the desk 1, you see a mug 1.\n</tool_response>" in text
    assert text.endswith("<|im_start|>assistant\n")


def test_trl_accepts_the_template_and_parses_tool_calls(loaded):
    pytest.importorskip("trl")
    from trl.chat_template_utils import (
        add_response_schema,
        is_chat_template_prefix_preserving,
        parse_response,
        qwen2_5_chat_template,
        supports_tool_calling,
    )

    _, tokenizer = loaded
    assert QWEN2_5_CHAT_TEMPLATE == qwen2_5_chat_template  # exact text: TRL recognises templates by identity
    assert supports_tool_calling(tokenizer)
    assert is_chat_template_prefix_preserving(tokenizer)
    add_response_schema(tokenizer)
    prefix = tokenizer.apply_chat_template(
        [{"role": "user", "content": "hi"}], tools=[step], add_generation_prompt=True, return_dict=True
    )["input_ids"]
    completion = (
        '<tool_call>\n{"name": "step", "arguments": {"action": "open fridge 1"}}\n</tool_call><|im_end|>'
    )
    parsed = parse_response(
        tokenizer, tokenizer(completion, add_special_tokens=False)["input_ids"], prefix=prefix
    )
    assert parsed["tool_calls"] == [
        {"type": "function", "function": {"name": "step", "arguments": {"action": "open fridge 1"}}}
    ]
    plain = parse_response(
        tokenizer, tokenizer("go to desk 1<|im_end|>", add_special_tokens=False)["input_ids"], prefix=prefix
    )
    assert plain["content"] == "go to desk 1" and not plain.get("tool_calls")


def test_cached_by_directory_and_rebuilt_when_inputs_change(tiny, tmp_path):
    weights = tiny / "model.safetensors"
    before = weights.stat().st_mtime_ns
    assert build_tiny_causal_lm(tiny) == tiny
    assert weights.stat().st_mtime_ns == before  # same inputs: not rebuilt

    other = build_tiny_causal_lm(tmp_path / "other", vocab_corpus=["quokkaburger " * 3] * 5, seed=1)
    from transformers import AutoTokenizer

    assert len(AutoTokenizer.from_pretrained(other).tokenize(" quokkaburger")) == 1
    assert len(AutoTokenizer.from_pretrained(tiny).tokenize(" quokkaburger")) > 1
    assert json.loads((other / "skillrl_tiny_lm.json").read_text())["seed"] == 1
    assert not [p for p in tmp_path.iterdir() if ".tmp-" in p.name]


def test_refuses_to_overwrite_foreign_directories(tmp_path):
    foreign = tmp_path / "mine"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("keep me")
    with pytest.raises(SkillRLError, match="refusing to overwrite"):
        build_tiny_causal_lm(foreign)
    assert (foreign / "notes.txt").read_text() == "keep me"
    (tmp_path / "afile").write_text("x")
    with pytest.raises(SkillRLError, match="not a directory"):
        build_tiny_causal_lm(tmp_path / "afile")
    with pytest.raises(SkillRLError, match="vocab_size"):
        build_tiny_causal_lm(tmp_path / "small", vocab_size=10)
    assert not (tmp_path / "small").exists()


def test_grpo_trains_the_tiny_model_with_tool_calling_environment(tiny, tmp_path, monkeypatch):
    """Two GRPO steps + one evaluation with TRL's environment_factory (the tool loop is set up, the
    chat template accepted); a length reward gives non-zero advantages, so the weights must move."""
    pytest.importorskip("trl")
    from datasets import Dataset
    from trl import GRPOConfig, GRPOTrainer

    monkeypatch.setenv("TRL_EXPERIMENTAL_SILENCE", "1")

    class EchoEnv:
        def reset(self, **row) -> str:
            return " Your task is to: say something."

        def echo(self, text: str) -> str:
            """Echo the text.

            Args:
                text: any text.

            Returns:
                The same text.
            """
            return text

    def length_reward(completions, **kwargs):
        return [float(len(c[0]["content"])) for c in completions]

    rows = [{"prompt": [{"role": "user", "content": f"Hello {i}."}]} for i in range(4)]
    args = GRPOConfig(
        output_dir=str(tmp_path / "out"),
        use_cpu=True,
        bf16=False,
        per_device_train_batch_size=4,
        per_device_eval_batch_size=4,
        num_generations=2,
        max_completion_length=16,
        max_steps=2,
        learning_rate=1e-2,
        eval_strategy="steps",
        eval_steps=2,
        save_strategy="no",
        report_to="none",
        logging_steps=1,
        seed=0,
    )
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # 2 OpenMP threads on a busy 2-core box made generation 10x slower
    try:
        trainer = GRPOTrainer(
            model=str(tiny),
            reward_funcs=length_reward,
            args=args,
            train_dataset=Dataset.from_list(rows),
            eval_dataset=Dataset.from_list(rows[:2]),
            environment_factory=EchoEnv,
        )
        before = {k: v.clone() for k, v in trainer.model.state_dict().items()}
        trainer.train()
    finally:
        torch.set_num_threads(threads)
    logs = trainer.state.log_history
    assert [e["step"] for e in logs if "loss" in e] == [1, 2]
    assert any("eval_reward" in e for e in logs)
    assert all("tools/call_frequency" in e for e in logs if "loss" in e)
    after = trainer.model.state_dict()
    assert any(not torch.equal(before[k], after[k]) for k in before)
