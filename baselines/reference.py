"""Reference rows: `gray` (the floor) and `oracle` (the ceiling, a sanity check)."""
from __future__ import annotations

import torch

from colorbench.contracts import Baseline, BaselineInfo


class Gray(Baseline):
    info = BaselineInfo(
        family="gray", paper="reference floor", color_space="lab", loss="none",
        input_size=None, learned=False, notes="ab = 0: the grayscale input itself", role="floor",
    )

    def colorize(self, L, target_rgb=None):
        return torch.cat((L, torch.zeros_like(L).expand(-1, 2, -1, -1)), dim=1)


class Oracle(Baseline):
    info = BaselineInfo(
        family="oracle", paper="reference ceiling", color_space="rgb", loss="none",
        input_size=None, learned=False, notes="returns the ground truth: checks the pipeline", role="ceiling",
    )
    sees_ground_truth = True

    def colorize(self, L, target_rgb=None):
        if target_rgb is None:
            raise ValueError("oracle needs the ground truth")
        return target_rgb


def create_gray() -> Baseline:
    return Gray()


def create_oracle() -> Baseline:
    return Oracle()
