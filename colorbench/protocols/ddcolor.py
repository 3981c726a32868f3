"""`ddcolor`: the validation metrics of DDColor (Kang et al., ICCV 2023), piddnad/DDColor @ 2adb63f.

basicsr/models/color_model.py nondist_validation feeds its FID and the configured metrics
(options/train/train_ddcolor.yml `val.metrics`: fid and cf; psnr with crop_border 4 is there but
commented out; no SSIM setting exists in the public files, so `ssim` is not defined here). DDColor
computes FID on the float output before any 8-bit quantisation, and its colourfulness on the 8-bit
BGR image tensor2img makes; this protocol reads the saved 8-bit files for both (README: what the
quantisation changes).
"""
from __future__ import annotations

from functools import partial

from colorbench.metrics.base import MetricSpec

from .base import Protocol, metric_registry
from .inception import WRAPPER_TEXT, fid_spec
from .pixels import CF_TEXT, PerImage, colorfulness_spec, psnr_cropped

SOURCE = ("piddnad/DDColor@2adb63f: basicsr/models/color_model.py, basicsr/metrics/custom_fid.py, "
          "basicsr/metrics/colorfulness.py, basicsr/metrics/psnr_ssim.py, options/train/train_ddcolor.yml")
PSNR_CROP = 4  # options/train/train_ddcolor.yml, the commented-out `psnr` entry: crop_border: 4

_FID = ("FID as DDColor's validation (color_model.py with custom_fid.py): prediction and ground truth "
        "as [0, 1] tensors (here: the saved 8-bit files / 255), not the [-1, 1] the wrapper was written "
        "for, " + WRAPPER_TEXT)
_CF = "Colourfulness as DDColor's calculate_cf (basicsr/metrics/colorfulness.py): " + CF_TEXT
_PSNR = ("PSNR as BasicSR's calculate_psnr with DDColor's (commented-out) settings crop_border 4, "
         "test_y_channel false: 4 pixels cut from every edge, 20 log10(255 / sqrt(MSE)) over the 8-bit "
         "RGB channels, +inf for identical images; mean over images. Higher is better.")

SPECS: tuple[MetricSpec, ...] = (
    fid_spec("fid", _FID, feed="unit"),
    colorfulness_spec(_CF),
    MetricSpec(group="pixel fidelity", name="psnr", higher_is_better=True, unit="dB", definition=_PSNR,
               per_image=True, build=lambda ctx: PerImage(partial(psnr_cropped, border=PSNR_CROP))),
)

QUIRKS: dict[str, tuple[str, ...]] = {
    "": (
        "DDColor validates on in-memory float tensors: the prediction lab2rgb(L of the ground truth, "
        "predicted ab) and the ground truth after cv2.resize to 256x256 (aspect ratio not kept) and a "
        "float Lab round trip; here both are the saved 8-bit files, so FID differs by what "
        "quantisation changes (README)",
        "the validation list (data_list/imagenet_val_5k.txt) is not in the repository: which 5000 "
        "images DDColor's table used cannot be established from public files",
    ),
    "fid": (
        "[0, 1] inputs into a wrapper written for [-1, 1]: after x*0.5+0.5 and torchvision's "
        "transform_input the network sees 2*std*(x/2 + 1/2) + 2*mean - 1 (red: 0.20..0.43), half of "
        "CT2's already compressed range; the same images score far from CT2's FID",
        "torchvision's Inception v3 (ImageNet classifier), not the TF 2015 FID network",
        "the real set's statistics are computed once and cached for the whole training run",
    ),
    "colorfulness": ("absolute rg and yb, as CT2's (unlike Hasler & Süsstrunk and colorbench's colorfulness)",),
    "psnr": ("not computed by the shipped configuration (commented out there); 4-pixel border cropped",),
}

UNDEFINED = {
    "ssim": "DDColor's public configuration sets no SSIM (options/train/train_ddcolor.yml names fid and cf, "
            "psnr only commented out), so its settings cannot be established",
}

PROTOCOL = Protocol(
    name="ddcolor", source=SOURCE,
    summary="DDColor's validation metrics (ICCV 2023): FID on [0, 1] inputs, colourfulness, PSNR (crop 4)",
    metrics=metric_registry("ddcolor", SPECS), default_metrics=("fid", "colorfulness", "psnr"), quirks=QUIRKS,
    undefined=UNDEFINED,
)
