"""The order in which a baseline's training settings and model parameters apply, recorded
setting by setting so the run page can say where every value came from.

Training settings, last one wins:
  1. paper  the family's paper defaults (BaselineFamily.train_defaults)
  2. train  the baseline's `train` block (every scale)
  3. scale  the active scale's bounds (Scale.epochs, image_size, max_train_images,
            max_val_images): each setting becomes min(setting, bound)
  4. small  at small scale, the baseline's `small` block: any value, above a bound too
Model parameters: `params`, then at small scale `small_params`.
"""
from __future__ import annotations

import inspect
from dataclasses import dataclass

from colorbench.config import BaselineConfig, Scale
from colorbench.contracts import TrainSettings
from colorbench.registry import suggest
from colorbench.typed import FieldError, from_dict, to_dict

SCALE_BOUNDS = ("epochs", "image_size", "max_train_images", "max_val_images")


@dataclass(frozen=True)
class ResolvedSettings:
    settings: TrainSettings
    origin: dict[str, str]  # setting -> "paper" | "train" | "scale" | "small": the layer of its final value


def resolve_settings(defaults: TrainSettings, baseline: BaselineConfig, scale_name: str, scale: Scale,
                     key: str) -> ResolvedSettings:
    merged = to_dict(defaults)
    origin = dict.fromkeys(merged, "paper")
    _override(merged, origin, baseline.train, "train", f"{key}.train")
    for name in SCALE_BOUNDS:
        bound = getattr(scale, name)
        if bound is not None and (merged[name] is None or merged[name] > bound):
            merged[name], origin[name] = bound, "scale"
    if scale_name == "small":
        _override(merged, origin, baseline.small, "small", f"{key}.small")
    try:
        return ResolvedSettings(from_dict(TrainSettings, merged), origin)
    except FieldError as exc:
        layer = origin.get(exc.key.split(".")[0], "train")
        section = layer if layer in ("train", "small") else "train"
        raise FieldError(f"{key}.{section}.{exc.key}", str(exc)) from None


def _override(merged: dict, origin: dict, block: dict, layer: str, key: str) -> None:
    for name, value in block.items():
        if name not in merged:
            raise FieldError(f"{key}.{name}", "unknown training setting" + suggest(name, merged))
        merged[name] = {**merged[name], **value} if name == "augment" and isinstance(value, dict) else value
        origin[name] = layer


def check_params(create, params: dict, key: str) -> None:
    """`params` must be keyword arguments `create` accepts (a typo is refused with a did-you-mean)."""
    signature = inspect.signature(create)
    allowed = [p for p in signature.parameters if p != "self"]
    for name in params:
        if name not in allowed:
            raise FieldError(f"{key}.{name}", "unknown model parameter" + suggest(name, allowed))
    try:
        signature.bind(**params)
    except TypeError as exc:
        raise FieldError(key, str(exc)) from None


def resolve_params(create, baseline: BaselineConfig, scale_name: str, key: str) -> dict:
    check_params(create, baseline.params, f"{key}.params")
    check_params(create, baseline.small_params, f"{key}.small_params")
    return {**baseline.params, **baseline.small_params} if scale_name == "small" else dict(baseline.params)
