"""The default small-scale protocol computes the metric closest to people (issue 26, item 4):
msssim_ab has no value under MS_SSIM_MIN_SIDE pixels, so small scale must evaluate at least that
large, and the main benchmark must ask for it."""
from __future__ import annotations

from pathlib import Path

import torch
import yaml

from colorbench.config import SMALL_EVAL_SIZE, Scales
from colorbench.metrics.ab_structure import MS_SSIM_MIN_SIDE, msssim_ab_per_image

REPO = Path(__file__).resolve().parents[1]


def test_small_scale_default_evaluates_where_msssim_ab_has_a_value():
    assert Scales().small.eval_size == SMALL_EVAL_SIZE >= MS_SSIM_MIN_SIDE
    x = torch.rand(1, 3, SMALL_EVAL_SIZE, SMALL_EVAL_SIZE, dtype=torch.float64)
    assert torch.isfinite(msssim_ab_per_image(x, x.flip(-1))).all()


def test_main_benchmark_small_scale_computes_msssim_ab():
    config = yaml.safe_load((REPO / "benchmarks.yaml").read_text())
    assert config["scales"]["small"]["eval_size"] >= MS_SSIM_MIN_SIDE
    assert "msssim_ab" in config["evaluation"]["metrics"]
