"""The torch Dataset the harness and trainers iterate: (id, rgb (3, S, S) float32 in [0, 1])."""
from __future__ import annotations

import torch
from torch.utils.data import Dataset, get_worker_info

from colorbench.errors import DataError
from colorbench.imageio import UnreadableImage

from .manifest import ImageRecord
from .resize import resize

MEMO_BYTES = 256 * 2**20


class ItemMemo:
    """Resized items of one prepared dataset, kept so that each file is decoded and resized once
    per run rather than once per epoch and per baseline (decoding a large JPEG costs far more
    than a training step at small scale). Items are the exact tensors __getitem__ computes.

    Bounded: the first items up to `budget` bytes are kept and the rest recomputed each time
    (with epochs drawing in random order, evicting would only churn). Filled only in the main
    process: DataLoader workers use what a fork gave them and recompute the rest.
    """

    def __init__(self, budget: int = MEMO_BYTES):
        self.budget, self.used = budget, 0
        self._items: dict[tuple, torch.Tensor] = {}

    def get(self, key: tuple) -> torch.Tensor | None:
        item = self._items.get(key)
        return None if item is None else item.clone()  # callers may write into what they get

    def put(self, key: tuple, item: torch.Tensor) -> None:
        size = item.numel() * item.element_size()
        if key in self._items or self.used + size > self.budget or get_worker_info() is not None:
            return
        self._items[key] = item.clone()
        self.used += size


class ImageDataset(Dataset):
    """One split of a prepared dataset; records are sorted by id.

    The default collate turns a batch into (list of ids, (N, 3, S, S) tensor); with resize policy
    "none" images differ in size, so use batch_size=1. Splits of one prepared dataset share its
    `memo` (none: every item decoded each time).
    """

    def __init__(self, split: str, records: tuple[ImageRecord, ...], reader, size: int | None, resize_policy: str,
                 memo: ItemMemo | None = None):
        self.split = split
        self.records = records
        self.reader = reader
        self.size = size
        self.resize_policy = resize_policy
        self.memo = memo

    def __len__(self) -> int:
        return len(self.records)

    @property
    def ids(self) -> list[str]:
        return [r.id for r in self.records]

    def __getitem__(self, index: int) -> tuple[str, torch.Tensor]:
        record = self.records[index]
        key = (record.id, self.size, self.resize_policy)
        if self.memo is not None and (item := self.memo.get(key)) is not None:
            return record.id, item
        item = self._load(record)
        if self.memo is not None:
            self.memo.put(key, item)
        return record.id, item

    def _load(self, record: ImageRecord) -> torch.Tensor:
        try:
            arr, _ = self.reader(record)
        except UnreadableImage as exc:
            # It passed the hygiene scan, so the file changed underneath us.
            raise DataError(f"{record.id}: unreadable although it passed the hygiene scan: {exc}") from None
        rgb = torch.from_numpy(arr).permute(2, 0, 1).to(torch.float32).contiguous()
        return resize(rgb, self.size, self.resize_policy)
