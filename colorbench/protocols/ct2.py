"""`ct2`: the evaluation of CT2 (Weng et al., ECCV 2022), shuchenweng/CT2 @ cd40f5a.

segm/metrics.py: calculate_fid (via segm/eval_fid.py), avg_ssim_psnr and avg_lpips (via
segm/eval_metrics.py); segm/eval_colorfullness.py. Every metric is computed on the saved 8-bit
files, prediction against ground truth, and averaged over images (FID over the sets); each
`*_convert` variant compares the prediction with the ground truth after CT2's Lab round trip
(pixels.lab_round_trip), which is what a model that keeps the input L and predicts ab can reach.
"""
from __future__ import annotations

from functools import partial

from colorbench.metrics.base import MetricSpec

from .base import Protocol, metric_registry
from .inception import WRAPPER_TEXT, fid_spec
from .perceptual import CT2LPIPS
from .pixels import (
    CF_TEXT,
    PerImage,
    colorfulness_spec,
    ct2_converted,
    psnr_255,
    ssim_skimage,
)

SOURCE = "shuchenweng/CT2@cd40f5a: segm/metrics.py, segm/eval_colorfullness.py, segm/data/coco.py"
SSIM_DATA_RANGE = 225  # sic: segm/metrics.py avg_ssim_psnr passes data_range=225 (not 255)
VGG = "vgg16-features"


def _convert(base: str) -> str:
    return ("Against the ground truth after CT2's Lab round trip (scikit-image rgb2lab of the uint8 "
            "image, cast to float32, lab2rgb, clipped to [0, 1], x255, truncated to uint8): " + base)


_FID = ("FID as CT2's calculate_fid: prediction and ground truth read with PIL as [0, 1] tensors, "
        "Normalize(0.5, 0.5) to [-1, 1], " + WRAPPER_TEXT)
_PSNR = ("PSNR as CT2's avg_ssim_psnr: scikit-image compare_psnr(gt, pred, 255) = "
         "10 log10(255^2 / MSE) over all pixels and RGB channels of the 8-bit images, per image "
         "(+inf for identical images, which makes the mean +inf), mean over images. Higher is better.")
_SSIM = ("SSIM as CT2's avg_ssim_psnr: scikit-image compare_ssim(gt, pred, data_range=225, "
         "multichannel=True) on the 8-bit RGB images (7x7 uniform window, sample covariances, "
         "K1 0.01, K2 0.03, per channel then averaged), mean over images. Higher is better.")
_LPIPS = ("LPIPS as CT2's avg_lpips: lpips.LPIPS(net='vgg') v0.1 (colorbench weights "
          "'vgg16-features' and the lpips package's heads) on [-1, 1] tensors (ToTensor, "
          "Normalize(0.5, 0.5)), one pair per forward, no resize; mean over images. Lower is better.")
_CF = "Colourfulness as CT2's eval_colorfullness.py: " + CF_TEXT

SPECS: tuple[MetricSpec, ...] = (
    fid_spec("fid", _FID, feed="pm1"),
    fid_spec("fid_convert", _convert(_FID), feed="pm1", real=ct2_converted),
    MetricSpec(group="pixel fidelity", name="psnr", higher_is_better=True, unit="dB", definition=_PSNR,
               per_image=True, build=lambda ctx: PerImage(psnr_255)),
    MetricSpec(group="pixel fidelity", name="psnr_convert", higher_is_better=True, unit="dB",
               definition=_convert(_PSNR), per_image=True,
               build=lambda ctx: PerImage(lambda p, t: psnr_255(p, ct2_converted(t)))),
    MetricSpec(group="pixel fidelity", name="ssim", higher_is_better=True, unit="SSIM", definition=_SSIM,
               per_image=True, build=lambda ctx: PerImage(partial(ssim_skimage, data_range=SSIM_DATA_RANGE))),
    MetricSpec(group="pixel fidelity", name="ssim_convert", higher_is_better=True, unit="SSIM",
               definition=_convert(_SSIM), per_image=True,
               build=lambda ctx: PerImage(lambda p, t: ssim_skimage(p, ct2_converted(t), SSIM_DATA_RANGE))),
    MetricSpec(group="perceptual", name="lpips", higher_is_better=False, unit="LPIPS distance",
               definition=_LPIPS, per_image=True, build=partial(CT2LPIPS, converted=False), weights=(VGG,)),
    MetricSpec(group="perceptual", name="lpips_convert", higher_is_better=False, unit="LPIPS distance",
               definition=_convert(_LPIPS), per_image=True, build=partial(CT2LPIPS, converted=True),
               weights=(VGG,)),
    colorfulness_spec(_CF),
)

QUIRKS: dict[str, tuple[str, ...]] = {
    "": (
        "pairs are matched by name; CT2's own layout, prediction `fake_<ground-truth file name>`, is "
        "accepted too (segm/engine.py save_imgs writes that name, so with ImageNet's .JPEG names its "
        "predictions are saved as JPEG, lossy; colorbench scores the files it is given)",
        "the test set is the first 5000 ImageNet validation images, centre-cropped to a square and "
        "resized to 256 (segm/data/coco.py; colorbench dataset 'imagenet-val5k'); the scripts assert "
        "exactly 5000 images, colorbench scores any number and reports N",
        "images are decoded as colorbench decodes them (EXIF orientation applied); CT2's PIL reads do "
        "not rotate, OpenCV's (colourfulness) do: a file with an EXIF rotation differs",
    ),
    "ssim": ("data_range is 225, not 255: the constants C1, C2 are (0.01*225)^2, (0.03*225)^2",),
    "ssim_convert": ("data_range 225, as ssim", "against the Lab round-tripped ground truth"),
    "psnr": ("a pixel-identical pair scores +inf and makes the mean +inf (no cap)",),
    "psnr_convert": ("against the Lab round-tripped ground truth: truncation (not rounding) to uint8 "
                     "moves most pixels down by up to one code",),
    "fid": (
        "the wrapper's x*(std/0.5)+(mean-0.5)/0.5 is torchvision's transform_input, meant for "
        "ImageNet-normalised inputs; after x*0.5+0.5 of [-1, 1] it hands the network 2*std*x + 2*mean - 1 "
        "of the [0, 1] image (red: -0.03..0.43) where the network was trained on [-1, 1]",
        "torchvision's Inception v3 (ImageNet classifier), not the TF 2015 FID network of pytorch-fid "
        "/ colorbench's fid: values are not comparable with standard FIDs",
        "the trace of scipy's sqrtm(S1 S2), which colorbench takes as the sum of the roots of S1 S2's "
        "eigenvalues when all are real and positive (full-rank covariances; equal to ~1e-12, 5x faster, "
        "a fifth of the memory), in the span of the sets' centred features when both together hold at "
        "most 1024 images (the full root of that singular product is ~1e-7 less accurate), and with "
        "sqrtm and its eps fallback otherwise; extra['root'] names the route",
        "one image per forward, as CT2, but with the batch norms folded into the convolutions and in "
        "channels_last (float32 rounding, ~1e-7 relative in FID)",
    ),
    "fid_convert": ("as fid, against the Lab round-tripped ground truth",),
    "lpips": ("the VGG backbone (colorbench's own lpips is AlexNet; lpips_vgg is the same as this)",
              "one image per VGG forward, as CT2, but in channels_last: per-image values equal lpips' "
              "NCHW forward to float32 rounding (up to 3e-8)",
              "CT2 sums the float32 distances in a float32 running total in os.listdir order; colorbench "
              "averages the per-image values in float64 (they differ by that total's rounding, "
              "~1e-7 relative)"),
    "lpips_convert": ("against the Lab round-tripped ground truth",),
    "colorfulness": (
        "absolute rg and yb, unlike Hasler & Süsstrunk (2003) and colorbench's colorfulness: the "
        "mean term grows and the spread shrinks",
        "CT2 averages over every file in the prediction folder; here over the scored pairs",
    ),
}

PROTOCOL = Protocol(
    name="ct2", source=SOURCE,
    summary="CT2's evaluation scripts (ECCV 2022): FID, PSNR, SSIM, LPIPS and their _convert variants, colourfulness",
    metrics=metric_registry("ct2", SPECS), default_metrics=tuple(s.name for s in SPECS), quirks=QUIRKS,
    pred_prefix="fake_",
)
