"""One import: scan both IQGeo layers, stage what changed, merge, retire, link.

Each batch is committed on its own, so a run that dies mid-way leaves every row it wrote
whole and retires nothing; the next run loads the hashes afresh and finishes the job.
Retiring happens only after a complete scan.
"""

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from operator import itemgetter

import numpy as np
from psycopg import Connection

from gis.errors import UpstreamUnavailable
from sync.importing import deferral, merge, staging
from sync.importing.classify import PageResult, Reject
from sync.importing.features import (
    CIRCUIT_ADDRESS_ID,
    CONTENT_HASH,
    FEATURE_ID,
    AddressRow,
    CircuitRow,
)
from sync.importing.hash_index import HashIndex, SeenIds
from sync.importing.pages import read_layer
from sync.importing.runs import RunProgress
from sync.iqgeo import IQGeoSettings

logger = logging.getLogger(__name__)
Conn = Connection[tuple[object, ...]]


@dataclass(frozen=True)
class Layer:
    """How one IQGeo layer is read, staged and merged."""

    kind: str  # "address" or "circuit"
    feature_type: str
    table: str
    seen_table: str


@dataclass
class Batch:
    """What has been read since the last flush."""

    rows: dict[int, AddressRow | CircuitRow] = field(default_factory=dict)
    seen_ids: list[np.ndarray] = field(default_factory=list)
    seen_hashes: list[np.ndarray] = field(default_factory=list)
    seen_rejected: list[int] = field(default_factory=list)
    rejects: list[Reject] = field(default_factory=list)
    seen_count: int = 0
    read_unchanged: int = 0


class Importer:
    def __init__(self, conn: Conn, settings: IQGeoSettings,
                 progress: RunProgress, report: Callable[[RunProgress], None],
                 force: bool = False) -> None:
        self.conn = conn
        self.settings = settings
        self.progress = progress
        self.report = report
        self.force = force
        self.batch_size = settings.batch_size
        self.actor = f"sync run {progress.run_id}"

    def run(self) -> None:
        # A crash loses at most the last batches, which the next run writes again.
        self.conn.execute("SET synchronous_commit = off")
        # The staging tables and the first-circuit list are temporary, so they live in this
        # session's buffers, 8 MB by default: a million-row list would be read from disk.
        self.conn.execute("SET temp_buffers = '256MB'")
        staging.create_staging(self.conn)
        deferral.restore(self.conn)  # left deferred by a run that died
        self.circuits_first_load = deferral.defer_indexes_if_empty(self.conn, "circuits")
        self.addresses_first_load = deferral.defer_indexes_if_empty(self.conn, "addresses")
        if self.addresses_first_load:
            deferral.defer_cell_counts(self.conn)
        self.conn.commit()
        self.first_load = {"address": self.addresses_first_load,
                           "circuit": self.circuits_first_load}
        # Kinds whose scan may have listed an id twice, with different content: in a first
        # load, if a batch fell back to the upsert; else as `SeenIds` saw.
        self.maybe_repeated: set[str] = set()
        self.vanished: dict[str, list[int]] = {"address": [], "circuit": []}
        self.circuits_stored = 0  # live circuits when the scan began
        self.circuits_written = 0
        self.circuits_with_address = 0  # circuits written that name an address id
        addresses = Layer("address", self.settings.address_type, "addresses",
                          "seen_addresses")
        circuits = Layer("circuit", self.settings.circuit_type, "circuits", "seen_circuits")
        self._scan(circuits, "circuits")
        # The address merge looks circuits up by address, by index and with fresh statistics
        # when many were written (else the statistics are still good, and autovacuum's); a
        # first load of addresses looks them up in a list made here instead, and the
        # statistics, which the next run's merge needs, are gathered beside its index builds.
        deferral.restore(self.conn, "circuits")
        fresh_statistics = self.circuits_written > self.circuits_stored // 10
        self.analyze_circuits_at_end = fresh_statistics and self.addresses_first_load
        if self.addresses_first_load:
            merge.list_first_circuits(self.conn)
        elif fresh_statistics:
            self.conn.execute("ANALYZE circuits")
        self.conn.commit()
        self._scan(addresses, "addresses")
        self._finish()

    # -- scanning --------------------------------------------------------------------------
    def _scan(self, layer: Layer, phase: str) -> None:
        self.progress.phase = phase
        self.progress.total_estimate = None
        self.report(self.progress)
        stored = HashIndex.load(self.conn, layer.table)
        if layer.kind == "circuit":
            self.circuits_stored = len(stored)
        self.conn.commit()
        # A first load has nothing to retire, and its repeats show in the merge.
        seen = None if self.first_load[layer.kind] else SeenIds(stored)
        batch = Batch()
        pages = read_layer(self.settings, layer.kind, layer.feature_type,
                           HashIndex.empty() if self.force else stored)
        for page in pages:
            self._count_page(layer, page)
            self._absorb(page, batch)
            if seen:
                seen.add(_ids_listed(page))
            if len(batch.rows) >= self.batch_size or batch.seen_count >= 8 * self.batch_size:
                self._flush(layer, batch)
                batch = Batch()
            self.report(self.progress)
        self._flush(layer, batch)
        self.report(self.progress)
        if seen:
            self.vanished[layer.kind] = seen.vanished()
            if seen.repeated:
                self.maybe_repeated.add(layer.kind)

    def _count_page(self, layer: Layer, page: PageResult) -> None:
        counts = self.progress.counts
        counts.pages_read += 1 if page.size else 0
        if layer.kind == "address":
            counts.features_read += page.size
        else:
            counts.circuits_read += page.size
        if page.total is not None:
            self.progress.total_estimate = page.total

    def _absorb(self, page: PageResult, batch: Batch) -> None:
        batch.seen_ids.append(page.seen_ids)
        batch.seen_hashes.append(page.seen_hashes)
        batch.seen_count += len(page.seen_ids)
        batch.read_unchanged += page.unchanged
        for rejected in page.rejects:
            self._reject(batch, rejected)
        for row in page.rows:
            earlier = batch.rows.get(row[FEATURE_ID])
            if earlier is None:
                batch.rows[row[FEATURE_ID]] = row
            elif earlier[CONTENT_HASH] != row[CONTENT_HASH]:
                self._reject(batch, Reject(row[FEATURE_ID], "feature id seen twice in one scan "
                                           "with different content; the first was kept", b"null"))

    def _reject(self, batch: Batch, rejected: Reject) -> None:
        if rejected.feature_id is not None:  # still seen: invalid is not vanished
            batch.seen_rejected.append(rejected.feature_id)
        batch.rejects.append(rejected)

    def _flush(self, layer: Layer, batch: Batch) -> None:
        counts = self.progress.counts
        rows = list(batch.rows.values())
        if rows:
            if layer.kind == "address":
                staging.copy_addresses(self.conn, rows)  # type: ignore[arg-type]
                merged = merge.merge_addresses(self.conn, self.actor, self.force,
                                               first_load=self.addresses_first_load)
                counts.inserted += merged.inserted
                counts.updated += merged.updated
                counts.unchanged += len(rows) - merged.inserted - merged.updated
            else:
                merged = merge.write_circuits(self.conn, rows,  # type: ignore[arg-type]
                                              self.force, self.circuits_first_load)
                self.circuits_written += len(rows)
                addresses_named = list(map(itemgetter(CIRCUIT_ADDRESS_ID), rows))
                self.circuits_with_address += len(rows) - addresses_named.count(None)
            if self.first_load[layer.kind] and not merged.all_new:
                self.maybe_repeated.add(layer.kind)
        if layer.kind == "address":
            counts.unchanged += batch.read_unchanged
        staging.copy_seen(self.conn, layer.seen_table, _joined(batch.seen_ids),
                          _joined(batch.seen_hashes), batch.seen_rejected)
        self._quarantine(layer.kind, batch.rejects)
        self.conn.commit()

    def _quarantine(self, kind: str, rejects: list[Reject]) -> None:
        if not rejects:
            return
        with self.conn.cursor() as cursor:
            cursor.executemany(
                "INSERT INTO quarantined_features (sync_run_id, feature_type, feature_id,"
                " reason, payload) VALUES (%s, %s, %s, %s, %s::jsonb)",
                [(self.progress.run_id, kind, None if r.feature_id is None else str(r.feature_id),
                  r.reason, r.payload.decode()) for r in rejects],
            )
        if kind == "address":
            self.progress.counts.rejected += len(rejects)

    # -- finishing -------------------------------------------------------------------------
    def _finish(self) -> None:
        self.progress.phase = "retiring and linking"
        self.report(self.progress)
        counts = self.progress.counts
        for kind, seen in (("address", "seen_addresses"), ("circuit", "seen_circuits")):
            if kind not in self.maybe_repeated:
                continue
            duplicates = merge.conflicting_duplicates(self.conn, seen)
            self._quarantine(kind, [Reject(fid, "feature id seen more than once in one scan "
                                           "with different content", b"null")
                                    for fid in duplicates])
        self._refuse_empty_scan()
        counts.retired = merge.retire_missing(self.conn, self.actor, self.vanished["address"],
                                              self.vanished["circuit"])
        orphans = merge.orphan_circuits(self.conn)
        counts.circuits_orphaned = len(orphans)
        self._quarantine("circuit", [Reject(o.feature_id, f"circuit points at unknown address "
                                            f"{o.address_ref!r}", b"null") for o in orphans])
        if self.addresses_first_load and self.circuits_first_load \
                and "circuit" not in self.maybe_repeated:
            # Every circuit was written once, and every address is new: a circuit naming an
            # address id is linked, unless no address has it (a join spared, 1 s a million).
            counts.circuits_linked = self.circuits_with_address - sum(
                o.address_id_parsed for o in orphans)
        else:
            if self.circuits_first_load:
                merge.note_first_load_changes(self.conn)
            links = merge.update_links(self.conn, addresses_all_new=self.addresses_first_load)
            counts.circuits_linked, counts.circuits_unlinked = links.linked, links.unlinked
        self.conn.commit()
        if self.addresses_first_load:
            self.progress.phase = "indexing"
            self.report(self.progress)
        deferral.restore(self.conn, analyze="circuits" if self.analyze_circuits_at_end else None)
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


def _ids_listed(page: PageResult) -> np.ndarray:
    """Every id a page listed, valid or not: an invalid feature has not vanished."""
    rejected = [r.feature_id for r in page.rejects if r.feature_id is not None]
    return np.concatenate([page.seen_ids, np.array(rejected, dtype=np.int64)])


def _joined(arrays: list[np.ndarray]) -> np.ndarray:
    return np.concatenate(arrays) if arrays else np.empty(0, dtype=np.int64)
