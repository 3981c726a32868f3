"""`--weights-file NAME=PATH`: another file in place of a registered weight file, for one run.

While `substituted(...)` is active, store.require(NAME) returns PATH, store.sha256(NAME) hashes
it and store.manifest() lists it with source "--weights-file" and verified=False, so every
number computed with it is labelled as coming from unverified weights (JSON `weights`, the
report's banner) and its fingerprint differs from a run on the checked file. Nothing is
copied into the cache.
"""
from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Iterator

from colorbench.errors import UsageError

from .specs import WEIGHTS

OPTION = "--weights-file"
SOURCE = "--weights-file"  # the manifest row's `source` for a substituted file
_ACTIVE: dict[str, Path] = {}


def parse_weights_files(items: list[str] | None) -> dict[str, Path]:
    """['NAME=PATH', ...] -> {NAME: PATH}; unknown names (did-you-mean), missing files and a name
    given twice are refused (exit 2)."""
    files: dict[str, Path] = {}
    for item in items or []:
        name, sep, path = item.partition("=")
        if not sep or not name or not path:
            raise UsageError(f"{OPTION} {item!r}: expected NAME=PATH (names: {', '.join(WEIGHTS.names())})")
        WEIGHTS.get(name)  # UnknownNameError: exit 2 with did-you-mean
        if name in files:
            raise UsageError(f"{OPTION}: {name!r} is given twice")
        file = Path(path).expanduser()
        if not file.is_file():
            raise UsageError(f"{OPTION} {name}={path}: no such file")
        files[name] = file.resolve()
    return files


def active() -> dict[str, Path]:
    """The substituted files now in force (a copy)."""
    return dict(_ACTIVE)


def path_for(name: str) -> Path | None:
    return _ACTIVE.get(name)


@contextlib.contextmanager
def substituted(files: dict[str, Path]) -> Iterator[None]:
    """Use `files` instead of the cached weights inside the block (process-wide: one run)."""
    previous = dict(_ACTIVE)
    _ACTIVE.update(files)
    try:
        yield
    finally:
        _ACTIVE.clear()
        _ACTIVE.update(previous)


def unusable(name: str, exc: BaseException) -> UsageError:
    """A substituted file that does not load as `name`'s network: a usage error naming it."""
    return UsageError(f"{OPTION} {name}={_ACTIVE[name]}: not a usable {name} state dict "
                      f"({type(exc).__name__}: {str(exc).splitlines()[0][:200]})")
