"""Faults lose nothing and mislead no one: partial runs, locked output folders."""
from __future__ import annotations

import json
import os

import pandas as pd
import pytest
import yaml

from colorbench.cli import main
from colorbench.lock import RunLock


def _config(tmp_path, baselines):
    cfg = {
        "version": 1, "device": "cpu", "output_dir": str(tmp_path / "out"), "scale": "small",
        "scales": {"small": {"eval_size": 32, "max_test_images": 3}},
        "evaluation": {"metrics": ["mse", "psnr"], "grid_images": 2},
        "datasets": [{"name": "kodak24", "split": {"train": 0.0, "val": 0.0, "test": 1.0}},
                     {"name": "cbsd68", "split": {"train": 0.8, "val": 0.1, "test": 0.1}}],
        "baselines": baselines,
    }
    path = tmp_path / "bench.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return path


def test_a_failing_baseline_gives_a_partial_run_and_keeps_the_others(tmp_path, monkeypatch, capsys):
    # An empty cache has no Inception weights: fusion must fail with the fix, never train on random.
    monkeypatch.setenv("COLORBENCH_CACHE", str(tmp_path / "empty-cache"))
    path = _config(tmp_path, [{"name": "gray"}, {"name": "fusion", "train_on": "cbsd68"}, {"name": "oracle"}])
    assert main(["run", str(path)]) == 6
    assert "failed baselines: fusion" in capsys.readouterr().err
    table = pd.read_csv(tmp_path / "out" / "results.csv")
    ok = table[table["status"] == "ok"]
    assert set(ok["baseline"]) == {"gray", "oracle"} and len(ok) == 2 * 2 * 2
    failed = table[table["baseline"] == "fusion"]
    assert (failed["status"] == "failed").all() and failed["value"].isna().all()
    assert failed["reason"].str.contains("colorbench weights fetch").all()
    run = json.loads((tmp_path / "out" / "run.json").read_text())
    assert run["baselines"]["fusion"]["status"] == "failed"
    assert "fusion" in (tmp_path / "out" / "reports" / "index.html").read_text()


def test_a_second_run_on_a_locked_output_folder_refuses(tmp_path, capsys):
    path = _config(tmp_path, [{"name": "gray"}])
    with RunLock(tmp_path / "out"):
        assert main(["run", str(path)]) == 5
    err = capsys.readouterr().err
    assert "in use by another colorbench run" in err and "\n" not in err.strip()
    assert not (tmp_path / "out" / "results.csv").exists()


def test_a_stale_lock_from_a_dead_process_is_taken_over(tmp_path):
    folder = tmp_path / "out"
    folder.mkdir()
    import socket

    (folder / ".colorbench.lock").write_text(f"pid 999999999 on {socket.gethostname()}\n")  # the older format
    with RunLock(folder):
        assert json.loads((folder / ".colorbench.lock").read_text())["pid"] == os.getpid()
    assert not (folder / ".colorbench.lock").exists()


def _lock_file(folder, **changes):
    from colorbench.lock import owner_record

    folder.mkdir(exist_ok=True)
    (folder / ".colorbench.lock").write_text(json.dumps({**owner_record(), **changes}))


def test_a_lock_whose_pid_is_reused_by_a_new_process_is_taken_over(tmp_path):
    # After a container restart the new process can have the dead owner's pid (PID 1): same pid,
    # another start time. Before the fix it waited for itself forever (exit 5).
    folder = tmp_path / "out"
    _lock_file(folder, start="1")  # our own pid, but a process that started at tick 1
    with RunLock(folder):
        pass
    _lock_file(folder, boot_id="another-boot")  # written before the machine rebooted
    with RunLock(folder):
        pass


def test_a_lock_held_by_a_live_process_is_never_taken_over(tmp_path):
    from colorbench.lock import OutputLocked

    folder = tmp_path / "out"
    _lock_file(folder)  # exactly this process: alive
    with pytest.raises(OutputLocked, match=f"pid {os.getpid()}"):
        RunLock(folder).__enter__()
    (folder / ".colorbench.lock").write_text("garbage")  # unreadable owner: refuse, never guess
    with pytest.raises(OutputLocked):
        RunLock(folder).__enter__()


def test_out_of_memory_in_one_baseline_fails_it_with_the_reason(tmp_path, monkeypatch, capsys):
    import torch

    from baselines.reference import Gray

    def oom(self, L, target_rgb=None):
        raise torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 20.00 GiB")

    monkeypatch.setattr(Gray, "colorize", oom)
    path = _config(tmp_path, [{"name": "gray"}, {"name": "oracle"}])
    assert main(["run", str(path)]) == 6
    table = pd.read_csv(tmp_path / "out" / "results.csv")
    assert (table[table["baseline"] == "gray"]["reason"].str.startswith("out of memory")).all()
    assert (table[table["baseline"] == "oracle"]["status"] == "ok").all()


def test_partial_files_of_a_killed_run_are_removed(tmp_path):
    from colorbench.pipeline.folder import remove_partial_files

    out = tmp_path / "out"
    (out / "outputs" / "d").mkdir(parents=True)
    (out / "outputs" / "d" / ".img.png.x1y2.tmp").write_bytes(b"half a png")
    (out / "outputs" / "d" / "img.png").write_bytes(b"complete")
    assert remove_partial_files(out) == 1
    assert [p.name for p in (out / "outputs" / "d").iterdir()] == ["img.png"]


def test_a_corrupted_hygiene_cache_is_measured_again(tmp_path, monkeypatch):
    from colorbench.data.prepare import load_dataset
    from colorbench.data.spec import TEST_ONLY, DatasetConfig, LoadOptions

    monkeypatch.setenv("COLORBENCH_CACHE", str(tmp_path / "cache"))
    spec = (DatasetConfig(name="kodak24", source="kodak24", split=TEST_ONLY), LoadOptions(size=16))
    first = load_dataset(*spec, progress=False).report
    files = list((tmp_path / "cache").rglob("*.json"))
    assert files, "the hygiene scan should have been cached"
    for f in files:
        f.write_text("{ not json")
    again = load_dataset(*spec, progress=False).report
    assert again == first


def _fail_gray(monkeypatch):
    from baselines.reference import Gray

    def boom(self, L, target_rgb=None):
        raise RuntimeError("gray exploded")

    monkeypatch.setattr(Gray, "colorize", boom)


def test_a_dataset_whose_every_row_failed_still_gets_its_report(tmp_path, monkeypatch, capsys):
    # Before: report/data.agreement selected zero columns (KeyError 'metric'), exit 1, no index.html.
    _fail_gray(monkeypatch)
    path = _config(tmp_path, [{"name": "gray"}])
    assert main(["run", str(path)]) == 6
    table = pd.read_csv(tmp_path / "out" / "results.csv")
    assert (table["status"] == "failed").all() and table["reason"].str.contains("gray exploded").all()
    index = (tmp_path / "out" / "reports" / "index.html").read_text()
    assert "gray exploded" in index and "kodak24" in index


def test_results_and_report_are_replaced_together_or_not_at_all(tmp_path, monkeypatch):
    path = _config(tmp_path, [{"name": "gray"}, {"name": "oracle"}])
    assert main(["run", str(path)]) == 0
    out = tmp_path / "out"
    before = {name: (out / name).read_bytes() for name in ("results.csv", "run.json", "summary.md", "reports/index.html")}
    _fail_gray(monkeypatch)

    def broken(*args, **kwargs):
        raise RuntimeError("renderer broke")

    monkeypatch.setattr("colorbench.report.render.render_pages", broken)
    with pytest.raises(RuntimeError, match="renderer broke"):  # a bug, so a traceback: but nothing half-replaced
        main(["run", str(path)])
    assert {name: (out / name).read_bytes() for name in before} == before  # the old, consistent set
    assert sorted(p.name for p in out.iterdir() if p.name.startswith(".")) == [".colorbench"]


def test_output_files_honour_the_umask(tmp_path):
    path = _config(tmp_path, [{"name": "gray"}])
    mask = os.umask(0o022)
    os.umask(mask)
    assert main(["run", str(path)]) == 0
    out = tmp_path / "out"
    files = [out / "results.csv", out / "run.json", out / "reports" / "index.html",
             next((out / "gt" / "kodak24").glob("*.png")), next((out / "outputs" / "kodak24" / "gray").glob("*.png"))]
    assert {f.name: oct(f.stat().st_mode & 0o777) for f in files} == {f.name: oct(0o666 & ~mask) for f in files}


def test_a_forced_run_leaves_the_users_own_files_alone(tmp_path, capsys):
    out = tmp_path / "out"
    (out / "drafts").mkdir(parents=True)
    (out / ".chapter3.tmp").write_text("thesis")
    (out / "drafts" / ".figure.png.x.tmp").write_text("figure")
    path = _config(tmp_path, [{"name": "gray"}])
    assert main(["run", str(path)]) == 2  # not a run folder: refused without --force
    assert main(["run", str(path), "--force"]) == 0
    assert (out / ".chapter3.tmp").read_text() == "thesis"
    assert (out / "drafts" / ".figure.png.x.tmp").read_text() == "figure"
    assert (out / "results.csv").is_file()


def test_the_fid_small_n_warning_is_said_once_per_dataset_and_in_the_report(tmp_path, capsys):
    # Before: one identical warning per baseline and dataset (68 in a run of benchmarks.yaml).
    path = _config(tmp_path, [{"name": "gray"}, {"name": "oracle"}, {"name": "gray2", "model": "gray"}])
    cfg = yaml.safe_load(path.read_text())
    cfg["evaluation"]["metrics"] = ["mse", "fid"]
    path.write_text(yaml.safe_dump(cfg))
    assert main(["run", str(path)]) == 0
    said = [line for line in capsys.readouterr().out.splitlines() if "strongly biased" in line]
    assert sorted(line.split(":")[2].strip() for line in said) == ["cbsd68", "kodak24"], said
    run = json.loads((tmp_path / "out" / "run.json").read_text())
    assert all(len(d["warnings"]) == 1 for d in run["datasets"].values())
    index = (tmp_path / "out" / "reports" / "index.html").read_text()
    assert index.count("strongly biased") == 2 and "strongly biased" in (tmp_path / "out" / "summary.md").read_text()


def test_a_builtin_baseline_whose_output_is_nan_fails_its_row(tmp_path, monkeypatch, capsys):
    # Before: NaN was clamped by the PNG and scored "ok".
    import torch

    from baselines.reference import Gray

    monkeypatch.setattr(Gray, "colorize", lambda self, L, target_rgb=None: torch.full((L.shape[0], 3, *L.shape[2:]), float("nan")))
    path = _config(tmp_path, [{"name": "gray"}, {"name": "oracle"}])
    assert main(["run", str(path)]) == 6
    table = pd.read_csv(tmp_path / "out" / "results.csv")
    gray = table[table["baseline"] == "gray"]
    assert (gray["status"] == "failed").all() and gray["reason"].str.contains("3072 of 3072 pixels with NaN or Inf").all()
    assert (table[table["baseline"] == "oracle"]["status"] == "ok").all()


CONTRACT_CASES = [  # (colour space, channel, value, passes): each range give or take 1% of its span
    ("rgb", 0, 1.0099, True), ("rgb", 0, 1.0101, False), ("rgb", 2, -0.0099, True), ("rgb", 2, -0.0101, False),
    ("lab", 0, 100.99, True), ("lab", 0, 101.01, False), ("lab", 0, -0.99, True), ("lab", 0, -1.01, False),
    ("lab", 1, 130.55, True), ("lab", 1, 130.57, False), ("lab", 2, -130.55, True), ("lab", 2, -130.57, False),
]


@pytest.mark.parametrize("space,channel,value,passes", CONTRACT_CASES)
def test_the_contract_tolerance_is_one_percent_of_each_span(space, channel, value, passes):
    import torch

    from colorbench.contracts import ContractError, check_output

    out = torch.full((2, 3, 4, 5), 0.5 if space == "rgb" else 50.0, dtype=torch.float64)
    if space == "lab":
        out[:, 1:] = 0.0
    out[1, channel, 2, 3] = value
    if passes:
        check_output(out, space, 2)
    else:
        with pytest.raises(ContractError, match=r"returned 1 of 40 pixels outside"):
            check_output(out, space, 2)


def test_the_contract_counts_non_finite_pixels_and_checks_the_shape():
    import torch

    from colorbench.contracts import ContractError, check_output

    out = torch.zeros(1, 3, 4, 4)
    out[0, :, 0, 0] = float("nan")  # one pixel, three channels
    out[0, 1, 3, 3] = float("-inf")
    with pytest.raises(ContractError, match="returned 2 of 16 pixels with NaN or Inf values"):
        check_output(out, "rgb", 1)
    with pytest.raises(ContractError, match=r"shape \(1, 2, 4, 4\), not \(1, 3, H, W\)"):
        check_output(torch.zeros(1, 2, 4, 4), "rgb", 1)
    with pytest.raises(ContractError, match=r"not \(2, 3, H, W\)"):
        check_output(torch.zeros(1, 3, 4, 4), "rgb", 2)
