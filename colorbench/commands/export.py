"""`colorbench export RUN_DIR DEST`: a run's tables and path-free provenance, for reports/."""
from __future__ import annotations

from pathlib import Path


def handle(args) -> int:
    from colorbench.portable import export_run

    for path in export_run(Path(args.run_dir), Path(args.dest)):
        print(path)
    return 0


def register(sub) -> None:
    p = sub.add_parser("export", help="write a run's tables, summary and path-free run.json to a folder (for reports/)")
    p.add_argument("run_dir", help="a finished run folder")
    p.add_argument("dest", help="e.g. reports/benchmarks-small-cpu")
    p.set_defaults(func=handle)
