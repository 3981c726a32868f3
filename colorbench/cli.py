"""The `colorbench` command: subcommands registered explicitly, errors as one line and an exit code."""
from __future__ import annotations

import argparse
import signal
import sys
import threading

from colorbench import __version__
from colorbench.errors import EXIT_INTERRUPTED, EXIT_TERMINATED, Terminated, failure


def build_parser() -> argparse.ArgumentParser:
    from colorbench.commands import (
        agreement,
        colorize,
        compare,
        export,
        listing,
        merge,
        run,
        score,
        study,
        weights,
    )

    parser = argparse.ArgumentParser(prog="colorbench", description="Benchmark suite for automatic image colorization.")
    parser.add_argument("--version", action="version", version=f"colorbench {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module in (run, merge, score, colorize, compare, export, listing, study, agreement, weights):
        module.register(sub)
    return parser


def _on_sigterm(signum, frame) -> None:
    raise Terminated()


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    in_main = threading.current_thread() is threading.main_thread()  # only it may set handlers
    previous = signal.signal(signal.SIGTERM, _on_sigterm) if in_main else None
    try:
        return int(args.func(args) or 0)
    except BaseException as exc:  # noqa: B036 - mapped below; anything unmapped is re-raised
        mapped = failure(exc)
        if mapped is None:
            raise
        code, message = mapped
        signalled = code in (EXIT_INTERRUPTED, EXIT_TERMINATED)
        print(f"colorbench: {message}" if signalled else f"colorbench: error: {message}", file=sys.stderr)
        return code
    finally:
        if in_main:
            signal.signal(signal.SIGTERM, previous)
        if "colorbench.distributed" in sys.modules:  # imported only by commands that use torch
            sys.modules["colorbench.distributed"].shutdown()


if __name__ == "__main__":
    sys.exit(main())
