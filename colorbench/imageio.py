"""Reading and writing images: the one place that decodes files and writes 8-bit PNGs.

Decoding policy (documented in the README): EXIF orientation is applied; palette, LA, RGBA,
CMYK, I;16 and other modes are converted to 8-bit sRGB with PIL (alpha is dropped, not
composited; CMYK uses PIL's plain conversion, no ICC profile); 16-bit grayscale PNGs are scaled
to [0, 1] by 65535, while PIL reads 48-bit RGB PNGs as 8-bit RGB (the high byte). Values are
float64 arrays / float32 tensors in [0, 1].
"""
from __future__ import annotations

import struct
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps

from colorbench.files import atomic_write_bytes

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp", ".ppm")


class UnreadableImage(Exception):
    """A file that is not a decodable image; str() is the reason."""


_WIDE = ("I;16", "I;16B", "I;16L", "I")  # 16-bit (and 32-bit integer) grayscale: scaled by 65535


def _integers(img: Image.Image) -> tuple[np.ndarray, float]:
    """(H, W, 3) integer pixels and the value that maps to 1.0."""
    if img.mode in _WIDE:
        arr = np.clip(np.asarray(img, dtype=np.int64), 0, 65535)
        return np.repeat(arr[..., None], 3, axis=-1), 65535.0
    return np.asarray(img if img.mode == "RGB" else img.convert("RGB")), 255.0


def _decode(path: str | Path, convert):
    """convert(the decoded PIL image) and the file's original PIL mode; UnreadableImage if it is not one."""
    try:
        with Image.open(path) as img:
            img = ImageOps.exif_transpose(img)
            mode = img.mode
            img.load()
            return convert(img), mode
    except Image.DecompressionBombError as exc:
        raise UnreadableImage(f"decompression bomb: {exc}") from None
    except (OSError, SyntaxError, ValueError, EOFError, IndexError, TypeError, struct.error) as exc:
        # Decoders signal corrupt data with all of these; each means "not a readable image".
        raise UnreadableImage(f"{type(exc).__name__}: {exc}") from None


def load_rgb_array(path: str | Path) -> tuple[np.ndarray, str]:
    """(H, W, 3) float64 in [0, 1] and the file's original PIL mode."""
    def convert(img):
        arr, scale = _integers(img)
        return arr.astype(np.float64) / scale

    return _decode(path, convert)


def load_rgb(path: str | Path):
    """(3, H, W) float32 torch tensor in [0, 1]: the same values as load_rgb_array rounded to float32
    (k / 255 is correctly rounded either way), without the float64 detour."""
    return as_unit(load_rgb_codes(path))


def load_rgb_codes(path: str | Path):
    """(3, H, W) torch tensor: uint8 codes for 8-bit files (a quarter of the memory), or load_rgb's
    float32 for wider ones; as_unit() of it is load_rgb's tensor."""
    import torch

    def convert(img):
        arr, scale = _integers(img)
        planes = torch.from_numpy(np.ascontiguousarray(arr.transpose(2, 0, 1)))  # a writable copy
        return planes if planes.dtype == torch.uint8 else planes.to(torch.int32).float().div_(scale)

    return _decode(path, convert)[0]


def as_unit(rgb):
    """uint8 codes k -> float32 k / 255 (load_rgb's values); float tensors unchanged."""
    import torch

    return rgb.float().div_(255.0) if rgb.dtype == torch.uint8 else rgb


def to_uint8(rgb) -> np.ndarray:
    """(3, H, W) float tensor in [0, 1] -> (H, W, 3) uint8, rounding half to even after clipping;
    uint8 codes pass through as they are (no float64 copy of a large image)."""
    import torch

    if rgb.dtype == torch.uint8:
        return np.ascontiguousarray(rgb.detach().cpu().permute(1, 2, 0).numpy())
    arr = rgb.detach().to("cpu", torch.float64).clamp(0, 1).permute(1, 2, 0).numpy()
    return np.rint(arr * 255.0).astype(np.uint8)


def save_png(path: str | Path, rgb) -> None:
    """Save (3, H, W) float RGB in [0, 1] (or uint8 codes) as an 8-bit PNG, atomically."""
    image = Image.fromarray(to_uint8(rgb), mode="RGB")
    atomic_write_bytes(Path(path), lambda fh: image.save(fh, format="PNG"))
