"""The published protocols' test sets: listed by name (never shipped), checked against the user's
copy (missing files listed; --strict exits 4), and prepared as the protocol prepares them."""
from __future__ import annotations

import numpy as np
import pytest
from PIL import Image
from torchvision import transforms

from colorbench.data.prepare import load_dataset
from colorbench.data.reference import LISTED_SETS, shipped_names
from colorbench.data.spec import TEST_ONLY, DatasetConfig, LoadOptions
from colorbench.errors import DataError


def test_lists_are_the_cited_ones():
    val5k = LISTED_SETS["imagenet-val5k"].names()
    assert len(val5k) == 5000 and val5k[0] == "ILSVRC2012_val_00000001.JPEG" and val5k[-1] == "ILSVRC2012_val_00005000.JPEG"
    ctest = shipped_names("imagenet-ctest10k")
    assert len(ctest) == len(set(ctest)) == 10000 and all(n.startswith("ILSVRC2012_val_") for n in ctest)
    ade = LISTED_SETS["ade20k-val"].names()
    assert len(ade) == 2000 and ade[-1] == "ADE_val_00002000.jpg"
    assert all("@" in s.source for s in LISTED_SETS.values())


@pytest.fixture
def partial_copy(tmp_path, monkeypatch):
    """$COLORBENCH_DATA/imagenet-val5k holding 3 of the 5000 listed files (non-square JPEGs)."""
    folder = tmp_path / "data" / "imagenet-val5k"
    folder.mkdir(parents=True)
    rng = np.random.default_rng(0)
    sources = {}
    for k, (w, h) in enumerate([(300, 200), (201, 340), (256, 256)], start=1):
        arr = np.clip(rng.normal(128, 50, (h, w, 3)), 0, 255).astype(np.uint8)
        path = folder / f"ILSVRC2012_val_{k:08d}.JPEG"
        Image.fromarray(arr).save(path, quality=92)
        sources[path.stem] = path
    monkeypatch.setenv("COLORBENCH_DATA", str(tmp_path / "data"))
    monkeypatch.setenv("COLORBENCH_CACHE", str(tmp_path / "cache"))
    return sources


def test_missing_files_are_listed_and_strict_exits_4(partial_copy):
    config = DatasetConfig(name="imagenet-val5k", split=TEST_ONLY)
    ds = load_dataset(config, LoadOptions(size=256, chroma_threshold=0), progress=False)
    assert ds.report.n_found == 5000 and len(ds.split("test")) == 3
    missing = [e for e in ds.report.excluded if e.reason == "unreadable"]
    assert len(missing) == 4997 and "listed, not found" in missing[0].detail
    with pytest.raises(DataError, match="4997 unreadable") as err:
        load_dataset(config, LoadOptions(size=256, chroma_threshold=0, strict=True), progress=False)
    assert err.value.exit_code == 4


def test_val5k_is_prepared_as_ct2_prepares_it(partial_copy):
    ds = load_dataset(DatasetConfig(name="imagenet-val5k", split=TEST_ONLY), LoadOptions(size=256, chroma_threshold=0),
                      progress=False)
    reader = ds.report.reader
    assert reader == "ct2-centre-crop-256"
    for stem, path in partial_copy.items():
        img = Image.open(path).convert("RGB")
        want = np.asarray(transforms.Compose([transforms.CenterCrop(min(img.size)), transforms.Resize(256)])(img))
        record = next(r for r in ds.split("test").records if r.id == stem)
        got, _ = ds.resolved.reader(record)
        np.testing.assert_array_equal(np.rint(got * 255).astype(np.uint8), want)


def test_an_absent_copy_is_a_data_error_naming_the_folder(tmp_path, monkeypatch):
    monkeypatch.setenv("COLORBENCH_DATA", str(tmp_path))
    with pytest.raises(DataError, match="does not ship or download"):
        load_dataset(DatasetConfig(name="ade20k-val", split=TEST_ONLY), progress=False)
