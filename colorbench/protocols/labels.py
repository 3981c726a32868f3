"""Labels every printed number carries: which protocol defined it and which weight files it came
from, with unverified ones (a --weights-file, or a cached file whose checks failed) flagged."""
from __future__ import annotations

from .base import Protocol
from .registry import DEFAULT


def weights_label(protocol: Protocol, metrics: list[str]) -> dict[str, dict]:
    """{weight name: {sha256, verified, source, path, metrics}} for the weights `metrics` use."""
    from colorbench import weights

    users: dict[str, list[str]] = {}
    for name in metrics:
        for weight in protocol.spec(name).weights:
            users.setdefault(weight, []).append(name)
    rows = {r["name"]: r for r in weights.manifest()}
    return {w: {"sha256": rows[w]["sha256"], "verified": bool(rows[w]["verified"]), "source": rows[w]["source"],
                "path": rows[w]["path"], "metrics": names} for w, names in users.items()}


def unverified(label: dict[str, dict]) -> dict[str, dict]:
    return {w: row for w, row in label.items() if not row["verified"]}


def banner_lines(protocol: Protocol, label: dict[str, dict]) -> list[str]:
    """What a human reader is told before the numbers: a non-default protocol's name and source,
    and every unverified weight file with the metrics that depend on it."""
    lines = []
    if protocol.name != DEFAULT:
        lines.append(f"protocol {protocol.name}: {protocol.source} (its definitions, not colorbench's; "
                     f"`colorbench list protocols` lists the quirks)")
    for weight, row in unverified(label).items():
        sha = (row["sha256"] or "missing")[:16]
        lines.append(f"UNVERIFIED WEIGHTS {weight}: {row['path']} (sha256 {sha}..., source {row['source']}); "
                     f"the numbers computed with it ({', '.join(row['metrics'])}) are not comparable with "
                     "numbers from the checked file")
    return lines


def run_banner(evaluation: dict, weight_rows: list[dict]) -> list[str]:
    """The report's banner for a run from its run.json: the protocol (when not colorbench's) and
    each unverified weight file its metrics used (recorded by the run, not looked up now)."""
    from .registry import PROTOCOLS

    name = evaluation.get("protocol") or DEFAULT
    protocol = PROTOCOLS.get(name) if name in PROTOCOLS else None
    lines = [] if name == DEFAULT else [
        f"Evaluation protocol {name}: {evaluation.get('protocol_source') or '?'}. These numbers follow that "
        "script's definitions, quirks included, not colorbench's; compare them only with results of the same protocol."]
    users: dict[str, list[str]] = {}
    for metric in evaluation.get("metrics") or []:
        spec = protocol.metrics.get(metric) if protocol is not None and metric in protocol.metrics else None
        for weight in spec.weights if spec is not None else ():
            users.setdefault(weight, []).append(metric)
    for row in weight_rows:
        if row.get("name") in users and not row.get("verified"):
            lines.append(f"Unverified weights: {row['name']} = {row.get('path')} (sha256 {(row.get('sha256') or 'missing')[:16]}..., "
                         f"source {row.get('source')}); the numbers computed with it ({', '.join(users[row['name']])}) "
                         "are not comparable with numbers from the checked file.")
    return lines
