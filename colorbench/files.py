"""Writing files safely: atomic replacement, the user's umask, writable-folder checks, and the
one text encoding policy for names that are not valid UTF-8.

Every file colorbench writes goes through atomic_write_bytes: readers never see a half-written
file, a killed process leaves only a hidden temporary sibling (PARTIAL_FILE_GLOB), and the file
gets the permissions any other program would give it under the current umask (mkstemp alone
would make it 0600, so a report served by another user would show no images).
"""
from __future__ import annotations

import errno
import functools
import json
import os
import tempfile
from pathlib import Path

PARTIAL_FILE_GLOB = ".*.tmp"  # the names atomic_write_bytes gives its temporary files


@functools.lru_cache(maxsize=1)
def _umask() -> int:
    mask = os.umask(0)  # the only way to read it; read once, so no thread ever sees umask 0 for long
    os.umask(mask)
    return mask


def partial_name(path: Path) -> str:
    """The prefix of `path`'s temporary siblings (they match PARTIAL_FILE_GLOB)."""
    return f".{path.name}."


def atomic_write_bytes(path: Path, write) -> None:
    """Call write(file_object) on a temporary sibling, then rename: no partial file is ever seen."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=partial_name(path), suffix=".tmp", dir=path.parent)
    try:
        os.fchmod(fd, 0o666 & ~_umask())
        with os.fdopen(fd, "wb") as fh:
            write(fh)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def text_bytes(text: str) -> bytes:
    """UTF-8; a file name that was not valid UTF-8 (surrogate escapes) is written as \\udcXX text."""
    return text.encode("utf-8", "backslashreplace")


def name_bytes(name: str) -> bytes:
    """A file name's bytes as on disk (for hashing): UTF-8, undecodable bytes restored."""
    return name.encode("utf-8", "surrogateescape")


def display_name(name: str) -> str:
    """A name as it can be printed and stored in text files (see text_bytes)."""
    return text_bytes(name).decode("utf-8")


def write_text(path: Path, text: str) -> None:
    atomic_write_bytes(path, lambda fh: fh.write(text_bytes(text)))


def write_json(path: Path, obj) -> None:
    write_text(path, json.dumps(obj, indent=2, sort_keys=True, default=str) + "\n")


def unwritable_reason(folder: Path) -> str | None:
    """Why files cannot be created in `folder` (or in the folders that would hold it), or None.

    Probes with a real temporary file, removed at once, in the folder or its nearest existing
    ancestor: permission bits say nothing to root, while a read-only mount, an immutable
    folder or a parent that is a file only show when something is written. Creates nothing.
    """
    folder = Path(folder).absolute()
    existing = next(p for p in (folder, *folder.parents) if p.exists())
    if not existing.is_dir():
        what = "exists and is not a directory" if existing == folder else f"cannot be created: {str(existing)!r} is a file"
        return f"{str(folder)!r} {what}"
    try:
        fd, probe = tempfile.mkstemp(prefix=".colorbench-probe.", suffix=".tmp", dir=existing)
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        return f"cannot write in {str(existing)!r}: {exc.strerror or exc}"
    return None


def os_error_message(exc: OSError) -> str:
    """One line for an I/O failure: what, where, and for a full disk what to do."""
    where = f" {display_name(str(exc.filename))!r}" if exc.filename else ""
    if exc.errno in (errno.ENOSPC, errno.EFBIG, errno.EDQUOT):
        return f"disk full or file size limit reached while writing{where} ({exc.strerror}); free space and rerun: finished work is reused"
    return f"{exc.strerror or exc}:{where}" if where else str(exc.strerror or exc)
