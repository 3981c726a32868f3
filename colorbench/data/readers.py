"""Readers turn a record into ground-truth pixels: (H, W, 3) float64 in [0, 1] and the PIL mode.

Every reader has a `key` naming how pixels are derived from the file; it is part of the hygiene
cache key, because the same files read differently (e.g. the other half of a paired image) are
different images. Readers are plain picklable objects so DataLoader workers can use them.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from colorbench.imageio import UnreadableImage, load_rgb_array

from .manifest import ImageRecord


@dataclass(frozen=True)
class FileReader:
    key: str = "file"

    def __call__(self, record: ImageRecord) -> tuple[np.ndarray, str]:
        return load_rgb_array(record.path)


@dataclass(frozen=True)
class PairedReader:
    """NCD-style files: grayscale and colour side by side; the ground truth is the colour half."""

    gray_side: str = "left"

    @property
    def key(self) -> str:
        return f"paired:gray={self.gray_side}"

    def halves(self, record: ImageRecord) -> tuple[np.ndarray, np.ndarray, str]:
        """(gray half, colour half, mode); an odd width is ambiguous, so it is unreadable."""
        arr, mode = load_rgb_array(record.path)
        width = arr.shape[1]
        if width % 2:
            raise UnreadableImage(f"paired image width {width} is odd; cannot split into two halves")
        left, right = arr[:, : width // 2], arr[:, width // 2 :]
        gray, colour = (left, right) if self.gray_side == "left" else (right, left)
        return gray, colour, mode

    def __call__(self, record: ImageRecord) -> tuple[np.ndarray, str]:
        _, colour, mode = self.halves(record)
        return np.ascontiguousarray(colour), mode
