#!/usr/bin/env bash
# GRPO on ALFWorld with SkillRL skills, OpenRLHF 0.11 (Ray + vLLM): one node, 8 GPUs, all models colocated.
# Needs a GPU install of OpenRLHF (pip install openrlhf[vllm]==0.11.2) and skillrl with the alfworld extra.
#
#   ALFWORLD_DATA=../shared/data/alfworld bash examples/openrlhf/train_alfworld_grpo.sh
#
# Everything after "python -m skillrl.adapters.openrlhf" is an ordinary openrlhf.cli.train_ppo_ray command line
# (flags checked against the 0.11.2 argparse), plus the --skillrl.* options of the bank.
set -euo pipefail
cd "$(dirname "$0")/../.."

MODEL=${MODEL:-Qwen/Qwen2.5-7B-Instruct}          # SkillRL's policy (cold-start SFT first, see the README)
BANK=${BANK:-../shared/data/skillrl-official/memory_data/alfworld/claude_style_skills.json}
TEACHER=${TEACHER:-offline}                        # or openai:<model> with OPENAI_API_KEY / OPENAI_BASE_URL
OUT=${OUT:-runs/alfworld-grpo-skills}
export ALFWORLD_DATA=${ALFWORLD_DATA:-../shared/data/alfworld}
export ALFWORLD_MAX_STEPS=${ALFWORLD_MAX_STEPS:-50}

python examples/openrlhf/make_alfworld_data.py --out "$OUT/data"

python -m skillrl.adapters.openrlhf \
  --skillrl.bank "$BANK" \
  --skillrl.profile alfworld \
  --skillrl.mode embedding \
  --skillrl.teacher "$TEACHER" \
  --skillrl.output_dir "$OUT/banks" \
  --actor.model_name_or_path "$MODEL" \
  --train.agent_func_path examples/openrlhf/alfworld_agent.py \
  --data.prompt_dataset "$OUT/data/train.jsonl" \
  --data.input_key prompt \
  --data.label_key label \
  --data.apply_chat_template \
  --data.max_len 16384 \
  --rollout.max_new_tokens 512 \
  --rollout.n_samples_per_prompt 8 \
  --rollout.batch_size 16 \
  --rollout.micro_batch_size 4 \
  --rollout.temperature 1.0 \
  --train.batch_size 128 \
  --train.micro_batch_size 1 \
  --train.num_episodes 20 \
  --algo.advantage.estimator group_norm \
  --algo.kl.init_coef 0.01 \
  --algo.kl.use_loss \
  --algo.kl.estimator k3 \
  --actor.adam.lr 1e-6 \
  --actor.gradient_checkpointing_enable \
  --ds.zero_stage 3 \
  --ds.param_dtype bf16 \
  --eval.dataset "$OUT/data/valid_seen.jsonl" \
  --eval.steps 10 \
  --eval.n_samples_per_prompt 1 \
  --eval.temperature 0.4 \
  --actor.num_nodes 1 \
  --actor.num_gpus_per_node 8 \
  --ref.num_nodes 1 \
  --ref.num_gpus_per_node 8 \
  --vllm.num_engines 8 \
  --vllm.tensor_parallel_size 1 \
  --vllm.gpu_memory_utilization 0.5 \
  --vllm.enable_sleep \
  --ds.enable_sleep \
  --train.colocate_all \
  --ckpt.path "$OUT/ckpt" \
  --ckpt.save_steps 10 \
  --ckpt.load_enable \
  --ckpt.output_dir "$OUT/final" \
  --logger.tensorboard_dir "$OUT/tb" \
  "$@"
