"""Starting and executing an import run; the entry point for the CLI, the API and `up`."""

import gc
import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import psycopg

from gis.database import libpq_url
from gis.errors import FiberSyncError
from sync.importing.importer import Importer
from sync.importing.runs import RunCounts, RunLock, RunProgress
from sync.iqgeo import IQGeoError, IQGeoSettings

logger = logging.getLogger(__name__)


@dataclass
class SyncResult:
    run_id: int
    state: str
    counts: RunCounts
    error: str | None = None


@contextmanager
def fewer_gc_passes(threshold: int = 100_000) -> Iterator[None]:
    """Parsing a page allocates thousands of containers, and the default threshold (700)
    then runs the cycle collector over and over for garbage that has no cycles: measured, it
    took 40% of the CPU of a re-sync. The setting is process-wide and restored afterwards."""
    before = gc.get_threshold()
    gc.set_threshold(threshold, 20, 100)
    try:
        yield
    finally:
        gc.set_threshold(*before)


def start_sync(database_url: str, full: bool, started_by: str) -> tuple[RunLock, int]:
    """Take the run lock and open a run row; raises SyncAlreadyRunning."""
    lock = RunLock(libpq_url(database_url))
    return lock, lock.start(full, started_by)


def execute_sync(lock: RunLock, run_id: int, database_url: str, settings: IQGeoSettings,
                 full: bool = False, on_progress: Callable[[RunProgress], None] | None = None
                 ) -> SyncResult:
    """Run the import opened by `start_sync`, record its outcome, and release the lock.

    IQGeo and domain failures end the run as `failed` (committed batches stay); anything
    else is recorded too and raised.
    """
    progress = RunProgress(run_id)

    def report(p: RunProgress) -> None:
        lock.report(p)
        if on_progress:
            on_progress(p)

    try:
        # No JIT (as in gis.database): each batch's INSERT was compiled afresh, and the
        # compiling cost more than it saved.
        with psycopg.connect(libpq_url(database_url), options="-c jit=off") as conn, \
                fewer_gc_passes():
            Importer(conn, settings, progress, report, full).run()
        lock.finish(progress, "succeeded")
        return SyncResult(run_id, "succeeded", progress.counts)
    except (IQGeoError, FiberSyncError) as error:
        logger.error("sync run %d failed: %s", run_id, error)
        lock.finish(progress, "failed", f"{type(error).__name__}: {error}")
        return SyncResult(run_id, "failed", progress.counts, str(error))
    except BaseException as error:
        lock.finish(progress, "failed", f"{type(error).__name__}: {error}")
        raise
    finally:
        lock.close()


def run_sync(database_url: str, settings: IQGeoSettings, full: bool = False,
             started_by: str = "cli", on_progress: Callable[[RunProgress], None] | None = None
             ) -> SyncResult:
    """Run an import now. Pages are read in reader processes, which import the caller's main
    module: a script calling this needs the usual `if __name__ == "__main__":` guard."""
    lock, run_id = start_sync(database_url, full, started_by)
    return execute_sync(lock, run_id, database_url, settings, full, on_progress)
