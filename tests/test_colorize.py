"""`colorbench colorize` on a user's folder: what it refuses before writing anything, what it
lists, and that it writes exactly what it says (issue 23, items 3, 13 and 15)."""
from __future__ import annotations

import os

import numpy as np
import pytest
import torch
import yaml
from PIL import Image

from colorbench.cli import main


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("colorize-run")
    cfg = {"version": 1, "device": "cpu", "output_dir": str(tmp / "run"), "scale": "small",
           "scales": {"small": {"eval_size": 16, "max_test_images": 2}},
           "evaluation": {"metrics": ["mse"], "grid_images": 0},
           "datasets": [{"name": "kodak24", "split": {"train": 0.0, "val": 0.0, "test": 1.0}}],
           "baselines": [{"name": "gray"}]}
    (tmp / "b.yaml").write_text(yaml.safe_dump(cfg))
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("COLORBENCH_CACHE", str(tmp / "cache"))
        assert main(["run", str(tmp / "b.yaml")]) == 0
    return tmp / "run"


def _photo(path, h=12, w=20, seed=0, fmt=None):
    path.parent.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    Image.fromarray(rng.integers(0, 256, size=(h, w, 3), dtype=np.uint8)).save(path, format=fmt)
    return path


def _tree(folder):
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def _colorize(run_dir, source, out, *extra):
    return main(["colorize", "--run", str(run_dir), "--baseline", "gray", "--input", str(source), "--out", str(out),
                 "--device", "cpu", *extra])


def _one_line(capsys, *words):
    captured = capsys.readouterr()
    err = captured.err.strip()
    assert all(w in err for w in words) and "\n" not in err, err
    return captured


def test_an_out_folder_holding_the_input_is_refused_and_nothing_is_written(run_dir, tmp_path, capsys):
    # Before: only --out inside --input was refused; --input pics/album --out pics overwrote an original.
    pics = tmp_path / "pics"
    _photo(pics / "album" / "album" / "x.png", seed=1)  # pics/album/x.png would be the output of album/x.png
    _photo(pics / "album" / "x.png", seed=2)
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "link").symlink_to(pics / "album" / "album")
    before = _tree(pics)
    for out in (pics, pics / "album", pics / "album" / "new", tmp_path / "link"):
        assert _colorize(run_dir, pics / "album", out) == 2
        _one_line(capsys, "--out", "--input", "overlap")
        assert _tree(pics) == before
    assert _colorize(run_dir, tmp_path / "link", pics / "album") == 2  # the input itself through a link
    _one_line(capsys, "overlap")
    assert _tree(pics) == before


def test_inputs_that_would_share_an_output_are_refused_naming_them(run_dir, tmp_path, capsys):
    # Before: "12 images colorized" with 10 files written: a.jpg and a.png both became a.png.
    source = tmp_path / "in"
    _photo(source / "a.jpg", seed=1, fmt="JPEG")
    _photo(source / "a.png", seed=2)
    _photo(source / "b.PNG", seed=3, fmt="PNG")
    _photo(source / "b.png", seed=4)
    _photo(source / "c.png", seed=5)
    assert _colorize(run_dir, source, tmp_path / "out") == 2
    _one_line(capsys, "--input: 2 output name(s)", "a.jpg and a.png -> a.png", "b.PNG and b.png -> b.png")
    assert not (tmp_path / "out").exists()


def test_names_differing_only_in_case_are_refused_as_on_a_case_folding_disk(run_dir, tmp_path, capsys):
    source = tmp_path / "in"
    _photo(source / "Sub" / "x.png", seed=1)
    _photo(source / "sub" / "X.jpg", seed=2, fmt="JPEG")
    assert _colorize(run_dir, source, tmp_path / "out") == 2
    _one_line(capsys, "Sub/x.png and sub/X.jpg")
    assert not (tmp_path / "out").exists()


def test_existing_outputs_are_kept_unless_force(run_dir, tmp_path, capsys):
    source, out = tmp_path / "in", tmp_path / "out"
    _photo(source / "a.png", seed=1)
    _photo(source / "sub" / "b.jpg", seed=2, fmt="JPEG")
    out.mkdir()
    (out / "a.png").write_bytes(b"the user's own a.png")
    assert _colorize(run_dir, source, out) == 2
    _one_line(capsys, "--out: 1 output file(s) already exist (a.png)", "--force")
    assert _tree(out) == {"a.png": b"the user's own a.png"}
    assert _colorize(run_dir, source, out, "--force") == 0
    assert sorted(_tree(out)) == ["a.png", "sub/b.png"] and Image.open(out / "a.png").size == (20, 12)


def test_the_printed_count_is_the_number_of_files_written(run_dir, tmp_path, capsys):
    source, out = tmp_path / "in", tmp_path / "out"
    for k in range(3):
        _photo(source / f"p{k}.png", seed=k)
    (source / "broken.jpg").write_bytes(b"not a jpeg")
    assert _colorize(run_dir, source, out) == 6
    captured = capsys.readouterr()
    assert "3 images colorized" in captured.out and "1 file(s) skipped: broken.jpg (unreadable" in captured.err
    assert sorted(_tree(out)) == ["p0.png", "p1.png", "p2.png"]


def test_files_with_unsupported_suffixes_are_listed(run_dir, tmp_path, capsys):
    # Before: notes.txt and photo.heic were passed over without a word.
    source = tmp_path / "in"
    _photo(source / "a.png")
    (source / "notes.txt").write_text("shot in 1950")
    (source / "sub").mkdir()
    (source / "sub" / "photo.heic").write_bytes(b"\x00" * 16)
    (source / ".DS_Store").write_bytes(b"litter")
    assert _colorize(run_dir, source, tmp_path / "out") == 0
    err = capsys.readouterr().err
    assert "2 file(s) ignored, not an image suffix colorbench reads: notes.txt, sub/photo.heic" in err, err
    assert ".DS_Store" not in err


def test_a_model_without_an_input_size_sees_a_bounded_photo(run_dir, tmp_path, capsys, monkeypatch):
    # Before: gray (no input size) ran on the full-resolution L: memory grew with the photo.
    from baselines.reference import Gray

    seen = []
    original = Gray.colorize

    def recording(self, L, target_rgb=None):
        seen.append(tuple(L.shape[-2:]))
        return original(self, L, target_rgb)

    monkeypatch.setattr(Gray, "colorize", recording)
    monkeypatch.setattr("colorbench.pipeline.colorize.MAX_MODEL_SIDE", 64)
    source = tmp_path / "in"
    _photo(source / "wide.png", h=50, w=200)
    _photo(source / "small.png", h=30, w=40)
    assert _colorize(run_dir, source, tmp_path / "out") == 0
    assert sorted(seen) == [(16, 64), (30, 40)]  # long side shrunk to 64, aspect kept; a small photo as it is
    assert Image.open(tmp_path / "out" / "wide.png").size == (200, 50)  # the output at the photo's own size


def test_strips_change_no_output_code():
    import colorbench.pipeline.colorize as C
    from baselines.registry import BASELINES

    rgb = torch.from_numpy(np.random.default_rng(0).integers(0, 256, size=(2, 3, 37, 53), dtype=np.uint8))
    for name, size in (("gray", None), ("resnet_lab", 32), ("cnn_rgb", 32)):
        torch.manual_seed(1)
        model = BASELINES.get(name).create().eval()
        whole = C.colorize_batch(model, rgb, size, torch.device("cpu"))
        with pytest.MonkeyPatch.context() as mp:
            mp.setattr(C, "STRIP_PIXELS", 200)  # 1 row of the batch of 2 per strip
            assert torch.equal(C.colorize_batch(model, rgb, size, torch.device("cpu")), whole), name


def test_colorize_batch_equals_the_whole_image_computation():
    """Against the direct formula: L to the model, ab bilinearly back, joined with L, rounded to 8 bits."""
    import torch.nn.functional as F

    import colorbench.pipeline.colorize as C
    from baselines.registry import BASELINES
    from colorbench.color import lab_to_rgb, rgb_to_lab
    from colorbench.imageio import to_uint8

    rgb8 = torch.from_numpy(np.random.default_rng(1).integers(0, 256, size=(1, 3, 45, 61), dtype=np.uint8))
    rgb = rgb8.float() / 255
    torch.manual_seed(2)
    model = BASELINES.get("resnet_lab").create().eval()
    L = rgb_to_lab(rgb)[:, :1]
    with torch.no_grad():
        ab = model.colorize(F.interpolate(L, size=(32, 32), mode="bilinear", antialias=True, align_corners=False))[:, 1:]
    ab = F.interpolate(ab, size=(45, 61), mode="bilinear", antialias=True, align_corners=False)
    expected = to_uint8(lab_to_rgb(torch.cat((L, ab), dim=1))[0])
    got = C.colorize_batch(model, rgb8, 32, torch.device("cpu"))[0].permute(1, 2, 0).numpy()
    assert np.array_equal(got, expected)
    assert C.model_size(3000, 1000, None, 1024) == (1024, 341) and C.model_size(300, 100, None, 1024) == (300, 100)
    assert C.model_size(3000, 1000, 128, 1024) == (128, 128)


def test_a_colorized_output_that_breaks_the_contract_is_skipped_and_listed(run_dir, tmp_path, capsys, monkeypatch):
    from baselines.reference import Gray

    monkeypatch.setattr(Gray, "colorize", lambda self, L, target_rgb=None: torch.full((L.shape[0], 3, *L.shape[2:]), float("nan")))
    source = tmp_path / "in"
    _photo(source / "a.png")
    assert _colorize(run_dir, source, tmp_path / "out") == 6
    captured = capsys.readouterr()
    assert "0 images colorized" in captured.out and "a.png (the model's output: colorize() returned 240 of 240 pixels" in captured.err
    assert not os.path.exists(tmp_path / "out" / "a.png")
