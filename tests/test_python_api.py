"""colorbench from Python: score() equals `colorbench score` for every registered metric (folders,
arrays and quantised floats), create() equals score() and accumulates as torchmetrics does (a
loop of updates, forward, reset, two gloo ranks), bad input is refused naming what was wrong,
list() is what `list metrics --json` prints, run() is what `colorbench run` calls, and
importing colorbench does not import torch."""
from __future__ import annotations

import contextlib
import io
import json
import math
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from PIL import Image

import colorbench
import colorbench.metrics as cm
from colorbench.cli import main
from colorbench.errors import ConfigError, DataError
from colorbench.imageio import load_rgb_codes, save_png
from colorbench.metrics.registry import METRICS
from colorbench.registry import UnknownNameError

REPO = Path(__file__).resolve().parents[1]
NAMES = METRICS.names()
NETWORK = {"lpips", "lpips_vgg", "fid", "kid"}  # float32 convolutions: batch composition changes the last bits
N, H, W, BATCH = 6, 176, 192, 4  # 176 px: msssim_ab has a value; FID and KID need several images
ENGINE_BATCHES = [(0, 4), (4, 6)]  # the engine's plan for 6 same-size pairs at batch size 4


def _images(n: int = N, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """(n, 3, H, W) uint8 photo-like ground truths (smooth colour fields and noise) and a
    desaturated, shifted guess of each; stacked from transposed HWC images, so in channels-last
    memory, as numpy images often are (the API must score them as contiguous ones)."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:H, 0:W] / W
    truths, guesses = [], []
    for i in range(n):
        base = np.stack([np.sin(x * (i + 2)), np.cos(y * (i + 3)), x * y], -1) * 0.4 + 0.5
        truth = np.clip(base + rng.normal(0, 0.05, base.shape), 0, 1)
        guess = np.clip(0.7 * truth + 0.3 * truth.mean(-1, keepdims=True) + 0.03, 0, 1)
        truths.append(np.rint(truth * 255).astype(np.uint8).transpose(2, 0, 1))
        guesses.append(np.rint(guess * 255).astype(np.uint8).transpose(2, 0, 1))
    return np.stack(guesses), np.stack(truths)


def _fresh_cache(root: Path, weights_cache: Path) -> Path:
    root.mkdir(parents=True)
    (root / "weights").symlink_to(weights_cache / "weights", target_is_directory=True)
    return root


@pytest.fixture(scope="module")
def pairs(tmp_path_factory, weights_cache):
    """The images as arrays and as PNG folders (ids img0..img5, sorted as the arrays)."""
    tmp = tmp_path_factory.mktemp("pairs")
    pred, gt = _images()
    for folder, stack in (("pred", pred), ("gt", gt)):
        (tmp / folder).mkdir()
        for i, codes in enumerate(stack):
            Image.fromarray(codes.transpose(1, 2, 0)).save(tmp / folder / f"img{i}.png")
    return {"tmp": tmp, "pred": pred, "gt": gt, "pred_dir": tmp / "pred", "gt_dir": tmp / "gt"}


def _in_cache(root: Path, fn):
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("COLORBENCH_CACHE", str(root))
        return fn()


@pytest.fixture(scope="module")
def cli(pairs, weights_cache):
    """`colorbench score --out` with every registered metric, in a fresh cache."""
    out = pairs["tmp"] / "cli"
    argv = ["score", "--pred", str(pairs["pred_dir"]), "--gt", str(pairs["gt_dir"]), "--metrics", ",".join(NAMES),
            "--batch-size", str(BATCH), "--device", "cpu", "--out", str(out), "--json"]
    stdout = io.StringIO()
    with contextlib.redirect_stdout(stdout):
        code = _in_cache(_fresh_cache(pairs["tmp"] / "cache-cli", weights_cache), lambda: main(argv))
    assert code == 0
    summary = json.loads((out / "summary.json").read_text())
    return {"out": out, "json": json.loads(stdout.getvalue()), "summary": summary,
            "per_image": pd.read_csv(out / "per_image.csv", index_col="id")}


@pytest.fixture(scope="module")
def from_folders(pairs, weights_cache):
    run = lambda: colorbench.score(str(pairs["pred_dir"]), str(pairs["gt_dir"]), metrics=NAMES, batch_size=BATCH,
                                   device="cpu")
    return _in_cache(_fresh_cache(pairs["tmp"] / "cache-folders", weights_cache), run)


@pytest.fixture(scope="module")
def from_arrays(pairs, weights_cache):
    run = lambda: colorbench.score(torch.from_numpy(pairs["pred"]), pairs["gt"], metrics=NAMES, batch_size=BATCH,
                                   device="cpu")
    return _in_cache(_fresh_cache(pairs["tmp"] / "cache-arrays", weights_cache), run)


def _without_cache_path(entry: dict) -> dict:
    """A summary.json metric entry without the FID statistics' cache path (each run had its own cache)."""
    extra = {k: v for k, v in entry["extra"].items() if k != "real_stats_cache"}
    return {**entry, "extra": extra}


def _same(a: float | None, b: float | None) -> bool:
    if a is None or b is None or math.isnan(a) or math.isnan(b):
        return (a is None or math.isnan(a)) and (b is None or math.isnan(b))
    return a == b


@pytest.mark.parametrize("name", NAMES)
def test_score_equals_the_cli_for_every_metric(name, cli, from_folders, from_arrays):
    """Bit for bit: value, CI, extra (weights' SHA-256, warnings) and every per-image value, from
    folders and from the same images as uint8 arrays."""
    expected = _without_cache_path(cli["summary"]["metrics"][name])
    for scores in (from_folders, from_arrays):
        entry = json.loads(json.dumps(scores.provenance["metrics"][name]))  # as summary.json holds it
        assert _without_cache_path(entry) == expected
        row = scores.summary.loc[name]
        assert _same(row["value"], cli["json"][name]) and row["n"] == N
        if expected["ci95"] is None:
            assert math.isnan(row["ci_low"]) and math.isnan(row["ci_high"])
        else:
            assert [row["ci_low"], row["ci_high"]] == expected["ci95"]
        if name in cli["per_image"]:
            got = scores.per_image[name].to_numpy()
            assert np.array_equal(got, cli["per_image"][name].to_numpy(), equal_nan=True)
        else:
            assert name not in scores.per_image


def test_score_writes_what_the_cli_writes(cli, from_folders, tmp_path):
    from_folders.save(tmp_path)
    assert (tmp_path / "per_image.csv").read_bytes() == (cli["out"] / "per_image.csv").read_bytes()
    ours = json.loads((tmp_path / "summary.json").read_text())
    for doc in (ours, cli["summary"], cli["json"], ours_json := from_folders.to_json()):
        if "metrics" in doc:
            doc["metrics"] = {k: _without_cache_path(v) for k, v in doc["metrics"].items()}
        for label in doc.get("weights", {}).values():  # each side used its own fresh cache
            label.pop("path")
    assert ours == cli["summary"]
    assert ours_json == cli["json"]
    assert list(from_folders.per_image.index) == [f"img{i}" for i in range(N)]
    assert from_folders.excluded == [] and from_folders.failed == {}
    assert from_folders.provenance["pred"] == str(from_folders.provenance["pred"])


def test_arrays_are_described_in_the_provenance(from_arrays):
    assert from_arrays.provenance["pred"] == f"Tensor uint8 ({N}, 3, {H}, {W})"
    assert from_arrays.provenance["gt"] == f"ndarray uint8 ({N}, 3, {H}, {W})"
    assert list(from_arrays.per_image.index) == [str(i) for i in range(N)]


def test_float_inputs_are_quantised_as_save_png_writes_them(tmp_path, weights_env):
    """Floats that are not k/255 (codes plus noise under half a code) score as the PNGs save_png
    writes from them, and as their codes rint(255 x) in float64."""
    pred, gt = _images(n=3, seed=1)
    rng = np.random.default_rng(2)
    pred_f = np.clip(pred / 255.0 + rng.uniform(-0.49, 0.49, pred.shape) / 255.0, 0, 1).astype(np.float32)
    (tmp_path / "gt").mkdir()
    for i, img in enumerate(torch.from_numpy(pred_f)):
        save_png(tmp_path / "pred" / f"{i}.png", img)
        Image.fromarray(gt[i].transpose(1, 2, 0)).save(tmp_path / "gt" / f"{i}.png")
    codes = torch.stack([load_rgb_codes(tmp_path / "pred" / f"{i}.png") for i in range(3)])
    assert np.array_equal(codes.numpy(), pred)  # noise under half a code rounds back
    assert np.array_equal(codes.numpy(), np.rint(pred_f.astype(np.float64) * 255).astype(np.uint8))
    metrics = ["psnr", "mse_ab", "colorfulness"]
    from_floats = colorbench.score(pred_f, gt, metrics=metrics, device="cpu")
    from_pngs = colorbench.score(str(tmp_path / "pred"), str(tmp_path / "gt"), metrics=metrics, device="cpu")
    from_codes = colorbench.score(codes, gt, metrics=metrics, device="cpu")
    assert from_floats.provenance["pred"].endswith(", quantised to 8-bit")
    for other in (from_pngs, from_codes):
        assert from_floats.summary["value"].tolist() == other.summary["value"].tolist()
        assert np.array_equal(from_floats.per_image.to_numpy(), other.per_image.to_numpy())


def _batches(pred: np.ndarray, gt: np.ndarray, bounds, as_float: bool):
    for lo, hi in bounds:
        p, t = torch.from_numpy(pred[lo:hi]), torch.from_numpy(gt[lo:hi])
        yield (p.float() / 255, t.float() / 255) if as_float else (p, t)


@pytest.mark.parametrize("name", NAMES)
def test_create_equals_score_for_every_metric(name, pairs, cli, weights_env):
    """In the engine's batches, uint8 codes and float32 k/255 give the CLI's value and per-image
    values bit for bit (both reach the accumulator as the same float32 tensor: the float pass is
    not repeated for the costly network metrics)."""
    expected = cli["summary"]["metrics"][name]
    for as_float in (False,) if name in NETWORK else (False, True):
        metric = cm.create(name)
        for p, t in _batches(pairs["pred"], pairs["gt"], ENGINE_BATCHES, as_float):
            metric.update(p, t)
        result = metric.result()
        assert _same(result.value, expected["value"]) and _same(float(metric.compute()), expected["value"])
        if name in cli["per_image"]:
            assert np.array_equal(result.per_image.numpy(), cli["per_image"][name].to_numpy(), equal_nan=True)
        else:
            assert result.per_image is None


@pytest.mark.parametrize("name", NAMES)
def test_a_loop_of_updates_equals_one_call(name, pairs, weights_env):
    """Batches of 2 against one update with every image: per-image values bit for bit; values
    equal to float64 summation order (running sums of pooled metrics, e.g. psnr_pooled's MSE
    sum), and to float32 rounding for the network metrics (batch composition changes their
    convolutions' last bits)."""
    loop, once = cm.create(name), cm.create(name)
    for p, t in _batches(pairs["pred"], pairs["gt"], [(0, 2), (2, 4), (4, 6)], as_float=False):
        loop.update(p, t)
    once.update(torch.from_numpy(pairs["pred"]), torch.from_numpy(pairs["gt"]))
    a, b = loop.result(), once.result()
    if name in NETWORK:
        assert math.isclose(a.value, b.value, rel_tol=1e-5, abs_tol=1e-7), (a.value, b.value)
    else:
        assert _same(a.value, b.value) or math.isclose(a.value, b.value, rel_tol=1e-12), (a.value, b.value)
        if a.per_image is not None:
            assert np.array_equal(a.per_image.numpy(), b.per_image.numpy(), equal_nan=True)


def test_forward_reset_and_torchmetrics_attributes(pairs):
    metric = cm.create("psnr")
    pred, gt = torch.from_numpy(pairs["pred"]), torch.from_numpy(pairs["gt"])
    first = metric(pred[:2], gt[:2])  # forward: this batch's value, accumulated too
    second = metric(pred[2:], gt[2:])
    alone = cm.create("psnr")
    alone.update(pred[2:], gt[2:])
    assert second.item() == alone.compute().item() and first.dtype == torch.float64
    whole = cm.create("psnr")
    whole.update(pred, gt)
    assert metric.compute().item() == whole.compute().item()
    metric.reset()
    metric.update(pred[:2], gt[:2])
    assert metric.compute().item() == first.item()
    assert metric.higher_is_better is True and cm.create("fid").higher_is_better is False
    assert cm.create("colorfulness").higher_is_better is None
    assert set(metric.state_dict()) <= {f"inner.{k}" for k in metric.inner._defaults}


WORKER = '''
import json, os, sys
import torch
import torch.distributed as dist
import colorbench.metrics as cm

names, data, out, batch = sys.argv[1].split(","), torch.load(sys.argv[2]), sys.argv[3], int(sys.argv[4])
rank, world = 0, 1
if "RANK" in os.environ:
    dist.init_process_group("gloo")
    rank, world = dist.get_rank(), dist.get_world_size()
n = len(data["pred"])
lo, hi = rank * n // world, (rank + 1) * n // world  # each rank its contiguous half
results = {}
for name in names:
    metric = cm.create(name)
    for k in range(lo, hi, batch):
        metric.update(data["pred"][k:min(k + batch, hi)], data["gt"][k:min(k + batch, hi)])
    r = metric.result()  # a collective: every rank computes
    results[name] = {"value": r.value, "per_image": None if r.per_image is None else r.per_image.tolist()}
if rank == 0:
    with open(out, "w") as fh:
        json.dump(results, fh)
if world > 1:
    dist.destroy_process_group()
'''


def test_two_gloo_ranks_each_updating_half_equal_one_process(pairs, tmp_path, weights_cache):
    """torchrun, 2 gloo ranks, each updating its half (3 images, one batch), against one process
    updating both halves in the same batches: per-image values equal, values to summation order."""
    (tmp_path / "worker.py").write_text(WORKER)
    torch.save({"pred": torch.from_numpy(pairs["pred"]), "gt": torch.from_numpy(pairs["gt"])}, tmp_path / "data.pt")
    env = {**os.environ, "COLORBENCH_CACHE": str(weights_cache), "OMP_NUM_THREADS": "1",
           "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH", "")]))}
    args = [str(tmp_path / "worker.py"), ",".join(NAMES), str(tmp_path / "data.pt")]
    runs = {"one": [sys.executable], "two": [sys.executable, "-m", "torch.distributed.run", "--standalone",
                                             "--nproc_per_node=2"]}
    for label, launcher in runs.items():
        done = subprocess.run([*launcher, *args, str(tmp_path / f"{label}.json"), "3"], env=env,
                              capture_output=True, text=True, timeout=900)
        assert done.returncode == 0, done.stderr[-3000:]
    one, two = (json.loads((tmp_path / f"{label}.json").read_text()) for label in runs)
    for name in NAMES:
        a, b = one[name], two[name]
        assert a["per_image"] == b["per_image"], name
        assert _same(a["value"], b["value"]) or math.isclose(a["value"], b["value"], rel_tol=1e-9, abs_tol=1e-12), \
            (name, a["value"], b["value"])


# --- bad input: one error naming what was wrong -------------------------------------------------

def _refused(exc_type, match, fn):
    with pytest.raises(exc_type, match=match) as info:
        fn()
    assert "\n" not in str(info.value)


def test_score_refuses_bad_arrays_naming_them(pairs):
    pred, gt = pairs["pred"][:2], pairs["gt"][:2]
    score = lambda p, g, **kw: colorbench.score(p, g, metrics=["psnr"], device="cpu", **kw)
    _refused(ValueError, r"pred: expected RGB of shape \(N, 3, H, W\), got \(2, 176, 192, 3\) \(channels last",
             lambda: score(pred.transpose(0, 2, 3, 1), gt))
    _refused(ValueError, r"gt: expected RGB of shape \(N, 3, H, W\), got \(3, 176, 192\)", lambda: score(pred, gt[0]))
    bad = gt / 255.0
    bad[1, 0, 0, 0] = 1.5
    _refused(ValueError, r"gt: floating-point RGB must be finite and in \[0, 1\], found values in \[0, 1.5\]",
             lambda: score(pred, bad))
    bad[1, 0, 0, 0] = np.nan
    _refused(ValueError, r"gt: floating-point RGB must be finite", lambda: score(pred, bad))
    _refused(TypeError, r"pred: expected uint8 or floating-point RGB in \[0, 1\], got int32",
             lambda: score(pred.astype(np.int32), gt))
    _refused(TypeError, r"pred: expected uint8 or floating-point RGB in \[0, 1\], got torch.int64",
             lambda: score(torch.from_numpy(pred).long(), gt))
    _refused(ValueError, r"pred has 2 images but gt has 1", lambda: score(pred, gt[:1]))
    _refused(ValueError, r"pred\[1\]: expected RGB of shape \(3, H, W\)", lambda: score([pred[0], pred], list(gt)))
    _refused(TypeError, r"pred is a folder but gt is an array", lambda: score(str(pairs["pred_dir"]), gt))
    _refused(TypeError, r"pred: expected a folder, a list of files, or an array", lambda: score(3, gt))
    _refused(ValueError, r"gt: an empty list", lambda: score(list(pred), []))
    _refused(UnknownNameError, r"unknown metric 'psnrr' \(did you mean 'psnr'", lambda: colorbench.score(pred, gt, "psnrr"))
    _refused(UnknownNameError, r"unknown protocol 'ntire'",
             lambda: score(pred, gt, protocol="ntire"))
    _refused(DataError, r"gt\[0\]: '.*nope.png' is not a file",
             lambda: score([pairs["pred_dir"] / "img0.png"], [pairs["tmp"] / "nope.png"]))


def test_lists_of_files_and_of_arrays_of_different_sizes(pairs):
    files = colorbench.score([pairs["pred_dir"] / f"img{i}.png" for i in (2, 0)],
                             [pairs["gt_dir"] / f"img{i}.png" for i in (2, 0)], metrics=["psnr"], device="cpu")
    folders = colorbench.score(pairs["pred_dir"], pairs["gt_dir"], metrics=["psnr"], device="cpu")
    assert list(files.per_image.index) == ["img2", "img0"]
    assert files.per_image.loc["img0", "psnr"] == folders.per_image.loc["img0", "psnr"]
    small = [pairs["pred"][0][:, :40, :50], pairs["pred"][1]]
    mixed = colorbench.score(small, [pairs["gt"][0][:, :40, :50], pairs["gt"][1]], metrics=["psnr"], device="cpu")
    assert mixed.n == 2 and mixed.per_image.loc["1", "psnr"] == folders.per_image.loc["img1", "psnr"]
    assert mixed.provenance["pred"] == "list of 2: ndarray uint8 (3, 40, 50), ndarray uint8 (3, 176, 192)"


def test_exclusions_are_listed_and_warned(pairs, tmp_path):
    gt = tmp_path / "gt"
    gt.mkdir()
    for name in ("img0", "img1", "only_in_gt"):
        (gt / f"{name}.png").write_bytes((pairs["gt_dir"] / f"{name if name != 'only_in_gt' else 'img2'}.png").read_bytes())
    with pytest.warns(UserWarning) as warned:
        scores = colorbench.score(pairs["pred_dir"], gt, metrics=["psnr"], device="cpu")
    assert [str(w.message) for w in warned] == ["colorbench.score: 1 missing predictions: only_in_gt",
                                                "colorbench.score: 4 extra predictions: img2, img3, img4, img5"]
    assert warned[0].filename == __file__  # pointed at the caller's line
    assert [(e.id, e.reason) for e in scores.excluded] == [
        ("only_in_gt", "missing prediction"), *[(f"img{i}", "extra prediction") for i in range(2, N)]]
    html = scores._repr_html_()
    assert "n = 2 image pairs" in html and "1 missing prediction" in html and "<table" in html
    assert "excluded: 4 extra prediction" in repr(scores)


def test_create_refuses_bad_names_options_and_input():
    _refused(UnknownNameError, r"unknown metric 'fdi' \(did you mean 'fid'", lambda: cm.create("fdi"))
    _refused(TypeError, r"metric 'kid' takes no option 'seeds' \(did you mean 'seed'\?\); it takes device, "
                        r"process_group, seed", lambda: cm.create("kid", seeds=1))
    _refused(TypeError, r"metric 'psnr' takes no option 'seed'", lambda: cm.create("psnr", seed=1))
    _refused(ValueError, r"device: ", lambda: cm.create("psnr", device="gpu0"))
    metric = cm.create("psnr")
    ok = torch.rand(2, 3, 16, 16)
    _refused(ValueError, r"pred: expected RGB batches of shape \(N, 3, H, W\), got \(2, 16, 16, 3\)",
             lambda: metric.update(ok.permute(0, 2, 3, 1), ok))
    bad = ok.clone()
    bad[1, 2, 3, 4] = 2.0
    _refused(ValueError, r"target: RGB inputs must be finite and in \[0, 1\], found values in \[.*, 2\]",
             lambda: metric.update(ok, bad))
    _refused(TypeError, r"target: expected floating-point RGB in \[0, 1\] or uint8, got torch.int32",
             lambda: metric.update(ok, ok.int()))
    _refused(TypeError, r"pred: expected a torch.Tensor \(N, 3, H, W\), got ndarray", lambda: metric.update(ok.numpy(), ok))
    _refused(ValueError, r"pred \(2, 3, 16, 16\) and target \(1, 3, 16, 16\) differ in shape",
             lambda: metric.update(ok, ok[:1]))
    assert cm.create("kid", seed=3).inner.seed == 3


def test_list_is_what_list_metrics_prints(capsys):
    assert main(["list", "metrics", "--json"]) == 0
    assert cm.list() == json.loads(capsys.readouterr().out)
    assert [d["name"] for d in cm.list()] == NAMES


def test_run_is_the_function_the_cli_calls(monkeypatch, tmp_path):
    calls = []

    class Result:
        output_dir, failed = tmp_path, []

        def subsets(self):
            return []

    def recorder(config, **options):
        calls.append((config, options))
        return Result()

    monkeypatch.setattr("colorbench.python_api.run", recorder)
    assert main(["run", "bench.yaml", "--device", "cpu", "--strict", "--only", "a, b", "--output-dir", "o"]) == 0
    assert calls == [("bench.yaml", {"device": "cpu", "strict": True, "output_dir": "o", "force": False,
                                     "only": ["a", "b"]})]


def test_run_from_a_dict_returns_the_tables_it_writes(tmp_path, weights_env):
    from colorbench.results import read_per_image, read_results

    config = {"version": 1, "seed": 0, "device": "cpu", "output_dir": str(tmp_path / "run"), "scale": "small",
              "scales": {"small": {"eval_size": 32, "max_test_images": 3}},
              "evaluation": {"metrics": ["mse", "psnr"], "batch_size": 4, "grid_images": 1},
              "datasets": [{"name": "kodak24", "split": {"train": 0.0, "val": 0.0, "test": 1.0}}],
              "baselines": [{"name": "gray"}]}
    result = colorbench.run(config)
    assert result.output_dir == tmp_path / "run" and result.failed == []
    written = read_results(tmp_path / "run" / "results.csv")
    table = result.results
    assert list(table.columns) == list(written.columns)
    assert table["value"].tolist() == written["value"].tolist() and table["metric"].tolist() == ["mse", "psnr"]
    pd.testing.assert_frame_equal(result.per_image.reset_index(drop=True),
                                  read_per_image(tmp_path / "run" / "per_image.csv"), check_dtype=False)
    assert result.document.config_path == "<dict>"
    _refused(ConfigError, r"<dict>: baselinez: unknown key \(did you mean 'baselines'\?\)",
             lambda: colorbench.run({**config, "baselinez": []}))


def test_importing_colorbench_does_not_import_torch():
    code = ("import sys, colorbench, colorbench.metrics; assert 'torch' not in sys.modules, 'torch'; "
            "assert callable(colorbench.metrics.create) and 'torch' in sys.modules; print('ok')")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300,
                          env={**os.environ, "PYTHONPATH": str(REPO)})
    assert done.returncode == 0 and done.stdout.strip() == "ok", done.stderr[-2000:]
    with pytest.raises(AttributeError, match="no attribute 'scroe'"):
        colorbench.scroe  # noqa: B018
