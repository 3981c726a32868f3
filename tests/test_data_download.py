"""Named sets: lookup order (COLORBENCH_DATA, then cache, then download) and verified downloads
from a loopback HTTP server, including a corrupted file."""
from __future__ import annotations

import functools
import http.server
import os
import shutil
import threading
from pathlib import Path

import pytest

from colorbench.data.download import download_missing
from colorbench.data.manifest import manifest_hash, parse_manifest
from colorbench.data.prepare import load_dataset
from colorbench.data.reference import shipped_manifest
from colorbench.data.spec import TEST_ONLY, DatasetConfig, LoadOptions
from colorbench.errors import DataError
from colorbench.hashing import sha256_file

REPO = Path(__file__).resolve().parents[1]
SET = "mcmaster"  # the smallest named set: 18 files, 14 MB
_DATA_ENV = os.environ.get("COLORBENCH_DATA")  # read before any test monkeypatches it


def shared_datasets() -> Path:
    """COLORBENCH_DATA, else ../shared/datasets next to the repo; missing data is a failure."""
    root = (Path(_DATA_ENV) if _DATA_ENV else REPO.parent / "shared" / "datasets").resolve()
    if not (root / SET).is_dir():
        pytest.fail(f"test data not found: {root}/{SET} (set COLORBENCH_DATA)")
    return root


@pytest.fixture
def env(tmp_path, monkeypatch):
    """Private cache, no local data dir, loopback never proxied."""
    monkeypatch.setenv("COLORBENCH_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv("COLORBENCH_DATA", raising=False)
    monkeypatch.delenv("COLORBENCH_DOWNLOAD_BASE", raising=False)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")
    return tmp_path


class _Quiet(http.server.SimpleHTTPRequestHandler):
    requested: list[str]

    def log_message(self, *args):
        pass

    def do_GET(self):
        self.requested.append(self.path)
        super().do_GET()


@pytest.fixture
def mirror(tmp_path):
    """A loopback HTTP server over tmp_path/mirror/<set>/, a copy of the shared files."""
    root = tmp_path / "mirror"
    shutil.copytree(shared_datasets() / SET, root / SET)
    requested: list[str] = []
    handler = functools.partial(type("Handler", (_Quiet,), {"requested": requested}), directory=str(root))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", root / SET, requested
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def _cache_folder(tmp_path: Path) -> Path:
    return tmp_path / "cache" / "datasets" / SET


def test_shipped_manifests_match_the_shared_copies():
    data = shared_datasets()
    for name in ("imagenet-samples", "kodak24", "mcmaster", "cbsd68"):
        shared = parse_manifest((data / f"{name}.sha256").read_text(), name)
        assert shipped_manifest(name) == shared
        assert all((data / name / f).is_file() for f in shared)


def test_download_over_loopback_then_reuse_the_cache(env, mirror):
    base, _, requested = mirror
    prepared = load_dataset(DatasetConfig(name=SET, source=SET, download_base=base, split=TEST_ONLY), progress=False)
    files = shipped_manifest(SET)
    assert prepared.report.location == f"downloaded:{_cache_folder(env)}"
    assert prepared.report.manifest_hash == manifest_hash(files)
    assert prepared.report.n_found == len(files) == len(requested)
    assert all(sha256_file(_cache_folder(env) / f) == h for f, h in files.items())
    assert not [p for p in _cache_folder(env).iterdir() if p.name.startswith(".")]  # no temp files left

    again = load_dataset(DatasetConfig(name=SET, source=SET, download_base=base, split=TEST_ONLY), progress=False)
    assert again.report.location == f"cache:{_cache_folder(env)}"
    assert len(requested) == len(files)  # nothing fetched twice


def test_corrupted_file_fails_the_hash_check_and_is_not_kept(env, mirror, monkeypatch):
    base, served, requested = mirror
    files = shipped_manifest(SET)
    victim = sorted(files)[len(files) // 2]
    data = bytearray((served / victim).read_bytes())
    data[len(data) // 2] ^= 0xFF
    (served / victim).write_bytes(bytes(data))
    monkeypatch.setenv("COLORBENCH_DOWNLOAD_BASE", base)  # the env var, not the spec field

    with pytest.raises(DataError, match="SHA-256 mismatch") as info:
        load_dataset(DatasetConfig(name=SET, source=SET, split=TEST_ONLY), progress=False)
    assert victim in str(info.value)
    cached = _cache_folder(env)
    assert not (cached / victim).exists()
    assert not [p for p in cached.iterdir() if p.name.startswith(".")]
    fetched_before = {p.name for p in cached.iterdir()}
    assert fetched_before == {f for f in files if f < victim}  # verified files before it are kept

    shutil.copy(shared_datasets() / SET / victim, served / victim)  # the mirror is repaired
    requested.clear()
    prepared = load_dataset(DatasetConfig(name=SET, source=SET, split=TEST_ONLY), progress=False)
    assert prepared.report.n_found == len(files)
    assert len(requested) == len(files) - len(fetched_before)  # resumed, not restarted


def test_http_error_and_download_disabled_are_data_errors(env, mirror):
    base, _, _ = mirror
    with pytest.raises(DataError, match="could not download"):
        download_missing(base, {"absent.png": "0" * 64}, env / "dest", "t", progress=False)
    with pytest.raises(DataError, match="downloading is disabled"):
        load_dataset(DatasetConfig(name=SET, source=SET, download=False, split=TEST_ONLY), progress=False)


def test_colorbench_data_takes_precedence_over_the_cache(env, monkeypatch):
    shutil.copytree(shared_datasets() / SET, _cache_folder(env))
    monkeypatch.setenv("COLORBENCH_DATA", str(shared_datasets()))
    prepared = load_dataset(DatasetConfig(name=SET, source=SET, download=False, split=TEST_ONLY), progress=False)
    assert prepared.report.location == f"COLORBENCH_DATA:{shared_datasets() / SET}"
    assert all(r.path.parent == shared_datasets() / SET for r in prepared.resolved.records)

    monkeypatch.setenv("COLORBENCH_DATA", str(env / "elsewhere"))  # no such set there: the cache
    prepared = load_dataset(DatasetConfig(name=SET, source=SET, download=False, split=TEST_ONLY), progress=False)
    assert prepared.report.location == f"cache:{_cache_folder(env)}"


def _linked_copy(src: Path, dst: Path) -> None:
    dst.mkdir(parents=True)
    for f in src.iterdir():
        (dst / f.name).symlink_to(f)


def test_incomplete_or_tampered_local_copy_is_reported(env, monkeypatch):
    local = env / "local"
    _linked_copy(shared_datasets() / SET, local / SET)
    monkeypatch.setenv("COLORBENCH_DATA", str(local))
    files = sorted(shipped_manifest(SET))
    (local / SET / files[0]).unlink()
    with pytest.raises(DataError, match=f"1 of {len(files)} manifest files missing") as info:
        load_dataset(DatasetConfig(name=SET, source=SET, split=TEST_ONLY), progress=False)
    assert files[0] in str(info.value)

    (local / SET / files[0]).write_bytes(b"not the original")
    report = load_dataset(DatasetConfig(name=SET, source=SET, split=TEST_ONLY), LoadOptions(size=8), progress=False).report  # presence only
    assert [(e.id, e.reason) for e in report.excluded] == [(Path(files[0]).stem, "unreadable")]
    with pytest.raises(DataError, match="do not match the manifest"):
        load_dataset(DatasetConfig(name=SET, source=SET, verify_hashes=True, split=TEST_ONLY), progress=False)


def test_an_explicit_root_is_the_only_place_looked_at(env, monkeypatch):
    monkeypatch.setenv("COLORBENCH_DATA", str(env / "elsewhere"))
    prepared = load_dataset(DatasetConfig(name=SET, source=SET, root=str(shared_datasets() / SET), download=False, split=TEST_ONLY), progress=False)
    assert prepared.report.location == f"root:{shared_datasets() / SET}"
    with pytest.raises(DataError, match="missing"):
        load_dataset(DatasetConfig(name=SET, source=SET, root=str(env / "empty"), split=TEST_ONLY), progress=False)
    assert not _cache_folder(env).exists()  # no download was attempted
