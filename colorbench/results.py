"""The results table: the documented, versioned schema of every table colorbench writes.

results.jsonl / results.csv: one row per (dataset, baseline, metric), schema RESULT_SCHEMA:
  schema, run_id, dataset, baseline, metric, value, ci_low, ci_high, n, higher_is_better,
  unit, status ('ok' | 'failed'), reason, protocol (fingerprint of everything that changes
  the number: the test split's images, the metric, its weights), p_vs_best (paired test
  against the best row on this dataset and metric; None where undefined), role ('model',
  'floor' or 'ceiling': reference rows never count as best), best (True on the best model row,
  False on the others, None for a metric without a direction), subset (True for a row scored on
  fewer of the dataset's test images than it holds, n saying how many: such a row is never
  ranked, so its best is False and its p_vs_best None, and it is not the best the others are
  tested against).
per_image.csv: dataset, baseline, image_id, then one column per per-image metric.
Tables of schemas colorbench.result/1 (without role and best) and /2 (without subset: read as
False) are still read, for compare.
"""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

import pandas as pd

from colorbench.errors import UsageError
from colorbench.files import write_text

RESULT_SCHEMA = "colorbench.result/3"
READABLE_SCHEMAS = ("colorbench.result/1", "colorbench.result/2", RESULT_SCHEMA)


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
    role: str = "model"
    best: bool | None = None
    subset: bool = False
    schema: str = RESULT_SCHEMA


def _json_value(v):
    if isinstance(v, float) and v != v:
        return None  # NaN is not JSON
    if isinstance(v, float) and v in (float("inf"), float("-inf")):
        return str(v)
    return v


def write_results(folder: Path, records: list[ResultRecord]) -> None:
    rows = [{k: _json_value(v) for k, v in asdict(r).items()} for r in records]
    write_text(folder / "results.jsonl", "".join(json.dumps(r, sort_keys=True) + "\n" for r in rows))
    write_text(folder / "results.csv", pd.DataFrame(rows, columns=list(ResultRecord.__dataclass_fields__)).to_csv(index=False))


def write_per_image(folder: Path, table: pd.DataFrame) -> None:
    write_text(folder / "per_image.csv", table.to_csv(index=False))


PER_IMAGE_KEYS = ("dataset", "baseline", "image_id")


def read_per_image(path: Path) -> pd.DataFrame:
    """per_image.csv as written: names stay text, values are read back exactly (float())."""
    table = pd.read_csv(path, dtype=str, keep_default_na=False)
    for column in table.columns:
        if column not in PER_IMAGE_KEYS:
            table[column] = [float(v) if v != "" else float("nan") for v in table[column]]
    return table


REQUIRED = ("schema", "dataset", "baseline", "metric", "value", "status", "protocol", "higher_is_better")
_TEXT = ("dataset", "baseline", "metric", "unit", "status", "reason", "protocol", "run_id", "schema", "role")
_BOOL = {True: True, False: False, "True": True, "False": False, "true": True, "false": False}


class TableError(UsageError):
    """A file that is not a valid results table: bad input (exit 2), not a regression."""


def read_results(path: Path) -> pd.DataFrame:
    """A results table from results.csv or results.jsonl, checked against the schema."""
    path = Path(path)
    if path.is_dir():
        path = path / "results.csv"
    try:
        table = _read(path)
    except (OSError, ValueError) as exc:
        raise TableError(f"{path}: cannot read a results table: {exc}") from None
    _validate(table, path)
    return table


def _read(path: Path) -> pd.DataFrame:
    if path.suffix == ".jsonl":
        return pd.read_json(path, lines=True, dtype={c: str for c in _TEXT}, precise_float=True)
    # names such as "NA" or "null" must stay names, not become NaN; values stay text until checked
    return pd.read_csv(path, dtype=str, keep_default_na=False)


def _validate(table: pd.DataFrame, path: Path) -> None:
    missing = [c for c in REQUIRED if c not in table.columns]
    if missing:
        raise TableError(f"{path}: not a {RESULT_SCHEMA} table: missing column(s) {', '.join(missing)}")
    schemas = set(table["schema"].dropna())
    if len(schemas) != 1 or not schemas <= set(READABLE_SCHEMAS):
        raise TableError(f"{path}: not a {RESULT_SCHEMA} table (found schema {sorted(schemas)})")
    for column in ("value", "ci_low", "ci_high", "p_vs_best", "n"):
        if column in table:
            table[column] = _numbers(table[column], column, path)
    for column in ("higher_is_better", "best", "subset"):
        if column in table:
            table[column] = _flags(table[column], column, path)
    if "subset" not in table:  # an older schema: every row was scored on its dataset's full test set
        table["subset"] = False
    bad_status = ~table["status"].isin(["ok", "failed"])
    if bad_status.any():
        raise TableError(f"{path}: status must be 'ok' or 'failed', got {table['status'][bad_status].iloc[0]!r}")
    dupes = table[table.duplicated(["dataset", "baseline", "metric"], keep=False)]
    if len(dupes):
        d = dupes.iloc[0]
        raise TableError(f"{path}: {len(dupes)} rows repeat a (dataset, baseline, metric), e.g. {d['dataset']}/{d['baseline']}/{d['metric']}")


def _flags(column: pd.Series, name: str, path: Path) -> pd.Series:
    flags = column.map(lambda v: None if v in ("", None) or v != v else _BOOL.get(v, "bad"))
    if (flags == "bad").any():
        row = int((flags == "bad").to_numpy().argmax())
        raise TableError(f"{path}: row {row + 2}: {name} must be True, False or empty, got {column.iloc[row]!r}")
    return flags.astype(object)


def _numbers(column: pd.Series, name: str, path: Path) -> pd.Series:
    text = column.map(lambda v: "" if v is None or (isinstance(v, float) and v != v) else str(v))
    values = pd.to_numeric(text.replace("", "nan"), errors="coerce")
    bad = values.isna() & ~text.isin(["", "nan", "NaN"])
    if bad.any():
        row = int(bad.to_numpy().argmax())
        raise TableError(f"{path}: row {row + 2}: {name} is not a number: {text.iloc[row]!r}")
    return values.astype(float)
