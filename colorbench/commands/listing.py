"""`colorbench list baselines|metrics|datasets|protocols [--json]`: what is registered."""
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
    if kind == "protocols":
        from colorbench.protocols.registry import PROTOCOLS

        return [e.obj.describe() for e in PROTOCOLS.entries()]
    from colorbench.data.catalog import DATASETS

    return [{"name": e.name, "description": e.description} for e in DATASETS.entries()]


def _first_sentence(text: str) -> str:
    """Up to the first full stop that ends a sentence (not 'et al.' or 'e.g.')."""
    match = re.search(r"(?<!\bal)(?<!\be\.g)\.(\s|$)", text)
    return text[: match.start()] + "." if match else text


def _protocol_lines(row: dict) -> list[str]:
    """A protocol in text: its name and source, then each metric and its quirks."""
    lines = [f"{row['name']}  {row['summary']}", f"  source: {row['source']}"]
    lines += [f"  quirk: {q}" for q in row["quirks"]]
    for m in row["metrics"]:
        lines.append(f"  {m['name']}: {_first_sentence(m['definition'])}")
        lines += [f"    quirk: {q}" for q in m["quirks"]]
    lines += [f"  not defined: {name}: {why}" for name, why in row["undefined"].items()]
    return lines


def handle(args) -> int:
    rows = _rows(args.kind)
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    if args.kind == "protocols":  # metric lists are long: the colorbench row points at `list metrics`
        for r in rows:
            text = _protocol_lines(r) if r["name"] != "colorbench" else [
                f"{r['name']}  {r['summary']}", "  metrics: `colorbench list metrics`"]
            print("\n".join(text))
        return 0
    width = max(len(r["name"]) for r in rows)
    for r in rows:
        plugin = r.get("plugin")
        mark = f"  [plug-in: {plugin['package']} {plugin['version']}]" if plugin else ""
        print(f"{r['name']:<{width}}  {_first_sentence(r['description'])}{mark}")
    return 0


def register(sub) -> None:
    p = sub.add_parser("list", help="list registered baselines, metrics, datasets or evaluation protocols")
    p.add_argument("kind", choices=["baselines", "metrics", "datasets", "protocols"])
    p.add_argument("--json", action="store_true", help="a JSON list of objects with at least `name`")
    p.set_defaults(func=handle)
