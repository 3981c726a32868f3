"""Rated sets: loading, validation errors, MOS and the two z-score normalisations, and HECD's
own processed scores reproduced from its raw ratings."""
from __future__ import annotations

import re
import shutil

import numpy as np
import pandas as pd
import pytest
from _human_fixtures import shared_datasets, write_rated_folder

from colorbench.errors import DataError
from colorbench.human import hecd
from colorbench.human.folder import load_rated_folder
from colorbench.human.ratings import item_table, zscores


def test_hecd_mean_zscores_reproduced_from_raw_ratings():
    folder = shared_datasets() / "hecd"
    rs = hecd.read_hecd(folder)
    check = hecd.zscore_reproduction(rs, folder)
    print(f"HECD mean z-score reproduction: max |difference| {check['max_abs_diff']:.3g} over {check['n_images']} images")
    assert check["n_images"] == 1320 and check["n_missing"] == 0
    # float64 sums of at most 1267 terms in another order differ by ~1e-15; anything above 1e-12
    # would be a different procedure, not rounding
    assert check["max_abs_diff"] < 1e-12


def test_hecd_set_shape_and_systems():
    rs = hecd.read_hecd(shared_datasets() / "hecd")
    assert len(rs.items) == 1320 and len(rs.ratings) == 2 * 25340
    assert rs.ratings["rater"].nunique() == 1267 and rs.scale == (1.0, 5.0)
    assert sum(i.is_reference for i in rs.items) == 20
    systems = pd.Series([i.system for i in rs.items if i.system]).value_counts()
    assert sorted(systems.index) == sorted(hecd.SYSTEMS.values()) and (systems == 20).all()
    assert rs.item("022090F_8").system is None  # flagged SOTA upstream, but a segment-hue edit


def test_difference_zscores_by_hand(tmp_path):
    """Two raters, one scene: d = test - reference per rater, z = (d - mean d) / population SD."""
    root = tmp_path / "set"
    root.mkdir()
    pd.DataFrame({"item": ["ref", "a", "b", "c"], "reference": ["r.png"] * 4,
                  "test": ["r.png", "a.png", "b.png", "c.png"], "scene": ["s"] * 4, "system": [""] * 4}
                 ).to_csv(root / "items.csv", index=False)
    scores = {"u": {"ref": 5, "a": 4, "b": 2, "c": 5}, "v": {"ref": 3, "a": 3, "b": 1, "c": 2}}
    rows = [(r, i, s, 1, 5) for r, d in scores.items() for i, s in d.items()]
    pd.DataFrame(rows, columns=["rater", "item", "score", "scale_min", "scale_max"]).to_csv(root / "ratings.csv", index=False)
    rs = load_rated_folder(root)
    zs = zscores(rs)
    assert zs.method == "difference"
    expected = {}
    for r, d in scores.items():
        diff = np.array([d[i] - d["ref"] for i in "abc"], dtype=float)
        mu, sd = diff.mean(), diff.std()
        expected[r] = dict(zip("abc", (diff - mu) / sd)) | {"ref": -mu / sd}
    table = item_table(rs, zs)
    for item in ("ref", "a", "b", "c"):
        assert table.at[item, "mean_z"] == pytest.approx((expected["u"][item] + expected["v"][item]) / 2, abs=1e-12)
        assert table.at[item, "mos"] == pytest.approx((scores["u"][item] + scores["v"][item]) / 2)


def test_rater_zscores_match_scipy(tmp_path):
    from scipy import stats

    rs = load_rated_folder(write_rated_folder(tmp_path / "set"))
    zs = zscores(rs, "rater")
    for rater, group in rs.ratings.groupby("rater"):
        np.testing.assert_allclose(zs.z[group.index], stats.zscore(group["score"].to_numpy()), atol=1e-12)


def test_constant_rater_is_excluded_and_listed(tmp_path):
    root = write_rated_folder(tmp_path / "set", raters=4)
    ratings = pd.read_csv(root / "ratings.csv")
    ratings.loc[ratings["rater"] == "r0", "score"] = 3
    ratings.to_csv(root / "ratings.csv", index=False)
    rs = load_rated_folder(root)
    for method in ("difference", "rater"):
        zs = zscores(rs, method)
        assert zs.excluded_raters == ["r0"]
        assert np.isnan(zs.z[(rs.ratings["rater"] == "r0").to_numpy()]).all()
        assert np.isfinite(zs.z[(rs.ratings["rater"] != "r0").to_numpy()]).all()


def test_study_folder_with_export_is_accepted(tmp_path):
    write_rated_folder(tmp_path / "study" / "export")
    rs = load_rated_folder(tmp_path / "study")
    assert len(rs.items) == 3 * 7 and rs.item("s0_t0").system == "sys_a"


@pytest.mark.parametrize("edit,message", [
    (lambda i, r: (i.drop(columns=["scene"]), r), "missing column(s) scene"),
    (lambda i, r: (i, r.drop(columns=["scale_max"])), "lack column(s) scale_max"),
    (lambda i, r: (i, pd.concat([r, r.iloc[[0]].assign(item="nope")])), "not among the items: nope"),
    (lambda i, r: (i, r.assign(score=r["score"].where(r.index != 5, 7))), "score 7 is off the scale 1..5"),
    (lambda i, r: (i, r.assign(score=r["score"].astype(object).where(r.index != 2, "good"))), "'good' is not a finite number"),
    (lambda i, r: (pd.concat([i, i.iloc[[1]]]), r), "duplicate item ids: s0_t0"),
])
def test_bad_rated_folder_is_one_clear_error(tmp_path, edit, message):
    root = write_rated_folder(tmp_path / "set", scenes=1, raters=3)
    items, ratings = edit(pd.read_csv(root / "items.csv", dtype=str), pd.read_csv(root / "ratings.csv"))
    items.to_csv(root / "items.csv", index=False)
    ratings.to_csv(root / "ratings.csv", index=False)
    with pytest.raises(DataError, match=re.escape(message)):
        load_rated_folder(root)


def test_duplicate_rows_in_ratings_csv_are_refused(tmp_path):
    root = write_rated_folder(tmp_path / "set", scenes=1, raters=3)
    ratings = pd.read_csv(root / "ratings.csv")
    pd.concat([ratings, ratings.iloc[[1, 4]]]).to_csv(root / "ratings.csv", index=False)
    n = len(ratings)
    with pytest.raises(DataError, match=re.escape(f"ratings.csv: 2 duplicate rows (line {n + 2} repeats line 3, "
                                                  f"line {n + 3} repeats line 6)")):
        load_rated_folder(root)
    distinct = ratings.assign(latency_ms=range(len(ratings)))
    pd.concat([distinct, distinct.iloc[[1]].assign(latency_ms=-1)]).to_csv(root / "ratings.csv", index=False)
    assert len(load_rated_folder(root).ratings) == n + 1  # a repeated rating told apart by a column is kept


def test_hecd_download_verifies_every_file(tmp_path, monkeypatch):
    """From a loopback mirror: the CSVs and one scene download and are read; a corrupted file is
    refused and not kept."""
    import functools
    import http.server
    import threading

    src = shared_datasets() / "hecd"
    files = {n: h for n, h in hecd.shipped_manifest("hecd").items()
             if not n.startswith(hecd.IMAGES) or n.startswith(f"{hecd.IMAGES}/015004")}
    mirror = tmp_path / "mirror" / "hecd"
    for name in files:
        (mirror / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(src / name, mirror / name)
    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    handler = functools.partial(Quiet, directory=str(tmp_path / "mirror"))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        monkeypatch.setattr(hecd, "shipped_manifest", lambda name: files)
        monkeypatch.setenv("COLORBENCH_CACHE", str(tmp_path / "cache"))
        monkeypatch.delenv("COLORBENCH_DATA", raising=False)
        monkeypatch.setenv("COLORBENCH_DOWNLOAD_BASE", f"http://127.0.0.1:{server.server_address[1]}")
        monkeypatch.setenv("NO_PROXY", "127.0.0.1")
        folder, where = hecd.locate(progress=False)
        assert where == "downloaded" and (folder / f"{hecd.IMAGES}/015004_gt.jpg").is_file()
        assert len(hecd.read_hecd(folder).items) == 1320
        (folder / f"{hecd.IMAGES}/015004A.jpg").unlink()
        (mirror / f"{hecd.IMAGES}/015004A.jpg").write_bytes(b"not the image")
        with pytest.raises(DataError, match="SHA-256 mismatch"):
            hecd.locate(progress=False)
        assert not (folder / f"{hecd.IMAGES}/015004A.jpg").exists()
    finally:
        server.shutdown()
