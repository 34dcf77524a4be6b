"""Real ALFWorld text games, one at a time: find them on disk and play them.

ALFWorld (Shridhar et al., ICLR 2021, https://github.com/alfworld/alfworld) is the text version of
ALFRED household tasks; SkillRL (arXiv 2602.08234, Sec. 4) trains and evaluates on it. This module is a
thin, documented layer over ALFWorld's own text environment, for rollouts in trainers and examples:

* :func:`list_games` finds playable games the way ``alfworld.agents.environment.AlfredTWEnv`` does
  (a trial folder with ``traj_data.json`` and a ``game.tw-pddl`` marked ``solvable``; ``movable`` and
  ``Sliced`` trials skipped) and reads each game's task type and goal without starting it. It needs no
  ALFWorld install (plain JSON reading).
* :class:`ALFWorldEnv` plays one game at a time with a gym-like ``reset`` / ``step``.

Engine: ``textworld.start(game.tw-pddl, wrappers=[AlfredDemangler(), AlfredInfos])``, the same
TextWorld PDDL backend and ALFWorld wrappers ``AlfredTWEnv.init_env`` registers, minus the gym batch
layer (which runs games in subprocesses and picks the next game itself). One engine per
:class:`ALFWorldEnv`, reloaded for each new game (TextWorld never unloads the private copy of
``libdownward.so`` each engine makes, so a new engine per game leaks memory).

Speed: most of a load or reset is Fast Downward's PDDL-to-SAS translation, which TextWorld redoes
twice per load and twice per reset. With ``cache_translations=True`` (default) it is memoised per
game in the process (:func:`_install_translation_cache`), so resetting a game again, or in a second
instance (the G rollouts of one GRPO group), costs a fraction. Measured on the shared 2-core machine
under load (5 busy processes), first load+reset of a game 0.5-3.3 s, same game again 0.05-0.35 s
(0.4-3.3 s uncached), step 0.03-0.1 s; ``AlfredTWEnv(...).init_env(1).reset()`` took 0.7-4.9 s.
Resident memory grows by about 2-3 MB per game loaded (TextWorld / Fast Downward; 483 MB after all 180
training games in one process), so long runs should cycle through a bounded set of games per worker.

Checked: the ``gt_traj.json`` expert actions of all 180 training games replay to a win (reward 1.0 on
the last step only), and every observation equals the expert file's (2,918 steps).

Observation format: ALFWorld's own text, except that the navigation prefix ``"You arrive at loc N. "``
is removed by default (``strip_arrive_loc=True``), as in the ETO / SkillRL expert trajectories
(``gt_traj.json``), whose observations match the engine's after that removal. The loc number is an
internal id that carries no information for the agent.

The data: ``$ALFWORLD_DATA/json_2.1.1/<split>/<task>-.../<trial>/`` (``ALFWORLD_DATA`` is ALFWorld's own
environment variable). No ``alfworld-download`` is needed when the folder is already there.

Importing :mod:`alfworld` creates the folder ``$ALFWORLD_DATA`` (default ``~/.cache/alfworld``) if it
does not exist: that is ALFWorld's behaviour, on first use of :class:`ALFWorldEnv`.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from skillrl.errors import InputTypeError, MissingDependencyError, SkillRLError, short_repr
from skillrl.profiles.alfworld import ALFWORLD_TASK_TYPES  # the one definition
from skillrl.profiles.base import TASK_MARKER
from skillrl.profiles.base import extract_goal as _extract_goal

if TYPE_CHECKING:
    from typing_extensions import Self

__all__ = [
    "ALFWORLD_TASK_TYPES",
    "SPLITS",
    "TOOL_SYSTEM_PROMPT",
    "TOOL_USER_TURN",
    "ALFWorldEnv",
    "ALFWorldError",
    "ALFWorldTool",
    "EpisodeReward",
    "GameInfo",
    "alfworld_reward",
    "alfworld_rows",
    "extract_goal",
    "first_observation_text",
    "list_games",
    "resolve_data_dir",
    "split_heldout",
    "strip_arrive_loc",
]


#: Folders under ``json_2.1.1``: ``train`` (training games), ``valid_seen`` (the standard 140-game
#: in-distribution evaluation), ``valid_unseen`` (134 out-of-distribution games).
SPLITS: tuple[str, ...] = ("train", "valid_seen", "valid_unseen")

GOAL_MARKER = TASK_MARKER
_ARRIVE_RE = re.compile(r"^You arrive at loc \d+\.\s*")
# The goal line sits in the game's grammar as  "task": [{"rhs": "Your task is to: <goal>"}]
_GRAMMAR_TASK_RE = re.compile(r'"task"\s*:\s*\[\s*\{\s*"rhs"\s*:\s*"([^"]*)"')


class ALFWorldError(SkillRLError, RuntimeError):
    """ALFWorld data is missing or malformed, or the environment was used out of order
    (``step`` before ``reset`` or after the episode ended)."""


@dataclass(frozen=True)
class GameInfo:
    """One playable ALFWorld game.

    Attributes:
        path: the ``game.tw-pddl`` file (absolute).
        task_type: one of :data:`ALFWORLD_TASK_TYPES`, from the trial's ``traj_data.json``.
        goal: the goal sentence after ``"Your task is to:"`` (e.g. ``"put a clean apple in fridge."``,
            trailing period kept as the game prints it), read from the game's grammar; ``None`` when the
            grammar has no goal sentence.
        split: ``"train"``, ``"valid_seen"`` or ``"valid_unseen"``.
        game_id: ``"<split>/<task folder>/<trial>"``, the key used by the expert demonstrations
            (``expert_demos_train.jsonl["game"]``).
    """

    path: Path
    task_type: str
    goal: str | None
    split: str
    game_id: str

    @property
    def trial_dir(self) -> Path:
        """The trial folder (holds ``traj_data.json`` and, for training games, ``gt_traj.json``)."""
        return self.path.parent


def resolve_data_dir(data_dir: str | os.PathLike[str] | None = None) -> Path:
    """The ALFWorld data folder: ``data_dir`` if given, else ``$ALFWORLD_DATA``.

    Returns:
        the folder that contains ``json_2.1.1``.

    Raises:
        ALFWorldError: neither is set, or the folder has no ``json_2.1.1`` subfolder.
    """
    raw = data_dir if data_dir is not None else os.environ.get("ALFWORLD_DATA")
    if not raw:
        raise ALFWorldError(
            "no ALFWorld data folder: pass data_dir=... or set ALFWORLD_DATA to the folder that contains "
            "json_2.1.1 (e.g. ALFWORLD_DATA=../shared/data/alfworld)"
        )
    path = Path(raw).expanduser().resolve()
    if not (path / "json_2.1.1").is_dir():
        raise ALFWorldError(
            f"ALFWorld data folder {path} has no json_2.1.1 subfolder (expected <data_dir>/json_2.1.1/<split>/)"
        )
    return path


def extract_goal(observation: str) -> str | None:
    """The goal after the last ``"Your task is to:"`` in an observation, trailing period kept (``"put a mug in
    desk."``); ``None`` when absent: :func:`skillrl.profiles.base.extract_goal` with that one marker."""
    return _extract_goal(observation, (GOAL_MARKER,), keep_period=True, required=True)


def strip_arrive_loc(observation: str) -> str:
    """Remove a leading ``"You arrive at loc N. "`` (ETO / SkillRL observation format)."""
    return _ARRIVE_RE.sub("", observation, count=1)


def list_games(
    split: str = "train",
    data_dir: str | os.PathLike[str] | None = None,
    task_types: Iterable[str] | None = None,
) -> list[GameInfo]:
    """The playable games of one split, sorted by ``game_id``.

    Selection follows ``AlfredTWEnv.collect_game_files`` (alfworld 0.4.2): a trial folder with
    ``traj_data.json``, not ``movable``/``Sliced``, whose ``game.tw-pddl`` exists and says
    ``"solvable": true``. With the shared data this gives 180 train games (30 per task type) and 140
    valid_seen games, the same numbers ``AlfredTWEnv`` reports.

    Args:
        split: ``"train"``, ``"valid_seen"`` or ``"valid_unseen"``.
        data_dir: folder containing ``json_2.1.1``; default ``$ALFWORLD_DATA``.
        task_types: keep only these task types (default: all six).

    Raises:
        ALFWorldError: unknown split or task type, data folder or split folder missing, or a game whose
            ``traj_data.json`` / ``game.tw-pddl`` is not valid JSON.
    """
    if split not in SPLITS:
        raise ALFWorldError(f"unknown ALFWorld split {split!r}: expected one of {', '.join(SPLITS)}")
    wanted = set(ALFWORLD_TASK_TYPES if task_types is None else task_types)
    unknown = wanted - set(ALFWORLD_TASK_TYPES)
    if unknown:
        raise ALFWorldError(
            f"unknown task type(s) {sorted(unknown)}: expected some of {list(ALFWORLD_TASK_TYPES)}"
        )
    root = resolve_data_dir(data_dir) / "json_2.1.1"
    split_dir = root / split
    if not split_dir.is_dir():
        raise ALFWorldError(f"ALFWorld split folder {split_dir} does not exist")

    games: list[GameInfo] = []
    for dirpath, _dirs, files in os.walk(split_dir):
        if "traj_data.json" not in files or "movable" in dirpath or "Sliced" in dirpath:
            continue
        trial = Path(dirpath)
        game_file = trial / "game.tw-pddl"
        if not game_file.is_file():
            continue
        traj = _read_json(trial / "traj_data.json")
        task_type = traj.get("task_type") if isinstance(traj, dict) else None
        if task_type not in wanted:
            continue
        game = _read_json(game_file)
        if not isinstance(game, dict) or not game.get("solvable", False):
            continue
        match = _GRAMMAR_TASK_RE.search(str(game.get("grammar", "")))
        games.append(
            GameInfo(
                path=game_file,
                task_type=task_type,
                goal=extract_goal(match.group(1)) if match else None,
                split=split,
                game_id=trial.relative_to(root).as_posix(),
            )
        )
    games.sort(key=lambda g: g.game_id)
    return games


def _read_json(path: Path) -> Any:
    try:
        with open(path, encoding="utf-8") as fh:
            return json.load(fh)
    except (OSError, json.JSONDecodeError) as exc:
        raise ALFWorldError(f"{path}: cannot read as JSON ({exc})") from exc


def _import_textworld():
    try:
        import textworld
        from alfworld.agents.environment.alfred_tw_env import AlfredDemangler, AlfredInfos
    except ImportError as exc:
        raise MissingDependencyError(
            "alfworld", "alfworld", "Playing ALFWorld games (skillrl.envs.ALFWorldEnv)"
        ) from exc
    return textworld, AlfredDemangler, AlfredInfos


class ALFWorldEnv:
    """Plays one real ALFWorld game at a time (text only, CPU).

    ``reset(game)`` starts a game and returns ``(observation, info)``; ``step(action)`` returns
    ``(observation, reward, done, info)`` with ``reward = 1.0`` on the step that wins the game, else
    ``0.0``. ``done`` is true when the game is won or after ``max_steps`` actions (then
    ``info["truncated"]`` is true). Actions are ALFWorld commands (``"go to desk 1"``, ``"take apple 1
    from countertop 1"``); a command the game does not understand costs a step and returns
    ``"Nothing happens."``, as in ALFWorld.

    ``info`` keys: ``admissible_commands`` (list[str], the commands valid now), ``won`` (bool),
    ``goal`` (str | None), ``task_type`` (str | None: known when ``reset`` got a :class:`GameInfo` or a
    path inside a trial folder), ``gamefile`` (str), ``step`` (int, actions taken), ``truncated`` (bool).

    Args:
        max_steps: actions per episode before ``done`` (default 50, ALFWorld's training budget;
            SkillRL / verl-agent use 50 as well).
        strip_arrive_loc: remove ``"You arrive at loc N. "`` from observations (default ``True``,
            the ETO / SkillRL format; see the module docstring).
        cache_translations: memoise Fast Downward's PDDL-to-SAS translation per game in this process
            (default ``True``; see "Speed" in the module docstring). ``False`` leaves TextWorld untouched.

    Raises:
        MissingDependencyError: ``alfworld`` is not installed (on first ``reset``).

    Not thread-safe; use one instance per concurrent episode. ``close()`` releases the game.
    """

    def __init__(self, max_steps: int = 50, strip_arrive_loc: bool = True, cache_translations: bool = True):
        if not isinstance(max_steps, int) or max_steps < 1:
            raise ALFWorldError(f"max_steps must be a positive int, got {short_repr(max_steps)}")
        self.max_steps = max_steps
        self.strip_arrive_loc = strip_arrive_loc
        self.cache_translations = cache_translations
        self._env = None
        self._loaded: str | None = None
        self._state: Any = None
        self._game: GameInfo | None = None
        self._goal: str | None = None
        self._task_type: str | None = None
        self._steps = 0
        self._done = True
        self._won = False

    # -- public state -------------------------------------------------------------------------------------------
    @property
    def admissible_commands(self) -> list[str]:
        """Commands valid in the current state (empty before the first ``reset``)."""
        return list(self._state["admissible_commands"]) if self._state is not None else []

    @property
    def won(self) -> bool:
        """Whether the current episode has been won."""
        return self._won

    @property
    def done(self) -> bool:
        """Whether the current episode is over (won or out of steps); true before the first ``reset``."""
        return self._done

    @property
    def goal(self) -> str | None:
        """The goal of the current game (text after ``"Your task is to:"``)."""
        return self._goal

    @property
    def task_type(self) -> str | None:
        """The task type of the current game, one of :data:`ALFWORLD_TASK_TYPES` (``None`` if unknown)."""
        return self._task_type

    @property
    def game(self) -> GameInfo | None:
        """The :class:`GameInfo` passed to ``reset`` (``None`` when a bare path was passed)."""
        return self._game

    @property
    def num_steps(self) -> int:
        """Actions taken in the current episode."""
        return self._steps

    @property
    def reward(self) -> float:
        """Episode reward so far: 1.0 if won, else 0.0."""
        return 1.0 if self._won else 0.0

    # -- episode ------------------------------------------------------------------------------------------------
    def reset(self, game: GameInfo | str | os.PathLike[str]) -> tuple[str, dict[str, Any]]:
        """Start ``game`` (a :class:`GameInfo`, a ``game.tw-pddl`` path, or its trial folder).

        Returns:
            ``(observation, info)``; the observation is the room description ending with
            ``"Your task is to: <goal>"``.

        Raises:
            ALFWorldError: the game file does not exist.
            MissingDependencyError: ``alfworld`` is not installed.
        """
        if isinstance(game, GameInfo):
            info_game, path = game, Path(game.path)
        else:
            info_game, path = None, Path(game)
            if path.is_dir():
                path = path / "game.tw-pddl"
        if not path.is_file():
            raise ALFWorldError(f"ALFWorld game file {path} does not exist")
        key = str(path.resolve())
        if self._env is None:
            textworld, demangler, infos = _import_textworld()
            if self.cache_translations:
                _install_translation_cache()
            request = textworld.EnvInfos(won=True, admissible_commands=True, extras=["gamefile"])
            self._env = textworld.start(key, request_infos=request, wrappers=[demangler(), infos])
            self._loaded = key
        elif self._loaded != key:
            # Reuse the engine: textworld.start would load another private copy of libdownward.so,
            # which TextWorld never unloads (memory grows with every game).
            self._loaded = None
            self._env.load(key)
            self._loaded = key
        self._state = self._env.reset()
        self._game = info_game
        self._steps = 0
        self._done = False
        self._won = bool(self._state["won"])
        observation = str(self._state["feedback"])
        self._goal = extract_goal(observation)
        self._task_type = info_game.task_type if info_game else _task_type_of(path.parent)
        return observation, self._info()

    def step(self, action: str) -> tuple[str, float, bool, dict[str, Any]]:
        """Take one action.

        Args:
            action: an ALFWorld command; surrounding whitespace is stripped.

        Returns:
            ``(observation, reward, done, info)``; reward is 1.0 on the winning step, else 0.0.

        Raises:
            ALFWorldError: no game started, or the episode is over (call ``reset``).
            TypeError: ``action`` is not a string.
        """
        if self._state is None:
            raise ALFWorldError("step() before reset(): start a game first")
        if self._done:
            raise ALFWorldError("the episode is over (won or out of steps): call reset() to play again")
        if not isinstance(action, str):
            raise InputTypeError(f"action must be a str, got {type(action).__name__}")
        was_won = self._won
        self._state, _score, _game_over = self._env.step(action.strip())
        self._steps += 1
        self._won = bool(self._state["won"])
        self._done = self._won or self._steps >= self.max_steps
        observation = str(self._state["feedback"])
        if self.strip_arrive_loc:
            observation = strip_arrive_loc(observation)
        reward = 1.0 if self._won and not was_won else 0.0
        return observation, reward, self._done, self._info()

    def close(self) -> None:
        """Drop the engine (a later ``reset`` starts a new one). TextWorld keeps its private copy of
        ``libdownward.so`` loaded, so prefer one long-lived instance per worker over many short ones."""
        if self._env is not None:
            try:
                self._env.close()
            finally:
                self._env = None
                self._loaded = None

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _info(self) -> dict[str, Any]:
        return {
            "admissible_commands": self.admissible_commands,
            "won": self._won,
            "goal": self._goal,
            "task_type": self._task_type,
            "gamefile": self._loaded,
            "step": self._steps,
            "truncated": self._done and not self._won,
        }


#: Entries kept by the translation cache: one per (game, optimize flag), i.e. 64 games.
TRANSLATION_CACHE_SIZE = 128


def _install_translation_cache() -> None:
    """Memoise ``fast_downward.pddl2sas`` (a pure function of the PDDL domain and problem texts).

    TextWorld's ``PddlState`` translates the game twice (plain and optimised) at every load and every
    reset; the translated ``task`` is only read afterwards, so sharing it between states is safe.
    Idempotent; patches the ``fast_downward`` module attribute TextWorld calls.
    """
    import functools

    import fast_downward

    if getattr(fast_downward.pddl2sas, "_skillrl_cached", False):
        return
    cached = functools.lru_cache(maxsize=TRANSLATION_CACHE_SIZE)(fast_downward.pddl2sas)
    cached._skillrl_cached = True  # type: ignore[attr-defined]
    fast_downward.pddl2sas = cached


def _task_type_of(trial_dir: Path) -> str | None:
    traj = trial_dir / "traj_data.json"
    if not traj.is_file():
        return None
    data = _read_json(traj)
    return data.get("task_type") if isinstance(data, dict) else None


# ---------------------------------------------------------------------------------------------------------------
# Episodes for RL: the reward, the TRL environment, the dataset rows, the held-out training games
# ---------------------------------------------------------------------------------------------------------------

#: The system message of the tool form (TRL ``environment_factory`` rows, the cold-start SFT data built for them and
#: the inference agent's tool protocol): one prompt for all three.
TOOL_SYSTEM_PROMPT = ("You are an expert agent in a household (ALFWorld). Solve the task by calling the step tool "
                      "with one admissible command at a time, until the task is done.")
#: The user turn of a tool-form row before the environment appends the game's first observation to it.
TOOL_USER_TURN = "Here is the game."


@dataclass(frozen=True)
class EpisodeReward:
    """The episode reward of the official code base (verl-agent, which SkillRL forks), configurable.

    ``reward = win_reward * won - invalid_penalty * invalid_actions``. verl-agent scores an ALFWorld episode
    ``10.0 * float(info["won"])`` (``agent_system/environments/env_package/alfworld/envs.py::compute_reward``) and,
    with ``actor_rollout_ref.actor.use_invalid_action_penalty=True`` (SkillRL's ALFWorld script), subtracts
    ``invalid_action_penalty_coef * (number of invalid actions)`` with coefficient 0.1 (``ray_trainer.py::
    apply_invalid_action_penalty``). verl-agent calls an action invalid when its projection finds no ``<action>``
    tag (or no ``<think>`` tag); here an action is invalid when :func:`skillrl.actions.choose_admissible` does not
    yield an admissible command: the turn names no command in the protocol's forms, or one the game does not accept
    and that is not within the mapping threshold of one it does (verl-agent sends such a command to the game
    unpenalised; the game answers "Nothing happens."). The stricter rule gives GRPO groups of a weak policy reward
    variance from the quality of their moves, not only from wins.

    Attributes:
        win_reward: reward of a won episode (default 10.0, verl-agent's).
        invalid_penalty: subtracted per invalid action (default 0.1, verl-agent's coefficient).
    """

    win_reward: float = 10.0
    invalid_penalty: float = 0.1

    def __post_init__(self) -> None:
        if not self.win_reward > 0 or self.invalid_penalty < 0:
            raise ALFWorldError(f"EpisodeReward needs win_reward > 0 and invalid_penalty >= 0, got {self}")

    def __call__(self, won: bool, invalid_actions: int) -> float:
        """The episode's reward."""
        return self.win_reward * float(bool(won)) - self.invalid_penalty * int(invalid_actions)

    @property
    def success_threshold(self) -> float:
        """The reward at or above which an episode was won whatever its invalid actions could cost within 50 steps
        (``win_reward / 2``; pass it as ``SkillConfig.success_threshold``)."""
        return self.win_reward / 2


def first_observation_text(observation: str, admissible: Iterable[str] = (), show_admissible: bool = False) -> str:
    """What the tool-form environment's ``reset`` returns (TRL appends it to the row's user turn):
    ``"\\n\\n" + observation``, and the admissible commands in verl-agent's wording when ``show_admissible``."""
    text = "\n\n" + observation.strip()
    if show_admissible:
        from skillrl.adapters.agent.session import admissible_text

        text += "\n\n" + admissible_text([a for a in admissible if a != "help"])
    return text


class ALFWorldTool:
    """One real ALFWorld game per rollout, for TRL's ``environment_factory`` (``GRPOTrainer(...,
    environment_factory=ALFWorldTool.configured(...))``): ``reset(game=...)`` starts the dataset row's game and
    returns its first observation (:func:`first_observation_text`), the policy acts through the one tool ``step``
    (TRL exposes every public method but ``reset`` and ``get_reward`` as a tool), and :func:`alfworld_reward`
    scores the finished rollout (:class:`EpisodeReward`: the win and the invalid actions).

    Each ``step(action)`` goes through :func:`skillrl.actions.choose_admissible` (the one action protocol): an
    admissible command (or one within the mapping threshold of one) is played; anything else goes to the game as
    written and counts as an invalid action. The rollout is kept for inspection: ``turns`` (one
    :class:`skillrl.episode.Step` per call, ``action`` = what the game got, extra fields ``raw`` = the policy's
    argument, ``how`` and ``valid``), ``invalid`` (invalid calls), ``won``, ``done``.

    Class attributes (set them with :meth:`configured`, which returns a subclass, since TRL calls the factory with
    no arguments): ``max_steps`` (default 50, ALFWorld's and verl-agent's budget), ``reward``
    (:class:`EpisodeReward`), ``map_threshold`` (default :data:`skillrl.actions.MAP_THRESHOLD`),
    ``show_admissible`` (default ``False``: the observation only, as in the expert demonstrations).
    """

    max_steps: int = 50
    reward: EpisodeReward = EpisodeReward()
    map_threshold: float | None = None
    show_admissible: bool = False

    def __init__(self) -> None:
        self.env = ALFWorldEnv(max_steps=self.max_steps)
        self.turns: list[Any] = []
        self.invalid = 0
        self.game: str | None = None

    @classmethod
    def configured(cls, *, max_steps: int | None = None, reward: EpisodeReward | None = None,
                   map_threshold: float | None = None, show_admissible: bool | None = None) -> type[ALFWorldTool]:
        """A subclass with these settings (``None`` keeps the current one).

        Raises:
            ALFWorldError: ``max_steps`` < 1 or ``map_threshold`` outside [0, 1].
        """
        if max_steps is not None and (not isinstance(max_steps, int) or max_steps < 1):
            raise ALFWorldError(f"max_steps must be a positive int, got {short_repr(max_steps)}")
        if map_threshold is not None and not 0.0 <= map_threshold <= 1.0:
            raise ALFWorldError(f"map_threshold must be in [0, 1], got {map_threshold}")
        attrs = {k: v for k, v in {"max_steps": max_steps, "reward": reward, "map_threshold": map_threshold,
                                   "show_admissible": show_admissible}.items() if v is not None}
        return type(cls.__name__, (cls,), attrs)  # same name: TRL logs the class name

    @property
    def won(self) -> bool:
        return self.env.won

    @property
    def done(self) -> bool:
        return self.env.done

    def reset(self, game: str, **row: Any) -> str:
        """Start the row's game (a ``game.tw-pddl`` path or its trial folder); returns the first observation."""
        observation, info = self.env.reset(game)
        self.turns, self.invalid, self.game = [], 0, str(game)
        return first_observation_text(observation, info["admissible_commands"], self.show_admissible)

    def step(self, action: str) -> str:
        """Take one action in the ALFWorld game.

        Args:
            action: One admissible command, e.g. "go to desk 1".

        Returns:
            The observation after the action.
        """
        from skillrl.actions import MAP_THRESHOLD, choose_admissible, tool_call_message
        from skillrl.episode import Step

        if self.env.done:
            raise ALFWorldError("the episode is over")
        admissible = self.env.admissible_commands
        threshold = MAP_THRESHOLD if self.map_threshold is None else self.map_threshold
        choice = choose_admissible(tool_call_message(str(action)), admissible, threshold=threshold)
        observation, _reward, _done, info = self.env.step(choice.action)
        self.invalid += not choice.valid
        self.turns.append(Step(action=choice.action, observation=observation, raw=str(action), how=choice.how,
                               valid=choice.valid))
        if self.show_admissible and not self.env.done:
            from skillrl.adapters.agent.session import admissible_text

            observation += "\n\n" + admissible_text([a for a in info["admissible_commands"] if a != "help"])
        return observation

    def _score(self, completion: Any) -> float:
        """The rollout's reward: :attr:`reward` of the win and the invalid actions. Invalid: the calls whose command
        was not admissible (counted by ``step``) and the assistant turns, before the game ended, that called no
        ``step`` with a command (a text reply - even one naming a command, since only a tool call reaches the game
        in the tool form -, a malformed or truncated call, a wrong argument). A text completion made no call."""
        from skillrl.actions import parse_reply

        if not isinstance(completion, list):
            return self.reward(self.won, self.invalid + 1)
        invalid, executed = self.invalid, 0
        for message in completion:
            if message.get("role") != "assistant":
                continue
            if self.env.done and executed >= len(self.turns):
                break  # the game was over: later turns cost nothing
            if parse_reply(message).form == "tool_call":
                executed += 1
            else:
                invalid += 1
        return self.reward(self.won, invalid)


def alfworld_reward(completions: list[Any], environments: list[Any] | None = None, **kwargs: Any) -> list[float]:
    """TRL reward function of :class:`ALFWorldTool` rollouts (``GRPOTrainer(reward_funcs=[alfworld_reward],
    environment_factory=ALFWorldTool...)``): each rollout's :class:`EpisodeReward`, from its environment instance
    (TRL passes ``environments``) and its completion messages. Logged as ``rewards/alfworld_reward/...``.

    Raises:
        ALFWorldError: called without environments (the trainer has no ``environment_factory``).
    """
    if not environments or len(environments) != len(completions):
        raise ALFWorldError("alfworld_reward needs the rollouts' ALFWorldTool environments (use it with "
                            "environment_factory=ALFWorldTool)")
    return [env._score(c) for env, c in zip(environments, completions)]


def alfworld_rows(games: Iterable[GameInfo], *, system_prompt: str = TOOL_SYSTEM_PROMPT,
                  user_turn: str = TOOL_USER_TURN, split: str | None = None) -> list[dict[str, Any]]:
    """Dataset rows of the tool form, one per game: ``{"prompt": [system, user], "game": path, "goal", "task_type",
    "game_id", "split"}``. No ``task`` column on purpose: ``SkillCallback`` then retrieves the skills for the goal
    the game states and places them in the first observation (the environment path)."""
    return [{"prompt": [{"role": "system", "content": system_prompt}, {"role": "user", "content": user_turn}],
             "game": str(g.path), "goal": g.goal or "", "task_type": g.task_type, "game_id": g.game_id,
             "split": split or g.split} for g in games]


def split_heldout(games: Iterable[GameInfo], per_type: int) -> tuple[list[GameInfo], list[GameInfo]]:
    """Split training games into (games for GRPO updates, held-out games): the last ``per_type`` games of each task
    type (in ``game_id`` order) are held out, the rest kept, deterministically. The held-out games are for evolution
    only: never updated on, never scored.

    Raises:
        ALFWorldError: ``per_type`` < 0, or a task type would keep no game.
    """
    if per_type < 0:
        raise ALFWorldError(f"per_type must be >= 0, got {per_type}")
    by_type: dict[str, list[GameInfo]] = {}
    for g in sorted(games, key=lambda g: g.game_id):
        by_type.setdefault(g.task_type, []).append(g)
    keep, held = [], []
    for t, gs in by_type.items():
        if per_type and len(gs) <= per_type:
            raise ALFWorldError(f"task type {t} has {len(gs)} games: cannot hold out {per_type} and keep one")
        cut = len(gs) - per_type
        keep += gs[:cut]
        held += gs[cut:]
    return keep, held
