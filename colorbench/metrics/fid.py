"""FID and KID on pytorch-fid's Inception pool3 features.

Features and the cache of the real images' statistics: features.py. This module holds the
distances and the accumulators.

Memory: FID keeps float64 sums and sums of outer products per set as double-doubles
(2 x (2048 + 2048^2) values, 64 MiB per set), flat in N, updated by row blocks (12 MiB of
temporaries); below 4096 images per set they exist only as temporaries at compute. KID needs
the features themselves: it keeps all of them, 2 x N x 2048 x 4 bytes (float32; 8 MiB per 1000
images per set) and computes in float64.
With real_stats_key set, the real images' features are kept too (for the cache file).
"""
from __future__ import annotations

import numpy as np
import scipy.linalg
import torch

from colorbench import distributed, weights

from .accumulate import StreamingMetric, output
from .base import MetricContext, MetricSpec
from .features import DIM, inception_features, load_stats, save_stats, stats_cache_path
from .memo import check_pair

FID_BIAS_N = 2048
_OUTER_ROWS = 256  # rows of the 2048 x 2048 sum of outer products updated at a time
# Batches of features held per set before they are folded into the sums: the sums (two
# 2048 x 2048 float64 double-doubles, 64 MiB a set) exist only once a set has this many images,
# or at compute, so a few hundred images never need them during the Inception forwards.
_FOLD_ROWS = 4096
KID_SUBSETS = 100
KID_SUBSET_SIZE = 1000


# --- Frechet distance -----------------------------------------------------------------------

def frechet_distance(mu1: np.ndarray, sigma1: np.ndarray, mu2: np.ndarray, sigma2: np.ndarray,
                     rank_bound: int | None = None) -> float:
    """|mu1 - mu2|^2 + tr(S1) + tr(S2) - 2 tr((S1 S2)^1/2): pytorch-fid's formula.

    tr((S1 S2)^1/2) is the sum of the square roots of S1 S2's eigenvalues (as torchmetrics
    computes it) rather than the trace of pytorch-fid's sqrtm: on 2048^2 covariances of 2000
    images, 2.1 s and +80 MB of peak RSS against 11.5 s and +251 MB, the same FID to 3e-16
    (scripts/bench_frechet.py; tests/test_metric_fid.py checks both against pytorch-fid).

    If both covariances have rank <= rank_bound (n1 - 1 + n2 - 1 from the counts) well below
    2048, the Gaussians are first projected onto an orthonormal basis Q containing range(S1 + S2)
    and mu1 - mu2. FID is invariant under that projection (the dropped directions carry zero
    variance and zero mean difference in both sets), and the 2048^2 eigenproblem becomes a
    (rank_bound)^2 one.
    """
    if rank_bound is not None and rank_bound + 16 < len(mu1) // 2:
        draws = np.random.default_rng(0).standard_normal((len(mu1), rank_bound + 8))
        probe = sigma1 @ draws + sigma2 @ draws  # (S1 + S2) draws, without a third 2048^2 matrix
        basis, _ = np.linalg.qr(np.concatenate([probe, (mu1 - mu2)[:, None]], axis=1))
        mu1, mu2 = basis.T @ mu1, basis.T @ mu2
        sigma1, sigma2 = basis.T @ sigma1 @ basis, basis.T @ sigma2 @ basis
    # Real and >= 0 in exact arithmetic (S1 S2 is similar to S1^1/2 S2 S1^1/2); rounding leaves
    # tiny negative or complex ones on singular covariances, whose roots' real parts are ~0.
    eigenvalues = product_eigenvalues(sigma1, sigma2)
    diff = mu1 - mu2
    return float(diff @ diff + np.trace(sigma1) + np.trace(sigma2) - 2 * np.sqrt(eigenvalues).real.sum())


def product_eigenvalues(sigma1: np.ndarray, sigma2: np.ndarray) -> np.ndarray:
    """The eigenvalues of S1 S2 (complex128) for symmetric S1, S2. The product is made as
    (S2 S1)^T, which is S1 S2 in Fortran order, so LAPACK works on it in place: it is the only
    2048^2 matrix made (+33 MB; a C-ordered product is copied before LAPACK sees it)."""
    product = (sigma2 @ sigma1).T
    return scipy.linalg.eigvals(product, overwrite_a=True).astype(np.complex128)


# --- KID ------------------------------------------------------------------------------------

def _poly_kernel(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    return (x @ y.T / x.shape[1] + 1.0) ** 3


def kid_subset_indices(n_real: int, n_fake: int, size: int, subsets: int, seed: int):
    """The (real, fake) index draws, without replacement within a subset, seeded."""
    gen = torch.Generator().manual_seed(seed)
    for _ in range(subsets):
        yield torch.randperm(n_real, generator=gen)[:size], torch.randperm(n_fake, generator=gen)[:size]


def kid(real: torch.Tensor, fake: torch.Tensor, subsets: int = KID_SUBSETS,
        subset_size: int = KID_SUBSET_SIZE, seed: int = 0) -> tuple[float, float, int]:
    """Mean and std (unbiased, as torchmetrics) of the unbiased polynomial-kernel MMD^2
    (k(x, y) = (x.y / d + 1)^3) over subsets; returns (mean, std, subset size used)."""
    real, fake = real.to(torch.float64), fake.to(torch.float64)
    m = min(subset_size, len(real), len(fake))
    if m < 2:
        raise ValueError("KID needs at least 2 images in each set")
    values = []
    for ir, jf in kid_subset_indices(len(real), len(fake), m, subsets, seed):
        x, y = real[ir], fake[jf]
        k_xx, k_yy, k_xy = _poly_kernel(x, x), _poly_kernel(y, y), _poly_kernel(x, y)
        within = (k_xx.sum() - k_xx.diagonal().sum() + k_yy.sum() - k_yy.diagonal().sum()) / (m * (m - 1))
        values.append(within - 2 * k_xy.sum() / m**2)
    values = torch.stack(values)
    std = float(values.std()) if len(values) > 1 else 0.0
    return float(values.mean()), std, m


# --- accumulators ---------------------------------------------------------------------------

def _accumulate(hi: torch.Tensor, lo: torch.Tensor, b: torch.Tensor) -> None:
    """hi + lo += b as a double-double, in place (Knuth's TwoSum; b is overwritten).

    The sums of features and of their outer products are kept as double-doubles so that their
    rounded value does not depend on the order of the batches, and so neither on the number of
    ranks: the square root of the nearly singular covariances in FID turns 1e-16 differences
    into 1e-8. In place, with two temporaries, because the outer products are 32 MiB each."""
    s = hi + b
    bb = s - hi
    b.sub_(bb)  # b - bb, exact
    bb.neg_().add_(s)  # s - bb, exact
    hi.sub_(bb).add_(b)  # the rounding error of s
    lo.add_(hi)
    hi.copy_(s)


def _row_blocks() -> list[slice]:
    """The 2048 x 2048 matrices' rows, _OUTER_ROWS at a time: 4 MiB temporaries instead of 32."""
    return [slice(top, top + _OUTER_ROWS) for top in range(0, DIM, _OUTER_ROWS)]


def _fold_into(batches: list[torch.Tensor], name: str, hi: torch.Tensor, lo: torch.Tensor) -> None:
    """Each batch's sum of features (name "sum") or of their outer products ("outer") added to the
    double-double hi + lo, in order; the outer products by row blocks (3 x 4 MiB of temporaries)."""
    for feats in batches:
        f64 = feats.to(hi.device, torch.float64)
        if name == "sum":
            _accumulate(hi, lo, f64.sum(0))
            continue
        for rows in _row_blocks():
            _accumulate(hi[rows], lo[rows], f64[:, rows].T @ f64)


class _InceptionSets(StreamingMetric):
    """Streams features of generated (`pred`) and real (`target`) images."""

    higher_is_better = False
    is_differentiable = False

    def __init__(self, context: MetricContext, keep_fake_features: bool):
        super().__init__()
        self.device_ = torch.device(context.device)
        self.seed = context.seed
        self.weights_sha256 = weights.sha256("inception-fid")
        self.keep_fake = keep_fake_features
        self.key = context.real_stats_key
        self.cache_path = stats_cache_path(self.key, self.weights_sha256) if self.key else None
        self.cached = self._agreed(load_stats(self.cache_path, self.key, self.weights_sha256) if self.key else None)
        for side in ("fake", "real"):
            for part in ("hi", "lo"):  # one (1, ...) row per rank once allocated (_fold); a sync cats them
                self.add_state(f"{side}_sum_{part}", torch.zeros(0, DIM, dtype=torch.float64), dist_reduce_fx="cat")
                self.add_state(f"{side}_outer_{part}", torch.zeros(0, DIM, DIM, dtype=torch.float64),
                               dist_reduce_fx="cat")
            self.add_state(f"{side}_n", torch.zeros((), dtype=torch.long), dist_reduce_fx="sum")
            self.add_state(f"{side}_features", [], dist_reduce_fx="cat")
        self.add_state("targets_seen", torch.zeros((), dtype=torch.long), dist_reduce_fx="sum")
        self._unfolded: dict[str, list[torch.Tensor]] = {"fake": [], "real": []}  # batches not yet in the sums

    def _add(self, side: str, feats: torch.Tensor) -> None:
        self._unfolded[side].append(feats)
        setattr(self, f"{side}_n", getattr(self, f"{side}_n") + len(feats))
        if sum(len(f) for f in self._unfolded[side]) >= _FOLD_ROWS:
            self._fold(side)

    def _fold(self, side: str, allocate: bool = False) -> None:
        """The pending batches into the double-double sums, batch by batch in arrival order, so
        the sums are those of folding every batch as it came (the sums are allocated here)."""
        batches, self._unfolded[side] = self._unfolded[side], []
        if not batches and not allocate:
            return
        names = [f"{side}_{name}_{part}" for name in ("sum", "outer") for part in ("hi", "lo")]
        if getattr(self, names[0]).shape[0] == 0:
            for name in names:
                setattr(self, name, torch.zeros(1, *getattr(self, name).shape[1:], dtype=torch.float64,
                                                device=self.fake_n.device))  # the states' device (CUDA after .to())
        for name in ("sum", "outer"):
            _fold_into(batches, name, getattr(self, f"{side}_{name}_hi")[0], getattr(self, f"{side}_{name}_lo")[0])

    def sync(self, dist_sync_fn=None, process_group=None, should_sync: bool = True,
             distributed_available=None) -> None:
        """Before the ranks' states are gathered: every rank folds its own batches (so the sums are
        the same per batch whatever the rank count) and holds one row, even with no images. One
        process keeps its batches pending: _total folds them into temporaries. Whether a gather
        happens is torchmetrics' own test (the scoring engine's ranks, or a caller's DDP group
        for colorbench.metrics.create)."""
        available = distributed_available or self.distributed_available_fn
        if should_sync and callable(available) and available():
            for side in ("fake", "real"):
                self._fold(side, allocate=True)
        super().sync(dist_sync_fn, process_group, should_sync, distributed_available)

    def reset(self) -> None:
        super().reset()
        self._unfolded = {"fake": [], "real": []}

    def _agreed(self, cached: dict | None) -> dict | None:
        """Rank 0's cache hit or miss on every rank (a concurrent job may write the file between
        the ranks' looks; a rank that skipped the real images would leave them out of the sums)."""
        if not distributed.broadcast(cached is not None):
            return None
        if cached is None:
            cached = load_stats(self.cache_path, self.key, self.weights_sha256)
            if cached is None:
                raise RuntimeError(f"rank 0 found {self.cache_path} but this rank cannot read it")
        return cached

    def _no_rows(self, name: str) -> torch.Tensor:
        return torch.zeros(0, DIM, dtype=torch.float32)  # features stay on the CPU (features.py)

    def _total(self, side: str, name: str) -> torch.Tensor:
        """The sum over batches (and ranks, one row each after a sync), as a double-double."""
        hi, lo = (getattr(self, f"{side}_{name}_{p}") for p in ("hi", "lo"))
        if hi.shape[0] == 0:
            # Never folded (no gather, < _FOLD_ROWS images): the batches go into temporaries
            # and the states stay unallocated, 64 MiB less per set at compute; the same bits.
            hi, lo = (torch.zeros(hi.shape[1:], dtype=torch.float64, device=self.fake_n.device) for _ in "hl")
            _fold_into(self._unfolded[side], name, hi, lo)
            return hi.add_(lo)
        self._fold(side, allocate=True)
        dims = 1 if name == "sum" else 2  # a sync stacks the ranks' (1, ...) rows: (ranks, 1, ...)
        hi, lo = (getattr(self, f"{side}_{name}_{p}") for p in ("hi", "lo"))
        hi, lo = (t.reshape(-1, *t.shape[t.ndim - dims:]) for t in (hi, lo))
        if len(hi) == 1:  # one temporary, not the two of the general case
            return hi[0] + lo[0]
        total, err = hi[0].clone(), lo.sum(0)
        for row in hi[1:]:
            _accumulate(total, err, row.clone())
        return total.add_(err)

    def update(self, pred: torch.Tensor, target: torch.Tensor) -> None:
        check_pair(pred, target)  # shape, dtype and [0, 1] range checks
        fake = inception_features(pred, self.device_)
        self._add("fake", fake)
        if self.keep_fake:
            self.fake_features.append(fake)
        self.targets_seen += len(target)
        if self.cached is None:  # on a cache hit the real features are not recomputed
            real = inception_features(target, self.device_)
            self._add("real", real)
            if self.keep_fake or self.key:
                self.real_features.append(real)

    @staticmethod
    def _cat(state) -> torch.Tensor:
        if isinstance(state, torch.Tensor):
            return state
        return torch.cat(state) if state else torch.zeros(0, DIM)

    @staticmethod
    def _moments(total: torch.Tensor, outer: torch.Tensor, n: int) -> tuple[np.ndarray, np.ndarray]:
        """Mean and unbiased covariance (np.cov's, as pytorch-fid) from float64 sums; outer is
        overwritten (in place: (outer - n mu mu^T) / (n - 1), rounded step by step as written,
        by row blocks: no 32 MiB temporary)."""
        mu = total / n
        for rows in _row_blocks():
            outer[rows].sub_(torch.outer(mu[rows], mu).mul_(n))
        return mu.numpy(), outer.div_(n - 1).numpy()

    def stats(self) -> dict:
        """Both sets' (mu, sigma, n) and features (real from the cache on a hit)."""
        n_fake = int(self.fake_n)
        if n_fake < 2:
            raise ValueError(f"FID/KID need at least 2 generated images, got {n_fake}")
        fake_mu, fake_sigma = self._moments(self._total("fake", "sum"), self._total("fake", "outer"), n_fake)
        seen = int(self.targets_seen)
        if self.cached is not None:
            if seen != int(self.cached["n"]):
                raise ValueError(
                    f"{seen} real images were given but the cached statistics {self.cache_path} "
                    f"hold {int(self.cached['n'])} for the same real_stats_key; the key does not "
                    f"identify the real set: fix the key or delete the file")
            real_mu, real_sigma, real_features, n_real = self._real_from_cache()
        else:
            n_real = int(self.real_n)
            if n_real < 2:
                raise ValueError(f"FID/KID need at least 2 real images, got {n_real}")
            real_mu, real_sigma = self._moments(self._total("real", "sum"), self._total("real", "outer"), n_real)
            real_features = self._cat(self.real_features)
            if self.key and distributed.world().main:  # one writer under torchrun
                save_stats(self.cache_path, {
                    "key": self.key, "weights_sha256": self.weights_sha256, "n": n_real,
                    "mu": torch.from_numpy(real_mu), "sigma": torch.from_numpy(real_sigma),
                    "features": real_features.to(torch.float32)})
        return {"fake_mu": fake_mu, "fake_sigma": fake_sigma, "n_fake": n_fake,
                "real_mu": real_mu, "real_sigma": real_sigma, "n_real": n_real,
                "real_features": real_features, "fake_features": self._cat(self.fake_features)}

    def _real_from_cache(self) -> tuple[np.ndarray, np.ndarray, torch.Tensor, int]:
        c = self.cached
        return c["mu"].numpy(), c["sigma"].numpy(), c["features"], int(c["n"])

    def _extra(self, s: dict) -> dict:
        return {"weights_sha256": self.weights_sha256, "n_fake": s["n_fake"], "n_real": s["n_real"],
                "real_stats_cache": str(self.cache_path) if self.cache_path else None}


class FIDMetric(_InceptionSets):
    def __init__(self, context: MetricContext):
        super().__init__(context, keep_fake_features=False)

    def compute(self) -> dict:
        s = self.stats()
        value = frechet_distance(s["fake_mu"], s["fake_sigma"], s["real_mu"], s["real_sigma"],
                                 rank_bound=s["n_fake"] - 1 + s["n_real"] - 1)
        extra = self._extra(s)
        n = min(s["n_fake"], s["n_real"])
        extra["warnings"] = []
        if n < FID_BIAS_N:
            msg = (f"FID with {n} images per set (< {FID_BIAS_N}) is strongly biased upwards "
                   f"and not comparable with FIDs at other N")
            extra["warnings"].append(msg)
        return output(value, **extra)


class KIDMetric(_InceptionSets):
    def __init__(self, context: MetricContext):
        super().__init__(context, keep_fake_features=True)

    def compute(self) -> dict:
        s = self.stats()
        mean, std, size = kid(s["real_features"], s["fake_features"], seed=self.seed)
        extra = self._extra(s)
        extra.update(kid_mean=mean, kid_std=std, subset_size=size, subsets=KID_SUBSETS, seed=self.seed)
        return output(mean, **extra)


_FEATURES = ("pool3 features (2048-d) of pytorch-fid's FID Inception-v3 (TF 2015 weights, colorbench "
             "'inception-fid', SHA-256 in extra['weights_sha256']; batch norms folded into the "
             "convolutions, equal to float32 rounding) on the sRGB images as decoded "
             "(value/255), bilinearly resized to 299x299 and scaled to [-1, 1] inside the model; "
             "'real' = targets, 'generated' = predictions; the whole set, no per-image value.")

SPECS: tuple[MetricSpec, ...] = (
    MetricSpec(
        group="distribution", name="fid", higher_is_better=False, unit="FID",
        definition=("Frechet Inception Distance: " + _FEATURES + " Gaussian fit per set from float64 "
                    "streaming sums (mean, unbiased covariance), distance by pytorch-fid's "
                    "formula |mu1 - mu2|^2 + tr(S1 + S2 - 2 (S1 S2)^1/2), the trace of the root "
                    "as the sum of the roots of S1 S2's eigenvalues (on an exactly equivalent "
                    "projection when N is small). Strongly biased upwards for N < 2048 (warned). "
                    "Lower is better."),
        per_image=False, build=FIDMetric, weights=("inception-fid",)),
    MetricSpec(
        group="distribution", name="kid", higher_is_better=False, unit="KID (MMD^2)",
        definition=("Kernel Inception Distance: " + _FEATURES + " Unbiased MMD^2 with the cubic "
                    "polynomial kernel (x.y/2048 + 1)^3, averaged over 100 random subsets of "
                    "min(1000, N) images per set drawn without replacement (seeded by the run "
                    "seed); extra holds kid_mean and kid_std (unbiased std over subsets), as "
                    "torchmetrics/clean-fid. Lower is better."),
        per_image=False, build=KIDMetric, weights=("inception-fid",), options=("seed",)),
)
