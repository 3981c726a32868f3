"""Output of `colorbench agreement`: the text table (colorbench.human.text, which `study analyze`
embeds too), and --out's JSON, CSVs and HTML page.

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
from colorbench.human.text import fmt, fmt_ci, text_table  # noqa: F401 - text_table: `colorbench agreement` prints it
from colorbench.report.plots import PALETTE, scatter_plot


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
    plots = [Markup(scatter_plot(inputs.values[n], y, scenes, f"{n} (SRCC {fmt(m['srcc'])})",
                                 f"{n} ({better[m['direction']]})", "mean z-score"))
             for n, m in result["metrics"].items()]
    order = sorted(set(scenes))
    legend = [(s, PALETTE[k % len(PALETTE)]) for k, s in enumerate(order)]
    return env.get_template("agreement.html").render(
        run={}, r=result, plots=plots, legend=legend, css=Markup(css), version=__version__, fmt=fmt, ci=fmt_ci, rank=_rank)


def write(out: str | Path, inputs: Inputs, result: dict) -> None:
    """Every file is rendered first, then each written atomically."""
    out = Path(out)
    files = {name: _csv_bytes(rows) for name, rows in _tables(inputs, result).items()}
    files["agreement.json"] = json.dumps(result, indent=2).encode()
    files["index.html"] = _html(inputs, result).encode()
    for name, data in files.items():
        atomic_write_bytes(out / name, lambda fh, data=data: fh.write(data))


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
