"""Exceptions, exit codes, and the one place that turns a failure into an exit code and a line.

Exit codes: 0 success; 1 regression (compare) or an error; 2 bad config, usage or input (one line
naming the file and key, before any work); 3 missing weights; 4 data error; 5 output folder
locked; 6 partial (some rows or metrics failed, the others are written); 130 interrupted
(SIGINT); 143 terminated (SIGTERM). Anything not listed in `failure()` is a bug and keeps its
traceback.
"""
from __future__ import annotations

EXIT_ERROR, EXIT_USAGE, EXIT_WEIGHTS, EXIT_DATA, EXIT_LOCKED, EXIT_PARTIAL = 1, 2, 3, 4, 5, 6
EXIT_INTERRUPTED, EXIT_TERMINATED = 130, 143


class ColorbenchError(Exception):
    """Base class; `exit_code` is what the CLI returns."""

    exit_code = EXIT_ERROR


class ConfigError(ColorbenchError):
    """A config problem, found before any work starts (exit 2)."""

    exit_code = EXIT_USAGE

    def __init__(self, file: str, key: str, message: str):
        self.file, self.key, self.message = file, key, message
        where = f"{file}: {key}: " if key else f"{file}: "
        super().__init__(where + message)


class UsageError(ColorbenchError):
    """A bad command line or input file (exit 2)."""

    exit_code = EXIT_USAGE


class MissingWeightsError(ColorbenchError):
    """Weights absent from the cache; the message names the command that fetches them."""

    exit_code = EXIT_WEIGHTS


class DataError(ColorbenchError):
    """Unreadable or missing data under --strict, or a dataset that cannot be found."""

    exit_code = EXIT_DATA


class OutputLocked(ColorbenchError):
    """Another run holds the output folder."""

    exit_code = EXIT_LOCKED


class RankFailure(ColorbenchError):
    """Under torchrun, a baseline failed on this rank: the whole job ends (the other ranks
    cannot tell a failure from a slow rank), and the rerun resumes."""

    def __init__(self, what: str, exc: BaseException):
        from colorbench import distributed

        super().__init__(f"{what} failed on rank {distributed.world().rank}: {type(exc).__name__}: {exc}; "
                         "the job stops (rerun to resume)")


class Terminated(BaseException):
    """Raised in the main thread by the SIGTERM handler, so cleanup (locks, temporaries) runs."""


def failure(exc: BaseException) -> tuple[int, str] | None:
    """(exit code, one-line message) for a failure the CLI reports in one line; None for a bug."""
    from colorbench.files import os_error_message
    from colorbench.registry import UnknownNameError

    if isinstance(exc, ColorbenchError):
        return exc.exit_code, str(exc)
    if isinstance(exc, UnknownNameError):
        return EXIT_USAGE, str(exc)
    if isinstance(exc, OSError):
        return EXIT_ERROR, os_error_message(exc)
    if isinstance(exc, KeyboardInterrupt):
        return EXIT_INTERRUPTED, "interrupted"
    if isinstance(exc, Terminated):
        return EXIT_TERMINATED, "terminated (SIGTERM); finished work is kept and reused by the next run"
    return None
