"""Plain data for the report's "People" section (template: report/templates/people.html).

`people_section(run_folder)` reads RUN_DIR/studies/*/analysis.json (written by `study analyze`)
and results.csv, and returns one entry per study: per dataset, every shown system's human score
(the measure of the study's design, colorbench.study.designs) with its 95% CI beside the run's
directional metrics, and where people and metrics disagree: a pair of baselines whose human CIs
do not overlap while a metric orders them the other way.
A study whose analysis cannot be read gets an entry with `error` instead; the report never fails
because of one.
"""
from __future__ import annotations

import json
from pathlib import Path

from colorbench.report.format import arrow, fmt, number
from colorbench.results import TableError, read_results
from colorbench.runfolder import STUDIES
from colorbench.study.analysis import ANALYSIS_FILE, ANALYSIS_SCHEMA
from colorbench.study.designs import DESIGNS
from colorbench.study.spec import STUDY_FILE


def _metric_table(tables: Path) -> dict:
    """{dataset: {metric: {"hib": bool, "values": {baseline: value}}}} for ok, directional rows."""
    try:
        results = read_results(tables / "results.csv")
    except (OSError, ValueError, KeyError, TableError):
        return {}
    out: dict = {}
    for r in results.itertuples():
        hib, value = r.higher_is_better if isinstance(r.higher_is_better, bool) else None, number(r.value)
        if r.status != "ok" or hib is None or value is None:
            continue
        out.setdefault(r.dataset, {}).setdefault(r.metric, {"hib": hib, "values": {}})["values"][r.baseline] = value
    return out


def _text(value, lo, hi, percent: bool) -> tuple[str, str]:
    main = f"{value * 100:.1f}%" if percent else f"{value:.2f}"
    if lo is None or hi is None:
        return main, "no CI (< 2 raters or images)"
    return main, (f"[{lo * 100:.1f}, {hi * 100:.1f}]%" if percent else f"[{lo:.2f}, {hi:.2f}]")


def disagreements(rows: list[dict], metrics: dict) -> list[dict]:
    """Pairs (a, b): people rate a above b with non-overlapping CIs, a metric ranks b strictly better."""
    out = []
    models = [r for r in rows if not r["reference"] and r["ci_low"] is not None]
    for a in models:
        for b in models:
            if a is b or not a["ci_low"] > b["ci_high"]:
                continue
            for name, m in metrics.items():
                va, vb = m["values"].get(a["system"]), m["values"].get(b["system"])
                if va is None or vb is None or not ((vb > va) if m["hib"] else (vb < va)):
                    continue
                out.append({"metric": name, "arrow": arrow(m["hib"]), "people_prefer": a["system"], "over": b["system"],
                            "people": f"{a['value_text']} {a['ci_text']} vs {b['value_text']} {b['ci_text']}",
                            "metric_values": f"{fmt(va, va)} vs {fmt(vb, vb)}"})
    return out


def _dataset(dataset: str, scores: list[dict], percent: bool, metrics: dict) -> dict:
    rows = []
    for s in sorted(scores, key=lambda s: -s["value"]):
        value_text, ci_text = _text(s["value"], s["ci_low"], s["ci_high"], percent)
        rows.append({**s, "value_text": value_text, "ci_text": ci_text,
                     "metrics": {m: fmt(v["values"].get(s["system"]), v["values"].get(s["system"])) for m, v in metrics.items()}})
    return {"dataset": dataset, "rows": rows, "disagreements": disagreements(rows, metrics),
            "metrics": [{"name": m, "arrow": arrow(v["hib"])} for m, v in metrics.items()]}


def _study(folder: Path, metric_table: dict, run_id: str | None) -> dict:
    entry = {"name": folder.name, "error": "", "warnings": []}
    try:
        data = json.loads((folder / ANALYSIS_FILE).read_text(encoding="utf-8"))
        if data.get("schema") != ANALYSIS_SCHEMA:
            raise ValueError(f"not a {ANALYSIS_SCHEMA} file")
        measure = DESIGNS.get(data["design"]).measure  # an unknown design is a KeyError: the entry says so
        datasets = list(dict.fromkeys(s["dataset"] for s in data["scores"]))
        entry.update(name=data["study"], design=data["design"], measure=data["measure"], measure_label=measure.report_label,
                     definition=measure.definition, created=data["created"], raters=data["raters"], responses=data["responses"],
                     alpha=data["alpha"], bootstrap=data["bootstrap"]["scheme"],
                     datasets=[_dataset(d, [s for s in data["scores"] if s["dataset"] == d], measure.percent, metric_table.get(d, {})) for d in datasets])
    except (OSError, ValueError, KeyError, TypeError) as exc:
        entry["error"] = f"{folder / ANALYSIS_FILE}: unreadable ({type(exc).__name__}: {exc}); rerun `colorbench study analyze {folder}`"
        return entry
    try:
        current = json.loads((folder / STUDY_FILE).read_text(encoding="utf-8")).get("fingerprint")
    except (OSError, ValueError):
        current = None
    if current != data.get("fingerprint"):
        entry["warnings"].append("the study folder changed since this analysis; rerun `colorbench study analyze`")
    if run_id and data.get("run_id") != run_id:
        entry["warnings"].append(f"analysis of run {data.get('run_id')!r}, not this run ({run_id!r})")
    return entry


def people_section(run_folder: Path, tables: Path | None = None) -> list[dict]:
    """One entry per analysed study of the run, in name order; [] when there is none. The run's
    tables and run.json are read from `tables` when given (the report's staging folder)."""
    run_folder = Path(run_folder)
    tables = Path(tables) if tables is not None else run_folder
    studies = sorted(p.parent for p in (run_folder / STUDIES).glob(f"*/{ANALYSIS_FILE}") if not p.parent.name.startswith("."))
    if not studies:
        return []
    try:
        run_id = json.loads((tables / "run.json").read_text(encoding="utf-8")).get("run_id")
    except (OSError, ValueError):
        run_id = None
    table = _metric_table(tables)
    return [_study(folder, table, run_id) for folder in studies]
