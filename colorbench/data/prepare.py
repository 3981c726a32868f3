"""load_dataset: spec -> records -> hygiene -> seeded splits -> per-split torch Datasets + a report."""
from __future__ import annotations

from collections import Counter
from dataclasses import asdict, dataclass, field

from colorbench.errors import DataError

from .catalog import DATASETS
from .dataset import ImageDataset
from .hygiene import HYGIENE_VERSION, REASONS, Exclusion, exclusion, measure_all
from .resize import describe
from .sources import ResolvedSource
from .spec import SPLITS, DatasetSpec
from .splits import assign_splits


@dataclass(frozen=True)
class DatasetReport:
    """Always produced; recorded with results. n_used = images that passed hygiene (before the
    split and max_images); split_sizes = what each split finally yields."""

    name: str
    source: str
    location: str
    manifest_hash: str
    n_found: int
    n_used: int
    excluded: tuple[Exclusion, ...]  # sorted by id; each (id, reason, detail)
    chroma_threshold: float
    hygiene_version: int
    resize: str
    seed: int
    fractions: dict[str, float] = field(default_factory=dict)
    split_sizes: dict[str, int] = field(default_factory=dict)
    max_images: int | None = None

    def excluded_by_reason(self) -> dict[str, int]:
        counts = Counter(e.reason for e in self.excluded)
        return {reason: counts[reason] for reason in REASONS if counts[reason]}

    def summary(self) -> str:
        reasons = ", ".join(f"{n} {r}" for r, n in self.excluded_by_reason().items()) or "none"
        sizes = ", ".join(f"{s} {n}" for s, n in self.split_sizes.items() if n)
        return (f"{self.name}: {self.n_found} found, {self.n_used} used, {len(self.excluded)} excluded "
                f"({reasons}); splits: {sizes or 'all empty'}")

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class PreparedDataset:
    spec: DatasetSpec
    report: DatasetReport
    resolved: ResolvedSource = field(repr=False)
    _splits: dict[str, ImageDataset] = field(repr=False)

    def split(self, name: str) -> ImageDataset:
        if name not in self._splits:
            raise DataError(f"unknown split {name!r}; choose from {SPLITS}")
        return self._splits[name]


def _cap(ids: list[str], max_images: int | None) -> list[str]:
    return ids if max_images is None else ids[:max_images]


def load_dataset(spec: DatasetSpec, progress: bool = True) -> PreparedDataset:
    """Resolve, scan and split the dataset `spec` describes.

    Raises registry.UnknownNameError for an unknown spec.source, DataError when the data cannot be
    found/downloaded, or (strict=True) when any file is unreadable.
    """
    resolver = DATASETS.get(spec.source)
    resolved = resolver(spec, progress)
    measurements = measure_all(resolved.records, resolved.reader, resolved.manifest_hash, spec.label, progress)
    excluded = tuple(e for r in resolved.records if (e := exclusion(measurements[r.id], spec.chroma_threshold)))
    unreadable = [e for e in excluded if e.reason == "unreadable"]
    if spec.strict and unreadable:
        shown = "; ".join(f"{e.id}: {e.detail}" for e in unreadable[:5])
        raise DataError(f"{spec.label}: {len(unreadable)} unreadable file(s) under strict mode: {shown}")

    dropped = {e.id for e in excluded}
    by_id = {r.id: r for r in resolved.records}
    seeded = assign_splits(list(by_id), spec.fractions(), spec.seed)
    splits: dict[str, ImageDataset] = {}
    for name in SPLITS:
        kept = _cap([i for i in seeded[name] if i not in dropped], spec.max_images)
        records = tuple(sorted(by_id[i] for i in kept))
        splits[name] = ImageDataset(name, records, resolved.reader, spec.size, spec.resize_policy)

    report = DatasetReport(
        name=spec.label,
        source=spec.source,
        location=resolved.location,
        manifest_hash=resolved.manifest_hash,
        n_found=len(resolved.records),
        n_used=len(resolved.records) - len(excluded),
        excluded=excluded,
        chroma_threshold=float(spec.chroma_threshold),
        hygiene_version=HYGIENE_VERSION,
        resize=describe(spec.resize_policy, spec.size),
        seed=spec.seed,
        fractions=spec.fractions(),
        split_sizes={name: len(ds) for name, ds in splits.items()},
        max_images=spec.max_images,
    )
    return PreparedDataset(spec, report, resolved, splits)
