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

sys.path.insert(0, str(Path(__file__).resolve().parent))
from httpserver import OpenAICompatServer, category_lesson  # noqa: E402


def _run_two_ranks(tiny_model: str, shared_data: Path, out: Path, mode: str, port: int) -> list[dict]:
    bank = shared_data / "skillrl-official/memory_data/alfworld/claude_style_skills.json"
    script = Path(__file__).parent / "scripts" / "grpo_two_ranks.py"
    cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", "--master_port", str(port),
           str(script), tiny_model, str(bank), str(out), mode]
    with OpenAICompatServer(default=category_lesson) as srv:  # the teacher the main process asks
        env = {**os.environ, "HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": "1", "TOKENIZERS_PARALLELISM": "false",
               "SKILLRL_TEST_TEACHER_URL": srv.url}
        # the timeout is the "no hang" check: a rank left waiting in a collective would stop the run here
        proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-5000:]
    ranks = [json.loads((out / f"rank{r}.json").read_text()) for r in (0, 1)]
    ranks[0]["teacher_requests"] = len(srv.requests)
    return ranks


@pytest.mark.slow
def test_two_ranks_hold_the_same_evolved_bank(tiny_model, shared_data, tmp_path):
    ranks = _run_two_ranks(tiny_model, shared_data, tmp_path, "evolve", 29517)
    assert [r["world"] for r in ranks] == [2, 2]
    assert ranks[0]["version"] > 0, ranks  # evolution ran on rank 0 from the gathered failures...
    assert ranks[0]["version"] == ranks[1]["version"] and ranks[0]["sha256"] == ranks[1]["sha256"], ranks  # ...and was broadcast
    assert ranks[0]["reports"] == 1 and ranks[1]["reports"] == 1
    assert ranks[0]["teacher_requests"] == 2  # one ask per failing category (heat, cool), by the main process only
    assert ranks[0]["eval_episodes"] == 8  # 4 eval prompts x 2 generations, gathered from both ranks


@pytest.mark.slow
def test_a_group_split_across_ranks_sees_one_block(tiny_model, shared_data, tmp_path):
    """per_device_train_batch_size=3, G=2, 2 ranks: the middle group of every batch has one copy on each rank, and
    each rank embeds a different set of queries in the same call. Embedding mode, the real MiniLM."""
    ranks = _run_two_ranks(tiny_model, shared_data, tmp_path, "split", 29519)
    p0, p1 = ranks[0]["prompts"], ranks[1]["prompts"]
    assert len(p0) == len(p1) >= 6
    split = [(a, b) for a, b in zip(p0[2::3], p1[0::3])]  # rank 0's 3rd prompt and rank 1's 1st: the same group
    assert split and all(a == b for a, b in split), split  # byte-identical blocks (and prompts)
    # the scores behind those blocks are bit-identical on both ranks, whatever else each rank embedded
    by_query = [{(r["query"], r["category"]): r["scores"] for r in rank["scores"]} for rank in ranks]
    shared = set(by_query[0]) & set(by_query[1])
    assert shared and all(by_query[0][k] == by_query[1][k] for k in shared)


@pytest.mark.slow
def test_a_failure_on_the_main_process_keeps_the_previous_bank_everywhere(tiny_model, shared_data, tmp_path):
    ranks = _run_two_ranks(tiny_model, shared_data, tmp_path, "raise", 29521)
    assert [r["version"] for r in ranks] == [0, 0], ranks  # evolution's change was undone, and nobody took it
    assert ranks[0]["sha256"] == ranks[1]["sha256"]
    assert all("plugin failure" in (r["last_error"] or "") for r in ranks)  # both ranks know why
    assert ranks[0]["failed_logged"]
