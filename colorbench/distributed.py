"""torch.distributed under torchrun: one process per rank, gloo on CPUs, NCCL on GPUs.

colorbench starts no launcher of its own: `torchrun ... -m colorbench run FILE` sets RANK,
WORLD_SIZE and the rendezvous variables, and init() joins the group. Without them nothing
changes (world size 1, every helper here a no-op). Collectives time out after
COLORBENCH_DIST_TIMEOUT seconds (default 600), so a rank that died or took another path ends
the job with an error instead of a hang; torchrun then stops the other ranks.
"""
from __future__ import annotations

import datetime
import os
from dataclasses import dataclass

import torch
import torch.distributed as dist

TIMEOUT_ENV = "COLORBENCH_DIST_TIMEOUT"


@dataclass(frozen=True)
class World:
    rank: int = 0
    size: int = 1
    local_rank: int = 0

    @property
    def main(self) -> bool:
        return self.rank == 0

    @property
    def active(self) -> bool:
        return self.size > 1


_WORLD = World()


def launched() -> bool:
    """True in a process torchrun started (with more than one rank or not)."""
    return "RANK" in os.environ and "WORLD_SIZE" in os.environ


def init(device: torch.device) -> World:
    """Join the process group torchrun describes; idempotent; World() when not launched."""
    global _WORLD
    if not launched() or dist.is_initialized():
        return _WORLD
    # On GPUs: NCCL for CUDA tensors, gloo for the CPU ones (gathered ids, CPU-side metric states)
    backend = "cpu:gloo,cuda:nccl" if device.type == "cuda" else "gloo"
    timeout = datetime.timedelta(seconds=float(os.environ.get(TIMEOUT_ENV, "600")))
    if device.type == "cuda":
        torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", "0")))
    dist.init_process_group(backend=backend, timeout=timeout)
    _WORLD = World(dist.get_rank(), dist.get_world_size(), int(os.environ.get("LOCAL_RANK", "0")))
    return _WORLD


def world() -> World:
    return _WORLD


def shutdown() -> None:
    global _WORLD
    if dist.is_initialized():
        dist.destroy_process_group()
    _WORLD = World()


def local_device(device: torch.device) -> torch.device:
    """A rank's own GPU under torchrun (cuda:LOCAL_RANK); the device as given otherwise."""
    if device.type == "cuda" and _WORLD.active:
        return torch.device("cuda", _WORLD.local_rank)
    return device


def barrier() -> None:
    if _WORLD.active:
        dist.barrier()


def rank0_first(fn):
    """fn() on rank 0, then on the other ranks (which find what it wrote): each rank's own result."""
    if not _WORLD.active:
        return fn()
    result = fn() if _WORLD.main else None
    barrier()
    return result if _WORLD.main else fn()


def shard(items: list, w: World | None = None) -> list:
    """This rank's contiguous block of `items`: disjoint, covering, sizes differing by at most one
    (no padded duplicates, which would count some items twice)."""
    w = w or _WORLD
    n, k = len(items), w.size
    start = w.rank * (n // k) + min(w.rank, n % k)
    return items[start : start + n // k + (1 if w.rank < n % k else 0)]


def gather(obj) -> list:
    """Every rank's `obj`, in rank order (on every rank)."""
    if not _WORLD.active:
        return [obj]
    out = [None] * _WORLD.size
    dist.all_gather_object(out, obj)
    return out


def broadcast(obj):
    """Rank 0's `obj` on every rank."""
    if not _WORLD.active:
        return obj
    box = [obj]
    dist.broadcast_object_list(box, src=0)
    return box[0]


def all_sum(values: torch.Tensor) -> torch.Tensor:
    if _WORLD.active:
        values = values.clone()
        dist.all_reduce(values, op=dist.ReduceOp.SUM)
    return values
