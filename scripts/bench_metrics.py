"""Benchmark `colorbench score` against the usual tools, both run as a user runs them.

  python scripts/bench_metrics.py [--n 200] [--size 256] [--reps 3] [--photos DIR]
                                  [--skip-memory] [--memory-n 200,2000] [--memory-reps 3]

Pairs: N ground truths are centre crops of real photos ($COLORBENCH_DATA/imagenet-samples, or
--photos; other crops, every other one mirrored, when N exceeds the photos), each with a
desaturated, colour-shifted guess as the prediction; random smooth colour fields if no photos
are found. PNG, as colorizers save.

1. Speed and agreement on psnr, ssim, colorfulness, lpips and fid. Every run is a fresh
   subprocess with torch's default threads and no *_NUM_THREADS variable (nothing pinned):
   - usual tools: a script with a skimage PSNR / SSIM loop, a numpy Hasler-Suesstrunk
     colourfulness loop, lpips per pair (the lpips package, net='alex') and pytorch-fid's own
     compute_statistics_of_path + calculate_frechet_distance on the two folders with its
     default workers and batch size: `python -m pytorch_fid pred gt` without its weights
     download (the same InceptionV3, loaded offline by colorbench.weights).
   - colorbench cold: `python -m colorbench score ... --json` with COLORBENCH_CACHE a fresh
     folder holding only a link to the weights: no cached real-image FID statistics.
   - colorbench warm: the same with a cache that one earlier, untimed score run filled.
   --reps repetitions, the three taking turns (the order reversing every repetition);
   medians of wall time, CPU time (user + sys of the child and its reaped children, os.wait4)
   and peak RSS (ru_maxrss: the largest single process). Ratios against the usual tools, and
   the relative difference of every metric's value between the two sides.
2. Memory: peak RSS of a cold `colorbench score` with all five metrics at each --memory-n
   (fresh subprocesses, --memory-reps runs each, the sizes taking turns), and the ratio of the
   medians of the last to the first; beside them the peak RSS of a process that only imports
   what score imports (torch, torchvision, torchmetrics, lpips, pytorch-fid), and each peak
   above that floor.
The machine may be shared: the load average is printed; noisy numbers need a rerun.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
METRICS = ("psnr", "ssim", "colorfulness", "lpips", "fid")
PINNING_VARS = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "NUMEXPR_NUM_THREADS",
                "VECLIB_MAXIMUM_THREADS", "TORCH_NUM_THREADS")
TARGETS = {"cold": 0.5, "warm": 0.3}  # issue 14: wall time at most this fraction of the usual tools'
MEMORY_TARGETS = (1.2e9, 1.1)  # bytes at the first N, growth to the last N


# --- pairs ----------------------------------------------------------------------------------

def photo_files(folder: Path | None) -> list[Path]:
    if folder is None or not folder.is_dir():
        return []
    return sorted(p for p in folder.iterdir() if p.suffix.lower() in {".jpeg", ".jpg", ".png"})


CROPS = (0.5, 0.0, 1.0, 0.25, 0.75)  # crop positions of a photo's successive copies


def photo_truth(path: Path, size: int, flip: bool, position: float = 0.5) -> np.ndarray:
    """(size, size, 3) uint8: the photo's shorter side resized to size, cropped at `position` along
    the longer side (0.5: the centre)."""
    with Image.open(path) as img:
        img = img.convert("RGB")
        scale = size / min(img.size)
        img = img.resize((max(size, round(img.width * scale)), max(size, round(img.height * scale))), Image.BICUBIC)
        left, top = int((img.width - size) * position), int((img.height - size) * position)  # 0.5: (w - size) // 2
        arr = np.asarray(img.crop((left, top, left + size, top + size)))
    return arr[:, ::-1] if flip else arr


def synthetic_truth(rng: np.random.Generator, size: int) -> np.ndarray:
    """A smooth random colour field with a little texture, as uint8."""
    low = Image.fromarray((rng.random((6, 6, 3)) * 255).astype(np.uint8)).resize((size, size), Image.BICUBIC)
    arr = np.asarray(low) / 255.0 + 0.05 * rng.standard_normal((size, size, 3))
    return (arr.clip(0, 1) * 255).round().astype(np.uint8)


def make_pairs(root: Path, n: int, size: int, photos: list[Path], seed: int = 0) -> tuple[Path, Path]:
    """root/pred and root/gt with n PNG pairs; the prediction is a desaturated, shifted guess.
    Past the first len(photos) pairs, each further copy of a photo is another crop of it, mirrored
    every other copy: up to ten copies no two pairs repeat (a square photo's differ only by the
    mirror), so at N > 2048 the FID covariances are full rank, as a real test set's are
    (repeated images would make them singular)."""
    rng = np.random.default_rng(seed)
    pred_dir, gt_dir = root / "pred", root / "gt"
    pred_dir.mkdir(parents=True, exist_ok=True)
    gt_dir.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        if photos:
            copy = i // len(photos)
            gt = photo_truth(photos[i % len(photos)], size, flip=copy % 2 == 1, position=CROPS[copy % len(CROPS)])
        else:
            gt = synthetic_truth(rng, size)
        g = gt / 255.0
        grey = g.mean(axis=2, keepdims=True)
        pred = (grey + 0.6 * (g - grey) + 0.05 * rng.standard_normal(3)).clip(0, 1)
        Image.fromarray(gt).save(gt_dir / f"{i:05d}.png", compress_level=1)
        Image.fromarray((pred * 255).round().astype(np.uint8)).save(pred_dir / f"{i:05d}.png", compress_level=1)
    return pred_dir, gt_dir


def linked_subset(src: Path, dst: Path, n: int) -> Path:
    """dst/pred and dst/gt hard-linking the first n pairs of src (no copies)."""
    for side in ("pred", "gt"):
        (dst / side).mkdir(parents=True, exist_ok=True)
        for f in sorted((src / side).iterdir())[:n]:
            os.link(f, dst / side / f.name)
    return dst


# --- the usual tools (run as a child process) -----------------------------------------------

def colorfulness_np(img: np.ndarray) -> float:
    r, g, b = (img[..., i].astype(np.float64) for i in range(3))
    rg, yb = r - g, 0.5 * (r + g) - b
    return float(np.sqrt(rg.std() ** 2 + yb.std() ** 2) + 0.3 * np.sqrt(rg.mean() ** 2 + yb.mean() ** 2))


def _read(path: Path) -> np.ndarray:
    return np.asarray(Image.open(path).convert("RGB"))


def usual_tools(pred: Path, gt: Path) -> dict:
    """What a user runs without colorbench, one tool per metric family; dataset-level values."""
    import torch
    from pytorch_fid.fid_score import (
        calculate_frechet_distance,
        compute_statistics_of_path,
    )
    from skimage.metrics import peak_signal_noise_ratio, structural_similarity

    sys.path.insert(0, str(ROOT))
    from colorbench.weights import (  # offline weights, same networks
        load_fid_inception,
        load_lpips,
    )

    names = sorted(f.name for f in gt.iterdir())
    psnr, ssim, cf, lp = [], [], [], []
    for name in names:  # a skimage script
        p, g = _read(pred / name) / 255.0, _read(gt / name) / 255.0
        psnr.append(peak_signal_noise_ratio(g, p, data_range=1))
        ssim.append(structural_similarity(g, p, channel_axis=-1, gaussian_weights=True, sigma=1.5,
                                          use_sample_covariance=False, data_range=1))
    for name in names:  # a numpy colourfulness script
        cf.append(colorfulness_np(_read(pred / name)))
    model = load_lpips("alex", "cpu")  # lpips' per-pair loop (lpips_2dirs.py)
    to_t = lambda a: torch.from_numpy(a.copy()).permute(2, 0, 1)[None].float() / 127.5 - 1  # noqa: E731
    with torch.no_grad():
        for name in names:
            lp.append(model(to_t(_read(gt / name)), to_t(_read(pred / name))).item())
    inception = load_fid_inception("cpu").inception  # pytorch-fid's InceptionV3([3]), its defaults
    workers = min(len(os.sched_getaffinity(0)), 8)  # python -m pytorch_fid's default
    stats = [compute_statistics_of_path(str(d), inception, 50, 2048, "cpu", workers) for d in (pred, gt)]
    fid = calculate_frechet_distance(*stats[0], *stats[1])
    return {"psnr": float(np.mean(psnr)), "ssim": float(np.mean(ssim)), "colorfulness": float(np.mean(cf)),
            "lpips": float(np.mean(lp)), "fid": float(fid), "n": len(names)}


# --- running a side -------------------------------------------------------------------------

def child_env(cache: Path) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in PINNING_VARS}
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])])
    env["COLORBENCH_CACHE"] = str(cache)
    return env


def fresh_cache(parent: Path, weights: Path) -> Path:
    """An empty colorbench cache that still finds the weights (a link to the user's folder)."""
    cache = Path(tempfile.mkdtemp(prefix="cache-", dir=parent))
    (cache / "weights").symlink_to(weights, target_is_directory=True)
    return cache


# A child's ru_maxrss starts at its parent's RSS when it was spawned (Linux keeps the old memory's
# high-water mark across exec), and this benchmark holds torch and the pairs (~1.2 GB): measured
# straight from here, a floor process read the parent's 1.277 GB instead of its own ~1 GB. So the
# command runs as the child of a small launcher (python -S, ~10 MB), which reports its usage.
LAUNCHER = """import os, sys
pid = os.fork()
if pid == 0:
    os.execvpe(sys.argv[2], sys.argv[2:], os.environ)
_, status, usage = os.wait4(pid, 0)
with open(sys.argv[1], "w") as f:
    f.write(f"{usage.ru_maxrss} {usage.ru_utime + usage.ru_stime}")
sys.exit(os.waitstatus_to_exitcode(status) & 255)
"""


def run_child(cmd: list[str], env: dict, workdir: Path) -> dict:
    """Run cmd; its JSON stdout plus wall s, CPU s (user + sys, reaped children included), and its
    own peak RSS (through LAUNCHER)."""
    out_path, err_path, usage_path = workdir / "child.out", workdir / "child.err", workdir / "child.usage"
    with open(out_path, "w") as out, open(err_path, "w") as err:
        t0 = time.perf_counter()
        proc = subprocess.run([sys.executable, "-S", "-c", LAUNCHER, str(usage_path), *cmd],
                              stdout=out, stderr=err, env=env, cwd=ROOT)
        wall = time.perf_counter() - t0
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd[:4])} ... exited {proc.returncode}:\n{err_path.read_text()[-3000:]}")
    values = json.loads(out_path.read_text().strip().splitlines()[-1])
    maxrss_kb, cpu = usage_path.read_text().split()
    return {"values": values, "wall": wall, "cpu": float(cpu), "rss": int(maxrss_kb) * 1024}


def score_cmd(pred: Path, gt: Path) -> list[str]:
    return [sys.executable, "-m", "colorbench", "score", "--pred", str(pred), "--gt", str(gt),
            "--metrics", ",".join(METRICS), "--json"]


def usual_cmd(pred: Path, gt: Path) -> list[str]:
    return [sys.executable, str(Path(__file__).resolve()), "--usual-child", str(pred), str(gt)]


# --- 1. speed and agreement -----------------------------------------------------------------

def speed_runs(args, pred: Path, gt: Path, work: Path, weights: Path) -> tuple[dict, bool]:
    """{side: [run, ...]} with the sides taking turns; and whether score cached real statistics."""
    warm_cache = fresh_cache(work, weights)
    run_child(score_cmd(pred, gt), child_env(warm_cache), work)  # the first baseline fills the cache
    cached = any((warm_cache / "fid-stats").glob("*"))
    sides = {
        "usual tools": lambda: run_child(usual_cmd(pred, gt), child_env(fresh_cache(work, weights)), work),
        "colorbench cold": lambda: run_child(score_cmd(pred, gt), child_env(fresh_cache(work, weights)), work),
        "colorbench warm": lambda: run_child(score_cmd(pred, gt), child_env(warm_cache), work),
    }
    runs: dict[str, list[dict]] = {name: [] for name in sides}
    for rep in range(args.reps):
        for name in list(sides) if rep % 2 == 0 else list(sides)[::-1]:
            runs[name].append(sides[name]())
            r = runs[name][-1]
            print(f"  [rep {rep + 1}] {name:<16} wall {r['wall']:7.1f} s  CPU {r['cpu']:7.1f} s  "
                  f"peak RSS {r['rss'] / 2**30:5.2f} GiB", file=sys.stderr, flush=True)
    return runs, cached


def _median(runs: list[dict], key: str) -> float:
    return statistics.median(r[key] for r in runs)


def rel_diff(a: float, b: float) -> float:
    return abs(a - b) / abs(b) if b else abs(a - b)


def report_speed(runs: dict, cached: bool) -> None:
    usual = runs["usual tools"]
    print(f"\n{'':<16} {'wall s (median, runs)':<34} {'CPU s':>8} {'peak RSS GiB':>13}")
    for name, rs in runs.items():
        walls = ", ".join(f"{r['wall']:.1f}" for r in rs)
        print(f"{name:<16} {_median(rs, 'wall'):7.1f}  [{walls}]".ljust(51)
              + f" {_median(rs, 'cpu'):8.1f} {_median(rs, 'rss') / 2**30:13.2f}")
    print("\nratio colorbench / usual tools (medians): wall, CPU, peak RSS")
    for side, target in TARGETS.items():
        rs = runs[f"colorbench {side}"]
        wall = _median(rs, "wall") / _median(usual, "wall")
        print(f"  {side:<5} wall {wall:5.2f}x (target <= {target}x: {'met' if wall <= target else 'NOT met'}), "
              f"CPU {_median(rs, 'cpu') / _median(usual, 'cpu'):5.2f}x, "
              f"peak RSS {_median(rs, 'rss') / _median(usual, 'rss'):5.2f}x")
    if not cached:
        print("  note: `colorbench score` cached no real-image FID statistics (fid-stats/ stayed empty), "
              "so warm repeats the cold work")
    report_values(runs)


def report_values(runs: dict) -> None:
    ref, cold, warm = (runs[k][0]["values"] for k in ("usual tools", "colorbench cold", "colorbench warm"))
    print(f"\nvalues (N = {cold['n']}): {'usual tools':>14} {'colorbench':>14} {'rel. diff':>10} {'warm vs cold':>13}")
    for m in METRICS:
        print(f"  {m:<13} {ref[m]:>23.8g} {cold[m]:>14.8g} {rel_diff(cold[m], ref[m]):>10.2g} "
              f"{rel_diff(warm[m], cold[m]):>13.2g}")
    for name, rs in runs.items():
        if any(r["values"] != rs[0]["values"] for r in rs[1:]):
            print(f"  note: {name} gave different values in different repetitions")
    if ref["n"] != cold["n"]:
        print(f"  note: the sides scored different numbers of pairs: {ref['n']} vs {cold['n']}")


# --- 2. memory ------------------------------------------------------------------------------

# What `colorbench score` imports before it reads an image: the floor under its peak RSS.
FLOOR_CODE = ("import colorbench.cli, torch, torchvision, torchmetrics, lpips, pytorch_fid.inception, "
              "colorbench.scoring.engine; print('{}')")


def memory(args, work: Path, weights: Path, photos: list[Path]) -> None:
    """A single peak varies by a tenth or more run to run (allocator timing with two threads):
    --memory-reps runs per N, the sizes taking turns, and the medians; the import floor (a
    process that only imports what score imports) is measured in the same turns."""
    ns = sorted(args.memory_n)
    src = work / "memory"
    make_pairs(src, ns[-1], args.size, photos, seed=1)
    folders = {n: src if n == ns[-1] else linked_subset(src, work / f"memory-{n}", n) for n in ns}
    runs: dict[int | str, list[float]] = {n: [] for n in ["floor", *ns]}
    for rep in range(args.memory_reps):
        for n in ["floor", *(ns if rep % 2 == 0 else ns[::-1])]:
            cmd = ([sys.executable, "-c", FLOOR_CODE] if n == "floor"
                   else score_cmd(folders[n] / "pred", folders[n] / "gt"))
            r = run_child(cmd, child_env(fresh_cache(work, weights)), work)
            runs[n].append(r["rss"])
            print(f"  [memory {rep + 1}] N={n}: wall {r['wall']:.1f} s, peak RSS {r['rss'] / 2**30:.2f} GiB",
                  file=sys.stderr, flush=True)
    peaks = {n: statistics.median(v) for n, v in runs.items()}
    floor = peaks.pop("floor")
    print(f"\nmemory: peak RSS of a cold `colorbench score` ({', '.join(METRICS)}), fresh processes, "
          f"median of {args.memory_reps}")
    print(f"  imports only {floor / 1e9:6.3f} GB  runs [{', '.join(f'{v / 1e9:.3f}' for v in runs['floor'])}] GB")
    for n in ns:
        shown = ", ".join(f"{v / 1e9:.3f}" for v in runs[n])
        print(f"  N={n:<10} {peaks[n] / 1e9:6.3f} GB ({peaks[n] / 2**30:.3f} GiB), {(peaks[n] - floor) / 1e9:.3f} GB "
              f"above the imports  runs [{shown}] GB")
    growth = peaks[ns[-1]] / peaks[ns[0]]
    limit, max_growth = MEMORY_TARGETS
    print(f"  N={ns[0]} peak {'<=' if peaks[ns[0]] <= limit else '>'} {limit / 1e9:.1f} GB target; "
          f"growth N={ns[0]} -> N={ns[-1]}: {growth:.3f}x (target <= {max_growth}x: "
          f"{'met' if growth <= max_growth else 'NOT met'}); above the imports: "
          f"{(peaks[ns[-1]] - floor) / (peaks[ns[0]] - floor):.3f}x")


# --- main -----------------------------------------------------------------------------------

def user_weights() -> Path:
    sys.path.insert(0, str(ROOT))
    from colorbench.paths import cache_root

    weights = cache_root() / "weights"
    if not (weights / "manifest.json").exists():
        sys.exit(f"bench_metrics: no colorbench weights in {weights}: run `colorbench weights fetch` first")
    return weights.resolve()


def header(args, photos: list[Path], photo_dir: Path | None) -> None:
    import torch

    source = f"crops of {len(photos)} photos from {photo_dir} (centre first)" if photos else "synthetic colour fields"
    pinned = [v for v in PINNING_VARS if v in os.environ]
    sizes = ([str(args.n)] if not args.skip_speed else []) + ([] if args.skip_memory else [f"memory N={args.memory_n}"])
    print(f"pairs: {', '.join(sizes)} at {args.size}x{args.size} px, {source}; "
          "predictions: desaturated, shifted guesses")
    print(f"{os.cpu_count()} CPUs, torch {torch.__version__} with {torch.get_num_threads()} threads by default; "
          f"children run with nothing pinned{' (removed ' + ', '.join(pinned) + ')' if pinned else ''}; "
          f"{args.reps} repetitions, sides taking turns; load average {os.getloadavg()[0]:.2f}", flush=True)


def parse_args() -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=200, help="pairs for the speed comparison")
    ap.add_argument("--size", type=int, default=256)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--photos", type=Path, help="folder of photos (default: $COLORBENCH_DATA/imagenet-samples)")
    ap.add_argument("--skip-speed", action="store_true")
    ap.add_argument("--skip-memory", action="store_true")
    ap.add_argument("--memory-n", type=lambda s: [int(x) for x in s.split(",")], default=[200, 2000],
                    help="comma-separated pair counts for the memory runs (default 200,2000)")
    ap.add_argument("--memory-reps", type=int, default=3, help="runs per pair count (default 3; medians)")
    ap.add_argument("--usual-child", nargs=2, type=Path, metavar=("PRED", "GT"), help=argparse.SUPPRESS)
    return ap.parse_args()


def main() -> None:
    args = parse_args()
    if args.usual_child:
        print(json.dumps(usual_tools(*args.usual_child)))
        return
    photo_dir = args.photos or (Path(os.environ["COLORBENCH_DATA"]) / "imagenet-samples"
                                if os.environ.get("COLORBENCH_DATA") else None)
    photos = photo_files(photo_dir)
    weights = user_weights()
    header(args, photos, photo_dir)
    work = Path(tempfile.mkdtemp(prefix="bench-metrics-"))
    try:
        if not args.skip_speed:
            pred, gt = make_pairs(work / "pairs", args.n, args.size, photos)
            report_speed(*speed_runs(args, pred, gt, work, weights))
        if not args.skip_memory:
            memory(args, work, weights, photos)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(f"\nload average at the end: {os.getloadavg()[0]:.2f} (other work on the machine makes every side slower "
          f"and the multi-threaded one erratic)")


if __name__ == "__main__":
    main()
