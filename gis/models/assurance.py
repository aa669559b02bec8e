"""Assurance exceptions: a mismatch between network and commercial truth, with its evidence
and, once it ends, its resolution (who, when, why)."""

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, CheckConstraint, DateTime, Index, Text, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from gis.models.base import Base, values_check

SEVERITIES = ("red", "amber")


class AssuranceException(Base):
    __tablename__ = "assurance_exceptions"
    __table_args__ = (
        CheckConstraint(values_check("severity", list(SEVERITIES)), name="severity"),
        # At most one open exception of a kind per service.
        Index("uq_assurance_exceptions_open", "kind", "address_feature_id", "isp_id",
              unique=True, postgresql_where=text("resolved_at IS NULL")),
        Index("ix_assurance_exceptions_service", "address_feature_id", "isp_id"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    kind: Mapped[str] = mapped_column(Text, nullable=False)
    severity: Mapped[str] = mapped_column(Text, nullable=False)
    address_feature_id: Mapped[int] = mapped_column(BigInteger, nullable=False)
    isp_id: Mapped[str] = mapped_column(Text, nullable=False)
    contract_ref: Mapped[str | None] = mapped_column(Text)
    evidence: Mapped[dict[str, Any]] = mapped_column(JSONB, nullable=False)
    first_seen: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    last_seen: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    resolved_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    resolved_by: Mapped[str | None] = mapped_column(Text)
    resolution_code: Mapped[str | None] = mapped_column(Text)
    resolution_note: Mapped[str | None] = mapped_column(Text)
