"""Hygiene: grayscale / near-gray exclusion with reasons, unreadable files counted or strict, caching.

The imagenet-samples test prints the exclusion counts (run pytest -s to see them) and attaches
them to the JUnit XML as a property.
"""
from __future__ import annotations

import os
import time
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from skimage.color import rgb2lab

from colorbench.data.hygiene import REASONS
from colorbench.data.prepare import load_dataset
from colorbench.data.spec import TEST_ONLY, DatasetConfig, LoadOptions
from colorbench.errors import DataError

REPO = Path(__file__).resolve().parents[1]
_DATA_ENV = os.environ.get("COLORBENCH_DATA")  # read before any test monkeypatches it


def shared_datasets() -> Path:
    """COLORBENCH_DATA, else ../shared/datasets next to the repo; missing data is a failure."""
    root = (Path(_DATA_ENV) if _DATA_ENV else REPO.parent / "shared" / "datasets").resolve()
    if not (root / "imagenet-samples").is_dir():
        pytest.fail(f"test data not found: {root}/imagenet-samples (set COLORBENCH_DATA)")
    return root


@pytest.fixture(scope="module")
def imagenet(tmp_path_factory):
    """One cold hygiene scan of imagenet-samples in a private cache, timed."""
    data = shared_datasets()
    cache = tmp_path_factory.mktemp("cache")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("COLORBENCH_DATA", str(data))
        mp.setenv("COLORBENCH_CACHE", str(cache))
        start = time.perf_counter()
        prepared = load_dataset(DatasetConfig(name="imagenet-samples", source="imagenet-samples", split=TEST_ONLY), progress=False)
        cold = time.perf_counter() - start
        start = time.perf_counter()
        again = load_dataset(DatasetConfig(name="imagenet-samples", source="imagenet-samples", split=TEST_ONLY), LoadOptions(chroma_threshold=0.0), progress=False)
        warm = time.perf_counter() - start
    return data / "imagenet-samples", prepared, again, cold, warm


def test_imagenet_samples_hygiene(imagenet, record_property):
    folder, prepared, _, cold, warm = imagenet
    report = prepared.report
    counts = report.excluded_by_reason()
    print(f"\n{report.summary()}\nscan {cold:.1f} s cold, {warm:.2f} s from cache")
    for e in report.excluded:
        print(f"  {e.reason:15s} {e.id}: {e.detail}")
    record_property("imagenet_hygiene", report.summary())

    assert report.n_found == len(list(folder.glob("*.JPEG")))
    assert report.n_used + len(report.excluded) == report.n_found  # nothing dropped silently
    assert set(counts) <= set(REASONS)
    # every single-channel file, found independently of the scanner, is excluded for its mode
    mode_l = {p.stem for p in folder.glob("*.JPEG") if Image.open(p).mode == "L"}
    assert mode_l and {e.id for e in report.excluded if e.reason == "grayscale-mode"} == mode_l
    # low-chroma exclusions agree with an independent Lab implementation (scikit-image)
    low = [e.id for e in report.excluded if e.reason == "low-chroma"]
    for image_id in low:
        rgb = np.asarray(Image.open(folder / f"{image_id}.JPEG").convert("RGB"), dtype=np.float64) / 255
        lab = rgb2lab(rgb)
        assert np.hypot(lab[..., 1], lab[..., 2]).mean() < report.chroma_threshold
    assert len(prepared.split("test")) == report.n_used


def test_imagenet_threshold_change_reuses_cached_measurements(imagenet):
    _, prepared, no_chroma_filter, cold, warm = imagenet
    assert warm < cold / 5  # from the cache, not a rescan
    assert "low-chroma" not in no_chroma_filter.report.excluded_by_reason()
    assert (no_chroma_filter.report.excluded_by_reason().get("grayscale-mode")
            == prepared.report.excluded_by_reason().get("grayscale-mode"))
    assert no_chroma_filter.report.manifest_hash == prepared.report.manifest_hash


@pytest.fixture
def mixed_folder(tmp_path, monkeypatch):
    """One image per exclusion reason, plus two good colour images."""
    monkeypatch.setenv("COLORBENCH_CACHE", str(tmp_path / "cache"))
    root = tmp_path / "mixed"
    root.mkdir()
    rng = np.random.default_rng(0)
    colour = rng.integers(0, 256, size=(16, 16, 3), dtype=np.uint8)
    Image.fromarray(colour).save(root / "colour_a.png")
    Image.fromarray(colour[::-1]).save(root / "colour_b.jpg", quality=95)
    gray = rng.integers(0, 256, size=(16, 16), dtype=np.uint8)
    Image.fromarray(gray, mode="L").save(root / "gray_l.png")
    Image.fromarray(gray.astype(np.uint16) * 257).save(root / "gray_16bit.png")  # 16-bit gray PNG
    Image.fromarray(np.repeat(gray[..., None], 3, axis=-1)).save(root / "gray_as_rgb.png")
    tinted = np.repeat(gray[..., None], 3, axis=-1).astype(np.int16)
    tinted[..., 0] = np.clip(tinted[..., 0] + 1, 0, 255)  # a barely visible tint
    Image.fromarray(tinted.astype(np.uint8)).save(root / "near_gray.png")
    (root / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n not really a png")
    (root / "notes.txt").write_text("not an image, not a candidate")
    return root


def test_each_reason_is_counted_and_unreadable_files_are_listed(mixed_folder):
    prepared = load_dataset(DatasetConfig(name="folder", source="folder", root=str(mixed_folder), split=TEST_ONLY), LoadOptions(size=16), progress=False)
    report = prepared.report
    reasons = {e.id: e.reason for e in report.excluded}
    assert reasons == {
        "gray_l": "grayscale-mode",
        "gray_16bit": "grayscale-mode",
        "gray_as_rgb": "equal-channels",
        "near_gray": "low-chroma",
        "broken": "unreadable",
    }
    assert report.n_found == 7 and report.n_used == 2
    assert Counter(reasons.values()) == Counter(report.excluded_by_reason())
    assert prepared.split("test").ids == ["colour_a", "colour_b"]
    broken = next(e for e in report.excluded if e.id == "broken")
    assert broken.detail  # the decoder's reason is kept
    assert "1 unreadable" in report.summary()


def test_strict_turns_an_unreadable_file_into_a_data_error(mixed_folder):
    with pytest.raises(DataError, match="broken"):
        load_dataset(DatasetConfig(name="folder", source="folder", root=str(mixed_folder), split=TEST_ONLY), LoadOptions(size=16, strict=True), progress=False)


def test_threshold_zero_keeps_near_gray_but_still_drops_true_grayscale(mixed_folder):
    spec = (DatasetConfig(name="folder", source="folder", root=str(mixed_folder), split=TEST_ONLY), LoadOptions(size=16, chroma_threshold=0.0))
    reasons = {e.id: e.reason for e in load_dataset(*spec, progress=False).report.excluded}
    assert "near_gray" not in reasons and reasons["gray_as_rgb"] == "equal-channels"
