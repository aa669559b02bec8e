"""Mapbox vector tiles straight from PostGIS (ST_AsMVT), one layer per tile.

Addresses below zoom 14 are aggregated: at most 64 x 64 points per tile, each with the
count and the most common status of its cell, so a tile over a dense town stays small.
"""

from sqlalchemy import text
from sqlalchemy.orm import Session

from gis.errors import BadRequest, NotFound

EXTENT, BUFFER = 4096, 64
DETAIL_ZOOM = 14  # from here on, every address is its own feature
CELLS_PER_SIDE = 64  # below it, at most 64 x 64 aggregated points per tile
MAX_ZOOM = 22
MAX_FEATURES = 50_000  # a cap on any one tile

_BOUNDS = """
WITH bounds AS (
  SELECT ST_TileEnvelope(:z, :x, :y) AS env,
         ST_Transform(ST_TileEnvelope(:z, :x, :y, margin => :margin), 4326) AS box
)
"""

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
SELECT ST_AsMVT(t, 'addresses', :extent, 'geom') FROM (SELECT * FROM features) t
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
  FROM cells c, bounds b) t
""",
    "areas": _BOUNDS + """
SELECT ST_AsMVT(t, 'areas', :extent, 'geom') FROM (
  SELECT ST_AsMVTGeom(ST_Transform(ar.geometry, 3857), b.env, :extent, :buffer) AS geom,
         ar.id, ar.name, ar.status
  FROM areas ar, bounds b WHERE ar.geometry && b.box LIMIT :cap) t
""",
    # Circuits have no geometry of their own here: they are drawn at the address they serve.
    "circuits": _BOUNDS + """
SELECT ST_AsMVT(t, 'circuits', :extent, 'geom') FROM (
  SELECT ST_AsMVTGeom(ST_Transform(a.location, 3857), b.env, :extent, :buffer) AS geom,
         c.feature_id, c.name, c.address_feature_id
  FROM circuits c JOIN addresses a ON a.feature_id = c.address_feature_id, bounds b
  WHERE a.location && b.box AND NOT c.retired LIMIT :cap) t
""",
}
PUBLIC_LAYERS = ("addresses", "areas", "circuits")


def check_tile(z: int, x: int, y: int) -> None:
    if not 0 <= z <= MAX_ZOOM:
        raise BadRequest(f"zoom {z} is out of range 0..{MAX_ZOOM}")
    if not (0 <= x < 2 ** z and 0 <= y < 2 ** z):
        raise BadRequest(f"tile {z}/{x}/{y} does not exist: x and y run 0..{2 ** z - 1}")


def tile(session: Session, layer: str, z: int, x: int, y: int) -> bytes:
    """The tile's bytes (empty when nothing is there)."""
    if layer not in PUBLIC_LAYERS:
        raise NotFound(f"no layer {layer!r}; one of {', '.join(PUBLIC_LAYERS)}")
    check_tile(z, x, y)
    query = "addresses_aggregated" if layer == "addresses" and z < DETAIL_ZOOM else layer
    margin = BUFFER / EXTENT
    data = session.execute(text(LAYERS[query]), {
        "z": z, "x": x, "y": y, "margin": margin, "extent": EXTENT, "buffer": BUFFER,
        "cap": MAX_FEATURES, "cell": 360 / 2 ** z / CELLS_PER_SIDE}).scalar()
    return bytes(data or b"")
