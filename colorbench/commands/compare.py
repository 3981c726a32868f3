"""`colorbench compare NEW OLD [--tolerances FILE]`: exit 1 on a regression, 2 if incompatible."""
from __future__ import annotations

import sys


def handle(args) -> int:
    from colorbench.compare import (
        compare_tables,
        format_rows,
        gate_fails,
        load_tolerances,
        machine_note,
    )
    from colorbench.results import read_results

    tolerances = load_tolerances(args.tolerances)
    rows = compare_tables(read_results(args.new), read_results(args.old), tolerances)
    if (note := machine_note(args.new, args.old)) is not None:
        print(note, file=sys.stderr)
    print(format_rows(rows, show_all=args.all))
    return 1 if gate_fails(rows) else 0


def register(sub) -> None:
    p = sub.add_parser("compare", help="compare two results tables (CI regression check)")
    p.add_argument("new", help="results.csv / results.jsonl or a run folder")
    p.add_argument("old", help="the reference table")
    p.add_argument("--tolerances", help="YAML: default: {abs, rel}, metrics: {name: {abs, rel}}")
    p.add_argument("--all", action="store_true", help="also list values within tolerance")
    p.set_defaults(func=handle)
