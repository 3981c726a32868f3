"""`evaluation: {protocol: NAME}` in a benchmark file: validated, recorded in run.json and in every
result's fingerprint (so compare refuses tables of different protocols, exit 2), and named on the
report's pages; --weights-file on `run` labels the report."""
from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import yaml
from PIL import Image

from colorbench.cli import main
from colorbench.fingerprint import metric_fingerprint
from colorbench.hashing import canonical_hash
from colorbench.results import ResultRecord, write_results

METRICS = ["psnr", "ssim", "colorfulness"]  # defined by both colorbench and ct2, no weight files


def _config(tmp_path, name: str, evaluation: dict) -> str:
    images = tmp_path / "photos"
    if not images.exists():
        images.mkdir()
        rng = np.random.default_rng(0)
        yy, xx = np.mgrid[0:40, 0:40] / 40
        for k in range(5):
            field = np.stack([np.sin(5 * xx + k), np.cos(4 * yy - k), xx * yy], -1)
            Image.fromarray(np.clip(128 + 100 * field + rng.normal(0, 8, field.shape), 0, 255).astype(np.uint8)).save(
                images / f"p{k}.png")
    cfg = {
        "version": 1, "seed": 0, "device": "cpu", "output_dir": str(tmp_path / name), "scale": "small",
        "scales": {"small": {"eval_size": 32, "max_test_images": 5}},
        "evaluation": {"batch_size": 4, "grid_images": 2, "chroma_threshold": 0, **evaluation},
        "datasets": [{"name": "photos", "source": "folder", "root": str(images), "split": {"train": 0.0, "val": 0.0, "test": 1.0}}],
        "baselines": [{"name": "gray"}, {"name": "oracle"}],
    }
    path = tmp_path / f"{name}.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return str(path)


def test_default_protocol_keeps_earlier_fingerprints():
    hashes = {"inception-fid": "ab" * 32}
    legacy = canonical_hash({"dataset": "d" * 16, "metric": "fid", "weights": hashes})[:16]
    assert metric_fingerprint("d" * 16, "fid", hashes) == legacy
    assert metric_fingerprint("d" * 16, "fid", hashes, "ct2") != legacy


def test_compare_refuses_tables_of_different_protocols(tmp_path, capsys):
    def table(name: str, protocol: str):
        folder = tmp_path / name
        folder.mkdir()
        write_results(folder, [ResultRecord("r", "kodak24", "zhang", "fid", 30.0, None, None, 24, False, "FID", "ok", "",
                                            metric_fingerprint("d" * 16, "fid", {}, protocol))])
        return str(folder)

    assert main(["compare", table("ours", "colorbench"), table("same", "colorbench")]) == 0
    assert main(["compare", table("ct2", "ct2"), table("base", "colorbench")]) == 2
    assert "incompatible tables" in capsys.readouterr().err


def test_run_records_the_protocol_and_compare_refuses_mixed_runs(tmp_path, capsys):
    assert main(["run", _config(tmp_path, "ct2", {"protocol": "ct2", "metrics": METRICS})]) == 0
    assert main(["run", _config(tmp_path, "cb", {"metrics": METRICS})]) == 0
    ct2_run, cb_run = tmp_path / "ct2", tmp_path / "cb"
    run = json.loads((ct2_run / "run.json").read_text())
    assert run["evaluation"]["protocol"] == "ct2" and run["evaluation"]["protocol_source"].startswith("shuchenweng/CT2")
    a, b = pd.read_csv(ct2_run / "results.csv"), pd.read_csv(cb_run / "results.csv")
    assert set(a["protocol"]).isdisjoint(set(b["protocol"]))
    # ct2's SSIM (data range 225, uniform window) is another number than colorbench's on the same images
    key = ["baseline", "metric"]
    assert (a.set_index(key).loc[("gray", "ssim"), "value"] != b.set_index(key).loc[("gray", "ssim"), "value"])
    capsys.readouterr()
    assert main(["compare", str(ct2_run), str(cb_run)]) == 2
    assert "incompatible tables" in capsys.readouterr().err
    page = (ct2_run / "reports" / "index.html").read_text()
    assert "Evaluation protocol ct2: shuchenweng/CT2@cd40f5a" in page and "data_range=225" in page
    assert "Evaluation protocol" not in (cb_run / "reports" / "index.html").read_text()
    assert "Evaluation protocol ct2" in (ct2_run / "summary.md").read_text()


def test_run_without_metrics_takes_the_protocol_set_and_labels_unverified_weights(tmp_path, torchvision_inception_file):
    path = _config(tmp_path, "dd", {"protocol": "ddcolor"})
    assert main(["run", path, "--weights-file", f"inception-v3-google={torchvision_inception_file}"]) == 0
    table = pd.read_csv(tmp_path / "dd" / "results.csv")
    assert set(table["metric"]) == {"fid", "colorfulness", "psnr"} and (table["status"] == "ok").all()
    page = (tmp_path / "dd" / "reports" / "index.html").read_text()
    assert f"Unverified weights: inception-v3-google = {torchvision_inception_file}" in page
    rows = {r["name"]: r for r in json.loads((tmp_path / "dd" / "run.json").read_text())["weights"]}
    assert rows["inception-v3-google"]["verified"] is False and rows["inception-v3-google"]["source"] == "--weights-file"


@pytest.mark.parametrize("evaluation,said", [
    ({"protocol": "ct3"}, "evaluation.protocol: unknown protocol 'ct3' (did you mean 'ct2'?)"),
    ({"protocol": "ddcolor", "metrics": ["fid", "ssim"]}, "evaluation.metrics[1]: protocol 'ddcolor' does not define 'ssim'"),
    ({"protocol": "ct2", "metrics": ["lpips_convrt"]}, "did you mean 'lpips_convert'"),
])
def test_bad_protocol_settings_exit_2_before_any_work(tmp_path, capsys, evaluation, said):
    assert main(["run", _config(tmp_path, "bad", evaluation)]) == 2
    assert said in capsys.readouterr().err and not (tmp_path / "bad").exists()


def test_protocol_scores_under_torchrun_equal_one_process(tmp_path, torchvision_inception_file, weights_cache):
    """ct2 on 2 gloo ranks (batches of 4: rank 0 two, rank 1 one batch) gives one process's numbers."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    rng = np.random.default_rng(3)
    pred, gt = tmp_path / "pred", tmp_path / "gt"
    pred.mkdir(), gt.mkdir()
    for i in range(10):
        truth = np.clip(rng.normal(128, 40, (40, 48, 3)), 0, 255).astype(np.uint8)
        Image.fromarray(truth).save(gt / f"i{i}.png")
        Image.fromarray(np.clip(truth.astype(int) + rng.integers(-25, 26, truth.shape), 0, 255).astype(np.uint8)).save(
            pred / f"fake_i{i}.png")
    args = ["-m", "colorbench", "score", "--pred", str(pred), "--gt", str(gt), "--protocol", "ct2", "--metrics",
            "fid,psnr_convert,ssim,lpips_convert,colorfulness", "--weights-file",
            f"inception-v3-google={torchvision_inception_file}", "--batch-size", "4", "--device", "cpu", "--json"]
    env = {**os.environ, "COLORBENCH_CACHE": str(weights_cache), "OMP_NUM_THREADS": "1", "COLORBENCH_DIST_TIMEOUT": "300",
           "PYTHONPATH": os.pathsep.join(filter(None, [str(Path(__file__).resolve().parents[1]), os.environ.get("PYTHONPATH")]))}
    runs = {}
    for ranks in (1, 2):
        launcher = ["-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2"] if ranks == 2 else []
        done = subprocess.run([sys.executable, *launcher, *args], env=env, capture_output=True, text=True, timeout=1500)
        assert done.returncode == 0, done.stderr[-3000:]
        runs[ranks] = json.loads(done.stdout.strip().splitlines()[-1])
    assert runs[1]["n"] == runs[2]["n"] == 10
    for name in ("fid", "psnr_convert", "ssim", "lpips_convert", "colorfulness"):
        assert runs[2][name] == pytest.approx(runs[1][name], rel=1e-9), name
