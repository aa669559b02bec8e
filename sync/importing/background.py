"""Running an import in a background thread, for callers that must answer at once (the API)."""

import logging
import threading

from sync.importing.run import execute_sync, start_sync
from sync.iqgeo import IQGeoSettings

logger = logging.getLogger(__name__)


def start_sync_in_background(database_url: str, settings: IQGeoSettings, full: bool,
                             started_by: str) -> tuple[int, threading.Thread]:
    """Open a run (SyncAlreadyRunning if one is going) and execute it in a thread."""
    lock, run_id = start_sync(database_url, full, started_by)

    def work() -> None:
        try:
            execute_sync(lock, run_id, database_url, settings, full)
        except Exception:
            logger.exception("sync run %d crashed", run_id)

    thread = threading.Thread(target=work, name=f"sync-run-{run_id}", daemon=True)
    thread.start()
    return run_id, thread
