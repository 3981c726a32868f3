"""fit(): the one training loop every learned baseline (and the adversarial family) goes through.

The files of a run's `workdir` (the caller makes it unique per checkpoint_key): workdir.py.

Determinism: shuffling and augmentation use generators seeded from (seed, epoch), so an epoch's
batches do not depend on how training got there; the global RNG (dropout etc.) is saved in
last.pt. Resuming at an epoch boundary therefore reproduces an uninterrupted run exactly on CPU.
On CPU the DataLoader runs in-process (num_workers = 0): the items are small, already resized
tensors, worker start-up would cost more than it saves on 2 cores, and it keeps runs simple to
reproduce. On CUDA: settings.num_workers workers, pinned memory, channels_last, bf16 autocast.

The objective's hooks (colorbench.contracts.Objective): prepare() once before training,
on_epoch_start(epoch) before each epoch, stop() after each epoch (a Stop ends training).
The splits arrive capped (the one seeded cap, colorbench.pipeline.data.capped_split).

Under torchrun every rank runs fit() (data parallel, colorbench.training.parallel): the ranks
agree on every decision (a non-finite loss anywhere, the epoch's losses summed over ranks, the
objective's stop as rank 0 sees it) and only rank 0 writes the workdir, which must be shared.
"""
from __future__ import annotations

import contextlib
import random
import time
from dataclasses import dataclass, field
from pathlib import Path

import torch
from torch.utils.data import Dataset
from tqdm.auto import tqdm

from colorbench import distributed
from colorbench.contracts import Baseline, Objective, TrainSettings
from colorbench.training import parallel, runtime
from colorbench.training.augment import augment_batch
from colorbench.training.checkpoint import load_verified, save_verified
from colorbench.training.workdir import (
    BEST,
    FORMAT,
    TrainResult,
    TrainState,
    load_done,
    resume_state,
    save_last,
    write_done,
)


@dataclass
class _Run:
    """Everything one training run needs, built once by _setup."""

    model: Baseline
    objective: Objective
    train_ds: Dataset
    val_ds: Dataset | None
    settings: TrainSettings
    workdir: Path
    device: torch.device
    seed: int
    progress: bool
    optimizers: dict = field(default_factory=dict)
    schedulers: dict = field(default_factory=dict)
    autocast: object = contextlib.nullcontext
    channels_last: bool = False
    averager: parallel.GradientAverager | None = None  # under torchrun
    steps: int = 0
    train_seconds: float = 0.0


def fit(model: Baseline, objective: Objective, train_ds: Dataset, val_ds: Dataset | None, settings: TrainSettings,
        workdir: Path, device: torch.device, seed: int, progress: bool = True) -> TrainResult:
    """Train `model` with `objective` on the given (already capped) splits, or load it if
    `workdir` holds a finished run.

    The caller seeds torch and builds the model before calling (fit cannot re-initialise it).
    NaN/inf losses, or an objective's failing Stop, return status 'failed' with the reason;
    other exceptions propagate (an interrupted run resumes from last.pt on the next call).
    """
    workdir = Path(workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    device = torch.device(device)
    model.to(device)
    loaded = distributed.rank0_first(lambda: load_done(model, workdir, device))  # rank 0 cleans first
    if loaded is not None:
        return loaded
    with runtime.deterministic(device):
        run = _setup(_Run(model, objective, train_ds, val_ds if val_ds is not None and len(val_ds) else None,
                          settings, workdir, device, seed, progress))
        return _train(run)


def _setup(run: _Run) -> _Run:
    world = distributed.world()
    torch.manual_seed(run.seed if not world.active else runtime.derive_seed(run.seed, world.rank, 2))
    random.seed(run.seed)
    run.objective.prepare(run.model, run.train_ds, run.settings)
    if world.active:
        parallel.check_batch(run.settings.batch_size, len(run.train_ds), world)
        run.val_ds = parallel.val_share(run.val_ds) if run.val_ds is not None else None
    run.channels_last = run.device.type == "cuda"
    if run.channels_last:
        run.model.to(memory_format=torch.channels_last)
    run.optimizers = run.objective.optimizers(run.model, run.settings)
    run.schedulers = runtime.schedulers(run.optimizers, run.settings)
    run.autocast = runtime.autocast_factory(run.settings, run.device)
    if world.active:
        run.averager = parallel.GradientAverager(run.optimizers)
    return run


def _train(run: _Run) -> TrainResult:
    """The loop: per epoch, train, validate, record, checkpoint, then ask whether to stop."""
    state = distributed.rank0_first(lambda: resume_state(run)) or TrainState()
    if distributed.gather(state.epoch).count(state.epoch) != distributed.world().size:
        raise RuntimeError("the ranks found different checkpoints to resume from; is the cache shared?")
    if run.averager is not None:  # every rank starts from rank 0's weights, as DDP does
        parallel.broadcast_state(run.model)
    start, outcome = time.perf_counter(), None
    for epoch in range(state.epoch, run.settings.epochs):
        run.objective.on_epoch_start(epoch)
        t0 = time.perf_counter()
        train_losses = _train_epoch(run, epoch)
        if isinstance(train_losses, str):
            outcome = ("failed", train_losses)
            break
        if run.averager is not None:  # BatchNorm running statistics: rank 0's
            parallel.broadcast_state(run.model, buffers_only=True)
        val_losses = _validate(run) if run.val_ds is not None else None
        if val_losses is not None and (bad := runtime.finite(val_losses)) is not None:
            outcome = ("failed", f"non-finite validation loss {bad} at epoch {epoch + 1}")
            break
        _record_epoch(run, state, epoch, train_losses, val_losses, time.perf_counter() - t0)
        if (outcome := _stop(run, state)) is not None:
            break
    return _finish(run, state, outcome, time.perf_counter() - start)


def _train_epoch(run: _Run, epoch: int) -> dict[str, float] | str:
    """Mean training losses of one epoch, or why it failed (a non-finite loss)."""
    run.model.train()
    world = distributed.world()
    aug_gen = torch.Generator().manual_seed(runtime.derive_seed(run.seed, epoch, 1 + 1000 * world.rank))
    seed = runtime.derive_seed(run.seed, epoch, 0)
    loader = (runtime.loader(run.train_ds, run.settings, run.device, shuffle=True, seed=seed) if not world.active
              else parallel.train_loader(run.train_ds, run.settings.batch_size, runtime.workers(run.settings, run.device),
                                         run.device.type == "cuda", seed))
    sums: dict[str, float] = {}
    seen, t0 = 0, time.perf_counter()
    bar = tqdm(loader, desc=f"epoch {epoch + 1}/{run.settings.epochs}", disable=not run.progress, leave=False)
    try:
        for step, (_, rgb) in enumerate(bar):
            rgb = augment_batch(rgb.to(run.device).float(), run.settings.augment, aug_gen)
            if run.averager is not None:
                run.averager.weight = loader.batch_sampler.weight(step)
            losses = run.objective.train_step(run.model, runtime.batch(rgb, run.device, run.channels_last),
                                              run.optimizers, run.autocast())
            bad = runtime.finite(losses)
            if run.averager is not None and parallel.any_rank(bad is not None):
                bad = bad or "on another rank"
            if bad is not None:
                return f"non-finite training loss {bad} at epoch {epoch + 1}, step {step + 1}"
            seen, run.steps = seen + rgb.shape[0], run.steps + 1
            for k, v in losses.items():
                sums[k] = sums.get(k, 0.0) + v * rgb.shape[0]
            bar.set_postfix(loss=f"{losses['loss']:.4f}")
    finally:
        run.train_seconds += time.perf_counter() - t0
    if run.averager is not None:
        sums, seen = parallel.all_sum_losses(sums, seen)
    return runtime.mean(sums, seen)


def _record_epoch(run: _Run, state: TrainState, epoch: int, train_losses: dict, val_losses: dict | None,
                  seconds: float) -> None:
    """Step the schedules, append to the history, keep the best weights, save last.pt."""
    for sched in run.schedulers.values():
        sched.step()
    selection = (val_losses or train_losses)["loss"]
    state.history.append({"epoch": epoch + 1, "train": train_losses, "val": val_losses,
                          "selected_on": "val_loss" if val_losses else "train_loss",
                          "lr": {k: o.param_groups[0]["lr"] for k, o in run.optimizers.items()},
                          "seconds": seconds})
    if selection < state.best_val:
        state.best_val, state.best_epoch = selection, epoch
        state.best_sha = distributed.broadcast(
            save_verified(run.workdir / BEST, {"format": FORMAT, "model": run.model.state_dict(),
                                               "epoch": epoch + 1, "loss": selection})
            if distributed.world().main else None)
    if selection < state.es_ref - run.settings.early_stopping_min_delta:
        state.es_ref, state.bad_epochs = selection, 0
    else:
        state.bad_epochs += 1
    state.epoch = epoch + 1
    save_last(run, state)
    if run.progress:
        tqdm.write(f"epoch {epoch + 1}: loss {train_losses['loss']:.4f}"
                   + (f" val {val_losses['loss']:.4f}" if val_losses else ""))


def _stop(run: _Run, state: TrainState) -> tuple[str, str] | None:
    """(status, reason) when training ends before its last epoch: the objective's Stop, or early stopping."""
    stop = distributed.broadcast(run.objective.stop())  # rank 0's view, so that all ranks stop together
    if stop is not None:
        return ("failed" if stop.failed else "trained", stop.reason)
    patience = run.settings.early_stopping_patience
    if patience is not None and state.bad_epochs >= patience:
        return ("trained", f"early stopping after {state.epoch} epochs (no val improvement > "
                           f"{run.settings.early_stopping_min_delta} for {patience})")
    return None


def _finish(run: _Run, state: TrainState, outcome: tuple[str, str] | None, seconds: float) -> TrainResult:
    status, reason = outcome or ("trained", f"completed {state.epoch} epochs")
    result = TrainResult(
        status=status, reason=reason, history=state.history, best_epoch=state.best_epoch, epochs_run=state.epoch,
        seconds=seconds, checkpoint=str(run.workdir / BEST) if state.best_sha else None,
        checkpoint_sha256=state.best_sha,
        steps_per_second=run.steps / run.train_seconds if run.train_seconds > 0 and run.steps else None,
    )
    if distributed.world().main:
        write_done(run.workdir, result)
    distributed.barrier()  # best.pt and done.json are written before any rank reads them
    if run.averager is not None:
        run.averager.remove()
    if state.best_sha:  # the returned model is the best epoch's, whatever happened after it
        run.model.load_state_dict(load_verified(run.workdir / BEST)["model"])
    return result


def _validate(run: _Run) -> dict[str, float]:
    run.model.eval()
    sums: dict[str, float] = {}
    seen = 0
    with torch.no_grad():
        for _, rgb in runtime.loader(run.val_ds, run.settings, run.device, shuffle=False, seed=0):
            batch = runtime.batch(rgb, run.device, run.channels_last)
            with run.autocast():
                losses = run.objective.val_losses(run.model, batch)
            n = rgb.shape[0]
            seen += n
            for k, v in losses.items():
                sums[k] = sums.get(k, 0.0) + float(v) * n
    if run.averager is not None:
        sums, seen = parallel.all_sum_losses(sums, seen)
    return runtime.mean(sums, seen)


