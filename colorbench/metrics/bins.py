"""Colour-class metrics on Zhang et al.'s 313 ab bins, and the ab-error AuC of Zhang et al. 2016."""
from __future__ import annotations

import math

import torch

from colorbench.color import NUM_BINS, gamut_313
from colorbench.metrics.accumulate import PerImageMean, StreamingMetric, output
from colorbench.metrics.base import MetricSpec
from colorbench.metrics.memo import ab_bins, check_pair, lab64

AUC_MAX_THRESHOLD = 150  # integer thresholds t = 0, 1, ..., 150 (ab units)
_COMMON = (
    "Lab from sRGB as in colorbench.color (D65, skimage-compatible); computed on the saved 8-bit "
    "prediction against the ground truth at full evaluation resolution, no resizing."
)


# Per-image definitions: float64 (N, 3, H, W) RGB in [0, 1] -> (N,) float64 (see functional.py).


def acc313_per_image(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    return (ab_bins(pred) == ab_bins(target)).flatten(1).double().mean(1)


def acc313_approx_per_image(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    centres = gamut_313(pred.device)
    diff = (centres[ab_bins(pred)] - centres[ab_bins(target)]).abs()  # (N, H, W, 2)
    return (diff <= 10.0).all(dim=-1).flatten(1).double().mean(1)


def auc_pixel_scores(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """(N, H, W) per-pixel share of the thresholds t in 0..150 with ab L2 error <= t.

    The count of integers t in [0, 150] with t >= e is 151 - ceil(e), clipped at 0, so the AuC
    is exact without a histogram.
    """
    err = (lab64(pred)[:, 1:] - lab64(target)[:, 1:]).square().sum(1).sqrt()
    steps = AUC_MAX_THRESHOLD + 1
    return (steps - torch.ceil(err)).clamp(0, steps) / steps


def auc_ab_per_image(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    return auc_pixel_scores(pred, target).flatten(1).mean(1)


class Acc313(PerImageMean):
    score = staticmethod(acc313_per_image)


class Acc313Approx(PerImageMean):
    score = staticmethod(acc313_approx_per_image)


class AucAb(PerImageMean):
    score = staticmethod(auc_ab_per_image)


class AucAbRebal(StreamingMetric):
    # Weights 1/p(q) with p the ground-truth class frequencies of the evaluated set make every
    # occupied class count equally: sum_i s_i / p(q_i) / sum_i 1 / p(q_i) = mean over occupied
    # classes q of the mean pixel score of class q. So two (313,) sums stream it exactly; the
    # scores are k / 151 with integer k, so integer sums make it exact whatever the batching.
    def __init__(self) -> None:
        super().__init__()
        self.add_state("steps_sum", torch.zeros(NUM_BINS, dtype=torch.long), dist_reduce_fx="sum")
        self.add_state("count", torch.zeros(NUM_BINS, dtype=torch.long), dist_reduce_fx="sum")

    def update(self, pred: torch.Tensor, target: torch.Tensor) -> None:
        pred, target = check_pair(pred, target)
        q = ab_bins(target).flatten()
        steps = torch.round(auc_pixel_scores(pred, target).flatten() * (AUC_MAX_THRESHOLD + 1)).long()
        self.steps_sum += torch.zeros(NUM_BINS, dtype=torch.long, device=q.device).index_add_(0, q, steps)
        self.count += torch.bincount(q, minlength=NUM_BINS)

    def compute(self) -> dict:
        occupied = self.count > 0
        k = int(occupied.sum())
        per_class = self.steps_sum[occupied].double() / (AUC_MAX_THRESHOLD + 1) / self.count[occupied].double()
        value = per_class.mean().item() if k else math.nan
        return output(value, n_classes=k, n_pixels=int(self.count.sum()))


SPECS: tuple[MetricSpec, ...] = (
    MetricSpec(
        group="colour classes", name="acc313", higher_is_better=True, unit="fraction", per_image=True, build=lambda ctx: Acc313(),
        definition="Colour-class accuracy: the fraction of pixels whose predicted ab falls in the same "
        "of Zhang et al.'s 313 in-gamut ab bins (10x10 grid, bin = nearest centre in Euclidean ab "
        "distance, ties to the lowest bin index) as the ground-truth ab; per image over all pixels, "
        "then the unweighted mean over images. " + _COMMON,
    ),
    MetricSpec(
        group="colour classes", name="acc313_approx", higher_is_better=True, unit="fraction", per_image=True,
        build=lambda ctx: Acc313Approx(),
        definition="Approximate colour-class accuracy: like acc313, but a pixel also counts as correct "
        "when its predicted bin is one of the 8 grid neighbours of the ground-truth bin (bin centres "
        "differ by at most 10 in both a and b); per image, then the unweighted mean over images. "
        + _COMMON,
    ),
    MetricSpec(
        group="colour classes", name="auc_ab", higher_is_better=True, unit="fraction", per_image=True, build=lambda ctx: AucAb(),
        definition="Area under the cumulative ab-error curve (Zhang, Isola and Efros 2016): per pixel the "
        "Euclidean error e between predicted and ground-truth CIELAB ab (raw CIE units); for each "
        f"integer threshold t = 0..{AUC_MAX_THRESHOLD} the fraction of pixels with e <= t; AuC = the mean "
        f"of these {AUC_MAX_THRESHOLD + 1} fractions (1 = perfect, 0 = every error above "
        f"{AUC_MAX_THRESHOLD}). Per image, then the unweighted mean over images. " + _COMMON,
    ),
    MetricSpec(
        group="colour classes", name="auc_ab_rebal", higher_is_better=True, unit="fraction", per_image=False,
        build=lambda ctx: AucAbRebal(),
        definition="Class-rebalanced auc_ab (Zhang, Isola and Efros 2016): the same per-pixel threshold curve, "
        "pooled over all pixels of the dataset with each pixel weighted by 1/p(q), q its ground-truth "
        "313-bin and p the bin's pixel frequency in the ground truth of the evaluated set itself. "
        "Equivalently, the mean over the occupied ground-truth bins of the per-bin AuC, so rare "
        "colours count as much as common ones. Dataset-level only (no per-image values, no CI). "
        + _COMMON,
    ),
)
