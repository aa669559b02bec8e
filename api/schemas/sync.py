"""Wire shapes of sync runs."""

from datetime import datetime
from typing import Any

from pydantic import BaseModel

from gis.models import SyncRun


class SyncRunRequest(BaseModel):
    full: bool = False  # rewrite every row, not only the changed ones


class SyncRunOut(BaseModel):
    id: int
    state: str
    phase: str
    full: bool
    started_by: str
    started_at: datetime
    finished_at: datetime | None
    error: str | None
    total_estimate: int | None
    progress: float | None  # share of the current layer read, 0..1, when IQGeo told its size
    pages_read: int
    features_read: int
    inserted: int
    updated: int
    unchanged: int
    retired: int
    rejected: int
    circuits_read: int
    circuits_linked: int
    circuits_unlinked: int
    circuits_orphaned: int

    @classmethod
    def of(cls, run: SyncRun) -> "SyncRunOut":
        read = run.circuits_read if run.phase == "circuits" else run.features_read
        progress = None
        if run.state != "running":
            progress = 1.0 if run.state == "succeeded" else None
        elif run.total_estimate:
            progress = min(1.0, read / run.total_estimate)
        fields: dict[str, Any] = {name: getattr(run, name) for name in cls.model_fields
                                  if name not in ("full", "progress")}
        return cls(**fields, full=run.full_rewrite, progress=progress)


class QuarantinedOut(BaseModel):
    id: int
    feature_type: str
    feature_id: str | None
    reason: str
    payload: Any
    quarantined_at: datetime
