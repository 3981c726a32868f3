"""The `colorbench` command: subcommands registered explicitly, errors as one line and an exit code."""
from __future__ import annotations

import argparse
import sys

from colorbench import __version__
from colorbench.errors import ColorbenchError


def build_parser() -> argparse.ArgumentParser:
    from colorbench.commands import agreement, compare, listing, run, score
    from colorbench.weights import cli as weights

    parser = argparse.ArgumentParser(prog="colorbench", description="Benchmark suite for automatic image colorization.")
    parser.add_argument("--version", action="version", version=f"colorbench {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module in (run, score, compare, listing, weights, agreement):
        module.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except ColorbenchError as exc:
        print(f"colorbench: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("colorbench: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
