"""Downloading files listed in a SHA-256 manifest: verified, atomic, resumable.

Each file is streamed into a hidden temporary sibling while being hashed and renamed into place
only when its SHA-256 matches the manifest; a mismatch or a network error deletes the temporary
file and raises DataError. Files already present are not fetched again, so an interrupted
download resumes where it stopped.
"""
from __future__ import annotations

import hashlib
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

from tqdm import tqdm

from colorbench.errors import DataError
from colorbench.files import atomic_write_bytes

TIMEOUT_S = 60.0
_CHUNK = 1 << 16


class _HashMismatch(Exception):
    pass


def file_url(base_url: str, name: str) -> str:
    return f"{base_url.rstrip('/')}/{urllib.parse.quote(name)}"


def _fetch(url: str, dest: Path, expected_sha256: str) -> None:
    def write(fh) -> None:
        digest = hashlib.sha256()
        with urllib.request.urlopen(url, timeout=TIMEOUT_S) as response:
            while block := response.read(_CHUNK):
                digest.update(block)
                fh.write(block)
        if digest.hexdigest() != expected_sha256:
            raise _HashMismatch(digest.hexdigest())

    try:
        atomic_write_bytes(dest, write)
    except _HashMismatch as exc:
        raise DataError(
            f"SHA-256 mismatch for {url}: expected {expected_sha256}, got {exc}; the file was not kept"
        ) from None
    except (urllib.error.URLError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", None) or exc
        raise DataError(f"could not download {url}: {reason}") from None


def download_missing(base_url: str, files: dict[str, str], dest: Path, label: str, progress: bool = True) -> int:
    """Fetch every manifest entry {name: sha256} absent from dest; returns how many were fetched."""
    missing = [name for name in sorted(files) if not (dest / name).is_file()]
    for name in tqdm(missing, desc=f"download {label}", unit="file", disable=not progress or not missing):
        _fetch(file_url(base_url, name), dest / name, files[name])
    return len(missing)
