"""`colorbench run` end to end on real photos: records, provenance, score parity, reuse."""
from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
import yaml

from colorbench.cli import main
from colorbench.document import RUN_SCHEMA

METRICS = ["mse", "psnr", "ssim", "acc313", "colorfulness", "delta_cf"]


def _config(tmp_path: Path, out: Path) -> Path:
    cfg = {
        "version": 1, "seed": 0, "device": "cpu", "output_dir": str(out), "scale": "small",
        "scales": {"small": {"eval_size": 48, "max_train_images": 8, "max_val_images": 4, "max_test_images": 6, "epochs": 1, "image_size": 32}},
        "evaluation": {"metrics": METRICS, "batch_size": 4, "grid_images": 3},
        "datasets": [
            {"name": "kodak24", "split": {"train": 0.0, "val": 0.0, "test": 1.0}},
            {"name": "cbsd68", "split": {"train": 0.6, "val": 0.1, "test": 0.3}},
        ],
        "baselines": [
            {"name": "gray"}, {"name": "oracle"},
            {"name": "autoencoder", "train_on": "cbsd68", "small": {"batch_size": 4}},
        ],
    }
    path = tmp_path / "bench.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return path


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory):
    """One run with a fresh cache (so training happens), kept for the module's tests."""
    tmp = tmp_path_factory.mktemp("run")
    out = tmp / "out"
    path = _config(tmp, out)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("COLORBENCH_CACHE", str(tmp / "cache"))
        assert main(["run", str(path)]) == 0
        yield path, out


def test_tables_and_provenance(finished_run):
    _, out = finished_run
    table = pd.read_csv(out / "results.csv")
    assert set(table["baseline"]) == {"gray", "oracle", "autoencoder"}
    assert set(table["metric"]) == set(METRICS)
    assert (table["status"] == "ok").all()
    kodak = table[table["dataset"] == "kodak24"].set_index(["baseline", "metric"])["value"]
    assert kodak[("oracle", "mse")] == 0.0
    assert kodak[("oracle", "psnr")] > kodak[("gray", "psnr")]
    assert kodak[("gray", "mse")] > 0
    run = json.loads((out / "run.json").read_text())
    assert run["schema"] == RUN_SCHEMA
    assert run["datasets"]["kodak24"]["n_test_scored"] == 6
    assert run["datasets"]["cbsd68"]["manifest_hash"]
    for key in ("packages", "git", "device", "python"):
        assert key in run["environment"]
    assert run["baselines"]["autoencoder"]["train"]["status"] == "trained"
    assert run["baselines"]["autoencoder"]["train"]["checkpoint_sha256"]
    assert (out / "reports" / "index.html").is_file() and (out / "summary.md").is_file()
    jsonl = [json.loads(line) for line in (out / "results.jsonl").read_text().splitlines()]
    assert len(jsonl) == len(table)


@pytest.mark.parametrize("dataset,baseline", [("kodak24", "gray"), ("cbsd68", "autoencoder")])
def test_scoring_the_output_folder_reproduces_the_table(finished_run, capsys, dataset, baseline):
    _, out = finished_run
    capsys.readouterr()
    args = ["score", "--pred", str(out / "outputs" / dataset / baseline), "--gt", str(out / "gt" / dataset), "--metrics", ",".join(METRICS), "--json", "--device", "cpu", "--batch-size", "4"]
    assert main(args) == 0
    scored = json.loads(capsys.readouterr().out)
    rows = [json.loads(line) for line in (out / "results.jsonl").read_text().splitlines()]
    rows = {r["metric"]: r for r in rows if r["dataset"] == dataset and r["baseline"] == baseline}
    assert set(rows) == set(METRICS)
    for metric in METRICS:
        assert scored[metric] == rows[metric]["value"], metric  # exact: the same routine on the same files
        assert scored["n"] == rows[metric]["n"]


def test_second_run_loads_checkpoints_and_gives_identical_tables(finished_run, tmp_path):
    path, out = finished_run
    cfg = yaml.safe_load(path.read_text())
    cfg["output_dir"] = str(tmp_path / "again")
    again = tmp_path / "again.yaml"
    again.write_text(yaml.safe_dump(cfg))
    assert main(["run", str(again)]) == 0
    run = json.loads((tmp_path / "again" / "run.json").read_text())
    assert run["baselines"]["autoencoder"]["train"]["status"] == "loaded"
    cols = ["dataset", "baseline", "metric", "value", "ci_low", "ci_high", "n", "protocol", "p_vs_best"]
    first = pd.read_csv(out / "results.csv")[cols]
    second = pd.read_csv(tmp_path / "again" / "results.csv")[cols]
    pd.testing.assert_frame_equal(first, second)


def test_a_changed_hygiene_rule_retrains_instead_of_reusing_a_stale_checkpoint(finished_run, tmp_path, monkeypatch):
    # Before: the checkpoint key hashed the manifest, resize, fractions and threshold but not the
    # hygiene rules, so a rule that changed the training split still loaded the old checkpoint.
    import colorbench.data.prepare as prepare

    path, out = finished_run
    run = json.loads((out / "run.json").read_text())
    cfg = yaml.safe_load(path.read_text())
    cfg["output_dir"] = str(tmp_path / "rule")
    changed = tmp_path / "rule.yaml"
    changed.write_text(yaml.safe_dump(cfg))
    scored = set(run["datasets"]["cbsd68"]["test_ids"])
    victim = next(i for i in _train_ids(path) if i not in scored)
    original = prepare.exclusion

    def stricter(m, threshold):  # a new hygiene rule that happens to drop one training image
        from colorbench.data.hygiene import Exclusion
        return Exclusion(m.id, "low-chroma", "new rule") if m.id == victim else original(m, threshold)

    monkeypatch.setattr(prepare, "exclusion", stricter)
    assert main(["run", str(changed)]) == 0
    again = json.loads((tmp_path / "rule" / "run.json").read_text())
    assert again["baselines"]["autoencoder"]["train"]["status"] == "trained"
    assert again["datasets"]["cbsd68"]["protocol"] == run["datasets"]["cbsd68"]["protocol"]  # the test split is unchanged


def _train_ids(path) -> list[str]:
    from colorbench.config import load_config
    from colorbench.data.prepare import load_dataset
    from colorbench.pipeline.data import capped_split
    from colorbench.plan import build_plan

    plan = build_plan(load_config(path), str(path))
    ds = load_dataset(plan.datasets["cbsd68"], plan.load_options, progress=False)
    bp = plan.baseline("autoencoder")
    return capped_split(ds, "train", bp.settings.image_size, bp.settings.max_train_images).ids


def test_export_writes_path_free_tables_that_compare_equal(finished_run, tmp_path, capsys):
    from colorbench.paths import cache_root, data_root

    _, out = finished_run
    dest = tmp_path / "reports" / "e2e-small-cpu"
    assert main(["export", str(out), str(dest)]) == 0
    assert sorted(p.name for p in dest.iterdir()) == ["per_image.csv", "results.csv", "run.json", "summary.md"]
    text = "".join(p.read_text() for p in dest.iterdir())
    for machine_path in (str(cache_root().resolve()), str(data_root().resolve()), str(Path.home())):
        assert machine_path not in text
    assert "$COLORBENCH_CACHE" in text and "$COLORBENCH_DATA" in text  # the provenance is kept, the paths are not
    capsys.readouterr()
    assert main(["compare", str(dest / "results.csv"), str(out / "results.csv")]) == 0


def _colorize_inputs(folder: Path) -> dict[str, tuple[int, int]]:
    """Awkward photos -> the (width, height) each output must have."""
    import numpy as np
    from PIL import Image

    rng = np.random.default_rng(5)
    colour = lambda h, w: rng.integers(0, 256, size=(h, w, 3), dtype=np.uint8)  # noqa: E731
    (folder / "sub").mkdir(parents=True)
    Image.fromarray(colour(23, 37)).save(folder / "odd.png")
    exif = Image.Exif()
    exif[0x0112] = 6  # displayed rotated by 90 degrees
    Image.fromarray(colour(20, 50)).save(folder / "sub" / "rotated.jpg", exif=exif.tobytes())
    Image.fromarray((rng.integers(0, 65535, size=(30, 40))).astype(np.uint16)).save(folder / "gray16.png")
    Image.fromarray(colour(33, 33)[..., 0]).save(folder / "sub" / "gray.jpg")
    (folder / "broken.png").write_bytes(b"not an image")
    return {"odd.png": (37, 23), "sub/rotated.png": (20, 50), "gray16.png": (40, 30), "sub/gray.png": (33, 33)}


@pytest.mark.parametrize("baseline", ["autoencoder", "gray"])
def test_colorize_applies_a_trained_baseline_to_any_photo(finished_run, tmp_path, capsys, baseline):
    import numpy as np
    from PIL import Image

    from colorbench.color import rgb_to_lab
    from colorbench.imageio import load_rgb

    _, out = finished_run
    expected = _colorize_inputs(tmp_path / "in")
    code = main(["colorize", "--run", str(out), "--baseline", baseline, "--input", str(tmp_path / "in"),
                 "--out", str(tmp_path / "colour")])
    err = capsys.readouterr().err
    assert code == 6 and "1 file(s) skipped: broken.png (unreadable: " in err  # listed, the others done
    for name, size in expected.items():
        result = tmp_path / "colour" / name
        assert Image.open(result).size == size, name  # the input's own size, EXIF orientation applied
        source = load_rgb(next((tmp_path / "in").glob(name.replace(".png", ".*"))))[None]
        lightness = rgb_to_lab(load_rgb(result)[None])[:, 0] - rgb_to_lab(source)[:, 0]
        assert float(lightness.abs().mean()) < 1.5, name  # the input's full-resolution L, to 8-bit rounding
    if baseline == "gray":
        assert np.ptp(np.asarray(Image.open(tmp_path / "colour" / "odd.png")).astype(int), axis=2).max() <= 2


def test_colorize_refuses_what_it_cannot_apply(finished_run, tmp_path, capsys):
    _, out = finished_run
    (tmp_path / "in").mkdir()
    for args, words in ((["--baseline", "oracle"], "needs the ground truth"),
                        (["--baseline", "autoencodr"], "did you mean 'autoencoder'"),
                        (["--baseline", "gray", "--out", str(tmp_path / "in" / "x")], "overlap")):
        argv = ["colorize", "--run", str(out), "--input", str(tmp_path / "in"), "--out", str(tmp_path / "o"), *args]
        assert main(argv) == 2
        err = capsys.readouterr().err.strip()
        assert words in err and "\n" not in err, err
