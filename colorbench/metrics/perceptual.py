"""LPIPS (v0.1) with the AlexNet and VGG16 backbones."""
from __future__ import annotations

import torch

from colorbench import weights
from colorbench.hashing import sha256_file
from colorbench.weights.models import LPIPS_BACKBONE, lpips_heads_path

from .accumulate import StreamingMetric, output
from .base import MetricContext, MetricSpec
from .memo import check_pair

# Pairs per forward: on a 2-core CPU (AlexNet, 256 px, channels_last) 4 pairs cost 12.2 ms each
# and 81 MB of activations, 16 pairs 10.5 ms and 266 MB; memory stays flat at a small cost.
_CHUNK = 4


class LPIPSMetric(StreamingMetric):
    """Per-image LPIPS distances in update order; value = their mean."""

    higher_is_better = False
    is_differentiable = False

    def __init__(self, net: str, context: MetricContext):
        super().__init__()
        self.net_name = net
        self.weights_sha256 = weights.sha256(LPIPS_BACKBONE[net])
        self.heads_sha256 = sha256_file(lpips_heads_path(net))
        # kept out of the Module tree so metric.state_dict() holds only the accumulated values;
        # channels_last: a third less time on the CPU, distances equal to 1e-7 (oneDNN's kernels)
        model = weights.load_lpips(net, context.device).to(memory_format=torch.channels_last)
        object.__setattr__(self, "_model", model)
        self._list_state("values")

    def update(self, pred: torch.Tensor, target: torch.Tensor) -> None:
        pred, target = check_pair(pred, target)  # shape, dtype and [0, 1] range checks
        model = self._model
        device = next(model.parameters()).device

        def scaled(x: torch.Tensor) -> torch.Tensor:
            return (2 * x.to(device, torch.float32) - 1).contiguous(memory_format=torch.channels_last)

        with torch.no_grad():  # LPIPS has no cross-sample terms: chunks change nothing
            dist = torch.cat([model(scaled(t), scaled(p)).flatten()
                              for t, p in zip(target.split(_CHUNK), pred.split(_CHUNK))])
        self._append("values", dist)

    def compute(self) -> dict:
        values = self._cat("values").cpu()
        if values.numel() == 0:
            raise ValueError("LPIPS: no images were given")
        return output(values.mean().item(), values, weights_sha256=self.weights_sha256,
                      lpips_heads_sha256=self.heads_sha256)


_DEF = ("LPIPS v0.1 (Zhang et al. 2018) with the {trunk} backbone (colorbench weights "
        "'{weights}', SHA-256 in extra['weights_sha256']) and the lpips package's v0.1 linear "
        "heads: sRGB prediction and target as decoded (value/255, [0, 1]) are scaled to [-1, 1] "
        "and compared at evaluation resolution, no resize. Per image: the lpips spatially "
        "averaged distance (0 for identical images); the value is the mean over images. Lower "
        "is better.")

SPECS: tuple[MetricSpec, ...] = (
    MetricSpec(group="perceptual", name="lpips", higher_is_better=False, unit="LPIPS distance",
               definition=_DEF.format(trunk="AlexNet", weights="alexnet-features"),
               per_image=True, build=lambda ctx: LPIPSMetric("alex", ctx),
               weights=("alexnet-features",)),
    MetricSpec(group="perceptual", name="lpips_vgg", higher_is_better=False, unit="LPIPS distance",
               definition=_DEF.format(trunk="VGG16", weights="vgg16-features"),
               per_image=True, build=lambda ctx: LPIPSMetric("vgg", ctx),
               weights=("vgg16-features",)),
)
