"""Addresses as GeoJSON features."""

from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from gis.queries.serviceability import like_prefix

_SELECT = """
SELECT a.feature_id, a.name, a.street_number, a.street_name, a.city, a.postcode, a.building,
       a.status, a.retired, a.retired_at, a.circuit_id, a.circuit_name, a.gis_attributes,
       a.first_seen_at, a.last_seen_at, a.updated_at,
       ST_AsGeoJSON(a.location)::json AS geometry,
       COALESCE((SELECT json_agg(json_build_object('id', c.feature_id, 'name', c.name)
                                 ORDER BY c.feature_id)
                 FROM circuits c
                 WHERE c.address_feature_id = a.feature_id AND NOT c.retired), '[]'::json)
       AS circuits,
       (SELECT json_build_object('id', w.id, 'status', w.status, 'purpose', w.purpose)
        FROM work_orders w WHERE w.address_feature_id = a.feature_id
          AND w.status IN ('open', 'scheduled', 'in_progress')) AS open_work_order,
       COALESCE((SELECT json_agg(json_build_object(
                   'isp', s.isp_id, 'status', s.status, 'subscriber', s.subscriber,
                   'product', s.product, 'speed_profile', s.speed_profile,
                   'ont_serial', s.ont_serial, 'activated_at', s.activated_at,
                   'status_since', s.status_since) ORDER BY s.isp_id)
                 FROM services s WHERE s.address_feature_id = a.feature_id), '[]'::json)
       AS services
FROM addresses a
"""


def _feature(row: Any) -> dict[str, Any]:
    props = dict(row._mapping)
    geometry = props.pop("geometry")
    fid = props["feature_id"]
    for name in ("retired_at", "first_seen_at", "last_seen_at", "updated_at"):
        props[name] = props[name].isoformat() if props[name] else None
    return {"type": "Feature", "id": fid, "geometry": geometry, "properties": props}


def get_address(session: Session, feature_id: int) -> dict[str, Any] | None:
    row = session.execute(text(_SELECT + " WHERE a.feature_id = :fid"),
                          {"fid": feature_id}).one_or_none()
    return None if row is None else _feature(row)


def list_addresses(session: Session, limit: int, after: int | None, status: str | None,
                   include_retired: bool) -> list[dict[str, Any]]:
    query = _SELECT + """
    WHERE a.feature_id > :after
      AND (CAST(:status AS text) IS NULL OR a.status = :status)
      AND (:include_retired OR NOT a.retired)
    ORDER BY a.feature_id LIMIT :limit
    """
    rows = session.execute(text(query), {"after": after or 0, "status": status,
                                         "include_retired": include_retired, "limit": limit})
    return [_feature(row) for row in rows]


_SEARCH = _SELECT + """
WHERE NOT a.retired AND (
  a.feature_id = :fid
  OR upper(replace(a.postcode, ' ', '')) COLLATE "C" = upper(replace(:q, ' ', ''))
  OR lower(f_unaccent(a.name)) LIKE :prefix
  OR lower(f_unaccent(a.street_name)) LIKE :prefix)
ORDER BY a.feature_id = :fid DESC, a.name, a.feature_id
LIMIT :limit
"""


def search_addresses(session: Session, q: str, limit: int) -> list[dict[str, Any]]:
    """Addresses whose feature id or postcode is `q`, or whose name or street starts with it
    (any case, any accents): what the planner types in the map's search box."""
    fid = int(q) if q.isdigit() and len(q) < 19 else -1
    prefix = session.execute(text("SELECT lower(f_unaccent(:q))"), {"q": q}).scalar_one()
    rows = session.execute(text(_SEARCH), {"fid": fid, "q": q, "prefix": like_prefix(prefix),
                                           "limit": limit})
    return [_feature(row) for row in rows]
