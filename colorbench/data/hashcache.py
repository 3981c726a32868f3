"""Content SHA-256 for every file of a folder dataset, cached by (size, mtime_ns).

Hashing is cheap for small sets (imagenet-samples, 107 MB: well under a second) but not for a
user's 50k-image folder, so results are kept per folder root in cache_dir('hashes'). A file
whose size or mtime changed is hashed again; the cache is advisory and never trusted over a
changed stat.
"""
from __future__ import annotations

import json
from pathlib import Path

from colorbench.files import atomic_write_bytes, name_bytes
from colorbench.hashing import sha256_bytes, sha256_file
from colorbench.paths import cache_dir


def _cache_file(root: Path) -> Path:
    key = sha256_bytes(name_bytes(str(root.resolve())))[:24]
    return cache_dir("hashes") / f"{key}.json"


def hash_files(root: Path, relative_names: list[str]) -> dict[str, str]:
    """{relative name: sha256} for files under root, reusing cached digests of unchanged files."""
    cache_path = _cache_file(root)
    try:
        cached = json.loads(cache_path.read_text())["files"]
    except (OSError, ValueError, KeyError, TypeError):
        cached = {}
    if not isinstance(cached, dict):
        cached = {}
    result: dict[str, str] = {}
    fresh: dict[str, list] = {}
    changed = False
    for name in relative_names:
        st = (root / name).stat()
        entry = cached.get(name)
        if isinstance(entry, list) and len(entry) == 3 and entry[0] == st.st_size and entry[1] == st.st_mtime_ns:
            digest = entry[2]
        else:
            try:
                digest, changed = sha256_file(root / name), True
            except OSError as exc:
                # e.g. no read permission: hygiene reports the file as unreadable; not cached
                result[name] = f"unreadable:{type(exc).__name__}"
                continue
        result[name] = digest
        fresh[name] = [st.st_size, st.st_mtime_ns, digest]
    if changed or set(fresh) != set(cached):
        payload = json.dumps({"root": str(root.resolve()), "files": fresh}, sort_keys=True).encode("utf-8")
        try:
            atomic_write_bytes(cache_path, lambda fh: fh.write(payload))
        except OSError:
            pass  # a read-only cache only costs time
    return result
