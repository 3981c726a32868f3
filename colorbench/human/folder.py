"""Reading a rated folder: items.csv and ratings.csv (the format `colorbench study export` writes).

items.csv:   item,reference,test,scene,system  (paths relative to the folder; test == reference
             for the reference rated against itself; system empty when not a method's output)
ratings.csv: rater,item,score,scale_min,scale_max  (one row per single rating; further columns
             such as latency_ms, time or design are allowed and ignored)

A study folder holding export/ is accepted too. Every problem is one DataError naming the file.
"""
from __future__ import annotations

from pathlib import Path

import pandas as pd

from colorbench.errors import DataError
from colorbench.study.export import ITEM_COLUMNS

from .ratings import RatedItem, RatedSet, build_rated_set


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
    for n, row in enumerate(table.itertuples(index=False), start=2):  # line 1 is the header
        for col in ("item", "reference", "test", "scene"):
            if not str(getattr(row, col)).strip():
                raise DataError(f"{source}: line {n}: empty {col}")
        items.append(RatedItem(
            id=str(row.item), reference=(folder / row.reference).resolve(), test=(folder / row.test).resolve(),
            scene=str(row.scene), system=str(row.system).strip() or None,
        ))
    return items


def load_rated_folder(path: str | Path, name: str | None = None) -> RatedSet:
    folder = rated_folder(path)
    if folder is None:
        raise DataError(f"{path}: not a rated folder (needs items.csv and ratings.csv, or export/ holding them)")
    items = rated_items(_read_csv(folder / "items.csv"), folder, str(folder / "items.csv"))
    ratings = _read_csv(folder / "ratings.csv")
    return build_rated_set(name or folder.name, items, ratings, str(folder / "ratings.csv"))
