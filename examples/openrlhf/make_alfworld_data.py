"""Write the OpenRLHF prompt datasets for the ALFWorld agent (``alfworld_agent.py``): one JSONL row per game.

    python examples/openrlhf/make_alfworld_data.py --out data/alfworld         # train.jsonl + valid_seen.jsonl

Row: ``{"prompt": [{"role": "user", "content": ...}], "label": "<game id>", "datasource": "<task type>"}``.
Train with ``--data.input_key prompt --data.label_key label --data.apply_chat_template``. The user message states
the goal (read from the game file, no game is started here) and keeps a ``{observation}`` slot that the agent fills
with the room description when the game starts. ``datasource`` makes OpenRLHF report eval pass@1 per task type
(``eval_<task type>_pass1``), and the skill bank uses it as the category of evaluation episodes.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from skillrl.envs.alfworld import list_games

INSTRUCTION = (
    "You are an expert agent in a household text environment (ALFWorld). Your task is to: {goal}\n\n"
    "The game starts: {{observation}}"
)


def rows(split: str, data_dir: str | None = None) -> list[dict]:
    """One dataset row per playable game of ``split``."""
    out = []
    for g in list_games(split, data_dir):
        if not g.goal:
            continue
        out.append({"prompt": [{"role": "user", "content": INSTRUCTION.format(goal=g.goal)}], "label": g.game_id,
                    "datasource": g.task_type})
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default="data/alfworld", help="output folder")
    parser.add_argument("--data-dir", default=None, help="ALFWorld data folder (default $ALFWORLD_DATA)")
    parser.add_argument("--splits", nargs="+", default=["train", "valid_seen"])
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    for split in args.splits:
        data = rows(split, args.data_dir)
        path = out / f"{split}.jsonl"
        path.write_text("".join(json.dumps(r) + "\n" for r in data), encoding="utf-8")
        print(f"{path}: {len(data)} games")


if __name__ == "__main__":
    main()
