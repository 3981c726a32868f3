"""GPU readiness check (issue 13, part 4): four steps, one table, non-zero exit on any failure.

  scripts/device-check.sh [--steps 1,2,3,4] [--keep DIR] [--dry-run] [--inject-nan]

With CUDA (under 8 minutes on one GPU):
  1. smoke     every built-in baseline (baselines/registry.py) at scale `paper`, epochs capped
               to 1, 64 training images of $COLORBENCH_DATA/imagenet-samples: `colorbench run`;
               every row must be ok.
  2. amp       training steps per second, amp off vs bf16, of resnet_lab, zhang313 and gan_rgb
               on a fixed random batch at the paper image size and batch size; FAIL only if a
               step raises or gives a non-finite loss.
  3. metrics   `colorbench score --metrics lpips,fid --json` on the same pairs (as
               scripts/bench_metrics.py makes them) with --device cuda and --device cpu:
               once as torch runs by default (cuDNN may use TF32 for convolutions) and once
               with NVIDIA_TF32_OVERRIDE=0 (full fp32); tolerances in TOLERANCES; each in
               a fresh cache, so the GPU computes its own real-image FID statistics.
  4. torchrun  `torchrun --standalone --nproc_per_node=1 -m colorbench run` of a small config
               (gray, transfer, autoencoder on cbsd68) exits 0 and its results.csv equals a
               plain `colorbench run` of it to tests/ci/tolerances.yaml (`colorbench compare`
               both ways, so a drift in either direction fails).
Without CUDA it says so and runs the same steps as a CPU dry run at tiny size (every baseline
at 32 px on a few images, metrics mse and psnr; 2 steps each with amp off both ways; CPU
against CPU once; torchrun with one CPU process, no FID), so CI keeps the script working; exit 0
if the dry run passed. --dry-run forces the dry run on a GPU machine too.

Every run uses a fresh colorbench cache (only the weights linked in), so nothing trained
earlier is reused. --inject-nan is a test hook: step 2's batch gets a NaN pixel, so its
non-finite-loss check must FAIL the step and the script must exit non-zero
(tests/test_device_check.py).
"""
from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_metrics import (  # noqa: E402
    ROOT,
    child_env,
    fresh_cache,
    make_pairs,
    photo_files,
    user_weights,
)

sys.path.insert(0, str(ROOT))
AMP_BASELINES = ("resnet_lab", "zhang313", "gan_rgb")
# Step 1's metrics: on the GPU the network metrics too; the dry run leaves LPIPS and FID to
# steps 3 and 4 (on 16 rows they would double its time).
SMOKE_METRICS = {True: ["mse", "psnr", "lpips", "fid"], False: ["mse", "psnr"]}
# |GPU - CPU|: LPIPS mean absolute, FID relative. fp32 (NVIDIA_TF32_OVERRIDE=0): only kernels
# and summation orders differ (~1e-6 relative on features). As torch runs by default, cuDNN may
# round convolution operands to TF32's 10 mantissa bits (2^-11 ~ 4.9e-4 relative each): bounds
# a hundred times looser, that catch a wrong result but not rounding.
TOLERANCES = {"fp32": {"lpips": 1e-5, "fid": 1e-4}, "tf32": {"lpips": 1e-3, "fid": 1e-2}}


@dataclass(frozen=True)
class Mode:
    """How big each step is: the real GPU check or the tiny CPU dry run."""

    device: str
    scale: dict  # step 1's scale caps
    amp: tuple[str, str]  # step 2: the two amp settings compared
    amp_steps: int
    amp_warmup: int
    pairs: tuple[int, int]  # step 3: number of pairs, size in px
    timeout: int  # seconds per subprocess

    @property
    def gpu(self) -> bool:
        return self.device == "cuda"


GPU = Mode("cuda", {"eval_size": 256, "epochs": 1, "max_train_images": 64, "max_val_images": 16,
                    "max_test_images": 16}, ("off", "bf16"), 20, 3, (64, 256), 420)
DRY = Mode("cpu", {"eval_size": 32, "epochs": 1, "image_size": 32, "max_train_images": 4, "max_val_images": 2,
                   "max_test_images": 4}, ("off", "off"), 2, 1, (8, 64), 300)


@dataclass
class Row:
    step: str
    what: str
    measured: str
    target: str
    ok: bool
    seconds: float = 0.0


@dataclass
class Ctx:
    mode: Mode
    work: Path
    weights: Path
    data: Path
    inject_nan: bool = False


# --- subprocesses -----------------------------------------------------------------------------

def colorbench(args: list[str], ctx: Ctx, cache: Path, env_extra: dict | None = None,
               torchrun: bool = False) -> subprocess.CompletedProcess:
    """`python -m colorbench ARGS` (or under torchrun, 1 process) with its own cache; output kept."""
    launcher = ["-m", "torch.distributed.run", "--standalone", "--nproc_per_node=1"] if torchrun else []
    env = {**child_env(cache), "COLORBENCH_DATA": str(ctx.data), **(env_extra or {})}
    try:
        return subprocess.run([sys.executable, *launcher, "-m", "colorbench", *args], env=env, cwd=ROOT,
                              capture_output=True, text=True, timeout=ctx.mode.timeout)
    except subprocess.TimeoutExpired as exc:
        return subprocess.CompletedProcess(exc.cmd, 124, exc.stdout or "", f"timed out after {exc.timeout} s")


def failure(proc: subprocess.CompletedProcess) -> str:
    tail = (proc.stderr or "").strip().splitlines()[-1:] or ["(no stderr)"]
    return f"exit {proc.returncode}: {tail[0][:150]}"


# --- step 1: every baseline ---------------------------------------------------------------------

def baseline_rows(mode: Mode) -> list[dict]:
    """A row for every registered baseline; params (and at small scale small_params) as
    benchmarks.yaml gives them, its per-baseline `small` blocks left out (the caps decide)."""
    from baselines.registry import BASELINES

    rows = {b["name"]: b for b in yaml.safe_load((ROOT / "benchmarks.yaml").read_text())["baselines"]}
    out = []
    for name in BASELINES.names():
        family, given = BASELINES.get(name), rows.get(name, {})
        row = {"name": name}
        if family.learned or family.prepares:
            row["train_on"] = "imagenet-samples"
        for key in ("params",) + (() if mode.gpu else ("small_params",)):
            if given.get(key):
                row[key] = given[key]
        out.append(row)
    return out


def smoke_config(mode: Mode, out: Path) -> dict:
    scale = "paper" if mode.gpu else "small"
    return {"version": 1, "seed": 0, "device": mode.device, "output_dir": str(out), "scale": scale,
            "scales": {scale: mode.scale},
            "evaluation": {"metrics": SMOKE_METRICS[mode.gpu], "batch_size": 16, "grid_images": 2},
            "datasets": [{"name": "imagenet-samples", "split": {"train": 0.8, "val": 0.1, "test": 0.1}}],
            "baselines": baseline_rows(mode)}


def step_smoke(ctx: Ctx) -> list[Row]:
    cfg, out = ctx.work / "smoke.yaml", ctx.work / "smoke-run"
    config = smoke_config(ctx.mode, out)
    cfg.write_text(yaml.safe_dump(config, sort_keys=False))
    n = len(config["baselines"])
    proc = colorbench(["run", str(cfg), "--device", ctx.mode.device], ctx, fresh_cache(ctx.work, ctx.weights))
    statuses = run_statuses(out)
    bad = [f"{k}: {v}" for k, v in statuses.items() if v != "ok"]
    ok = proc.returncode == 0 and len(statuses) == n and not bad
    measured = f"{sum(v == 'ok' for v in statuses.values())}/{n} ok" + (f"; {failure(proc)}" if proc.returncode else "")
    if bad:
        measured += f"; not ok: {', '.join(bad)[:200]}"
    scale = "paper scale, 1 epoch, 64 train images" if ctx.mode.gpu else "32 px, 1 epoch, 4 train images"
    return [Row("1 smoke", f"every baseline ({n}) trains, colorizes, scores: {scale}", measured,
                f"exit 0, all {n} rows ok", ok)]


def run_statuses(out: Path) -> dict[str, str]:
    try:
        run = json.loads((out / "run.json").read_text())
    except (OSError, ValueError):
        return {}
    return {name: b.get("status", "?") for name, b in run.get("baselines", {}).items()}


# --- step 2: bf16 vs fp32 steps per second ------------------------------------------------------

def steps_per_second(name: str, mode: Mode, inject_nan: bool) -> list[float]:
    """Train steps per second of `name` on one fixed random batch under each amp setting of
    mode.amp in turn, on the same model; ValueError on a non-finite loss."""
    import dataclasses

    import torch

    from baselines.registry import BASELINES
    from colorbench.training import runtime

    family, device = BASELINES.get(name), torch.device(mode.device)
    settings = family.train_defaults
    size, batch_size = (settings.image_size, settings.batch_size) if mode.gpu else (32, 2)
    torch.manual_seed(0)
    rgb = torch.rand(batch_size, 3, size, size, generator=torch.Generator().manual_seed(0))
    if inject_nan:
        rgb[0, 0, 0, 0] = float("nan")
    model, objective = family.create(**small_params(name, mode)), family.objective()
    objective.prepare(model, [(str(i), img) for i, img in enumerate(rgb)], settings)
    objective.on_epoch_start(settings.pretrain_epochs)  # past any generator-only pretraining
    model.to(device).train()
    if mode.gpu:
        model.to(memory_format=torch.channels_last)
    optimizers, batch = objective.optimizers(model, settings), runtime.batch(rgb, device, channels_last=mode.gpu)
    return [timed_steps(objective, model, batch, optimizers,
                        runtime.autocast_factory(dataclasses.replace(settings, amp=amp), device), mode)
            for amp in mode.amp]


def timed_steps(objective, model, batch, optimizers, autocast, mode: Mode) -> float:
    """Steps per second over mode.amp_steps steps after mode.amp_warmup untimed ones."""
    from colorbench.training.runtime import finite

    device = batch.rgb.device
    for step in range(mode.amp_warmup + mode.amp_steps):
        if step == mode.amp_warmup:
            sync(device)
            t0 = time.perf_counter()
        losses = objective.train_step(model, batch, optimizers, autocast())
        if (bad := finite(losses)) is not None:
            raise ValueError(f"non-finite loss {bad} at step {step + 1}")
    sync(device)
    return mode.amp_steps / (time.perf_counter() - t0)


def small_params(name: str, mode: Mode) -> dict:
    if mode.gpu:
        return {}
    rows = {b["name"]: b for b in yaml.safe_load((ROOT / "benchmarks.yaml").read_text())["baselines"]}
    return dict(rows.get(name, {}).get("small_params", {}))


def sync(device) -> None:
    import torch

    if device.type == "cuda":
        torch.cuda.synchronize(device)


def step_amp(ctx: Ctx) -> list[Row]:
    off, fast = ctx.mode.amp
    rows = []
    for name in AMP_BASELINES:
        try:
            a, b = steps_per_second(name, ctx.mode, ctx.inject_nan)
            measured, ok = f"{off} {a:.2f}/s, {fast} {b:.2f}/s, ratio {b / a:.2f}x", True
        except Exception as exc:  # noqa: BLE001  (any error is this step's finding)
            measured, ok = f"{type(exc).__name__}: {str(exc)[:160]}", False
        rows.append(Row("2 amp", f"{name}: train steps/s, amp {off} vs {fast} ({ctx.mode.amp_steps} steps)",
                        measured, "finite losses, no error (speed reported)", ok))
    return rows


# --- step 3: metrics on the GPU equal the CPU's ----------------------------------------------------

def score(pred: Path, gt: Path, device: str, ctx: Ctx, env_extra: dict | None = None) -> dict | str:
    args = ["score", "--pred", str(pred), "--gt", str(gt), "--metrics", "lpips,fid", "--json", "--device", device]
    proc = colorbench(args, ctx, fresh_cache(ctx.work, ctx.weights), env_extra)
    if proc.returncode != 0:
        return failure(proc)
    return json.loads(proc.stdout.strip().splitlines()[-1])


def tf32_state() -> str:
    """Whether cuDNN and matmuls may use TF32 once colorbench's scoring is imported (in this
    process: the flags are process-wide defaults that colorbench would set at import if it did)."""
    import torch

    import colorbench.metrics.registry  # noqa: F401
    import colorbench.scoring  # noqa: F401

    on = {True: "on", False: "off"}
    cap = torch.cuda.get_device_capability() if torch.cuda.is_available() else (0, 0)
    hardware = f"sm_{cap[0]}{cap[1]}" + ("" if cap[0] >= 8 else ", no TF32 hardware")
    return (f"cuDNN TF32 {on[torch.backends.cudnn.allow_tf32]}, matmul TF32 "
            f"{on[torch.backends.cuda.matmul.allow_tf32]} ({hardware})")


def compare_scores(label: str, tol: dict, got: dict | str, ref: dict | str) -> list[Row]:
    if isinstance(got, str) or isinstance(ref, str):
        return [Row("3 metrics", f"{label}: score", got if isinstance(got, str) else ref, "exit 0", False)]
    rows = []
    for metric, kind in (("lpips", "abs"), ("fid", "rel")):
        a, b = got[metric], ref[metric]
        if a is None or b is None:  # the metric failed (score printed null)
            diff, measured = math.nan, f"{a} vs {b}"
        else:
            diff = abs(a - b) if kind == "abs" else abs(a - b) / max(abs(b), 1e-300)
            measured = f"{a:.6g} vs {b:.6g}: {kind} diff {diff:.1e}"
        ok = math.isfinite(diff) and diff <= tol[metric] and got["n"] == ref["n"]
        rows.append(Row("3 metrics", f"{label}: {metric} (n={got['n']} vs {ref['n']})", measured,
                        f"{kind} <= {tol[metric]:.0e}", ok))
    return rows


def step_metrics(ctx: Ctx) -> list[Row]:
    """On a GPU: cuda as by default and cuda in full fp32, each against cpu. The dry run scores
    cpu against cpu once, to the fp32 bounds (NVIDIA_TF32_OVERRIDE does nothing on a CPU)."""
    n, size = ctx.mode.pairs
    pred, gt = make_pairs(ctx.work / "pairs", n, size, photo_files(ctx.data / "imagenet-samples"))
    ref, dev = score(pred, gt, "cpu", ctx), ctx.mode.device
    if not ctx.mode.gpu:
        return compare_scores("cpu vs cpu", TOLERANCES["fp32"], score(pred, gt, dev, ctx), ref)
    rows = compare_scores(f"{dev} as by default vs cpu", TOLERANCES["tf32"], score(pred, gt, dev, ctx), ref)
    fp32 = score(pred, gt, dev, ctx, {"NVIDIA_TF32_OVERRIDE": "0"})
    rows += compare_scores(f"{dev} NVIDIA_TF32_OVERRIDE=0 vs cpu", TOLERANCES["fp32"], fp32, ref)
    rows.append(Row("3 metrics", "TF32 state of a colorbench process", tf32_state(), "reported", True))
    return rows


# --- step 4: torchrun, one process ----------------------------------------------------------------

def small_config(mode: Mode, out: Path) -> dict:
    return {"version": 1, "seed": 0, "device": mode.device, "output_dir": str(out), "scale": "small",
            "scales": {"small": {"eval_size": 64, "max_train_images": 16, "max_val_images": 4, "max_test_images": 8,
                                 "epochs": 1, "image_size": 32}},
            "evaluation": {"metrics": ["mse", "psnr", "lpips"] + (["fid"] if mode.gpu else []), "batch_size": 8,
                           "grid_images": 2},
            "datasets": [{"name": "cbsd68", "split": {"train": 0.7, "val": 0.1, "test": 0.2}}],
            "baselines": [{"name": "gray"}, {"name": "transfer", "train_on": "cbsd68"},
                          {"name": "autoencoder", "train_on": "cbsd68", "small": {"batch_size": 8}}]}


def step_torchrun(ctx: Ctx) -> list[Row]:
    cfg = ctx.work / "small.yaml"
    cfg.write_text(yaml.safe_dump(small_config(ctx.mode, ctx.work / "unused"), sort_keys=False))
    outs = {side: ctx.work / f"small-{side}" for side in ("plain", "torchrun")}
    procs = {side: colorbench(["run", str(cfg), "--device", ctx.mode.device, "--output-dir", str(out)], ctx,
                              fresh_cache(ctx.work, ctx.weights), torchrun=side == "torchrun")
             for side, out in outs.items()}
    rows = [Row("4 torchrun", f"`colorbench run` small config, {side}", failure(p) if p.returncode else "exit 0",
                "exit 0", p.returncode == 0) for side, p in procs.items()]
    if all(p.returncode == 0 for p in procs.values()):
        rows.append(compare_runs(ctx, outs["torchrun"], outs["plain"]))
    return rows


def compare_runs(ctx: Ctx, new: Path, old: Path) -> Row:
    tolerances = str(ROOT / "tests" / "ci" / "tolerances.yaml")
    procs = [colorbench(["compare", str(a / "results.csv"), str(b / "results.csv"), "--tolerances", tolerances],
                        ctx, ctx.work) for a, b in ((new, old), (old, new))]
    ok = all(p.returncode == 0 for p in procs)
    measured = "within tolerance both ways" if ok else "; ".join(
        (p.stdout.strip().splitlines() or [failure(p)])[-1][:120] for p in procs if p.returncode)
    return Row("4 torchrun", "results.csv torchrun vs plain (`colorbench compare`, both ways)", measured,
               "tests/ci/tolerances.yaml", ok)


# --- main -----------------------------------------------------------------------------------------

STEPS = {"1": step_smoke, "2": step_amp, "3": step_metrics, "4": step_torchrun}


def run_step(key: str, ctx: Ctx) -> list[Row]:
    t0 = time.perf_counter()
    print(f"device-check: step {key} ...", file=sys.stderr, flush=True)
    try:
        rows = STEPS[key](ctx)
    except Exception as exc:  # noqa: BLE001  (a broken step is a FAIL row, not a traceback)
        rows = [Row(key, STEPS[key].__name__, f"{type(exc).__name__}: {str(exc)[:200]}", "no error", False)]
    rows[-1].seconds = time.perf_counter() - t0
    return rows


def table(rows: list[Row]) -> str:
    cells = [("step", "what", "measured", "tolerance / target", "result", "s (step)")]
    cells += [(r.step, r.what, r.measured, r.target, "PASS" if r.ok else "FAIL", f"{r.seconds:.0f}" if r.seconds else "-")
              for r in rows]
    widths = [max(len(c[i]) for c in cells) for i in range(6)]
    return "\n".join(" | ".join(c.ljust(w) for c, w in zip(cell, widths)).rstrip() for cell in cells)


def parse_args() -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", default="1,2,3,4", help="comma-separated steps to run (default all)")
    ap.add_argument("--keep", type=Path, help="work in this folder and keep it (default: a temporary one)")
    ap.add_argument("--dry-run", action="store_true", help="the tiny CPU dry run even where CUDA is available")
    ap.add_argument("--inject-nan", action="store_true", help="test hook: a NaN in step 2's batch (must FAIL)")
    args = ap.parse_args()
    args.steps = [s.strip() for s in args.steps.split(",") if s.strip()]
    if bad := [s for s in args.steps if s not in STEPS]:
        ap.error(f"--steps: no step {', '.join(bad)} (steps are 1-4)")
    return args


def main() -> int:
    import torch

    args = parse_args()
    mode = GPU if torch.cuda.is_available() and not args.dry_run else DRY
    if not torch.cuda.is_available():
        print("device-check: no CUDA device here: the real check needs a GPU; running the same steps as a "
              "CPU dry run at tiny size", flush=True)
    data = Path(os.environ.get("COLORBENCH_DATA", ""))
    if not (data / "imagenet-samples").is_dir() or not (data / "cbsd68").is_dir():
        sys.exit("device-check: set COLORBENCH_DATA to a folder with imagenet-samples and cbsd68")
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="device-check-") as tmp:
        work = args.keep or Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        ctx = Ctx(mode, work, user_weights(), data, args.inject_nan)
        rows = [row for key in args.steps for row in run_step(key, ctx)]
    print(table(rows))
    failed = sum(not r.ok for r in rows)
    print(f"device-check: {'GPU check' if mode.gpu else 'CPU dry run'} on {mode.device}: "
          f"{len(rows) - failed} PASS, {failed} FAIL in {time.perf_counter() - t0:.0f} s")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
