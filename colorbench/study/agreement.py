"""A study folder as a rated set, and each metric's agreement with its votes.

The items and ratings are exactly what `colorbench study export` writes (export.py's
rated_tables over the counted votes: main trials, raters not excluded by vigilance), read from
the study's database, with the images in STUDY_DIR/images: HECD, rated folders and studies go
through one analysis (colorbench.human.agreement). `study analyze` stores the result under
"agreement" in analysis.json; `colorbench agreement STUDY_DIR` reads the folder with
read_study_folder (handed to colorbench.human.sets.load, which sits below study/).
"""
from __future__ import annotations

from pathlib import Path

import pandas as pd

from colorbench.errors import ColorbenchError, MissingWeightsError
from colorbench.human import DEFAULT_RESAMPLES
from colorbench.human.folder import rated_items
from colorbench.human.ratings import RatedSet, build_rated_set
from colorbench.human.text import text_table
from colorbench.study.export import rated_tables
from colorbench.study.spec import DB_FILE, STUDY_FILE, Study, load_study
from colorbench.study.votes import counted_votes, votes_frame


def is_study_folder(path: str | Path) -> bool:
    return (Path(path).expanduser() / STUDY_FILE).is_file()


def study_rated_set(folder: str | Path, study: Study | None = None, votes: pd.DataFrame | None = None) -> RatedSet:
    """The study's counted votes as a rated set; `study` and `votes` when the caller has them."""
    folder = Path(folder).expanduser()
    study = study if study is not None else load_study(folder)
    if votes is None:
        votes, _ = votes_frame(folder, study)
    counted, _, _ = counted_votes(study, votes)
    items, ratings = rated_tables(study, counted)
    source = str(folder / DB_FILE)
    return build_rated_set(f"study {study.name}", rated_items(items, folder, source), ratings, source)


def read_study_folder(path: str | Path) -> RatedSet | None:
    """A study folder's counted votes as a rated set; None when `path` is not a study folder."""
    return study_rated_set(path) if is_study_folder(path) else None


def available_metrics() -> tuple[list[str], dict[str, str]]:
    """agreement's default metrics whose weights are present, and the others with the reason."""
    from colorbench import weights
    from colorbench.human.agreement import default_metrics
    from colorbench.metrics.registry import METRICS

    kept, left_out = [], {}
    for name in default_metrics():
        try:
            for w in METRICS.get(name).weights:
                weights.require(w)
            kept.append(name)
        except MissingWeightsError as exc:
            left_out[name] = str(exc)
    return kept, left_out


def study_agreement(folder: Path, study: Study, votes: pd.DataFrame, seed: int = 0,
                    n_resamples: int = DEFAULT_RESAMPLES) -> dict:
    """The agreement of every available per-image metric with the study's scores (the object
    `colorbench agreement STUDY_DIR --json` prints), or {"reason": why there is none}."""
    from colorbench.human import agreement

    names, left_out = available_metrics()
    try:
        inputs = agreement.score(study_rated_set(folder, study, votes), names)
        result = agreement.analyse(inputs, n_resamples=n_resamples, seed=seed)
    except ColorbenchError as exc:  # e.g. no counted votes yet: the rest of the analysis stands
        return {"reason": str(exc), "metrics_left_out": left_out}
    return {**result, "reason": "", "metrics_left_out": left_out}


def agreement_text(agreement: dict | None) -> str:
    """The agreement part of `study analyze`'s table."""
    if not agreement:
        return ""
    if agreement["reason"]:
        return f"agreement of the metrics with people: n/a ({agreement['reason']})"
    method = agreement["zscore"]["method"]
    people = "mean score (MOS or fool rate)" if method == "none" else f"mean z-score ({method} normalisation)"
    head = f"agreement of the metrics with people (per-image {people}; 95% CIs over scenes and raters):"
    left = [f"  {n}: left out ({why})" for n, why in {**agreement["metrics_left_out"], **agreement["metrics_failed"]}.items()]
    return "\n".join([head, *("  " + line for line in text_table(agreement).splitlines()), *left])
