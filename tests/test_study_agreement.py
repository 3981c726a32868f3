"""Study folders in the agreement analysis: `colorbench agreement STUDY_DIR` and `study analyze`
score the study's trials with the same code as any rated set, on simulated votes that follow an
independently computed PSNR (skimage) of each trial's image."""
from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from ci_browser.synthetic_run import build_run
from PIL import Image
from scipy import stats
from skimage.metrics import peak_signal_noise_ratio

from colorbench.cli import main
from colorbench.study.analysis import analyze, format_table
from colorbench.study.create import CreateOptions, create_study
from colorbench.study.spec import DB_FILE, IMAGES_DIR
from colorbench.study.store import Store
from colorbench.study.trials import session_schedule


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    return build_run(tmp_path_factory.mktemp("human-study") / "run-1")


def _psnr(folder, trial) -> float:
    read = lambda name: np.asarray(Image.open(folder / IMAGES_DIR / name).convert("RGB"))  # noqa: E731
    return float(peak_signal_noise_ratio(read(trial.reference), read(trial.test), data_range=255))


def _study_with_votes(run_dir, design: str, raters: int, seed: int, name: str | None = None, include_references: bool = False):
    """A study whose raters answer by the trial image's PSNR plus rater noise (vigilance passed);
    an output identical to the photo (the oracle: PSNR inf) is rated as the photo itself."""
    folder, study = create_study(run_dir, CreateOptions(design, name=name or f"agree-{design}", per_baseline=4, practice=1,
                                                        vigilance=1, include_references=include_references))
    store = Store(folder / DB_FILE, study.fingerprint)
    psnr = {t.id: _psnr(folder, t) for t in study.trials if t.kind == "main" and t.system}
    finite = [v for v in psnr.values() if np.isfinite(v)]
    lo, hi = min(finite), max(finite)
    rng = np.random.default_rng(seed)
    for _ in range(raters):
        token = store.new_session(lambda tok, index: session_schedule(study, tok, index), origin="invite")
        session = store.session(token)
        for trial_id, real_side in session.schedule:
            t = study.trial(trial_id)
            quality = min(1.0, (psnr[t.id] - lo) / (hi - lo)) if t.id in psnr else 1.0  # the hidden reference: best
            if design == "mos":
                score = 1 if t.kind == "vigilance" else int(np.clip(np.rint(1 + 4 * quality + rng.normal(0, 0.6)), 1, 5))
                response = score
            else:  # picked the colourisation as real (1) more often the closer it is to the photo
                score = 0 if t.kind == "vigilance" else int(rng.uniform() < quality)
                response = ("left" if real_side == "right" else "right") if score else real_side
            store.record(session.id, trial_id, t.kind, str(response), score, 300)
    return folder, study, psnr


def test_agreement_of_a_2afc_study_folder_equals_an_independent_recomputation(run_dir, capsys):
    folder, study, psnr = _study_with_votes(run_dir, "2afc", raters=10, seed=1)
    assert main(["agreement", str(folder), "--metrics", "psnr", "--json", "--resamples", "200"]) == 0
    result = json.loads(capsys.readouterr().out)
    # independently: each trial's fool rate from the raw votes, against skimage's PSNR
    assert main(["study", "export", str(folder)]) == 0
    capsys.readouterr()
    ratings = pd.read_csv(folder / "export" / "ratings.csv", dtype={"item": str})
    fool = ratings.groupby("item")["score"].mean()
    ids = sorted(psnr)
    assert result["n"] == len(ids) == len(fool) and result["zscore"]["method"] == "none"
    m = result["metrics"]["psnr"]
    assert m["srcc"] == pytest.approx(stats.spearmanr([psnr[i] for i in ids], fool[ids])[0], abs=1e-12)
    assert m["krcc"] == pytest.approx(stats.kendalltau([psnr[i] for i in ids], fool[ids])[0], abs=1e-12)
    assert m["srcc"] > 0.3 and m["srcc_ci"][0] < m["srcc"] < m["srcc_ci"][1]
    systems = {t.system for t in study.trials if t.kind == "main"}
    assert sorted(r["system"] for r in result["systems"]["people"]) == sorted(systems)
    # the exported rated folder is the same rated set: the same numbers
    assert main(["agreement", str(folder / "export"), "--metrics", "psnr", "--json", "--resamples", "200"]) == 0
    again = json.loads(capsys.readouterr().out)
    assert again["metrics"] == result["metrics"] and again["systems"] == result["systems"]


def test_study_analyze_reports_each_metrics_agreement_with_the_same_code(run_dir, capsys):
    folder, study, psnr = _study_with_votes(run_dir, "mos", raters=8, seed=2)
    result = analyze(folder)
    agreement = result["agreement"]
    assert agreement["reason"] == "" and agreement["zscore"]["method"] == "difference"  # hidden references rated
    assert agreement["n"] == len(psnr) and agreement["items"]["references"] == len({t.image_id for t in study.trials if t.kind == "main"})
    assert "lpips" in agreement["metrics_failed"] or "lpips" in agreement["metrics_left_out"] or "lpips" in agreement["metrics"]
    assert agreement["metrics"]["psnr"]["srcc"] > 0.5  # votes follow PSNR
    assert json.loads((folder / "analysis.json").read_text())["agreement"]["metrics"] == agreement["metrics"]
    assert "agreement of the metrics with people" in format_table(result) and "psnr" in format_table(result)
    assert main(["agreement", str(folder), "--metrics", "psnr", "--json"]) == 0  # the defaults analyze uses
    assert json.loads(capsys.readouterr().out)["metrics"]["psnr"] == agreement["metrics"]["psnr"]


def test_a_study_without_votes_has_no_agreement_and_says_why(run_dir, capsys):
    folder, _ = create_study(run_dir, CreateOptions("mos", name="agree-empty", per_baseline=2, practice=1, vigilance=1))
    result = analyze(folder)
    assert result["agreement"]["reason"] and "no ratings" in result["agreement"]["reason"]
    assert main(["agreement", str(folder), "--metrics", "psnr"]) == 4
    err = capsys.readouterr().err
    assert "no ratings" in err and len(err.strip().splitlines()) == 1


@pytest.mark.parametrize("design", ["2afc", "mos"])
def test_references_are_known_by_role_not_by_identical_files(run_dir, capsys, design):
    """The oracle's output is byte-identical to the photo, so its trials show the same image file
    as the reference; they are still the oracle's trials, and only the hidden reference is one."""
    folder, study, _ = _study_with_votes(run_dir, design, raters=6, seed=4, name=f"roles-{design}", include_references=True)
    oracle = [t for t in study.trials if t.kind == "main" and t.system == "oracle"]
    assert oracle and all(t.test == t.reference for t in oracle)  # the premise: same file
    hidden = [t for t in study.trials if t.kind == "main" and t.system == ""]
    assert main(["agreement", str(folder), "--metrics", "mse", "--json", "--resamples", "50"]) == 0, capsys.readouterr().err
    result = json.loads(capsys.readouterr().out)
    assert result["items"]["references"] == len(hidden) == (0 if design == "2afc" else 8)
    assert result["zscore"]["method"] == ("none" if design == "2afc" else "difference")
    assert result["n"] == sum(t.kind == "main" and t.system != "" for t in study.trials)
    assert "oracle" in [p["system"] for p in result["systems"]["people"]]
    assert main(["study", "export", str(folder)]) == 0  # the exported folder says the same
    capsys.readouterr()
    assert main(["agreement", str(folder / "export"), "--metrics", "mse", "--json", "--resamples", "50"]) == 0
    again = json.loads(capsys.readouterr().out)
    assert again["items"]["references"] == result["items"]["references"] and again["metrics"] == result["metrics"]


def test_agreement_out_of_a_small_study_shows_a_metric_without_values_as_missing(run_dir, tmp_path, capsys):
    """msssim_ab has no value under 176 px: the 24 px study's report says so instead of crashing."""
    folder, study, _ = _study_with_votes(run_dir, "mos", raters=5, seed=5, name="no-msssim", include_references=True)
    out = tmp_path / "report"
    code = main(["agreement", str(folder), "--metrics", "mse,msssim_ab", "--resamples", "50", "--out", str(out)])
    text, err = capsys.readouterr()
    assert code == 0, err
    result = json.loads((out / "agreement.json").read_text())
    systems = sorted({t.system for t in study.trials if t.kind == "main" and t.system})
    missing = result["systems"]["metrics"]["msssim_ab"]
    assert missing["values"] == dict.fromkeys(systems) and missing["ranking"] == [] and missing["kendall_tau"] is None
    table = pd.read_csv(out / "systems.csv", dtype=str, keep_default_na=False)
    assert sorted(table["system"]) == systems and set(table["msssim_ab_rank"]) == {""}
    assert sorted(table["mse_rank"].astype(int)) == list(range(1, len(systems) + 1))
    line = next(line for line in text.splitlines() if "msssim_ab: no value for" in line)
    assert all(s in line for s in systems)
    html = (out / "index.html").read_text()
    assert "msssim_ab" in html and "no value" in html


def test_human_sits_below_study():
    """human/ (the rated-folder format, agreement statistics) never imports colorbench.study: a study
    folder reaches `colorbench agreement` through the reader the command hands to human.sets.load."""
    import ast
    from pathlib import Path

    import colorbench.human

    upward = []
    for path in sorted(Path(colorbench.human.__file__).parent.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else \
                [node.module or ""] if isinstance(node, ast.ImportFrom) and node.level == 0 else []
            upward += [f"{path.name}: {n}" for n in names if n == "colorbench.study" or n.startswith("colorbench.study.")]
    assert upward == []
