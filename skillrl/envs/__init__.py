"""Text environments for rollouts, examples and benchmarks.

* :mod:`skillrl.envs.alfworld`: real ALFWorld games (:func:`list_games`, :class:`ALFWorldEnv`); playing
  needs the ``alfworld`` extra, listing games does not.

Importing this package is light: ALFWorld and TextWorld are imported on the first ``reset``.
"""

from skillrl.envs.alfworld import (
    ALFWORLD_TASK_TYPES,
    ALFWorldEnv,
    ALFWorldError,
    GameInfo,
    extract_goal,
    list_games,
    resolve_data_dir,
    strip_arrive_loc,
)

__all__ = [
    "ALFWORLD_TASK_TYPES",
    "ALFWorldEnv",
    "ALFWorldError",
    "GameInfo",
    "extract_goal",
    "list_games",
    "resolve_data_dir",
    "strip_arrive_loc",
]
