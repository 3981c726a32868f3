"""Uncertainty of per-image means: bootstrap confidence intervals and a paired comparison test.

- `bootstrap_ci`: percentile bootstrap, B = 2000 resamples of the images with replacement, seeded
  (numpy PCG64), 95% by default. NaN per-image values (e.g. r2 on greyscale truth) are dropped,
  as the metric's own mean drops them.
- `paired_test`: two methods scored on the same images. p-value from a sign-flip permutation
  test of the mean per-image difference (exact enumeration when 2^n <= B, else B = 10000 random
  flips, with the +1 correction so p is never 0); CI of the mean difference by paired bootstrap.
- `resample_counts`: how often each of n units is drawn, per bootstrap replicate, a few
  replicates at a time (the human studies' rater draws: memory bounded whatever the number of raters).
- `two_way_draw`: the replicates of a crossed raters x scenes design, the one two-way bootstrap
  draw behind `study analyze` (colorbench.study.bootstrap) and `colorbench agreement`
  (colorbench.human.resample); `rater_cells` builds its input.
Metrics without per-image values (fid, *_pooled, delta_cf, auc_ab_rebal) have no CI: None.
"""
from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Literal

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


def rater_cells(row: np.ndarray, rater: np.ndarray, values: np.ndarray, n_rows: int, n_raters: int) -> tuple:
    """(sums, counts): sparse (n_rows, n_raters) sums of `values` and their counts per (row, rater),
    one entry per value at (row[k], rater[k]); NaN values are left out."""
    from scipy import sparse

    ok = np.isfinite(values)
    at, shape = (row[ok], rater[ok]), (n_rows, n_raters)
    return sparse.csr_matrix((values[ok], at), shape=shape), sparse.csr_matrix((np.ones(int(ok.sum())), at), shape=shape)


def _rater_weighted(rng: np.random.Generator, cells: Sequence[tuple], n_raters: int, n_resamples: int, ratio: bool) -> list:
    """Per (sums, counts) pair, (n, B) arrays S @ w_b and N @ w_b under B rater draws, or with
    `ratio` their quotient; the draws made a few replicates at a time (resample_counts)."""
    shape = lambda cell: (cell[0].shape[0], n_resamples)  # noqa: E731
    if n_raters == 0:  # nothing to draw: no rater weights anything
        return [np.full(shape(c), np.nan) if ratio else (np.zeros(shape(c)), np.zeros(shape(c))) for c in cells]
    out = [np.empty(shape(c)) if ratio else (np.empty(shape(c)), np.empty(shape(c))) for c in cells]
    for b, counts in resample_counts(rng, n_raters, n_resamples):
        weights = np.ascontiguousarray(counts.T, dtype=float)  # (R, k), as sparse @ wants it
        del counts
        for (sums, answered), dest in zip(cells, out):
            num, den = np.asarray(sums @ weights), np.asarray(answered @ weights)
            if ratio:
                with np.errstate(invalid="ignore", divide="ignore"):
                    dest[:, b] = num / den
            else:
                dest[0][:, b], dest[1][:, b] = num, den
        del weights  # freed before the next chunk is drawn: one chunk alive at a time
    return out


def two_way_draw(cells: Sequence[tuple], n_raters: int, scene_groups: Sequence[int], n_resamples: int, seed: int = 0,
                 ratio: bool = False, scenes: Literal["counts", "indices"] = "counts") -> tuple[list, list[np.ndarray]]:
    """B replicates of a crossed raters x scenes design, seeded (numpy PCG64).

    Raters: one draw of the R raters with replacement per replicate, shared by every cell (each
    cell a (sums, counts) pair of (n, R) matrices from rater_cells, rows of any kind: scenes,
    items); returned per cell as its (n, B) rater-weighted sums and counts, or with `ratio` the
    (n, B) weighted means (NaN where none of the row's raters was drawn). Scenes: then, for each
    group of scene_groups (its number of scenes S), one draw of its S scenes with replacement per
    replicate, as (B, S) counts of how often each scene was drawn (`scenes="counts"`, one
    multinomial draw: study analyze) or as (B, S) drawn scene indices in draw order
    (`scenes="indices"`: agreement, which concatenates the drawn scenes' items). Both schemes
    draw the same distribution; they differ in the random stream, kept so each command's
    intervals are unchanged for a given seed. The rater draws come first in the stream."""
    rng = np.random.default_rng(seed)
    weighted = _rater_weighted(rng, cells, n_raters, n_resamples, ratio)
    drawn = [rng.multinomial(n, np.full(n, 1 / n), size=n_resamples) if scenes == "counts"
             else rng.integers(0, n, size=(n_resamples, n)) for n in scene_groups]
    return weighted, drawn


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
