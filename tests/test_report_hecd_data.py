"""The shipped agreement-with-people data (colorbench/report/data/hecd_agreement.json) equals a
fresh `colorbench agreement hecd` on the local HECD copy, for a cheap metric."""
from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from _human_fixtures import shared_datasets

from colorbench.report.headline import hecd_agreement, people

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))

import hecd_agreement_data  # noqa: E402  (scripts/ is not a package)


def test_shipped_file_has_its_provenance():
    data = hecd_agreement()
    p = data["provenance"]
    assert p["hecd_manifest_sha256"] == hecd_agreement_data.manifest_sha256()
    assert p["n_images"] > 0 and p["scenes"] and p["metrics"] == list(data["metrics"]) and p["date"]
    assert p["command"].startswith("colorbench agreement hecd --json")
    for name in data["not_computed"]:
        assert people(name)["text"] == "people: unknown"


def test_shipped_agreement_equals_a_fresh_computation(monkeypatch):
    monkeypatch.setenv("COLORBENCH_DATA", str(shared_datasets()))
    data = hecd_agreement()
    p = data["provenance"]
    fresh, command = hecd_agreement_data.agreement_json(["mse"], p["bootstrap"]["resamples"], p["bootstrap"]["seed"])
    shipped = hecd_agreement_data.shipped(fresh, command)
    assert shipped["provenance"]["scenes"] == p["scenes"] and shipped["provenance"]["n_images"] == p["n_images"]
    for key, value in data["metrics"]["mse"].items():  # approx does not take nested values
        assert shipped["metrics"]["mse"][key] == (pytest.approx(value) if isinstance(value, (int, float)) else value), key
    assert json.dumps(shipped["metrics"]["mse"]["srcc_ci"]) == json.dumps(data["metrics"]["mse"]["srcc_ci"])
