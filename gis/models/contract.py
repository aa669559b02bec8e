"""The commercial side of a service: contracts from the BSS or an ISP, and the commercial
events received (contracts signed and changed, invoices, credits, refunds, payments,
disputes), each kept with its outcome."""

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from gis.models.base import Base, created_at_column, values_check

CONTRACT_STATUSES = ("active", "ended")
COMMERCIAL_OUTCOMES = ("applied", "rejected", "invalid")


class Contract(Base):
    __tablename__ = "contracts"
    __table_args__ = (
        UniqueConstraint("isp_id", "contract_ref", name="uq_contracts_ref"),
        CheckConstraint(values_check("status", list(CONTRACT_STATUSES)), name="status"),
        Index("ix_contracts_service", "address_feature_id", "isp_id"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    isp_id: Mapped[str] = mapped_column(Text, nullable=False)
    contract_ref: Mapped[str] = mapped_column(Text, nullable=False)  # the seller's id
    address_feature_id: Mapped[int] = mapped_column(ForeignKey("addresses.feature_id"),
                                                    nullable=False)
    product: Mapped[str | None] = mapped_column(Text)
    price_minor: Mapped[int] = mapped_column(BigInteger, nullable=False)
    currency: Mapped[str] = mapped_column(Text, nullable=False)
    anchor_day: Mapped[int] = mapped_column(Integer, nullable=False, server_default=text("1"))
    promotion_price_minor: Mapped[int | None] = mapped_column(BigInteger)
    promotion_start: Mapped[date | None] = mapped_column(Date)
    promotion_end: Mapped[date | None] = mapped_column(Date)
    term_months: Mapped[int] = mapped_column(Integer, nullable=False, server_default=text("0"))
    early_termination_fee_minor: Mapped[int] = mapped_column(BigInteger, nullable=False,
                                                             server_default=text("0"))
    fee_per_remaining_month_minor: Mapped[int] = mapped_column(BigInteger, nullable=False,
                                                               server_default=text("0"))
    status: Mapped[str] = mapped_column(Text, nullable=False)
    signed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    ended_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_event_time: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    # The service activation billing.start was sent for, and the deactivation billing.stop
    # was sent for: each is sent once.
    billing_started_for: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    billing_stopped_for: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = created_at_column()


class CommercialEvent(Base):
    __tablename__ = "commercial_events"
    __table_args__ = (
        CheckConstraint(values_check("outcome", list(COMMERCIAL_OUTCOMES)), name="outcome"),
        Index("ix_commercial_events_contract", "isp_id", "contract_ref", "event_time"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    event_id: Mapped[str | None] = mapped_column(Text, unique=True)
    event_type: Mapped[str | None] = mapped_column(Text)
    event_time: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    isp_id: Mapped[str | None] = mapped_column(Text)
    contract_ref: Mapped[str | None] = mapped_column(Text)
    amount_minor: Mapped[int | None] = mapped_column(BigInteger)
    currency: Mapped[str | None] = mapped_column(Text)
    attributes: Mapped[dict[str, Any]] = mapped_column(JSONB, nullable=False,
                                                       server_default=text("'{}'::jsonb"))
    payload: Mapped[Any] = mapped_column(JSONB, nullable=False)
    outcome: Mapped[str] = mapped_column(Text, nullable=False)
    reason: Mapped[str | None] = mapped_column(Text)
    received_at: Mapped[datetime] = created_at_column()
