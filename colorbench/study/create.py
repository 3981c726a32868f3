"""`study create`: a study folder from a finished run, built aside and moved into place whole."""
from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from colorbench import __version__
from colorbench.errors import DataError, UsageError
from colorbench.files import write_json
from colorbench.lock import OutputLocked, RunLock
from colorbench.registry import Registry, UnknownNameError
from colorbench.runfolder import RUN_DIRS, gt_parts, pred_parts, study_dir
from colorbench.study.designs import DESIGNS
from colorbench.study.folder import mark_study_folder, replace_refusal
from colorbench.study.spec import (
    DB_FILE,
    GROUND_TRUTH,
    IMAGES_DIR,
    STUDY_FILE,
    STUDY_SCHEMA,
    Settings,
    Source,
    Study,
    Trial,
    file_sha256,
    fingerprint,
)
from colorbench.study.store import create_db, now
from colorbench.study.trials import sample_plans, trial_ids
from colorbench.typed import to_dict

NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


@dataclass(frozen=True)
class CreateOptions:
    design: str  # a name in colorbench.study.designs.DESIGNS
    per_baseline: int = 10
    datasets: list[str] | None = None
    baselines: list[str] | None = None
    seed: int = 0
    practice: int = 3
    vigilance: int = 4
    vigilance_max_fail: float = 0.25
    include_references: bool = False
    name: str | None = None
    out: Path | None = None
    force: bool = False


def read_run(run_dir: Path) -> dict:
    path = Path(run_dir) / "run.json"
    if not path.is_file():
        raise DataError(f"{run_dir}: not a run folder (no run.json)")
    try:
        meta = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise DataError(f"{path}: corrupt run file: {exc}") from None
    if not isinstance(meta.get("datasets"), dict) or not isinstance(meta.get("baselines"), dict):
        raise DataError(f"{path}: no 'datasets' / 'baselines' mappings")
    return meta


def _pick(kind: str, wanted: list[str] | None, known: list[str]) -> list[str]:
    """Names checked against `known` with the registries' did-you-mean."""
    if not wanted:
        return list(known)
    reg: Registry[None] = Registry(kind)
    for k in known:
        reg.register(k, None, "")
    try:
        return [reg.entry(n).name for n in dict.fromkeys(wanted)]
    except UnknownNameError as exc:
        raise UsageError(f"{exc} in this run") from None


def _role(entry: dict) -> str:
    """'model', 'floor' or 'ceiling', as the run recorded it."""
    return entry.get("role") or (entry.get("info") or {}).get("role") or "model"


def select_baselines(meta: dict, wanted: list[str] | None, include_references: bool) -> tuple[list[str], dict[str, str]]:
    names = _pick("baseline", wanted, list(meta["baselines"]))
    chosen, skipped = [], {}
    for b in names:
        info = meta["baselines"][b] or {}
        if info.get("status", "ok") != "ok":
            if wanted:
                raise UsageError(f"baseline {b!r} failed in this run ({info.get('reason') or 'no reason recorded'}); it has no outputs to show")
            skipped[b] = f"failed: {info.get('reason') or 'no reason recorded'}"
        elif _role(info) != "model" and not (wanted or include_references):
            skipped[b] = f"{_role(info)} reference row (name it in --baselines or pass --include-references to show it)"
        else:
            chosen.append(b)
    if not chosen:
        raise UsageError("no baselines left to study: " + "; ".join(f"{k}: {v}" for k, v in skipped.items()))
    return chosen, skipped


def _inside(root: Path, path: Path) -> bool:
    """Lexically under root (an id like '../x' is not); symlinked run files stay usable."""
    return Path(os.path.abspath(path)).is_relative_to(os.path.abspath(root))


def _scene_files(run_dir: Path, dataset: str, image_id: str, baselines: list[str]) -> list[Path]:
    return [run_dir.joinpath(*gt_parts(dataset, image_id))] + [run_dir.joinpath(*pred_parts(dataset, b, image_id)) for b in baselines]


def usable_scenes(run_dir: Path, meta: dict, datasets: list[str], baselines: list[str]) -> tuple[dict[str, list[str]], dict[str, list[str]]]:
    """Per dataset, the test ids with a ground truth and every baseline's output; and those left out."""
    usable, skipped = {}, {}
    for d in datasets:
        ids = (meta["datasets"][d] or {}).get("test_ids")
        if not isinstance(ids, list):
            raise DataError(f"{run_dir / 'run.json'}: datasets.{d}.test_ids missing")
        usable[d] = [i for i in ids if all(_inside(run_dir, f) and f.is_file() for f in _scene_files(run_dir, d, i, baselines))]
        kept = set(usable[d])
        skipped[d] = [i for i in ids if i not in kept]
    return usable, skipped


def _add_image(images: dict[str, str], folder: Path, source: Path) -> str:
    digest = file_sha256(source)
    name = f"{digest[:16]}.png"
    if name not in images:
        shutil.copyfile(source, folder / name)
        images[name] = digest
    return name


def _hue_rotated(images: dict[str, str], folder: Path, gt: Path) -> str:
    """The ground truth with a and b negated in CIELAB: hue turned by 180 degrees, lightness kept."""
    from colorbench.color import lab_to_rgb, rgb_to_lab
    from colorbench.imageio import UnreadableImage, load_rgb, save_png

    try:
        lab = rgb_to_lab(load_rgb(gt).double().unsqueeze(0))
    except UnreadableImage as exc:
        raise DataError(f"{gt}: unreadable ground truth for a vigilance image ({exc})") from None
    lab[:, 1:] = -lab[:, 1:]
    tmp = folder / ".vigilance.png"
    save_png(tmp, lab_to_rgb(lab)[0].float())
    name = _add_image(images, folder, tmp)
    tmp.unlink()
    return name


def _build(run_dir: Path, meta: dict, opts: CreateOptions, name: str, staging: Path) -> Study:
    datasets = _pick("dataset", opts.datasets, list(meta["datasets"]))
    baselines, skipped_b = select_baselines(meta, opts.baselines, opts.include_references)
    usable, skipped_s = usable_scenes(run_dir, meta, datasets, baselines)
    plans = sample_plans(DESIGNS.get(opts.design), usable, baselines, opts.per_baseline, opts.practice, opts.vigilance, opts.seed)
    folder = staging / IMAGES_DIR
    folder.mkdir()
    images: dict[str, str] = {}
    trials = []
    for tid, p in zip(trial_ids(len(plans), opts.seed), plans):
        gt = run_dir.joinpath(*gt_parts(p.dataset, p.image_id))
        reference = _add_image(images, folder, gt)
        if p.kind == "vigilance":
            test = _hue_rotated(images, folder, gt)
        elif p.system == GROUND_TRUTH:
            test = reference
        else:
            test = _add_image(images, folder, run_dir.joinpath(*pred_parts(p.dataset, p.system, p.image_id)))
        trials.append(Trial(tid, p.kind, p.dataset, p.image_id, p.system, test, reference))
    settings = Settings(opts.per_baseline, datasets, baselines, opts.practice, opts.vigilance, opts.vigilance_max_fail,
                        skipped_b, {d: ids for d, ids in skipped_s.items() if ids})
    source = Source(str(meta.get("run_id") or run_dir.name), str(run_dir.resolve()))
    return Study(STUDY_SCHEMA, name, opts.design, opts.seed, now(), __version__, source, settings, images, fingerprint(images.values()), trials)


def _check(opts: CreateOptions) -> None:
    try:
        DESIGNS.get(opts.design)
    except UnknownNameError as exc:
        raise UsageError(f"--design: {exc}") from None
    for key, value, low in (("--per-baseline", opts.per_baseline, 1), ("--practice", opts.practice, 0), ("--vigilance", opts.vigilance, 0)):
        if value < low:
            raise UsageError(f"{key} must be at least {low}, got {value}")
    if not 0.0 <= opts.vigilance_max_fail < 1.0:
        raise UsageError(f"--vigilance-max-fail must be in [0, 1), got {opts.vigilance_max_fail}")
    if opts.name is not None and not NAME.fullmatch(opts.name):
        raise UsageError(f"--name {opts.name!r}: use letters, digits, '_', '-' and '.' (up to 64, not starting with '.')")


RUN_SUBFOLDERS = RUN_DIRS  # what `colorbench run` rewrites and cleans


def check_target(run_dir: Path, target: Path, force: bool, option: str) -> None:
    """The study folder may not lie in the run's own subfolders, and an existing one is replaced
    only with --force and only when it is a study's (study.folder); nothing is touched here.
    `option` names where the folder came from (--out or --name) in the messages."""
    where = target.resolve()
    for sub in RUN_SUBFOLDERS:
        if where.is_relative_to((run_dir / sub).resolve()):
            raise UsageError(f"{option} {target}: inside the run's {sub}/ folder, which `colorbench run` rewrites and cleans; "
                             "put the study elsewhere (the default is RUN_DIR/studies/NAME)")
    if not (target.exists() or target.is_symlink()):
        return
    if not force:
        raise UsageError(f"{target} exists; pass --force to replace it (its votes are discarded) or choose another --name")
    refusal = replace_refusal(target)
    if refusal:
        raise UsageError(f"{option} {target} {refusal}; --force replaces only a colorbench study folder")


def create_study(run_dir: Path, opts: CreateOptions) -> tuple[Path, Study]:
    run_dir = Path(run_dir)
    _check(opts)
    meta = read_run(run_dir)
    name = opts.name or opts.design
    target = Path(opts.out) if opts.out else study_dir(run_dir, name)
    check_target(run_dir, target, opts.force, "--out" if opts.out else "--name")
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent))
    staging.chmod(0o755)  # mkdtemp makes it private; the folder is meant to be shared
    try:
        mark_study_folder(staging)  # first, as a run marks its folder
        study = _build(run_dir, meta, opts, name, staging)
        write_json(staging / STUDY_FILE, to_dict(study))
        create_db(staging / DB_FILE, study.fingerprint)
        _move_into_place(staging, target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return target, study


def _move_into_place(staging: Path, target: Path) -> None:
    if not target.exists():
        staging.rename(target)
        return
    try:
        with RunLock(target):  # a study being served is not replaced under its server
            old = target.with_name(f".{target.name}.old")
            shutil.rmtree(old, ignore_errors=True)
            target.rename(old)
            staging.rename(target)
    except OutputLocked:
        raise OutputLocked(f"{target} is in use by another colorbench process (its server?); stop `colorbench study serve` first") from None
    shutil.rmtree(old, ignore_errors=True)

