"""Publishing a run: its tables, run.json, summary.md and report replace the previous ones
together or not at all.

Everything is first written into <output_dir>/.next/ and the report rendered from there (its
images are the run's own PNGs under gt/ and outputs/). Only when all of it exists are the files
moved into place, each with an atomic rename, and reports/ swapped for the new one. A failure
before that point leaves the previous results and report untouched; a process killed during the
few renames leaves a mix that the next run replaces (its staging folders are removed at start).
"""
from __future__ import annotations

import os
import shutil
from pathlib import Path

import pandas as pd

from colorbench.document import RunDocument
from colorbench.results import ResultRecord, write_per_image, write_results
from colorbench.runfolder import OLD_REPORTS, REPORTS, STAGING, TABLES


def publish(out: Path, records: list[ResultRecord], per_image: pd.DataFrame, document: RunDocument) -> None:
    from colorbench.report import render_report, write_summary_md

    staging = out / STAGING
    remove_staging(out)
    staging.mkdir(parents=True)
    try:
        write_results(staging, records)
        write_per_image(staging, per_image)
        document.save(staging / "run.json")
        write_summary_md(out, staging)
        render_report(out, staging, staging / REPORTS)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    _commit(out, staging)


def _commit(out: Path, staging: Path) -> None:
    for name in TABLES:
        os.replace(staging / name, out / name)
    old = out / OLD_REPORTS
    if (out / REPORTS).exists():
        os.replace(out / REPORTS, old)
    os.replace(staging / REPORTS, out / REPORTS)
    shutil.rmtree(old, ignore_errors=True)
    staging.rmdir()


def remove_staging(out: Path) -> None:
    """Folders a killed publish left behind."""
    for name in (STAGING, OLD_REPORTS):
        shutil.rmtree(out / name, ignore_errors=True)
