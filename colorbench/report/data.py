"""Load a finished run folder and shape its leaderboards for the report.

Everything here is plain data; nothing knows about HTML. The inputs are the run's own files:
run.json (a RunDocument), results.csv, per_image.csv and the PNGs under gt/ and outputs/. What a
row is (model, floor or ceiling), which row is best and what failed were decided once, in the
records (colorbench.pipeline.tabulate); the report only reads them.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from colorbench.document import RunDocument
from colorbench.report.format import arrow, fmt, number, slug
from colorbench.results import read_results

SIMILAR_P = 0.05  # p_vs_best at or above this: the paired test cannot tell the row from the best


@dataclass
class MetricInfo:
    name: str
    higher_is_better: bool | None
    unit: str
    definition: str
    group: str = "other"

    @property
    def arrow(self) -> str:
        return arrow(self.higher_is_better)


@dataclass
class Cell:
    value: float | None
    text: str
    ci: str  # "[lo, hi]" or ""
    best: bool = False
    similar: bool = False  # p_vs_best >= SIMILAR_P
    p_vs_best: float | None = None
    failed: bool = False
    reason: str = ""


@dataclass
class BoardRow:
    baseline: str
    slug: str
    role: str  # '' for a model | 'floor' | 'ceiling' (a badge)
    status: str
    reason: str
    cells: dict[str, Cell] = field(default_factory=dict)
    subset_n: int | None = None  # scored on only this many of the dataset's test images: shown, not ranked


@dataclass
class Leaderboard:
    dataset: str
    metrics: list[MetricInfo]
    rows: list[BoardRow]
    n: int | None
    warnings: list[str] = field(default_factory=list)


@dataclass
class Run:
    folder: Path
    doc: RunDocument
    results: pd.DataFrame
    per_image: pd.DataFrame
    metrics: dict[str, MetricInfo]
    baselines: list[str]  # run.json order, then any only found in results
    datasets: list[str]

    def role(self, baseline: str) -> str:
        """'model', 'floor' or 'ceiling', as the records decided it."""
        rows = self.results.loc[self.results["baseline"] == baseline, "role"]
        if len(rows):
            return str(rows.iloc[0])
        doc = self.doc.baselines.get(baseline)
        return doc.role if doc else "model"

    def badge(self, baseline: str) -> str:
        role = self.role(baseline)
        return "" if role == "model" else role

    def baseline_ok(self, baseline: str) -> bool:
        doc = self.doc.baselines.get(baseline)
        return doc is None or doc.status == "ok"

    def failed_reason(self, baseline: str) -> str | None:
        """Why the baseline failed (its own failure, or every one of its rows failed), else None."""
        doc = self.doc.baselines.get(baseline)
        rows = self.results[self.results["baseline"] == baseline]
        if doc is not None and doc.status == "failed":
            return doc.reason or "no reason recorded"
        if len(rows) and (rows["status"] != "ok").all():
            reasons = [r for r in rows["reason"] if r]
            return reasons[0] if reasons else "no reason recorded"
        return None


def _metric_infos(doc: RunDocument, results: pd.DataFrame) -> dict[str, MetricInfo]:
    from colorbench.protocols.registry import PROTOCOLS  # imported late: torch-heavy

    protocol = doc.evaluation.get("protocol") or "colorbench"  # definitions of the run's own protocol
    registry = PROTOCOLS.get(protocol).metrics if protocol in PROTOCOLS else {}
    present = set(results["metric"])
    names = [m for m in dict.fromkeys(list(doc.evaluation.get("metrics") or []) + list(results["metric"])) if m in present]
    infos = {}
    for m in names:
        rows = results[results["metric"] == m]
        direction = next((d for d in rows["higher_is_better"] if d is not None), None)
        unit = next((u for u in rows["unit"] if u), "")
        spec = registry.get(m) if m in registry else None
        infos[m] = MetricInfo(m, direction, unit, spec.definition if spec else "", spec.group if spec else "other")
    return infos


def load_run(folder: Path, tables: Path | None = None) -> Run:
    """The run in `folder` (images under gt/ and outputs/); its tables and run.json are read from
    `tables` when given (a staging folder, so a report can be rendered before it is published)."""
    folder = Path(folder)
    tables = Path(tables) if tables is not None else folder
    doc = RunDocument.load(tables / "run.json")
    results = read_results(tables / "results.csv")
    for col in ("reason", "unit"):
        results[col] = results[col].fillna("").astype(str) if col in results else ""
    per_image_path = tables / "per_image.csv"
    per_image = (
        pd.read_csv(per_image_path, dtype={"dataset": str, "baseline": str, "image_id": str}, keep_default_na=False, na_values=[""])
        if per_image_path.exists() and per_image_path.stat().st_size else pd.DataFrame(columns=["dataset", "baseline", "image_id"])
    )
    baselines = list(dict.fromkeys(list(doc.baselines) + list(results["baseline"])))
    datasets = list(dict.fromkeys(list(doc.datasets) + list(results["dataset"])))
    return Run(folder, doc, results, per_image, _metric_infos(doc, results), baselines, datasets)


def _cell(r, role: str) -> Cell:
    value, lo, hi, p = number(r["value"]), number(r["ci_low"]), number(r["ci_high"]), number(r["p_vs_best"])
    ok = r["status"] == "ok" and value is not None
    if not ok:
        return Cell(None, "failed", "", failed=True, reason=r["reason"] or "failed")
    return Cell(value, fmt(value, value), f"[{fmt(lo, value)}, {fmt(hi, value)}]" if lo is not None and hi is not None else "",
                best=bool(r.get("best")) and role == "model", similar=p is not None and p >= SIMILAR_P, p_vs_best=p)


def _row(run: Run, table: pd.DataFrame, baseline: str, metrics: list[MetricInfo]) -> BoardRow:
    mine = table[table["baseline"] == baseline]
    reason = run.failed_reason(baseline)
    row = BoardRow(baseline, slug(baseline), run.badge(baseline), "failed" if reason else "ok", reason or "")
    for m in metrics:
        hit = mine[mine["metric"] == m.name]
        row.cells[m.name] = _cell(hit.iloc[0], run.role(baseline)) if len(hit) else Cell(None, "—", "", failed=True, reason="no result")
    subset = mine[mine["subset"].astype(bool) & (mine["status"] == "ok")]
    if len(subset):  # decided in the records (pipeline.tabulate): its best is False, its p_vs_best None
        row.subset_n = int(subset["n"].iloc[0])
    return row


def leaderboard(run: Run, dataset: str) -> Leaderboard:
    table = run.results[run.results["dataset"] == dataset]
    metrics = [run.metrics[m] for m in run.metrics if m in set(table["metric"])]
    names = [b for b in run.baselines if b in set(table["baseline"])]
    for b in run.baselines:  # a baseline that failed before producing rows for this dataset still gets its line
        doc = run.doc.baselines.get(b)
        if b not in names and doc is not None and doc.status == "failed" and dataset in (doc.evaluate_on or [dataset]):
            names.append(b)
    ds = run.doc.datasets.get(dataset)
    ns = [int(v) for v in table.loc[table["status"] == "ok", "n"].dropna()]
    n = ds.n_test_scored if ds else (max(ns) if ns else None)
    return Leaderboard(dataset, metrics, [_row(run, table, b, metrics) for b in names], n, list(ds.warnings) if ds else [])
