"""`colorbench study create` and the study folder: contents, seeded sampling, names with
did-you-mean, sessions, and every bad input as one line with its exit code and nothing written."""
from __future__ import annotations

import json
import shutil
import sqlite3
from pathlib import Path

import pytest
import torch
from ci_browser.synthetic_run import FAILED_NAME, SCRIPT_NAME, build_run

from colorbench.cli import main
from colorbench.color import rgb_to_lab
from colorbench.imageio import load_rgb
from colorbench.lock import RunLock
from colorbench.study.spec import file_sha256, load_study
from colorbench.study.store import create_db
from colorbench.study.trials import session_schedule

MODELS = ["cnn", "pix2pix", SCRIPT_NAME]


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    return build_run(tmp_path_factory.mktemp("create") / "run-1")


def _create(run_dir, *args) -> int:
    return main(["study", "create", str(run_dir), *args])


def _one_error_line(capsys) -> str:
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("colorbench: error: "), lines
    return lines[0]


def _tree(folder: Path) -> dict:
    return {str(p.relative_to(folder)): (p.is_dir() or p.stat().st_mtime_ns) for p in sorted(folder.rglob("*"))} if folder.exists() else {}


def test_a_mos_study_folder(run_dir, capsys):
    assert _create(run_dir, "--design", "mos", "--per-baseline", "3", "--name", "mos-a") == 0
    err = capsys.readouterr().err
    assert all(f"left out {b}" in err for b in ("gray", "oracle", FAILED_NAME))
    folder = run_dir / "studies" / "mos-a"
    study = load_study(folder)
    assert (study.design, study.source.run_id, study.settings.baselines) == ("mos", "run-1", MODELS)
    main_trials = [t for t in study.trials if t.kind == "main"]
    assert len(main_trials) == 3 * (len(MODELS) + 1) * 2
    assert sum(t.kind == "practice" for t in study.trials) == 3 and sum(t.kind == "vigilance" for t in study.trials) == 4
    for dataset in ("tiny-a", "tiny-b"):
        scenes = {s: sorted(t.image_id for t in main_trials if t.dataset == dataset and t.system == s) for s in MODELS + [""]}
        assert len(set(map(tuple, scenes.values()))) == 1 and len(scenes["cnn"]) == 3  # the same 3 scenes for every system
    for t in main_trials:  # images are the run's files, byte for byte
        assert study.images[t.reference] == file_sha256(run_dir / "gt" / t.dataset / f"{t.image_id}.png")
        source = run_dir / "gt" / t.dataset / f"{t.image_id}.png" if t.system == "" else run_dir / "outputs" / t.dataset / t.system / f"{t.image_id}.png"
        assert study.images[t.test] == file_sha256(source)
        assert (t.test == t.reference) == (t.system == "")
    used = {n for t in study.trials for n in (t.test, t.reference)}
    assert {p.name for p in (folder / "images").iterdir()} == used == set(study.images)
    with sqlite3.connect(folder / "responses.sqlite") as db:
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert not [p for p in (run_dir / "studies").iterdir() if p.name.startswith(".")]  # no staging left behind


def test_vigilance_images_are_the_truth_with_hue_turned_180_degrees(run_dir):
    assert _create(run_dir, "--design", "2afc", "--per-baseline", "2", "--name", "vig") == 0
    folder = run_dir / "studies" / "vig"
    study = load_study(folder)
    for t in (t for t in study.trials if t.kind == "vigilance"):
        truth, turned = (rgb_to_lab(load_rgb(folder / "images" / n).double().unsqueeze(0))[0] for n in (t.reference, t.test))
        assert (truth[0] - turned[0]).abs().mean() < 2.0  # lightness kept (up to gamut clipping and 8 bits)
        ab, ab_turned = truth[1:].flatten(), turned[1:].flatten()
        assert torch.dot(ab, ab_turned) < -0.8 * ab.norm() * ab_turned.norm()  # ab vectors point the opposite way


def test_sampling_is_seeded_and_extra_trials_avoid_main_scenes(run_dir):
    for name, seed in (("s0", "0"), ("s0-again", "0"), ("s1", "1")):
        assert _create(run_dir, "--design", "2afc", "--per-baseline", "3", "--practice", "2", "--vigilance", "3", "--seed", seed, "--name", name) == 0
    a, b, c = (load_study(run_dir / "studies" / n) for n in ("s0", "s0-again", "s1"))
    assert a.trials == b.trials and a.fingerprint == b.fingerprint
    assert a.trials != c.trials
    main_scenes = {(t.dataset, t.image_id) for t in a.trials if t.kind == "main"}
    extra = [(t.dataset, t.image_id) for t in a.trials if t.kind != "main"]
    assert len(extra) == len(set(extra)) == 5 and not main_scenes & set(extra)  # 6 + 5 ids, 2 x 3 main: 5 left over


@pytest.mark.parametrize("practice, vigilance", [("0", "2"), ("2", "0"), ("1", "1")])
def test_2afc_never_shows_a_main_scenes_real_photo_in_an_extra_trial(run_dir, capsys, practice, vigilance):
    """tiny-a has 6 images: 5 main scenes leave 1 for practice and vigilance trials."""
    before = _tree(run_dir / "studies")
    args = ["--design", "2afc", "--datasets", "tiny-a", "--per-baseline", "5", "--practice", practice, "--vigilance", vigilance]
    name = f"reuse-{practice}-{vigilance}"
    assert _create(run_dir, *args, "--name", name) == 2
    line = _one_error_line(capsys)
    assert f"--practice {practice} and --vigilance {vigilance} need 2 test images outside the 5 main scenes of each dataset" in line
    assert "the selected datasets have 1 (tiny-a: 6 - 5)" in line
    assert _tree(run_dir / "studies") == before
    assert _create(run_dir, *args[:-4], "--practice", "1", "--vigilance", "0", "--name", name) == 0  # exactly enough
    study = load_study(run_dir / "studies" / name)
    main_scenes = {t.image_id for t in study.trials if t.kind == "main"}
    assert [t.image_id not in main_scenes for t in study.trials if t.kind != "main"] == [True]


def test_mos_says_when_extra_trials_reuse_main_scenes(run_dir, capsys):
    assert _create(run_dir, "--design", "mos", "--datasets", "tiny-a", "--per-baseline", "5", "--practice", "1",
                   "--vigilance", "2", "--name", "mos-reuse") == 0
    study = load_study(run_dir / "studies" / "mos-reuse")
    main_scenes = {t.image_id for t in study.trials if t.kind == "main"}
    reused = sum(t.image_id in main_scenes for t in study.trials if t.kind != "main")
    assert reused == 2
    assert ("2 of the 3 practice and vigilance trials show main scenes: only 1 test image lies outside the 5 main scenes of each "
            "dataset") in capsys.readouterr().err


def test_sessions(run_dir):
    assert _create(run_dir, "--design", "2afc", "--per-baseline", "3", "--practice", "3", "--vigilance", "2", "--name", "sessions") == 0
    assert _create(run_dir, "--design", "mos", "--per-baseline", "3", "--name", "sessions-mos") == 0
    afc, mos = (load_study(run_dir / "studies" / n) for n in ("sessions", "sessions-mos"))
    main_ids = {t.id for t in afc.trials if t.kind == "main"}
    covered = []
    for index in range(len(MODELS)):
        schedule = session_schedule(afc, f"token-{index}", index)
        assert [afc.trial(t).kind for t, _ in schedule[:3]] == ["practice"] * 3
        mine = [t for t, _ in schedule if t in main_ids]
        scenes = [(afc.trial(t).dataset, afc.trial(t).image_id) for t in mine]
        assert len(scenes) == len(set(scenes)) == 6  # each main scene once per rater
        assert sorted(afc.trial(t).system for t in mine) == sorted(MODELS * 2)  # every baseline equally often
        assert {s for _, s in schedule} == {"left", "right"}
        covered += mine
    assert sorted(covered) == sorted(main_ids)  # B consecutive raters cover every (scene, baseline) once
    assert session_schedule(afc, "token-0", 0) == session_schedule(afc, "token-0", 0)
    one, two = session_schedule(mos, "tok-a", 0), session_schedule(mos, "tok-b", 1)
    assert sorted(one) == sorted(two) and one != two and len(one) == len(mos.trials)  # MOS: every trial, own order


def test_names_are_checked_with_did_you_mean(run_dir, capsys):
    assert _create(run_dir, "--design", "mos", "--baselines", "cnnn") == 2
    assert "unknown baseline 'cnnn' (did you mean 'cnn'?)" in _one_error_line(capsys)
    assert _create(run_dir, "--design", "mos", "--datasets", "tiny-c") == 2
    assert "did you mean" in _one_error_line(capsys)
    assert _create(run_dir, "--design", "mos", "--baselines", f"cnn,{FAILED_NAME}") == 2
    assert "failed in this run" in _one_error_line(capsys)
    assert _create(run_dir, "--design", "mos", "--per-baseline", "1", "--baselines", "gray", "cnn", "--name", "named") == 0
    assert load_study(run_dir / "studies" / "named").settings.baselines == ["gray", "cnn"]  # named reference rows are shown
    assert _create(run_dir, "--design", "mos", "--per-baseline", "1", "--include-references", "--datasets", "tiny-b", "--practice", "1", "--vigilance", "1", "--name", "refs") == 0
    study = load_study(run_dir / "studies" / "refs")
    assert study.settings.baselines == ["gray", "oracle"] + MODELS and study.settings.datasets == ["tiny-b"]


@pytest.mark.parametrize("args, code, words", [
    (["--design", "mos", "--per-baseline", "50"], 2, "usable test images"),
    (["--design", "mos", "--per-baseline", "0"], 2, "at least 1"),
    (["--design", "mos", "--vigilance-max-fail", "1.5"], 2, "vigilance-max-fail"),
    (["--design", "mos", "--name", "../escape"], 2, "--name"),
    (["--design", "mos", "--per-baseline", "1", "--practice", "8", "--vigilance", "4"], 2, "need 12 distinct scenes; the selected datasets have 11"),
])
def test_bad_options_write_nothing(run_dir, capsys, args, code, words):
    before = _tree(run_dir / "studies")
    assert _create(run_dir, *args) == code
    assert words in _one_error_line(capsys)
    assert _tree(run_dir / "studies") == before


def test_missing_or_corrupt_run_folder(tmp_path, capsys):
    assert _create(tmp_path / "nowhere", "--design", "mos") == 4
    assert "not a run folder" in _one_error_line(capsys)
    (tmp_path / "run.json").write_text("{broken")
    assert _create(tmp_path, "--design", "mos") == 4
    assert "corrupt run file" in _one_error_line(capsys)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run.json"]


def test_an_existing_study_is_replaced_only_with_force_and_never_while_served(run_dir, capsys):
    assert _create(run_dir, "--design", "mos", "--per-baseline", "1", "--name", "again") == 0
    folder = run_dir / "studies" / "again"
    first = load_study(folder).created
    capsys.readouterr()
    before = _tree(folder)
    assert _create(run_dir, "--design", "mos", "--per-baseline", "1", "--name", "again") == 2
    assert "--force" in _one_error_line(capsys) and _tree(folder) == before
    with RunLock(folder):  # what `study serve` holds
        assert _create(run_dir, "--design", "mos", "--per-baseline", "1", "--name", "again", "--force") == 5
        assert "stop `colorbench study serve` first" in _one_error_line(capsys)
        assert load_study(folder).created == first
    assert _create(run_dir, "--design", "mos", "--per-baseline", "1", "--name", "again", "--force") == 0
    capsys.readouterr()
    assert load_study(folder).created != first
    assert not [p for p in (run_dir / "studies").iterdir() if p.name.startswith(".")]


@pytest.fixture
def own_run(tmp_path):
    """A run folder of this test's own (with a user's notes file), the data folder it came from, and a parent."""
    run = build_run(tmp_path / "runs" / "run-1")
    (run / "notes.txt").write_text("my notes")
    data = tmp_path / "data" / "kodak"
    data.mkdir(parents=True)
    shutil.copy(run / "gt" / "tiny-a" / "a01.png", data / "kodim01.png")
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "thesis.tex").write_text("\\section{}")
    return run


@pytest.mark.parametrize("where", ["the run", "the run's parent", "a dataset root", "another folder", "a file"])
def test_force_replaces_only_a_study_folder(own_run, capsys, where):
    root = own_run.parents[1]
    if where == "a file":
        (root / "a file").write_text("x")
    out = {"the run": own_run, "the run's parent": own_run.parent, "a dataset root": root / "data" / "kodak",
           "another folder": root / "other", "a file": root / "a file"}[where]
    before = _tree(root)
    assert _create(own_run, "--design", "mos", "--per-baseline", "1", "--out", str(out), "--force") == 2
    line = _one_error_line(capsys)
    assert "--out" in line and str(out) in line and "--force" in line
    assert _tree(root) == before  # nothing written, nothing deleted


def test_force_replaces_a_study_folder_but_not_one_holding_other_files(own_run, capsys):
    out = own_run.parent / "study"
    assert _create(own_run, "--design", "mos", "--per-baseline", "1", "--out", str(out)) == 0
    assert (out / ".colorbench-study").is_file()  # the study's marker, written with the folder
    first = load_study(out).created
    assert _create(own_run, "--design", "mos", "--per-baseline", "1", "--out", str(out), "--force") == 0
    assert load_study(out).created != first
    (out / ".colorbench-study").unlink()  # a study made before the marker: known by its study.json
    assert _create(own_run, "--design", "mos", "--per-baseline", "1", "--out", str(out), "--force") == 0
    (out / "my-analysis.ipynb").write_text("{}")
    capsys.readouterr()
    before = _tree(own_run.parent)
    assert _create(own_run, "--design", "mos", "--per-baseline", "1", "--out", str(out), "--force") == 2
    assert "my-analysis.ipynb" in _one_error_line(capsys) and _tree(own_run.parent) == before
    empty = own_run.parent / "empty"
    empty.mkdir()
    assert _create(own_run, "--design", "mos", "--per-baseline", "1", "--out", str(empty), "--force") == 0
    assert load_study(empty).design == "mos"


def test_a_study_inside_the_runs_own_folders_is_refused(own_run, capsys):
    before = _tree(own_run)
    assert _create(own_run, "--design", "mos", "--per-baseline", "1", "--out", str(own_run / "outputs" / "tiny-a" / "mine")) == 2
    assert "outputs" in _one_error_line(capsys) and _tree(own_run) == before


def test_invite_prints_personal_links(run_dir, capsys):
    assert _create(run_dir, "--design", "2afc", "--per-baseline", "2", "--name", "invite") == 0
    capsys.readouterr()
    folder = run_dir / "studies" / "invite"
    assert main(["study", "invite", str(folder), "-n", "3", "--url", "http://10.0.0.5:8000/"]) == 0
    links = capsys.readouterr().out.split()
    assert len(set(links)) == 3 and all(link.startswith("http://10.0.0.5:8000/s/") for link in links)
    with sqlite3.connect(folder / "responses.sqlite") as db:
        assert db.execute("SELECT id, origin FROM sessions ORDER BY id").fetchall() == [(1, "invite"), (2, "invite"), (3, "invite")]
        stored = {r[0] for r in db.execute("SELECT token_sha256 FROM sessions")}
    assert not any(link.rsplit("/", 1)[1] in stored for link in links)  # only digests are stored


def _corruptions():
    def drop(name):
        return lambda f: (f / name).unlink()

    def write(name, text):
        return lambda f: (f / name).write_text(text)

    def edit(change):
        def apply(f):
            data = json.loads((f / "study.json").read_text())
            change(data)
            (f / "study.json").write_text(json.dumps(data))
        return apply

    def first_image(f):
        return sorted((f / "images").iterdir())[0]

    return {
        "no folder": (lambda f: shutil.rmtree(f), 4, "no such study folder", "all"),
        "no study.json": (drop("study.json"), 4, "not a study folder", "all"),
        "garbage study.json": (write("study.json", "{not json"), 2, "corrupt study file", "all"),
        "unknown key": (edit(lambda d: d.update(colour="red")), 2, "colour: unknown key", "all"),
        "wrong schema": (edit(lambda d: d.update(schema="colorbench.study/9")), 2, "schema", "all"),
        "bad design": (edit(lambda d: d.update(design="3afc")), 2, "design", "all"),
        "image missing": (lambda f: first_image(f).unlink(), 4, "study image missing", "images"),
        "image changed": (lambda f: first_image(f).write_bytes(b"\x89PNG changed"), 4, "changed since", "images"),
        "no database": (drop("responses.sqlite"), 4, "votes are gone", "all"),
        "garbage database": (write("responses.sqlite", "not a database" * 100), 4, "not a readable study database", "all"),
        "database of another study": (lambda f: (drop("responses.sqlite")(f), create_db(f / "responses.sqlite", "0" * 64)), 4, "another study", "all"),
    }


CASES = [(case, command) for case, (_, _, _, scope) in _corruptions().items() for command in ("serve", "analyze", "export", "invite")
         if not (scope == "images" and command == "analyze")]  # analyze reads study.json and the votes only


@pytest.mark.parametrize("case, command", CASES)
def test_a_missing_or_corrupt_study_folder_is_one_line_and_nothing_written(run_dir, tmp_path, capsys, case, command):
    damage, code, words, _ = _corruptions()[case]
    source = run_dir / "studies" / "pristine"
    if not source.exists():
        assert _create(run_dir, "--design", "mos", "--per-baseline", "1", "--name", "pristine") == 0
    folder = tmp_path / "study"
    shutil.copytree(source, folder)
    damage(folder)
    capsys.readouterr()
    before = _tree(tmp_path)
    extra = ["--port", "0"] if command == "serve" else []
    assert main(["study", command, str(folder), *extra]) == code
    assert words in _one_error_line(capsys)
    assert _tree(tmp_path) == before


def test_serve_on_a_port_in_use_is_one_line_and_releases_its_lock(run_dir, capsys):
    import socket

    assert _create(run_dir, "--design", "mos", "--per-baseline", "1", "--name", "busy") == 0
    capsys.readouterr()
    folder = run_dir / "studies" / "busy"
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        assert main(["study", "serve", str(folder), "--port", str(taken.getsockname()[1])]) == 2
    assert "cannot listen on 127.0.0.1:" in _one_error_line(capsys)
    assert not (folder / ".colorbench.lock").exists()
    assert main(["study", "serve", str(folder), "--threads", "0"]) == 2
    assert "--threads" in _one_error_line(capsys)


def test_a_test_id_pointing_outside_the_run_is_left_out_and_listed(run_dir, tmp_path, capsys):
    run = tmp_path / "run"
    shutil.copytree(run_dir, run, ignore=shutil.ignore_patterns("studies"))
    shutil.copy(run / "gt" / "tiny-b" / "b01.png", tmp_path / "secret.png")  # what gt/tiny-b/<id>.png points at: outside
    shutil.copy(run / "gt" / "tiny-b" / "b01.png", run / "secret.png")  # what outputs/tiny-b/<b>/<id>.png points at
    meta = json.loads((run / "run.json").read_text())
    meta["datasets"]["tiny-b"]["test_ids"].append("../../../secret")
    (run / "run.json").write_text(json.dumps(meta))
    assert _create(run, "--design", "mos", "--per-baseline", "5", "--datasets", "tiny-b", "--baselines", "cnn", "--practice", "0", "--vigilance", "0") == 0
    study = load_study(run / "studies" / "mos")
    assert study.settings.skipped_scenes == {"tiny-b": ["../../../secret"]}
    assert "tiny-b: 1 test images left out (an image missing or outside the run folder)" in capsys.readouterr().err
    assert all(t.image_id != "../../../secret" for t in study.trials)
