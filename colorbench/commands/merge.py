"""`colorbench merge RUN_DIR`: the parts of a sharded run (`colorbench run --only`) as one run."""
from __future__ import annotations

from pathlib import Path


def handle(args) -> int:
    from colorbench.pipeline.merge import merge_parts

    run_dir = Path(args.run_dir)
    document, records = merge_parts(run_dir, force=args.force)
    print(f"merged {len(document.parts)} part(s), {len(document.baselines)} baseline(s), {len(records)} rows")
    print(f"results: {run_dir / 'results.csv'}")
    print(f"report:  {run_dir / 'reports' / 'index.html'}")
    return 0


def register(sub) -> None:
    p = sub.add_parser("merge", help="merge the parts of a sharded run (run --only) into one table and report")
    p.add_argument("run_dir", help="the output folder the parts were run into (it holds parts/)")
    p.add_argument("--force", action="store_true", help="replace the results of a full run in RUN_DIR")
    p.set_defaults(func=handle)
