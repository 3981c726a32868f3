"""`colorbench colorize --run RUN_DIR --baseline NAME --input DIR --out DIR`: a trained baseline
of a run applied to anyone's photos, at their own size.

Every image file under --input (recursively; hidden files skipped) is read with EXIF orientation
applied, 8 or 16 bit, colour or grayscale (only its L channel is used), colorized as `run` does
(L resized to the model's input size, its ab upsampled and joined with the full-resolution L)
and written as an 8-bit PNG at the same relative path under --out. Unreadable files are listed
and skipped (exit 6).
"""
from __future__ import annotations

import sys
from pathlib import Path

from colorbench.errors import EXIT_PARTIAL, UsageError
from colorbench.files import display_name, unwritable_reason


def handle(args) -> int:
    import torch
    from tqdm import tqdm

    from colorbench.data.sources import scan_image_files
    from colorbench.imageio import UnreadableImage, load_rgb, save_png
    from colorbench.pipeline.colorize import colorize_batch
    from colorbench.plan import resolve_device
    from colorbench.restore import restore

    source, out = Path(args.input), Path(args.out)
    if not source.is_dir():
        raise UsageError(f"--input: {str(source)!r} is not a folder")
    if out.resolve().is_relative_to(source.resolve()):
        raise UsageError("--out must not lie inside --input (the outputs would be read as inputs next time)")
    if (reason := unwritable_reason(out)) is not None:
        raise UsageError(f"--out: {reason}")
    try:
        device = resolve_device(args.device)
    except (ValueError, RuntimeError) as exc:
        raise UsageError(f"--device: {exc}") from None
    restored = restore(Path(args.run), args.baseline, Path(args.checkpoint) if args.checkpoint else None)
    model = restored.model.to(device)
    names, skipped = scan_image_files(source), []
    for name in tqdm(names, desc=f"colorize {args.baseline}", unit="img"):
        try:
            rgb = load_rgb(source / name)
        except UnreadableImage as exc:
            skipped.append(f"{display_name(name)} ({exc})")
            continue
        with torch.no_grad():
            pred = colorize_batch(model, rgb[None], restored.input_size, device)[0]
        save_png((out / name).with_suffix(".png"), pred)
    print(f"{len(names) - len(skipped)} images colorized into {out}")
    if skipped:
        print(f"colorbench: {len(skipped)} unreadable file(s) skipped: {'; '.join(skipped[:5])}", file=sys.stderr)
        return EXIT_PARTIAL
    return 0


def register(sub) -> None:
    p = sub.add_parser("colorize", help="apply a trained baseline of a run to a folder of photos")
    p.add_argument("--run", required=True, help="the run folder (run.json names the baseline's checkpoint)")
    p.add_argument("--baseline", required=True, help="a baseline row of that run")
    p.add_argument("--input", required=True, help="a folder of images (recursive)")
    p.add_argument("--out", required=True, help="where the colourisations go (the input's folder structure)")
    p.add_argument("--checkpoint", help="a checkpoint file instead of the run's best one")
    p.add_argument("--device", default="auto", help="auto, cpu or cuda[:N]")
    p.set_defaults(func=handle)
