"""The contracts between the harness, the trainer and every baseline (built-in or plug-in).

A leaf module: it imports torch and nothing of colorbench's that imports it back, so baselines/
and colorbench/training/ both build on it without a cycle. Plug-ins import these names from
colorbench.api, the stable path.
"""
from __future__ import annotations

from contextlib import AbstractContextManager
from dataclasses import asdict, dataclass, field
from typing import Literal

import torch

from colorbench.typed import require

# --------------------------------------------------------------------------- models


@dataclass(frozen=True)
class BaselineInfo:
    """What the report says about a baseline."""

    family: str
    paper: str  # seed file or citation
    color_space: Literal["lab", "rgb"]  # what the model predicts
    loss: str
    input_size: int | None  # square training/inference size; None = any size
    backbone: str = "none"
    pretrained: str = "no"  # "no", or which weights (name and SHA-256)
    learned: bool = True
    notes: str = ""
    role: Literal["model", "floor", "ceiling"] = "model"  # floor/ceiling rows never count as "best"

    def as_dict(self) -> dict:
        return asdict(self)


# What colorize() returns, per colour space: each channel's range, and how far beyond it a value
# may lie (a fraction of the channel's span: float rounding and a small overshoot, which the 8-bit
# PNG clips). Anything further, or any NaN or Inf, fails the row: never clamped into a score.
OUTPUT_RANGES = {"lab": ((0.0, 100.0), (-128.0, 128.0), (-128.0, 128.0)), "rgb": ((0.0, 1.0),) * 3}
OUTPUT_TOLERANCE = 0.01


class ContractError(ValueError):
    """A model's colorize() broke the Baseline contract: the row fails with this reason."""


def check_output(out: torch.Tensor, color_space: str, n: int) -> None:
    """ContractError unless `out` is (n, 3, H, W) of finite values within OUTPUT_RANGES[color_space]
    (give or take OUTPUT_TOLERANCE of each channel's span); the message counts the bad pixels."""
    if out.ndim != 4 or out.shape[0] != n or out.shape[1] != 3:
        raise ContractError(f"colorize() returned shape {tuple(out.shape)}, not ({n}, 3, H, W)")
    pixels = out.shape[0] * out.shape[2] * out.shape[3]
    finite = torch.isfinite(out)
    if bad := int((~finite.all(dim=1)).sum()):
        raise ContractError(f"colorize() returned {bad} of {pixels} pixels with NaN or Inf values")
    ranges = OUTPUT_RANGES[color_space]
    lo = torch.tensor([a - OUTPUT_TOLERANCE * (b - a) for a, b in ranges], dtype=out.dtype, device=out.device)
    hi = torch.tensor([b + OUTPUT_TOLERANCE * (b - a) for a, b in ranges], dtype=out.dtype, device=out.device)
    outside = ((out < lo.view(1, 3, 1, 1)) | (out > hi.view(1, 3, 1, 1))).any(dim=1)
    if bad := int(outside.sum()):
        wanted = ", ".join(f"[{a:g}, {b:g}]" for a, b in dict.fromkeys(ranges))
        raise ContractError(f"colorize() returned {bad} of {pixels} pixels outside the {color_space} range "
                            f"({wanted}, tolerance {OUTPUT_TOLERANCE:g} of each span); the output spans "
                            f"[{float(out.min()):.4g}, {float(out.max()):.4g}]")


class Baseline(torch.nn.Module):
    """Grayscale L in, colour out at the input size.

    `colorize(L)` takes L (N, 1, H, W) in [0, 100] (the L channel of the ground truth, on the
    run's device) and returns (N, 3, H, W) in `info.color_space`: Lab (L in [0, 100], a and b in
    CIE units within [-128, 128]) or sRGB in [0, 1], on any device. check_output() holds every
    output to this (OUTPUT_RANGES, OUTPUT_TOLERANCE). Only baselines with
    `sees_ground_truth = True` (the oracle) receive `target_rgb`.

    A plug-in that also returns an Objective from `objective()` and sets `train_defaults` is
    trained like a built-in baseline (built-ins register both in baselines/registry.py).
    """

    info: BaselineInfo
    sees_ground_truth: bool = False
    train_defaults: "TrainSettings | None" = None

    def colorize(self, L: torch.Tensor, target_rgb: torch.Tensor | None = None) -> torch.Tensor:
        raise NotImplementedError

    def objective(self) -> "Objective | None":
        """A plug-in's training recipe; None (the default): evaluated as it is."""
        return None

    def num_parameters(self) -> int:
        return sum(p.numel() for p in self.parameters())


# --------------------------------------------------------------------------- training


@dataclass(frozen=True)
class Augment:
    """Runtime augmentation as the seeds describe; all seeded."""

    hflip: bool = True
    rotate_deg: float = 0.0  # uniform in [-rotate_deg, rotate_deg]
    zoom: float = 0.0  # scale uniform in [1 - zoom, 1 + zoom]
    shear_deg: float = 0.0


@dataclass(frozen=True)
class TrainSettings:
    """One typed record per learned baseline; each family's defaults are its paper's values."""

    epochs: int = 10
    batch_size: int = 16
    image_size: int = 128
    optimizer: Literal["adam", "adamw", "sgd"] = "adam"
    lr: float = 2e-4
    betas: tuple[float, float] = (0.9, 0.999)
    weight_decay: float = 0.0
    schedule: Literal["constant", "cosine", "step"] = "constant"
    early_stopping_patience: int | None = None  # epochs without improvement > min_delta
    early_stopping_min_delta: float = 0.001
    max_train_images: int | None = None  # None: the whole train split (else the first k of its seeded order)
    max_val_images: int | None = None
    amp: Literal["auto", "off", "bf16", "fp16"] = "auto"  # auto: bf16 on CUDA where supported, off on CPU
    num_workers: int = 2
    augment: Augment = field(default_factory=Augment)
    pretrain_epochs: int = 0  # generator-only epochs before adversarial training (GAN families)

    def __post_init__(self):
        for name in ("epochs", "batch_size", "image_size"):
            require(getattr(self, name) > 0, name, f"must be positive, got {getattr(self, name)}")
        for name in ("max_train_images", "max_val_images"):
            value = getattr(self, name)
            require(value is None or value > 0, name, f"must be positive or null, got {value}")
        require(self.lr > 0, "lr", f"must be positive, got {self.lr}")
        require(self.pretrain_epochs >= 0, "pretrain_epochs", "must be >= 0")


@dataclass
class TrainBatch:
    """An augmented batch on the training device, at settings.image_size."""

    rgb: torch.Tensor  # (N, 3, S, S) sRGB in [0, 1]
    lab: torch.Tensor  # (N, 3, S, S) L in [0, 100], ab in CIE units
    L: torch.Tensor  # (N, 1, S, S) = lab[:, :1]


@dataclass(frozen=True)
class Stop:
    """An objective's request to end training now; `failed` marks the run failed with `reason`."""

    reason: str
    failed: bool = True


class Objective:
    """A training recipe: how one family turns a batch into losses and parameter updates.

    Every trainable module (a GAN's discriminator too) is a submodule of the Baseline, so one
    state_dict checkpoints the whole model. Subclasses implement optimizers, train_step and
    val_losses; the hooks below are called by the trainer and do nothing unless overridden.
    """

    name = "objective"

    def optimizers(self, model: Baseline, settings: TrainSettings) -> dict[str, torch.optim.Optimizer]:
        raise NotImplementedError

    def train_step(self, model: Baseline, batch: TrainBatch, optimizers: dict[str, torch.optim.Optimizer],
                   autocast: AbstractContextManager) -> dict[str, float]:
        """Forward, backward and optimizer steps; returns named losses, 'loss' always present."""
        raise NotImplementedError

    def val_losses(self, model: Baseline, batch: TrainBatch) -> dict[str, float]:
        """Losses on a validation batch under no_grad; 'loss' selects the best checkpoint."""
        raise NotImplementedError

    # -- hooks
    def prepare(self, model: Baseline, train_ds, settings: TrainSettings) -> None:
        """Once before the first epoch (e.g. class priors from the training split)."""

    def on_epoch_start(self, epoch: int) -> None:
        """Before each epoch, 0-based (e.g. a GAN's generator-only pretraining)."""

    def stop(self) -> Stop | None:
        """After each epoch: a Stop ends training (e.g. a collapsed GAN)."""
        return None
