"""`transfer`: global colour transfer by luminance statistics (Welsh, Ashikhmin & Mueller 2002),
the classical method seed 000 cites as [4]. Not learned (no objective).

Algorithm (vectorised in torch, deterministic):
 1. prepare(train_ds): a pool of `pool_size` reference images taken at evenly spaced indices of
    the training split (dataset order, which the manifest fixes). From each, `samples` pixels
    are taken on a jittered grid (one uniform random pixel per cell of a ~sqrt(samples)^2 grid,
    generator seeded with `seed`), storing (L, neighbourhood std of L, a, b) per sample plus
    the reference's mean and std of L. All of it lives in buffers, so state_dict carries it.
 2. colorize(L), per target image: choose the pool reference whose (mean L, std L) is nearest
    to the target's (Welsh et al. let the user choose a similar image; this is the automatic
    stand-in). Luminance remapping: L_ref' = (L_ref - mu_ref) * sd_t / sd_ref + mu_t (the std
    feature scales by sd_t / sd_ref too).
 3. Each target pixel takes the ab of the sample minimising
    0.5 * (L - L_ref')^2 + 0.5 * (std - std_ref')^2  (Welsh's 50/50 weighting), with std the
    standard deviation of L over a `window` x `window` neighbourhood.
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from colorbench.color import rgb_to_lab
from colorbench.contracts import Baseline, BaselineInfo

PAPER = "Welsh et al. 2002 (cited as [4] in seed 000_1271ff9aeea447fa)"


def local_std(L: torch.Tensor, window: int) -> torch.Tensor:
    """(N, 1, H, W) -> std of L over a window x window neighbourhood (replicate border)."""
    pad = window // 2
    x = F.pad(L, (pad, pad, pad, pad), mode="replicate")
    mean = F.avg_pool2d(x, window, stride=1)
    mean_sq = F.avg_pool2d(x * x, window, stride=1)
    return (mean_sq - mean * mean).clamp_min(0).sqrt()


class Transfer(Baseline):
    def __init__(self, *, pool_size: int, samples: int, window: int, seed: int):
        super().__init__()
        if window % 2 == 0:
            raise ValueError(f"window must be odd, got {window}")
        self.pool_size, self.samples, self.window, self.seed = pool_size, samples, window, seed
        self.register_buffer("ref_features", torch.zeros(pool_size, samples, 4))  # L, std, a, b
        self.register_buffer("ref_stats", torch.zeros(pool_size, 2))  # mean L, std L
        self.register_buffer("prepared", torch.zeros((), dtype=torch.bool))
        self.info = BaselineInfo(
            family="transfer", paper=PAPER, color_space="lab", loss="none", input_size=None, learned=False,
            notes=f"global transfer: pool {pool_size} train images (evenly spaced), {samples} jittered samples "
                  f"each, {window}x{window} std, nearest reference by (mean, std) of L, seed {seed}",
        )

    def prepare(self, train_ds) -> None:
        """Choose the reference pool from the training split and sample it (see module doc)."""
        n = len(train_ds)
        if n == 0:
            raise ValueError("transfer needs a non-empty training split")
        k = min(self.pool_size, n)
        idx = [round(i * (n - 1) / max(k - 1, 1)) for i in range(k)]
        gen = torch.Generator().manual_seed(self.seed)
        feats, stats = [], []
        for i in idx:
            lab = rgb_to_lab(train_ds[i][1].float().unsqueeze(0))
            feats.append(self._sample(lab, gen))
            L = lab[0, 0]
            stats.append(torch.stack((L.mean(), L.std(unbiased=False))))
        while len(feats) < self.pool_size:  # fewer training images than pool slots: repeat
            feats.append(feats[len(feats) % k])
            stats.append(stats[len(stats) % k])
        with torch.no_grad():
            self.ref_features.copy_(torch.stack(feats))
            self.ref_stats.copy_(torch.stack(stats))
            self.prepared.fill_(True)

    def _sample(self, lab: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
        """(1, 3, H, W) -> (samples, 4) on a jittered grid."""
        _, _, h, w = lab.shape
        g = max(1, math.ceil(math.sqrt(self.samples)))
        cells = torch.arange(g * g)[torch.randperm(g * g, generator=gen)[: self.samples]]
        cy, cx = cells // g, cells % g
        ys = ((cy + torch.rand(cy.shape, generator=gen)) * h / g).long().clamp(0, h - 1)
        xs = ((cx + torch.rand(cx.shape, generator=gen)) * w / g).long().clamp(0, w - 1)
        std = local_std(lab[:, :1], self.window)[0, 0]
        return torch.stack((lab[0, 0, ys, xs], std[ys, xs], lab[0, 1, ys, xs], lab[0, 2, ys, xs]), dim=1)

    def colorize(self, L: torch.Tensor, target_rgb: torch.Tensor | None = None) -> torch.Tensor:
        if not bool(self.prepared):
            raise RuntimeError("transfer needs prepare(train_ds) before colorize (the harness calls it)")
        L = L.float()
        std = local_std(L, self.window)
        out = []
        for i in range(L.shape[0]):
            out.append(self._one(L[i, 0], std[i, 0]))
        return torch.cat((L, torch.stack(out)), dim=1)

    def _one(self, L: torch.Tensor, std: torch.Tensor) -> torch.Tensor:
        mu, sd = L.mean(), L.std(unbiased=False)
        stats = self.ref_stats.to(L)
        ref = int(((stats - torch.stack((mu, sd))) ** 2).sum(dim=1).argmin())
        feats = self.ref_features[ref].to(L)
        scale = sd / stats[ref, 1].clamp_min(1e-6)
        ref_L = (feats[:, 0] - stats[ref, 0]) * scale + mu
        ref_std = feats[:, 1] * scale
        half = math.sqrt(0.5)  # 50/50 weighting as a scaled Euclidean distance
        query = torch.stack((L.flatten(), std.flatten()), dim=1) * half
        keys = torch.stack((ref_L, ref_std), dim=1) * half
        nearest = torch.cdist(query, keys).argmin(dim=1)
        return feats[nearest, 2:].T.reshape(2, *L.shape)


def transfer(*, pool_size: int = 16, samples: int = 200, window: int = 5, seed: int = 0) -> Transfer:
    return Transfer(pool_size=pool_size, samples=samples, window=window, seed=seed)
