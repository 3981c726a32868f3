"""The report in a real headless Chromium (driven over the DevTools pipe, stdlib only).

Needs the `chromium` binary (Debian: apt-get install -y chromium). Deliberately not skipped when
it is missing: CI must install it, so a missing browser is a failure with the install command.
"""
from __future__ import annotations

import os
import shutil
import time

import pytest
from ci_browser.cdp import INSTALL_HINT, Browser, find_chromium
from ci_browser.synthetic_run import (
    FAILED_NAME,
    SCRIPT_NAME,
    build_run,
)

from colorbench.report import render_report
from colorbench.report.format import slug


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    binary = find_chromium()
    if binary is None:
        pytest.fail(f"no Chromium found for the browser test; install it: {INSTALL_HINT}", pytrace=False)
    folder = build_run(tmp_path_factory.mktemp("browser") / "run-1")
    index = render_report(folder)
    browser = Browser(binary)
    try:
        browser.open_page()
        yield {"browser": browser, "reports": index.parent, "folder": folder, "shots": tmp_path_factory.mktemp("shots")}
    finally:
        browser.close()


def _open(site, page: str) -> int:
    b = site["browser"]
    mark = len(b.events)
    b.navigate((site["reports"] / page).as_uri())
    # images inserted by the page's script load after it ran; wait until every one settled
    deadline = time.monotonic() + 10
    while not b.evaluate("Array.from(document.images).every(i => i.complete)") and time.monotonic() < deadline:
        time.sleep(0.05)
    return mark


def _keep(site, path, name):
    """Screenshots land in the test's tmp folder, and in $COLORBENCH_SCREENSHOT_DIR when set (CI artifact)."""
    if os.environ.get("COLORBENCH_SCREENSHOT_DIR"):
        os.makedirs(os.environ["COLORBENCH_SCREENSHOT_DIR"], exist_ok=True)
        shutil.copy(path, os.path.join(os.environ["COLORBENCH_SCREENSHOT_DIR"], name))


def _pages(site):
    from ci_browser.synthetic_run import BASELINES

    return ["index.html", "run.html"] + [f"baseline-{slug(b)}.html" for b in BASELINES]


def test_every_page_loads_cleanly_with_all_images(site):
    b = site["browser"]
    for page in _pages(site):
        mark = _open(site, page)
        broken = b.evaluate("Array.from(document.images).filter(i => !(i.complete && i.naturalWidth > 0)).map(i => i.getAttribute('src'))")
        assert broken == [], f"{page}: images that did not load: {broken}"
        assert b.problems(mark) == [], f"{page}: console errors: {b.problems(mark)}"
    mark = _open(site, "index.html")
    n = b.evaluate("document.images.length")
    assert n >= 2 * 4 * 5, "grid and best/worst images are on the index page"
    shot = site["shots"] / "index.png"
    b.screenshot(shot)
    _keep(site, shot, "report-index.png")
    assert shot.stat().st_size > 10_000


def _order(b, table_index=0):
    return b.evaluate(f"Array.from(document.querySelectorAll('table.leaderboard')[{table_index}].tBodies[0].rows).map(r => r.dataset.baseline)")


def _values(b, metric, table_index=0):
    return b.evaluate(
        f"Array.from(document.querySelectorAll('table.leaderboard')[{table_index}].tBodies[0].rows)"
        f".map(r => r.querySelector('td[data-metric=\"{metric}\"]').dataset.v)"
    )


def _click_header(b, text, table_index=0):
    rect = b.evaluate(
        f"(() => {{ const th = Array.from(document.querySelectorAll('table.leaderboard')[{table_index}].tHead.rows[0].cells)"
        f".find(h => h.textContent.trim().startsWith('{text}')); th.scrollIntoView({{block: 'center'}});"
        " const r = th.getBoundingClientRect(); return [r.x + r.width / 2, r.y + r.height / 2]; })()"
    )
    b.click(*rect)


def test_clicking_a_header_sorts_and_toggles(site):
    b = site["browser"]
    mark = _open(site, "index.html")
    before = _order(b)
    _click_header(b, "psnr")
    asc = [float(v) for v in _values(b, "psnr") if v != ""]
    assert asc == sorted(asc) and _values(b, "psnr")[-1] == "" and _order(b)[-1] == FAILED_NAME
    assert b.evaluate("document.querySelector('table.leaderboard th[aria-sort]').textContent.trim().startsWith('psnr')")
    _click_header(b, "psnr")
    desc = [float(v) for v in _values(b, "psnr") if v != ""]
    assert desc == sorted(desc, reverse=True) and _order(b)[-1] == FAILED_NAME  # failed rows stay last
    assert _order(b) != before
    _click_header(b, "baseline")
    names = _order(b)
    assert names == sorted(names, key=str.lower)
    assert b.problems(mark) == []
    shot = site["shots"] / "sorted.png"
    b.screenshot(shot, full_page=False)
    _keep(site, shot, "report-sorted.png")


def test_escaped_name_is_text_not_markup(site):
    b = site["browser"]
    mark = _open(site, "index.html")
    shown = b.evaluate("Array.from(document.querySelectorAll('table.leaderboard tbody th a')).map(a => a.textContent)")
    assert SCRIPT_NAME in shown
    # the name may only appear inside inert JSON data blocks, never in a script that runs
    runnable = "Array.from(document.scripts).filter(s => s.type !== 'application/json')"
    assert b.evaluate(f"{runnable}.filter(s => s.textContent.includes('alert(1)')).length") == 0
    assert b.evaluate("Array.from(document.scripts).filter(s => s.type === 'application/json').every(s => { JSON.parse(s.textContent); return true; })")
    assert b.problems(mark) == []  # an executed alert() would show up as a dialog
    _open(site, f"baseline-{slug(SCRIPT_NAME)}.html")
    assert b.evaluate("document.querySelector('h1').textContent").startswith(f"Baseline: {SCRIPT_NAME}")


def test_search_filters_and_metric_select_switches(site):
    b = site["browser"]
    mark = _open(site, "index.html")
    section = "document.querySelector('section.images')"
    visible = f"Array.from({section}.querySelectorAll('table.grid tr[data-id]')).filter(r => r.style.display !== 'none').map(r => r.dataset.id)"
    everything = b.evaluate(visible)
    assert len(everything) == 4
    b.evaluate(f"(() => {{ const i = {section}.querySelector('input.id-filter'); i.value = '03#'; i.dispatchEvent(new Event('input')); }})()")
    assert b.evaluate(visible) == ["sub/a 03#x"]
    b.evaluate(f"(() => {{ const i = {section}.querySelector('input.id-filter'); i.value = ''; i.dispatchEvent(new Event('input')); }})()")
    assert b.evaluate(visible) == everything
    caption = f"{section}.querySelector('div.extremes figcaption').textContent"
    first = b.evaluate(caption)
    b.evaluate(f"(() => {{ const s = {section}.querySelector('select.metric-select'); s.value = 'mse'; s.dispatchEvent(new Event('change')); }})()")
    assert b.evaluate(caption) != first or b.evaluate(f"{section}.querySelector('select.metric-select').value") == "mse"
    assert b.problems(mark) == []


def test_print_media_hides_controls(site):
    b = site["browser"]
    _open(site, "index.html")
    b.send("Emulation.setEmulatedMedia", {"media": "print"})
    try:
        assert b.evaluate("getComputedStyle(document.querySelector('.controls')).display") == "none"
        assert b.evaluate("getComputedStyle(document.querySelector('nav.links')).display") == "none"
    finally:
        b.send("Emulation.setEmulatedMedia", {"media": ""})


def test_a_wide_leaderboard_keeps_the_baseline_column_in_view_and_groups_toggle(site):
    b = site["browser"]
    b.send("Emulation.setDeviceMetricsOverride", {"width": 1400, "height": 900, "deviceScaleFactor": 1, "mobile": False})
    try:
        mark = _open(site, "index.html")
        b.evaluate("document.querySelector('section.dataset input.all-metrics').click()")  # every metric, not the headline view
        board = "document.querySelector('div.board')"
        n_metrics = b.evaluate("document.querySelectorAll('table.leaderboard')[0].tHead.rows[0].cells.length - 1")
        assert n_metrics >= 17
        # the table scrolls inside its box; the page itself does not run off the right edge
        assert b.evaluate(f"{board}.scrollWidth > {board}.clientWidth")
        assert b.evaluate("document.documentElement.scrollWidth") <= 1400
        b.evaluate(f"{board}.scrollLeft = {board}.scrollWidth")
        assert b.evaluate(f"{board}.scrollLeft") > 0
        left = b.evaluate(f"{board}.getBoundingClientRect().left")
        name_cells = b.evaluate(f"Array.from({board}.querySelectorAll('tbody th')).map(th => th.getBoundingClientRect().left)")
        assert name_cells and all(abs(x - left) < 1 for x in name_cells)  # stuck at the left edge of the box
        shot = site["shots"] / "wide.png"
        b.screenshot(shot, full_page=False)
        _keep(site, shot, "report-wide-scrolled.png")
        visible = ("Array.from(document.querySelectorAll('section.dataset')[0].querySelectorAll("
                   "'table.leaderboard [data-group=\"perceptual\"]')).filter(c => getComputedStyle(c).display !== 'none').length")
        shown = b.evaluate(visible)
        assert shown > 0
        toggle = "document.querySelectorAll('section.dataset')[0].querySelector('input.group-toggle[value=\"perceptual\"]')"
        b.evaluate(f"{toggle}.click()")
        assert b.evaluate(visible) == 0 and b.evaluate(f"{toggle}.checked") is False
        b.evaluate(f"{toggle}.click()")
        assert b.evaluate(visible) == shown
        assert b.problems(mark) == []
    finally:
        b.send("Emulation.clearDeviceMetricsOverride", {})


LONG_ID = "n02099429_curly-coated_retriever"  # the id the issue saw as a one-letter-per-line ribbon


@pytest.fixture(scope="module")
def long_site(tmp_path_factory):
    binary = find_chromium()
    if binary is None:
        pytest.fail(f"no Chromium found for the browser test; install it: {INSTALL_HINT}", pytrace=False)
    ids = [LONG_ID, "a02", "sub/a 03#x", "a_very_long_image_identifier_without_any_spaces_at_all_0123456789", "a05"]
    folder = build_run(tmp_path_factory.mktemp("browser-long") / "run-1", datasets={"tiny-a": ids})
    index = render_report(folder)
    browser = Browser(binary)
    try:
        browser.open_page()
        yield {"browser": browser, "reports": index.parent, "folder": folder, "shots": tmp_path_factory.mktemp("shots")}
    finally:
        browser.close()


GRID_ROWS = "Array.from(document.querySelectorAll('table.grid tbody tr[data-id]'))"


@pytest.mark.parametrize("width", [1400, 800])
def test_grid_rows_are_as_tall_as_their_images(long_site, width):
    b = long_site["browser"]
    b.send("Emulation.setDeviceMetricsOverride", {"width": width, "height": 900, "deviceScaleFactor": 1, "mobile": False})
    try:
        mark = _open(long_site, "index.html")
        rows = b.evaluate(f"{GRID_ROWS}.map(r => ({{id: r.dataset.id, row: r.getBoundingClientRect().height,"
                          " img: Math.max(...Array.from(r.querySelectorAll('img')).map(i => i.getBoundingClientRect().height)),"
                          " idw: r.querySelector('td.id').getBoundingClientRect().width,"
                          " idh: r.querySelector('td.id .idtext').getBoundingClientRect().height,"
                          " line: parseFloat(getComputedStyle(r.querySelector('td.id .idtext')).lineHeight)}))")
        assert len(rows) == 4  # grid_ids: the first four
        for r in rows:
            assert r["img"] >= 100, r
            # the image, its value line and the cell padding: no taller (before: a ~25-line ribbon of the id)
            assert r["row"] <= r["img"] + 30, r
            assert r["idw"] >= 120, r  # a fixed-width column, never squeezed to one letter
            assert r["idh"] <= 3 * r["line"] + 1, r  # at most 3 lines, the rest cut with an ellipsis
        long_row = next(r for r in rows if r["id"] == LONG_ID)
        assert long_row["idh"] <= 2 * long_row["line"] + 1  # wrapped at its '_' and '-': two lines in 132 px
        tips = b.evaluate(f"{GRID_ROWS}.map(r => r.querySelector('td.id').title)")
        assert tips == [r["id"] for r in rows]  # the whole id in the tooltip
        shot = long_site["shots"] / f"grid-{width}.png"
        b.evaluate("document.querySelector('table.grid').scrollIntoView()")
        b.screenshot(shot, full_page=False)
        _keep(long_site, shot, f"report-grid-{width}.png")
        assert b.problems(mark) == []
    finally:
        b.send("Emulation.clearDeviceMetricsOverride", {})


def test_ground_truth_sits_next_to_the_input(long_site):
    b = long_site["browser"]
    _open(long_site, "index.html")
    heads = b.evaluate("Array.from(document.querySelector('table.grid').tHead.rows[0].cells).map(c => c.textContent.trim())")
    assert heads[1:3] == ["grayscale input", "ground truth"]
    alts = b.evaluate(f"{GRID_ROWS}.map(r => [r.cells[1].querySelector('img').alt, r.cells[2].querySelector('img').alt])")
    assert all(a.startswith("grayscale input") and g.startswith("ground truth") for a, g in alts)


def test_each_grid_image_shows_its_per_image_value(long_site):
    import pandas as pd

    from colorbench.report.format import fmt

    b = long_site["browser"]
    mark = _open(long_site, "index.html")
    per_image = pd.read_csv(long_site["folder"] / "per_image.csv", dtype={"image_id": str, "baseline": str})
    shown = ("(() => { const out = []; " + GRID_ROWS + ".forEach(r => r.querySelectorAll('td[data-baseline]').forEach(td =>"
             " out.push([r.dataset.id, td.dataset.baseline, td.querySelector('.pv').textContent]))); return out; })()")
    select = "document.querySelector('section.images select.metric-select')"
    for metric in (b.evaluate(f"{select}.value"), "mse"):
        b.evaluate(f"(() => {{ const s = {select}; s.value = '{metric}'; s.dispatchEvent(new Event('change')); }})()")
        cells = b.evaluate(shown)
        assert len(cells) == 4 * 3  # every model column of every row
        for image_id, baseline, text in cells:
            hit = per_image[(per_image["image_id"] == image_id) & (per_image["baseline"] == baseline)][metric]
            assert text == fmt(float(hit.iloc[0])), (image_id, baseline, metric)
    assert b.problems(mark) == []


@pytest.mark.parametrize("width", [1400, 800])
def test_headline_view_shows_few_metrics_with_agreement_and_a_toggle_shows_all(site, width):
    from colorbench.report.headline import HEADLINE_MAX, people

    b = site["browser"]
    b.send("Emulation.setDeviceMetricsOverride", {"width": width, "height": 900, "deviceScaleFactor": 1, "mobile": False})
    try:
        mark = _open(site, "index.html")
        table = "document.querySelectorAll('table.leaderboard')[0]"
        shown = (f"Array.from({table}.tHead.rows[0].cells).slice(1).filter(c => getComputedStyle(c).display !== 'none')"
                 ".map(c => [c.dataset.metric, c.querySelector('.people').textContent])")
        head = b.evaluate(shown)
        assert 1 <= len(head) <= HEADLINE_MAX
        assert all(text == people(metric)["text"] for metric, text in head)  # every header says its agreement, or "unknown"
        # the headline view fits the page: no sideways scrolling
        assert b.evaluate("document.querySelector('div.board').scrollWidth <= document.querySelector('div.board').clientWidth + 1")
        shot = site["shots"] / f"headline-{width}.png"
        b.screenshot(shot, full_page=False)
        _keep(site, shot, f"report-headline-{width}.png")
        b.evaluate("document.querySelector('section.dataset input.all-metrics').click()")
        every = b.evaluate(shown)
        assert len(every) == b.evaluate(f"{table}.tHead.rows[0].cells.length - 1") >= 17
        assert all(text == people(metric)["text"] for metric, text in every)
        b.evaluate("document.querySelector('section.dataset input.all-metrics').click()")
        assert b.evaluate(shown) == head
        assert b.problems(mark) == []
    finally:
        b.send("Emulation.clearDeviceMetricsOverride", {})
