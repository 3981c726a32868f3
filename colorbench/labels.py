"""Row labels: dataset and baseline names, which also become folder names under a run."""
from __future__ import annotations

import unicodedata

MAX_LABEL_LENGTH = 100
_FORBIDDEN = set('/\\:*?"<>|')  # path separators and what Windows refuses in a file name


def label_problem(name: str) -> str | None:
    """Why `name` cannot be a row label (it becomes a folder name under output_dir), or None."""
    if not name:
        return "must not be empty"
    if name != name.strip():
        return f"{name!r} has leading or trailing white space"
    if name.startswith("."):
        return f"{name!r} starts with '.' (names become folder names: no hidden or relative paths)"
    bad = sorted({c for c in name if c in _FORBIDDEN or ord(c) < 32 or ord(c) == 127})
    if bad:
        return f"{name!r} contains {', '.join(map(repr, bad))} (names become folder names: no path separators or control characters)"
    if len(name) > MAX_LABEL_LENGTH:
        return f"is longer than {MAX_LABEL_LENGTH} characters"
    return None


def label_key(name: str) -> str:
    """The form two labels must not share: case-insensitive file systems fold case."""
    return unicodedata.normalize("NFC", name).casefold()
