"""Running a colorbench process until it reaches a point, then killing it there (crash tests)."""
from __future__ import annotations

import os
import signal
import subprocess

import pytest


def kill_at_marker(cmd: list[str], env: dict, marker: str) -> int:
    """Start `cmd` in its own process group and SIGKILL the whole group as soon as `marker`
    appears on its stderr (progress lines); returns the leader's exit status."""
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)
    seen = b""
    try:
        while marker.encode() not in seen:
            chunk = os.read(proc.stderr.fileno(), 4096)
            if not chunk:
                pytest.fail(f"the process ended before {marker!r}: {seen[-1500:]!r}")
            seen = seen[-8192:] + chunk
        os.killpg(proc.pid, signal.SIGKILL)
    finally:
        proc.wait(timeout=60)
        proc.stderr.close()
    return proc.returncode
