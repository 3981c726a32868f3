"""From a parsed config to an executable plan: every name resolved, every setting final.

Building the plan is the validation step: any problem raises ConfigError naming the file and
key, before data is read or anything is written.
"""
from __future__ import annotations

import inspect
from dataclasses import dataclass
from pathlib import Path

import torch

from colorbench.config import BaselineConfig, BenchmarkConfig, Scale
from colorbench.errors import ConfigError
from colorbench.registry import UnknownNameError
from colorbench.training.settings import TrainSettings
from colorbench.typed import FieldError, from_dict, to_dict


@dataclass(frozen=True)
class BaselinePlan:
    config: BaselineConfig
    params: dict  # model keyword arguments at the chosen scale
    settings: TrainSettings | None  # None: nothing to train
    evaluate_on: tuple[str, ...]


@dataclass(frozen=True)
class Plan:
    config: BenchmarkConfig
    config_path: str
    device: torch.device
    scale_name: str
    scale: Scale
    baselines: tuple[BaselinePlan, ...]
    output_dir: Path


def resolve_device(requested: str) -> torch.device:
    if requested == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    device = torch.device(requested)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device {requested!r} asked for, but CUDA is not available")
    return device


def _settings(defaults: TrainSettings, b: BaselineConfig, scale_name: str, scale: Scale, key: str) -> TrainSettings:
    """Paper defaults <- config `train` <- (small scale) caps <- config `small`."""
    merged = to_dict(defaults)
    _merge(merged, b.train, f"{key}.train")
    if scale_name == "small":
        caps = {"epochs": scale.max_epochs, "image_size": scale.max_train_size}
        for name, cap in caps.items():
            if cap is not None:
                merged[name] = min(merged[name], cap)
        for name in ("max_train_images", "max_val_images"):
            cap = getattr(scale, name)
            if cap is not None:
                merged[name] = cap if merged[name] is None else min(merged[name], cap)
        _merge(merged, b.small, f"{key}.small")
    try:
        return from_dict(TrainSettings, merged)
    except FieldError as exc:
        section = "small" if scale_name == "small" and exc.key.split(".")[0] in b.small else "train"
        raise FieldError(f"{key}.{section}.{exc.key}", str(exc)) from None


def _merge(into: dict, overrides: dict, key: str) -> None:
    for name, value in overrides.items():
        if name not in into:
            raise FieldError(f"{key}.{name}", "unknown training setting" + _suggest(name, list(into)))
        if name == "augment" and isinstance(value, dict):
            into[name] = {**into[name], **value}
        else:
            into[name] = value


def _suggest(name: str, options: list[str]) -> str:
    import difflib

    close = difflib.get_close_matches(name, options, n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _check_params(create, params: dict, key: str) -> None:
    signature = inspect.signature(create)
    allowed = [p for p in signature.parameters if p != "self"]
    for name in params:
        if name not in allowed:
            raise FieldError(f"{key}.{name}", "unknown model parameter" + _suggest(name, allowed))
    try:
        signature.bind(**params)
    except TypeError as exc:
        raise FieldError(key, str(exc)) from None


def build_plan(config: BenchmarkConfig, config_path: str, device_override: str | None = None) -> Plan:
    try:
        return _build(config, config_path, device_override)
    except FieldError as exc:
        raise ConfigError(config_path, exc.key, str(exc)) from None


def _build(config: BenchmarkConfig, path: str, device_override: str | None) -> Plan:
    from baselines.registry import BASELINES
    from colorbench.data.catalog import DATASETS
    from colorbench.metrics.registry import METRICS

    try:
        device = resolve_device(device_override or config.device)
    except (ValueError, RuntimeError) as exc:
        raise FieldError("device", str(exc)) from None
    scale_name = config.scale if config.scale != "auto" else ("paper" if device.type == "cuda" else "small")
    scale = getattr(config.scales, scale_name)

    datasets = {}
    for i, d in enumerate(config.datasets):
        key = f"datasets[{i}]"
        if d.name in datasets:
            raise FieldError(f"{key}.name", f"duplicate dataset name {d.name!r}")
        _lookup(DATASETS, d.source_name, f"{key}.source")
        if d.root is not None and not Path(d.root).expanduser().is_dir():
            raise FieldError(f"{key}.root", f"data directory {d.root!r} does not exist")
        datasets[d.name] = d
    for i, name in enumerate(config.evaluation.metrics):
        _lookup(METRICS, name, f"evaluation.metrics[{i}]")

    rows: dict[str, BaselinePlan] = {}
    for i, b in enumerate(config.baselines):
        key = f"baselines[{i}]"
        if b.name in rows:
            raise FieldError(f"{key}.name", f"duplicate baseline name {b.name!r}")
        family = _lookup(BASELINES, b.model_name, f"{key}.model" if b.model else f"{key}.name")
        _check_params(family.create, b.params, f"{key}.params")
        _check_params(family.create, b.small_params, f"{key}.small_params")
        params = {**b.params, **b.small_params} if scale_name == "small" else dict(b.params)
        settings = None
        if family.prepares and b.train_on is None:
            raise FieldError(f"{key}.train_on", f"{b.model_name} draws on training images: name the dataset")
        if b.train_on is not None and b.train_on not in datasets:
            raise FieldError(f"{key}.train_on", f"no dataset named {b.train_on!r}" + _suggest(b.train_on, list(datasets)))
        if family.learned:
            if b.train_on is None:
                raise FieldError(f"{key}.train_on", f"{b.model_name} is learned: name the dataset it trains on")
            if datasets[b.train_on].split.train <= 0:
                raise FieldError(f"{key}.train_on", f"dataset {b.train_on!r} has no train split")
            settings = _settings(family.train_defaults or TrainSettings(), b, scale_name, scale, key)
        elif b.train or b.small:
            raise FieldError(f"{key}.train", f"{b.model_name} is not trained: remove its training settings")
        if b.init_from is not None:
            _check_init_from(b, params, key, rows)
        evaluate_on = tuple(b.evaluate_on) if b.evaluate_on is not None else tuple(n for n, d in datasets.items() if d.split.test > 0)
        for j, name in enumerate(evaluate_on):
            if name not in datasets:
                raise FieldError(f"{key}.evaluate_on[{j}]", f"no dataset named {name!r}" + _suggest(name, list(datasets)))
            if datasets[name].split.test <= 0:
                raise FieldError(f"{key}.evaluate_on[{j}]", f"dataset {name!r} has no test split")
        rows[b.name] = BaselinePlan(b, params, settings, evaluate_on)

    output_dir = Path(config.output_dir).expanduser()
    if output_dir.exists() and not output_dir.is_dir():
        raise FieldError("output_dir", f"{str(output_dir)!r} exists and is not a directory")
    return Plan(config, path, device, scale_name, scale, tuple(rows.values()), output_dir)


def _check_init_from(b: BaselineConfig, params: dict, key: str, rows: dict) -> None:
    source, sep, dataset = b.init_from.partition("@")
    if not sep:
        raise FieldError(f"{key}.init_from", "expected '<baseline>@<dataset>'")
    if source not in rows:
        raise FieldError(f"{key}.init_from", f"names no earlier baseline {source!r}" + _suggest(source, list(rows)))
    if rows[source].settings is None or rows[source].config.train_on != dataset:
        raise FieldError(f"{key}.init_from", f"baseline {source!r} is not trained on {dataset!r}")
    if rows[source].config.model_name != b.model_name:
        raise FieldError(f"{key}.init_from", f"{source!r} is a {rows[source].config.model_name}, not a {b.model_name}")
    if rows[source].params != params:
        raise FieldError(f"{key}.params", f"model parameters differ from {source!r}'s, so its weights cannot initialise this one")


def _lookup(registry, name: str, key: str):
    try:
        return registry.get(name)
    except UnknownNameError as exc:
        raise FieldError(key, str(exc)) from None
