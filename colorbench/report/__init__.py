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

from colorbench.records import write_text


def render_report(run_dir: Path) -> Path:
    from colorbench.report.render import render_pages

    return render_pages(Path(run_dir))


def write_summary_md(run_dir: Path) -> Path:
    from colorbench.report.data import load_run
    from colorbench.report.markdown import summary_markdown

    path = Path(run_dir) / "summary.md"
    write_text(path, summary_markdown(load_run(Path(run_dir))))
    return path


__all__ = ["render_report", "write_summary_md"]
