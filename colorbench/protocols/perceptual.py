"""CT2's LPIPS: lpips.LPIPS(net='vgg') (v0.1, the lpips package's linear heads) on [-1, 1]
tensors, one distance per image, and the mean over images.

The VGG features of a prediction are computed once and compared with both the ground truth and
its Lab round trip (CT2 computes them twice, in two calls); the distance itself is lpips' own
steps (unit-normalised features, squared differences, linear heads, spatial mean, summed over
the five layers), run in place on the feature maps instead of on copies. VGG runs one image per
forward as CT2 does, but in channels_last (the layout oneDNN computes in without reordering: 33 MB
of working memory per forward instead of 82, a quarter less time), so each value equals
lpips.LPIPS.forward on the same pair to float32 rounding (up to 3e-8 in runs here), not bitwise.
CT2 then sums the float32 distances in a float32 running total in os.listdir order; colorbench
averages them in float64, so the means differ by that sum's rounding too (scripts/bench_protocols.py).
"""
from __future__ import annotations

import lpips
import torch

from colorbench import weights
from colorbench.metrics import networks
from colorbench.metrics.accumulate import StreamingMetric, output
from colorbench.metrics.base import MetricContext
from colorbench.metrics.memo import check_pair, memo
from colorbench.protocols.pixels import ct2_converted
from colorbench.weights.models import LPIPS_BACKBONE

_CHUNK = 1  # images per VGG forward, as CT2 runs them
_EPS = 1e-10  # lpips.normalize_tensor's


def _model(device: torch.device) -> lpips.LPIPS:
    def build() -> lpips.LPIPS:
        return weights.load_lpips("vgg", device).to(memory_format=torch.channels_last)

    return networks.cached("protocol-lpips-vgg", LPIPS_BACKBONE["vgg"], device, build)


def _normalized_features(model: lpips.LPIPS, images: torch.Tensor, device: torch.device) -> list[torch.Tensor]:
    """The five VGG16 feature maps lpips compares, each unit-normalised over channels as
    lpips.normalize_tensor does (the division done in place: the same values, no second copy),
    of value/255 RGB fed as (x - 0.5) / 0.5 (ToTensor, Normalize(0.5, 0.5)), as CT2 feeds them."""
    x = ((images.to(device, torch.float32) - 0.5) / 0.5).contiguous(memory_format=torch.channels_last)
    maps = list(model.net.forward(model.scaling_layer(x)))
    for f in maps:
        f.div_(torch.sqrt(torch.sum(f**2, dim=1, keepdim=True)) + _EPS)
    return maps


def lpips_distance(model: lpips.LPIPS, real: list[torch.Tensor], guess: list[torch.Tensor]) -> torch.Tensor:
    """(N,) lpips v0.1 distances of normalised feature maps, in lpips' order of operations
    ((real - guess)^2, linear head, spatial mean, summed over layers); `real` is overwritten."""
    total = 0
    for k in range(model.L):
        diff = real[k].sub_(guess[k]).square_()
        total = total + lpips.spatial_average(model.lins[k](diff), keepdim=True)
    return total.flatten()


def ct2_distances(pred: torch.Tensor, target: torch.Tensor, device: torch.device) -> torch.Tensor:
    """(N, 2) float64: LPIPS(ground truth, prediction) and LPIPS(round-tripped ground truth,
    prediction), _CHUNK images at a time (a 256 px image's feature maps take 32 MB: never a
    batch's worth at once); memoised per batch, so `lpips` and `lpips_convert` share the forwards."""
    def both(p: torch.Tensor) -> torch.Tensor:
        model, converted = _model(device), ct2_converted(target)
        columns: list[list[torch.Tensor]] = [[], []]
        with torch.no_grad():
            for rows in torch.arange(len(p)).split(_CHUNK):
                guess = _normalized_features(model, p[rows], device)
                for column, real in zip(columns, (target, converted)):
                    column.append(lpips_distance(model, _normalized_features(model, real[rows], device), guess).cpu())
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
