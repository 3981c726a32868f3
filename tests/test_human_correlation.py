"""Correlations with people against scipy and planted answers; the scene-and-rater bootstrap's
coverage on simulated raters."""
from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from colorbench.human import correlation as C
from colorbench.human.resample import correlation_replicates, draw, percentile_ci


def test_srcc_krcc_match_scipy_and_sign_convention():
    rng = np.random.default_rng(1)
    x, y = rng.normal(size=200), rng.normal(size=200)
    y = y + 0.8 * x
    assert C.srcc(x, y) == stats.spearmanr(x, y)[0]
    assert C.krcc(x, y) == stats.kendalltau(x, y)[0]
    # a lower-is-better metric that tracks people inversely agrees with them once signed
    assert C.srcc(C.signed(-x, False), y) == pytest.approx(stats.spearmanr(x, y)[0])
    assert np.array_equal(C.signed(x, None), x) and np.array_equal(C.signed(x, True), x)


def test_values_equal_up_to_float_noise_are_ties():
    """scipy on the noise-free values is the reference; a metric flat but for noise is undefined."""
    rng = np.random.default_rng(5)
    y = rng.normal(size=60)
    levels = rng.choice([20.0, 25.0, 31.5], size=60)
    noisy = levels * (1 + rng.uniform(-1e-13, 1e-13, 60))
    assert C.srcc(noisy, y) == pytest.approx(stats.spearmanr(levels, y)[0], abs=1e-12)
    assert C.krcc(noisy, y) == pytest.approx(stats.kendalltau(levels, y)[0], abs=1e-12)
    flat = 100 + rng.uniform(0, 1.8e-11, 60)
    assert np.isnan(C.srcc(flat, y)) and np.isnan(C.krcc(flat, y)) and np.isnan(C.plcc(flat, y)[0])
    x = rng.normal(size=60)  # distinct values are untouched
    assert C.srcc(x, y) == stats.spearmanr(x, y)[0]


def test_planted_monotone_relation_gives_one():
    x = np.linspace(0.1, 5, 300)
    y = np.log(x) ** 3  # strictly increasing, far from linear
    assert C.srcc(x, y) == pytest.approx(1.0) and C.krcc(x, y) == pytest.approx(1.0)
    assert C.srcc(C.signed(1 / x, False), y) == pytest.approx(1.0)  # lower 1/x is better


def test_logistic_recovers_a_planted_logistic():
    rng = np.random.default_rng(2)
    s = rng.uniform(-3, 3, 500)
    truth = (2.0, 1.7, 0.4, 0.1, -0.3)  # b1..b5 on the standardised scale
    t = (s - s.mean()) / s.std()
    y = C.logistic5(t, *truth) + rng.normal(0, 0.02, s.size)
    fit = C.fit_logistic(s, y)
    assert fit.params == pytest.approx(truth, rel=0.05, abs=0.02)
    pl, how = C.plcc(s, y, fit)
    assert how == "logistic" and pl > 0.999
    # the mapping straightens a monotone non-linear relation: PLCC beats the raw Pearson
    assert pl > stats.pearsonr(s, y)[0]
    pl_neg, _ = C.plcc(-s, y)  # people prefer lower values: the sign follows the SRCC
    assert pl_neg == pytest.approx(-pl, abs=1e-6)


def test_logistic_mapping_is_monotone_and_falls_back_when_the_metric_is_constant():
    rng = np.random.default_rng(3)
    s = rng.lognormal(size=300)
    y = -np.log(s) + rng.normal(0, 0.3, s.size)
    fit = C.fit_logistic(s, y)
    grid = np.linspace(s.min(), s.max(), 1000)
    # non-decreasing in t = trend * s: with trend -1 the mapping falls as s grows
    assert fit.trend == -1 and np.all(np.diff(fit(grid)) <= 1e-12)
    assert C.plcc(s, y)[0] < -0.9
    assert C.fit_logistic(np.ones(10), np.arange(10.0)).params is None
    pl, how = C.plcc(np.ones(10), np.arange(10.0))
    assert how == "linear" and np.isnan(pl)


def _simulate(rng, scenes=8, items=10, raters=15, noise=1.0):
    """Items with latent quality q, a metric m = q + noise, raters who see every item."""
    q = rng.normal(size=scenes * items)
    m = q + rng.normal(0, 0.8, q.size)
    offsets = rng.normal(0, 0.5, raters)
    scores = q[:, None] + offsets[None, :] + rng.normal(0, noise, (q.size, raters))
    item_of_rating = np.repeat(np.arange(q.size), raters)
    rater_of_rating = np.tile(np.arange(raters), q.size)
    z = scores.reshape(-1)  # offsets cancel in SRCC per item mean; the statistic is what matters
    return m, item_of_rating, rater_of_rating, z, np.repeat(np.arange(scenes), items)


def test_bootstrap_ci_covers_the_design_mean_of_srcc():
    """The target is E[SRCC(metric, mean rating)] for this design (new scenes, new raters),
    estimated by Monte Carlo; the 95% percentile CI should cover it about 95% of the time.
    80 datasets: the binomial SD of the coverage is 0.024; a percentile bootstrap over only 8
    scenes runs a little narrow, so 0.85 is the floor (3.5 SDs below 0.95)."""
    rng = np.random.default_rng(4)
    truth = np.mean([stats.spearmanr(m, np.bincount(it, z) / np.bincount(it))[0]
                     for m, it, _, z, _ in (_simulate(rng) for _ in range(2000))])
    hits = 0
    for k in range(80):
        m, it, rt, z, scene = _simulate(rng)
        reps = draw(it, rt, z, z, scene, n_resamples=300, seed=k)
        boot = correlation_replicates(m[:, None], reps, which=("srcc",))["srcc"][:, 0]
        lo, hi = percentile_ci(boot)
        hits += lo <= truth <= hi
    print(f"bootstrap coverage {hits / 80:.3f} (truth {truth:.3f})")
    assert 0.85 <= hits / 80 <= 1.0


def test_replicate_means_reweight_raters():
    """A replicate's item mean equals the rating mean weighted by how often each rater was drawn."""
    rng = np.random.default_rng(5)
    _, it, rt, z, scene = _simulate(rng, scenes=2, items=3, raters=5)
    reps = draw(it, rt, z, z, scene, n_resamples=20, seed=0)
    weights = np.random.default_rng(0).multinomial(5, np.full(5, 0.2), size=20).T  # same draw order
    for b in range(20):
        w = weights[rt, b].astype(float)
        expected = np.bincount(it, w * z) / np.bincount(it, w)
        np.testing.assert_allclose(reps.mean_z[:, b], expected, atol=1e-12)


@pytest.mark.parametrize("n", [7, 60, 320])  # all pairs at once up to resample._PAIRWISE_MAX, scipy above
def test_kendall_columns_match_scipy_with_ties_repeats_and_nan(n):
    from colorbench.human.resample import _kendall_columns

    rng = np.random.default_rng(n)
    y = np.round(rng.normal(size=n), 1)  # ties in y
    X = np.column_stack([y + rng.normal(size=n), np.round(rng.normal(size=n)), np.full(n, 2.0), rng.normal(size=n)])
    X[: n // 3, 3] = np.nan  # a column with missing values takes the per-column path
    idx = np.concatenate([np.arange(n), np.arange(n // 4)])  # repeated items, as a drawn scene twice
    got = _kendall_columns(X[idx], y[idx])
    for j in range(X.shape[1]):
        ok = ~np.isnan(X[idx, j])
        want = stats.kendalltau(X[idx][ok, j], y[idx][ok])[0]
        assert (np.isnan(got[j]) and np.isnan(want)) or got[j] == pytest.approx(want, abs=1e-12), j


def test_plcc_is_linear_below_the_logistic_minimum():
    x = np.arange(C.LOGISTIC_MIN_POINTS - 1, dtype=float)
    y = x ** 3
    value, how = C.plcc(x, y)
    assert how == "linear" and value == pytest.approx(stats.pearsonr(x, y)[0])


def test_logistic_jacobian_matches_finite_differences():
    from scipy.optimize import approx_fprime

    t = np.linspace(-3, 3, 9)
    params = np.array([1.7, 2.3, 0.4, 0.2, -0.5])
    got = C.logistic5_jacobian(t, *params)
    for k, tk in enumerate(t):
        want = approx_fprime(params, lambda p, tk=tk: C.logistic5(tk, *p), 1e-7)
        np.testing.assert_allclose(got[k], want, atol=1e-5)


def test_within_scene_replicates_equal_a_per_scene_loop_with_scipy():
    """The vectorised within-scene SRCC against the definition: per replicate, scipy's SRCC in each
    drawn scene (NaN rows left out), averaged over the draws with repeats."""
    from colorbench.human.resample import Replicates, _within_scene_srcc

    rng = np.random.default_rng(4)
    n_scenes, per, B = 5, 6, 40
    members = tuple(np.arange(s * per, (s + 1) * per) for s in range(n_scenes))
    n = n_scenes * per
    mean_z = rng.normal(size=(n, B))
    mean_z[rng.uniform(size=(n, B)) < 0.1] = np.nan  # items none of whose raters was drawn
    X = np.column_stack([rng.normal(size=n), np.round(rng.normal(size=n)), np.full(n, np.nan), rng.normal(size=n),
                         np.tile([1.0, 1, 1, 1, 1, 1], n_scenes)])
    X[::4, 3] = np.nan  # partly missing
    reps = Replicates(rng.integers(0, n_scenes, size=(B, n_scenes)), mean_z, members, mean_z)
    got = _within_scene_srcc(X, reps)
    for b in range(B):
        for j in range(X.shape[1]):
            values = []
            for s in reps.scene_draws[b]:
                m = members[s]
                ok = np.isfinite(mean_z[m, b]) & np.isfinite(X[m, j])
                if ok.sum() > 2 and np.ptp(X[m][ok, j]) > 0:
                    values.append(stats.spearmanr(X[m][ok, j], mean_z[m][ok, b])[0])
            want = np.mean(values) if values else np.nan
            assert (np.isnan(got[b, j]) and np.isnan(want)) or got[b, j] == pytest.approx(want, abs=1e-12), (b, j)


def test_rater_weights_drawn_in_chunks_equal_the_dense_draw_and_stay_small():
    """Replicate means from rater weights drawn a few replicates at a time equal the dense
    (raters x resamples) formula, and the draw's memory does not hold raters x resamples."""
    import tracemalloc

    rng = np.random.default_rng(9)
    n_items, n_raters, n_ratings, B = 40, 300, 3000, 64
    item, rater = rng.integers(0, n_items, n_ratings), rng.integers(0, n_raters, n_ratings)
    z, score = rng.normal(size=n_ratings), rng.integers(1, 6, n_ratings).astype(float)
    scenes = np.arange(n_items) % 5
    reps = draw(item, rater, z, score, scenes, n_resamples=B, seed=3)
    w = np.random.default_rng(3).multinomial(n_raters, np.full(n_raters, 1 / n_raters), size=B).T.astype(float)
    zsum, cnt, ssum = (np.zeros((n_items, n_raters)) for _ in range(3))
    np.add.at(zsum, (item, rater), z)
    np.add.at(ssum, (item, rater), score)
    np.add.at(cnt, (item, rater), 1.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        np.testing.assert_allclose(reps.mean_z, (zsum @ w) / (cnt @ w), rtol=1e-12)
        np.testing.assert_allclose(reps.mos, (ssum @ w) / (cnt @ w), rtol=1e-12)
    # 20000 raters x 400 resamples would be 64 MB of float64 weights (and as much again as int64)
    n_raters, n_ratings, B = 20000, 40000, 400
    item, rater = rng.integers(0, n_items, n_ratings), rng.integers(0, n_raters, n_ratings)
    z = rng.normal(size=n_ratings)
    tracemalloc.start()
    draw(item, rater, z, z, scenes, n_resamples=B, seed=0)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 24e6, f"{peak / 1e6:.1f} MB"
