"""Two CPU processes: evolution on rank 0, every rank ends with the same bank.

The processes are started with torchrun (``python -m torch.distributed.run``); the trainer's Accelerator picks
up the process group from its environment (gloo on CPU). ``accelerate launch --cpu --num_processes 2`` starts a
single process on a CPU-only machine without MPI (checked: world size 1), so it cannot test two ranks here.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("trl")


@pytest.mark.slow
def test_two_ranks_hold_the_same_evolved_bank(shared_data, tmp_path):
    from skillrl.testing import build_tiny_causal_lm

    model = build_tiny_causal_lm(tmp_path / "policy")
    bank = shared_data / "skillrl-official/memory_data/alfworld/claude_style_skills.json"
    script = Path(__file__).parent / "scripts" / "grpo_two_ranks.py"
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": "1", "TOKENIZERS_PARALLELISM": "false"}
    cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", "--master_port", "29517",
           str(script), str(model), str(bank), str(tmp_path)]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-5000:]
    ranks = [json.loads((tmp_path / f"rank{r}.json").read_text()) for r in (0, 1)]
    assert [r["world"] for r in ranks] == [2, 2]
    assert ranks[0]["version"] > 0, ranks  # evolution ran on rank 0 from the gathered failures...
    assert ranks[0]["version"] == ranks[1]["version"] and ranks[0]["sha256"] == ranks[1]["sha256"], ranks  # ...and was broadcast
    assert ranks[0]["reports"] == 1 and ranks[1]["reports"] == 1
    assert ranks[0]["eval_episodes"] == 8  # 4 eval prompts x 2 generations, gathered from both ranks
