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

Memory: the rater draws are made a few replicates at a time (colorbench.stats.resample_counts,
the same random stream as one draw of all of them) and reduced at once to per-scene sums, so
memory grows with the responses and with replicates x scenes, not with raters x replicates.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import sparse

from colorbench.stats import resample_counts

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


def _cells(frame: pd.DataFrame, raters: pd.Index, scenes: pd.Index) -> tuple[sparse.csr_matrix, sparse.csr_matrix]:
    """Score sums and counts per (rater, scene), sparse: one entry per answered cell."""
    r = raters.get_indexer(frame["rater"])
    i = scenes.get_indexer(frame["image_id"])
    shape = (len(raters), len(scenes))
    sums = sparse.csr_matrix((frame["score"].to_numpy(float), (r, i)), shape=shape)  # repeated cells are summed
    return sums, sparse.csr_matrix((np.ones(len(frame)), (r, i)), shape=shape)


def _scene_weighted(num: np.ndarray, den: np.ndarray, scene_w: np.ndarray) -> np.ndarray:
    """Per replicate b: sum_i v_bi num_bi / sum_i v_bi den_bi (NaN where nothing was drawn)."""
    num, den = (num * scene_w).sum(axis=1), (den * scene_w).sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(den > 0, num / np.where(den > 0, den, 1.0), np.nan)


def weighted_means(sums: np.ndarray, counts: np.ndarray, rater_w: np.ndarray, scene_w: np.ndarray) -> np.ndarray:
    """Per replicate b: sum_ri w_br v_bi S_ri / sum_ri w_br v_bi N_ri (NaN where nothing was drawn)."""
    return _scene_weighted(rater_w @ sums, rater_w @ counts, scene_w)


def _rater_drawn(rng: np.random.Generator, cells: dict, n_raters: int, n_resamples: int) -> dict:
    """Per cell, (B, scenes) sums and counts of the responses under B rater draws: w_b @ S and
    w_b @ N, the draws made a few replicates at a time (exact: integer weights, integer scores)."""
    out = {key: (np.empty((n_resamples, s.shape[1])), np.empty((n_resamples, s.shape[1]))) for key, (s, _) in cells.items()}
    for b, counts in resample_counts(rng, n_raters, n_resamples):
        weights = np.ascontiguousarray(counts.T, dtype=float)  # (R, k): sparse.T @ dense
        for key, (sums, answered) in cells.items():
            out[key][0][b] = (sums.T @ weights).T
            out[key][1][b] = (answered.T @ weights).T
        del counts, weights  # one chunk alive at a time
    return out


def two_way_bootstrap(frame: pd.DataFrame, n_resamples: int = RESAMPLES, level: float = LEVEL, seed: int = 0) -> list[Estimate]:
    """Mean score and CI per (dataset, system); `frame` has rater, dataset, image_id, system, score."""
    rng = np.random.default_rng(seed)
    raters = pd.Index(sorted(frame["rater"].unique()))
    parts = [(dataset, part, pd.Index(sorted(part["image_id"].unique()))) for dataset, part in frame.groupby("dataset", sort=False)]
    cells = {(dataset, system): _cells(mine, raters, scenes) for dataset, part, scenes in parts
             for system, mine in part.groupby("system", sort=False)}
    drawn = _rater_drawn(rng, cells, len(raters), n_resamples) if len(raters) else {}  # first: the stream's order
    alpha = (1.0 - level) / 2.0
    out = []
    for dataset, part, scenes in parts:
        scene_w = rng.multinomial(len(scenes), np.full(len(scenes), 1 / len(scenes)), size=n_resamples)
        for system, mine in part.groupby("system", sort=False):
            reps = _scene_weighted(*drawn[dataset, system], scene_w)
            reps = reps[~np.isnan(reps)]  # a replicate that drew none of this system's responses has no mean
            ok = len(mine["rater"].unique()) >= 2 and len(mine["image_id"].unique()) >= 2 and reps.size
            lo, hi = (float(q) for q in np.quantile(reps, [alpha, 1 - alpha])) if ok else (None, None)
            out.append(Estimate(str(dataset), str(system), float(mine["score"].mean()), lo, hi, len(mine),
                                int(mine["image_id"].nunique()), int(mine["rater"].nunique())))
    return out
