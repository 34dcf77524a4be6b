"""Teachers: the model that turns episodes into skills (SkillRL, arXiv 2602.08234, Sec. 3.2 and 3.4).

One interface, :class:`Teacher`, three backends:

- :class:`OpenAITeacher` - any OpenAI-compatible chat-completions endpoint (OpenAI, Azure-compatible
  gateways, vLLM / llama.cpp / Ollama servers) through the ``openai`` SDK;
- :class:`HFTeacher` - a local ``transformers`` causal LM, prompted through its chat template;
- :class:`OfflineTeacher` - no LLM at all: statistics over the episodes' real actions and observations
  (the embedded default, deterministic, fast).

Every backend answers the two questions SkillRL asks a teacher:

- :meth:`Teacher.distill` - from (mostly successful) episodes, propose skills: strategic patterns per task
  category (task-specific) and regularities across categories (general); Sec. 3.2 "skill distillation".
- :meth:`Teacher.reflect` - from failed episodes (validation failures of weak categories), propose new or
  refined skills and common mistakes; Sec. 3.4 "recursive skill evolution".

Both return a :class:`TeacherAnswer` holding :class:`Proposals`. API faults never raise into the caller:
the answer carries ``error`` instead (set ``raise_on_error=True``, or call :meth:`TeacherAnswer.unwrap`,
to get a :class:`skillrl.errors.TeacherError`). LLM backends also expose :meth:`Teacher.complete_json`
(one system + user prompt -> a pydantic-validated JSON answer, with one repair round) and
:meth:`Teacher.complete_many` (bounded concurrency).

Unlike the official implementation (which shows the teacher placeholder prompts), the LLM teachers see
the real task text, observations and actions of each episode, truncated to a character budget, and the
current skills of the category, and may propose refinements of existing skills.

Layout: :mod:`~skillrl.teachers.schemas` (the answer shapes), :mod:`~skillrl.teachers.base` (:class:`Teacher`, JSON
parsing and repair, :func:`make_teacher`), :mod:`~skillrl.teachers.prompts` (every prompt text),
:mod:`~skillrl.teachers.openai`, :mod:`~skillrl.teachers.hf` and :mod:`~skillrl.teachers.offline` (one backend
each, with its ``skillrl_register_teachers`` registration). A new backend is one module with a :class:`Teacher`
subclass and a ``@skillrl.hookimpl def skillrl_register_teachers(register)`` (hook spec: :func:`skillrl.hookspecs.skillrl_register_teachers`).
"""

from __future__ import annotations

from skillrl.teachers.base import Teacher, make_teacher, parse_json_answer
from skillrl.teachers.hf import HFTeacher
from skillrl.teachers.offline import OfflineTeacher
from skillrl.teachers.offline.alfworld import parse_alfworld_action, parse_alfworld_task
from skillrl.teachers.openai import OpenAITeacher, openai_client, openai_credentials
from skillrl.teachers.prompts import build_distill_prompt, build_reflect_prompt, render_episode, round_robin
from skillrl.teachers.schemas import MistakeProposal, Proposals, SkillProposal, TeacherAnswer, Usage

__all__ = [
    "HFTeacher",
    "MistakeProposal",
    "OfflineTeacher",
    "OpenAITeacher",
    "Proposals",
    "SkillProposal",
    "Teacher",
    "TeacherAnswer",
    "Usage",
    "build_distill_prompt",
    "build_reflect_prompt",
    "make_teacher",
    "openai_client",
    "openai_credentials",
    "parse_alfworld_action",
    "parse_alfworld_task",
    "parse_json_answer",
    "render_episode",
    "round_robin",
]
