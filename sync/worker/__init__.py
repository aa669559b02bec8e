"""The outbox worker: claims events, writes addresses back to IQGeo, retries, parks."""

from sync.worker.loop import Worker
from sync.worker.settings import WorkerSettings

__all__ = ["Worker", "WorkerSettings"]
