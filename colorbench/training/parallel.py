"""Data-parallel training under torchrun: every rank holds the whole model and trains on its share
of each global batch; gradients are averaged across ranks before every optimizer step.

The averaging is DistributedDataParallel's arithmetic (an all-reduce of the gradients, divided by
the world size) done in a step pre-hook of each optimizer rather than by DDP's module wrapper:
objectives call models through methods other than forward() and the adversarial objective runs
the discriminator several times per step with the generator's gradients flowing through it, which
DDP's wrapper does not support without changing every objective (plug-ins included). What is
lost is DDP's overlap of communication with the backward pass.

The configured batch_size is the global batch: each rank takes batch_size / world_size images
of it (a batch size the world size does not divide is a configuration error). Every rank draws
the same global permutation per epoch; a ragged last batch is dropped as in one process, except
when the whole split is one batch: then the shares differ by at most one image and each rank's
gradient is weighted by its share, so the average is the global batch's mean gradient.

BatchNorm is per rank (statistics of the rank's share; SyncBatchNorm has no CPU kernels), and
running statistics are rank 0's, broadcast after every epoch, as DDP's broadcast_buffers does.
"""
from __future__ import annotations

import torch
import torch.distributed as dist
from torch.utils.data import DataLoader, Dataset, Sampler, Subset

from colorbench import distributed
from colorbench.errors import UsageError


def check_batch(batch_size: int, n_train: int, world: distributed.World) -> None:
    if batch_size % world.size:
        raise UsageError(f"batch_size {batch_size} is the global batch and must divide evenly over "
                         f"{world.size} ranks (use a multiple of {world.size})")
    if n_train < world.size:
        raise UsageError(f"{n_train} training images cannot be shared by {world.size} ranks")


class ShardedBatches(Sampler[list[int]]):
    """This rank's share of every global batch of one epoch (the same permutation on every rank)."""

    def __init__(self, n: int, batch_size: int, seed: int, world: distributed.World):
        perm = torch.randperm(n, generator=torch.Generator().manual_seed(seed)).tolist()
        drop_last = n > batch_size
        stop = n - n % batch_size if drop_last else n
        self.global_batches = [perm[i : i + batch_size] for i in range(0, stop, batch_size)]
        self.world = world

    def __len__(self) -> int:
        return len(self.global_batches)

    def __iter__(self):
        return (distributed.shard(b, self.world) for b in self.global_batches)

    def weight(self, step: int) -> float:
        """The factor that makes the average of the ranks' mean gradients the global mean."""
        share = len(distributed.shard(self.global_batches[step], self.world))
        return share * self.world.size / len(self.global_batches[step])


def train_loader(ds: Dataset, batch_size: int, num_workers: int, cuda: bool, seed: int) -> DataLoader:
    """The loader of this rank's shares; loader.batch_sampler.weight(step) for the averager."""
    sampler = ShardedBatches(len(ds), batch_size, seed, distributed.world())
    return DataLoader(ds, batch_sampler=sampler, num_workers=num_workers, pin_memory=cuda)


def val_share(ds: Dataset) -> Dataset:
    """This rank's contiguous block of the validation split (losses are summed over ranks)."""
    return Subset(ds, distributed.shard(list(range(len(ds)))))


class GradientAverager:
    """Averages the gradients of each optimizer's parameters over the ranks before it steps."""

    def __init__(self, optimizers: dict):
        self.weight = 1.0
        self.handles = [opt.register_step_pre_hook(self._average) for opt in optimizers.values()]

    def _average(self, optimizer, args, kwargs) -> None:
        grads = [p.grad for group in optimizer.param_groups for p in group["params"] if p.grad is not None]
        by_dtype: dict[torch.dtype, list[torch.Tensor]] = {}
        for g in grads:
            by_dtype.setdefault(g.dtype, []).append(g)
        size = distributed.world().size
        for dtype in sorted(by_dtype, key=str):  # the same order on every rank
            bucket = by_dtype[dtype]
            flat = torch.cat([g.reshape(-1) for g in bucket]) * self.weight
            dist.all_reduce(flat)
            flat /= size
            offset = 0
            for g in bucket:
                g.copy_(flat[offset : offset + g.numel()].view_as(g))
                offset += g.numel()

    def remove(self) -> None:
        for handle in self.handles:
            handle.remove()


def broadcast_state(model: torch.nn.Module, buffers_only: bool = False) -> None:
    """Rank 0's parameters and buffers (or buffers only) on every rank, in place."""
    tensors = list(model.buffers()) if buffers_only else list(model.state_dict().values())
    for t in tensors:
        if t.is_floating_point() or t.dtype in (torch.long, torch.int, torch.bool):
            dist.broadcast(t.data, src=0)


def all_sum_losses(sums: dict[str, float], seen: int) -> tuple[dict[str, float], int]:
    """Loss sums and counts added over the ranks (keys in the same order everywhere)."""
    keys = sorted({k for rank_keys in distributed.gather(sorted(sums)) for k in rank_keys})  # a rank may have none
    total = distributed.all_sum(torch.tensor([float(seen), *(sums.get(k, 0.0) for k in keys)], dtype=torch.float64))
    return dict(zip(keys, total[1:].tolist())), int(total[0])


def any_rank(flag: bool) -> bool:
    return bool(distributed.all_sum(torch.tensor([int(flag)]))[0])
