"""The adversarial objective (pix2pix's conditional GAN + L1) and its losses, for any model with
a generator and a discriminator (baselines/adversarial.py builds them).

Conventions (all GAN baselines):
- The generator predicts in "network units": ab / AB_SCALE (target 'ab') or RGB * 2 - 1
  (target 'rgb'); the model's `colorize` maps back to Lab / sRGB. AB_SCALE = 110 as in the
  colorization pix2pix tutorials the seeds follow (Shariatnia): |a|, |b| of sRGB colours stay
  below ~110 except saturated blues (b down to -108) and greens (a down to -86), so tanh rarely
  saturates.
- Discriminators return logits. The seeds' "sigmoid + BCE" is computed as
  BCEWithLogits(logits, y) = BCE(sigmoid(logits), y), mathematically identical and stable.
- The objective's 'loss' (checkpoint selection) is the generator's L1 in network units:
  the adversarial terms are not comparable across epochs (D changes), the L1 is.
"""
from __future__ import annotations

import warnings
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from typing import Literal, Protocol

import torch
import torch.nn.functional as F
from torch import nn

from colorbench import distributed
from colorbench.contracts import Objective, Stop, TrainBatch, TrainSettings
from colorbench.training import parallel
from colorbench.training.objectives import build_optimizer

AB_SCALE = 110.0
Target = Literal["ab", "rgb"]


def _finite_everywhere(loss: torch.Tensor) -> bool:
    """Under torchrun every rank must take the same optimizer steps (the gradient average is a
    collective inside step()), so a step is skipped on all ranks when any rank's loss is not finite."""
    finite = bool(torch.isfinite(loss))
    return not parallel.any_rank(not finite) if distributed.world().active else finite


class AdversarialModel(Protocol):
    """What the objective needs of a GAN baseline (one state_dict holds both networks)."""

    target: Target
    generator: nn.Module
    discriminator: nn.Module

    def generate(self, L: torch.Tensor) -> torch.Tensor: ...  # network units

    def discriminate(self, L: torch.Tensor, y: torch.Tensor) -> torch.Tensor: ...  # logits


def l_to_unit(L: torch.Tensor) -> torch.Tensor:
    """L in [0, 100] -> [-1, 1] (pix2pix colorization input convention)."""
    return L / 50.0 - 1.0


def target_units(batch: TrainBatch, target: Target) -> torch.Tensor:
    """The ground truth in the generator's output units."""
    if target == "ab":
        return batch.lab[:, 1:] / AB_SCALE
    return batch.rgb * 2.0 - 1.0


# --------------------------------------------------------------------------- losses


def discriminator_loss(real_logits: torch.Tensor, fake_logits: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """pix2pix D loss 0.5 * (BCE(D(real), 1) + BCE(D(fake), 0)) and D's patch accuracy at 0.5.

    d_acc = mean over all patches of real and generated images of [sigmoid(logit) > 0.5] == label,
    i.e. logit > 0 for real and logit < 0 for generated.
    """
    loss = 0.5 * (F.binary_cross_entropy_with_logits(real_logits, torch.ones_like(real_logits))
                  + F.binary_cross_entropy_with_logits(fake_logits, torch.zeros_like(fake_logits)))
    with torch.no_grad():
        correct = (real_logits > 0).float().sum() + (fake_logits < 0).float().sum()
        acc = correct / (real_logits.numel() + fake_logits.numel())
    return loss, acc


def adversarial_g_loss(fake_logits: torch.Tensor) -> torch.Tensor:
    """Non-saturating generator loss BCE(D(G(x)), 1) (pix2pix)."""
    return F.binary_cross_entropy_with_logits(fake_logits, torch.ones_like(fake_logits))


def generator_loss(*, fake_logits: torch.Tensor, pred: torch.Tensor, target: torch.Tensor,
                   lambda_l1: float, lambda_adv: float) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """lambda_adv * BCE(D(G(x)), 1) + lambda_l1 * mean|y - G(x)| (L1 in network units)."""
    adv = adversarial_g_loss(fake_logits)
    l1 = (pred - target).abs().mean()
    return lambda_adv * adv + lambda_l1 * l1, {"g_adv": adv, "l1": l1}


# --------------------------------------------------------------------------- collapse


@dataclass
class CollapseMonitor:
    """Flags a collapsed GAN: for `patience` consecutive adversarial epochs, D is right on
    (nearly) every patch (mean d_acc >= d_acc_min) AND the generator's adversarial loss is large
    (mean g_adv >= g_adv_min; 5.0 means D gives generated patches p(real) < 0.7%). Then G gets
    no useful gradient from D and further epochs only add artefacts.
    """

    patience: int = 3
    d_acc_min: float = 0.99
    g_adv_min: float = 5.0
    streak: int = 0
    _sums: dict = field(default_factory=dict)

    def record(self, d_acc: float, g_adv: float) -> None:
        s = self._sums
        s["d_acc"], s["g_adv"], s["n"] = s.get("d_acc", 0.0) + d_acc, s.get("g_adv", 0.0) + g_adv, s.get("n", 0) + 1

    def end_epoch(self) -> None:
        n = self._sums.get("n", 0)
        if n:
            bad = self._sums["d_acc"] / n >= self.d_acc_min and self._sums["g_adv"] / n >= self.g_adv_min
            self.streak = self.streak + 1 if bad else 0
        self._sums = {}

    @property
    def collapsed(self) -> bool:
        return self.streak >= self.patience


# --------------------------------------------------------------------------- objective


@dataclass
class AdversarialObjective(Objective):
    """Conditional GAN + L1 (pix2pix): per batch one D step, then one G step.

    Epochs < pretrain_epochs (None: TrainSettings.pretrain_epochs) train the generator alone
    with plain L1 (D untouched: no forward, no step). The trainer must call
    `on_epoch_start(epoch)` (0-based) before each epoch; without it every epoch counts as
    epoch 0 (a warning says so when pretraining is configured).

    Returned keys: 'loss' (= 'l1', network units; selects checkpoints), 'l1', 'g_loss' (the
    total the generator minimised), and in adversarial epochs 'g_adv', 'd_loss', 'd_acc';
    'pretrain' (1.0 / 0.0). After each epoch `stop()` closes the epoch for the CollapseMonitor
    and returns a failing Stop once it fires. Non-finite losses are returned as they are (no
    step is taken on them) so the trainer marks the baseline failed.
    """

    lambda_l1: float = 100.0
    lambda_adv: float = 1.0
    target: Target = "ab"
    pretrain_epochs: int | None = None  # None: settings.pretrain_epochs (read in optimizers())
    collapse: CollapseMonitor = field(default_factory=CollapseMonitor)
    name: str = "adversarial"
    epoch: int = 0
    _hook_seen: bool = False
    _warned: bool = False

    # -- trainer hooks
    def on_epoch_start(self, epoch: int) -> None:
        self.epoch, self._hook_seen = epoch, True

    def stop(self) -> Stop | None:
        self.collapse.end_epoch()
        if self.collapse.collapsed:
            return Stop(f"training collapsed at epoch {self.epoch + 1}: for {self.collapse.patience} epochs the "
                        f"discriminator was right on >= {self.collapse.d_acc_min:.0%} of patches and the "
                        f"generator's adversarial loss was >= {self.collapse.g_adv_min}")
        return None

    @property
    def pretraining(self) -> bool:
        return self.epoch < (self.pretrain_epochs or 0)

    def optimizers(self, model: AdversarialModel, settings: TrainSettings) -> dict[str, torch.optim.Optimizer]:
        if self.pretrain_epochs is None:
            self.pretrain_epochs = settings.pretrain_epochs
        return {"g": build_optimizer(model.generator.parameters(), settings),
                "d": build_optimizer(model.discriminator.parameters(), settings)}

    # -- generator loss beyond pix2pix (DDColor overrides)
    def generator_objective(self, model: AdversarialModel, batch: TrainBatch, pred: torch.Tensor,
                            target: torch.Tensor, fake_logits: torch.Tensor) -> tuple[torch.Tensor, dict]:
        return generator_loss(fake_logits=fake_logits, pred=pred, target=target,
                              lambda_l1=self.lambda_l1, lambda_adv=self.lambda_adv)

    def train_step(self, model: AdversarialModel, batch: TrainBatch,
                   optimizers: dict[str, torch.optim.Optimizer],
                   autocast: AbstractContextManager | None = None) -> dict[str, float]:
        autocast = autocast if autocast is not None else nullcontext()
        if (self.pretrain_epochs or 0) > 0 and not self._hook_seen and not self._warned:
            warnings.warn("AdversarialObjective: on_epoch_start was never called; pretraining never ends")
            self._warned = True
        target = target_units(batch, self.target)
        if self.pretraining:
            return self._pretrain_step(model, batch, target, optimizers["g"], autocast)

        # D step: real vs generated (detached), D's own optimizer only.
        with autocast:
            pred = model.generate(batch.L)
            real_logits = model.discriminate(batch.L, target)
            fake_logits = model.discriminate(batch.L, pred.detach())
            d_loss, d_acc = discriminator_loss(real_logits.float(), fake_logits.float())
        if _finite_everywhere(d_loss):
            optimizers["d"].zero_grad(set_to_none=True)
            d_loss.backward()
            optimizers["d"].step()

        # G step against the updated D; only G's optimizer steps (D grads are discarded next time).
        with autocast:
            fake_logits = model.discriminate(batch.L, pred)
            g_loss, parts = self.generator_objective(model, batch, pred.float(), target, fake_logits.float())
        if _finite_everywhere(g_loss):
            optimizers["g"].zero_grad(set_to_none=True)
            g_loss.backward()
            optimizers["g"].step()

        out = {k: float(v.detach()) for k, v in parts.items()}
        out.update(g_loss=float(g_loss.detach()), d_loss=float(d_loss.detach()), d_acc=float(d_acc))
        self.collapse.record(out["d_acc"], out["g_adv"])
        l1 = out["l1"] if torch.isfinite(g_loss) and torch.isfinite(d_loss) else float("nan")
        out.update(loss=l1, pretrain=0.0)
        return out

    def _pretrain_step(self, model, batch, target, g_opt, autocast) -> dict[str, float]:
        with autocast:
            pred = model.generate(batch.L)
        l1 = (pred.float() - target).abs().mean()
        if torch.isfinite(l1):
            g_opt.zero_grad(set_to_none=True)
            l1.backward()
            g_opt.step()
        value = float(l1.detach())
        return {"loss": value, "l1": value, "g_loss": value, "pretrain": 1.0}

    def val_losses(self, model: AdversarialModel, batch: TrainBatch) -> dict[str, float]:
        with torch.no_grad():
            pred = model.generate(batch.L).float()
            l1 = float((pred - target_units(batch, self.target)).abs().mean())
        return {"loss": l1, "l1": l1}
