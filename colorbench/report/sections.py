"""The report's per-dataset sections besides the leaderboard: metric agreement, image grids and
each baseline's best and worst images. Plain data; nothing here knows about HTML."""
from __future__ import annotations

import math
import re

from scipy.stats import kendalltau

from colorbench.report.data import Run
from colorbench.report.format import fmt, image_url, number

EXTREMES_K = 4  # images per baseline in the best / worst lists


def agreement(run: Run, dataset: str) -> dict:
    """Kendall tau between every pair of directional metrics across the ok, non-reference baselines.

    Values are direction-adjusted (negated where lower is better) so tau = 1 means both metrics
    rank the baselines the same way. Reference rows (gray, oracle) are left out: they sit at the
    ends of every metric and would inflate agreement; so are rows scored on only some test images.
    """
    table = run.results[(run.results["dataset"] == dataset) & (run.results["status"] == "ok")]
    table = table[(table["role"] == "model") & ~table["subset"].astype(bool)]  # subset rows are not ranked
    metrics = [m for m in run.metrics.values() if m.higher_is_better is not None and m.name in set(table["metric"])]
    wide = table.pivot_table(index="baseline", columns="metric", values="value", aggfunc="first")
    names = [m.name for m in metrics]
    matrix: list[list[float | None]] = []
    for a in metrics:
        line = []
        for b in metrics:
            pair = wide[[a.name, b.name]].dropna() if a.name != b.name else wide[[a.name]].dropna()
            if a.name == b.name:
                line.append(1.0 if len(pair) >= 2 else None)
                continue
            if len(pair) < 2:
                line.append(None)
                continue
            x = pair[a.name].to_numpy(float) * (1 if a.higher_is_better else -1)
            y = pair[b.name].to_numpy(float) * (1 if b.higher_is_better else -1)
            tau = kendalltau(x, y).statistic
            line.append(None if tau is None or math.isnan(tau) else float(tau))
        matrix.append(line)
    return {"metrics": names, "matrix": matrix, "n_baselines": int(len(wide))}


def _file_exists(run: Run, *parts: str) -> bool:
    return (run.folder.joinpath(*parts[:-1]) / f"{parts[-1]}.png").is_file()


def grid_columns(run: Run, dataset: str) -> list[str]:
    """Baselines shown in the side-by-side grid: ok, with outputs on this dataset; gray and oracle
    are left out because the input and ground-truth columns already show them."""
    out = run.folder / "outputs" / dataset
    return [b for b in run.baselines if run.role(b) == "model" and run.baseline_ok(b) and (out / b).is_dir()]


def id_parts(image_id: str) -> list[str]:
    """The id cut after each '_', '-', '/', '.' or space: the template puts a line-break opportunity
    (<wbr>) between parts, so a long id wraps at its word boundaries in the fixed-width id column."""
    return [p for p in re.split(r"(?<=[_\-/. ])", image_id) if p]


def grid_values(run: Run, dataset: str, ids: list[str], baselines: list[str]) -> dict:
    """{image id: {baseline: {metric: text}}}: each per-image value the grid shows under an image,
    formatted as the best / worst lists format them; absent where per_image.csv has no value."""
    table = run.per_image[(run.per_image["dataset"] == dataset) & run.per_image["image_id"].isin(ids)]
    metrics = [m for m in run.metrics if m in table.columns]
    out: dict = {i: {} for i in ids}
    for row in table[table["baseline"].isin(baselines)].to_dict("records"):
        values = {m: fmt(float(row[m])) for m in metrics if number(row[m]) is not None}
        out[row["image_id"]][row["baseline"]] = values
    return out


def floor_baseline(run: Run, dataset: str) -> str | None:
    """The floor row whose per-image values the grid shows under the grayscale input (its output)."""
    table = run.per_image[run.per_image["dataset"] == dataset]
    return next((b for b in run.baselines if run.role(b) == "floor" and (table["baseline"] == b).any()), None)


def grid(run: Run, dataset: str, columns: list[str]) -> list[dict]:
    ids = run.doc.datasets[dataset].grid_ids if dataset in run.doc.datasets else []
    floor = floor_baseline(run, dataset)
    values = grid_values(run, dataset, ids, columns + ([floor] if floor else []))
    rows = []
    for image_id in ids:
        rows.append({
            "id": image_id, "id_parts": id_parts(image_id),
            "input": image_url("input", dataset, f"{image_id}.png"),
            "input_values": values[image_id].get(floor, {}) if floor else {}, "floor": floor,
            "gt": image_url("..", "gt", dataset, f"{image_id}.png"),
            "outputs": [
                {"baseline": b, "url": image_url("..", "outputs", dataset, b, f"{image_id}.png") if _file_exists(run, "outputs", dataset, b, image_id) else None,
                 "per_image": values[image_id].get(b, {})}
                for b in columns
            ],
        })
    return rows


def extremes(run: Run, dataset: str, k: int = EXTREMES_K) -> dict:
    """Per per-image metric (with a direction), each baseline's k best and k worst images.

    Precomputed so the page's select box only switches lists: {metric: [{baseline, best, worst}]},
    baselines in run order (a list: JSON objects would come back key-sorted).
    """
    table = run.per_image[run.per_image["dataset"] == dataset]
    out: dict = {}
    for m in run.metrics.values():
        if m.name not in table.columns or m.higher_is_better is None:
            continue
        by_metric = []
        for b in [b for b in run.baselines if run.role(b) == "model"]:
            mine = table[table["baseline"] == b][["image_id", m.name]].dropna()
            if not len(mine):
                continue
            ordered = mine.sort_values(m.name, ascending=not m.higher_is_better, kind="stable")

            def items(frame, b=b, m=m):
                return [{
                    "id": image_id,
                    "value": fmt(float(value)),
                    "out": image_url("..", "outputs", dataset, b, f"{image_id}.png"),
                    "gt": image_url("..", "gt", dataset, f"{image_id}.png"),
                } for image_id, value in zip(frame["image_id"], frame[m.name])]

            by_metric.append({"baseline": b, "best": items(ordered.head(k)), "worst": items(ordered.iloc[::-1].head(k))})
        if by_metric:
            out[m.name] = by_metric
    return out
