"""Benchmark FID's distance at full size: pytorch-fid's calculate_frechet_distance (scipy's sqrtm)
against colorbench.metrics.fid.frechet_distance (the eigenvalues of S1 S2).

  python scripts/bench_frechet.py [--n 2000] [--reps 2]

Two sets of N correlated random 2048-d "features" (N >= 1024 means no projection: the full
2048 x 2048 problem, as FID on 1000 or more images a set), their means and covariances saved
once. Each method runs in a fresh process per repetition that loads them, the two taking turns;
it prints the median seconds and the peak RSS the distance adds to the loaded process
(ru_maxrss), the ratios, and the relative difference of the FIDs.
"""
from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
METHODS = ("pytorch-fid sqrtm", "colorbench eigenvalues")


def gaussians(n: int, dim: int = 2048, seed: int = 0) -> tuple[np.ndarray, ...]:
    rng = np.random.default_rng(seed)
    mix = rng.random((dim, dim)) / dim
    a, b = rng.random((n, dim)) @ mix, rng.random((n, dim)) @ mix + 0.01
    return a.mean(0), np.cov(a, rowvar=False), b.mean(0), np.cov(b, rowvar=False)


def child(method: str, inputs: Path) -> None:
    from pytorch_fid.fid_score import calculate_frechet_distance

    sys.path.insert(0, str(ROOT))
    from colorbench.metrics.fid import frechet_distance

    with np.load(inputs) as saved:
        args = tuple(saved[k] for k in ("mu1", "sigma1", "mu2", "sigma2"))
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    start = time.perf_counter()
    with warnings.catch_warnings():  # scipy >= 1.16 deprecates the `disp` argument pytorch-fid uses
        warnings.simplefilter("ignore", DeprecationWarning)
        value = float(calculate_frechet_distance(*args)) if method == METHODS[0] else frechet_distance(*args)
    seconds = time.perf_counter() - start
    added = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) * 1024
    print(json.dumps({"seconds": seconds, "added": added, "fid": value}))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=2000, help="images per set (default 2000)")
    ap.add_argument("--reps", type=int, default=2)
    ap.add_argument("--child", nargs=2, metavar=("METHOD", "INPUTS"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        return child(args.child[0], Path(args.child[1]))
    runs: dict[str, list[dict]] = {m: [] for m in METHODS}
    with tempfile.TemporaryDirectory() as tmp:
        inputs = Path(tmp) / "gaussians.npz"
        np.savez(inputs, **dict(zip(("mu1", "sigma1", "mu2", "sigma2"), gaussians(args.n))))
        for rep in range(args.reps):
            for method in METHODS if rep % 2 == 0 else METHODS[::-1]:
                out = subprocess.run([sys.executable, __file__, "--child", method, str(inputs)],
                                     capture_output=True, text=True, check=True, cwd=ROOT)
                runs[method].append(json.loads(out.stdout.strip().splitlines()[-1]))
    print(f"FID distance, two sets of {args.n} 2048-d features, {args.reps} fresh processes per method, medians")
    med = {m: {k: statistics.median(r[k] for r in runs[m]) for k in ("seconds", "added")} for m in METHODS}
    for m in METHODS:
        print(f"  {m:<24} {med[m]['seconds']:6.2f} s  +{med[m]['added'] / 1e6:5.0f} MB peak RSS  "
              f"FID {runs[m][0]['fid']!r}")
    ref, ours = (med[m] for m in METHODS)
    fids = [runs[m][0]["fid"] for m in METHODS]
    print(f"  ratio eigenvalues / sqrtm: time {ours['seconds'] / ref['seconds']:.2f}x, "
          f"added memory {ours['added'] / ref['added']:.2f}x; FID rel. diff {abs(fids[1] - fids[0]) / abs(fids[0]):.1e}")


if __name__ == "__main__":
    main()
