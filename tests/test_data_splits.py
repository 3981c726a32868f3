"""Seeded splits: independent of listing order, seed-sensitive, exact fractions, stable under hygiene."""
from __future__ import annotations

import random

import numpy as np
import pytest
import torch
from PIL import Image

from colorbench.data.prepare import load_dataset
from colorbench.data.spec import TEST_ONLY, DatasetConfig, LoadOptions, Split
from colorbench.data.splits import assign_splits, seeded_order
from colorbench.typed import FieldError

IDS = [f"img{i:04d}" for i in range(1000)]
FRACTIONS = {"train": 0.7, "val": 0.1, "test": 0.2}


@pytest.fixture(autouse=True)
def _private_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("COLORBENCH_CACHE", str(tmp_path / "cache"))


def test_same_seed_same_split_whatever_the_listing_order():
    shuffled = IDS[:]
    random.Random(123).shuffle(shuffled)
    assert assign_splits(IDS, FRACTIONS, seed=7) == assign_splits(shuffled, FRACTIONS, seed=7)
    assert assign_splits(IDS, FRACTIONS, seed=7) == assign_splits(list(reversed(IDS)), FRACTIONS, seed=7)


def test_different_seed_gives_a_different_split():
    a, b = assign_splits(IDS, FRACTIONS, seed=0), assign_splits(IDS, FRACTIONS, seed=1)
    assert set(a["test"]) != set(b["test"])
    assert seeded_order(IDS, 0) != seeded_order(IDS, 1)


@pytest.mark.parametrize("n", [1, 7, 24, 1000])
def test_fractions_respected_and_splits_partition_the_ids(n):
    ids = IDS[:n]
    split = assign_splits(ids, FRACTIONS, seed=3)
    assert len(split["train"]) == round(n * FRACTIONS["train"])
    assert len(split["train"]) + len(split["val"]) == round(n * (FRACTIONS["train"] + FRACTIONS["val"]))
    joined = split["train"] + split["val"] + split["test"]
    assert sorted(joined) == sorted(ids)  # disjoint and complete


@pytest.mark.parametrize(
    "fractions",
    [(0.5, 0.5, 0.5), (0.8, 0.1, 0.0), (-0.1, 0.1, 1.0), (1.5, -0.5, 0.0)],
)
def test_invalid_fractions_are_rejected(fractions):
    train, val, test = fractions
    with pytest.raises(FieldError, match=r"lie in \[0, 1\]|sum to 1"):
        Split(train, val, test)


def _write_folder(root, names, order_seed):
    """Same images, written in a different order (so directory listing order may differ)."""
    root.mkdir(parents=True)
    rng = np.random.default_rng(0)
    pixels = {n: rng.integers(0, 256, size=(8, 8, 3), dtype=np.uint8) for n in names}
    shuffled = names[:]
    random.Random(order_seed).shuffle(shuffled)
    for n in shuffled:
        Image.fromarray(pixels[n]).save(root / f"{n}.png")


def test_folder_splits_do_not_depend_on_where_or_in_which_order_files_were_written(tmp_path):
    names = [f"p{i:02d}" for i in range(40)]
    _write_folder(tmp_path / "a", names, order_seed=1)
    _write_folder(tmp_path / "b", names, order_seed=2)
    results = []
    for folder in ("a", "b"):
        spec = (DatasetConfig(name="folder", source="folder", root=str(tmp_path / folder), split=Split(0.5, 0.25, 0.25)), LoadOptions(seed=11, size=8))
        prepared = load_dataset(*spec, progress=False)
        results.append({s: prepared.split(s).ids for s in ("train", "val", "test")})
        assert prepared.report.split_sizes == {s: len(ids) for s, ids in results[-1].items()}
    assert results[0] == results[1]
    assert sum(len(v) for v in results[0].values()) == len(names)


def test_the_one_cap_takes_the_first_k_of_the_seeded_order(tmp_path):
    from colorbench.pipeline.data import capped_split

    names = [f"p{i:02d}" for i in range(30)]
    _write_folder(tmp_path / "a", names, order_seed=0)
    prepared = load_dataset(DatasetConfig(name="a", source="folder", root=str(tmp_path / "a"), split=TEST_ONLY),
                            LoadOptions(size=8, seed=5), progress=False)
    capped = capped_split(prepared, "test", 4, 4)
    assert capped.ids == sorted(seeded_order(names, 5)[:4]) and capped.size == 4
    assert set(capped.ids) < set(capped_split(prepared, "test", 4, 9).ids)  # a larger cap keeps the smaller one's images
    assert capped_split(prepared, "test", 8, None).ids == sorted(names) == prepared.split("test").ids


def test_excluding_images_never_moves_the_others_between_splits(tmp_path):
    names = [f"p{i:02d}" for i in range(30)]
    _write_folder(tmp_path / "a", names, order_seed=0)
    # Turn three images gray: they are excluded, the rest must keep their split.
    for n in names[:3]:
        Image.open(tmp_path / "a" / f"{n}.png").convert("L").save(tmp_path / "a" / f"{n}.png")
    all_found = assign_splits(names, {"train": 0.6, "val": 0.2, "test": 0.2}, seed=2)
    prepared = load_dataset(DatasetConfig(name="a", source="folder", root=str(tmp_path / "a"), split=Split(0.6, 0.2, 0.2)),
                            LoadOptions(size=8, seed=2), progress=False)
    excluded = {e.id for e in prepared.report.excluded}
    assert excluded == set(names[:3])
    for split, ids in all_found.items():
        assert prepared.split(split).ids == sorted(set(ids) - excluded)


def test_memoised_items_equal_fresh_reads_and_the_budget_holds(tmp_path):
    from colorbench.data.dataset import ImageDataset, ItemMemo
    from colorbench.pipeline.data import capped_split

    names = [f"p{i:02d}" for i in range(12)]
    _write_folder(tmp_path / "a", names, order_seed=0)
    prepared = load_dataset(DatasetConfig(name="a", source="folder", root=str(tmp_path / "a"), split=TEST_ONLY),
                            LoadOptions(size=8, seed=5), progress=False)
    full = prepared.split("test")
    fresh = ImageDataset("test", full.records, full.reader, 6, full.resize_policy)  # no memo: decoded each time
    item_bytes = 3 * 6 * 6 * 4
    memo = full.memo = ItemMemo(budget=5 * item_bytes)
    memoised = capped_split(prepared, "test", 6, None)
    for _ in range(2):  # the second pass reads memoised items
        for i in range(len(fresh)):
            first = memoised[i][1]
            assert torch.equal(first, fresh[i][1])
            first.fill_(-1.0)  # a caller writing into its item does not reach the memo
            assert torch.equal(memoised[i][1], fresh[i][1])
    assert memo.used == 5 * item_bytes and len(memo._items) == 5
    assert torch.equal(capped_split(prepared, "test", 8, None)[0][1], full[0][1])  # another size, its own entries
