"""The protocols' FID and LPIPS against independent computations of their definitions: the
test's own Inception pipeline (torchvision's forward, the wrapper's steps written out), np.cov and
scipy's sqrtm; lpips' own LPIPS.forward; analytic Frechet distances."""
from __future__ import annotations

import warnings

import numpy as np
import pytest
import scipy.linalg
import torch
import torch.nn.functional as F
import torchvision
from skimage import color

from colorbench import weights
from colorbench.metrics.base import MetricContext
from colorbench.protocols import ct2, ddcolor
from colorbench.protocols.inception import frechet_sqrtm

pytestmark = pytest.mark.usefixtures("weights_env")
TV = "inception-v3-google"


def _images(seed: int, n: int = 6, size: int = 40) -> np.ndarray:
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:size, 0:size] / size
    out = []
    for _ in range(n):
        field = np.stack([np.sin(4 * xx + rng.uniform(0, 6)), np.cos(3 * yy + rng.uniform(0, 6)), xx - yy], -1)
        out.append(np.clip(120 + 90 * field * rng.uniform(0.3, 1.0, 3) + rng.normal(0, 10, field.shape), 0, 255))
    return np.stack(out).astype(np.uint8)


def _batch(images: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(images).permute(0, 3, 1, 2).float().div(255.0).to(torch.float64)


def _reference_features(path, images: np.ndarray, feed: str) -> np.ndarray:
    """INCEPTION_V3_FID's definition, written for the test: one image per forward, bilinear resize
    to 299, x*0.5+0.5, the per-channel map, torchvision inception_v3 up to its pooled features."""
    model = torchvision.models.inception_v3(weights=None, aux_logits=True, init_weights=False)
    model.load_state_dict(torch.load(path, weights_only=True))
    model.fc = torch.nn.Identity()
    model.eval()
    rows = []
    for img in images:
        x = torch.from_numpy(img).permute(2, 0, 1)[None].float() / 255.0
        if feed == "pm1":
            x = (x - 0.5) / 0.5
        x = F.interpolate(x, size=(299, 299), mode="bilinear").clone() * 0.5 + 0.5
        for c, (m, s) in enumerate(zip((0.485, 0.456, 0.406), (0.229, 0.224, 0.225))):
            x[:, c] = x[:, c] * (s / 0.5) + (m - 0.5) / 0.5
        with torch.no_grad():
            rows.append(model(x).numpy().astype(np.float64))
    return np.concatenate(rows)


def _reference_fid(real: np.ndarray, fake: np.ndarray) -> float:
    """The Frechet distance with tr(sqrtm(S1 S2)) as the sum of the roots of S1 S2's eigenvalues
    (equal in exact arithmetic; another algorithm than the scripts' sqrtm, and faster)."""
    mu1, mu2 = real.mean(0), fake.mean(0)
    s1, s2 = np.cov(real, rowvar=False), np.cov(fake, rowvar=False)
    roots = np.sqrt(scipy.linalg.eigvals(s1 @ s2).astype(np.complex128)).real.sum()
    return float((mu1 - mu2) @ (mu1 - mu2) + np.trace(s1) + np.trace(s2) - 2 * roots)


def _accumulate(protocol, name: str, pred: np.ndarray, target: np.ndarray):
    acc = protocol.spec(name).build(MetricContext())
    acc.update(_batch(pred[:4]), _batch(target[:4]))  # two batches: states accumulate
    acc.update(_batch(pred[4:]), _batch(target[4:]))
    return acc


def _score(protocol, name: str, pred: np.ndarray, target: np.ndarray) -> float:
    return _accumulate(protocol, name, pred, target).compute()["value"]


def _converted(truth: np.ndarray) -> np.ndarray:
    return np.stack([(255 * np.clip(color.lab2rgb(color.rgb2lab(t).astype(np.float32)), 0, 1)).astype(np.uint8)
                     for t in truth])


def test_frechet_sqrtm_analytic():
    mu1, mu2 = np.array([1.0, 2.0, 0.0]), np.array([0.0, 0.0, 3.0])
    s1, s2 = np.diag([4.0, 1.0, 9.0]), np.diag([1.0, 1.0, 4.0])
    value, notes, root = frechet_sqrtm(mu1, s1, mu2, s2)
    # commuting covariances: |mu1 - mu2|^2 + sum (sqrt(a) - sqrt(b))^2
    assert value == pytest.approx(14.0 + (2 - 1) ** 2 + 0 + (3 - 2) ** 2, rel=1e-12) and notes == []
    assert root == "eigenvalues"
    with pytest.raises(ValueError, match="imaginary component"):  # a root off the real line: the scripts stop
        frechet_sqrtm(mu1, np.diag([1.0, 1.0, -1.0]), mu2, np.eye(3))


def test_frechet_sqrtm_eps_fallback_analytic():
    """A product whose sqrtm is not finite (nilpotent: scipy divides by R_ii + R_jj = 0) is
    recomputed with eps on both diagonals, as the scripts do: then S1 S2 = [[d, 1 + eps], [0, d]]
    with d = eps (1 + eps), whose root has trace 2 sqrt(d)."""
    eps, zero = 1e-6, np.zeros(2)
    value, notes, root = frechet_sqrtm(zero, np.array([[0.0, 1.0], [0.0, 0.0]]), zero, np.eye(2), eps=eps)
    assert root == "sqrtm" and len(notes) == 1 and "1e-06 added" in notes[0]
    assert value == pytest.approx(0.0 + 2.0 - 2 * 2 * np.sqrt(eps * (1 + eps)), rel=1e-12)


@pytest.mark.parametrize("rows", [100, 400])
def test_frechet_root_from_eigenvalues_equals_scipy_sqrtm_trace(rows):
    """Full-rank covariances (more rows than dimensions): the trace of the root comes from S1 S2's
    eigenvalues and equals the scripts' np.trace(sqrtm(S1 S2)) to rounding; singular ones (fewer
    rows) take sqrtm itself."""
    rng = np.random.default_rng(rows)
    mix = np.linalg.qr(rng.standard_normal((48, 48)))[0] * np.linspace(1.0, 3.0, 48)  # well conditioned
    a = rng.gamma(0.5, 1.0, (rows, 48)) @ mix
    b = (rng.gamma(0.5, 1.0, (rows, 48)) + 0.3) @ mix
    mu1, mu2, s1, s2 = a.mean(0), b.mean(0), np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    scripts = (mu1 - mu2) @ (mu1 - mu2) + np.trace(s1) + np.trace(s2) - 2 * np.trace(scipy.linalg.sqrtm(s1 @ s2)).real
    value, notes, root = frechet_sqrtm(mu1, s1, mu2, s2)
    assert root == "eigenvalues" and notes == [] and value == pytest.approx(scripts, rel=1e-12)
    few = a[:30]  # rank 29 < 48: a singular product
    s_few = np.cov(few, rowvar=False)
    value, notes, root = frechet_sqrtm(few.mean(0), s_few, mu2, s2)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        want = np.trace(scipy.linalg.sqrtm(s_few @ s2)).real
    assert root == "sqrtm" and value == pytest.approx(
        (few.mean(0) - mu2) @ (few.mean(0) - mu2) + np.trace(s_few) + np.trace(s2) - 2 * want, rel=1e-14)


@pytest.mark.parametrize("protocol,feed", [(ct2.PROTOCOL, "pm1"), (ddcolor.PROTOCOL, "unit")])
def test_features_equal_the_wrapper_written_out(protocol, feed, torchvision_inception_file):
    """Each set's features as the protocol's INCEPTION_V3_FID computes them, to float32 rounding
    (batch norms folded, 4 images per forward); ct2's fid_convert takes the round-tripped truth."""
    truth, guess = _images(0), _images(1)
    names = ["fid", "fid_convert"] if protocol is ct2.PROTOCOL else ["fid"]
    with weights.substituted({TV: torchvision_inception_file}):
        accs = {name: _accumulate(protocol, name, guess, truth) for name in names}
    fake = _reference_features(torchvision_inception_file, guess, feed)
    reals = {"fid": truth, "fid_convert": _converted(truth)}
    for name, acc in accs.items():
        for ours, want in ((acc.features("fake"), fake),
                           (acc.features("real"), _reference_features(torchvision_inception_file, reals[name], feed))):
            np.testing.assert_allclose(ours.numpy(), want, rtol=1e-4, atol=1e-5 * np.abs(want).max())


def test_fid_equals_the_reference_distance(torchvision_inception_file):
    truth, guess = _images(2), _images(3)
    with weights.substituted({TV: torchvision_inception_file}):
        ours = _score(ddcolor.PROTOCOL, "fid", guess, truth)
    real = _reference_features(torchvision_inception_file, truth, "unit")
    fake = _reference_features(torchvision_inception_file, guess, "unit")
    assert ours == pytest.approx(_reference_fid(real, fake), rel=1e-5)


def test_ct2_lpips_equals_lpips_forward_per_pair():
    truth, guess = _images(4), _images(5)
    model = weights.load_lpips("vgg", "cpu")

    def scaled(img):
        return (torch.from_numpy(img).permute(2, 0, 1)[None].float() / 255.0 - 0.5) / 0.5

    converted = _converted(truth)
    with torch.no_grad():
        plain = np.mean([model(scaled(t), scaled(g)).item() for t, g in zip(truth, guess)])
        convert = np.mean([model(scaled(t), scaled(g)).item() for t, g in zip(converted, guess)])
    assert _score(ct2.PROTOCOL, "lpips", guess, truth) == pytest.approx(plain, abs=1e-7)
    assert _score(ct2.PROTOCOL, "lpips_convert", guess, truth) == pytest.approx(convert, abs=1e-7)


def test_frechet_sqrtm_in_the_sets_subspace_equals_the_full_root():
    """Sets smaller than the dimension: the k x k root in the span of the centred features gives
    the full sqrtm's distance (which is the less accurate one on such singular products)."""
    from colorbench.protocols.inception import moments, subspace

    rng = np.random.default_rng(3)
    mix = rng.standard_normal((12, 64))
    a = torch.from_numpy(rng.standard_normal((10, 12)) @ mix + 1.0)
    b = torch.from_numpy(rng.standard_normal((9, 12)) @ mix * 1.3)
    (mu1, s1), (mu2, s2) = moments(a), moments(b)
    basis = subspace([a[:4].numpy(), a[4:].numpy()], [b.numpy()])
    assert basis.shape == (64, 19)
    assert subspace([rng.standard_normal((20, 64))], [rng.standard_normal((13, 64))]) is None
    full, _, full_root = frechet_sqrtm(mu1, s1, mu2, s2)
    fast, notes, fast_root = frechet_sqrtm(mu1, s1, mu2, s2, basis=basis)
    assert (full_root, fast_root) == ("sqrtm", "sqrtm-subspace")
    # independently: tr sqrt(S1 S2) = sum of sqrt(eigenvalues of the PSD S1^1/2 S2 S1^1/2)
    w, v = np.linalg.eigh(s1)
    half = (v * np.sqrt(np.clip(w, 0, None))) @ v.T
    exact = (mu1 - mu2) @ (mu1 - mu2) + np.trace(s1) + np.trace(s2) - 2 * np.sqrt(
        np.clip(np.linalg.eigvalsh(half @ s2 @ half), 0, None)).sum()
    assert fast == pytest.approx(exact, rel=1e-7) and fast == pytest.approx(full, rel=1e-6) and notes == []


def test_moments_in_row_blocks_equal_numpy_mean_and_cov():
    """The protocols' np.mean / np.cov, computed _ROWS rows at a time (no float64 copy of every
    row), equal numpy's on float32 features of several blocks' worth, to summation order."""
    from colorbench.protocols import inception

    rng = np.random.default_rng(5)
    features = (rng.gamma(0.5, 1.0, (2 * inception._ROWS + 37, 48)) + 2.0).astype(np.float32)
    rows = torch.from_numpy(features)
    mu, sigma = inception.moments(rows)
    # batch-sized blocks of other lengths, regrouped into _ROWS rows: the same sums
    assert all(np.array_equal(x, y) for x, y in zip((mu, sigma), inception.moments(*rows.split(13))))
    wide = features.astype(np.float64)
    np.testing.assert_allclose(mu, np.mean(wide, axis=0), rtol=1e-14)
    np.testing.assert_allclose(sigma, np.cov(wide, rowvar=False), rtol=1e-12, atol=1e-14)


def test_subspace_declines_large_sets_before_copying_them():
    """More rows than half the dimension: None, and the float32 inputs are never widened (a
    float64 copy of 10000 x 2048 features is 164 MB)."""
    from colorbench.protocols.inception import subspace

    class Rows:  # len() and shape only: anything else would fail the test
        def __init__(self, n: int) -> None:
            self.n, self.shape = n, (n, 64)

        def __len__(self) -> int:
            return self.n

    assert subspace([Rows(12), Rows(8)], [Rows(13)]) is None
    assert subspace([np.ones((10, 64))], [np.zeros((9, 64))]).shape[0] == 64


def test_fid_update_checks_the_batch_without_a_float64_copy():
    """The protocols' FID reads the batch as given (the network reads float32): the range is
    still checked, naming the argument, and float32 k/255 equals what the float64 copy held."""
    from colorbench.metrics.memo import check_pair, clear_memo

    x = torch.randint(0, 256, (2, 3, 8, 8), dtype=torch.uint8, generator=torch.Generator().manual_seed(0)).float() / 255
    y = x.flip(0)
    try:
        pred, target = check_pair(x, y, widen=False)
        assert pred is x and target is y
        wide, _ = check_pair(x, y)
        assert wide.dtype == torch.float64 and torch.equal(wide.to(torch.float32), x)
        with pytest.raises(ValueError, match="target"):
            check_pair(x, y + 2, widen=False)
        with pytest.raises(ValueError, match="pred"):
            check_pair(x * float("nan"), y, widen=False)
    finally:
        clear_memo()
