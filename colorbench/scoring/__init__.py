"""Scoring prediction files against ground-truth files: matching (pairs.py), the batch plan
(batches.py) and the one scoring routine (engine.py), shared by `colorbench run` and `colorbench score`.

Names are loaded on first use (PEP 562), so the command line can read SIZE_POLICIES without
importing torch.
"""
from __future__ import annotations

import importlib

_HOMES = {
    "ScoreResult": "engine", "build_accumulators": "engine", "resize_to": "engine", "score_pairs": "engine",
    "Pair": "pairs", "PairMatch": "pairs", "match_folders": "pairs",
    "MAX_BATCH_PIXELS": "batches", "SIZE_POLICIES": "batches",
}
__all__ = sorted(_HOMES)


def __getattr__(name: str):
    if name not in _HOMES:
        raise AttributeError(f"module 'colorbench.scoring' has no attribute {name!r}")
    return getattr(importlib.import_module(f"colorbench.scoring.{_HOMES[name]}"), name)
