"""fit(): the one training loop every learned baseline (and the adversarial family) goes through.

Files in `workdir` (the caller makes it unique per checkpoint_key):
  last.pt   (+ .sha256)  model, optimizers, schedulers, epoch, RNG states, history, early-stop state
  best.pt   (+ .sha256)  model weights of the epoch with the lowest validation 'loss'
  done.json              the final TrainResult; a later call loads best.pt instead of training
All are written atomically; a checkpoint whose bytes do not match its sidecar is never used.

Determinism: shuffling and augmentation use generators seeded from (seed, epoch), so an epoch's
batches do not depend on how training got there; the global RNG (dropout etc.) is saved in
last.pt. Resuming at an epoch boundary therefore reproduces an uninterrupted run exactly on CPU.
On CPU the DataLoader runs in-process (num_workers = 0): the items are small, already resized
tensors, worker start-up would cost more than it saves on 2 cores, and it keeps runs simple to
reproduce. On CUDA: settings.num_workers workers, pinned memory, channels_last, bf16 autocast.

Optional objective hooks (called when present; the Objective protocol does not require them):
  prepare(model, train_ds, settings)  once before training (e.g. class priors from the train split)
  on_epoch_start(epoch)               before each epoch (e.g. a GAN's generator-only pretraining)
"""
from __future__ import annotations

import contextlib
import json
import math
import random
import time
import warnings
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Literal

import torch
from torch.utils.data import DataLoader, Dataset, Subset
from tqdm.auto import tqdm

from baselines.base import Baseline
from colorbench.color import rgb_to_lab
from colorbench.files import atomic_write_bytes
from colorbench.training.augment import augment_batch
from colorbench.training.checkpoint import CorruptCheckpointError, load_verified, save_verified, sidecar
from colorbench.training.objective import Objective, TrainBatch
from colorbench.training.settings import TrainSettings

LAST, BEST, DONE = "last.pt", "best.pt", "done.json"
FORMAT = 1


@dataclass
class TrainResult:
    status: Literal["trained", "loaded", "failed"]
    reason: str
    history: list[dict] = field(default_factory=list)  # one dict per epoch
    best_epoch: int | None = None  # 0-based index into history
    epochs_run: int = 0
    seconds: float = 0.0  # training wall time (for 'loaded': the recorded training run's)
    checkpoint: str | None = None  # best.pt
    checkpoint_sha256: str | None = None
    steps_per_second: float | None = None  # optimizer steps per second of training (no validation)

    def as_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> "TrainResult":
        return cls(**{k: data[k] for k in cls.__dataclass_fields__})


def _derive_seed(seed: int, epoch: int, stream: int) -> int:
    return (int(seed) * 1_000_003 + epoch * 7_919 + stream * 104_729) % (2**63 - 1)


def _autocast_factory(settings: TrainSettings, device: torch.device):
    if device.type != "cuda" or settings.amp == "off":
        return contextlib.nullcontext
    if settings.amp == "fp16":
        raise ValueError("amp='fp16' needs a GradScaler, which the Objective protocol does not carry; "
                         "use amp='bf16', 'auto' or 'off'")
    if torch.cuda.is_bf16_supported():
        return lambda: torch.autocast("cuda", dtype=torch.bfloat16)
    if settings.amp == "bf16":
        raise ValueError("amp='bf16' requested but this GPU does not support bfloat16")
    return contextlib.nullcontext


@contextlib.contextmanager
def _deterministic(device: torch.device):
    """Deterministic kernels on CPU for the duration of fit (restored afterwards)."""
    if device.type != "cpu":
        yield
        return
    before, before_warn = torch.are_deterministic_algorithms_enabled(), torch.is_deterministic_algorithms_warn_only_enabled()
    torch.use_deterministic_algorithms(True, warn_only=True)
    try:
        yield
    finally:
        torch.use_deterministic_algorithms(before, warn_only=before_warn)


def _loader(ds: Dataset, settings: TrainSettings, device: torch.device, *, shuffle: bool, seed: int) -> DataLoader:
    cuda = device.type == "cuda"
    workers = settings.num_workers if cuda else 0
    gen = torch.Generator().manual_seed(seed)
    # drop a ragged last batch when training: a batch of 1 breaks BatchNorm on 1x1 feature maps
    drop_last = shuffle and len(ds) > settings.batch_size
    return DataLoader(ds, batch_size=settings.batch_size, shuffle=shuffle, generator=gen, drop_last=drop_last,
                      num_workers=workers, pin_memory=cuda, worker_init_fn=_seed_worker if workers else None)


def _seed_worker(worker_id: int) -> None:
    random.seed(torch.initial_seed() % 2**32)


def _batch(rgb: torch.Tensor, device: torch.device, channels_last: bool) -> TrainBatch:
    rgb = rgb.to(device, non_blocking=True).float()
    lab = rgb_to_lab(rgb)
    if channels_last:
        rgb, lab = rgb.contiguous(memory_format=torch.channels_last), lab.contiguous(memory_format=torch.channels_last)
    return TrainBatch(rgb=rgb, lab=lab, L=lab[:, :1])


def _schedulers(optimizers: dict, settings: TrainSettings) -> dict:
    if settings.schedule == "constant":
        return {}
    if settings.schedule == "cosine":
        return {k: torch.optim.lr_scheduler.CosineAnnealingLR(o, T_max=max(settings.epochs, 1)) for k, o in optimizers.items()}
    if settings.schedule == "step":  # x0.1 at each third of the run
        step = max(settings.epochs // 3, 1)
        return {k: torch.optim.lr_scheduler.StepLR(o, step_size=step, gamma=0.1) for k, o in optimizers.items()}
    raise ValueError(f"unknown schedule {settings.schedule!r}")


def _rng_state() -> dict:
    state = {"torch": torch.get_rng_state(), "python": random.getstate()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def _set_rng_state(state: dict) -> None:
    torch.set_rng_state(state["torch"])
    random.setstate(state["python"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def _finite(losses: dict[str, float]) -> str | None:
    for name, value in losses.items():
        if not math.isfinite(value):
            return f"{name}={value}"
    return None


def _mean(sums: dict[str, float], count: int) -> dict[str, float]:
    return {k: v / max(count, 1) for k, v in sums.items()}


def _write_done(workdir: Path, result: TrainResult) -> None:
    text = json.dumps({"format": FORMAT, **result.as_dict()}, indent=2, sort_keys=True, allow_nan=True) + "\n"
    atomic_write_bytes(workdir / DONE, lambda fh: fh.write(text.encode()))


def _remove(path: Path) -> None:
    path.unlink(missing_ok=True)
    sidecar(path).unlink(missing_ok=True)


def _load_done(model: Baseline, workdir: Path, device: torch.device) -> TrainResult | None:
    """The recorded result if training already finished (weights loaded), else None."""
    done = workdir / DONE
    if not done.exists():
        return None
    try:
        record = TrainResult.from_dict(json.loads(done.read_text()))
    except (ValueError, KeyError, TypeError) as exc:
        warnings.warn(f"{done} unreadable ({exc}); training again")
        done.unlink()
        return None
    if record.status == "failed":  # deterministic failure: do not burn the time again
        record.reason = f"recorded failure: {record.reason}"
        return record
    try:
        payload = load_verified(workdir / BEST)
        if payload is not None and sidecar(workdir / BEST).read_text().split()[0] != record.checkpoint_sha256:
            raise CorruptCheckpointError(f"{workdir / BEST} is not the checkpoint {DONE} recorded")
    except CorruptCheckpointError as exc:
        warnings.warn(f"{exc}; training again")
        payload = None
    if payload is None:
        done.unlink()
        _remove(workdir / BEST)
        return None
    model.load_state_dict(payload["model"])
    model.to(device)
    record.status = "loaded"
    record.reason = f"loaded best checkpoint (epoch {record.best_epoch}) from {workdir / BEST}"
    return record


def fit(model: Baseline, objective: Objective, train_ds: Dataset, val_ds: Dataset | None, settings: TrainSettings,
        workdir: Path, device: torch.device, seed: int, progress: bool = True) -> TrainResult:
    """Train `model` with `objective`, or load it if `workdir` holds a finished run.

    The caller seeds torch and builds the model before calling (fit cannot re-initialise it).
    NaN/inf losses return status 'failed' with the reason; other exceptions propagate (an
    interrupted run resumes from last.pt on the next call).
    """
    workdir = Path(workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    device = torch.device(device)
    model.to(device)
    loaded = _load_done(model, workdir, device)
    if loaded is not None:
        return loaded
    with _deterministic(device):
        return _train(model, objective, train_ds, val_ds, settings, workdir, device, seed, progress)


def _train(model, objective, train_ds, val_ds, settings, workdir, device, seed, progress) -> TrainResult:
    torch.manual_seed(seed)
    random.seed(seed)
    if settings.max_train_images is not None and len(train_ds) > settings.max_train_images:
        train_ds = Subset(train_ds, range(settings.max_train_images))
    if val_ds is not None and settings.max_val_images is not None and len(val_ds) > settings.max_val_images:
        val_ds = Subset(val_ds, range(settings.max_val_images))
    if val_ds is not None and len(val_ds) == 0:
        val_ds = None
    if hasattr(objective, "prepare"):
        objective.prepare(model, train_ds, settings)
    channels_last = device.type == "cuda"
    if channels_last:
        model.to(memory_format=torch.channels_last)
    optimizers = objective.optimizers(model, settings)
    schedulers = _schedulers(optimizers, settings)
    autocast = _autocast_factory(settings, device)

    state = {"epoch": 0, "history": [], "best_val": math.inf, "best_epoch": None, "es_ref": math.inf,
             "bad_epochs": 0, "best_sha": None}
    _resume(model, optimizers, schedulers, settings, workdir, state)

    steps, train_seconds, start = 0, 0.0, time.perf_counter()
    failure: str | None = None
    stopped_early = False
    for epoch in range(state["epoch"], settings.epochs):
        if hasattr(objective, "on_epoch_start"):
            objective.on_epoch_start(epoch)
        model.train()
        aug_gen = torch.Generator().manual_seed(_derive_seed(seed, epoch, 1))
        loader = _loader(train_ds, settings, device, shuffle=True, seed=_derive_seed(seed, epoch, 0))
        sums: dict[str, float] = {}
        seen = 0
        t0 = time.perf_counter()
        bar = tqdm(loader, desc=f"epoch {epoch + 1}/{settings.epochs}", disable=not progress, leave=False)
        for step, (_, rgb) in enumerate(bar):
            rgb = augment_batch(rgb.to(device).float(), settings.augment, aug_gen)
            batch = _batch(rgb, device, channels_last)
            losses = objective.train_step(model, batch, optimizers, autocast())
            bad = _finite(losses)
            if bad is not None:
                failure = f"non-finite training loss {bad} at epoch {epoch + 1}, step {step + 1}"
                break
            n = rgb.shape[0]
            seen += n
            steps += 1
            for k, v in losses.items():
                sums[k] = sums.get(k, 0.0) + v * n
            bar.set_postfix(loss=f"{losses['loss']:.4f}")
        train_seconds += time.perf_counter() - t0
        if failure:
            break
        train_losses = _mean(sums, seen)
        val_losses = _validate(model, objective, val_ds, settings, device, channels_last, autocast) if val_ds else None
        if val_losses is not None and (bad := _finite(val_losses)) is not None:
            failure = f"non-finite validation loss {bad} at epoch {epoch + 1}"
            break
        for sched in schedulers.values():
            sched.step()
        selection = (val_losses or train_losses)["loss"]
        record = {"epoch": epoch + 1, "train": train_losses, "val": val_losses,
                  "selected_on": "val_loss" if val_losses else "train_loss",
                  "lr": {k: o.param_groups[0]["lr"] for k, o in optimizers.items()},
                  "seconds": time.perf_counter() - t0}
        state["history"].append(record)
        if selection < state["best_val"]:
            state["best_val"], state["best_epoch"] = selection, epoch
            state["best_sha"] = save_verified(workdir / BEST, {"format": FORMAT, "model": model.state_dict(),
                                                               "epoch": epoch + 1, "loss": selection})
        if selection < state["es_ref"] - settings.early_stopping_min_delta:
            state["es_ref"], state["bad_epochs"] = selection, 0
        else:
            state["bad_epochs"] += 1
        state["epoch"] = epoch + 1
        _save_last(model, optimizers, schedulers, settings, workdir, state)
        if progress:
            tqdm.write(f"epoch {epoch + 1}: loss {train_losses['loss']:.4f}"
                       + (f" val {val_losses['loss']:.4f}" if val_losses else ""))
        if train_losses.get("collapsed", 0.0) > 0:  # the objective's own collapse detector fired
            failure = f"training collapsed at epoch {epoch + 1} (see the objective's collapse rule)"
            break
        patience = settings.early_stopping_patience
        if patience is not None and state["bad_epochs"] >= patience:
            stopped_early = True
            break

    seconds = time.perf_counter() - start
    result = TrainResult(
        status="failed" if failure else "trained",
        reason=failure or (f"early stopping after {state['epoch']} epochs (no val improvement > "
                           f"{settings.early_stopping_min_delta} for {settings.early_stopping_patience})"
                           if stopped_early else f"completed {state['epoch']} epochs"),
        history=state["history"], best_epoch=state["best_epoch"], epochs_run=state["epoch"], seconds=seconds,
        checkpoint=str(workdir / BEST) if state["best_sha"] else None, checkpoint_sha256=state["best_sha"],
        steps_per_second=steps / train_seconds if train_seconds > 0 and steps else None,
    )
    if state["best_sha"]:  # the returned model is the best epoch's, whatever happened after it
        payload = load_verified(workdir / BEST)
        model.load_state_dict(payload["model"])
    _write_done(workdir, result)
    return result


def _validate(model, objective, val_ds, settings, device, channels_last, autocast) -> dict[str, float]:
    model.eval()
    sums: dict[str, float] = {}
    seen = 0
    with torch.no_grad():
        for _, rgb in _loader(val_ds, settings, device, shuffle=False, seed=0):
            batch = _batch(rgb, device, channels_last)
            with autocast():
                losses = objective.val_losses(model, batch)
            n = rgb.shape[0]
            seen += n
            for k, v in losses.items():
                sums[k] = sums.get(k, 0.0) + float(v) * n
    return _mean(sums, seen)


def _save_last(model, optimizers, schedulers, settings, workdir, state) -> None:
    save_verified(workdir / LAST, {
        "format": FORMAT, "settings": asdict(settings), "model": model.state_dict(),
        "optimizers": {k: o.state_dict() for k, o in optimizers.items()},
        "schedulers": {k: s.state_dict() for k, s in schedulers.items()},
        "rng": _rng_state(), **state,
    })


def _resume(model, optimizers, schedulers, settings, workdir, state) -> None:
    """Continue from last.pt when it is intact and was written with the same settings."""
    try:
        payload = load_verified(workdir / LAST)
    except CorruptCheckpointError as exc:
        warnings.warn(f"{exc}; starting from scratch")
        _remove(workdir / LAST)
        return
    if payload is None:
        return
    if payload.get("format") != FORMAT or payload.get("settings") != asdict(settings):
        warnings.warn(f"{workdir / LAST} was written with other settings; starting from scratch")
        return
    if payload["best_sha"] is not None and not _best_intact(workdir, payload["best_sha"]):
        warnings.warn(f"{workdir / BEST} is missing or corrupted, so last.pt cannot be continued; starting from scratch")
        _remove(workdir / LAST)
        return
    model.load_state_dict(payload["model"])
    for k, opt in optimizers.items():
        opt.load_state_dict(payload["optimizers"][k])
    for k, sched in schedulers.items():
        sched.load_state_dict(payload["schedulers"][k])
    _set_rng_state(payload["rng"])
    for k in state:
        state[k] = payload[k]


def _best_intact(workdir: Path, digest: str) -> bool:
    side = sidecar(workdir / BEST)
    try:
        return side.exists() and side.read_text().split()[0] == digest and load_verified(workdir / BEST) is not None
    except CorruptCheckpointError:
        return False
