"""Result records: the documented, versioned schema of every table colorbench writes.

results.jsonl / results.csv: one row per (dataset, baseline, metric), schema RESULT_SCHEMA:
  schema, run_id, dataset, baseline, metric, value, ci_low, ci_high, n, higher_is_better,
  unit, status ('ok' | 'failed'), reason, protocol (fingerprint of everything that changes
  the number: eval size, resize, data manifest, weights), p_vs_best (paired test against the
  best baseline on this dataset and metric; None where undefined).
per_image.csv: dataset, baseline, image_id, then one column per per-image metric.
run.json: the run's provenance (config, environment, seeds, manifests, weights, timings).
"""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

import pandas as pd

from colorbench.imageio import atomic_write_bytes

RESULT_SCHEMA = "colorbench.result/1"


@dataclass(frozen=True)
class ResultRecord:
    run_id: str
    dataset: str
    baseline: str
    metric: str
    value: float | None
    ci_low: float | None
    ci_high: float | None
    n: int
    higher_is_better: bool | None
    unit: str
    status: str
    reason: str
    protocol: str
    p_vs_best: float | None = None
    schema: str = RESULT_SCHEMA


def _json_value(v):
    if isinstance(v, float) and v != v:
        return None  # NaN is not JSON
    if isinstance(v, float) and v in (float("inf"), float("-inf")):
        return str(v)
    return v


def write_text(path: Path, text: str) -> None:
    atomic_write_bytes(path, lambda fh: fh.write(text.encode("utf-8")))


def write_json(path: Path, obj) -> None:
    write_text(path, json.dumps(obj, indent=2, sort_keys=True, default=str) + "\n")


def write_results(folder: Path, records: list[ResultRecord]) -> None:
    rows = [{k: _json_value(v) for k, v in asdict(r).items()} for r in records]
    write_text(folder / "results.jsonl", "".join(json.dumps(r, sort_keys=True) + "\n" for r in rows))
    write_text(folder / "results.csv", pd.DataFrame(rows, columns=list(ResultRecord.__dataclass_fields__)).to_csv(index=False))


def write_per_image(folder: Path, frames: list[pd.DataFrame]) -> None:
    table = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=["dataset", "baseline", "image_id"])
    write_text(folder / "per_image.csv", table.to_csv(index=False))


def read_results(path: Path) -> pd.DataFrame:
    """A results table from results.csv or results.jsonl, checked against the schema."""
    path = Path(path)
    if path.is_dir():
        path = path / "results.csv"
    text_columns = {c: str for c in ("dataset", "baseline", "metric", "unit", "status", "reason", "protocol", "run_id", "schema")}
    if path.suffix == ".jsonl":
        table = pd.read_json(path, lines=True, dtype=text_columns, precise_float=True)
    else:  # names such as "NA" or "null" must stay names, not become NaN
        table = pd.read_csv(path, dtype=text_columns, keep_default_na=False, na_values={c: [""] for c in ("value", "ci_low", "ci_high", "p_vs_best", "higher_is_better")})
    if "higher_is_better" in table:  # True / False / empty (no direction), whatever pandas parsed
        table["higher_is_better"] = table["higher_is_better"].map({True: True, False: False, "True": True, "False": False, "true": True, "false": False}).astype(object)
        table.loc[table["higher_is_better"].isna(), "higher_is_better"] = None
    schemas = set(table["schema"].dropna()) if "schema" in table else set()
    if schemas != {RESULT_SCHEMA}:
        raise ValueError(f"{path}: not a {RESULT_SCHEMA} table (found {sorted(schemas) or 'no schema column'})")
    return table
