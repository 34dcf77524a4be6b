"""The :class:`Teacher` interface, the JSON answer parser shared by the LLM backends, and :func:`make_teacher`.

A backend implements :meth:`Teacher._chat` (one chat call -> text and :class:`~skillrl.teachers.Usage`); the base
class turns that into :meth:`Teacher.complete_json` (pydantic-validated JSON with one repair round),
:meth:`Teacher.complete_many` (bounded concurrency) and the two SkillRL questions :meth:`Teacher.distill` /
:meth:`Teacher.reflect` (arXiv 2602.08234, Sec. 3.2 and 3.4). Backends are found by name through the
``skillrl_register_teachers`` hook (:func:`skillrl.plugins.teacher_registry`).
"""

from __future__ import annotations

import inspect
import json
import re
import threading
import time
from abc import ABC
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from pydantic import BaseModel, ValidationError

from skillrl.episode import Episode
from skillrl.errors import ConfigError, TeacherError, TeacherSpecError
from skillrl.redaction import resolve_redactor
from skillrl.skill import Mistake, Skill
from skillrl.teachers.prompts import _REPAIR, _clip, build_distill_prompt, build_reflect_prompt
from skillrl.teachers.schemas import Proposals, TeacherAnswer, Usage

__all__ = ["Teacher", "accepts_keyword", "ask_teacher", "make_teacher", "parse_json_answer", "strip_think"]


def accepts_keyword(fn: Any, name: str) -> bool:
    """Whether the callable ``fn`` takes a keyword argument ``name`` (named, or through ``**kwargs``).

    Used to pass optional keywords (``deadline``, ``timeout``, ``mistakes``, ``schema``) only to teachers written to
    take them, so subclasses with the older signatures keep working. ``False`` when the signature cannot be read.
    """
    try:
        params = inspect.signature(fn).parameters.values()
    except (TypeError, ValueError):
        return False
    return any(p.name == name and p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY) or p.kind is p.VAR_KEYWORD
               for p in params)

# ===================================================================================================
# JSON parsing shared by the LLM backends
# ===================================================================================================

_THINK_RE = re.compile(r"<think>.*?</think>", re.DOTALL | re.IGNORECASE)
_THINK_OPEN_RE = re.compile(r"<think>", re.IGNORECASE)
_THINK_CLOSE_RE = re.compile(r"</think>", re.IGNORECASE)


def strip_think(raw: str) -> tuple[str, bool]:
    """Remove reasoning blocks from a model's answer: ``<think>...</think>`` blocks, text before a lone closing
    ``</think>`` (chat templates that open the block in the prompt), and an unclosed ``<think>`` with everything after
    it (the reasoning was cut off: what follows is not an answer).

    Returns:
        ``(text, cut)``: the answer text and whether an unclosed ``<think>`` was dropped.
    """
    text = _THINK_RE.sub("", raw or "")
    closes = list(_THINK_CLOSE_RE.finditer(text))
    if closes:
        text = text[closes[-1].end():]
    m = _THINK_OPEN_RE.search(text)
    if m:
        return text[: m.start()].strip(), True
    return text.strip(), False
_FENCE_RE = re.compile(r"```(?:json|JSON)?\s*(.*?)```", re.DOTALL)


def _short_validation_error(err: ValidationError, limit: int = 5) -> str:
    parts = []
    for item in err.errors()[:limit]:
        loc = ".".join(str(p) for p in item["loc"]) or "(root)"
        parts.append(f"{loc}: {item['msg']}")
    more = f" (+{err.error_count() - limit} more)" if err.error_count() > limit else ""
    return "; ".join(parts) + more


def parse_json_answer(raw: str, schema: type[BaseModel]) -> tuple[BaseModel | None, str | None]:
    """Parse a model's text answer into ``schema``.

    Accepts a bare JSON object, one wrapped in a markdown code fence, or one surrounded by prose (the
    outermost ``{...}`` is tried); reasoning blocks are dropped (:func:`strip_think`): JSON inside an unclosed
    ``<think>`` is reasoning cut off at the budget, never the answer.

    Returns:
        ``(value, None)`` on success, ``(None, error_message)`` otherwise (empty answer, an unclosed ``<think>``, no
        JSON object, invalid JSON, or a pydantic validation error listing the failing fields). Never raises.
    """
    text, cut = strip_think(raw)
    if not text and cut:
        return None, ("the answer is an unclosed <think> block: the reasoning was cut off before any answer "
                      "(raise the token budget)")
    if not text:
        return None, "empty answer: expected one JSON object"
    if "{" not in text and "[" not in text:
        return None, f"no JSON object found in the answer (it starts: {_clip(text, 60)!r})"
    candidates = [text]
    candidates += [m.group(1).strip() for m in _FENCE_RE.finditer(text)]
    start, end = text.find("{"), text.rfind("}")
    if 0 <= start < end:
        candidates.append(text[start:end + 1])
    last_error = "no JSON object found in the answer"
    for cand in candidates:
        try:
            data = json.loads(cand)
        except json.JSONDecodeError as err:
            last_error = f"invalid JSON: {err.msg} at line {err.lineno} column {err.colno}"
            continue
        if not isinstance(data, dict):
            last_error = f"expected a JSON object, got {type(data).__name__}"
            continue
        try:
            return schema.model_validate(data), None
        except ValidationError as err:
            return None, f"JSON does not match the schema: {_short_validation_error(err)}"
    return None, last_error


# ===================================================================================================
# the interface
# ===================================================================================================


class Teacher(ABC):
    """A teacher: proposes skills from episodes (see the module docstring).

    Attributes:
        name: ``"openai:<model>"``, ``"hf:<path>"``, ``"offline"``; recorded in skill provenance.
        max_concurrency: parallel calls in :meth:`complete_many` (LLM backends).
        raise_on_error: raise :class:`skillrl.errors.TeacherError` instead of returning an answer with
            ``error`` set (for the CLI; training loops keep the default ``False``).
        repair: make one repair call when the answer is not valid JSON for the schema (default ``True``).
        redactor: applied to the user prompt of :meth:`distill` / :meth:`reflect` before it is sent
            (:mod:`skillrl.redaction`); set from ``redact=``: ``True`` the default patterns, a list of extra regular
            expressions, a :class:`skillrl.redaction.Redactor`, ``None`` / ``False`` (default here) none.

    Raises:
        ConfigError: ``max_concurrency`` < 1, an invalid ``redact``.
    """

    name: str = "teacher"

    def __init__(self, *, max_concurrency: int = 1, raise_on_error: bool = False, repair: bool = True,
                 redact: Any = None):
        if max_concurrency < 1:
            raise ConfigError(f"max_concurrency must be >= 1, got {max_concurrency}")
        self.max_concurrency = max_concurrency
        self.raise_on_error = raise_on_error
        self.repair = repair
        self.redactor = resolve_redactor(redact)
        self._usage = Usage()
        self._lock = threading.Lock()

    # -- usage ------------------------------------------------------------------------------------
    @property
    def usage(self) -> Usage:
        """Running totals over every call this teacher made (a copy)."""
        with self._lock:
            return self._usage.model_copy()

    def _count(self, usage: Usage) -> None:
        with self._lock:
            self._usage = self._usage + usage

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r})"

    # -- the LLM primitive ------------------------------------------------------------------------
    def _chat(self, messages: list[dict[str, str]], schema: type[BaseModel] | None = None) -> tuple[str, Usage]:
        """One model call: chat ``messages`` -> (answer text, usage of this call).

        ``schema`` is the pydantic model the answer must match (backends that support structured output use it;
        a subclass may leave the parameter out). Backends raise :class:`TeacherError` for transport faults (after
        their own retries); an error may carry the usage spent as ``err.usage``. A backend that can bound a call in
        time takes a keyword ``timeout`` (seconds, ``None`` = its own default); it is then given the time left before
        the caller's deadline (see :meth:`complete_json`).
        """
        raise TeacherError(f"{self.name} does not answer free-form prompts")

    def _call(self, messages: list[dict[str, str]], schema: type[BaseModel] | None = None,
              deadline: float | None = None) -> tuple[str | None, Usage, str | None]:
        kwargs: dict[str, Any] = {}
        if deadline is not None:
            left = deadline - time.monotonic()
            if left <= 0:
                usage = Usage(errors=1)
                self._count(usage)
                return None, usage, "out of time: the deadline passed before this call was made"
            if accepts_keyword(self._chat, "timeout"):
                kwargs["timeout"] = left
        if schema is not None and accepts_keyword(self._chat, "schema"):
            kwargs["schema"] = schema
        try:
            text, usage = self._chat(messages, **kwargs)
        except TeacherError as err:
            spent = getattr(err, "usage", None)
            usage = (spent if isinstance(spent, Usage) else Usage()) + Usage(errors=1)
            if usage.calls == 0:
                usage = usage.model_copy(update={"calls": 1})
            self._count(usage)
            return None, usage, str(err)
        except Exception as err:  # noqa: BLE001 - any backend fault is this request's failure, never the caller's
            usage = Usage(calls=1, errors=1)
            self._count(usage)
            return None, usage, f"{self.name}: {type(err).__name__}: {_clip(str(err), 200)}"
        self._count(usage)
        return text, usage, None

    def _finish(self, answer: TeacherAnswer) -> TeacherAnswer:
        if answer.error is not None and self.raise_on_error:
            raise TeacherError(f"{self.name}: {answer.error}")
        return answer

    def complete_json(self, system: str, user: str, schema: type[BaseModel], *,
                      deadline: float | None = None) -> TeacherAnswer:
        """Ask for one JSON object matching ``schema`` (a pydantic model class).

        Makes one call; when the answer is not valid JSON for the schema (or empty), sends the error back
        and asks once for corrected JSON (``repair=True``). Never raises for API faults or bad answers
        (unless ``raise_on_error``): the returned answer has ``error`` set.

        Args:
            deadline: a :func:`time.monotonic` instant (seconds) by which the answer is needed (``None``: no
                limit). Each call is given the time left (backends whose ``_chat`` takes ``timeout``); a call
                due after the deadline is not made and the answer has ``error`` ``"out of time: ..."``.

        Returns:
            :class:`TeacherAnswer` with ``value`` an instance of ``schema`` and the usage of both calls.
        """
        messages = [{"role": "system", "content": system}, {"role": "user", "content": user}]
        text, usage, err = self._call(messages, schema, deadline)
        if err is not None:
            return self._finish(TeacherAnswer(raw="", usage=usage, error=err))
        value, perr = parse_json_answer(text, schema)
        if perr is None:
            return self._finish(TeacherAnswer(value=value, raw=text, usage=usage))
        if not self.repair:
            return self._finish(TeacherAnswer(raw=text, usage=usage, error=perr))
        messages += [{"role": "assistant", "content": text}, {"role": "user", "content": _REPAIR.format(error=perr)}]
        text2, usage2, err2 = self._call(messages, schema, deadline)
        usage = usage + usage2
        if err2 is not None:
            return self._finish(TeacherAnswer(raw=text, usage=usage, error=f"{perr}; the repair call failed: {err2}"))
        value, perr2 = parse_json_answer(text2, schema)
        if perr2 is None:
            return self._finish(TeacherAnswer(value=value, raw=text2, usage=usage))
        return self._finish(TeacherAnswer(raw=text2, usage=usage,
                                          error=f"no valid JSON after one repair: {perr2} (first answer: {perr})"))

    def complete_many(self, requests: Sequence[tuple[str, str]], schema: type[BaseModel]) -> list[TeacherAnswer]:
        """:meth:`complete_json` for many ``(system, user)`` pairs, at most ``max_concurrency`` at a time.

        Returns the answers in the order of ``requests``.
        """
        if self.max_concurrency == 1 or len(requests) <= 1:
            return [self.complete_json(s, u, schema) for s, u in requests]
        with ThreadPoolExecutor(max_workers=min(self.max_concurrency, len(requests)),
                                thread_name_prefix="skillrl-teacher") as pool:
            return list(pool.map(lambda req: self.complete_json(req[0], req[1], schema), requests))

    # -- the SkillRL questions --------------------------------------------------------------------
    @staticmethod
    def _fill_category(answer: TeacherAnswer, category: str | None) -> TeacherAnswer:
        if answer.value is not None and category is not None:
            for sp in answer.value.skills:
                if sp.tier == "task_specific" and not sp.category:
                    sp.category = category
        return answer

    def _not_empty(self, answer: TeacherAnswer) -> TeacherAnswer:
        """An LLM answer with no skill and no mistake is a soft error: the (empty) value is kept, ``error`` says so,
        so reports count it as a failed call instead of a success that changed nothing."""
        if answer.error is None and answer.value is not None and not answer.value.skills and not answer.value.mistakes:
            answer = answer.model_copy(update={"error": "empty proposals: the teacher answered valid JSON with no "
                                                        "skill and no mistake"})
            return self._finish(answer)
        return answer

    def _redactor_for(self, redact: Any) -> Any:
        """The redactor of one call: ``redact=None`` the teacher's own (:attr:`redactor`), else
        :func:`skillrl.redaction.resolve_redactor` of it (``False``: none)."""
        return getattr(self, "redactor", None) if redact is None else resolve_redactor(redact)

    def distill(self, episodes: Sequence[Episode], category: str | None = None,
                existing: Sequence[Skill] = (), mistakes: Sequence[Mistake] = (), *, redact: Any = None) -> TeacherAnswer:
        """Propose skills from episodes (SkillRL Sec. 3.2).

        Args:
            episodes: episodes to learn from, usually successes (failures are used as counter-examples).
            category: the task category the episodes belong to; ``None`` = use each episode's own category.
            existing: the current skills (the teacher may refine them instead of duplicating them).
            mistakes: the current common mistakes (shown, so the teacher does not repeat them).
            redact: redaction of the prompt for this call (``None``: the teacher's :attr:`redactor`; ``False``: none;
                ``True``, extra patterns or a Redactor: see :func:`skillrl.redaction.resolve_redactor`).

        Returns:
            ``TeacherAnswer[Proposals]``; task-specific proposals without a category get ``category``; an answer with
            no proposal at all has ``error`` set (a soft error, the empty value kept).

        LLM backends show the model at most 8 episodes (round-robin over categories, ~12,000 characters;
        see :func:`build_distill_prompt`): to learn from thousands of episodes, call once per category or
        per batch (:meth:`complete_many` runs prompts concurrently). The offline teacher reads them all.
        """
        system, user = build_distill_prompt(episodes, category, existing, mistakes=mistakes,
                                            redact=self._redactor_for(redact))
        return self._not_empty(self._fill_category(self.complete_json(system, user, Proposals), category))

    def reflect(self, failures: Sequence[Episode], category: str | None = None,
                existing: Sequence[Skill] = (), mistakes: Sequence[Mistake] = (), *,
                deadline: float | None = None, redact: Any = None) -> TeacherAnswer:
        """Propose skills and common mistakes from failed episodes (SkillRL Sec. 3.4, skill evolution).

        Args:
            failures: failed episodes (e.g. validation failures of a category below the threshold); each one's
                ``skill_ids`` (the skills it was shown) are named in the prompt.
            category: their category (``None`` = mixed).
            existing: the current skills.
            mistakes: the current common mistakes (so the teacher refines instead of repeating them).
            deadline: :func:`time.monotonic` instant by which the answer is needed (``None``: no limit; see
                :meth:`complete_json`). :class:`skillrl.evolve.Evolver` passes its step's budget here.
            redact: see :meth:`distill`.

        Returns:
            ``TeacherAnswer[Proposals]``; an answer with no proposal at all has ``error`` set (a soft error).
        """
        system, user = build_reflect_prompt(failures, category, existing, mistakes=mistakes,
                                            redact=self._redactor_for(redact))
        kwargs = {"deadline": deadline} if deadline is not None and accepts_keyword(self.complete_json,
                                                                                  "deadline") else {}
        return self._not_empty(self._fill_category(self.complete_json(system, user, Proposals, **kwargs), category))


def ask_teacher(teacher: Any, phase: str, episodes: Sequence[Episode], category: str | None,
                existing: Sequence[Skill] = (), mistakes: Sequence[Mistake] = (), *,
                deadline: float | None = None, redact: Any = None) -> Any:
    """``teacher.reflect(...)`` (``phase="reflect"``) or ``teacher.distill(...)``, passing the current ``mistakes``,
    the ``deadline`` and ``redact`` (``None``: the teacher's own setting) only to teachers whose method takes them
    (teachers written before those parameters keep working)."""
    method = teacher.reflect if phase == "reflect" else teacher.distill
    kwargs: dict[str, Any] = {}
    if mistakes and accepts_keyword(method, "mistakes"):
        kwargs["mistakes"] = mistakes
    if deadline is not None and accepts_keyword(method, "deadline"):
        kwargs["deadline"] = deadline
    if redact is not None and accepts_keyword(method, "redact"):
        kwargs["redact"] = redact
    return method(episodes, category, existing, **kwargs)


# ===================================================================================================
# factory
# ===================================================================================================


def make_teacher(spec: str, **kwargs: Any) -> Teacher:
    """Build a teacher from a spec ``"name"`` or ``"name:arg"``: ``"offline"``, ``"openai:<model>"``,
    ``"hf:<local path>"``, or any backend a plugin registers (hook ``skillrl_register_teachers``).

    Extra keyword arguments go to the backend's factory (``base_url=...``, ``max_new_tokens=...``).

    Raises:
        TeacherSpecError: an unknown backend name, or a backend that needs an argument got none.
    """
    from skillrl.registry import teacher_registry

    name, _, arg = str(spec).partition(":")
    registry = teacher_registry()
    reg = registry.get(name.strip().lower())
    if reg is None:
        raise TeacherSpecError(f"unknown teacher {spec!r}: expected one of "
                               + ", ".join(f"'{n}'" for n in sorted(registry))
                               + " ('name' or 'name:arg', e.g. 'openai:<model>', 'hf:<path>')")
    return reg.factory(arg.strip() or None, **kwargs)


def _needs_arg(name: str, what: str, arg: str | None) -> str:
    """``arg``, or raise :class:`TeacherSpecError` saying that teacher ``name`` needs ``what`` (``'name:<what>'``)."""
    if not arg:
        raise TeacherSpecError(f"teacher '{name}' needs {what}: use '{name}:<{what}>'")
    return arg

