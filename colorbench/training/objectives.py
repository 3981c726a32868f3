"""The regression and classification objectives (colorbench.contracts.Objective) and the
optimizer factory; the adversarial ones are in adversarial.py and perceptual.py.

Models follow baselines.common's forward convention: model(L) returns the raw prediction at the
model's own resolution. Regression compares at the *target* resolution (the prediction is
resized bilinearly, as colorize does); classification builds targets at the *logits*
resolution (ab is area-downsampled to it, as seed 001 does for its 32x32 logits).

ClassificationObjective's prepare() hook counts the 313-bin class priors on the training split and
stores them in the model's `class_priors` buffer, so they travel in every checkpoint.
"""
from __future__ import annotations

from contextlib import AbstractContextManager
from typing import Literal

import torch
import torch.nn.functional as F

from colorbench.color import (
    ANNEAL_T,
    NUM_BINS,
    REBALANCE_LAMBDA,
    annealed_mean,
    class_counts,
    quantize_ab,
    rebalance_weights,
    rgb_to_lab,
    soft_encode,
)
from colorbench.contracts import Baseline, Objective, TrainBatch, TrainSettings


def build_optimizer(params, settings: TrainSettings) -> torch.optim.Optimizer:
    params = [p for p in params if p.requires_grad]  # frozen backbones never reach an optimizer
    if settings.optimizer == "adam":
        return torch.optim.Adam(params, lr=settings.lr, betas=settings.betas, weight_decay=settings.weight_decay)
    if settings.optimizer == "adamw":
        return torch.optim.AdamW(params, lr=settings.lr, betas=settings.betas, weight_decay=settings.weight_decay)
    if settings.optimizer == "sgd":
        # betas[0] doubles as momentum so the one settings record covers all three
        return torch.optim.SGD(params, lr=settings.lr, momentum=settings.betas[0], weight_decay=settings.weight_decay)
    raise ValueError(f"unknown optimizer {settings.optimizer!r}")


def _match(pred: torch.Tensor, size) -> torch.Tensor:
    if tuple(pred.shape[-2:]) == tuple(size):
        return pred
    return F.interpolate(pred, size=tuple(size), mode="bilinear", align_corners=False)


class _SingleModelObjective(Objective):
    """One optimizer ('model') over all trainable parameters; one backward per step."""

    name = "objective"

    def optimizers(self, model: Baseline, settings: TrainSettings) -> dict[str, torch.optim.Optimizer]:
        return {"model": build_optimizer(model.parameters(), settings)}

    def losses(self, model: Baseline, batch: TrainBatch) -> dict[str, torch.Tensor]:
        raise NotImplementedError

    def train_step(self, model: Baseline, batch: TrainBatch, optimizers: dict[str, torch.optim.Optimizer],
                   autocast: AbstractContextManager) -> dict[str, float]:
        opt = optimizers["model"]
        opt.zero_grad(set_to_none=True)
        with autocast:
            losses = self.losses(model, batch)
        losses["loss"].backward()
        opt.step()
        return {k: float(v.detach()) for k, v in losses.items()}

    def val_losses(self, model: Baseline, batch: TrainBatch) -> dict[str, float]:
        with torch.no_grad():
            return {k: float(v) for k, v in self.losses(model, batch).items()}


class RegressionObjective(_SingleModelObjective):
    """Pixelwise regression of ab (scaled by 1/ab_scale, e.g. to [-1, 1] for tanh) or of RGB."""

    def __init__(self, *, target: Literal["ab", "rgb"], loss: Literal["mse", "l1"], ab_scale: float = 128.0):
        if target not in ("ab", "rgb"):
            raise ValueError(f"target must be 'ab' or 'rgb', got {target!r}")
        if loss not in ("mse", "l1"):
            raise ValueError(f"loss must be 'mse' or 'l1', got {loss!r}")
        self.target, self.loss, self.ab_scale = target, loss, float(ab_scale)
        self.name = f"{loss}-{target}"

    def losses(self, model: Baseline, batch: TrainBatch) -> dict[str, torch.Tensor]:
        target = batch.lab[:, 1:] / self.ab_scale if self.target == "ab" else batch.rgb
        pred = _match(model(batch.L), target.shape[-2:]).float()
        err = F.mse_loss(pred, target) if self.loss == "mse" else F.l1_loss(pred, target)
        out = {"loss": err}
        if self.target == "ab":  # the same error in CIE ab units squared: comparable across scales
            out["mse_ab"] = F.mse_loss(pred.detach() * self.ab_scale, batch.lab[:, 1:])
        return out


class ClassificationObjective(_SingleModelObjective):
    """Zhang et al.'s multinomial loss over the 313 ab bins with soft-encoded targets.

    loss = mean over pixels of  -v(Z_hw) * sum_q Z_hwq log softmax(logits)_hwq
    where Z is the soft encoding (5 nearest bins, sigma 5) and, with rebalance, v is the weight
    of the pixel's nearest bin, w ~ ((1 - lam) p + lam / 313)^-1 with E_p[w] = 1 (seed 001);
    without rebalance v = 1 (plain soft cross-entropy, zhang313_ce).
    """

    def __init__(self, *, rebalance: bool, lam: float = REBALANCE_LAMBDA, T: float = ANNEAL_T):
        self.rebalance, self.lam, self.T = bool(rebalance), float(lam), float(T)
        self.name = "rebalanced-ce" if rebalance else "ce"

    def prepare(self, model: Baseline, train_ds, settings: TrainSettings) -> None:
        """Count the nearest-bin histogram over every training pixel (at settings.image_size,
        without augmentation) into model.class_priors."""
        if not hasattr(model, "class_priors"):
            raise TypeError(f"{type(model).__name__} has no class_priors buffer for ClassificationObjective")
        if not self.rebalance:
            return
        counts = torch.zeros(NUM_BINS, dtype=torch.float64)
        chunk: list[torch.Tensor] = []
        for i in range(len(train_ds)):
            chunk.append(train_ds[i][1])
            if len(chunk) == 64 or i == len(train_ds) - 1:
                counts += class_counts(rgb_to_lab(torch.stack(chunk).float())[:, 1:])
                chunk = []
        if counts.sum() == 0:
            raise ValueError("cannot compute class priors from an empty training split")
        with torch.no_grad():
            model.class_priors.copy_((counts / counts.sum()).to(model.class_priors))

    def pixel_weights(self, model: Baseline, ab: torch.Tensor) -> torch.Tensor:
        """(N, h, w) weight of each pixel's nearest bin."""
        priors = model.class_priors
        if float(priors.sum()) <= 0:
            raise RuntimeError("class priors are empty: fit() must call prepare() before training")
        w = rebalance_weights(priors.double(), self.lam).to(ab.dtype)
        return w[quantize_ab(ab)]

    def losses(self, model: Baseline, batch: TrainBatch) -> dict[str, torch.Tensor]:
        logits = model(batch.L).float()
        ab = F.adaptive_avg_pool2d(batch.lab[:, 1:].float(), logits.shape[-2:])
        target = soft_encode(ab)
        ce = -(target * F.log_softmax(logits, dim=1)).sum(dim=1)  # (N, h, w)
        if self.rebalance:
            ce = ce * self.pixel_weights(model, ab)
        with torch.no_grad():
            acc = (logits.argmax(dim=1) == quantize_ab(ab)).float().mean()
            mse = F.mse_loss(annealed_mean(logits, self.T), ab)
        return {"loss": ce.mean(), "acc313": acc, "mse_ab": mse}
