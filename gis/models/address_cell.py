"""Addresses counted per small cell and status, kept current by triggers (migration 0007),
so low-zoom map tiles sum cells instead of a million points."""

from sqlalchemy import BigInteger, Float, Text
from sqlalchemy.orm import Mapped, mapped_column

from gis.models.base import Base


class AddressCell(Base):
    __tablename__ = "address_cells"

    cx: Mapped[int] = mapped_column(BigInteger, primary_key=True)  # floor(lon / cell size)
    cy: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    status: Mapped[str] = mapped_column(Text, primary_key=True)
    n: Mapped[int] = mapped_column(BigInteger, nullable=False)  # live addresses
    sum_lon: Mapped[float] = mapped_column(Float(53), nullable=False)  # for the centroid
    sum_lat: Mapped[float] = mapped_column(Float(53), nullable=False)
