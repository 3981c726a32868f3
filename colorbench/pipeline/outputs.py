"""Precomputed outputs: a row `{name: ..., outputs: "path/to/{dataset}"}` brings colourisations
made elsewhere into the run, to be scored beside the baselines on the same ground truth.

Files are matched to the run's test ids as `colorbench score` matches them (relative path and
stem; the suffix may differ). Missing, extra, ambiguous, unreadable and wrong-size files are
listed and counted; a wrong size follows the row's size_policy (exclude, resize, error), as
`score --size-policy`; `--strict` makes every one of them an error. The matched predictions are
saved as 8-bit PNGs under the run's outputs/<dataset>/<name>/, like any baseline's.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path

from colorbench.config import outputs_folder
from colorbench.data.manifest import manifest_hash
from colorbench.errors import DataError
from colorbench.files import display_name
from colorbench.hashing import sha256_file
from colorbench.imageio import UnreadableImage, load_rgb, save_png
from colorbench.pipeline.folder import remove_stale_pngs
from colorbench.scoring import match_folders, resize_to


@dataclass
class ImportedOutputs:
    """One dataset's precomputed outputs, as brought in (recorded in run.json)."""

    folder: str
    files_sha256: str  # manifest hash of the imported prediction files (name and SHA-256)
    n_imported: int
    missing: list[str] = field(default_factory=list)
    extra: list[str] = field(default_factory=list)
    ambiguous: list[str] = field(default_factory=list)
    unreadable: list[str] = field(default_factory=list)
    size_mismatch: list[str] = field(default_factory=list)  # excluded
    resized: list[str] = field(default_factory=list)

    def problems(self) -> dict[str, list[str]]:
        kinds = ("missing", "extra", "ambiguous", "unreadable", "size_mismatch", "resized")
        return {k: getattr(self, k) for k in kinds if getattr(self, k)}

    def as_dict(self) -> dict:
        return asdict(self)


def import_outputs(template: str, dataset: str, gt_folder: Path, dest: Path, test_ids: list[str],
                   size_policy: str, strict: bool) -> ImportedOutputs:
    src = outputs_folder(template, dataset)
    match = match_folders(src, gt_folder)
    wanted = set(test_ids)
    done = ImportedOutputs(str(src), "", 0, missing=sorted(match.missing), ambiguous=match.ambiguous,
                           extra=sorted(set(match.extra) | {p.id for p in match.pairs if p.id not in wanted}))
    hashes, imported = {}, []
    for pair in (p for p in match.pairs if p.id in wanted):
        try:
            pred, gt = load_rgb(pair.pred), load_rgb(pair.gt)
        except UnreadableImage:
            done.unreadable.append(pair.id)
            continue
        if pred.shape != gt.shape:
            if size_policy == "error":
                raise DataError(f"outputs {display_name(str(pair.pred))}: {pred.shape[2]}x{pred.shape[1]}, the ground "
                                f"truth is {gt.shape[2]}x{gt.shape[1]} (size_policy 'error')")
            if size_policy == "exclude":
                done.size_mismatch.append(pair.id)
                continue
            pred = resize_to(pred, tuple(gt.shape[1:]))
            done.resized.append(pair.id)
        save_png(dest / f"{pair.id}.png", pred)
        imported.append(pair.id)
        hashes[pair.pred.relative_to(src).as_posix()] = sha256_file(pair.pred)
    if strict and (problems := done.problems()):
        shown = "; ".join(f"{len(v)} {k} ({', '.join(map(display_name, v[:3]))})" for k, v in problems.items())
        raise DataError(f"outputs for {dataset} in {src}: {shown} (strict)")
    done.files_sha256, done.n_imported = manifest_hash(hashes) if hashes else "", len(hashes)
    remove_stale_pngs(dest, imported)
    return done
