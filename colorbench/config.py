"""benchmarks.yaml -> typed config, validated in full before any work starts."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import re
import unicodedata

import yaml

from colorbench.errors import ConfigError
from colorbench.typed import FieldError, from_dict, require

SCHEMA_VERSION = 1
ResizePolicy = Literal["short_side_crop", "stretch"]
MAX_EVAL_SIZE = 4096  # px; one 4096² float64 RGB image is 400 MB, and metrics hold several
MAX_LABEL_LENGTH = 100
_FORBIDDEN = set('/\\:*?"<>|')  # path separators and what Windows refuses in a file name


def label_problem(name: str) -> str | None:
    """Why `name` cannot be a row label (it becomes a folder name under output_dir), or None."""
    if not name:
        return "must not be empty"
    if name != name.strip():
        return f"{name!r} has leading or trailing white space"
    if name.startswith("."):
        return f"{name!r} starts with '.' (names become folder names: no hidden or relative paths)"
    bad = sorted({c for c in name if c in _FORBIDDEN or ord(c) < 32 or ord(c) == 127})
    if bad:
        return f"{name!r} contains {', '.join(map(repr, bad))} (names become folder names: no path separators or control characters)"
    if len(name) > MAX_LABEL_LENGTH:
        return f"is longer than {MAX_LABEL_LENGTH} characters"
    return None


def label_key(name: str) -> str:
    """The form two labels must not share: case-insensitive file systems fold case."""
    return unicodedata.normalize("NFC", name).casefold()


def device_problem(device: str) -> str | None:
    """Why `device` is not one colorbench runs on, or None (the config and --device share this)."""
    if device in ("auto", "cpu") or re.fullmatch(r"cuda(:\d+)?", device):
        return None
    return f"must be auto, cpu or cuda[:N], got {device!r}"


@dataclass(frozen=True)
class Split:
    train: float = 0.8
    val: float = 0.1
    test: float = 0.1

    def __post_init__(self):
        for name in ("train", "val", "test"):
            require(0.0 <= getattr(self, name) <= 1.0, name, "must lie in [0, 1]")
        require(abs(self.train + self.val + self.test - 1.0) < 1e-9, "test", "train + val + test must sum to 1")


@dataclass(frozen=True)
class DatasetConfig:
    name: str  # row label in tables
    source: str | None = None  # dataset registry name; defaults to `name`
    root: str | None = None  # directory for `folder` / `paired` sources
    split: Split = field(default_factory=Split)
    category_from: Literal["none", "subfolder", "regex"] = "none"
    category_regex: str | None = None  # with category_from: regex; a named group `category`
    gray_side: Literal["left", "right"] = "left"  # paired sources: the grayscale half
    upstream_split: str | None = None  # torchvision sources: their own split to draw from
    verify_hashes: bool = False  # named sets found locally: SHA-256 every file (slow)
    download: bool = True  # named and torchvision sets may be downloaded into the cache

    def __post_init__(self):
        require(label_problem(self.name) is None, "name", label_problem(self.name) or "")

    @property
    def source_name(self) -> str:
        return self.source or self.name


@dataclass(frozen=True)
class Scale:
    """Caps that make one config serve a 2-core CPU and a GPU. None: no cap."""

    eval_size: int = 256
    max_train_images: int | None = None
    max_val_images: int | None = None
    max_test_images: int | None = None
    max_epochs: int | None = None
    max_train_size: int | None = None  # caps each baseline's training image size

    def __post_init__(self):
        for name in ("eval_size", "max_train_images", "max_val_images", "max_test_images", "max_epochs", "max_train_size"):
            value = getattr(self, name)
            require(value is None or value > 0, name, f"must be positive, got {value}")
        require(self.eval_size <= MAX_EVAL_SIZE, "eval_size", f"must be at most {MAX_EVAL_SIZE} px, got {self.eval_size}")


@dataclass(frozen=True)
class Scales:
    small: Scale = field(default_factory=lambda: Scale(eval_size=128, max_train_images=256, max_val_images=32, max_test_images=32, max_epochs=3, max_train_size=64))
    paper: Scale = field(default_factory=Scale)


@dataclass(frozen=True)
class Evaluation:
    resize: ResizePolicy = "short_side_crop"
    chroma_threshold: float = 1.0  # mean Lab chroma under which an image counts as near-gray (colorbench/data/hygiene.py)
    metrics: list[str] = field(default_factory=lambda: ["mse", "psnr"])
    batch_size: int = 16
    grid_images: int = 8  # seeded sample per dataset shown in the report's grids

    def __post_init__(self):
        require(self.chroma_threshold >= 0, "chroma_threshold", "must be >= 0")
        require(self.batch_size > 0, "batch_size", "must be positive")
        require(len(set(self.metrics)) == len(self.metrics), "metrics", "lists a metric twice")
        require(bool(self.metrics), "metrics", "must name at least one metric")
        require(self.grid_images >= 0, "grid_images", f"must be >= 0, got {self.grid_images}")


@dataclass(frozen=True)
class BaselineConfig:
    name: str  # row label; unique
    model: str | None = None  # baseline registry name; defaults to `name`
    train_on: str | None = None  # dataset name whose train/val splits train it
    init_from: str | None = None  # "<baseline>@<dataset>": start from that row's trained weights
    params: dict[str, Any] = field(default_factory=dict)  # model keyword arguments
    train: dict[str, Any] = field(default_factory=dict)  # TrainSettings overrides (paper scale)
    small: dict[str, Any] = field(default_factory=dict)  # TrainSettings overrides at small scale
    small_params: dict[str, Any] = field(default_factory=dict)  # model parameter overrides at small scale
    evaluate_on: list[str] | None = None  # dataset names; None: every dataset with a test split

    def __post_init__(self):
        require(label_problem(self.name) is None, "name", label_problem(self.name) or "")

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
