"""A run SIGKILLed at any stage and started again ends with the uninterrupted run's tables."""
from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import yaml
from _processes import kill_at_marker

VALUE_COLUMNS = ["dataset", "baseline", "metric", "value", "ci_low", "ci_high", "n", "protocol", "p_vs_best"]
# Kill points: text the run prints (progress bars on stderr) when it reaches that stage.
KILL_POINTS = ["ground truth kodak24", "epoch 2/3", "colorize autoencoder", "score autoencoder"]


def _config(tmp_path: Path, name: str, quick: bool = False) -> Path:
    """The kill-point config; `quick`: no training (gray and oracle only) for tests of the exit path."""
    cfg = {
        "version": 1, "seed": 0, "device": "cpu", "output_dir": str(tmp_path / name), "scale": "small",
        "scales": {"small": {"eval_size": 32, "max_train_images": 16, "max_val_images": 4, "max_test_images": 6, "epochs": 3, "image_size": 32}},
        "evaluation": {"metrics": ["mse", "psnr", "ssim", "acc313"], "batch_size": 4, "grid_images": 2},
        "datasets": [{"name": "kodak24", "split": {"train": 0.0, "val": 0.0, "test": 1.0}},
                     {"name": "cbsd68", "split": {"train": 0.7, "val": 0.1, "test": 0.2}}],
        "baselines": [{"name": "gray"}, {"name": "autoencoder", "train_on": "cbsd68", "small": {"epochs": 3, "batch_size": 4}}],
    }
    if quick:
        cfg["baselines"] = [{"name": "gray"}, {"name": "oracle"}]
    path = tmp_path / f"{name}.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return path


def _env(cache: Path) -> dict:
    return {**os.environ, "COLORBENCH_CACHE": str(cache), "PYTHONUNBUFFERED": "1"}


def _run(config: Path, cache: Path) -> None:
    subprocess.run([sys.executable, "-m", "colorbench", "run", str(config)], env=_env(cache), check=True, capture_output=True, timeout=600)


def _run_until(config: Path, cache: Path, marker: str) -> None:
    """Start a run and SIGKILL it as soon as `marker` appears in its output."""
    cmd = [sys.executable, "-m", "colorbench", "run", str(config)]
    assert kill_at_marker(cmd, _env(cache), marker) == -signal.SIGKILL


@pytest.fixture(scope="module")
def reference(tmp_path_factory) -> pd.DataFrame:
    tmp = tmp_path_factory.mktemp("reference")
    _run(_config(tmp, "out"), tmp / "cache")
    return pd.read_csv(tmp / "out" / "results.csv")[VALUE_COLUMNS]


@pytest.mark.parametrize("marker", KILL_POINTS)
def test_killed_run_restarts_to_identical_tables(tmp_path, reference, marker):
    config, cache = _config(tmp_path, "out"), tmp_path / "cache"
    _run_until(config, cache, marker)
    assert not (tmp_path / "out" / "results.csv").exists()  # results are published only when all of them exist
    _run(config, cache)  # takes over the dead run's lock, reuses its checkpoints
    pd.testing.assert_frame_equal(pd.read_csv(tmp_path / "out" / "results.csv")[VALUE_COLUMNS], reference)
    assert not list((tmp_path / "out").rglob("*.tmp"))  # no partial file left behind as complete


def test_sigterm_ends_the_run_with_one_line_and_a_clean_folder(tmp_path):
    # Before: SIGTERM killed the process with no message (SIGINT already said "interrupted").
    config, cache = _config(tmp_path, "out", quick=True), tmp_path / "cache"
    proc = subprocess.Popen([sys.executable, "-m", "colorbench", "run", str(config)], env=_env(cache),
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    seen = b""
    while b"colorize gray" not in seen:
        chunk = os.read(proc.stderr.fileno(), 4096)
        assert chunk, seen[-500:]
        seen += chunk
    proc.send_signal(signal.SIGTERM)
    rest = proc.communicate(timeout=120)[1]
    lines = re.findall(r"colorbench: [^\r\n]*", (seen + rest).decode(errors="replace"))
    assert proc.returncode == 143 and lines == ["colorbench: terminated (SIGTERM); finished work is kept and reused by the next run"], lines
    assert not (tmp_path / "out" / ".colorbench.lock").exists() and not (tmp_path / "out" / "results.csv").exists()
    _run(config, cache)
    assert (pd.read_csv(tmp_path / "out" / "results.csv")["status"] == "ok").all()


def _limit_file_size(limit: int):
    def apply():  # in the child: writes beyond `limit` bytes fail with EFBIG, as on a full disk
        import resource

        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
    return apply


def test_a_full_disk_fails_with_one_line_and_keeps_the_previous_report_whole(tmp_path):
    config, cache = _config(tmp_path, "out", quick=True), tmp_path / "cache"
    _run(config, cache)
    out = tmp_path / "out"
    before = {p.relative_to(out): p.read_bytes() for p in out.rglob("*") if p.is_file() and "reports" in p.parts or p.name == "results.csv"}
    (out / "run.json").unlink()  # forces a full publish again; the report must not be truncated
    done = subprocess.run([sys.executable, "-m", "colorbench", "run", str(config)], env=_env(cache), capture_output=True,
                          timeout=600, preexec_fn=_limit_file_size(8 * 1024))
    err = re.findall(r"colorbench: [^\r\n]*", done.stderr.decode(errors="replace"))
    assert done.returncode == 1 and len(err) == 1 and "disk full or file size limit" in err[0], done.stderr[-2000:]
    after = {p.relative_to(out): p.read_bytes() for p in out.rglob("*") if p.is_file() and "reports" in p.parts or p.name == "results.csv"}
    assert after == before  # the old report and table, whole
    assert not list(out.rglob("*.tmp")) and not (out / ".next").exists()
