"""Deterministic train/val/test splits that do not depend on file listing order.

Every id found in the dataset gets a rank key SHA-256(f"{seed}:{id}"); ids sorted by that key are
cut at round(n * train) and round(n * (train + val)). Splitting happens over ALL found ids,
before hygiene: an image's split therefore depends only on (seed, the dataset's id list,
fractions) and never moves when the chroma threshold or an unreadable file changes what is used.
Excluded images are then removed from their split, so per-split sizes are exact over found
images and approximately proportional over used ones.
"""
from __future__ import annotations

from colorbench.files import name_bytes
from colorbench.hashing import sha256_bytes

from .spec import SPLITS


def rank_key(seed: int, image_id: str) -> str:
    return sha256_bytes(f"{seed}:".encode() + name_bytes(image_id))


def seeded_order(ids: list[str], seed: int) -> list[str]:
    """ids in seeded order (ties are impossible for distinct ids short of a SHA-256 collision)."""
    return sorted(set(ids), key=lambda i: (rank_key(seed, i), i))


def assign_splits(ids: list[str], fractions: dict[str, float], seed: int) -> dict[str, list[str]]:
    """{split: ids in seeded order}; fractions are validated by data.spec.Split (in [0, 1], sum 1)."""
    order = seeded_order(ids, seed)
    n = len(order)
    cut_train = round(n * fractions["train"])
    cut_val = max(cut_train, min(n, round(n * (fractions["train"] + fractions["val"]))))
    return {
        SPLITS[0]: order[:cut_train],
        SPLITS[1]: order[cut_train:cut_val],
        SPLITS[2]: order[cut_val:],
    }
