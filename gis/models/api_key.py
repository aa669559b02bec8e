"""API keys, stored as SHA-256 hashes; the plain key is shown once at creation."""

from datetime import datetime

from sqlalchemy import BigInteger, CheckConstraint, DateTime, Text
from sqlalchemy.orm import Mapped, mapped_column

from gis.models.base import Base, created_at_column, values_check
from gis.status import Role


class ApiKey(Base):
    __tablename__ = "api_keys"
    __table_args__ = (
        CheckConstraint(values_check("role", [r.value for r in Role]), name="role"),
        CheckConstraint("role <> 'isp' OR isp_id IS NOT NULL", name="isp_bound"),
        CheckConstraint("role <> 'technician' OR crew_id IS NOT NULL", name="crew_bound"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    name: Mapped[str] = mapped_column(Text, nullable=False)
    key_prefix: Mapped[str] = mapped_column(Text, nullable=False)
    key_hash: Mapped[str] = mapped_column(Text, nullable=False, unique=True)
    role: Mapped[str] = mapped_column(Text, nullable=False)
    isp_id: Mapped[str | None] = mapped_column(Text)
    crew_id: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = created_at_column()
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
