"""One import: scan both IQGeo layers, stage what changed, merge, retire, link.

Each batch is committed on its own, so a run that dies mid-way leaves every row it wrote
whole and retires nothing; the next run loads the hashes afresh and finishes the job.
Retiring happens only after a complete scan.
"""

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

import numpy as np
import orjson
from psycopg import Connection

from gis.errors import UpstreamUnavailable
from sync.importing import merge, staging
from sync.importing.features import (
    AddressMapping,
    AddressRow,
    CircuitMapping,
    CircuitRow,
    Feature,
    Rejected,
    feature_id_of,
)
from sync.importing.hash_index import HashIndex
from sync.importing.pages import fetch_pages, layer_total
from sync.importing.runs import RunProgress
from sync.iqgeo import IQGeoClient, IQGeoSettings

logger = logging.getLogger(__name__)
Conn = Connection[tuple[object, ...]]
Row = TypeVar("Row", AddressRow, CircuitRow)


@dataclass
class Layer(Generic[Row]):
    """How one IQGeo layer is read, staged and merged."""

    feature_type: str
    table: str
    seen_table: str
    mapping: AddressMapping | CircuitMapping
    copy: Callable[[Conn, Sequence[Row]], None]

    @property
    def kind(self) -> str:
        return self.mapping.kind


@dataclass
class Batch(Generic[Row]):
    rows: dict[int, Row] = field(default_factory=dict)
    seen_ids: list[int] = field(default_factory=list)
    seen_hashes: list[int] = field(default_factory=list)
    seen_rejected: list[int] = field(default_factory=list)
    rejects: list[tuple[str | None, str, bytes]] = field(default_factory=list)
    read_unchanged: int = 0


class Importer:
    def __init__(self, conn: Conn, clients: list[IQGeoClient], settings: IQGeoSettings,
                 progress: RunProgress, report: Callable[[RunProgress], None],
                 force: bool = False) -> None:
        self.conn = conn
        self.clients = clients
        self.settings = settings
        self.progress = progress
        self.report = report
        self.force = force
        self.batch_size = settings.batch_size
        self.actor = f"sync run {progress.run_id}"

    def run(self) -> None:
        # A crash loses at most the last batches, which the next run writes again.
        self.conn.execute("SET synchronous_commit = off")
        staging.create_staging(self.conn)
        merge.ensure_spatial_index(self.conn)
        self.bulk_load = merge.drop_spatial_index_if_empty(self.conn)
        self.conn.commit()
        addresses: Layer[AddressRow] = Layer(
            self.settings.address_type, "addresses", "seen_addresses",
            AddressMapping(self.settings), staging.copy_addresses)
        circuits: Layer[CircuitRow] = Layer(
            self.settings.circuit_type, "circuits", "seen_circuits",
            CircuitMapping(self.settings), staging.copy_circuits)
        self._scan(circuits, "circuits")
        # Fresh statistics, so the address merge looks circuits up by index.
        self.conn.execute("ANALYZE circuits")
        self.conn.commit()
        self._scan(addresses, "addresses")
        self._finish()

    # -- scanning --------------------------------------------------------------------------
    def _scan(self, layer: Layer[Row], phase: str) -> None:
        self.progress.phase = phase
        self.progress.total_estimate = None
        self.report(self.progress)
        index = HashIndex.load(self.conn, layer.table) if not self.force else HashIndex.empty()
        self.conn.commit()
        batch: Batch[Row] = Batch()
        pages = fetch_pages(self.clients, layer.feature_type, self.settings.page_size)
        for page in pages:
            self._count_page(layer, len(page))
            self._take_page(layer, page, index, batch)
            if len(batch.rows) >= self.batch_size or len(batch.seen_ids) >= 8 * self.batch_size:
                self._flush(layer, batch)
                batch = Batch()
            self.report(self.progress)
        self._flush(layer, batch)
        self.report(self.progress)

    def _count_page(self, layer: Layer[Any], size: int) -> None:
        counts = self.progress.counts
        counts.pages_read += 1
        if layer.kind == "address":
            counts.features_read += size
        else:
            counts.circuits_read += size
        self.progress.total_estimate = layer_total(self.clients)

    def _take_page(self, layer: Layer[Row], page: list[Feature], index: HashIndex,
                   batch: Batch[Row]) -> None:
        """Fingerprint every feature; validate and keep only the new or changed ones."""
        candidates: list[Feature] = []
        fingerprints: list[int] = []
        for feature in page:
            try:
                fingerprints.append(layer.mapping.fingerprint(feature))
                candidates.append(feature)
            except (AttributeError, TypeError) as error:
                self._reject(batch, layer.kind, feature, f"unreadable feature: {error}")
        ids = np.fromiter((_quick_id(f) for f in candidates), dtype=np.int64,
                          count=len(candidates))
        hashes = np.array(fingerprints, dtype=np.int64)
        changed = index.changed(ids, hashes) | (ids <= 0)
        unchanged = ~changed
        batch.seen_ids.extend(ids[unchanged].tolist())
        batch.seen_hashes.extend(hashes[unchanged].tolist())
        batch.read_unchanged += int(unchanged.sum())
        for position in np.flatnonzero(changed).tolist():
            self._take_changed(layer, candidates[position], fingerprints[position], batch)

    def _take_changed(self, layer: Layer[Row], feature: Feature, fingerprint: int,
                      batch: Batch[Row]) -> None:
        try:
            row: Row = layer.mapping.row(feature, fingerprint)  # type: ignore[assignment]
        except Rejected as error:
            self._reject(batch, layer.kind, feature, str(error))
            return
        batch.seen_ids.append(row.feature_id)
        batch.seen_hashes.append(row.content_hash)
        earlier = batch.rows.get(row.feature_id)
        if earlier is None:
            batch.rows[row.feature_id] = row
        elif earlier.content_hash != row.content_hash:
            self._reject(batch, layer.kind, feature,
                         "feature id seen twice in one scan with different content; "
                         "the first was kept")

    def _reject(self, batch: Batch[Any], kind: str, feature: Any, reason: str) -> None:
        try:
            fid: int | None = feature_id_of(feature)
        except Rejected:
            fid = None
        if fid is not None:  # still seen: an invalid feature is not a vanished one
            batch.seen_rejected.append(fid)
        payload = orjson.dumps(feature, default=str)
        batch.rejects.append((None if fid is None else str(fid), reason, payload))

    def _flush(self, layer: Layer[Row], batch: Batch[Row]) -> None:
        counts = self.progress.counts
        rows = list(batch.rows.values())
        if rows:
            layer.copy(self.conn, rows)
            if layer.kind == "address":
                inserted, updated = merge.merge_addresses(self.conn, self.actor, self.force)
                counts.inserted += inserted
                counts.updated += updated
                counts.unchanged += len(rows) - inserted - updated
            else:
                merge.merge_circuits(self.conn, self.force)
        if layer.kind == "address":
            counts.unchanged += batch.read_unchanged
        staging.copy_seen(self.conn, layer.seen_table, batch.seen_ids, batch.seen_hashes,
                          batch.seen_rejected)
        self._quarantine(layer.kind, batch.rejects)
        self.conn.commit()

    def _quarantine(self, kind: str, rejects: list[tuple[str | None, str, bytes]]) -> None:
        if not rejects:
            return
        with self.conn.cursor() as cursor:
            cursor.executemany(
                "INSERT INTO quarantined_features (sync_run_id, feature_type, feature_id,"
                " reason, payload) VALUES (%s, %s, %s, %s, %s::jsonb)",
                [(self.progress.run_id, kind, fid, reason, payload.decode())
                 for fid, reason, payload in rejects],
            )
        if kind == "address":
            self.progress.counts.rejected += len(rejects)

    # -- finishing -------------------------------------------------------------------------
    def _finish(self) -> None:
        self.progress.phase = "retiring and linking"
        self.report(self.progress)
        counts = self.progress.counts
        for kind, seen in (("address", "seen_addresses"), ("circuit", "seen_circuits")):
            duplicates = merge.conflicting_duplicates(self.conn, seen)
            self._quarantine(kind, [(str(fid), "feature id seen more than once in one scan "
                                     "with different content", b"null") for fid in duplicates])
        self._refuse_empty_scan()
        counts.retired = merge.retire_missing(self.conn, self.actor)
        links = merge.update_links(self.conn, addresses_all_new=self.bulk_load)
        counts.circuits_linked, counts.circuits_unlinked = links.linked, links.unlinked
        orphans = merge.orphan_circuits(self.conn)
        counts.circuits_orphaned = len(orphans)
        self._quarantine("circuit", [(str(fid), f"circuit points at unknown address {ref!r}",
                                      b"null") for fid, ref in orphans])
        if self.bulk_load:
            self.progress.phase = "indexing"
            self.report(self.progress)
            merge.ensure_spatial_index(self.conn)
        self.conn.commit()
        self.progress.phase = "done"

    def _refuse_empty_scan(self) -> None:
        """An empty layer is far likelier a misconfiguration than a wiped network."""
        seen = self.conn.execute("SELECT count(*) FROM seen_addresses").fetchone()
        live = self.conn.execute("SELECT count(*) FROM addresses WHERE NOT retired").fetchone()
        if seen and live and seen[0] == 0 and live[0]:
            raise UpstreamUnavailable(
                f"IQGeo returned no {self.settings.address_type} features; refusing to retire "
                f"{live[0]} addresses (check IQGEO_ADDRESS_TYPE and the user's rights)"
            )


def _quick_id(feature: Feature) -> int:
    """The top-level integer id, or 0 to send the feature down the validating path."""
    fid = feature.get("id")
    return fid if type(fid) is int and 0 < fid < 2**63 else 0
