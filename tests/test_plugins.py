"""Your model in the benchmark: import-path rows, installed plug-ins (entry points), precomputed
outputs, and the refusals that keep them from going wrong."""
from __future__ import annotations

import json
import textwrap

import pandas as pd
import pytest
import yaml

from colorbench.cli import main

METRICS = ["mse", "psnr", "ssim", "acc313", "colorfulness"]
VALUE_COLUMNS = ["metric", "value", "ci_low", "ci_high", "n"]

PLUGIN = '''
import sys

import torch
from colorbench.api import Baseline, BaselineInfo


class ZeroAB(Baseline):
    """ab = 0, written as a plug-in: must score exactly as the built-in gray."""

    def __init__(self, scale: float = 1.0):
        super().__init__()
        self.scale = scale
        self.info = BaselineInfo(family="zeroab", paper="test", color_space="lab", loss="none", input_size=None,
                                 learned=False)

    def colorize(self, L, target_rgb=None):
        return torch.cat((L, torch.zeros_like(L).expand(-1, 2, -1, -1) * self.scale), dim=1)


class Exploding(ZeroAB):
    def colorize(self, L, target_rgb=None):
        raise RuntimeError("the plug-in exploded")


def create(scale: float = 1.0):
    return ZeroAB(scale)


def exploding():
    return Exploding()


def not_a_baseline():
    return "a string"


class Quitting(ZeroAB):
    def colorize(self, L, target_rgb=None):
        sys.exit(0)


def quitting():
    return Quitting()


def exiting():
    sys.exit(0)


_CALLS = []


def exits_when_built_again():  # the plan's probe builds it once; the run builds it again
    _CALLS.append(1)
    if len(_CALLS) > 1:
        sys.exit(3)
    return ZeroAB()


class Broken(Baseline):
    """Outputs that break the contract in one way each (issue 23 item 4)."""

    def __init__(self, kind: str = "nan"):
        super().__init__()
        self.kind = kind
        self.info = BaselineInfo(family="broken", paper="test", color_space="rgb" if kind == "rgb255" else "lab",
                                 loss="none", input_size=None, learned=False)

    def colorize(self, L, target_rgb=None):
        if self.kind == "rgb255":
            return (L / 100 * 255).expand(-1, 3, -1, -1)
        out = torch.cat((L, torch.zeros_like(L).expand(-1, 2, -1, -1)), dim=1)
        if self.kind == "nan":
            out = out * float("nan")
        elif self.kind == "half_nan":
            out[..., : L.shape[-1] // 2] = float("nan")
        elif self.kind == "inf":
            out[:, 1, 0, 0] = float("inf")
        elif self.kind == "far":
            out[:, 1:] = 1000.0
        elif self.kind == "edge":  # within the documented tolerance: accepted (the PNG clips it)
            out[:, 1:] = 128.0 * 1.01
        return out


def broken(kind: str = "nan"):
    return Broken(kind)
'''


@pytest.fixture
def plugin_module(tmp_path, monkeypatch):
    folder = tmp_path / "plugins"
    folder.mkdir()
    (folder / "zeroab_plugin.py").write_text(PLUGIN)
    (folder / "broken_plugin.py").write_text("import torch\nraise ImportError('needs libfoo 2.0')\n")
    (folder / "exits_plugin.py").write_text("import sys\nsys.exit(0)\n")
    monkeypatch.syspath_prepend(str(folder))
    return folder


def _config(tmp_path, baselines, out="out", datasets=None) -> str:
    cfg = {
        "version": 1, "device": "cpu", "output_dir": str(tmp_path / out), "scale": "small",
        "scales": {"small": {"eval_size": 32, "max_test_images": 4}},
        "evaluation": {"metrics": METRICS, "grid_images": 2},
        "datasets": datasets or [{"name": "kodak24", "split": {"train": 0.0, "val": 0.0, "test": 1.0}},
                                 {"name": "mcmaster", "split": {"train": 0.0, "val": 0.0, "test": 1.0}}],
        "baselines": baselines,
    }
    path = tmp_path / f"{out}.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return str(path)


def _rows(folder, baseline) -> pd.DataFrame:
    table = pd.read_csv(folder / "results.csv")
    return table[table["baseline"] == baseline].set_index(["dataset", "metric"])[VALUE_COLUMNS[1:]].sort_index()


def test_an_import_path_row_that_returns_ab_zero_scores_exactly_like_gray(tmp_path, plugin_module):
    path = _config(tmp_path, [{"name": "gray"}, {"name": "mine", "model": "zeroab_plugin:create", "params": {"scale": 2.0}}])
    assert main(["run", path]) == 0
    out = tmp_path / "out"
    pd.testing.assert_frame_equal(_rows(out, "mine"), _rows(out, "gray"))
    run = json.loads((out / "run.json").read_text())
    source = run["baselines"]["mine"]["source"]
    assert source["kind"] == "import path" and source["target"] == "zeroab_plugin:create" and len(source["code_sha256"]) == 64
    assert run["baselines"]["mine"]["params"] == {"scale": 2.0}


def test_precomputed_outputs_of_a_runs_gray_score_exactly_like_gray(tmp_path):
    first = _config(tmp_path, [{"name": "gray"}], out="first")
    assert main(["run", first]) == 0
    template = str(tmp_path / "first" / "outputs" / "{dataset}" / "gray")
    second = _config(tmp_path, [{"name": "gray"}, {"name": "external", "outputs": template}], out="second")
    assert main(["run", second]) == 0
    out = tmp_path / "second"
    pd.testing.assert_frame_equal(_rows(out, "external"), _rows(out, "gray"))
    doc = json.loads((out / "run.json").read_text())["baselines"]["external"]
    assert doc["outputs"]["kodak24"]["n_imported"] == 4 and len(doc["outputs"]["kodak24"]["files_sha256"]) == 64
    assert (out / "reports" / "index.html").read_text().count("external") >= 2  # leaderboard and grid


def test_missing_and_extra_outputs_are_listed_and_strict_refuses_them(tmp_path, capsys):
    first = _config(tmp_path, [{"name": "gray"}], out="first")
    assert main(["run", first]) == 0
    kodak = tmp_path / "first" / "outputs" / "kodak24" / "gray"
    victim = sorted(kodak.iterdir())[0]
    victim.unlink()
    (kodak / "not-a-test-image.png").write_bytes((tmp_path / "first" / "outputs" / "mcmaster" / "gray").joinpath(
        sorted(p.name for p in (tmp_path / "first" / "outputs" / "mcmaster" / "gray").iterdir())[0]).read_bytes())
    template = str(tmp_path / "first" / "outputs" / "{dataset}" / "gray")
    second = _config(tmp_path, [{"name": "gray"}, {"name": "external", "outputs": template}], out="second")
    capsys.readouterr()
    assert main(["run", second]) == 6  # a row scored on 3 of 4 images: partial unless allow_partial
    said = capsys.readouterr().out
    assert "external on kodak24: 1 missing output file(s)" in said and "1 extra output file(s)" in said
    rows = _rows(tmp_path / "second", "external")
    assert (rows.loc["kodak24", "n"] == 3).all() and (rows.loc["mcmaster", "n"] == 4).all()
    doc = json.loads((tmp_path / "second" / "run.json").read_text())["baselines"]["external"]["outputs"]["kodak24"]
    assert doc["missing"] == [victim.stem] and doc["extra"] == ["not-a-test-image"]
    assert main(["run", second, "--strict", "--output-dir", str(tmp_path / "strict")]) == 4
    assert "strict" in capsys.readouterr().err


def test_a_plugin_that_raises_fails_its_own_row_only(tmp_path, plugin_module, capsys):
    path = _config(tmp_path, [{"name": "gray"}, {"name": "boom", "model": "zeroab_plugin:exploding"}])
    assert main(["run", path]) == 6
    table = pd.read_csv(tmp_path / "out" / "results.csv")
    assert (table[table["baseline"] == "boom"]["reason"].str.contains("the plug-in exploded")).all()
    assert (table[table["baseline"] == "gray"]["status"] == "ok").all()


def test_a_plugin_that_calls_sys_exit_while_colorizing_fails_its_own_row(tmp_path, plugin_module, capsys):
    # Before: SystemExit(0) passed through the harness: exit 0, no results, no report.
    path = _config(tmp_path, [{"name": "gray"}, {"name": "quits", "model": "zeroab_plugin:quitting"}])
    assert main(["run", path]) == 6
    table = pd.read_csv(tmp_path / "out" / "results.csv")
    assert (table[table["baseline"] == "quits"]["reason"] == "ContractError: the model's colorize() called sys.exit(0)").all()
    assert (table[table["baseline"] == "gray"]["status"] == "ok").all()


def test_a_plugin_that_calls_sys_exit_while_being_built_for_the_run_fails_its_own_row(tmp_path, plugin_module):
    path = _config(tmp_path, [{"name": "gray"}, {"name": "quits", "model": "zeroab_plugin:exits_when_built_again"}])
    assert main(["run", path]) == 6
    table = pd.read_csv(tmp_path / "out" / "results.csv")
    assert (table[table["baseline"] == "quits"]["reason"] == "the model's code called sys.exit(3)").all()


def test_modules_without_a_file_are_hashed_by_name_and_python_version():
    import sys

    from colorbench.plugins import code_sha256

    assert code_sha256("sys") == code_sha256("sys") != code_sha256("builtins")
    assert len(code_sha256("sys")) == 64 and not hasattr(sys, "__file__")


BAD = [
    ("an import path to no module", {"name": "x", "model": "zeroab_plugn:create"}, "baselines[0].model", "no module 'zeroab_plugn'"),
    ("a module that fails to import", {"name": "x", "model": "broken_plugin:create"}, "baselines[0].model", "ImportError: needs libfoo 2.0"),
    ("a missing factory", {"name": "x", "model": "zeroab_plugin:crate"}, "baselines[0].model", "no callable 'crate'"),
    ("a factory returning something else", {"name": "x", "model": "zeroab_plugin:not_a_baseline"}, "baselines[0]", "returned a str, not a colorbench.api.Baseline"),
    ("unknown params", {"name": "x", "model": "zeroab_plugin:create", "params": {"scael": 2}}, "baselines[0].params.scael", "did you mean 'scale'"),
    ("model and outputs", {"name": "x", "model": "gray", "outputs": "a/{dataset}"}, "baselines[0].outputs", "either a model or precomputed outputs"),
    ("an outputs folder that does not exist", {"name": "x", "outputs": "/nonexistent/{dataset}"}, "baselines[0].outputs", "no folder '/nonexistent/kodak24'"),
    ("outputs without {dataset}", {"name": "x", "outputs": "/tmp"}, "baselines[0].outputs", "has no {dataset}"),
    ("an unknown name", {"name": "x", "model": "zeroabb"}, "baselines[0].model", "unknown baseline 'zeroabb'"),
    # issue 23 item 10: sys.exit(0) at import ended the run with exit 0 and no work; sys:exit and
    # builtins:print gave an AttributeError traceback (no __file__ to hash)
    ("a module that calls sys.exit at import", {"name": "x", "model": "exits_plugin:create"}, "baselines[0].model",
     "importing 'exits_plugin' failed: it called sys.exit(0)"),
    ("sys:exit", {"name": "x", "model": "sys:exit"}, "baselines[0].model", "not a factory returning a colorbench.api.Baseline"),
    ("builtins:print", {"name": "x", "model": "builtins:print"}, "baselines[0].model", "not a factory returning a colorbench.api.Baseline"),
    ("a factory that calls sys.exit", {"name": "x", "model": "zeroab_plugin:exiting"}, "baselines[0]",
     "not a factory returning a colorbench.api.Baseline: it called sys.exit(0)"),
]


@pytest.mark.parametrize("label,row,key,words", BAD, ids=[b[0] for b in BAD])
def test_bad_plugin_rows_exit_2_naming_file_and_key(tmp_path, plugin_module, capsys, label, row, key, words):
    path = _config(tmp_path, [row])
    assert main(["run", path]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"colorbench: error: {path}: {key}: ") and words in err and "\n" not in err, err
    assert not (tmp_path / "out").exists()


def _install(site, name: str, package: str, target: str) -> None:
    """A distribution as pip leaves it: a .dist-info folder with METADATA and entry_points.txt."""
    info = site / f"{package}-1.2.3.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {package}\nVersion: 1.2.3\n")
    (info / "entry_points.txt").write_text(textwrap.dedent(f"""
        [colorbench.baselines]
        {name} = {target}
    """))


def test_an_installed_plugin_is_listed_and_runs_by_name(tmp_path, plugin_module, monkeypatch, capsys):
    site = tmp_path / "site"
    _install(site, "zero", "zero-plugin", "zeroab_plugin:create")
    monkeypatch.syspath_prepend(str(site))
    capsys.readouterr()
    assert main(["list", "baselines", "--json"]) == 0
    listed = {r["name"]: r for r in json.loads(capsys.readouterr().out)}
    assert listed["zero"]["plugin"] == {"package": "zero-plugin", "version": "1.2.3"} and listed["gray"]["plugin"] is None
    path = _config(tmp_path, [{"name": "gray"}, {"name": "zero"}])
    assert main(["run", path]) == 0
    pd.testing.assert_frame_equal(_rows(tmp_path / "out", "zero"), _rows(tmp_path / "out", "gray"))
    source = json.loads((tmp_path / "out" / "run.json").read_text())["baselines"]["zero"]["source"]
    assert source["kind"] == "entry point" and source["package"] == "zero-plugin" and source["version"] == "1.2.3"


def test_an_installed_plugin_that_is_a_builtin_function_is_refused(tmp_path, plugin_module, monkeypatch, capsys):
    site = tmp_path / "site"
    _install(site, "printer", "print-plugin", "builtins:print")
    monkeypatch.syspath_prepend(str(site))
    path = _config(tmp_path, [{"name": "printer"}])
    assert main(["run", path]) == 2
    err = capsys.readouterr().err.strip()
    assert "baselines[0].name: 'builtins:print' is a built-in function" in err and "\n" not in err, err
    assert not (tmp_path / "out").exists()


def test_a_plugin_named_like_a_builtin_is_an_error_naming_both(tmp_path, plugin_module, monkeypatch, capsys):
    site = tmp_path / "site"
    _install(site, "gray", "shadow-plugin", "zeroab_plugin:create")
    monkeypatch.syspath_prepend(str(site))
    assert main(["list", "baselines"]) == 2
    err = capsys.readouterr().err
    assert "shadow-plugin 1.2.3" in err and "built-in baseline 'gray'" in err and "\n" not in err.strip()


def _user_pngs(folder, source, n):
    """n PNGs of the user's own (copies of a run's outputs, under names of their own too)."""
    folder.mkdir(parents=True)
    files = sorted(source.iterdir())
    for k in range(n):
        (folder / (files[k].name if k < len(files) else f"own-{k}.png")).write_bytes(files[k % len(files)].read_bytes())
    return {p.name: p.read_bytes() for p in folder.iterdir()}


def test_an_outputs_folder_inside_the_output_dir_is_refused_and_keeps_every_file(tmp_path, capsys):
    # Before: RUN/outputs/{dataset}/mine lost every PNG that was not a test image ("extra"), exit 0.
    first = _config(tmp_path, [{"name": "gray"}], datasets=[{"name": "kodak24", "split": {"train": 0.0, "val": 0.0, "test": 1.0}}])
    assert main(["run", first]) == 0
    mine = tmp_path / "out" / "outputs" / "kodak24" / "mine"
    before = _user_pngs(mine, tmp_path / "out" / "outputs" / "kodak24" / "gray", 8)
    results = (tmp_path / "out" / "results.csv").read_bytes()
    second = _config(tmp_path, [{"name": "gray"}, {"name": "mine", "outputs": str(tmp_path / "out" / "outputs" / "{dataset}" / "mine")}],
                     datasets=[{"name": "kodak24", "split": {"train": 0.0, "val": 0.0, "test": 1.0}}])
    capsys.readouterr()
    assert main(["run", second]) == 2
    err = capsys.readouterr().err.strip()
    assert f"{second}: baselines[1].outputs: " in err and "overlap" in err and "\n" not in err, err
    assert {p.name: p.read_bytes() for p in mine.iterdir()} == before
    assert (tmp_path / "out" / "results.csv").read_bytes() == results


def test_an_output_dir_inside_an_outputs_folder_is_refused(tmp_path, capsys):
    first = _config(tmp_path, [{"name": "gray"}], out="first")
    assert main(["run", first]) == 0
    users = tmp_path / "users"
    for ds in ("kodak24", "mcmaster"):
        _user_pngs(users / ds, tmp_path / "first" / "outputs" / ds / "gray", 4)
    path = _config(tmp_path, [{"name": "gray"}, {"name": "mine", "outputs": str(users / "{dataset}")}], out="users/kodak24/run")
    capsys.readouterr()
    assert main(["run", path]) == 2
    err = capsys.readouterr().err.strip()
    assert "baselines[1].outputs: " in err and "overlap" in err and "\n" not in err, err
    assert not (users / "kodak24" / "run").exists()


def test_outputs_that_break_the_contract_fail_their_row_with_the_count(tmp_path, plugin_module, monkeypatch, capsys):
    # Before: every one of these was clamped and scored "ok" (PSNR 6.63 for all-NaN), exit 0.
    site = tmp_path / "site"
    _install(site, "broken-ep", "broken-plugin", "zeroab_plugin:broken")
    monkeypatch.syspath_prepend(str(site))
    kinds = {"nan": "returned 4096 of 4096 pixels with NaN or Inf values",
             "half_nan": "returned 2048 of 4096 pixels with NaN or Inf values",
             "inf": "returned 4 of 4096 pixels with NaN or Inf values",
             "far": "returned 4096 of 4096 pixels outside the lab range ([0, 100], [-128, 128], tolerance 0.01 of each span); the output spans [1.155, 1000]",
             "rgb255": "returned 4096 of 4096 pixels outside the rgb range ([0, 1], tolerance 0.01 of each span); the output spans [2.945, 255]"}
    rows = [{"name": "gray"}, {"name": "edge", "model": "zeroab_plugin:broken", "params": {"kind": "edge"}},
            {"name": "entry", "model": "broken-ep"}]
    rows += [{"name": k, "model": "zeroab_plugin:broken", "params": {"kind": k}} for k in kinds]
    path = _config(tmp_path, rows, datasets=[{"name": "kodak24", "split": {"train": 0.0, "val": 0.0, "test": 1.0}}])
    assert main(["run", path]) == 6
    table = pd.read_csv(tmp_path / "out" / "results.csv", keep_default_na=False)
    reasons = {b: set(g["reason"]) for b, g in table.groupby("baseline")}
    assert (table[table["baseline"].isin(["gray", "edge"])]["status"] == "ok").all()
    assert reasons["entry"] == {"ContractError: colorize() " + kinds["nan"]}  # an entry point passes the same check
    for kind, words in kinds.items():
        assert len(reasons[kind]) == 1 and words in reasons[kind].pop(), (kind, reasons)
        assert (table[table["baseline"] == kind]["value"] == "").all()
    index = (tmp_path / "out" / "reports" / "index.html").read_text()
    assert kinds["half_nan"] in index and kinds["inf"] in index
    assert "failed baselines: entry, nan, half_nan, inf, far, rgb255" in capsys.readouterr().err


def test_an_outputs_row_scored_on_some_images_is_never_ranked_and_the_run_is_partial(tmp_path, capsys):
    # Before: a row scored on 2 of 4 images was bold "best" under "kodak24 (N = 4)", exit 0; only
    # results.csv said n = 2.
    kodak = [{"name": "kodak24", "split": {"train": 0.0, "val": 0.0, "test": 1.0}}]
    first = _config(tmp_path, [{"name": "gray"}, {"name": "oracle"}], out="first", datasets=kodak)
    assert main(["run", first]) == 0
    part = tmp_path / "part" / "kodak24"
    part.mkdir(parents=True)
    for f in sorted((tmp_path / "first" / "outputs" / "kodak24" / "oracle").iterdir())[:2]:  # perfect, but only 2
        (part / f.name).write_bytes(f.read_bytes())
    rows = [{"name": "full", "outputs": str(tmp_path / "first" / "outputs" / "{dataset}" / "gray")},
            {"name": "part", "outputs": str(tmp_path / "part" / "{dataset}")}]
    second = _config(tmp_path, rows, out="second", datasets=kodak)
    capsys.readouterr()
    assert main(["run", second]) == 6
    err = capsys.readouterr().err
    assert "not ranked: part on kodak24: 2 of 4 (allow_partial: true on a row accepts it)" in err, err
    table = pd.read_csv(tmp_path / "second" / "results.csv")
    mine, full = table[table["baseline"] == "part"], table[table["baseline"] == "full"]
    assert (mine["subset"]).all() and (mine["n"] == 2).all() and mine["p_vs_best"].isna().all()
    assert (mine.loc[mine["higher_is_better"].notna(), "best"] == False).all()  # noqa: E712
    assert not full["subset"].any() and (full["n"] == 4).all()
    assert (full.loc[full["higher_is_better"].notna(), "best"] == True).all()  # noqa: E712
    summary = (tmp_path / "second" / "summary.md").read_text()
    line = next(row for row in summary.splitlines() if row.startswith("| part"))
    assert "_(N = 2, not ranked)_" in line and "**" not in line and "≈" not in line, line
    assert "**" in next(row for row in summary.splitlines() if row.startswith("| full"))
    assert "N = 2, not ranked" in (tmp_path / "second" / "reports" / "index.html").read_text()
    cfg = yaml.safe_load(open(second))
    cfg["baselines"][1]["allow_partial"] = True
    cfg["output_dir"] = str(tmp_path / "third")
    (tmp_path / "third.yaml").write_text(yaml.safe_dump(cfg))
    capsys.readouterr()
    assert main(["run", str(tmp_path / "third.yaml")]) == 0  # opted in: exit 0, still shown apart
    third = pd.read_csv(tmp_path / "third" / "results.csv")
    pd.testing.assert_frame_equal(third.drop(columns="run_id"), table.drop(columns="run_id"))
