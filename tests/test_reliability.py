"""Faults lose nothing and mislead no one: partial runs, locked output folders."""
from __future__ import annotations

import json

import pandas as pd
import yaml

from colorbench.cli import main
from colorbench.lock import RunLock


def _config(tmp_path, baselines):
    cfg = {
        "version": 1, "device": "cpu", "output_dir": str(tmp_path / "out"), "scale": "small",
        "scales": {"small": {"eval_size": 32, "max_test_images": 3}},
        "evaluation": {"metrics": ["mse", "psnr"], "grid_images": 2},
        "datasets": [{"name": "kodak24", "split": {"train": 0.0, "val": 0.0, "test": 1.0}},
                     {"name": "cbsd68", "split": {"train": 0.8, "val": 0.1, "test": 0.1}}],
        "baselines": baselines,
    }
    path = tmp_path / "bench.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return path


def test_a_failing_baseline_gives_a_partial_run_and_keeps_the_others(tmp_path, monkeypatch, capsys):
    # An empty cache has no Inception weights: fusion must fail with the fix, never train on random.
    monkeypatch.setenv("COLORBENCH_CACHE", str(tmp_path / "empty-cache"))
    path = _config(tmp_path, [{"name": "gray"}, {"name": "fusion", "train_on": "cbsd68"}, {"name": "oracle"}])
    assert main(["run", str(path)]) == 6
    assert "failed baselines: fusion" in capsys.readouterr().err
    table = pd.read_csv(tmp_path / "out" / "results.csv")
    ok = table[table["status"] == "ok"]
    assert set(ok["baseline"]) == {"gray", "oracle"} and len(ok) == 2 * 2 * 2
    failed = table[table["baseline"] == "fusion"]
    assert (failed["status"] == "failed").all() and failed["value"].isna().all()
    assert failed["reason"].str.contains("colorbench weights fetch").all()
    run = json.loads((tmp_path / "out" / "run.json").read_text())
    assert run["baselines"]["fusion"]["status"] == "failed"
    assert "fusion" in (tmp_path / "out" / "reports" / "index.html").read_text()


def test_a_second_run_on_a_locked_output_folder_refuses(tmp_path, capsys):
    path = _config(tmp_path, [{"name": "gray"}])
    with RunLock(tmp_path / "out"):
        assert main(["run", str(path)]) == 5
    err = capsys.readouterr().err
    assert "in use by another colorbench run" in err and "\n" not in err.strip()
    assert not (tmp_path / "out" / "results.csv").exists()


def test_a_stale_lock_from_a_dead_process_is_taken_over(tmp_path):
    folder = tmp_path / "out"
    folder.mkdir()
    import socket

    (folder / ".colorbench.lock").write_text(f"pid 999999999 on {socket.gethostname()}\n")
    with RunLock(folder):
        assert (folder / ".colorbench.lock").read_text().startswith("pid ")
    assert not (folder / ".colorbench.lock").exists()
