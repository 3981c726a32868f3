"""Attempts at a human-calibrated score that beats msssim_ab on HECD scenes it was not fitted on.

  python scripts/explore_human_calibrated.py AGREEMENT_DIR [--cache DIR] [--resamples 1000]

AGREEMENT_DIR is the --out folder of `COLORBENCH_DATA=... colorbench agreement hecd` on the local
copy (per_image.csv with the metrics, agreement.json with the pairwise tie band). Research, not a
metric: it prints every attempt's out-of-fold numbers and whether calibrate.registers would
register it; nothing is written into the project.

Candidate features of each rated image (signed: larger = better; cached in --cache):
- the registered metrics in per_image.csv;
- HECD's MS-SSIM formulation: the product of the a* and b* channels' MS-SSIMs (ms_prod; our
  msssim_ab is their mean), their minimum, each channel alone;
- CIEDE2000 (skimage.color.deltaE_ciede2000 on colorbench.color's Lab): mean, 50th, 90th, 95th,
  99th percentile over pixels; Euclidean a*b* distance: mean and 95th percentile;
- chroma and hue: |log| of the ratio of mean chromas (test / reference), its excess and deficit
  parts, the test's mean chroma, the chroma-weighted mean hue difference, the fraction of
  chromatic pixels (reference chroma > 10) whose hue turned by more than 30 degrees;
- a no-reference naturalness probe learned without human data: per-channel mean and SD of the
  five ReLU stages of AlexNet (colorbench's lpips backbone, frozen) on the image, log1p,
  standardised, into an L2 logistic regression that tells the real photos of imagenet-samples'
  seeded train split (256 px crops, near-gray ones left out) from two recoloured versions of
  each (two of: hue rotation, desaturation, oversaturation, a*b* swap or negation, RGB channel
  permutation, another photo's a*b*, a hue turn inside a smooth random mask); lambda by 5-fold
  CV grouped by photo. Never trained on HECD images. probe = its logit on the test image;
  probe_gap = probe(test) - probe(reference).

Combiners, each fitted on five scenes and applied to the sixth (leave-one-scene-out): non-
negative least squares on standardised features (calibrate.fit), the same on each feature's
training-set empirical CDF, an additive isotonic model (backfitting), a non-negative linear
pairwise-logistic model on the training scenes' within-scene pairs outside the tie band, and a
one-weight grid z(x0) + w z(x1), w in 0..1 maximising the training scenes' pooled SRCC.
Statistics as `colorbench agreement` computes them, on the out-of-fold scores; CIs from the
same scene-and-rater bootstrap (the fits are not redone inside it), and the CI of each attempt's
difference from msssim_ab in the same replicates.
"""
from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F
from PIL import Image
from scipy import optimize, special

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from colorbench import weights  # noqa: E402
from colorbench.color import lab_to_rgb, rgb_to_lab  # noqa: E402
from colorbench.human import calibrate, sets  # noqa: E402
from colorbench.human import correlation as C  # noqa: E402
from colorbench.human.ceiling import rating_arrays  # noqa: E402
from colorbench.human.pairwise import accuracy, replicate_accuracy  # noqa: E402
from colorbench.human.ratings import zscores  # noqa: E402
from colorbench.human.resample import correlation_replicates, draw, percentile_ci  # noqa: E402
from colorbench.metrics.ab_structure import encoded_ab, ms_ssim_channels  # noqa: E402
from colorbench.metrics.registry import METRICS  # noqa: E402

RECOLOURINGS = ("hue", "desat", "oversat", "abswap", "rgbperm", "palette", "local")
PROBE_LAMBDAS = (1.0, 10.0, 100.0, 1000.0)


def read_rgb(path: Path) -> torch.Tensor:
    return torch.from_numpy(np.asarray(Image.open(path).convert("RGB"), dtype=np.float64) / 255.0).permute(2, 0, 1)[None]


def image_features(test: torch.Tensor, ref: torch.Tensor) -> dict:
    """Full-reference colour features of one pair (module doc), float64 RGB (1, 3, H, W)."""
    from skimage.color import deltaE_ciede2000

    lt, lr = rgb_to_lab(test), rgb_to_lab(ref)
    ms = ms_ssim_channels(encoded_ab(test), encoded_ab(ref))[0]
    de = deltaE_ciede2000(lr[0].permute(1, 2, 0).numpy(), lt[0].permute(1, 2, 0).numpy()).ravel()
    dab = torch.hypot(lt[0, 1] - lr[0, 1], lt[0, 2] - lr[0, 2]).numpy().ravel()
    ct, cr = (torch.hypot(x[0, 1], x[0, 2]).numpy().ravel() for x in (lt, lr))
    ht, hr = (torch.atan2(x[0, 2], x[0, 1]).numpy().ravel() for x in (lt, lr))
    dh = np.abs(np.remainder(ht - hr + np.pi, 2 * np.pi) - np.pi)
    w, chromatic = np.minimum(ct, cr), cr > 10
    ratio = math.log(ct.mean() / cr.mean())
    out = {"ms_a": ms[0].item(), "ms_b": ms[1].item(), "ms_prod": (ms[0] * ms[1]).item(), "ms_min": ms.min().item(),
           "dab_mean": -dab.mean(), "dab_p95": -np.percentile(dab, 95), "de_mean": -de.mean(),
           "chroma_logratio_abs": -abs(ratio), "chroma_excess": -max(ratio, 0.0), "chroma_deficit": min(ratio, 0.0),
           "chroma_t": ct.mean(), "hue_w": -(w * dh).sum() / max(w.sum(), 1e-9),
           "hue_frac30": -(dh[chromatic] > np.pi / 6).mean() if chromatic.any() else 0.0}
    out.update({f"de_p{q}": -np.percentile(de, q) for q in (50, 90, 95, 99)})
    return out


@torch.no_grad()
def alexnet_stats(model, rgb: torch.Tensor) -> np.ndarray:
    """Per-channel mean and SD of AlexNet's five ReLU stages (2304 values) of RGB in [0, 1]."""
    stages = model.net(model.scaling_layer(2 * rgb.float() - 1))
    return torch.cat([s for st in stages for s in (st.mean(dim=(2, 3)), st.std(dim=(2, 3)))], 1)[0].numpy()


def _rotate(a, b, t):
    return a * math.cos(t) - b * math.sin(t), a * math.sin(t) + b * math.cos(t)


def recolour(rgb: torch.Tensor, kind: str, other: torch.Tensor, rng: np.random.Generator) -> torch.Tensor:
    """A recoloured version of float64 RGB (1, 3, H, W): the probe's negatives."""
    if kind == "rgbperm":
        perms = [(0, 2, 1), (1, 0, 2), (1, 2, 0), (2, 0, 1), (2, 1, 0)]
        return rgb[:, list(perms[rng.integers(5)])]
    lab = rgb_to_lab(rgb)
    L, a, b = lab[:, 0], lab[:, 1], lab[:, 2]
    if kind == "hue":
        a, b = _rotate(a, b, math.radians(rng.uniform(30, 330)))
    elif kind in ("desat", "oversat"):
        f = rng.uniform(0.0, 0.5) if kind == "desat" else rng.uniform(1.6, 2.5)
        a, b = a * f, b * f
    elif kind == "abswap":
        a, b = [(b, a), (-a, b), (a, -b), (-b, -a)][rng.integers(4)]
    elif kind == "palette":
        a, b = rgb_to_lab(other)[:, 1], rgb_to_lab(other)[:, 2]
    elif kind == "local":
        mask = F.interpolate(torch.from_numpy(rng.normal(size=(1, 1, 4, 4))), size=L.shape[-2:], mode="bilinear",
                             align_corners=False)[:, 0] > 0.3
        a2, b2 = _rotate(a, b, math.radians(rng.uniform(60, 300)))
        a, b = torch.where(mask, a2, a), torch.where(mask, b2, b)
    return lab_to_rgb(torch.stack([L, a, b], 1))


def probe_training_set(model, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(features, 1 = real / 0 = recoloured, photo id) from imagenet-samples' seeded train split."""
    from colorbench.data.prepare import load_dataset
    from colorbench.data.spec import DatasetConfig, LoadOptions

    rng = np.random.default_rng(seed)
    train = load_dataset(DatasetConfig("imagenet-samples"), LoadOptions(seed=0, size=256), progress=False).split("train")
    X, t, group = [], [], []
    for k in range(len(train)):
        rgb = train[k][1][None].double()
        if rgb_to_lab(rgb)[:, 1:].norm(dim=1).mean() < 5:  # near-gray: its recolourings are no fakes
            continue
        X.append(alexnet_stats(model, rgb)); t.append(1.0); group.append(k)
        for kind in rng.choice(RECOLOURINGS, size=2, replace=False):
            other = train[int(rng.integers(len(train)))][1][None].double()
            X.append(alexnet_stats(model, recolour(rgb, kind, other, rng))); t.append(0.0); group.append(k)
    return np.array(X), np.array(t), np.array(group)


def fit_logistic(X: np.ndarray, t: np.ndarray, lam: float) -> np.ndarray:
    """(intercept, weights) of an L2-penalised logistic regression (the intercept not penalised)."""
    def loss(w):
        z = X @ w[1:] + w[0]
        g = special.expit(z) - t
        return (np.sum(np.logaddexp(0, z) - t * z) + 0.5 * lam * w[1:] @ w[1:],
                np.concatenate([[g.sum()], X.T @ g + lam * w[1:]]))

    return optimize.minimize(loss, np.zeros(X.shape[1] + 1), jac=True, method="L-BFGS-B",
                             options={"maxiter": 2000}).x


def train_probe(X: np.ndarray, t: np.ndarray, group: np.ndarray, seed: int) -> tuple:
    """(mean, sd, weights, cv accuracy per lambda): lambda by 5-fold CV grouped by photo."""
    Xl = np.log1p(np.maximum(X, 0))
    mu, sd = Xl.mean(0), Xl.std(0) + 1e-8
    Z = (Xl - mu) / sd
    ids = np.unique(group)
    fold = dict(zip(ids, np.random.default_rng(seed).permutation(ids.size) % 5))
    folds = np.array([fold[g] for g in group])
    cv = {}
    for lam in PROBE_LAMBDAS:
        hits = [((Z[folds == f] @ w[1:] + w[0] > 0) == (t[folds == f] > 0)).mean()
                for f in range(5) for w in [fit_logistic(Z[folds != f], t[folds != f], lam)]]
        cv[lam] = float(np.mean(hits))
    return mu, sd, fit_logistic(Z, t, max(cv, key=cv.get)), cv


def features(table: pd.DataFrame, cache: Path, seed: int) -> pd.DataFrame:
    """Every candidate feature of the table's images (cached)."""
    path = cache / "features.csv"
    if path.is_file():
        return pd.read_csv(path).set_index("item").reindex(table["item"])
    rs = sets.load("hecd", download=False, progress=False).rs
    model = weights.load_lpips("alex")
    rows, ref_probe = [], {}
    X, t, group = probe_training_set(model, seed)
    mu, sd, w, cv = train_probe(X, t, group, seed)
    print(f"probe: {len(t)} images ({int(t.sum())} real), grouped 5-fold CV accuracy by lambda {cv}", file=sys.stderr)
    probe = lambda rgb: float(((np.log1p(np.maximum(alexnet_stats(model, rgb), 0)) - mu) / sd) @ w[1:] + w[0])  # noqa: E731
    for item_id in table["item"]:
        item = rs.item(item_id)
        test, ref = read_rgb(item.test), read_rgb(item.reference)
        if item.reference not in ref_probe:
            ref_probe[item.reference] = probe(ref)
        p = probe(test)
        rows.append({"item": item_id, **image_features(test, ref), "probe": p, "probe_gap": p - ref_probe[item.reference]})
    cache.mkdir(parents=True, exist_ok=True)
    pd.DataFrame(rows).to_csv(path, index=False)
    return pd.DataFrame(rows).set_index("item").reindex(table["item"])


def _standardised(train: np.ndarray, test: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    mu, sd = train.mean(0), train.std(0)
    sd = np.where(sd > 0, sd, 1.0)
    return (train - mu) / sd, (test - mu) / sd


def nnls(X, y, scenes, Xt, band):
    return calibrate.fit([str(j) for j in range(X.shape[1])], X, y)(Xt)


def rank_nnls(X, y, scenes, Xt, band):
    ecdf = lambda col, v: np.searchsorted(np.sort(X[:, col]), v, side="right") / len(X)  # noqa: E731
    A = np.column_stack([ecdf(j, X[:, j]) for j in range(X.shape[1])])
    B = np.column_stack([ecdf(j, Xt[:, j]) for j in range(X.shape[1])])
    return calibrate.fit([str(j) for j in range(X.shape[1])], A, y)(B)


def additive_isotonic(X, y, scenes, Xt, band, iterations: int = 20):
    n, k = X.shape
    parts, order = np.zeros((n, k)), [np.argsort(X[:, j], kind="stable") for j in range(k)]
    for _ in range(iterations):
        for j in range(k):
            residual = y - y.mean() - parts.sum(1) + parts[:, j]
            parts[order[j], j] = optimize.isotonic_regression(residual[order[j]]).x
            parts[:, j] -= parts[:, j].mean()
    return y.mean() + sum(np.interp(Xt[:, j], X[order[j], j], parts[order[j], j]) for j in range(k))


def pairwise_logistic(X, y, scenes, Xt, band):
    A, B = _standardised(X, Xt)
    pairs = [(m[i], m[j]) for s in np.unique(scenes) for m in [np.flatnonzero(scenes == s)]
             for i, j in zip(*np.triu_indices(m.size, 1)) if abs(y[m[i]] - y[m[j]]) > band]
    i, j = map(np.array, zip(*pairs))
    D = (A[i] - A[j]) * np.sign(y[i] - y[j])[:, None]

    def loss(w):
        z = D @ w
        return (np.sum(np.logaddexp(0, -z)) + 0.5 * w @ w) / len(z), (-special.expit(-z) @ D + w) / len(z)

    w = optimize.minimize(loss, np.full(A.shape[1], 0.1), jac=True, method="L-BFGS-B",
                          bounds=[(0, None)] * A.shape[1]).x
    return B @ w


def one_weight_grid(X, y, scenes, Xt, band):
    A, B = _standardised(X, Xt)
    w = max(np.linspace(0, 1, 21), key=lambda w: C.srcc(A[:, 0] + w * A[:, 1], y))
    return B[:, 0] + w * B[:, 1]


ALL_METRICS = ["msssim_ab", "lpips", "mse_ab", "ssim", "psnr", "delta_cf_image", "acc313_approx", "auc_ab"]
RICH = ["ms_a", "ms_b", "lpips", "dab_p95", "de_p95", "hue_w", "chroma_excess"]
ATTEMPTS = {  # name: (features, combiner)
    "nnls_all_metrics": (ALL_METRICS, nnls), "nnls_msssim_lpips": (["msssim_ab", "lpips"], nnls),
    "nnls_msssim_chroma_excess": (["msssim_ab", "chroma_excess"], nnls), "nnls_ms_min_lpips": (["ms_min", "lpips"], nnls),
    "nnls_rich": (RICH, nnls), "rank_nnls_rich": (RICH, rank_nnls),
    "isotonic_msssim_lpips_chroma_excess": (["msssim_ab", "lpips", "chroma_excess"], additive_isotonic),
    "pairwise_logistic_rich": (["msssim_ab", "lpips", "de_p95", "hue_w", "chroma_excess"], pairwise_logistic),
    "pairwise_logistic_msssim_lpips": (["msssim_ab", "lpips"], pairwise_logistic),
    "nnls_msssim_probe": (["msssim_ab", "probe"], nnls), "nnls_msssim_probe_gap": (["msssim_ab", "probe_gap"], nnls),
    "nnls_msssim_lpips_probe": (["msssim_ab", "lpips", "probe"], nnls),
    "isotonic_msssim_probe": (["msssim_ab", "probe"], additive_isotonic),
    "pairwise_logistic_msssim_probe": (["msssim_ab", "probe"], pairwise_logistic),
    **{f"grid_msssim_{f}": (["msssim_ab", f], one_weight_grid)
       for f in ("probe", "probe_gap", "lpips", "hue_w", "chroma_excess")},
    "grid_ms_min_probe": (["ms_min", "probe"], one_weight_grid),
}


def leave_one_scene_out(X: np.ndarray, y: np.ndarray, scenes: np.ndarray, combiner, band: float) -> np.ndarray:
    out = np.full(len(y), np.nan)
    for s in np.unique(scenes):
        held = scenes == s
        out[held] = combiner(X[~held], y[~held], scenes[~held], X[held], band)
    return out


def _ci(x) -> list | None:
    ci = percentile_ci(x)
    return list(ci) if ci else None


def _rounded(x):
    if isinstance(x, float):
        return round(x, 3)
    return [_rounded(v) for v in x] if isinstance(x, list) else x


def report(names: list[str], S: np.ndarray, table: pd.DataFrame, band: float, resamples: int) -> list[dict]:
    """Pooled SRCC, within-scene SRCC and pairwise accuracy with CIs, and the CI of each one's
    difference from column 0 (msssim_ab) in the same replicates."""
    rs = sets.load("hecd", download=False, progress=False).rs
    ids, y = list(table["item"]), table["mean_z"].to_numpy()
    order = sorted(set(table["scene"]))
    scene_idx = np.array([order.index(s) for s in table["scene"]])
    item, rater, z = rating_arrays(rs.ratings, zscores(rs).z, ids)
    reps = draw(item, rater, z, z, scene_idx, resamples, 0)
    boot = correlation_replicates(S, reps, which=("srcc", "within_srcc"))
    boot["pairwise_acc"] = replicate_accuracy(S, reps, band)
    rows = []
    for j, name in enumerate(names):
        point = calibrate.agreement(S[:, j], y, scene_idx, band)
        row = {"name": name, **point}
        for key, b in (("srcc", "srcc"), ("within_scene_srcc", "within_srcc"), ("pairwise_acc", "pairwise_acc")):
            row[f"{key}_ci"] = _ci(boot[b][:, j])
            row[f"{key}_minus_msssim_ab_ci"] = _ci(boot[b][:, j] - boot[b][:, 0])
        rows.append(row)
    return rows


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("agreement_dir")
    p.add_argument("--cache", default="/tmp/colorbench-explore-human-calibrated", help="feature cache folder")
    p.add_argument("--resamples", type=int, default=1000)
    p.add_argument("--seed", type=int, default=0, help="probe: recolourings and CV folds")
    args = p.parse_args(argv)
    folder = Path(args.agreement_dir)
    table = pd.read_csv(folder / "per_image.csv", dtype={"scene": str})
    band = json.loads((folder / "agreement.json").read_text())["pairwise"]["tie_band"]
    feats = features(table, Path(args.cache), args.seed)
    for m in ALL_METRICS:
        feats[m] = C.signed(table[m].to_numpy(), METRICS.get(m).higher_is_better)
    y, scenes = table["mean_z"].to_numpy(), table["scene"].to_numpy()
    singles = ["msssim_ab", *[c for c in feats.columns if c != "msssim_ab"]]
    names = [*singles, *ATTEMPTS]
    S = np.column_stack([feats[c].to_numpy() for c in singles]
                        + [leave_one_scene_out(feats[f].to_numpy(), y, scenes, comb, band) for f, comb in ATTEMPTS.values()])
    rows = report(names, S, table, band, args.resamples)
    best = rows[0]
    for row in rows:
        row["kind"] = "single feature (no fit)" if row["name"] in singles else "leave-one-scene-out"
        row["registers"], row["why"] = calibrate.registers(row, best) if row["name"] in ATTEMPTS else (None, "")
        print(json.dumps({k: _rounded(v) for k, v in row.items()}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
