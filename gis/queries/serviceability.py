"""Which addresses an ISP can sell to, by place, postcode, street or id, and what one offers.

Every query is a single statement on indexed conditions (GiST on the point, prefix indexes
on unaccented street and name, postcode), paged by feature id.
Whether a line is taken comes from the view `address_lines`, which never says by whom.
"""

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from gis.reads import Reads, psycopg_style

SERVICEABLE = ("ready_for_service", "connected")
# Degrees of latitude are at least 110,574 m long, of longitude 111,320 m x cos(latitude):
# a box with 1% of margin holds the circle (the globe's width near the poles; a circle is
# cut at the antimeridian).
_RADIUS_BOX = (
    "ST_Expand(ST_SetSRID(ST_MakePoint(:lon, :lat), 4326),"
    " least(360, :radius * 1.01 / (111320 * greatest(cos(radians(:lat)), 1e-6))),"
    " :radius * 1.01 / 110574)"
)


@dataclass
class AddressSearch:
    statuses: tuple[str, ...] = SERVICEABLE
    point: tuple[float, float] | None = None  # lon, lat
    radius_m: float | None = None
    bbox: tuple[float, float, float, float] | None = None
    polygon: str | None = None  # GeoJSON, EPSG:4326, already validated
    postcode: str | None = None
    street: str | None = None  # a prefix, any case and accents
    ids: list[int] | None = None
    line_taken: bool | None = None
    active_service: bool | None = None
    limit: int = 100
    after: int | None = None
    params: dict[str, Any] = field(default_factory=dict)

    def where(self) -> list[str]:
        clauses = ["NOT a.retired", "a.status = ANY(CAST(:statuses AS text[]))"]
        self.params.update(statuses=list(self.statuses), limit=self.limit)
        if self.point and self.radius_m is not None:
            # A box in degrees that holds the circle finds candidates by the point's GiST
            # index; the distance in metres on the spheroid decides.
            clauses.append(f"a.location && {_RADIUS_BOX}")
            clauses.append("ST_DWithin(a.location::geography, ST_SetSRID(ST_MakePoint("
                           ":lon, :lat), 4326)::geography, :radius)")
            self.params.update(lon=self.point[0], lat=self.point[1], radius=self.radius_m)
        if self.bbox:
            clauses.append("a.location && ST_MakeEnvelope(:w, :s, :e, :n, 4326)")
            self.params.update(dict(zip("wsen", self.bbox, strict=True)))
        if self.polygon:
            clauses.append("ST_Intersects(a.location, ST_SetSRID(ST_GeomFromGeoJSON("
                           ":polygon), 4326))")
            self.params["polygon"] = self.polygon
        if self.postcode:
            clauses.append("upper(replace(a.postcode, ' ', '')) COLLATE \"C\" = "
                           "upper(replace(:postcode, ' ', ''))")
            self.params["postcode"] = self.postcode
        if self.street:
            clauses.append("(lower(f_unaccent(a.street_name)) LIKE :prefix "
                           "OR lower(f_unaccent(a.name)) LIKE :prefix)")
            self.params["prefix_raw"] = self.street
        if self.ids is not None:
            clauses.append("a.feature_id = ANY(CAST(:ids AS bigint[]))")
            self.params["ids"] = self.ids
        if self.line_taken is not None:
            clauses.append(("" if self.line_taken else "NOT ") + "EXISTS (SELECT 1 FROM "
                           "address_lines l WHERE l.address_feature_id = a.feature_id)")
        if self.active_service is not None:
            clauses.append(("" if self.active_service else "NOT ") + "EXISTS (SELECT 1 FROM "
                           "address_lines l WHERE l.address_feature_id = a.feature_id "
                           "AND l.active)")
        if self.after is not None:
            clauses.append("a.feature_id > :after")
            self.params["after"] = self.after
        return clauses


_FEATURE = """
SELECT json_build_object(
  'type', 'Feature', 'id', a.feature_id,
  'geometry', json_build_object('type', 'Point',
                                'coordinates', json_build_array(ST_X(a.location),
                                                                ST_Y(a.location))),
  'properties', json_build_object(
    'feature_id', a.feature_id, 'name', a.name, 'street_number', a.street_number,
    'street_name', a.street_name, 'postcode', a.postcode, 'city', a.city,
    'building', a.building, 'status', a.status,
    'serviceable', a.status IN ('ready_for_service', 'connected') AND NOT a.retired,
    'ont_installed', a.ont_serial IS NOT NULL,
    'line', CASE WHEN EXISTS (SELECT 1 FROM address_lines l
                              WHERE l.address_feature_id = a.feature_id)
                 THEN 'taken' ELSE 'free' END,
    'your_service', (SELECT s.status FROM services s WHERE s.address_feature_id = a.feature_id
                     AND s.isp_id = CAST(:isp AS text))))
FROM addresses a
"""


def like_prefix(value: str) -> str:
    """A LIKE pattern matching `value` as a prefix, its own % and _ taken literally."""
    for special in ("\\", "%", "_"):
        value = value.replace(special, "\\" + special)
    return value + "%"


@dataclass(frozen=True)
class FeaturePage:
    features_json: str  # a JSON array of GeoJSON Features, as PostgreSQL wrote it
    count: int
    last_id: int | None


def _page_sql(search: AddressSearch) -> str:
    clauses = search.where()
    page = (_FEATURE.replace("SELECT json_build_object(", "SELECT a.feature_id AS id, "
                             "json_build_object(", 1)
            + " WHERE " + " AND ".join(clauses) + " ORDER BY a.feature_id LIMIT :limit")
    return (f"SELECT coalesce(json_agg(p.json_build_object ORDER BY p.id), '[]')::text, "
            f"count(*), max(p.id) FROM ({page}) p")


_PREFIX = psycopg_style("SELECT lower(f_unaccent(:q))")


async def search_addresses(reads: Reads, search: AddressSearch, isp: str | None) -> FeaturePage:
    """Serviceable addresses matching every given condition, in feature id order, scoped to
    `isp`. The features stay JSON text end to end: parsing and re-encoding them would cost
    more than the query."""
    sql = psycopg_style(_page_sql(search))  # also fills search.params
    params = dict(search.params, isp=isp)
    if "prefix_raw" in params:
        # Unaccented here, so the prefix is a constant the planner can match to the index.
        row = await reads.fetch_row(_PREFIX, {"q": params.pop("prefix_raw")})
        params["prefix"] = like_prefix(row[0] if row else "")
    row = await reads.fetch_row(sql, params, isp)
    assert row is not None  # an aggregate always returns a row
    features, count, last = row
    return FeaturePage(features, count, last)


def _reason(status: str, retired: bool) -> str | None:
    if retired:
        return "the address has been retired"
    return {"planned": "the network is not built here yet (planned)",
            "surveyed": "the network is not built here yet (surveyed)",
            "in_deployment": "the network is being built here (in deployment)"}.get(status)


def availability(session: Session, feature_id: int, isp: str | None,
                 max_product: dict[str, Any]) -> dict[str, Any] | None:
    row = session.execute(text("""
        SELECT a.feature_id, a.status, a.retired, a.ont_serial IS NOT NULL AS ont_installed,
               a.circuit_id, a.circuit_name,
               EXISTS (SELECT 1 FROM address_lines l
                       WHERE l.address_feature_id = a.feature_id) AS taken,
               (SELECT s.status FROM services s WHERE s.address_feature_id = a.feature_id
                AND s.isp_id = CAST(:isp AS text)) AS your_service
        FROM addresses a WHERE a.feature_id = :fid"""), {"fid": feature_id, "isp": isp}
    ).one_or_none()
    if row is None:
        return None
    reason = _reason(row.status, row.retired)
    return {"feature_id": row.feature_id, "serviceable": reason is None, "reason": reason,
            "status": row.status, "ont_installed": row.ont_installed,
            "circuit": {"id": row.circuit_id, "name": row.circuit_name}
            if row.circuit_id else None,
            "max_product": max_product if reason is None else None,
            "line": "taken" if row.taken else "free", "your_service": row.your_service}
