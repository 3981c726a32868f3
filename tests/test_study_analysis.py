"""Study analysis: the two-way bootstrap against brute force and in simulation (planted values,
coverage), Krippendorff's alpha against published values and the coincidence-matrix formula,
vigilance exclusions, and the whole pipeline recovering a planted ordering of baselines."""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from ci_browser.synthetic_run import SCRIPT_NAME, build_run
from scipy.special import expit
from scipy.stats import norm

from colorbench.stats import bootstrap_ci, rater_cells, two_way_draw
from colorbench.study.analysis import analyze, format_table, krippendorff_alpha
from colorbench.study.bootstrap import two_way_bootstrap, weighted_means
from colorbench.study.create import CreateOptions, create_study
from colorbench.study.spec import DB_FILE
from colorbench.study.store import Store
from colorbench.study.trials import session_schedule
from colorbench.study.votes import exclusions

MOS_MEANS = {"a": 3.9, "b": 3.3, "c": 2.7, "d": 2.1}
MOS_SD = {"rater": 0.4, "image": 0.5, "interaction": 0.3, "noise": 0.7}


def planted_mos(mu: float) -> float:
    """E[clip(round(X), 1, 5)] for X ~ N(mu, total sd): the population MOS the study estimates."""
    sd = np.sqrt(sum(v * v for v in MOS_SD.values()))
    p = np.diff(np.concatenate([[0.0], norm.cdf((np.arange(1, 5) + 0.5 - mu) / sd), [1.0]]))
    return float((np.arange(1, 6) * p).sum())


def simulate_mos(rng, n_raters: int, n_images: int) -> pd.DataFrame:
    """Every rater rates every image under every system: mean + rater bias + image + interaction + noise."""
    bias, image = rng.normal(0, MOS_SD["rater"], n_raters), rng.normal(0, MOS_SD["image"], n_images)
    r, i = (g.ravel() for g in np.meshgrid(np.arange(n_raters), np.arange(n_images), indexing="ij"))
    frames = []
    for system, mu in MOS_MEANS.items():
        x = mu + bias[r] + image[i] + rng.normal(0, MOS_SD["interaction"], n_images)[i] + rng.normal(0, MOS_SD["noise"], r.size)
        frames.append(pd.DataFrame({"rater": [f"r{k}" for k in r], "dataset": "d", "image_id": [f"i{k}" for k in i],
                                    "system": system, "score": np.clip(np.rint(x), 1, 5).astype(int)}))
    return pd.concat(frames, ignore_index=True)


def test_weighted_means_equal_the_mean_of_the_expanded_resample():
    rng = np.random.default_rng(3)
    sums, counts = np.zeros((5, 4)), np.zeros((5, 4))
    responses = [(int(rng.integers(5)), int(rng.integers(4)), int(rng.integers(1, 6))) for _ in range(30)]
    for r, i, s in responses:
        sums[r, i] += s
        counts[r, i] += 1
    rater_w, scene_w = rng.multinomial(5, [0.2] * 5, size=50), rng.multinomial(4, [0.25] * 4, size=50)
    got = weighted_means(sums, counts, rater_w, scene_w)
    for b in range(50):  # brute force: each response repeated (times its rater drawn) x (times its scene drawn)
        expanded = [s for r, i, s in responses for _ in range(rater_w[b, r] * scene_w[b, i])]
        assert (np.isnan(got[b]) and not expanded) or got[b] == pytest.approx(np.mean(expanded), rel=1e-12)


def test_two_way_bootstrap_draws_raters_in_chunks_equal_to_one_dense_draw_and_stays_small():
    """The replicates equal weighted_means over one (B, R) rater draw followed by each dataset's
    scene draw (the documented stream), and the draw never holds raters x replicates."""
    import tracemalloc

    rng = np.random.default_rng(4)
    frame = pd.DataFrame({"rater": [f"r{k}" for k in rng.integers(0, 40, 600)], "dataset": rng.choice(["d1", "d2"], 600),
                          "image_id": [f"i{k}" for k in rng.integers(0, 6, 600)], "system": rng.choice(["a", "b"], 600),
                          "score": rng.integers(1, 6, 600)})
    got = {(e.dataset, e.system): e for e in two_way_bootstrap(frame, n_resamples=300, seed=2)}
    draws = np.random.default_rng(2)
    raters = sorted(frame["rater"].unique())
    rater_w = draws.multinomial(len(raters), np.full(len(raters), 1 / len(raters)), size=300)
    for dataset, part in frame.groupby("dataset", sort=False):
        scenes = sorted(part["image_id"].unique())
        scene_w = draws.multinomial(len(scenes), np.full(len(scenes), 1 / len(scenes)), size=300)
        for system, mine in part.groupby("system", sort=False):
            sums, counts = np.zeros((len(raters), len(scenes))), np.zeros((len(raters), len(scenes)))
            np.add.at(sums, (mine["rater"].map(raters.index), mine["image_id"].map(scenes.index)), mine["score"])
            np.add.at(counts, (mine["rater"].map(raters.index), mine["image_id"].map(scenes.index)), 1.0)
            reps = weighted_means(sums, counts, rater_w, scene_w)
            lo, hi = np.quantile(reps[~np.isnan(reps)], [0.025, 0.975])
            assert (got[dataset, system].ci_low, got[dataset, system].ci_high) == (lo, hi)
    # 20000 raters x 400 replicates would be 64 MB of rater counts alone
    big = pd.DataFrame({"rater": np.arange(40000) % 20000, "dataset": "d", "image_id": rng.integers(0, 10, 40000),
                        "system": "a", "score": rng.integers(1, 6, 40000)})
    tracemalloc.start()
    two_way_bootstrap(big, n_resamples=400)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 24e6, f"{peak / 1e6:.1f} MB"


def test_study_and_agreement_share_one_two_way_draw():
    """colorbench.stats.two_way_draw, the draw of `study analyze` (scenes as counts) and of
    `colorbench agreement` (scenes as indices): the rater draw first, shared by every cell, then
    each scene group; equal to dense formulas over the documented random stream."""
    rng = np.random.default_rng(8)
    row, rater, values = rng.integers(0, 6, 200), rng.integers(0, 9, 200), rng.integers(1, 6, 200).astype(float)
    values[:5] = np.nan  # left out, as a rating without a z-score
    sums, counts = np.zeros((6, 9)), np.zeros((6, 9))
    np.add.at(sums, (row[5:], rater[5:]), values[5:])
    np.add.at(counts, (row[5:], rater[5:]), 1.0)
    cells = [rater_cells(row, rater, values, 6, 9)]
    for scenes in ("counts", "indices"):
        ((got_sums, got_counts),), (drawn,) = two_way_draw(cells, 9, [4], 50, seed=3, scenes=scenes)
        stream = np.random.default_rng(3)
        w = stream.multinomial(9, np.full(9, 1 / 9), size=50).T.astype(float)
        expected = stream.multinomial(4, np.full(4, 1 / 4), size=50) if scenes == "counts" else stream.integers(0, 4, size=(50, 4))
        assert np.array_equal(got_sums, sums @ w) and np.array_equal(got_counts, counts @ w) and np.array_equal(drawn, expected)
    (means,), _ = two_way_draw(cells, 9, [4], 50, seed=3, ratio=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        np.testing.assert_array_equal(means, (sums @ w) / (counts @ w))


def test_mos_cis_cover_the_planted_values_about_95_percent():
    """Observed: 94.9% over 4000 intervals (1000 repetitions); here 300 repetitions x 4 systems.
    Tolerance 0.92-0.975 (about 3 binomial SEs, widened for the 4 correlated systems per repetition).
    A naive bootstrap treating responses as independent covers far less: the test can tell."""
    truth = {s: planted_mos(mu) for s, mu in MOS_MEANS.items()}
    hits = naive = n = 0
    for rep in range(300):
        frame = simulate_mos(np.random.default_rng(1000 + rep), n_raters=15, n_images=15)
        for e in two_way_bootstrap(frame, n_resamples=1000, seed=rep):
            n += 1
            hits += e.ci_low <= truth[e.system] <= e.ci_high
            lo, hi = bootstrap_ci(frame.loc[frame["system"] == e.system, "score"], n_resamples=1000, seed=rep)
            naive += lo <= truth[e.system] <= hi
    print(f"two-way bootstrap coverage {hits / n:.3f}, naive {naive / n:.3f} over {n} intervals")
    assert 0.92 <= hits / n <= 0.975
    assert naive / n < 0.85


FOOL_LOGIT = {"a": 0.0, "b": -0.6, "c": -1.3}
FOOL_SD = {"rater": 1.0, "image": 1.2}


def planted_fool_rate(mu: float) -> float:
    x, w = np.polynomial.hermite_e.hermegauss(80)
    return float((w * expit(mu + np.hypot(FOOL_SD["rater"], FOOL_SD["image"]) * x)).sum() / w.sum())


def simulate_2afc(rng, n_raters: int, n_images: int) -> pd.DataFrame:
    """The study's 2AFC design: rater k sees scene j once, with system (j + k) mod B."""
    bias, image = rng.normal(0, FOOL_SD["rater"], n_raters), rng.normal(0, FOOL_SD["image"], n_images)
    names, rows = list(FOOL_LOGIT), []
    for k in range(n_raters):
        for j in range(n_images):
            s = names[(j + k) % len(names)]
            rows.append((f"r{k}", "d", f"i{j}", s, int(rng.random() < expit(FOOL_LOGIT[s] + bias[k] + image[j]))))
    return pd.DataFrame(rows, columns=["rater", "dataset", "image_id", "system", "score"])


def test_fool_rate_cis_are_at_least_nominal():
    """Observed here 0.965 (200 repetitions x 3 systems, 30 raters x 24 scenes); 0.969 at 30 x 30 and
    0.989 at 30 x 12 (300 repetitions each). With one 0/1 answer per cell the residual variance
    dominates and the two-way bootstrap counts it about three times (Owen 2007): 2AFC intervals are
    conservative, never too narrow."""
    truth = {s: planted_fool_rate(mu) for s, mu in FOOL_LOGIT.items()}
    hits = n = 0
    for rep in range(200):
        for e in two_way_bootstrap(simulate_2afc(np.random.default_rng(5000 + rep), 30, 24), n_resamples=1000, seed=rep):
            n += 1
            hits += e.ci_low <= truth[e.system] <= e.ci_high
    print(f"fool-rate coverage {hits / n:.3f} over {n} intervals")
    assert 0.93 <= hits / n <= 1.0


KRIPPENDORFF_2011 = np.array([  # Krippendorff (2011), "Computing Krippendorff's alpha-reliability": 4 observers x 12 units
    [1, 2, 3, 3, 2, 1, 4, 1, 2, np.nan, np.nan, np.nan],
    [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, np.nan, 3],
    [np.nan, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, np.nan],
    [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, np.nan],
])


def _long(matrix: np.ndarray) -> pd.DataFrame:
    return pd.DataFrame([(f"r{r}", f"t{u}", int(v)) for (r, u), v in np.ndenumerate(matrix) if not np.isnan(v)], columns=["rater", "trial", "score"])


def ordinal_alpha_by_formula(matrix: np.ndarray) -> float:
    """The coincidence-matrix formula, with the ordinal metric over the observed values."""
    values = np.unique(matrix[~np.isnan(matrix)])
    o = np.zeros((values.size, values.size))
    for unit in matrix.T:
        v = unit[~np.isnan(unit)]
        if v.size < 2:
            continue
        idx = np.searchsorted(values, v)
        for a in range(v.size):
            for b in range(v.size):
                if a != b:
                    o[idx[a], idx[b]] += 1.0 / (v.size - 1)
    n_c = o.sum(axis=1)
    cum = np.cumsum(n_c)
    delta = np.array([[(cum[max(c, k)] - (cum[min(c, k) - 1] if min(c, k) else 0) - (n_c[c] + n_c[k]) / 2) ** 2
                       for k in range(values.size)] for c in range(values.size)])
    expected = (np.outer(n_c, n_c) * delta).sum() / (n_c.sum() - 1)
    return 1.0 - (o * delta).sum() / expected


def test_krippendorff_alpha_matches_published_values_and_the_formula():
    got = krippendorff_alpha(_long(KRIPPENDORFF_2011), "mos")
    assert got["value"] == pytest.approx(0.815, abs=5e-4) and got["units"] == 11  # unit 12 has one value: not pairable
    assert ordinal_alpha_by_formula(KRIPPENDORFF_2011) == pytest.approx(0.815, abs=5e-4)
    rng = np.random.default_rng(7)
    for _ in range(5):
        m = rng.integers(1, 6, size=(6, 15)).astype(float)
        m = np.clip(m + np.arange(15)[None, :] % 3 - 1, 1, 5)  # some agreement across raters
        m[rng.random(m.shape) < 0.25] = np.nan
        got = krippendorff_alpha(_long(m), "mos")["value"]
        keep = (~np.isnan(m)).sum(axis=0) >= 2
        assert got == pytest.approx(ordinal_alpha_by_formula(m[:, keep]), abs=1e-9)
    assert krippendorff_alpha(_long(KRIPPENDORFF_2011[:1]), "mos")["value"] is None  # one rater: nothing to agree on


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    return build_run(tmp_path_factory.mktemp("analysis") / "run-1")


def _study(run_dir, design, name, **opts):
    folder, study = create_study(run_dir, CreateOptions(design, name=name, **opts))
    return folder, study, Store(folder / DB_FILE, study.fingerprint)


def _vote(store, study, choose, n: int) -> list[int]:
    """n raters answering every trial of their schedule; choose(trial, real_side, rater_index) -> (response, score)."""
    ids = []
    for k in range(n):
        token = store.new_session(lambda tok, index: session_schedule(study, tok, index), origin="invite")
        session = store.session(token)
        for trial_id, side in session.schedule:
            response, score = choose(study.trial(trial_id), side, k)
            assert store.record(session.id, trial_id, study.trial(trial_id).kind, str(response), score, 500)
        ids.append(session.id)
    return ids


def test_vigilance_exclusion_threshold(run_dir):
    folder, study, store = _study(run_dir, "mos", "vig", per_baseline=1, practice=0, vigilance=4, vigilance_max_fail=0.25)
    vig = [t for t in study.trials if t.kind == "vigilance"]

    def votes(fails: int, rater: str) -> pd.DataFrame:
        return pd.DataFrame({"rater": rater, "kind": "vigilance", "trial": [t.id for t in vig], "score": [5] * fails + [1] * (4 - fails)})

    main = pd.DataFrame({"rater": ["r9"], "kind": ["main"], "trial": ["x"], "score": [3]})
    excluded, unchecked = exclusions(study, pd.concat([votes(1, "r1"), votes(2, "r2"), votes(4, "r3"), main]))
    assert [(e["rater"], e["failed"]) for e in excluded] == [("r2", 2), ("r3", 4)] and unchecked == ["r9"]


def test_planted_mos_ordering_is_recovered_end_to_end(run_dir):
    folder, study, store = _study(run_dir, "mos", "planted-mos", per_baseline=3, practice=1, vigilance=2, datasets=["tiny-a"])
    means = {"": 4.4, "cnn": 3.7, "pix2pix": 2.9, SCRIPT_NAME: 2.1}
    rng = np.random.default_rng(11)
    bias = rng.normal(0, 0.3, 20)

    def choose(trial, _side, k):
        if trial.kind == "vigilance":
            score = 5 if k == 0 else 1  # rater 0 fails every vigilance trial
        else:
            score = int(np.clip(np.rint(means[trial.system] + bias[k] + rng.normal(0, 0.6)), 1, 5))
        return score, score

    ids = _vote(store, study, choose, 20)
    result = analyze(folder)
    assert [s["system"] for s in sorted(result["scores"], key=lambda s: -s["value"])] == list(means)
    assert all(s["ci_low"] < s["value"] < s["ci_high"] for s in result["scores"])
    assert [e["rater"] for e in result["excluded"]] == [f"r{ids[0]:03d}"]
    n_main = sum(t.kind == "main" for t in study.trials)
    assert result["responses"]["counted"] == 19 * n_main and result["responses"]["main_from_excluded"] == n_main
    assert result["raters"] == {"sessions": 20, "with_votes": 20, "complete": 20, "excluded": 1, "counted": 19, "unchecked": 0}
    assert result["alpha"]["value"] > 0.4 and result["alpha"]["units"] == n_main
    assert (folder / "analysis.json").is_file() and "ground truth (hidden reference)" in format_table(result)


def test_planted_fool_rate_ordering_is_recovered_end_to_end(run_dir):
    folder, study, store = _study(run_dir, "2afc", "planted-2afc", per_baseline=3, practice=1, vigilance=2, datasets=["tiny-a"])
    rates = {"cnn": 0.45, "pix2pix": 0.25, SCRIPT_NAME: 0.05}
    seen = dict.fromkeys(rates, 0)

    def choose(trial, real_side, _k):
        # the planted rate exactly, whatever order the random schedules bring the trials in:
        # a system's c-th main trial fools when floor(c * rate) steps up
        fake = "left" if real_side == "right" else "right"
        if trial.kind != "main":
            return real_side, 0
        c = seen[trial.system] = seen[trial.system] + 1
        fooled = math.floor(c * rates[trial.system]) > math.floor((c - 1) * rates[trial.system])
        return (fake, 1) if fooled else (real_side, 0)

    _vote(store, study, choose, 45)
    result = analyze(folder)
    assert result["measure"] == "fool_rate" and result["excluded"] == []
    assert all(s["n_responses"] == 45 for s in result["scores"])  # the rotation: 45 raters x 3 scenes / 3 baselines
    assert {s["system"]: s["value"] for s in result["scores"]} == pytest.approx(
        {name: math.floor(45 * rate) / 45 for name, rate in rates.items()}, rel=1e-12, abs=0)
    assert [s["system"] for s in sorted(result["scores"], key=lambda s: -s["value"])] == list(rates)
