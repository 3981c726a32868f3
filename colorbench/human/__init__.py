"""Human-rated image sets and how well colorbench's metrics agree with people.

- ratings: the RatedSet (items + single ratings), its validation, MOS and per-rater z-scores;
- folder / hecd: the ways in (the rated-folder format on disk, the HECD dataset's own CSVs);
  sets: a set by name or folder (a study folder is read by colorbench.study.agreement, above);
- resample: the scene-and-rater bootstrap (its draw: colorbench.stats.two_way_draw);
  correlation: SRCC, KRCC, PLCC after a logistic;
- agreement / systems: scoring the rated images and comparing each metric with people;
  bounds / ceiling / pairwise: people's ceiling and pairwise accuracy; text: the result as a table
  (the HTML page and CSVs are colorbench.report.agreement's);
- calibrate: the human-calibrated combination of metrics (fitted, cross-validated offline).
"""
from __future__ import annotations

# Settings the command line reads without importing numpy, pandas or torch.
SLOW_ON_CPU = ("lpips_vgg",)  # left out of agreement's default metrics: ~4 s per 321x481 pair on 2 CPU cores
ZSCORE_METHODS = ("auto", "difference", "rater", "none")  # see colorbench.human.ratings
DEFAULT_RESAMPLES = 1000  # bootstrap replicates (colorbench.human.resample)
