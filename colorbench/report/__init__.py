"""Reports rendered from a finished run folder alone (run.json, results.csv, per_image.csv, PNGs).

- render_report(run_dir) -> <run>/reports/index.html (leaderboards, metric agreement, image grids,
  best/worst images), plus reports/baseline-<slug>.html per baseline and reports/run.html
  (provenance). Pages are self-contained (CSS/JS inline, plots as inline SVG); images are the
  run's own PNGs linked by relative paths (../gt/..., ../outputs/...), plus the grayscale inputs
  written to reports/input/<dataset>/<image_id>.png. Keep reports/ inside the run folder.
- write_summary_md(run_dir) -> <run>/summary.md, a Markdown table per dataset for CI comments.
"""
from __future__ import annotations

from pathlib import Path

from colorbench.files import write_text


def render_report(run_dir: Path, tables: Path | None = None, reports: Path | None = None) -> Path:
    """Render the pages of the run in `run_dir` into `reports` (default <run_dir>/reports), reading
    its tables from `tables` (default run_dir); returns index.html's path."""
    from colorbench.report.render import render_pages

    return render_pages(Path(run_dir), tables, reports)


def write_summary_md(run_dir: Path, tables: Path | None = None) -> Path:
    """summary.md beside the tables (in `tables`, default run_dir)."""
    from colorbench.report.data import load_run
    from colorbench.report.markdown import summary_markdown

    path = Path(tables or run_dir) / "summary.md"
    write_text(path, summary_markdown(load_run(Path(run_dir), tables)))
    return path


__all__ = ["render_report", "write_summary_md"]
