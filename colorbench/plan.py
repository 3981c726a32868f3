"""From a parsed config to an executable plan: every name resolved, every setting final.

Building the plan is the validation step: any problem raises ConfigError naming the file and
key, before data is read or anything is written.
"""
from __future__ import annotations

import inspect
from dataclasses import dataclass
from pathlib import Path

import torch

from colorbench.config import BaselineConfig, BenchmarkConfig, Scale, device_problem, label_key
from colorbench.errors import ConfigError, UsageError
from colorbench.files import unwritable_reason
from colorbench.paths import cache_root, data_root
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
    """The torch device for 'auto', 'cpu' or 'cuda[:N]'; ValueError for anything else."""
    if (problem := device_problem(requested)) is not None:
        raise ValueError(problem)
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


def build_plan(config: BenchmarkConfig, config_path: str, device_override: str | None = None,
               force: bool = False) -> Plan:
    try:
        return _build(config, config_path, device_override, force)
    except FieldError as exc:
        raise ConfigError(config_path, exc.key, str(exc)) from None


def _check_labels(items, kind: str, section: str) -> None:
    """Names become folder names: they must differ after case-folding (case-insensitive disks)."""
    seen: dict[str, str] = {}
    for i, item in enumerate(items):
        earlier = seen.setdefault(label_key(item.name), item.name)
        if len(seen) <= i:  # the key was already taken
            message = (f"duplicate {kind} name {item.name!r}" if earlier == item.name else
                       f"{kind} name {item.name!r} collides with {earlier!r}: names become folder names, "
                       "so they must differ after case-folding")
            raise FieldError(f"{section}[{i}].name", message)


def _build(config: BenchmarkConfig, path: str, device_override: str | None, force: bool) -> Plan:
    from baselines.registry import BASELINES
    from colorbench.data.catalog import DATASETS
    from colorbench.metrics.registry import METRICS

    try:
        device = resolve_device(device_override or config.device)
    except (ValueError, RuntimeError) as exc:
        raise FieldError("device", str(exc)) from None
    scale_name = config.scale if config.scale != "auto" else ("paper" if device.type == "cuda" else "small")
    scale = getattr(config.scales, scale_name)

    _check_labels(config.datasets, "dataset", "datasets")
    _check_labels(config.baselines, "baseline", "baselines")
    output_dir = Path(config.output_dir).expanduser()
    datasets = {}
    for i, d in enumerate(config.datasets):
        key = f"datasets[{i}]"
        _lookup(DATASETS, d.source_name, f"{key}.source")
        if d.root is not None and not Path(d.root).expanduser().is_dir():
            raise FieldError(f"{key}.root", f"data directory {d.root!r} does not exist")
        _check_no_overlap(d, output_dir, key)
        datasets[d.name] = d
    for i, name in enumerate(config.evaluation.metrics):
        _lookup(METRICS, name, f"evaluation.metrics[{i}]")

    rows: dict[str, BaselinePlan] = {}
    for i, b in enumerate(config.baselines):
        key = f"baselines[{i}]"
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

    _check_output_dir(output_dir, force)
    return Plan(config, path, device, scale_name, scale, tuple(rows.values()), output_dir)


def _data_folder(d) -> Path | None:
    """Where the dataset's own files live, when that is known before loading."""
    if d.root is not None:
        return Path(d.root).expanduser()
    env = data_root()
    return env / d.source_name if env is not None and (env / d.source_name).is_dir() else None


def _check_no_overlap(d, output_dir: Path, key: str) -> None:
    """A run writes and cleans inside output_dir: it must not share a folder with source images."""
    folder = _data_folder(d)
    if folder is None:
        return
    data, out = folder.resolve(), output_dir.resolve()
    if data.is_relative_to(out) or out.is_relative_to(data):
        field = f"{key}.root" if d.root is not None else "output_dir"
        raise FieldError(field, f"the data folder {str(data)!r} and output_dir {str(out)!r} overlap: "
                         "a run would overwrite or re-read its own outputs; keep them apart")


def _check_output_dir(output_dir: Path, force: bool) -> None:
    from colorbench.workspace import foreign_entries

    if output_dir.exists() and not output_dir.is_dir():
        raise FieldError("output_dir", f"{str(output_dir)!r} exists and is not a directory")
    foreign = foreign_entries(output_dir)
    if foreign and not force:
        shown = ", ".join(foreign[:3]) + (", ..." if len(foreign) > 3 else "")
        raise FieldError("output_dir", f"{str(output_dir)!r} is not empty and is not a colorbench run folder "
                         f"(holds {shown}); choose another folder, or pass --force to write into it")
    if (reason := unwritable_reason(output_dir)) is not None:
        raise FieldError("output_dir", reason)
    if (reason := unwritable_reason(cache_root())) is not None:
        raise UsageError(f"the cache folder is not writable ({reason}); set COLORBENCH_CACHE to a writable folder")


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
