"""`colorbench colorize --run RUN_DIR --baseline NAME --input DIR --out DIR`: a trained baseline
of a run applied to anyone's photos, at their own size.

Every image file under --input (recursively; hidden files skipped; other files listed as
ignored) is read with EXIF orientation applied, 8 or 16 bit, colour or grayscale (only its L
channel is used), colorized as `run` does (L resized to the model's input size, or for a model
without one to at most MAX_MODEL_SIDE px on its long side; its ab upsampled and joined with the
full-resolution L) and written as an 8-bit PNG at the same relative path under --out.

Refused before anything is read or written (exit 2): --out and --input overlapping either way,
two inputs that would share an output name (a.jpg and a.png; b.PNG and b.png on a disk that
folds case), and outputs that already exist, unless --force. Unreadable files and outputs that
break the Baseline contract are listed and skipped (exit 6).
"""
from __future__ import annotations

import os
import sys
from pathlib import Path

from colorbench.errors import EXIT_PARTIAL, UsageError
from colorbench.files import display_name, unwritable_reason

SHOWN = 5  # names listed in a one-line message


def _listed(names: list[str]) -> str:
    return ", ".join(map(display_name, names[:SHOWN])) + (f", ... ({len(names)} in all)" if len(names) > SHOWN else "")


def scan(source: Path) -> tuple[list[str], list[str]]:
    """Relative '/'-separated names under source: image files, and other (ignored) files; hidden
    files and folders are skipped (editor and OS litter)."""
    from colorbench.imageio import IMAGE_SUFFIXES

    images, ignored = [], []
    for folder, dirs, files in os.walk(source):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        rel = Path(folder).relative_to(source)
        for file in sorted(f for f in files if not f.startswith(".")):
            name = (rel / file).as_posix()
            (images if Path(file).suffix.lower() in IMAGE_SUFFIXES else ignored).append(name)
    return sorted(images), sorted(ignored)


def output_names(names: list[str]) -> dict[str, str]:
    """Input name -> output name (.png); UsageError listing the inputs that would share an output,
    compared case-folded (a disk that folds case would write them to one file)."""
    from colorbench.labels import label_key

    outputs = {name: Path(name).with_suffix(".png").as_posix() for name in names}
    groups: dict[str, list[str]] = {}
    for name, output in outputs.items():
        groups.setdefault(label_key(output), []).append(name)
    shared = [g for g in groups.values() if len(g) > 1]
    if shared:
        shown = "; ".join(f"{' and '.join(map(display_name, g))} -> {display_name(outputs[g[0]])}" for g in shared[:SHOWN])
        raise UsageError(f"--input: {len(shared)} output name(s) would be shared by several inputs ({shown}): "
                         "rename them, or colorize them into separate folders")
    return outputs


def _check_out(source: Path, out: Path, outputs: list[str], force: bool) -> None:
    from colorbench.runfolder import overlapping

    if overlapping(source, out):
        raise UsageError(f"--out {str(out)!r} and --input {str(source)!r} overlap (one lies inside the other, links "
                         "resolved): outputs would overwrite or be read as inputs; choose a folder outside --input")
    if (reason := unwritable_reason(out)) is not None:
        raise UsageError(f"--out: {reason}")
    taken = [name for name in outputs if os.path.lexists(out / name)]
    blocked = [name for name in taken if not (out / name).is_file()]
    if blocked:
        raise UsageError(f"--out: {len(blocked)} output path(s) are folders or links, not files: {_listed(blocked)}")
    if taken and not force:
        raise UsageError(f"--out: {len(taken)} output file(s) already exist ({_listed(taken)}); pass --force to replace them")


def handle(args) -> int:
    source, out = Path(args.input), Path(args.out)
    if not source.is_dir():
        raise UsageError(f"--input: {str(source)!r} is not a folder")
    names, ignored = scan(source)
    outputs = output_names(names)
    _check_out(source, out, list(outputs.values()), args.force)
    from colorbench.plan import resolve_device
    from colorbench.restore import restore

    try:
        device = resolve_device(args.device)
    except (ValueError, RuntimeError) as exc:
        raise UsageError(f"--device: {exc}") from None
    restored = restore(Path(args.run), args.baseline, Path(args.checkpoint) if args.checkpoint else None)
    if ignored:
        print(f"colorbench: {len(ignored)} file(s) ignored, not an image suffix colorbench reads: {_listed(ignored)}",
              file=sys.stderr)
    written, skipped = _colorize_all(restored, source, out, outputs, device, args.baseline)
    print(f"{written} images colorized into {out}")
    if skipped:
        print(f"colorbench: {len(skipped)} file(s) skipped: {'; '.join(skipped[:SHOWN])}", file=sys.stderr)
        return EXIT_PARTIAL
    return 0


def _colorize_all(restored, source: Path, out: Path, outputs: dict[str, str], device, baseline: str) -> tuple[int, list[str]]:
    """Each input colorized and saved; (files written, 'name (why)' of those skipped)."""
    from tqdm import tqdm

    from colorbench.contracts import ContractError
    from colorbench.imageio import UnreadableImage, load_rgb_codes, save_png
    from colorbench.pipeline.colorize import MAX_MODEL_SIDE, colorize_batch

    model, written, skipped = restored.model.to(device), 0, []
    for name, output in tqdm(outputs.items(), desc=f"colorize {baseline}", unit="img"):
        try:
            codes = load_rgb_codes(source / name)
            pred = colorize_batch(model, codes[None], restored.input_size, device, max_side=MAX_MODEL_SIDE)[0]
        except UnreadableImage as exc:
            skipped.append(f"{display_name(name)} (unreadable: {exc})")
            continue
        except ContractError as exc:
            skipped.append(f"{display_name(name)} (the model's output: {exc})")
            continue
        del codes
        save_png(out / output, pred)
        written += 1
    return written, skipped


def register(sub) -> None:
    p = sub.add_parser("colorize", help="apply a trained baseline of a run to a folder of photos")
    p.add_argument("--run", required=True, help="the run folder (run.json names the baseline's checkpoint)")
    p.add_argument("--baseline", required=True, help="a baseline row of that run")
    p.add_argument("--input", required=True, help="a folder of images (recursive)")
    p.add_argument("--out", required=True, help="where the colourisations go (the input's folder structure); "
                   "must not overlap --input")
    p.add_argument("--force", action="store_true", help="replace output files that already exist")
    p.add_argument("--checkpoint", help="a checkpoint file instead of the run's best one")
    p.add_argument("--device", default="auto", help="auto, cpu or cuda[:N]")
    p.set_defaults(func=handle)
