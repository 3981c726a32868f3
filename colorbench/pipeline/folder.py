"""Cleaning a run folder (its layout is colorbench.runfolder's): a run removes only the
temporaries and stale PNGs of its own files and subfolders, never anything else."""
from __future__ import annotations

from pathlib import Path

from colorbench.files import PARTIAL_FILE_GLOB, partial_name
from colorbench.pipeline.publish import remove_staging
from colorbench.runfolder import RUN_DIRS, RUN_FILES


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
