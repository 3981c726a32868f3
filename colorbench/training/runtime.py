"""The trainer's runtime helpers: devices, autocast, loaders, seeds, RNG state, loss checks."""
from __future__ import annotations

import contextlib
import math
import random

import torch
from torch.utils.data import DataLoader, Dataset

from colorbench.color import rgb_to_lab
from colorbench.contracts import TrainBatch, TrainSettings


def derive_seed(seed: int, epoch: int, stream: int) -> int:
    return (int(seed) * 1_000_003 + epoch * 7_919 + stream * 104_729) % (2**63 - 1)


def autocast_factory(settings: TrainSettings, device: torch.device):
    if device.type != "cuda" or settings.amp == "off":
        return contextlib.nullcontext
    if settings.amp == "fp16":
        raise ValueError("amp='fp16' needs a GradScaler, which the Objective protocol does not carry; "
                         "use amp='bf16', 'auto' or 'off'")
    if torch.cuda.is_bf16_supported():
        return lambda: torch.autocast("cuda", dtype=torch.bfloat16)
    if settings.amp == "bf16":
        raise ValueError("amp='bf16' requested but this GPU does not support bfloat16")
    return contextlib.nullcontext


@contextlib.contextmanager
def deterministic(device: torch.device):
    """Deterministic kernels on CPU for the duration of fit (restored afterwards)."""
    if device.type != "cpu":
        yield
        return
    before, before_warn = torch.are_deterministic_algorithms_enabled(), torch.is_deterministic_algorithms_warn_only_enabled()
    torch.use_deterministic_algorithms(True, warn_only=True)
    try:
        yield
    finally:
        torch.use_deterministic_algorithms(before, warn_only=before_warn)


def workers(settings: TrainSettings, device: torch.device) -> int:
    return settings.num_workers if device.type == "cuda" else 0


def loader(ds: Dataset, settings: TrainSettings, device: torch.device, *, shuffle: bool, seed: int) -> DataLoader:
    cuda = device.type == "cuda"
    n_workers = workers(settings, device)
    gen = torch.Generator().manual_seed(seed)
    # drop a ragged last batch when training: a batch of 1 breaks BatchNorm on 1x1 feature maps
    drop_last = shuffle and len(ds) > settings.batch_size
    return DataLoader(ds, batch_size=settings.batch_size, shuffle=shuffle, generator=gen, drop_last=drop_last,
                      num_workers=n_workers, pin_memory=cuda, worker_init_fn=seed_worker if n_workers else None)


def seed_worker(worker_id: int) -> None:
    random.seed(torch.initial_seed() % 2**32)


def batch(rgb: torch.Tensor, device: torch.device, channels_last: bool) -> TrainBatch:
    rgb = rgb.to(device, non_blocking=True).float()
    lab = rgb_to_lab(rgb)
    if channels_last:
        rgb, lab = rgb.contiguous(memory_format=torch.channels_last), lab.contiguous(memory_format=torch.channels_last)
    return TrainBatch(rgb=rgb, lab=lab, L=lab[:, :1])


def schedulers(optimizers: dict, settings: TrainSettings) -> dict:
    if settings.schedule == "constant":
        return {}
    if settings.schedule == "cosine":
        return {k: torch.optim.lr_scheduler.CosineAnnealingLR(o, T_max=max(settings.epochs, 1)) for k, o in optimizers.items()}
    if settings.schedule == "step":  # x0.1 at each third of the run
        step = max(settings.epochs // 3, 1)
        return {k: torch.optim.lr_scheduler.StepLR(o, step_size=step, gamma=0.1) for k, o in optimizers.items()}
    raise ValueError(f"unknown schedule {settings.schedule!r}")


def rng_state() -> dict:
    state = {"torch": torch.get_rng_state(), "python": random.getstate()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict) -> None:
    torch.set_rng_state(state["torch"])
    random.setstate(state["python"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def finite(losses: dict[str, float]) -> str | None:
    for name, value in losses.items():
        if not math.isfinite(value):
            return f"{name}={value}"
    return None


def mean(sums: dict[str, float], count: int) -> dict[str, float]:
    return {k: v / max(count, 1) for k, v in sums.items()}
