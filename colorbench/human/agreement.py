"""How well each per-image metric agrees with people on a rated set.

Every rated test image is scored against its reference with colorbench.scoring.score_pairs,
the routine behind `colorbench score`, at the images' own size: a test image whose size differs
from its reference is excluded and listed, never resized. The reference rated against itself
is left out of image-level statistics (its metrics are trivially perfect). Images whose files
are missing are counted and listed (an error under strict). The people's score of an image is
its mean z-score (colorbench.human.ratings); correlations follow colorbench.human.correlation,
confidence intervals colorbench.human.resample, system rankings colorbench.human.systems.
"""
from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import torch

from colorbench.errors import DataError, UsageError
from colorbench.metrics.base import MetricContext
from colorbench.scoring import Pair, score_pairs

from . import DEFAULT_RESAMPLES, SLOW_ON_CPU
from . import correlation as C
from .bounds import add_bounds
from .ratings import RatedSet, ZScores, item_table, zscores
from .resample import correlation_replicates, draw, percentile_ci
from .systems import metric_ranking, people_table


def default_metrics() -> list[str]:
    """Every registered per-image metric but SLOW_ON_CPU."""
    return [n for n in per_image_metrics(None) if n not in SLOW_ON_CPU]


def per_image_metrics(names: list[str] | None) -> list[str]:
    """The requested metrics (default: every registered per-image metric), checked."""
    from colorbench.metrics.registry import METRICS

    if not names:
        return [e.name for e in METRICS.entries() if e.obj.per_image]
    for n in names:
        if not METRICS.get(n).per_image:  # unknown names raise UnknownNameError first
            raise UsageError(f"metric {n!r} has no per-image values; agreement needs per-image metrics")
    return list(dict.fromkeys(names))


@dataclass
class Inputs:
    """What the statistics need, aligned: one row per used test image."""

    rs: RatedSet
    zs: ZScores
    table: pd.DataFrame  # item_table of the whole set
    ids: list[str]  # used test images, in scoring order
    values: dict[str, np.ndarray]  # raw per-image metric values
    skipped: dict[str, list[str]] = field(default_factory=dict)  # reason -> item ids
    failed: dict[str, str] = field(default_factory=dict)  # metric -> why it has no values (score_pairs)


def _missing_files(rs: RatedSet) -> list[str]:
    return [i.id for i in rs.items if not (i.test.is_file() and i.reference.is_file())]


def _why_none(rs: RatedSet, zs: ZScores, missing: list[str], unrated: list[str]) -> str:
    """Why every test image was left out, in counts."""
    tests = [i.id for i in rs.items if not i.is_reference]
    if not tests:
        return "every item is a reference rated against itself"
    reasons = []
    gone_files, no_z = set(missing).intersection(tests), set(unrated).intersection(tests)
    if gone_files:
        reasons.append(f"{len(gone_files)} with an image file missing")
    if no_z:
        raters = rs.ratings["rater"].nunique()
        constant = len(zs.excluded_raters)
        who = f"all {raters} raters" if constant == raters else f"{constant} of {raters} raters"
        why = [f"{who} gave constant ratings, which have no z-score (--zscore none uses the raw scores)"] if constant else []
        why += [f"{zs.unpaired} test ratings lack the rater's rating of the reference"] if zs.unpaired else []
        reasons.append(f"{len(no_z)} without a z-score: {', '.join(why) or 'not rated'}")
    return "; ".join(reasons)


def score(rs: RatedSet, metrics: list[str], zscore: str = "auto", strict: bool = False, batch_size: int = 16,
          progress: Callable[[int], None] | None = None) -> Inputs:
    zs = zscores(rs, zscore)
    table = item_table(rs, zs)
    missing = _missing_files(rs)
    if missing and strict:
        raise DataError(f"{rs.name}: {len(missing)} of {len(rs.items)} images missing under --strict: "
                        + ", ".join(missing[:5]) + (" ..." if len(missing) > 5 else ""))
    gone = set(missing)
    unrated = [i.id for i in rs.items if table.at[i.id, "n_z"] == 0 and i.id not in gone]
    gone.update(unrated)
    pairs = [Pair(i.id, i.test, i.reference) for i in rs.items if not i.is_reference and i.id not in gone]
    if not pairs:
        raise DataError(f"{rs.name}: no rated test image left to score: {_why_none(rs, zs, missing, unrated)}")
    result = score_pairs(pairs, metrics, MetricContext(device=torch.device("cpu")), batch_size=batch_size,
                         size_policy="error" if strict else "exclude", strict=strict, progress=progress)
    values = {n: result.values[n].per_image.double().numpy() for n in metrics if n in result.values}
    if not values:
        raise DataError(f"{rs.name}: every metric failed: " + "; ".join(f"{n}: {why}" for n, why in result.failed.items()))
    skipped = {"missing_images": missing, "no_z_scores": unrated,
               "size_mismatch": result.size_mismatch, "unreadable": result.unreadable}
    return Inputs(rs, zs, table, list(result.ids), values, skipped, dict(result.failed))


def _replicates(inp: Inputs, scene_idx: np.ndarray, n_resamples: int, seed: int):
    r = inp.rs.ratings
    pos = {item: k for k, item in enumerate(inp.ids)}
    keep = r["item"].isin(pos).to_numpy()
    item_idx = r["item"][keep].map(pos).to_numpy()
    rater_idx = pd.factorize(r["rater"][keep])[0]
    return draw(item_idx, rater_idx, inp.zs.z[keep], r["score"][keep].to_numpy(), scene_idx, n_resamples, seed)


def _point(s: np.ndarray, y: np.ndarray, scene_idx: np.ndarray, n_scenes: int) -> dict:
    ok = np.isfinite(s)
    within = {"srcc": [np.nan] * n_scenes, "krcc": [np.nan] * n_scenes}
    if ok.sum() < 3:  # e.g. msssim_ab on images under 176 px: no value to correlate
        return {"n": int(ok.sum()), "srcc": np.nan, "krcc": np.nan, "plcc": np.nan, "plcc_fit": "none", "within": within}
    pl, how = C.plcc(s[ok], y[ok])
    within = {"srcc": [], "krcc": []}
    for k in range(n_scenes):
        m = ok & (scene_idx == k)
        within["srcc"].append(C.srcc(s[m], y[m]) if m.sum() > 2 else np.nan)
        within["krcc"].append(C.krcc(s[m], y[m]) if m.sum() > 2 else np.nan)
    return {"n": int(ok.sum()), "srcc": C.srcc(s[ok], y[ok]), "krcc": C.krcc(s[ok], y[ok]), "plcc": pl,
            "plcc_fit": how, "within": within}


def _undefined(n: int, s: np.ndarray, y: np.ndarray) -> str | None:
    """Why the metric has no correlation with people (None when it has one)."""
    if n < 3:
        return f"{n} rated images with a value (a correlation needs 3)"
    if not C.varies(s):
        return "no variation: the metric is constant over the rated images"
    if not C.varies(y[np.isfinite(s)]):
        return "no variation: people's scores are all equal"
    return None


def _num(x):
    return None if x is None or not np.isfinite(x) else float(x)


def _mean_finite(values) -> float | None:
    """The mean of the finite values (scenes with a within-scene correlation), None if none."""
    v = np.asarray(values, dtype=float)
    return float(v[np.isfinite(v)].mean()) if np.isfinite(v).any() else None


def analyse(inp: Inputs, n_resamples: int = DEFAULT_RESAMPLES, seed: int = 0) -> dict:
    """The agreement result (the object `colorbench agreement --json` prints)."""
    from colorbench.metrics.registry import METRICS, direction_word

    items = [inp.rs.item(i) for i in inp.ids]
    scenes = sorted({it.scene for it in items})
    scene_idx = np.array([scenes.index(it.scene) for it in items])
    y = inp.table["mean_z"].reindex(inp.ids).to_numpy()
    reps = _replicates(inp, scene_idx, n_resamples, seed)
    names = list(inp.values)
    specs = {n: METRICS.get(n) for n in names}
    # float-noise ties merged once, for the point values and every replicate alike (correlation.tie_close)
    X = C.tie_close(np.column_stack([C.signed(inp.values[n], specs[n].higher_is_better) for n in names]))
    boot = correlation_replicates(X, dataclasses.replace(reps, mean_z=C.tie_close(reps.mean_z)))
    metrics = {}
    for j, n in enumerate(names):
        p = _point(X[:, j], C.tie_close(y), scene_idx, len(scenes))
        metrics[n] = {
            "direction": direction_word(specs[n]), "n": p["n"], "undefined": _undefined(p["n"], X[:, j], y),
            "srcc": _num(p["srcc"]), "srcc_ci": _ci(boot["srcc"][:, j]),
            "krcc": _num(p["krcc"]), "krcc_ci": _ci(boot["krcc"][:, j]),
            "plcc": _num(p["plcc"]), "plcc_fit": p["plcc_fit"],
            "within_scene": {
                "srcc": _mean_finite(p["within"]["srcc"]), "srcc_ci": _ci(boot["within_srcc"][:, j]),
                "krcc": _mean_finite(p["within"]["krcc"]),
                "per_scene": {s: _num(v) for s, v in zip(scenes, p["within"]["srcc"])},
            },
        }
    bounds = add_bounds(metrics, inp.rs.ratings, inp.zs.z, inp.ids, scene_idx, X, y, reps, seed)  # ceiling, pairwise
    return {"n": len(inp.ids), "metrics": metrics, "systems": _systems(inp, items, y, scene_idx, reps, specs),
            "scenes": scenes, **bounds, **_provenance(inp, n_resamples, seed)}


def _ci(samples):
    ci = percentile_ci(samples)
    return list(ci) if ci else None


def _systems(inp: Inputs, items, y, scene_idx, reps, specs) -> dict:
    systems = [it.system for it in items]
    mos = inp.table["mos"].reindex(inp.ids).to_numpy()
    people = people_table(systems, y, mos, scene_idx, reps)
    by_metric = {n: metric_ranking(systems, inp.values[n], specs[n].higher_is_better, people) for n in inp.values}
    return {"people": people, "ranking": [r["system"] for r in people], "metrics": by_metric}


def _provenance(inp: Inputs, n_resamples: int, seed: int) -> dict:
    return {
        "set": inp.rs.name, "source": inp.rs.source, "scale": list(inp.rs.scale),
        "zscore": {"method": inp.zs.method, "excluded_raters": inp.zs.excluded_raters, "unpaired": inp.zs.unpaired},
        "items": {"total": len(inp.rs.items), "references": sum(i.is_reference for i in inp.rs.items),
                  **{k: {"count": len(v), "ids": v} for k, v in inp.skipped.items()}},
        "bootstrap": {"resamples": n_resamples, "seed": seed, "over": "scenes and raters", "level": 0.95,
                      "method": "percentile"},
        "size_policy": "no resize: size mismatches excluded (an error under --strict)",
        "metrics_failed": inp.failed,
    }
