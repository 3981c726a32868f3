"""`colorbench compare NEW OLD [--tolerances FILE]`: the CI regression gate, through the CLI."""
from __future__ import annotations

import dataclasses
import re

import pytest

from colorbench.cli import main
from colorbench.results import ResultRecord, write_results

# (dataset, baseline, metric, value, higher_is_better)
BASE = [
    ("kodak24", "cnn", "psnr", 24.0, True),
    ("kodak24", "cnn", "mse", 0.010, False),
    ("kodak24", "zhang", "psnr", 22.5, True),
    ("kodak24", "zhang", "mse", 0.012, False),
    ("kodak24", "zhang", "colorfulness", 31.0, None),
]


def _records(changes: dict | None = None, protocol: str = "p1", status: dict | None = None) -> list[ResultRecord]:
    out = []
    for ds, b, m, v, hib in BASE:
        v = (changes or {}).get((b, m), v)
        st = (status or {}).get((b, m), "ok")
        out.append(ResultRecord("r", ds, b, m, v, None, None, 24, hib, "", st, "" if st == "ok" else "boom", protocol))
    return out


@pytest.fixture
def tables(tmp_path):
    def make(name: str, records: list[ResultRecord]):
        folder = tmp_path / name
        folder.mkdir()
        write_results(folder, records)
        return folder

    return make


def _compare(capsys, new, old, *extra):
    code = main(["compare", str(new), str(old), *map(str, extra)])
    out = capsys.readouterr()
    return code, out.out, out.err


def _tolerances(tmp_path, text: str):
    path = tmp_path / "tolerances.yaml"
    path.write_text(text)
    return path


def test_equal_tables_pass(tables, capsys):
    old, new = tables("old", _records()), tables("new", _records())
    code, out, _ = _compare(capsys, new / "results.csv", old / "results.csv")
    assert code == 0 and "all within tolerance" in out


def test_run_folder_and_jsonl_are_accepted(tables, capsys):
    old, new = tables("old", _records()), tables("new", _records())
    assert _compare(capsys, new, old / "results.jsonl")[0] == 0


def test_regression_beyond_tolerance_fails_with_a_readable_diff(tables, tmp_path, capsys):
    old = tables("old", _records())
    new = tables("new", _records({("cnn", "psnr"): 23.5}))
    tol = _tolerances(tmp_path, "default: {abs: 0.1}\n")
    code, out, _ = _compare(capsys, new, old, "--tolerances", tol)
    assert code == 1
    line = next(line for line in out.splitlines() if line.startswith("regressed"))
    verdict, metric, baseline, dataset, old_v, new_v, allowed = line.split()
    assert (metric, baseline, dataset) == ("psnr", "cnn", "kodak24")
    assert float(old_v) == 24.0 and float(new_v) == 23.5 and float(allowed) == pytest.approx(0.1)
    assert re.search(r"\b1 regressed\b", out)
    header = out.splitlines()[0].split()
    assert header == ["verdict", "metric", "baseline", "dataset", "old", "new", "allowed"]


def test_change_within_tolerance_passes(tables, tmp_path, capsys):
    old = tables("old", _records())
    new = tables("new", _records({("cnn", "psnr"): 23.95}))
    code, _, _ = _compare(capsys, new, old, "--tolerances", _tolerances(tmp_path, "default: {abs: 0.1}\n"))
    assert code == 0


def test_a_baseline_tolerance_widens_its_rows_only(tables, tmp_path, capsys):
    old = tables("old", _records())
    new = tables("new", _records({("cnn", "psnr"): 23.5, ("zhang", "psnr"): 22.0}))
    tol = _tolerances(tmp_path, "default: {abs: 0.1}\nbaselines:\n  cnn: {abs: 0.0, rel: 0.05}\n")
    code, out, _ = _compare(capsys, new, old, "--tolerances", tol)
    assert code == 1  # zhang's psnr still regresses beyond the default
    flagged = {tuple(line.split()[:3]) for line in out.splitlines()[2:] if line.strip()}
    assert ("regressed", "psnr", "zhang") in flagged and not any(b == "cnn" for _, _, b in flagged)
    assert re.search(r"\b1 regressed\b", out)
    # the larger tolerance applies: a tighter baseline entry does not narrow the default
    tol = _tolerances(tmp_path, "default: {abs: 0.1}\nbaselines:\n  cnn: {abs: 0.0, rel: 0.0001}\n")
    assert _compare(capsys, tables("new2", _records({("cnn", "psnr"): 23.95})), old, "--tolerances", tol)[0] == 0


def test_improvement_passes(tables, tmp_path, capsys):
    old = tables("old", _records())
    new = tables("new", _records({("cnn", "psnr"): 26.0}))
    code, out, _ = _compare(capsys, new, old, "--tolerances", _tolerances(tmp_path, "default: {abs: 0.1}\n"))
    assert code == 0 and re.search(r"^improved\s+psnr\s+cnn", out, re.M)


@pytest.mark.parametrize(
    "metric, new_value, expected",
    [
        ("psnr", 25.0, 0),  # higher psnr: better
        ("psnr", 23.0, 1),
        ("mse", 0.020, 1),  # higher mse: worse
        ("mse", 0.005, 0),
    ],
)
def test_direction_awareness(tables, capsys, metric, new_value, expected):
    old = tables("old", _records())
    new = tables("new", _records({("cnn", metric): new_value}))
    code, out, _ = _compare(capsys, new, old)
    assert code == expected, out
    verdict = "regressed" if expected else "improved"
    assert re.search(rf"^{verdict}\s+{metric}\s+cnn", out, re.M)


def test_directionless_metric_fails_on_any_change_beyond_tolerance(tables, tmp_path, capsys):
    old = tables("old", _records())
    new = tables("new", _records({("zhang", "colorfulness"): 35.0}))
    assert _compare(capsys, new, old)[0] == 1
    tol = _tolerances(tmp_path, "metrics:\n  colorfulness: {abs: 5.0}\n")
    assert _compare(capsys, new, old, "--tolerances", tol)[0] == 0


def test_protocol_mismatch_exits_2(tables, capsys):
    old = tables("old", _records(protocol="p1"))
    new = tables("new", _records(protocol="p2"))
    code, _, err = _compare(capsys, new, old)
    assert code == 2 and "protocol" in err


def test_relative_and_per_metric_tolerances(tables, tmp_path, capsys):
    old = tables("old", _records())
    new = tables("new", _records({("cnn", "psnr"): 23.8, ("cnn", "mse"): 0.0104}))
    # psnr: 1% of 24 = 0.24 >= 0.2 drop; mse: its own abs 0.001 >= 0.0004 rise
    ok = _tolerances(tmp_path, "default: {abs: 0.0, rel: 0.01}\nmetrics:\n  mse: {abs: 0.001}\n")
    assert _compare(capsys, new, old, "--tolerances", ok)[0] == 0
    # mse falls back to the default rel 0.01 * 0.010 = 0.0001 < 0.0004: regressed
    strict = _tolerances(tmp_path, "default: {abs: 0.0, rel: 0.01}\n")
    code, out, _ = _compare(capsys, new, old, "--tolerances", strict)
    assert code == 1 and re.search(r"^regressed\s+mse\s+cnn", out, re.M) and not re.search(r"^regressed\s+psnr", out, re.M)


@pytest.mark.parametrize(
    "text, key",
    [
        ("default: {abs: 0.1}\nmetric: {psnr: {abs: 1}}\n", "metric"),  # typo for 'metrics'
        ("default: {abs: 0.1, relative: 0.2}\n", "default.relative"),
        ("metrics:\n  psnr: {abss: 1}\n", "metrics.psnr.abss"),
        ("default: {abs: -1}\n", "default.abs"),
    ],
)
def test_bad_tolerance_file_exits_2_naming_the_key(tables, tmp_path, capsys, text, key):
    old, new = tables("old", _records()), tables("new", _records())
    code, _, err = _compare(capsys, new, old, "--tolerances", _tolerances(tmp_path, text))
    assert code == 2 and key in err, err


def test_failed_or_missing_rows_fail_the_gate(tables, capsys):
    old = tables("old", _records())
    failed = tables("failed", _records(status={("cnn", "psnr"): "failed"}))
    code, out, _ = _compare(capsys, failed, old)
    assert code == 1 and re.search(r"^failed\s+psnr\s+cnn", out, re.M)
    missing = tables("missing", [r for r in _records() if r.baseline != "zhang"])
    code, out, _ = _compare(capsys, missing, old)
    assert code == 1 and "missing" in out


def test_not_a_results_table_exits_2(tables, tmp_path, capsys):
    old = tables("old", _records())
    bogus = tmp_path / "bogus.csv"
    bogus.write_text("a,b\n1,2\n")
    assert _compare(capsys, bogus, old)[0] == 2
    other = tables("other", [dataclasses.replace(r, schema="colorbench.result/0") for r in _records()])
    assert _compare(capsys, other, old)[0] == 2


def test_a_row_that_failed_before_and_passes_now_is_a_fix_not_a_regression(tables, capsys):
    old = tables("old", [dataclasses.replace(r, value=None) if (r.baseline, r.metric) == ("cnn", "psnr") else r
                         for r in _records(status={("cnn", "psnr"): "failed"})])
    new = tables("new", _records())
    code, out, _ = _compare(capsys, new, old)
    assert code == 0, out
    assert re.search(r"^fixed\s+psnr\s+cnn", out, re.M) and "regressed" not in out.split("\n")[-1]
    both = tables("both", _records(status={("cnn", "psnr"): "failed"}))
    code, out, _ = _compare(capsys, both, old)
    assert code == 0 and re.search(r"^still failed\s+psnr\s+cnn", out, re.M)


def _edit_csv(folder, edit) -> str:
    import pandas as pd

    table = pd.read_csv(folder / "results.csv", dtype=str, keep_default_na=False)
    edit(table)
    path = folder / "edited.csv"
    table.to_csv(path, index=False)
    return path


@pytest.mark.parametrize("label,edit,words", [
    ("missing column", lambda t: t.pop("protocol"), "missing column(s) protocol"),
    ("non-numeric value", lambda t: t.loc.__setitem__((1, "value"), "0.01x"), "value is not a number: '0.01x'"),
    ("duplicate rows", lambda t: t.loc.__setitem__((1, "metric"), "psnr"), "repeat a (dataset, baseline, metric)"),
    ("non-boolean direction", lambda t: t.loc.__setitem__((0, "higher_is_better"), "yes"), "higher_is_better must be True, False or empty"),
])
def test_bad_tables_exit_2_not_1(tables, capsys, label, edit, words):
    old = tables("old", _records())
    bad = _edit_csv(tables("bad", _records()), edit)
    for args in ((bad, old / "results.csv"), (old / "results.csv", bad)):
        code, out, err = _compare(capsys, *args)
        assert code == 2, (label, out, err)
        assert words in err and "\n" not in err.strip(), err


def test_tables_from_different_cpus_are_named_but_judged_as_usual(tables, capsys):
    import json

    def machine(folder, **env):
        (folder / "run.json").write_text(json.dumps({"environment": {"device": "cpu", "cpu_model": "X", **env}}))
        return folder

    old = machine(tables("old", _records()), cpu_capability="AVX2")
    new = machine(tables("new", _records()), cpu_capability="AVX512")
    same = machine(tables("same", _records()), cpu_capability="AVX2")
    unrecorded = machine(tables("unrecorded", _records()))
    bare = tables("bare", _records())
    code, out, err = _compare(capsys, new / "results.csv", old)
    assert code == 0 and "all within tolerance" in out
    assert "cpu_capability: AVX2 (old) vs AVX512 (new)" in err and err.count("note:") == 1
    assert _compare(capsys, same, old)[2] == ""
    assert "cpu_capability: not recorded (old) vs AVX2 (new)" in _compare(capsys, same, unrecorded)[2]
    assert _compare(capsys, bare, old)[2] == ""  # no run.json beside a table: nothing to say
