"""`study analyze`: votes -> the design's measure per baseline with CIs (MOS, fool rate, ...),
vigilance exclusions, agreement.

Counted responses and vigilance exclusions: votes.py. What failing a vigilance trial means, what
a score means and what its mean measures: the study's design (colorbench.study.designs).
Inter-rater agreement: Krippendorff's alpha, ordinal, over main trials as units (the
`krippendorff` package), over the design's score scale; for 0/1 answers (2AFC) ordinal alpha
equals nominal alpha.
Agreement with the metrics: agreement.py (the code behind `colorbench agreement STUDY_DIR`).
"""
from __future__ import annotations

from dataclasses import asdict
from pathlib import Path

import numpy as np
import pandas as pd

from colorbench.study.agreement import agreement_text, study_agreement
from colorbench.study.bootstrap import LEVEL, RESAMPLES, SCHEME, two_way_bootstrap
from colorbench.study.designs import DESIGNS
from colorbench.study.spec import ANALYSIS_FILE, GROUND_TRUTH, Study, load_study
from colorbench.study.store import now
from colorbench.study.votes import counted_votes, votes_frame

ANALYSIS_SCHEMA = "colorbench.study-analysis/1"


def krippendorff_alpha(frame: pd.DataFrame, design: str) -> dict:
    """Ordinal alpha over units = trials, values in the scale of `design` (its name); None (with
    the reason) when no trial has two ratings."""
    import krippendorff

    if frame.empty:
        return {"value": None, "level": "ordinal", "units": 0, "reason": "no counted responses"}
    table = frame.pivot_table(index="rater", columns="trial", values="score", aggfunc="first")
    pairable = table.columns[table.notna().sum(axis=0) >= 2]
    if len(pairable) == 0:
        return {"value": None, "level": "ordinal", "units": 0, "reason": "no trial was answered by two counted raters"}
    data = table[pairable].to_numpy(float)
    low, high = DESIGNS.get(design).scale
    domain = list(range(low, high + 1))
    if len(np.unique(data[~np.isnan(data)])) < 2:
        return {"value": None, "level": "ordinal", "units": len(pairable), "reason": "every answer is the same value"}
    value = krippendorff.alpha(reliability_data=data, level_of_measurement="ordinal", value_domain=domain)
    return {"value": float(value), "level": "ordinal", "units": int(len(pairable)), "reason": ""}


def summarise(study: Study, votes: pd.DataFrame, lengths: dict[str, int], seed: int = 0, n_resamples: int = RESAMPLES) -> dict:
    counted, excluded, unchecked = counted_votes(study, votes)
    estimates = two_way_bootstrap(counted, n_resamples=n_resamples, seed=seed) if not counted.empty else []
    order = {name: i for i, name in enumerate(study.settings.baselines + [GROUND_TRUTH])}
    datasets = {name: i for i, name in enumerate(study.settings.datasets)}
    estimates.sort(key=lambda e: (datasets.get(e.dataset, len(datasets)), order.get(e.system, len(order))))
    answered = votes.groupby("rater")["trial"].nunique().to_dict() if not votes.empty else {}
    complete = sum(1 for r, n in answered.items() if n >= lengths.get(r, 0))
    scores = [{**asdict(e), "label": e.system if e.system != GROUND_TRUTH else "ground truth (hidden reference)",
               "reference": e.system == GROUND_TRUTH} for e in estimates]
    return {
        "schema": ANALYSIS_SCHEMA, "study": study.name, "design": study.design,
        "measure": study.rules.measure.name, "scale": list(study.rules.scale),
        "run_id": study.source.run_id, "fingerprint": study.fingerprint, "created": now(),
        "bootstrap": {"scheme": SCHEME, "resamples": n_resamples, "level": LEVEL, "seed": seed},
        "raters": {"sessions": len(lengths), "with_votes": len(answered), "complete": complete,
                   "excluded": len(excluded), "counted": int(counted["rater"].nunique()) if not counted.empty else 0,
                   "unchecked": len(unchecked)},
        "excluded": excluded,
        "responses": {"total": len(votes), "counted": len(counted), "practice": int((votes["kind"] == "practice").sum()),
                      "vigilance": int((votes["kind"] == "vigilance").sum()),
                      "main_from_excluded": int(((votes["kind"] == "main") & votes["rater"].isin({e["rater"] for e in excluded})).sum())},
        "scores": scores,
        "alpha": krippendorff_alpha(counted, study.design),
    }


def analyze(folder: Path, seed: int = 0) -> dict:
    from colorbench.files import write_json

    study = load_study(Path(folder), check_images=False)
    votes, lengths = votes_frame(folder, study)
    result = summarise(study, votes, lengths, seed=seed)
    result["agreement"] = study_agreement(Path(folder), study, votes, seed=seed)
    write_json(Path(folder) / ANALYSIS_FILE, result)
    return result


def format_table(result: dict) -> str:
    measure = DESIGNS.get(result["design"]).measure.label
    lines = [f"study {result['study']} ({result['design']}): {measure}, {int(result['bootstrap']['level'] * 100)}% CI (two-way bootstrap over raters and images)"]
    width = max([len(s["label"]) for s in result["scores"]] + [8])
    for s in result["scores"]:
        ci = f"[{s['ci_low']:.3f}, {s['ci_high']:.3f}]" if s["ci_low"] is not None else "[no CI: < 2 raters or images]"
        lines.append(f"  {s['dataset']:<12} {s['label']:<{width}}  {s['value']:.3f}  {ci}  n = {s['n_responses']} ({s['n_raters']} raters, {s['n_images']} images)")
    r, resp, a = result["raters"], result["responses"], result["alpha"]
    lines.append(f"raters: {r['counted']} counted, {r['excluded']} excluded by vigilance, {r['unchecked']} without a vigilance trial, {r['complete']} of {r['sessions']} sessions complete")
    lines.append(f"responses: {resp['counted']} counted ({resp['practice']} practice, {resp['vigilance']} vigilance and {resp['main_from_excluded']} from excluded raters not counted)")
    lines.append("Krippendorff's alpha (ordinal): " + (f"{a['value']:.3f} over {a['units']} trials" if a["value"] is not None else f"n/a ({a['reason']})"))
    return "\n".join([*lines, agreement_text(result.get("agreement"))]).rstrip("\n")
