"""The published colorizers page: HECD's six published systems beside the ground truth, by people and by metrics.

`colorbench agreement hecd --out DIR` writes DIR/published.html (write_page) and copies the images it
shows into DIR/published/ (the page opens from disk, moved with DIR). Per scene: the ground
truth and each system's output, with its MOS and mean z-score and their 95% CIs (percentile
bootstrap over the image's ratings, i.e. its raters, PER_IMAGE_RESAMPLES draws, seed 0). Then the
systems ranked by people (mean z-score, MOS, CIs from the scene-and-rater bootstrap of
colorbench.human.systems) and by each metric (the mean over the system's images, CI: percentile
bootstrap over its scenes). Then every disagreement: a pair people clearly order (CIs apart)
that a metric orders the other way, with the scene where the metric's gap against people is
largest. Scenes with images missing from the local copy are listed, never silently dropped.
"""
from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np

from colorbench import __version__
from colorbench.files import write_text
from colorbench.human.agreement import Inputs
from colorbench.human.resample import percentile_ci
from colorbench.report.format import fmt, image_url

PER_IMAGE_RESAMPLES = 1000
LABELS = {"zhang_eccv16": "Zhang et al. ECCV 2016", "zhang_siggraph17": "Zhang et al. SIGGRAPH 2017",
          "iizuka": "Iizuka et al. 2016", "larsson": "Larsson et al. 2016", "deoldify": "DeOldify", "photoshop": "Photoshop"}


def _ci_text(ci, digits: int = 2) -> str:
    return f"[{ci[0]:.{digits}f}, {ci[1]:.{digits}f}]" if ci else ""


def _image_stats(inp: Inputs, item_id: str, rng: np.random.Generator) -> dict:
    """MOS and mean z of one image, each with a bootstrap CI over its ratings."""
    r = inp.rs.ratings
    mask = (r["item"] == item_id).to_numpy()
    scores, z = r["score"].to_numpy(float)[mask], inp.zs.z[mask]
    z = z[np.isfinite(z)]
    out = {"n": int(mask.sum()), "mos": float(scores.mean()), "mean_z": float(z.mean()) if z.size else None}
    for key, v in (("mos_ci", scores), ("z_ci", z)):
        draws = rng.integers(0, v.size, size=(PER_IMAGE_RESAMPLES, v.size)) if v.size else None
        out[key] = percentile_ci(v[draws].mean(axis=1)) if v.size > 1 else None
    return out


def scenes(inp: Inputs, systems: list[str], out: Path) -> list[dict]:
    """Per scene present locally: the ground truth and each system's output (copied into out/published/)."""
    rng = np.random.default_rng(0)
    used = set(inp.ids)
    rows = []
    for scene in sorted({i.scene for i in inp.rs.items if i.id in used}):
        mine = {i.system: i for i in inp.rs.items if i.scene == scene and i.system in systems and i.id in used}
        if not mine:
            continue
        gt = next(iter(mine.values())).reference
        cells = []
        for s in systems:
            item = mine.get(s)
            cells.append({"system": s, "label": LABELS.get(s, s), "id": item.id if item else None,
                          "src": _copy(item.test, out) if item else None, **(_image_stats(inp, item.id, rng) if item else {})})
        rows.append({"scene": scene, "gt": _copy(gt, out), "cells": cells})
    return rows


def _copy(path: Path, out: Path) -> str:
    target = out / "published" / path.name
    target.parent.mkdir(parents=True, exist_ok=True)
    if not target.is_file():
        shutil.copyfile(path, target)
    return image_url("published", path.name)


def missing_scenes(inp: Inputs) -> list[str]:
    used = {inp.rs.item(i).scene for i in inp.ids}
    return sorted({i.scene for i in inp.rs.items} - used)


def metric_board(inp: Inputs, result: dict, systems: list[str]) -> list[dict]:
    """Per metric: each system's mean with a CI over its scenes, the metric's ranking and tau with people."""
    from colorbench.metrics.registry import METRICS

    rng = np.random.default_rng(0)
    index = {item_id: k for k, item_id in enumerate(inp.ids)}
    boards = []
    for name, values in inp.values.items():
        by = result["systems"]["metrics"][name]
        cells = {}
        for s in systems:
            v = np.array([values[index[i.id]] for i in inp.rs.items if i.system == s and i.id in index], dtype=float)
            v = v[np.isfinite(v)]
            draws = v[rng.integers(0, v.size, size=(PER_IMAGE_RESAMPLES, v.size))].mean(axis=1) if v.size > 1 else None
            ci = percentile_ci(draws) if draws is not None else None
            mean = by["values"].get(s)
            cells[s] = {"value": mean, "text": fmt(mean, mean) if mean is not None else "—",
                        "ci": f"[{fmt(ci[0], mean)}, {fmt(ci[1], mean)}]" if ci and mean is not None else "",
                        "rank": by["ranking"].index(s) + 1 if s in by["ranking"] else None}
        spec = METRICS.get(name)
        boards.append({"metric": name, "arrow": {True: "↑", False: "↓"}.get(spec.higher_is_better, ""), "cells": cells,
                       "tau": by["kendall_tau"], "srcc": result["metrics"][name]["srcc"]})
    return boards


def disagreements(inp: Inputs, result: dict, boards: list[dict], images: dict) -> list[dict]:
    """Pairs people clearly order (mean-z CIs apart) that a metric orders the other way, with the images."""
    people = result["systems"]["people"]
    out = []
    for hi in people:
        for lo in people:
            if hi["rank"] >= lo["rank"] or not (hi["mean_z_ci"] and lo["mean_z_ci"]) or hi["mean_z_ci"][0] <= lo["mean_z_ci"][1]:
                continue
            for b in boards:
                rank_hi, rank_lo = b["cells"][hi["system"]]["rank"], b["cells"][lo["system"]]["rank"]
                if rank_hi is None or rank_lo is None or rank_hi < rank_lo:
                    continue
                out.append({"metric": b["metric"], "arrow": b["arrow"], "better": hi["system"], "worse": lo["system"],
                            "people": f"{hi['mean_z']:+.2f} {_ci_text(hi['mean_z_ci'])} vs {lo['mean_z']:+.2f} {_ci_text(lo['mean_z_ci'])}",
                            "metric_values": f"{b['cells'][hi['system']]['text']} vs {b['cells'][lo['system']]['text']}",
                            **_worst_scene(inp, b["metric"], hi["system"], lo["system"], images)})
    return out


def _worst_scene(inp: Inputs, metric: str, better: str, worse: str, images: dict) -> dict:
    """The scene where the metric most prefers the system people rate lower (signed values), with its images."""
    from colorbench.metrics.registry import METRICS

    sign = -1.0 if METRICS.get(metric).higher_is_better is False else 1.0
    index = {item_id: k for k, item_id in enumerate(inp.ids)}
    value = {(i.scene, i.system): sign * inp.values[metric][index[i.id]] for i in inp.rs.items if i.id in index and i.system in (better, worse)}
    gaps = {sc: value[(sc, worse)] - value[(sc, better)] for sc in images
            if np.isfinite(value.get((sc, worse), np.nan)) and np.isfinite(value.get((sc, better), np.nan))}
    if not gaps:
        return {"scene": None}
    sc = max(gaps, key=gaps.get)
    return {"scene": sc, "better_src": images[sc].get(better), "worse_src": images[sc].get(worse),
            "better_value": fmt(sign * value[(sc, better)]), "worse_value": fmt(sign * value[(sc, worse)])}


def page_data(inp: Inputs, result: dict, out: Path) -> dict:
    systems = [p["system"] for p in result["systems"]["people"]]
    scene_rows = scenes(inp, systems, out)
    images = {r["scene"]: {c["system"]: c["src"] for c in r["cells"] if c["src"]} for r in scene_rows}
    boards = metric_board(inp, result, systems)
    return {
        "systems": [{"system": s, "label": LABELS.get(s, s)} for s in systems], "scenes": scene_rows,
        "missing": missing_scenes(inp), "n_scenes": len({i.scene for i in inp.rs.items}),
        "people": result["systems"]["people"], "boards": boards, "disagreements": disagreements(inp, result, boards, images),
        "source": result["source"], "bootstrap": result["bootstrap"], "zscore": result["zscore"]["method"],
        "labels": LABELS, "resamples": PER_IMAGE_RESAMPLES,
    }


def render_page(inp: Inputs, result: dict, out: Path) -> str:
    from colorbench.report.render import _static, environment

    env = environment()
    data = page_data(inp, result, Path(out))
    return env.get_template("published.html").render(
        **data, version=__version__, css=_static(env, "style.css"), js="", ci_text=_ci_text, run={})


def write_page(inp: Inputs, result: dict, out: Path) -> Path:
    """DIR/published.html (and the images it shows under DIR/published/)."""
    path = Path(out) / "published.html"
    write_text(path, render_page(inp, result, Path(out)))
    return path
