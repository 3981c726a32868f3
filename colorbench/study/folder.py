"""The study folder: what marks it as a study's, and what `study create --force` may replace.

<study>/.colorbench-study   marks the folder as a study's (written first, as a run writes .colorbench)
<study>/study.json, images/, responses.sqlite (+ its -wal/-shm/-journal), analysis.json, export/

`--force` replaces a folder only when it is a study's (the marker, or study.json for studies made
before the marker) and holds nothing a study does not write: a run folder, a parent of one, a
dataset root or a user's folder is never deleted, nor is a user's file put inside a study.
"""
from __future__ import annotations

import fnmatch
import json
from pathlib import Path

from colorbench.files import PARTIAL_FILE_GLOB, display_name, write_text
from colorbench.lock import LOCK_NAME
from colorbench.study.spec import (
    ANALYSIS_FILE,
    DB_FILE,
    EXPORT_DIR,
    IMAGES_DIR,
    STUDY_FILE,
)

STUDY_MARKER = ".colorbench-study"
OWN_ENTRIES = frozenset({STUDY_MARKER, STUDY_FILE, IMAGES_DIR, DB_FILE, f"{DB_FILE}-wal", f"{DB_FILE}-shm",
                         f"{DB_FILE}-journal", ANALYSIS_FILE, EXPORT_DIR, LOCK_NAME, f".{EXPORT_DIR}.old"})
OWN_TEMPORARIES = (PARTIAL_FILE_GLOB,)  # atomic writes and export's staging folder (.export.XXXX.tmp)


def mark_study_folder(folder: Path) -> None:
    write_text(Path(folder) / STUDY_MARKER, json.dumps({"note": "a colorbench study folder"}) + "\n")


def _own(name: str) -> bool:
    return name in OWN_ENTRIES or any(fnmatch.fnmatchcase(name, g) for g in OWN_TEMPORARIES)


def _shown(names: list[str]) -> str:
    return ", ".join(display_name(n) for n in names[:3]) + (", ..." if len(names) > 3 else "")


def replace_refusal(folder: Path) -> str | None:
    """Why `folder` may not be replaced by a new study (None: it is empty or a study's own)."""
    folder = Path(folder)
    if folder.is_symlink():
        return "is a symbolic link"
    if not folder.is_dir():
        return "exists and is not a folder"
    names = sorted(p.name for p in folder.iterdir())
    if not names:
        return None
    if STUDY_MARKER not in names and STUDY_FILE not in names:
        return f"is not a colorbench study folder (no {STUDY_MARKER} marker; it holds {_shown(names)})"
    foreign = [n for n in names if not _own(n)]
    if foreign:
        return f"holds files a study does not write ({_shown(foreign)}); move them out first"
    return None
