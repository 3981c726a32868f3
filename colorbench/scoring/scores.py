"""Scoring predictions against ground truth and what it returns: the one routine behind both
`colorbench score` and colorbench.score(), so the two cannot drift.

score_inputs() matches the images (colorbench.scoring.inputs), runs the scoring engine, and
returns a Scores record: per-image values, the summary with bootstrap CIs (colorbench.stats),
the provenance document (summary.json of `score --out`), what was excluded and why, and which
metrics failed. The command line only parses its arguments and prints or saves this record.
"""
from __future__ import annotations

import csv
import html
import io
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence

import pandas as pd
import torch

from colorbench import distributed
from colorbench.errors import DataError, UsageError
from colorbench.files import display_name, write_text
from colorbench.metrics.base import MetricContext
from colorbench.scoring.engine import ScoreResult, score_pairs
from colorbench.scoring.inputs import Images, pairs_from
from colorbench.stats import BOOTSTRAP_RESAMPLES, bootstrap_ci

DEFAULT_PROTOCOL = "colorbench"
_EXCLUSIONS = (("missing", "missing prediction"), ("extra", "extra prediction"),
               ("ambiguous", "ambiguous (several files)"), ("size_mismatch", "size mismatch"),
               ("unreadable", "unreadable"))


@dataclass(frozen=True)
class Excluded:
    """An image that was not scored: its id and why (one of the reasons in _EXCLUSIONS)."""

    id: str
    reason: str


@dataclass(frozen=True, eq=False)
class Scores:
    """What one scoring returns; every number equals `colorbench score` on the same images.

    per_image: one row per scored pair (index "id", in scoring order), one column per metric
        that has per-image values.
    summary: one row per requested metric (index "metric"): value, ci_low and ci_high (95%
        percentile bootstrap of the per-image mean; NaN for dataset-level metrics), n (pairs
        scored; 0 for a metric that failed, whose value is NaN).
    provenance: the summary.json document of `colorbench score --out`: n, each metric's value,
        CI, direction, unit, definition and extra (weights' SHA-256, warnings), failed
        metrics, inputs, size policy, bootstrap settings and every exclusion.
    excluded: the pairs not scored, with the reason; failed: metric -> why it has no value.
    """

    per_image: pd.DataFrame
    summary: pd.DataFrame
    provenance: dict[str, Any]
    excluded: list[Excluded]
    failed: dict[str, str]
    resized: list[str] = field(default_factory=list)  # predictions resized (size_policy="resize")
    protocol: str = DEFAULT_PROTOCOL

    @property
    def n(self) -> int:
        """Image pairs scored."""
        return int(self.provenance["n"])

    def to_json(self) -> dict[str, Any]:
        """What `colorbench score --json` prints: each metric's value (None if failed) and n, and
        for a published protocol or an unverified weight file, its label ("protocol", "weights")."""
        metrics = self.provenance["metrics"]
        nonfinite = {n: s["nonfinite"] for n, s in metrics.items() if s.get("nonfinite")}
        return {**{n: s["value"] for n, s in metrics.items()}, **{n: None for n in self.failed}, "n": self.n,
                **({"nonfinite": nonfinite} if nonfinite else {}), **self._label()}

    def _label(self) -> dict[str, Any]:
        return {k: self.provenance[k] for k in ("protocol", "weights") if k in self.provenance}

    def table(self) -> str:
        """The table `colorbench score` prints, after the protocol's and unverified weights' banner."""
        from colorbench.protocols import labels
        from colorbench.protocols.registry import get

        banner = labels.banner_lines(get(self.protocol), self.provenance.get("weights", {}))
        arrows = {"higher": "higher", "lower": "lower", "none": "-"}
        rows = [("metric", "value", "better", "unit", "95% CI")]
        for name, s in self.provenance["metrics"].items():
            ci = f"[{_fmt(s['ci95'][0])}, {_fmt(s['ci95'][1])}]" if s["ci95"] else "-"
            rows.append((name, _fmt(_value(s)), arrows[s["direction"]], s["unit"] or "-", ci))
        widths = [max(len(r[i]) for r in rows) for i in range(5)]
        return "\n".join([*banner, *("  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in rows)])

    def save(self, folder: str | Path) -> None:
        """per_image.csv and summary.json, as `colorbench score --out FOLDER` writes them."""
        folder = Path(folder)
        lines = [["id", *self.per_image.columns]]
        lines += [[i, *(repr(float(v)) for v in row)] for i, row in zip(self.per_image.index, self.per_image.to_numpy())]
        text = io.StringIO()
        csv.writer(text, lineterminator="\n").writerows(lines)
        write_text(folder / "per_image.csv", text.getvalue())
        write_text(folder / "summary.json", json.dumps(self.provenance, indent=2))

    def __repr__(self) -> str:
        lines = [self.table(), f"n = {self.n} image pairs"]
        lines += [f"excluded: {count} {reason}" for reason, count in self._excluded_counts().items()]
        lines += [f"failed: {name}: {reason}" for name, reason in self.failed.items()]
        return "\n".join(lines)

    def _excluded_counts(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for e in self.excluded:
            counts[e.reason] = counts.get(e.reason, 0) + 1
        return counts

    def _repr_html_(self) -> str:
        metrics = self.provenance["metrics"]
        shown = self.summary.assign(
            better=[metrics[m]["direction"] if m in metrics else "" for m in self.summary.index],
            unit=[metrics[m]["unit"] if m in metrics else "" for m in self.summary.index])
        notes = [f"{count} {html.escape(reason)}" for reason, count in self._excluded_counts().items()]
        notes += [f"{html.escape(name)} failed: {html.escape(reason)}" for name, reason in self.failed.items()]
        foot = f"<p>excluded / failed: {'; '.join(notes)}</p>" if notes else ""
        return (f"<p><b>colorbench scores</b>: n = {self.n} image pairs, protocol {html.escape(self.protocol)}</p>"
                + shown.to_html(float_format=lambda v: f"{v:.5g}", na_rep="-") + foot)


def _num(x: float | None) -> float | None:
    return None if x is None or math.isnan(x) or math.isinf(x) else x


def _nonfinite(x: float) -> str | None:
    """"inf" / "-inf" for an infinite value, as results.jsonl writes it (strict JSON has none; a
    published protocol's PSNR mean is inf when one image is reproduced exactly, as its code prints)."""
    return str(x) if math.isinf(x) else None


def _value(s: dict | None) -> float:
    """A summary.json metric entry's value as a float: null is NaN unless marked non-finite."""
    if s is None or s["value"] is None:
        return float(s["nonfinite"]) if s and s.get("nonfinite") else math.nan
    return s["value"]


def _fmt(x: float | None) -> str:
    return "nan" if x is None or math.isnan(x) else f"{x:.5g}"


def metric_names(names: str | Sequence[str] | None, option: str = "metrics", protocol: str | None = None) -> list[str]:
    """The metrics to compute under `protocol` (None: colorbench's): its default set for None,
    else every name (comma lists split), each checked (UnknownNameError with did-you-mean; a
    metric the protocol does not define: UsageError), repeats dropped; `option` names the
    argument in the error for an empty list."""
    from colorbench.protocols.registry import get

    if names is None:
        return get(protocol).resolve(None)
    items = [names] if isinstance(names, str) else list(names)
    found = [n.strip() for item in items for n in item.split(",") if n.strip()]
    if not found:
        raise UsageError(f"{option} names no metric")
    return list(dict.fromkeys(get(protocol).resolve(found)))


def _shown(ids: list[str]) -> str:
    return ", ".join(map(display_name, ids[:5])) + (", ..." if len(ids) > 5 else "")


def score_inputs(pred: Images, gt: Images, metrics: list[str], device: torch.device, *, batch_size: int = 16,
                 size_policy: str = "exclude", strict: bool = False, seed: int = 0,
                 protocol: str | None = None, notify: Callable[[str], None] | None = None) -> Scores:
    """Score pred against gt (folders, lists of files or arrays: colorbench.scoring.inputs) with
    `metrics` (checked names) on `device`. Under torchrun the process group is joined and each
    rank scores a shard; every rank gets the whole result. `notify` receives, on the main rank,
    one line per kind of exclusion and per failed metric (the CLI prints them to stderr)."""
    from colorbench.protocols import labels
    from colorbench.protocols.registry import get

    evaluation = get(protocol)  # unknown: UnknownNameError with did-you-mean, before any work
    distributed.init(device)  # under torchrun each rank scores a shard; rank 0 reports
    device = distributed.local_device(device)
    say = notify if notify is not None and distributed.world().main else (lambda line: None)
    match, described = pairs_from(pred, gt, pred_prefix=evaluation.pred_prefix)
    for label, ids in (("missing predictions", match.missing), ("extra predictions", match.extra),
                       ("ambiguous ids (several files)", match.ambiguous)):
        if ids:
            say(f"{len(ids)} {label}: {_shown(ids)}")
    if strict and (match.missing or match.ambiguous):
        raise DataError("missing or ambiguous predictions under --strict")
    result = score_pairs(
        match.pairs, metrics, MetricContext(device=device, seed=seed), batch_size=batch_size,
        size_policy=size_policy, strict=strict, key_real_stats_by_files=True, registry=evaluation.metrics,
    )
    for label, ids in (("size mismatches excluded", result.size_mismatch),
                       ("predictions resized", result.resized), ("unreadable pairs", result.unreadable)):
        if ids:
            say(f"{len(ids)} {label}: {', '.join(map(display_name, ids[:5]))}")
    for name, reason in result.failed.items():
        say(f"metric {name} failed: {reason}")
    label = {"protocol": evaluation.name} if evaluation.name != DEFAULT_PROTOCOL else {}
    if used := labels.weights_label(evaluation, list(result.values)):
        label["weights"] = used  # which files every number came from; unverified ones flagged
    provenance = {**label, "n": len(result.ids), "metrics": _metric_summaries(result, seed, evaluation),
                  "failed": result.failed,
                  **described, "size_policy": size_policy,
                  "bootstrap": {"resamples": BOOTSTRAP_RESAMPLES, "seed": seed, "method": "percentile"},
                  "missing": match.missing, "extra": match.extra, "ambiguous": match.ambiguous,
                  "size_mismatch": result.size_mismatch, "resized": result.resized, "unreadable": result.unreadable}
    excluded = [Excluded(i, reason) for key, reason in _EXCLUSIONS for i in provenance[key]]
    return Scores(_per_image(result), _summary_frame(metrics, provenance), provenance, excluded,
                  dict(result.failed), list(result.resized), evaluation.name)


def _metric_summaries(result: ScoreResult, seed: int, evaluation) -> dict[str, dict]:
    """summary.json's "metrics": per computed metric its value, CI, direction, unit, definition
    (the protocol's) and the JSON-safe part of its extra (NaN and infinities as null)."""
    from colorbench.metrics.registry import direction_word

    out = {}
    for name, mv in result.values.items():
        spec = evaluation.spec(name)
        ci = bootstrap_ci(mv.per_image.cpu().numpy(), seed=seed) if mv.per_image is not None else None
        nonfinite = _nonfinite(mv.value)
        out[name] = {
            "value": _num(mv.value),
            **({"nonfinite": nonfinite} if nonfinite else {}),
            "ci95": list(ci) if ci else None,
            "direction": direction_word(spec),
            "unit": spec.unit,
            "definition": spec.definition,
            "extra": {k: _num(v) if isinstance(v, float) else v for k, v in mv.extra.items()
                      if isinstance(v, (int, float, str, bool, type(None)))},  # strict JSON: NaN -> null
        }
    return out


def _per_image(result: ScoreResult) -> pd.DataFrame:
    columns = {n: mv.per_image.cpu().tolist() for n, mv in result.values.items() if mv.per_image is not None}
    return pd.DataFrame(columns, index=pd.Index(result.ids, name="id"), dtype="float64")


def _summary_frame(metrics: list[str], provenance: dict) -> pd.DataFrame:
    rows = {}
    for name in metrics:
        s = provenance["metrics"].get(name)
        value = _value(s)
        ci = s["ci95"] if s is not None and s["ci95"] else (math.nan, math.nan)
        rows[name] = {"value": value, "ci_low": ci[0], "ci_high": ci[1], "n": provenance["n"] if s else 0}
    frame = pd.DataFrame.from_dict(rows, orient="index", columns=["value", "ci_low", "ci_high", "n"])
    return frame.astype({"value": "float64", "ci_low": "float64", "ci_high": "float64", "n": "int64"}).rename_axis("metric")
