"""Image records, SHA-256 manifests and the manifest hash that identifies a dataset's content.

manifest_hash covers exactly: the sorted list of (file name relative to the dataset root, with
'/' separators and suffix; SHA-256 of the file's bytes). It does not cover categories, splits,
resizing or hygiene (those are recorded separately, from DatasetConfig and LoadOptions), nor file times or sizes.
Two copies of a dataset with the same files therefore share a manifest hash wherever they live.
"""
from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

from colorbench.errors import DataError
from colorbench.files import name_bytes

_MANIFEST_LINE = re.compile(r"^([0-9a-fA-F]{64}) [ *](.+)$")  # sha256sum text or binary mode


@dataclass(frozen=True, order=True)
class ImageRecord:
    id: str  # relative path without suffix, '/'-separated; unique within a dataset
    path: Path
    category: str | None = None


def record_id(relative: str) -> str:
    """'sub/dir/name.png' -> 'sub/dir/name' (only the last suffix is dropped)."""
    head, _, name = relative.rpartition("/")
    stem = name.rsplit(".", 1)[0] if "." in name[1:] else name
    return f"{head}/{stem}" if head else stem


def parse_manifest(text: str, origin: str) -> dict[str, str]:
    """A `sha256sum` listing -> {relative file name: lowercase sha256}."""
    entries: dict[str, str] = {}
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        match = _MANIFEST_LINE.match(line)
        if not match:
            raise DataError(f"{origin}:{number}: not a '<sha256>  <file>' line: {line[:80]!r}")
        digest, name = match.group(1).lower(), match.group(2).strip()
        if name.startswith("/") or ".." in name.split("/"):
            raise DataError(f"{origin}:{number}: file name must be relative and inside the set: {name!r}")
        if name in entries:
            raise DataError(f"{origin}:{number}: {name!r} listed twice")
        entries[name] = digest
    if not entries:
        raise DataError(f"{origin}: empty manifest")
    return entries


def manifest_hash(file_hashes: dict[str, str]) -> str:
    """SHA-256 over sorted '<relative name>\\t<sha256>\\n' lines (see the module docstring)."""
    h = hashlib.sha256()
    for name in sorted(file_hashes):
        h.update(name_bytes(name) + f"\t{file_hashes[name]}\n".encode())
    return h.hexdigest()


def check_unique_ids(records: list[ImageRecord], where: str) -> None:
    """Two files differing only in suffix (a.png, a.jpg) would share an id: refuse."""
    seen: dict[str, Path] = {}
    for rec in records:
        if rec.id in seen:
            raise DataError(f"{where}: {seen[rec.id].name} and {rec.path.name} both map to id {rec.id!r}")
        seen[rec.id] = rec.path
