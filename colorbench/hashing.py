"""SHA-256 of bytes, files and canonical JSON, and the one sidecar format for verified files.

A verified file `X` has a sidecar `X.sha256` in sha256sum's format ("<hex>  X"); read_verified
refuses a file whose bytes do not match it, so a file cut short by a crash between the two
writes, or changed since, is never used.
"""
from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import BinaryIO, Callable

from colorbench.files import atomic_write_bytes

_CHUNK = 1 << 20
_FILE_MEMO: dict[tuple, str] = {}


class CorruptFileError(ValueError):
    """A verified file whose bytes do not match its sidecar, or that has none."""


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def sha256_file(path: str | Path) -> str:
    """SHA-256 of a file's bytes; memoised on (path, size, mtime, inode), so checks repeat cheaply."""
    path = Path(path)
    st = path.stat()
    key = (str(path.resolve()), st.st_size, st.st_mtime_ns, st.st_ino)
    if key not in _FILE_MEMO:
        digest = hashlib.sha256()
        with open(path, "rb") as fh:
            while block := fh.read(_CHUNK):
                digest.update(block)
        _FILE_MEMO[key] = digest.hexdigest()
    return _FILE_MEMO[key]


def canonical_json(obj) -> str:
    """Sorted keys, no white space, tuples as lists; anything not JSON-native raises TypeError,
    so a key never silently depends on an object's repr."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), allow_nan=False)


def canonical_hash(obj) -> str:
    """SHA-256 of canonical_json(obj): the key of anything derived from `obj`."""
    return sha256_bytes(canonical_json(obj).encode())


def sidecar(path: Path) -> Path:
    return path.with_name(path.name + ".sha256")


class _Hashed:
    """A binary file that hashes what is written to it, so a large payload is never held twice."""

    def __init__(self, fh: BinaryIO, digest):
        self.fh, self.digest = fh, digest

    def write(self, data) -> int:
        self.digest.update(data)
        return self.fh.write(data)

    def flush(self) -> None:
        self.fh.flush()


def write_verified(path: Path, data: bytes | Callable[[BinaryIO], object]) -> str:
    """Write `data` (bytes, or a function writing to a binary file) atomically, then its sidecar;
    returns the SHA-256 of the bytes written."""
    digest = hashlib.sha256()

    def write(fh: BinaryIO) -> None:
        out = _Hashed(fh, digest)
        if callable(data):
            data(out)
        else:
            out.write(data)

    atomic_write_bytes(path, write)
    hexdigest = digest.hexdigest()
    atomic_write_bytes(sidecar(path), lambda fh: fh.write(f"{hexdigest}  {path.name}\n".encode()))
    return hexdigest


def recorded_sha256(path: Path) -> str | None:
    """The digest a file's sidecar records, or None without a (readable) sidecar."""
    try:
        words = sidecar(path).read_text().split()
    except OSError:
        return None
    return words[0] if words else None


def read_verified(path: Path) -> bytes | None:
    """The file's bytes, None if it does not exist; CorruptFileError if they do not match the sidecar."""
    if not path.exists():
        return None
    expected = recorded_sha256(path)
    if expected is None:
        raise CorruptFileError(f"{path}: no SHA-256 sidecar {sidecar(path).name}")
    data = path.read_bytes()
    actual = sha256_bytes(data)
    if actual != expected:
        raise CorruptFileError(f"{path}: SHA-256 {actual[:16]}... != recorded {expected[:16]}...")
    return data


def remove_verified(path: Path) -> None:
    path.unlink(missing_ok=True)
    sidecar(path).unlink(missing_ok=True)
