"""Benchmark colorbench.color.rgb_to_lab against the textbook formula and scikit-image.

  python scripts/bench_color.py [--reps 60] [--size 256] [--photos DIR]

Inputs are 256x256 crops of real photos (kodak24 under COLORBENCH_DATA, or --photos) decoded as
colorbench decodes them (uint8 / 255 in float32; float64 is that, widened, as the metrics use it),
or random 8-bit colours if no photos are found. For float64 and float32, one run prints the
median (and best) time per image (batch of 1 and of 16, torch's default threads, the four
implementations taking turns within every repetition), the speed ratios, the max |difference|
from skimage, and whether the result is bitwise the same with 1, 2 and 4 torch threads.
The best time estimates the cost on an idle machine; the median is what a shared one gives.

"8-bit" is rgb8_to_lab on the same images' uint8 codes (what the scoring engine calls for
8-bit files: the transfer curve is a lookup table); its result is checked bitwise against the
float path. "before" is the textbook formula exactly as colorbench computed it before issue 14:
torch.pow for the transfer curve and the cube root, torch.where over both branches, and an einsum
for the 3x3 matrix. The machine may be shared: the load average is printed before and after.
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from skimage import color as skcolor

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from colorbench import color  # noqa: E402

BATCHES = (1, 16)
THREADS = (1, 2, 4)


def rgb_to_lab_before(rgb: torch.Tensor) -> torch.Tensor:
    """The "before": colorbench's rgb_to_lab until this change (the textbook formula)."""
    def matrix(rows):
        return torch.tensor(rows, dtype=torch.float64).to(device=rgb.device, dtype=rgb.dtype)

    linear = torch.where(rgb > 0.04045, ((rgb + 0.055) / 1.055).clamp_min(0) ** 2.4, rgb / 12.92)
    xyz = torch.einsum("ij,njhw->nihw", matrix(color._XYZ_FROM_RGB), linear)
    xyz = xyz / matrix(color._WHITE_D65).view(1, 3, 1, 1)
    f = torch.where(xyz > color._EPS, xyz.clamp_min(color._EPS) ** (1.0 / 3.0), color._KAPPA * xyz + 16.0 / 116.0)
    fx, fy, fz = f[:, 0], f[:, 1], f[:, 2]
    return torch.stack((116.0 * fy - 16.0, 500.0 * (fx - fy), 200.0 * (fy - fz)), dim=1)


def skimage_lab(rgb: torch.Tensor) -> np.ndarray:
    """skimage.color.rgb2lab image by image, as a user's loop calls it; (N, H, W, 3)."""
    arrays = rgb.permute(0, 2, 3, 1).numpy()
    return np.stack([skcolor.rgb2lab(a) for a in arrays])


def load_images(folder: Path | None, n: int, size: int) -> tuple[torch.Tensor, str]:
    """(n, 3, size, size) float32 k/255: centre crops of the photos, cycled, or random 8-bit colours."""
    files = sorted(p for p in folder.iterdir() if p.suffix.lower() in {".png", ".jpg", ".jpeg", ".tif"}) if folder else []
    if not files:
        g = torch.Generator().manual_seed(0)
        return torch.randint(0, 256, (n, 3, size, size), generator=g).float() / 255, "random 8-bit colours"
    crops = []
    for i in range(n):
        with Image.open(files[i % len(files)]) as img:
            img = img.convert("RGB")
            scale = size / min(img.size)
            img = img.resize((max(size, round(img.width * scale)), max(size, round(img.height * scale))), Image.BICUBIC)
            left, top = (img.width - size) // 2, (img.height - size) // 2
            crops.append(np.asarray(img.crop((left, top, left + size, top + size))))
    arr = torch.from_numpy(np.stack(crops)).permute(0, 3, 1, 2).float() / 255
    return arr.contiguous(), f"{len(files)} photos from {folder}"


def time_turns(funcs: dict, x: torch.Tensor, reps: int) -> dict[str, tuple[float, float]]:
    """(median, best) seconds per call; every repetition runs each function once, in turn."""
    for f in funcs.values():
        f(x)
    times = {name: [] for name in funcs}
    for _ in range(reps):
        for name, f in funcs.items():
            t0 = time.perf_counter()
            f(x)
            times[name].append(time.perf_counter() - t0)
    return {name: (float(np.median(t)), min(t)) for name, t in times.items()}


def thread_independent(x: torch.Tensor) -> bool:
    default = torch.get_num_threads()
    try:
        outs = []
        for t in THREADS:
            torch.set_num_threads(t)
            outs.append(color.rgb_to_lab(x))
    finally:
        torch.set_num_threads(default)
    return all(torch.equal(outs[0], o) for o in outs[1:])


def report(images: torch.Tensor, dtype: torch.dtype, reps: int) -> None:
    """Times the float path (rgb_to_lab), the 8-bit path (rgb8_to_lab on the same images' codes,
    as the scoring engine calls it), the textbook formula and skimage, on the same values."""
    codes = {}  # the float batch's uint8 codes, made outside the timing

    def eight_bit(x):
        return color.rgb8_to_lab(codes[id(x)], x.dtype)

    funcs = {"colorbench": color.rgb_to_lab, "8-bit": eight_bit, "before": rgb_to_lab_before,
             "skimage": lambda x: skimage_lab(x)}
    print(f"\n{str(dtype).replace('torch.', '')}: ms per {images.shape[-1]}x{images.shape[-2]} image, "
          f"median of {reps} (best in brackets); ratios: the textbook formula's time over ours")
    print(f"  {'batch':>5} {'colorbench':>17} {'8-bit':>17} {'before':>17} {'skimage':>17} "
          f"{'before/new':>16} {'before/8-bit':>16} {'skimage/new':>16}")
    for batch in BATCHES:
        x = images[:batch].to(dtype)
        codes[id(x)] = (images[:batch] * 255).round().to(torch.uint8)
        timed = time_turns(funcs, x, reps)
        t = {k: (med * 1e3 / batch, best * 1e3 / batch) for k, (med, best) in timed.items()}
        cells = "".join(f" {t[k][0]:>8.3f} [{t[k][1]:>6.3f}]" for k in funcs)
        ratios = "".join(f" {t[k][0] / t[ref][0]:>6.2f}x [{t[k][1] / t[ref][1]:>5.2f}x]"
                         for k, ref in (("before", "colorbench"), ("before", "8-bit"), ("skimage", "colorbench")))
        print(f"  {batch:>5}{cells}{ratios}")
        if batch == max(BATCHES):
            print(f"  8-bit path bitwise equal to the float path: {torch.equal(eight_bit(x), color.rgb_to_lab(x))}")
    x = images.to(dtype)
    ref = skimage_lab(x.double())  # skimage in float64 on the same values: the accuracy reference
    for name in ("colorbench", "before"):
        ours = funcs[name](x).permute(0, 2, 3, 1).double().numpy()
        print(f"  max |{name} - skimage (float64)| = {np.abs(ours - ref).max():.3g} (L, a, b units)")
    print(f"  colorbench bitwise equal with {', '.join(map(str, THREADS))} torch threads: {thread_independent(x)}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--reps", type=int, default=60)
    ap.add_argument("--size", type=int, default=256)
    ap.add_argument("--photos", type=Path, help="folder of photos (default: $COLORBENCH_DATA/kodak24 if present)")
    args = ap.parse_args()
    folder = args.photos
    if folder is None and os.environ.get("COLORBENCH_DATA"):
        folder = Path(os.environ["COLORBENCH_DATA"]) / "kodak24"
    folder = folder if folder and folder.is_dir() else None
    images, source = load_images(folder, max(BATCHES), args.size)
    print(f"inputs: {source}; torch {torch.__version__}, {torch.get_num_threads()} threads (default), "
          f"load average {os.getloadavg()[0]:.2f}")
    for dtype in (torch.float64, torch.float32):
        report(images, dtype, args.reps)
    print(f"\nload average after: {os.getloadavg()[0]:.2f} (a busy second core makes every multi-threaded "
          f"op wait for its thread; rerun if the numbers look noisy)")


if __name__ == "__main__":
    main()
