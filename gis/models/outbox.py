"""The outbox: events written in the same transaction as the change they announce."""

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, DateTime, Index, Integer, Text, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from gis.models.base import Base, created_at_column


class OutboxEvent(Base):
    __tablename__ = "outbox"
    __table_args__ = (
        # The worker's queue: only undelivered, unparked events, in id order.
        Index("ix_outbox_pending", "id",
              postgresql_where=text("delivered_at IS NULL AND parked_at IS NULL")),
        # "Is there an earlier pending event for this key?": keeps one key's events in order.
        Index("ix_outbox_pending_key", "key", "id",
              postgresql_where=text("delivered_at IS NULL AND parked_at IS NULL")),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    topic: Mapped[str] = mapped_column(Text, nullable=False)  # e.g. address.status_changed
    # Events that share a key are delivered in id order (e.g. "address:1234").
    key: Mapped[str] = mapped_column(Text, nullable=False)
    payload: Mapped[dict[str, Any]] = mapped_column(JSONB, nullable=False)
    created_at: Mapped[datetime] = created_at_column()
    available_at: Mapped[datetime] = created_at_column()
    attempts: Mapped[int] = mapped_column(Integer, nullable=False, server_default=text("0"))
    delivered_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    parked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_error: Mapped[str | None] = mapped_column(Text)
    # A worker's lease on the event; expired leases (a dead worker) are claimed again.
    claimed_by: Mapped[str | None] = mapped_column(Text)
    claimed_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
