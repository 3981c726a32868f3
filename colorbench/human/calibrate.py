"""A human-calibrated score: a monotone combination of per-image metrics fitted to people.

Features: for each component metric j, the signed value s_j (negated when lower is better),
standardised with the training images' mean and SD: f_j = (s_j - mu_j) / sd_j. Target: the
per-image mean z-score y. The score is c + sum_j w_j f_j with w_j >= 0, fitted by non-negative
least squares on the centred data (scipy.optimize.nnls; c = mean y - sum_j w_j mean f_j), so it
is monotone non-decreasing in every signed component: no metric can count against its own
direction. Leave-one-scene-out cross-validation fits on all scenes but one and predicts the
held-out scene; the out-of-fold predictions of every scene are then correlated with people
exactly as a single metric is (pooled SRCC, within-scene SRCC, pairwise accuracy within scene,
colorbench.human.pairwise). `registers` is the rule a calibrated score must pass to be registered
as a metric (issue 26): out of fold, its pooled SRCC beats the best single metric's by at least
REGISTER_MARGIN, and its within-scene SRCC and pairwise accuracy are not worse.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import optimize

from . import correlation as C
from .pairwise import accuracy

REGISTER_MARGIN = 0.02


@dataclass(frozen=True)
class Combination:
    components: tuple[str, ...]
    mean: tuple[float, ...]  # of each signed component on the training images
    sd: tuple[float, ...]
    weights: tuple[float, ...]  # >= 0, on standardised signed components
    intercept: float

    def __call__(self, signed_values: np.ndarray) -> np.ndarray:
        """Score of (n, k) signed component values, columns in `components` order."""
        f = (np.asarray(signed_values, dtype=float) - np.array(self.mean)) / np.array(self.sd)
        return self.intercept + f @ np.array(self.weights)


def fit(components: list[str], S: np.ndarray, y: np.ndarray) -> Combination:
    """Non-negative least squares of y on the standardised signed columns of S (n, k)."""
    mean, sd = S.mean(axis=0), S.std(axis=0)
    sd = np.where(sd > 0, sd, 1.0)
    F = (S - mean) / sd
    w, _ = optimize.nnls(F - F.mean(axis=0), y - y.mean())
    c = float(y.mean() - F.mean(axis=0) @ w)
    return Combination(tuple(components), tuple(map(float, mean)), tuple(map(float, sd)), tuple(map(float, w)), c)


def leave_one_scene_out(components: list[str], S: np.ndarray, y: np.ndarray, scenes: np.ndarray) -> np.ndarray:
    """Out-of-fold scores: each scene's images scored by the fit on the other scenes."""
    out = np.full(len(y), np.nan)
    for s in np.unique(scenes):
        held = scenes == s
        out[held] = fit(components, S[~held], y[~held])(S[held])
    return out


def within_scene_srcc(score: np.ndarray, y: np.ndarray, scenes: np.ndarray) -> float:
    return float(np.mean([C.srcc(score[scenes == s], y[scenes == s]) for s in np.unique(scenes)]))


def agreement(score: np.ndarray, y: np.ndarray, scenes: np.ndarray, tie_band: float) -> dict:
    """Pooled SRCC, within-scene SRCC and pairwise accuracy of one signed score."""
    return {"srcc": C.srcc(score, y), "within_scene_srcc": within_scene_srcc(score, y, scenes),
            "pairwise_acc": float(accuracy(score[:, None], y, scenes, tie_band)[0][0])}


def evaluate(components: list[str], S: np.ndarray, y: np.ndarray, scenes: np.ndarray, tie_band: float) -> dict:
    """Out-of-fold and in-sample agreement of the combination, next to each component alone."""
    oof = leave_one_scene_out(components, S, y, scenes)
    full = fit(components, S, y)
    return {
        "out_of_fold": {**agreement(oof, y, scenes, tie_band), "krcc": C.krcc(oof, y)},
        "in_sample": agreement(full(S), y, scenes, tie_band),
        "single": {n: agreement(S[:, j], y, scenes, tie_band) for j, n in enumerate(components)},
        "fit": full,
    }


def registers(candidate: dict, best: dict, margin: float = REGISTER_MARGIN) -> tuple[bool, str]:
    """(whether the candidate's out-of-fold agreement earns registration against the best single
    metric's on the same images, why); each a dict as `agreement` returns."""
    fails = []
    if not candidate["srcc"] >= best["srcc"] + margin:
        fails.append(f"pooled SRCC {candidate['srcc']:.3f} < {best['srcc']:.3f} + {margin}")
    for key, what in (("within_scene_srcc", "within-scene SRCC"), ("pairwise_acc", "pairwise accuracy")):
        if not candidate[key] >= best[key]:
            fails.append(f"{what} {candidate[key]:.3f} < {best[key]:.3f}")
    return not fails, "; ".join(fails) or f"pooled SRCC >= best + {margin}, within-scene and pairwise not worse"
