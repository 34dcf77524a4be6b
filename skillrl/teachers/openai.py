"""The OpenAI-compatible teacher backend (``"openai:<model>"``), the one OpenAI client factory and the one builder of
chat-completions request parameters.

:func:`openai_client`, :func:`openai_credentials` and :func:`chat_request` are shared with the inference policy
(:class:`skillrl.adapters.agent.OpenAIChatPolicy`), so both send each model family the parameters it accepts. The
``openai`` package is imported on first use only, so importing this module stays light.
"""

from __future__ import annotations

import logging
import os
import re
import threading
from collections.abc import Callable
from typing import Any, Literal

from pydantic import BaseModel

from skillrl.errors import ConfigError, MissingDependencyError, TeacherError
from skillrl.hookspecs import hookimpl
from skillrl.redaction import is_loopback_url, resolve_redactor
from skillrl.teachers.base import Teacher, _needs_arg
from skillrl.teachers.prompts import _clip
from skillrl.teachers.schemas import Usage, strict_json_schema

__all__ = ["OpenAITeacher", "chat_request", "is_reasoning_model", "openai_client", "openai_credentials"]

logger = logging.getLogger("skillrl.teachers")

ResponseFormat = Literal["json_schema", "json_object", "text"]
ReasoningEffort = Literal["minimal", "low", "medium", "high"]
_FORMATS: tuple[str, ...] = ("json_schema", "json_object", "text")


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


# ===================================================================================================
# per-model request parameters
# ===================================================================================================

_REASONING_RE = re.compile(r"^(?:o[1-9](?:$|[-.])|gpt-5(?!-chat)(?:$|[-.]))")


def is_reasoning_model(model: str) -> bool:
    """Whether ``model`` is an OpenAI reasoning model (o1 / o3 / o4-mini / gpt-5 families, also behind a
    ``provider/`` prefix such as ``openai/o3``), which take ``max_completion_tokens`` and ``reasoning_effort`` and
    reject ``max_tokens`` and a non-default ``temperature``. ``gpt-5-chat-*`` is a chat model.

    Source: OpenAI API reference, "Create chat completion" (``max_tokens`` is "not compatible with o-series
    models"; ``reasoning_effort`` applies to reasoning models) and the reasoning-models guide.
    """
    name = model.strip().lower().rsplit("/", 1)[-1]
    return bool(_REASONING_RE.match(name))


def chat_request(model: str, messages: list[dict[str, str]], *, max_tokens: int | None = None,
                 temperature: float | None = None, reasoning_effort: str | None = None,
                 response_format: dict[str, Any] | None = None, seed: int | None = None,
                 extra_body: dict[str, Any] | None = None, reasoning: bool | None = None) -> dict[str, Any]:
    """Keyword arguments for ``client.chat.completions.create`` with the parameters ``model`` accepts.

    Reasoning models (:func:`is_reasoning_model`, or ``reasoning=True`` for a deployment whose name does not show
    it): the budget goes as ``max_completion_tokens`` (it covers the hidden reasoning tokens too),
    ``reasoning_effort`` is sent when given, ``temperature`` is never sent (they accept only the default 1). Chat
    models: ``max_tokens`` and ``temperature``; ``reasoning_effort`` is not sent (chat models reject it).

    Args:
        model: the model name sent to the server.
        messages: the chat messages.
        max_tokens: answer budget in tokens (``None``: the server's default).
        temperature: sampling temperature (``None``: the server's default; ignored for reasoning models).
        reasoning_effort: ``"minimal"``/``"low"``/``"medium"``/``"high"`` for reasoning models (``None``: server
            default; ignored for chat models).
        response_format: e.g. ``{"type": "json_object"}`` (``None``: not sent).
        seed: sampling seed (``None``: not sent).
        extra_body: extra JSON fields (server-specific options).
        reasoning: force the model family (``None``: from the name).

    Returns:
        the ``create(**kwargs)`` keyword arguments.
    """
    is_reasoning = is_reasoning_model(model) if reasoning is None else bool(reasoning)
    kwargs: dict[str, Any] = {"model": model, "messages": messages}
    if is_reasoning:
        if max_tokens is not None:
            kwargs["max_completion_tokens"] = int(max_tokens)
        if reasoning_effort is not None:
            kwargs["reasoning_effort"] = reasoning_effort
    else:
        if max_tokens is not None:
            kwargs["max_tokens"] = int(max_tokens)
        if temperature is not None:
            kwargs["temperature"] = temperature
    if response_format is not None:
        kwargs["response_format"] = response_format
    if seed is not None:
        kwargs["seed"] = int(seed)
    if extra_body:
        kwargs["extra_body"] = dict(extra_body)
    return kwargs


def describe_body(text: str, content_type: str | None) -> str:
    """One phrase naming what a non-JSON HTTP body is (an HTML page, plain text, empty), for error messages."""
    body = (text or "").strip()
    ctype = (content_type or "none").split(";")[0].strip() or "none"
    if not body:
        return f"an empty body (content type {ctype})"
    kind = "an HTML page" if body[:1] == "<" or "html" in ctype else "a non-JSON body"
    return f"{kind} (content type {ctype}) starting {_clip(body, 80)!r}"


def _http_error(name: str, err: Any, retries: int) -> TeacherError:
    resp = getattr(err, "response", None)
    text = ""
    ctype = None
    if resp is not None:
        ctype = resp.headers.get("content-type")
        try:
            text = resp.text
        except Exception:  # noqa: BLE001 - a streamed/closed body: fall back to the SDK's message
            text = ""
    message = getattr(err, "message", "") or str(err)
    body = getattr(err, "body", None)
    if isinstance(body, dict) and isinstance(body.get("error"), dict):
        message = str(body["error"].get("message") or message)
    elif isinstance(body, dict) and body.get("message"):
        message = str(body["message"])
    elif text and not (ctype or "").startswith("application/json"):
        message = describe_body(text, ctype)
    return TeacherError(f"{name}: HTTP {err.status_code} after {retries} retries: {_clip(message, 240)}")


# ===================================================================================================
# the teacher
# ===================================================================================================


class OpenAITeacher(Teacher):
    """A teacher behind an OpenAI-compatible ``/v1/chat/completions`` endpoint (``openai`` SDK).

    Args:
        model: model name sent to the server (``"gpt-4o-mini"``, ``"o3"``, a vLLM served model name).
        base_url: endpoint root including ``/v1`` (``None`` = the SDK default / ``OPENAI_BASE_URL``).
        api_key: key; default ``OPENAI_API_KEY``; for a local server without auth any string works (when
            ``base_url`` is set and no key is found, ``"not-needed"`` is sent).
        timeout: seconds per HTTP request (default ``None``: 60 s for chat models, 300 s for reasoning models, which
            think before answering); a call made with a nearer deadline (evolution's ``EvolutionConfig.max_seconds``)
            gets the time left instead.
        max_retries: retries made by the SDK on connection errors, timeouts, 408/409/429 and 5xx, with
            exponential backoff (0.5 s doubling, capped at 8 s, jittered) or the server's ``Retry-After`` /
            ``retry-after-ms`` when it is between 0 and 120 s (``openai`` SDK ``_base_client``). Default 3.
        max_concurrency: parallel requests in :meth:`complete_many` (default 4).
        temperature: sampling temperature (``None`` = server default; never sent to reasoning models).
        max_tokens: answer budget in tokens (default ``None``: 2,048 for chat models - a 5-skill + 3-mistake answer
            is about 1,400 - and 16,384 for reasoning models, whose budget includes their reasoning tokens). Sent as
            ``max_tokens`` or ``max_completion_tokens`` (:func:`chat_request`). An answer cut at the budget
            (``finish_reason="length"``) is asked again once with twice the budget.
        reasoning_effort: ``"minimal"``, ``"low"``, ``"medium"`` or ``"high"`` for reasoning models (``None``: the
            server's default; not sent to chat models).
        reasoning: force the model family (``None``: from the model name, :func:`is_reasoning_model`).
        response_format: ``"json_schema"`` (default: strict structured output from the answer's pydantic model,
            :func:`~skillrl.teachers.schemas.strict_json_schema`), ``"json_object"`` (JSON mode) or ``"text"``. When
            the server rejects the format (HTTP 400 naming ``response_format``), the teacher falls back to the next
            one (json_schema -> json_object -> text) and keeps it; answers are validated and repaired either way.
        json_mode: ``False`` is the old spelling of ``response_format="text"``.
        price_per_1k_input, price_per_1k_output: USD per 1,000 prompt / completion tokens; when both are
            ``None`` the cost is ``None``.
        price_per_1k_cached_input: USD per 1,000 prompt tokens served from the prompt cache (default ``None``: half
            the input price, OpenAI's cached-input discount for most models).
        extra_body: extra JSON fields for the request body (server-specific options).
        redact: redaction of what the prompts send (:mod:`skillrl.redaction`): ``"auto"`` (default) the default
            patterns when ``base_url`` is not on the loopback interface (the public OpenAI API or any remote
            endpoint: the trajectories leave the machine), none for a server on ``127.0.0.1`` / ``localhost``;
            ``True`` / ``False``; a list of extra regular expressions; a :class:`skillrl.redaction.Redactor`.
        raise_on_error, repair: see :class:`Teacher`.

    Every fault of a call - SDK errors, transport errors, an HTML or other non-JSON body, a body that is not a chat
    completion, no choices - becomes a :class:`TeacherError` naming the cause, so it stays the failure of that one
    request (:meth:`complete_json` returns it as ``error``).

    Raises:
        MissingDependencyError: ``openai`` is not installed (on the first call).
        TeacherError: no API key for the public endpoint (on construction).
        ConfigError: an empty ``model``, ``timeout`` <= 0, ``max_retries`` < 0, ``max_tokens`` < 1, an unknown
            ``response_format`` or ``reasoning_effort``.
    """

    CHAT_BUDGET = 2048
    REASONING_BUDGET = 16384

    def __init__(self, model: str, base_url: str | None = None, api_key: str | None = None, *,
                 timeout: float | None = None, max_retries: int = 3, max_concurrency: int = 4,
                 temperature: float | None = None, max_tokens: int | None = None,
                 reasoning_effort: str | None = None, reasoning: bool | None = None,
                 response_format: str = "json_schema", json_mode: bool = True,
                 price_per_1k_input: float | None = None, price_per_1k_output: float | None = None,
                 price_per_1k_cached_input: float | None = None,
                 extra_body: dict[str, Any] | None = None, raise_on_error: bool = False, repair: bool = True,
                 redact: Any = "auto"):
        super().__init__(max_concurrency=max_concurrency, raise_on_error=raise_on_error, repair=repair)
        if not model:
            raise ConfigError("OpenAITeacher needs a model name")
        self.model = model
        self.reasoning = is_reasoning_model(model) if reasoning is None else bool(reasoning)
        if timeout is None:
            timeout = 300.0 if self.reasoning else 60.0
        if timeout <= 0:
            raise ConfigError(f"timeout must be > 0 seconds, got {timeout}")
        if max_retries < 0:
            raise ConfigError(f"max_retries must be >= 0, got {max_retries}")
        if max_tokens is not None and max_tokens < 1:
            raise ConfigError(f"max_tokens must be >= 1, got {max_tokens}")
        if response_format not in _FORMATS:
            raise ConfigError(f"response_format must be one of {', '.join(_FORMATS)}, got {response_format!r}")
        if reasoning_effort is not None and reasoning_effort not in ("minimal", "low", "medium", "high"):
            raise ConfigError(f"reasoning_effort must be minimal, low, medium or high, got {reasoning_effort!r}")
        self.base_url, self._api_key = openai_credentials(base_url, api_key, "OpenAITeacher", TeacherError)
        if isinstance(redact, str) and redact == "auto":
            redact = not is_loopback_url(self.base_url)
        self.redactor = resolve_redactor(redact)
        self.timeout = float(timeout)
        self.max_retries = int(max_retries)
        self.temperature = temperature
        self.max_tokens = int(max_tokens) if max_tokens is not None else (
            self.REASONING_BUDGET if self.reasoning else self.CHAT_BUDGET)
        self.reasoning_effort = reasoning_effort
        self.response_format: str = response_format if json_mode else "text"
        self.json_mode = self.response_format != "text"
        self.price_per_1k_input = price_per_1k_input
        self.price_per_1k_output = price_per_1k_output
        self.price_per_1k_cached_input = price_per_1k_cached_input
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

    def _cost(self, prompt_tokens: int, completion_tokens: int, cached_tokens: int = 0) -> float | None:
        if self.price_per_1k_input is None and self.price_per_1k_output is None:
            return None
        inp = self.price_per_1k_input or 0.0
        cached_price = self.price_per_1k_cached_input if self.price_per_1k_cached_input is not None else inp / 2
        cached = min(max(0, cached_tokens), prompt_tokens)
        return ((prompt_tokens - cached) * inp + cached * cached_price
                + completion_tokens * (self.price_per_1k_output or 0.0)) / 1000.0

    def _format(self, mode: str, schema: type[BaseModel] | None) -> dict[str, Any] | None:
        if mode == "json_schema" and schema is not None:
            return {"type": "json_schema", "json_schema": {"name": schema.__name__.lower()[:64],
                                                           "schema": strict_json_schema(schema), "strict": True}}
        if mode in ("json_schema", "json_object"):
            return {"type": "json_object"}
        return None

    def _request(self, messages: list[dict[str, str]], schema: type[BaseModel] | None, budget: int,
                 timeout: float | None = None) -> Any:
        """One HTTP exchange; falls back to a weaker response format when the server rejects the current one.
        ``timeout``: the time left before the caller's deadline, when nearer than the teacher's own timeout."""
        import openai

        client = self._get_client()
        limit = self.timeout if timeout is None else max(0.001, min(self.timeout, float(timeout)))
        if limit != self.timeout:  # the caller's deadline is nearer than our own timeout
            client = client.with_options(timeout=limit)
        while True:
            mode = self.response_format
            kwargs = chat_request(self.model, messages, max_tokens=budget, temperature=self.temperature,
                                  reasoning_effort=self.reasoning_effort, response_format=self._format(mode, schema),
                                  extra_body=self.extra_body, reasoning=self.reasoning)
            try:
                raw = client.chat.completions.with_raw_response.create(**kwargs)
            except openai.BadRequestError as err:
                text = str(getattr(err, "message", "") or err).lower()
                if mode != "text" and ("response_format" in text or "json_schema" in text):
                    nxt = _FORMATS[_FORMATS.index(mode) + 1]
                    logger.info("%s: the server rejected response_format %s (%s); falling back to %s", self.name,
                                mode, _clip(text, 120), nxt)
                    with self._lock:
                        if self.response_format == mode:
                            self.response_format = nxt
                    continue
                raise _http_error(self.name, err, self.max_retries) from None
            except openai.APITimeoutError:
                raise TeacherError(f"{self.name}: request timed out after {limit:g} s "
                                   f"({self.max_retries} retries)") from None
            except openai.APIStatusError as err:
                raise _http_error(self.name, err, self.max_retries) from None
            except openai.APIConnectionError as err:
                raise TeacherError(f"{self.name}: cannot connect to {self.base_url or 'the OpenAI API'}: "
                                   f"{err.__cause__ or err}") from None
            except openai.OpenAIError as err:
                raise TeacherError(f"{self.name}: {type(err).__name__}: {_clip(str(err), 200)}") from None
            except Exception as err:  # noqa: BLE001 - any transport/SDK fault is this request's failure
                raise TeacherError(f"{self.name}: {type(err).__name__}: {_clip(str(err), 200)}") from None
            return raw

    def _parse(self, raw: Any) -> Any:
        """The chat completion of a raw response; a :class:`TeacherError` naming what came back otherwise."""
        ctype = raw.headers.get("content-type")
        try:
            text = raw.http_response.text
        except Exception:  # noqa: BLE001
            text = ""
        if not (ctype or "").split(";")[0].strip().endswith("json") or (text or "").lstrip()[:1] == "<":
            raise TeacherError(f"{self.name}: the server answered {describe_body(text, ctype)} instead of a chat "
                               "completion")
        try:
            resp = raw.parse()
        except (ValueError, TypeError) as err:
            raise TeacherError(f"{self.name}: the server answered invalid JSON ({type(err).__name__}: "
                               f"{_clip(str(err), 80)}): {describe_body(text, ctype)}") from None
        if isinstance(resp, (str, bytes)) or not hasattr(resp, "choices"):
            raise TeacherError(f"{self.name}: the server answered {describe_body(str(resp), ctype)} instead of a "
                               "chat completion")
        return resp

    def _usage_of(self, resp: Any) -> Usage:
        u = getattr(resp, "usage", None)
        pt = int(getattr(u, "prompt_tokens", 0) or 0)
        ct = int(getattr(u, "completion_tokens", 0) or 0)
        details = getattr(u, "prompt_tokens_details", None)
        cached = int(getattr(details, "cached_tokens", 0) or 0) if details is not None else 0
        return Usage(prompt_tokens=pt, cached_tokens=cached, completion_tokens=ct, calls=1,
                     cost_usd=self._cost(pt, ct, cached))

    @staticmethod
    def _fail(message: str, usage: Usage) -> TeacherError:
        err = TeacherError(message)
        err.usage = usage  # type: ignore[attr-defined] - read by Teacher._call: the tokens of a failed request count
        return err

    def _chat(self, messages: list[dict[str, str]], schema: type[BaseModel] | None = None,
              timeout: float | None = None) -> tuple[str, Usage]:
        """One answer: the request (with the response-format fallback), the response checked, and one retry with
        twice the budget when the answer was cut at the budget. Returns the text and the usage of every HTTP call it
        made; raises :class:`TeacherError` (carrying that usage) otherwise."""
        budget = self.max_tokens
        usage = Usage()
        for attempt in range(2):
            try:
                resp = self._parse(self._request(messages, schema, budget, timeout))
            except TeacherError as err:
                err.usage = usage + Usage(calls=1)  # type: ignore[attr-defined]
                raise
            usage = usage + self._usage_of(resp)
            choices = getattr(resp, "choices", None) or []
            if not choices:
                raise self._fail(f"{self.name}: the response has no choices (an empty 'choices' list)", usage)
            choice = choices[0]
            message = getattr(choice, "message", None)
            content = getattr(message, "content", None) or ""
            refusal = getattr(message, "refusal", None)
            finish = getattr(choice, "finish_reason", None)
            if finish == "length":
                if attempt == 0:  # cut at the budget: ask once more with twice the budget, not the same request
                    logger.info("%s: answer truncated at %d tokens; asking again with %d", self.name, budget,
                                budget * 2)
                    budget *= 2
                    continue
                raise self._fail(f"{self.name}: the answer was cut at the token budget twice (finish_reason=length "
                                 f"at {budget // 2} and {budget} tokens); raise max_tokens", usage)
            if refusal and not content:
                raise self._fail(f"{self.name}: the model refused: {_clip(str(refusal), 200)}", usage)
            return content, usage
        raise self._fail(f"{self.name}: no answer", usage)  # pragma: no cover - the loop returns or raises


@hookimpl
def skillrl_register_teachers(register: Callable[..., None]) -> None:
    """Register the built-in ``"openai"`` teacher."""
    register("openai", lambda arg=None, **kw: OpenAITeacher(_needs_arg("openai", "model", arg), **kw),
             "any OpenAI-compatible chat endpoint: 'openai:<model>'")
