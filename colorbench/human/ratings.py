"""A rated set: reference/test image pairs and single human ratings of the test images.

Per-image scores computed from the raw ratings:

- MOS: the mean of an item's raw scores, on the set's scale (e.g. 1..5; 0..1 for 2AFC, where it
  is the fraction of raters who took the colourisation for the real photo).
- Mean z-score, with one of two per-rater normalisations (population standard deviations):

  * "difference" (HECD, Mullery and Whelan 2022; the LIVE difference-score procedure): each rater
    rates a test image next to its reference, and rates the reference too. For rater r and test
    item i with reference R: d = x(r, i) - x(r, R), where x(r, R) is r's rating of R (the mean if
    r rated R several times). z(r, i) = (d - m_r) / s_r, with m_r and s_r the mean and
    population SD of all of r's differences d over test items. The reference itself has d = 0,
    so its ratings get z = -m_r / s_r. An image's mean z-score is the mean of z over its ratings.
    Recomputed from HECD's Data/clean_raw_data.csv this reproduces Data/mean_zscores.csv to
    floating-point rounding (the reference rows too: every rater rated every reference once, so
    all 20 references share one value, 0.39699).
  * "rater" (ITU-R BT.500-style): z(r, i) = (x(r, i) - mean_r x) / SD_r x over all of r's ratings.
  * "none": z(r, i) = x(r, i), the raw score; the "mean z-score" is then the MOS (for 2AFC the
    fool rate).

  "auto" picks "difference" when the set rates its references (items whose role is the reference
  rated against itself); else "none" on a 0..1 scale (2AFC: each answer already compares the image
  with the real photo beside it, and a z-score of 0/1 answers would drop every rater who was
  never fooled); else "rater". Raters whose values are all equal (SD 0) have no z-score and
  are excluded, as are test ratings whose rater never rated that reference; both are counted and
  listed in ZScores.

z-scores remove each rater's own offset and spread, so raters who use the scale differently
weigh alike; "difference" also removes how much the rater liked the scene itself.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import numpy as np
import pandas as pd

from colorbench.errors import DataError, UsageError

from . import ZSCORE_METHODS

RATING_COLUMNS = ("rater", "item", "score", "scale_min", "scale_max")


@dataclass(frozen=True)
class RatedItem:
    id: str
    reference: Path  # the ground truth
    test: Path  # the rated image; == reference for the reference rated against itself
    scene: str  # group for within-scene statistics and the scene bootstrap
    system: str | None  # the method that produced the test image, if any
    # the reference rated against itself: a role the source records, never inferred from the files
    # (an output identical to the photo, as the oracle's, has the photo's bytes but is rated as an output)
    is_reference: bool


@dataclass(frozen=True)
class RatedSet:
    name: str
    items: tuple[RatedItem, ...]
    ratings: pd.DataFrame  # RATING_COLUMNS; rater and item as str, scores float
    source: str  # where it was read from, for reports
    scale: tuple[float, float] = (1.0, 5.0)

    def item(self, item_id: str) -> RatedItem:
        return self.by_id[item_id]

    @cached_property  # frozen: written once into __dict__, never reassigned
    def by_id(self) -> dict[str, RatedItem]:
        return {i.id: i for i in self.items}


def build_rated_set(name: str, items: list[RatedItem], ratings: pd.DataFrame, source: str) -> RatedSet:
    """Validate and freeze; every problem is a DataError naming `source`."""
    ids = [i.id for i in items]
    dup = sorted({i for i in ids if ids.count(i) > 1}) if len(set(ids)) != len(ids) else []
    if dup:
        raise DataError(f"{source}: duplicate item ids: {_shown(dup)}")
    if not items:
        raise DataError(f"{source}: no items")
    ratings = _check_ratings(ratings, set(ids), source)
    scale = _one_scale(ratings, source)
    return RatedSet(name, tuple(items), ratings, source, scale)


def _shown(names, limit: int = 5) -> str:
    names = list(names)
    more = f" and {len(names) - limit} more" if len(names) > limit else ""
    return ", ".join(str(n) for n in names[:limit]) + more


def _check_ratings(ratings: pd.DataFrame, ids: set[str], source: str) -> pd.DataFrame:
    missing = [c for c in RATING_COLUMNS if c not in ratings.columns]
    if missing:
        raise DataError(f"{source}: ratings lack column(s) {', '.join(missing)} (need {', '.join(RATING_COLUMNS)})")
    out = pd.DataFrame({"rater": ratings["rater"].astype(str), "item": ratings["item"].astype(str)})
    for col in ("score", "scale_min", "scale_max"):
        values = pd.to_numeric(ratings[col], errors="coerce")
        bad = np.flatnonzero(~np.isfinite(values.to_numpy(dtype=float)))
        if bad.size:
            row = int(bad[0])
            raise DataError(f"{source}: rating {row + 1}: {col} {ratings[col].iloc[row]!r} is not a finite number "
                            f"({bad.size} such rows)")
        out[col] = values.astype(float).to_numpy()
    unknown = sorted(set(out["item"]) - ids)
    if unknown:
        raise DataError(f"{source}: {len(unknown)} rated item(s) not among the items: {_shown(unknown)}")
    off = np.flatnonzero((out["score"] < out["scale_min"]) | (out["score"] > out["scale_max"])
                         | (out["scale_min"] >= out["scale_max"]))
    if off.size:
        r = out.iloc[int(off[0])]
        raise DataError(f"{source}: rating {int(off[0]) + 1} (rater {r['rater']}, item {r['item']}): score "
                        f"{r['score']:g} is off the scale {r['scale_min']:g}..{r['scale_max']:g} ({off.size} such rows)")
    if out.empty:
        raise DataError(f"{source}: no ratings")
    return out.reset_index(drop=True)


def _one_scale(ratings: pd.DataFrame, source: str) -> tuple[float, float]:
    scales = ratings[["scale_min", "scale_max"]].drop_duplicates()
    if len(scales) != 1:
        shown = _shown(f"{a:g}..{b:g}" for a, b in scales.itertuples(index=False))
        raise DataError(f"{source}: ratings use several scales ({shown}); a rated set has one")
    lo, hi = scales.iloc[0]
    return float(lo), float(hi)


@dataclass
class ZScores:
    method: str  # "difference", "rater" or "none"
    z: np.ndarray  # one per rating (RatedSet.ratings order); NaN where excluded
    excluded_raters: list[str] = field(default_factory=list)  # SD 0: no z-score
    unpaired: int = 0  # test ratings whose rater never rated that reference ("difference")


def choose_method(rs: RatedSet, method: str) -> str:
    if method not in ZSCORE_METHODS:
        raise UsageError(f"unknown z-score method {method!r} (choose from {', '.join(ZSCORE_METHODS)})")
    if method != "auto":
        return method
    refs = {i.id for i in rs.items if i.is_reference}
    if rs.ratings["item"].isin(refs).any():
        return "difference"
    return "none" if rs.scale == (0.0, 1.0) else "rater"


def zscores(rs: RatedSet, method: str = "auto") -> ZScores:
    """Per-rating z-scores with the module's definition."""
    method = choose_method(rs, method)
    r = rs.ratings
    if method == "none":
        return ZScores(method, r["score"].to_numpy(dtype=float))
    if method == "rater":
        g = r.groupby("rater")["score"]
        mu, sd = g.transform("mean").to_numpy(), g.transform("std", ddof=0).to_numpy()
        bad = sorted(r.loc[sd == 0, "rater"].unique())
        with np.errstate(divide="ignore", invalid="ignore"):
            z = np.where(sd > 0, (r["score"].to_numpy() - mu) / sd, np.nan)
        return ZScores(method, z, bad)
    return _difference_z(rs)


def _difference_z(rs: RatedSet) -> ZScores:
    r = rs.ratings
    by_id = rs.by_id
    self_item = {i.reference: i.id for i in rs.items if i.is_reference}
    ref_of = {i.id: self_item.get(i.reference) for i in rs.items}  # test item -> its reference item
    is_ref = r["item"].map(lambda i: by_id[i].is_reference).to_numpy()
    ref_mean = r[is_ref].groupby(["rater", "item"])["score"].mean()
    keys = pd.MultiIndex.from_arrays([r["rater"], r["item"].map(ref_of)])
    ref_score = ref_mean.reindex(keys).to_numpy()
    d = np.where(is_ref, np.nan, r["score"].to_numpy() - ref_score)
    paired = ~np.isnan(d)
    stats = pd.DataFrame({"rater": r["rater"][paired], "d": d[paired]}).groupby("rater")["d"]
    mu, sd = stats.mean(), stats.std(ddof=0)
    m, s = r["rater"].map(mu).to_numpy(), r["rater"].map(sd).to_numpy()
    ok = s > 0  # NaN (no paired test rating) compares False
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.where(is_ref, -m / s, (d - m) / s)
    z = np.where(ok, z, np.nan)
    bad = sorted(sd.index[sd == 0])
    return ZScores("difference", z, bad, int((~is_ref & ~paired).sum()))


def item_table(rs: RatedSet, zs: ZScores) -> pd.DataFrame:
    """Per item: n ratings, MOS, mean z-score and n z-scores, indexed by item id (items order)."""
    r = rs.ratings.assign(z=zs.z)
    g = r.groupby("item")
    table = pd.DataFrame({"n_ratings": g.size(), "mos": g["score"].mean(), "mean_z": g["z"].mean(),
                          "n_z": g["z"].count()})
    return table.reindex([i.id for i in rs.items]).fillna({"n_ratings": 0, "n_z": 0})
