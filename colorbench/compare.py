"""Regression check between two results tables, direction-aware, with per-metric tolerances.

A row regresses when it moves in the worse direction (read from the row's higher_is_better,
which the metric declares) by more than abs + rel * |old|. Tables whose protocol fingerprints
differ for a shared (dataset, metric) measure different things and are incompatible.
"""
from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from colorbench.config import load_yaml
from colorbench.errors import ConfigError, UsageError
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
    """default, or the metric's own; a listed baseline's (for a method whose outputs jump with
    last-bit differences, e.g. a nearest-neighbour search) widens it further: the larger applies."""

    default: Tolerance = field(default_factory=Tolerance)
    metrics: dict[str, Tolerance] = field(default_factory=dict)
    baselines: dict[str, Tolerance] = field(default_factory=dict)

    def allowed(self, metric: str, baseline: str, old: float) -> float:
        allowed = self.metrics.get(metric, self.default).allowed(old)
        if baseline in self.baselines:
            allowed = max(allowed, self.baselines[baseline].allowed(old))
        return allowed


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
    verdict: str  # one of VERDICTS


# What each verdict means for the gate: True fails it.
VERDICTS = {
    "regressed": True,  # worse by more than the tolerance, or lost its value
    "failed": True,  # ok before, failed now
    "missing": True,  # in the reference, not in the new table
    "fixed": False,  # failed before, ok now: an improvement
    "improved": False,  # better, or gained a value
    "still failed": False,  # failed in both: nothing changed
    "new": False,  # not in the reference
    "same": False,  # within tolerance
}


class Incompatible(UsageError):
    """Tables whose protocols differ measure different things (exit 2)."""

    def __init__(self, message: str):
        super().__init__(f"incompatible tables: {message}")


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
        elif r["side"] == "right_only":
            rows.append(Row(**base, old=math.nan, new=r["value_new"], allowed=0.0, verdict="new"))
        else:
            old_v, new_v = float(r["value_old"]), float(r["value_new"])
            allowed = tolerances.allowed(r["metric"], r["baseline"], old_v) if not math.isnan(old_v) else 0.0
            rows.append(Row(**base, old=old_v, new=new_v, allowed=allowed, verdict=_verdict(r, old_v, new_v, allowed)))
    return rows


def _verdict(r: dict, old_v: float, new_v: float, allowed: float) -> str:
    old_ok, new_ok = r["status_old"] == "ok", r["status_new"] == "ok"
    if not (old_ok and new_ok):
        return {(True, False): "failed", (False, True): "fixed"}.get((old_ok, new_ok), "still failed")
    if old_v == new_v or (math.isnan(old_v) and math.isnan(new_v)):
        return "same"
    if math.isnan(old_v) or math.isnan(new_v):
        return "improved" if math.isnan(old_v) else "regressed"
    worse = _worse_by(old_v, new_v, r["higher_is_better_new"])
    return "regressed" if worse > allowed else ("improved" if worse < 0 else "same")


def gate_fails(rows: list[Row]) -> bool:
    return any(VERDICTS[r.verdict] for r in rows)


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
    header = f"{'verdict':<12} {'metric':<16} {'baseline':<20} {'dataset':<18} {'old':>12} {'new':>12} {'allowed':>10}"
    lines = [header, "-" * len(header)]
    for r in shown:
        lines.append(f"{r.verdict:<12} {r.metric:<16} {r.baseline:<20} {r.dataset:<18} {r.old:>12.6g} {r.new:>12.6g} {r.allowed:>10.3g}")
    counts = {v: sum(r.verdict == v for r in rows) for v in VERDICTS}
    lines.append(", ".join(f"{n} {v}" for v, n in counts.items() if n))
    return "\n".join(lines)


_MACHINE = ("cpu_capability", "cpu_model", "device", "gpu")


def machine_note(new: str | Path, old: str | Path) -> str | None:
    """A warning line when the run.json beside each table names different machines: CPU kernels
    (e.g. AVX2 vs AVX512) round floats differently, and training amplifies that, so learned
    baselines can differ beyond any tolerance meant for one machine. None when they agree or
    either run.json is missing or unreadable (older runs lack cpu_capability)."""
    def machine(path) -> dict | None:
        folder = Path(path) if Path(path).is_dir() else Path(path).parent
        try:
            env = json.loads((folder / "run.json").read_text()).get("environment", {})
        except (OSError, ValueError, AttributeError):
            return None
        return {k: env[k] for k in _MACHINE if k in env}

    a, b = machine(new), machine(old)
    if not a or not b:
        return None
    differ = [k for k in _MACHINE if k in a and k in b and a[k] != b[k]]
    missing = [k for k in ("cpu_capability",) if (k in a) != (k in b)]
    if not differ and not missing:
        return None
    said = "; ".join(f"{k}: {b.get(k, 'not recorded')} (old) vs {a.get(k, 'not recorded')} (new)"
                     for k in differ + missing)
    return (f"note: the tables may come from different machines ({said}); learned baselines trained on "
            "different CPU kernels differ beyond tolerances meant for one machine")
