"""One fingerprint per dataset split: exactly the images a model trained on, or a metric scored.

split_fingerprint covers the dataset's content (its manifest hash and how pixels are read from
the files), the hygiene rules (their version and the chroma threshold), the split's resolved
image ids (so the seed, the split fractions, every hygiene exclusion and the cap are in it), and
the resize policy and size. The checkpoint key hashes the train and validation splits' fingerprints;
a result's protocol hashes the test split's. Change any of them and a checkpoint is retrained and
a table is reported incompatible, never silently reused.
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
