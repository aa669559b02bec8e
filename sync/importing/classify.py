"""Sorting one page of features into unchanged, changed (as rows) and rejected.

A pure function of the page, the field mapping and the stored hashes, so it runs the same in
a reader thread or in a reader process.
"""

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from sync.importing.features import (
    CONTENT_HASH,
    FEATURE_ID,
    AddressMapping,
    AddressRow,
    CircuitMapping,
    CircuitRow,
    Feature,
    Rejected,
    feature_id_of,
)
from sync.importing.hash_index import HashIndex
from sync.importing.wire import as_json

Mapping = AddressMapping | CircuitMapping


@dataclass
class Reject:
    feature_id: int | None
    reason: str
    payload: bytes  # the feature as read, JSON


@dataclass
class PageResult:
    size: int  # features read
    rows: list[AddressRow | CircuitRow]  # new or changed, validated
    seen_ids: np.ndarray  # every valid feature read, with its fingerprint
    seen_hashes: np.ndarray
    unchanged: int
    rejects: list[Reject] = field(default_factory=list)
    total: int | None = None  # the layer size, when IQGeo reported it on this page


def reject(feature: object, reason: str) -> Reject:
    try:
        fid: int | None = feature_id_of(feature)
    except Rejected:
        fid = None
    return Reject(fid, reason, as_json(feature))


def _quick_id(feature: Feature) -> int:
    """The top-level integer id, or 0 to send the feature down the validating path."""
    fid = feature.get("id")
    return fid if type(fid) is int and 0 < fid < 2**63 else 0


def classify_page(page: list[Feature], mapping: Mapping, index: HashIndex) -> PageResult:
    """Fingerprint every feature; validate and build rows only for the new or changed ones."""
    candidates: list[Feature] = []
    values: list[tuple[Any, ...]] = []
    fingerprints: list[int] = []
    rejects: list[Reject] = []
    for feature in page:
        try:
            read = mapping.values(feature)
            fingerprints.append(mapping.fingerprint(feature, read))
            values.append(read)
            candidates.append(feature)
        except (AttributeError, TypeError) as error:
            rejects.append(reject(feature, f"unreadable feature: {error}"))
    ids = np.fromiter((_quick_id(f) for f in candidates), dtype=np.int64, count=len(candidates))
    hashes = np.array(fingerprints, dtype=np.int64)
    changed = index.changed(ids, hashes) | (ids <= 0)
    rows: list[AddressRow | CircuitRow] = []
    for position in np.flatnonzero(changed).tolist():
        try:
            rows.append(mapping.row(candidates[position], values[position],
                                    fingerprints[position], int(ids[position])))
        except Rejected as error:
            rejects.append(reject(candidates[position], str(error)))
    unchanged = ~changed
    seen_ids = np.concatenate([ids[unchanged], np.array([r[FEATURE_ID] for r in rows],
                                                         dtype=np.int64)])
    seen_hashes = np.concatenate([hashes[unchanged], np.array([r[CONTENT_HASH] for r in rows],
                                                              dtype=np.int64)])
    return PageResult(len(page), rows, seen_ids, seen_hashes, int(unchanged.sum()), rejects)
