"""Peak memory of `colorbench colorize` on one large photo, against the import floor.

  python scripts/bench_colorize.py [--sizes 2000,8000] [--reps 1] [--baselines gray,autoencoder]

A tiny run is made first (kodak24 as the test set, cbsd68 training an autoencoder for one epoch
at 32 px, in a temporary folder with its own cache): `gray` is a model without an input size
(before issue 23 it ran on the full-resolution L), `autoencoder` one with an input size (its ab
upsampled onto the full-resolution L). Each size is one JPEG (a Kodak photo resized to a
square, or a smooth random colour field without $COLORBENCH_DATA), colorized by a fresh
`python -m colorbench colorize` process per (baseline, size), the sizes taking turns over
--reps repetitions. Peak RSS is ru_maxrss of that process (os.wait4); the import floor is a
process that imports only what `colorize` imports before it reads an image, measured in the
same turns. Printed: each median, the part above the floor, and bytes per pixel above the
floor. The machine may be shared: the load average is printed.
"""
from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import yaml
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
FLOOR_CODE = ("import colorbench.cli, colorbench.commands.colorize, torch, tqdm, baselines.registry, "
              "colorbench.restore, colorbench.pipeline.colorize, colorbench.imageio, colorbench.data.sources")


def child_env(cache: Path) -> dict:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])])
    env["COLORBENCH_CACHE"] = str(cache)
    return env


def run_child(cmd: list[str], env: dict, workdir: Path) -> dict:
    """Run cmd; wall seconds and peak RSS (bytes) of the process, exit code checked."""
    err_path = workdir / "child.err"
    with open(workdir / "child.out", "w") as out, open(err_path, "w") as err:
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=out, stderr=err, env=env, cwd=ROOT)
        _, status, usage = os.wait4(proc.pid, 0)
    code = os.waitstatus_to_exitcode(status)
    if code != 0:
        raise RuntimeError(f"{' '.join(cmd[:6])} ... exited {code}:\n{err_path.read_text()[-3000:]}")
    return {"wall": time.perf_counter() - t0, "rss": usage.ru_maxrss * 1024}


def make_run(work: Path, env: dict) -> Path:
    out = work / "run"
    cfg = {
        "version": 1, "device": "cpu", "output_dir": str(out), "scale": "small",
        "scales": {"small": {"eval_size": 32, "max_test_images": 2, "max_train_images": 8, "max_val_images": 2,
                             "epochs": 1, "image_size": 32}},
        "evaluation": {"metrics": ["mse"], "grid_images": 0},
        "datasets": [{"name": "kodak24", "split": {"train": 0.0, "val": 0.0, "test": 1.0}},
                     {"name": "cbsd68", "split": {"train": 0.8, "val": 0.1, "test": 0.1}}],
        "baselines": [{"name": "gray"}, {"name": "autoencoder", "train_on": "cbsd68", "small": {"batch_size": 4}}],
    }
    (work / "bench.yaml").write_text(yaml.safe_dump(cfg))
    run_child([sys.executable, "-m", "colorbench", "run", str(work / "bench.yaml")], env, work)
    return out


def make_photo(folder: Path, size: int) -> Path:
    folder.mkdir(parents=True)
    data = os.environ.get("COLORBENCH_DATA")
    source = Path(data) / "kodak24" / "kodim23.png" if data else None
    if source is not None and source.is_file():
        with Image.open(source) as img:
            photo = img.convert("RGB").resize((size, size), Image.BICUBIC)
    else:
        rng = np.random.default_rng(size)
        photo = Image.fromarray((rng.random((8, 8, 3)) * 255).astype(np.uint8)).resize((size, size), Image.BICUBIC)
    path = folder / f"photo{size}.jpg"
    photo.save(path, quality=90)
    return path


def colorize_cmd(run: Path, baseline: str, source: Path, out: Path) -> list[str]:
    return [sys.executable, "-m", "colorbench", "colorize", "--run", str(run), "--baseline", baseline,
            "--input", str(source), "--out", str(out), "--device", "cpu"]


def measure(args, work: Path, env: dict, run: Path) -> dict:
    inputs = {s: make_photo(work / f"in{s}", s).parent for s in args.sizes}
    keys = [(b, s) for b in args.baselines for s in args.sizes]
    runs: dict = {"floor": [], **{k: [] for k in keys}}
    for rep in range(args.reps):
        for key in ["floor", *(keys if rep % 2 == 0 else keys[::-1])]:
            if key == "floor":
                cmd = [sys.executable, "-c", FLOOR_CODE]
            else:
                cmd = colorize_cmd(run, key[0], inputs[key[1]], work / f"out-{key[0]}-{key[1]}-{rep}")
            r = run_child(cmd, env, work)
            runs[key].append(r["rss"])
            print(f"  [rep {rep + 1}] {key}: wall {r['wall']:.1f} s, peak RSS {r['rss'] / 1e9:.3f} GB",
                  file=sys.stderr, flush=True)
    return runs


def report(args, runs: dict) -> None:
    floor = statistics.median(runs["floor"])
    print(f"\npeak RSS of `colorbench colorize` on one JPEG, fresh processes, median of {args.reps}")
    print(f"  import floor          {floor / 1e9:7.3f} GB  runs [{', '.join(f'{v / 1e9:.3f}' for v in runs['floor'])}]")
    for baseline in args.baselines:
        for size in args.sizes:
            peak = statistics.median(runs[(baseline, size)])
            above = peak - floor
            print(f"  {baseline:<11} {size:>5}^2  {peak / 1e9:7.3f} GB, {above / 1e9:6.3f} GB above the floor, "
                  f"{above / size**2:6.1f} B/px  runs [{', '.join(f'{v / 1e9:.3f}' for v in runs[(baseline, size)])}]")


def parse_args() -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", type=lambda s: [int(x) for x in s.split(",")], default=[2000, 8000],
                    help="square photo sides in px (default 2000,8000)")
    ap.add_argument("--reps", type=int, default=1, help="runs per (baseline, size), medians (default 1)")
    ap.add_argument("--baselines", type=lambda s: s.split(","), default=["gray", "autoencoder"])
    return ap.parse_args()


def main() -> None:
    args = parse_args()
    print(f"sizes {args.sizes}, baselines {args.baselines}, {args.reps} repetition(s); {os.cpu_count()} CPUs, "
          f"load average {os.getloadavg()[0]:.2f}", flush=True)
    with tempfile.TemporaryDirectory(prefix="bench-colorize-") as tmp:
        work = Path(tmp)
        env = child_env(work / "cache")
        run = make_run(work, env)
        report(args, measure(args, work, env, run))


if __name__ == "__main__":
    main()
