"""skillrl.adapters.agent.evaluation: per-type tables with bootstrap intervals over games, paired differences."""

from __future__ import annotations

import pytest

from skillrl.adapters.agent.evaluation import bootstrap_interval, format_table, summarise


def rows(results: dict[str, dict[str, list[float]]]) -> list[dict]:
    """``{condition: {task_type: [success per game]}}`` -> episode rows (game ids shared across conditions)."""
    out = []
    for cond, by_type in results.items():
        for tt, wins in by_type.items():
            for g, w in enumerate(wins):
                out.append({"condition": cond, "task_type": tt, "game_id": f"{tt}-{g}", "success": w,
                            "exact_rate": w / 2, "steps": 10 - 5 * w})
    return out


def test_bootstrap_interval_brackets_the_mean_and_narrows_with_more_games():
    few = bootstrap_interval([0, 1, 0, 1])
    many = bootstrap_interval([0, 1] * 50)
    assert few[0] <= 0.5 <= few[1] and many[0] <= 0.5 <= many[1]
    assert many[1] - many[0] < few[1] - few[0]
    assert bootstrap_interval([0.25]) == (0.25, 0.25) and bootstrap_interval([]) is None
    assert bootstrap_interval([0, 1, 1], seed=3) == bootstrap_interval([0, 1, 1], seed=3)


def test_paired_difference_sees_an_effect_the_unpaired_intervals_hide():
    # games differ a lot in difficulty, skills add exactly one success on every hard game
    base = [1, 1, 1, 1, 0, 0, 0, 0]
    table = summarise(rows({"without": {"heat": base}, "with": {"heat": [1] * 8}}), ["without", "with"])
    heat = table["heat"]
    assert heat["games"] == 8 and heat["without"]["success"]["mean"] == 0.5 and heat["with"]["success"]["mean"] == 1
    assert heat["delta"]["with"]["success"]["mean"] == 0.5
    low, high = heat["delta"]["with"]["success"]["ci"]
    assert 0 < low <= 0.5 <= high  # paired: every game gains or stays, so the interval excludes 0
    assert table["overall"]["games"] == 8
    text = format_table(table, ["without", "with"])
    assert "heat" in text and "with - base" in text and "+0.50" in text


def test_overall_pools_games_of_every_type_and_missing_games_are_an_error():
    data = rows({"a": {"x": [1, 0], "y": [0, 0]}, "b": {"x": [1, 1], "y": [1, 0]}})
    table = summarise(data, ["a", "b"])
    assert table["overall"]["a"]["success"]["mean"] == 0.25 and table["overall"]["b"]["success"]["mean"] == 0.75
    assert table["x"]["b"]["steps"]["mean"] == 5.0
    with pytest.raises(ValueError, match="every condition"):
        summarise(data[:-1], ["a", "b"])
