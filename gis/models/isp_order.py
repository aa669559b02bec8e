"""Orders placed by ISPs (open access), kept with their outcome, refused ones included."""

from datetime import datetime

from sqlalchemy import BigInteger, CheckConstraint, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from gis.models.base import Base, created_at_column

ORDER_OUTCOMES = ("ordered", "work_order", "refused")


class IspOrder(Base):
    __tablename__ = "isp_orders"
    __table_args__ = (
        UniqueConstraint("isp_id", "order_ref"),
        CheckConstraint("outcome IN ('ordered', 'work_order', 'refused')", name="outcome"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    isp_id: Mapped[str] = mapped_column(Text, nullable=False)
    order_ref: Mapped[str] = mapped_column(Text, nullable=False)
    address_feature_id: Mapped[int | None] = mapped_column(BigInteger)
    product: Mapped[str | None] = mapped_column(Text)
    subscriber: Mapped[str | None] = mapped_column(Text)
    outcome: Mapped[str] = mapped_column(Text, nullable=False)
    reason: Mapped[str | None] = mapped_column(Text)  # why it was refused
    work_order_id: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = created_at_column()
