"""FID as CT2 and DDColor compute it: torchvision's Inception v3 behind their INCEPTION_V3_FID
wrapper, np.cov, and scipy's sqrtm with its eps fallback.

The wrapper (segm/metrics.py in CT2, basicsr/metrics/custom_fid.py in DDColor; the same code)
resizes its input to 299x299 (bilinear, align_corners=False), maps it with x * 0.5 + 0.5, then
per channel x * (std / 0.5) + (mean - 0.5) / 0.5 with ImageNet's mean (0.485, 0.456, 0.406) and
std (0.229, 0.224, 0.225), and runs torchvision's inception_v3 blocks up to the final average
pool (2048-d). That affine map is torchvision's `transform_input` (for inputs normalised with
ImageNet statistics) applied to inputs that were not: it is part of both protocols' number.
CT2 feeds [-1, 1] tensors (ToTensor, Normalize(0.5, 0.5)); DDColor's validation feeds [0, 1].

Here the batch norms are folded into the convolutions and images go through one per forward, as
in the scripts, in channels_last: features equal to float32 rounding (~1e-6 relative), FID to
~1e-7 relative (tests/test_protocol_fid.py).
"""
from __future__ import annotations

import warnings
from collections.abc import Iterator, Sequence

import numpy as np
import scipy.linalg
import scipy.linalg.blas
import torch
import torch.nn.functional as F
from torch import nn

from colorbench import weights
from colorbench.metrics import networks
from colorbench.metrics.accumulate import StreamingMetric, output
from colorbench.metrics.base import MetricContext, MetricSpec
from colorbench.metrics.features import fold_batch_norms
from colorbench.metrics.fid import FID_BIAS_N, product_eigenvalues
from colorbench.metrics.memo import check_pair, memo

WEIGHTS = "inception-v3-google"
DIM = 2048
_CHUNK = 1  # images per forward: 4 cost 0.03 GB more at the peak for a fifth less time
_ROWS = 256  # feature rows per block of the covariance sum (4 MB of float64)
_MEAN = (0.485, 0.456, 0.406)
_STD = (0.229, 0.224, 0.225)
FEEDS = ("pm1", "unit")  # CT2: [-1, 1] (ToTensor + Normalize(0.5, 0.5)); DDColor: [0, 1]


def wrapper_input(rgb: torch.Tensor, feed: str) -> torch.Tensor:
    """What the protocol hands the wrapper: float32 (x - 0.5) / 0.5 ('pm1') or x ('unit')."""
    x = rgb.to(torch.float32)
    if feed == "pm1":
        return (x - 0.5) / 0.5
    if feed == "unit":
        return x
    raise ValueError(f"unknown Inception feed {feed!r} (want one of {FEEDS})")


def wrapper_transform(x: torch.Tensor) -> torch.Tensor:
    """The wrapper's resize and affine map, in its order (float32)."""
    x = F.interpolate(x, size=(299, 299), mode="bilinear", align_corners=False)
    x = x * 0.5 + 0.5
    scale = torch.tensor([s / 0.5 for s in _STD], dtype=x.dtype, device=x.device)[None, :, None, None]
    shift = torch.tensor([(m - 0.5) / 0.5 for m in _MEAN], dtype=x.dtype, device=x.device)[None, :, None, None]
    return x * scale + shift


def pool_blocks(model: nn.Module) -> nn.Sequential:
    """torchvision inception_v3's layers from the input to the final average pool (the wrapper's
    blocks 0-3: the same modules, max pools 3x3 stride 2, adaptive average pool to 1x1)."""
    names = ("Conv2d_1a_3x3", "Conv2d_2a_3x3", "Conv2d_2b_3x3", "maxpool1", "Conv2d_3b_1x1", "Conv2d_4a_3x3",
             "maxpool2", "Mixed_5b", "Mixed_5c", "Mixed_5d", "Mixed_6a", "Mixed_6b", "Mixed_6c", "Mixed_6d",
             "Mixed_6e", "Mixed_7a", "Mixed_7b", "Mixed_7c", "avgpool")
    return nn.Sequential(*(getattr(model, n) for n in names))


def _extractor(device: torch.device) -> nn.Module:
    def build() -> nn.Module:
        blocks = pool_blocks(fold_batch_norms(weights.load_torchvision_inception(device)))
        return blocks.to(memory_format=torch.channels_last)

    return networks.cached("protocol-inception", WEIGHTS, device, build)


def pool_features(rgb: torch.Tensor, feed: str, device: torch.device) -> torch.Tensor:
    """(N, 2048) float32 CPU features of value/255 RGB batches, memoised per batch and feed."""
    def forward(x: torch.Tensor) -> torch.Tensor:
        model = _extractor(device)
        out = []
        with torch.no_grad():
            for chunk in x.split(_CHUNK):
                net_in = wrapper_transform(wrapper_input(chunk.to(device), feed))
                out.append(model(net_in.contiguous(memory_format=torch.channels_last)).flatten(1).cpu())
        return torch.cat(out)

    return memo(f"protocol-inception:{feed}:{device}", rgb, forward)


def frechet_sqrtm(mu1: np.ndarray, sigma1: np.ndarray, mu2: np.ndarray, sigma2: np.ndarray,
                  eps: float = 1e-6, basis: np.ndarray | None = None) -> tuple[float, list[str], str]:
    """|mu1 - mu2|^2 + tr(S1) + tr(S2) - 2 tr(sqrtm(S1 S2)) as both scripts compute it with scipy's
    sqrtm: a non-finite root is recomputed with eps added to both diagonals; a root whose diagonal
    has imaginary parts above 1e-3 is an error (the scripts stop there too), smaller ones are
    dropped. Returns the distance, notes on what happened and how the root's trace was taken:

    - 'eigenvalues': every eigenvalue of S1 S2 is real and positive (above POSITIVE of the
      largest: both covariances full rank, as from more images than dimensions). Then sqrtm's root
      is finite and real, and its trace is the sum of the eigenvalues' square roots: that sum,
      from one in-place eigenvalue problem (+33 MB and ~2 s at 2048^2, against sqrtm's +174 MB and
      ~10 s), equal to sqrtm's trace to ~1e-12 relative (tests/test_protocol_fid.py).
    - 'sqrtm-subspace': `basis` (orthonormal columns spanning range(S1) + range(S2), `subspace`)
      for sets small beside the feature dimension. S1 S2 = Q (A B) Q^T with A = Q^T S1 Q,
      B = Q^T S2 Q, so sqrtm(S1 S2) = Q sqrtm(A B) Q^T: the same trace and diagonal from a k x k
      root (0.1 s instead of 13 s at 24 images). On such singular products the full root is the
      less accurate of the two: they differ by about 1e-7 relative (scripts/bench_protocols.py).
    - 'sqrtm': otherwise (and when the k x k root is not finite), the scripts' own computation."""
    eigenvalues = product_eigenvalues(sigma1, sigma2) if basis is None else None
    if eigenvalues is not None and _positive(eigenvalues):
        trace, notes, route = np.sqrt(eigenvalues.real).sum(), [], "eigenvalues"
    else:
        trace, notes, route = _sqrtm_trace(sigma1, sigma2, eps, basis)
    diff = mu1 - mu2
    return float(diff.dot(diff) + np.trace(sigma1) + np.trace(sigma2) - 2 * trace), notes, route


POSITIVE = 1e-10  # eigenvalue rounding here is ~1e-13 of the largest; below this, sqrtm decides


def _positive(eigenvalues: np.ndarray) -> bool:
    scale = np.abs(eigenvalues).max(initial=0.0)
    return bool(scale > 0 and eigenvalues.real.min() > POSITIVE * scale
                and np.abs(eigenvalues.imag).max() <= POSITIVE * scale)


def _sqrtm_trace(sigma1: np.ndarray, sigma2: np.ndarray, eps: float,
                 basis: np.ndarray | None) -> tuple[float, list[str], str]:
    """The trace of scipy's sqrtm of S1 S2 (in the basis' span when that root is finite), with the
    scripts' eps fallback and imaginary-part check; returns it, notes and the route taken."""
    notes = []
    with warnings.catch_warnings():  # scipy warns on the (rank-deficient) products of small sets
        warnings.simplefilter("ignore")
        root = None
        if basis is not None:
            root = scipy.linalg.sqrtm((basis.T @ sigma1 @ basis) @ (basis.T @ sigma2 @ basis))
            if not np.isfinite(root).all():
                root, basis = None, None
        if root is None:
            root = scipy.linalg.sqrtm(sigma1.dot(sigma2))
        if not np.isfinite(root).all():
            offset = np.eye(sigma1.shape[0]) * eps
            root = scipy.linalg.sqrtm((sigma1 + offset).dot(sigma2 + offset))
            notes.append(f"singular product: {eps:g} added to both covariances' diagonals, as the protocol does")
    if np.iscomplexobj(root):
        # the full root's diagonal; with a basis, diag(Q R Q^T) without forming the 2048^2 product
        imag = np.diagonal(root.imag) if basis is None else np.einsum("ij,jk,ik->i", basis, root.imag, basis)
        if not np.allclose(imag, 0, atol=1e-3):
            raise ValueError(f"imaginary component {np.max(np.abs(root.imag)):.3g} in sqrtm(S1 S2) "
                             "(the protocol's own script raises here too)")
        root = root.real
    return np.trace(root), notes, "sqrtm" if basis is None else "sqrtm-subspace"


RowBlocks = Sequence[torch.Tensor]  # one set's feature rows, in blocks (the accumulator's batches)


def subspace(*sets: RowBlocks) -> np.ndarray | None:
    """Orthonormal columns spanning every set's centred features, which hold the ranges of their
    covariances; None unless there are at most half as many of them as feature dimensions (nearer
    the dimension, the QR and the k x k root cost as much as the full root), decided before
    anything is copied."""
    if 2 * sum(_rows(blocks) for blocks in sets) > sets[0][0].shape[1]:
        return None
    centred = [_centred(np.concatenate([np.asarray(b, dtype=np.float64) for b in blocks])) for blocks in sets]
    return np.linalg.qr(np.concatenate(centred).T)[0]


def _rows(blocks: RowBlocks) -> int:
    return sum(len(b) for b in blocks)


def _centred(act: np.ndarray) -> np.ndarray:
    return act - act.mean(axis=0)


def frechet_of_features(real: RowBlocks, fake: RowBlocks) -> tuple[float, list[str], str]:
    """FID(real, generated) of two sets of 2048-d feature rows as the protocols compute it: np.mean
    and np.cov per set, then frechet_sqrtm, in the sets' span when they are small (`subspace`)."""
    (mu_f, sigma_f), (mu_r, sigma_r) = moments(*fake), moments(*real)
    return frechet_sqrtm(mu_r, sigma_r, mu_f, sigma_f, basis=subspace(real, fake))


def moments(*blocks: torch.Tensor) -> tuple[np.ndarray, np.ndarray]:
    """np.mean and np.cov (rows are images) of float32 feature rows given in blocks, in float64,
    _ROWS rows at a time: np.cov would hold two float64 copies of every row (164 MB at 5000
    images), and the blocks are never concatenated. Each block's C^T C is added into the
    covariance by BLAS itself (dgemm, beta 1, on the Fortran-ordered result): no 2048^2
    temporary (33 MB). The sums run in another order than np.cov's, equal to ~1e-15 relative
    (tests/test_protocol_fid.py)."""
    n = _rows(blocks)
    mu = sum(block.sum(0) for block in _wide_blocks(blocks)) / n
    sigma = np.zeros((blocks[0].shape[1], blocks[0].shape[1]), order="F")
    for block in _wide_blocks(blocks):
        centred = (block - mu).T  # Fortran-ordered (dims, rows): BLAS reads it without a copy
        sigma = scipy.linalg.blas.dgemm(1.0, centred, centred, beta=1.0, c=sigma, trans_b=True, overwrite_c=True)
    sigma /= n - 1
    return mu, sigma


def _wide_blocks(blocks: RowBlocks) -> Iterator[np.ndarray]:
    """The rows of `blocks` in order, as float64 arrays of _ROWS rows (the last may be shorter)."""
    pending, count = [], 0
    for block in blocks:
        for part in block.split(_ROWS):
            pending.append(part)
            count += len(part)
            if count >= _ROWS:
                rows = torch.cat(pending)
                yield rows[:_ROWS].to(torch.float64).numpy()
                pending, count = ([rows[_ROWS:]], count - _ROWS) if count > _ROWS else ([], 0)
    if count:
        yield torch.cat(pending).to(torch.float64).numpy()


class ProtocolFID(StreamingMetric):
    """Features of the predictions and of the real set (`real`: the targets, or a transform of
    them such as CT2's Lab round trip); FID(real, generated) at compute."""

    higher_is_better = False
    is_differentiable = False

    def __init__(self, context: MetricContext, feed: str, real=None):
        super().__init__()
        if feed not in FEEDS:
            raise ValueError(f"unknown Inception feed {feed!r} (want one of {FEEDS})")
        self.device_, self.feed = torch.device(context.device), feed
        self.real_of = real if real is not None else (lambda target: target)
        self.weights_sha256 = weights.sha256(WEIGHTS)
        _extractor(self.device_)  # load (and check) the network before any image is read
        for side in ("fake", "real"):
            self.add_state(side, [], dist_reduce_fx="cat")

    def _no_rows(self, name: str) -> torch.Tensor:
        return torch.zeros(0, DIM, dtype=torch.float32)

    def update(self, pred: torch.Tensor, target: torch.Tensor) -> None:
        pred, target = check_pair(pred, target, widen=False)  # the network reads float32
        self.fake.append(pool_features(pred, self.feed, self.device_))
        self.real.append(pool_features(self.real_of(target), self.feed, self.device_))

    def compute(self) -> dict:
        fake, real = self.blocks("fake"), self.blocks("real")
        n_fake, n_real = _rows(fake), _rows(real)
        if min(n_fake, n_real) < 2:
            raise ValueError(f"FID needs at least 2 images per set, got {n_fake}")
        value, notes, root = frechet_of_features(real, fake)
        warn = [f"FID with {n_fake} images per set (< {FID_BIAS_N}) is strongly biased upwards "
                f"and not comparable with FIDs at other N"] if n_fake < FID_BIAS_N else []
        return output(value, weights_sha256=self.weights_sha256, n_fake=n_fake, n_real=n_real, root=root,
                      warnings=warn + notes)

    def blocks(self, side: str) -> list[torch.Tensor]:
        """One side's (rows, 2048) float32 feature blocks ('fake': predictions, 'real'), in update
        order: the batches' own tensors, never concatenated (41 MB per set at 5000 images)."""
        state = getattr(self, side)
        if isinstance(state, torch.Tensor):  # after a sync: one concatenated tensor
            return [state.reshape(-1, DIM)]
        return list(state)

    def features(self, side: str) -> torch.Tensor:
        """(N, 2048) float32 features of one side, concatenated."""
        blocks = self.blocks(side)
        return torch.cat(blocks) if blocks else torch.zeros(0, DIM)


WRAPPER_TEXT = ("one image per forward into INCEPTION_V3_FID (bilinear resize to 299, x*0.5+0.5, then per "
                "channel x*(std/0.5)+(mean-0.5)/0.5 with ImageNet's statistics) on torchvision's Inception v3 "
                "with inception_v3_google-1a9a5a14.pth (colorbench weights 'inception-v3-google'), 2048-d pool "
                "features; np.mean / np.cov per set; Frechet distance (real, generated) with scipy's sqrtm, "
                "eps 1e-6 added to the diagonals if the root is not finite. Lower is better.")


def fid_spec(name: str, definition: str, feed: str, real=None) -> MetricSpec:
    """A protocol's FID: `feed` what the wrapper gets, `real` the real set from the targets."""
    return MetricSpec(group="distribution", name=name, higher_is_better=False, unit="FID", definition=definition,
                      per_image=False, build=lambda ctx: ProtocolFID(ctx, feed, real), weights=(WEIGHTS,))
