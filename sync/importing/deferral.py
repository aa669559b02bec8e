"""What a first load puts off until its rows are in: the secondary indexes and the map's cell
counts, built once at the end instead of row by row.

Each is recorded in `deferred_indexes` as it is put off and deleted in the transaction that
does it, so a run that dies leaves the record and the next run finishes the job first.
"""

from concurrent.futures import ThreadPoolExecutor
from functools import partial
from typing import LiteralString, cast

import psycopg
from psycopg import Connection, sql
from psycopg.conninfo import make_conninfo

from gis.tiles import RECOUNT_ADDRESS_CELLS

Conn = Connection[tuple[object, ...]]

# The secondary indexes of a table (not its primary key or unique constraints, which the
# merge needs), recorded as they are dropped.
DEFER_INDEXES = """
INSERT INTO deferred_indexes (index_name, table_name, definition)
SELECT i.indexname, i.tablename, i.indexdef
FROM pg_indexes i
JOIN pg_index x ON x.indexrelid = format('%%I.%%I', i.schemaname, i.indexname)::regclass
WHERE i.schemaname = current_schema() AND i.tablename = %(table)s AND NOT x.indisunique
ON CONFLICT (index_name) DO NOTHING
RETURNING index_name
"""

# The map's cell counts (migration 0007) are kept by a trigger on every insert. A first
# load turns it off and counts every cell once at the end: a third of the cost of writing
# the addresses, measured. The recount is recorded like an index (the trigger is turned on
# again before it: a run that dies after that leaves the record, and the next run's
# recount starts the cells afresh).
CELLS_TRIGGER = "address_cells_insert"
ENABLE_CELLS_TRIGGER = f"ALTER TABLE addresses ENABLE TRIGGER {CELLS_TRIGGER}"

PENDING = """
SELECT index_name, definition LIKE 'ALTER TABLE %%' FROM deferred_indexes
WHERE %(table)s::text IS NULL OR table_name = %(table)s::text
ORDER BY index_name
"""
TAKE = "DELETE FROM deferred_indexes WHERE index_name = %(name)s RETURNING definition"

# Index builds (and the cell recount) side by side, each on a connection of its own and
# without PostgreSQL's parallel workers: on two cores the six builds of a million addresses
# took 4.6 s so, against 6.3 s one after another with the workers.
MAX_BUILDS_AT_ONCE = 4
BUILD_SETTINGS = "SET maintenance_work_mem = '128MB'; SET max_parallel_maintenance_workers = 0"


def defer_indexes_if_empty(conn: Conn, table: str) -> bool:
    """Drop the secondary indexes of an empty table before a first load, recording them.

    Maintaining six indexes (two GiST, three on expressions) row by row made the first
    load of addresses five times slower than building them once at the end. Returns
    whether the table was empty."""
    assert table in ("addresses", "circuits")
    empty = conn.execute(sql.SQL("SELECT NOT EXISTS (SELECT 1 FROM {})").format(
        sql.Identifier(table))).fetchone() == (True,)
    if not empty:
        return False
    deferred = conn.execute(DEFER_INDEXES, {"table": table}).fetchall()
    for (name,) in deferred:
        conn.execute(sql.SQL("DROP INDEX {}").format(sql.Identifier(str(name))))
    return True


def defer_cell_counts(conn: Conn) -> None:
    """Turn the address cell trigger off until `restore`; for a first load only."""
    conn.execute("INSERT INTO deferred_indexes (index_name, table_name, definition)"
                 " VALUES (%s, 'addresses', %s) ON CONFLICT (index_name) DO NOTHING",
                 (CELLS_TRIGGER, RECOUNT_ADDRESS_CELLS))
    conn.execute(f"ALTER TABLE addresses DISABLE TRIGGER {CELLS_TRIGGER}")


def restore(conn: Conn, table: str | None = None, analyze: str | None = None) -> None:
    """Do what was deferred for `table` (every table when None), by this run or by one that
    died before it could; commits `conn`, then each build commits on its own. `analyze`: a
    table (not one being indexed: ANALYZE would wait for the builds) whose statistics are
    gathered beside them.

    The cell trigger is turned on first, on `conn`, and committed: its ALTER TABLE would
    wait for the builds. So would a recount recorded with its ALTER TABLE (as older versions
    recorded it), which goes on `conn` too."""
    pending = conn.execute(PENDING, {"table": table}).fetchall()
    if any(name == CELLS_TRIGGER for name, _ in pending):
        conn.execute(ENABLE_CELLS_TRIGGER)
    movable = [str(name) for name, alters in pending if not alters]
    apart = movable if len(movable) + (analyze is not None) > 1 else []
    conn.execute("SET LOCAL maintenance_work_mem = '256MB'")
    for name, _ in pending:
        if name not in apart:
            _take_and_do(conn, str(name))
    if analyze and not apart:
        conn.execute(sql.SQL("ANALYZE {}").format(sql.Identifier(analyze)))
    conn.commit()
    if apart:
        conninfo = make_conninfo(conn.info.dsn, password=conn.info.password)
        jobs = [partial(_build_apart, conninfo, name) for name in apart]
        if analyze:
            jobs.append(partial(_analyze_apart, conninfo, analyze))
        with ThreadPoolExecutor(min(len(jobs), MAX_BUILDS_AT_ONCE)) as builders:
            list(builders.map(lambda job: job(), jobs))


def _take_and_do(conn: Conn, name: str) -> None:
    row = conn.execute(TAKE, {"name": name}).fetchone()
    if row:
        # An index definition as PostgreSQL wrote it, or the recount: never user input.
        conn.execute(cast(LiteralString, row[0]))


def _analyze_apart(conninfo: str, table: str) -> None:
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute(sql.SQL("ANALYZE {}").format(sql.Identifier(table)))


def _build_apart(conninfo: str, name: str) -> None:
    with psycopg.connect(conninfo) as conn:  # commits as it closes
        conn.execute(BUILD_SETTINGS)
        _take_and_do(conn, name)
