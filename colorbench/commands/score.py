"""`colorbench score --pred DIR --gt DIR`: score a folder of outputs against the ground truth.

stdout carries the result only (a table, or with --json one JSON object: each metric's
dataset-level value and "n"); everything else goes to stderr.
"""
from __future__ import annotations

import csv
import io
import json
import math
import sys
from pathlib import Path

from colorbench.errors import EXIT_PARTIAL, DataError, UsageError
from colorbench.files import display_name, unwritable_reason, write_text
from colorbench.scoring.plan import SIZE_POLICIES
from colorbench.stats import BOOTSTRAP_RESAMPLES, bootstrap_ci


def _metric_names(raw: list[str] | None, protocol) -> list[str]:
    if not raw:
        return protocol.resolve(None)
    names = [n.strip() for item in raw for n in item.split(",") if n.strip()]
    if not names:
        raise UsageError("--metrics names no metric")
    return protocol.resolve(names)  # UnknownNameError with did-you-mean; UsageError if undefined


def _num(x: float) -> float | None:
    return None if x is None or math.isnan(x) or math.isinf(x) else x


def _fmt(x: float | None) -> str:
    return "nan" if x is None or math.isnan(x) else f"{x:.5g}"


def _summary(result, seed: int, protocol) -> dict:
    from colorbench.metrics.registry import direction_word

    out = {}
    for name, mv in result.values.items():
        spec = protocol.spec(name)
        ci = bootstrap_ci(mv.per_image.cpu().numpy(), seed=seed) if mv.per_image is not None else None
        out[name] = {
            "value": _num(mv.value),
            "ci95": list(ci) if ci else None,
            "direction": direction_word(spec),
            "unit": spec.unit,
            "definition": spec.definition,
            "extra": {k: _num(v) if isinstance(v, float) else v for k, v in mv.extra.items()
                      if isinstance(v, (int, float, str, bool, type(None)))},  # strict JSON: NaN -> null
        }
    return out


def _table(summary: dict) -> str:
    arrows = {"higher": "higher", "lower": "lower", "none": "-"}
    rows = [("metric", "value", "better", "unit", "95% CI")]
    for name, s in summary.items():
        ci = f"[{_fmt(s['ci95'][0])}, {_fmt(s['ci95'][1])}]" if s["ci95"] else "-"
        rows.append((name, _fmt(s["value"]), arrows[s["direction"]], s["unit"] or "-", ci))
    widths = [max(len(r[i]) for r in rows) for i in range(5)]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in rows)


def _write_outputs(out: Path, result, summary: dict, info: dict) -> None:
    per_image = {n: mv.per_image.cpu().tolist() for n, mv in result.values.items() if mv.per_image is not None}
    lines = [["id", *per_image]] + [[i, *(repr(v[k]) for v in per_image.values())] for k, i in enumerate(result.ids)]
    text = io.StringIO()
    csv.writer(text, lineterminator="\n").writerows(lines)
    write_text(out / "per_image.csv", text.getvalue())
    payload = {"n": len(result.ids), "metrics": summary, "failed": result.failed, **info}
    write_text(out / "summary.json", json.dumps(payload, indent=2))


def handle(args) -> int:
    from colorbench import weights
    from colorbench.protocols.registry import get

    protocol = get(args.protocol)  # unknown: exit 2 with did-you-mean, before any work
    with weights.substituted(weights.parse_weights_files(args.weights_file)):
        return _score(args, protocol)


def _score(args, protocol) -> int:
    from colorbench import distributed
    from colorbench.plan import resolve_device
    from colorbench.protocols import labels

    names = _metric_names(args.metrics, protocol)
    try:
        device = resolve_device(args.device)
    except (ValueError, RuntimeError) as exc:
        raise UsageError(f"--device: {exc}") from None
    distributed.init(device)  # under torchrun each rank scores a shard; rank 0 reports
    device = distributed.local_device(device)
    main = distributed.world().main
    if args.out and (reason := unwritable_reason(Path(args.out))) is not None:
        raise UsageError(f"--out: {reason}")  # checked before scoring, not after
    from colorbench.metrics.base import MetricContext
    from colorbench.scoring import match_folders, score_pairs

    match = match_folders(args.pred, args.gt, pred_prefix=protocol.pred_prefix)
    for label, ids in (("missing predictions", match.missing), ("extra predictions", match.extra),
                       ("ambiguous ids (several files)", match.ambiguous)):
        if ids and main:
            shown = ", ".join(map(display_name, ids[:5])) + (", ..." if len(ids) > 5 else "")
            print(f"colorbench score: {len(ids)} {label}: {shown}", file=sys.stderr)
    if args.strict and (match.missing or match.ambiguous):
        raise DataError("missing or ambiguous predictions under --strict")
    result = score_pairs(
        match.pairs, names, MetricContext(device=device, seed=args.seed), batch_size=args.batch_size,
        size_policy=args.size_policy, strict=args.strict, key_real_stats_by_files=True, registry=protocol.metrics,
    )
    if not main:
        return EXIT_PARTIAL if result.failed else 0
    for label, ids in (("size mismatches excluded", result.size_mismatch),
                       ("predictions resized", result.resized), ("unreadable pairs", result.unreadable)):
        if ids:
            print(f"colorbench score: {len(ids)} {label}: {', '.join(map(display_name, ids[:5]))}", file=sys.stderr)
    for name, reason in result.failed.items():
        print(f"colorbench score: metric {name} failed: {reason}", file=sys.stderr)
    summary = _summary(result, args.seed, protocol)
    label = {"protocol": protocol.name} if protocol.name != "colorbench" else {}
    if used := labels.weights_label(protocol, list(result.values)):
        label["weights"] = used  # which files every number came from; unverified ones flagged
    if args.out:
        info = {**label,
            "pred": str(args.pred), "gt": str(args.gt), "size_policy": args.size_policy,
            "bootstrap": {"resamples": BOOTSTRAP_RESAMPLES, "seed": args.seed, "method": "percentile"},
            "missing": match.missing, "extra": match.extra, "ambiguous": match.ambiguous,
            "size_mismatch": result.size_mismatch, "resized": result.resized, "unreadable": result.unreadable,
        }
        _write_outputs(Path(args.out), result, summary, info)
    if args.json:
        print(json.dumps({**{n: s["value"] for n, s in summary.items()}, **{n: None for n in result.failed},
                          "n": len(result.ids), **label}))
    else:
        print("\n".join([*labels.banner_lines(protocol, used), _table(summary)]))
        print(f"n = {len(result.ids)} image pairs", file=sys.stderr)
    return EXIT_PARTIAL if result.failed else 0


def register(sub) -> None:
    p = sub.add_parser("score", help="score a folder of predictions against a ground-truth folder")
    p.add_argument("--pred", required=True, help="folder of predicted images (matched by relative path and stem)")
    p.add_argument("--gt", required=True, help="folder of ground-truth images")
    p.add_argument("--metrics", nargs="+", metavar="M1,M2", help="metric names (default: the protocol's set)")
    p.add_argument("--protocol", default="colorbench",
                   help="whose definitions: colorbench (default) or a published protocol (colorbench list protocols)")
    p.add_argument("--weights-file", action="append", metavar="NAME=PATH",
                   help="use PATH instead of the cached weight file NAME for this run; every number from it "
                        "is labelled unverified (repeatable)")
    p.add_argument("--out", help="write per_image.csv and summary.json here")
    p.add_argument("--json", action="store_true", help="print one JSON object {metric: value, ..., 'n': N}")
    p.add_argument("--batch-size", type=int, default=16)
    p.add_argument("--size-policy", choices=SIZE_POLICIES, default="exclude",
                   help="prediction/truth size mismatch: exclude the pair (default), resize the prediction, or error")
    p.add_argument("--device", default="auto", help="auto, cpu or cuda")
    p.add_argument("--seed", type=int, default=0, help="bootstrap seed for the 95%% CIs")
    p.add_argument("--strict", action="store_true", help="missing, ambiguous or unreadable files are errors")
    p.set_defaults(func=handle)
