"""Hasler & Süsstrunk (2003) colourfulness of outputs, and its gap to the ground truth (DDColor)."""
from __future__ import annotations

import math

import torch

from colorbench.metrics.accumulate import PerImageMean, StreamingMetric, output
from colorbench.metrics.base import MetricSpec
from colorbench.metrics.memo import check_pair, memo

_CF = (
    "Hasler & Süsstrunk colourfulness of an image on sRGB scaled to 0..255: rg = R - G, "
    "yb = (R + G)/2 - B, CF = sqrt(sd_rg² + sd_yb²) + 0.3*sqrt(mu_rg² + mu_yb²) with population "
    "standard deviations and means over all pixels. Computed on the saved 8-bit images at "
    "evaluation resolution, no resizing."
)


def colorfulness_per_image(rgb: torch.Tensor) -> torch.Tensor:
    """(N,) CF of float64 RGB in [0, 1] (memoised per batch: three metrics share it)."""
    return memo("cf", rgb, _colorfulness)


def _colorfulness(rgb: torch.Tensor) -> torch.Tensor:
    x = rgb * 255.0
    rg = (x[:, 0] - x[:, 1]).flatten(1)
    yb = (0.5 * (x[:, 0] + x[:, 1]) - x[:, 2]).flatten(1)
    mu_rg, mu_yb = rg.mean(1), yb.mean(1)
    # two-pass variance with row means: torch.var's kernel depends on the batch shape, this does
    # not, so an image's value is the same whatever it is batched with
    var = (rg - mu_rg[:, None]).square().mean(1) + (yb - mu_yb[:, None]).square().mean(1)
    return var.sqrt() + 0.3 * (mu_rg.square() + mu_yb.square()).sqrt()


class Colorfulness(PerImageMean):
    def __init__(self) -> None:
        super().__init__()
        self._sum_state("truth_sum")

    def score(self, pred, target):
        self.truth_sum += colorfulness_per_image(target).sum()
        return colorfulness_per_image(pred)

    def compute(self) -> dict:
        out = super().compute()
        n = out["per_image"].numel()
        out["extra"]["truth_mean"] = self.truth_sum.item() / n if n else math.nan
        return out


class DeltaCF(StreamingMetric):
    # Per-image CFs are kept and averaged once in compute(), so the value does not depend on how
    # images were batched (running sums would differ in the last bits between batch sizes).
    def __init__(self) -> None:
        super().__init__()
        self._list_state("pred_cf")
        self._list_state("truth_cf")

    def update(self, pred: torch.Tensor, target: torch.Tensor) -> None:
        pred, target = check_pair(pred, target)
        self._append("pred_cf", colorfulness_per_image(pred))
        self._append("truth_cf", colorfulness_per_image(target))

    def compute(self) -> dict:
        pred_cf, truth_cf = self._cat("pred_cf"), self._cat("truth_cf")
        if pred_cf.numel() == 0:
            return output(math.nan, n_images=0)
        pred, truth = pred_cf.mean().item(), truth_cf.mean().item()
        return output(abs(pred - truth), pred_mean=pred, truth_mean=truth)


def delta_cf_per_image(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    return (colorfulness_per_image(pred) - colorfulness_per_image(target)).abs()


class DeltaCFImage(PerImageMean):
    score = staticmethod(delta_cf_per_image)


SPECS: tuple[MetricSpec, ...] = (
    MetricSpec(
        group="colourfulness", name="colorfulness", higher_is_better=None, unit="CF (0..255 scale)", per_image=True,
        build=lambda ctx: Colorfulness(),
        definition="Mean colourfulness of the predictions over images (unweighted); extra['truth_mean'] "
        "is the same for the ground truth. Informational, no better direction: more colourful is "
        "not more correct (see delta_cf). " + _CF,
    ),
    MetricSpec(
        group="colourfulness", name="delta_cf", higher_is_better=False, unit="CF (0..255 scale)", per_image=False,
        build=lambda ctx: DeltaCF(),
        definition="|mean CF(predictions) - mean CF(ground truth)| over the evaluated set (DDColor's "
        "colourfulness gap): dataset-level, so over- and under-saturated images can cancel; see "
        "delta_cf_image. " + _CF,
    ),
    MetricSpec(
        group="colourfulness", name="delta_cf_image", higher_is_better=False, unit="CF (0..255 scale)", per_image=True,
        build=lambda ctx: DeltaCFImage(),
        definition="Per image |CF(prediction) - CF(ground truth)|, then the unweighted mean over "
        "images. " + _CF,
    ),
)
