"""Pairwise accuracy within scene (colorbench.human.pairwise) against brute-force counts,
ties in the metric and in people included; the tie band; the bootstrap and the half-vs-half ceiling."""
from __future__ import annotations

import itertools
import json

import numpy as np
import pandas as pd
import pytest
from _human_fixtures import write_rated_folder

from colorbench.cli import main
from colorbench.human.ceiling import split_halves
from colorbench.human.pairwise import (
    accuracy,
    half_vs_half,
    replicate_accuracy,
    tie_band,
)
from colorbench.human.resample import draw


def _brute(s, y, scene, band):
    """(accuracy, n) by a loop over every pair of the same scene; pairs with a NaN value are skipped."""
    score, n = 0.0, 0
    for i, j in itertools.combinations(range(len(y)), 2):
        if scene[i] != scene[j] or not abs(y[i] - y[j]) > band or np.isnan(s[i]) or np.isnan(s[j]):
            continue
        n += 1
        if s[i] == s[j]:
            score += 0.5
        elif (s[i] > s[j]) == (y[i] > y[j]):
            score += 1.0
    return score / n, n


def test_accuracy_equals_a_brute_force_count_with_ties_and_nan():
    y = np.array([0.9, 0.1, 0.5, 0.5, -0.2, 1.0, 0.3, 0.3, -1.0])  # a people tie in scene 0 and in scene 1
    scene = np.array([0, 0, 0, 0, 0, 1, 1, 1, 1])
    s1 = np.array([3.0, 1.0, 2.0, 2.0, 1.0, 5.0, 4.0, 4.0, 6.0])  # metric ties (1.0 twice, 2.0 twice, 4.0 twice)
    s2 = np.array([1.0, 2.0, np.nan, 0.0, 0.5, 1.0, 1.0, 1.0, 0.0])  # a missing value and ties
    S = np.column_stack([s1, s2])
    for band in (0.0, 0.25, 0.65):
        acc, n = accuracy(S, y, scene, band)
        for k, s in enumerate((s1, s2)):
            want, n_want = _brute(s, y, scene, band)
            assert n[k] == n_want and acc[k] == pytest.approx(want, abs=1e-15)
    # band 0: the two people ties are dropped; scene 0 has 10 pairs, scene 1 has 6: 16 - 2 = 14
    assert accuracy(S, y, scene, 0.0)[1][0] == 14


def test_a_perfect_a_reversed_and_a_constant_metric():
    rng = np.random.default_rng(0)
    y = rng.normal(size=30)
    scene = np.repeat(np.arange(3), 10)
    S = np.column_stack([2 * y + 1, -y, np.zeros(30)])
    acc, n = accuracy(S, y, scene, 0.1)
    assert list(acc) == [1.0, 0.0, 0.5] and len(set(n)) == 1


def test_tie_band_is_the_stated_multiple_of_the_median_se_of_a_difference():
    rng = np.random.default_rng(1)
    scene = np.array([0, 0, 0, 1, 1, 1])
    item = np.concatenate([np.repeat(np.arange(5), [4, 6, 3, 5, 7]), [5]])  # item 5: one rating, no SE
    z = rng.normal(size=item.size)
    se2 = {i: np.var(z[item == i], ddof=1) / (item == i).sum() for i in range(5)}
    pairs = [(0, 1), (0, 2), (1, 2), (3, 4)]  # (3, 5), (4, 5): item 5 has no SE
    want = 1.96 * np.median([np.sqrt(se2[i] + se2[j]) for i, j in pairs])
    assert tie_band(item, z, scene) == pytest.approx(want, rel=1e-12)
    assert tie_band(np.arange(6), z[:6], scene) == 0.0  # nobody rated twice


def test_replicates_equal_a_loop_over_drawn_scenes_with_the_brute_count():
    rng = np.random.default_rng(3)
    n_items, raters = 12, 6
    scene = np.repeat(np.arange(3), 4)
    item = np.repeat(np.arange(n_items), raters)
    rater = np.tile(np.arange(raters), n_items)
    z = np.round(rng.normal(size=item.size), 1)
    reps = draw(item, rater, z, z, scene, n_resamples=20, seed=4)
    s = np.round(rng.normal(size=n_items), 1)
    got = replicate_accuracy(s[:, None], reps, 0.2)[:, 0]
    for b in range(reps.n):
        score = n = 0.0
        for d in reps.scene_draws[b]:
            m = np.flatnonzero(scene == d)
            acc, k = _brute(s[m], reps.mean_z[m, b], np.zeros(m.size), 0.2)
            score, n = score + acc * k, n + k
        assert got[b] == pytest.approx(score / n, abs=1e-12)


def test_half_vs_half_equals_a_brute_count_per_split():
    rng = np.random.default_rng(5)
    scene = np.repeat(np.arange(2), 5)
    item = np.repeat(np.arange(10), 6)
    z = rng.normal(size=item.size) + np.repeat(rng.normal(size=10), 6)
    h = split_halves(item, np.arange(item.size), z, scene, n_splits=4, n_resamples=3, seed=1)
    result = half_vs_half(h, 0.3)
    accs = []
    for k in range(4):
        score = n = 0.0
        for judge, truth in ((h.a[:, k], h.b[:, k]), (h.b[:, k], h.a[:, k])):
            acc, cnt = _brute(judge, truth, scene, 0.3)
            score, n = score + acc * cnt, n + cnt
        accs.append(score / n)
    assert result["value"] == pytest.approx(np.mean(accs), abs=1e-12)
    assert result["tie_band"] == 0.3 and len(result["ci"]) == 2


def test_agreement_reports_the_ceiling_and_each_metrics_pairwise_accuracy(tmp_path, capsys):
    folder = write_rated_folder(tmp_path / "set", scenes=3, tests=6, raters=12)
    code = main(["agreement", str(folder), "--metrics", "mse_ab,colorfulness", "--json", "--resamples", "100",
                 "--out", str(tmp_path / "out")])
    out, err = capsys.readouterr()
    assert code == 0, err
    result = json.loads(out)
    ceiling = result["ceiling"]
    assert ceiling["ci"][0] <= ceiling["srcc"] <= 1 and set(ceiling["within_scene"]) == {"srcc", "ci"}
    assert 0.5 < ceiling["pairwise_acc"]["value"] <= 1 and ceiling["n_images_split"] == 18
    per_image = pd.read_csv(tmp_path / "out" / "per_image.csv")
    band = result["pairwise"]["tie_band"]
    y, scene = per_image["mean_z"].to_numpy(), per_image["scene"].to_numpy()
    for name, sign in (("mse_ab", -1), ("colorfulness", 1)):
        m = result["metrics"][name]
        want, n = _brute(sign * per_image[name].to_numpy(), y, scene, band)
        assert m["pairwise_acc"]["value"] == pytest.approx(want, abs=1e-12) and m["pairwise_acc"]["n_pairs"] == n
        assert m["pairwise_acc"]["tie_band"] == band and len(m["pairwise_acc"]["ci"]) == 2
        assert m["of_ceiling"]["srcc"] == pytest.approx(m["srcc"] / ceiling["srcc"])
    text = main(["agreement", str(folder), "--metrics", "mse_ab", "--resamples", "20"])
    assert text == 0 and "people's ceiling (split-half, Spearman-Brown" in capsys.readouterr().out
    html = (tmp_path / "out" / "index.html").read_text()
    assert "People's ceiling and pairwise accuracy" in html and "half vs half" in html
