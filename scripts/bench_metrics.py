"""Benchmark colorbench's metrics against the usual practice with the anchor tools.

  python scripts/bench_metrics.py [--n 200] [--size 256] [--no-network] [--skip-memory]

1. Speed and agreement: N synthetic prediction/ground-truth PNG pairs are scored
   (a) by colorbench.scoring.score_pairs with the subset of metrics the anchors compute, and
       with the full registered set, and
   (b) the usual practice, one tool per metric family, each reading the images itself: a
       per-image loop of skimage PSNR / SSIM, a numpy Hasler-Süsstrunk colourfulness loop,
       lpips per pair, and pytorch_fid's own calculate_activation_statistics +
       calculate_frechet_distance on the two file lists (with colorbench's offline-loaded
       pytorch-fid InceptionV3: `python -m pytorch_fid` itself would download the weights).
   Prints wall and CPU times measured in the same run, their ratios, and the max |difference|
   of the values. LPIPS / FID are included if registered, their weights are cached and a probe
   computes (--no-network leaves them out).
2. Memory: peak RSS of a fresh subprocess scoring N=1000 vs N=100 pairs with the non-network
   metrics (--memory-network adds lpips/fid: slow on a CPU), ratio of peaks and of
   peak minus the RSS before scoring.
Torch runs single-threaded by default (--threads), as the anchors do.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from colorbench.metrics.base import MetricContext  # noqa: E402
from colorbench.paths import cache_dir  # noqa: E402
from colorbench.scoring import match_folders, score_pairs  # noqa: E402


def make_pairs(root: Path, n: int, size: int, seed: int = 0) -> tuple[Path, Path]:
    """Smooth random colour fields with texture (truth) and a desaturated, shifted guess (pred)."""
    g = torch.Generator().manual_seed(seed)
    pred_dir, gt_dir = root / "pred", root / "gt"
    pred_dir.mkdir(parents=True, exist_ok=True)
    gt_dir.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        low = torch.rand(1, 3, 6, 6, generator=g)
        gt = F.interpolate(low, size=(size, size), mode="bicubic", align_corners=False)
        gt = (gt + 0.05 * torch.randn(1, 3, size, size, generator=g)).clamp(0, 1)[0]
        grey = gt.mean(0, keepdim=True)
        pred = (grey + 0.6 * (gt - grey) + 0.05 * torch.randn(3, 1, 1, generator=g)).clamp(0, 1)
        for d, x in ((gt_dir, gt), (pred_dir, pred)):
            arr = (x.permute(1, 2, 0).numpy() * 255).round().astype(np.uint8)
            Image.fromarray(arr).save(d / f"{i:05d}.png", compress_level=1)
    return pred_dir, gt_dir


def available_network_metrics() -> list[str]:
    """lpips / fid if registered, their weights are cached and a tiny probe computes."""
    import warnings

    from colorbench import weights
    from colorbench.errors import MissingWeightsError
    from colorbench.metrics.registry import METRICS

    names = []
    for name in ("lpips", "fid"):
        if name not in METRICS:
            continue
        try:
            for w in METRICS.get(name).weights:
                weights.require(w)
            acc = METRICS.get(name).build(MetricContext())
            x = torch.rand(2, 3, 64, 64, generator=torch.Generator().manual_seed(0))
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # FID on 2 images warns about its bias
                acc.update(x, x.flip(0))
                acc.compute()
        except MissingWeightsError:
            continue
        except Exception as exc:  # report and benchmark the rest
            print(f"note: {name} skipped, its accumulator fails: {type(exc).__name__}: {exc}", file=sys.stderr)
            continue
        names.append(name)
    return names


def colorfulness_np(img: np.ndarray) -> float:
    r, g, b = (img[..., i].astype(np.float64) for i in range(3))
    rg, yb = r - g, 0.5 * (r + g) - b
    return float(np.sqrt(rg.std() ** 2 + yb.std() ** 2) + 0.3 * np.sqrt(rg.mean() ** 2 + yb.mean() ** 2))


def _read(path) -> np.ndarray:
    return np.asarray(Image.open(path).convert("RGB"))


def anchors(pairs, network: list[str]) -> tuple[dict, dict]:
    """The usual practice: one tool per metric family, each reading the folders itself.
    Returns per-image values (fid: a float) and seconds per tool."""
    from skimage.metrics import peak_signal_noise_ratio, structural_similarity

    out, secs = {"psnr": [], "ssim": [], "colorfulness": [], "cf_truth": []}, {}
    t0 = time.perf_counter()
    for p in pairs:  # a skimage script
        pf, gf = _read(p.pred) / 255.0, _read(p.gt) / 255.0
        out["psnr"].append(peak_signal_noise_ratio(gf, pf, data_range=1))
        out["ssim"].append(structural_similarity(gf, pf, channel_axis=-1, gaussian_weights=True, sigma=1.5,
                                                 use_sample_covariance=False, data_range=1))
    secs["skimage psnr+ssim"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    for p in pairs:  # a numpy colourfulness script
        out["colorfulness"].append(colorfulness_np(_read(p.pred)))
        out["cf_truth"].append(colorfulness_np(_read(p.gt)))
    secs["numpy colorfulness"] = time.perf_counter() - t0
    if "lpips" in network:  # lpips' per-pair loop (lpips_2dirs.py style)
        from colorbench.weights import load_lpips

        t0 = time.perf_counter()
        lp = load_lpips("alex", torch.device("cpu"))
        to_t = lambda a: torch.from_numpy(a.copy()).permute(2, 0, 1)[None].float() / 127.5 - 1
        out["lpips"] = []
        with torch.no_grad():
            for p in pairs:
                out["lpips"].append(lp(to_t(_read(p.gt)), to_t(_read(p.pred))).item())
        secs["lpips per pair"] = time.perf_counter() - t0
    if "fid" in network:  # python -m pytorch_fid pred gt, with the offline-loaded model
        from pytorch_fid.fid_score import (
            calculate_activation_statistics,
            calculate_frechet_distance,
        )

        from colorbench.weights import load_fid_inception

        t0 = time.perf_counter()
        model = load_fid_inception(torch.device("cpu")).inception  # pytorch-fid's own InceptionV3
        stats = [calculate_activation_statistics([str(getattr(p, side)) for p in pairs], model, batch_size=50,
                                                 dims=2048, device="cpu", num_workers=0)  # its tqdm: stderr
                 for side in ("pred", "gt")]
        out["fid"] = calculate_frechet_distance(*stats[0], *stats[1])
        secs["pytorch_fid"] = time.perf_counter() - t0
    return out, secs


def ours(pairs, metrics: list[str], batch_size: int, stats_key: str | None = None) -> tuple[dict, list[str], float, float]:
    t0, c0 = time.perf_counter(), time.process_time()
    res = score_pairs(pairs, metrics, MetricContext(real_stats_key=stats_key), batch_size=batch_size)
    return res.values, res.ids, time.perf_counter() - t0, time.process_time() - c0


def speed(args) -> None:
    from colorbench.metrics.registry import METRICS

    network = [] if args.no_network else available_network_metrics()
    full = [s.name for s in (e.obj for e in METRICS.entries()) if not s.weights or s.name in network]
    subset = ["psnr", "ssim", "colorfulness", *network]
    with tempfile.TemporaryDirectory() as tmp:
        pred_dir, gt_dir = make_pairs(Path(tmp), args.n, args.size)
        pairs = match_folders(pred_dir, gt_dir).pairs
        c0 = time.process_time()
        ref, secs = anchors(pairs, network)
        t_anchor, c_anchor = sum(secs.values()), time.process_time() - c0
        vals_sub, ids, t_sub, c_sub = ours(pairs, subset, args.batch_size)
        _, _, t_full, c_full = ours(pairs, full, args.batch_size)
        # A benchmark scores many baselines against one ground truth: after the first, the
        # real images' Inception statistics come from the cache (keyed by set and protocol).
        key = f"bench-{uuid.uuid4().hex}"
        ours(pairs, subset, args.batch_size, stats_key=key)
        vals_warm, _, t_warm, c_warm = ours(pairs, subset, args.batch_size, stats_key=key)
        for stale in cache_dir("fid-stats").glob(f"*{key}*"):
            stale.unlink()
    order = [int(i) for i in ids]  # ids are the file stems; per-image vectors follow them
    print(f"{args.n} pairs at {args.size}x{args.size}, CPU, torch threads {torch.get_num_threads()}; "
          f"network metrics: {network or 'none (missing, or skipped: see notes)'}")
    print("anchor tools, each reading the images itself: "
          + ", ".join(f"{k} {v:.2f} s" for k, v in secs.items()))
    print("wall s / CPU s (all threads); speed-up = anchor / colorbench")
    print(f"anchor tools (psnr, ssim, colorfulness{''.join(', ' + n for n in network)}): "
          f"{t_anchor:8.2f} / {c_anchor:8.2f}")
    print(f"colorbench, same metrics: {t_sub:8.2f} / {c_sub:8.2f}   speed-up wall {t_anchor / t_sub:5.2f}x, "
          f"CPU {c_anchor / c_sub:5.2f}x")
    print(f"colorbench, full set ({len(full)} metrics): {t_full:8.2f} / {c_full:8.2f}   speed-up wall "
          f"{t_anchor / t_full:5.2f}x, CPU {c_anchor / c_full:5.2f}x")
    if "fid" in network:
        print(f"colorbench, same metrics, real-image FID statistics cached (every baseline after the first): "
              f"{t_warm:8.2f} / {c_warm:8.2f}   speed-up wall {t_anchor / t_warm:5.2f}x, CPU {c_anchor / c_warm:5.2f}x")
        print(f"  warm and cold FID agree: |difference| {abs(vals_warm['fid'].value - vals_sub['fid'].value):.3g}")
    for name in ["psnr", "ssim", "colorfulness", "lpips"]:
        if name in vals_sub:
            diff = np.abs(vals_sub[name].per_image.numpy() - np.asarray(ref[name])[order]).max()
            print(f"  max |per-image difference| {name:<13} {diff:.3g}")
    truth = np.mean(ref["cf_truth"])
    print(f"  |difference| truth mean colourfulness {abs(vals_sub['colorfulness'].extra['truth_mean'] - truth):.3g}")
    if "fid" in vals_sub:
        print(f"  |difference| fid {abs(vals_sub['fid'].value - ref['fid']):.3g} (ours {vals_sub['fid'].value:.4f})")


def memory_child(folder: str, n: int, metrics: list[str]) -> None:
    pairs = match_folders(Path(folder) / "pred", Path(folder) / "gt").pairs[:n]
    with open("/proc/self/statm") as fh:
        before_kib = int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") // 1024
    score_pairs(pairs, metrics, MetricContext(), batch_size=16)
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"before_kib": before_kib, "peak_kib": peak_kib}))


def memory(args) -> None:
    from colorbench.metrics.registry import METRICS

    network = available_network_metrics() if args.memory_network else []
    metrics = [e.name for e in METRICS.entries() if not e.obj.weights or e.name in network]
    print(f"memory: {len(metrics)} metrics ({', '.join(metrics)})")
    lo, hi = args.mem_n
    with tempfile.TemporaryDirectory() as tmp:
        make_pairs(Path(tmp), hi, args.size, seed=1)
        res = {}
        for n in (lo, hi):
            cmd = [sys.executable, __file__, "--threads", str(args.threads), "--memory-child", tmp, str(n), ",".join(metrics)]
            res[n] = json.loads(subprocess.run(cmd, check=True, capture_output=True, text=True).stdout)
    for n in (lo, hi):
        print(f"N={n:5d}: peak RSS {res[n]['peak_kib'] / 1024:8.1f} MiB, "
              f"peak - before scoring {(res[n]['peak_kib'] - res[n]['before_kib']) / 1024:7.1f} MiB")
    print(f"peak RSS ratio N={hi} / N={lo}: {res[hi]['peak_kib'] / res[lo]['peak_kib']:.3f}")
    growth = [res[n]["peak_kib"] - res[n]["before_kib"] for n in (lo, hi)]
    print(f"scoring-memory ratio (peak - before): {growth[1] / growth[0]:.3f}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=200)
    ap.add_argument("--size", type=int, default=256)
    ap.add_argument("--batch-size", type=int, default=16)
    ap.add_argument("--mem-n", type=int, nargs=2, default=(100, 1000))
    ap.add_argument("--threads", type=int, default=1,
                    help="torch intra-op threads (default 1: the anchors are single-threaded too)")
    ap.add_argument("--skip-memory", action="store_true")
    ap.add_argument("--no-network", action="store_true", help="speed comparison without lpips/fid")
    ap.add_argument("--memory-network", action="store_true",
                    help="include lpips/fid in the memory runs (slow on a CPU: Inception on 2N images)")
    ap.add_argument("--skip-speed", action="store_true")
    ap.add_argument("--memory-child", nargs=3, metavar=("DIR", "N", "METRICS"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    if args.memory_child:
        folder, n, metrics = args.memory_child
        return memory_child(folder, int(n), metrics.split(","))
    if not args.skip_speed:
        speed(args)
    if not args.skip_memory:
        memory(args)


if __name__ == "__main__":
    main()
