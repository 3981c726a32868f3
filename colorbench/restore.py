"""A baseline of a finished run, rebuilt to colorize new images (`colorbench colorize`): its
family (built-in, plug-in or import path, as run.json records), its resolved parameters and
its best checkpoint (or a checkpoint file given)."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from colorbench.contracts import Baseline
from colorbench.document import RunDocument
from colorbench.errors import ConfigError, UsageError
from colorbench.registry import suggest
from colorbench.training.init_from import load_init_state
from colorbench.typed import FieldError


@dataclass(frozen=True)
class Restored:
    model: Baseline
    input_size: int | None  # the square size the model sees (None: any size)
    checkpoint: str | None


def _document(run_dir: Path) -> RunDocument:
    try:
        return RunDocument.load(Path(run_dir) / "run.json")
    except (OSError, ValueError) as exc:
        raise UsageError(f"--run: {run_dir} is not a finished colorbench run ({exc})") from None


def restore(run_dir: Path, name: str, checkpoint: Path | None = None) -> Restored:
    from colorbench import families

    doc = _document(run_dir)
    if name not in doc.baselines:
        raise UsageError(f"--baseline: the run has no baseline {name!r}{suggest(name, doc.baselines)}")
    b = doc.baselines[name]
    if b.outputs is not None:
        raise UsageError(f"--baseline: {name!r} is a row of precomputed outputs: there is no model to apply")
    model_name = b.source["target"] if b.source and b.source.get("kind") == "import path" else b.model
    try:
        found = families.find(model_name, "model")
        family = families.family_of(found, b.params, "model")
        model = family.create(**b.params)
    except FieldError as exc:
        raise UsageError(f"--baseline {name}: {exc}") from None
    if model.sees_ground_truth or family.prepares:
        why = "needs the ground truth" if model.sees_ground_truth else "keeps no checkpoint of its reference pool"
        raise UsageError(f"--baseline: {name!r} ({b.model}) {why}, so it cannot colorize new photos")
    path = checkpoint or (Path(b.train["checkpoint"]) if family.learned and b.train and b.train.get("checkpoint") else None)
    if family.learned and path is None:
        raise UsageError(f"--baseline: {name!r} has no trained checkpoint in this run; give --checkpoint FILE")
    if path is not None:
        try:
            load_init_state(model, path, key="checkpoint", verified=checkpoint is None)
        except ConfigError as exc:
            raise UsageError(str(exc)) from None
    size = (b.settings or {}).get("image_size") if family.learned else model.info.input_size
    return Restored(model.eval(), size, str(path) if path else None)
