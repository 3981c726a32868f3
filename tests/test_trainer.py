"""The trainer: determinism, resume, done marker, corrupted checkpoints, NaN, early stopping,
checkpoint keys and augmentation. A tiny model keeps every fit at a fraction of a second."""
from __future__ import annotations

import hashlib
import json
from dataclasses import replace

import pytest
import torch
from torch import nn

from baselines.common import LearnedColorizer
from colorbench.contracts import Augment, TrainSettings
from colorbench.training.augment import augment_batch
from colorbench.training.checkpoint import (
    CorruptCheckpointError,
    checkpoint_key,
    load_verified,
    save_verified,
)
from colorbench.training.objectives import RegressionObjective
from colorbench.training.trainer import fit
from colorbench.training.workdir import BEST, DONE, LAST

CPU = torch.device("cpu")
SETTINGS = TrainSettings(epochs=3, batch_size=2, image_size=16, lr=1e-2,
                         augment=Augment(hflip=True, rotate_deg=10, zoom=0.1, shear_deg=5))


class Tiny(LearnedColorizer):
    output = "ab"

    def __init__(self):
        super().__init__()
        self.net = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(),
                                 nn.Conv2d(4, 2, 3, padding=1), nn.Tanh())

    def forward(self, L):
        return self.net(L / 100.0)


def _data(n: int, seed: int = 0):
    gen = torch.Generator().manual_seed(seed)
    return [(f"{seed}-{i}", torch.rand(3, 16, 16, generator=gen)) for i in range(n)]


TRAIN, VAL = _data(6, 0), _data(2, 1)


def _model(seed: int = 0) -> Tiny:
    torch.manual_seed(seed)
    return Tiny()


def _objective():
    return RegressionObjective(target="ab", loss="mse")


def _fit(tmp_path, name="run", model=None, objective=None, settings=SETTINGS, seed=0):
    model = model if model is not None else _model()
    result = fit(model, objective or _objective(), TRAIN, VAL, settings, tmp_path / name, CPU, seed, progress=False)
    return model, result


def _same_weights(a: nn.Module, b: nn.Module) -> bool:
    sa, sb = a.state_dict(), b.state_dict()
    return sa.keys() == sb.keys() and all(torch.equal(sa[k], sb[k]) for k in sa)


def test_fit_trains_and_records(tmp_path):
    model, result = _fit(tmp_path)
    assert result.status == "trained" and result.epochs_run == 3 and len(result.history) == 3
    assert {"train", "val", "lr"} <= set(result.history[0])
    assert {"loss"} <= set(result.history[0]["train"]) and {"loss", "mse_ab"} <= set(result.history[0]["val"])
    assert result.checkpoint and result.checkpoint_sha256 and result.steps_per_second > 0
    best = min(range(3), key=lambda e: result.history[e]["val"]["loss"])
    assert result.best_epoch == best
    # the returned model holds the best epoch's weights
    assert _same_weights(model, _load(tmp_path / "run" / BEST))
    assert json.loads((tmp_path / "run" / DONE).read_text())["status"] == "trained"


def _load(path) -> Tiny:
    model = Tiny()
    model.load_state_dict(load_verified(path)["model"])
    return model


def test_two_fits_with_one_seed_are_identical(tmp_path):
    a, ra = _fit(tmp_path, "a")
    b, rb = _fit(tmp_path, "b")
    assert _same_weights(a, b)
    assert [h["train"]["loss"] for h in ra.history] == [h["train"]["loss"] for h in rb.history]
    c, _ = _fit(tmp_path, "c", seed=1)  # another seed: other batches and augmentation
    assert not _same_weights(a, c)


class Interrupt(RegressionObjective):
    """Raises KeyboardInterrupt at the given (1-based) training step, like a killed job."""

    def __init__(self, at_step: int):
        super().__init__(target="ab", loss="mse")
        self.at_step, self.steps = at_step, 0

    def train_step(self, model, batch, optimizers, autocast):
        self.steps += 1
        if self.steps == self.at_step:
            raise KeyboardInterrupt
        return super().train_step(model, batch, optimizers, autocast)


def test_resume_after_interruption_matches_uninterrupted(tmp_path):
    settings = replace(SETTINGS, schedule="cosine")
    full, full_result = _fit(tmp_path, "full", settings=settings)
    with pytest.raises(KeyboardInterrupt):
        _fit(tmp_path, "cut", objective=Interrupt(at_step=5), settings=settings)  # epoch 2, step 2
    assert load_verified(tmp_path / "cut" / LAST)["state"]["epoch"] == 1
    resumed, result = _fit(tmp_path, "cut", model=_model(seed=123), settings=settings)
    assert result.status == "trained" and result.epochs_run == 3
    assert _same_weights(full, resumed)
    assert [h["val"]["loss"] for h in result.history] == [h["val"]["loss"] for h in full_result.history]


class MustNotTrain(RegressionObjective):
    def __init__(self):
        super().__init__(target="ab", loss="mse")

    def train_step(self, *args):
        raise AssertionError("a finished run must be loaded, not trained")


def test_done_marker_loads_best_weights(tmp_path):
    trained, first = _fit(tmp_path)
    fresh = _model(seed=99)
    assert not _same_weights(trained, fresh)
    loaded, result = _fit(tmp_path, model=fresh, objective=MustNotTrain())
    assert result.status == "loaded" and result.best_epoch == first.best_epoch
    assert result.checkpoint_sha256 == first.checkpoint_sha256
    assert _same_weights(trained, loaded)


def test_corrupted_best_checkpoint_is_not_used(tmp_path):
    _fit(tmp_path)
    best = tmp_path / "run" / BEST
    data = bytearray(best.read_bytes())
    data[-10] ^= 0xFF
    best.write_bytes(bytes(data))
    with pytest.raises(CorruptCheckpointError):
        load_verified(best)
    with pytest.warns(UserWarning) as caught:
        model, result = _fit(tmp_path, model=_model())
    messages = " ".join(str(w.message) for w in caught)
    assert "SHA-256" in messages and "from scratch" in messages  # best lost: last.pt cannot stand in
    assert result.status == "trained" and result.epochs_run == 3
    assert _same_weights(model, _fit(tmp_path, "clean")[0])


def test_corrupted_last_checkpoint_restarts_from_scratch(tmp_path):
    with pytest.raises(KeyboardInterrupt):
        _fit(tmp_path, objective=Interrupt(at_step=5))
    last = tmp_path / "run" / LAST
    last.write_bytes(last.read_bytes()[:-100])
    with pytest.warns(UserWarning, match="from scratch"):
        model, result = _fit(tmp_path)
    clean, _ = _fit(tmp_path, "clean")
    assert result.status == "trained" and _same_weights(model, clean)


class NaNAtStep(RegressionObjective):
    def __init__(self, at_step: int):
        super().__init__(target="ab", loss="mse")
        self.at_step, self.steps = at_step, 0

    def train_step(self, model, batch, optimizers, autocast):
        self.steps += 1
        losses = super().train_step(model, batch, optimizers, autocast)
        return {**losses, "loss": float("nan")} if self.steps >= self.at_step else losses


def test_nan_loss_fails_with_reason_and_is_recorded(tmp_path):
    _, result = _fit(tmp_path, objective=NaNAtStep(at_step=4))
    assert result.status == "failed"
    assert "non-finite" in result.reason and "epoch 2" in result.reason
    assert result.epochs_run == 1
    _, again = _fit(tmp_path, objective=MustNotTrain())
    assert again.status == "failed" and "recorded failure" in again.reason


class ConstantVal(RegressionObjective):
    def __init__(self):
        super().__init__(target="ab", loss="mse")

    def val_losses(self, model, batch):
        return {"loss": 1.0}


def test_early_stopping(tmp_path):
    settings = replace(SETTINGS, epochs=10, early_stopping_patience=2, early_stopping_min_delta=0.001)
    _, result = _fit(tmp_path, objective=ConstantVal(), settings=settings)
    # epoch 1 sets the reference; epochs 2 and 3 bring no improvement > min_delta
    assert result.status == "trained" and result.epochs_run == 3
    assert "early stopping" in result.reason and result.best_epoch == 0


def test_checkpoint_key_covers_its_inputs():
    base = dict(family="autoencoder", params={}, settings=SETTINGS, data={"train": "t1", "val": "v1"}, seed=0,
                init_from=None, code="c1")
    key = checkpoint_key(**base)
    assert key == checkpoint_key(**base) and len(key) == 16
    variants = [dict(params={"x": 1}), dict(settings=replace(SETTINGS, lr=0.5)), dict(data={"train": "t2", "val": "v1"}),
                dict(data={"train": "t1", "val": "v2"}), dict(seed=1), dict(init_from="abc"), dict(family="resnet_lab"),
                dict(code="c2")]
    keys = {checkpoint_key(**{**base, **v}) for v in variants}
    assert key not in keys and len(keys) == len(variants)


def test_checkpoint_sidecar_roundtrip(tmp_path):
    path = tmp_path / "x.pt"
    digest = save_verified(path, {"a": torch.arange(3)})
    assert (tmp_path / "x.pt.sha256").read_text().split()[0] == digest
    assert digest == hashlib.sha256(path.read_bytes()).hexdigest()  # hashed as streamed, not re-read
    assert torch.equal(load_verified(path)["a"], torch.arange(3))
    (tmp_path / "x.pt.sha256").unlink()
    with pytest.raises(CorruptCheckpointError, match="sidecar"):
        load_verified(path)


def test_augmentation_is_seeded_and_flip_is_exact():
    rgb = torch.rand(4, 3, 8, 8)
    aug = Augment(hflip=True, rotate_deg=15, zoom=0.2, shear_deg=10)
    a = augment_batch(rgb, aug, torch.Generator().manual_seed(3))
    b = augment_batch(rgb, aug, torch.Generator().manual_seed(3))
    assert torch.equal(a, b) and not torch.equal(a, rgb) and a.min() >= 0 and a.max() <= 1
    assert torch.equal(augment_batch(rgb, Augment(hflip=False), torch.Generator()), rgb)
    flipped = augment_batch(rgb, Augment(hflip=True), torch.Generator().manual_seed(0))
    for i in range(4):
        assert torch.equal(flipped[i], rgb[i]) or torch.equal(flipped[i], rgb[i].flip(-1))
