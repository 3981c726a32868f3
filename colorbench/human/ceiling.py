"""People's own ceiling: how well one panel of raters agrees with another panel of the same size.

Split-half reliability. In one split, the raters of each image are put at random into two
halves (each image on its own: floor(n/2) of its n raters in half A, the rest in half B; a
rater's ratings of that image stay together). Each half gives the image a mean z-score (the
mean of its raters' z-scores, the per-rating z-scores of colorbench.human.ratings, not
recomputed). The halves' mean z-scores are correlated over the images (Spearman, as the metrics
are) and the correlation r is corrected to the full panel with Spearman-Brown, 2r / (1 + r).
The result estimates the rank correlation between two independent panels as large as this
one, i.e. the agreement a second run of the same study would have with the first. A metric
equal to the people's true (infinite-panel) score would correlate with this panel's mean
z-score by about the square root of it, so a metric can exceed the ceiling by chance or by that
margin; values above 1 of `of_ceiling` say so rather than being clipped.

- pooled: the SRCC over all used images;
- within scene: per scene (>= 3 images with both halves), Spearman-Brown corrected, then the
  mean over scenes, as a metric's within-scene SRCC is averaged.

Point estimate: the mean over CEILING_SPLITS random splits. CI (percentile, 95%): each of the
bootstrap replicates draws the scenes with replacement (a scene drawn twice counts twice, its
images keep their ratings) and one fresh random split. Raters are not drawn with replacement
here: a rater drawn twice could land in both halves and make them agree more than two panels
of different people do; the random split itself is the rater sampling. Images with fewer than
two raters have no split and are left out (counted in n_images_split). Seeded (numpy PCG64).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats

from .resample import percentile_ci

CEILING_SPLITS = 100  # random splits averaged for the point estimate


def spearman_brown(r):
    """Reliability of the full panel from the correlation r of its two halves: 2r / (1 + r)."""
    r = np.asarray(r, dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        return 2.0 * r / (1.0 + r)


@dataclass(frozen=True)
class Halves:
    """Mean z-scores of the two halves of each image's raters, one column per split.
    Columns 0..n_point-1 are the point-estimate splits; the rest pair with scene_draws."""

    a: np.ndarray  # (n_items, R); NaN where an image has fewer than two raters
    b: np.ndarray
    scene_members: tuple[np.ndarray, ...]  # item indices of each scene
    scene_draws: np.ndarray  # (B, S) scene indices of replicate k, paired with column n_point + k
    n_point: int

    @property
    def splittable(self) -> np.ndarray:
        return np.isfinite(self.a[:, 0]) & np.isfinite(self.b[:, 0])


def rating_arrays(ratings, z: np.ndarray, ids: list[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(item index into ids, rater index, z) of each rating of an item in ids with a finite z."""
    import pandas as pd

    pos = {item: k for k, item in enumerate(ids)}
    keep = (ratings["item"].isin(pos) & np.isfinite(z)).to_numpy()
    return (ratings["item"][keep].map(pos).to_numpy(), pd.factorize(ratings["rater"][keep])[0],
            np.asarray(z, dtype=float)[keep])


def _one_split(pair_item: np.ndarray, n_per_item: np.ndarray, start: np.ndarray,
               rng: np.random.Generator) -> np.ndarray:
    """True for the (item, rater) pairs put in half A: floor(n/2) per item, at random."""
    order = np.argsort(pair_item + rng.random(pair_item.size))  # items grouped, raters shuffled
    rank = np.empty(pair_item.size, dtype=np.int64)
    rank[order] = np.arange(pair_item.size) - start[pair_item[order]]
    return rank < n_per_item[pair_item] // 2


def split_halves(item_of_rating: np.ndarray, rater_of_rating: np.ndarray, z: np.ndarray, item_scene: np.ndarray,
                 n_splits: int = CEILING_SPLITS, n_resamples: int = 1000, seed: int = 0) -> Halves:
    """n_splits point splits and n_resamples (scene draw, split) replicates; see the module doc."""
    rng = np.random.default_rng(seed)
    n_items, n_scenes = len(item_scene), int(item_scene.max()) + 1
    pairs, pair_of_rating = np.unique(np.column_stack([item_of_rating, rater_of_rating]), axis=0, return_inverse=True)
    pair_of_rating = pair_of_rating.reshape(-1)
    pair_item = pairs[:, 0]
    n_per_item = np.bincount(pair_item, minlength=n_items)
    start = np.concatenate([[0], np.cumsum(n_per_item)[:-1]])
    R = n_splits + n_resamples
    a, b = np.full((n_items, R), np.nan), np.full((n_items, R), np.nan)
    for k in range(R):
        in_a = _one_split(pair_item, n_per_item, start, rng)[pair_of_rating]
        with np.errstate(invalid="ignore", divide="ignore"):
            for half, mask in ((a, in_a), (b, ~in_a)):
                total = np.bincount(item_of_rating[mask], weights=z[mask], minlength=n_items)
                half[:, k] = total / np.bincount(item_of_rating[mask], minlength=n_items)
    a[n_per_item < 2], b[n_per_item < 2] = np.nan, np.nan  # one rater: nothing to split
    draws = rng.integers(0, n_scenes, size=(n_resamples, n_scenes))
    members = tuple(np.flatnonzero(item_scene == s) for s in range(n_scenes))
    return Halves(a, b, members, draws, n_splits)


def _column_spearman(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Spearman correlation of x[:, k] with y[:, k] for every column (average ranks, no NaN)."""
    rx, ry = stats.rankdata(x, axis=0), stats.rankdata(y, axis=0)
    rx, ry = rx - rx.mean(axis=0), ry - ry.mean(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        return (rx * ry).sum(0) / np.sqrt((rx * rx).sum(0) * (ry * ry).sum(0))


def _scene_reliability(h: Halves) -> np.ndarray:
    """(S, R) Spearman-Brown corrected within-scene SRCC of the halves; NaN under 3 images."""
    ok = h.splittable
    out = np.full((len(h.scene_members), h.a.shape[1]), np.nan)
    for s, m in enumerate(h.scene_members):
        m = m[ok[m]]
        if m.size >= 3:
            out[s] = spearman_brown(_column_spearman(h.a[m], h.b[m]))
    return out


def _weighted_scene_mean(per_scene: np.ndarray, draws: np.ndarray) -> np.ndarray:
    """(B,) mean over each replicate's drawn scenes (repeats counted) of per_scene[s, b]."""
    counts = np.stack([np.bincount(d, minlength=per_scene.shape[0]) for d in draws])  # (B, S)
    ok = np.isfinite(per_scene.T)
    with np.errstate(invalid="ignore", divide="ignore"):
        return (counts * np.where(ok, per_scene.T, 0.0)).sum(1) / (counts * ok).sum(1)


def replicate_items(h: Halves, k: int) -> np.ndarray:
    """Splittable item indices of bootstrap replicate k (its drawn scenes, repeats kept)."""
    idx = np.concatenate([h.scene_members[s] for s in h.scene_draws[k]])
    return idx[h.splittable[idx]]


def ceiling(h: Halves) -> dict:
    """{"srcc", "ci", "within_scene": {"srcc", "ci"}, "n_images_split", "splits"}; None where undefined."""
    ok = h.splittable
    P, B = h.n_point, h.scene_draws.shape[0]
    pooled_point = spearman_brown(_column_spearman(h.a[ok, :P], h.b[ok, :P])) if ok.sum() >= 3 else np.full(P, np.nan)
    pooled_reps = np.full(B, np.nan)
    for k in range(B):
        idx = replicate_items(h, k)
        if idx.size >= 3:
            pooled_reps[k] = spearman_brown(_column_spearman(h.a[idx, P + k:P + k + 1], h.b[idx, P + k:P + k + 1]))[0]
    per_scene = _scene_reliability(h)
    within_point = np.nanmean(per_scene[:, :P], axis=0) if np.isfinite(per_scene).any() else np.full(P, np.nan)
    within_reps = _weighted_scene_mean(per_scene[:, P:], h.scene_draws)
    return {
        "srcc": _mean(pooled_point), "ci": _ci(pooled_reps),
        "within_scene": {"srcc": _mean(within_point), "ci": _ci(within_reps)},
        "n_images_split": int(ok.sum()), "splits": P,
    }


def _mean(x: np.ndarray) -> float | None:
    x = x[np.isfinite(x)]
    return float(x.mean()) if x.size else None


def _ci(samples) -> list[float] | None:
    ci = percentile_ci(samples)
    return list(ci) if ci else None
