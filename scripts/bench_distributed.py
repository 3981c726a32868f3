"""Scoring throughput of `colorbench score` on 1 process and on N gloo ranks under torchrun.

  python scripts/bench_distributed.py [--n 64] [--size 256] [--reps 3] [--ranks 2]

The same pairs as scripts/bench_metrics.py (crops of $COLORBENCH_DATA/imagenet-samples
with a desaturated guess), the same five metrics, cold caches (no cached real-image FID
statistics). Each repetition runs both sides as fresh subprocesses, taking turns; medians of
wall time; the ratio is images per second on N ranks over 1 process. Also checked in the same
run: the per-image file is byte-identical and every dataset-level value equal to 1e-9 relative,
against one process with one intra-op thread, as torchrun gives each rank (OMP_NUM_THREADS=1):
the float32 network forwards (Inception, LPIPS) and some float64 reductions round differently
with another thread count, which the comparison with the default-thread process shows. On a
2-core machine expect little gain: the point here is equality and no deadlock. On a GPU node the ranks run on separate devices and the gain is near N.
"""
from __future__ import annotations

import argparse
import math
import os
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_metrics import (  # noqa: E402  (a sibling script, not a package)
    METRICS,
    child_env,
    fresh_cache,
    make_pairs,
    photo_files,
    run_child,
    score_cmd,
    user_weights,
)


def torchrun_cmd(cmd: list[str], ranks: int) -> list[str]:
    return [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc_per_node={ranks}",
            *cmd[1:]]


def one_rep(cmd: list[str], out: Path, work: Path, weights: Path) -> dict:
    threads = cmd[0] == "OMP_NUM_THREADS=1"  # the reference side: one intra-op thread, as each rank has
    env = {**child_env(fresh_cache(work, weights)), **({"OMP_NUM_THREADS": "1"} if threads else {})}
    run = run_child([*cmd[threads:], "--out", str(out)], env, work)
    run["per_image"] = (out / "per_image.csv").read_bytes()
    return run


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=64)
    ap.add_argument("--size", type=int, default=256)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--ranks", type=int, default=2)
    args = ap.parse_args()
    weights = user_weights()
    data = os.environ.get("COLORBENCH_DATA")
    photos = photo_files(Path(data) / "imagenet-samples" if data else None)
    with tempfile.TemporaryDirectory(prefix="bench-dist-") as tmp:
        work = Path(tmp)
        pred, gt = make_pairs(work / "pairs", args.n, args.size, photos)
        base = score_cmd(pred, gt)
        sides = {"1 process": base, "1 process, 1 thread": ["OMP_NUM_THREADS=1", *base],
                 f"{args.ranks} ranks": torchrun_cmd(base, args.ranks)}
        runs: dict[str, list[dict]] = {k: [] for k in sides}
        for rep in range(args.reps):
            order = list(sides) if rep % 2 == 0 else list(sides)[::-1]
            for name in order:
                runs[name].append(one_rep(sides[name], work / f"out-{len(runs[name])}-{name[0]}", work, weights))
        report(args, runs)


def report(args, runs: dict[str, list[dict]]) -> None:
    print(f"{args.n} pairs of {args.size} px, metrics {','.join(METRICS)}, "
          f"{args.reps} reps, {os.cpu_count()} cores, load {os.getloadavg()[0]:.2f}")
    walls = {name: statistics.median(r["wall"] for r in rs) for name, rs in runs.items()}
    for name, wall in walls.items():
        print(f"  {name:>10}: {wall:7.1f} s wall (median), {args.n / wall:6.2f} images/s")
    one, ref, many = list(walls)
    print(f"  throughput ratio {many} / {one}: {walls[one] / walls[many]:.2f}x")
    first = {name: rs[0] for name, rs in runs.items()}
    same_rows = all(r["per_image"] == first[ref]["per_image"] for name in (ref, many) for r in runs[name])
    print(f"  against {one} (2 threads): per_image.csv identical: {first[one]['per_image'] == first[ref]['per_image']}, "
          f"largest relative difference {_worst(first[one], first[ref]):.1e} (float32 network forwards round "
          "differently with another thread count)")
    worst = _worst(first[ref], first[many])
    print(f"  {many} against {ref}: per_image.csv identical: {same_rows}; largest relative difference of a "
          f"dataset value: {worst:.1e}")
    if not same_rows or not math.isfinite(worst) or worst > 1e-9:
        sys.exit("bench_distributed: the ranks changed the result")


def _worst(a: dict, b: dict) -> float:
    worst = 0.0
    for metric in METRICS:  # `score --json` prints {metric: value, ..., "n": N}
        x, y = a["values"][metric], b["values"][metric]
        worst = max(worst, abs(x - y) / max(abs(x), 1e-300))
    return worst


if __name__ == "__main__":
    main()
