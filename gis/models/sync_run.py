"""Import runs and the features they quarantined."""

from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    Text,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from gis.models.base import Base, created_at_column, values_check
from gis.status import SyncRunState

COUNTERS = (
    "pages_read", "features_read", "inserted", "updated", "unchanged", "retired", "rejected",
    "circuits_read", "circuits_linked", "circuits_unlinked", "circuits_orphaned",
)


def _counter() -> Mapped[int]:
    return mapped_column(Integer, nullable=False, server_default=text("0"))


class SyncRun(Base):
    __tablename__ = "sync_runs"
    __table_args__ = (
        CheckConstraint(values_check("state", [s.value for s in SyncRunState]), name="state"),
        # One run at a time, enforced by the database as well as by an advisory lock.
        Index("uq_sync_runs_one_running", text("(true)"), unique=True,
              postgresql_where=text("state = 'running'")),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    full_rewrite: Mapped[bool] = mapped_column(Boolean, nullable=False,
                                               server_default=text("false"))
    state: Mapped[str] = mapped_column(Text, nullable=False)
    phase: Mapped[str] = mapped_column(Text, nullable=False, server_default="starting")
    started_by: Mapped[str] = mapped_column(Text, nullable=False)
    started_at: Mapped[datetime] = created_at_column()
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    total_estimate: Mapped[int | None] = mapped_column(Integer)
    pages_read: Mapped[int] = _counter()
    features_read: Mapped[int] = _counter()
    inserted: Mapped[int] = _counter()
    updated: Mapped[int] = _counter()
    unchanged: Mapped[int] = _counter()
    retired: Mapped[int] = _counter()
    rejected: Mapped[int] = _counter()
    circuits_read: Mapped[int] = _counter()
    circuits_linked: Mapped[int] = _counter()
    circuits_unlinked: Mapped[int] = _counter()
    circuits_orphaned: Mapped[int] = _counter()
    error: Mapped[str | None] = mapped_column(Text)


class QuarantinedFeature(Base):
    """A feature that failed validation, kept with the reason instead of being dropped."""

    __tablename__ = "quarantined_features"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    sync_run_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("sync_runs.id", ondelete="CASCADE"), index=True, nullable=False
    )
    feature_type: Mapped[str] = mapped_column(Text, nullable=False)
    feature_id: Mapped[str | None] = mapped_column(Text, index=True)
    reason: Mapped[str] = mapped_column(Text, nullable=False)
    payload: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    quarantined_at: Mapped[datetime] = created_at_column()


class DeferredIndex(Base):
    """A secondary index dropped while an import fills an empty table (building it once at
    the end is several times cheaper than maintaining it row by row). Kept here, not in
    memory, so the next run rebuilds it if this one dies before doing so."""

    __tablename__ = "deferred_indexes"

    index_name: Mapped[str] = mapped_column(Text, primary_key=True)
    table_name: Mapped[str] = mapped_column(Text, nullable=False)
    definition: Mapped[str] = mapped_column(Text, nullable=False)
