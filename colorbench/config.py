"""benchmarks.yaml -> typed config, validated in full before any work starts."""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import yaml

from colorbench.data.spec import DatasetConfig
from colorbench.errors import ConfigError
from colorbench.labels import label_problem
from colorbench.typed import FieldError, from_dict, require

SCHEMA_VERSION = 1
ResizePolicy = Literal["short_side_crop", "stretch"]
# Small scale evaluates at 176 px, not less: msssim_ab, the metric closest to people on HECD, is
# NaN under MS_SSIM_MIN_SIDE = 176 px (colorbench.metrics.ab_structure; tests/test_small_scale_protocol.py).
SMALL_EVAL_SIZE = 176
MAX_EVAL_SIZE = 4096  # px; one 4096² float64 RGB image is 400 MB, and metrics hold several


def device_problem(device: str) -> str | None:
    """Why `device` is not one colorbench runs on, or None (the config and --device share this)."""
    if device in ("auto", "cpu") or re.fullmatch(r"cuda(:\d+)?", device):
        return None
    return f"must be auto, cpu or cuda[:N], got {device!r}"


@dataclass(frozen=True)
class Scale:
    """What a scale evaluates and how much it trains. None: no bound.

    eval_size and max_test_images decide the evaluation (max_test_images: the first k test
    images of the seeded order; nothing overrides it). epochs, image_size, max_train_images and
    max_val_images bound every learned baseline's training settings: after its paper defaults
    and its `train` block, each setting becomes min(setting, bound). At small scale a
    baseline's own `small` block is applied last and may set any value, above a bound too.
    The run page shows every resolved setting and where it came from.
    """

    eval_size: int = 256
    max_test_images: int | None = None
    epochs: int | None = None
    image_size: int | None = None
    max_train_images: int | None = None
    max_val_images: int | None = None

    def __post_init__(self):
        for name in ("eval_size", "max_test_images", "epochs", "image_size", "max_train_images", "max_val_images"):
            value = getattr(self, name)
            require(value is None or value > 0, name, f"must be positive, got {value}")
        require(self.eval_size <= MAX_EVAL_SIZE, "eval_size", f"must be at most {MAX_EVAL_SIZE} px, got {self.eval_size}")


@dataclass(frozen=True)
class Scales:
    # eval_size 176: the smallest side msssim_ab (5-scale MS-SSIM) has a value at, see SMALL_EVAL_SIZE
    small: Scale = field(default_factory=lambda: Scale(eval_size=SMALL_EVAL_SIZE, max_test_images=32, epochs=3,
                                                       image_size=64, max_train_images=256, max_val_images=32))
    paper: Scale = field(default_factory=Scale)


RUN_DEFAULT_METRICS = ("mse", "psnr")  # evaluation.metrics unset, protocol colorbench


@dataclass(frozen=True)
class Evaluation:
    resize: ResizePolicy = "short_side_crop"
    chroma_threshold: float = 1.0  # mean Lab chroma under which an image counts as near-gray (colorbench/data/hygiene.py)
    metrics: list[str] | None = None  # None: RUN_DEFAULT_METRICS, or a published protocol's own set
    batch_size: int = 16
    grid_images: int = 8  # seeded sample per dataset shown in the report's grids
    protocol: str = "colorbench"  # whose metric definitions (colorbench.protocols); in every fingerprint

    def __post_init__(self):
        require(self.chroma_threshold >= 0, "chroma_threshold", "must be >= 0")
        require(self.batch_size > 0, "batch_size", "must be positive")
        if self.metrics is not None:
            require(len(set(self.metrics)) == len(self.metrics), "metrics", "lists a metric twice")
            require(bool(self.metrics), "metrics", "must name at least one metric")
        require(self.grid_images >= 0, "grid_images", f"must be >= 0, got {self.grid_images}")


OUTPUTS_PLACEHOLDER = "{dataset}"  # in an outputs row's folder: replaced by each dataset's name


def outputs_folder(template: str, dataset: str) -> Path:
    """The folder an outputs row reads for one dataset."""
    return Path(template.replace(OUTPUTS_PLACEHOLDER, dataset)).expanduser()


@dataclass(frozen=True)
class BaselineConfig:
    name: str  # row label; unique
    model: str | None = None  # a built-in or plug-in baseline, or an import path "pkg.mod:factory"; default `name`
    outputs: str | None = None  # instead of a model: a folder of precomputed outputs, "path/{dataset}"
    size_policy: Literal["exclude", "resize", "error"] = "exclude"  # outputs rows: a file of another size
    allow_partial: bool = False  # outputs rows: scored on only some test images is accepted (exit 0), still unranked
    train_on: str | None = None  # dataset name whose train/val splits train it
    init_from: str | None = None  # "<baseline>@<dataset>": start from that row's trained weights
    params: dict[str, Any] = field(default_factory=dict)  # model keyword arguments
    train: dict[str, Any] = field(default_factory=dict)  # TrainSettings overrides (paper scale)
    small: dict[str, Any] = field(default_factory=dict)  # TrainSettings overrides at small scale
    small_params: dict[str, Any] = field(default_factory=dict)  # model parameter overrides at small scale
    evaluate_on: list[str] | None = None  # dataset names; None: every dataset with a test split

    def __post_init__(self):
        require(label_problem(self.name) is None, "name", label_problem(self.name) or "")
        if self.outputs is not None:
            require(self.model is None, "outputs", "a row takes either a model or precomputed outputs, not both")
            for key in ("train_on", "init_from"):
                require(getattr(self, key) is None, key, "precomputed outputs are not trained")
            for key in ("params", "train", "small", "small_params"):
                require(not getattr(self, key), key, "precomputed outputs have no model to configure")
        else:
            require(not self.allow_partial, "allow_partial", "only a row of precomputed outputs can lack test images")

    @property
    def model_name(self) -> str:
        return self.model or self.name


@dataclass(frozen=True)
class BenchmarkConfig:
    datasets: list[DatasetConfig]
    baselines: list[BaselineConfig]
    version: int = SCHEMA_VERSION
    seed: int = 0
    device: str = "auto"
    output_dir: str = "runs/benchmarks"
    scale: Literal["auto", "small", "paper"] = "auto"
    scales: Scales = field(default_factory=Scales)
    evaluation: Evaluation = field(default_factory=Evaluation)
    strict: bool = False  # any skipped image fails the run before scoring

    def __post_init__(self):
        require(self.version == SCHEMA_VERSION, "version", f"unsupported config version {self.version} (this colorbench reads {SCHEMA_VERSION})")
        require(device_problem(self.device) is None, "device", device_problem(self.device) or "")
        require(bool(self.datasets), "datasets", "must list at least one dataset")
        require(bool(self.baselines), "baselines", "must list at least one baseline")


def load_yaml(path: Path) -> Any:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(str(path), "", f"cannot read: {exc.strerror or exc}") from None
    try:
        return yaml.safe_load(text)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "?"
        raise ConfigError(str(path), where, f"YAML syntax error: {exc.problem}") from None
    except yaml.YAMLError as exc:
        raise ConfigError(str(path), "", f"YAML error: {exc}") from None


def load_config(path: str | Path) -> BenchmarkConfig:
    """Parse and fully validate a benchmark file; raises ConfigError (exit 2) on any problem."""
    path = Path(path)
    data = load_yaml(path)
    try:
        config = from_dict(BenchmarkConfig, data)
    except FieldError as exc:
        raise ConfigError(str(path), exc.key, str(exc)) from None
    return config
