"""Folder matching, the shared scoring routine and `colorbench score`."""
from __future__ import annotations

import csv
import json
import os

import numpy as np
import pytest
import torch
from PIL import Image
from skimage.metrics import mean_squared_error

from colorbench.errors import DataError
from colorbench.imageio import load_rgb
from colorbench.metrics import pixel
from colorbench.metrics.base import MetricContext
from colorbench.scoring import match_folders, score_pairs

CTX = MetricContext()


def _save(path, arr):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(arr.astype(np.uint8)).save(path)


@pytest.fixture
def folders(tmp_path):
    """gt as .jpg (and one .png in a subfolder), predictions as .png; one missing, one extra."""
    rng = np.random.default_rng(0)
    gt, pred = tmp_path / "gt", tmp_path / "pred"
    for name in ("a", "b", "c", "sub/d", "e"):
        img = rng.integers(0, 256, size=(24, 20, 3))
        _save(gt / f"{name}.{'png' if name == 'sub/d' else 'jpg'}", img)
        if name != "e":  # e has no prediction
            _save(pred / f"{name}.png", np.clip(img + rng.integers(-20, 21, size=img.shape), 0, 255))
    _save(pred / "zz_extra.png", rng.integers(0, 256, size=(24, 20, 3)))
    (pred / ".a.png.tmp").write_bytes(b"partial")  # hidden: ignored
    (gt / "notes.txt").write_text("not an image")
    return pred, gt


def test_match_folders(folders, tmp_path):
    pred, gt = folders
    m = match_folders(pred, gt)
    assert [p.id for p in m.pairs] == ["a", "b", "c", "sub/d"]
    assert m.missing == ["e"] and m.extra == ["zz_extra"] and m.ambiguous == []
    assert m.pairs[0].gt.suffix == ".jpg" and m.pairs[0].pred.suffix == ".png"
    _save(gt / "b.png", np.zeros((24, 20, 3)))  # b.jpg and b.png: ambiguous, not scored
    m = match_folders(pred, gt)
    assert m.ambiguous == ["b"] and "b" not in [p.id for p in m.pairs]
    with pytest.raises(DataError):
        match_folders(tmp_path / "nope", gt)


def test_score_pairs_matches_direct_computation(folders):
    pred, gt = folders
    pairs = match_folders(pred, gt).pairs
    res = score_pairs(pairs, ["mse", "ssim", "acc313", "delta_cf"], CTX, batch_size=3)
    assert sorted(res.ids) == [p.id for p in pairs] and res.size_mismatch == res.unreadable == []
    by_id = {p.id: p for p in pairs}
    ref = [
        mean_squared_error(load_rgb(by_id[i].gt).double().numpy(), load_rgb(by_id[i].pred).double().numpy())
        for i in res.ids
    ]
    np.testing.assert_allclose(res.values["mse"].per_image.numpy(), ref, rtol=1e-6)
    assert res.values["delta_cf"].per_image is None
    one = score_pairs(pairs, ["mse", "ssim", "acc313", "delta_cf"], CTX, batch_size=1, workers=0)
    for name, mv in res.values.items():
        assert mv.value == pytest.approx(one.values[name].value, rel=1e-12)


def test_eight_bit_batches_score_exactly_as_decoded_floats(folders):
    """The engine hands 8-bit batches' codes to the Lab conversion (a lookup table): every value
    equals the functional metrics on load_rgb's float tensors, bitwise."""
    from colorbench.metrics import functional

    pairs = match_folders(*folders).pairs
    names = ["mse_ab", "acc313", "acc313_approx", "auc_ab", "psnr"]
    res = score_pairs(pairs, names, CTX, batch_size=len(pairs))
    by_id = {p.id: p for p in pairs}
    pred = torch.stack([load_rgb(by_id[i].pred) for i in res.ids])
    gt = torch.stack([load_rgb(by_id[i].gt) for i in res.ids])
    for name in names:
        assert torch.equal(res.values[name].per_image, getattr(functional, name)(pred, gt)), name


def test_size_policies(folders):
    pred, gt = folders
    _save(pred / "c.png", np.full((12, 10, 3), 128))  # half size
    pairs = match_folders(pred, gt).pairs
    res = score_pairs(pairs, ["mse"], CTX)
    assert res.size_mismatch == ["c"] and "c" not in res.ids and len(res.ids) == 3
    res = score_pairs(pairs, ["mse"], CTX, size_policy="resize")
    assert res.resized == ["c"] and "c" in res.ids and len(res.ids) == 4
    with pytest.raises(DataError, match="c: prediction 10x12, ground truth 20x24"):
        score_pairs(pairs, ["mse"], CTX, size_policy="error")


def test_unreadable_listed_or_strict(folders):
    pred, gt = folders
    (pred / "a.png").write_bytes(b"not a png")
    pairs = match_folders(pred, gt).pairs
    res = score_pairs(pairs, ["mse"], CTX)
    assert res.unreadable == ["a"] and "a" not in res.ids
    with pytest.raises(DataError, match="unreadable"):
        score_pairs(pairs, ["mse"], CTX, strict=True)


def test_mixed_sizes_keep_ids_aligned(tmp_path):
    rng = np.random.default_rng(5)
    gt, pred = tmp_path / "gt", tmp_path / "pred"
    for k in range(7):
        h, w = (16, 16) if k % 2 else (20, 24)
        img = rng.integers(0, 256, size=(h, w, 3))
        _save(gt / f"{k}.png", img)
        _save(pred / f"{k}.png", np.clip(img + k, 0, 255))
    res = score_pairs(match_folders(pred, gt).pairs, ["mse"], CTX, batch_size=2)
    for i, v in zip(res.ids, res.values["mse"].per_image.tolist()):
        ref = mean_squared_error(load_rgb(gt / f"{i}.png").numpy(), load_rgb(pred / f"{i}.png").numpy())
        assert v == pytest.approx(ref, rel=1e-6)


def _cli(argv):
    from colorbench.cli import main

    return main(["score", *argv])


def test_score_cli_json_and_out(folders, tmp_path, capsys):
    pred, gt = folders
    out = tmp_path / "out"
    code = _cli(["--pred", str(pred), "--gt", str(gt), "--metrics", "psnr,mse", "acc313",
                 "--json", "--out", str(out)])
    captured = capsys.readouterr()
    assert code == 0
    data = json.loads(captured.out)  # exactly one JSON document on stdout
    assert set(data) == {"psnr", "mse", "acc313", "n"} and data["n"] == 4
    assert "1 missing predictions: e" in captured.err and "1 extra predictions" in captured.err
    rows = list(csv.DictReader(open(out / "per_image.csv")))
    assert [r["id"] for r in rows] and len(rows) == 4
    assert np.mean([float(r["mse"]) for r in rows]) == pytest.approx(data["mse"], rel=1e-12)
    summary = json.loads((out / "summary.json").read_text())
    assert summary["missing"] == ["e"] and summary["metrics"]["psnr"]["direction"] == "higher"
    lo, hi = summary["metrics"]["psnr"]["ci95"]
    assert lo <= data["psnr"] <= hi


def test_score_cli_table(folders, capsys):
    pred, gt = folders
    assert _cli(["--pred", str(pred), "--gt", str(gt), "--metrics", "ssim,colorfulness,delta_cf"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split()[:3] == ["metric", "value", "better"]
    row = {line.split()[0]: line for line in lines[1:]}
    assert "higher" in row["ssim"] and row["delta_cf"].rstrip().endswith("-")  # no per-image CI
    assert row["colorfulness"].split()[2] == "-"  # no direction


def test_score_cli_unknown_metric_and_missing_folder(folders, tmp_path, capsys):
    pred, gt = folders
    assert _cli(["--pred", str(pred), "--gt", str(gt), "--metrics", "psnrr", "--json"]) == 2
    captured = capsys.readouterr()
    assert "did you mean 'psnr'" in captured.err and captured.out == ""
    assert _cli(["--pred", str(tmp_path / "none"), "--gt", str(gt), "--metrics", "mse"]) == 4


def test_registry_contents():
    from colorbench.metrics.registry import DEFAULT_METRICS, METRICS

    assert all(n in METRICS for n in DEFAULT_METRICS)
    for s in pixel.SPECS:
        assert METRICS.get(s.name) is s
    assert all(len(e.obj.definition) > 80 for e in METRICS.entries())


def test_one_metric_that_cannot_score_fails_alone_with_its_reason(tmp_path, capsys):
    rng = np.random.default_rng(1)
    gt, pred = tmp_path / "gt", tmp_path / "pred"
    mses = []
    for name, size in (("big1", 24), ("tiny", 8), ("big2", 24)):
        img = rng.integers(0, 256, size=(size, size, 3))
        _save(gt / f"{name}.png", img)
        _save(pred / f"{name}.png", np.clip(img + 9, 0, 255))
        mses.append(mean_squared_error(img / 255.0, np.clip(img + 9, 0, 255) / 255.0))
    out = tmp_path / "scores"
    code = _cli(["--pred", str(pred), "--gt", str(gt), "--metrics", "mse,ssim", "--json", "--out", str(out)])
    captured = capsys.readouterr()
    assert code == 6, captured.err  # partial: before, one tiny image threw away every metric (traceback)
    scored = json.loads(captured.out)
    assert scored["ssim"] is None and scored["n"] == 3
    assert scored["mse"] == pytest.approx(np.mean(mses), rel=1e-6)  # float32 decoding; every image, the tiny one too
    assert "metric ssim failed" in captured.err and "11x11" in captured.err
    summary = json.loads((out / "summary.json").read_text())
    assert "11x11" in summary["failed"]["ssim"] and "mse" in summary["metrics"]


def test_fid_of_a_single_image_fails_fid_only(tmp_path, capsys):
    rng = np.random.default_rng(2)
    img = rng.integers(0, 256, size=(32, 32, 3))
    _save(tmp_path / "gt" / "only.png", img)
    _save(tmp_path / "pred" / "only.png", 255 - img)
    code = _cli(["--pred", str(tmp_path / "pred"), "--gt", str(tmp_path / "gt"), "--metrics", "psnr,fid,kid", "--json"])
    captured = capsys.readouterr()
    assert code == 6, captured.err
    scored = json.loads(captured.out)
    assert scored["fid"] is None and scored["kid"] is None and scored["psnr"] > 0
    assert "at least 2" in captured.err


def test_an_unwritable_out_folder_is_refused_before_scoring(folders, tmp_path, capsys, monkeypatch):
    pred, gt = folders
    (tmp_path / "afile").write_text("x")

    def must_not_run(*args, **kwargs):
        raise AssertionError("scored before checking --out")

    monkeypatch.setattr("colorbench.scoring.engine.score_pairs", must_not_run)
    code = _cli(["--pred", str(pred), "--gt", str(gt), "--metrics", "mse", "--out", str(tmp_path / "afile" / "out")])
    err = capsys.readouterr().err.strip()
    assert code == 2 and "--out" in err and "is a file" in err and "\n" not in err, err


def test_file_names_that_are_not_utf8(tmp_path, capsys):
    rng = np.random.default_rng(3)
    name = os.fsdecode(b"caf\xe9")  # latin-1 bytes: not valid UTF-8
    img = rng.integers(0, 256, size=(16, 16, 3))
    for folder, arr in (("gt", img), ("pred", np.clip(img + 5, 0, 255))):
        _save(tmp_path / folder / f"{name}.png", arr)
    out = tmp_path / "scores"
    assert _cli(["--pred", str(tmp_path / "pred"), "--gt", str(tmp_path / "gt"), "--metrics", "mse", "--out", str(out)]) == 0
    rows = list(csv.reader((out / "per_image.csv").open(encoding="utf-8")))
    assert rows[1][0] == "caf\\udce9"  # written as visible escapes, never as invalid UTF-8


def test_batches_are_bounded_by_pixels_not_by_count(tmp_path):
    from colorbench.scoring.batches import plan_batches

    rng = np.random.default_rng(4)
    for i, size in enumerate([40, 40, 40, 12, 40, 12, 12]):
        img = rng.integers(0, 256, size=(size, size, 3))
        _save(tmp_path / "gt" / f"{i}.png", img)
        _save(tmp_path / "pred" / f"{i}.png", img)
    pairs = match_folders(tmp_path / "pred", tmp_path / "gt").pairs
    plan = plan_batches(pairs, 16, "exclude", max_pixels=2 * 40 * 40)
    sizes = [sum(item.pixels for item in batch) for batch in plan.batches]
    assert max(sizes) <= 2 * 40 * 40 and sum(sizes) == 4 * 40 * 40 + 3 * 12 * 12
    assert sorted(item.pair.id for batch in plan.batches for item in batch) == [str(i) for i in range(7)]
    assert all(len({item.size for item in batch}) == 1 for batch in plan.batches)  # one size per batch
    assert len(plan_batches(pairs, 16, "exclude").batches) == 2  # without the small budget: one batch per size


def test_when_every_pair_differs_in_size_the_message_lists_them(folders, capsys):
    # Before: "no image pairs could be scored", nothing more.
    from colorbench.cli import main

    pred, gt = folders
    for name in ("a", "b", "c", "sub/d"):
        _save(pred / f"{name}.png", np.full((12, 10, 3), 128))
    assert main(["score", "--pred", str(pred), "--gt", str(gt), "--metrics", "mse", "--device", "cpu"]) == 4
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert err == ("colorbench: error: no image pairs could be scored: of 4 matched pair(s): 4 differ in size from "
                   "their ground truth, excluded under size policy 'exclude' (a (prediction 10x12, ground truth 20x24); "
                   "b (prediction 10x12, ground truth 20x24); c (prediction 10x12, ground truth 20x24); ...); "
                   "size policy 'resize' scores them resized"), err
