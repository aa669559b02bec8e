"""Session-local staging tables, filled with binary COPY."""

from collections.abc import Iterable, Sequence

from psycopg import Connection

from sync.importing.features import AddressRow, CircuitRow

Conn = Connection[tuple[object, ...]]

CREATE_STAGING = """
CREATE TEMP TABLE IF NOT EXISTS stage_addresses (
    feature_id bigint, name text, street_number text, street_name text, city text,
    postcode text, building text, lon float8, lat float8, gis_attributes text,
    content_hash bigint
) ON COMMIT DELETE ROWS;
CREATE TEMP TABLE IF NOT EXISTS stage_circuits (
    feature_id bigint, name text, address_ref text, address_feature_id bigint,
    properties text, content_hash bigint
) ON COMMIT DELETE ROWS;
CREATE TEMP TABLE IF NOT EXISTS seen_addresses (feature_id bigint, content_hash bigint);
CREATE TEMP TABLE IF NOT EXISTS seen_circuits (feature_id bigint, content_hash bigint);
CREATE TEMP TABLE IF NOT EXISTS affected_addresses (feature_id bigint);
TRUNCATE seen_addresses, seen_circuits, affected_addresses;
"""

_ADDRESS_TYPES = ["int8", "text", "text", "text", "text", "text", "text", "float8", "float8",
                  "text", "int8"]
_CIRCUIT_TYPES = ["int8", "text", "text", "int8", "text", "int8"]


def create_staging(conn: Conn) -> None:
    conn.execute(CREATE_STAGING)


def copy_addresses(conn: Conn, rows: Sequence[AddressRow]) -> None:
    with conn.cursor().copy("COPY stage_addresses FROM STDIN (FORMAT binary)") as copy:
        copy.set_types(_ADDRESS_TYPES)
        for r in rows:
            copy.write_row((r.feature_id, *r.texts, r.lon, r.lat, r.gis_attributes,
                            r.content_hash))


def copy_circuits(conn: Conn, rows: Sequence[CircuitRow]) -> None:
    with conn.cursor().copy("COPY stage_circuits FROM STDIN (FORMAT binary)") as copy:
        copy.set_types(_CIRCUIT_TYPES)
        for r in rows:
            copy.write_row((r.feature_id, r.name, r.address_ref, r.address_feature_id,
                            r.properties, r.content_hash))


def copy_seen(conn: Conn, table: str, pairs: Iterable[tuple[int, int | None]]) -> None:
    """Record the ids read in this scan (hash None for a rejected feature that has an id)."""
    assert table in ("seen_addresses", "seen_circuits")
    with conn.cursor().copy(f"COPY {table} FROM STDIN (FORMAT binary)") as copy:
        copy.set_types(["int8", "int8"])
        for pair in pairs:
            copy.write_row(pair)
