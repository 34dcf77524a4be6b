"""The agent file's side (loaded by every vLLM rollout actor through ``--train.agent_func_path``):
:func:`skillrl_agent_executor` wraps your ``AgentInstance`` so each episode gets skills in its first user turn and
ends up in the shared bank; :class:`EpisodeContext` is what the wrapped instance sees as ``self.skillrl``.

``MultiTurnAgentExecutor.execute`` (``openrlhf/utils/agent.py``) builds one instance per sample, calls
``reset({"observation": prompt, "label": label})`` and then ``step`` until done. The wrapper runs your ``reset``
first (so the environment's first observation is known), asks the bank for the skills of that task and writes the
block into the user turn of the chat-templated observation (:class:`skillrl.chat_template.ChatLayout`). After the
episode it sends the bank the episode (:meth:`SkillBankService.record`).
"""

from __future__ import annotations

import contextvars
import inspect
import logging
from typing import Any

from openrlhf.utils.agent import AgentInstanceBase, MultiTurnAgentExecutor

from skillrl.adapters.openrlhf.config import SkillRLConfig
from skillrl.adapters.openrlhf.service import BankClient, get_bank_actor
from skillrl.chat_template import ChatLayout
from skillrl.episode import Step
from skillrl.errors import SkillRLError, short_repr
from skillrl.hookspecs import hookimpl
from skillrl.render import SkillBlock, inject

logger = logging.getLogger("skillrl.openrlhf")

__all__ = ["AgentClassError", "ChatPlacement", "EpisodeContext", "placement_hooks", "skillrl_agent_executor"]


class AgentClassError(SkillRLError, TypeError):
    """:func:`skillrl_agent_executor` was given something other than an OpenRLHF ``AgentInstanceBase`` subclass."""


_CURRENT: contextvars.ContextVar[EpisodeContext | None] = contextvars.ContextVar("skillrl_episode", default=None)


class EpisodeContext:
    """What the wrapper knows about the episode being played; the wrapped instance sees it as ``self.skillrl``.

    Attributes:
        prompt, label: what OpenRLHF passed to ``execute``.
        tokenizer, layout: the policy's tokenizer and its :class:`ChatLayout` (``None`` without a template).
        skills: the bank's answer for this episode (block, skill_ids, category, bank_version, split, ...) once
            ``reset`` ran.
        steps: the episode's :class:`skillrl.episode.Step` records so far.
        category, task, success: set from the instance's ``reset`` / ``step`` extras, or by hand.
    """

    def __init__(self, client: BankClient, prompt: str, label: Any, tokenizer: Any,
                 plugins: tuple[str, ...] = ()) -> None:
        self.client = client
        self.plugins = tuple(plugins)
        self.prompt, self.label, self.tokenizer = prompt, label, tokenizer
        self.layout = ChatLayout.from_tokenizer(tokenizer) if tokenizer is not None else None
        self.skills: dict[str, Any] | None = None
        self.initial_observation = ""
        self.steps: list[Any] = []
        self.category: str | None = None
        self.task: str | None = None
        self.success: bool | None = None
        self.instance: Any = None
        self.last_action_end: str | None = None  # special token text the last action's tokens ended with

    def next_user_turn(self, text: str, done: bool = False) -> str:
        """``text`` as the next chat turn after the policy's last action (see :meth:`ChatLayout.next_user_turn`);
        the end-of-turn token the action already emitted is not repeated. Without a chat template: ``"\\n" +
        text + "\\n"``."""
        if self.layout is None:
            return f"\n{text}\n"
        return self.layout.next_user_turn(text, done=done, action_ended_with=self.last_action_end)

    async def on_reset(self, states: dict[str, Any], result: dict[str, Any]) -> dict[str, Any]:
        observation = result.get("observation") if isinstance(result, dict) else None
        if not isinstance(observation, str):
            raise SkillRLError(f"skillrl: reset() must return {{'observation': <text>}}, got {short_repr(result)}")
        if result.get("category") is not None:
            self.category = str(result["category"])
        if result.get("task"):
            self.task = str(result["task"])
        text = self.layout.user_content(observation) if self.layout else observation
        self.initial_observation = text
        self.skills = await self.client.call("augment", text, task=self.task, category=self.category)
        block = SkillBlock(text=self.skills["block"], skill_ids=tuple(self.skills["skill_ids"]),
                           mistake_ids=tuple(self.skills.get("mistake_ids", ())), tokens=int(self.skills["tokens"]))
        if not block.text:
            return result
        # the skillrl_place_block hook, as under TRL: a plugin (entry point or config.plugins) is asked first, the
        # default places the block in the user turn the tokenizer's chat template delimits
        token = _CURRENT.set(self)  # the default placement reads this episode's chat layout
        try:
            new = placement_hooks(self.plugins).skillrl_place_block(prompt=observation, block=block)
        finally:
            _CURRENT.reset(token)
        return {**result, "observation": new}

    def on_step(self, states: dict[str, Any], result: dict[str, Any]) -> None:
        action = result.get("action")
        if action is None:
            action = states.get("action_text", "")
            if self.layout is not None:
                action = self.layout.strip_markup(action)
        observation = result.get("observation")
        if observation is None:
            feedback = str(result.get("environment_feedback") or "")
            observation = self.layout.strip_markup(feedback) if self.layout else feedback.strip()
        if result.get("success") is not None:
            self.success = bool(result["success"])
        extra = {}
        if "reasoning" in result or "valid" in result:  # an agent using skillrl.actions: keep the raw reply too
            extra = {"reasoning": str(result.get("reasoning") or ""), "raw": str(states.get("action_text", "")),
                     "valid": bool(result.get("valid", True))}
        self.steps.append(Step(action=str(action).strip(), observation=str(observation), **extra))

    def episode(self, response: dict[str, Any]) -> dict[str, Any]:
        skills = self.skills or {}
        reward = response.get("reward")
        return {
            "task": skills.get("task") or self.task or "", "category": skills.get("category"),
            "category_raw": self.category, "initial_observation": self.initial_observation,
            "steps": [s.model_dump() for s in self.steps], "reward": float(reward) if reward is not None else 0.0,
            "success": self.success, "split": skills.get("split", "train"), "skill_ids": skills.get("skill_ids", []),
            "metadata": {"bank_version": skills.get("bank_version"), "mistake_ids": skills.get("mistake_ids", []),
                         "truncated": bool(response.get("truncated", False)), "block_tokens": skills.get("tokens", 0)},
        }


class ChatPlacement:
    """The default ``skillrl_place_block`` for chat-templated text (registered ``trylast``): the block goes into the
    user turn of the prompt, located with the tokenizer's own chat template (:class:`ChatLayout`), at the placement
    the bank reports; plain text without a template gets :func:`skillrl.render.inject`."""

    @hookimpl(trylast=True)
    def skillrl_place_block(self, prompt: Any, block: SkillBlock) -> Any:
        ctx = _CURRENT.get()
        placement = (ctx.skills or {}).get("placement", "user_prefix") if ctx is not None else "user_prefix"
        if ctx is not None and ctx.layout is not None and isinstance(prompt, str):
            return ctx.layout.inject(prompt, block.text, placement)
        return inject(prompt, block.text, placement)


_HOOKS: dict[tuple[str, ...], Any] = {}


def placement_hooks(plugins: tuple[str, ...] = ()) -> Any:
    """The hook relay the executor places blocks with: entry-point plugins, ``plugins`` (import paths, from
    ``SkillRLConfig.plugins``) and :class:`ChatPlacement` as the default; built once per process."""
    if plugins not in _HOOKS:
        from skillrl.plugins import make_plugin_manager
        from skillrl.runtime import load_plugins

        pm = make_plugin_manager()
        pm.register(ChatPlacement(), name="skillrl-chat-placement")
        for plugin in load_plugins(plugins):
            pm.register(plugin)
        _HOOKS[plugins] = pm.hook
    return _HOOKS[plugins]


class _EngineProxy:
    """Passes generation to the real engine and notes how each action's tokens ended."""

    def __init__(self, engine: Any, ctx: EpisodeContext) -> None:
        self._engine, self._ctx = engine, ctx

    async def generate(self, *args: Any, **kwargs: Any) -> Any:
        out = await self._engine.generate(*args, **kwargs)
        ctx = self._ctx
        try:
            ids = list(out.outputs[0].token_ids)
            tok = ctx.tokenizer
            special = set(getattr(tok, "all_special_ids", []) or [])
            ctx.last_action_end = tok.convert_ids_to_tokens(ids[-1]) if ids and ids[-1] in special else None
        except Exception:  # noqa: BLE001 - bookkeeping only
            ctx.last_action_end = None
        return out

    def __getattr__(self, name: str) -> Any:
        return getattr(self._engine, name)


def skillrl_agent_executor(instance_cls: type, *, config: SkillRLConfig | None = None,
                           name: str = "AgentExecutor") -> type:
    """An OpenRLHF ``MultiTurnAgentExecutor`` subclass (no-argument constructor, as ``--train.agent_func_path``
    requires) that plays ``instance_cls`` with skills from the shared bank.

    Usage, in the agent file: ``AgentExecutor = skillrl_agent_executor(MyAgentInstance)``.

    Per sample (``MultiTurnAgentExecutor.execute``): your ``reset`` runs, then the skill block for the task goes into
    the observation's user turn (:class:`ChatLayout`, placement from the config); ``step`` runs unchanged; when the
    episode ends the bank receives it (prompt, label, actions, observations, total reward, category, injected skill
    ids) and three numbers join the sample's ``extra_logs`` (so OpenRLHF logs them): ``skillrl_skills`` (skills
    injected), ``skillrl_block_tokens`` and ``skillrl_bank_version``.

    Args:
        instance_cls: your ``AgentInstanceBase`` subclass (constructed with no arguments, as OpenRLHF does).
        config: bank configuration (default: :meth:`SkillRLConfig.from_env` in each rollout actor).
        name: the generated class's name.

    Raises:
        AgentClassError: ``instance_cls`` is not an ``openrlhf.utils.agent.AgentInstanceBase`` subclass.
    """
    if not (isinstance(instance_cls, type) and issubclass(instance_cls, AgentInstanceBase)):
        raise AgentClassError(f"skillrl_agent_executor() needs an openrlhf.utils.agent.AgentInstanceBase subclass, got "
                        f"{short_repr(instance_cls)}")

    class _SkillRLInstance(instance_cls):  # type: ignore[valid-type, misc]
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            self.skillrl = _CURRENT.get()
            if self.skillrl is not None:
                self.skillrl.instance = self
            super().__init__(*args, **kwargs)

        async def reset(self, states: dict, **kwargs: Any) -> dict:
            result = await super().reset(states, **kwargs)
            if self.skillrl is None:
                return result
            return await self.skillrl.on_reset(states, result)

        async def step(self, states: dict, **kwargs: Any) -> dict:
            result = await super().step(states, **kwargs)
            if self.skillrl is not None:
                self.skillrl.on_step(states, result)
            return result

    _SkillRLInstance.__name__ = _SkillRLInstance.__qualname__ = f"SkillRL{instance_cls.__name__}"
    _SkillRLInstance.__module__ = instance_cls.__module__
    _SkillRLInstance.__doc__ = instance_cls.__doc__

    def __init__(self: Any) -> None:
        MultiTurnAgentExecutor.__init__(self, _SkillRLInstance)
        self.skillrl_config = config
        self._client: BankClient | None = None

    def client(self: Any) -> BankClient:
        if self._client is None:
            self._client = BankClient(get_bank_actor(self.skillrl_config or SkillRLConfig.from_env()))
        return self._client

    async def execute(self: Any, prompt: str, label: Any, sampling_params: Any, max_length: int, hf_tokenizer: Any,
                      llm_engine: Any, images: Any = None) -> dict[str, Any]:
        cfg = self.skillrl_config = self.skillrl_config or SkillRLConfig.from_env()
        ctx = EpisodeContext(self.client(), prompt, label, hf_tokenizer, plugins=tuple(cfg.plugins))
        token = _CURRENT.set(ctx)
        try:
            response = await MultiTurnAgentExecutor.execute(
                self, prompt, label, sampling_params, max_length, hf_tokenizer, _EngineProxy(llm_engine, ctx),
                images=images)
        finally:
            _CURRENT.reset(token)
            await _close(ctx.instance)
        await ctx.client.call("record", ctx.episode(response), prompt=prompt, label=label)
        skills = ctx.skills or {}
        response["extra_logs"] = {**(response.get("extra_logs") or {}),
                                  "skillrl_skills": float(len(skills.get("skill_ids", []))),
                                  "skillrl_block_tokens": float(skills.get("tokens", 0)),
                                  "skillrl_bank_version": float(skills.get("bank_version") or 0)}
        return response

    doc = (f"OpenRLHF agent executor playing {instance_cls.__name__} with skills from the shared SkillRL bank "
           f"(made by skillrl.adapters.openrlhf.skillrl_agent_executor).")
    return type(name, (MultiTurnAgentExecutor,), {"__init__": __init__, "client": client, "execute": execute,
                                                   "__doc__": doc, "__module__": instance_cls.__module__,
                                                   "instance_cls": _SkillRLInstance})


async def _close(instance: Any) -> None:
    close = getattr(instance, "close", None) if instance is not None else None
    if not callable(close):
        return
    try:
        out = close()
        if inspect.isawaitable(out):
            await out
    except Exception:
        logger.exception("skillrl: %s.close() failed", type(instance).__name__)
