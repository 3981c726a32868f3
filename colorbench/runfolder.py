"""The run folder's layout: the one module that knows where a run keeps what. Every reader and
writer (pipeline, merge, report, study, plan's checks) asks it for paths.

<output_dir>/.colorbench                           marks the folder as a run's (written first)
<output_dir>/gt/<dataset>/<id>.png                 ground truth at evaluation size, 8-bit
<output_dir>/outputs/<dataset>/<baseline>/<id>.png each baseline's colorization
<output_dir>/results.csv|jsonl, per_image.csv, run.json, summary.md, reports/
<output_dir>/.next/, .reports.old/                 staging of a publish (tables and report together)
<output_dir>/parts/<rows>/                         `run --only ROWS` (a shard), merged by `colorbench merge`
<output_dir>/studies/<name>/                       human studies (`colorbench study create`)

A run writes, and cleans up, only these; anything else in the folder (a user's notes, a study
under studies/) is left alone.
"""
from __future__ import annotations

import json
from pathlib import Path

from colorbench.files import display_name, unwritable_reason, write_text
from colorbench.lock import LOCK_NAME
from colorbench.typed import FieldError

RUN_MARKER = ".colorbench"
TABLES = ("results.csv", "results.jsonl", "per_image.csv", "run.json", "summary.md")
RUN_FILES = (*TABLES, RUN_MARKER)
GT, OUTPUTS, REPORTS, PARTS, STUDIES = "gt", "outputs", "reports", "parts", "studies"
RUN_DIRS = (GT, OUTPUTS, REPORTS)
STAGING, OLD_REPORTS = ".next", ".reports.old"


def gt_parts(dataset: str, image_id: str) -> tuple[str, ...]:
    """A ground-truth PNG relative to the run folder (for paths and report URLs alike)."""
    return (GT, dataset, f"{image_id}.png")


def pred_parts(dataset: str, baseline: str, image_id: str) -> tuple[str, ...]:
    """A baseline's output PNG relative to the run folder."""
    return (OUTPUTS, dataset, baseline, f"{image_id}.png")


def gt_dir(out: Path, dataset: str) -> Path:
    return Path(out) / GT / dataset


def pred_dir(out: Path, dataset: str, baseline: str) -> Path:
    return Path(out) / OUTPUTS / dataset / baseline


def part_dir(run_dir: Path, names: list[str]) -> Path:
    """Where `run --only NAMES` writes: one folder per set of rows, named by them."""
    return Path(run_dir) / PARTS / "+".join(sorted(names))


def study_dir(run_dir: Path, name: str) -> Path:
    return Path(run_dir) / STUDIES / name


def is_run_folder(out: Path) -> bool:
    return any((out / name).is_file() for name in (RUN_MARKER, "run.json", LOCK_NAME))


def foreign_entries(out: Path) -> list[str]:
    """What a folder that is not a colorbench run holds (empty for a run folder or an empty one)."""
    if not out.is_dir() or is_run_folder(out):
        return []
    return sorted(display_name(p.name) for p in out.iterdir())


def mark_run_folder(out: Path) -> None:
    if not (out / RUN_MARKER).is_file():
        write_text(out / RUN_MARKER, json.dumps({"note": "a colorbench run folder"}) + "\n")


def check_output_dir(output_dir: Path, force: bool) -> None:
    """FieldError('output_dir') for a file, a non-run folder with contents (unless forced) or an
    unwritable place; nothing is created."""
    if output_dir.exists() and not output_dir.is_dir():
        raise FieldError("output_dir", f"{str(output_dir)!r} exists and is not a directory")
    foreign = foreign_entries(output_dir)
    if foreign and not force:
        shown = ", ".join(foreign[:3]) + (", ..." if len(foreign) > 3 else "")
        raise FieldError("output_dir", f"{str(output_dir)!r} is not empty and is not a colorbench run folder "
                         f"(holds {shown}); choose another folder, or pass --force to write into it")
    if (reason := unwritable_reason(output_dir)) is not None:
        raise FieldError("output_dir", reason)


def overlapping(a: Path, b: Path) -> bool:
    """Whether two folders are one, or one lies inside the other, once links are resolved."""
    a, b = Path(a).expanduser().resolve(), Path(b).expanduser().resolve()
    return a.is_relative_to(b) or b.is_relative_to(a)


def check_apart(folder: Path, output_dir: Path, key: str, what: str = "data folder") -> None:
    """A run writes and cleans inside output_dir: it must not share a folder with the images it
    reads (a dataset's, or a row's precomputed outputs), either way round."""
    if overlapping(folder, output_dir):
        raise FieldError(key, f"the {what} {str(Path(folder).resolve())!r} and output_dir "
                         f"{str(Path(output_dir).resolve())!r} overlap: a run would overwrite, delete or re-read "
                         "files there; keep them apart")
