"""The trainer's plug-in point: how one family turns a batch into losses and parameter updates."""
from __future__ import annotations

from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Protocol

import torch

from baselines.base import Baseline
from colorbench.training.settings import TrainSettings


@dataclass
class TrainBatch:
    """An augmented batch on the training device, at settings.image_size."""

    rgb: torch.Tensor  # (N, 3, S, S) sRGB in [0, 1]
    lab: torch.Tensor  # (N, 3, S, S) L in [0, 100], ab in CIE units
    L: torch.Tensor  # (N, 1, S, S) = lab[:, :1]


class Objective(Protocol):
    """A training recipe. Every trainable module (a GAN's discriminator too) is a submodule
    of the Baseline, so one state_dict checkpoints the whole model."""

    name: str

    def optimizers(self, model: Baseline, settings: TrainSettings) -> dict[str, torch.optim.Optimizer]:
        ...

    def train_step(
        self,
        model: Baseline,
        batch: TrainBatch,
        optimizers: dict[str, torch.optim.Optimizer],
        autocast: AbstractContextManager,
    ) -> dict[str, float]:
        """Forward, backward and optimizer steps. Returns named losses; 'loss' is always present
        (GANs add e.g. 'g_loss', 'd_loss', 'd_acc')."""
        ...

    def val_losses(self, model: Baseline, batch: TrainBatch) -> dict[str, float]:
        """Losses on a validation batch under no_grad; 'loss' selects the best checkpoint."""
        ...
