"""The adversarial family (gan_rgb, pix2pix, pix2pix_pretrained, ddcolor_lite), its shared GAN
objective, and colorbench.training.init_from. Tiny models at 32x32, batch 2, CPU."""
from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from baselines import ddcolor_lite, gan_rgb, pix2pix
from baselines.registry import BASELINES
from colorbench.color import rgb_to_lab
from colorbench.contracts import TrainBatch, TrainSettings
from colorbench.errors import ConfigError, MissingWeightsError
from colorbench.training import perceptual
from colorbench.training.adversarial import (
    AB_SCALE,
    AdversarialObjective,
    CollapseMonitor,
    discriminator_loss,
    generator_loss,
    target_units,
)
from colorbench.training.checkpoint import save_verified
from colorbench.training.init_from import load_init_state

TINY = (8, 16, 32, 32)


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    # Tiny models run faster on one thread; two OpenMP threads on a busy 2-core machine spin.
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)

SETTINGS = TrainSettings(lr=2e-4, betas=(0.5, 0.999))


def tiny(family: str):
    """(model, objective) at test size; same classes and code paths as the registered entries."""
    if family == "gan_rgb":
        return gan_rgb.gan_rgb(channels=TINY, ndf=8, d_layers=2), gan_rgb.objective()
    if family == "pix2pix":
        return pix2pix.pix2pix(channels=TINY, ndf=8, d_layers=2), pix2pix.objective()
    if family == "pix2pix_pretrained":
        return pix2pix.pix2pix_pretrained(encoder_weights="none", ndf=8, d_layers=2), pix2pix.objective()
    model = ddcolor_lite.ddcolor_lite(dims=(8, 16, 32, 64), depths=(1, 1, 1, 1), dec_dims=(32, 16, 16),
                                      embed_dim=16, num_queries=4, heads=2, color_blocks=3, ffn=32, ndf=8,
                                      d_layers=2, perceptual_weights="random")
    return model, ddcolor_lite.objective()


FAMILIES = ["gan_rgb", "pix2pix", "pix2pix_pretrained", "ddcolor_lite"]


def make_batch(seed: int = 0, n: int = 2, size: int = 32) -> TrainBatch:
    gen = torch.Generator().manual_seed(seed)
    # smooth colourful images: low-resolution noise upsampled, so they look image-like to D
    rgb = F.interpolate(torch.rand(n, 3, size // 8, size // 8, generator=gen), size=(size, size),
                        mode="bilinear", align_corners=False)
    lab = rgb_to_lab(rgb)
    return TrainBatch(rgb=rgb, lab=lab, L=lab[:, :1])


def snapshot(module: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in module.state_dict().items()}


def same(a: dict, b: dict) -> bool:
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


# --------------------------------------------------------------------------- every family


@pytest.mark.parametrize("family", FAMILIES)
def test_train_step_colorize_and_checkpoint_round_trip(family):
    torch.manual_seed(0)
    model, obj = tiny(family)
    batch = make_batch()
    opts = obj.optimizers(model, SETTINGS)
    assert set(opts) == {"g", "d"}
    obj.on_epoch_start(0)
    g_before, d_before = snapshot(model.generator), snapshot(model.discriminator)
    out = obj.train_step(model, batch, opts, torch.autocast("cpu", enabled=False))
    for key in ("loss", "l1", "g_loss", "g_adv", "d_loss", "d_acc"):
        assert math.isfinite(out[key]), key
    assert out["loss"] == out["l1"] and 0.0 <= out["d_acc"] <= 1.0
    assert not same(g_before, snapshot(model.generator)) and not same(d_before, snapshot(model.discriminator))
    assert set(obj.val_losses(model, batch)) >= {"loss"}

    # colorize: any size, the declared space and range, eval mode restored afterwards
    L = batch.L[:1, :, :21, :27]
    out_img = model.colorize(L)
    assert out_img.shape == (1, 3, 21, 27) and model.training
    if model.info.color_space == "lab":
        assert torch.equal(out_img[:, :1], L) and out_img[:, 1:].abs().max() <= 128
    else:
        assert 0.0 <= out_img.min() and out_img.max() <= 1.0
    assert model.num_parameters() == sum(p.numel() for p in model.parameters()) > 0

    # one state_dict holds G and D: a differently seeded copy reproduces the outputs exactly
    torch.manual_seed(1)
    clone, _ = tiny(family)
    clone.load_state_dict(model.state_dict())
    assert torch.equal(clone.colorize(L), out_img)
    assert any(k.startswith("discriminator.") for k in model.state_dict())


def test_registered_with_paper_settings():
    for name in FAMILIES:
        entry = BASELINES.get(name)
        assert entry.learned and entry.train_defaults is not None
    assert BASELINES.get("pix2pix_pretrained").train_defaults.pretrain_epochs == 20  # seed 002: 20 + 40
    assert BASELINES.get("pix2pix_pretrained").train_defaults.epochs == 60
    ddc = BASELINES.get("ddcolor_lite").train_defaults
    assert (ddc.optimizer, ddc.lr, ddc.betas, ddc.weight_decay) == ("adamw", 1e-4, (0.9, 0.99), 0.01)


# --------------------------------------------------------------------------- the objective


def test_discriminator_learns_against_frozen_generator():
    torch.manual_seed(0)
    model, obj = tiny("pix2pix")
    opts = obj.optimizers(model, TrainSettings(lr=1e-3, betas=(0.5, 0.999)))
    opts["g"] = torch.optim.SGD(model.generator.parameters(), lr=0.0)  # G frozen: only D learns
    obj.on_epoch_start(0)
    batch = make_batch()
    g_before = snapshot(model.generator)
    accs = [obj.train_step(model, batch, opts, torch.autocast("cpu", enabled=False))["d_acc"] for _ in range(20)]
    assert accs[0] < 0.8  # ~chance before D has learned anything
    assert max(accs[-3:]) > 0.9, accs
    g_params = {k: v for k, v in snapshot(model.generator).items() if "running" not in k and "num_batches" not in k}
    assert all(torch.equal(g_params[k], g_before[k]) for k in g_params)


def test_discriminator_loss_and_accuracy_definitions():
    real = torch.tensor([[2.0, -1.0]])
    fake = torch.tensor([[-3.0, 0.5]])
    loss, acc = discriminator_loss(real, fake)
    sig = torch.sigmoid
    expected = 0.5 * (-(sig(real).log().mean()) - ((1 - sig(fake)).log().mean()))
    assert torch.allclose(loss, expected) and acc.item() == 0.5  # right on 2.0 and -3.0 only


def test_lambda_weights_the_l1_term_exactly():
    gen = torch.Generator().manual_seed(0)
    fake_logits = torch.randn(2, 1, 6, 6, generator=gen)
    pred, target = torch.rand(2, 2, 8, 8, generator=gen), torch.rand(2, 2, 8, 8, generator=gen)
    l1 = (pred - target).abs().sum() / pred.numel()
    bce = -torch.log(torch.sigmoid(fake_logits)).mean()  # BCE(D(G(x)), 1) written out
    g0, _ = generator_loss(fake_logits=fake_logits, pred=pred, target=target, lambda_l1=0.0, lambda_adv=1.0)
    g100, parts = generator_loss(fake_logits=fake_logits, pred=pred, target=target, lambda_l1=100.0, lambda_adv=1.0)
    assert torch.allclose(g0, bce, atol=1e-6)
    assert torch.allclose(g100 - g0, 100.0 * l1, atol=1e-5)
    assert torch.allclose(parts["l1"], l1) and torch.allclose(parts["g_adv"], bce, atol=1e-6)


def test_train_step_reports_g_loss_as_adv_plus_lambda_l1():
    torch.manual_seed(0)
    model, _ = tiny("pix2pix")
    obj = AdversarialObjective(lambda_l1=37.0, target="ab", pretrain_epochs=0)
    opts = obj.optimizers(model, SETTINGS)
    obj.on_epoch_start(0)
    out = obj.train_step(model, make_batch(), opts, torch.autocast("cpu", enabled=False))
    assert out["g_loss"] == pytest.approx(out["g_adv"] + 37.0 * out["l1"], rel=1e-5)


def test_pretrain_epochs_leave_discriminator_untouched():
    torch.manual_seed(0)
    model, obj = tiny("pix2pix")
    opts = obj.optimizers(model, TrainSettings(pretrain_epochs=2))
    batch = make_batch()
    d_before, g_before = snapshot(model.discriminator), snapshot(model.generator)
    for epoch in range(2):
        obj.on_epoch_start(epoch)
        out = obj.train_step(model, batch, opts, torch.autocast("cpu", enabled=False))
        assert out["pretrain"] == 1.0 and out["loss"] == out["l1"] and "d_loss" not in out
    assert same(d_before, snapshot(model.discriminator)) and not opts["d"].state
    assert not same(g_before, snapshot(model.generator))
    obj.on_epoch_start(2)  # adversarial phase starts: D now steps
    out = obj.train_step(model, batch, opts, torch.autocast("cpu", enabled=False))
    assert out["pretrain"] == 0.0 and not same(d_before, snapshot(model.discriminator))


def test_pretraining_without_epoch_hook_warns():
    model, obj = tiny("pix2pix")
    opts = obj.optimizers(model, TrainSettings(pretrain_epochs=1))
    with pytest.warns(UserWarning, match="on_epoch_start"):
        obj.train_step(model, make_batch(), opts, torch.autocast("cpu", enabled=False))


def test_non_finite_losses_surface_and_skip_the_update():
    torch.manual_seed(0)
    model, obj = tiny("pix2pix")
    opts = obj.optimizers(model, SETTINGS)
    obj.on_epoch_start(0)
    batch = make_batch()
    batch.lab[:, 1:, 0, 0] = float("nan")
    before = snapshot(model)
    out = obj.train_step(model, batch, opts, torch.autocast("cpu", enabled=False))
    assert math.isnan(out["loss"])
    params = {k for k, _ in model.named_parameters()}
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items() if k in params)


def test_collapse_monitor_needs_consecutive_bad_epochs():
    mon = CollapseMonitor(patience=2, d_acc_min=0.99, g_adv_min=5.0)
    for d_acc, g_adv in [(1.0, 9.0), (0.7, 9.0), (1.0, 8.0), (1.0, 6.0)]:  # the 2nd epoch breaks the streak
        assert not mon.collapsed
        mon.record(d_acc, g_adv)
        mon.end_epoch()
    assert mon.collapsed and mon.streak == 2


def test_collapse_is_an_explicit_stop_signal():
    torch.manual_seed(0)
    model, _ = tiny("pix2pix")
    obj = AdversarialObjective(target="ab", pretrain_epochs=0,
                               collapse=CollapseMonitor(patience=2, d_acc_min=0.0, g_adv_min=0.0))
    opts = obj.optimizers(model, SETTINGS)
    for epoch, expected in ((0, None), (1, "collapsed at epoch 2")):  # the (trivial) thresholds hold twice
        obj.on_epoch_start(epoch)
        obj.train_step(model, make_batch(), opts, torch.autocast("cpu", enabled=False))
        stop = obj.stop()
        assert (stop is None) if expected is None else (stop.failed and expected in stop.reason), stop


def test_seeded_training_is_deterministic_on_cpu():
    def run():
        torch.manual_seed(3)
        model, obj = tiny("pix2pix")
        opts = obj.optimizers(model, SETTINGS)
        obj.on_epoch_start(0)
        losses = [obj.train_step(model, make_batch(i), opts, torch.autocast("cpu", enabled=False)) for i in range(2)]
        return losses, snapshot(model)

    (a_losses, a_state), (b_losses, b_state) = run(), run()
    assert a_losses == b_losses and same(a_state, b_state)


def test_targets_are_in_network_units():
    batch = make_batch()
    assert torch.allclose(target_units(batch, "ab") * AB_SCALE, batch.lab[:, 1:])
    assert torch.allclose((target_units(batch, "rgb") + 1) / 2, batch.rgb)


# --------------------------------------------------------------------------- weights


def test_pix2pix_pretrained_weights_are_explicit(tmp_path, monkeypatch):
    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path))  # an empty hub cache
    with pytest.raises(MissingWeightsError, match="encoder_weights: none"):
        pix2pix.pix2pix_pretrained(encoder_weights="imagenet")
    assert pix2pix.pix2pix_pretrained(encoder_weights="none").info.pretrained == "no (random init, requested)"


def test_ddcolor_perceptual_weights_never_silently_random(tmp_path, monkeypatch):
    monkeypatch.setenv("COLORBENCH_CACHE", str(tmp_path))  # an empty weights cache
    model = ddcolor_lite.ddcolor_lite(dims=(8, 16, 32, 64), depths=(1, 1, 1, 1), dec_dims=(16, 16, 16),
                                      embed_dim=16, num_queries=4)
    with pytest.raises(MissingWeightsError):
        ddcolor_lite.objective().optimizers(model, SETTINGS)
    random_model, _ = tiny("ddcolor_lite")
    assert "RANDOM VGG16" in random_model.info.notes


def test_ddcolor_with_real_vgg16(weights_env):
    # weights_env fetches the weights or FAILS with the command that fixes it: never a silent skip
    model = ddcolor_lite.ddcolor_lite(dims=(8, 16, 32, 64), depths=(1, 1, 1, 1), dec_dims=(16, 16, 16),
                                      embed_dim=16, num_queries=4, ndf=8, d_layers=2)
    obj = ddcolor_lite.objective()
    opts = obj.optimizers(model, SETTINGS)
    obj.on_epoch_start(0)
    out = obj.train_step(model, make_batch(), opts, torch.autocast("cpu", enabled=False))
    assert math.isfinite(out["perceptual"]) and out["perceptual"] > 0
    assert "vgg16-features sha256:" in model.info.notes


def test_colourfulness_matches_hasler_suesstrunk():
    red = torch.zeros(1, 3, 4, 4)
    red[:, 0] = 1.0  # rg = 1, yb = 0.5 everywhere, no spread
    assert perceptual.colourfulness(red).item() == pytest.approx(0.3 * math.sqrt(1.25), abs=1e-4)
    assert perceptual.colourfulness(torch.full((1, 3, 4, 4), 0.5)).item() == pytest.approx(0.0, abs=1e-3)


# --------------------------------------------------------------------------- init_from


def test_load_init_state_copies_weights(tmp_path):
    torch.manual_seed(0)
    source, _ = tiny("pix2pix")
    path = tmp_path / "best.pt"
    save_verified(path, {"model": source.state_dict(), "epoch": 3})
    torch.manual_seed(1)
    target, _ = tiny("pix2pix")
    L = make_batch().L
    assert not torch.equal(target.colorize(L), source.colorize(L))
    load_init_state(target, path)
    assert torch.equal(target.colorize(L), source.colorize(L))


def test_load_init_state_names_mismatches(tmp_path):
    source = pix2pix.pix2pix(channels=(8, 16, 32, 32), ndf=8, d_layers=2)
    path = tmp_path / "best.pt"
    state = source.state_dict()
    state["extra.weight"] = torch.zeros(1)
    save_verified(path, {"model": state})
    wider = pix2pix.pix2pix(channels=(8, 16, 32, 64), ndf=8, d_layers=2)
    with pytest.raises(ConfigError) as err:
        load_init_state(wider, path)
    message = str(err.value)
    assert "init_from" in message and "extra.weight" in message and "different shapes" in message
    with pytest.raises(ConfigError, match="train the source stage first"):
        load_init_state(wider, tmp_path / "absent.pt")
