"""Shared helpers for the tests of colorbench.human: the local HECD copy and tiny rated folders."""
from __future__ import annotations

import csv
import os
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

REPO = Path(__file__).resolve().parents[1]
_DATA_ENV = os.environ.get("COLORBENCH_DATA")  # read before any test monkeypatches it


def shared_datasets() -> Path:
    """COLORBENCH_DATA, else ../shared/datasets next to the repo; missing HECD data is a failure."""
    root = (Path(_DATA_ENV) if _DATA_ENV else REPO.parent / "shared" / "datasets").resolve()
    if not (root / "hecd" / "Data" / "clean_raw_data.csv").is_file():
        pytest.fail(f"test data not found: {root}/hecd (set COLORBENCH_DATA)")
    return root


def _image(rng: np.random.Generator, size=(24, 32)) -> np.ndarray:
    """A smooth colour image (uint8 HxWx3): low-frequency noise upsampled."""
    small = rng.uniform(40, 215, size=(4, 4, 3))
    img = Image.fromarray(small.astype(np.uint8)).resize(size[::-1], Image.BILINEAR)
    return np.asarray(img)


def write_rated_folder(root: Path, scenes: int = 3, tests: int = 6, raters: int = 12, seed: int = 0) -> Path:
    """A rated folder whose test images drift further from the reference with k, people rate the
    drift down (plus rater offsets and noise), every rater rates every image and each reference;
    tests 0 and 1 of every scene are outputs of systems 'sys_a' and 'sys_b'."""
    rng = np.random.default_rng(seed)
    (root / "img").mkdir(parents=True)
    items, ratings = [], []
    for s in range(scenes):
        ref = _image(rng)
        Image.fromarray(ref).save(root / "img" / f"s{s}_ref.png")
        items.append([f"s{s}_ref", f"img/s{s}_ref.png", f"img/s{s}_ref.png", f"s{s}", ""])
        for k in range(tests):
            shift = np.array([1.0, -0.5, 0.3]) * 12 * (k + 1)
            test = np.clip(ref + shift + rng.normal(0, 2, ref.shape), 0, 255).astype(np.uint8)
            Image.fromarray(test).save(root / "img" / f"s{s}_t{k}.png")
            system = {0: "sys_a", 1: "sys_b"}.get(k, "")
            items.append([f"s{s}_t{k}", f"img/s{s}_ref.png", f"img/s{s}_t{k}.png", f"s{s}", system])
    offsets = rng.normal(0, 0.5, raters)
    for r in range(raters):
        for item, _, test, scene, _ in items:
            k = -1 if item.endswith("_ref") else int(item.rsplit("t", 1)[1])
            score = np.clip(np.rint(4.6 - 0.55 * (k + 1) + offsets[r] + rng.normal(0, 0.5)), 1, 5)
            ratings.append([f"r{r}", item, int(score), 1, 5])
    with open(root / "items.csv", "w", newline="") as fh:
        csv.writer(fh).writerows([["item", "reference", "test", "scene", "system"], *items])
    with open(root / "ratings.csv", "w", newline="") as fh:
        csv.writer(fh).writerows([["rater", "item", "score", "scale_min", "scale_max", "latency_ms"],
                                  *[[*row, 1200] for row in ratings]])
    return root
