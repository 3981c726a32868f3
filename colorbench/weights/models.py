"""Networks built from the cached, hash-checked weight files, with no download path."""
from __future__ import annotations

import functools
import threading
import warnings
from pathlib import Path
from unittest import mock

import lpips
import torch
from torch import nn

from . import store, substitute

LPIPS_BACKBONE = {"alex": "alexnet-features", "vgg": "vgg16-features"}


class FIDFeatures(nn.Module):
    """(N, 3, H, W) RGB in [0, 1] -> (N, 2048) pool3 features of pytorch-fid's InceptionV3([3]).

    The wrapped module is pytorch-fid's own class with its defaults: bilinear resize to
    299x299 (align_corners=False) and scaling to [-1, 1] happen inside it.
    """

    def __init__(self, inception: nn.Module):
        super().__init__()
        self.inception = inception

    @torch.no_grad()
    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.inception(images)[0].flatten(1)


_BUILD_LOCK = threading.Lock()  # the patch below is process-global while pytorch-fid builds


def load_fid_inception(device: torch.device | str = "cpu") -> FIDFeatures:
    """pytorch-fid InceptionV3([3], resize_input=True, normalize_input=True), offline.

    pytorch-fid's fid_inception_v3() fetches FID_WEIGHTS_URL; we run its unmodified
    constructor with the URL loader answering from our checked file instead (and refusing
    any other URL), so the architecture and its strict load are pytorch-fid's own. It runs on
    the meta device and the strict load assigns the file's tensors (assign=True), so the
    network's 24M parameters are never allocated and randomly initialised only to be
    overwritten (0.1 GB and a fraction of a second less per process).
    """
    from pytorch_fid import inception as pfi

    state_dict = store.load_state_dict("inception-fid")

    def from_cache(url: str, progress: bool = True):
        if url != pfi.FID_WEIGHTS_URL:
            raise RuntimeError(f"unexpected weights URL requested by pytorch-fid: {url}")
        return state_dict

    def assigning(*args, **kwargs):
        model = build(*args, **kwargs)
        model.load_state_dict = functools.partial(nn.Module.load_state_dict, model, assign=True)
        return model

    build = pfi._inception_v3
    with (_BUILD_LOCK, torch.device("meta"), mock.patch.object(pfi, "load_state_dict_from_url", from_cache),
          mock.patch.object(pfi, "_inception_v3", assigning)):
        inception = pfi.InceptionV3([pfi.InceptionV3.BLOCK_INDEX_BY_DIM[2048]],
                                    resize_input=True, normalize_input=True)
    if unloaded := [k for k, t in inception.state_dict().items() if t.is_meta]:
        raise RuntimeError(f"FID Inception: tensors not loaded from the weights file: {unloaded[:5]}")
    return FIDFeatures(inception).eval().to(device)


TV_INCEPTION = "inception-v3-google"


def load_torchvision_inception(device: torch.device | str = "cpu") -> nn.Module:
    """torchvision's inception_v3() (aux_logits=True, transform_input=False, as the published
    protocols build it with `models.inception_v3()`) with the 'inception-v3-google' file loaded
    strict=True, in eval mode. Built on the meta device, its tensors assigned from the file;
    a file from before PyTorch 0.4.1 has no batch-norm counters, which are then zero."""
    import torchvision

    state = store.load_state_dict(TV_INCEPTION)
    with warnings.catch_warnings(), torch.device("meta"):
        warnings.filterwarnings("ignore", category=FutureWarning)  # init_weights' default changed
        model = torchvision.models.inception_v3(weights=None, aux_logits=True, transform_input=False,
                                                init_weights=False)
    try:
        model.load_state_dict(state, strict=True, assign=True)
    except (RuntimeError, ValueError) as exc:
        if substitute.path_for(TV_INCEPTION) is not None:
            raise substitute.unusable(TV_INCEPTION, exc) from None
        raise
    for module in model.modules():
        counter = getattr(module, "num_batches_tracked", None)
        if isinstance(counter, torch.Tensor) and counter.is_meta:
            module.num_batches_tracked = torch.zeros((), dtype=torch.long)
    if unloaded := [k for k, t in model.state_dict().items() if t.is_meta]:
        raise RuntimeError(f"{TV_INCEPTION}: tensors not loaded from the weights file: {unloaded[:5]}")
    for param in model.parameters():
        param.requires_grad_(False)
    return model.eval().to(device)


def _load_every_tensor(model: nn.Module, state: dict) -> None:
    """load_state_dict, refusing to leave any tensor unloaded (lpips lists its heads twice, as
    lin0..lin4 and as lins.0..4: the same tensors, so one name of each is enough)."""
    result = model.load_state_dict(state, strict=False)
    tensors = model.state_dict(keep_vars=True)
    loaded = {id(tensors[key]) for key in state if key in tensors}
    unset = [key for key in result.missing_keys if id(tensors[key]) not in loaded]
    if unset or result.unexpected_keys:
        raise ValueError(f"LPIPS weights: not loaded {unset}, unexpected {result.unexpected_keys}")


def lpips_heads_path(net: str) -> Path:
    """The lpips package's own v0.1 linear-head file (what LPIPS(pretrained=True) loads)."""
    return Path(lpips.__file__).parent / "weights" / "v0.1" / f"{net}.pth"


def load_lpips(net: str = "alex", device: torch.device | str = "cpu") -> lpips.LPIPS:
    """lpips.LPIPS(net, version='0.1') whose backbone comes from our cached file.

    pnet_rand=True keeps lpips from downloading torchvision weights; the linear heads are
    the lpips package's own file. Inputs to forward() are expected in [-1, 1].
    """
    if net not in LPIPS_BACKBONE:
        raise ValueError(f"unknown LPIPS net {net!r} (want 'alex' or 'vgg')")
    features = store.load_state_dict(LPIPS_BACKBONE[net])
    # Built on the meta device, then given memory once: lpips builds all of torchvision's network,
    # whose classifier (58M parameters for AlexNet, 0.23 GB, randomly initialised) it throws away.
    with warnings.catch_warnings(), torch.device("meta"):  # lpips passes torchvision's deprecated `pretrained=False`
        warnings.filterwarnings("ignore", category=UserWarning, module="torchvision")
        model = lpips.LPIPS(pretrained=False, net=net, version="0.1", pnet_rand=True, verbose=False)
    model.to_empty(device="cpu")
    model.scaling_layer = lpips.ScalingLayer()  # its constants are set in code, not in a file
    # lpips splits torchvision's features into slices that keep the original indices as names
    trunk = {key: key.split(".", 1)[1] for key in model.net.state_dict()}  # slice1.0.weight -> 0.weight
    if set(trunk.values()) != set(features):
        raise ValueError(f"{net}: backbone file and lpips slices cover different layers")
    state = {f"net.{key}": features[name] for key, name in trunk.items()}
    state.update(torch.load(lpips_heads_path(net), map_location="cpu", weights_only=True))
    state.update({f"scaling_layer.{key}": value for key, value in model.scaling_layer.state_dict().items()})
    _load_every_tensor(model, state)
    for param in model.parameters():
        param.requires_grad_(False)
    return model.eval().to(device)
