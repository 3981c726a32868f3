"""DDColor's training objective (seed 002): the adversarial objective plus a VGG16 perceptual
loss and a colourfulness loss. The model supplies the frozen VGG16 features
(`model.perceptual_features()`), so training code never imports a baseline.
"""
from __future__ import annotations

from dataclasses import replace

import torch
import torch.nn.functional as F
from torch import nn

from colorbench.color import lab_to_rgb
from colorbench.contracts import TrainSettings
from colorbench.training.adversarial import (
    AB_SCALE,
    AdversarialObjective,
    generator_loss,
)

VGG_LAYER_WEIGHTS = {0: 1 / 16, 5: 1 / 8, 10: 1 / 4, 17: 1 / 2, 24: 1.0}  # conv1_1 .. conv5_1 outputs
_IMAGENET_MEAN = (0.485, 0.456, 0.406)
_IMAGENET_STD = (0.229, 0.224, 0.225)


class VGGPerceptual(nn.Module):
    """Weighted L1 between VGG16 conv features (pre-ReLU, as BasicSR's PerceptualLoss)."""

    def __init__(self, features: nn.Sequential):
        super().__init__()
        self.features = features[: max(VGG_LAYER_WEIGHTS) + 1].eval().requires_grad_(False)
        self.register_buffer("mean", torch.tensor(_IMAGENET_MEAN).view(1, 3, 1, 1))
        self.register_buffer("std", torch.tensor(_IMAGENET_STD).view(1, 3, 1, 1))

    def train(self, mode: bool = True) -> "VGGPerceptual":
        return super().train(False)  # frozen feature extractor, always eval

    def _feats(self, rgb: torch.Tensor) -> list[torch.Tensor]:
        x, out = (rgb - self.mean) / self.std, []
        for i, layer in enumerate(self.features):
            x = layer(x)
            if i in VGG_LAYER_WEIGHTS:
                out.append(x)
        return out

    def forward(self, pred_rgb: torch.Tensor, target_rgb: torch.Tensor) -> torch.Tensor:
        with torch.no_grad():
            target = self._feats(target_rgb)
        pred = self._feats(pred_rgb)
        return sum(w * F.l1_loss(p, t) for w, p, t in zip(VGG_LAYER_WEIGHTS.values(), pred, target))


def colourfulness(rgb: torch.Tensor, eps: float = 1e-8) -> torch.Tensor:
    """Hasler & Suesstrunk colourfulness per image, RGB in [0, 1] -> (N,)."""
    r, g, b = rgb[:, 0].flatten(1), rgb[:, 1].flatten(1), rgb[:, 2].flatten(1)
    rg, yb = (r - g).abs(), (0.5 * (r + g) - b).abs()
    std_root = (rg.var(dim=1, unbiased=False) + yb.var(dim=1, unbiased=False) + eps).sqrt()
    mean_root = (rg.mean(dim=1) ** 2 + yb.mean(dim=1) ** 2 + eps).sqrt()
    return std_root + 0.3 * mean_root


class DDColorObjective(AdversarialObjective):
    """AdversarialObjective with DDColor's generator loss; D step and bookkeeping are shared."""

    def __init__(self, *, lambda_pix: float = 0.1, lambda_perceptual: float = 5.0, lambda_adv: float = 1.0,
                 lambda_colorfulness: float = 0.5):
        super().__init__(lambda_l1=lambda_pix * AB_SCALE, lambda_adv=lambda_adv, target="ab",
                         pretrain_epochs=0, name="ddcolor")  # lambda_pix * L1(CIE) = lambda_pix*110 * L1(units)
        self.lambda_perceptual, self.lambda_colorfulness = lambda_perceptual, lambda_colorfulness
        self.perceptual: VGGPerceptual | None = None

    def optimizers(self, model, settings: TrainSettings):
        # Loaded here, not at create: inference needs no VGG, and a missing weight file
        # (MissingWeightsError naming the fetch command) fails before the first step.
        features, provenance = model.perceptual_features()
        self.perceptual = VGGPerceptual(features)
        record = f"perceptual VGG16 weights: {provenance}"
        if record not in model.info.notes:
            model.info = replace(model.info, notes=f"{model.info.notes}; {record}")
        return super().optimizers(model, settings)

    def generator_objective(self, model, batch, pred, target, fake_logits):
        base, parts = generator_loss(fake_logits=fake_logits, pred=pred, target=target,
                                     lambda_l1=self.lambda_l1, lambda_adv=self.lambda_adv)
        self.perceptual = self.perceptual.to(pred.device)
        rgb = lab_to_rgb(torch.cat((batch.L, pred * AB_SCALE), dim=1))
        perceptual = self.perceptual(rgb, batch.rgb)
        colour = (1.0 - colourfulness(rgb)).mean()
        total = base + self.lambda_perceptual * perceptual + self.lambda_colorfulness * colour
        parts.update(perceptual=perceptual, colorfulness=colour)
        return total, parts
