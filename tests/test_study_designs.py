"""Every registered study design, generically, asking only the design (colorbench.study.designs):
a study is created, served (the Flask app under its test client), answered, analysed and
exported; and the registry's did-you-mean, duplicate refusal, and no design named elsewhere."""
from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import urlsplit

import pandas as pd
import pytest
from ci_browser.synthetic_run import build_run

import colorbench
from colorbench.cli import main
from colorbench.errors import UsageError
from colorbench.registry import UnknownNameError
from colorbench.study.analysis import analyze, format_table
from colorbench.study.app import make_app
from colorbench.study.create import CreateOptions, create_study
from colorbench.study.designs import DESIGNS
from colorbench.study.export import export_study
from colorbench.study.spec import DB_FILE, GROUND_TRUTH
from colorbench.study.store import Store, rater_id
from colorbench.study.votes import votes_frame


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    return build_run(tmp_path_factory.mktemp("designs") / "run-1")


def _answer(design, trial, side: str, k: int):
    """A vigilance trial passed; main and practice trials cycle through every answer."""
    if trial.kind == "vigilance":
        return next(v for v in design.answer_values if not design.vigilance_failed(design.score(v, side)))
    return design.answer_values[(k + int(trial.id[1:])) % len(design.answer_values)]


def _rate(client, store, study, design, k: int) -> dict:
    """One rater through the landing page to the thank-you page; {(rater, trial): expected score}."""
    start = client.post("/start")
    assert start.status_code == 303
    page = urlsplit(start.headers["Location"]).path
    html = client.get(page).get_data(as_text=True)
    assert all(f'data-value="{v}"' in html for v in design.answer_values)
    token = page.rsplit("/", 1)[1]
    expected = {}
    while not (state := client.get(f"{page}/next").get_json())["done"]:
        trial = study.trial(state["trial"]["id"])
        session = store.session(token)
        side = dict(map(tuple, session.schedule))[trial.id]
        assert [u.rsplit("/", 1)[1] for u in state["trial"]["images"]] == design.shown(trial, side)
        assert all(client.get(u).status_code == 200 for u in state["trial"]["images"])
        value = _answer(design, trial, side, k)
        reply = client.post(f"{page}/answer", json={"trial": trial.id, "response": value, "latency_ms": 120})
        body = reply.get_json()
        assert reply.status_code == 200 and body["recorded"] is True
        gives_feedback = trial.kind == "practice" and design.practice_feedback is not None
        assert ("feedback" in body) == gives_feedback and (not gives_feedback or body["feedback"] in ("correct", "wrong"))
        expected[rater_id(session.id), trial.id] = design.score(value, side)
    assert "Thank you" in client.get(page).get_data(as_text=True)
    return expected


@pytest.mark.parametrize("name", DESIGNS.names())
def test_each_design_creates_serves_records_analyses_and_exports(run_dir, name):
    design = DESIGNS.get(name)
    folder, study = create_study(run_dir, CreateOptions(name, name=f"generic-{name}", per_baseline=2, practice=1, vigilance=1,
                                                        datasets=["tiny-a"]))
    assert study.rules is design
    client, store = make_app(folder, study).test_client(), Store(folder / DB_FILE, study.fingerprint)
    landing = client.get("/").get_data(as_text=True)
    assert 'action="/start"' in landing and 'class="instructions"' in landing
    expected = {}
    for k in range(3):
        expected |= _rate(client, store, study, design, k)
    votes, _ = votes_frame(folder, study)
    assert {(r, t): s for r, t, s in zip(votes["rater"], votes["trial"], votes["score"])} == expected
    low, high = design.scale
    assert votes["score"].between(low, high).all()
    result = analyze(folder)
    assert (result["design"], result["measure"], result["scale"]) == (name, design.measure.name, [low, high])
    assert result["raters"]["counted"] == 3 and result["excluded"] == []
    assert result["responses"]["counted"] == int((votes["kind"] == "main").sum())
    shown = set(study.settings.baselines) | ({GROUND_TRUTH} if design.hidden_reference else set())
    assert {s["system"] for s in result["scores"]} == shown and all(low <= s["value"] <= high for s in result["scores"])
    assert design.measure.label in format_table(result)
    export, info = export_study(folder)
    ratings = pd.read_csv(export / "ratings.csv")
    assert set(ratings["scale_min"]) == {low} and set(ratings["scale_max"]) == {high} and set(ratings["design"]) == {name}
    assert info["score"] == design.score_meaning and len(ratings) == result["responses"]["counted"]


def test_the_design_registry_suggests_refuses_duplicates_and_drives_the_cli(run_dir, capsys):
    with pytest.raises(UnknownNameError, match=r"unknown study design '2afx' \(did you mean '2afc'\?\)"):
        DESIGNS.get("2afx")
    with pytest.raises(ValueError, match="duplicate study design 'mos'"):
        DESIGNS.register("mos", DESIGNS.get("mos"), "again")
    with pytest.raises(UsageError, match=r"--design: unknown study design 'moss' \(did you mean 'mos'\?\)"):
        create_study(run_dir, CreateOptions("moss", name="nope"))
    assert not (run_dir / "studies" / "nope").exists()
    with pytest.raises(SystemExit):
        main(["study", "create", str(run_dir), "--design", "pairwise"])
    assert f"choose from {', '.join(map(repr, DESIGNS.names()))}" in capsys.readouterr().err


DESIGN_NAME = re.compile(r"""["'](%s)["']|design\s*[!=]=""" % "|".join(map(re.escape, DESIGNS.names())))


def test_no_module_outside_the_designs_compares_a_design_name():
    """Everything design-specific is asked of the design: no string switch elsewhere in study/,
    its templates or the study command."""
    root = Path(colorbench.__file__).parent
    files = [p for p in (root / "study").rglob("*") if p.suffix in (".py", ".html") and "designs" not in p.parts]
    found = [f"{p.relative_to(root)}:{n}" for p in [*files, root / "commands" / "study.py"]
             for n, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1) if DESIGN_NAME.search(line)]
    assert found == []
