"""Uncertainty of per-image means: bootstrap confidence intervals and a paired comparison test.

- `bootstrap_ci`: percentile bootstrap, B = 2000 resamples of the images with replacement, seeded
  (numpy PCG64), 95% by default. NaN per-image values (e.g. r2 on greyscale truth) are dropped,
  as the metric's own mean drops them.
- `paired_test`: two methods scored on the same images. p-value from a sign-flip permutation
  test of the mean per-image difference (exact enumeration when 2^n <= B, else B = 10000 random
  flips, with the +1 correction so p is never 0); CI of the mean difference by paired bootstrap.
- `resample_counts`: how often each of n units is drawn, per bootstrap replicate, a few
  replicates at a time (the human studies' rater draws: memory bounded whatever the number of raters).
Metrics without per-image values (fid, *_pooled, delta_cf, auc_ab_rebal) have no CI: None.
"""
from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

BOOTSTRAP_RESAMPLES = 2000
PERMUTATION_RESAMPLES = 10000
_CHUNK_ELEMENTS = 1 << 22  # resample indices generated in chunks: memory flat in N
COUNT_CHUNK_ELEMENTS = 1 << 20  # resample_counts: at most this many counts at once (8 MiB as int64)


def resample_counts(rng: np.random.Generator, n: int, n_resamples: int,
                    max_elements: int = COUNT_CHUNK_ELEMENTS) -> Iterator[tuple[slice, np.ndarray]]:
    """(replicates, counts): counts[k, u] is how often unit u is drawn when n units are drawn
    with replacement in replicate replicates.start + k. Chunks of replicates, with the random
    stream consumed exactly as by one rng.multinomial(n, uniform, size=n_resamples)."""
    step = max(1, max_elements // max(n, 1))
    p = np.full(n, 1.0 / n)
    for start in range(0, n_resamples, step):
        stop = min(start + step, n_resamples)
        yield slice(start, stop), rng.multinomial(n, p, size=stop - start)


def _clean(values) -> np.ndarray:
    x = np.asarray(values, dtype=np.float64).reshape(-1)
    return x[~np.isnan(x)]


def _bootstrap_means(x: np.ndarray, n_resamples: int, rng: np.random.Generator) -> np.ndarray:
    n = x.size
    rows = max(1, _CHUNK_ELEMENTS // n)
    out = np.empty(n_resamples)
    for start in range(0, n_resamples, rows):
        stop = min(start + rows, n_resamples)
        out[start:stop] = x[rng.integers(0, n, size=(stop - start, n))].mean(axis=1)
    return out


def bootstrap_ci(
    values, level: float = 0.95, n_resamples: int = BOOTSTRAP_RESAMPLES, seed: int = 0
) -> tuple[float, float] | None:
    """Percentile-bootstrap CI of the mean of per-image values; None with fewer than 2 values."""
    if values is None:
        return None
    x = _clean(values)
    if x.size < 2:
        return None
    means = _bootstrap_means(x, n_resamples, np.random.default_rng(seed))
    alpha = (1.0 - level) / 2.0
    lo, hi = np.quantile(means, [alpha, 1.0 - alpha])
    return float(lo), float(hi)


@dataclass(frozen=True)
class PairedResult:
    n: int  # images with a value for both methods
    mean_diff: float  # mean of (a - b)
    ci: tuple[float, float] | None  # bootstrap CI of mean_diff
    p_value: float  # two-sided, H0: the per-image differences are symmetric about 0
    method: str


def paired_test(
    a, b, level: float = 0.95, n_resamples: int = PERMUTATION_RESAMPLES, seed: int = 0
) -> PairedResult:
    """Compare two methods' per-image values on the same images (same order)."""
    a, b = np.asarray(a, dtype=np.float64).reshape(-1), np.asarray(b, dtype=np.float64).reshape(-1)
    if a.shape != b.shape:
        raise ValueError(f"paired values differ in length: {a.size} vs {b.size}")
    d = (a - b)[~(np.isnan(a) | np.isnan(b))]
    n = d.size
    if n == 0:
        return PairedResult(0, float("nan"), None, float("nan"), "none")
    observed = abs(d.mean())
    tol = 1e-12 * max(1.0, np.abs(d).max())  # float ties (e.g. all-zero differences) count as extreme
    rng = np.random.default_rng(seed)
    if 2**n <= n_resamples:  # every sign pattern, exactly
        signs = 1.0 - 2.0 * ((np.arange(2**n)[:, None] >> np.arange(n)) & 1)
        p = float(np.mean(np.abs(signs @ d) / n >= observed - tol))
        method = "exact sign-flip permutation"
    else:
        rows = max(1, _CHUNK_ELEMENTS // n)
        hits = 0
        for start in range(0, n_resamples, rows):
            k = min(rows, n_resamples - start)
            signs = rng.choice(np.array([-1.0, 1.0]), size=(k, n))
            hits += int(np.sum(np.abs(signs @ d) / n >= observed - tol))
        p = (hits + 1) / (n_resamples + 1)
        method = f"sign-flip permutation ({n_resamples} resamples)"
    ci = bootstrap_ci(d, level=level, seed=seed)
    return PairedResult(n, float(d.mean()), ci, p, method)
