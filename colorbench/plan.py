"""From a parsed config to an executable plan: every name resolved, every setting final.

Building the plan is the validation step: any problem raises ConfigError naming the file and
key, before data is read or anything is written. Nothing downstream parses the config again:
the plan holds each dataset by name, each baseline's family, parameters, resolved settings
(with where each value came from) and the row it starts from (`init_from`).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch

from colorbench import distributed
from colorbench.config import (
    OUTPUTS_PLACEHOLDER,
    RUN_DEFAULT_METRICS,
    BaselineConfig,
    BenchmarkConfig,
    Scale,
    device_problem,
    outputs_folder,
)
from colorbench.contracts import TrainSettings
from colorbench.data.spec import DatasetConfig, LoadOptions
from colorbench.errors import ConfigError, UsageError
from colorbench.files import unwritable_reason
from colorbench.labels import label_key
from colorbench.paths import cache_root, data_root
from colorbench.registry import UnknownNameError, suggest
from colorbench.runfolder import check_apart, check_output_dir, part_dir
from colorbench.settings import (
    ResolvedSettings,
    resolve_params,
    resolve_settings,
)
from colorbench.typed import FieldError


@dataclass(frozen=True)
class InitSource:
    """A trained row whose best checkpoint initialises another (seed 003's transfer learning)."""

    baseline: "BaselinePlan"
    dataset: str


@dataclass(frozen=True)
class BaselinePlan:
    config: BaselineConfig
    family: object | None  # baselines.registry.BaselineFamily; None for precomputed outputs
    params: dict  # model keyword arguments at the chosen scale
    resolved: ResolvedSettings | None  # None: nothing to train
    evaluate_on: tuple[str, ...]
    init_from: InitSource | None = None

    @property
    def name(self) -> str:
        return self.config.name

    @property
    def outputs(self) -> str | None:
        """The folder template of precomputed outputs, for a row without a model."""
        return self.config.outputs

    @property
    def settings(self) -> TrainSettings | None:
        return self.resolved.settings if self.resolved else None


@dataclass(frozen=True)
class Plan:
    config: BenchmarkConfig
    config_path: str
    device: torch.device
    scale_name: str
    scale: Scale
    datasets: dict[str, DatasetConfig]
    baselines: tuple[BaselinePlan, ...]
    output_dir: Path
    part_of: Path | None = None  # the run folder this part belongs to (`run --only`)

    @property
    def load_options(self) -> LoadOptions:
        """How every dataset is read for evaluation (training re-reads splits at its own size)."""
        ev = self.config.evaluation
        return LoadOptions(seed=self.config.seed, size=self.scale.eval_size, resize_policy=ev.resize,
                           chroma_threshold=ev.chroma_threshold, strict=self.config.strict)

    @property
    def protocol(self):
        """The evaluation protocol whose definitions every metric follows (colorbench.protocols)."""
        from colorbench.protocols.registry import get

        return get(self.config.evaluation.protocol)

    @property
    def metrics(self) -> list[str]:
        ev = self.config.evaluation
        if ev.metrics is not None:
            return list(ev.metrics)
        return list(RUN_DEFAULT_METRICS if ev.protocol == "colorbench" else self.protocol.default_metrics)

    def baseline(self, name: str) -> BaselinePlan:
        return next(b for b in self.baselines if b.name == name)


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


def build_plan(config: BenchmarkConfig, config_path: str, device_override: str | None = None,
               force: bool = False, only: list[str] | None = None) -> Plan:
    """`only`: run just these baseline rows, as a part of the run (colorbench.pipeline.merge)."""
    try:
        return _build(config, config_path, device_override, force, only)
    except FieldError as exc:
        raise ConfigError(config_path, exc.key, str(exc)) from None


def _build(config: BenchmarkConfig, path: str, device_override: str | None, force: bool,
           only: list[str] | None) -> Plan:
    from colorbench.protocols.registry import PROTOCOLS

    try:
        device = resolve_device(device_override or config.device)
    except (ValueError, RuntimeError) as exc:
        raise FieldError("device", str(exc)) from None
    distributed.init(device)  # under torchrun: join the group, each rank on its own GPU
    device = distributed.local_device(device)
    scale_name = config.scale if config.scale != "auto" else ("paper" if device.type == "cuda" else "small")
    scale = getattr(config.scales, scale_name)
    output_dir = Path(config.output_dir).expanduser()
    datasets = _datasets(config, output_dir)
    protocol = lookup(PROTOCOLS, config.evaluation.protocol, "evaluation.protocol")
    for i, name in enumerate(config.evaluation.metrics or []):
        if name in protocol.undefined:
            raise FieldError(f"evaluation.metrics[{i}]", f"protocol {protocol.name!r} does not define {name!r}: "
                             f"{protocol.undefined[name]}")
        lookup(protocol.metrics, name, f"evaluation.metrics[{i}]")
    _check_labels(config.baselines, "baseline", "baselines")
    rows: dict[str, BaselinePlan] = {}
    for i, b in enumerate(config.baselines):
        rows[b.name] = _baseline(b, f"baselines[{i}]", datasets, rows, scale_name, scale, output_dir)
        _check_global_batch(rows[b.name], f"baselines[{i}]")
    check_output_dir(output_dir, force)
    part_of = None
    if only is not None:
        rows = _only(rows, only)
        part_of, output_dir = output_dir, _part_dir(output_dir, list(rows), force)
    if (reason := unwritable_reason(cache_root())) is not None:
        raise UsageError(f"the cache folder is not writable ({reason}); set COLORBENCH_CACHE to a writable folder")
    return Plan(config, path, device, scale_name, scale, datasets, tuple(rows.values()), output_dir, part_of)


def _datasets(config: BenchmarkConfig, output_dir: Path) -> dict[str, DatasetConfig]:
    from colorbench.data.catalog import DATASETS

    _check_labels(config.datasets, "dataset", "datasets")
    for i, d in enumerate(config.datasets):
        lookup(DATASETS, d.source_name, f"datasets[{i}].source")
        if d.root is not None and not Path(d.root).expanduser().is_dir():
            raise FieldError(f"datasets[{i}].root", f"data directory {d.root!r} does not exist")
        folder = Path(d.root).expanduser() if d.root is not None else data_root() / d.source_name if data_root() else None
        if folder is not None and folder.is_dir():
            check_apart(folder, output_dir, f"datasets[{i}].root" if d.root is not None else "output_dir")
    return {d.name: d for d in config.datasets}


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


def _baseline(b: BaselineConfig, key: str, datasets: dict, rows: dict, scale_name: str, scale: Scale,
              output_dir: Path) -> BaselinePlan:
    from colorbench import families

    if b.outputs is not None:
        evaluate_on = _evaluate_on(b, datasets, key)
        _check_outputs(b.outputs, evaluate_on, f"{key}.outputs", output_dir)
        return BaselinePlan(b, None, {}, None, evaluate_on)
    found = families.find(b.model_name, f"{key}.model" if b.model else f"{key}.name")
    params = resolve_params(found.factory, b, scale_name, key)
    family = families.family_of(found, params, key)
    _check_train_on(b, family, datasets, key)
    resolved = None
    if family.learned:
        resolved = resolve_settings(family.train_defaults or TrainSettings(), b, scale_name, scale, key)
    elif b.train or b.small:
        raise FieldError(f"{key}.train", f"{b.model_name} is not trained: remove its training settings")
    init = _init_source(b, params, key, rows) if b.init_from is not None else None
    return BaselinePlan(b, family, params, resolved, _evaluate_on(b, datasets, key), init)


def _check_global_batch(bp: BaselinePlan, key: str) -> None:
    world = distributed.world()
    if bp.settings is not None and bp.settings.batch_size % world.size:
        raise FieldError(f"{key}.batch_size", f"{bp.settings.batch_size} is the global batch and must divide evenly "
                         f"over the {world.size} ranks (use a multiple of {world.size})")


def _only(rows: dict[str, BaselinePlan], names: list[str]) -> dict[str, BaselinePlan]:
    """The named rows, in config order; each row an --only row starts from must be named too."""
    for name in names:
        if name not in rows:
            raise UsageError(f"--only: no baseline row {name!r}" + suggest(name, rows))
    for name in names:
        source = rows[name].init_from
        if source is not None and source.baseline.name not in names:
            raise UsageError(f"--only: {name!r} starts from {source.baseline.name!r}'s weights: "
                             "run both in the same part")
    return {n: bp for n, bp in rows.items() if n in names}


def _part_dir(output_dir: Path, names: list[str], force: bool) -> Path:

    part = part_dir(output_dir, names)
    check_output_dir(part, force)
    return part


def _check_train_on(b: BaselineConfig, family, datasets: dict, key: str) -> None:
    if family.prepares and b.train_on is None:
        raise FieldError(f"{key}.train_on", f"{b.model_name} draws on training images: name the dataset")
    if b.train_on is not None and b.train_on not in datasets:
        raise FieldError(f"{key}.train_on", f"no dataset named {b.train_on!r}" + suggest(b.train_on, datasets))
    if family.learned:
        if b.train_on is None:
            raise FieldError(f"{key}.train_on", f"{b.model_name} is learned: name the dataset it trains on")
        if datasets[b.train_on].split.train <= 0:
            raise FieldError(f"{key}.train_on", f"dataset {b.train_on!r} has no train split")


def _evaluate_on(b: BaselineConfig, datasets: dict, key: str) -> tuple[str, ...]:
    if b.evaluate_on is None:
        return tuple(n for n, d in datasets.items() if d.split.test > 0)
    for j, name in enumerate(b.evaluate_on):
        if name not in datasets:
            raise FieldError(f"{key}.evaluate_on[{j}]", f"no dataset named {name!r}" + suggest(name, datasets))
        if datasets[name].split.test <= 0:
            raise FieldError(f"{key}.evaluate_on[{j}]", f"dataset {name!r} has no test split")
    return tuple(b.evaluate_on)


def _check_outputs(template: str, evaluate_on: tuple[str, ...], key: str, output_dir: Path) -> None:
    """Each dataset's outputs folder exists and lies apart from output_dir (the run cleans its own
    folders there: a user's folder inside it would lose files)."""

    if OUTPUTS_PLACEHOLDER not in template and len(evaluate_on) > 1:
        raise FieldError(key, f"{template!r} has no {OUTPUTS_PLACEHOLDER} for the {len(evaluate_on)} datasets it is scored on "
                         f"({', '.join(evaluate_on)}); write e.g. 'outputs/mine/{OUTPUTS_PLACEHOLDER}' or set evaluate_on")
    for name in evaluate_on:
        folder = outputs_folder(template, name)
        if not folder.is_dir():
            raise FieldError(key, f"no folder {str(folder)!r} of outputs for dataset {name!r}")
        check_apart(folder, output_dir, key, what=f"outputs folder for dataset {name!r}")


def _init_source(b: BaselineConfig, params: dict, key: str, rows: dict[str, BaselinePlan]) -> InitSource:
    source, sep, dataset = b.init_from.partition("@")
    if not sep:
        raise FieldError(f"{key}.init_from", "expected '<baseline>@<dataset>'")
    if source not in rows:
        raise FieldError(f"{key}.init_from", f"names no earlier baseline {source!r}" + suggest(source, rows))
    row = rows[source]
    if row.settings is None or row.config.train_on != dataset:
        raise FieldError(f"{key}.init_from", f"baseline {source!r} is not trained on {dataset!r}")
    if row.config.model_name != b.model_name:
        raise FieldError(f"{key}.init_from", f"{source!r} is a {row.config.model_name}, not a {b.model_name}")
    if row.params != params:
        raise FieldError(f"{key}.params", f"model parameters differ from {source!r}'s, so its weights cannot initialise this one")
    return InitSource(row, dataset)


def lookup(registry, name: str, key: str):
    try:
        return registry.get(name)
    except UnknownNameError as exc:
        raise FieldError(key, str(exc)) from None
