"""`colorbench agreement SET`: how well each per-image metric agrees with people on a rated set.

SET is a registered rated set (hecd) or a rated folder (items.csv + ratings.csv, or a study
folder holding export/). stdout carries the result only: a table, or with --json one object
{"n", "metrics", "systems", ...}; notes (missing images, exclusions) go to stderr. --out DIR
writes agreement.json, CSVs and index.html, each file atomically, after everything is computed.
"""
from __future__ import annotations

import json
import sys

from colorbench.errors import ColorbenchError, UsageError
from colorbench.registry import UnknownNameError

SLOW_ON_CPU = ("lpips_vgg",)  # left out of the default set: ~4 s per 321x481 pair on 2 CPU cores


def _metric_names(raw: list[str] | None) -> list[str] | None:
    from colorbench.human.agreement import per_image_metrics

    if not raw:
        return [n for n in per_image_metrics(None) if n not in SLOW_ON_CPU]
    return per_image_metrics([n.strip() for item in raw for n in item.split(",") if n.strip()])


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
    rep = checks.get("zscore_reproduction")
    if rep:
        print(f"colorbench agreement: mean z-scores recomputed from the raw ratings match {rep['against']} "
              f"to max |difference| {rep['max_abs_diff']:.3g} over {rep['n_images']} images", file=sys.stderr)


def handle(args) -> int:
    try:
        return _handle(args)
    except UnknownNameError as exc:
        print(f"colorbench agreement: {exc}", file=sys.stderr)
        return 2
    except ColorbenchError as exc:
        print(f"colorbench agreement: {exc}", file=sys.stderr)
        return exc.exit_code


def _handle(args) -> int:
    from tqdm import tqdm

    from colorbench.human import agreement, report, sets

    if args.resamples < 2:
        raise UsageError("--resamples must be at least 2")
    names = _metric_names(args.metrics)
    loaded = sets.load(args.set, download=not args.no_download, progress=sys.stderr.isatty())
    with tqdm(desc="score", unit="img", file=sys.stderr, disable=not sys.stderr.isatty()) as bar:
        inputs = agreement.score(loaded.rs, names, zscore=args.zscore, strict=args.strict,
                                 batch_size=args.batch_size, progress=bar.update)
    result = agreement.analyse(inputs, n_resamples=args.resamples, seed=args.seed)
    result["checks"] = loaded.checks
    _notes(result, loaded.checks)
    if args.out:
        report.write(args.out, inputs, result)
    if args.json:
        print(json.dumps(result))
    else:
        print(report.text_table(result))
    return 0


def register(sub) -> None:
    from colorbench.human.resample import DEFAULT_RESAMPLES

    p = sub.add_parser("agreement", help="correlate every per-image metric with human ratings (e.g. hecd)")
    p.add_argument("set", help="a rated set name (hecd) or a rated folder / study folder")
    p.add_argument("--metrics", nargs="+", metavar="M1,M2",
                   help="per-image metrics (default: all but " + ", ".join(SLOW_ON_CPU) + ")")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument("--out", help="write agreement.json, CSVs and index.html here")
    p.add_argument("--zscore", choices=("auto", "difference", "rater"), default="auto",
                   help="per-rater z-score normalisation (auto: difference when references are rated)")
    p.add_argument("--resamples", type=int, default=DEFAULT_RESAMPLES, help="bootstrap replicates")
    p.add_argument("--seed", type=int, default=0, help="bootstrap seed")
    p.add_argument("--batch-size", type=int, default=16)
    p.add_argument("--strict", action="store_true", help="missing images or size mismatches are errors")
    p.add_argument("--no-download", action="store_true", help="never download (hecd: use what is local)")
    p.set_defaults(func=handle)
