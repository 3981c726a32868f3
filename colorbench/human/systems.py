"""System level: the rated colorizers ranked by people and by each metric.

A system's people score is the mean over its used images of the per-image mean z-score (and,
alongside, of the per-image MOS); CIs come from the same scene-and-rater replicates as the
image-level statistics (a replicate uses the system's images in the drawn scenes, repeats
kept). A system's metric value is the unweighted mean of the metric over the same images, as
`colorbench score` reports it. Rankings are best first: by people's mean z-score, and by each
metric's signed value (higher is better after negating lower-is-better metrics). Kendall tau
(tau-b) compares each metric's system scores with people's; with six systems it moves in
steps of 1/15, so a single swapped pair changes it by 0.13. A system without any finite value
of a metric (msssim_ab under 176 px, PSNR of an output identical to the photo) is listed under
`missing` for it: the metric's ranking and its tau cover the systems that have a value.
"""
from __future__ import annotations

import numpy as np

from .correlation import krcc, signed, tie_close
from .resample import Replicates, percentile_ci


def _replicate_means(values: np.ndarray, members: np.ndarray, item_scene: np.ndarray, reps: Replicates) -> np.ndarray:
    """(B,) mean of values[:, b] over the system's items in replicate b's drawn scenes."""
    out = np.full(reps.n, np.nan)
    for b in range(reps.n):
        counts = np.bincount(reps.scene_draws[b], minlength=len(reps.scene_members))[item_scene[members]]
        v = values[members, b]
        ok = (counts > 0) & np.isfinite(v)
        if ok.any():
            out[b] = np.average(v[ok], weights=counts[ok])
    return out


def people_table(systems: list[str | None], mean_z: np.ndarray, mos: np.ndarray, item_scene: np.ndarray,
                 reps: Replicates) -> list[dict]:
    """One row per system, best (highest mean z-score) first."""
    arr = np.array([s or "" for s in systems])
    rows = []
    for name in sorted(set(arr) - {""}):
        members = np.flatnonzero(arr == name)
        z_reps = _replicate_means(reps.mean_z, members, item_scene, reps)
        mos_reps = _replicate_means(reps.mos, members, item_scene, reps)
        rows.append({
            "system": name, "n_images": int(members.size), "n_scenes": int(np.unique(item_scene[members]).size),
            "mean_z": float(np.mean(mean_z[members])), "mean_z_ci": _list(percentile_ci(z_reps)),
            "mos": float(np.mean(mos[members])), "mos_ci": _list(percentile_ci(mos_reps)),
        })
    rows.sort(key=lambda r: -r["mean_z"])
    for rank, row in enumerate(rows, 1):
        row["rank"] = rank
    return rows


def metric_ranking(systems: list[str | None], values: np.ndarray, higher_is_better: bool | None,
                   people: list[dict]) -> dict:
    """The systems by one metric: their mean values, the ranking and Kendall tau with people over
    the systems with a value, and the systems without one."""
    arr = np.array([s or "" for s in systems])
    names = [row["system"] for row in people]
    means = {n: _mean_finite(values[arr == n]) for n in names}
    have = [n for n in names if np.isfinite(means[n])]
    score = dict(zip(have, tie_close(signed(np.array([means[n] for n in have]), higher_is_better))))
    ranking = sorted(have, key=lambda n: -score[n])
    people_z = {row["system"]: row["mean_z"] for row in people}
    tau = krcc(np.array([score[n] for n in have]), np.array([people_z[n] for n in have])) if len(have) > 1 else np.nan
    return {"values": {n: m if np.isfinite(m) else None for n, m in means.items()}, "ranking": ranking,
            "kendall_tau": None if np.isnan(tau) else float(tau), "missing": [n for n in names if n not in score]}


def _mean_finite(v: np.ndarray) -> float:
    ok = np.isfinite(v)
    return float(v[ok].mean()) if ok.any() else float("nan")


def _list(ci):
    return list(ci) if ci else None
