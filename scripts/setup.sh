#!/usr/bin/env bash
# Creates .venv and installs colorbench with its test tools and the example plug-in
# (examples/plugin); installs Debian's chromium for the browser tests when it is missing and apt is
# usable. Idempotent.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v chromium >/dev/null 2>&1 && command -v apt-get >/dev/null 2>&1; then
  sudo_cmd=""; [ "$(id -u)" -eq 0 ] || sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq && $sudo_cmd apt-get install -y -qq --no-install-recommends chromium >/dev/null \
    || echo "setup: could not install chromium; the browser test will fail until it is installed" >&2
fi
python3 -m venv .venv
. .venv/bin/activate
python -m pip install -q --upgrade pip
python -m pip install -q -e ".[dev]" -e examples/plugin  # the example plug-in: CI runs it through a config
