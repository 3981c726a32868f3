"""Render the HTML pages from the shaped run data (report/data.py) with jinja2, autoescape on.

CSS and JS are read from the package's template folder and inlined verbatim (not parsed as
templates), so every page opens from disk with no network.
"""
from __future__ import annotations

import json
import os
from pathlib import Path

import jinja2
from markupsafe import Markup

from colorbench import __version__
from colorbench.files import write_text
from colorbench.report import context
from colorbench.report.data import load_run
from colorbench.report.format import slug
from colorbench.report.people import people_section
from colorbench.runfolder import REPORTS


PUBLISHED_PAGE = "agreement/published.html"  # `colorbench agreement hecd --out <run>/agreement` writes it; linked when present


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


def render_pages(run_dir: Path, tables: Path | None = None, reports: Path | None = None) -> Path:
    """Write the pages into `reports` (default <run_dir>/reports); see report.render_report."""
    run = load_run(run_dir, tables)
    reports = Path(reports) if reports is not None else run.folder / REPORTS
    reports.mkdir(parents=True, exist_ok=True)
    env = environment()
    published = run.folder / PUBLISHED_PAGE
    link = os.path.relpath(published, reports).replace(os.sep, "/") if published.is_file() else None
    common = {**context.header(run), "version": __version__, "published": link, "css": _static(env, "style.css"), "js": _static(env, "report.js")}

    def write(template: str, filename: str, **values) -> Path:
        path = reports / filename
        write_text(path, env.get_template(template).render(**common, **values))  # atomic: never a truncated page
        return path

    index = write("index.html", "index.html", datasets=[context.dataset(run, d, reports) for d in run.datasets],
                  failed=context.failed(run), metrics=list(run.metrics.values()), groups=context.metric_groups(run),
                  people=people_section(run.folder, tables))
    for b in run.baselines:
        write("baseline.html", f"baseline-{slug(b)}.html", b=context.baseline(run, b))
    write("run.html", "run.html", **context.run_page(run))
    return index
