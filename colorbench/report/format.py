"""Formatting for the report: slugs, numbers, arrows and relative image URLs."""
from __future__ import annotations

import hashlib
import math
import re
from urllib.parse import quote


def slug(name: str) -> str:
    """A file-name-safe slug; names that had to be altered get a short hash so slugs stay unique."""
    clean = re.sub(r"[^A-Za-z0-9_.-]+", "-", name).strip("-.").lower() or "baseline"
    if clean == name:
        return clean
    return f"{clean}-{hashlib.sha1(name.encode('utf-8')).hexdigest()[:6]}"


def number(value) -> float | None:
    """A float, or None for empty / NaN cells."""
    try:
        v = float(value)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(v) else v


def arrow(higher_is_better: bool | None) -> str:
    return {True: "↑", False: "↓", None: ""}[higher_is_better]


def fmt(value: float | None, ref: float | None = None) -> str:
    """A compact number; `ref` (e.g. the row value) fixes the decimals so a CI matches its value."""
    if value is None:
        return "—"
    scale = abs(ref if ref is not None else value)
    if math.isinf(value):
        return "∞" if value > 0 else "−∞"
    if scale >= 100:
        return f"{value:.1f}"
    if scale >= 1:
        return f"{value:.2f}"
    if scale == 0:
        return f"{value:.3g}"
    decimals = min(8, 3 - int(math.floor(math.log10(scale))))  # about 4 significant digits
    return f"{value:.{decimals}f}"


def image_url(*parts: str) -> str:
    """A relative URL from reports/ to a run file; each path segment percent-encoded (ids may hold '#', '?', spaces)."""
    segments = [seg for part in parts for seg in str(part).split("/")]
    return "/".join(quote(seg, safe="", errors="surrogateescape") for seg in segments)  # the file's own bytes
