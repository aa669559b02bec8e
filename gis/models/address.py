"""Addresses and circuits imported from IQGeo, keyed by their IQGeo feature ids."""

from datetime import datetime
from typing import Any

from geoalchemy2 import Geometry, WKBElement
from sqlalchemy import BigInteger, Boolean, CheckConstraint, DateTime, Index, Text, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from gis.models.base import Base, created_at_column, values_check
from gis.status import AddressStatus


class Address(Base):
    __tablename__ = "addresses"
    __table_args__ = (
        CheckConstraint(values_check("status", [s.value for s in AddressStatus]), name="status"),
        # ISP search: accent- and case-free prefixes, postcodes (radius searches use the
        # GiST index on the point, see gis.queries.serviceability).
        Index("ix_addresses_street_prefix", text("lower(f_unaccent(street_name)) "
                                                 "text_pattern_ops")),
        Index("ix_addresses_name_prefix", text("lower(f_unaccent(name)) text_pattern_ops")),
        # Built COLLATE "C" by migration 0012, which reflection does not show (queries say
        # COLLATE "C" too, to use it).
        Index("ix_addresses_postcode", text("upper(replace(postcode, ' ', ''))")),
        # Assurance: a device recorded at two addresses.
        Index("ix_addresses_ont_serial", "ont_serial",
              postgresql_where=text("ont_serial IS NOT NULL")),
        # Room on each page for HOT updates: status and circuit changes touch no index.
        {"postgresql_with": {"fillfactor": 85}},
    )

    feature_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    name: Mapped[str | None] = mapped_column(Text)
    street_number: Mapped[str | None] = mapped_column(Text)
    street_name: Mapped[str | None] = mapped_column(Text)
    city: Mapped[str | None] = mapped_column(Text)
    postcode: Mapped[str | None] = mapped_column(Text)
    building: Mapped[str | None] = mapped_column(Text)
    location: Mapped[WKBElement] = mapped_column(
        Geometry("POINT", srid=4326, spatial_index=True), nullable=False
    )
    # Extra IQGeo properties chosen in configuration (IQGEO_EXTRA_FIELDS).
    gis_attributes: Mapped[dict[str, Any]] = mapped_column(
        JSONB, nullable=False, server_default=text("'{}'::jsonb")
    )
    # The Circuit property: the lowest-numbered linked circuit; all links: address_circuits.
    circuit_id: Mapped[int | None] = mapped_column(BigInteger)
    circuit_name: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(
        Text, nullable=False, server_default=AddressStatus.planned.value
    )
    # The ONT scanned at installation: binds the device to the address (FiberSync-owned).
    ont_serial: Mapped[str | None] = mapped_column(Text)
    # 64-bit hash of the IQGeo-owned content; an import writes a row only when it differs.
    content_hash: Mapped[int] = mapped_column(BigInteger, nullable=False)
    first_seen_at: Mapped[datetime] = created_at_column()
    last_seen_at: Mapped[datetime] = created_at_column()
    updated_at: Mapped[datetime] = created_at_column()
    retired: Mapped[bool] = mapped_column(Boolean, nullable=False, server_default=text("false"))
    retired_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class Circuit(Base):
    __tablename__ = "circuits"
    __table_args__ = (
        # An address's circuits in id order: its Circuit property is the first live one.
        Index("ix_circuits_address_feature_id", "address_feature_id", "feature_id"),
    )

    feature_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    name: Mapped[str | None] = mapped_column(Text)
    # The raw IQGeo reference as read, and the address id parsed from it (no FK: it may dangle).
    address_ref: Mapped[str | None] = mapped_column(Text)
    address_feature_id: Mapped[int | None] = mapped_column(BigInteger)
    properties: Mapped[dict[str, Any]] = mapped_column(
        JSONB, nullable=False, server_default=text("'{}'::jsonb")
    )
    content_hash: Mapped[int] = mapped_column(BigInteger, nullable=False)
    first_seen_at: Mapped[datetime] = created_at_column()
    last_seen_at: Mapped[datetime] = created_at_column()
    updated_at: Mapped[datetime] = created_at_column()
    retired: Mapped[bool] = mapped_column(Boolean, nullable=False, server_default=text("false"))
    retired_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


# The address <-> circuit link is the view `address_circuits` (migration 0001): a circuit
# links to the live address its IQGeo `address` field names. Deriving it keeps the link
# exactly as IQGeo has it, with nothing to keep in step.
