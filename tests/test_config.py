"""Malformed benchmark files: each exits 2 with one line naming the file and key, before any work."""
from __future__ import annotations

import copy
from pathlib import Path

import pytest
import yaml

from colorbench.cli import main
from colorbench.config import load_config
from colorbench.plan import build_plan

BASE = {
    "version": 1,
    "seed": 0,
    "device": "cpu",
    "output_dir": "OUT",
    "evaluation": {"metrics": ["mse", "psnr"]},
    "datasets": [
        {"name": "kodak24", "split": {"train": 0.0, "val": 0.0, "test": 1.0}},
        {"name": "cbsd68", "split": {"train": 0.8, "val": 0.1, "test": 0.1}},
    ],
    "baselines": [{"name": "gray"}, {"name": "oracle"}, {"name": "cnn_rgb", "train_on": "cbsd68"}],
}


def _set(cfg, path, value):
    *parents, last = path
    for p in parents:
        cfg = cfg[p]
    if value is _DELETE:
        del cfg[last]
    else:
        cfg[last] = value


_DELETE = object()

# (label, edits, expected key in the message, expected words)
CASES = [
    ("unknown top-level key", [(("outptu_dir",), "x")], "outptu_dir", "did you mean 'output_dir'"),
    ("unknown nested key", [(("evaluation", "batchsize"), 4)], "evaluation.batchsize", "did you mean 'batch_size'"),
    ("wrong type", [(("seed",), "zero")], "seed", "expected int"),
    ("wrong type in list", [(("evaluation", "metrics"), "mse")], "evaluation.metrics", "expected a list"),
    ("unknown baseline", [(("baselines", 0, "name"), "grey")], "baselines[0].name", "did you mean 'gray'"),
    ("unknown metric", [(("evaluation", "metrics"), ["mse", "psnrr"])], "evaluation.metrics[1]", "did you mean 'psnr'"),
    ("unknown dataset", [(("datasets", 0, "name"), "kodak25")], "datasets[0].source", "did you mean 'kodak24'"),
    ("missing data directory", [(("datasets", 0), {"name": "mine", "source": "folder", "root": "/nonexistent/dir"})], "datasets[0].root", "does not exist"),
    ("zero epochs", [(("baselines", 2, "train"), {"epochs": 0})], "baselines[2].train.epochs", "must be positive"),
    ("negative epochs at small scale", [(("baselines", 2, "small"), {"epochs": -3})], "baselines[2].small.epochs", "must be positive"),
    ("unknown training setting", [(("baselines", 2, "train"), {"epoch": 3})], "baselines[2].train.epoch", "did you mean 'epochs'"),
    ("unknown model parameter", [(("baselines", 2, "params"), {"widht": 3})], "baselines[2].params.widht", "unknown model parameter"),
    ("duplicate baseline names", [(("baselines", 1, "name"), "gray")], "baselines[1].name", "duplicate baseline"),
    ("duplicate dataset names", [(("datasets", 1, "name"), "kodak24")], "datasets[1].name", "duplicate dataset"),
    ("init_from names no stage", [(("baselines", 2, "init_from"), "nothing@cbsd68")], "baselines[2].init_from", "no earlier baseline"),
    ("init_from malformed", [(("baselines", 2, "init_from"), "cnn_rgb")], "baselines[2].init_from", "<baseline>@<dataset>"),
    ("learned baseline without train_on", [(("baselines", 2, "train_on"), _DELETE)], "baselines[2].train_on", "learned"),
    ("train_on a test-only set", [(("baselines", 2, "train_on"), "kodak24")], "baselines[2].train_on", "no train split"),
    ("split not summing to one", [(("datasets", 0, "split"), {"train": 0.5, "val": 0.0, "test": 0.2})], "datasets[0].split.test", "sum to 1"),
    ("bad resize policy", [(("evaluation", "resize"), "crop")], "evaluation.resize", "must be one of"),
    ("impossible scale", [(("scales",), {"small": {"eval_size": 0}})], "scales.small.eval_size", "must be positive"),
    ("unsupported version", [(("version",), 7)], "version", "unsupported config version"),
    ("unknown device", [(("device",), "tpu")], "device", "must be auto, cpu or cuda"),
    ("no baselines", [(("baselines",), [])], "baselines", "at least one"),
    ("training settings on a non-learned baseline", [(("baselines", 0, "train"), {"epochs": 2})], "baselines[0].train", "not trained"),
    # Names become folder names under output_dir (issue: a name like ../../victim wrote and deleted outside it).
    ("dataset name climbing out of output_dir", [(("datasets", 0), {"name": "../../victim", "source": "kodak24", "split": {"train": 0.0, "val": 0.0, "test": 1.0}})], "datasets[0].name", "starts with '.'"),
    ("dataset name with a slash", [(("datasets", 0, "name"), "kodak24/")], "datasets[0].name", "no path separators"),
    ("absolute baseline name", [(("baselines", 0), {"name": "/some/dir", "model": "oracle"})], "baselines[0].name", "no path separators"),
    ("relative baseline name", [(("baselines", 0), {"name": "./mymodel", "model": "gray"})], "baselines[0].name", "starts with '.'"),
    ("backslash in a name", [(("baselines", 0), {"name": "a\\b", "model": "gray"})], "baselines[0].name", "no path separators"),
    ("control character in a name", [(("baselines", 0), {"name": "gr\x07ay", "model": "gray"})], "baselines[0].name", "control characters"),
    ("names that collide on a case-insensitive disk", [(("baselines", 0), {"name": "GAN", "model": "gray"}), (("baselines", 1), {"name": "gan", "model": "oracle"})], "baselines[1].name", "collides with 'GAN'"),
    ("dataset names that collide case-folded", [(("datasets", 1, "name"), "KODAK24"), (("datasets", 1, "source"), "cbsd68")], "datasets[1].name", "collides with 'kodak24'"),
    ("eval_size too large to allocate", [(("scales",), {"small": {"eval_size": 30000}})], "scales.small.eval_size", "at most 4096"),
    ("negative grid_images", [(("evaluation", "grid_images"), -2)], "evaluation.grid_images", "must be >= 0"),
    ("device the config refuses", [(("device",), "mps")], "device", "must be auto, cpu or cuda"),
]


def _write(tmp_path: Path, cfg) -> Path:
    path = tmp_path / "bench.yaml"
    path.write_text(yaml.safe_dump(cfg) if not isinstance(cfg, str) else cfg)
    return path


def _base(tmp_path: Path) -> dict:
    cfg = copy.deepcopy(BASE)
    cfg["output_dir"] = str(tmp_path / "out")
    return cfg


def test_base_config_is_valid(tmp_path):
    path = _write(tmp_path, _base(tmp_path))
    plan = build_plan(load_config(path), str(path))
    assert [b.config.name for b in plan.baselines] == ["gray", "oracle", "cnn_rgb"]
    assert plan.scale_name == "small"  # auto on a CPU device


@pytest.mark.parametrize("label,edits,key,words", CASES, ids=[c[0] for c in CASES])
def test_malformed_config_exits_2_naming_file_and_key(tmp_path, capsys, label, edits, key, words):
    cfg = _base(tmp_path)
    for path, value in edits:
        _set(cfg, path, value)
    path = _write(tmp_path, cfg)
    assert main(["run", str(path)]) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err, err
    assert err.startswith(f"colorbench: error: {path}: {key}: "), err
    assert words in err, err
    assert not (tmp_path / "out").exists()  # nothing written before validation passes


@pytest.mark.parametrize(
    "text,where",
    [("datasets: [\n  {name: kodak24\n", "line 3, column 1"), ("seed: 0\n  device: cpu\n", "line 2, column 9"), ("a: b\n\tc: d\n", "line 2, column 1")],
)
def test_yaml_syntax_errors_give_line_and_column(tmp_path, capsys, text, where):
    path = _write(tmp_path, text)
    assert main(["run", str(path)]) == 2
    err = capsys.readouterr().err.strip()
    assert f"{path}: {where}: YAML syntax error" in err and "\n" not in err


def test_output_dir_that_is_a_file(tmp_path, capsys):
    cfg = _base(tmp_path)
    (tmp_path / "afile").write_text("x")
    cfg["output_dir"] = str(tmp_path / "afile")
    path = _write(tmp_path, cfg)
    assert main(["run", str(path)]) == 2
    assert "output_dir" in capsys.readouterr().err


@pytest.mark.parametrize("device", ["mps", "meta", "cuda:x"])
def test_device_on_the_command_line_is_checked_like_the_config(tmp_path, capsys, device):
    path = _write(tmp_path, _base(tmp_path))
    assert main(["run", str(path), "--device", device]) == 2
    err = capsys.readouterr().err.strip()
    assert "must be auto, cpu or cuda" in err and "\n" not in err, err
    assert not (tmp_path / "out").exists()


def _folder_dataset(root) -> dict:
    return {"name": "mine", "source": "folder", "root": str(root), "split": {"train": 0.0, "val": 0.0, "test": 1.0}}


@pytest.mark.parametrize("inside", ["root inside output_dir", "output_dir inside root", "the same folder"])
def test_a_data_root_overlapping_output_dir_is_refused(tmp_path, capsys, inside):
    out, photos = tmp_path / "out", tmp_path / "photos"
    root = {"root inside output_dir": out / "gt" / "mine", "output_dir inside root": photos, "the same folder": out}[inside]
    if inside == "output_dir inside root":
        out = photos / "run"
    root.mkdir(parents=True)
    (root / "a.png").write_bytes(b"not read")
    cfg = _base(tmp_path)
    cfg["output_dir"] = str(out)
    cfg["datasets"][0] = _folder_dataset(root)
    path = _write(tmp_path, cfg)
    assert main(["run", str(path)]) == 2
    err = capsys.readouterr().err.strip()
    assert "datasets[0].root: " in err and "overlap" in err and "\n" not in err, err
    assert (root / "a.png").read_bytes() == b"not read"


def test_an_ordinary_non_empty_folder_is_refused_as_output_dir_unless_forced(tmp_path, capsys):
    thesis = tmp_path / "thesis"
    thesis.mkdir()
    (thesis / ".chapter3.tmp").write_text("draft")
    (thesis / "results.csv").write_text("my own table")
    cfg = _base(tmp_path)
    cfg["output_dir"] = str(thesis)
    path = _write(tmp_path, cfg)
    assert main(["run", str(path)]) == 2
    err = capsys.readouterr().err.strip()
    assert "output_dir: " in err and "not a colorbench run folder" in err and "--force" in err, err
    assert sorted(p.name for p in thesis.iterdir()) == [".chapter3.tmp", "results.csv"]
    plan = build_plan(load_config(path), str(path), force=True)  # --force: the user says it is theirs to write
    assert plan.output_dir == thesis


def test_an_unwritable_output_dir_or_cache_exits_2_before_any_work(tmp_path, capsys, monkeypatch):
    (tmp_path / "file").write_text("x")
    cfg = _base(tmp_path)
    cfg["output_dir"] = str(tmp_path / "file" / "out")  # a parent that is a file
    path = _write(tmp_path, cfg)
    assert main(["run", str(path)]) == 2
    err = capsys.readouterr().err.strip()
    assert "output_dir: " in err and "is a file" in err and "\n" not in err, err
    monkeypatch.setenv("COLORBENCH_CACHE", str(tmp_path / "file" / "cache"))
    path = _write(tmp_path, _base(tmp_path))
    assert main(["run", str(path)]) == 2
    err = capsys.readouterr().err.strip()
    assert "cache folder is not writable" in err and "COLORBENCH_CACHE" in err and "\n" not in err, err
    assert not (tmp_path / "out").exists()


def test_missing_config_file(tmp_path, capsys):
    assert main(["run", str(tmp_path / "absent.yaml")]) == 2
    assert "cannot read" in capsys.readouterr().err
