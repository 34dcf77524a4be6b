"""The local ``transformers`` teacher backend (``"hf:<local path>"``); ``torch`` / ``transformers`` are imported
when a teacher is built, never at import time."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from typing import Any

from skillrl.errors import MissingDependencyError, TeacherError
from skillrl.hookspecs import hookimpl
from skillrl.teachers.base import Teacher, _needs_arg
from skillrl.teachers.schemas import Usage

__all__ = ["HFTeacher"]


class HFTeacher(Teacher):
    """A teacher that runs a local ``transformers`` causal LM (chat template, greedy by default).

    Args:
        model_path: a local directory with a causal LM and its tokenizer (nothing is downloaded).
        max_new_tokens: generation budget per answer (default 2,048: a 5-skill + 3-mistake answer is about 1,400
            tokens, and reasoning models think first; an unclosed ``<think>`` block is an error, not an answer).
        device: torch device (default ``"cpu"``).
        temperature: 0 (default) = greedy decoding; > 0 samples.
        redact: redaction of the prompts (:mod:`skillrl.redaction`; default ``None``: none, nothing leaves the
            machine); see :class:`Teacher`.
        raise_on_error, repair: see :class:`Teacher`.

    The model is loaded on construction. Calls are serialised (one generation at a time). A prompt that
    does not fit the model's context (``max_position_embeddings - max_new_tokens``) is an error answer.

    Raises:
        MissingDependencyError: ``transformers`` / ``torch`` are not installed.
        TeacherError: the model or tokenizer cannot be loaded from ``model_path``.
    """

    def __init__(self, model_path: str | os.PathLike, *, max_new_tokens: int = 2048, device: str = "cpu",
                 temperature: float = 0.0, raise_on_error: bool = False, repair: bool = True, redact: Any = None):
        super().__init__(max_concurrency=1, raise_on_error=raise_on_error, repair=repair, redact=redact)
        try:
            import torch  # noqa: F401
            from transformers import AutoModelForCausalLM, AutoTokenizer
        except ImportError as err:
            raise MissingDependencyError("transformers", "trl", "HFTeacher") from err
        self.model_path = str(model_path)
        self.max_new_tokens = int(max_new_tokens)
        self.device = device
        self.temperature = float(temperature)
        self.name = f"hf:{self.model_path}"
        try:
            self.tokenizer = AutoTokenizer.from_pretrained(self.model_path, local_files_only=True)
            self.model = AutoModelForCausalLM.from_pretrained(self.model_path, local_files_only=True).to(device)
        except (OSError, ValueError) as err:
            raise TeacherError(f"HFTeacher cannot load a causal LM from {self.model_path}: {err}") from err
        self.model.eval()
        self._gen_lock = threading.Lock()

    def _encode(self, messages: list[dict[str, str]]):
        tok = self.tokenizer
        if getattr(tok, "chat_template", None):
            ids = tok.apply_chat_template(messages, add_generation_prompt=True, tokenize=True, return_dict=True,
                                          return_tensors="pt")
            return ids["input_ids"], ids.get("attention_mask")
        text = "\n\n".join(f"{m['role']}: {m['content']}" for m in messages) + "\n\nassistant:"
        enc = tok(text, return_tensors="pt")
        return enc["input_ids"], enc.get("attention_mask")

    def _chat(self, messages: list[dict[str, str]], schema: Any = None) -> tuple[str, Usage]:
        import torch

        try:
            input_ids, attention = self._encode(messages)
        except Exception as err:  # noqa: BLE001 - tokenizer/template faults are answer errors, not crashes
            raise TeacherError(f"{self.name}: cannot build the prompt: {type(err).__name__}: {err}") from None
        n_in = int(input_ids.shape[-1])
        limit = getattr(self.model.config, "max_position_embeddings", None)
        if limit is not None and n_in + self.max_new_tokens > limit:
            raise TeacherError(f"{self.name}: prompt of {n_in} tokens + max_new_tokens {self.max_new_tokens} "
                               f"exceeds the model context of {limit} tokens")
        kwargs: dict[str, Any] = {"max_new_tokens": self.max_new_tokens,
                                  "pad_token_id": self.tokenizer.pad_token_id
                                  if self.tokenizer.pad_token_id is not None else self.tokenizer.eos_token_id}
        if self.temperature > 0:
            kwargs.update(do_sample=True, temperature=self.temperature)
        else:
            kwargs.update(do_sample=False)
        try:
            with self._gen_lock, torch.no_grad():
                out = self.model.generate(input_ids=input_ids.to(self.device),
                                          attention_mask=None if attention is None else attention.to(self.device),
                                          **kwargs)
        except Exception as err:  # noqa: BLE001 - generation faults (OOM, shape errors) must not reach a training loop
            raise TeacherError(f"{self.name}: generation failed: {type(err).__name__}: {err}") from None
        new = out[0, n_in:]
        text = self.tokenizer.decode(new, skip_special_tokens=True)
        return text, Usage(prompt_tokens=n_in, completion_tokens=int(new.shape[-1]), calls=1)


@hookimpl
def skillrl_register_teachers(register: Callable[..., None]) -> None:
    """Register the built-in ``"hf"`` teacher."""
    register("hf", lambda arg=None, **kw: HFTeacher(_needs_arg("hf", "path", arg), **kw),
             "a local transformers model: 'hf:<path>'")
