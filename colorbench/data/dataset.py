"""The torch Dataset the harness and trainers iterate: (id, rgb (3, S, S) float32 in [0, 1])."""
from __future__ import annotations

import torch
from torch.utils.data import Dataset

from colorbench.errors import DataError
from colorbench.imageio import UnreadableImage

from .manifest import ImageRecord
from .resize import resize


class ImageDataset(Dataset):
    """One split of a prepared dataset; records are sorted by id.

    The default collate turns a batch into (list of ids, (N, 3, S, S) tensor); with resize policy
    "none" images differ in size, so use batch_size=1.
    """

    def __init__(self, split: str, records: tuple[ImageRecord, ...], reader, size: int | None, resize_policy: str):
        self.split = split
        self.records = records
        self.reader = reader
        self.size = size
        self.resize_policy = resize_policy

    def __len__(self) -> int:
        return len(self.records)

    @property
    def ids(self) -> list[str]:
        return [r.id for r in self.records]

    def __getitem__(self, index: int) -> tuple[str, torch.Tensor]:
        record = self.records[index]
        try:
            arr, _ = self.reader(record)
        except UnreadableImage as exc:
            # It passed the hygiene scan, so the file changed underneath us.
            raise DataError(f"{record.id}: unreadable although it passed the hygiene scan: {exc}") from None
        rgb = torch.from_numpy(arr).permute(2, 0, 1).to(torch.float32).contiguous()
        return record.id, resize(rgb, self.size, self.resize_policy)
