"""Render the HTML pages from the shaped run data (report/data.py) with jinja2, autoescape on.

CSS and JS are read from the package's template folder and inlined verbatim (not parsed as
templates), so every page opens from disk with no network.
"""
from __future__ import annotations

import json
from pathlib import Path

import jinja2
from markupsafe import Markup

from colorbench import __version__
from colorbench.files import write_text
from colorbench.report import data as D
from colorbench.report.images import write_gray_input
from colorbench.report.plots import history_plots


def tau_color(tau) -> str:
    """Heatmap colour: blue for agreement, red for disagreement, white at 0."""
    if tau is None:
        return "#f3f4f6"
    t = max(-1.0, min(1.0, float(tau)))
    r, g, b = (80, 130, 220) if t >= 0 else (220, 90, 80)
    a = abs(t) * 0.75
    mix = lambda c: round(255 - (255 - c) * a)  # noqa: E731 - blend with white
    return f"rgb({mix(r)}, {mix(g)}, {mix(b)})"


def pretty(obj) -> str:
    return json.dumps(obj, indent=2, default=str, ensure_ascii=False)


def environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("colorbench.report", "templates"),
        autoescape=True,  # names and ids come from configs and file systems: always text
        undefined=jinja2.ChainableUndefined,  # run.json fields missing in older runs render empty
        trim_blocks=True, lstrip_blocks=True,
    )
    env.filters["tau_color"] = tau_color
    env.filters["pretty"] = pretty
    return env


def _static(env: jinja2.Environment, name: str) -> Markup:
    source, _, _ = env.loader.get_source(env, name)
    return Markup(source)


def _seconds(v) -> str:
    v = D.number(v)
    if v is None:
        return ""
    return f"{v:.1f} s" if v < 120 else f"{v:.0f} s ({v / 60:.1f} min)"


def _common(run: D.Run, env: jinja2.Environment) -> dict:
    meta, envinfo = run.meta, run.meta.get("environment") or {}
    git = envinfo.get("git") or {}
    header = {
        "run_id": meta.get("run_id", run.folder.name), "scale": meta.get("scale", "?"), "device": meta.get("device", "?"),
        "seed": meta.get("seed", "?"), "created": envinfo.get("created"), "commit": git.get("commit"), "dirty": git.get("dirty"),
        "datasets": run.datasets, "baseline_links": [{"name": b, "slug": D.slug(b)} for b in run.baselines],
    }
    return {"run": header, "version": __version__, "css": _static(env, "style.css"), "js": _static(env, "report.js")}


def _dataset_context(run: D.Run, dataset: str, reports: Path) -> dict:
    columns = D.grid_columns(run, dataset)
    grid = D.grid(run, dataset, columns)
    for row in grid:  # the grayscale input is written next to the pages, under reports/input/
        target = reports / "input" / dataset / f"{row['id']}.png"
        if not target.resolve().is_relative_to(reports.resolve()):
            row["input"] = None  # an id like '../x' must not write outside reports/
        elif not write_gray_input(run.folder / "gt" / dataset / f"{row['id']}.png", target):
            row["input"] = None
    extremes = D.extremes(run, dataset)
    return {
        "board": D.leaderboard(run, dataset),
        "agreement": D.agreement(run, dataset),
        "columns": columns,
        "grid": grid,
        "extremes": extremes,
        "extreme_metrics": [run.metrics[m] for m in extremes],
    }


def _failed(run: D.Run) -> list[dict]:
    out = []
    for b in run.baselines:
        bm = run.baseline_meta(b)
        rows = run.results[run.results["baseline"] == b]
        if bm.get("status") == "failed" or (len(rows) and (rows["status"] != "ok").all()):
            reasons = [r for r in rows["reason"] if r]
            out.append({"name": b, "slug": D.slug(b), "reason": bm.get("reason") or (reasons[0] if reasons else "")})
    return out


def _weights_for(run: D.Run, bm: dict) -> list[dict]:
    """Run weights this baseline names in its info or config (e.g. its backbone)."""
    text = json.dumps([bm.get("info"), bm.get("config"), bm.get("model")], default=str)
    return [w for w in run.meta.get("weights") or [] if w.get("name") and w["name"] in text]


def _baseline_context(run: D.Run, name: str) -> dict:
    bm = run.baseline_meta(name)
    info = bm.get("info") or {}
    train = bm.get("train") or None
    rows = run.results[run.results["baseline"] == name]
    results = []
    for r in rows.itertuples(index=False):
        value, lo, hi, p = D.number(r.value), D.number(r.ci_low), D.number(r.ci_high), D.number(r.p_vs_best)
        m = run.metrics.get(r.metric)
        results.append({
            "dataset": r.dataset, "metric": r.metric, "arrow": m.arrow if m else "",
            "value": D.fmt(value, value), "ci": f"[{D.fmt(lo, value)}, {D.fmt(hi, value)}]" if lo is not None and hi is not None else "",
            "n": "" if D.number(r.n) is None else int(r.n), "p": "" if p is None else f"{p:.3g}",
            "status": r.status, "reason": r.reason,
        })
    params = info.get("num_parameters")
    seconds = bm.get("seconds") or {}
    return {
        "name": name, "role": run.role(name), "status": bm.get("status", "ok"), "reason": bm.get("reason", ""),
        "description": bm.get("description", ""), "model": bm.get("model", name), "info": info,
        "parameters": f"{int(params):,}" if D.number(params) is not None else None,
        "init_from": bm.get("init_from"), "config": bm.get("config") or {}, "settings": bm.get("settings"),
        "train": train, "plots": history_plots((train or {}).get("history") or []),
        "train_time": _seconds((train or {}).get("seconds")), "steps_per_second": (train or {}).get("steps_per_second"),
        "seconds": [(k, _seconds(v)) for k, v in seconds.items()],
        "weights": _weights_for(run, bm), "results": results, "traceback": info.get("traceback"),
    }


def render_pages(run_dir: Path, tables: Path | None = None, reports: Path | None = None) -> Path:
    """Write the pages into `reports` (default <run_dir>/reports); see report.render_report."""
    run = D.load_run(run_dir, tables)
    reports = Path(reports) if reports is not None else run.folder / "reports"
    reports.mkdir(parents=True, exist_ok=True)
    env = environment()
    common = _common(run, env)

    def write(template: str, filename: str, **context) -> Path:
        path = reports / filename
        write_text(path, env.get_template(template).render(**common, **context))
        return path

    index = write(
        "index.html", "index.html",
        datasets=[_dataset_context(run, d, reports) for d in run.datasets],
        failed=_failed(run), metrics=list(run.metrics.values()),
    )
    for b in run.baselines:
        write("baseline.html", f"baseline-{D.slug(b)}.html", b=_baseline_context(run, b))
    meta = run.meta
    baseline_seconds = [
        (b, {**{k: _seconds(v) for k, v in (run.baseline_meta(b).get("seconds") or {}).items()}, "status": run.baseline_meta(b).get("status", "")})
        for b in run.baselines
    ]
    write(
        "run.html", "run.html", meta=meta, env=meta.get("environment") or {},
        datasets=list((meta.get("datasets") or {}).items()), evaluation=meta.get("evaluation") or {},
        timings=[(k, _seconds(v)) for k, v in (meta.get("timings") or {}).items()], baseline_seconds=baseline_seconds,
    )
    return index
