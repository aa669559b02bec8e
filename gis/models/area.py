"""Project areas: polygons a planner moves through planned → surveyed → in_deployment → built."""

from datetime import datetime
from typing import Any

from geoalchemy2 import Geometry, WKBElement
from sqlalchemy import BigInteger, CheckConstraint, Text, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from gis.models.base import Base, created_at_column, values_check
from gis.status import AreaStatus


class Area(Base):
    __tablename__ = "areas"
    __table_args__ = (
        CheckConstraint(values_check("status", [s.value for s in AreaStatus]), name="status"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    name: Mapped[str] = mapped_column(Text, nullable=False)
    status: Mapped[str] = mapped_column(Text, nullable=False,
                                        server_default=AreaStatus.planned.value)
    # Always EPSG:4326; `source_crs` says what the planner sent before conversion.
    geometry: Mapped[WKBElement] = mapped_column(
        Geometry("MULTIPOLYGON", srid=4326, spatial_index=True), nullable=False)
    source_crs: Mapped[str] = mapped_column(Text, nullable=False,
                                            server_default="EPSG:4326")
    # The attributes of the uploaded feature, kept as they came.
    properties: Mapped[dict[str, Any]] = mapped_column(
        JSONB, nullable=False, server_default=text("'{}'::jsonb"))
    created_by: Mapped[str] = mapped_column(Text, nullable=False)
    created_at: Mapped[datetime] = created_at_column()
    updated_at: Mapped[datetime] = created_at_column()
