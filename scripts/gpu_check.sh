#!/usr/bin/env bash
# One-GPU check of dlik's engine (about 1-3 min on one GPU, under 5): the Gaussian and the
# embedded Grad-TTS scored on CUDA at batch sizes 1..64 with dlik bench's runner, each
# against the same rows on the CPU (<= 1e-4 bpd); one JSON line per setting on stdout, exit 1
# on a failed setting. Without CUDA it says so and runs on the CPU (a batch-invariance check).
#
#   scripts/gpu_check.sh                                  # the full check
#   scripts/gpu_check.sh --models gaussian --batch-sizes 1 4 --dim 16   # a quick one
#   GPU_CHECK_MODELS=gaussian GPU_CHECK_BATCH_SIZES="1 2" scripts/gpu_check.sh
# Other flags: --cpu-rows N --tol X --device cuda:1 --gradtts-step-size H (scripts/gpu_check.py)
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
args=()
if [[ -n "${GPU_CHECK_MODELS:-}" ]]; then read -r -a m <<< "$GPU_CHECK_MODELS"; args+=(--models "${m[@]}"); fi
if [[ -n "${GPU_CHECK_BATCH_SIZES:-}" ]]; then read -r -a b <<< "$GPU_CHECK_BATCH_SIZES"; args+=(--batch-sizes "${b[@]}"); fi
exec "${PYTHON:-python}" "$here/gpu_check.py" ${args[@]+"${args[@]}"} "$@"
