"""Orders placed by ISPs (open access), kept with their outcome, refused ones included."""

from datetime import datetime

from sqlalchemy import BigInteger, CheckConstraint, Index, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from gis.models.base import Base, created_at_column

ORDER_OUTCOMES = ("ordered", "work_order", "refused")


class IspOrder(Base):
    __tablename__ = "isp_orders"
    __table_args__ = (
        # Idempotent by the ISP's reference; refused attempts are kept too, for the metric.
        Index("uq_isp_orders_ref", "isp_id", "order_ref", unique=True,
              postgresql_where=text("outcome <> 'refused'")),
        CheckConstraint("outcome IN ('ordered', 'work_order', 'refused')", name="outcome"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    isp_id: Mapped[str] = mapped_column(Text, nullable=False)
    order_ref: Mapped[str] = mapped_column(Text, nullable=False)
    address_feature_id: Mapped[int | None] = mapped_column(BigInteger)
    product: Mapped[str | None] = mapped_column(Text)
    subscriber: Mapped[str | None] = mapped_column(Text)
    outcome: Mapped[str] = mapped_column(Text, nullable=False)
    refusal: Mapped[str | None] = mapped_column(Text)  # a code: unknown_product, ...
    reason: Mapped[str | None] = mapped_column(Text)  # why it was refused, in words
    work_order_id: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = created_at_column()
