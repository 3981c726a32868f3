"""`colorbench run FILE`: the whole benchmark, validated before any work starts."""
from __future__ import annotations

import dataclasses
import sys

from colorbench.config import load_config
from colorbench.plan import build_plan

EXIT_PARTIAL = 6


def handle(args) -> int:
    config = load_config(args.config)
    if args.strict:
        config = dataclasses.replace(config, strict=True)
    if args.output_dir:
        config = dataclasses.replace(config, output_dir=args.output_dir)
    plan = build_plan(config, args.config, args.device)
    from colorbench.harness import run_benchmark  # heavy imports only once the config is valid

    summary = run_benchmark(plan)
    print(f"results: {summary.output_dir / 'results.csv'}")
    print(f"report:  {summary.output_dir / 'reports' / 'index.html'}")
    if summary.partial:
        print(f"colorbench: partial run: failed baselines: {', '.join(summary.failed)} (see run.json)", file=sys.stderr)
        return EXIT_PARTIAL
    return 0


def register(sub) -> None:
    p = sub.add_parser("run", help="run a benchmark file")
    p.add_argument("config", help="benchmarks.yaml")
    p.add_argument("--device", help="override the config's device: auto, cpu, cuda, cuda:N")
    p.add_argument("--strict", action="store_true", help="any skipped image is an error, before scoring")
    p.add_argument("--output-dir", help="override the config's output_dir")
    p.set_defaults(func=handle)
