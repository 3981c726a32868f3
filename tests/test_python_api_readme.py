"""The README's "From Python" examples, then docs/python.md's, run as doctests in one session so
they cannot rot: in a folder whose outputs/ and gt/ hold four Kodak images at 96x64 and a
desaturated copy of each (the README says so)."""
from __future__ import annotations

import doctest
import re
from pathlib import Path

import numpy as np
from PIL import Image

from colorbench.paths import data_root

ROOT = Path(__file__).resolve().parents[1]
SECTIONS = ((ROOT / "README.md", "From Python"), (ROOT / "docs" / "python.md", "More from Python"))


def _section(path: Path, title: str) -> tuple[str, int]:
    """The section's text (up to the next section or the end) with its code fences blanked (a
    fence after an expected output would otherwise be read as part of it), and its first line number."""
    text = path.read_text(encoding="utf-8")
    match = re.search(rf"^## {re.escape(title)}\n(.*?)(?=^## |\Z)", text, flags=re.M | re.S)
    assert match, f"{path.name} has no section {title!r}"
    body = re.sub(r"^```.*$", "", match.group(1), flags=re.M)
    return body, text[: match.start(1)].count("\n")


def _kodak_folders(root: Path) -> None:
    kodak = data_root() / "kodak24" if data_root() else None
    assert kodak is not None and kodak.is_dir(), "set COLORBENCH_DATA to the folder holding kodak24/"
    for folder in ("outputs", "gt"):
        (root / folder).mkdir()
    for path in sorted(kodak.glob("*.png"))[:4]:
        img = Image.open(path).convert("RGB").resize((96, 64), Image.BICUBIC)
        rgb = np.asarray(img) / 255.0
        guess = 0.6 * rgb + 0.4 * rgb.mean(-1, keepdims=True)
        img.save(root / "gt" / path.name)
        Image.fromarray(np.rint(guess * 255).astype(np.uint8)).save(root / "outputs" / path.name)


def test_readme_from_python_examples_run(tmp_path, monkeypatch, weights_env):
    _kodak_folders(tmp_path)
    monkeypatch.chdir(tmp_path)
    globs: dict = {}
    out: list[str] = []
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    examples = 0
    for path, title in SECTIONS:
        body, line = _section(path, title)
        test = doctest.DocTestParser().get_doctest(body, globs, f"{path.name}: {title}", str(path), line)
        test.globs = globs  # one session: the second page uses the first's imports
        examples += len(test.examples)
        result = runner.run(test, out=out.append, clear_globs=False)
        assert result.failed == 0, "".join(out)
    assert examples >= 10
    assert (tmp_path / "runs" / "mini" / "results.csv").is_file()
