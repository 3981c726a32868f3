"""Human-rated image sets and how well colorbench's metrics agree with people.

- ratings: the RatedSet (items + single ratings), its validation, MOS and per-rater z-scores;
- folder / hecd: the two ways in (a rated folder on disk, the HECD dataset's own CSVs);
- resample: the scene-and-rater bootstrap; correlation: SRCC, KRCC, PLCC after a logistic;
- agreement / systems: scoring the rated images and comparing each metric with people;
- calibrate: the human-calibrated combination of metrics (fitted, cross-validated offline).
"""
