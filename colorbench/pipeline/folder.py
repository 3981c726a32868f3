"""The run folder: its layout, what marks it as a run's, what a run may clean, and the checks
that keep it apart from everything else.

<output_dir>/.colorbench                           marks the folder as a run's (written first)
<output_dir>/gt/<dataset>/<id>.png                 ground truth at evaluation size, 8-bit
<output_dir>/outputs/<dataset>/<baseline>/<id>.png each baseline's colorization
<output_dir>/results.csv|jsonl, per_image.csv, run.json, summary.md, reports/

A run writes, and cleans up, only these; anything else in the folder (a user's notes, a study
under studies/) is left alone.
"""
from __future__ import annotations

import json
from pathlib import Path

from colorbench.files import (
    PARTIAL_FILE_GLOB,
    display_name,
    partial_name,
    unwritable_reason,
    write_text,
)
from colorbench.lock import LOCK_NAME
from colorbench.pipeline.publish import remove_staging
from colorbench.typed import FieldError

RUN_MARKER = ".colorbench"
RUN_FILES = ("results.csv", "results.jsonl", "per_image.csv", "run.json", "summary.md", RUN_MARKER)
RUN_DIRS = ("gt", "outputs", "reports")


def gt_dir(out: Path, dataset: str) -> Path:
    return out / "gt" / dataset


def pred_dir(out: Path, dataset: str, baseline: str) -> Path:
    return out / "outputs" / dataset / baseline


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


def remove_partial_files(out: Path) -> int:
    """Delete temporary files a killed run left mid-write (files.atomic_write_bytes): only in the
    run's own subfolders, and at the top only the temporaries of the run's own files."""
    remove_staging(out)
    stale = [p for d in RUN_DIRS if (out / d).is_dir() for p in (out / d).rglob(PARTIAL_FILE_GLOB)]
    stale += [p for name in RUN_FILES for p in out.glob(partial_name(out / name) + "*.tmp")]
    for path in stale:
        if path.is_file():
            path.unlink()
    return len(stale)


def remove_stale_pngs(folder: Path, ids: list[str]) -> None:
    """Drop PNGs of an earlier run that are not in this run's id set (inside one run subfolder)."""
    wanted = {f"{i}.png" for i in ids}
    for path in folder.rglob("*.png"):
        if path.relative_to(folder).as_posix() not in wanted:
            path.unlink()


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
