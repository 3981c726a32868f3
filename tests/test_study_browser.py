"""The study pages in a real headless Chromium, against the real `colorbench study serve`.

Scripted raters click the buttons as a person would (CDP mouse events). Like the report's browser
test, a missing Chromium is a failure naming the install command, never a skip.
"""
from __future__ import annotations

import time

import pytest
from ci_browser.cdp import INSTALL_HINT, Browser, CDPError, find_chromium
from ci_browser.study_server import db_rows, make_study, running, session_of

from colorbench.study.analysis import analyze
from colorbench.study.export import export_study
from colorbench.study.spec import load_study


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    binary = find_chromium()
    if binary is None:
        pytest.fail(f"no Chromium found for the browser test; install it: {INSTALL_HINT}", pytrace=False)
    root = tmp_path_factory.mktemp("study-browser")
    mos = make_study(root, "mos", "--per-baseline", "2", "--practice", "2", "--vigilance", "3")
    afc = make_study(root, "2afc", "--per-baseline", "3", "--practice", "2", "--vigilance", "3")
    with running(mos, afc) as (mos_server, afc_server):
        browser = Browser(binary)
        try:
            yield {"browser": browser, "mos": (mos, mos_server.url, load_study(mos)), "2afc": (afc, afc_server.url, load_study(afc)),
                   "shots": tmp_path_factory.mktemp("study-shots")}
        finally:
            browser.close()


def wait_for(b: Browser, expression: str, timeout: float = 30.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            value = b.evaluate(expression)
        except CDPError:  # mid-navigation: no document.body yet, or the old page's context is gone
            value = None
        if value:
            return value
        time.sleep(0.03)
    raise AssertionError(f"timed out waiting for: {expression}; page: {b.evaluate('document.body.innerText')[:500]}")


READY = "document.body.dataset.state === 'ready' && document.body.dataset.trial"
THANKS = "!!document.getElementById('thanks')"


class Rater:
    """One browser tab; `choose(trial, real_side)` picks the answer (MOS: 1..5; 2AFC: 'left'/'right')."""

    def __init__(self, browser: Browser, study, choose):
        self.b, (self.folder, self.url, self.spec), self.choose = browser, study, choose
        browser.open_page()
        self.tab, self.start = browser.session, len(browser.events)
        self.clicked: dict[str, str] = {}

    def focus(self) -> Browser:
        self.b.session = self.tab
        return self.b

    def begin(self) -> str:
        b = self.focus()
        b.navigate(self.url)
        self.click("#start")
        wait_for(b, f"location.pathname.startsWith('/s/') && ({READY} || {THANKS})")
        self.token = b.evaluate("location.pathname").rsplit("/", 1)[1]
        return self.token

    def click(self, selector: str) -> None:
        b = self.focus()
        x, y = b.evaluate(f"(() => {{ const e = document.querySelector({selector!r}); e.scrollIntoView({{block: 'center'}});"
                          " const r = e.getBoundingClientRect(); return [r.x + r.width / 2, r.y + r.height / 2]; })()")
        b.click(x, y)

    def real_side(self, trial_id: str) -> str:
        left = self.focus().evaluate("document.getElementById('img0').src").rsplit("/", 1)[1]
        return "left" if left == self.spec.trial(trial_id).reference else "right"

    def answer_one(self) -> bool:
        """Answer the question on screen; False once the thank-you page shows."""
        b = self.focus()
        if wait_for(b, f"{THANKS} ? 'done' : ({READY})") == "done":
            return False
        trial = b.evaluate("document.body.dataset.trial")
        side = self.real_side(trial) if self.spec.design == "2afc" else ""
        value = str(self.choose(self.spec.trial(trial), side))
        self.click(f"button.answer[data-value='{value}']")
        self.clicked[trial] = value
        wait_for(b, f"{THANKS} || (document.body.dataset.state === 'ready' && document.body.dataset.trial !== {trial!r})")
        return True

    def finish(self) -> None:
        while self.answer_one():
            pass

    def rows(self) -> list[tuple]:
        sid, _ = session_of(self.folder, self.token)
        return db_rows(self.folder, "SELECT trial, response, score, latency_ms FROM responses WHERE session_id = ? ORDER BY id", (sid,))


def mos_rater(fail_vigilance: bool):
    def choose(trial, _side):
        if trial.kind == "vigilance":
            return 5 if fail_vigilance else 1
        return 5 if trial.system == "" else 1 + len(trial.system) % 4  # a planted, system-dependent rating
    return choose


def afc_rater(fail_vigilance: bool):
    def choose(trial, real_side):
        fake = "right" if real_side == "left" else "left"
        if trial.kind == "vigilance":
            return fake if fail_vigilance else real_side
        return fake if int(trial.id[1:]) % 2 else real_side  # fooled on odd-numbered trials
    return choose


def test_a_rater_completes_a_mos_session(site):
    b = site["browser"]
    r = Rater(b, site["mos"], mos_rater(fail_vigilance=False))
    r.begin()
    assert b.evaluate("document.getElementById('where').textContent").startswith("practice")
    shot = site["shots"] / "mos-trial.png"
    b.screenshot(shot, full_page=False)
    assert shot.stat().st_size > 5_000
    assert b.evaluate("Array.from(document.querySelectorAll('button.answer')).map(e => e.textContent.trim())") == \
        ["1Bad", "2Poor", "3Fair", "4Good", "5Excellent"]
    r.finish()
    assert "Thank you" in b.evaluate("document.body.innerText")
    _, schedule = session_of(r.folder, r.token)
    rows = r.rows()
    assert [t for t, *_ in rows] == [t for t, _ in schedule]  # every trial once, in the page's order
    assert all(resp == r.clicked[t] and score == int(r.clicked[t]) and latency > 0 for t, resp, score, latency in rows)
    assert b.problems(r.start) == []


def test_two_raters_at_once_and_a_vigilance_failure_is_excluded(site):
    b = site["browser"]
    honest, careless = Rater(b, site["2afc"], afc_rater(False)), Rater(b, site["2afc"], afc_rater(True))
    honest.begin(), careless.begin()
    assert honest.token != careless.token
    shot = site["shots"] / "2afc-trial.png"
    honest.focus().screenshot(shot, full_page=False)
    assert shot.stat().st_size > 5_000
    assert b.evaluate("Array.from(document.querySelectorAll('button.answer')).map(e => e.textContent.trim())") == ["This one is the real photo"] * 2
    going = [honest, careless]
    while going:  # one answer each, in turn, until both are done
        going = [r for r in going if r.answer_one()]
    folder, _, spec = site["2afc"]
    for r in (honest, careless):
        _, schedule = session_of(folder, r.token)
        rows = r.rows()
        assert sorted(t for t, *_ in rows) == sorted(t for t, _ in schedule)
        real = dict(map(tuple, schedule))
        assert all(score == int(resp != real[t]) for t, resp, score, _ in rows)
        assert b.problems(r.start) == []
    result = analyze(folder)
    ids = {r: f"r{session_of(folder, r.token)[0]:03d}" for r in (honest, careless)}
    excluded = {e["rater"]: e for e in result["excluded"]}
    assert ids[careless] in excluded and excluded[ids[careless]]["failed"] == excluded[ids[careless]]["vigilance_trials"] == 3
    assert ids[honest] not in excluded
    export, info = export_study(folder)
    raters = {line.split(",")[0] for line in (export / "ratings.csv").read_text().splitlines()[1:]}
    assert ids[honest] in raters and ids[careless] not in raters and info["raters_excluded"] >= 1


def test_reload_and_a_closed_tab_resume_at_the_next_unanswered_trial(site):
    b = site["browser"]
    r = Rater(b, site["2afc"], afc_rater(False))
    r.begin()
    for _ in range(3):
        r.answer_one()
    _, schedule = session_of(r.folder, r.token)
    page = f"{r.url.rstrip('/')}/s/{r.token}"
    r.focus().navigate(page)  # reload
    assert wait_for(b, READY) == schedule[3][0]
    assert b.evaluate("document.getElementById('count').textContent") == f"3 / {len(schedule)}"
    again = Rater(b, site["2afc"], afc_rater(False))  # the tab closed, the link opened in a new one
    again.focus().navigate(page)
    again.token = r.token
    assert wait_for(b, READY) == schedule[3][0]
    again.finish()
    assert [t for t, *_ in again.rows()] == [t for t, _ in schedule]


def test_a_double_submit_counts_once(site):
    b = site["browser"]
    r = Rater(b, site["mos"], mos_rater(False))
    r.begin()
    trial = wait_for(b, READY)
    x, y = b.evaluate("(() => { const r = document.querySelector(\"button.answer[data-value='4']\").getBoundingClientRect();"
                      " return [r.x + r.width / 2, r.y + r.height / 2]; })()")
    b.click(x, y)
    b.click(x, y)  # a double click
    nxt = wait_for(b, f"document.body.dataset.state === 'ready' && document.body.dataset.trial !== {trial!r} && document.body.dataset.trial")
    # two POSTs of the same answer from the page, in flight together
    recorded = b.evaluate(
        "Promise.all([1, 2].map(() => fetch(location.pathname + '/answer', {method: 'POST', headers: {'Content-Type': 'application/json'},"
        f" body: JSON.stringify({{trial: {nxt!r}, response: 2, latency_ms: 10}})}}).then(r => r.json()).then(j => j.recorded)))")
    assert sorted(recorded) == [False, True]
    assert [(t, resp) for t, resp, *_ in r.rows()] == [(trial, "4"), (nxt, "2")]


def test_a_mos_rater_failing_vigilance_is_excluded(site):
    b = site["browser"]
    r = Rater(b, site["mos"], mos_rater(fail_vigilance=True))
    r.begin()
    r.finish()
    folder = site["mos"][0]
    result = analyze(folder)
    me = f"r{session_of(folder, r.token)[0]:03d}"
    assert me in {e["rater"] for e in result["excluded"]}
    assert result["responses"]["main_from_excluded"] >= sum(1 for t, *_ in r.rows() if site["mos"][2].trial(t).kind == "main")
    assert b.problems(r.start) == []
