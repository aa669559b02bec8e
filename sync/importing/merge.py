"""Set-based merges from the staging tables into addresses and circuits.

Every statement writes only rows whose content changed, so a second run of the same data
writes nothing and moves no `updated_at`. Circuits are merged before addresses, so a new or
changed address gets its Circuit property in the same statement that writes it.
"""

from dataclasses import dataclass
from typing import LiteralString

from psycopg import Connection
from psycopg.errors import UniqueViolation

from sync.importing import staging
from sync.importing.features import CircuitRow

Conn = Connection[tuple[object, ...]]

# Written only when the content changed.
UPSERT_CIRCUITS = """
WITH before AS (
    SELECT c.feature_id, CASE WHEN c.retired THEN NULL ELSE c.address_feature_id END AS address
    FROM circuits c JOIN stage_circuits s USING (feature_id)
), merged AS (
    INSERT INTO circuits AS c (feature_id, name, address_ref, address_feature_id, properties,
        content_hash)
    SELECT feature_id, name, address_ref, address_feature_id, properties, content_hash
    FROM stage_circuits
    ON CONFLICT (feature_id) DO UPDATE SET
        name = EXCLUDED.name, address_ref = EXCLUDED.address_ref,
        address_feature_id = EXCLUDED.address_feature_id, properties = EXCLUDED.properties,
        content_hash = EXCLUDED.content_hash, last_seen_at = now(), updated_at = now(),
        retired = false, retired_at = NULL
    WHERE %(force)s OR c.content_hash IS DISTINCT FROM EXCLUDED.content_hash OR c.retired
    RETURNING c.feature_id, c.address_feature_id
), changes AS (
    INSERT INTO circuit_changes (feature_id, old_address, new_address)
    SELECT m.feature_id, b.address, m.address_feature_id
    FROM merged m LEFT JOIN before b USING (feature_id)
)
SELECT count(*) FROM merged
"""

# The Circuit property of an address is its lowest-numbered live circuit: looked up per
# staged address, or, when every address is new, in a list of all of them made once. Both
# are index lookups in feature id order: a hash join would read the whole list once per
# batch, 40 times in a million-address load. The list is keyed by address, so a plain join
# does (see FIRST_CIRCUIT_BY_INDEX); a LATERAL subquery with LIMIT cost 3.6 us a row more.
FIRST_CIRCUIT_LOOKUP = """LEFT JOIN LATERAL (
        SELECT c.feature_id, c.name FROM circuits c
        WHERE c.address_feature_id = s.feature_id AND NOT c.retired
        ORDER BY c.feature_id LIMIT 1
    ) first_circuit ON true"""
FIRST_CIRCUIT_JOIN = """LEFT JOIN first_circuits first_circuit
        ON first_circuit.address_feature_id = s.feature_id"""
# For the rest of the batch's transaction: the join above as a nested loop over the index.
FIRST_CIRCUIT_BY_INDEX = "SET LOCAL enable_hashjoin = off; SET LOCAL enable_mergejoin = off"
LIST_FIRST_CIRCUITS = """
CREATE TEMP TABLE IF NOT EXISTS first_circuits (
    address_feature_id bigint PRIMARY KEY, feature_id bigint, name text
);
TRUNCATE first_circuits;
INSERT INTO first_circuits
SELECT DISTINCT ON (address_feature_id) address_feature_id, feature_id, name
FROM circuits WHERE NOT retired AND address_feature_id IS NOT NULL
ORDER BY address_feature_id, feature_id;
ANALYZE first_circuits;
"""

ADDRESS_COLUMNS = """feature_id, name, street_number, street_name, city, postcode,
        building, location, gis_attributes, content_hash, circuit_id, circuit_name"""
STAGED_ADDRESSES = """SELECT s.feature_id, s.name, s.street_number, s.street_name, s.city,
           s.postcode, s.building, ST_SetSRID(ST_MakePoint(s.lon, s.lat), 4326),
           s.gis_attributes, s.content_hash, first_circuit.feature_id, first_circuit.name
    FROM (SELECT * FROM stage_addresses ORDER BY feature_id) s"""

UPSERT_ADDRESSES = f"""
WITH merged AS (
    INSERT INTO addresses AS a ({ADDRESS_COLUMNS})
    {STAGED_ADDRESSES}
    {FIRST_CIRCUIT_LOOKUP}
    ON CONFLICT (feature_id) DO UPDATE SET
        name = EXCLUDED.name, street_number = EXCLUDED.street_number,
        street_name = EXCLUDED.street_name, city = EXCLUDED.city, postcode = EXCLUDED.postcode,
        building = EXCLUDED.building, location = EXCLUDED.location,
        gis_attributes = EXCLUDED.gis_attributes, content_hash = EXCLUDED.content_hash,
        circuit_id = EXCLUDED.circuit_id, circuit_name = EXCLUDED.circuit_name,
        last_seen_at = now(), updated_at = now(), retired = false, retired_at = NULL
    WHERE %(force)s OR a.content_hash IS DISTINCT FROM EXCLUDED.content_hash OR a.retired
    RETURNING (xmax = 0) AS inserted
)
SELECT count(*) FILTER (WHERE inserted), count(*) FILTER (WHERE NOT inserted) FROM merged
"""

INSERT_ADDRESSES = f"""INSERT INTO addresses ({ADDRESS_COLUMNS})
    {STAGED_ADDRESSES}
    {FIRST_CIRCUIT_JOIN}"""

# Addresses that come back after being retired get their return recorded.
RECORD_UNRETIRED = """
INSERT INTO status_transitions (entity_type, entity_id, from_status, to_status, actor, reason)
SELECT 'address', a.feature_id::text, 'retired', a.status, %(actor)s, 'reappeared in IQGeo'
FROM stage_addresses s JOIN addresses a USING (feature_id)
WHERE a.retired
"""

RETIRE_ADDRESSES = """
WITH retired AS (
    UPDATE addresses a SET retired = true, retired_at = now(), updated_at = now()
    WHERE a.feature_id = ANY(%(vanished)s) AND NOT a.retired
    RETURNING a.feature_id, a.status
), audit AS (
    INSERT INTO status_transitions (entity_type, entity_id, from_status, to_status, actor,
                                    reason)
    SELECT 'address', feature_id::text, status, 'retired', %(actor)s, 'vanished from IQGeo'
    FROM retired
)
SELECT count(*) FROM retired
"""

RETIRE_CIRCUITS = """
WITH retired AS (
    UPDATE circuits c SET retired = true, retired_at = now(), updated_at = now()
    WHERE c.feature_id = ANY(%(vanished)s) AND NOT c.retired
    RETURNING c.feature_id, c.address_feature_id
)
INSERT INTO circuit_changes (feature_id, old_address, new_address)
SELECT feature_id, address_feature_id, NULL FROM retired
"""

# Only addresses named by a changed circuit (before or after the change) can need a new
# Circuit property; addresses written in this run already got theirs when written.
UPDATE_CIRCUIT_PROPERTY = """
WITH affected AS (
    SELECT old_address AS feature_id FROM circuit_changes WHERE old_address IS NOT NULL
    UNION
    SELECT new_address FROM circuit_changes WHERE new_address IS NOT NULL
), first_circuit AS (
    SELECT DISTINCT ON (c.address_feature_id) c.address_feature_id, c.feature_id, c.name
    FROM circuits c
    WHERE NOT c.retired AND c.address_feature_id IN (SELECT feature_id FROM affected)
    ORDER BY c.address_feature_id, c.feature_id
)
UPDATE addresses a SET circuit_id = f.feature_id, circuit_name = f.name, updated_at = now()
FROM affected t LEFT JOIN first_circuit f ON f.address_feature_id = t.feature_id
WHERE a.feature_id = t.feature_id
  AND (a.circuit_id, a.circuit_name) IS DISTINCT FROM (f.feature_id, f.name)
"""

# A join rather than EXISTS per change: a first load counts a million links in one hash join.
LINK_COUNTS = """
SELECT count(*) FILTER (WHERE ch.new_address IS NOT NULL AND a.feature_id IS NOT NULL),
       count(*) FILTER (WHERE ch.old_address IS NOT NULL)
FROM circuit_changes ch
LEFT JOIN addresses a ON a.feature_id = ch.new_address AND NOT a.retired
WHERE ch.old_address IS DISTINCT FROM ch.new_address
"""

ORPHAN_CIRCUITS = """
SELECT c.feature_id, c.address_ref, c.address_feature_id IS NOT NULL FROM circuits c
WHERE NOT c.retired AND c.address_ref IS NOT NULL
  AND NOT EXISTS (SELECT 1 FROM addresses a
                  WHERE a.feature_id = c.address_feature_id AND NOT a.retired)
ORDER BY c.feature_id
"""

# min <> max: the same answer as count(DISTINCT) > 1, by hashing instead of sorting.
CONFLICTING_DUPLICATES = """
SELECT feature_id FROM {table} WHERE content_hash IS NOT NULL
GROUP BY feature_id HAVING min(content_hash) <> max(content_hash) ORDER BY feature_id
"""


@dataclass
class LinkCounts:
    linked: int
    unlinked: int


@dataclass
class Merged:
    inserted: int
    updated: int
    all_new: bool  # written by plain INSERTs: no staged id was in the table already


def _count(conn: Conn, query: str, params: dict[str, object] | None = None) -> int:
    row = conn.execute(query, params).fetchone()
    return int(row[0]) if row else 0  # type: ignore[call-overload]


def _insert_new(conn: Conn, statement: LiteralString) -> int | None:
    """Rows inserted by a plain INSERT of the staged rows, or None if one was there already.

    Into a table that was empty when the run began, nearly every row is new; a feature id
    listed twice across pages (IQGeo's paging allows it) makes the INSERT fail, and the
    batch is then merged as an upsert."""
    try:
        with conn.transaction():
            return conn.execute(statement).rowcount
    except UniqueViolation:
        return None


def write_circuits(conn: Conn, rows: list[CircuitRow], force: bool = False,
                   insert_first: bool = False) -> Merged:
    """Circuits written from `rows`. With `insert_first` (the table was empty when the run
    began), copied straight in unless one is there already, and noted in circuit_changes
    only by `note_first_load_changes`; otherwise each is noted as it is written."""
    if insert_first:
        try:
            with conn.transaction():
                staging.copy_new_circuits(conn, rows)
            return Merged(len(rows), 0, all_new=True)
        except UniqueViolation:
            pass  # listed twice across pages: merged as an upsert instead
    staging.copy_circuits(conn, rows)
    return Merged(_count(conn, UPSERT_CIRCUITS, {"force": force}), 0, all_new=False)


def note_first_load_changes(conn: Conn) -> None:
    """A first load of circuits changed every circuit, from no address to its own."""
    conn.execute("TRUNCATE circuit_changes")
    conn.execute("INSERT INTO circuit_changes (feature_id, new_address)"
                 " SELECT feature_id, address_feature_id FROM circuits")


def list_first_circuits(conn: Conn) -> None:
    """Each address's Circuit property, once, for a load where every address is new: found
    by one probe of this list (a row per address, no retired rows to pass over)."""
    conn.execute(LIST_FIRST_CIRCUITS)


def merge_addresses(conn: Conn, actor: str, force: bool = False,
                    first_load: bool = False) -> Merged:
    """Rows inserted and updated from stage_addresses; `force` rewrites unchanged rows too.

    `first_load`: the table was empty when the run began, and `list_first_circuits` ran."""
    if first_load:
        conn.execute(FIRST_CIRCUIT_BY_INDEX)
    inserted = _insert_new(conn, INSERT_ADDRESSES) if first_load else None
    if inserted is not None:
        return Merged(inserted, 0, all_new=True)
    if not first_load:  # no address can have been retired yet in a first load
        conn.execute(RECORD_UNRETIRED, {"actor": actor})
    row = conn.execute(UPSERT_ADDRESSES, {"force": force}).fetchone()
    assert row is not None
    return Merged(int(row[0]), int(row[1]), all_new=False)  # type: ignore[call-overload]


def retire_missing(conn: Conn, actor: str, addresses: list[int],
                   circuits: list[int]) -> int:
    """Retire (never delete) the rows a complete scan did not see; returns addresses
    retired."""
    conn.execute(RETIRE_CIRCUITS, {"vanished": circuits})
    return _count(conn, RETIRE_ADDRESSES, {"actor": actor, "vanished": addresses})


def update_links(conn: Conn, addresses_all_new: bool) -> LinkCounts:
    """Bring the Circuit property up to date and count the links made and broken.

    When every address was written in this run, after all circuits, each already has its
    Circuit property and the update is skipped."""
    conn.execute("ANALYZE circuit_changes")
    if not addresses_all_new:
        conn.execute(UPDATE_CIRCUIT_PROPERTY)
    row = conn.execute(LINK_COUNTS).fetchone()
    assert row is not None
    return LinkCounts(linked=int(row[0]), unlinked=int(row[1]))  # type: ignore[call-overload]


@dataclass
class Orphan:
    feature_id: int
    address_ref: str
    address_id_parsed: bool  # the reference names an id; no live address has it


def orphan_circuits(conn: Conn) -> list[Orphan]:
    return [Orphan(int(r[0]), str(r[1]), bool(r[2]))  # type: ignore[call-overload]
            for r in conn.execute(ORPHAN_CIRCUITS)]


def conflicting_duplicates(conn: Conn, seen_table: str) -> list[int]:
    assert seen_table in ("seen_addresses", "seen_circuits")
    query = CONFLICTING_DUPLICATES.format(table=seen_table)
    return [int(r[0]) for r in conn.execute(query)]  # type: ignore[call-overload]
