"""load_dataset: (DatasetConfig, LoadOptions) -> records -> hygiene -> seeded splits -> per-split
torch Datasets + a report. The one cap on how many images a split yields is applied later, by
colorbench.pipeline.data.capped_split (the first k of the seeded order)."""
from __future__ import annotations

from collections import Counter
from dataclasses import asdict, dataclass, field

from colorbench.errors import DataError

from .catalog import DATASETS
from .dataset import ImageDataset, ItemMemo
from .hygiene import HYGIENE_VERSION, REASONS, Exclusion, exclusion, measure_all
from .resize import describe
from .sources import ResolvedSource
from .spec import SPLITS, DatasetConfig, LoadOptions
from .splits import assign_splits


@dataclass(frozen=True)
class DatasetReport:
    """Always produced; recorded with results. n_used = images that passed hygiene (before the
    split); split_sizes = what each split yields (before any cap)."""

    name: str
    source: str
    location: str
    manifest_hash: str
    n_found: int
    n_used: int
    excluded: tuple[Exclusion, ...]  # sorted by id; each (id, reason, detail)
    chroma_threshold: float
    hygiene_version: int
    reader: str  # how pixels are derived from the files (the hygiene cache key's part)
    resize: str
    seed: int
    fractions: dict[str, float] = field(default_factory=dict)
    split_sizes: dict[str, int] = field(default_factory=dict)

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
    config: DatasetConfig
    options: LoadOptions
    report: DatasetReport
    resolved: ResolvedSource = field(repr=False)
    _splits: dict[str, ImageDataset] = field(repr=False)

    def split(self, name: str) -> ImageDataset:
        if name not in self._splits:
            raise DataError(f"unknown split {name!r}; choose from {SPLITS}")
        return self._splits[name]


def load_dataset(config: DatasetConfig, options: LoadOptions = LoadOptions(), progress: bool = True) -> PreparedDataset:
    """Resolve, scan and split the dataset `config` describes.

    Raises registry.UnknownNameError for an unknown source, DataError when the data cannot be
    found/downloaded, or (options.strict) when any file is unreadable.
    """
    resolved = DATASETS.get(config.source_name)(config, progress)
    measurements = measure_all(resolved.records, resolved.reader, resolved.manifest_hash, config.name, progress)
    excluded = tuple(e for r in resolved.records if (e := exclusion(measurements[r.id], options.chroma_threshold)))
    unreadable = [e for e in excluded if e.reason == "unreadable"]
    if options.strict and unreadable:
        shown = "; ".join(f"{e.id}: {e.detail}" for e in unreadable[:5])
        raise DataError(f"{config.name}: {len(unreadable)} unreadable file(s) under strict mode: {shown}")
    dropped = {e.id for e in excluded}
    by_id = {r.id: r for r in resolved.records}
    seeded = assign_splits(list(by_id), config.split.fractions(), options.seed)
    memo = ItemMemo()
    splits = {name: ImageDataset(name, tuple(sorted(by_id[i] for i in seeded[name] if i not in dropped)),
                                 resolved.reader, options.size, options.resize_policy, memo) for name in SPLITS}
    report = DatasetReport(
        name=config.name, source=config.source_name, location=resolved.location,
        manifest_hash=resolved.manifest_hash, n_found=len(resolved.records),
        n_used=len(resolved.records) - len(excluded), excluded=excluded,
        chroma_threshold=float(options.chroma_threshold), hygiene_version=HYGIENE_VERSION,
        reader=resolved.reader.key, resize=describe(options.resize_policy, options.size), seed=options.seed,
        fractions=config.split.fractions(), split_sizes={name: len(ds) for name, ds in splits.items()},
    )
    return PreparedDataset(config, options, report, resolved, splits)
