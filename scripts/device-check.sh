#!/usr/bin/env bash
# GPU readiness check (issue 13, part 4). On a GPU machine, from anywhere:
#   COLORBENCH_DATA=/path/to/datasets scripts/device-check.sh
# Runs four steps (every baseline one epoch at paper scale; bf16 vs fp32 training speed; LPIPS
# and FID on the GPU against the CPU; torchrun with one process end to end), prints one table
# and exits non-zero if any step failed. Under 8 minutes on one GPU. Without a GPU it says so
# and runs the same steps as a tiny CPU dry run (exit 0 if that passes). Options:
# --steps 1,2,3,4, --keep DIR (keep the runs), --help. PYTHON picks the interpreter.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
export PYTHONPATH="$root${PYTHONPATH:+:$PYTHONPATH}"
exec "${PYTHON:-python}" scripts/device_check.py "$@"
