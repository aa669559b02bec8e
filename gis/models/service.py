"""Services per address and ISP, and every service event received (the history)."""

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, CheckConstraint, DateTime, ForeignKey, Index, Text, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from gis.models.base import Base, created_at_column, values_check
from gis.status import ServiceStatus

EVENT_OUTCOMES = ("applied", "rejected", "invalid")


class Service(Base):
    """The current state, derived from the applied events in event-time order."""

    __tablename__ = "services"
    __table_args__ = (
        CheckConstraint(values_check("status", [s.value for s in ServiceStatus]),
                        name="status"),
        Index("ix_services_ont_serial", "ont_serial",
              postgresql_where=text("ont_serial IS NOT NULL")),
    )

    address_feature_id: Mapped[int] = mapped_column(ForeignKey("addresses.feature_id"),
                                                    primary_key=True)
    isp_id: Mapped[str] = mapped_column(Text, primary_key=True)
    status: Mapped[str] = mapped_column(Text, nullable=False)
    subscriber: Mapped[str | None] = mapped_column(Text)
    product: Mapped[str | None] = mapped_column(Text)
    speed_profile: Mapped[str | None] = mapped_column(Text)
    ont_serial: Mapped[str | None] = mapped_column(Text)
    activated_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    status_since: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    last_event_time: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    updated_at: Mapped[datetime] = created_at_column()


class ServiceEvent(Base):
    """One event as received. `invalid` ones (malformed, unknown address) never count;
    `applied` and `rejected` are decided by replaying a service's events in time order."""

    __tablename__ = "service_events"
    __table_args__ = (
        CheckConstraint(values_check("outcome", list(EVENT_OUTCOMES)), name="outcome"),
        Index("ix_service_events_service", "address_feature_id", "isp_id", "event_time"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    event_id: Mapped[str | None] = mapped_column(Text, unique=True)
    event_type: Mapped[str | None] = mapped_column(Text)
    event_time: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    address_feature_id: Mapped[int | None] = mapped_column(BigInteger)
    isp_id: Mapped[str | None] = mapped_column(Text)
    payload: Mapped[Any] = mapped_column(JSONB, nullable=False)  # as received
    # subscriber, product, speed_profile, ont_serial as the event gives them
    attributes: Mapped[dict[str, Any]] = mapped_column(
        JSONB, nullable=False, server_default=text("'{}'::jsonb"))
    outcome: Mapped[str] = mapped_column(Text, nullable=False)
    reason: Mapped[str | None] = mapped_column(Text)
    received_at: Mapped[datetime] = created_at_column()
