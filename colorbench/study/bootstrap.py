"""Two-way bootstrap of a mean over a crossed raters x images design.

Each replicate draws the R raters with replacement (one draw shared by every dataset and system,
so comparisons between systems stay paired) and, per dataset, its I scenes with replacement (one
draw shared by every system on that dataset). A response by rater r on scene i then counts
w_r * v_i times, where w and v are how often r and i were drawn, and the replicate's value is the
weighted mean of the scores. The interval is the percentile interval of the replicates.
Resampling both ways takes both sources of variation into account (a one-way bootstrap over
images ignores that a new panel of raters would score differently); it is known to be slightly
conservative for crossed designs (Owen 2007, "The pigeonhole bootstrap"); the coverage observed in
simulation is in the tests.

The draw is colorbench.stats.two_way_draw (the one behind `colorbench agreement` too), with the
scenes drawn as counts. Memory: the rater draws are made a few replicates at a time (the same
random stream as one draw of all of them) and reduced at once to per-scene sums, so memory grows
with the responses and with replicates x scenes, not with raters x replicates.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from colorbench.stats import rater_cells, two_way_draw

RESAMPLES = 2000
LEVEL = 0.95
SCHEME = ("two-way bootstrap: per replicate, raters drawn with replacement (shared across datasets and systems) "
          "and each dataset's scenes drawn with replacement (shared across systems); each response weighted by how "
          "often its rater and its scene were drawn; 95% percentile interval")


@dataclass(frozen=True)
class Estimate:
    dataset: str
    system: str
    value: float
    ci_low: float | None
    ci_high: float | None
    n_responses: int
    n_images: int
    n_raters: int


def _cells(frame: pd.DataFrame, raters: pd.Index, scenes: pd.Index) -> tuple:
    """Score sums and counts per (scene, rater), sparse: one entry per answered cell."""
    return rater_cells(scenes.get_indexer(frame["image_id"]), raters.get_indexer(frame["rater"]),
                       frame["score"].to_numpy(float), len(scenes), len(raters))


def _scene_weighted(num: np.ndarray, den: np.ndarray, scene_w: np.ndarray) -> np.ndarray:
    """Per replicate b: sum_i v_bi num_bi / sum_i v_bi den_bi (NaN where nothing was drawn)."""
    num, den = (num * scene_w).sum(axis=1), (den * scene_w).sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(den > 0, num / np.where(den > 0, den, 1.0), np.nan)


def weighted_means(sums: np.ndarray, counts: np.ndarray, rater_w: np.ndarray, scene_w: np.ndarray) -> np.ndarray:
    """Per replicate b: sum_ri w_br v_bi S_ri / sum_ri w_br v_bi N_ri (NaN where nothing was drawn)."""
    return _scene_weighted(rater_w @ sums, rater_w @ counts, scene_w)


def two_way_bootstrap(frame: pd.DataFrame, n_resamples: int = RESAMPLES, level: float = LEVEL, seed: int = 0) -> list[Estimate]:
    """Mean score and CI per (dataset, system); `frame` has rater, dataset, image_id, system, score."""
    raters = pd.Index(sorted(frame["rater"].unique()))
    parts = [(dataset, part, pd.Index(sorted(part["image_id"].unique()))) for dataset, part in frame.groupby("dataset", sort=False)]
    cells = {(dataset, system): _cells(mine, raters, scenes) for dataset, part, scenes in parts
             for system, mine in part.groupby("system", sort=False)}
    weighted, scene_ws = two_way_draw(list(cells.values()), len(raters), [len(scenes) for *_, scenes in parts], n_resamples, seed)
    drawn = dict(zip(cells, weighted))  # per cell, (scenes, B) rater-weighted sums and counts
    alpha = (1.0 - level) / 2.0
    out = []
    for (dataset, part, _scenes), scene_w in zip(parts, scene_ws):
        for system, mine in part.groupby("system", sort=False):
            sums, counts = drawn[dataset, system]
            reps = _scene_weighted(sums.T, counts.T, scene_w)
            reps = reps[~np.isnan(reps)]  # a replicate that drew none of this system's responses has no mean
            ok = len(mine["rater"].unique()) >= 2 and len(mine["image_id"].unique()) >= 2 and reps.size
            lo, hi = (float(q) for q in np.quantile(reps, [alpha, 1 - alpha])) if ok else (None, None)
            out.append(Estimate(str(dataset), str(system), float(mine["score"].mean()), lo, hi, len(mine),
                                int(mine["image_id"].nunique()), int(mine["rater"].nunique())))
    return out
