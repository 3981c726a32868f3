"""Fit the human-calibrated combination on a rated set's per-image table and say whether it earns a place.

  python scripts/fit_human_calibrated.py PER_IMAGE_CSV [--components M1,M2,...] [--write]

PER_IMAGE_CSV is the per_image.csv of `colorbench agreement hecd --out DIR` (all metrics,
lpips_vgg too); the pairwise tie band is read from DIR/agreement.json beside it. The combination
(colorbench.human.calibrate) is evaluated by leave-one-scene-out cross-validation and compared
with the best single metric (by pooled SRCC) on the same images with calibrate.registers: it
wins only if its out-of-fold pooled SRCC beats that metric's by at least 0.02 and its
within-scene SRCC and pairwise accuracy are not worse. It is written to
colorbench/human/calibrated.json (with --write) only if it wins. Other attempts (more features,
a naturalness probe, non-linear combiners): scripts/explore_human_calibrated.py.
"""
from __future__ import annotations

import argparse
import datetime
import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd

from colorbench import __version__
from colorbench.files import write_text
from colorbench.human import calibrate, correlation
from colorbench.metrics.registry import METRICS

TARGET = Path(__file__).resolve().parents[1] / "colorbench" / "human" / "calibrated.json"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("per_image_csv")
    p.add_argument("--components", help="comma-separated metrics (default: every directed metric in the table)")
    p.add_argument("--write", action="store_true", help=f"write {TARGET.name} if the combination wins")
    args = p.parse_args(argv)
    table = pd.read_csv(args.per_image_csv, dtype={"scene": str})
    band = json.loads((Path(args.per_image_csv).parent / "agreement.json").read_text())["pairwise"]["tie_band"]
    metrics = [c for c in table.columns[6:] if c in METRICS and METRICS.get(c).higher_is_better is not None]
    components = args.components.split(",") if args.components else metrics
    signed = {c: correlation.signed(table[c].to_numpy(), METRICS.get(c).higher_is_better) for c in metrics}
    y, scenes = table["mean_z"].to_numpy(), table["scene"].to_numpy()
    best = max(metrics, key=lambda c: correlation.srcc(signed[c], y))
    best_agreement = calibrate.agreement(signed[best], y, scenes, band)
    result = calibrate.evaluate(components, np.column_stack([signed[c] for c in components]), y, scenes, band)
    oof = result["out_of_fold"]
    print(json.dumps({"components": components, "tie_band": band, "out_of_fold": oof, "in_sample": result["in_sample"],
                      "best_single": {"metric": best, **best_agreement},
                      "weights": dict(zip(components, result["fit"].weights))}, indent=2))
    wins, why = calibrate.registers(oof, best_agreement)
    print(f"out of fold vs best single metric {best}: {why}: "
          f"{'register human_calibrated' if wins else 'not registered'}", file=sys.stderr)
    if args.write and wins:
        fit = result["fit"]
        keep = [k for k, w in enumerate(fit.weights) if w > 0]
        write_text(TARGET, json.dumps({
            "components": [fit.components[k] for k in keep], "mean": [fit.mean[k] for k in keep],
            "sd": [fit.sd[k] for k in keep], "weights": [fit.weights[k] for k in keep], "intercept": fit.intercept,
            "provenance": {"fitted_on": "HECD local scenes " + ", ".join(sorted(set(scenes))), "n_images": len(y),
                           "target": "per-image mean z-score (difference method)",
                           "fit": "non-negative least squares on standardised signed metrics",
                           "out_of_fold": oof, "best_single": {"metric": best, **best_agreement},
                           "colorbench_version": __version__, "date": datetime.date.today().isoformat()},
        }, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
