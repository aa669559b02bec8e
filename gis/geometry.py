"""Area geometry input: any named CRS in, a valid EPSG:4326 MultiPolygon out, or the reason."""

import math
from functools import lru_cache
from typing import Any

import shapely
from pyproj import CRS, Transformer
from pyproj.exceptions import CRSError
from shapely.geometry import MultiPolygon, Polygon, shape
from shapely.geometry.base import BaseGeometry

WGS84 = CRS.from_epsg(4326)


class GeometryProblem(ValueError):
    """Why one geometry was refused, in words a planner can act on."""


def parse_crs(name: str | None) -> CRS:
    """EPSG:xxxx, OGC URNs and URLs, CRS84 or WKT; None means EPSG:4326 (RFC 7946)."""
    if not name:
        return WGS84
    try:
        return CRS.from_user_input(name)
    except CRSError as error:
        raise GeometryProblem(f"unknown CRS {name!r}: {error}") from error


def crs_name(crs: CRS) -> str:
    authority = crs.to_authority(min_confidence=90)
    return ":".join(authority) if authority else crs.to_wkt()


@lru_cache(maxsize=32)
def _to_wgs84(crs_wkt: str) -> Transformer:
    return Transformer.from_crs(CRS.from_wkt(crs_wkt), WGS84, always_xy=True)


def geometry_from_geojson(geometry: Any) -> BaseGeometry:
    if not isinstance(geometry, dict) or geometry.get("type") not in ("Polygon", "MultiPolygon"):
        kind = geometry.get("type") if isinstance(geometry, dict) else type(geometry).__name__
        raise GeometryProblem(f"geometry type {kind} is not a Polygon or MultiPolygon")
    rings = ([geometry.get("coordinates")] if geometry["type"] == "Polygon"
             else geometry.get("coordinates"))
    _check_rings(rings)
    try:
        return shape(geometry)
    except (ValueError, TypeError, AttributeError, IndexError) as error:
        raise GeometryProblem(f"malformed coordinates: {error}") from error


def _check_rings(polygons: Any) -> None:
    if not isinstance(polygons, list):
        raise GeometryProblem("coordinates must be arrays of linear rings")
    for polygon in polygons:
        if not isinstance(polygon, list):
            raise GeometryProblem("coordinates must be arrays of linear rings")
        for ring in polygon:
            if not isinstance(ring, list) or len(ring) < 4:
                raise GeometryProblem("a linear ring needs at least 4 positions")
            if ring[0] != ring[-1]:
                raise GeometryProblem(f"a linear ring is not closed: it starts at {ring[0]} "
                                      f"and ends at {ring[-1]}")


def _in_range(geometry: BaseGeometry) -> bool:
    minx, miny, maxx, maxy = geometry.bounds
    return bool(-180 <= minx <= maxx <= 180 and -90 <= miny <= maxy <= 90)


def to_area_geometry(geometry: BaseGeometry, crs: CRS, max_vertices: int) -> MultiPolygon:
    """Checks in the source CRS, converts to EPSG:4326, checks again. Raises GeometryProblem."""
    if not isinstance(geometry, Polygon | MultiPolygon):
        raise GeometryProblem(f"geometry type {geometry.geom_type} is not a Polygon or "
                              "MultiPolygon")
    if geometry.is_empty:
        raise GeometryProblem("the geometry is empty")
    vertices = shapely.get_num_coordinates(geometry)
    if vertices > max_vertices:
        raise GeometryProblem(f"the geometry has {vertices} vertices; the limit is "
                              f"{max_vertices}")
    if not all(math.isfinite(v) for v in geometry.bounds):
        raise GeometryProblem("coordinates must be finite numbers")
    if crs.is_geographic and not _in_range(geometry):
        raise GeometryProblem(f"coordinates out of range for {crs_name(crs)} (longitude "
                              f"-180..180, latitude -90..90): bounds {geometry.bounds}; "
                              "name the CRS if they are projected")
    _check_valid(geometry, "")
    if not crs.equals(WGS84):
        geometry = shapely.transform(geometry, _transform(crs), interleaved=False)
        if not all(math.isfinite(v) for v in geometry.bounds) or not _in_range(geometry):
            raise GeometryProblem(f"coordinates fall outside the area of use of "
                                  f"{crs_name(crs)}")
        _check_valid(geometry, " after conversion to EPSG:4326")
    return geometry if isinstance(geometry, MultiPolygon) else MultiPolygon([geometry])


def _transform(crs: CRS) -> Any:
    transformer = _to_wgs84(crs.to_wkt())

    def apply(x: Any, y: Any) -> Any:
        return transformer.transform(x, y, errcheck=False)

    return apply


def _check_valid(geometry: BaseGeometry, when: str) -> None:
    if geometry.convex_hull.area <= 0:  # all points on a line, or one point
        raise GeometryProblem(f"the polygon is degenerate: it has no area{when}")
    if not geometry.is_valid:
        raise GeometryProblem(f"invalid polygon{when}: {shapely.is_valid_reason(geometry)}")
