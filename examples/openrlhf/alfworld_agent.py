"""ALFWorld multi-turn agent for OpenRLHF, with SkillRL skills: ``--train.agent_func_path`` points here.

Each sample plays one real ALFWorld game (the dataset row's label is the game id, e.g.
``valid_seen/pick_and_place_simple-.../trial_T...``; ``make_alfworld_data.py`` writes such rows). The policy
answers each turn with ``<think>...</think><action>COMMAND</action>`` (or any form of the one action protocol,
:mod:`skillrl.actions`: a bare command, a ``step`` tool call); the command goes to the game; the next
observation and the admissible commands come back as the next user turn. Reward: 1.0 on the step that wins the
game (so the episode's total reward is ``won``), 0.0 otherwise.

The only SkillRL line is the last one: the executor wraps :class:`ALFWorldAgent`, injects the skill block into the
first user turn after ``reset`` and sends every finished episode to the shared bank. ``reset`` reports the true
task type (``"category"``) and goal (``"task"``), ``step`` reports the clean command, the observation and whether
the game was won; OpenRLHF ignores these extra keys.

Environment variables: ``ALFWORLD_DATA`` (folder with ``json_2.1.1``), ``ALFWORLD_MAX_STEPS`` (default 50),
plus the ``SKILLRL_*`` bank configuration (see ``skillrl.adapters.openrlhf.SkillRLConfig``).
"""

from __future__ import annotations

import asyncio
import os
import threading
from pathlib import Path

import torch
from openrlhf.utils.agent import AgentInstanceBase

from skillrl.actions import choose_admissible, parse_reply
from skillrl.adapters.openrlhf import skillrl_agent_executor
from skillrl.envs.alfworld import GOAL_MARKER, ALFWorldEnv, resolve_data_dir

#: Placeholder the dataset's user message carries; ``reset`` replaces it with the game's first observation.
OBSERVATION_SLOT = "{observation}"
MAX_STEPS = int(os.environ.get("ALFWORLD_MAX_STEPS", "50"))


def parse_action(text: str) -> str | None:
    """The command of a reply, read with the one ALFWorld action protocol (:func:`skillrl.actions.parse_reply`:
    ``<action>`` tags, a ``step`` tool call, an ``Action:`` line or a bare one-line command), else ``None``."""
    return parse_reply(text).command


def game_file(label: str) -> Path:
    """The ``game.tw-pddl`` of a label: a game id relative to ``$ALFWORLD_DATA/json_2.1.1`` or a path."""
    path = Path(label)
    if not path.is_absolute():
        path = resolve_data_dir() / "json_2.1.1" / label
    return path if path.suffix == ".tw-pddl" else path / "game.tw-pddl"


def turn_text(observation: str, admissible: list[str]) -> str:
    """One turn of the game as the policy reads it."""
    commands = ", ".join(f"'{c}'" for c in admissible if c not in ("help",))
    return (f"{observation.strip()}\n\nAdmissible actions: [{commands}].\n"
            "Think step by step inside <think> </think>, then give one admissible action inside <action> </action>.")


class _EnvPool:
    """ALFWorld engines reused across episodes of this process (TextWorld keeps each engine's copy of
    ``libdownward.so`` loaded, so a new engine per episode would grow memory)."""

    def __init__(self) -> None:
        self._free: list[ALFWorldEnv] = []
        self._lock = threading.Lock()

    def acquire(self) -> ALFWorldEnv:
        with self._lock:
            return self._free.pop() if self._free else ALFWorldEnv(max_steps=MAX_STEPS)

    def release(self, env: ALFWorldEnv) -> None:
        with self._lock:
            self._free.append(env)


POOL = _EnvPool()
# TextWorld's PDDL parser (tatsu) keeps shared state: two games may not load or step at the same time in one process.
# Episodes run concurrently on the rollout actor's event loop; their engine calls take turns in a worker thread.
_ENGINE_LOCK = threading.Lock()


async def _engine(fn, *args):
    def call():
        with _ENGINE_LOCK:
            return fn(*args)

    return await asyncio.to_thread(call)


class ALFWorldAgent(AgentInstanceBase):
    """One ALFWorld game per sample (OpenRLHF creates one instance per sample, with no arguments)."""

    def __init__(self) -> None:
        self.env: ALFWorldEnv | None = None

    async def reset(self, states: dict, **kwargs) -> dict:
        self.env = POOL.acquire()
        observation, info = await _engine(self.env.reset, game_file(states["label"]))
        room = observation.split(GOAL_MARKER)[0].strip()  # the prompt already states the goal
        prompt = states["observation"]
        if OBSERVATION_SLOT not in prompt:
            raise ValueError(f"the prompt has no {OBSERVATION_SLOT} slot for the game's first observation; build "
                             "the dataset with make_alfworld_data.py")
        prompt = prompt.replace(OBSERVATION_SLOT, turn_text(room, info["admissible_commands"]), 1)
        return {"observation": prompt, "category": info["task_type"], "task": info["goal"]}

    async def step(self, states: dict, **kwargs) -> dict:
        assert self.env is not None, "step() before reset()"
        # The one action protocol (skillrl.actions): an admissible command (or one within MAP_THRESHOLD of one) is
        # played; anything else goes to the game as written, an invalid action ALFWorld answers with "Nothing
        # happens." - the turn counts, as in SkillRL / verl-agent.
        choice = choose_admissible(states["action_text"], self.env.admissible_commands)
        observation, reward, done, info = await _engine(self.env.step, choice.action or "invalid action")
        text = turn_text(observation, info["admissible_commands"]) if not done else observation
        skillrl = getattr(self, "skillrl", None)  # set when wrapped by skillrl_agent_executor
        feedback = skillrl.next_user_turn(text, done=done) if skillrl is not None else f"\n{text}\n"
        return {
            "rewards": torch.tensor(reward),
            "scores": torch.tensor(reward),
            "environment_feedback": feedback,
            "done": done,
            "sampling_params": states.get("sampling_params"),
            "extra_logs": {"alfworld_won": float(info["won"]), "alfworld_steps": float(info["step"])},
            # read by skillrl (OpenRLHF ignores them):
            "action": choice.action or states["action_text"].strip()[:200],
            "reasoning": choice.reasoning,
            "valid": choice.valid,
            "observation": observation,
            "success": bool(info["won"]),
        }

    def close(self) -> None:
        """Called by the skillrl executor when the episode ends: return the engine to the pool."""
        if self.env is not None:
            POOL.release(self.env)
            self.env = None


AgentExecutor = skillrl_agent_executor(ALFWorldAgent)
