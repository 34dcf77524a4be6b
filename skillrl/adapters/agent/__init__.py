"""Skills for inference agents: the bank in the prompt, episodes recorded, the bank evolved between episodes.

A small API for agent authors, built on :class:`skillrl.runtime.SkillRuntime` (so retrieval, rendering and
placement are exactly the ones the RL adapters and the cold-start SFT data use)::

    from skillrl.adapters.agent import SkillAgentMemory, OpenAIChatPolicy

    memory = SkillAgentMemory("claude_style_skills.json", mode="template", profile="alfworld",
                              teacher="openai:gpt-4o-mini", evolve_every=20)
    policy = OpenAIChatPolicy("Qwen2.5-7B-Instruct", base_url="http://127.0.0.1:8000/v1")   # vLLM, any server

    obs, info = env.reset(game)
    session = memory.start(obs)                      # the initial prompt with the task's skills placed in it
    while not done:
        action = policy.act(session.messages(info["admissible_commands"]), info["admissible_commands"])
        obs, reward, done, info = env.step(action)
        session.step(action, obs)
    memory.record(session.finish(success=info["won"]))   # evolves the bank every 20 episodes

Or, with your own prompt: ``memory.skills(task)`` -> :class:`skillrl.render.SkillBlock`, ``memory.message(task)``
-> ``{"role": "system", "content": block}``.

Continual learning at inference (as ExpeL, Zhao et al. 2024, and ReasoningBank, Ouyang et al. 2025, do with
their memories) runs SkillRL's evolution step (arXiv 2602.08234, Sec. 3.3) on the agent's own recent
episodes: categories whose success rate is below the threshold send their failures to the teacher; the
bank's dedup, caps and versions apply as in training.

Policies (:class:`OpenAIChatPolicy`, :class:`HFChatPolicy`) map a conversation to one action with the one
ALFWorld action protocol (:func:`skillrl.actions.choose_admissible`): the reply is parsed (``<action>...</action>``
tags, a ``step`` tool call, ``Action:`` / ``>`` prefixes, a bare command); a command that is not admissible is
mapped to the closest admissible one only above :data:`skillrl.actions.MAP_THRESHOLD`, otherwise it goes to the
game as written (an invalid action). ``policy.choices`` counts how often each rule decided.

Modules: :mod:`~skillrl.adapters.agent.memory` (:class:`SkillAgentMemory`), :mod:`~skillrl.adapters.agent.session`
(:class:`SkillSession`, :func:`initial_prompt`, :func:`admissible_text`, :data:`DEFAULT_SYSTEM_PROMPT`),
:mod:`~skillrl.adapters.agent.policies` (:class:`ChatPolicy`, :class:`OpenAIChatPolicy`, :class:`HFChatPolicy`,
:class:`PolicyError`); the reply parsing is :mod:`skillrl.actions`. Importing this package is light (``openai`` and
``transformers`` are imported when a policy first needs them).
"""

from skillrl.actions import Choice, choose_admissible
from skillrl.adapters.agent.memory import SkillAgentMemory
from skillrl.adapters.agent.policies import ChatPolicy, HFChatPolicy, OpenAIChatPolicy, PolicyError
from skillrl.adapters.agent.session import DEFAULT_SYSTEM_PROMPT, SkillSession, admissible_text, initial_prompt

__all__ = [
    "DEFAULT_SYSTEM_PROMPT",
    "ChatPolicy",
    "Choice",
    "HFChatPolicy",
    "OpenAIChatPolicy",
    "PolicyError",
    "SkillAgentMemory",
    "SkillSession",
    "admissible_text",
    "choose_admissible",
    "initial_prompt",
]
