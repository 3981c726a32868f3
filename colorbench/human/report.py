"""Output of `colorbench agreement`: the text table, and --out's JSON, CSVs and HTML page.

The page is self-contained (inline CSS shared with colorbench's run reports, inline SVG
scatter plots, no script, no network). Every text in the SVG goes through html.escape; the
page itself is rendered by jinja2 with autoescape on.
"""
from __future__ import annotations

import csv
import io
import json
from html import escape
from importlib import resources
from pathlib import Path

import jinja2
import numpy as np
from markupsafe import Markup

from colorbench import __version__
from colorbench.files import atomic_write_bytes
from colorbench.report.plots import PALETTE, _label, nice_ticks

from .agreement import Inputs


def _fmt(x, digits: int = 3) -> str:
    return "-" if x is None else f"{x:.{digits}f}"


def _ci(ci) -> str:
    return f"[{ci[0]:.3f}, {ci[1]:.3f}]" if ci else "-"


def text_table(result: dict) -> str:
    rows = [("metric", "better", "n", "SRCC", "95% CI", "KRCC", "PLCC", "within-scene SRCC", "systems tau")]
    for name, m in result["metrics"].items():
        tau = result["systems"]["metrics"][name]["kendall_tau"]
        rows.append((name, m["direction"], str(m["n"]), _fmt(m["srcc"]), _ci(m["srcc_ci"]), _fmt(m["krcc"]),
                     _fmt(m["plcc"]), _fmt(m["within_scene"]["srcc"]), _fmt(tau)))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in rows]
    people = result["systems"]["people"]
    if people:
        lines.append("")
        what = "mean score" if result["zscore"]["method"] == "none" else "mean z-score"
        lines.append(f"systems by people ({what} [95% CI]; MOS): " + "; ".join(
            f"{p['rank']}. {p['system']} {p['mean_z']:+.3f} {_ci(p['mean_z_ci'])}, {p['mos']:.2f}" for p in people))
    lines.append(f"n = {result['n']} rated images, {len(result['scenes'])} scenes; signed so that positive = agrees with people")
    return "\n".join(lines)


def scatter_plot(x, y, groups, title: str, xlabel: str, ylabel: str, width: int = 360, height: int = 300) -> str:
    """An SVG scatter, one colour per group (scene); '' when there is nothing finite to draw."""
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    ok = np.isfinite(x) & np.isfinite(y)
    if not ok.any():
        return ""
    xt, yt = nice_ticks(x[ok].min(), x[ok].max()), nice_ticks(y[ok].min(), y[ok].max())
    x0, x1, y0, y1 = min(xt), max(xt), min(yt), max(yt)
    left, right, top, bottom = 50, 10, 24, 40
    pw, ph = width - left - right, height - top - bottom

    def px(v):
        return left + (v - x0) / ((x1 - x0) or 1) * pw

    def py(v):
        return top + (1 - (v - y0) / ((y1 - y0) or 1)) * ph

    order = sorted(set(groups))
    out = [(f'<svg class="plot" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" width="{width}" '
            f'height="{height}" role="img" aria-label="{escape(title)}">'),
           f'<text x="{left}" y="15" class="plot-title">{escape(title)}</text>']
    for v in yt:
        out.append(f'<line x1="{left}" x2="{left + pw}" y1="{py(v):.1f}" y2="{py(v):.1f}" class="grid"/>')
        out.append(f'<text x="{left - 5}" y="{py(v) + 4:.1f}" text-anchor="end" class="tick">{escape(_label(v))}</text>')
    for v in xt:
        out.append(f'<text x="{px(v):.1f}" y="{top + ph + 14}" text-anchor="middle" class="tick">{escape(_label(v))}</text>')
    out.append(f'<rect x="{left}" y="{top}" width="{pw}" height="{ph}" class="frame"/>')
    out.append(f'<text x="{left + pw / 2:.1f}" y="{height - 6}" text-anchor="middle" class="axis">{escape(xlabel)}</text>')
    out.append(f'<text transform="translate(12 {top + ph / 2:.1f}) rotate(-90)" text-anchor="middle" class="axis">{escape(ylabel)}</text>')
    for xi, yi, g in zip(x[ok], y[ok], np.asarray(groups)[ok]):
        color = PALETTE[order.index(g) % len(PALETTE)]
        out.append(f'<circle cx="{px(xi):.1f}" cy="{py(yi):.1f}" r="2.2" fill="{color}" fill-opacity="0.7">'
                   f'<title>{escape(str(g))}: {escape(_label(xi))}, {escape(_label(yi))}</title></circle>')
    out.append("</svg>")
    return "".join(out)


def _csv_bytes(rows: list[list]) -> bytes:
    text = io.StringIO()
    csv.writer(text, lineterminator="\n").writerows(rows)
    return text.getvalue().encode()


def _tables(inputs: Inputs, result: dict) -> dict[str, list[list]]:
    names = list(result["metrics"])
    table = inputs.table.reindex(inputs.ids)
    per_image = [["item", "scene", "system", "n_ratings", "mos", "mean_z", *names]]
    for k, item_id in enumerate(inputs.ids):
        it = inputs.rs.item(item_id)
        row = table.loc[item_id]
        per_image.append([item_id, it.scene, it.system or "", int(row["n_ratings"]), repr(float(row["mos"])),
                          repr(float(row["mean_z"])), *(repr(float(inputs.values[n][k])) for n in names)])
    metrics = [["metric", "direction", "n", "srcc", "srcc_lo", "srcc_hi", "krcc", "krcc_lo", "krcc_hi", "plcc",
                "plcc_fit", "within_srcc", "within_srcc_lo", "within_srcc_hi", "within_krcc", "systems_kendall_tau"]]
    for n, m in result["metrics"].items():
        w = m["within_scene"]
        metrics.append([n, m["direction"], m["n"], m["srcc"], *(m["srcc_ci"] or ["", ""]), m["krcc"],
                        *(m["krcc_ci"] or ["", ""]), m["plcc"], m["plcc_fit"], w["srcc"], *(w["srcc_ci"] or ["", ""]),
                        w["krcc"], result["systems"]["metrics"][n]["kendall_tau"]])
    scenes = result["scenes"]
    per_scene = [["metric", *scenes]] + [[n, *(m["within_scene"]["per_scene"][s] for s in scenes)]
                                         for n, m in result["metrics"].items()]
    people = result["systems"]["people"]
    systems = [["system", "rank", "n_images", "mean_z", "mean_z_lo", "mean_z_hi", "mos", "mos_lo", "mos_hi",
                *(f"{n}_rank" for n in names)]]
    for p in people:
        ranks = [result["systems"]["metrics"][n]["ranking"].index(p["system"]) + 1 for n in names]
        systems.append([p["system"], p["rank"], p["n_images"], p["mean_z"], *(p["mean_z_ci"] or ["", ""]),
                        p["mos"], *(p["mos_ci"] or ["", ""]), *ranks])
    return {"per_image.csv": per_image, "metrics.csv": metrics, "per_scene.csv": per_scene, "systems.csv": systems}


def _html(inputs: Inputs, result: dict) -> str:
    env = jinja2.Environment(loader=jinja2.PackageLoader("colorbench.human", "templates"), autoescape=True,
                             trim_blocks=True, lstrip_blocks=True)
    css = resources.files("colorbench.report").joinpath("templates", "style.css").read_text("utf-8")
    y = inputs.table["mean_z"].reindex(inputs.ids).to_numpy()
    scenes = [inputs.rs.item(i).scene for i in inputs.ids]
    better = {"higher": "higher is better", "lower": "lower is better", "none": "no better direction"}
    plots = [Markup(scatter_plot(inputs.values[n], y, scenes, f"{n} (SRCC {_fmt(m['srcc'])})",
                                 f"{n} ({better[m['direction']]})", "mean z-score"))
             for n, m in result["metrics"].items()]
    order = sorted(set(scenes))
    legend = [(s, PALETTE[k % len(PALETTE)]) for k, s in enumerate(order)]
    return env.get_template("agreement.html").render(
        r=result, plots=plots, legend=legend, css=Markup(css), version=__version__, fmt=_fmt, ci=_ci)


def write(out: str | Path, inputs: Inputs, result: dict) -> None:
    """Every file is rendered first, then each written atomically."""
    out = Path(out)
    files = {name: _csv_bytes(rows) for name, rows in _tables(inputs, result).items()}
    files["agreement.json"] = json.dumps(result, indent=2).encode()
    files["index.html"] = _html(inputs, result).encode()
    for name, data in files.items():
        atomic_write_bytes(out / name, lambda fh, data=data: fh.write(data))
