"""The IQGeo address and circuit import."""

from sync.importing.run import SyncResult, execute_sync, run_sync, start_sync
from sync.importing.runs import RunProgress, SyncAlreadyRunning

__all__ = ["RunProgress", "SyncAlreadyRunning", "SyncResult", "execute_sync", "run_sync",
           "start_sync"]
