"""FID and KID on pytorch-fid's Inception pool3 features.

Features: pytorch-fid's InceptionV3([3]) with its defaults (colorbench weights 'inception-fid'):
the [0, 1] RGB batches are resized inside the model to 299x299 (bilinear, align_corners=False)
and scaled to [-1, 1]. pytorch-fid's own CLI reads files with PIL and ToTensor, i.e. uint8/255
as float32, which is what our decoded PNGs are, so features equal pytorch-fid's for the same files.

Memory: FID keeps float64 sums and sums of outer products per set (2048 + 2048^2 values,
32 MiB per set), flat in N. KID needs the features themselves: it keeps all of them,
2 x N x 2048 x 4 bytes (float32; 8 MiB per 1000 images per set) and computes in float64.
With real_stats_key set, the real images' features are kept too (for the cache file).
"""
from __future__ import annotations

import hashlib
import io
import re
import warnings
import weakref
from pathlib import Path

import numpy as np
import torch

from colorbench import weights
from colorbench.files import atomic_write_bytes
from colorbench.paths import cache_dir

from ._common import StreamingMetric, check_pair
from .base import MetricContext, MetricSpec, MetricValue

DIM = 2048
FID_BIAS_N = 2048
KID_SUBSETS = 100
KID_SUBSET_SIZE = 1000
_CHUNK = 32  # images per Inception forward


# --- features -------------------------------------------------------------------------------

_MODELS: dict[tuple[str, str], torch.nn.Module] = {}
_MEMO: list[tuple] = []  # recent batches: (weakref, version counter, device, features)
_MEMO_SIZE = 4  # fid and kid each see pred then target of the same step


def _extractor(device: torch.device) -> torch.nn.Module:
    key = (weights.sha256("inception-fid"), str(device))
    if key not in _MODELS:
        _MODELS[key] = weights.load_fid_inception(device)
    return _MODELS[key]


def inception_features(images: torch.Tensor, device: torch.device) -> torch.Tensor:
    """(N, 2048) float32 CPU features; fid and kid fed the same unchanged tensor share one pass."""
    if images.ndim != 4 or images.shape[1] != 3 or not images.is_floating_point():
        raise ValueError(f"FID/KID want (N, 3, H, W) float RGB in [0, 1], got {tuple(images.shape)}")
    for ref, version, dev, feats in _MEMO:  # same object, not modified in place since
        if ref() is images and version == images._version and dev == str(device):
            return feats
    model = _extractor(device)
    feats = torch.cat([model(chunk.to(device, torch.float32)).cpu()
                       for chunk in images.split(_CHUNK)]) if len(images) else torch.zeros(0, DIM)
    _MEMO.append((weakref.ref(images), images._version, str(device), feats))
    del _MEMO[:-_MEMO_SIZE]
    return feats


# --- Frechet distance -----------------------------------------------------------------------

def frechet_distance(mu1: np.ndarray, sigma1: np.ndarray, mu2: np.ndarray, sigma2: np.ndarray,
                     rank_bound: int | None = None) -> float:
    """pytorch-fid's calculate_frechet_distance, on an exactly equivalent smaller problem if possible.

    If both covariances have rank <= rank_bound (n1 - 1 + n2 - 1 from the counts) well below
    2048, the Gaussians are projected onto an orthonormal basis Q containing range(S1 + S2)
    and mu1 - mu2. FID is invariant under that projection (the dropped directions carry zero
    variance and zero mean difference in both sets), and the 2048^2 sqrtm, minutes on a small
    CPU, becomes a (rank_bound)^2 one. tests/test_metric_fid.py checks the equality.
    """
    from pytorch_fid.fid_score import calculate_frechet_distance

    if rank_bound is not None and rank_bound + 16 < len(mu1) // 2:
        gen = np.random.default_rng(0)
        probe = (sigma1 + sigma2) @ gen.standard_normal((len(mu1), rank_bound + 8))
        basis, _ = np.linalg.qr(np.concatenate([probe, (mu1 - mu2)[:, None]], axis=1))
        mu1, mu2 = basis.T @ mu1, basis.T @ mu2
        sigma1, sigma2 = basis.T @ sigma1 @ basis, basis.T @ sigma2 @ basis
    with warnings.catch_warnings():  # scipy >= 1.16 deprecates the `disp` argument pytorch-fid uses
        warnings.simplefilter("ignore", DeprecationWarning)
        return float(calculate_frechet_distance(mu1, sigma1, mu2, sigma2))


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


# --- real-image statistics cache ------------------------------------------------------------

def stats_cache_path(real_stats_key: str, weights_sha256: str) -> Path:
    slug = re.sub(r"[^A-Za-z0-9._-]+", "_", real_stats_key)[:80]
    digest = hashlib.sha256(f"{real_stats_key}\n{weights_sha256}\n{DIM}".encode()).hexdigest()[:24]
    return cache_dir("fid-stats") / f"{slug}--w{weights_sha256[:12]}-d{DIM}-{digest}.pt"


def _load_stats(path: Path, key: str, weights_sha256: str) -> dict | None:
    """The cached real statistics, or None (and the bad files removed) if absent or corrupted."""
    sidecar = path.with_suffix(".sha256")
    if not path.exists():
        return None
    try:
        payload = path.read_bytes()
        if hashlib.sha256(payload).hexdigest() != sidecar.read_text().strip():
            raise ValueError("SHA-256 mismatch")
        stats = torch.load(io.BytesIO(payload), map_location="cpu", weights_only=True)
        n = int(stats["n"])
        ok = (stats["key"] == key and stats["weights_sha256"] == weights_sha256
              and stats["mu"].shape == (DIM,) and stats["sigma"].shape == (DIM, DIM)
              and stats["features"].shape == (n, DIM) and n >= 2)
        if not ok:
            raise ValueError("contents do not match the key, weights or shapes")
        return stats
    except Exception as exc:  # any unreadable or inconsistent file is rebuilt, never used
        warnings.warn(f"ignoring and rebuilding corrupted FID statistics cache {path}: {exc}")
        path.unlink(missing_ok=True)
        sidecar.unlink(missing_ok=True)
        return None


def _save_stats(path: Path, stats: dict) -> None:
    buf = io.BytesIO()
    torch.save(stats, buf)
    payload = buf.getvalue()
    atomic_write_bytes(path, lambda fh: fh.write(payload))
    digest = hashlib.sha256(payload).hexdigest() + "\n"
    atomic_write_bytes(path.with_suffix(".sha256"), lambda fh: fh.write(digest.encode()))


# --- accumulators ---------------------------------------------------------------------------

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
        self.cached = _load_stats(self.cache_path, self.key, self.weights_sha256) if self.key else None
        for side in ("fake", "real"):
            self.add_state(f"{side}_sum", torch.zeros(DIM, dtype=torch.float64), dist_reduce_fx="sum")
            self.add_state(f"{side}_outer", torch.zeros(DIM, DIM, dtype=torch.float64), dist_reduce_fx="sum")
            self.add_state(f"{side}_n", torch.zeros((), dtype=torch.long), dist_reduce_fx="sum")
            self.add_state(f"{side}_features", [], dist_reduce_fx="cat")
        self.add_state("targets_seen", torch.zeros((), dtype=torch.long), dist_reduce_fx="sum")

    def _add(self, side: str, feats: torch.Tensor) -> None:
        f64 = feats.to(torch.float64)
        setattr(self, f"{side}_sum", getattr(self, f"{side}_sum") + f64.sum(0))
        setattr(self, f"{side}_outer", getattr(self, f"{side}_outer") + f64.T @ f64)
        setattr(self, f"{side}_n", getattr(self, f"{side}_n") + len(feats))

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
        """Mean and unbiased covariance (np.cov's, as pytorch-fid) from float64 sums."""
        mu = total / n
        sigma = (outer - n * torch.outer(mu, mu)) / (n - 1)
        return mu.numpy(), sigma.numpy()

    def stats(self) -> dict:
        """Both sets' (mu, sigma, n) and features (real from the cache on a hit)."""
        n_fake = int(self.fake_n)
        if n_fake < 2:
            raise ValueError(f"FID/KID need at least 2 generated images, got {n_fake}")
        fake_mu, fake_sigma = self._moments(self.fake_sum, self.fake_outer, n_fake)
        seen = int(self.targets_seen)
        if self.cached is not None:
            if seen != int(self.cached["n"]):
                raise ValueError(
                    f"{seen} real images were given but the cached statistics {self.cache_path} "
                    f"hold {int(self.cached['n'])} for the same real_stats_key; the key does not "
                    f"identify the real set: fix the key or delete the file")
            real_mu, real_sigma = self.cached["mu"].numpy(), self.cached["sigma"].numpy()
            real_features, n_real = self.cached["features"], int(self.cached["n"])
        else:
            n_real = int(self.real_n)
            if n_real < 2:
                raise ValueError(f"FID/KID need at least 2 real images, got {n_real}")
            real_mu, real_sigma = self._moments(self.real_sum, self.real_outer, n_real)
            real_features = self._cat(self.real_features)
            if self.key:
                _save_stats(self.cache_path, {
                    "key": self.key, "weights_sha256": self.weights_sha256, "n": n_real,
                    "mu": torch.from_numpy(real_mu), "sigma": torch.from_numpy(real_sigma),
                    "features": real_features.to(torch.float32)})
                self.cached = _load_stats(self.cache_path, self.key, self.weights_sha256)
        return {"fake_mu": fake_mu, "fake_sigma": fake_sigma, "n_fake": n_fake,
                "real_mu": real_mu, "real_sigma": real_sigma, "n_real": n_real,
                "real_features": real_features, "fake_features": self._cat(self.fake_features)}

    def _extra(self, s: dict) -> dict:
        return {"weights_sha256": self.weights_sha256, "n_fake": s["n_fake"], "n_real": s["n_real"],
                "real_stats_cache": str(self.cache_path) if self.cache_path else None}


class FIDMetric(_InceptionSets):
    def __init__(self, context: MetricContext):
        super().__init__(context, keep_fake_features=False)

    def compute(self) -> MetricValue:
        s = self.stats()
        value = frechet_distance(s["fake_mu"], s["fake_sigma"], s["real_mu"], s["real_sigma"],
                                 rank_bound=s["n_fake"] - 1 + s["n_real"] - 1)
        extra = self._extra(s)
        n = min(s["n_fake"], s["n_real"])
        extra["warnings"] = []
        if n < FID_BIAS_N:
            msg = (f"FID with {n} images per set (< {FID_BIAS_N}) is strongly biased upwards "
                   f"and not comparable with FIDs at other N")
            warnings.warn(msg)
            extra["warnings"].append(msg)
        return MetricValue(value=value, per_image=None, extra=extra)


class KIDMetric(_InceptionSets):
    def __init__(self, context: MetricContext):
        super().__init__(context, keep_fake_features=True)

    def compute(self) -> MetricValue:
        s = self.stats()
        mean, std, size = kid(s["real_features"], s["fake_features"], seed=self.seed)
        extra = self._extra(s)
        extra.update(kid_mean=mean, kid_std=std, subset_size=size, subsets=KID_SUBSETS, seed=self.seed)
        return MetricValue(value=mean, per_image=None, extra=extra)


_FEATURES = ("pool3 features (2048-d) of pytorch-fid's FID Inception-v3 (TF 2015 weights, colorbench "
             "'inception-fid', SHA-256 in extra['weights_sha256']) on the sRGB images as decoded "
             "(value/255), bilinearly resized to 299x299 and scaled to [-1, 1] inside the model; "
             "'real' = targets, 'generated' = predictions; the whole set, no per-image value.")

SPECS: tuple[MetricSpec, ...] = (
    MetricSpec(
        name="fid", higher_is_better=False, unit="FID",
        definition=("Frechet Inception Distance: " + _FEATURES + " Gaussian fit per set from float64 "
                    "streaming sums (mean, unbiased covariance), distance by pytorch-fid's "
                    "calculate_frechet_distance (on an exactly equivalent projection when N is "
                    "small). Strongly biased upwards for N < 2048 (warned). Lower is better."),
        per_image=False, build=FIDMetric, weights=("inception-fid",)),
    MetricSpec(
        name="kid", higher_is_better=False, unit="KID (MMD^2)",
        definition=("Kernel Inception Distance: " + _FEATURES + " Unbiased MMD^2 with the cubic "
                    "polynomial kernel (x.y/2048 + 1)^3, averaged over 100 random subsets of "
                    "min(1000, N) images per set drawn without replacement (seeded by the run "
                    "seed); extra holds kid_mean and kid_std (unbiased std over subsets), as "
                    "torchmetrics/clean-fid. Lower is better."),
        per_image=False, build=KIDMetric, weights=("inception-fid",)),
)
