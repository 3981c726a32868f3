"""Reading a rated folder: items.csv and ratings.csv (the format `colorbench study export` writes).

items.csv:   item,reference,test,scene,system[,role]  (paths relative to the folder; system empty
             when not a method's output; role "reference" for the reference rated against itself,
             "test" otherwise. Without a role column an item whose test path is its reference path
             is the reference: an export always writes the role, since an output identical to the
             photo (the oracle's) has the same file as the photo but is not the reference)
ratings.csv: rater,item,score,scale_min,scale_max  (one row per single rating; further columns
             such as latency_ms, time or design are allowed and ignored; two rows equal in every
             column are refused: a repeated rating needs a column that tells it apart, e.g. time)

A study folder holding export/ is accepted too. Every problem is one DataError naming the file.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from colorbench.errors import DataError

from .ratings import RatedItem, RatedSet, build_rated_set

ITEM_COLUMNS = ["item", "reference", "test", "scene", "system"]  # what a rated folder's items.csv must have
ROLE_COLUMN, ROLES = "role", ("reference", "test")  # optional in a rated folder; written by `study export`


def rated_folder(path: str | Path) -> Path | None:
    """The folder holding items.csv and ratings.csv (path itself or path/export), else None."""
    p = Path(path).expanduser()
    for candidate in (p, p / "export"):
        if (candidate / "items.csv").is_file() and (candidate / "ratings.csv").is_file():
            return candidate
    return None


def _read_csv(path: Path) -> pd.DataFrame:
    try:
        return pd.read_csv(path, dtype=str, keep_default_na=False)
    except (OSError, UnicodeDecodeError, pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise DataError(f"{path}: cannot read as CSV: {str(exc).splitlines()[0]}") from None


def rated_items(table: pd.DataFrame, folder: Path, source: str) -> list[RatedItem]:
    """Items from an items table (ITEM_COLUMNS; paths relative to `folder`)."""
    missing = [c for c in ITEM_COLUMNS if c not in table.columns]
    if missing:
        raise DataError(f"{source}: missing column(s) {', '.join(missing)} (need {', '.join(ITEM_COLUMNS)})")
    items = []
    for n, row in enumerate(table.to_dict("records"), start=2):  # line 1 is the header
        for col in ("item", "reference", "test", "scene"):
            if not str(row[col]).strip():
                raise DataError(f"{source}: line {n}: empty {col}")
        reference, test = (folder / row["reference"]).resolve(), (folder / row["test"]).resolve()
        role = str(row.get(ROLE_COLUMN, "")).strip()
        if ROLE_COLUMN in row and role not in ROLES:
            raise DataError(f"{source}: line {n}: {ROLE_COLUMN} {role!r} is not one of {', '.join(ROLES)}")
        items.append(RatedItem(
            id=str(row["item"]), reference=reference, test=test, scene=str(row["scene"]),
            system=str(row["system"]).strip() or None,
            is_reference=role == ROLES[0] if ROLE_COLUMN in row else test == reference,
        ))
    return items


def _refuse_duplicate_rows(ratings: pd.DataFrame, source: str) -> None:
    """Two rows equal in every column are one rating entered twice, not two ratings."""
    repeated = ratings.duplicated(keep="first").to_numpy()
    if not repeated.any():
        return
    first = ratings.groupby(list(ratings.columns), sort=False).ngroup().to_numpy()
    line_of_group = {}
    for line, group in enumerate(first, start=2):
        line_of_group.setdefault(group, line)
    pairs = [f"line {line} repeats line {line_of_group[first[line - 2]]}" for line in np.flatnonzero(repeated) + 2]
    shown = ", ".join(pairs[:3]) + (f" and {len(pairs) - 3} more" if len(pairs) > 3 else "")
    raise DataError(f"{source}: {len(pairs)} duplicate row{'s' if len(pairs) > 1 else ''} ({shown}); remove them, or add a column that tells "
                    "repeated ratings apart (e.g. time)")


def load_rated_folder(path: str | Path, name: str | None = None) -> RatedSet:
    folder = rated_folder(path)
    if folder is None:
        raise DataError(f"{path}: not a rated folder (needs items.csv and ratings.csv, or export/ holding them)")
    items = rated_items(_read_csv(folder / "items.csv"), folder, str(folder / "items.csv"))
    ratings = _read_csv(folder / "ratings.csv")
    _refuse_duplicate_rows(ratings, str(folder / "ratings.csv"))
    return build_rated_set(name or folder.name, items, ratings, str(folder / "ratings.csv"))
