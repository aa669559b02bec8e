"""Webhook subscriptions (TMF688 hub) and the deliveries made to them."""

from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import Mapped, mapped_column

from gis.models.base import Base, created_at_column


class WebhookSubscription(Base):
    __tablename__ = "webhook_subscriptions"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    callback: Mapped[str] = mapped_column(Text, nullable=False)
    # Event types wanted (empty: all); an ISP's subscription only ever gets its own events.
    event_types: Mapped[list[str]] = mapped_column(ARRAY(Text), nullable=False,
                                                   server_default=text("'{}'"))
    isp_id: Mapped[str | None] = mapped_column(Text)
    # Signs deliveries (HMAC-SHA256); kept, since it must be used, and shown once.
    secret: Mapped[str] = mapped_column(Text, nullable=False)
    created_by_key: Mapped[int] = mapped_column(BigInteger, nullable=False)
    created_at: Mapped[datetime] = created_at_column()


class WebhookDelivery(Base):
    """One event for one subscription; its id is the receiver's de-duplication key."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        UniqueConstraint("subscription_id", "event_id"),
        CheckConstraint("NOT (delivered_at IS NOT NULL AND parked_at IS NOT NULL)",
                        name="settled_once"),
        Index("ix_webhook_deliveries_pending", "id",
              postgresql_where=text("delivered_at IS NULL AND parked_at IS NULL")),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    subscription_id: Mapped[int] = mapped_column(
        ForeignKey("webhook_subscriptions.id", ondelete="CASCADE"), nullable=False)
    event_id: Mapped[int] = mapped_column(BigInteger, nullable=False)  # the outbox event
    topic: Mapped[str] = mapped_column(Text, nullable=False)
    payload: Mapped[dict[str, Any]] = mapped_column(JSONB, nullable=False)
    event_time: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    created_at: Mapped[datetime] = created_at_column()
    available_at: Mapped[datetime] = created_at_column()
    attempts: Mapped[int] = mapped_column(Integer, nullable=False, server_default=text("0"))
    claimed_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    delivered_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    parked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_error: Mapped[str | None] = mapped_column(Text)
