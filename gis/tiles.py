"""Mapbox vector tiles straight from PostGIS (ST_AsMVT), one layer per tile.

Addresses below zoom 14 are aggregated: at most 64 x 64 points per tile, each with the
count and the most common status of its cell, so a tile over a dense town stays small.
At zoom 13 the cells are counted from the addresses; at zoom 12 and below from
`address_cells`, the z12 grid's counts kept current by triggers, because counting a million
points per request is too slow for a map.
"""

import math

from sqlalchemy import text
from sqlalchemy.orm import Session

from gis.errors import BadRequest, NotFound

EXTENT, BUFFER = 4096, 64
DETAIL_ZOOM = 14  # from here on, every address is its own feature
CELLS_PER_SIDE = 64  # below it, at most 64 x 64 aggregated points per tile
MAX_ZOOM = 22
MAX_FEATURES = 50_000  # a cap on any one tile
CELLS_ZOOM = 12  # address_cells holds this zoom's aggregation grid (migration 0007)
CELL_DEGREES = 360 / 2 ** CELLS_ZOOM / CELLS_PER_SIDE

# Every live address counted into its cell afresh, for when the trigger was off (a first load).
RECOUNT_ADDRESS_CELLS = f"""
TRUNCATE address_cells;
INSERT INTO address_cells (cx, cy, status, n, sum_lon, sum_lat)
SELECT floor(ST_X(location) / {CELL_DEGREES})::bigint,
       floor(ST_Y(location) / {CELL_DEGREES})::bigint, status,
       count(*), sum(ST_X(location)), sum(ST_Y(location))
FROM addresses WHERE NOT retired AND location IS NOT NULL GROUP BY 1, 2, 3
"""

_BOUNDS = """
WITH bounds AS (
  SELECT ST_TileEnvelope(:z, :x, :y) AS env,
         ST_Transform(ST_TileEnvelope(:z, :x, :y, margin => :margin), 4326) AS box
)
"""

# Each tile lists its features in a fixed order: its ETag is a hash of its bytes, and a
# plan that changed with the table's statistics must not change the tile.
LAYERS = {
    "addresses": _BOUNDS + """
, features AS (
  SELECT ST_AsMVTGeom(ST_Transform(a.location, 3857), b.env, :extent, :buffer) AS geom,
         a.feature_id, a.status, a.circuit_name,
         (SELECT w.status FROM work_orders w WHERE w.address_feature_id = a.feature_id
            AND w.status IN ('open', 'scheduled', 'in_progress')) AS work_order
  FROM addresses a, bounds b
  WHERE a.location && b.box AND NOT a.retired
  LIMIT :cap
)
SELECT ST_AsMVT(t, 'addresses', :extent, 'geom') FROM (
  SELECT * FROM features ORDER BY feature_id) t
""",
    # Cells are cut in degrees (cheap), and only each cell's centre is projected.
    "addresses_aggregated": _BOUNDS + """
, cells AS (
  SELECT floor(ST_X(a.location) / :cell) AS cx, floor(ST_Y(a.location) / :cell) AS cy,
         count(*) AS count, mode() WITHIN GROUP (ORDER BY a.status) AS status,
         avg(ST_X(a.location)) AS lon, avg(ST_Y(a.location)) AS lat
  FROM addresses a, bounds b
  WHERE a.location && b.box AND NOT a.retired
  GROUP BY 1, 2
  LIMIT :cap
)
SELECT ST_AsMVT(t, 'addresses', :extent, 'geom') FROM (
  SELECT ST_AsMVTGeom(ST_Transform(ST_SetSRID(ST_MakePoint(c.lon, c.lat), 4326), 3857),
                      b.env, :extent, :buffer) AS geom, c.count, c.status
  FROM cells c, bounds b ORDER BY c.cx, c.cy) t
""",
    # Sums of stored cells: 2^(12 - z) x 2^(12 - z) of them make one of this zoom's cells.
    "addresses_from_cells": _BOUNDS + """
, cells AS (
  SELECT c.cx >> :shift AS gx, c.cy >> :shift AS gy, c.status, sum(c.n) AS n,
         sum(c.sum_lon) AS sum_lon, sum(c.sum_lat) AS sum_lat
  FROM address_cells c
  WHERE c.cx BETWEEN :cx0 AND :cx1 AND c.cy BETWEEN :cy0 AND :cy1 AND c.n > 0
  GROUP BY 1, 2, 3
), merged AS (
  SELECT sum(n)::bigint AS count, (array_agg(status ORDER BY n DESC, status))[1] AS status,
         sum(sum_lon) / sum(n) AS lon, sum(sum_lat) / sum(n) AS lat
  FROM cells GROUP BY gx, gy ORDER BY gx, gy
  LIMIT :cap
)
SELECT ST_AsMVT(t, 'addresses', :extent, 'geom') FROM (
  SELECT ST_AsMVTGeom(ST_Transform(ST_SetSRID(ST_MakePoint(m.lon, m.lat), 4326), 3857),
                      b.env, :extent, :buffer) AS geom, m.count, m.status
  FROM merged m, bounds b) t
""",
    "areas": _BOUNDS + """
SELECT ST_AsMVT(t, 'areas', :extent, 'geom') FROM (
  SELECT ST_AsMVTGeom(ST_Transform(ar.geometry, 3857), b.env, :extent, :buffer) AS geom,
         ar.id, ar.name, ar.status
  FROM areas ar, bounds b WHERE ar.geometry && b.box ORDER BY ar.id LIMIT :cap) t
""",
    # Circuits have no geometry of their own here: they are drawn at the address they serve.
    "circuits": _BOUNDS + """
SELECT ST_AsMVT(t, 'circuits', :extent, 'geom') FROM (
  SELECT ST_AsMVTGeom(ST_Transform(a.location, 3857), b.env, :extent, :buffer) AS geom,
         c.feature_id, c.name, c.address_feature_id
  FROM circuits c JOIN addresses a ON a.feature_id = c.address_feature_id, bounds b
  WHERE a.location && b.box AND NOT c.retired ORDER BY c.feature_id LIMIT :cap) t
""",
}
PUBLIC_LAYERS = ("addresses", "areas", "circuits")


def check_tile(z: int, x: int, y: int) -> None:
    if not 0 <= z <= MAX_ZOOM:
        raise BadRequest(f"zoom {z} is out of range 0..{MAX_ZOOM}")
    if not (0 <= x < 2 ** z and 0 <= y < 2 ** z):
        raise BadRequest(f"tile {z}/{x}/{y} does not exist: x and y run 0..{2 ** z - 1}")


def _query_for(layer: str, z: int) -> str:
    if layer != "addresses" or z >= DETAIL_ZOOM:
        return layer
    return "addresses_from_cells" if z <= CELLS_ZOOM else "addresses_aggregated"


def _cell_range(z: int, x: int, y: int) -> dict[str, int]:
    """The stored cells under the tile and its buffer, as index ranges."""
    def lon(tx: float) -> float:
        return tx / 2.0 ** z * 360 - 180

    def lat(ty: float) -> float:
        return math.degrees(math.atan(math.sinh(math.pi * (1 - 2 * ty / 2 ** z))))

    margin = BUFFER / EXTENT
    west, east = lon(x - margin), lon(x + 1 + margin)
    north, south = lat(max(y - margin, 0)), lat(min(y + 1 + margin, 2 ** z))
    return {"cx0": math.floor(west / CELL_DEGREES), "cx1": math.floor(east / CELL_DEGREES),
            "cy0": math.floor(south / CELL_DEGREES), "cy1": math.floor(north / CELL_DEGREES),
            "shift": CELLS_ZOOM - z}


def tile(session: Session, layer: str, z: int, x: int, y: int) -> bytes:
    """The tile's bytes (empty when nothing is there)."""
    if layer not in PUBLIC_LAYERS:
        raise NotFound(f"no layer {layer!r}; one of {', '.join(PUBLIC_LAYERS)}")
    check_tile(z, x, y)
    query = _query_for(layer, z)
    params = {"z": z, "x": x, "y": y, "margin": BUFFER / EXTENT, "extent": EXTENT,
              "buffer": BUFFER, "cap": MAX_FEATURES, "cell": 360 / 2 ** z / CELLS_PER_SIDE}
    if query == "addresses_from_cells":
        params.update(_cell_range(z, x, y))
    data = session.execute(text(LAYERS[query]), params).scalar()
    return bytes(data or b"")
