"""The headline view: which metrics a reader sees first, and how far each agrees with people.

Agreement with people is read from data/hecd_agreement.json, written by
scripts/hecd_agreement_data.py from `colorbench agreement hecd` (pooled SRCC with the per-image
mean z-score and its 95% scene-and-rater bootstrap CI, with the computation's provenance); a
metric not in that file has unknown agreement and says so. Headline metrics: the directional
metrics ordered by that SRCC (unknown ones last, in run order), each kept only if it is not a
near-duplicate of one kept before it: |Kendall tau| >= REDUNDANT_TAU between their per-image
values over the dataset's model rows (mse and psnr: 1), or, for a metric without per-image
values, in the report's metric-agreement matrix when that ranks at least MIN_BASELINES baselines.
"""
from __future__ import annotations

import json
from functools import lru_cache
from importlib import resources

from scipy.stats import kendalltau

from colorbench.report.data import Leaderboard, Run, leaderboard

HEADLINE_MAX = 4  # the summary's headline table: baseline, N and these, each with its CI
REDUNDANT_TAU = 0.9
MIN_BASELINES = 4  # fewer baselines: tau between metrics over them says little (3 rows: only +-1, +-1/3)


@lru_cache(maxsize=1)
def hecd_agreement() -> dict:
    """The shipped file's content ({} when it is absent)."""
    path = resources.files("colorbench.report").joinpath("data", "hecd_agreement.json")
    return json.loads(path.read_text("utf-8")) if path.is_file() else {}


def provenance_text(data: dict) -> str:
    p = data.get("provenance")
    if not p:
        return "no agreement data shipped (scripts/hecd_agreement_data.py writes it)"
    return (f"HECD (Mullery and Whelan 2022): {p['n_images']} rated images of {len(p['scenes'])} scenes "
            f"({', '.join(p['scenes'])}), scored at their own size; {p['bootstrap']['resamples']} bootstrap resamples over "
            f"{p['bootstrap']['over']}; `{p['command']}`, colorbench {p['colorbench_version']}, {p['date']}, "
            f"HECD manifest sha256 {p['hecd_manifest_sha256'][:12]}")


def people(metric: str, data: dict | None = None) -> dict:
    """{known, srcc, ci, text, title} for a metric's header."""
    data = hecd_agreement() if data is None else data
    m = (data.get("metrics") or {}).get(metric)
    if m is None or m.get("srcc") is None:
        why = m["undefined"] if m and m.get("undefined") else (
            "not computed on HECD (slow on CPU)" if metric in data.get("not_computed", []) else "no per-image values on HECD")
        return {"known": False, "srcc": None, "ci": None, "text": "people: unknown", "short": "unknown", "title": f"agreement with people unknown: {why}"}
    ci = m.get("srcc_ci")
    short = f"{m['srcc']:.2f}" + (f" [{ci[0]:.2f}, {ci[1]:.2f}]" if ci else "")
    return {"known": True, "srcc": m["srcc"], "ci": ci, "text": f"people {short}", "short": short,
            "title": f"agreement with people: pooled SRCC {m['srcc']:.3f}" + (f", 95% CI [{ci[0]:.3f}, {ci[1]:.3f}]" if ci else "")
                     + f" on {m['n']} images. " + provenance_text(data)}


def _tau(x, y) -> float | None:
    t = kendalltau(x, y).statistic
    return None if t != t else abs(float(t))


def redundant(run: Run, dataset: str, a: str, b: str, matrix: dict) -> bool:
    """a and b rank things (nearly) the same way: see the module docstring."""
    table = run.per_image[run.per_image["dataset"] == dataset]
    table = table[table["baseline"].map(lambda n: run.role(n) == "model")]
    if a in table.columns and b in table.columns:
        pair = table[[a, b]].dropna()
        if len(pair) >= 3:
            t = _tau(pair[a].to_numpy(float), pair[b].to_numpy(float))
            return t is not None and t >= REDUNDANT_TAU
    if matrix.get("n_baselines", 0) < MIN_BASELINES or a not in matrix["metrics"] or b not in matrix["metrics"]:
        return False
    t = matrix["matrix"][matrix["metrics"].index(a)][matrix["metrics"].index(b)]
    return t is not None and abs(t) >= REDUNDANT_TAU


def headline(run: Run, dataset: str, metrics: list[str], matrix: dict, data: dict | None = None) -> list[str]:
    """Up to HEADLINE_MAX of `metrics`, best agreement with people first, near-duplicates dropped."""
    data = hecd_agreement() if data is None else data
    directional = [m for m in metrics if run.metrics[m].higher_is_better is not None]
    known = sorted((m for m in directional if people(m, data)["known"]), key=lambda m: -people(m, data)["srcc"])
    chosen: list[str] = []
    for m in known + [m for m in directional if m not in known]:
        if len(chosen) == HEADLINE_MAX:
            break
        if not any(redundant(run, dataset, m, c, matrix) for c in chosen):
            chosen.append(m)
    return chosen


def headline_board(run: Run, dataset: str) -> tuple[Leaderboard, list[str], dict]:
    """The dataset's leaderboard with its headline metrics first (in headline order), the headline
    names, and the metric-agreement matrix they were chosen with."""
    from colorbench.report.sections import agreement

    board, matrix = leaderboard(run, dataset), agreement(run, dataset)
    top = headline(run, dataset, [m.name for m in board.metrics], matrix)
    board.metrics = sorted(board.metrics, key=lambda m: top.index(m.name) if m.name in top else len(top))
    return board, top, matrix
