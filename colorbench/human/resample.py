"""The two-way bootstrap over scenes and raters behind every confidence interval of agreement.

One replicate draws the scenes with replacement (each drawn scene brings all its used items;
a scene drawn twice counts twice) and, independently, the raters with replacement (a rater
drawn k times has each of their ratings counted k times). Each item's mean z-score is then
recomputed as the mean of its drawn ratings' z-scores (an item none of whose raters was drawn
has no value in that replicate and drops out of it). The per-rating z-scores themselves are
not recomputed: a rater's normalisation depends only on that rater's own ratings, which a
rater draw keeps whole. Seeded (numpy PCG64), percentile intervals.

The draw is colorbench.stats.two_way_draw (the one behind `study analyze` too), with the scenes
drawn as indices. Memory: the rater draws are made a few replicates at a time (the same random
stream as one draw of all of them), so memory grows with the ratings and with items x
replicates, not with raters x replicates (1M crowd raters x 1000 replicates would be 8 GB of
weights).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats

from colorbench.stats import rater_cells, two_way_draw

from . import DEFAULT_RESAMPLES


@dataclass(frozen=True)
class Replicates:
    scene_draws: np.ndarray  # (B, S) indices into the scene list
    mean_z: np.ndarray  # (n_items, B); NaN where none of an item's raters was drawn
    scene_members: tuple[np.ndarray, ...]  # item indices of each scene
    mos: np.ndarray  # (n_items, B) mean raw score under the same rater draw

    @property
    def n(self) -> int:
        return self.scene_draws.shape[0]

    def items(self, b: int) -> np.ndarray:
        """Item indices of replicate b (scenes concatenated, repeats kept), valid z only."""
        idx = np.concatenate([self.scene_members[s] for s in self.scene_draws[b]])
        return idx[np.isfinite(self.mean_z[idx, b])]


def draw(item_of_rating: np.ndarray, rater_of_rating: np.ndarray, z: np.ndarray, score: np.ndarray,
         item_scene: np.ndarray, n_resamples: int = DEFAULT_RESAMPLES, seed: int = 0) -> Replicates:
    """Replicates for items 0..n-1 with scene index item_scene[i]; one entry per rating in the
    index arrays item_of_rating and rater_of_rating (0..R-1), with its z-score and raw score."""
    n_items, n_scenes = len(item_scene), int(item_scene.max()) + 1
    n_raters = int(rater_of_rating.max()) + 1
    cells = [rater_cells(item_of_rating, rater_of_rating, v, n_items, n_raters) for v in (z, score)]
    (mean_z, mos), (draws,) = two_way_draw(cells, n_raters, [n_scenes], n_resamples, seed, ratio=True, scenes="indices")
    members = tuple(np.flatnonzero(item_scene == s) for s in range(n_scenes))
    return Replicates(draws, mean_z, members, mos)


def percentile_ci(samples, level: float = 0.95) -> tuple[float, float] | None:
    x = np.asarray(samples, dtype=float)
    x = x[np.isfinite(x)]
    if x.size < 2:
        return None
    alpha = (1.0 - level) / 2.0
    lo, hi = np.quantile(x, [alpha, 1.0 - alpha])
    return float(lo), float(hi)


def _spearman_columns(X: np.ndarray, y: np.ndarray) -> np.ndarray:
    """SRCC of every column of X with y (average ranks), NaN rows of a column left out."""
    out = np.full(X.shape[1], np.nan)
    clean = ~np.isnan(X).any(axis=0)
    if clean.any() and len(y) > 2:
        rx = stats.rankdata(X[:, clean], axis=0)
        ry = stats.rankdata(y)
        rx, ry = rx - rx.mean(axis=0), ry - ry.mean()
        with np.errstate(invalid="ignore", divide="ignore"):
            out[clean] = (rx * ry[:, None]).sum(0) / np.sqrt((rx * rx).sum(0) * (ry * ry).sum())
    for j in np.flatnonzero(~clean):
        ok = ~np.isnan(X[:, j])
        if ok.sum() > 2:
            out[j] = stats.spearmanr(X[ok, j], y[ok])[0]
    return out


_PAIRWISE_MAX = 300  # up to this many items tau-b is computed from all pairs at once, columns together


def _kendall_columns(X: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Kendall tau-b of every column of X with y, NaN rows of a column left out. Over all pairs
    i < j: sum(sign dx * sign dy) / sqrt(pairs untied in x * pairs untied in y), as scipy's."""
    out = np.full(X.shape[1], np.nan)
    clean = ~np.isnan(X).any(axis=0)
    cols = np.arange(X.shape[1])
    if clean.any() and 2 < len(y) <= _PAIRWISE_MAX:
        i, j = np.triu_indices(len(y), 1)
        sx, sy = np.sign(X[i][:, clean] - X[j][:, clean]), np.sign(y[i] - y[j])
        with np.errstate(invalid="ignore", divide="ignore"):
            out[clean] = (sx * sy[:, None]).sum(0) / np.sqrt((sx * sx).sum(0) * (sy * sy).sum())
        cols = cols[~clean]
    for j in cols:
        ok = ~np.isnan(X[:, j])
        if ok.sum() > 2:
            out[j] = stats.kendalltau(X[ok, j], y[ok])[0]
    return out


STATISTICS = ("srcc", "krcc", "within_srcc")


def _scene_srcc(X: np.ndarray, Z: np.ndarray) -> np.ndarray:
    """(k, B) SRCC of every column of X (n, k) with every column of Z (n, B); NaN rows of either
    left out. Columns without NaN go through one matrix product of centred ranks."""
    k, B = X.shape[1], Z.shape[1]
    out = np.full((k, B), np.nan)
    if len(X) < 3:
        return out
    cx, cz = ~np.isnan(X).any(axis=0), ~np.isnan(Z).any(axis=0)
    if cx.any() and cz.any():
        rx, rz = stats.rankdata(X[:, cx], axis=0), stats.rankdata(Z[:, cz], axis=0)
        rx, rz = rx - rx.mean(axis=0), rz - rz.mean(axis=0)
        with np.errstate(invalid="ignore", divide="ignore"):
            out[np.ix_(cx, cz)] = (rx.T @ rz) / np.sqrt(np.outer((rx * rx).sum(0), (rz * rz).sum(0)))
    some = ~np.isnan(X).all(axis=0)  # an all-NaN column has no value anywhere
    for b in range(B):
        cols = some & (~cx if cz[b] else True)
        if cols.any():
            ok = ~np.isnan(Z[:, b])
            out[cols, b] = _spearman_columns(X[ok][:, cols], Z[ok, b])
    return out


def _within_scene_srcc(X: np.ndarray, reps: Replicates) -> np.ndarray:
    """(B, k): per replicate, the mean over its drawn scenes (repeats counted) of the scene's
    SRCC; a scene's SRCC under a rater draw does not depend on the scene draw, so each scene is
    computed once for all replicates."""
    counts = np.stack([np.bincount(d, minlength=len(reps.scene_members)) for d in reps.scene_draws])  # (B, S)
    num, den = np.zeros((reps.n, X.shape[1])), np.zeros((reps.n, X.shape[1]))
    for s, m in enumerate(reps.scene_members):
        r = _scene_srcc(X[m], reps.mean_z[m, :]).T  # (B, k)
        ok = np.isfinite(r)
        num += counts[:, s:s + 1] * np.where(ok, r, 0.0)
        den += counts[:, s:s + 1] * ok
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(den > 0, num / den, np.nan)  # a metric with no value in any drawn scene stays NaN


def correlation_replicates(X: np.ndarray, reps: Replicates, which: tuple[str, ...] = STATISTICS) -> dict[str, np.ndarray]:
    """Bootstrap distributions, each (B, k), for the k signed metric columns of X (n_items, k):
    pooled SRCC and KRCC over the replicate's items, and within-scene SRCC (per drawn scene,
    then the mean over the draws)."""
    B, k = reps.n, X.shape[1]
    out = {name: np.full((B, k), np.nan) for name in which}
    for b in range(B):
        z = reps.mean_z[:, b]
        idx = reps.items(b)
        if "srcc" in which:
            out["srcc"][b] = _spearman_columns(X[idx], z[idx])
        if "krcc" in which:
            out["krcc"][b] = _kendall_columns(X[idx], z[idx])
    if "within_srcc" in which:
        out["within_srcc"] = _within_scene_srcc(X, reps)
    return out
