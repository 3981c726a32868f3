"""`colorbench run FILE`: the whole benchmark, validated before any work starts."""
from __future__ import annotations

import sys

from colorbench.errors import EXIT_PARTIAL, UsageError


def handle(args) -> int:
    """Arguments in, colorbench.run (colorbench.python_api.run) called, the paths printed."""
    from colorbench.python_api import run

    only = [n.strip() for n in args.only.split(",") if n.strip()] if args.only is not None else None
    if only is not None and not only:
        raise UsageError("--only names no baseline row")
    from colorbench import weights

    files = weights.parse_weights_files(args.weights_file)  # before any work: exit 2 on a bad NAME=PATH
    with weights.substituted(files):  # fingerprints, run.json and the report name the files used
        result = run(args.config, device=args.device, strict=args.strict, output_dir=args.output_dir,
                     force=args.force, only=only)
    from colorbench import distributed

    if not distributed.world().main:
        return 0
    print(f"results: {result.output_dir / 'results.csv'}")
    print(f"report:  {result.output_dir / 'reports' / 'index.html'}")
    subsets = result.subsets()
    if subsets:
        print(f"colorbench: partial run: rows scored on only some test images, shown with their own N and not ranked: "
              f"{'; '.join(subsets)} (allow_partial: true on a row accepts it)", file=sys.stderr)
    if result.failed:
        print(f"colorbench: partial run: failed baselines: {', '.join(result.failed)} (see run.json)", file=sys.stderr)
    return EXIT_PARTIAL if result.failed or subsets else 0


def register(sub) -> None:
    p = sub.add_parser("run", help="run a benchmark file")
    p.add_argument("config", help="benchmarks.yaml")
    p.add_argument("--device", help="override the config's device: auto, cpu, cuda, cuda:N")
    p.add_argument("--strict", action="store_true", help="any skipped image is an error, before scoring")
    p.add_argument("--output-dir", help="override the config's output_dir")
    p.add_argument("--force", action="store_true",
                   help="write into a non-empty output folder that is not a colorbench run (its own files are kept)")
    p.add_argument("--weights-file", action="append", metavar="NAME=PATH",
                   help="use PATH instead of the cached weight file NAME; results from it are labelled "
                        "unverified and never compare equal to a run on the checked file (repeatable)")
    p.add_argument("--only", metavar="NAME[,NAME...]",
                   help="run only these baseline rows, into OUTPUT_DIR/parts/<names>/ (then: colorbench merge OUTPUT_DIR)")
    p.set_defaults(func=handle)
