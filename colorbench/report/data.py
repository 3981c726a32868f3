"""Load a finished run folder and shape it for the report: leaderboards, grids, agreement.

Everything here is plain data (dicts, lists, floats); nothing knows about HTML. The run folder
is the only input: run.json, results.csv, per_image.csv and the PNGs under gt/ and outputs/.
"""
from __future__ import annotations

import hashlib
import json
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

import numpy as np
import pandas as pd
from scipy.stats import kendalltau

from colorbench.records import read_results

REFERENCE_ROLES = {"gray": "floor", "oracle": "ceiling"}  # registry model name -> role
SIMILAR_P = 0.05  # p_vs_best at or above this: the paired test cannot tell the row from the best
EXTREMES_K = 4  # images per baseline in the best / worst lists


def slug(name: str) -> str:
    """A file-name-safe slug; names that had to be altered get a short hash so slugs stay unique."""
    clean = re.sub(r"[^A-Za-z0-9_.-]+", "-", name).strip("-.").lower() or "baseline"
    if clean == name:
        return clean
    return f"{clean}-{hashlib.sha1(name.encode('utf-8')).hexdigest()[:6]}"


def direction(value) -> bool | None:
    """A results row's higher_is_better, read back from CSV (bool, 'True'/'False' or empty)."""
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    return None


def number(value) -> float | None:
    """A float, or None for empty / NaN cells."""
    try:
        v = float(value)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(v) else v


def arrow(higher_is_better: bool | None) -> str:
    return {True: "↑", False: "↓", None: ""}[higher_is_better]


def fmt(value: float | None, ref: float | None = None) -> str:
    """A compact number; `ref` (e.g. the row value) fixes the decimals so a CI matches its value."""
    if value is None:
        return "—"
    scale = abs(ref if ref is not None else value)
    if math.isinf(value):
        return "∞" if value > 0 else "−∞"
    if scale >= 100:
        return f"{value:.1f}"
    if scale >= 1:
        return f"{value:.2f}"
    if scale == 0:
        return f"{value:.3g}"
    decimals = min(8, 3 - int(math.floor(math.log10(scale))))  # about 4 significant digits
    return f"{value:.{decimals}f}"


def image_url(*parts: str) -> str:
    """A relative URL from reports/ to a run file; each path segment percent-encoded (ids may hold '#', '?', spaces)."""
    segments = [seg for part in parts for seg in str(part).split("/")]
    return "/".join(quote(seg, safe="", errors="surrogateescape") for seg in segments)  # the file's own bytes


@dataclass
class MetricInfo:
    name: str
    higher_is_better: bool | None
    unit: str
    definition: str

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
    role: str  # '' | 'floor' | 'ceiling'
    status: str
    reason: str
    cells: dict[str, Cell] = field(default_factory=dict)


@dataclass
class Leaderboard:
    dataset: str
    metrics: list[MetricInfo]
    rows: list[BoardRow]
    n: int | None


@dataclass
class Run:
    folder: Path
    meta: dict
    results: pd.DataFrame
    per_image: pd.DataFrame
    metrics: dict[str, MetricInfo]
    baselines: list[str]  # run.json order, then any only found in results
    datasets: list[str]

    def role(self, baseline: str) -> str:
        """'floor', 'ceiling' or '' (a model): the baseline's declared info.role, else by registry name."""
        b = self.meta.get("baselines", {}).get(baseline) or {}
        declared = (b.get("info") or {}).get("role")
        if declared in ("floor", "ceiling"):
            return declared
        if declared == "model":
            return ""
        return REFERENCE_ROLES.get(b.get("model") or baseline, "")

    def baseline_meta(self, baseline: str) -> dict:
        return self.meta.get("baselines", {}).get(baseline) or {}


def _definitions(names: list[str]) -> dict[str, str]:
    """Definition text from the metric registry; a name the registry does not know gets ''."""
    from colorbench.metrics.registry import METRICS  # imported late: torch-heavy

    return {n: (METRICS.entry(n).description if n in METRICS else "") for n in names}


def _unique(seq) -> list:
    return list(dict.fromkeys(seq))


def load_run(folder: Path, tables: Path | None = None) -> Run:
    """The run in `folder` (images under gt/ and outputs/); its tables and run.json are read from
    `tables` when given (a staging folder, so a report can be rendered before it is published)."""
    folder = Path(folder)
    tables = Path(tables) if tables is not None else folder
    meta = json.loads((tables / "run.json").read_text(encoding="utf-8"))
    results = read_results(tables / "results.csv")
    per_image_path = tables / "per_image.csv"
    per_image = (
        pd.read_csv(per_image_path, dtype={"dataset": str, "baseline": str, "image_id": str}, keep_default_na=False, na_values=[""])
        if per_image_path.exists() and per_image_path.stat().st_size else pd.DataFrame(columns=["dataset", "baseline", "image_id"])
    )
    for col in ("dataset", "baseline", "metric", "unit", "reason", "status"):
        results[col] = results[col].fillna("").astype(str) if col in results else ""
    for col in ("ci_low", "ci_high", "p_vs_best", "n", "higher_is_better"):
        if col not in results:  # optional in spirit: a table without them still renders
            results[col] = None
    metric_names = _unique(list(meta.get("evaluation", {}).get("metrics") or []) + list(results["metric"]))
    metric_names = [m for m in metric_names if m in set(results["metric"])]
    definitions = _definitions(metric_names)
    metrics = {}
    for m in metric_names:
        rows = results[results["metric"] == m]
        dirs = [direction(v) for v in rows["higher_is_better"]]
        units = [u for u in rows["unit"] if u]
        metrics[m] = MetricInfo(m, next((d for d in dirs if d is not None), None), units[0] if units else "", definitions.get(m, ""))
    baselines = _unique(list(meta.get("baselines", {})) + list(results["baseline"]))
    datasets = _unique(list(meta.get("datasets", {})) + list(results["dataset"]))
    return Run(folder, meta, results, per_image, metrics, baselines, datasets)


def _best_values(rows: pd.DataFrame, run: Run, hib: bool | None) -> float | None:
    """The best value among ok, non-reference rows; None for directionless metrics."""
    if hib is None:
        return None
    values = [number(r.value) for r in rows.itertuples() if r.status == "ok" and not run.role(r.baseline)]
    values = [v for v in values if v is not None]
    if not values:
        return None
    return max(values) if hib else min(values)


def leaderboard(run: Run, dataset: str) -> Leaderboard:
    table = run.results[run.results["dataset"] == dataset]
    metrics = [run.metrics[m] for m in run.metrics if m in set(table["metric"])]
    best = {m.name: _best_values(table[table["metric"] == m.name], run, m.higher_is_better) for m in metrics}
    names = [b for b in run.baselines if b in set(table["baseline"])]
    # a baseline that failed before producing rows for this dataset still gets its line
    for b in run.baselines:
        bm = run.baseline_meta(b)
        if b not in names and bm.get("status") == "failed" and dataset in bm.get("evaluate_on", [dataset]):
            names.append(b)
    rows = []
    for b in names:
        bm = run.baseline_meta(b)
        mine = table[table["baseline"] == b]
        reasons = [r for r in mine["reason"] if r]
        status = "failed" if bm.get("status") == "failed" or (len(mine) and (mine["status"] != "ok").all()) else "ok"
        row = BoardRow(b, slug(b), run.role(b), status, bm.get("reason") or (reasons[0] if reasons else ""))
        for m in metrics:
            hit = mine[mine["metric"] == m.name]
            if not len(hit):
                row.cells[m.name] = Cell(None, "—", "", failed=True, reason="no result")
                continue
            r = hit.iloc[0]
            value, lo, hi, p = number(r["value"]), number(r["ci_low"]), number(r["ci_high"]), number(r["p_vs_best"])
            ok = r["status"] == "ok" and value is not None
            row.cells[m.name] = Cell(
                value if ok else None,
                fmt(value, value) if ok else "failed",
                f"[{fmt(lo, value)}, {fmt(hi, value)}]" if ok and lo is not None and hi is not None else "",
                best=ok and not row.role and best[m.name] is not None and value == best[m.name],
                similar=ok and p is not None and p >= SIMILAR_P,
                p_vs_best=p,
                failed=not ok,
                reason="" if ok else (r["reason"] or "failed"),
            )
        rows.append(row)
    ns = [int(v) for v in table.loc[table["status"] == "ok", "n"].dropna()] if "n" in table else []
    n_used = (run.meta.get("datasets", {}).get(dataset) or {}).get("n_used", {}).get("test")
    return Leaderboard(dataset, metrics, rows, n_used if n_used is not None else (max(ns) if ns else None))


def agreement(run: Run, dataset: str) -> dict:
    """Kendall tau between every pair of directional metrics across the ok, non-reference baselines.

    Values are direction-adjusted (negated where lower is better) so tau = 1 means both metrics
    rank the baselines the same way. Reference rows (gray, oracle) are left out: they sit at the
    ends of every metric and would inflate agreement.
    """
    table = run.results[(run.results["dataset"] == dataset) & (run.results["status"] == "ok")]
    table = table[table["baseline"].map(lambda b: not run.role(b)).astype(bool)]  # an empty list would select columns
    metrics = [m for m in run.metrics.values() if m.higher_is_better is not None and m.name in set(table["metric"])]
    wide = table.pivot_table(index="baseline", columns="metric", values="value", aggfunc="first")
    names = [m.name for m in metrics]
    matrix: list[list[float | None]] = []
    for a in metrics:
        line = []
        for b in metrics:
            pair = wide[[a.name, b.name]].dropna() if a.name != b.name else wide[[a.name]].dropna()
            if a.name == b.name:
                line.append(1.0 if len(pair) >= 2 else None)
                continue
            if len(pair) < 2:
                line.append(None)
                continue
            x = pair[a.name].to_numpy(float) * (1 if a.higher_is_better else -1)
            y = pair[b.name].to_numpy(float) * (1 if b.higher_is_better else -1)
            tau = kendalltau(x, y).statistic
            line.append(None if tau is None or math.isnan(tau) else float(tau))
        matrix.append(line)
    return {"metrics": names, "matrix": matrix, "n_baselines": int(len(wide))}


def _file_exists(run: Run, *parts: str) -> bool:
    return (run.folder.joinpath(*parts[:-1]) / f"{parts[-1]}.png").is_file()


def grid_columns(run: Run, dataset: str) -> list[str]:
    """Baselines shown in the side-by-side grid: ok, with outputs on this dataset; gray and oracle
    are left out because the input and ground-truth columns already show them."""
    out = run.folder / "outputs" / dataset
    return [b for b in run.baselines if not run.role(b) and run.baseline_meta(b).get("status", "ok") == "ok" and (out / b).is_dir()]


def grid(run: Run, dataset: str, columns: list[str]) -> list[dict]:
    ids = (run.meta.get("datasets", {}).get(dataset) or {}).get("grid_ids") or []
    rows = []
    for image_id in ids:
        rows.append({
            "id": image_id,
            "input": image_url("input", dataset, f"{image_id}.png"),
            "gt": image_url("..", "gt", dataset, f"{image_id}.png"),
            "outputs": [
                {"baseline": b, "url": image_url("..", "outputs", dataset, b, f"{image_id}.png") if _file_exists(run, "outputs", dataset, b, image_id) else None}
                for b in columns
            ],
        })
    return rows


def extremes(run: Run, dataset: str, k: int = EXTREMES_K) -> dict:
    """Per per-image metric (with a direction), each baseline's k best and k worst images.

    Precomputed so the page's select box only switches lists: {metric: [{baseline, best, worst}]},
    baselines in run order (a list: JSON objects would come back key-sorted).
    """
    table = run.per_image[run.per_image["dataset"] == dataset]
    out: dict = {}
    for m in run.metrics.values():
        if m.name not in table.columns or m.higher_is_better is None:
            continue
        by_metric = []
        for b in [b for b in run.baselines if not run.role(b)]:
            mine = table[table["baseline"] == b][["image_id", m.name]].dropna()
            if not len(mine):
                continue
            ordered = mine.sort_values(m.name, ascending=not m.higher_is_better, kind="stable")

            def items(frame, b=b, m=m):
                return [{
                    "id": image_id,
                    "value": fmt(float(value)),
                    "out": image_url("..", "outputs", dataset, b, f"{image_id}.png"),
                    "gt": image_url("..", "gt", dataset, f"{image_id}.png"),
                } for image_id, value in zip(frame["image_id"], frame[m.name])]

            by_metric.append({"baseline": b, "best": items(ordered.head(k)), "worst": items(ordered.iloc[::-1].head(k))})
        if by_metric:
            out[m.name] = by_metric
    return out
