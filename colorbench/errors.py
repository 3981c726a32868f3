"""Exceptions the CLI maps to exit codes and one-line messages."""
from __future__ import annotations


class ColorbenchError(Exception):
    """Base class; `exit_code` is what the CLI returns."""

    exit_code = 1


class ConfigError(ColorbenchError):
    """A config problem, found before any work starts (exit 2)."""

    exit_code = 2

    def __init__(self, file: str, key: str, message: str):
        self.file, self.key, self.message = file, key, message
        where = f"{file}: {key}: " if key else f"{file}: "
        super().__init__(where + message)


class UsageError(ColorbenchError):
    exit_code = 2


class MissingWeightsError(ColorbenchError):
    """Weights absent from the cache; the message names the command that fetches them."""

    exit_code = 3


class DataError(ColorbenchError):
    """Unreadable or missing data under --strict, or a dataset that cannot be found."""

    exit_code = 4
