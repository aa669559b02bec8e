"""Sync run bookkeeping: one run at a time, progress, and the summary."""

import time
from contextlib import suppress
from dataclasses import asdict, dataclass, field
from typing import Any

import psycopg

from gis.errors import Conflict

# pg_advisory_lock key held by the process that runs an import ("FIBS").
RUN_LOCK_KEY = 0x46494253


class SyncAlreadyRunning(Conflict):
    """Another import holds the run lock."""


@dataclass
class RunCounts:
    pages_read: int = 0
    features_read: int = 0
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    retired: int = 0
    rejected: int = 0
    circuits_read: int = 0
    circuits_linked: int = 0
    circuits_unlinked: int = 0
    circuits_orphaned: int = 0


@dataclass
class RunProgress:
    run_id: int
    phase: str = "starting"
    total_estimate: int | None = None
    counts: RunCounts = field(default_factory=RunCounts)

    def as_dict(self) -> dict[str, Any]:
        return {"run_id": self.run_id, "phase": self.phase,
                "total_estimate": self.total_estimate, **asdict(self.counts)}


class RunLock:
    """A connection holding the import's advisory lock; closing it (or dying) releases it.

    It also writes the run row, in autocommit, so progress is visible at once.
    """

    def __init__(self, libpq_url: str, report_every: float = 1.0) -> None:
        self.conn = psycopg.connect(libpq_url, autocommit=True)
        self.report_every = report_every
        self._last_report = 0.0
        self._held = False

    def close(self) -> None:
        # Unlocked before closing: the server lets go of a closed connection's locks only
        # once its backend has ended, and a run started at once could find it still held.
        if self._held and not self.conn.closed:
            with suppress(psycopg.Error):  # else the connection is gone, and the lock with it
                self.conn.execute("SELECT pg_advisory_unlock(%s)", [RUN_LOCK_KEY])
        self._held = False
        self.conn.close()

    def start(self, full: bool, started_by: str) -> int:
        """Take the lock and open a run; SyncAlreadyRunning if another run holds it."""
        row = self.conn.execute("SELECT pg_try_advisory_lock(%s)", [RUN_LOCK_KEY]).fetchone()
        if not row or not row[0]:
            self.close()
            raise SyncAlreadyRunning("an import is already running; wait for it to finish")
        self._held = True
        # A 'running' row without the lock belongs to a process that died.
        self.conn.execute(
            "UPDATE sync_runs SET state = 'interrupted', finished_at = now(),"
            " error = 'the process running this import ended before it finished'"
            " WHERE state = 'running'"
        )
        row = self.conn.execute(
            "INSERT INTO sync_runs (full_rewrite, state, started_by) VALUES (%s, 'running', %s)"
            " RETURNING id", [full, started_by],
        ).fetchone()
        assert row is not None
        return int(row[0])

    def report(self, progress: RunProgress, force: bool = False) -> None:
        """Write progress to the run row, at most once per `report_every` seconds."""
        now = time.monotonic()
        if not force and now - self._last_report < self.report_every:
            return
        self._last_report = now
        values = asdict(progress.counts)
        assignments = ", ".join(f"{name} = %({name})s" for name in values)
        self.conn.execute(
            f"UPDATE sync_runs SET phase = %(phase)s, total_estimate = %(total)s, {assignments}"
            " WHERE id = %(id)s",
            {**values, "phase": progress.phase, "total": progress.total_estimate,
             "id": progress.run_id},
        )

    def finish(self, progress: RunProgress, state: str, error: str | None = None) -> None:
        self.report(progress, force=True)
        self.conn.execute(
            "UPDATE sync_runs SET state = %s, error = %s, finished_at = now() WHERE id = %s",
            [state, error, progress.run_id],
        )
