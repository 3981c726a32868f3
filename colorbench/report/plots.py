"""Inline SVG plots (training curves, scatters): no plotting library, no network, prints crisply.

The returned markup is inserted unescaped into the page, so every piece of text in it goes
through html.escape here.
"""
from __future__ import annotations

import math
from html import escape

import numpy as np

PALETTE = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b"]


def nice_ticks(lo: float, hi: float, count: int = 5) -> list[float]:
    """Round tick values covering [lo, hi] (1, 2, 5 x 10^k steps)."""
    if hi == lo:
        pad = abs(lo) * 0.1 or 1.0
        lo, hi = lo - pad, hi + pad
    raw = (hi - lo) / max(1, count - 1)
    mag = 10 ** math.floor(math.log10(raw))
    step = next(s * mag for s in (1, 2, 2.5, 5, 10) if s * mag >= raw)
    start = math.floor(lo / step) * step
    ticks, t = [], start
    while t <= hi + step * 1e-9:
        ticks.append(round(t, 12))
        t += step
    if ticks[-1] < hi:
        ticks.append(round(t, 12))
    return ticks


def _label(v: float) -> str:
    return f"{v:.3g}" if abs(v) < 1e4 else f"{v:.2e}"


def _axes(title: str, xlabel: str, ylabel: str, xt: list[float], yt: list[float], size: tuple[int, int],
          margins: tuple[int, int, int, int], xlabel_y: float):
    """The SVG's opening, title, grid, ticks, frame and axis labels; and the data-to-pixel maps."""
    (width, height), (left, right, top, bottom) = size, margins
    x0, x1, y0, y1 = min(xt), max(xt), min(yt), max(yt)
    pw, ph = width - left - right, height - top - bottom

    def px(v):
        return left + (v - x0) / ((x1 - x0) or 1) * pw

    def py(v):
        return top + (1 - (v - y0) / ((y1 - y0) or 1)) * ph

    out = [f'<svg class="plot" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" width="{width}" '
           f'height="{height}" role="img" aria-label="{escape(title)}">',
           f'<text x="{left}" y="16" class="plot-title">{escape(title)}</text>']
    for y in yt:
        out.append(f'<line x1="{left}" x2="{left + pw}" y1="{py(y):.1f}" y2="{py(y):.1f}" class="grid"/>')
        out.append(f'<text x="{left - 6}" y="{py(y) + 4:.1f}" text-anchor="end" class="tick">{escape(_label(y))}</text>')
    for x in xt:
        out.append(f'<text x="{px(x):.1f}" y="{top + ph + 16}" text-anchor="middle" class="tick">{escape(_label(x))}</text>')
    out.append(f'<rect x="{left}" y="{top}" width="{pw}" height="{ph}" class="frame"/>')
    out.append(f'<text x="{left + pw / 2:.1f}" y="{xlabel_y:.1f}" text-anchor="middle" class="axis">{escape(xlabel)}</text>')
    out.append(f'<text transform="translate(12 {top + ph / 2:.1f}) rotate(-90)" text-anchor="middle" '
               f'class="axis">{escape(ylabel)}</text>')
    return out, px, py


def line_plot(series: dict[str, list[tuple[float, float]]], title: str, xlabel: str = "epoch",
              ylabel: str = "loss", width: int = 460, height: int = 268) -> str:
    """An SVG with one polyline (and point markers) per named series; '' if there is nothing to draw."""
    series = {k: [(float(x), float(y)) for x, y in pts if y is not None and math.isfinite(float(y))] for k, pts in series.items()}
    series = {k: pts for k, pts in series.items() if pts}
    if not series:
        return ""
    xs = [x for pts in series.values() for x, _ in pts]
    ys = [y for pts in series.values() for _, y in pts]
    xt, yt = nice_ticks(min(xs), max(xs)), nice_ticks(min(ys), max(ys))
    if len(set(xs)) <= 12 and all(float(x).is_integer() for x in xs):
        xt = sorted(set(xs))  # few epochs: label each one
    left, right, top, bottom = 52, 12, 26, 58  # bottom: ticks, axis label, then the legend row
    out, px, py = _axes(title, xlabel, ylabel, xt, yt, (width, height), (left, right, top, bottom), height - bottom + 32)
    legend_x = left
    for i, (name, pts) in enumerate(series.items()):
        color = PALETTE[i % len(PALETTE)]
        dash = ' stroke-dasharray="5 3"' if i % 2 else ""
        coords = " ".join(f"{px(x):.1f},{py(y):.1f}" for x, y in sorted(pts))
        out.append(f'<polyline points="{coords}" fill="none" stroke="{color}" stroke-width="2"{dash}><title>{escape(name)}</title></polyline>')
        out.extend(f'<circle cx="{px(x):.1f}" cy="{py(y):.1f}" r="2.5" fill="{color}"><title>{escape(name)} {escape(_label(x))}: {escape(_label(y))}</title></circle>' for x, y in pts)
        # legend in a row under the plot, never over the curves
        ly = height - 8
        out.append(f'<line x1="{legend_x}" x2="{legend_x + 18}" y1="{ly - 4}" y2="{ly - 4}" stroke="{color}" stroke-width="2"{dash}/>')
        out.append(f'<text x="{legend_x + 22}" y="{ly}" class="legend">{escape(name)}</text>')
        legend_x += 40 + 6.5 * len(name)
    out.append("</svg>")
    return "".join(out)


def history_plots(history: list[dict]) -> list[str]:
    """Loss curves from a training history: train vs val loss, and generator vs discriminator
    when the history has GAN losses (g_loss / d_loss in the train or val dicts)."""
    def series(split: str, key: str):
        return [(h.get("epoch", i), (h.get(split) or {}).get(key)) for i, h in enumerate(history)]

    plots = [line_plot({"train": series("train", "loss"), "val": series("val", "loss")}, "Training and validation loss")]
    gan = {}
    for split in ("train", "val"):
        for key, label in (("g_loss", "G"), ("d_loss", "D")):
            if any(key in (h.get(split) or {}) for h in history):
                gan[f"{label} {split}"] = series(split, key)
    if gan:
        plots.append(line_plot(gan, "GAN losses: generator (G) and discriminator (D)"))
    return [p for p in plots if p]


def scatter_plot(x, y, groups, title: str, xlabel: str, ylabel: str, width: int = 360, height: int = 300) -> str:
    """An SVG scatter, one colour per group; '' when there is nothing finite to draw."""
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    ok = np.isfinite(x) & np.isfinite(y)
    if not ok.any():
        return ""
    xt, yt = nice_ticks(x[ok].min(), x[ok].max()), nice_ticks(y[ok].min(), y[ok].max())
    out, px, py = _axes(title, xlabel, ylabel, xt, yt, (width, height), (50, 10, 24, 40), height - 6)
    order = sorted(set(groups))
    for xi, yi, g in zip(x[ok], y[ok], np.asarray(groups)[ok]):
        color = PALETTE[order.index(g) % len(PALETTE)]
        out.append(f'<circle cx="{px(xi):.1f}" cy="{py(yi):.1f}" r="2.2" fill="{color}" fill-opacity="0.7">'
                   f'<title>{escape(str(g))}: {escape(_label(xi))}, {escape(_label(yi))}</title></circle>')
    out.append("</svg>")
    return "".join(out)
