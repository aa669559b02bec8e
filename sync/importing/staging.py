"""Session-local staging tables, filled with binary COPY."""

from collections.abc import Sequence
from operator import itemgetter
from typing import LiteralString

import numpy as np
from psycopg import Connection

from sync.importing.features import FEATURE_ID, AddressRow, CircuitRow

Conn = Connection[tuple[object, ...]]

CREATE_STAGING = """
CREATE TEMP TABLE IF NOT EXISTS stage_addresses (
    feature_id bigint, name text, street_number text, street_name text, city text,
    postcode text, building text, lon float8, lat float8, gis_attributes jsonb,
    content_hash bigint
) ON COMMIT DELETE ROWS;
CREATE TEMP TABLE IF NOT EXISTS stage_circuits (
    feature_id bigint, name text, address_ref text, address_feature_id bigint,
    properties jsonb, content_hash bigint
) ON COMMIT DELETE ROWS;
CREATE TEMP TABLE IF NOT EXISTS seen_addresses (feature_id bigint, content_hash bigint);
CREATE TEMP TABLE IF NOT EXISTS seen_circuits (feature_id bigint, content_hash bigint);
CREATE TEMP TABLE IF NOT EXISTS circuit_changes (
    feature_id bigint, old_address bigint, new_address bigint
);
TRUNCATE seen_addresses, seen_circuits, circuit_changes;
"""

# Properties (a circuit's, an address's gis_attributes) are sent as bytes already in
# jsonb's binary form.
_ADDRESS_TYPES = ["int8", "text", "text", "text", "text", "text", "text", "float8", "float8",
                  "bytea", "int8"]
_CIRCUIT_TYPES = ["int8", "text", "text", "int8", "bytea", "int8"]


def create_staging(conn: Conn) -> None:
    conn.execute(CREATE_STAGING)


def copy_addresses(conn: Conn, rows: Sequence[AddressRow]) -> None:
    _copy_rows(conn, "COPY stage_addresses FROM STDIN (FORMAT binary)", _ADDRESS_TYPES, rows)


def copy_circuits(conn: Conn, rows: Sequence[CircuitRow]) -> None:
    _copy_rows(conn, "COPY stage_circuits FROM STDIN (FORMAT binary)", _CIRCUIT_TYPES, rows)


def copy_new_circuits(conn: Conn, rows: list[CircuitRow]) -> None:
    """COPY circuits straight into their table, in id order (sorting `rows`): for a first
    load, where staging and merging cost a third more. A circuit already in the table fails
    the COPY with UniqueViolation."""
    rows.sort(key=itemgetter(FEATURE_ID))
    _copy_rows(conn, "COPY circuits (feature_id, name, address_ref, address_feature_id,"
               " properties, content_hash) FROM STDIN (FORMAT binary)", _CIRCUIT_TYPES, rows)


def _copy_rows(conn: Conn, statement: LiteralString, types: list[str],
               rows: Sequence[AddressRow | CircuitRow]) -> None:
    with conn.cursor().copy(statement) as copy:
        copy.set_types(types)
        for row in rows:
            copy.write_row(row)


# A binary COPY row of two non-null BIGINTs, built by numpy in one go.
_SEEN_ROW = np.dtype([("fields", ">i2"), ("len1", ">i4"), ("id", ">i8"), ("len2", ">i4"),
                      ("hash", ">i8")])
_COPY_HEADER = b"PGCOPY\n\xff\r\n\x00" + b"\x00" * 8
_COPY_TRAILER = b"\xff\xff"


def copy_seen(conn: Conn, table: str, ids: np.ndarray, hashes: np.ndarray,
              rejected_ids: Sequence[int]) -> None:
    """Record the ids read in this scan; a rejected feature that has an id gets a NULL hash."""
    assert table in ("seen_addresses", "seen_circuits")
    rows = np.zeros(len(ids), dtype=_SEEN_ROW)
    rows["fields"], rows["len1"], rows["len2"] = 2, 8, 8
    rows["id"], rows["hash"] = ids, hashes
    with conn.cursor().copy(f"COPY {table} FROM STDIN (FORMAT binary)") as copy:
        copy.write(_COPY_HEADER + rows.tobytes() + _COPY_TRAILER)
    if rejected_ids:
        with conn.cursor().copy(f"COPY {table} (feature_id) FROM STDIN") as copy:
            for fid in rejected_ids:
                copy.write_row((fid,))
