"""scripts/device-check.sh on this CPU: it says a GPU is needed, runs the four steps as a tiny dry
run, prints the table and exits 0; a step that fails (a NaN injected into step 2's batch, so
its non-finite-loss check fires) makes it exit non-zero."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

REPO = Path(__file__).resolve().parents[1]
SCRIPT = REPO / "scripts" / "device-check.sh"
HEADER = ("step", "what", "measured", "tolerance / target", "result")


def _data() -> Path:
    root = Path(os.environ.get("COLORBENCH_DATA") or REPO.parent / "shared" / "datasets")
    if not (root / "imagenet-samples").is_dir() or not (root / "cbsd68").is_dir():
        pytest.fail(f"test data not found under {root} (set COLORBENCH_DATA)")
    return root


def _run(args: list[str], cache: Path, timeout: int) -> subprocess.CompletedProcess:
    # the dry run on a GPU machine too (there, without --dry-run, the script runs the real check)
    extra = ["--dry-run"] if torch.cuda.is_available() else []
    env = {**os.environ, "PYTHON": sys.executable, "COLORBENCH_CACHE": str(cache), "COLORBENCH_DATA": str(_data())}
    return subprocess.run(["bash", str(SCRIPT), *args, *extra], env=env, capture_output=True, text=True,
                          timeout=timeout)


def _table(stdout: str) -> list[list[str]]:
    lines = [line for line in stdout.splitlines() if line.count(" | ") >= 4]
    rows = [[cell.strip() for cell in line.split(" | ")] for line in lines]
    assert rows and tuple(rows[0][:5]) == HEADER, stdout
    return rows[1:]


def test_dry_run_passes_every_step(weights_cache):
    proc = _run([], weights_cache, timeout=900)
    assert proc.returncode == 0, proc.stdout + proc.stderr[-3000:]
    if not torch.cuda.is_available():
        assert "the real check needs a GPU" in proc.stdout.splitlines()[0]
    rows = _table(proc.stdout)
    assert {r[0].split()[0] for r in rows} == {"1", "2", "3", "4"}
    assert all(r[4] == "PASS" for r in rows), proc.stdout
    smoke = next(r for r in rows if r[0] == "1 smoke")
    from baselines.registry import BASELINES

    n = len(BASELINES.names())
    assert smoke[2] == f"{n}/{n} ok"  # every registered baseline ran
    assert "0 FAIL" in proc.stdout.splitlines()[-1]


def test_injected_nan_fails_step_2(weights_cache):
    proc = _run(["--steps", "2", "--inject-nan"], weights_cache, timeout=300)
    assert proc.returncode == 1, proc.stdout + proc.stderr[-3000:]
    rows = _table(proc.stdout)
    assert [r[0] for r in rows] == ["2 amp"] * 3
    assert all(r[4] == "FAIL" for r in rows), proc.stdout
    assert any("non-finite loss" in r[2] for r in rows), proc.stdout
    assert "3 FAIL" in proc.stdout.splitlines()[-1]
