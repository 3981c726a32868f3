"""The human-calibrated combination: non-negative fit against numpy least squares, monotone in
every component, and leave-one-scene-out predictions that never see their own scene."""
from __future__ import annotations

import numpy as np
import pytest

from colorbench.human import calibrate


def _planted(seed: int = 0, n: int = 240):
    rng = np.random.default_rng(seed)
    S = rng.normal(size=(n, 3)) * [1.0, 3.0, 0.5] + [0.0, 10.0, -2.0]
    y = 2.0 * (S[:, 0] - 0.0) + 0.3 * (S[:, 1] - 10.0) / 3.0 - 0.8 * (S[:, 2] + 2.0) / 0.5 + rng.normal(0, 0.1, n)
    return S, y, np.repeat(np.arange(6), n // 6).astype(str)


def test_nonnegative_fit_equals_least_squares_when_unconstrained_weights_are_positive():
    S, y, _ = _planted()
    fit = calibrate.fit(["a", "b", "c"], S[:, :2], y)
    F = (S[:, :2] - S[:, :2].mean(0)) / S[:, :2].std(0)
    coef, *_ = np.linalg.lstsq(np.column_stack([F, np.ones(len(y))]), y, rcond=None)
    assert np.all(coef[:2] > 0)
    np.testing.assert_allclose(fit.weights, coef[:2], atol=1e-10)
    np.testing.assert_allclose(fit(S[:, :2]), np.column_stack([F, np.ones(len(y))]) @ coef, atol=1e-10)


def test_a_component_that_counts_against_people_gets_weight_zero_and_the_score_is_monotone():
    S, y, _ = _planted()
    fit = calibrate.fit(["a", "b", "c"], S, y)  # c is signed the wrong way for these people
    assert fit.weights[2] == 0.0 and fit.weights[0] > fit.weights[1] > 0
    base = S[:1].repeat(50, axis=0)
    for j in range(3):
        probe = base.copy()
        probe[:, j] = np.linspace(S[:, j].min(), S[:, j].max(), 50)
        assert np.all(np.diff(fit(probe)) >= -1e-12)


def test_leave_one_scene_out_never_sees_the_held_out_scene():
    S, y, scenes = _planted(1)
    oof = calibrate.leave_one_scene_out(["a", "b", "c"], S, y, scenes)
    y2 = y.copy()
    y2[scenes == "3"] = np.random.default_rng(9).normal(size=(scenes == "3").sum())  # scene 3's people change
    oof2 = calibrate.leave_one_scene_out(["a", "b", "c"], S, y2, scenes)
    np.testing.assert_array_equal(oof[scenes == "3"], oof2[scenes == "3"])
    assert not np.allclose(oof[scenes != "3"], oof2[scenes != "3"])
    result = calibrate.evaluate(["a", "b", "c"], S, y, scenes)
    # c carries information the non-negative fit must refuse, so neither reaches 1; with 240
    # images and three components out-of-fold costs little against in-sample
    assert 0.85 < result["out_of_fold"]["srcc"] <= result["in_sample"]["srcc"] < result["out_of_fold"]["srcc"] + 0.02
    assert result["single"]["a"]["srcc"] == pytest.approx(calibrate.C.srcc(S[:, 0], y))
