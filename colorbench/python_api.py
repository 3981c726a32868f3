"""colorbench's stable Python API for users: import these from `colorbench`, not from internal
modules (as colorbench.api is for plug-ins).

Internal modules may move between versions; these names stay (a change comes with a deprecation):

    colorbench.score(pred, gt, metrics=None, protocol=None, ...) -> colorbench.Scores
    colorbench.run(config, ...) -> colorbench.RunResult
    colorbench.metrics.create(name, **options) -> a torchmetrics.Metric
    colorbench.metrics.list() -> the definitions `colorbench list metrics --json` prints

score() and run() are the functions `colorbench score` and `colorbench run` call, so their
numbers are the command line's. See "From Python" in the README.
"""
from __future__ import annotations

import dataclasses
import os
import warnings
from typing import TYPE_CHECKING, Any, Mapping, Sequence

from colorbench.errors import ConfigError, UsageError

if TYPE_CHECKING:
    from colorbench.config import BenchmarkConfig
    from colorbench.run_result import RunResult
    from colorbench.scoring.inputs import Images
    from colorbench.scoring.scores import Scores

DICT_CONFIG = "<dict>"  # the config path recorded (run.json, errors) for a config given as a dict


def score(pred: "Images", gt: "Images", metrics: str | Sequence[str] | None = None, protocol: str | None = None, *,
          batch_size: int = 16, size_policy: str = "exclude", device: str = "auto", seed: int = 0,
          strict: bool = False) -> "Scores":
    """Score predictions against ground truth, as `colorbench score` does, bit for bit at the same
    batch size.

    pred, gt: two folders (files matched by relative path and stem), two lists of image files
        (paired by position), or two arrays/tensors (N, 3, H, W) or lists of (3, H, W) ones,
        uint8 or floating point in [0, 1]; floats are quantised to 8-bit as colorbench saves
        PNGs (round(255 x), halves to even), so arrays score as their saved PNGs would.
    metrics: names or comma lists (None: the default set of `colorbench score`).
    protocol: whose metric definitions (None: "colorbench"; "ct2", "ddcolor": the published
        evaluation scripts reproduced, `colorbench list protocols`); results carry its label.
    batch_size, size_policy ("exclude", "resize" or "error"), device ("auto", "cpu",
    "cuda[:N]"), seed (of the bootstrap CIs), strict (missing, ambiguous or unreadable files are
    errors): as the command's options.

    Exclusions and failed metrics are warned about (warnings.warn) and listed in the result.
    Bad input raises one error naming the argument: ValueError (shape, range, lengths),
    TypeError (type, dtype), UnknownNameError (a KeyError: a metric or protocol, with
    did-you-mean), UsageError (a metric the protocol does not define, options), DataError (a
    missing folder or file).
    """
    from colorbench.plan import resolve_device
    from colorbench.scoring.scores import metric_names, score_inputs

    names = metric_names(metrics, protocol=protocol)
    try:
        resolved = resolve_device(device)
    except (ValueError, RuntimeError) as exc:
        raise UsageError(f"device: {exc}") from None
    return score_inputs(pred, gt, names, resolved, batch_size=batch_size, size_policy=size_policy, strict=strict,
                        seed=seed, protocol=protocol, notify=_warn)


def _warn(line: str) -> None:
    warnings.warn(f"colorbench.score: {line}", stacklevel=4)


def run(config: str | os.PathLike | Mapping[str, Any] | "BenchmarkConfig", *, device: str | None = None,
        strict: bool = False, output_dir: str | os.PathLike | None = None, force: bool = False,
        only: Sequence[str] | None = None) -> "RunResult":
    """Run a benchmark, as `colorbench run` does (it calls this function), and return its tables
    as data; the files (results.csv, per_image.csv, run.json, reports/) are written as well.

    config: a YAML file, a dict of the same content (recorded as "<dict>" in run.json beside
        the full resolved config), or a BenchmarkConfig.
    device, strict, output_dir, force, only: the command's --device, --strict, --output-dir,
        --force and --only (a list of baseline rows).
    A bad config raises ConfigError naming the key, before any work starts.
    """
    cfg, path = _load(config)
    if strict:
        cfg = dataclasses.replace(cfg, strict=True)
    if output_dir:
        cfg = dataclasses.replace(cfg, output_dir=str(output_dir))
    rows = [n.strip() for n in only if n.strip()] if only is not None else None
    if rows is not None and not rows:
        raise UsageError("only names no baseline row")
    from colorbench.plan import build_plan  # torch: only once the config parsed

    plan = build_plan(cfg, path, device, force=force, only=rows)
    from colorbench.pipeline.harness import (
        run_benchmark,  # heavy imports only once the config is valid
    )
    from colorbench.run_result import RunResult

    return RunResult.of(run_benchmark(plan), plan.output_dir)


def _load(config: Any) -> tuple["BenchmarkConfig", str]:
    """The validated config and the path recorded for it."""
    from colorbench.config import BenchmarkConfig, load_config

    if isinstance(config, BenchmarkConfig):
        return config, DICT_CONFIG
    if isinstance(config, Mapping):
        from colorbench.typed import FieldError, from_dict

        try:
            return from_dict(BenchmarkConfig, dict(config)), DICT_CONFIG
        except FieldError as exc:
            raise ConfigError(DICT_CONFIG, exc.key, str(exc)) from None
    if isinstance(config, (str, os.PathLike)):
        return load_config(config), str(config)
    raise TypeError(f"config: expected a path, a dict or a BenchmarkConfig, got {type(config).__name__}")
