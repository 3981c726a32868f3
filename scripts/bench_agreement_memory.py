"""Benchmark the memory of the human-study statistics against the number of raters.

  python scripts/bench_agreement_memory.py [--raters 5000 40000] [--ratings 200000] [--resamples 1000]

A synthetic rated set (no images: the metric values are drawn, so only the statistics run):
20 scenes x 6 test images of 3 systems, each rating a random (rater, image) pair with a score
1..5. Two computations, each in a fresh process per case:
- agreement: agreement.analyse, as `colorbench agreement` runs it (per-rater z-scores, the
  bootstrap over scenes and raters with --resamples replicates, two metrics);
- study: study.bootstrap.two_way_bootstrap, as `study analyze` runs it (2000 replicates), on the
  same ratings as votes.
Each prints its peak RSS above the import floor: a process that imports the same modules and
builds nothing, measured in the same run. The cases: each --raters value with --ratings ratings
(more raters, the same ratings), and the largest with twice the ratings (more ratings, the same
raters).
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _imports():
    sys.path.insert(0, str(ROOT))
    from colorbench.human import agreement, ratings
    from colorbench.metrics.registry import METRICS
    from colorbench.study import bootstrap  # noqa: F401 - part of the floor

    METRICS.get("psnr")  # the registry's imports, as analyse makes them
    return agreement, ratings


def build_inputs(n_raters: int, n_ratings: int, seed: int = 0):
    import numpy as np
    import pandas as pd

    agreement, R = _imports()
    rng = np.random.default_rng(seed)
    scenes, tests = 20, 6
    ids = [f"s{s}_t{k}" for s in range(scenes) for k in range(tests)]
    has_role = "is_reference" in {f.name for f in dataclasses.fields(R.RatedItem)}  # the field this change added
    role = {"is_reference": False} if has_role else {}
    items = [R.RatedItem(i, Path(f"/none/{i[:3]}.png"), Path(f"/none/{i}.png"), i.split("_")[0], f"sys{int(i[-1]) % 3}", **role)
             for i in ids]
    quality = rng.normal(size=len(ids))
    item = rng.integers(0, len(ids), n_ratings)
    rater = np.arange(n_ratings) % n_raters  # every rater rates about n_ratings / n_raters images
    score = np.clip(np.rint(3 + quality[item] + rng.normal(0, 1, n_ratings)), 1, 5)
    frame = pd.DataFrame({"rater": [f"r{k}" for k in rater], "item": [ids[k] for k in item], "score": score,
                          "scale_min": 1.0, "scale_max": 5.0})
    rs = R.build_rated_set("bench", items, frame, "synthetic")
    zs = R.zscores(rs, "rater")
    values = {"psnr": 30 + 3 * quality + rng.normal(0, 1, len(ids)), "ssim": 0.8 + 0.05 * quality + rng.normal(0, 0.03, len(ids))}
    return agreement.Inputs(rs, zs, R.item_table(rs, zs), ids, values)


def child(case: str, n_raters: int, n_ratings: int, resamples: int) -> None:
    agreement, _ = _imports()
    start = time.perf_counter()
    if case == "agreement":
        agreement.analyse(build_inputs(n_raters, n_ratings), n_resamples=resamples)
    elif case == "study":
        from colorbench.study.bootstrap import RESAMPLES, two_way_bootstrap

        inp = build_inputs(n_raters, n_ratings)
        votes = inp.rs.ratings.assign(dataset="d", image_id=inp.rs.ratings["item"].str.split("_").str[0],
                                      system=[inp.rs.item(i).system for i in inp.rs.ratings["item"]])
        two_way_bootstrap(votes, n_resamples=RESAMPLES)
    seconds = time.perf_counter() - start
    print(json.dumps({"peak": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024, "seconds": seconds}))


def _run(case: str, n_raters: int, n_ratings: int, resamples: int) -> dict:
    cmd = [sys.executable, __file__, "--child", case, str(n_raters), str(n_ratings), str(resamples)]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True, cwd=ROOT).stdout
    return json.loads(out.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--raters", type=int, nargs="+", default=[5000, 40000])
    ap.add_argument("--ratings", type=int, default=200_000)
    ap.add_argument("--resamples", type=int, default=1000)
    ap.add_argument("--child", nargs=4, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        case, *numbers = args.child
        child(case, *map(int, numbers))
        return
    floor = _run("floor", 1, 1, 1)["peak"]
    print(f"import floor: {floor / 1e6:.0f} MB peak RSS; {args.resamples} resamples")
    cases = [(r, args.ratings) for r in args.raters] + [(max(args.raters), 2 * args.ratings)]
    for what in ("agreement", "study"):
        added = {}
        for n_raters, n_ratings in cases:
            got = _run(what, n_raters, n_ratings, args.resamples)
            added[n_raters, n_ratings] = got["peak"] - floor
            print(f"{what:>9}: {n_raters:>8} raters {n_ratings:>8} ratings: +{added[n_raters, n_ratings] / 1e6:7.1f} MB "
                  f"above the floor, {got['seconds']:.1f} s")
        (lo, n), (hi, _) = cases[0], cases[len(args.raters) - 1]
        grow = added[hi, n] - added[lo, n]
        print(f"{what:>9}: {hi / lo:g}x the raters, same ratings: memory x{added[hi, n] / added[lo, n]:.2f} "
              f"({grow / 1e6:+.1f} MB, {grow / (hi - lo) / 1e3:+.2f} KB per added rater); "
              f"2x the ratings, same raters: x{added[hi, 2 * n] / added[hi, n]:.2f}")


if __name__ == "__main__":
    main()
