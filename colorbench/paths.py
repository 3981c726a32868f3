"""Where data and caches live: COLORBENCH_DATA first, then COLORBENCH_CACHE."""
from __future__ import annotations

import os
from pathlib import Path


def data_root() -> Path | None:
    """The user's local dataset directory, if COLORBENCH_DATA names one."""
    value = os.environ.get("COLORBENCH_DATA")
    return Path(value).expanduser() if value else None


def cache_root() -> Path:
    value = os.environ.get("COLORBENCH_CACHE")
    return Path(value).expanduser() if value else Path.home() / ".cache" / "colorbench"


def cache_dir(*parts: str) -> Path:
    path = cache_root().joinpath(*parts)
    path.mkdir(parents=True, exist_ok=True)
    return path
