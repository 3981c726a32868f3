"""Regression check between two results tables, direction-aware, with per-metric tolerances.

A row regresses when it moves in the worse direction (read from the row's higher_is_better,
which the metric declares) by more than abs + rel * |old|. Tables whose protocol fingerprints
differ for a shared (dataset, metric) measure different things and are incompatible.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from colorbench.config import load_yaml
from colorbench.errors import ConfigError
from colorbench.typed import FieldError, from_dict, require

KEY = ["dataset", "baseline", "metric"]


@dataclass(frozen=True)
class Tolerance:
    abs: float = 1e-9
    rel: float = 0.0

    def __post_init__(self):
        require(self.abs >= 0 and self.rel >= 0, "abs", "tolerances must be >= 0")

    def allowed(self, old: float) -> float:
        return self.abs + self.rel * abs(old)


@dataclass(frozen=True)
class Tolerances:
    default: Tolerance = field(default_factory=Tolerance)
    metrics: dict[str, Tolerance] = field(default_factory=dict)

    def for_metric(self, metric: str) -> Tolerance:
        return self.metrics.get(metric, self.default)


def load_tolerances(path: str | Path | None) -> Tolerances:
    if path is None:
        return Tolerances()
    try:
        return from_dict(Tolerances, load_yaml(Path(path)) or {})
    except FieldError as exc:
        raise ConfigError(str(path), exc.key, str(exc)) from None


@dataclass(frozen=True)
class Row:
    dataset: str
    baseline: str
    metric: str
    old: float
    new: float
    allowed: float
    verdict: str  # 'regressed' | 'improved' | 'same' | 'missing' | 'new' | 'failed'


class Incompatible(Exception):
    pass


def _worse_by(old: float, new: float, higher_is_better) -> float:
    """How much worse `new` is than `old` (negative: better)."""
    if higher_is_better is None:
        return abs(new - old)  # no direction: any change beyond tolerance counts
    return (old - new) if higher_is_better is True else (new - old)


def compare_tables(new: pd.DataFrame, old: pd.DataFrame, tolerances: Tolerances) -> list[Row]:
    check_protocols(new, old)
    merged = old.merge(new, on=KEY, how="outer", suffixes=("_old", "_new"), indicator="side")
    rows = []
    for r in merged.to_dict("records"):
        base = dict(dataset=r["dataset"], baseline=r["baseline"], metric=r["metric"])
        if r["side"] == "left_only":
            rows.append(Row(**base, old=r["value_old"], new=math.nan, allowed=0.0, verdict="missing"))
            continue
        if r["side"] == "right_only":
            rows.append(Row(**base, old=math.nan, new=r["value_new"], allowed=0.0, verdict="new"))
            continue
        old_v, new_v = float(r["value_old"]), float(r["value_new"])
        allowed = tolerances.for_metric(r["metric"]).allowed(old_v)
        if r["status_new"] != "ok" and r["status_old"] == "ok":
            verdict = "failed"
        elif math.isnan(old_v) and math.isnan(new_v) or old_v == new_v:
            verdict = "same"
        elif math.isnan(new_v) != math.isnan(old_v):
            verdict = "regressed"
        else:
            worse = _worse_by(old_v, new_v, r["higher_is_better_new"])
            verdict = "regressed" if worse > allowed else ("improved" if worse < 0 else "same")
        rows.append(Row(**base, old=old_v, new=new_v, allowed=allowed, verdict=verdict))
    return rows


def check_protocols(new: pd.DataFrame, old: pd.DataFrame) -> None:
    a = new.groupby(["dataset", "metric"])["protocol"].first()
    b = old.groupby(["dataset", "metric"])["protocol"].first()
    shared = a.index.intersection(b.index)
    if not len(shared):
        raise Incompatible("the tables share no (dataset, metric) pair")
    bad = [f"{d}/{m}" for d, m in shared if a[(d, m)] != b[(d, m)]]
    if bad:
        raise Incompatible(f"different protocol fingerprints for {', '.join(bad[:5])}{' ...' if len(bad) > 5 else ''}")


def format_rows(rows: list[Row], show_all: bool = False) -> str:
    shown = [r for r in rows if show_all or r.verdict != "same"]
    if not shown:
        return f"{len(rows)} values compared: all within tolerance"
    header = f"{'verdict':<10} {'metric':<16} {'baseline':<20} {'dataset':<18} {'old':>12} {'new':>12} {'allowed':>10}"
    lines = [header, "-" * len(header)]
    for r in shown:
        lines.append(f"{r.verdict:<10} {r.metric:<16} {r.baseline:<20} {r.dataset:<18} {r.old:>12.6g} {r.new:>12.6g} {r.allowed:>10.3g}")
    counts = {v: sum(r.verdict == v for r in rows) for v in ("regressed", "failed", "missing", "improved", "new", "same")}
    lines.append(", ".join(f"{n} {v}" for v, n in counts.items() if n))
    return "\n".join(lines)
