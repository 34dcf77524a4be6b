"""Tiny offline models for tests and CI: the training loop runs for real, in seconds, with no model hub.

:func:`build_tiny_causal_lm` writes a randomly initialised Qwen2 causal LM (hidden size 64, 2 layers,
about 0.2 M parameters) and a byte-level BPE tokenizer trained on a small built-in corpus of chat,
tool-calling and ALFWorld words, with the **Qwen2.5 chat template** (tool calling included). Load it
like any checkpoint::

    path = build_tiny_causal_lm(tmp_path / "tiny")
    model = AutoModelForCausalLM.from_pretrained(path)
    tokenizer = AutoTokenizer.from_pretrained(path)
    GRPOTrainer(model=str(path), ...)           # TRL reloads the reference model from the path

It shows the loop, not learning: the weights are random, so generations are gibberish, rewards are
almost always 0 and nothing improves. Use it to check that rollouts, rewards, prompts, callbacks,
checkpoints and evaluation are wired correctly, never to measure quality.

Speed: on a busy 2-core machine, run it with one torch thread (``torch.set_num_threads(1)`` or
``OMP_NUM_THREADS=1``): with two OpenMP threads competing with other processes, ``generate`` on this
model was 12-25x slower (64 new tokens for 4 prompts of 480 tokens: 0.14 s with 1 thread, 1.6-3.5 s
with 2). With one thread, 3 TRL GRPO steps + 2 evaluations on real ALFWorld games take 7-20 s.

Why the Qwen2.5 template: TRL 1.16's ``GRPOTrainer`` with ``tools=`` or ``environment_factory=``
requires a template that renders a full tool-calling exchange (``trl.chat_template_utils.
supports_tool_calling``) and parses tool calls from completions with a response template it knows
by exact text (``add_response_schema``: Qwen2.5 -> the ``qwen3`` response template, i.e.
``<tool_call>\\n{"name": ..., "arguments": {...}}\\n</tool_call>``). For multi-turn GRPO it swaps in its
prefix-preserving training variant (``get_training_chat_template``), again matched by exact text. So
the template below is Qwen2.5's text byte for byte (Qwen2.5-Instruct ``tokenizer_config.json``,
Apache-2.0, identical to ``trl/chat_templates/qwen2_5.jinja``); the tokenizer carries Qwen's special
tokens ``<|endoftext|>`` (pad), ``<|im_start|>``, ``<|im_end|>`` (eos) and the added, non-special
tokens ``<tool_call>``, ``</tool_call>``, ``<tool_response>``, ``</tool_response>``, ``<think>``,
``</think>``, as Qwen's tokenizers do.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterable
from pathlib import Path

from skillrl.errors import MissingDependencyError, SkillRLError
from skillrl.models import build_folder_once

__all__ = [
    "QWEN2_5_CHAT_TEMPLATE",
    "TINY_LM_FORMAT_VERSION",
    "build_tiny_causal_lm",
    "default_corpus",
]

#: Bumped whenever the built artefacts change, so cached directories are rebuilt.
TINY_LM_FORMAT_VERSION = 1

_MARKER = "skillrl_tiny_lm.json"

#: The Qwen2.5-Instruct chat template, verbatim (see the module docstring for why it must be exact).
QWEN2_5_CHAT_TEMPLATE = (
    "{%- if tools %}\n"
    "    {{- '<|im_start|>system\\n' }}\n"
    "    {%- if messages[0]['role'] == 'system' %}\n"
    "        {{- messages[0]['content'] }}\n"
    "    {%- else %}\n"
    "        {{- 'You are Qwen, created by Alibaba Cloud. You are a helpful assistant.' }}\n"
    "    {%- endif %}\n"
    '    {{- "\\n\\n# Tools\\n\\nYou may call one or more functions to assist with the user query.\\n\\nYou are '
    'provided with function signatures within <tools></tools> XML tags:\\n<tools>" }}\n'
    "    {%- for tool in tools %}\n"
    '        {{- "\\n" }}\n'
    "        {{- tool | tojson }}\n"
    "    {%- endfor %}\n"
    '    {{- "\\n</tools>\\n\\nFor each function call, return a json object with function name and arguments '
    'within <tool_call></tool_call> XML tags:\\n<tool_call>\\n{\\"name\\": <function-name>, \\"arguments\\": '
    '<args-json-object>}\\n</tool_call><|im_end|>\\n" }}\n'
    "{%- else %}\n"
    "    {%- if messages[0]['role'] == 'system' %}\n"
    "        {{- '<|im_start|>system\\n' + messages[0]['content'] + '<|im_end|>\\n' }}\n"
    "    {%- else %}\n"
    "        {{- '<|im_start|>system\\nYou are Qwen, created by Alibaba Cloud. You are a helpful assistant."
    "<|im_end|>\\n' }}\n"
    "    {%- endif %}\n"
    "{%- endif %}\n"
    "{%- for message in messages %}\n"
    '    {%- if (message.role == "user") or (message.role == "system" and not loop.first) or '
    '(message.role == "assistant" and not message.tool_calls) %}\n'
    "        {{- '<|im_start|>' + message.role + '\\n' + message.content + '<|im_end|>' + '\\n' }}\n"
    '    {%- elif message.role == "assistant" %}\n'
    "        {{- '<|im_start|>' + message.role }}\n"
    "        {%- if message.content %}\n"
    "            {{- '\\n' + message.content }}\n"
    "        {%- endif %}\n"
    "        {%- for tool_call in message.tool_calls %}\n"
    "            {%- if tool_call.function is defined %}\n"
    "                {%- set tool_call = tool_call.function %}\n"
    "            {%- endif %}\n"
    '            {{- \'\\n<tool_call>\\n{"name": "\' }}\n'
    "            {{- tool_call.name }}\n"
    '            {{- \'", "arguments": \' }}\n'
    "            {{- tool_call.arguments | tojson }}\n"
    "            {{- '}\\n</tool_call>' }}\n"
    "        {%- endfor %}\n"
    "        {{- '<|im_end|>\\n' }}\n"
    '    {%- elif message.role == "tool" %}\n'
    '        {%- if (loop.index0 == 0) or (messages[loop.index0 - 1].role != "tool") %}\n'
    "            {{- '<|im_start|>user' }}\n"
    "        {%- endif %}\n"
    "        {{- '\\n<tool_response>\\n' }}\n"
    "        {{- message.content }}\n"
    "        {{- '\\n</tool_response>' }}\n"
    '        {%- if loop.last or (messages[loop.index0 + 1].role != "tool") %}\n'
    "            {{- '<|im_end|>\\n' }}\n"
    "        {%- endif %}\n"
    "    {%- endif %}\n"
    "{%- endfor %}\n"
    "{%- if add_generation_prompt %}\n"
    "    {{- '<|im_start|>assistant\\n' }}\n"
    "{%- endif %}\n"
)

# transformers.models.qwen2.tokenization_qwen2.PRETOKENIZE_REGEX (GPT-4-style split, digits one by one).
_QWEN2_PRETOKENIZE_REGEX = r"""(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"""

_SPECIAL_TOKENS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
_ADDED_TOKENS = ["<tool_call>", "</tool_call>", "<tool_response>", "</tool_response>", "<think>", "</think>"]

# ALFWorld's objects, receptacles and command verbs (alfworld/data/alfred.twl2 and the game texts).
_ALFWORLD_OBJECTS = [
    "alarmclock",
    "apple",
    "baseballbat",
    "basketball",
    "book",
    "bowl",
    "box",
    "bread",
    "butterknife",
    "candle",
    "cd",
    "cellphone",
    "cloth",
    "creditcard",
    "cup",
    "dishsponge",
    "egg",
    "fork",
    "glassbottle",
    "handtowel",
    "kettle",
    "keychain",
    "knife",
    "ladle",
    "laptop",
    "lettuce",
    "mug",
    "newspaper",
    "pan",
    "papertowelroll",
    "pen",
    "pencil",
    "peppershaker",
    "pillow",
    "plate",
    "plunger",
    "pot",
    "potato",
    "remotecontrol",
    "saltshaker",
    "soapbar",
    "soapbottle",
    "spatula",
    "spoon",
    "spraybottle",
    "statue",
    "teddybear",
    "tennisracket",
    "tissuebox",
    "toiletpaper",
    "tomato",
    "towel",
    "vase",
    "watch",
    "wateringcan",
    "winebottle",
    "desklamp",
    "floorlamp",
]
_ALFWORLD_RECEPTACLES = [
    "armchair",
    "bathtubbasin",
    "bed",
    "cabinet",
    "cart",
    "coffeemachine",
    "coffeetable",
    "countertop",
    "desk",
    "diningtable",
    "drawer",
    "dresser",
    "fridge",
    "garbagecan",
    "handtowelholder",
    "laundryhamper",
    "microwave",
    "ottoman",
    "safe",
    "shelf",
    "sidetable",
    "sinkbasin",
    "sofa",
    "stoveburner",
    "toaster",
    "toilet",
    "toiletpaperhanger",
    "towelholder",
]


def default_corpus() -> list[str]:
    """The built-in tokenizer training corpus: chat-template boilerplate, tool-call JSON and ALFWorld text.

    Deterministic (no randomness, no files read); about 400 lines.
    """
    lines = [
        "You are Qwen, created by Alibaba Cloud. You are a helpful assistant.",
        "# Tools",
        "You may call one or more functions to assist with the user query.",
        "You are provided with function signatures within <tools></tools> XML tags:",
        (
            "For each function call, return a json object with function name and arguments within "
            "<tool_call></tool_call> XML tags:"
        ),
        '{"name": <function-name>, "arguments": <args-json-object>}',
        (
            '{"type": "function", "function": {"name": "step", "description": "Take one action in the game.", '
            '"parameters": {"type": "object", "properties": {"action": {"type": "string", "description": '
            '"an admissible command"}}, "required": ["action"]}, "return": {"type": "string"}}}'
        ),
        '{"name": "step", "arguments": {"action": "go to desk 1"}}',
        "-= Welcome to TextWorld, ALFRED! =-",
        (
            "You are in the middle of a room. Looking quickly around you, you see a bed 1, a desk 1, a drawer 2, "
            "a drawer 1, a dresser 1, a garbagecan 1, a shelf 1, and a sidetable 1."
        ),
        "Your task is to: put a clean apple in fridge.",
        "Nothing happens. You are not carrying anything. You pick up the apple 1 from the countertop 1.",
        "The fridge 1 is closed. You open the fridge 1. The fridge 1 is open. In it, you see nothing.",
        "You arrive at loc 12. On the countertop 1, you see a apple 1, a knife 1, and a mug 2.",
        "You heat the potato 1 using the microwave 1. You cool the apple 1 using the fridge 1.",
        "You clean the mug 1 using the sinkbasin 1. You turn on the desklamp 1. You put the cd 1 in/on the safe 1.",
        (
            "Think step by step. Available actions: look, inventory, examine, go to, open, close, take, put, "
            "toggle, clean, heat, cool, use."
        ),
        "General Principles. Mistakes to Avoid. Apply when: Don't: Instead: skill principle title",
    ]
    for i, obj in enumerate(_ALFWORLD_OBJECTS):
        rec = _ALFWORLD_RECEPTACLES[i % len(_ALFWORLD_RECEPTACLES)]
        n = 1 + i % 3
        lines += [
            f"take {obj} {n} from {rec} {n}",
            f"put {obj} {n} in/on {rec} {n}",
            f"Your task is to: put a {obj} in {rec}.",
            f"Your task is to: put two {obj} in {rec}.",
            f"Your task is to: look at {obj} under the desklamp.",
            f"Your task is to: heat some {obj} and put it in {rec}.",
            f"Your task is to: cool some {obj} and put it in {rec}.",
            f"Your task is to: clean some {obj} and put it in {rec}.",
            f"examine {obj} {n}",
        ]
    for i, rec in enumerate(_ALFWORLD_RECEPTACLES):
        n = 1 + i % 4
        lines += [
            f"go to {rec} {n}",
            f"open {rec} {n}",
            f"close {rec} {n}",
            f"On the {rec} {n}, you see a {_ALFWORLD_OBJECTS[i]} {n}, and a {_ALFWORLD_OBJECTS[-i - 1]} 1.",
            f"You open the {rec} {n}. The {rec} {n} is open. In it, you see nothing.",
            f"use {rec} {n}",
            f"heat {_ALFWORLD_OBJECTS[i]} {n} with {rec} {n}",
            f"cool {_ALFWORLD_OBJECTS[i]} {n} with {rec} {n}",
            f"clean {_ALFWORLD_OBJECTS[i]} {n} with {rec} {n}",
        ]
    return lines


def _fingerprint(corpus: list[str], seed: int, vocab_size: int) -> str:
    payload = json.dumps(
        {"version": TINY_LM_FORMAT_VERSION, "seed": seed, "vocab_size": vocab_size, "corpus": corpus},
        sort_keys=True,
    )
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def build_tiny_causal_lm(
    out_dir: str | os.PathLike[str],
    vocab_corpus: Iterable[str] | None = None,
    seed: int = 0,
    vocab_size: int = 2048,
) -> Path:
    """Build (or reuse) a tiny random Qwen2 causal LM with a tool-calling chat template, offline.

    The directory holds ``config.json``, ``generation_config.json``, ``model.safetensors`` and the
    tokenizer files (``tokenizer.json``, ``tokenizer_config.json`` with the chat template), as
    ``save_pretrained`` writes them, plus ``skillrl_tiny_lm.json`` (a fingerprint of the inputs). A call
    whose inputs match the fingerprint returns at once (cache by directory, safe across processes: a
    file lock guards the build, which writes to a temporary folder and renames it).

    Model: ``Qwen2Config(hidden_size=64, intermediate_size=128, num_hidden_layers=2,
    num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=8192, tie_word_embeddings=True)``,
    float32, weights from ``torch.manual_seed(seed)``. Tokenizer: byte-level BPE (``tokenizers``) trained
    on :func:`default_corpus` plus ``vocab_corpus``; any text encodes (byte fallback). ``eos_token`` is
    ``<|im_end|>``, ``pad_token`` ``<|endoftext|>``, padding side left (as TRL's ``GRPOTrainer`` requires).

    It shows the loop, not learning (random weights): see the module docstring.

    Args:
        out_dir: target directory; created if needed. An existing non-empty directory that was not made
            by this function is never overwritten.
        vocab_corpus: extra lines to train the tokenizer on (e.g. your task texts), appended to the
            built-in corpus.
        seed: seed of the model initialisation.
        vocab_size: BPE vocabulary size target (the trained vocabulary may be smaller on a small corpus).

    Returns:
        ``Path(out_dir)``, loadable with ``AutoModelForCausalLM`` / ``AutoTokenizer.from_pretrained``.

    Raises:
        MissingDependencyError: ``torch``, ``transformers`` or ``tokenizers`` is missing (extra ``trl``).
        SkillRLError: ``out_dir`` is a file, or a non-empty directory not built by this function, or
            ``vocab_size`` is below 300.
    """
    out = Path(out_dir).expanduser().resolve()
    if vocab_size < 300:
        raise SkillRLError(f"vocab_size must be at least 300 (256 bytes + special tokens), got {vocab_size}")
    corpus = default_corpus() + [str(line) for line in (vocab_corpus or [])]
    fingerprint = _fingerprint(corpus, seed, vocab_size)

    def build(tmp: Path) -> None:
        _build(tmp, corpus, seed, vocab_size)
        (tmp / _MARKER).write_text(
            json.dumps({"fingerprint": fingerprint, "format_version": TINY_LM_FORMAT_VERSION, "seed": seed}),
            encoding="utf-8",
        )

    return build_folder_once(out, marker=_MARKER, is_current=lambda folder: _is_built(folder, fingerprint),
                             build=build, owner="build_tiny_causal_lm")


def _is_built(out: Path, fingerprint: str) -> bool:
    marker = out / _MARKER
    if not marker.is_file():
        return False
    try:
        return json.loads(marker.read_text(encoding="utf-8")).get("fingerprint") == fingerprint
    except (OSError, json.JSONDecodeError):
        return False


def _build(target: Path, corpus: list[str], seed: int, vocab_size: int) -> None:
    try:
        import torch
        from tokenizers import Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, trainers
        from transformers import GenerationConfig, PreTrainedTokenizerFast, Qwen2Config, Qwen2ForCausalLM
    except ImportError as exc:
        raise MissingDependencyError("transformers", "trl", "Building the tiny test model") from exc

    target.mkdir(parents=True)
    # Qwen2's normalizer and pre-tokenizer (transformers' Qwen2Tokenizer re-applies them on load, so the
    # tokenizer must be trained with the same ones for the saved vocabulary to be used as trained).
    bpe = Tokenizer(models.BPE())
    bpe.normalizer = normalizers.NFC()
    bpe.pre_tokenizer = pre_tokenizers.Sequence(
        [
            pre_tokenizers.Split(Regex(_QWEN2_PRETOKENIZE_REGEX), behavior="isolated", invert=False),
            pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
        ]
    )
    bpe.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        min_frequency=1,
        special_tokens=list(_SPECIAL_TOKENS),
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    bpe.train_from_iterator(corpus, trainer=trainer)

    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=bpe,
        eos_token="<|im_end|>",
        pad_token="<|endoftext|>",
        additional_special_tokens=["<|im_start|>"],
        padding_side="left",
        model_max_length=8192,
        clean_up_tokenization_spaces=False,
    )
    tokenizer.add_tokens(list(_ADDED_TOKENS), special_tokens=False)
    tokenizer.chat_template = QWEN2_5_CHAT_TEMPLATE
    tokenizer.save_pretrained(target)

    torch.manual_seed(seed)
    config = Qwen2Config(
        vocab_size=len(tokenizer),
        hidden_size=64,
        intermediate_size=128,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=8192,
        tie_word_embeddings=True,
        bos_token_id=None,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
    )
    model = Qwen2ForCausalLM(config)
    model.generation_config = GenerationConfig(
        eos_token_id=[tokenizer.eos_token_id, tokenizer.pad_token_id],
        pad_token_id=tokenizer.pad_token_id,
    )
    model.save_pretrained(target)


class CountingEmbedder:
    """Wraps an embedder and records every batch of texts that reaches it (to check caching and dedup in tests).

    Attributes:
        batches: the texts of each ``embed`` call, in order. ``texts``: all of them, flattened.
    """

    def __init__(self, inner) -> None:  # noqa: ANN001 - any skillrl.embedders.Embedder
        self.inner = inner
        self.batches: list[list[str]] = []

    @property
    def dim(self) -> int:
        return self.inner.dim

    @property
    def name(self) -> str:
        return self.inner.name

    def embed(self, texts):  # noqa: ANN001, ANN201 - the Embedder protocol
        self.batches.append(list(texts))
        return self.inner.embed(texts)

    @property
    def texts(self) -> list[str]:
        return [t for b in self.batches for t in b]
