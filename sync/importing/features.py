"""Turning IQGeo features into rows: field mapping, fingerprints and validation.

A fingerprint is a 64-bit hash of exactly the IQGeo-owned content that FiberSync imports
(never write-back fields such as `service_status`), computed cheaply for every feature read;
only features whose fingerprint differs from the stored one are validated and staged.
"""

import math
from operator import itemgetter
from typing import Any, Final

import orjson
from xxhash import xxh3_64_intdigest

from sync.importing.wire import WireFeature, WirePoint
from sync.iqgeo.settings import IQGeoSettings

Feature = Any  # a dict or a WireFeature: anything with `get`
ADDRESS_COLUMNS = ("name", "street_number", "street_name", "city", "postcode", "building")
WGS84_NAMES = {
    "EPSG:4326", "urn:ogc:def:crs:EPSG::4326", "urn:ogc:def:crs:OGC:1.3:CRS84",
    "urn:ogc:def:crs:OGC::CRS84", "http://www.opengis.net/def/crs/EPSG/0/4326",
    "http://www.opengis.net/def/crs/OGC/1.3/CRS84",
}


class Rejected(ValueError):
    """A feature that fails validation; the message is the quarantine reason."""


# A row is a plain tuple in its staging table's column order: cheap to build, to pickle
# out of a reader process (a NamedTuple took 0.8 us a row to pickle, a tuple 0.1) and to
# COPY. Addresses: feature_id, name, street_number, street_name, city, postcode, building,
# lon, lat, gis_attributes (jsonb's binary form, as below), content_hash.
AddressRow = tuple[int, str | None, str | None, str | None, str | None, str | None,
                   str | None, float, float, bytes, int]
# Circuits: feature_id, name, address_ref, address_feature_id, properties (jsonb's binary
# form: a version byte, then the JSON text), content_hash. The columns of `circuits` in
# that order, so a first load copies them in as they come.
CircuitRow = tuple[int, str | None, str | None, int | None, bytes, int]
JSONB_VERSION: Final = b"\x01"
FEATURE_ID: Final = 0  # in either kind of row
CONTENT_HASH: Final = -1
CIRCUIT_ADDRESS_ID: Final = 3


def content_hash(values: Any) -> int:
    """A signed 64-bit hash (fits BIGINT) of JSON-serialisable values.

    XXH3: it runs once per feature read, and is 40% cheaper than blake2b here; change
    detection needs no cryptographic strength."""
    digest = xxh3_64_intdigest(orjson.dumps(values))
    return digest - (1 << 64) if digest >= 1 << 63 else digest


def feature_id_of(feature: Any) -> int:
    """The IQGeo id of a feature (top-level `id`, else `properties.id`), or Rejected."""
    if not isinstance(feature, dict | WireFeature):
        raise Rejected("feature is not a JSON object")
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


_TEXT_TYPES = {str, type(None)}


def _text(value: Any) -> str | None:
    return value if value is None or isinstance(value, str) else str(value)


def _crs_name(feature: Feature) -> str | None:
    for holder in (feature, feature.get("geometry") or {}):
        crs = holder.get("crs") if isinstance(holder, dict | WireFeature) else None
        if crs:
            return str((crs.get("properties") or {}).get("name", crs)) \
                if isinstance(crs, dict) else str(crs)
    return None


def point_of(feature: Feature) -> tuple[float, float]:
    """(lon, lat) of a WGS 84 point feature, or Rejected with what is wrong."""
    geometry = feature.get("geometry")
    # The common case in a few checks: a bare {"type", "coordinates"} of two floats in range
    # (NaN fails every comparison); anything else is examined in full below.
    if type(geometry) is dict and len(geometry) == 2 and feature.get("crs") is None:
        coords = geometry.get("coordinates")
        if geometry.get("type") == "Point" and type(coords) is list and len(coords) == 2:
            lon, lat = coords
            if (type(lon) is float and type(lat) is float
                    and -180.0 <= lon <= 180.0 and -90.0 <= lat <= 90.0):
                return lon, lat
    return _checked_point(feature, geometry)


def _checked_point(feature: Feature, geometry: Any) -> tuple[float, float]:
    if not geometry:
        raise Rejected("feature has no geometry")
    if not isinstance(geometry, dict) or geometry.get("type") != "Point":
        kind = geometry.get("type") if isinstance(geometry, dict) else type(geometry).__name__
        raise Rejected(f"geometry is a {kind}, not a Point")
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


class _Mapping:
    """Reads a fixed list of properties fast (itemgetter), falling back to .get()."""

    def __init__(self, fields: list[str]) -> None:
        self.fields = fields
        self._get = itemgetter(*fields)

    def values(self, feature: Feature) -> tuple[Any, ...]:
        props = feature.get("properties")
        if not isinstance(props, dict):
            return (None,) * len(self.fields)
        try:
            found = self._get(props)
        except KeyError:
            found = tuple(props.get(f) for f in self.fields)
        return found if isinstance(found, tuple) else (found,)


class AddressMapping(_Mapping):
    """IQGeo address properties -> address columns and gis_attributes."""

    kind = "address"
    wire = WirePoint

    def __init__(self, settings: IQGeoSettings) -> None:
        self.extras = list(settings.extra_fields)
        super().__init__([*(settings.address_fields.get(c, c) for c in ADDRESS_COLUMNS),
                          *self.extras])

    def fingerprint(self, feature: Feature, values: tuple[Any, ...] | None = None) -> int:
        """`values`: the feature's `values`, when already read."""
        values = self.values(feature) if values is None else values
        return content_hash((values, feature.get("geometry"), feature.get("crs")))

    def row(self, feature: Feature, values: tuple[Any, ...], fingerprint: int,
            fid: int = 0) -> AddressRow:
        """`fid`: the feature's id when already checked, else 0."""
        fid = fid or feature_id_of(feature)
        lon, lat = point_of(feature)
        texts = values[:len(ADDRESS_COLUMNS)]
        if not set(map(type, texts)) <= _TEXT_TYPES:
            texts = tuple(_text(v) for v in texts)
        props = feature.get("properties") or {}
        extras = {n: v for n, v in zip(self.extras, values[len(ADDRESS_COLUMNS):], strict=True)
                  if n in props}
        return (fid, *texts, lon, lat, JSONB_VERSION + orjson.dumps(extras), fingerprint)


def parse_address_ref(value: Any) -> int | None:
    """The address id in a circuit's `address` field: "2618" or a URN "address/2618"."""
    if value is None:
        return None
    text = value if type(value) is str and value.isdigit() else \
        str(value).strip().split("?", 1)[0].rsplit("/", 1)[-1]
    if not text.isdigit():
        return None
    number = int(text)
    return number if 0 < number < 2**63 else None


class CircuitMapping(_Mapping):
    """IQGeo circuit properties -> circuit columns (its geometry is not imported)."""

    kind = "circuit"
    wire = WireFeature

    def __init__(self, settings: IQGeoSettings) -> None:
        self.extras = list(settings.circuit_extra_fields)
        super().__init__([settings.circuit_name_field, settings.circuit_address_field,
                          *self.extras])

    def fingerprint(self, feature: Feature, values: tuple[Any, ...] | None = None) -> int:
        return content_hash(self.values(feature) if values is None else values)

    def row(self, feature: Feature, values: tuple[Any, ...], fingerprint: int,
            fid: int = 0) -> CircuitRow:
        fid = fid or feature_id_of(feature)
        name, ref, *extra_values = values
        props = feature.get("properties") or {}
        extras = {n: v for n, v in zip(self.extras, extra_values, strict=True) if n in props}
        ref_text = _text(ref) or None
        return (fid, _text(name), ref_text, parse_address_ref(ref_text),
                JSONB_VERSION + orjson.dumps(extras), fingerprint)
