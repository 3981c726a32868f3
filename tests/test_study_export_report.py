"""`study export` (the shared rated-folder format) and the report's People data and partial."""
from __future__ import annotations

import json
import shutil

import numpy as np
import pandas as pd
import pytest
from ci_browser.synthetic_run import SCRIPT_NAME, build_run

from colorbench.cli import main
from colorbench.human.folder import ITEM_COLUMNS, ROLE_COLUMN
from colorbench.report.people import people_section
from colorbench.results import read_results
from colorbench.study.analysis import analyze
from colorbench.study.create import CreateOptions, create_study
from colorbench.study.export import RATING_COLUMNS
from colorbench.study.folder import STUDY_MARKER
from colorbench.study.spec import DB_FILE, file_sha256
from colorbench.study.store import Store
from colorbench.study.trials import session_schedule


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    return build_run(tmp_path_factory.mktemp("export") / "run-1")


def _study(run_dir, design, name, **opts):
    folder, study = create_study(run_dir, CreateOptions(design, name=name, practice=1, vigilance=2, **opts))
    return folder, study, Store(folder / DB_FILE, study.fingerprint)


def _rater(store, study, choose) -> str:
    token = store.new_session(lambda tok, index: session_schedule(study, tok, index), origin="invite")
    session = store.session(token)
    for trial_id, side in session.schedule:
        response, score = choose(study.trial(trial_id), side)
        store.record(session.id, trial_id, study.trial(trial_id).kind, str(response), score, 250)
    return session.rater


def _read(path) -> pd.DataFrame:
    return pd.read_csv(path, dtype=str, keep_default_na=False)


def test_mos_export_is_the_rated_folder_format(run_dir):
    folder, study, store = _study(run_dir, "mos", "export-mos", per_baseline=2)
    honest = lambda t, _s: (1, 1) if t.kind == "vigilance" else (4, 4) if t.system == "" else (2, 2)  # noqa: E731
    careless = lambda t, _s: (5, 5) if t.kind == "vigilance" else (3, 3)  # noqa: E731
    kept = [_rater(store, study, honest), _rater(store, study, honest)]
    dropped = _rater(store, study, careless)
    assert main(["study", "export", str(folder)]) == 0
    export = folder / "export"
    items, ratings = _read(export / "items.csv"), _read(export / "ratings.csv")
    assert list(items.columns) == [*ITEM_COLUMNS, ROLE_COLUMN] and list(ratings.columns) == RATING_COLUMNS
    main_trials = {t.id: t for t in study.trials if t.kind == "main"}
    assert sorted(items["item"]) == sorted(main_trials)
    for row in items.itertuples():
        t = main_trials[row.item]
        assert row.scene == f"{t.dataset}/{t.image_id}" and row.system == t.system
        assert file_sha256(export / row.reference) == study.images[t.reference] and file_sha256(export / row.test) == study.images[t.test]
        assert (row.test == row.reference) == (row.system == "") == (row.role == "reference")
    assert sorted(set(ratings["rater"])) == sorted(kept) and dropped not in set(ratings["rater"])
    assert len(ratings) == 2 * len(main_trials) and set(ratings["item"]) == set(main_trials)  # no practice or vigilance rows
    assert set(ratings["design"]) == {"mos"} and set(ratings["scale_min"]) == {"1"} and set(ratings["scale_max"]) == {"5"}
    expected = {"": "4"}
    assert all(s == expected.get(main_trials[i].system, "2") for i, s in zip(ratings["item"], ratings["score"]))
    info = json.loads((export / "export.json").read_text())
    assert (info["raters_counted"], info["raters_excluded"], info["ratings"], info["items"]) == (2, 1, len(ratings), len(items))
    assert info["not_written"] == {"practice": 3, "vigilance": 6, "main_from_excluded_raters": len(main_trials)}
    assert info["run_id"] == "run-1" and info["study_fingerprint"] == study.fingerprint
    assert main(["study", "export", str(folder)]) == 0  # again: replaced whole
    assert [p.name for p in folder.iterdir() if p.name.startswith(".")] == [STUDY_MARKER]  # no staging left


def test_2afc_export_scores_one_when_the_colourisation_was_picked(run_dir):
    folder, study, store = _study(run_dir, "2afc", "export-2afc", per_baseline=3)

    def choose(t, real_side):
        fake = "left" if real_side == "right" else "right"
        return (fake, 1) if t.kind == "main" and t.system == "cnn" else (real_side, 0)

    for _ in range(3):
        _rater(store, study, choose)
    assert main(["study", "export", str(folder)]) == 0
    items, ratings = _read(folder / "export" / "items.csv"), _read(folder / "export" / "ratings.csv")
    system = dict(zip(items["item"], items["system"]))
    assert set(ratings["scale_min"]) == {"0"} and set(ratings["scale_max"]) == {"1"} and set(ratings["design"]) == {"2afc"}
    assert all(s == ("1" if system[i] == "cnn" else "0") for i, s in zip(ratings["item"], ratings["score"]))
    assert len(ratings) == 3 * 6  # each rater sees each of the 2 x 3 main scenes once


@pytest.fixture(scope="module")
def people_run(run_dir):
    """An analysed MOS study in which people order the baselines against psnr, and a broken study."""
    results = read_results(run_dir)
    psnr = results[(results["dataset"] == "tiny-a") & (results["metric"] == "psnr")].set_index("baseline")["value"]
    by_psnr = sorted(["cnn", "pix2pix", SCRIPT_NAME], key=lambda b: -psnr[b])
    means = dict(zip(reversed(by_psnr), (4.6, 3.0, 1.4)))
    folder, study, store = _study(run_dir, "mos", "people", per_baseline=4, datasets=["tiny-a"])
    rng = np.random.default_rng(5)
    for _ in range(12):
        _rater(store, study, lambda t, _s: (1, 1) if t.kind == "vigilance" else (
            lambda v: (v, v))(int(np.clip(np.rint((4.0 if t.system == "" else means[t.system]) + rng.normal(0, 0.4)), 1, 5))))
    analyze(folder)
    broken = run_dir / "studies" / "zz-broken"
    broken.mkdir()
    (broken / "analysis.json").write_text("{")
    return run_dir, results, by_psnr, means


def test_people_section_data_and_disagreements(people_run):
    run_dir, results, by_psnr, means = people_run
    data = people_section(run_dir)
    names = [d["name"] for d in data]
    assert "people" in names and names[-1] == "zz-broken" and "unreadable" in data[-1]["error"]
    entry = data[names.index("people")]
    assert entry["error"] == "" and entry["warnings"] == [] and entry["measure_label"] == "MOS (1–5)"
    (ds,) = entry["datasets"]
    rows = {r["system"]: r for r in ds["rows"]}
    assert [r["system"] for r in ds["rows"] if not r["reference"]] == list(reversed(by_psnr))  # sorted by human score
    assert rows["cnn"]["metrics"]["psnr"] != "—" and "psnr" in [m["name"] for m in ds["metrics"]]
    assert "colorfulness" not in [m["name"] for m in ds["metrics"]]  # no direction, no disagreement to speak of
    got = {(d["metric"], d["people_prefer"], d["over"]) for d in ds["disagreements"]}
    # independently: every pair with separated human CIs that a directional metric orders the other way
    wide = results[(results["dataset"] == "tiny-a") & results["higher_is_better"].notna()].pivot(index="baseline", columns="metric", values="value")
    hib = results.drop_duplicates("metric").set_index("metric")["higher_is_better"]
    expected = set()
    for a in means:
        for b in means:
            if a != b and rows[a]["ci_low"] > rows[b]["ci_high"]:
                for m in wide.columns:
                    if (wide.loc[b, m] > wide.loc[a, m]) if hib[m] else (wide.loc[b, m] < wide.loc[a, m]):
                        expected.add((m, a, b))
    assert got == expected and {("psnr", by_psnr[-1], by_psnr[0])} <= got


def test_people_partial_renders_escaped(people_run, tmp_path):
    from colorbench.report.render import environment

    run_dir = people_run[0]
    html = environment().get_template("people.html").render(people=people_section(run_dir))
    assert '<section class="people" id="people">' in html and "<h2>People</h2>" in html
    assert "<script>alert(1)</script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert html.count('<table class="people-board"') == 1 and 'class="disagreements"' in html and 'class="alert"' in html
    assert environment().get_template("people.html").render(people=[]).strip() == ""
    empty = tmp_path / "run"
    shutil.copytree(run_dir, empty, ignore=shutil.ignore_patterns("studies"))
    assert people_section(empty) == []


def test_a_stale_analysis_is_flagged(run_dir):
    folder, study, store = _study(run_dir, "2afc", "stale", per_baseline=2)
    _rater(store, study, lambda t, side: (side, 0))
    analyze(folder)
    data = json.loads((folder / "analysis.json").read_text())
    data["fingerprint"], data["run_id"] = "0" * 64, "another-run"
    (folder / "analysis.json").write_text(json.dumps(data))
    (entry,) = [d for d in people_section(run_dir) if d["name"] == "stale"]
    assert len(entry["warnings"]) == 2 and "rerun" in entry["warnings"][0] and "another-run" in entry["warnings"][1]
    assert entry["measure"] == "fool_rate" and entry["datasets"][0]["rows"][0]["value_text"] == "0.0%"


def test_the_run_report_shows_the_people_section(people_run):
    from colorbench.report import render_report

    run_dir = people_run[0]
    html = render_report(run_dir).read_text(encoding="utf-8")
    assert '<section class="people" id="people">' in html and 'data-study="people"' in html
    assert html.index('id="people"') > html.index('class="leaderboard')  # after the leaderboards it answers
