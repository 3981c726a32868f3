"""What evaluating the small scale at 176 px instead of 128 px costs (issue 26, item 4).

  python scripts/bench_eval_size.py [--baselines gray,oracle,transfer,resnet_lab] [--reps 1]

Runs `colorbench run` on benchmarks.yaml's datasets with a few of its baselines under two
protocols, each in a fresh process: the old one (eval_size 128, the metric list without
msssim_ab) and the new one (eval_size 176, benchmarks.yaml's metric list, msssim_ab included).
One untimed run first fills a private COLORBENCH_CACHE (trained checkpoints, real-image FID
statistics), so the timed runs load the same checkpoints: the checkpoint key holds the training
settings (64 px), not eval_size, and the script checks that both protocols used the same
checkpoint folders. From each run.json it sums the colorize and score seconds over baselines and
prints them per protocol with the ratios; training is the same under both. With --reps > 1 the
protocols take turns and medians are printed. The machine may be shared: the load average is
printed before and after.
"""
from __future__ import annotations

import argparse
import copy
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
OLD = {"eval_size": 128, "drop": ("msssim_ab",)}
NEW = {"eval_size": None, "drop": ()}  # None: benchmarks.yaml's own small eval_size


def config(base: dict, protocol: dict, baselines: list[str], out: Path) -> dict:
    cfg = copy.deepcopy(base)
    cfg["scale"], cfg["device"], cfg["output_dir"] = "small", "cpu", str(out)
    if protocol["eval_size"] is not None:
        cfg["scales"]["small"]["eval_size"] = protocol["eval_size"]
    cfg["evaluation"]["metrics"] = [m for m in cfg["evaluation"]["metrics"] if m not in protocol["drop"]]
    cfg["baselines"] = [b for b in cfg["baselines"] if b["name"] in baselines]
    return cfg


def run(cfg: dict, folder: Path, cache: Path) -> dict:
    path = folder / f"{Path(cfg['output_dir']).name}.yaml"
    path.write_text(yaml.safe_dump(cfg))
    env = {**os.environ, "COLORBENCH_CACHE": str(cache), "PYTHONPATH": str(ROOT)}
    subprocess.run([sys.executable, "-m", "colorbench", "run", str(path)], env=env, check=True,
                   stdout=subprocess.DEVNULL)
    run_json = json.loads((Path(cfg["output_dir"]) / "run.json").read_text())
    seconds = {k: sum((b.get("seconds") or {}).get(k, 0.0) for b in run_json["baselines"].values())
               for k in ("train", "colorize", "score")}
    checkpoints = sorted(str((b.get("train") or {}).get("checkpoint", "")) for b in run_json["baselines"].values())
    return {"seconds": seconds, "checkpoints": checkpoints, "eval_size": run_json["scale_settings"]["eval_size"]}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--baselines", default="gray,oracle,transfer,resnet_lab")
    ap.add_argument("--reps", type=int, default=1)
    args = ap.parse_args()
    base = yaml.safe_load((ROOT / "benchmarks.yaml").read_text())
    names = args.baselines.split(",")
    print(f"load average before: {os.getloadavg()[0]:.1f}")
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        cache = tmp / "cache"
        (cache / "weights").parent.mkdir(parents=True)
        (cache / "weights").symlink_to(Path.home() / ".cache" / "colorbench" / "weights")
        run(config(base, NEW, names, tmp / "warmup"), tmp, cache)  # trains and caches, untimed
        results = {"old": [], "new": []}
        for rep in range(args.reps):
            order = ("old", "new") if rep % 2 == 0 else ("new", "old")
            for key in order:
                protocol = OLD if key == "old" else NEW
                results[key].append(run(config(base, protocol, names, tmp / f"{key}{rep}"), tmp, cache))
    same = results["old"][0]["checkpoints"] == results["new"][0]["checkpoints"]
    print(f"load average after: {os.getloadavg()[0]:.1f}; baselines: {', '.join(names)}; "
          f"same checkpoints under both protocols: {same}")
    med = {key: {k: statistics.median(r["seconds"][k] for r in rs) for k in ("colorize", "score")}
           for key, rs in results.items()}
    for key in ("old", "new"):
        r = results[key][0]
        print(f"{key}: eval_size {r['eval_size']}: colorize {med[key]['colorize']:.1f} s, score {med[key]['score']:.1f} s")
    for k in ("colorize", "score"):
        print(f"ratio new/old {k}: {med['new'][k] / med['old'][k]:.2f}")
    total = {key: med[key]["colorize"] + med[key]["score"] for key in med}
    print(f"ratio new/old colorize+score: {total['new'] / total['old']:.2f}")


if __name__ == "__main__":
    main()
