"""Chat-model policies for inference agents: a conversation in, one admissible command out.

:class:`OpenAIChatPolicy` talks to any OpenAI-compatible ``/v1/chat/completions`` endpoint (vLLM, llama.cpp, a
hosted API); :class:`HFChatPolicy` runs a local ``transformers`` causal LM. Both map the reply to an admissible
command with :func:`skillrl.actions.choose_admissible` (the one action protocol: mapped only above its
similarity threshold, else sent as an invalid action); ``policy.choices`` counts how often each rule decided.
"""

from __future__ import annotations

import inspect
import threading
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from skillrl.actions import Choice, choose_admissible
from skillrl.errors import ConfigError, MissingDependencyError, SkillRLError

__all__ = ["ChatPolicy", "HFChatPolicy", "OpenAIChatPolicy", "PolicyError"]


class PolicyError(SkillRLError, RuntimeError):
    """The policy could not answer (endpoint unreachable or failing after retries, prompt longer than the
    model's context, a generation fault)."""


class ChatPolicy:
    """A chat model acting in an environment: ``act(messages, admissible) -> command``.

    Subclasses implement :meth:`reply` (messages -> text). :meth:`act` maps the reply to an admissible command
    (:func:`choose_admissible`), keeps it in ``last_choice`` and counts the rule used in ``choices``.
    """

    name = "policy"

    def __init__(self) -> None:
        self.choices: Counter[str] = Counter()
        self.last_choice: Choice | None = None
        self.seed: int | None = None

    def reply(self, messages: list[dict[str, str]]) -> str:  # pragma: no cover - abstract
        raise NotImplementedError

    def set_seed(self, seed: int | None) -> None:
        """Seed the policy's sampling for the next replies (``None``: unseeded)."""
        self.seed = seed

    def act(self, messages: list[dict[str, str]], admissible: Sequence[str] = ()) -> str:
        """One action for the conversation ``messages`` (``[{"role", "content"}]``).

        Returns:
            one of ``admissible`` when the reply names one (or one within :data:`skillrl.actions.MAP_THRESHOLD`);
            otherwise the reply's command as written (an invalid action: the game answers "Nothing happens.");
            ``last_choice`` says which (:class:`skillrl.actions.Choice`, with the raw reply and its reasoning).

        Raises:
            PolicyError: the model could not answer.
        """
        choice = choose_admissible(self.reply(messages), list(admissible))
        self.last_choice = choice
        self.choices[choice.how] += 1
        return choice.action

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.name!r})"


class OpenAIChatPolicy(ChatPolicy):
    """A policy behind an OpenAI-compatible ``/v1/chat/completions`` endpoint (vLLM, llama.cpp, a hosted API),
    through the ``openai`` SDK.

    Args:
        model: the served model name.
        base_url: endpoint root including ``/v1`` (``None``: the SDK default / ``OPENAI_BASE_URL``).
        api_key: default ``OPENAI_API_KEY``; for a local server without auth any string works (``"not-needed"`` is
            sent when ``base_url`` is set and no key is found).
        temperature: sampling temperature (default 0.0: greedy, as evaluations usually run).
        max_tokens: reply budget (default 64 tokens: one command, or a short thought plus an ``<action>`` tag).
        timeout: seconds per request (default 60). max_retries: SDK retries on connection errors, 408/409/429
            and 5xx (default 3).
        extra_body: extra JSON fields for the request (server-specific options).
        reasoning_effort: for reasoning models (o-series, gpt-5): ``"minimal"``..``"high"`` (``None``: server default).
        reasoning: force the model family (``None``: from the name). Reasoning models get the budget as
            ``max_completion_tokens`` and no ``temperature`` (they reject both ``max_tokens`` and a non-default
            temperature); the request is built by :func:`skillrl.teachers.openai.chat_request`, as the teacher's is.

    :meth:`set_seed` sends ``seed`` with each request (servers that support it make sampling reproducible).

    Raises:
        ConfigError: no model name, or ``timeout`` <= 0.
        PolicyError: no API key for the public endpoint (on construction); the request failing (on :meth:`act`).
        MissingDependencyError: ``openai`` is not installed (on the first request).
    """

    def __init__(self, model: str, base_url: str | None = None, api_key: str | None = None, *,
                 temperature: float | None = 0.0, max_tokens: int | None = 64, timeout: float = 60.0,
                 max_retries: int = 3, extra_body: dict[str, Any] | None = None, reasoning_effort: str | None = None,
                 reasoning: bool | None = None) -> None:
        super().__init__()
        if not model:
            raise ConfigError("OpenAIChatPolicy needs a model name")
        if timeout <= 0:
            raise ConfigError(f"timeout must be > 0 seconds, got {timeout}")
        self.model = model
        from skillrl.teachers import openai_credentials

        self.base_url, self._api_key = openai_credentials(base_url, api_key, "OpenAIChatPolicy", PolicyError)
        self.temperature, self.max_tokens = temperature, max_tokens
        self.timeout, self.max_retries = float(timeout), int(max_retries)
        self.extra_body = dict(extra_body or {})
        self.reasoning_effort, self.reasoning = reasoning_effort, reasoning
        self.name = f"openai:{model}"
        self.usage = Counter()
        self._client = None

    def _get_client(self):
        if self._client is None:
            from skillrl.teachers import openai_client

            self._client = openai_client("OpenAIChatPolicy", self._api_key, self.base_url, self.timeout,
                                         self.max_retries)
        return self._client

    def reply(self, messages: list[dict[str, str]]) -> str:
        """The model's reply text. Raises :class:`PolicyError` when the request fails after retries."""
        client = self._get_client()
        import openai

        from skillrl.teachers.openai import chat_request

        kwargs = chat_request(self.model, messages, max_tokens=self.max_tokens, temperature=self.temperature,
                              reasoning_effort=self.reasoning_effort, seed=self.seed, extra_body=self.extra_body,
                              reasoning=self.reasoning)
        try:
            resp = client.chat.completions.create(**kwargs)
        except openai.APIStatusError as err:
            raise PolicyError(f"{self.name}: HTTP {err.status_code} after {self.max_retries} retries: "
                              f"{str(getattr(err, 'message', '') or err)[:200]}") from None
        except openai.APITimeoutError:
            raise PolicyError(f"{self.name}: request timed out after {self.timeout:g} s "
                              f"({self.max_retries} retries)") from None
        except openai.APIConnectionError as err:
            raise PolicyError(f"{self.name}: cannot connect to {self.base_url or 'the OpenAI API'}: "
                              f"{err.__cause__ or err}") from None
        except openai.OpenAIError as err:
            raise PolicyError(f"{self.name}: {type(err).__name__}: {str(err)[:200]}") from None
        u = getattr(resp, "usage", None)
        self.usage["calls"] += 1
        self.usage["prompt_tokens"] += int(getattr(u, "prompt_tokens", 0) or 0)
        self.usage["completion_tokens"] += int(getattr(u, "completion_tokens", 0) or 0)
        choices = getattr(resp, "choices", None) or []
        if not choices:
            raise PolicyError(f"{self.name}: the response has no choices")
        return getattr(choices[0].message, "content", None) or ""


class HFChatPolicy(ChatPolicy):
    """A policy running a local ``transformers`` causal LM through its chat template (CPU by default).

    Args:
        path: a local directory with the model and its tokenizer (nothing is downloaded).
        max_new_tokens: reply budget (default 24 tokens: one ALFWorld command).
        temperature: 0 (default) = greedy; > 0 samples (seed it with :meth:`set_seed`).
        device: torch device (default ``"cpu"``).
        prefix_cache: keep the key/value cache of the last prompt and reuse its longest common token prefix with the
            next one (default True). An agent's next prompt is its last one plus one turn, so only the new turn is
            prefilled: on 2 CPU cores SmolLM2-135M prefills ~120 tokens/s, and a 1,500-token skills prompt costs
            ~12 s per action without the cache (``benchmarks/bench_skill_effect.py`` replays games with it off
            and reports the ratio). Greedy replies are the same up to floating-point ties.
            ``usage["cached_prompt_tokens"]`` counts the prompt tokens that were not recomputed. Follows
            ``transformers``' ``DynamicCache`` (``crop`` with a negative count) and ``generate(cache=...)``
            (``past_key_values=`` before transformers 5.2x).

    Raises:
        MissingDependencyError: ``transformers`` / ``torch`` are not installed.
        PolicyError: the model cannot be loaded (on construction); the prompt does not fit the model's context
            (``max_position_embeddings - max_new_tokens``) or generation fails (on :meth:`act`).
    """

    def __init__(self, path: str | Path, *, max_new_tokens: int = 24, temperature: float = 0.0,
                 device: str = "cpu", prefix_cache: bool = True) -> None:
        super().__init__()
        try:
            import torch  # noqa: F401
            from transformers import AutoModelForCausalLM, AutoTokenizer
        except ImportError as err:
            raise MissingDependencyError("transformers", "trl", "HFChatPolicy") from err
        self.path = str(path)
        self.max_new_tokens = int(max_new_tokens)
        self.temperature = float(temperature)
        self.device = device
        self.name = f"hf:{self.path}"
        try:
            self.tokenizer = AutoTokenizer.from_pretrained(self.path, local_files_only=True)
            self.model = AutoModelForCausalLM.from_pretrained(self.path, local_files_only=True).to(device)
        except (OSError, ValueError) as err:
            raise PolicyError(f"HFChatPolicy cannot load a causal LM from {self.path}: {err}") from err
        self.model.eval()
        self.usage = Counter()
        self._lock = threading.Lock()
        self.prefix_cache = bool(prefix_cache)
        self._cache: Any = None  # a DynamicCache holding the key/values of the tokens in _cached_ids
        self._cached_ids: Any = None
        # newer transformers name the cache argument ``cache`` (``past_key_values`` is deprecated): follow the
        # model's forward signature, which generate passes it on to
        self._cache_kwarg = "cache" if "cache" in inspect.signature(self.model.forward).parameters else \
            "past_key_values"

    def set_seed(self, seed: int | None) -> None:
        """Seed torch's generator for the next replies (matters only when ``temperature > 0``)."""
        super().set_seed(seed)
        if seed is not None:
            import torch

            torch.manual_seed(int(seed))

    def reply(self, messages: list[dict[str, str]]) -> str:
        """The model's reply text (new tokens only, special tokens removed)."""
        import torch

        tok = self.tokenizer
        try:
            if getattr(tok, "chat_template", None):
                enc = tok.apply_chat_template(messages, add_generation_prompt=True, tokenize=True, return_dict=True,
                                              return_tensors="pt")
            else:
                text = "\n\n".join(f"{m['role']}: {m['content']}" for m in messages) + "\n\nassistant:"
                enc = tok(text, return_tensors="pt")
        except Exception as err:  # noqa: BLE001 - template faults are policy errors
            raise PolicyError(f"{self.name}: cannot build the prompt: {type(err).__name__}: {err}") from None
        input_ids = enc["input_ids"]
        n_in = int(input_ids.shape[-1])
        limit = getattr(self.model.config, "max_position_embeddings", None)
        if limit is not None and n_in + self.max_new_tokens > limit:
            raise PolicyError(f"{self.name}: prompt of {n_in} tokens + max_new_tokens {self.max_new_tokens} exceeds "
                              f"the model context of {limit} tokens (use max_history_turns to shorten the history)")
        pad = tok.pad_token_id if tok.pad_token_id is not None else tok.eos_token_id
        kwargs: dict[str, Any] = {"max_new_tokens": self.max_new_tokens, "pad_token_id": pad}
        kwargs.update(do_sample=True, temperature=self.temperature) if self.temperature > 0 else \
            kwargs.update(do_sample=False)
        mask = enc.get("attention_mask")
        try:
            with self._lock, torch.no_grad():
                reused = self._reuse_prefix(input_ids[0], kwargs)
                out = self.model.generate(input_ids=input_ids.to(self.device),
                                          attention_mask=None if mask is None else mask.to(self.device), **kwargs)
                self._keep_cache(out[0], kwargs)
        except Exception as err:  # noqa: BLE001 - generation faults must not crash an agent loop silently
            self._cache = self._cached_ids = None
            raise PolicyError(f"{self.name}: generation failed: {type(err).__name__}: {err}") from None
        new = out[0, n_in:]
        self.usage["calls"] += 1
        self.usage["prompt_tokens"] += n_in
        self.usage["cached_prompt_tokens"] += reused
        self.usage["completion_tokens"] += int(new.shape[-1])
        return tok.decode(new, skip_special_tokens=True)

    def _reuse_prefix(self, ids: Any, kwargs: dict[str, Any]) -> int:
        """Put the cached key/values of the longest common prefix of ``ids`` and the last sequence into
        ``kwargs`` (generate's cache argument; at least one token is left to prefill); returns that prefix's length."""
        if not self.prefix_cache:
            return 0
        from transformers import DynamicCache

        cached = self._cached_ids
        common = 0
        if self._cache is not None and cached is not None:
            n = min(int(cached.shape[0]), int(ids.shape[0]) - 1)
            if n > 0:
                differs = (cached[:n] != ids[:n].to(cached.device)).nonzero()
                common = int(differs[0, 0]) if len(differs) else n
        extra = self._cache.get_seq_length() - common if common else 0
        if extra > 0:
            try:  # a negative count removes that many tokens from the end (transformers 4.4x and 5.x alike)
                self._cache.crop(-extra)
            except (ValueError, RuntimeError):  # a layer that cannot roll back (e.g. past a sliding window)
                common = 0
        if common == 0:
            kwargs[self._cache_kwarg] = DynamicCache(config=self.model.config)
            return 0
        kwargs[self._cache_kwarg] = self._cache
        return common

    def _keep_cache(self, sequence: Any, kwargs: dict[str, Any]) -> None:
        """After ``generate``: the cache now covers the first ``get_seq_length()`` tokens of ``sequence``."""
        cache = kwargs.get(self._cache_kwarg)
        if cache is None:
            return
        self._cache = cache
        self._cached_ids = sequence[: cache.get_seq_length()].detach().clone()
