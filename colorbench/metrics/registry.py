"""The metric registry: every metric colorbench can compute, registered explicitly by module."""
from __future__ import annotations

from colorbench.metrics import ab_structure, bins, colorfulness, fid, perceptual, pixel
from colorbench.metrics.base import MetricSpec
from colorbench.registry import Registry

METRICS: Registry[MetricSpec] = Registry("metric")
for _spec in (*pixel.SPECS, *ab_structure.SPECS, *bins.SPECS, *colorfulness.SPECS, *perceptual.SPECS, *fid.SPECS):
    METRICS.register(_spec.name, _spec, _spec.definition)

# What `colorbench score` computes when --metrics is not given: fidelity, perception, realism,
# colour classes and colourfulness, one of each family.
DEFAULT_METRICS: list[str] = [
    "psnr", "ssim", "mse_ab", "r2", "acc313", "acc313_approx", "auc_ab", "auc_ab_rebal",
    "colorfulness", "delta_cf", "lpips", "fid",
]


def direction_word(spec: MetricSpec) -> str:
    """'higher', 'lower' or 'none' (informational)."""
    return {True: "higher", False: "lower", None: "none"}[spec.higher_is_better]
