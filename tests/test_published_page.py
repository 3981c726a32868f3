"""The published colorizers page (`colorbench agreement hecd --out DIR`) on the local HECD copy, in headless Chromium."""
from __future__ import annotations

import json
import time

import pandas as pd
import pytest
from _human_fixtures import shared_datasets
from ci_browser.cdp import INSTALL_HINT, Browser, find_chromium
from ci_browser.synthetic_run import build_run

from colorbench.cli import main
from colorbench.human.hecd import SYSTEMS
from colorbench.report import render_report

METRICS = "mse,ssim"


@pytest.fixture(scope="module")
def page(tmp_path_factory):
    binary = find_chromium()
    if binary is None:
        pytest.fail(f"no Chromium found for the browser test; install it: {INSTALL_HINT}", pytrace=False)
    mp = pytest.MonkeyPatch()
    mp.setenv("COLORBENCH_DATA", str(shared_datasets()))
    run = build_run(tmp_path_factory.mktemp("published") / "run-1")
    out = run / "agreement"
    try:
        assert main(["agreement", "hecd", "--no-download", "--metrics", METRICS, "--resamples", "200", "--out", str(out)]) == 0
    finally:
        mp.undo()
    browser = Browser(binary)
    try:
        browser.open_page()
        yield {"browser": browser, "out": out, "run": run, "result": json.loads((out / "agreement.json").read_text())}
    finally:
        browser.close()


def _open(page, url):
    b = page["browser"]
    mark = len(b.events)
    b.navigate(url)
    deadline = time.monotonic() + 10
    while not b.evaluate("Array.from(document.images).every(i => i.complete)") and time.monotonic() < deadline:
        time.sleep(0.05)
    return mark


def _expected_disagreements(result: dict) -> int:
    """Pairs people order with CIs apart that a metric ranks the other way, recounted from agreement.json."""
    people = {p["system"]: p for p in result["systems"]["people"]}
    n = 0
    for a, pa in people.items():
        for b, pb in people.items():
            if pa["mean_z_ci"][0] > pb["mean_z_ci"][1]:
                n += sum(m["ranking"].index(b) < m["ranking"].index(a) for m in result["systems"]["metrics"].values())
    return n


@pytest.mark.parametrize("width", [1400, 800])
def test_published_page_shows_the_six_beside_the_ground_truth(page, width):
    b = page["browser"]
    b.send("Emulation.setDeviceMetricsOverride", {"width": width, "height": 900, "deviceScaleFactor": 1, "mobile": False})
    try:
        mark = _open(page, (page["out"] / "published.html").as_uri())
        local = sorted({p.name[:6] for p in (shared_datasets() / "hecd" / "HECDImages").glob("*.jpg")})
        scenes = b.evaluate("Array.from(document.querySelectorAll('div.scene')).map(d => d.dataset.scene)")
        assert scenes == local  # the 6 scenes of the local copy
        missing = b.evaluate("document.querySelector('#missing-scenes').textContent")
        assert f"{len(local)} of its 20 scenes" in missing and len(page["result"]["scenes"]) == len(local)
        per_image = pd.read_csv(page["out"] / "per_image.csv", dtype=str)
        for scene in scenes:
            figs = b.evaluate(f"Array.from(document.querySelector('div.scene[data-scene=\"{scene}\"]').querySelectorAll('figure'))"
                              ".map(f => [f.dataset.system || 'gt', f.querySelector('figcaption').textContent])")
            assert [s for s, _ in figs] == ["gt"] + [p["system"] for p in page["result"]["systems"]["people"]]
            assert sorted(s for s, _ in figs[1:]) == sorted(SYSTEMS.values())
            for system, caption in figs[1:]:
                row = per_image[(per_image["scene"] == scene) & (per_image["system"] == system)].iloc[0]
                assert f"MOS {float(row['mos']):.2f}" in caption and f"z {float(row['mean_z']):+.2f}" in caption
                assert caption.count("[") == 2  # a CI for each
        broken = b.evaluate("Array.from(document.images).filter(i => !(i.complete && i.naturalWidth > 0)).length")
        assert broken == 0
        # no sideways scrolling of the page itself; the scene strips wrap
        assert b.evaluate("document.documentElement.scrollWidth") <= width
        board = b.evaluate("Array.from(document.querySelectorAll('table.published-board tbody tr')).map(r => r.dataset.system)")
        assert board == page["result"]["systems"]["ranking"]
        for metric in METRICS.split(","):
            cells = b.evaluate(f"Array.from(document.querySelectorAll('table.published-board td[data-metric=\"{metric}\"] .ci'))"
                               ".map(c => c.textContent)")
            assert len(cells) == 6 and all(c.startswith("[") for c in cells)
        assert b.evaluate("document.querySelectorAll('ul.disagreements li').length") == _expected_disagreements(page["result"])
        b.screenshot(page["out"] / f"shot-{width}.png")
        assert b.problems(mark) == []
    finally:
        b.send("Emulation.clearDeviceMetricsOverride", {})


def test_run_report_links_the_page_when_present(page):
    index = render_report(page["run"])
    html = index.read_text(encoding="utf-8")
    assert 'href="../agreement/published.html"' in html
    b = page["browser"]
    _open(page, index.as_uri())
    href = b.evaluate("Array.from(document.querySelectorAll('nav.links a')).find(a => a.textContent.startsWith('Published')).href")
    assert href == (page["out"] / "published.html").as_uri()
