"""Pairwise accuracy within scene: of two images of the same scene that people tell apart, how
often a metric prefers the one people prefer.

Pairs: every unordered pair (i, j) of used images of the same scene whose people's mean
z-scores y differ by more than the tie band t, |y_i - y_j| > t. On a pair the signed metric s
(colorbench.human.correlation.signed: larger = better) scores 1 when sign(s_i - s_j) =
sign(y_i - y_j), 0 when it is the opposite, and 0.5 when s_i = s_j (a metric tie). Accuracy is
the sum over all pairs of all scenes divided by their number (each pair counts once, so a
scene's weight is its number of pairs); pairs with an image that has no metric value are left
out for that metric, hence n_pairs per metric. Chance is 0.5. This is the pairwise accuracy of
the text-to-image preference suites (ImageReward, PickScore, HPSv2) with a tie band for
people, who give a mean score rather than a choice.

Tie band (the people's side, chosen on the held-in scenes: the rated scenes whose pairs are
counted, no other data): t = TIE_BAND_Z x the median, over all within-scene pairs of images
with at least two ratings, of the standard error of the difference of their mean z-scores,
sqrt(v_i / n_i + v_j / n_j), with v the sample variance (ddof 1) of an image's z-scores and n
their number. So a counted pair's difference is larger than a typical pair's 95% noise band:
people tell the two apart. With no image rated twice the band is 0 (only exact ties dropped).

CI (percentile, 95%): the scene-and-rater replicates of colorbench.human.resample; in each, the
mean z-scores are those of the drawn raters, pairs are selected again with the same band, and a
scene drawn twice counts its pairs twice.

Ceiling (half vs half), on the random splits of colorbench.human.ceiling: pairs selected by
half B's mean z-scores and the band, ordered by half A (ties 0.5), then the same with the halves
swapped; the accuracy of the two together. Point: the mean over the point splits; CI over the
ceiling's replicates (scenes drawn with replacement, a fresh split each). Half panels are
noisier than the whole panel, so this is the agreement of two people-panels of half the size.
"""
from __future__ import annotations

import numpy as np

from .ceiling import Halves
from .resample import Replicates, percentile_ci

TIE_BAND_Z = 1.96  # the band in standard errors of a pair's difference (two-sided 95%)
CHANCE = 0.5


def scene_pairs(item_scene: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(i, j), i < j, every pair of items of the same scene, scene by scene."""
    out_i, out_j = [], []
    for s in np.unique(item_scene):
        m = np.flatnonzero(item_scene == s)
        a, b = np.triu_indices(m.size, 1)
        out_i.append(m[a])
        out_j.append(m[b])
    return (np.concatenate(out_i), np.concatenate(out_j)) if out_i else (np.zeros(0, int), np.zeros(0, int))


def tie_band(item_of_rating: np.ndarray, z: np.ndarray, item_scene: np.ndarray, z_band: float = TIE_BAND_Z) -> float:
    """The module's band from per-rating z-scores (item_of_rating indexes item_scene)."""
    n_items = len(item_scene)
    ok = np.isfinite(z)
    n = np.bincount(item_of_rating[ok], minlength=n_items).astype(float)
    total = np.bincount(item_of_rating[ok], weights=z[ok], minlength=n_items)
    square = np.bincount(item_of_rating[ok], weights=z[ok] ** 2, minlength=n_items)
    with np.errstate(invalid="ignore", divide="ignore"):
        var = (square - total ** 2 / n) / (n - 1)  # sample variance; NaN or inf under 2 ratings
    se2 = np.where(n >= 2, np.maximum(var, 0.0) / n, np.nan)
    i, j = scene_pairs(item_scene)
    se = np.sqrt(se2[i] + se2[j])
    se = se[np.isfinite(se)]
    return float(z_band * np.median(se)) if se.size else 0.0


def pair_counts(ds: np.ndarray, dy: np.ndarray, band: float) -> tuple[np.ndarray, np.ndarray]:
    """(correct, n), each (k, B), for metric differences ds (P, k) = s_i - s_j and people's
    differences dy (P, B) = y_i - y_j over P pairs: a pair counts where |dy| > band and ds is
    finite; it scores (1 + sign ds * sign dy) / 2, i.e. 1, 0, or 0.5 for a metric tie."""
    with np.errstate(invalid="ignore"):
        counted = (np.abs(dy) > band).astype(float)  # NaN compares False
    sy = np.sign(np.nan_to_num(dy)) * counted
    valid = np.isfinite(ds).astype(float)
    sm = np.sign(np.nan_to_num(ds))  # NaN -> 0, removed by `valid` below
    n = valid.T @ counted
    return 0.5 * (n + (sm * valid).T @ sy), n


def accuracy(S: np.ndarray, y: np.ndarray, item_scene: np.ndarray, band: float) -> tuple[np.ndarray, np.ndarray]:
    """(accuracy, n_pairs), each (k,), of the k signed metric columns of S (n, k) against y."""
    i, j = scene_pairs(item_scene)
    correct, n = pair_counts(S[i] - S[j], (y[i] - y[j])[:, None], band)
    with np.errstate(invalid="ignore", divide="ignore"):
        return (correct / n)[:, 0], n[:, 0].astype(int)


def _draw_counts(draws: np.ndarray, n_scenes: int) -> np.ndarray:
    return np.stack([np.bincount(d, minlength=n_scenes) for d in draws]).astype(float)  # (B, S)


def replicate_accuracy(S: np.ndarray, reps: Replicates, band: float) -> np.ndarray:
    """(B, k) accuracy in each scene-and-rater replicate (module doc)."""
    counts = _draw_counts(reps.scene_draws, len(reps.scene_members))
    correct, n = np.zeros((reps.n, S.shape[1])), np.zeros((reps.n, S.shape[1]))
    for s, m in enumerate(reps.scene_members):
        a, b = np.triu_indices(m.size, 1)
        c, k = pair_counts(S[m[a]] - S[m[b]], reps.mean_z[m[a]] - reps.mean_z[m[b]], band)
        correct += counts[:, s:s + 1] * c.T
        n += counts[:, s:s + 1] * k.T
    with np.errstate(invalid="ignore", divide="ignore"):
        return correct / n


def _half_counts(a: np.ndarray, b: np.ndarray, band: float) -> tuple[np.ndarray, np.ndarray]:
    """(correct, n), each (R,): per split, B's pairs ordered by A plus A's pairs ordered by B."""
    correct, n = np.zeros(a.shape[1]), np.zeros(a.shape[1])
    for judge, truth in ((a, b), (b, a)):
        with np.errstate(invalid="ignore"):
            counted = np.abs(truth) > band
        agree = 0.5 * (1.0 + np.sign(np.nan_to_num(judge)) * np.sign(np.nan_to_num(truth)))
        correct += np.where(counted, agree, 0.0).sum(0)
        n += counted.sum(0)
    return correct, n


def half_vs_half(h: Halves, band: float) -> dict:
    """The ceiling's pairwise accuracy: {"value", "ci", "n_pairs" (mean per split), "tie_band"}."""
    n_scenes, P = len(h.scene_members), h.n_point
    per_scene = []
    for m in h.scene_members:
        m = m[h.splittable[m]]
        i, j = np.triu_indices(m.size, 1)
        per_scene.append(_half_counts(h.a[m[i]] - h.a[m[j]], h.b[m[i]] - h.b[m[j]], band))
    correct = np.stack([c for c, _ in per_scene])  # (S, R)
    n = np.stack([k for _, k in per_scene])
    with np.errstate(invalid="ignore", divide="ignore"):
        point = correct[:, :P].sum(0) / n[:, :P].sum(0)
        counts = _draw_counts(h.scene_draws, n_scenes)
        reps = (counts * correct[:, P:].T).sum(1) / (counts * n[:, P:].T).sum(1)
    point = point[np.isfinite(point)]
    ci = percentile_ci(reps)
    return {"value": float(point.mean()) if point.size else None, "ci": list(ci) if ci else None,
            "n_pairs": float(n[:, :P].sum(0).mean() / 2), "tie_band": band}
