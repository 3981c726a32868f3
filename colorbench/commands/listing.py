"""`colorbench list baselines|metrics|datasets [--json]`: what is registered."""
from __future__ import annotations

import json
import re


def _rows(kind: str) -> list[dict]:
    if kind == "baselines":
        from colorbench.families import listed

        return listed()
    if kind == "metrics":
        from colorbench.metrics.factory import definitions  # colorbench.metrics.list()

        return definitions()
    from colorbench.data.catalog import DATASETS

    return [{"name": e.name, "description": e.description} for e in DATASETS.entries()]


def _first_sentence(text: str) -> str:
    """Up to the first full stop that ends a sentence (not 'et al.' or 'e.g.')."""
    match = re.search(r"(?<!\bal)(?<!\be\.g)\.(\s|$)", text)
    return text[: match.start()] + "." if match else text


def handle(args) -> int:
    rows = _rows(args.kind)
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    width = max(len(r["name"]) for r in rows)
    for r in rows:
        plugin = r.get("plugin")
        mark = f"  [plug-in: {plugin['package']} {plugin['version']}]" if plugin else ""
        print(f"{r['name']:<{width}}  {_first_sentence(r['description'])}{mark}")
    return 0


def register(sub) -> None:
    p = sub.add_parser("list", help="list registered baselines, metrics or datasets")
    p.add_argument("kind", choices=["baselines", "metrics", "datasets"])
    p.add_argument("--json", action="store_true", help="a JSON list of objects with at least `name`")
    p.set_defaults(func=handle)
