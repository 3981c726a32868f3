"""People's split-half ceiling (colorbench.human.ceiling): simulated raters with a planted
reliability, the split mechanics against a direct computation, and Spearman-Brown."""
from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from colorbench.human.ceiling import ceiling, spearman_brown, split_halves


def _simulate(n_scenes: int, per_scene: int, raters: int, noise_sd: float, seed: int):
    """Every image has its own `raters` raters; rating = true score + N(0, noise_sd^2)."""
    rng = np.random.default_rng(seed)
    n_items = n_scenes * per_scene
    truth = rng.normal(0.0, 1.0, n_items)
    item = np.repeat(np.arange(n_items), raters)
    rater = np.arange(item.size)  # distinct people, as in HECD (one image per scene each)
    z = truth[item] + rng.normal(0.0, noise_sd, item.size)
    return item, rater, z, np.repeat(np.arange(n_scenes), per_scene)


def _planted(raters: int, noise_sd: float) -> float:
    """Analytic split-half SRCC, Spearman-Brown corrected: half means of r/2 raters have
    Pearson rho = 1 / (1 + 2 sd^2 / r) (unit true variance); for a bivariate normal Spearman's
    rho is (6 / pi) asin(rho / 2)."""
    rho_half = 1.0 / (1.0 + 2.0 * noise_sd ** 2 / raters)
    return float(spearman_brown(6.0 / np.pi * np.arcsin(rho_half / 2.0)))


@pytest.mark.parametrize("noise_sd", [1.5, 3.0])
def test_planted_reliability_falls_in_the_ceiling_ci(noise_sd):
    item, rater, z, scene = _simulate(n_scenes=30, per_scene=40, raters=10, noise_sd=noise_sd, seed=1)
    result = ceiling(split_halves(item, rater, z, scene, n_splits=50, n_resamples=400, seed=0))
    planted = _planted(10, noise_sd)
    lo, hi = result["ci"]
    assert lo <= planted <= hi
    assert result["srcc"] == pytest.approx(planted, abs=0.03)
    w_lo, w_hi = result["within_scene"]["ci"]
    assert w_lo <= planted <= w_hi  # no scene effects: within-scene has the same planted value
    assert result["n_images_split"] == 1200 and result["splits"] == 50


def test_noisier_raters_give_a_lower_ceiling_and_scene_effects_raise_only_the_pooled_one():
    item, rater, z, scene = _simulate(n_scenes=20, per_scene=30, raters=10, noise_sd=1.0, seed=2)
    clean = ceiling(split_halves(item, rater, z, scene, n_splits=20, n_resamples=50))
    noisy = ceiling(split_halves(item, rater, z * 0 + z + np.random.default_rng(3).normal(0, 3, z.size), scene,
                                 n_splits=20, n_resamples=50))
    assert noisy["srcc"] < clean["srcc"] - 0.2
    shifted = z + 3.0 * scene[item]  # scenes far apart: pooled ranks are mostly scene order
    pooled = ceiling(split_halves(item, rater, shifted, scene, n_splits=20, n_resamples=50))
    assert pooled["srcc"] > 0.95 > clean["srcc"]
    assert pooled["within_scene"]["srcc"] == pytest.approx(clean["within_scene"]["srcc"], abs=1e-12)


def test_halves_split_each_images_raters_and_keep_a_raters_ratings_together():
    rng = np.random.default_rng(0)
    # item 0: raters 0..4, rater 0 rated it twice; item 1: raters 0, 5 (two raters); item 2: one rater
    item = np.array([0, 0, 0, 0, 0, 0, 1, 1, 2])
    rater = np.array([0, 0, 1, 2, 3, 4, 0, 5, 6])
    z = rng.normal(size=item.size)
    h = split_halves(item, rater, z, np.zeros(3, dtype=int), n_splits=40, n_resamples=10, seed=5)
    per_rater = {r: z[(item == 0) & (rater == r)].mean() for r in range(5)}
    seen = set()
    for k in range(h.a.shape[1]):
        # item 0: half A holds floor(5/2) = 2 raters; its mean is the mean of their ratings
        ratings_a = [z[(item == 0) & (rater == r)] for r in range(5)]
        matches = [(r1, r2) for r1 in range(5) for r2 in range(r1 + 1, 5)
                   if np.isclose(h.a[0, k], np.concatenate([ratings_a[r1], ratings_a[r2]]).mean())]
        assert len(matches) == 1
        rest = [r for r in range(5) if r not in matches[0]]
        assert h.b[0, k] == pytest.approx(np.concatenate([ratings_a[r] for r in rest]).mean())
        seen.add(matches[0])
        assert {h.a[1, k], h.b[1, k]} == {z[6], z[7]}  # two raters: one each
        assert np.isnan(h.a[2, k]) and np.isnan(h.b[2, k])  # one rater: no split
    assert len(seen) > 5 and per_rater  # the splits differ
    assert list(h.splittable) == [True, True, False]


def test_ceiling_point_is_the_mean_of_corrected_split_srccs_recomputed_with_scipy():
    item, rater, z, scene = _simulate(n_scenes=4, per_scene=12, raters=6, noise_sd=1.0, seed=4)
    h = split_halves(item, rater, z, scene, n_splits=7, n_resamples=5, seed=9)
    result = ceiling(h)
    pooled = [spearman_brown(stats.spearmanr(h.a[:, k], h.b[:, k])[0]) for k in range(7)]
    assert result["srcc"] == pytest.approx(np.mean(pooled), abs=1e-12)
    within = [np.mean([spearman_brown(stats.spearmanr(h.a[scene == s, k], h.b[scene == s, k])[0]) for s in range(4)])
              for k in range(7)]
    assert result["within_scene"]["srcc"] == pytest.approx(np.mean(within), abs=1e-12)
    again = ceiling(split_halves(item, rater, z, scene, n_splits=7, n_resamples=5, seed=9))
    assert again == result  # seeded


def test_spearman_brown_known_values():
    assert spearman_brown(0.5) == pytest.approx(2 / 3)
    assert spearman_brown(1.0) == 1.0 and spearman_brown(0.0) == 0.0
