"""What each metric's agreement is read against: chance (0.5 pairwise) and people's own ceiling.

Adds to `colorbench agreement`'s result (colorbench.human.agreement.analyse):
- top level "ceiling": the split-half ceiling of colorbench.human.ceiling (pooled and within-scene
  SRCC with CIs) and its half-vs-half pairwise accuracy (colorbench.human.pairwise);
- top level "pairwise": the tie band, its rule and the chance line;
- per metric "pairwise_acc": {"value", "ci", "n_pairs", "tie_band"} (colorbench.human.pairwise),
  and "of_ceiling": the metric as a fraction of the ceiling, {"srcc": SRCC / ceiling SRCC,
  "within_scene_srcc": within-scene SRCC / the within-scene ceiling, "pairwise_acc":
  (accuracy - 0.5) / (ceiling accuracy - 0.5), the share of the way from chance to people}.
"""
from __future__ import annotations

import numpy as np

from .ceiling import ceiling, rating_arrays, split_halves
from .pairwise import (
    CHANCE,
    TIE_BAND_Z,
    accuracy,
    half_vs_half,
    replicate_accuracy,
    tie_band,
)
from .resample import Replicates, percentile_ci

TIE_BAND_RULE = (f"{TIE_BAND_Z} x the median standard error of the difference of two same-scene images' "
                 "mean z-scores, over the rated scenes")


def _ratio(x, ceiling_value, offset: float = 0.0):
    if x is None or ceiling_value is None or not np.isfinite(x) or ceiling_value == offset:
        return None
    return float((x - offset) / (ceiling_value - offset))


def add_bounds(metrics: dict, ratings, z: np.ndarray, ids: list[str], scene_idx: np.ndarray, X: np.ndarray,
               y: np.ndarray, reps: Replicates, seed: int = 0) -> dict:
    """Adds "pairwise_acc" and "of_ceiling" to each metrics[name] (names in X's column order)
    and returns {"ceiling": ..., "pairwise": ...} for the top level."""
    item_idx, rater_idx, zz = rating_arrays(ratings, z, ids)
    band = tie_band(item_idx, zz, scene_idx)
    halves = split_halves(item_idx, rater_idx, zz, scene_idx, n_resamples=reps.n, seed=seed)
    top = ceiling(halves)
    top["pairwise_acc"] = half_vs_half(halves, band)
    value, n_pairs = accuracy(X, y, scene_idx, band)
    boot = replicate_accuracy(X, reps, band)
    for j, name in enumerate(metrics):
        m = metrics[name]
        ci = percentile_ci(boot[:, j])
        acc = float(value[j]) if np.isfinite(value[j]) else None
        m["pairwise_acc"] = {"value": acc, "ci": list(ci) if ci else None, "n_pairs": int(n_pairs[j]),
                             "tie_band": band}
        m["of_ceiling"] = {"srcc": _ratio(m["srcc"], top["srcc"]),
                           "within_scene_srcc": _ratio(m["within_scene"]["srcc"], top["within_scene"]["srcc"]),
                           "pairwise_acc": _ratio(acc, top["pairwise_acc"]["value"], CHANCE)}
    return {"ceiling": top, "pairwise": {"tie_band": band, "tie_band_rule": TIE_BAND_RULE, "chance": CHANCE,
                                         "pairs": "within scene, |people's mean z difference| > tie_band"}}
