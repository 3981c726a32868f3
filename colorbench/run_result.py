"""What colorbench.run returns: the harness's RunResult, plus where the run wrote its files and
its results table as a DataFrame."""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from colorbench.pipeline import harness
from colorbench.results import ResultRecord


@dataclass
class RunResult(harness.RunResult):
    """records (the rows of results.csv), per_image (per_image.csv), outcomes (each baseline's
    status, training and timings), document (run.json), failed (baselines with a failed row),
    output_dir (the folder holding results.csv, run.json and reports/)."""

    output_dir: Path

    @classmethod
    def of(cls, result: harness.RunResult, output_dir: Path) -> "RunResult":
        fields = {f.name: getattr(result, f.name) for f in dataclasses.fields(harness.RunResult)}
        return cls(**fields, output_dir=Path(output_dir))

    @property
    def results(self) -> pd.DataFrame:
        """The results table (results.csv's rows and columns, as records: None where empty)."""
        return pd.DataFrame([dataclasses.asdict(r) for r in self.records], columns=list(ResultRecord.__dataclass_fields__))
