"""A corpus of awkward image files: each is converted (as documented) or skipped with its reason."""
from __future__ import annotations

import io
import os
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from colorbench.data.prepare import load_dataset
from colorbench.data.spec import TEST_ONLY, DatasetConfig, LoadOptions
from colorbench.errors import DataError
from colorbench.imageio import load_rgb_array


def _colour(h: int, w: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    base = rng.integers(40, 215, size=(1, 1, 3))
    return np.clip(base + rng.integers(-30, 30, size=(h, w, 3)), 0, 255).astype(np.uint8)


def _png16_rgb(path: Path, arr16: np.ndarray) -> None:
    """A 48-bit RGB PNG written by hand (PIL cannot write one)."""
    h, w, _ = arr16.shape
    raw = b"".join(b"\x00" + arr16[y].astype(">u2").tobytes() for y in range(h))

    def chunk(tag: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", w, h, 16, 2, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


LATIN1 = os.fsdecode(b"\xe9t\xe9 latin-1")


def build_corpus(root: Path) -> dict[str, str | None]:
    """Write the corpus; returns id -> expected exclusion reason (None: used)."""
    expected: dict[str, str | None] = {}
    img = Image.fromarray(_colour(40, 60))
    buf = io.BytesIO()
    img.save(buf, format="JPEG")
    (root / "truncated.jpg").write_bytes(buf.getvalue()[: len(buf.getvalue()) // 2])
    expected["truncated"] = "unreadable"
    (root / "empty.png").write_bytes(b"")
    expected["empty"] = "unreadable"
    (root / "text.png").write_text("this is not an image\n")
    expected["text"] = "unreadable"
    img.convert("CMYK").save(root / "cmyk.jpg")
    expected["cmyk"] = None
    _png16_rgb(root / "rgb16.png", _colour(20, 30, seed=1).astype(np.uint16) * 257)
    expected["rgb16"] = None
    Image.fromarray((_colour(20, 30, seed=2)[..., 0].astype(np.uint16) * 257)).save(root / "gray16.png")
    expected["gray16"] = "grayscale-mode"
    rgba = Image.fromarray(np.dstack([_colour(20, 30, seed=3), np.full((20, 30), 7, np.uint8)]), mode="RGBA")
    rgba.save(root / "rgba.png")
    expected["rgba"] = None
    img.quantize(colors=16).save(root / "palette.png")
    expected["palette"] = None
    img.convert("L").save(root / "gray.jpg")
    expected["gray"] = "grayscale-mode"
    Image.fromarray(np.repeat(_colour(20, 30, seed=4)[..., :1], 3, axis=2)).save(root / "equal.png")
    expected["equal"] = "equal-channels"
    Image.fromarray(np.array([[[200, 30, 40]]], np.uint8)).save(root / "one.png")
    expected["one"] = None
    Image.fromarray(_colour(4, 4, seed=5)).save(root / "four.png")
    expected["four"] = None
    exif = Image.Exif()
    exif[0x0112] = 6  # orientation: rotate 90 degrees clockwise to display
    Image.fromarray(_colour(20, 40, seed=6)).save(root / "exif.jpg", exif=exif.tobytes())
    expected["exif"] = None
    Image.fromarray(_colour(120, 120, seed=7)).save(root / "bomb.png")
    expected["bomb"] = "unreadable"  # with MAX_IMAGE_PIXELS lowered by the test
    Image.fromarray(_colour(20, 30, seed=8)).save(root / "café photo ü.png")
    expected["café photo ü"] = None
    Image.fromarray(_colour(20, 30, seed=9)).save(root / (LATIN1 + ".png"))
    expected[LATIN1] = None  # a name that is not valid UTF-8 (hashing it used to raise UnicodeEncodeError)
    return expected


@pytest.fixture()
def corpus(tmp_path, monkeypatch):
    monkeypatch.setenv("COLORBENCH_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 5000)  # 120x120 > 2 x 5000: a "bomb" at small cost
    root = tmp_path / "corpus"
    root.mkdir()
    return root, build_corpus(root)


def test_every_file_is_used_or_skipped_with_its_reason(corpus):
    root, expected = corpus
    ds = load_dataset(DatasetConfig(name="folder", source="folder", root=str(root), split=TEST_ONLY), LoadOptions(size=32), progress=False)
    got = {e.id: e.reason for e in ds.report.excluded}
    assert got == {k: v for k, v in expected.items() if v is not None}
    used = set(ds.split("test").ids)
    assert used == {k for k, v in expected.items() if v is None}
    assert ds.report.n_found == len(expected) and ds.report.n_used == len(used)
    for image_id, rgb in ds.split("test"):
        assert rgb.shape == (3, 32, 32) and 0 <= rgb.min() and rgb.max() <= 1, image_id
    bomb = next(e for e in ds.report.excluded if e.id == "bomb")
    assert "decompression bomb" in bomb.detail


def test_strict_turns_skips_into_an_error(corpus):
    root, _ = corpus
    with pytest.raises(DataError, match="unreadable"):
        load_dataset(DatasetConfig(name="folder", source="folder", root=str(root), split=TEST_ONLY), LoadOptions(size=32, strict=True), progress=False)


def test_documented_conversions(corpus):
    root, _ = corpus
    arr, mode = load_rgb_array(root / "exif.jpg")
    assert mode == "RGB" and arr.shape == (40, 20, 3)  # EXIF orientation applied
    arr, mode = load_rgb_array(root / "rgba.png")
    assert mode == "RGBA" and arr.shape == (20, 30, 3)  # alpha dropped, not composited
    expected = np.asarray(Image.open(root / "rgba.png").convert("RGB"), dtype=np.float64) / 255
    assert np.array_equal(arr, expected)
    arr, mode = load_rgb_array(root / "rgb16.png")
    reference = np.asarray(Image.open(root / "rgb16.png").convert("RGB"), dtype=np.float64) / 255
    assert arr.shape == (20, 30, 3) and np.array_equal(arr, reference)  # PIL keeps the high byte
    arr, mode = load_rgb_array(root / "cmyk.jpg")
    assert mode == "CMYK" and arr.shape == (40, 60, 3)
    arr, mode = load_rgb_array(root / "gray16.png")
    assert mode.startswith("I") and arr.max() <= 1 and np.allclose(arr[..., 0], arr[..., 2])


def test_a_run_over_the_corpus_completes_and_reports_every_name(corpus, tmp_path):
    import json

    import pandas as pd
    import yaml

    from colorbench.cli import main
    from colorbench.files import display_name

    root, expected = corpus
    cfg = {"version": 1, "device": "cpu", "output_dir": str(tmp_path / "out"), "scale": "small",
           "scales": {"small": {"eval_size": 16}}, "evaluation": {"metrics": ["mse"], "grid_images": 20},
           "datasets": [{"name": "corpus", "source": "folder", "root": str(root), "split": {"train": 0.0, "val": 0.0, "test": 1.0}}],
           "baselines": [{"name": "gray"}]}
    (tmp_path / "b.yaml").write_text(yaml.safe_dump(cfg))
    assert main(["run", str(tmp_path / "b.yaml")]) == 0
    ids = set(pd.read_csv(tmp_path / "out" / "per_image.csv", keep_default_na=False)["image_id"])
    assert ids == {display_name(k) for k, v in expected.items() if v is None}
    assert display_name(LATIN1) == "\\udce9t\\udce9 latin-1"
    run = json.loads((tmp_path / "out" / "run.json").read_text())
    assert LATIN1 in run["datasets"]["corpus"]["test_ids"]
    assert "%E9t%E9%20latin-1.png" in (tmp_path / "out" / "reports" / "index.html").read_text()
