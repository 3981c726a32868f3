"""The vote tables: every stored vote joined with its trial, and the votes that count.

Counted: main trials only (practice and vigilance never count), from raters not excluded. A rater
is excluded when they answered vigilance trials and failed more than the study's
`vigilance_max_fail` share of them (what failing one means is the design's rule). Raters who left
before any vigilance trial are kept and counted as `unchecked`.
"""
from __future__ import annotations

from pathlib import Path

import pandas as pd

from colorbench.study.spec import DB_FILE, Study
from colorbench.study.store import Store, rater_id

COLUMNS = ["rater", "trial", "kind", "dataset", "image_id", "system", "response", "score", "latency_ms", "time"]


def votes_frame(folder: Path, study: Study) -> tuple[pd.DataFrame, dict[str, int]]:
    """Every stored vote joined with its trial; and each rater's number of scheduled trials."""
    rows, lengths = Store(Path(folder) / DB_FILE, study.fingerprint).rows()
    out = []
    for r in rows:
        t = study.trial(r["trial"])
        out.append({"rater": rater_id(r["session_id"]), "trial": t.id, "kind": t.kind, "dataset": t.dataset, "image_id": t.image_id,
                    "system": t.system, "response": r["response"], "score": int(r["score"]), "latency_ms": int(r["latency_ms"]), "time": r["time"]})
    return pd.DataFrame(out, columns=COLUMNS), {rater_id(k): v for k, v in lengths.items()}


def exclusions(study: Study, votes: pd.DataFrame) -> tuple[list[dict], list[str]]:
    """Raters excluded by vigilance (with counts), and raters who answered no vigilance trial."""
    excluded, unchecked = [], []
    for rater, mine in votes.groupby("rater", sort=True):
        vig = mine[mine["kind"] == "vigilance"]
        if vig.empty:
            unchecked.append(str(rater))
            continue
        failed = int(sum(study.rules.vigilance_failed(s) for s in vig["score"]))
        if failed / len(vig) > study.settings.vigilance_max_fail:
            excluded.append({"rater": str(rater), "vigilance_trials": len(vig), "failed": failed})
    return excluded, unchecked


def counted_votes(study: Study, votes: pd.DataFrame) -> tuple[pd.DataFrame, list[dict], list[str]]:
    excluded, unchecked = exclusions(study, votes)
    gone = {e["rater"] for e in excluded}
    keep = votes[(votes["kind"] == "main") & ~votes["rater"].isin(gone)]
    return keep.reset_index(drop=True), excluded, unchecked
