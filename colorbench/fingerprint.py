"""One fingerprint per dataset split: exactly the images a model trained on, or a metric scored.

split_fingerprint covers the dataset's content (its manifest hash and how pixels are read from
the files), the hygiene rules (their version and the chroma threshold), the split's resolved
image ids (so the seed, the split fractions, every hygiene exclusion and the cap are in it), and
the resize policy and size. The checkpoint key hashes the train and validation splits' fingerprints;
a result's protocol (metric_fingerprint) hashes the test split's, the metric, the SHA-256 of every
weight file it used and, for a published evaluation protocol, that protocol's name. Change any of
them and a checkpoint is retrained and a table is reported incompatible, never silently reused.
"""
from __future__ import annotations

from colorbench.data.dataset import ImageDataset
from colorbench.data.prepare import PreparedDataset
from colorbench.hashing import canonical_hash

FINGERPRINT_LENGTH = 16


def split_fingerprint(ds: PreparedDataset, images: ImageDataset) -> str:
    """`images`: a split of `ds` as used (capped, at its size)."""
    r = ds.report
    return canonical_hash({
        "manifest": r.manifest_hash, "reader": r.reader, "hygiene": r.hygiene_version,
        "chroma_threshold": r.chroma_threshold, "split": images.split, "ids": sorted(images.ids),
        "resize": images.resize_policy, "size": images.size,
    })[:FINGERPRINT_LENGTH]


def metric_fingerprint(dataset_fingerprint: str, metric: str, weight_hashes: dict[str, str],
                       protocol: str = "colorbench") -> str:
    """Everything that changes one metric's number on one test split. The default protocol adds
    nothing (so its fingerprints are those of earlier colorbench versions); any other protocol's
    name is hashed in: `ct2`'s fid and colorbench's fid never compare as the same quantity."""
    key = {"dataset": dataset_fingerprint, "metric": metric, "weights": weight_hashes}
    if protocol != "colorbench":
        key["evaluation_protocol"] = protocol
    return canonical_hash(key)[:FINGERPRINT_LENGTH]
