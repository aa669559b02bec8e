"""Turning IQGeo features into rows: validation, field mapping and content hashes."""

import hashlib
import math
from dataclasses import dataclass
from typing import Any

import orjson

from sync.iqgeo.settings import IQGeoSettings

Feature = dict[str, Any]
ADDRESS_COLUMNS = ("name", "street_number", "street_name", "city", "postcode", "building")
WGS84_NAMES = {
    "EPSG:4326", "urn:ogc:def:crs:EPSG::4326", "urn:ogc:def:crs:OGC:1.3:CRS84",
    "urn:ogc:def:crs:OGC::CRS84", "http://www.opengis.net/def/crs/EPSG/0/4326",
    "http://www.opengis.net/def/crs/OGC/1.3/CRS84",
}


class Rejected(ValueError):
    """A feature that fails validation; the message is the quarantine reason."""


@dataclass(frozen=True, slots=True)
class AddressRow:
    feature_id: int
    texts: tuple[str | None, ...]  # in ADDRESS_COLUMNS order
    lon: float
    lat: float
    gis_attributes: str  # JSON text
    content_hash: int


@dataclass(frozen=True, slots=True)
class CircuitRow:
    feature_id: int
    name: str | None
    address_ref: str | None
    address_feature_id: int | None
    properties: str  # JSON text
    content_hash: int


def content_hash(values: Any) -> int:
    """A signed 64-bit hash (fits BIGINT) of JSON-serialisable values."""
    digest = hashlib.blake2b(orjson.dumps(values, option=orjson.OPT_SORT_KEYS), digest_size=8)
    return int.from_bytes(digest.digest(), "big", signed=True)


def feature_id_of(feature: Feature) -> int:
    raw = feature.get("id")
    if raw is None:
        raw = (feature.get("properties") or {}).get("id")
    if raw is None:
        raise Rejected("feature has no id")
    if isinstance(raw, bool) or not (isinstance(raw, int) or str(raw).isdigit()):
        raise Rejected(f"feature id {raw!r} is not an integer")
    value = int(raw)
    if not 0 < value < 2**63:
        raise Rejected(f"feature id {value} is out of range")
    return value


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


def _crs_name(feature: Feature) -> str | None:
    for holder in (feature, feature.get("geometry") or {}):
        crs = holder.get("crs") if isinstance(holder, dict) else None
        if crs:
            return str((crs.get("properties") or {}).get("name", crs)) \
                if isinstance(crs, dict) else str(crs)
    return None


def point_of(feature: Feature) -> tuple[float, float]:
    """(lon, lat) of a WGS 84 point feature, or Rejected with what is wrong."""
    geometry = feature.get("geometry")
    if not geometry:
        raise Rejected("feature has no geometry")
    if geometry.get("type") != "Point":
        raise Rejected(f"geometry is a {geometry.get('type')}, not a Point")
    crs = _crs_name(feature)
    if crs is not None and crs not in WGS84_NAMES:
        raise Rejected(f"geometry CRS is {crs}, not EPSG:4326")
    coords = geometry.get("coordinates")
    if not isinstance(coords, list) or len(coords) < 2 or not all(
        isinstance(c, int | float) and not isinstance(c, bool) for c in coords[:2]
    ):
        raise Rejected(f"point coordinates {coords!r} are not two numbers")
    lon, lat = float(coords[0]), float(coords[1])
    if not (math.isfinite(lon) and math.isfinite(lat)):
        raise Rejected(f"point coordinates {coords!r} are not finite")
    if not (-180 <= lon <= 180 and -90 <= lat <= 90):
        raise Rejected(f"coordinates ({lon}, {lat}) are out of range for EPSG:4326")
    return lon, lat


def address_row(feature: Feature, settings: IQGeoSettings) -> AddressRow:
    """The row for an IQGeo address, keeping only IQGeo-owned fields (never write-back ones)."""
    fid = feature_id_of(feature)
    lon, lat = point_of(feature)
    props = feature.get("properties") or {}
    texts = tuple(_text(props.get(settings.address_fields.get(c, c))) for c in ADDRESS_COLUMNS)
    extras = {name: props.get(name) for name in settings.extra_fields if name in props}
    digest = content_hash([texts, lon, lat, extras])
    return AddressRow(fid, texts, lon, lat, orjson.dumps(extras).decode(), digest)


def parse_address_ref(value: Any) -> int | None:
    """The address id in a circuit's `address` field: "2618" or a URN "address/2618"."""
    if value is None:
        return None
    text = str(value).strip().split("?", 1)[0].rsplit("/", 1)[-1]
    return int(text) if text.isdigit() and 0 < int(text) < 2**63 else None


def circuit_row(feature: Feature, settings: IQGeoSettings) -> CircuitRow:
    fid = feature_id_of(feature)
    props = feature.get("properties") or {}
    ref = _text(props.get(settings.circuit_address_field)) or None
    extras = {name: props.get(name) for name in settings.circuit_extra_fields if name in props}
    name = _text(props.get(settings.circuit_name_field))
    digest = content_hash([name, ref, extras])
    return CircuitRow(fid, name, ref, parse_address_ref(ref), orjson.dumps(extras).decode(),
                      digest)
