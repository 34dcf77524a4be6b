#!/usr/bin/env bash
# Install OpenRLHF 0.11.2 on a CPU machine for the tests of skillrl.adapters.openrlhf, keeping the CPU torch.
#
# `pip install openrlhf` fails here: it pins flash-attn==2.8.3 (a CUDA build) and transformers==5.15.0. So:
#   1. its runtime dependencies that the agent executor and, with vllm / flash_attn stubbed as OpenRLHF's own tests
#      do, the PPO trainer modules need: ray (OpenRLHF's pin), deepspeed (OpenRLHF's pin, built without ops),
#      torchdata, pylatexenc (openrlhf.utils imports its math grader), aiohttp (openrlhf.utils.agent);
#      transformers / datasets / peft / sympy / tqdm come with skillrl's [trl] extra;
#   2. openrlhf itself with --no-deps.
# Every install is dry-run first: the script stops if pip would install or replace torch or any CUDA package.
# Expects torch==2.13.0 (CPU) to be installed already.
set -euo pipefail
cd "$(dirname "$0")/.."
export PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_PROGRESS_BAR=off
export DS_BUILD_OPS=0            # DeepSpeed: no C++/CUDA ops at install time
PY=${PYTHON:-python}

DEPS=("ray[default]==2.55.0" "deepspeed==0.19.6" "torchdata" "pylatexenc" "aiohttp")

check() {  # pip install --dry-run, refusing torch / CUDA wheels
  local report
  report=$(mktemp)
  "$PY" -m pip install -q --dry-run --report "$report" "$@"
  "$PY" - "$report" <<'EOF'
import json, sys
items = json.load(open(sys.argv[1])).get("install", [])
names = [i["metadata"]["name"].lower() for i in items]
bad = [n for n in names if n in ("torch", "triton", "flash-attn", "flash_attn", "vllm") or n.startswith("nvidia-")]
print("pip would install:", ", ".join(f"{i['metadata']['name']}=={i['metadata']['version']}" for i in items) or "nothing")
if bad:
    sys.exit(f"refusing: this would install {bad} (the CPU torch must stay)")
EOF
  rm -f "$report"
}

"$PY" -c "import torch; print('torch', torch.__version__)"
check "${DEPS[@]}"
"$PY" -m pip install -q "${DEPS[@]}"
check --no-deps openrlhf==0.11.2
"$PY" -m pip install -q --no-deps openrlhf==0.11.2

# What the tests need must import for real:
"$PY" - <<'EOF'
import importlib.metadata as md
import torch
import openrlhf.utils.agent  # noqa: F401  (the executor classes, no stubs)
print("openrlhf", md.version("openrlhf"), "| ray", md.version("ray"), "| deepspeed", md.version("deepspeed"),
      "| torch", torch.__version__)
EOF
