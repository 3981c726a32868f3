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
    result = calibrate.evaluate(["a", "b", "c"], S, y, scenes, tie_band=0.5)
    # c carries information the non-negative fit must refuse, so neither reaches 1; with 240
    # images and three components out-of-fold costs little against in-sample
    assert 0.85 < result["out_of_fold"]["srcc"] <= result["in_sample"]["srcc"] < result["out_of_fold"]["srcc"] + 0.02
    assert result["single"]["a"]["srcc"] == pytest.approx(calibrate.C.srcc(S[:, 0], y))
    assert result["out_of_fold"]["pairwise_acc"] == pytest.approx(
        calibrate.accuracy(oof[:, None], y, scenes, 0.5)[0][0]) and result["out_of_fold"]["pairwise_acc"] > 0.9


@pytest.mark.parametrize("candidate,wins,needle", [
    ({"srcc": 0.602, "within_scene_srcc": 0.60, "pairwise_acc": 0.82}, True, "not worse"),
    ({"srcc": 0.600, "within_scene_srcc": 0.60, "pairwise_acc": 0.82}, False, "pooled SRCC 0.600 < 0.581 + 0.02"),
    ({"srcc": 0.700, "within_scene_srcc": 0.59, "pairwise_acc": 0.82}, False, "within-scene SRCC 0.590 < 0.600"),
    ({"srcc": 0.700, "within_scene_srcc": 0.61, "pairwise_acc": 0.81}, False, "pairwise accuracy 0.810 < 0.820"),
    ({"srcc": float("nan"), "within_scene_srcc": 0.61, "pairwise_acc": 0.83}, False, "pooled SRCC nan"),
])
def test_registration_needs_a_margin_in_pooled_srcc_and_no_loss_within_scene_or_in_pairs(candidate, wins, needle):
    best = {"srcc": 0.581, "within_scene_srcc": 0.60, "pairwise_acc": 0.82}
    got, why = calibrate.registers(candidate, best)
    assert got is wins and needle in why
