"""map: live counts of addresses per small cell and status for low-zoom tiles, and a
NOTIFY on every change to mapped data for the tile cache

A z10 tile over a dense region covers a million addresses; aggregating them per request
takes a second. The cells (360 / 2^12 / 64 degrees a side, the z12 tile's aggregation grid)
are kept current by statement-level triggers on addresses, so a low-zoom tile sums a few
thousand cell rows instead.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-28 13:40:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = '0007'
down_revision: str | None = '0006'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

CELL_DEGREES = 360 / 2 ** 12 / 64  # gis.tiles.CELL_DEGREES

_ADDED = "SELECT location, status, 1 AS sign FROM new_rows WHERE NOT retired"
_REMOVED = "SELECT location, status, -1 AS sign FROM old_rows WHERE NOT retired"
# Each trigger sees only its own transition tables, so each gets its own function.
CHANGES = {"insert": _ADDED, "update": f"{_ADDED} UNION ALL {_REMOVED}", "delete": _REMOVED}
# Changes are summed per cell, then applied in key order, so concurrent writers take the
# cell rows' locks in the same order and cannot deadlock on them.
APPLY = f"""per_cell AS (
        SELECT floor(ST_X(location) / {CELL_DEGREES})::bigint AS cx,
               floor(ST_Y(location) / {CELL_DEGREES})::bigint AS cy, status,
               sum(sign) AS n, sum(sign * ST_X(location)) AS sum_lon,
               sum(sign * ST_Y(location)) AS sum_lat
        FROM changes WHERE location IS NOT NULL GROUP BY 1, 2, 3
        HAVING sum(sign) <> 0 OR sum(sign * ST_X(location)) <> 0
            OR sum(sign * ST_Y(location)) <> 0
      )
      INSERT INTO address_cells AS c (cx, cy, status, n, sum_lon, sum_lat)
      SELECT * FROM per_cell ORDER BY cx, cy, status
      ON CONFLICT (cx, cy, status) DO UPDATE
        SET n = c.n + excluded.n, sum_lon = c.sum_lon + excluded.sum_lon,
            sum_lat = c.sum_lat + excluded.sum_lat"""

MAPPED_TABLES = ("addresses", "work_orders", "circuits", "areas")

UPGRADE = [
    """CREATE TABLE address_cells (
         cx bigint NOT NULL, cy bigint NOT NULL, status text NOT NULL,
         n bigint NOT NULL, sum_lon float8 NOT NULL, sum_lat float8 NOT NULL,
         CONSTRAINT pk_address_cells PRIMARY KEY (cx, cy, status))""",
    *[f"""CREATE FUNCTION address_cells_{op_name}() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      WITH changes AS ({changes}), {APPLY};
      RETURN NULL;
    END $$""" for op_name, changes in CHANGES.items()],
    """CREATE TRIGGER address_cells_insert AFTER INSERT ON addresses
       REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT
       EXECUTE FUNCTION address_cells_insert()""",
    """CREATE TRIGGER address_cells_update AFTER UPDATE ON addresses
       REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT
       EXECUTE FUNCTION address_cells_update()""",
    """CREATE TRIGGER address_cells_delete AFTER DELETE ON addresses
       REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT
       EXECUTE FUNCTION address_cells_delete()""",
    # TRUNCATE fires no row triggers: empty the cells with it.
    """CREATE FUNCTION address_cells_truncate() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN TRUNCATE address_cells; RETURN NULL; END $$""",
    """CREATE TRIGGER address_cells_truncate AFTER TRUNCATE ON addresses
       FOR EACH STATEMENT EXECUTE FUNCTION address_cells_truncate()""",
    f"""INSERT INTO address_cells (cx, cy, status, n, sum_lon, sum_lat)
        SELECT floor(ST_X(location) / {CELL_DEGREES})::bigint,
               floor(ST_Y(location) / {CELL_DEGREES})::bigint, status,
               count(*), sum(ST_X(location)), sum(ST_Y(location))
        FROM addresses WHERE NOT retired AND location IS NOT NULL GROUP BY 1, 2, 3""",
    # Delivered at commit, once per transaction: the API's tile caches drop their tiles.
    """CREATE FUNCTION notify_map_change() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN PERFORM pg_notify('fibersync_map', ''); RETURN NULL; END $$""",
    *[f"""CREATE TRIGGER {table}_map_change
          AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON {table}
          FOR EACH STATEMENT EXECUTE FUNCTION notify_map_change()""" for table in MAPPED_TABLES],
]

DOWNGRADE = [
    *[f"DROP TRIGGER {table}_map_change ON {table}" for table in MAPPED_TABLES],
    "DROP FUNCTION notify_map_change()",
    "DROP TRIGGER address_cells_truncate ON addresses",
    "DROP FUNCTION address_cells_truncate()",
    "DROP TRIGGER address_cells_delete ON addresses",
    "DROP TRIGGER address_cells_update ON addresses",
    "DROP TRIGGER address_cells_insert ON addresses",
    "DROP FUNCTION address_cells_insert()",
    "DROP FUNCTION address_cells_update()",
    "DROP FUNCTION address_cells_delete()",
    "DROP TABLE address_cells",
]


def upgrade() -> None:
    for statement in UPGRADE:
        op.execute(statement)


def downgrade() -> None:
    for statement in DOWNGRADE:
        op.execute(statement)
