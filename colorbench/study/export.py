"""`study export`: the counted votes as a rated folder (STUDY_DIR/export/), the shared long format
(colorbench.human.folder reads it).

items.csv   item,reference,test,scene,system,role   one row per main trial; paths relative to the folder;
            role "reference" for the hidden reference (MOS ground truth rated alone: system "",
            test == reference), else "test" (an output identical to the photo, as the oracle's, has
            test == reference too: the role, not the file, says which is the reference)
ratings.csv rater,item,score,scale_min,scale_max,latency_ms,time,design   one row per counted
            response, scored by the design (MOS: 1..5; 2AFC: 1 if the colourisation was picked
            as the real photo, else 0)
export.json provenance and what was left out (practice, vigilance, raters excluded by vigilance)
"""
from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import pandas as pd

from colorbench import __version__
from colorbench.files import write_json, write_text
from colorbench.human.folder import ITEM_COLUMNS, ROLE_COLUMN, ROLES
from colorbench.study.spec import (
    EXPORT_DIR,
    GROUND_TRUTH,
    IMAGES_DIR,
    Study,
    load_study,
)
from colorbench.study.store import now
from colorbench.study.votes import counted_votes, votes_frame

RATING_COLUMNS = ["rater", "item", "score", "scale_min", "scale_max", "latency_ms", "time", "design"]


def rated_tables(study: Study, counted: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    main = [t for t in study.trials if t.kind == "main"]
    items = pd.DataFrame([{"item": t.id, "reference": f"{IMAGES_DIR}/{t.reference}", "test": f"{IMAGES_DIR}/{t.test}",
                           "scene": f"{t.dataset}/{t.image_id}", "system": t.system,
                           ROLE_COLUMN: ROLES[0] if t.system == GROUND_TRUTH else ROLES[1]} for t in main],
                         columns=[*ITEM_COLUMNS, ROLE_COLUMN])
    lo, hi = study.rules.scale
    ratings = pd.DataFrame({"rater": counted["rater"], "item": counted["trial"], "score": counted["score"], "scale_min": lo,
                            "scale_max": hi, "latency_ms": counted["latency_ms"], "time": counted["time"], "design": study.design},
                           columns=RATING_COLUMNS)
    return items, ratings


def export_study(folder: Path) -> tuple[Path, dict]:
    folder = Path(folder)
    study = load_study(folder)
    votes, _ = votes_frame(folder, study)
    counted, excluded, unchecked = counted_votes(study, votes)
    items, ratings = rated_tables(study, counted)
    staging = Path(tempfile.mkdtemp(prefix=f".{EXPORT_DIR}.", suffix=".tmp", dir=folder))
    staging.chmod(0o755)  # mkdtemp makes it private; the folder is meant to be shared
    try:
        (staging / IMAGES_DIR).mkdir()
        for name in sorted(set(items["reference"]) | set(items["test"])):
            shutil.copyfile(folder / name, staging / name)
        write_text(staging / "items.csv", items.to_csv(index=False))
        write_text(staging / "ratings.csv", ratings.to_csv(index=False))
        gone = {e["rater"] for e in excluded}
        info = {
            "source": "colorbench study export", "colorbench_version": __version__, "created": now(),
            "study": study.name, "design": study.design, "run_id": study.source.run_id, "run_dir": study.source.run_dir,
            "study_fingerprint": study.fingerprint, "items": len(items), "ratings": len(ratings),
            "raters_counted": int(ratings["rater"].nunique()), "raters_excluded": len(excluded), "excluded": excluded,
            "raters_unchecked": len(unchecked),
            "not_written": {"practice": int((votes["kind"] == "practice").sum()), "vigilance": int((votes["kind"] == "vigilance").sum()),
                            "main_from_excluded_raters": int(((votes["kind"] == "main") & votes["rater"].isin(gone)).sum())},
            "score": study.rules.score_meaning,
        }
        write_json(staging / "export.json", info)
        _swap(staging, folder / EXPORT_DIR)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return folder / EXPORT_DIR, info


def _swap(staging: Path, target: Path) -> None:
    """Replace `target` with `staging`; at every moment one whole export exists or none."""
    old = target.with_name(f".{target.name}.old")
    shutil.rmtree(old, ignore_errors=True)
    if target.exists():
        target.rename(old)
    staging.rename(target)
    shutil.rmtree(old, ignore_errors=True)
