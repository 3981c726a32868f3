"""Output of `colorbench agreement`: the text table, and --out's JSON, CSVs and HTML page.

The page is self-contained (inline CSS shared with colorbench's run reports, inline SVG
scatter plots, no script, no network). Every text in the SVG goes through html.escape; the
page itself is rendered by jinja2 with autoescape on.
"""
from __future__ import annotations

import csv
import io
import json
from importlib import resources
from pathlib import Path

import jinja2
from markupsafe import Markup

from colorbench import __version__
from colorbench.files import atomic_write_bytes
from colorbench.human.agreement import Inputs
from colorbench.report.plots import PALETTE, scatter_plot


def _fmt(x, digits: int = 3) -> str:
    return "-" if x is None else f"{x:.{digits}f}"


def _ci(ci) -> str:
    return f"[{ci[0]:.3f}, {ci[1]:.3f}]" if ci else "-"


def text_table(result: dict) -> str:
    rows = [("metric", "better", "n", "SRCC", "95% CI", "KRCC", "PLCC", "within-scene SRCC", "systems tau")]
    for name, m in result["metrics"].items():
        tau = result["systems"]["metrics"][name]["kendall_tau"]
        srcc = "undefined" if m.get("undefined") else _fmt(m["srcc"])
        rows.append((name, m["direction"], str(m["n"]), srcc, _ci(m["srcc_ci"]), _fmt(m["krcc"]),
                     _fmt(m["plcc"]), _fmt(m["within_scene"]["srcc"]), _fmt(tau)))
    rows = _bounds_columns(rows, result)
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in rows]
    lines += [f"{name}: undefined ({m['undefined']})" for name, m in result["metrics"].items() if m.get("undefined")]
    lines += [f"{name}: no value for {', '.join(r['missing'])} (left out of its ranking and systems tau)"
              for name, r in result["systems"]["metrics"].items() if r.get("missing")]
    people = result["systems"]["people"]
    if people:
        lines.append("")
        what = "mean score" if result["zscore"]["method"] == "none" else "mean z-score"
        lines.append(f"systems by people ({what} [95% CI]; MOS): " + "; ".join(
            f"{p['rank']}. {p['system']} {p['mean_z']:+.3f} {_ci(p['mean_z_ci'])}, {p['mos']:.2f}" for p in people))
    lines.append(f"n = {result['n']} rated images, {len(result['scenes'])} scenes; signed so that positive = agrees with people")
    lines.extend(_ceiling_lines(result))
    return "\n".join(lines)


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
    metrics = _bounds_csv(metrics, result)
    scenes = result["scenes"]
    per_scene = [["metric", *scenes]] + [[n, *(m["within_scene"]["per_scene"][s] for s in scenes)]
                                         for n, m in result["metrics"].items()]
    people = result["systems"]["people"]
    systems = [["system", "rank", "n_images", "mean_z", "mean_z_lo", "mean_z_hi", "mos", "mos_lo", "mos_hi",
                *(f"{n}_rank" for n in names)]]
    for p in people:
        ranks = [_rank(result["systems"]["metrics"][n]["ranking"], p["system"]) for n in names]
        systems.append([p["system"], p["rank"], p["n_images"], p["mean_z"], *(p["mean_z_ci"] or ["", ""]),
                        p["mos"], *(p["mos_ci"] or ["", ""]), *ranks])
    return {"per_image.csv": per_image, "metrics.csv": metrics, "per_scene.csv": per_scene, "systems.csv": systems}


def _rank(ranking: list[str], system: str) -> int | str:
    """1-based place in a metric's ranking; '' for a system without a value of the metric."""
    return ranking.index(system) + 1 if system in ranking else ""


def _html(inputs: Inputs, result: dict) -> str:
    env = jinja2.Environment(loader=jinja2.PackageLoader("colorbench.report", "templates"), autoescape=True,
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
        r=result, plots=plots, legend=legend, css=Markup(css), version=__version__, fmt=_fmt, ci=_ci, rank=_rank)


def write(out: str | Path, inputs: Inputs, result: dict) -> None:
    """Every file is rendered first, then each written atomically."""
    out = Path(out)
    files = {name: _csv_bytes(rows) for name, rows in _tables(inputs, result).items()}
    files["agreement.json"] = json.dumps(result, indent=2).encode()
    files["index.html"] = _html(inputs, result).encode()
    for name, data in files.items():
        atomic_write_bytes(out / name, lambda fh, data=data: fh.write(data))


# People's ceiling and pairwise accuracy (colorbench.human.bounds); results without them
# (an analysis.json written before they existed) are shown as they are.
def _bounds_columns(rows: list[tuple], result: dict) -> list[tuple]:
    """The text table with pairwise accuracy [95% CI] and SRCC as a fraction of the ceiling."""
    if "ceiling" not in result:
        return rows
    out = [(*rows[0], "pairwise acc", "95% CI", "SRCC/ceiling")]
    for row, m in zip(rows[1:], result["metrics"].values()):
        out.append((*row, _fmt(m["pairwise_acc"]["value"]), _ci(m["pairwise_acc"]["ci"]), _fmt(m["of_ceiling"]["srcc"], 2)))
    return out


def _ceiling_lines(result: dict) -> list[str]:
    c = result.get("ceiling")
    if not c:
        return []
    acc, band = c["pairwise_acc"], result["pairwise"]["tie_band"]
    return [f"people's ceiling (split-half, Spearman-Brown, {c['splits']} splits): SRCC {_fmt(c['srcc'])} {_ci(c['ci'])}, "
            f"within-scene {_fmt(c['within_scene']['srcc'])} {_ci(c['within_scene']['ci'])}; half-vs-half pairwise "
            f"accuracy {_fmt(acc['value'])} {_ci(acc['ci'])}",
            f"pairwise accuracy: same-scene pairs whose people's mean z-scores differ by more than {band:.3f} "
            f"({result['pairwise']['tie_band_rule']}); metric ties count 0.5; chance {result['pairwise']['chance']}"]


def _bounds_csv(rows: list[list], result: dict) -> list[list]:
    if "ceiling" not in result:
        return rows
    out = [[*rows[0], "pairwise_acc", "pairwise_acc_lo", "pairwise_acc_hi", "n_pairs", "tie_band", "srcc_of_ceiling",
            "within_srcc_of_ceiling", "pairwise_acc_of_ceiling"]]
    for row, m in zip(rows[1:], result["metrics"].values()):
        p, f = m["pairwise_acc"], m["of_ceiling"]
        out.append([*row, p["value"], *(p["ci"] or ["", ""]), p["n_pairs"], p["tie_band"], f["srcc"],
                    f["within_scene_srcc"], f["pairwise_acc"]])
    return out
