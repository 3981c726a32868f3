"""Exporting a finished run's tables for committing under reports/ (as timm's results/): the
results and per-image tables, summary.md and run.json, with machine paths replaced by the
variable they came from, so the files say the same thing on every machine. No images, no
checkpoints."""
from __future__ import annotations

import json
import os
from pathlib import Path

from colorbench.document import RunDocument
from colorbench.errors import UsageError
from colorbench.files import write_text
from colorbench.paths import cache_root, data_root
from colorbench.results import read_results

EXPORTED = ("results.csv", "per_image.csv", "summary.md")


def path_placeholders() -> list[tuple[str, str]]:
    """(absolute path, what it stands for), longest first so nested roots win; each root both as
    given and with its links resolved (a data folder reached through a symlink is recorded as given)."""
    named = [(cache_root(), "$COLORBENCH_CACHE"), (Path.home(), "~"), (Path.cwd(), ".")]
    if data_root() is not None:
        named.append((data_root(), "$COLORBENCH_DATA"))
    named += [(Path(os.environ[n]), f"${n}") for n in ("TORCH_HOME", "XDG_CACHE_HOME") if os.environ.get(n)]
    roots = {str(form): name for path, name in named for form in (Path(path).absolute(), Path(path).resolve())}
    return sorted(((k, v) for k, v in roots.items() if k != "/"), key=lambda kv: -len(kv[0]))


def without_paths(value, placeholders: list[tuple[str, str]]):
    """`value` (text, or JSON data walked recursively) with every listed path replaced."""
    if isinstance(value, str):
        for path, name in placeholders:
            value = value.replace(path, name)
        return value
    if isinstance(value, dict):
        return {k: without_paths(v, placeholders) for k, v in value.items()}
    if isinstance(value, list):
        return [without_paths(v, placeholders) for v in value]
    return value


def export_run(run_dir: Path, dest: Path) -> list[Path]:
    """Write DEST/{results.csv, per_image.csv, summary.md, run.json}; returns the files written."""
    run_dir, dest = Path(run_dir), Path(dest)
    if not (run_dir / "run.json").is_file():
        raise UsageError(f"{run_dir} is not a finished colorbench run (no run.json)")
    read_results(run_dir / "results.csv")  # a valid table, or exit 2 before anything is written
    RunDocument.load(run_dir / "run.json")
    placeholders = path_placeholders()
    dest.mkdir(parents=True, exist_ok=True)
    written = []
    for name in (*EXPORTED, "run.json"):
        text = (run_dir / name).read_text(encoding="utf-8")
        if name == "run.json":
            text = json.dumps(without_paths(json.loads(text), placeholders), indent=2) + "\n"
        write_text(dest / name, without_paths(text, placeholders))
        written.append(dest / name)
    return written
