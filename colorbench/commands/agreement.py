"""`colorbench agreement SET`: how well each per-image metric agrees with people on a rated set.

SET is a registered rated set (hecd), a study folder (colorbench study create; its counted
votes, read from the study's database) or a rated folder (items.csv + ratings.csv, the format
`colorbench study export` writes). stdout carries the result only: a table, or with --json one object
{"n", "metrics", "systems", ...}; notes (missing images, exclusions) go to stderr. --out DIR
writes agreement.json, CSVs and index.html, each file atomically, after everything is computed.
"""
from __future__ import annotations

import json
import sys

from colorbench.errors import UsageError


def _metric_names(raw: list[str] | None) -> list[str]:
    from colorbench.human.agreement import default_metrics, per_image_metrics

    if not raw:
        return default_metrics()
    names = [n.strip() for item in raw for n in item.split(",") if n.strip()]
    if not names:
        raise UsageError("--metrics names no metric")
    return per_image_metrics(names)


def _notes(result: dict, checks: dict) -> None:
    for reason, entry in result["items"].items():
        if isinstance(entry, dict) and entry["count"]:
            ids = entry["ids"]
            shown = ", ".join(ids[:5]) + (f" and {len(ids) - 5} more" if len(ids) > 5 else "")
            print(f"colorbench agreement: {entry['count']} item(s) left out ({reason.replace('_', ' ')}): {shown}",
                  file=sys.stderr)
    z = result["zscore"]
    if z["excluded_raters"] or z["unpaired"]:
        print(f"colorbench agreement: z-scores: {len(z['excluded_raters'])} rater(s) with constant ratings excluded, "
              f"{z['unpaired']} test rating(s) without the rater's reference rating excluded", file=sys.stderr)
    for name, why in result["metrics_failed"].items():
        print(f"colorbench agreement: {name} left out (it failed: {why})", file=sys.stderr)
    rep = checks.get("zscore_reproduction")
    if rep:
        print(f"colorbench agreement: mean z-scores recomputed from the raw ratings match {rep['against']} "
              f"to max |difference| {rep['max_abs_diff']:.3g} over {rep['n_images']} images", file=sys.stderr)


def handle(args) -> int:
    from tqdm import tqdm

    from colorbench.human import agreement, sets
    from colorbench.report import agreement as report
    from colorbench.study.agreement import read_study_folder

    if args.resamples < 2:
        raise UsageError("--resamples must be at least 2")
    names = _metric_names(args.metrics)
    loaded = sets.load(args.set, download=not args.no_download, progress=sys.stderr.isatty(), readers=(read_study_folder,))
    with tqdm(desc="score", unit="img", file=sys.stderr, disable=not sys.stderr.isatty()) as bar:
        inputs = agreement.score(loaded.rs, names, zscore=args.zscore, strict=args.strict,
                                 batch_size=args.batch_size, progress=bar.update)
    result = agreement.analyse(inputs, n_resamples=args.resamples, seed=args.seed)
    result["checks"] = loaded.checks
    _notes(result, loaded.checks)
    if args.out:
        report.write(args.out, inputs, result)
        if args.set == "hecd":  # the published colorizers page (colorbench.report.published)
            from colorbench.report.published import write_page

            write_page(inputs, result, args.out)
    if args.json:
        print(json.dumps(result))
    else:
        print(report.text_table(result))
    return 0


def register(sub) -> None:
    from colorbench.human import DEFAULT_RESAMPLES, SLOW_ON_CPU, ZSCORE_METHODS

    p = sub.add_parser("agreement", help="correlate every per-image metric with human ratings (e.g. hecd)")
    p.add_argument("set", help="a rated set name (hecd), a study folder or a rated folder")
    p.add_argument("--metrics", nargs="+", metavar="M1,M2",
                   help="per-image metrics (default: all but " + ", ".join(SLOW_ON_CPU) + ")")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument("--out", help="write agreement.json, CSVs and index.html here")
    p.add_argument("--zscore", choices=ZSCORE_METHODS, default="auto",
                   help="per-rater normalisation (auto: difference when references are rated, none for 2AFC, else rater)")
    p.add_argument("--resamples", type=int, default=DEFAULT_RESAMPLES, help="bootstrap replicates")
    p.add_argument("--seed", type=int, default=0, help="bootstrap seed")
    p.add_argument("--batch-size", type=int, default=16)
    p.add_argument("--strict", action="store_true", help="missing images or size mismatches are errors")
    p.add_argument("--no-download", action="store_true", help="never download (hecd: use what is local)")
    p.set_defaults(func=handle)
