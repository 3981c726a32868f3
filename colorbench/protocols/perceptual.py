"""CT2's LPIPS: lpips.LPIPS(net='vgg') (v0.1, the lpips package's linear heads) on [-1, 1]
tensors, one distance per image, and the mean over images.

The VGG features of a prediction are computed once and compared with both the ground truth and
its Lab round trip (CT2 computes them twice, in two calls); the distance itself is lpips' own
steps (unit-normalised features, squared differences, linear heads, spatial mean, summed over
the five layers), so each value equals lpips.LPIPS.forward on the same pair. CT2 then sums the
float32 distances in a float32 running total in os.listdir order; colorbench averages them in
float64, so the means differ by that sum's rounding (2.5e-8 on 24 pairs, scripts/bench_protocols.py).
"""
from __future__ import annotations

import lpips
import torch

from colorbench import weights
from colorbench.metrics.accumulate import StreamingMetric, output
from colorbench.metrics.base import MetricContext
from colorbench.metrics.memo import check_pair, memo
from colorbench.protocols.pixels import ct2_converted
from colorbench.weights.models import LPIPS_BACKBONE

_MODELS: dict[tuple[str, str], lpips.LPIPS] = {}
# Images per VGG forward: one, as CT2 runs them. The distances equal lpips.LPIPS.forward's to
# float32 rounding (0 to 3e-8 per image in runs here; the kernels' bits are not promised).
_CHUNK = 1


def _model(device: torch.device) -> lpips.LPIPS:
    key = (weights.sha256(LPIPS_BACKBONE["vgg"]), str(device))
    if key not in _MODELS:
        _MODELS.clear()
        _MODELS[key] = weights.load_lpips("vgg", device)
    return _MODELS[key]


def _features(model: lpips.LPIPS, images: torch.Tensor, device: torch.device) -> list[torch.Tensor]:
    """The five VGG16 feature maps lpips compares, of value/255 RGB fed as (x - 0.5) / 0.5
    (ToTensor, Normalize(0.5, 0.5)), as CT2 feeds them."""
    x = (images.to(device, torch.float32) - 0.5) / 0.5
    return list(model.net.forward(model.scaling_layer(x)))


def lpips_distance(model: lpips.LPIPS, feats0: list[torch.Tensor], feats1: list[torch.Tensor]) -> torch.Tensor:
    """(N,) lpips v0.1 distances from two sets of feature maps, in lpips' order of operations."""
    total = 0
    for k in range(model.L):
        diff = (lpips.normalize_tensor(feats0[k]) - lpips.normalize_tensor(feats1[k])) ** 2
        total = total + lpips.spatial_average(model.lins[k](diff), keepdim=True)
    return total.flatten()


def ct2_distances(pred: torch.Tensor, target: torch.Tensor, device: torch.device) -> torch.Tensor:
    """(N, 2) float64: LPIPS(ground truth, prediction) and LPIPS(round-tripped ground truth,
    prediction), _CHUNK images at a time (a 256 px image's feature maps take 31 MB: never a
    batch's worth at once); memoised per batch, so `lpips` and `lpips_convert` share the forwards."""
    def both(p: torch.Tensor) -> torch.Tensor:
        model, converted = _model(device), ct2_converted(target)
        columns: list[list[torch.Tensor]] = [[], []]
        with torch.no_grad():
            for rows in torch.arange(len(p)).split(_CHUNK):
                guess = _features(model, p[rows], device)
                for column, real in zip(columns, (target, converted)):
                    column.append(lpips_distance(model, _features(model, real[rows], device), guess).cpu())
        return torch.stack([torch.cat(c) for c in columns], 1).to(torch.float64)

    return memo(f"protocol-ct2-lpips:{device}", pred, both)


class CT2LPIPS(StreamingMetric):
    """Per-image LPIPS-VGG of (ground truth, prediction), or with the round-tripped ground truth
    (converted=True)."""

    higher_is_better = False
    is_differentiable = False

    def __init__(self, context: MetricContext, converted: bool):
        super().__init__()
        self.device_ = torch.device(context.device)
        self.column = 1 if converted else 0
        self.weights_sha256 = weights.sha256(LPIPS_BACKBONE["vgg"])
        _model(self.device_)  # load (and check) the weights before any image is read
        self._list_state("values")

    def update(self, pred: torch.Tensor, target: torch.Tensor) -> None:
        pred, target = check_pair(pred, target)
        self._append("values", ct2_distances(pred, target, self.device_)[:, self.column])

    def compute(self) -> dict:
        values = self._cat("values").cpu()
        if values.numel() == 0:
            raise ValueError("LPIPS: no images were given")
        return output(values.mean().item(), values, weights_sha256=self.weights_sha256, n_images=values.numel())
