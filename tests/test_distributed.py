"""Scale-out on this CPU: torchrun with 2 gloo ranks gives one process's numbers, training on 2
ranks resumes after a kill under its own checkpoint key, a raising rank ends the job, and
sharded runs (`run --only`) merge into the full run's table."""
from __future__ import annotations

import json
import math
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from _processes import kill_at_marker
from PIL import Image

from colorbench.cli import main

REPO = Path(__file__).resolve().parents[1]
SCORE_METRICS = "mse,psnr,ssim,colorfulness,lpips,fid,kid"

RAISING_PLUGIN = '''
import os
import torch
from colorbench.api import Baseline, BaselineInfo


class RaisesOnRankOne(Baseline):
    def __init__(self):
        super().__init__()
        self.info = BaselineInfo(family="raiser", paper="test", color_space="lab", loss="none", input_size=None,
                                 learned=False)

    def colorize(self, L, target_rgb=None):
        if os.environ.get("RANK") == "1":
            raise RuntimeError("rank 1 fails")
        return torch.cat((L, torch.zeros_like(L).expand(-1, 2, -1, -1)), dim=1)


def create():
    return RaisesOnRankOne()
'''


def _cache(root: Path, weights_cache: Path) -> Path:
    """An empty cache whose weights are the fetched ones (FID statistics and checkpoints start empty)."""
    root.mkdir(parents=True)
    (root / "weights").symlink_to(weights_cache / "weights", target_is_directory=True)
    return root


def _env(cache: Path, **extra) -> dict:
    path = os.pathsep.join(filter(None, [str(REPO), extra.pop("PYTHONPATH", ""), os.environ.get("PYTHONPATH", "")]))
    return {**os.environ, "COLORBENCH_CACHE": str(cache), "PYTHONUNBUFFERED": "1", "PYTHONPATH": path,
            "OMP_NUM_THREADS": "1", "COLORBENCH_DIST_TIMEOUT": "120", **extra}


def _torchrun(args: list[str], nproc: int = 2) -> list[str]:
    return [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc_per_node={nproc}",
            "-m", "colorbench", *args]


def _colorbench(args: list[str]) -> list[str]:
    return [sys.executable, "-m", "colorbench", *args]


def _pairs(folder: Path, n: int = 27) -> tuple[Path, Path]:
    """n pairs of 40x48 photos-like images (smooth colour fields plus noise) and shifted predictions."""
    rng = np.random.default_rng(0)
    pred, gt = folder / "pred", folder / "gt"
    pred.mkdir(parents=True)
    gt.mkdir(parents=True)
    y, x = np.mgrid[0:40, 0:48] / 48.0
    for i in range(n):
        base = np.stack([np.sin(x * (i + 1)), np.cos(y * (i + 2)), x * y], -1) * 0.4 + 0.5
        truth = np.clip(base + rng.normal(0, 0.05, base.shape), 0, 1)
        guess = np.clip(0.7 * truth + 0.3 * truth.mean(-1, keepdims=True) + 0.03, 0, 1)
        Image.fromarray((truth * 255).round().astype(np.uint8)).save(gt / f"img{i:02d}.png")
        Image.fromarray((guess * 255).round().astype(np.uint8)).save(pred / f"img{i:02d}.png")
    return pred, gt


def _score(tmp: Path, pred: Path, gt: Path, out: str, ranks: int, weights_cache: Path) -> dict:
    args = ["score", "--pred", str(pred), "--gt", str(gt), "--metrics", SCORE_METRICS, "--batch-size", "4",
            "--device", "cpu", "--out", str(tmp / out), "--json"]
    cmd = _torchrun(args, ranks) if ranks > 1 else _colorbench(args)
    env = _env(_cache(tmp / f"cache-{out}", weights_cache))
    env["OMP_NUM_THREADS"] = "1"  # as torchrun gives each rank: float32 forwards round by thread count
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads((tmp / out / "summary.json").read_text())


def test_score_on_two_ranks_equals_one_process(tmp_path, weights_cache):
    """27 pairs in batches of 4: rank 0 scores 4 batches, rank 1 three (16 and 11 images)."""
    pred, gt = _pairs(tmp_path)
    one, two = (_score(tmp_path, pred, gt, name, ranks, weights_cache) for name, ranks in (("one", 1), ("two", 2)))
    assert one["n"] == two["n"] == 27
    assert (tmp_path / "one" / "per_image.csv").read_text() == (tmp_path / "two" / "per_image.csv").read_text()
    for name, a in one["metrics"].items():
        b = two["metrics"][name]
        assert math.isclose(a["value"], b["value"], rel_tol=1e-9, abs_tol=1e-12), (name, a["value"], b["value"])
        assert a["ci95"] == b["ci95"], name  # same per-image values, same bootstrap seed
    assert set(one["metrics"]) == set(SCORE_METRICS.split(","))


def test_a_rank_with_no_images_still_takes_part(tmp_path, weights_cache):
    """3 pairs in one batch of 4: rank 1 has nothing to score, yet joins every gather."""
    pred, gt = _pairs(tmp_path, n=3)
    one, two = (_score(tmp_path, pred, gt, name, ranks, weights_cache) for name, ranks in (("one", 1), ("two", 2)))
    assert one["n"] == two["n"] == 3
    assert (tmp_path / "one" / "per_image.csv").read_text() == (tmp_path / "two" / "per_image.csv").read_text()
    assert {k: v["value"] for k, v in one["metrics"].items()} == {k: v["value"] for k, v in two["metrics"].items()}


def _train_config(tmp: Path, name: str, baselines: list[dict] | None = None, epochs: int = 2) -> Path:
    cfg = {
        "version": 1, "seed": 0, "device": "cpu", "output_dir": str(tmp / name), "scale": "small",
        "scales": {"small": {"eval_size": 32, "max_train_images": 16, "max_val_images": 4, "max_test_images": 6,
                             "epochs": epochs, "image_size": 32}},
        "evaluation": {"metrics": ["mse", "psnr", "ssim"], "batch_size": 4, "grid_images": 2},
        "datasets": [{"name": "kodak24", "split": {"train": 0.0, "val": 0.0, "test": 1.0}},
                     {"name": "cbsd68", "split": {"train": 0.7, "val": 0.1, "test": 0.2}}],
        "baselines": baselines or [{"name": "gray"},
                                   {"name": "autoencoder", "train_on": "cbsd68", "small": {"batch_size": 4}}],
    }
    path = tmp / f"{name}.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return path


def _checkpoint(out: Path) -> Path:
    train = json.loads((out / "run.json").read_text())["baselines"]["autoencoder"]["train"]
    return Path(train["checkpoint"]).parent


def test_training_on_two_ranks_resumes_after_a_kill_under_its_own_key(tmp_path):
    env = _env(tmp_path / "cache")
    config = _train_config(tmp_path, "two")
    kill_at_marker(_torchrun(["run", str(config)]), env, "epoch 2/2")  # killed during the second epoch
    assert not (tmp_path / "two" / "results.csv").exists()
    resumed = subprocess.run(_torchrun(["run", str(config)]), env=env, capture_output=True, text=True, timeout=600)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    doc = json.loads((tmp_path / "two" / "run.json").read_text())
    history = doc["baselines"]["autoencoder"]["train"]["history"]
    assert [h["epoch"] for h in history] == [1, 2]  # epoch 1 came from last.pt, epoch 2 was trained again

    fresh_cache = _env(tmp_path / "cache-fresh")  # the same 2-rank training, never interrupted
    config_fresh = _train_config(tmp_path, "fresh")
    done = subprocess.run(_torchrun(["run", str(config_fresh)]), env=fresh_cache, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    a, b = (pd.read_csv(tmp_path / n / "results.csv") for n in ("two", "fresh"))
    pd.testing.assert_frame_equal(a.drop(columns="run_id"), b.drop(columns="run_id"))

    one = subprocess.run(_colorbench(["run", str(_train_config(tmp_path, "one"))]), env=env, capture_output=True,
                         text=True, timeout=600)
    assert one.returncode == 0, one.stderr[-3000:]
    two_key, one_key = _checkpoint(tmp_path / "two").name, _checkpoint(tmp_path / "one").name
    assert two_key != one_key and two_key.startswith("autoencoder-") and one_key.startswith("autoencoder-")


def test_a_rank_that_raises_ends_the_job_quickly_and_non_zero(tmp_path):
    plugins = tmp_path / "plugins"
    plugins.mkdir()
    (plugins / "raiser_plugin.py").write_text(RAISING_PLUGIN)
    config = _train_config(tmp_path, "out", [{"name": "raiser", "model": "raiser_plugin:create"}])
    t0 = time.monotonic()
    done = subprocess.run(_torchrun(["run", str(config)]), env=_env(tmp_path / "cache", PYTHONPATH=str(plugins)),
                          capture_output=True, text=True, timeout=300)
    elapsed = time.monotonic() - t0
    assert done.returncode != 0
    assert "rank 1 fails" in done.stderr
    assert elapsed < 60, f"took {elapsed:.0f} s"
    assert not (tmp_path / "out" / "results.csv").exists()


# --- sharded runs: run --only, then merge -------------------------------------------------------

SHARD_ROWS = [{"name": "gray"}, {"name": "oracle"}, {"name": "autoencoder", "train_on": "cbsd68", "small": {"batch_size": 4}},
              {"name": "transfer", "train_on": "cbsd68"}]


def _cli(capsys, *args) -> tuple[int, str, str]:
    code = main([str(a) for a in args])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture(scope="module")
def sharded(tmp_path_factory):
    """A full run and the same benchmark run as two disjoint parts, then merged."""
    tmp = tmp_path_factory.mktemp("sharded")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("COLORBENCH_CACHE", str(tmp / "cache"))
        full = _train_config(tmp, "full", SHARD_ROWS, epochs=1)
        parts = _train_config(tmp, "parts", SHARD_ROWS, epochs=1)
        assert main(["run", str(full)]) == 0
        assert main(["run", str(parts), "--only", "gray,autoencoder"]) == 0
        assert main(["run", str(parts), "--only", "oracle,transfer"]) == 0
        assert main(["merge", str(tmp / "parts")]) == 0
    return tmp


def test_two_parts_merged_equal_the_full_run(sharded, capsys):
    code, out, err = _cli(capsys, "compare", sharded / "parts" / "results.csv", sharded / "full" / "results.csv")
    assert code == 0, out + err
    full, merged = (pd.read_csv(sharded / n / "results.csv").drop(columns="run_id") for n in ("full", "parts"))
    pd.testing.assert_frame_equal(full, merged)  # row order, best flags and paired tests included
    doc = json.loads((sharded / "parts" / "run.json").read_text())
    assert [p["name"] for p in doc["parts"]] == ["autoencoder+gray", "oracle+transfer"]
    assert list(doc["baselines"]) == ["gray", "oracle", "autoencoder", "transfer"]  # config order
    assert (sharded / "parts" / "reports" / "index.html").is_file()
    assert (sharded / "parts" / "outputs" / "kodak24" / "transfer").is_dir()


def test_only_with_an_unknown_row_exits_2_with_a_suggestion(tmp_path, capsys):
    config = _train_config(tmp_path, "out", SHARD_ROWS)
    code, _, err = _cli(capsys, "run", config, "--only", "gray,autoencodr")
    assert code == 2 and "autoencodr" in err and "did you mean 'autoencoder'" in err
    assert not (tmp_path / "out").exists()


def test_merge_refuses_a_folder_without_parts(tmp_path, capsys):
    (tmp_path / "run").mkdir()
    code, _, err = _cli(capsys, "merge", tmp_path / "run")
    assert code == 2 and "no parts" in err


def test_merge_refuses_a_locked_part_and_different_protocols_writing_nothing(sharded, tmp_path, capsys):
    import shutil

    run = tmp_path / "run"
    shutil.copytree(sharded / "parts" / "parts", run / "parts")
    lock = run / "parts" / "oracle+transfer" / ".colorbench.lock"
    lock.write_text(json.dumps({"pid": 1, "host": "another-node", "boot_id": None, "start": None}))
    code, _, err = _cli(capsys, "merge", run)
    assert code == 2 and "oracle+transfer" in err and "running job" in err
    lock.unlink()

    doc_path = run / "parts" / "oracle+transfer" / "run.json"
    doc = json.loads(doc_path.read_text())
    doc["datasets"]["kodak24"]["protocol"] = "0" * 16  # as if its test split had other images
    doc_path.write_text(json.dumps(doc))
    code, _, err = _cli(capsys, "merge", run)
    assert code == 2 and "autoencoder+gray" in err and "oracle+transfer" in err and "kodak24" in err
    assert sorted(p.name for p in run.iterdir()) == ["parts"]  # nothing written


def test_merge_keeps_a_full_runs_results_and_names_an_unreadable_part(sharded, tmp_path, capsys):
    import shutil

    run = tmp_path / "run"
    shutil.copytree(sharded / "full", run)  # a full run's results ...
    shutil.copytree(sharded / "parts" / "parts", run / "parts")  # ... and parts beside them
    before = (run / "results.csv").read_bytes()
    code, _, err = _cli(capsys, "merge", run)
    assert code == 2 and "full run" in err and "--force" in err
    assert (run / "results.csv").read_bytes() == before

    (run / "parts" / "oracle+transfer" / "run.json").write_text("{not json")
    code, _, err = _cli(capsys, "merge", run, "--force")
    assert code == 2 and "part oracle+transfer cannot be read" in err
    assert (run / "results.csv").read_bytes() == before
