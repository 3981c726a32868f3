"""run.json: the one typed provenance document of a run. The harness writes it, the report reads
it back, the browser test's synthetic run builds it; colorbench.typed checks every field."""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from colorbench.files import write_text
from colorbench.typed import from_dict, to_dict

RUN_SCHEMA = "colorbench.run/2"


@dataclass
class DatasetDocument:
    source: str
    location: str
    manifest_hash: str
    n_found: int
    n_used: dict[str, int]  # per split, after hygiene (before the cap)
    n_test_scored: int
    resize: str
    chroma_threshold: float
    protocol: str  # the test split's fingerprint (colorbench.fingerprint)
    excluded: list[dict[str, Any]] = field(default_factory=list)  # {id, reason, detail}
    skipped_unreadable: list[dict[str, Any]] = field(default_factory=list)  # {id, reason}
    excluded_by_reason: dict[str, int] = field(default_factory=dict)
    test_ids: list[str] = field(default_factory=list)
    grid_ids: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)  # said once per dataset (e.g. FID at small N)


@dataclass
class BaselineDocument:
    status: str  # 'ok' | 'failed'
    role: str  # 'model' | 'floor' | 'ceiling'
    model: str
    description: str = ""
    reason: str = ""
    info: dict[str, Any] = field(default_factory=dict)
    config: dict[str, Any] = field(default_factory=dict)
    params: dict[str, Any] = field(default_factory=dict)  # the model's keyword arguments as resolved
    source: dict[str, Any] | None = None  # a plug-in's origin: kind, target, code_sha256, package, version
    outputs: dict[str, Any] | None = None  # precomputed outputs: per dataset, the folder and what came in
    settings: dict[str, Any] | None = None
    settings_origin: dict[str, str] | None = None  # setting -> paper | train | scale | small
    train: dict[str, Any] | None = None
    init_from: str | None = None
    evaluate_on: list[str] = field(default_factory=list)
    seconds: dict[str, float] = field(default_factory=dict)


@dataclass
class RunDocument:
    run_id: str
    config_path: str
    config: dict[str, Any]
    scale: str
    scale_settings: dict[str, Any]
    device: str
    seed: int
    evaluation: dict[str, Any]  # eval_size, resize, chroma_threshold, metrics
    datasets: dict[str, DatasetDocument]
    baselines: dict[str, BaselineDocument]
    environment: dict[str, Any] = field(default_factory=dict)
    weights: list[dict[str, Any]] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)
    parts: list[dict[str, Any]] = field(default_factory=list)  # a merged run's parts: name, run_id, baselines
    schema: str = RUN_SCHEMA

    def save(self, path: Path) -> None:
        """Keys keep their order (datasets and baselines in config order, as the report shows them)."""
        write_text(path, json.dumps(to_dict(self), indent=2, default=str) + "\n")

    @classmethod
    def load(cls, path: Path) -> "RunDocument":
        data = json.loads(Path(path).read_text(encoding="utf-8"))
        if not isinstance(data, dict) or data.get("schema") != RUN_SCHEMA:
            found = data.get("schema") if isinstance(data, dict) else None
            raise ValueError(f"{path}: not a {RUN_SCHEMA} document (schema {found!r})")
        return from_dict(cls, data)
