"""The OpenAI-compatible teacher backend (``"openai:<model>"``) and the one OpenAI client factory.

:func:`openai_client` and :func:`openai_credentials` are shared with the inference policy
(:class:`skillrl.adapters.agent.OpenAIChatPolicy`). The ``openai`` package is imported on first use only, so importing this
module stays light.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from typing import Any

from skillrl.errors import ConfigError, MissingDependencyError, TeacherError
from skillrl.hookspecs import hookimpl
from skillrl.teachers.base import Teacher, _needs_arg
from skillrl.teachers.prompts import _clip
from skillrl.teachers.schemas import Usage

__all__ = ["OpenAITeacher", "openai_client", "openai_credentials"]


def openai_client(owner: str, api_key: str, base_url: str | None, timeout: float, max_retries: int) -> Any:
    """An ``openai.OpenAI`` client (its own retries with backoff on 408/409/429/5xx and timeouts).

    Raises:
        MissingDependencyError: the ``openai`` package is missing (extra ``openai``).
    """
    try:
        import openai
    except ImportError as err:  # pragma: no cover - openai is installed in CI
        raise MissingDependencyError("openai", "openai", owner) from err
    return openai.OpenAI(api_key=api_key, base_url=base_url, timeout=timeout, max_retries=max_retries)


def openai_credentials(base_url: str | None, api_key: str | None, owner: str,
                       error: type[Exception]) -> tuple[str | None, str]:
    """``(base_url, api_key)`` for an OpenAI-compatible client: the arguments, else ``OPENAI_BASE_URL`` /
    ``OPENAI_API_KEY``; a local server (``base_url`` set) without a key gets ``"not-needed"``.

    Raises:
        error: no key and no ``base_url`` (the message names ``owner`` and how to fix it).
    """
    base_url = base_url or os.environ.get("OPENAI_BASE_URL")
    key = api_key or os.environ.get("OPENAI_API_KEY")
    if not key:
        if base_url is None:
            raise error(f"{owner} needs an API key: pass api_key= or set OPENAI_API_KEY "
                        "(for a local server pass base_url=...)")
        key = "not-needed"
    return base_url, key


class OpenAITeacher(Teacher):
    """A teacher behind an OpenAI-compatible ``/v1/chat/completions`` endpoint (``openai`` SDK).

    Args:
        model: model name sent to the server (``"gpt-4o-mini"``, ``"o3"``, a vLLM served model name).
        base_url: endpoint root including ``/v1`` (``None`` = the SDK default / ``OPENAI_BASE_URL``).
        api_key: key; default ``OPENAI_API_KEY``; for a local server without auth any string works (when
            ``base_url`` is set and no key is found, ``"not-needed"`` is sent).
        timeout: seconds per HTTP request (default 60); a call made with a nearer deadline (evolution's
            ``EvolutionConfig.max_seconds``) gets the time left instead.
        max_retries: retries made by the SDK on connection errors, timeouts, 408/409/429 and 5xx, with
            exponential backoff (0.5 s doubling, capped at 8 s, jittered) or the server's ``Retry-After`` /
            ``retry-after-ms`` when it is between 0 and 120 s (``openai`` SDK ``_base_client``). Default 3.
        max_concurrency: parallel requests in :meth:`complete_many` (default 4).
        temperature: sampling temperature (``None`` = server default; reasoning models reject it).
        max_tokens: ``max_tokens`` per answer (``None`` = server default).
        json_mode: send ``response_format={"type": "json_object"}`` (default ``True``; turn off for servers
            that reject it).
        price_per_1k_input, price_per_1k_output: USD per 1,000 prompt / completion tokens; when both are
            ``None`` the cost is ``None``.
        extra_body: extra JSON fields for the request body (server-specific options).
        raise_on_error, repair: see :class:`Teacher`.

    Raises:
        MissingDependencyError: ``openai`` is not installed (on the first call).
        TeacherError: no API key for the public endpoint (on construction).
        ConfigError: an empty ``model``, ``timeout`` <= 0 or ``max_retries`` < 0.
    """

    def __init__(self, model: str, base_url: str | None = None, api_key: str | None = None, *,
                 timeout: float = 60.0, max_retries: int = 3, max_concurrency: int = 4,
                 temperature: float | None = None, max_tokens: int | None = None, json_mode: bool = True,
                 price_per_1k_input: float | None = None, price_per_1k_output: float | None = None,
                 extra_body: dict[str, Any] | None = None, raise_on_error: bool = False, repair: bool = True):
        super().__init__(max_concurrency=max_concurrency, raise_on_error=raise_on_error, repair=repair)
        if not model:
            raise ConfigError("OpenAITeacher needs a model name")
        if timeout <= 0:
            raise ConfigError(f"timeout must be > 0 seconds, got {timeout}")
        if max_retries < 0:
            raise ConfigError(f"max_retries must be >= 0, got {max_retries}")
        self.model = model
        self.base_url, self._api_key = openai_credentials(base_url, api_key, "OpenAITeacher", TeacherError)
        self.timeout = float(timeout)
        self.max_retries = int(max_retries)
        self.temperature = temperature
        self.max_tokens = max_tokens
        self.json_mode = json_mode
        self.price_per_1k_input = price_per_1k_input
        self.price_per_1k_output = price_per_1k_output
        self.extra_body = dict(extra_body or {})
        self.name = f"openai:{model}"
        self._client = None
        self._client_lock = threading.Lock()

    def _get_client(self):
        with self._client_lock:
            if self._client is None:
                self._client = openai_client("OpenAITeacher", self._api_key, self.base_url, self.timeout,
                                             self.max_retries)
            return self._client

    def _cost(self, prompt_tokens: int, completion_tokens: int) -> float | None:
        if self.price_per_1k_input is None and self.price_per_1k_output is None:
            return None
        return (prompt_tokens * (self.price_per_1k_input or 0.0)
                + completion_tokens * (self.price_per_1k_output or 0.0)) / 1000.0

    def _chat(self, messages: list[dict[str, str]], timeout: float | None = None) -> tuple[str, Usage]:
        import openai

        client = self._get_client()
        limit = self.timeout if timeout is None else max(0.001, min(self.timeout, float(timeout)))
        if limit != self.timeout:  # the caller's deadline is nearer than our own timeout
            client = client.with_options(timeout=limit)
        kwargs: dict[str, Any] = {"model": self.model, "messages": messages}
        if self.temperature is not None:
            kwargs["temperature"] = self.temperature
        if self.max_tokens is not None:
            kwargs["max_tokens"] = self.max_tokens
        if self.json_mode:
            kwargs["response_format"] = {"type": "json_object"}
        if self.extra_body:
            kwargs["extra_body"] = self.extra_body
        try:
            resp = client.chat.completions.create(**kwargs)
        except openai.APITimeoutError:
            raise TeacherError(f"{self.name}: request timed out after {limit:g} s "
                               f"({self.max_retries} retries)") from None
        except openai.APIStatusError as err:
            body = _clip(str(getattr(err, "message", "") or err), 200)
            raise TeacherError(f"{self.name}: HTTP {err.status_code} after {self.max_retries} retries: {body}") from None
        except openai.APIConnectionError as err:
            raise TeacherError(f"{self.name}: cannot connect to {self.base_url or 'the OpenAI API'}: "
                               f"{err.__cause__ or err}") from None
        except openai.OpenAIError as err:
            raise TeacherError(f"{self.name}: {type(err).__name__}: {_clip(str(err), 200)}") from None
        u = getattr(resp, "usage", None)
        pt = int(getattr(u, "prompt_tokens", 0) or 0)
        ct = int(getattr(u, "completion_tokens", 0) or 0)
        usage = Usage(prompt_tokens=pt, completion_tokens=ct, calls=1, cost_usd=self._cost(pt, ct))
        choices = getattr(resp, "choices", None) or []
        if not choices:
            self._count(Usage(prompt_tokens=pt, completion_tokens=ct, calls=0, cost_usd=usage.cost_usd))
            raise TeacherError(f"{self.name}: the response has no choices")
        content = getattr(choices[0].message, "content", None) or ""
        return content, usage


@hookimpl
def skillrl_register_teachers(register: Callable[..., None]) -> None:
    """Register the built-in ``"openai"`` teacher."""
    register("openai", lambda arg=None, **kw: OpenAITeacher(_needs_arg("openai", "model", arg), **kw),
             "any OpenAI-compatible chat endpoint: 'openai:<model>'")
