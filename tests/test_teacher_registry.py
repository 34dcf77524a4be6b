"""Teacher backends are found through the ``skillrl_register_teachers`` hook: the built-ins are ordinary plugin
modules, and a new backend is one class plus one registration, with no edit to skillrl."""

from __future__ import annotations

import json

import pytest

import skillrl
from skillrl.errors import ConfigError, SkillRLError, TeacherSpecError
from skillrl.plugins import BUILTIN_PLUGINS, register_plugin, teacher_registry, unregister_plugin
from skillrl.teachers import OfflineTeacher, Proposals, Teacher, Usage, make_teacher
from skillrl.teachers.schemas import TeacherAnswer


class ScriptedTeacher(Teacher):
    """A complete new backend: only ``_chat`` is written; JSON parsing, the repair round, usage counting and
    ``distill`` / ``reflect`` come from :class:`Teacher`. It answers prose first, then the JSON for ``principle``."""

    def __init__(self, principle: str, *, prose_first: bool = True, **kw):
        super().__init__(**kw)
        self.name = f"mybackend:{principle}"
        self.principle = principle
        self.prose_first = prose_first
        self.seen: list[list[dict[str, str]]] = []

    def _chat(self, messages):
        self.seen.append([dict(m) for m in messages])
        if self.prose_first and len(self.seen) == 1:
            return "I think the agent should look around more.", Usage(prompt_tokens=10, completion_tokens=8, calls=1)
        answer = {"skills": [{"title": "Scripted", "principle": self.principle, "tier": "task_specific"}]}
        return json.dumps(answer), Usage(prompt_tokens=12, completion_tokens=20, calls=1)


class MyBackendPlugin:
    """What a plugin module (or an entry point in the ``skillrl`` group) provides."""

    @skillrl.hookimpl
    def skillrl_register_teachers(self, register):
        register("mybackend", lambda arg=None, **kw: ScriptedTeacher(arg or "Look first.", **kw),
                 "a scripted test backend: 'mybackend:<principle>'")


class ShadowOffline:
    """A plugin that replaces a built-in backend by registering the same name."""

    @skillrl.hookimpl
    def skillrl_register_teachers(self, register):
        register("offline", lambda arg=None, **kw: ScriptedTeacher("shadowed", **kw), "replaces the built-in")


@pytest.fixture
def plugin():
    p = MyBackendPlugin()
    register_plugin(p, name="test-mybackend")
    yield p
    unregister_plugin(p)


def test_builtin_teachers_come_from_their_own_plugin_modules():
    reg = teacher_registry()
    assert {k: reg[k].plugin for k in ("offline", "openai", "hf")} == {
        "offline": "skillrl.teachers.offline", "openai": "skillrl.teachers.openai", "hf": "skillrl.teachers.hf"}
    assert {"skillrl.teachers.offline", "skillrl.teachers.openai", "skillrl.teachers.hf"} <= set(BUILTIN_PLUGINS)
    assert "skillrl.teachers" not in BUILTIN_PLUGINS  # the package itself registers nothing
    assert all(r.description for r in reg.values())


def test_a_plugin_adds_a_backend_that_make_teacher_builds(plugin):
    reg = teacher_registry()["mybackend"]
    assert reg.plugin == "test-mybackend" and "scripted" in reg.description
    t = make_teacher("MyBackend: Open closed drawers first.", max_concurrency=2)  # name case-folded, arg stripped
    assert isinstance(t, ScriptedTeacher) and t.name == "mybackend:Open closed drawers first."
    assert t.max_concurrency == 2  # keyword arguments reach the factory
    # the new backend inherits the whole protocol: prose -> one repair round -> a validated, category-filled answer
    ans = t.distill([], category="pick_and_place_simple")
    assert isinstance(ans, TeacherAnswer) and ans.ok and isinstance(ans.value, Proposals)
    [sp] = ans.value.skills
    assert sp.principle == "Open closed drawers first." and sp.category == "pick_and_place_simple"
    assert len(t.seen) == 2 and "could not be used" in t.seen[1][-1]["content"]
    assert ans.usage == Usage(prompt_tokens=22, completion_tokens=28, calls=2) == t.usage
    assert isinstance(make_teacher("mybackend"), ScriptedTeacher)  # no arg: the factory's default


def test_unregistering_removes_the_backend():
    p = MyBackendPlugin()
    register_plugin(p, name="test-mybackend-2")
    assert isinstance(make_teacher("mybackend:x"), ScriptedTeacher)
    unregister_plugin(p)
    assert "mybackend" not in teacher_registry()
    with pytest.raises(TeacherSpecError, match="unknown teacher 'mybackend:x'"):
        make_teacher("mybackend:x")


def test_unknown_name_lists_the_registered_backends(plugin):
    with pytest.raises(TeacherSpecError) as info:
        make_teacher("claude:opus")
    msg = str(info.value)
    assert msg.startswith("unknown teacher 'claude:opus': expected one of 'hf', 'mybackend', 'offline', 'openai'")
    assert isinstance(info.value, SkillRLError) and isinstance(info.value, ValueError)


def test_a_later_plugin_overrides_a_builtin_name():
    assert isinstance(make_teacher("offline"), OfflineTeacher)
    p = ShadowOffline()
    register_plugin(p, name="test-shadow")
    try:
        t = make_teacher("offline")
        assert isinstance(t, ScriptedTeacher) and t.principle == "shadowed"
    finally:
        unregister_plugin(p)
    assert isinstance(make_teacher("offline"), OfflineTeacher)


@pytest.mark.parametrize("spec, needs", [("openai", "model"), ("hf", "path"), ("openai:  ", "model")])
def test_builtin_backends_that_need_an_argument_say_so(spec, needs):
    name = spec.split(":")[0]
    with pytest.raises(TeacherSpecError, match=f"teacher '{name}' needs {needs}: use '{name}:<{needs}>'"):
        make_teacher(spec)


def test_bad_teacher_arguments_are_config_errors():
    from skillrl.teachers import OpenAITeacher

    with pytest.raises(ConfigError, match="max_concurrency must be >= 1, got 0"):
        ScriptedTeacher("x", max_concurrency=0)
    with pytest.raises(ConfigError, match="needs a model name"):
        OpenAITeacher("", base_url="http://127.0.0.1:9/v1")
    with pytest.raises(ConfigError, match="timeout must be > 0 seconds"):
        OpenAITeacher("m", base_url="http://127.0.0.1:9/v1", timeout=0)
    with pytest.raises(ConfigError, match="max_retries must be >= 0"):
        make_teacher("openai:m", base_url="http://127.0.0.1:9/v1", max_retries=-1)
    assert issubclass(ConfigError, ValueError)  # callers catching ValueError keep working
