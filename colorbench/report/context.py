"""What each page shows, as plain data for the templates (render.py renders them)."""
from __future__ import annotations

import json
from pathlib import Path

from colorbench.report import sections
from colorbench.report.data import Run
from colorbench.report.format import fmt, number, slug
from colorbench.report.headline import (
    headline_board,
    hecd_agreement,
    people,
    provenance_text,
)
from colorbench.report.images import write_gray_input
from colorbench.report.plots import history_plots
from colorbench.typed import to_dict

GROUP_ORDER = ("pixel fidelity", "colour classes", "perceptual", "distribution", "colourfulness", "other")


def seconds(v) -> str:
    v = number(v)
    if v is None:
        return ""
    return f"{v:.1f} s" if v < 120 else f"{v:.0f} s ({v / 60:.1f} min)"


def header(run: Run) -> dict:
    from colorbench.protocols.labels import run_banner

    doc = run.doc
    git = doc.environment.get("git") or {}
    return {"run": {
        "run_id": doc.run_id, "scale": doc.scale, "device": doc.device, "seed": doc.seed,
        "created": doc.environment.get("created"), "commit": git.get("commit"), "dirty": git.get("dirty"),
        "datasets": run.datasets, "baseline_links": [{"name": b, "slug": slug(b)} for b in run.baselines],
        "banner": run_banner(doc.evaluation, doc.weights),  # protocol and unverified weights, on every page
    }}


def metric_groups(run: Run) -> list[str]:
    present = {m.group for m in run.metrics.values()}
    return [g for g in GROUP_ORDER if g in present]


def dataset(run: Run, name: str, reports: Path) -> dict:
    columns = sections.grid_columns(run, name)
    grid = sections.grid(run, name, columns)
    for row in grid:  # the grayscale input is written next to the pages, under reports/input/
        target = reports / "input" / name / f"{row['id']}.png"
        if not target.resolve().is_relative_to(reports.resolve()):
            row["input"] = None  # an id like '../x' must not write outside reports/
        elif not write_gray_input(run.folder / "gt" / name / f"{row['id']}.png", target):
            row["input"] = None
    extremes = sections.extremes(run, name)
    board, top, matrix = headline_board(run, name)
    return {
        "board": board, "agreement": matrix, "headline": top, "people": {m.name: people(m.name) for m in board.metrics},
        "people_provenance": provenance_text(hecd_agreement()), "columns": columns,
        "grid": grid, "extremes": extremes, "extreme_metrics": [run.metrics[m] for m in extremes],
    }


def failed(run: Run) -> list[dict]:
    return [{"name": b, "slug": slug(b), "reason": reason} for b in run.baselines
            if (reason := run.failed_reason(b)) is not None]


def _weights_for(run: Run, doc) -> list[dict]:
    """Run weights this baseline names in its info or config (e.g. its backbone)."""
    text = json.dumps([doc.info, doc.config, doc.model], default=str) if doc else ""
    return [w for w in run.doc.weights if w.get("name") and w["name"] in text]


def _result_rows(run: Run, name: str) -> list[dict]:
    rows = []
    for r in run.results[run.results["baseline"] == name].itertuples(index=False):
        value, lo, hi, p = number(r.value), number(r.ci_low), number(r.ci_high), number(r.p_vs_best)
        m = run.metrics.get(r.metric)
        rows.append({
            "dataset": r.dataset, "metric": r.metric, "arrow": m.arrow if m else "",
            "value": fmt(value, value), "ci": f"[{fmt(lo, value)}, {fmt(hi, value)}]" if lo is not None and hi is not None else "",
            "n": "" if number(r.n) is None else int(r.n), "p": "" if p is None else f"{p:.3g}",
            "status": r.status, "reason": r.reason,
        })
    return rows


def _settings(doc) -> list[dict] | None:
    """Each resolved training setting with the layer it came from (colorbench.settings)."""
    if not doc or doc.settings is None:
        return None
    origin = doc.settings_origin or {}
    return [{"name": k, "value": json.dumps(v, default=str), "origin": origin.get(k, "")} for k, v in doc.settings.items()]


def baseline(run: Run, name: str) -> dict:
    doc = run.doc.baselines.get(name)
    info, train = (doc.info if doc else {}), (doc.train if doc else None)
    params = info.get("num_parameters")
    return {
        "name": name, "role": run.badge(name), "status": "failed" if run.failed_reason(name) else "ok",
        "reason": run.failed_reason(name) or "", "description": doc.description if doc else "",
        "model": doc.model if doc else name, "info": info,
        "parameters": f"{int(params):,}" if number(params) is not None else None,
        "init_from": doc.init_from if doc else None, "config": doc.config if doc else {},
        "settings": _settings(doc), "train": train, "plots": history_plots((train or {}).get("history") or []),
        "train_time": seconds((train or {}).get("seconds")), "steps_per_second": (train or {}).get("steps_per_second"),
        "seconds": [(k, seconds(v)) for k, v in (doc.seconds if doc else {}).items()],
        "weights": _weights_for(run, doc), "results": _result_rows(run, name), "traceback": info.get("traceback"),
    }


def run_page(run: Run) -> dict:
    doc = run.doc
    per_baseline = [(b, {**{k: seconds(v) for k, v in d.seconds.items()}, "status": d.status})
                    for b, d in doc.baselines.items()]
    protocol = {name: d.protocol for name, d in doc.datasets.items()}
    return {
        "meta": to_dict(doc), "env": doc.environment, "datasets": list(to_dict(doc.datasets).items()),
        "evaluation": {**doc.evaluation, "protocol": protocol},
        "timings": [(k, seconds(v)) for k, v in doc.timings.items()], "baseline_seconds": per_baseline,
    }
