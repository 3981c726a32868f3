"""Loss functions on hand-made cases, checked against independent numpy computations."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from baselines.common import LearnedColorizer
from colorbench.color import (
    NUM_BINS,
    annealed_mean,
    gamut_313,
    quantize_ab,
    rebalance_weights,
    rgb_to_lab,
    soft_encode,
)
from colorbench.contracts import TrainBatch, TrainSettings
from colorbench.training.objectives import (
    ClassificationObjective,
    RegressionObjective,
    build_optimizer,
)


class FixedLogits(LearnedColorizer):
    """forward returns a stored tensor: lets a test choose the logits exactly."""

    output = "logits"

    def __init__(self, logits: torch.Tensor):
        super().__init__()
        self.logits = nn.Parameter(logits.clone())
        self.register_buffer("class_priors", torch.zeros(NUM_BINS))

    def forward(self, L):
        return self.logits


def _batch(lab: torch.Tensor) -> TrainBatch:
    return TrainBatch(rgb=torch.zeros_like(lab), lab=lab, L=lab[:, :1])


def _np_soft_encode(ab: np.ndarray, k=5, sigma=5.0) -> np.ndarray:
    """(P, 2) -> (P, 313), written independently of colorbench.color."""
    centres = gamut_313().numpy().astype(np.float64)
    d2 = ((ab[:, None, :] - centres[None]) ** 2).sum(-1)
    out = np.zeros_like(d2)
    for i, row in enumerate(d2):
        nn_idx = np.argsort(row, kind="stable")[:k]
        w = np.exp(-row[nn_idx] / (2 * sigma**2))
        out[i, nn_idx] = w / w.sum()
    return out


def test_rebalance_weights_match_formula_and_expectation():
    p = np.zeros(NUM_BINS)
    p[[0, 5, 100]] = [0.7, 0.2, 0.1]
    lam = 0.5
    expected = 1.0 / ((1 - lam) * p + lam / NUM_BINS)
    expected /= (p * expected).sum()
    got = rebalance_weights(torch.tensor(p), lam).numpy()
    np.testing.assert_allclose(got, expected, rtol=1e-10)
    assert (p * got).sum() == pytest.approx(1.0)
    assert got[100] > got[5] > got[0]  # rarer class, larger weight


def test_soft_encoding_at_a_bin_centre():
    centres = gamut_313()
    q = 150
    ab = centres[q].view(1, 2, 1, 1)
    target = soft_encode(ab)[0, :, 0, 0]
    assert target.sum().item() == pytest.approx(1.0, abs=1e-6)
    assert (target > 0).sum().item() == 5
    # the centre itself (d = 0) and its four grid neighbours (d = 10): weights 1 and exp(-2)
    expected_centre = 1.0 / (1.0 + 4.0 * np.exp(-100.0 / 50.0))
    assert target[q].item() == pytest.approx(expected_centre, rel=1e-5)


def test_soft_encoding_matches_numpy_on_random_ab():
    gen = torch.Generator().manual_seed(1)
    ab = (torch.rand(1, 2, 3, 4, generator=gen) * 160 - 80).double()
    got = soft_encode(ab).permute(0, 2, 3, 1).reshape(-1, NUM_BINS).numpy()
    want = _np_soft_encode(ab.permute(0, 2, 3, 1).reshape(-1, 2).numpy())
    np.testing.assert_allclose(got, want, atol=1e-9)


def test_annealed_mean_limits():
    centres = gamut_313()
    logits = torch.full((1, NUM_BINS, 1, 1), -5.0)
    logits[0, 10], logits[0, 200] = 3.0, 2.0
    mode = annealed_mean(logits, T=0)[0, :, 0, 0]
    assert torch.equal(mode, centres[10])
    p = torch.softmax(logits[0, :, 0, 0].double(), 0)
    mean = annealed_mean(logits.double(), T=1.0)[0, :, 0, 0]
    torch.testing.assert_close(mean, (p[:, None] * centres.double()).sum(0))
    # a lower temperature moves the estimate towards the mode
    t038 = annealed_mean(logits.double(), T=0.38)[0, :, 0, 0]
    assert (t038 - centres[10]).norm() < (mean - centres[10]).norm()


@pytest.mark.parametrize("rebalance", [True, False])
def test_classification_loss_equals_manual_numpy(rebalance):
    gen = torch.Generator().manual_seed(0)
    logits = torch.randn(2, NUM_BINS, 2, 3, generator=gen)
    ab_full = torch.rand(2, 2, 4, 6, generator=gen) * 120 - 60
    lab = torch.cat((torch.full((2, 1, 4, 6), 50.0), ab_full), dim=1)
    model = FixedLogits(logits)
    priors = torch.rand(NUM_BINS, generator=gen) ** 4
    model.class_priors.copy_(priors / priors.sum())
    objective = ClassificationObjective(rebalance=rebalance)
    got = objective.losses(model, _batch(lab))["loss"].item()

    # manual: 2x2 area average to the logits' 2x3 grid, soft targets, log-softmax, weights
    ab = ab_full.numpy().reshape(2, 2, 2, 2, 3, 2).mean(axis=(3, 5))  # (N, 2, 2, 3)
    pix = ab.transpose(0, 2, 3, 1).reshape(-1, 2).astype(np.float64)
    z = _np_soft_encode(pix)
    lg = logits.numpy().transpose(0, 2, 3, 1).reshape(-1, NUM_BINS).astype(np.float64)
    logp = lg - lg.max(1, keepdims=True) - np.log(np.exp(lg - lg.max(1, keepdims=True)).sum(1, keepdims=True))
    ce = -(z * logp).sum(1)
    if rebalance:
        p = model.class_priors.double().numpy()
        p = p / p.sum()
        w = 1.0 / (0.5 * p + 0.5 / NUM_BINS)
        w /= (p * w).sum()
        centres = gamut_313().numpy()
        nearest = ((pix[:, None] - centres[None]) ** 2).sum(-1).argmin(1)
        ce = ce * w[nearest]
    assert got == pytest.approx(ce.mean(), rel=1e-4)


def test_prepare_counts_priors_on_the_training_split():
    # two flat images: one mid-gray, one saturated red; priors = pixel shares of their bins
    gray = torch.full((3, 8, 8), 0.5)
    red = torch.zeros(3, 8, 8)
    red[0] = 0.8
    ds = [("g", gray), ("r1", red), ("r2", red)]
    model = FixedLogits(torch.zeros(1, NUM_BINS, 1, 1))
    ClassificationObjective(rebalance=True).prepare(model, ds, TrainSettings(image_size=8))
    bins = [int(quantize_ab(rgb_to_lab(x[None])[:, 1:])[0, 0, 0]) for x in (gray, red)]
    assert model.class_priors[bins[0]].item() == pytest.approx(1 / 3)
    assert model.class_priors[bins[1]].item() == pytest.approx(2 / 3)
    assert model.class_priors.sum().item() == pytest.approx(1.0)


def test_rebalanced_loss_refuses_empty_priors():
    model = FixedLogits(torch.zeros(1, NUM_BINS, 1, 1))
    lab = torch.zeros(1, 3, 1, 1)
    with pytest.raises(RuntimeError, match="prepare"):
        ClassificationObjective(rebalance=True).losses(model, _batch(lab))


class Const(LearnedColorizer):
    def __init__(self, out):
        super().__init__()
        self.out = nn.Parameter(out.clone())

    def forward(self, L):
        return self.out


def test_regression_ab_scale_and_resize():
    lab = torch.zeros(1, 3, 4, 4)
    lab[:, 1] = 64.0  # a = 64 -> target 0.5 at ab_scale 128
    pred = torch.zeros(1, 2, 2, 2)  # lower resolution: resized to the target before the loss
    losses = RegressionObjective(target="ab", loss="mse", ab_scale=128.0).losses(Const(pred), _batch(lab))
    assert losses["loss"].item() == pytest.approx(0.5**2 / 2)  # half the channels are off by 0.5
    assert losses["mse_ab"].item() == pytest.approx(64.0**2 / 2)


def test_regression_rgb_l1():
    rgb = torch.full((1, 3, 2, 2), 0.25)
    batch = TrainBatch(rgb=rgb, lab=rgb_to_lab(rgb), L=rgb_to_lab(rgb)[:, :1])
    loss = RegressionObjective(target="rgb", loss="l1").losses(Const(torch.full((1, 3, 2, 2), 0.75)), batch)
    assert loss["loss"].item() == pytest.approx(0.5)


def test_regression_rejects_unknown_options():
    with pytest.raises(ValueError):
        RegressionObjective(target="lab", loss="mse")
    with pytest.raises(ValueError):
        RegressionObjective(target="ab", loss="huber")


def test_build_optimizer_skips_frozen_and_reads_settings():
    net = nn.Sequential(nn.Linear(2, 2), nn.Linear(2, 2))
    net[0].requires_grad_(False)
    opt = build_optimizer(net.parameters(), TrainSettings(optimizer="adam", lr=0.01, betas=(0.5, 0.999)))
    assert len(opt.param_groups[0]["params"]) == 2
    assert opt.param_groups[0]["betas"] == (0.5, 0.999)
    sgd = build_optimizer(net.parameters(), TrainSettings(optimizer="sgd", lr=0.1, betas=(0.9, 0.999)))
    assert isinstance(sgd, torch.optim.SGD) and sgd.param_groups[0]["momentum"] == 0.9
