"""Refresh the report's agreement-with-people data: colorbench/report/data/hecd_agreement.json.

  python scripts/hecd_agreement_data.py [--metrics M1,M2,...] [--resamples N]

Runs `colorbench agreement hecd --json --no-download` (the local HECD copy under
$COLORBENCH_DATA/hecd) and keeps, per metric, the pooled SRCC with its 95% CI and the
within-scene SRCC, with the computation's provenance: colorbench version, the SHA-256 of the
shipped HECD manifest, the scenes and number of images used, the metrics, the bootstrap and the
date. Metrics not computed here (default: every per-image metric but the ones slow on CPU) are
listed under `not_computed`; the report says their agreement is unknown.
"""
from __future__ import annotations

import argparse
import datetime
import json
import subprocess
import sys
from pathlib import Path

from colorbench import __version__
from importlib import resources

from colorbench.files import write_text
from colorbench.hashing import sha256_bytes

TARGET = Path(__file__).resolve().parents[1] / "colorbench" / "report" / "data" / "hecd_agreement.json"


def manifest_sha256() -> str:
    """SHA-256 of colorbench/data/manifests/hecd.sha256: which HECD files the computation accepted."""
    return sha256_bytes(resources.files("colorbench.data").joinpath("manifests", "hecd.sha256").read_bytes())


def agreement_json(metrics: list[str] | None, resamples: int, seed: int) -> dict:
    cmd = [sys.executable, "-m", "colorbench", "agreement", "hecd", "--json", "--no-download",
           "--resamples", str(resamples), "--seed", str(seed)] + (["--metrics", ",".join(metrics)] if metrics else [])
    done = subprocess.run(cmd, check=True, stdout=subprocess.PIPE, text=True)
    return json.loads(done.stdout), cmd[3:]


def shipped(result: dict, command: list[str]) -> dict:
    """The file's content: per-metric agreement and the provenance of the computation."""
    from colorbench.human.agreement import per_image_metrics

    keep = ("direction", "n", "undefined", "srcc", "srcc_ci", "krcc", "krcc_ci", "plcc")
    metrics = {n: {**{k: m[k] for k in keep}, "within_scene_srcc": m["within_scene"]["srcc"],
                   "within_scene_srcc_ci": m["within_scene"]["srcc_ci"]} for n, m in result["metrics"].items()}
    return {
        "what": "agreement of each per-image metric with people's naturalness ratings on HECD "
                "(pooled Spearman SRCC of the metric, signed so that positive = agrees, with the per-image mean z-score)",
        "provenance": {
            "colorbench_version": __version__, "command": "colorbench " + " ".join(command),
            "hecd_manifest_sha256": manifest_sha256(), "source": result["source"],
            "scenes": result["scenes"], "n_images": result["n"], "metrics": list(metrics),
            "zscore": result["zscore"]["method"], "bootstrap": result["bootstrap"], "size_policy": result["size_policy"],
            "metrics_failed": result["metrics_failed"], "date": datetime.date.today().isoformat(),
        },
        "not_computed": [n for n in per_image_metrics(None) if n not in metrics],
        "metrics": metrics,
    }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--metrics", help="comma-separated per-image metrics (default: agreement's default)")
    p.add_argument("--resamples", type=int, default=1000)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", type=Path, default=TARGET)
    args = p.parse_args(argv)
    result, command = agreement_json(args.metrics.split(",") if args.metrics else None, args.resamples, args.seed)
    write_text(args.out, json.dumps(shipped(result, command), indent=1) + "\n")
    print(f"wrote {args.out}: {len(result['metrics'])} metrics, {result['n']} images, scenes {', '.join(result['scenes'])}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
