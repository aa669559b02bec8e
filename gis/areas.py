"""Project areas: validated and stored all-or-nothing, read back with their counts."""

from dataclasses import dataclass
from typing import Any

from geoalchemy2.shape import from_shape
from pyproj import CRS
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from gis.errors import InvalidInput, NotFound
from gis.geometry import GeometryProblem, crs_name, to_area_geometry
from gis.models import Area
from gis.uploads import RawFeature


@dataclass
class AreaInput:
    name: str
    feature: RawFeature
    crs: CRS


def validate_areas(inputs: list[AreaInput], max_vertices: int) -> list[Area]:
    """Area rows for every input, or InvalidInput naming each feature that is wrong."""
    areas, errors = [], []
    for index, item in enumerate(inputs):
        try:
            if item.feature.geometry is None:
                raise GeometryProblem("the feature has no geometry")
            geometry = to_area_geometry(item.feature.geometry, item.crs, max_vertices)
        except GeometryProblem as problem:
            errors.append({"feature": index, "name": item.name, "message": str(problem)})
            continue
        areas.append(Area(name=item.name, geometry=from_shape(geometry, srid=4326),
                          source_crs=crs_name(item.crs), properties=item.feature.properties))
    if errors:
        raise InvalidInput(f"{len(errors)} of {len(inputs)} area(s) are not valid; nothing "
                           "was saved", errors)
    return areas


def create_areas(session: Session, inputs: list[AreaInput], actor: str,
                 max_vertices: int) -> list[Area]:
    """Saves all the areas or none. The caller commits."""
    if not inputs:
        raise InvalidInput("there are no areas to create")
    areas = validate_areas(inputs, max_vertices)
    for area in areas:
        area.created_by = actor
    session.add_all(areas)
    session.flush()
    return areas


def get_area(session: Session, area_id: int, *, lock: bool = False) -> Area:
    query = select(Area).where(Area.id == area_id)
    area = session.scalars(query.with_for_update() if lock else query).one_or_none()
    if area is None:
        raise NotFound(f"area {area_id} does not exist")
    return area


_AREA_FEATURE = text("""
    SELECT json_build_object(
      'type', 'Feature', 'id', ar.id,
      'geometry', ST_AsGeoJSON(ar.geometry, 7)::json,
      'properties', json_build_object(
        'name', ar.name, 'status', ar.status, 'source_crs', ar.source_crs,
        'attributes', ar.properties, 'created_by', ar.created_by,
        'created_at', ar.created_at, 'updated_at', ar.updated_at)) AS feature
    FROM areas ar WHERE (CAST(:ids AS bigint[]) IS NULL OR ar.id = ANY(:ids))
      AND (CAST(:after AS bigint) IS NULL OR ar.id > :after)
      AND (CAST(:status AS text) IS NULL OR ar.status = :status)
    ORDER BY ar.id LIMIT :limit
""")

_COUNTS = text("""
    SELECT
      (SELECT coalesce(json_object_agg(status, n), '{}') FROM (
         SELECT CASE WHEN a.retired THEN 'retired' ELSE a.status END AS status, count(*) AS n
         FROM addresses a JOIN areas ar ON ST_Intersects(a.location, ar.geometry)
         WHERE ar.id = :area_id GROUP BY 1) s) AS addresses,
      (SELECT coalesce(json_object_agg(status, n), '{}') FROM (
         SELECT status, count(*) AS n FROM work_orders WHERE area_id = :area_id
         GROUP BY 1) w) AS work_orders
""")


def area_feature(session: Session, area_id: int) -> dict[str, Any]:
    """The area as a GeoJSON Feature, with address counts by status and order counts."""
    found = area_features(session, [area_id])
    if not found:
        raise NotFound(f"area {area_id} does not exist")
    feature = found[0]
    counts = session.execute(_COUNTS, {"area_id": area_id}).one()
    feature["properties"]["addresses_by_status"] = counts.addresses
    feature["properties"]["work_orders_by_status"] = counts.work_orders
    return feature


def area_features(session: Session, ids: list[int]) -> list[dict[str, Any]]:
    rows = session.execute(_AREA_FEATURE, {"ids": ids, "after": None, "status": None,
                                           "limit": len(ids)}).scalars()
    return [dict(row) for row in rows]


def list_area_features(session: Session, limit: int, after: int | None,
                       status: str | None) -> list[dict[str, Any]]:
    rows = session.execute(_AREA_FEATURE, {"ids": None, "after": after,
                                           "status": status, "limit": limit}).scalars()
    return [dict(row) for row in rows]
