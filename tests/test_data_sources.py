"""Sources: folder (recursive, categories, ids, manifest hash), paired, registry, torchvision offline."""
from __future__ import annotations

import os

import numpy as np
import pytest
import torch
from PIL import Image
from torch.utils.data import DataLoader

from colorbench.data.catalog import DATASETS
from colorbench.data.prepare import load_dataset
from colorbench.data.spec import TEST_ONLY, DatasetConfig, LoadOptions
from colorbench.errors import DataError
from colorbench.registry import UnknownNameError
from colorbench.typed import FieldError


@pytest.fixture(autouse=True)
def _private_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("COLORBENCH_CACHE", str(tmp_path / "cache"))


def _save(path, seed, size=(12, 20)):
    path.parent.mkdir(parents=True, exist_ok=True)
    rgb = np.random.default_rng(seed).integers(0, 256, size=(*size, 3), dtype=np.uint8)
    Image.fromarray(rgb).save(path)
    return rgb


@pytest.fixture
def tree(tmp_path):
    root = tmp_path / "tree"
    _save(root / "cats" / "tabby_01.png", 1)
    _save(root / "cats" / "deep" / "siamese_02.jpg", 2)
    _save(root / "dogs" / "husky_03.PNG", 3)
    _save(root / "loose_04.png", 4)
    _save(root / ".hidden" / "skip_05.png", 5)
    _save(root / ".partial.png", 6)
    (root / "dogs" / "readme.md").write_text("ignored")
    return root


def test_folder_is_recursive_with_sorted_slash_ids_and_subfolder_categories(tree):
    spec = (DatasetConfig(name="folder", source="folder", root=str(tree), category_from="subfolder", split=TEST_ONLY), LoadOptions(size=8))
    prepared = load_dataset(*spec, progress=False)
    records = prepared.resolved.records
    assert [r.id for r in records] == sorted(["cats/tabby_01", "cats/deep/siamese_02", "dogs/husky_03", "loose_04"])
    assert {r.id: r.category for r in records} == {
        "cats/tabby_01": "cats", "cats/deep/siamese_02": "cats", "dogs/husky_03": "dogs", "loose_04": None,
    }
    assert all(r.path.is_file() and r.path.is_relative_to(tree) for r in records)
    assert prepared.report.location == f"folder:{tree}"


def test_category_from_a_file_name_regex(tree):
    spec = (DatasetConfig(name="folder", source="folder", root=str(tree), category_from="regex", category_regex=r"^(?P<category>[a-z]+)_\d+", split=TEST_ONLY), LoadOptions(size=8))
    cats = {r.id: r.category for r in load_dataset(*spec, progress=False).resolved.records}
    assert cats == {"cats/tabby_01": "tabby", "cats/deep/siamese_02": "siamese", "dogs/husky_03": "husky",
                    "loose_04": "loose"}


@pytest.mark.parametrize("regex", [r"(\w+)_", r"(?P<cat>\w+)", "(unclosed"])
def test_category_regex_needs_a_valid_category_group(regex):
    with pytest.raises(FieldError, match="category|regex") as info:  # a config error, exit 2, naming the key
        DatasetConfig(name="folder", source="folder", root=".", category_from="regex", category_regex=regex)
    assert info.value.key == "category_regex"


def test_ids_that_differ_only_by_suffix_are_refused(tmp_path):
    _save(tmp_path / "d" / "same.png", 1)
    _save(tmp_path / "d" / "same.jpg", 2)
    with pytest.raises(DataError, match="same"):
        load_dataset(DatasetConfig(name="folder", source="folder", root=str(tmp_path / "d"), split=TEST_ONLY), progress=False)


def test_manifest_hash_follows_content_not_location_or_mtime(tmp_path):
    for folder in ("a", "b"):
        _save(tmp_path / folder / "x.png", 1)
        _save(tmp_path / folder / "y.png", 2)

    def digest(folder):
        spec = (DatasetConfig(name="folder", source="folder", root=str(tmp_path / folder), split=TEST_ONLY), LoadOptions(size=8))
        return load_dataset(*spec, progress=False).report.manifest_hash

    assert digest("a") == digest("b")
    os.utime(tmp_path / "b" / "x.png", (1_000_000, 1_000_000))
    assert digest("a") == digest("b")
    _save(tmp_path / "b" / "x.png", 3)  # new content
    assert digest("a") != digest("b")


def test_missing_root_and_empty_folder_are_data_errors(tmp_path):
    with pytest.raises(DataError, match="needs root"):
        load_dataset(DatasetConfig(name="folder", source="folder", split=TEST_ONLY), progress=False)
    with pytest.raises(DataError, match="not a directory"):
        load_dataset(DatasetConfig(name="folder", source="folder", root=str(tmp_path / "nope"), split=TEST_ONLY), progress=False)
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError, match="no image files"):
        load_dataset(DatasetConfig(name="folder", source="folder", root=str(tmp_path / "empty"), split=TEST_ONLY), progress=False)


def _paired(path, gray_side, seed):
    colour = np.random.default_rng(seed).integers(0, 256, size=(10, 14, 3), dtype=np.uint8)
    gray = np.repeat(np.asarray(Image.fromarray(colour).convert("L"))[..., None], 3, axis=-1)
    halves = (gray, colour) if gray_side == "left" else (colour, gray)
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.concatenate(halves, axis=1)).save(path)
    return colour


@pytest.mark.parametrize("gray_side", ["left", "right"])
def test_paired_ground_truth_is_the_colour_half(tmp_path, gray_side):
    colours = {f"pair{i}": _paired(tmp_path / "ncd" / f"pair{i}.png", gray_side, i) for i in range(3)}
    spec = (DatasetConfig(name="paired", source="paired", root=str(tmp_path / "ncd"), gray_side=gray_side, split=TEST_ONLY), LoadOptions(resize_policy="none", size=None))
    prepared = load_dataset(*spec, progress=False)
    assert prepared.report.n_used == 3  # the gray half never reaches hygiene
    for image_id, rgb in prepared.split("test"):
        expected = torch.from_numpy(colours[image_id]).permute(2, 0, 1).float() / 255
        assert rgb.shape == (3, 10, 14)
        assert torch.equal(rgb, expected)


def test_paired_with_the_wrong_side_excludes_the_gray_halves(tmp_path):
    for i in range(3):
        _paired(tmp_path / "ncd" / f"pair{i}.png", "left", i)
    spec = (DatasetConfig(name="paired", source="paired", root=str(tmp_path / "ncd"), gray_side="right", split=TEST_ONLY), LoadOptions(size=8))
    report = load_dataset(*spec, progress=False).report
    assert report.n_used == 0 and report.excluded_by_reason() == {"equal-channels": 3}


def test_paired_file_with_odd_width_is_unreadable(tmp_path):
    _paired(tmp_path / "ncd" / "good.png", "left", 0)
    _save(tmp_path / "ncd" / "odd.png", 1, size=(10, 15))
    report = load_dataset(DatasetConfig(name="paired", source="paired", root=str(tmp_path / "ncd"), split=TEST_ONLY), LoadOptions(size=8), progress=False).report
    assert [(e.id, e.reason) for e in report.excluded] == [("odd", "unreadable")]
    assert "odd" in report.excluded[0].detail


def test_split_dataset_batches_with_the_default_collate(tree):
    prepared = load_dataset(DatasetConfig(name="folder", source="folder", root=str(tree), split=TEST_ONLY), LoadOptions(size=8), progress=False)
    ids, images = next(iter(DataLoader(prepared.split("test"), batch_size=3)))
    assert list(ids) == prepared.split("test").ids[:3]
    assert images.shape == (3, 3, 8, 8) and images.dtype == torch.float32


def test_registry_lists_every_source_with_a_description():
    listed = {e.name: e.description for e in DATASETS.entries()}
    required = {"folder", "paired", "imagenet-samples", "kodak24", "mcmaster", "cbsd68",
                "flowers102", "cifar10", "stl10", "celeba", "places365"}
    assert required <= set(listed) and set(listed) == set(DATASETS.names())
    assert all(description.strip() for description in listed.values())


def test_unknown_source_suggests_a_name():
    with pytest.raises(UnknownNameError, match="kodak24"):
        load_dataset(DatasetConfig(name="kodak", source="kodak", split=TEST_ONLY), progress=False)


def test_torchvision_set_offline_fails_clearly(tmp_path):
    spec = (DatasetConfig(name="cifar10", source="cifar10", root=str(tmp_path / "tv"), download=False, split=TEST_ONLY), LoadOptions())
    with pytest.raises(DataError) as info:
        load_dataset(*spec, progress=False)
    message = str(info.value)
    assert "CIFAR10" in message and str(tmp_path / "tv") in message and "downloading is disabled" in message
    with pytest.raises(DataError, match="upstream_split"):
        load_dataset(DatasetConfig(name="cifar10", source="cifar10", upstream_split="validation", download=False, split=TEST_ONLY), progress=False)
