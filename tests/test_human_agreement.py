"""`colorbench agreement` end to end: a tiny synthetic rated folder, the local HECD scenes with
two cheap metrics, missing images, and bad input (one line, the right exit code, nothing written)."""
from __future__ import annotations

import json
import os

import numpy as np
import pandas as pd
import pytest
from _human_fixtures import shared_datasets, write_rated_folder
from scipy import stats

from colorbench.cli import main


def _run(capsys, *argv) -> tuple[int, str, str]:
    code = main(["agreement", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_synthetic_rated_folder_end_to_end(tmp_path, capsys):
    folder = write_rated_folder(tmp_path / "set")
    code, out, err = _run(capsys, str(folder), "--metrics", "mse_ab,ssim,colorfulness", "--json",
                          "--resamples", "200", "--out", str(tmp_path / "out"))
    assert code == 0, err
    result = json.loads(out)
    assert result["n"] == 3 * 6 and result["zscore"]["method"] == "difference"
    per_image = pd.read_csv(tmp_path / "out" / "per_image.csv")
    assert len(per_image) == 18 and "_ref" not in "".join(per_image["item"])  # references left out
    for name, sign in (("mse_ab", -1), ("ssim", 1)):  # lower / higher is better
        m = result["metrics"][name]
        # independent recomputation from the written per-image table, signed by direction
        assert m["srcc"] == pytest.approx(stats.spearmanr(sign * per_image[name], per_image["mean_z"])[0])
        assert m["krcc"] == pytest.approx(stats.kendalltau(sign * per_image[name], per_image["mean_z"])[0])
        assert m["srcc"] > 0.6 and m["srcc_ci"][0] <= m["srcc"] <= m["srcc_ci"][1]
        per_scene = [stats.spearmanr(sign * g[name], g["mean_z"])[0] for _, g in per_image.groupby("scene")]
        assert m["within_scene"]["srcc"] == pytest.approx(np.mean(per_scene))
    people = result["systems"]["people"]
    assert [p["system"] for p in people] == ["sys_a", "sys_b"]  # sys_a drifts least
    assert people[0]["mean_z"] == pytest.approx(per_image.loc[per_image["system"] == "sys_a", "mean_z"].mean())
    assert result["systems"]["metrics"]["mse_ab"]["kendall_tau"] == pytest.approx(1.0)
    html = (tmp_path / "out" / "index.html").read_text()
    assert "<svg" in html and "sys_a" in html and "Within-scene SRCC" in html
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [
        "agreement.json", "index.html", "metrics.csv", "per_image.csv", "per_scene.csv", "systems.csv"]


def test_local_hecd_scenes_two_cheap_metrics(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("COLORBENCH_DATA", str(shared_datasets()))
    monkeypatch.setenv("COLORBENCH_CACHE", str(tmp_path / "cache"))
    code, out, err = _run(capsys, "hecd", "--metrics", "psnr,colorfulness", "--json", "--resamples", "100")
    assert code == 0, err
    result = json.loads(out)
    local = {p.name[:6] for p in (shared_datasets() / "hecd" / "HECDImages").glob("*.jpg")}
    assert result["scenes"] == sorted(local) and result["n"] == 65 * len(local)
    missing = result["items"]["missing_images"]
    assert missing["count"] == 66 * (20 - len(local)) == len(missing["ids"])
    assert f"{missing['count']} item(s) left out (missing images)" in err
    assert result["checks"]["zscore_reproduction"]["max_abs_diff"] < 1e-12
    assert len(result["systems"]["people"]) == 6
    assert result["metrics"]["psnr"]["srcc"] > 0.2  # people do prefer images closer to the truth
    code, out, err = _run(capsys, "hecd", "--metrics", "mse_ab", "--strict", "--json")
    assert code == 4 and out == "" and "missing under --strict" in err and len(err.strip().splitlines()) == 1


@pytest.mark.parametrize("breakage,code,needle", [
    (lambda root: (root / "ratings.csv").write_text("rater,item,score\nr0,s0_t0,3\n"), 4, "lack column(s) scale_min, scale_max"),
    (lambda root: (root / "ratings.csv").open("a").write("r0,ghost,3,1,5,0\n"), 4, "not among the items: ghost"),
    (lambda root: (root / "ratings.csv").open("a").write("r0,s0_t0,9,1,5,0\n"), 4, "score 9 is off the scale 1..5"),
    (lambda root: (root / "items.csv").write_text("item,reference,test\n"), 4, "missing column(s) scene, system"),
    (lambda root: None, 2, "no per-image values"),
])
def test_bad_input_is_one_line_and_writes_nothing(tmp_path, capsys, breakage, code, needle):
    root = write_rated_folder(tmp_path / "set", scenes=1, raters=3)
    breakage(root)
    metrics = "fid" if code == 2 else "mse"
    got, out, err = _run(capsys, str(root), "--metrics", metrics, "--out", str(tmp_path / "out"))
    assert got == code and out == ""
    assert needle in err and len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert not (tmp_path / "out").exists()


def test_unknown_set_name_suggests(capsys):
    code, _, err = _run(capsys, "hecdd", "--metrics", "mse")
    assert code == 2 and "did you mean 'hecd'" in err


def test_missing_images_of_a_rated_folder_are_listed_and_strict_fails(tmp_path, capsys):
    root = write_rated_folder(tmp_path / "set", scenes=2, raters=4)
    os.remove(root / "img" / "s1_t2.png")
    code, out, err = _run(capsys, str(root), "--metrics", "mse", "--json", "--resamples", "50")
    assert code == 0 and "1 item(s) left out (missing images): s1_t2" in err
    result = json.loads(out)
    assert result["n"] == 11 and result["items"]["missing_images"]["ids"] == ["s1_t2"]
    code, out, err = _run(capsys, str(root), "--metrics", "mse", "--strict")
    assert code == 4 and out == "" and "s1_t2" in err


def _inputs(tmp_path, **kwargs):
    from colorbench.human import agreement
    from colorbench.human.folder import load_rated_folder

    return agreement.score(load_rated_folder(write_rated_folder(tmp_path / "set", **kwargs)), ["mse"])


def test_a_metric_missing_for_one_system_is_shown_missing_for_it(tmp_path, capsys):
    """Text, JSON, CSV and HTML: the other system keeps its value and rank; the report is written."""
    from colorbench.human import agreement
    from colorbench.report import agreement as report

    inp = _inputs(tmp_path)
    systems = np.array([inp.rs.item(i).system or "" for i in inp.ids])
    inp.values["psnr"] = np.where(systems == "sys_b", np.nan, -inp.values["mse"])  # sys_b has no psnr
    result = agreement.analyse(inp, n_resamples=50)
    psnr = result["systems"]["metrics"]["psnr"]
    assert psnr["values"]["sys_b"] is None and psnr["ranking"] == ["sys_a"] and psnr["missing"] == ["sys_b"]
    assert psnr["values"]["sys_a"] == pytest.approx(float(np.nanmean(inp.values["psnr"][systems == "sys_a"])))
    report.write(tmp_path / "out", inp, result)
    table = pd.read_csv(tmp_path / "out" / "systems.csv", dtype=str, keep_default_na=False).set_index("system")
    assert table.loc["sys_a", "psnr_rank"] == "1" and table.loc["sys_b", "psnr_rank"] == ""
    assert "psnr: no value for sys_b" in report.text_table(result)
    assert json.loads((tmp_path / "out" / "agreement.json").read_text())["systems"]["metrics"]["psnr"]["values"]["sys_b"] is None
    assert "no value" in (tmp_path / "out" / "index.html").read_text()


def test_a_metric_constant_up_to_float_noise_has_no_correlation(tmp_path):
    """Values equal within the tie tolerance are ties: a metric with three levels plus float noise
    gets exactly the numbers of the noise-free levels, and a metric flat but for noise is undefined."""
    from colorbench.human import agreement
    from colorbench.report import agreement as report

    inp = _inputs(tmp_path)
    rng = np.random.default_rng(8)
    levels = rng.choice([20.0, 25.0, 31.5], size=len(inp.ids))
    inp.values = {"psnr": levels, "ssim": levels * (1 + rng.uniform(-1e-13, 1e-13, levels.size)),
                  "mse": 100 + rng.uniform(0, 1.8e-11, levels.size)}
    result = agreement.analyse(inp, n_resamples=100)
    clean, noisy, flat = (result["metrics"][n] for n in ("psnr", "ssim", "mse"))
    y = inp.table["mean_z"].reindex(inp.ids).to_numpy()
    assert clean["srcc"] == pytest.approx(stats.spearmanr(levels, y)[0], abs=1e-12)
    assert clean["krcc"] == pytest.approx(stats.kendalltau(levels, y)[0], abs=1e-12)
    for key in ("srcc", "srcc_ci", "krcc", "krcc_ci", "within_scene"):  # ranks: the same to the last bit
        assert noisy[key] == clean[key], key
    assert noisy["plcc"] == pytest.approx(clean["plcc"], rel=1e-9)  # a fit on values 1e-13 apart
    assert flat["srcc"] is None and flat["srcc_ci"] is None and flat["krcc"] is None and flat["plcc"] is None
    assert flat["within_scene"]["srcc"] is None and flat["undefined"] == "no variation: the metric is constant over the rated images"
    assert result["systems"]["metrics"]["mse"]["kendall_tau"] is None
    row = next(line for line in report.text_table(result).splitlines() if line.startswith("mse "))
    assert "undefined" in row


def test_every_rater_constant_says_so(tmp_path, capsys):
    root = write_rated_folder(tmp_path / "set", scenes=1, raters=3)
    ratings = pd.read_csv(root / "ratings.csv")
    ratings["score"] = 3
    ratings.to_csv(root / "ratings.csv", index=False)
    code, out, err = _run(capsys, str(root), "--metrics", "mse", "--zscore", "rater", "--out", str(tmp_path / "out"))
    assert code == 4 and out == "" and len(err.strip().splitlines()) == 1
    assert "all 3 raters gave constant ratings" in err and "both image files present" not in err
    assert not (tmp_path / "out").exists()
