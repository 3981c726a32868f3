"""`colorbench score --pred DIR --gt DIR`: score a folder of outputs against the ground truth.

stdout carries the result only (a table, or with --json one JSON object: each metric's
dataset-level value and "n"); everything else goes to stderr.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

from colorbench.errors import EXIT_PARTIAL, UsageError
from colorbench.files import unwritable_reason
from colorbench.scoring.batches import SIZE_POLICIES


def _stderr(line: str) -> None:
    print(f"colorbench score: {line}", file=sys.stderr)


def handle(args) -> int:
    """Arguments in, colorbench.scoring.scores.score_inputs (the routine colorbench.score() runs)
    under any --weights-file substitution, the result printed and saved."""
    from colorbench import weights
    from colorbench.protocols.registry import get

    get(args.protocol)  # unknown: exit 2 with did-you-mean, before any work
    with weights.substituted(weights.parse_weights_files(args.weights_file)):
        return _score(args)


def _score(args) -> int:
    from colorbench import distributed
    from colorbench.plan import resolve_device
    from colorbench.scoring.scores import metric_names, score_inputs

    names = metric_names(args.metrics, option="--metrics", protocol=args.protocol)
    try:
        device = resolve_device(args.device)
    except (ValueError, RuntimeError) as exc:
        raise UsageError(f"--device: {exc}") from None
    if args.out and (reason := unwritable_reason(Path(args.out))) is not None:
        raise UsageError(f"--out: {reason}")  # checked before scoring, not after
    scores = score_inputs(args.pred, args.gt, names, device, batch_size=args.batch_size, size_policy=args.size_policy,
                          strict=args.strict, seed=args.seed, protocol=args.protocol, notify=_stderr)
    if not distributed.world().main:
        return EXIT_PARTIAL if scores.failed else 0
    if args.out:
        scores.save(args.out)
    if args.json:
        print(json.dumps(scores.to_json()))
    else:
        print(scores.table())
        print(f"n = {scores.n} image pairs", file=sys.stderr)
    return EXIT_PARTIAL if scores.failed else 0


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
