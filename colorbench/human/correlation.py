"""Correlation of a metric with people: SRCC, KRCC, and PLCC after a monotonic logistic mapping.

Sign convention: every correlation is computed on the *signed* metric value, s = x for
higher-is-better metrics and s = -x for lower-is-better ones, so a positive number means the
metric agrees with people. Metrics without a better direction (colorfulness) keep s = x.

Ties: two values that differ by at most TIE_RTOL of the larger magnitude are equal (float
noise, not a difference people could see); runs of such values are set to their smallest before
ranking (tie_close). A metric (or a people's score) with no variation left is undefined: its
correlations are NaN, reported as undefined, never a number computed from the noise.

- SRCC: scipy.stats.spearmanr (ties get average ranks).
- KRCC: scipy.stats.kendalltau, tau-b.
- PLCC: Pearson correlation between people's scores y and q(t), where q is the 5-parameter
  logistic of VQEG (FR-TV Phase II) / ITU-T P.1401:
      q(t) = b1 * (1/2 - 1 / (1 + exp(b2 * (t - b3)))) + b4 * t + b5,
  fitted by least squares (scipy.optimize.curve_fit, trust-region reflective) on
  t = sign(SRCC) * (s - mean s) / SD s with b1, b2, b4 >= 0, so q is monotone non-decreasing in
  t by construction. Pearson(q(t), y) is then >= 0; PLCC carries the sign of the SRCC, so it is
  negative when people prefer lower s. With fewer than LOGISTIC_MIN_POINTS images, or if the
  fit fails (no convergence within LOGISTIC_MAX_EVALUATIONS, non-finite parameters), PLCC
  falls back to the plain Pearson correlation of s and y, and the result says so
  (plcc_fit = "linear").
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
from scipy import optimize, special, stats


def logistic5(s, b1, b2, b3, b4, b5):
    with np.errstate(over="ignore"):
        return b1 * (0.5 - 1.0 / (1.0 + np.exp(b2 * (s - b3)))) + b4 * s + b5


def logistic5_jacobian(s, b1, b2, b3, b4, b5):
    """(n, 5) partial derivatives of logistic5 by b1..b5 (1/2 - 1/(1 + e^u) = expit(u) - 1/2)."""
    s = np.asarray(s, dtype=float)
    sig = special.expit(b2 * (s - b3))
    slope = sig * (1.0 - sig)
    return np.column_stack([sig - 0.5, b1 * slope * (s - b3), -b1 * slope * b2, s, np.ones_like(s)])


TIE_RTOL = 1e-6  # one part in a million: above float32 rounding, far below any printed digit


def tie_close(values, rtol: float = TIE_RTOL) -> np.ndarray:
    """A copy in which every run of values (sorted, along axis 0) whose neighbours differ by at
    most rtol * the larger magnitude takes the run's smallest value; NaN and inf stay as they are."""
    x = np.array(values, dtype=float)
    if x.size == 0:
        return x
    cols = x.reshape(len(x), -1)
    order = np.argsort(cols, axis=0, kind="stable")  # NaN last
    ranked = np.take_along_axis(cols, order, axis=0)
    with np.errstate(invalid="ignore"):
        gap = np.diff(ranked, axis=0)
        close = np.isfinite(gap) & (gap <= rtol * np.maximum(np.abs(ranked[1:]), np.abs(ranked[:-1])))
    rows = np.arange(len(cols))[:, None]
    start = np.maximum.accumulate(np.where(np.vstack([np.zeros((1, cols.shape[1]), bool), close]), 0, rows), axis=0)
    np.put_along_axis(cols, order, np.take_along_axis(ranked, start, axis=0), axis=0)
    return cols.reshape(x.shape)


def varies(values) -> bool:
    """More than one distinct finite value once float-noise ties are merged."""
    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v)]
    return v.size > 1 and np.ptp(tie_close(v)) > 0


def srcc(s: np.ndarray, y: np.ndarray) -> float:
    if not (varies(s) and varies(y)):
        return float("nan")
    return float(stats.spearmanr(tie_close(s), tie_close(y))[0])


def krcc(s: np.ndarray, y: np.ndarray) -> float:
    if not (varies(s) and varies(y)):
        return float("nan")
    return float(stats.kendalltau(tie_close(s), tie_close(y))[0])


_LOWER = (0.0, 0.0, -np.inf, 0.0, -np.inf)  # b1, b2, b4 >= 0: monotone non-decreasing


@dataclass(frozen=True)
class LogisticFit:
    params: tuple[float, ...] | None  # b1..b5 on t; None when the fit failed
    mean: float  # t = trend * (s - mean) / sd
    sd: float
    trend: float  # +1 or -1: the sign of SRCC(s, y)
    reason: str = ""  # why the fit was not used

    def __call__(self, s: np.ndarray) -> np.ndarray:
        t = self.trend * (np.asarray(s, dtype=float) - self.mean) / self.sd
        return logistic5(t, *self.params) if self.params is not None else t


LOGISTIC_MIN_POINTS = 10  # fewer images than this: the 5-parameter fit is not attempted (linear PLCC)
LOGISTIC_MAX_EVALUATIONS = 1000  # not converged by then: not used (linear PLCC); HECD's fits take 14-94


def fit_logistic(s: np.ndarray, y: np.ndarray) -> LogisticFit:
    s, y = np.asarray(s, dtype=float), np.asarray(y, dtype=float)
    mean, sd = float(s.mean()), float(s.std())
    if not (sd > 0 and varies(s)):
        return LogisticFit(None, mean, 1.0, 1.0, "the metric is constant")
    if s.size < LOGISTIC_MIN_POINTS:
        return LogisticFit(None, mean, sd, 1.0, f"fewer than {LOGISTIC_MIN_POINTS} images for the logistic fit")
    trend = float(np.sign(srcc(s, y)) or 1.0)
    t = trend * (s - mean) / sd
    p0 = (float(y.max() - y.min()) or 1.0, 1.0, 0.0, 0.0, float(y.mean()))
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", optimize.OptimizeWarning)
            params, _ = optimize.curve_fit(logistic5, t, y, p0=p0, bounds=(_LOWER, np.inf), jac=logistic5_jacobian,
                                           maxfev=LOGISTIC_MAX_EVALUATIONS)
    except (RuntimeError, ValueError) as exc:
        return LogisticFit(None, mean, sd, trend, f"logistic fit failed: {exc}")
    if not np.all(np.isfinite(params)):
        return LogisticFit(None, mean, sd, trend, "logistic fit gave non-finite parameters")
    return LogisticFit(tuple(float(p) for p in params), mean, sd, trend)


def plcc(s: np.ndarray, y: np.ndarray, fit: LogisticFit | None = None) -> tuple[float, str]:
    """(signed PLCC after the logistic mapping, 'logistic' or 'linear')."""
    s, y = np.asarray(s, dtype=float), np.asarray(y, dtype=float)
    if not (varies(s) and varies(y)):  # a constant metric or constant people (up to float noise): undefined
        return float("nan"), "linear"
    fit = fit or fit_logistic(s, y)
    if fit.params is None:
        return float(stats.pearsonr(s, y)[0]), "linear"
    q = fit(s)
    if not q.std() > 0:  # a flat fit: Pearson is undefined
        return float("nan"), "logistic"
    return float(fit.trend * stats.pearsonr(q, y)[0]), "logistic"


def signed(values: np.ndarray, higher_is_better: bool | None) -> np.ndarray:
    """The metric oriented so that larger means better (unchanged without a direction)."""
    v = np.asarray(values, dtype=float)
    return -v if higher_is_better is False else v
