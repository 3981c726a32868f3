"""The HTML report and summary.md, rendered from a synthetic run folder and checked against the
folder's own tables (values recomputed here, independently of colorbench.report)."""
from __future__ import annotations

import json
import re
from urllib.parse import unquote

import numpy as np
import pandas as pd
import pytest
from ci_browser.htmlparse import parse
from ci_browser.synthetic_run import (
    FAILED_NAME,
    SCRIPT_NAME,
    build_run,
)
from PIL import Image
from scipy.stats import kendalltau

from colorbench.metrics.registry import METRICS
from colorbench.report import render_report, write_summary_md
from colorbench.report.format import slug
from colorbench.report.plots import line_plot

REFERENCE = {"gray", "oracle"}


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    folder = build_run(tmp_path_factory.mktemp("run") / "run-1")
    index = render_report(folder)
    summary = write_summary_md(folder)
    definitions = {e.name: e.obj.definition for e in METRICS.entries()}
    results = pd.read_csv(folder / "results.csv")
    return {
        "folder": folder, "index": index, "html": index.read_text(encoding="utf-8"), "summary": summary.read_text(encoding="utf-8"),
        "results": results, "meta": json.loads((folder / "run.json").read_text()), "definitions": definitions,
        "parsed": parse(index.read_text(encoding="utf-8")),
    }


def _hib(results: pd.DataFrame, metric: str):
    v = results.loc[results["metric"] == metric, "higher_is_better"].dropna()
    return None if v.empty else bool(v.iloc[0])


def _ok(results: pd.DataFrame, dataset: str, metric: str) -> pd.DataFrame:
    sel = results[(results["dataset"] == dataset) & (results["metric"] == metric) & (results["status"] == "ok")]
    return sel.set_index("baseline")


def test_pages_written(run):
    reports = run["folder"] / "reports"
    assert run["index"] == reports / "index.html"
    assert (reports / "run.html").is_file()
    for name in run["meta"]["baselines"]:
        assert (reports / f"baseline-{slug(name)}.html").is_file(), name


def test_names_are_escaped_everywhere(run):
    reports = run["folder"] / "reports"
    escaped = "&lt;script&gt;alert(1)&lt;/script&gt;"
    for page in reports.glob("*.html"):
        text = page.read_text(encoding="utf-8")
        assert SCRIPT_NAME not in text, page.name
    assert escaped in run["html"]
    assert SCRIPT_NAME not in run["summary"] and escaped in run["summary"]
    # the parser decodes entities: the name is text in a row of its own
    rows = [r for board in run["parsed"].boards.values() for r in board if r["baseline"] == SCRIPT_NAME]
    assert len(rows) == len(run["parsed"].boards) and SCRIPT_NAME in rows[0]["text"]


def test_slugs_are_safe_and_distinct():
    names = [SCRIPT_NAME, "a b", "a-b", "A/B", "cnn", "..", ""]
    slugs = [slug(n) for n in names]
    assert len(set(slugs)) == len(slugs)
    assert all(re.fullmatch(r"[a-z0-9_.-]+", s) and not s.startswith(".") for s in slugs)


def test_headers_show_direction_unit_and_definition(run):
    results = run["results"]
    for dataset, headers in run["parsed"].headers.items():
        by_metric = {h["text"].split()[0]: h for h in headers[1:]}
        assert set(by_metric) == set(results.loc[results["dataset"] == dataset, "metric"])
        for metric, h in by_metric.items():
            hib = _hib(results, metric)
            assert ("↑" in h["text"]) == (hib is True) and ("↓" in h["text"]) == (hib is False), (metric, h["text"])
            unit = results.loc[results["metric"] == metric, "unit"].dropna()
            if not unit.empty:
                assert unit.iloc[0] in h["text"]
            assert h["title"] == run["definitions"][metric]


def test_best_is_bold_and_excludes_reference_rows(run):
    results = run["results"]
    checked = 0
    for dataset, rows in run["parsed"].boards.items():
        for metric in set(results["metric"]):
            hib = _hib(results, metric)
            bold = {r["baseline"] for r in rows if r["cells"][metric]["strong"]}
            if hib is None:
                assert not bold, f"{metric} has no direction, so no best"
                continue
            values = _ok(results, dataset, metric)["value"]
            values = values[[b not in REFERENCE for b in values.index]]
            target = values.max() if hib else values.min()
            assert bold == set(values.index[values == target]), (dataset, metric)
            assert "best" in next(r for r in rows if r["baseline"] in bold)["cells"][metric]["classes"]
            checked += 1
    assert checked >= 6


def test_reference_rows_are_marked_and_could_otherwise_win(run):
    for rows in run["parsed"].boards.values():
        roles = {r["baseline"]: r["classes"] for r in rows}
        assert "floor" in roles["gray"] and "ceiling" in roles["oracle"]
        assert not any(c["strong"] for r in rows if r["baseline"] in REFERENCE for c in r["cells"].values())
    # the fixture's oracle is better than every model: excluding it is what made a model bold
    psnr = _ok(run["results"], "tiny-a", "psnr")["value"]
    assert psnr.idxmax() == "oracle"


def test_confidence_intervals_shown(run):
    results = run["results"]
    for dataset, rows in run["parsed"].boards.items():
        for r in rows:
            if r["baseline"] == FAILED_NAME:
                continue
            for metric, cell in r["cells"].items():
                rec = _ok(results, dataset, metric).loc[r["baseline"]]
                lo_text, hi_text = re.fullmatch(r"\[(.+), (.+)\]", cell["ci"].strip()).groups()
                for text, expected in ((lo_text, rec["ci_low"]), (hi_text, rec["ci_high"])):
                    decimals = len(text.split(".")[1]) if "." in text else 0
                    assert float(text) == pytest.approx(expected, abs=0.5 * 10 ** -decimals + 1e-12), (dataset, metric)
                assert float(cell["v"]) == pytest.approx(rec["value"], rel=1e-9)


def test_similar_mark_follows_p_vs_best(run):
    results = run["results"]
    marks = 0
    for dataset, rows in run["parsed"].boards.items():
        for r in rows:
            for metric, cell in r["cells"].items():
                rec = results[(results["dataset"] == dataset) & (results["baseline"] == r["baseline"]) & (results["metric"] == metric)].iloc[0]
                expected = rec["status"] == "ok" and pd.notna(rec["p_vs_best"]) and rec["p_vs_best"] >= 0.05
                assert cell["sim"] == expected, (dataset, r["baseline"], metric)
                marks += expected
    assert marks > 0 and "≈" in run["html"]


def test_failed_baseline_listed_with_reason(run):
    reason = run["meta"]["baselines"][FAILED_NAME]["reason"]
    escaped_reason = reason.replace("<", "&lt;").replace(">", "&gt;")
    alert = run["html"].split('id="failed-baselines"', 1)[1].split("</div>", 1)[0]
    assert FAILED_NAME in alert and escaped_reason in alert
    for rows in run["parsed"].boards.values():
        row = next(r for r in rows if r["baseline"] == FAILED_NAME)
        assert "failed" in row["classes"] and reason in row["text"]
        assert all(c["v"] == "" for c in row["cells"].values())  # sorts last, never "best"
    assert FAILED_NAME in run["summary"].split("### Failed baselines", 1)[1]


def test_kendall_tau_matches_scipy(run):
    results = run["results"]
    taus = {(t["data-metric-a"], t["data-metric-b"]): t["data-tau"] for t in run["parsed"].taus}
    directional = [m for m in results["metric"].unique() if _hib(results, m) is not None]
    assert not any(m not in directional for pair in taus for m in pair)
    compared = 0
    for dataset in run["meta"]["datasets"]:
        for a in directional:
            for b in directional:
                if a == b:
                    continue
                va, vb = _ok(results, dataset, a)["value"], _ok(results, dataset, b)["value"]
                names = [n for n in va.index if n not in REFERENCE and n in vb.index]
                sign = lambda m: 1 if _hib(results, m) else -1  # noqa: E731
                expected = kendalltau(va[names] * sign(a), vb[names] * sign(b)).statistic
                cells = [t for t in run["parsed"].taus if t["data-metric-a"] == a and t["data-metric-b"] == b]
                # one tau table per dataset, in dataset order
                got = float(cells[list(run["meta"]["datasets"]).index(dataset)]["data-tau"])
                assert got == pytest.approx(expected, abs=1e-6), (dataset, a, b)
                compared += 1
    assert compared >= 4


def test_grid_images_exist_and_inputs_are_the_gray_l_channel(run):
    reports = run["folder"] / "reports"
    srcs = [img["src"] for img in run["parsed"].imgs]
    assert srcs
    for src in srcs:
        assert not src.startswith(("http:", "https:", "//")), src
        assert (reports / unquote(src)).resolve().is_file(), src
    grid_ids = run["meta"]["datasets"]["tiny-a"]["grid_ids"]
    assert any("#" in i for i in grid_ids)  # ids with '/', ' ', '#' must still resolve (checked above)
    from colorbench.color import rgb_to_lab
    from colorbench.imageio import load_rgb

    for image_id in grid_ids:
        gray = np.asarray(Image.open(reports / "input" / "tiny-a" / f"{image_id}.png").convert("RGB")).astype(int)
        assert np.array_equal(gray[..., 0], gray[..., 1]) and np.array_equal(gray[..., 1], gray[..., 2])
        L_gray = rgb_to_lab(load_rgb(reports / "input" / "tiny-a" / f"{image_id}.png")[None].double())[0, 0]
        L_gt = rgb_to_lab(load_rgb(run["folder"] / "gt" / "tiny-a" / f"{image_id}.png")[None].double())[0, 0]
        assert float((L_gray - L_gt).abs().max()) < 0.6  # 8-bit rounding only
        assert f"{image_id}" in run["html"]


def test_best_and_worst_lists_follow_per_image_values(run):
    per_image = pd.read_csv(run["folder"] / "per_image.csv", dtype={"image_id": str})
    blocks = re.findall(r'<script type="application/json" class="extremes-data">(.*?)</script>', run["html"], re.S)
    assert len(blocks) == len(run["meta"]["datasets"])
    data = json.loads(blocks[0])
    assert "colorfulness" not in data  # no direction: no best or worst
    for metric in ("psnr", "mse"):
        hib = _hib(run["results"], metric)
        for entry in data[metric]:
            mine = per_image[(per_image["dataset"] == "tiny-a") & (per_image["baseline"] == entry["baseline"])]
            ranked = list(mine.sort_values(metric, ascending=not hib)["image_id"])
            assert [i["id"] for i in entry["best"]] == ranked[: len(entry["best"])]
            assert [i["id"] for i in entry["worst"]] == ranked[::-1][: len(entry["worst"])]
        assert [e["baseline"] for e in data[metric]][:2] == ["cnn", "pix2pix"]  # run order, references left out


def test_baseline_pages_have_curves_and_provenance(run):
    reports = run["folder"] / "reports"
    gan = (reports / "baseline-pix2pix.html").read_text(encoding="utf-8")
    plain = (reports / "baseline-cnn.html").read_text(encoding="utf-8")
    assert gan.count("<svg") == 2 and "G train" in gan and "D train" in gan
    assert plain.count("<svg") == 1 and "G train" not in plain
    history = run["meta"]["baselines"]["cnn"]["train"]["history"]
    first_line = plain.split("<polyline", 1)[1].split('"', 2)[1]
    assert len(first_line.split()) == len(history)
    info = run["meta"]["baselines"]["cnn"]["info"]
    for text in (info["paper"], f"{info['num_parameters']:,}", run["meta"]["baselines"]["cnn"]["train"]["checkpoint_sha256"]):
        assert text in plain
    script_page = (reports / f"baseline-{slug(SCRIPT_NAME)}.html").read_text(encoding="utf-8")
    assert "resnet18" in script_page and run["meta"]["weights"][0]["sha256"] in script_page


def test_run_page_has_provenance(run):
    page = (run["folder"] / "reports" / "run.html").read_text(encoding="utf-8")
    meta = run["meta"]
    for d in meta["datasets"].values():
        assert d["manifest_hash"] in page and "near-gray &lt;chroma&gt;" in page
    for text in (meta["environment"]["git"]["commit"], meta["weights"][0]["sha256"], meta["config_path"], "torch"):
        assert text in page


def test_pages_are_self_contained(run):
    for page in (run["folder"] / "reports").glob("*.html"):
        text = page.read_text(encoding="utf-8")
        assert not re.search(r'(src|href)="(https?:)?//', text), page.name
        assert "<link" not in text and "@media print" in text


def _md_tables(section: str) -> list[list[list[str]]]:
    """Every Markdown table in `section`: a list of rows, each a list of cell texts (the separator row dropped)."""
    tables, current = [], []
    for line in section.splitlines() + [""]:
        if line.startswith("|"):
            cells = [c.strip() for c in re.split(r"(?<!\\)\|", line.strip())[1:-1]]
            if not all(set(c) <= set("-:") for c in cells):
                current.append(cells)
        elif current:
            tables.append(current)
            current = []
    return tables


def _md_name(text: str) -> str:
    return re.sub(r"\\(.)", r"\1", text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&"))


def test_summary_markdown_headline_then_group_tables_equal_results_csv(run):
    from colorbench.report.format import fmt
    from colorbench.report.headline import HEADLINE_MAX
    from colorbench.report.markdown import MAX_COLUMNS

    md, results = run["summary"], run["results"]
    for dataset in run["meta"]["datasets"]:
        section = md.split(f"\n### {dataset}", 1)[1].split("\n### ", 1)[0]
        tables = _md_tables(section)
        assert all(len(row) <= MAX_COLUMNS for t in tables for row in t)  # no table wider than 10 columns
        head = tables[0]
        assert head[0][:2] == ["baseline", "N"] and 1 <= len(head[0]) - 2 <= HEADLINE_MAX
        assert not any(c.startswith("colorfulness") for c in head[0])  # no direction: never a headline metric
        seen = {}
        for k, table in enumerate(tables):
            names = [c.split(" ")[0].replace("\\_", "_") for c in table[0]]
            first = 2 if k == 0 else 1
            for metric in names[first:] if k > 0 else []:
                seen[metric] = seen.get(metric, 0) + 1
            for row in table[1:]:
                baseline = _md_name(row[0].split(" _(")[0])
                assert baseline != FAILED_NAME  # failed baselines are listed below, with the reason
                if k == 0:
                    assert row[1] == str(len(run["meta"]["datasets"][dataset]["test_ids"]))
                for metric, cell in zip(names[first:], row[first:]):
                    r = _ok(results, dataset, metric).loc[baseline]
                    value = cell.replace("**", "").replace(" ≈", "").split(" [")[0]
                    assert value == fmt(r["value"], r["value"]), (dataset, metric, baseline, cell)
                    if k == 0:  # the headline table carries each value's CI
                        assert cell.endswith(f"[{fmt(r['ci_low'], r['value'])}, {fmt(r['ci_high'], r['value'])}]"), cell
        # every metric of results.csv is in one group table, once
        assert seen == {m: 1 for m in set(results.loc[results["dataset"] == dataset, "metric"])}
        first_metric = head[0][2].split(" ")[0].replace("\\_", "_")
        values = _ok(results, dataset, first_metric)["value"]
        values = values[[b not in REFERENCE for b in values.index]]
        best = values.idxmax() if _hib(results, first_metric) else values.idxmin()
        assert next(row for row in head[1:] if _md_name(row[0]) == best)[2].startswith("**")


def test_headline_orders_by_agreement_with_people_and_drops_near_duplicates(run):
    import numpy as np

    from colorbench.report.data import load_run
    from colorbench.report.headline import headline, people
    from colorbench.report.sections import agreement

    loaded = load_run(run["folder"])
    loaded.per_image["psnr"] = 10 * np.log10(1 / loaded.per_image["mse"])  # psnr is mse, monotonely: a near-duplicate
    data = {"metrics": {"mse": {"srcc": 0.5, "srcc_ci": [0.4, 0.6], "n": 390}, "psnr": {"srcc": 0.49, "srcc_ci": [0.4, 0.6], "n": 390},
                        "ssim": {"srcc": 0.2, "srcc_ci": [0.1, 0.3], "n": 390}, "colorfulness": {"srcc": 0.9, "srcc_ci": [0.8, 1.0], "n": 390}},
            "not_computed": ["lpips_vgg"]}
    names = list(loaded.metrics)
    top = headline(loaded, "tiny-a", names, agreement(loaded, "tiny-a"), data)
    assert top[:2] == ["mse", "ssim"]  # colorfulness has no direction; psnr duplicates mse
    assert "psnr" not in top
    assert people("psnr", data)["text"] == "people 0.49 [0.40, 0.60]"
    assert people("lpips_vgg", data) ["known"] is False and "slow on CPU" in people("lpips_vgg", data)["title"]
    assert people("fid", data)["text"] == "people: unknown"


def test_line_plot_escapes_labels():
    svg = line_plot({"<b>x</b>": [(1, 1.0), (2, 0.5)]}, "t<i>")
    assert "<b>" not in svg and "&lt;b&gt;" in svg and "<i>" not in svg
    assert line_plot({"empty": [(1, float("nan"))]}, "none") == ""
