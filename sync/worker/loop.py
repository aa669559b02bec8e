"""The worker loop: claim a batch, write it back to IQGeo in one transaction, settle it.

Any number of workers may run. A batch that IQGeo refuses as a whole is retried one address
at a time to find the bad one, which is parked with IQGeo's reason; transient failures give
the events back with backoff; a worker killed mid-batch loses nothing: its lease expires and
another worker sends the same (current) values again.
"""

import logging
import os
import socket
import threading
import time
import uuid
from collections import defaultdict
from typing import Any

import httpx
import psycopg
from sqlalchemy import Connection, Engine
from sqlalchemy.orm import Session

from gis.database import libpq_url
from sync.iqgeo import IQGeoClient, IQGeoSettings
from sync.iqgeo.errors import IQGeoAbort, IQGeoError, IQGeoNotFound
from sync.webhooks import deliver_webhooks
from sync.worker import queue
from sync.worker.queue import Claimed
from sync.worker.retry import RetryPolicy
from sync.worker.settings import WorkerSettings
from sync.writeback import WRITEBACK_TOPICS, iqgeo_properties, load_facts

logger = logging.getLogger(__name__)
CHANNEL = "fibersync_outbox"
WEBHOOK_BATCH = 50  # posted one by one: small enough to finish well inside a lease
Operation = tuple[str, str, dict[str, Any]]


class Worker:
    def __init__(self, engine: Engine, settings: WorkerSettings, iqgeo: IQGeoSettings,
                 name: str | None = None) -> None:
        self.engine = engine
        self.settings = settings
        self.iqgeo = iqgeo
        self.name = name or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
        self.policy = RetryPolicy(settings.max_attempts, settings.backoff_base,
                                  settings.backoff_cap)
        # Every IQGeo call of a claim must end well inside its lease, or a second worker could
        # take the address over and a late reply overtake its newer values: short timeouts,
        # few quick retries, and longer waits go back to the outbox's schedule.
        budget = settings.lease_seconds / (3 * settings.iqgeo_attempts)
        quick = iqgeo.model_copy(update={
            "max_attempts": settings.iqgeo_attempts,
            "read_timeout": min(settings.iqgeo_timeout, budget),
            "connect_timeout": min(iqgeo.connect_timeout, budget),
            "retry_after_cap": min(iqgeo.retry_after_cap, budget / 2),
            "backoff_cap": min(iqgeo.backoff_cap, budget / 2)})
        self.client = IQGeoClient(quick)
        self.http = httpx.Client(timeout=min(settings.iqgeo_timeout, budget))
        self.delivered = 0
        self.parked = 0
        self.retried = 0
        self._deadline = 0.0  # when the claim in hand must be settled by

    def close(self) -> None:
        self.client.close()
        self.http.close()

    # -- the loop ----------------------------------------------------------------------------
    def run(self, stop: threading.Event) -> None:
        """Until `stop` is set: work while there is work, else wait for a NOTIFY or a poll."""
        url = libpq_url(self.engine.url.render_as_string(hide_password=False))
        with psycopg.connect(url, autocommit=True) as listener:
            listener.execute(f"LISTEN {CHANNEL}")
            while not stop.is_set():
                try:
                    handled = self.run_once()
                except Exception:
                    logger.exception("worker batch failed; trying again shortly")
                    handled = 0
                    stop.wait(self.settings.poll_seconds)
                if not handled:
                    for _ in listener.notifies(timeout=self.settings.poll_seconds,
                                               stop_after=1):
                        pass

    def run_once(self) -> int:
        """Settles one batch of outbox events and one of webhook deliveries; returns how
        many it handled."""
        handled = self._outbox_batch()
        with self.engine.connect() as conn:
            handled += deliver_webhooks(conn, self.http, self.policy, WEBHOOK_BATCH,
                                        self.settings.lease_seconds)
        return handled

    def _outbox_batch(self) -> int:
        with self.engine.connect() as conn:
            self._deadline = time.monotonic() + self.settings.lease_seconds / 2
            claimed = queue.claim(conn, self.name, self.settings.batch_keys,
                                  self.settings.lease_seconds)
            if not claimed:
                return 0
            by_address = _writes(claimed)
            # Events that change nothing in IQGeo (work orders, areas) are done once claimed.
            written = {e.id for events in by_address.values() for e in events}
            done = [e.id for e in claimed if e.id not in written]
            self.delivered += queue.mark_delivered(conn, self.name, done)
            if by_address:
                self._write_back(conn, by_address)
        return len(claimed)

    # -- write-back ---------------------------------------------------------------------------
    def _write_back(self, conn: Connection, by_address: dict[int, list[Claimed]]) -> None:
        with Session(bind=conn) as session, session.begin():
            facts = load_facts(session, list(by_address))
        operations: dict[int, Operation] = {}
        for fid in by_address:
            found = facts.get(fid)
            if found is None or found.retired:
                continue  # nothing to write for an address IQGeo no longer has
            properties = {"id": fid, **iqgeo_properties(found, self.iqgeo)}
            operations[fid] = ("update", self.iqgeo.address_type, {"properties": properties})
        nothing = [e.id for fid, events in by_address.items() if fid not in operations
                   for e in events]
        self.delivered += queue.mark_delivered(conn, self.name, nothing)
        if not operations:
            return
        try:
            self.client.transaction(list(operations.values()))
        except IQGeoAbort as refusal:
            logger.warning("IQGeo refused a batch of %d (%s); sending one by one",
                           len(operations), refusal)
            self._one_by_one(conn, by_address, operations)
            return
        except IQGeoError as failure:
            self._retry(conn, [by_address[fid] for fid in operations], failure)
            return
        ids = [e.id for fid in operations for e in by_address[fid]]
        self.delivered += queue.mark_delivered(conn, self.name, ids)

    def _one_by_one(self, conn: Connection, by_address: dict[int, list[Claimed]],
                    operations: dict[int, Operation]) -> None:
        remaining = list(operations)
        while remaining:
            if time.monotonic() > self._deadline:  # give the rest back before the lease ends
                groups = [by_address[f] for f in remaining]
                for events in groups:
                    queue.reschedule(conn, self.name, [e.id for e in events], 0.0,
                                     "the lease ran short while isolating a refused batch")
                return
            fid = remaining.pop(0)
            events = by_address[fid]
            properties = dict(operations[fid][2]["properties"])
            properties.pop("id")
            try:
                self.client.update_feature(self.iqgeo.address_type, fid, properties)
            except (IQGeoAbort, IQGeoNotFound) as refusal:
                self.parked += len(events)
                queue.park(conn, self.name, [e.id for e in events], f"permanent: {refusal}")
                continue
            except IQGeoError as failure:
                self._retry(conn, [events, *(by_address[f] for f in remaining)], failure)
                return
            self.delivered += queue.mark_delivered(conn, self.name, [e.id for e in events])

    def _retry(self, conn: Connection, groups: list[list[Claimed]], failure: Exception) -> None:
        """Gives each address's events back with backoff, or parks them when out of tries."""
        for events in groups:
            attempts = max(e.attempts for e in events)
            ids = [e.id for e in events]
            if self.policy.exhausted(attempts):
                self.parked += len(ids)
                queue.park(conn, self.name, ids, f"gave up after {attempts} attempts: {failure}")
            else:
                self.retried += len(ids)
                asked = getattr(failure, "retry_after", None)
                queue.reschedule(conn, self.name, ids, self.policy.delay(attempts, asked),
                                 str(failure))


def _writes(claimed: list[Claimed]) -> dict[int, list[Claimed]]:
    """Address -> all its claimed events, for addresses with at least one write-back event."""
    by_key: dict[str, list[Claimed]] = defaultdict(list)
    for event in claimed:
        by_key[event.key].append(event)
    writes = {}
    for key, events in by_key.items():
        address = _address_of(key)
        if address is not None and any(e.topic in WRITEBACK_TOPICS for e in events):
            writes[address] = events
    return writes


def _address_of(key: str) -> int | None:
    prefix, _, value = key.partition(":")
    return int(value) if prefix == "address" and value.isdigit() else None
