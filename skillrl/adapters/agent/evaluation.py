"""Scoring an inference agent on real games: the same games and seeds under several conditions (without skills,
with skills in one rendering or another), per task type, with bootstrap intervals over games.

Used by ``examples/inference_alfworld.py`` and ``benchmarks/bench_skill_effect.py``::

    from skillrl.adapters.agent.evaluation import play_episode, summarise, format_table

    rows = []
    for game in games:
        for condition, memory in {"without_skills": memory, "with_skills": memory}.items():
            policy.set_seed(seed)                       # the same seed for every condition of a game
            obs, info = env.reset(game)
            session = memory.start(obs, use_skills=condition != "without_skills")
            rows.append({"condition": condition, "task_type": game.task_type, "game_id": game.game_id,
                         **play_episode(env, info, session, policy)})
    table = summarise(rows, ["without_skills", "with_skills"])
    print(format_table(table, ["without_skills", "with_skills"]))

The unit of resampling is the game (an episode's steps are not independent), so an interval over 4 games of a task
type is wide: that is what 4 games can tell. Differences between conditions are paired (the same games resampled
for both), which is what makes a with-vs-without comparison on few games informative at all.
"""

from __future__ import annotations

import random
import time
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from skillrl.errors import ConfigError

__all__ = ["METRICS", "bootstrap_interval", "format_table", "play_episode", "summarise"]

#: The per-episode figures :func:`summarise` aggregates by default: row key -> what it is.
METRICS: dict[str, str] = {
    "success": "won (0/1)",
    "exact_rate": "share of the episode's replies that were an exact admissible command",
    "steps": "actions taken",
}


def play_episode(env: Any, info: dict[str, Any], session: Any, policy: Any) -> dict[str, Any]:
    """Play one episode to its end and return what it measured.

    Args:
        env: an environment with ``step(action) -> (obs, reward, done, info)``, ``done`` and ``won``
            (:class:`skillrl.envs.alfworld.ALFWorldEnv`), already reset.
        info: the info dict of ``env.reset`` (its ``admissible_commands``).
        session: a :class:`skillrl.adapters.agent.SkillSession` started on the reset observation.
        policy: a :class:`skillrl.adapters.agent.ChatPolicy`.

    Returns:
        ``won`` (bool), ``steps`` (actions taken), ``choices`` (how the replies were read, ``{"exact": n,
        "mapped": n, "invalid": n}``), ``exact_rate`` (exact admissible replies / replies; 0.0 for no reply),
        ``success`` (1.0 / 0.0), ``prompt_tokens``, ``completion_tokens`` and ``cached_prompt_tokens`` (this
        episode's, when the policy counts them in ``usage``; 0 otherwise), ``tokens_per_prompt`` (mean prompt tokens
        per action; ``None`` without counts), ``seconds`` (wall time).

    Raises:
        PolicyError: the policy could not answer (from :meth:`ChatPolicy.act`).
    """
    usage = getattr(policy, "usage", Counter())
    before_usage, before_choices = Counter(usage), Counter(policy.choices)
    t = time.perf_counter()
    while not env.done:
        admissible = info["admissible_commands"]
        action = policy.act(session.messages(admissible), admissible)
        _obs, _reward, _done, info = env.step(action)
        session.step(action, _obs)
    choices = Counter(policy.choices) - before_choices
    used = Counter(usage) - before_usage
    replies = sum(choices.values())
    return {
        "won": bool(env.won), "success": float(bool(env.won)), "steps": replies, "choices": dict(choices),
        "exact_rate": choices["exact"] / replies if replies else 0.0,
        "prompt_tokens": used["prompt_tokens"], "completion_tokens": used["completion_tokens"],
        "cached_prompt_tokens": used["cached_prompt_tokens"],
        "tokens_per_prompt": used["prompt_tokens"] / used["calls"] if used["calls"] else None,
        "seconds": round(time.perf_counter() - t, 2),
    }


def bootstrap_interval(values: Sequence[float], *, resamples: int = 2000, level: float = 0.95,
                       seed: int = 0, statistic: Callable[[Sequence[float]], float] | None = None
                       ) -> tuple[float, float] | None:
    """Percentile bootstrap interval of ``statistic`` (default: the mean) of ``values``.

    Args:
        values: one number per unit (here: per game).
        resamples: bootstrap resamples (default 2,000). level: coverage (default 0.95). seed: the resampling seed.

    Returns:
        ``(low, high)``; ``None`` for no values. One value gives ``(v, v)``.

    Source: Efron & Tibshirani (1993), *An Introduction to the Bootstrap*, ch. 13 (percentile interval).
    """
    vals = [float(v) for v in values]
    if not vals:
        return None
    stat = statistic or (lambda xs: sum(xs) / len(xs))
    rng = random.Random(seed)
    n = len(vals)
    draws = sorted(stat([vals[rng.randrange(n)] for _ in range(n)]) for _ in range(resamples))
    lo = draws[int((1 - level) / 2 * (resamples - 1))]
    hi = draws[int((1 + level) / 2 * (resamples - 1))]
    return (round(lo, 4), round(hi, 4))


def _mean(xs: Iterable[float]) -> float | None:
    xs = list(xs)
    return round(sum(xs) / len(xs), 4) if xs else None


def summarise(rows: Sequence[dict[str, Any]], conditions: Sequence[str], *, by: str = "task_type",
              metrics: Sequence[str] = tuple(METRICS), resamples: int = 2000, seed: int = 0) -> dict[str, Any]:
    """Per group (``by``, default the task type) and overall: each metric's mean and bootstrap interval per
    condition, and each condition's paired difference to the first one (the baseline).

    Args:
        rows: one dict per episode with ``condition``, ``game_id``, ``by`` and the metrics (as
            :func:`play_episode` returns them). Every game must be played under every condition.
        conditions: the conditions to report, the baseline first (e.g. ``["without_skills", "with_skills"]``).

    Returns:
        ``{group or "overall": {"games": n, "<condition>": {metric: {"mean", "ci"}}, "delta": {"<condition>":
        {metric: {"mean", "ci"}}}}}``: ``ci`` is the 95% percentile bootstrap interval over games (paired for
        ``delta``: the same resampled games under both conditions).

    Raises:
        ConfigError: a game is missing under one of the conditions (a ``ValueError``).
    """
    by_game: dict[str, dict[str, dict[str, Any]]] = {}
    group_of: dict[str, str] = {}
    for r in rows:
        if r["condition"] in conditions:
            by_game.setdefault(r["game_id"], {})[r["condition"]] = r
            group_of[r["game_id"]] = r[by]
    missing = [g for g, c in by_game.items() if set(c) != set(conditions)]
    if missing:
        raise ConfigError(f"games not played under every condition {list(conditions)}: {missing[:5]}")
    groups = sorted(set(group_of.values()))
    out: dict[str, Any] = {}
    for group in [*groups, "overall"]:
        games = [g for g in by_game if group == "overall" or group_of[g] == group]
        entry: dict[str, Any] = {"games": len(games)}
        base = conditions[0]
        for cond in conditions:
            entry[cond] = {m: {"mean": _mean(by_game[g][cond][m] for g in games),
                               "ci": bootstrap_interval([by_game[g][cond][m] for g in games], resamples=resamples,
                                                        seed=seed)} for m in metrics}
        entry["delta"] = {
            cond: {m: {"mean": _mean(by_game[g][cond][m] - by_game[g][base][m] for g in games),
                       "ci": bootstrap_interval([by_game[g][cond][m] - by_game[g][base][m] for g in games],
                                                resamples=resamples, seed=seed)} for m in metrics}
            for cond in conditions[1:]}
        out[group] = entry
    return out


def _cell(stat: dict[str, Any], fmt: str) -> str:
    ci = stat["ci"]
    return f"{stat['mean']:{fmt}} [{ci[0]:{fmt}}, {ci[1]:{fmt}}]" if ci is not None else "-"


def format_table(summary: dict[str, Any], conditions: Sequence[str], *, labels: dict[str, str] | None = None,
                 metrics: Sequence[str] = tuple(METRICS)) -> str:
    """A plain-text table of :func:`summarise`'s result: one line per group and condition, each metric as
    ``mean [low, high]``, and a line per paired difference to the baseline (``<condition> - base``).

    Args:
        summary: what :func:`summarise` returned. conditions: the same conditions, baseline first.
        labels: display names of the groups (default: the group keys). metrics: the columns (default
            :data:`METRICS`).

    Returns:
        the table as one string (newline-separated, no trailing newline).
    """
    labels = labels or {}
    fmts = {"success": ".2f", "exact_rate": ".2f", "steps": ".1f"}
    head = f"{'task type':30s} {'games':>5s} {'condition':22s} " + " ".join(f"{m:>20s}" for m in metrics)
    lines = [head, "-" * len(head)]
    for group, entry in summary.items():
        name = labels.get(group, group)
        for i, cond in enumerate(conditions):
            lines.append(f"{name if i == 0 else '':30s} {entry['games'] if i == 0 else '':>5} {cond:22s} "
                         + " ".join(f"{_cell(entry[cond][m], fmts.get(m, '.2f')):>20s}" for m in metrics))
        for cond in conditions[1:]:
            d = entry["delta"][cond]
            lines.append(f"{'':30s} {'':>5} {('  ' + cond + ' - base')[:22]:22s} "
                         + " ".join(f"{_cell(d[m], '+.2f' if m != 'steps' else '+.1f'):>20s}" for m in metrics))
    return "\n".join(lines)
