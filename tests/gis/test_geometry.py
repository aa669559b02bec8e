"""Area geometry: converted from the CRS it was sent in, or refused with the reason."""

import math

import pytest
from shapely.geometry import Polygon

from gis.geometry import GeometryProblem, geometry_from_geojson, parse_crs, to_area_geometry

WGS84 = parse_crs(None)
R = 6378137.0  # Web Mercator sphere


def mercator(lon, lat):
    """EPSG:3857 from its defining formula, independent of pyproj."""
    return (R * math.radians(lon), R * math.log(math.tan(math.pi / 4 + math.radians(lat) / 2)))


def square(x0, y0, size):
    return Polygon([(x0, y0), (x0 + size, y0), (x0 + size, y0 + size), (x0, y0 + size)])


def test_web_mercator_lands_where_the_formula_says():
    x, y = mercator(0.1234, 52.2)
    area = to_area_geometry(square(x, y, 100), parse_crs("EPSG:3857"), 1000)
    west, south, _, _ = area.bounds
    assert west == pytest.approx(0.1234, abs=1e-9)
    assert south == pytest.approx(52.2, abs=1e-9)


def test_british_national_grid_true_origin_is_49n_2w():
    # OSGB36's true origin is (400000, -100000); WGS84 differs from OSGB36 by < 150 m there.
    area = to_area_geometry(square(400000, -100000, 10), parse_crs("EPSG:27700"), 1000)
    west, south, _, _ = area.bounds
    assert west == pytest.approx(-2.0, abs=0.003)
    assert south == pytest.approx(49.0, abs=0.003)


def test_ogc_urn_and_crs84_are_understood():
    assert parse_crs("urn:ogc:def:crs:EPSG::25832").to_epsg() == 25832
    assert parse_crs("http://www.opengis.net/def/crs/OGC/1.3/CRS84").is_geographic


@pytest.mark.parametrize(("geometry", "message"), [
    ({"type": "Point", "coordinates": [0, 0]}, "not a Polygon"),
    ({"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [1, 1], [0, 1]]]}, "not closed"),
    ({"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [0, 0]]]}, "at least 4"),
    ({"type": "Polygon", "coordinates": "nonsense"}, "linear rings"),
])
def test_malformed_geojson_is_refused(geometry, message):
    with pytest.raises(GeometryProblem, match=message):
        geometry_from_geojson(geometry)


@pytest.mark.parametrize(("coordinates", "message"), [
    ([[0, 0], [1, 1], [1, 0], [0, 1], [0, 0]], "Self-intersection"),
    ([[0, 0], [1, 1], [2, 2], [0, 0]], "degenerate"),
    ([[170, 0], [190, 0], [190, 1], [170, 1], [170, 0]], "out of range"),
])
def test_bad_polygons_are_refused_with_the_reason(coordinates, message):
    geometry = geometry_from_geojson({"type": "Polygon", "coordinates": [coordinates]})
    with pytest.raises(GeometryProblem, match=message):
        to_area_geometry(geometry, WGS84, 1000)


def test_empty_polygon_is_refused():
    with pytest.raises(GeometryProblem, match="empty"):
        to_area_geometry(Polygon(), WGS84, 1000)


def test_vertex_limit():
    ring = [(math.cos(a / 50 * math.tau), math.sin(a / 50 * math.tau)) for a in range(50)]
    with pytest.raises(GeometryProblem, match="51 vertices; the limit is 20"):
        to_area_geometry(Polygon(ring), WGS84, 20)


def test_unknown_crs_is_refused():
    with pytest.raises(GeometryProblem, match="unknown CRS 'EPSG:999999'"):
        parse_crs("EPSG:999999")


def test_projected_coordinates_sent_as_wgs84_are_refused_with_a_hint():
    with pytest.raises(GeometryProblem, match="name the CRS"):
        to_area_geometry(square(544000, 258000, 100), WGS84, 1000)
