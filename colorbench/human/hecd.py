"""The Human Evaluated Colourisation Dataset (HECD; Mullery and Whelan 2022, arXiv 2204.05200).

20 scenes (BSDS500 photographs), each a ground truth plus 65 recolourisations, rated 1..5 for
naturalness on Amazon Mechanical Turk by 1267 raters (after the authors' cleaning). Each rater
saw 20 screens, one per scene, each holding the scene's ground truth and one recolourisation,
and rated both; Data/clean_raw_data.csv has one row per screen (ID, SurNum, Date, File1,
Score1, File2, Score2), the ground truth on either side. Those rows become two ratings each.

Files come from seanmullery/HECD at a pinned commit, every one checked against the shipped
SHA-256 manifest (colorbench/data/manifests/hecd.sha256), or from $COLORBENCH_DOWNLOAD_BASE/hecd
(a mirror with the same layout). Lookup: $COLORBENCH_DATA/hecd if that
folder exists (a partial copy is allowed: the CSVs are required, missing images are counted
and listed by the caller), else cache_dir('datasets')/hecd, downloading what is missing.

Systems: 120 images are outputs of six published colorizers, named in
Data/recolour_mod_details.csv as 'Colourised by <X>' (file suffixes I, L, O, P, Z_1, Z_2).
HumanAggregatedResults.csv's SOTA flag is not used: it also marks one segment-hue edit
(022090F_8). Zhang1 / Zhang2 are taken to be ECCV16 / SIGGRAPH17 (the publication order).
"""
from __future__ import annotations

import csv
import os
from pathlib import Path

import numpy as np
import pandas as pd

from colorbench.data.download import download_missing
from colorbench.data.hashcache import hash_files
from colorbench.data.reference import DOWNLOAD_BASE_ENV, shipped_manifest
from colorbench.errors import DataError
from colorbench.paths import cache_dir, data_root

from .ratings import RatedItem, RatedSet, build_rated_set, item_table, zscores

REPOSITORY = "seanmullery/HECD"
COMMIT = "ae9d8810093ee63977aa1c40c17781c778f5beab"
BASE_URL = f"https://raw.githubusercontent.com/{REPOSITORY}/{COMMIT}"
IMAGES = "HECDImages"
RAW = "Data/clean_raw_data.csv"
MEAN_Z = "Data/mean_zscores.csv"
DETAILS = "Data/recolour_mod_details.csv"
SYSTEMS = {  # 'Colourised by <X>' in DETAILS -> system name
    "Zhang1": "zhang_eccv16", "Zhang2": "zhang_siggraph17", "Iizuka": "iizuka",
    "Larsson": "larsson", "DeOldify": "deoldify", "PhotoShop": "photoshop",
}


def locate(download: bool = True, progress: bool = True) -> tuple[Path, str]:
    """(folder, how it was found); the CSVs are verified against the manifest, images too if present."""
    files = shipped_manifest("hecd")
    env = data_root()
    if env is not None and (env / "hecd").is_dir():
        folder, where = env / "hecd", "COLORBENCH_DATA"
    else:
        folder, where = cache_dir("datasets") / "hecd", "cache"
        mirror = os.environ.get(DOWNLOAD_BASE_ENV)  # a mirror with one folder per set, as for reference sets
        base = f"{mirror.rstrip('/')}/hecd" if mirror else BASE_URL
        if download and download_missing(base, files, folder, "hecd", progress):
            where = "downloaded"
    _verify(folder, files)
    return folder, where


def _verify(folder: Path, files: dict[str, str]) -> None:
    absent = [n for n in (RAW, MEAN_Z, DETAILS) if not (folder / n).is_file()]
    if absent:
        raise DataError(f"hecd: {folder} lacks {', '.join(absent)} (a copy of {REPOSITORY} @ {COMMIT[:10]})")
    present = [n for n in sorted(files) if (folder / n).is_file()]
    digests = hash_files(folder, present)
    bad = [n for n in present if digests[n] != files[n]]
    if bad:
        raise DataError(f"hecd: {len(bad)} file(s) in {folder} do not match the manifest SHA-256: {', '.join(bad[:5])}")


def _long_ratings(folder: Path) -> pd.DataFrame:
    raw = pd.read_csv(folder / RAW, dtype={"ID": str})
    sides = [raw[["ID", f"File{k}", f"Score{k}"]].set_axis(["rater", "file", "score"], axis=1) for k in (1, 2)]
    long = pd.concat(sides, ignore_index=True)
    return pd.DataFrame({"rater": long["rater"], "item": long["file"].str.removesuffix(".jpg"),
                         "score": long["score"], "scale_min": 1.0, "scale_max": 5.0})


def _systems(folder: Path) -> dict[str, str]:
    """{recolour file stem: system} for the published colorizers' outputs."""
    out = {}
    with open(folder / DETAILS, newline="", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):  # rows have 3 to 6 fields: read by header name
            details = (row.get("Global details") or "").strip()
            if details.startswith("Colourised by "):
                out[row["File Name"].removesuffix(".jpg")] = SYSTEMS[details.removeprefix("Colourised by ")]
    return out


def _items(folder: Path) -> list[RatedItem]:
    pairs = pd.read_csv(folder / MEAN_Z, dtype=str)
    systems = _systems(folder)
    items = []
    for gt, test in zip(pairs["Ground Truth File"], pairs["Recolour File"]):
        stem = test.removesuffix(".jpg")
        items.append(RatedItem(stem, folder / IMAGES / gt, folder / IMAGES / test, gt.removesuffix("_gt.jpg"),
                               systems.get(stem), is_reference=test == gt))  # HECD lists the ground truth as its own recolour
    return items


def read_hecd(folder: Path, where: str = "folder") -> RatedSet:
    """The rated set from a verified HECD folder (see locate)."""
    return build_rated_set("hecd", _items(folder), _long_ratings(folder), f"hecd ({where}: {folder})")


def load_hecd(download: bool = True, progress: bool = True) -> RatedSet:
    return read_hecd(*locate(download, progress))


def zscore_reproduction(rs: RatedSet, folder: Path) -> dict:
    """Max |difference| between the per-image mean z-scores recomputed from the raw ratings
    ("difference" method) and the authors' Data/mean_zscores.csv."""
    ours = item_table(rs, zscores(rs, "difference"))["mean_z"]
    theirs = pd.read_csv(folder / MEAN_Z, dtype={"Recolour File": str})
    theirs = theirs.set_index(theirs["Recolour File"].str.removesuffix(".jpg"))["Mean zScore"]
    diff = (ours.reindex(theirs.index) - theirs).abs().to_numpy()
    return {"against": MEAN_Z, "n_images": int(np.isfinite(diff).sum()), "n_missing": int(np.isnan(diff).sum()),
            "max_abs_diff": float(np.nanmax(diff))}
