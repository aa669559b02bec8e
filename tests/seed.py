"""Test data written straight to the database, set-based."""

import json
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

# A grid of addresses: column i, row j at (LON0 + i * STEP, LAT0 + j * STEP).
LON0, LAT0, STEP = 0.1, 52.1, 0.001


def add_addresses(session: Session, count: int, *, first_id: int = 1, columns: int = 100,
                  status: str = "planned", building_every: int = 0,
                  attributes: dict[str, Any] | None = None) -> None:
    """`count` addresses on the grid from `first_id`; every `building_every`-th one is a
    flat in a block (a non-empty `building`)."""
    session.execute(text("""
        INSERT INTO addresses (feature_id, name, street_name, building, location, status,
                               content_hash, gis_attributes)
        SELECT :first + n, 'House ' || n, 'Test Street',
               CASE WHEN :every > 0 AND n % :every = 0 THEN 'Block ' || n ELSE '' END,
               ST_SetSRID(ST_MakePoint(:lon0 + (n % :cols) * :step,
                                       :lat0 + (n / :cols) * :step), 4326),
               :status, n, CAST(:attributes AS jsonb)
        FROM generate_series(0, :count - 1) AS n
    """), {"first": first_id, "every": building_every, "lon0": LON0, "lat0": LAT0,
           "step": STEP, "cols": columns, "status": status, "count": count,
           "attributes": json.dumps(attributes or {})})


def grid_box(first_col: int, first_row: int, last_col: int, last_row: int) -> dict[str, Any]:
    """A GeoJSON Polygon around grid cells first..last (inclusive), half a step outside."""
    west, east = LON0 + (first_col - 0.5) * STEP, LON0 + (last_col + 0.5) * STEP
    south, north = LAT0 + (first_row - 0.5) * STEP, LAT0 + (last_row + 0.5) * STEP
    return {"type": "Polygon", "coordinates": [[[west, south], [east, south], [east, north],
                                                [west, north], [west, south]]]}


def add_area(session: Session, polygon: dict[str, Any], name: str = "Test area",
             status: str = "surveyed") -> int:
    return int(session.execute(text("""
        INSERT INTO areas (name, status, geometry, created_by)
        VALUES (:name, :status, ST_Multi(ST_SetSRID(ST_GeomFromGeoJSON(:geometry), 4326)),
                'test')
        RETURNING id
    """), {"name": name, "status": status,
           "geometry": json.dumps(polygon)}).scalar_one())
