"""Set-based merges from the staging tables into addresses, circuits and their links.

Every statement writes only rows whose content changed, so a second run of the same data
writes nothing and moves no `updated_at`.
"""

from dataclasses import dataclass

from psycopg import Connection

Conn = Connection[tuple[object, ...]]

MERGE_ADDRESSES = """
WITH merged AS (
    INSERT INTO addresses AS a (feature_id, name, street_number, street_name, city, postcode,
        building, location, gis_attributes, content_hash)
    SELECT feature_id, name, street_number, street_name, city, postcode, building,
           ST_SetSRID(ST_MakePoint(lon, lat), 4326), gis_attributes::jsonb, content_hash
    FROM stage_addresses
    ON CONFLICT (feature_id) DO UPDATE SET
        name = EXCLUDED.name, street_number = EXCLUDED.street_number,
        street_name = EXCLUDED.street_name, city = EXCLUDED.city, postcode = EXCLUDED.postcode,
        building = EXCLUDED.building, location = EXCLUDED.location,
        gis_attributes = EXCLUDED.gis_attributes, content_hash = EXCLUDED.content_hash,
        last_seen_at = now(), updated_at = now(), retired = false, retired_at = NULL
    WHERE %(force)s OR a.content_hash IS DISTINCT FROM EXCLUDED.content_hash OR a.retired
    RETURNING a.feature_id, (xmax = 0) AS inserted
), affected AS (
    INSERT INTO affected_addresses SELECT feature_id FROM merged
)
SELECT count(*) FILTER (WHERE inserted), count(*) FILTER (WHERE NOT inserted) FROM merged
"""

# Addresses that come back after being retired get their return recorded.
RECORD_UNRETIRED = """
INSERT INTO status_transitions (entity_type, entity_id, from_status, to_status, actor, reason)
SELECT 'address', a.feature_id::text, 'retired', a.status, %(actor)s, 'reappeared in IQGeo'
FROM stage_addresses s JOIN addresses a USING (feature_id)
WHERE a.retired
"""

MERGE_CIRCUITS = """
WITH before AS (
    INSERT INTO affected_addresses
    SELECT c.address_feature_id FROM circuits c JOIN stage_circuits s USING (feature_id)
    WHERE c.address_feature_id IS NOT NULL
), merged AS (
    INSERT INTO circuits AS c (feature_id, name, address_ref, address_feature_id, properties,
        content_hash)
    SELECT feature_id, name, address_ref, address_feature_id, properties::jsonb, content_hash
    FROM stage_circuits
    ON CONFLICT (feature_id) DO UPDATE SET
        name = EXCLUDED.name, address_ref = EXCLUDED.address_ref,
        address_feature_id = EXCLUDED.address_feature_id, properties = EXCLUDED.properties,
        content_hash = EXCLUDED.content_hash, last_seen_at = now(), updated_at = now(),
        retired = false, retired_at = NULL
    WHERE %(force)s OR c.content_hash IS DISTINCT FROM EXCLUDED.content_hash OR c.retired
    RETURNING c.address_feature_id
), after AS (
    INSERT INTO affected_addresses
    SELECT address_feature_id FROM merged WHERE address_feature_id IS NOT NULL
)
SELECT count(*) FROM merged
"""

RETIRE_ADDRESSES = """
WITH retired AS (
    UPDATE addresses a SET retired = true, retired_at = now(), updated_at = now()
    WHERE NOT a.retired
      AND NOT EXISTS (SELECT 1 FROM seen_addresses s WHERE s.feature_id = a.feature_id)
    RETURNING a.feature_id, a.status
), audit AS (
    INSERT INTO status_transitions (entity_type, entity_id, from_status, to_status, actor,
                                    reason)
    SELECT 'address', feature_id::text, status, 'retired', %(actor)s, 'vanished from IQGeo'
    FROM retired
), affected AS (
    INSERT INTO affected_addresses SELECT feature_id FROM retired
)
SELECT count(*) FROM retired
"""

RETIRE_CIRCUITS = """
WITH retired AS (
    UPDATE circuits c SET retired = true, retired_at = now(), updated_at = now()
    WHERE NOT c.retired
      AND NOT EXISTS (SELECT 1 FROM seen_circuits s WHERE s.feature_id = c.feature_id)
    RETURNING c.address_feature_id
)
INSERT INTO affected_addresses
SELECT address_feature_id FROM retired WHERE address_feature_id IS NOT NULL
"""

# Links are recomputed only for addresses touched in this run (new, changed, retired, or
# named by a changed circuit before or after the change).
DESIRED_LINKS = """
CREATE TEMP TABLE desired_links ON COMMIT DROP AS
SELECT c.address_feature_id, c.feature_id AS circuit_feature_id, c.name
FROM circuits c JOIN addresses a ON a.feature_id = c.address_feature_id
WHERE NOT c.retired AND NOT a.retired
  AND c.address_feature_id IN (SELECT feature_id FROM affected_addresses)
"""

UNLINK = """
DELETE FROM address_circuits l
WHERE l.address_feature_id IN (SELECT feature_id FROM affected_addresses)
  AND NOT EXISTS (SELECT 1 FROM desired_links d
                  WHERE d.address_feature_id = l.address_feature_id
                    AND d.circuit_feature_id = l.circuit_feature_id)
"""

LINK = """
INSERT INTO address_circuits (address_feature_id, circuit_feature_id)
SELECT address_feature_id, circuit_feature_id FROM desired_links
ON CONFLICT DO NOTHING
"""

# The Circuit property of an address: its lowest-numbered linked circuit.
SET_CIRCUIT_PROPERTY = """
WITH first_circuit AS (
    SELECT DISTINCT ON (address_feature_id) address_feature_id, circuit_feature_id, name
    FROM desired_links ORDER BY address_feature_id, circuit_feature_id
)
UPDATE addresses a SET circuit_id = f.circuit_feature_id, circuit_name = f.name,
                       updated_at = now()
FROM (SELECT DISTINCT feature_id FROM affected_addresses) t
LEFT JOIN first_circuit f ON f.address_feature_id = t.feature_id
WHERE a.feature_id = t.feature_id
  AND (a.circuit_id, a.circuit_name) IS DISTINCT FROM (f.circuit_feature_id, f.name)
"""

ORPHAN_CIRCUITS = """
SELECT c.feature_id, c.address_ref FROM circuits c
WHERE NOT c.retired AND c.address_ref IS NOT NULL
  AND NOT EXISTS (SELECT 1 FROM addresses a
                  WHERE a.feature_id = c.address_feature_id AND NOT a.retired)
ORDER BY c.feature_id
"""

CONFLICTING_DUPLICATES = """
SELECT feature_id FROM {table} WHERE content_hash IS NOT NULL
GROUP BY feature_id HAVING count(DISTINCT content_hash) > 1 ORDER BY feature_id
"""


@dataclass
class LinkCounts:
    linked: int
    unlinked: int


def merge_addresses(conn: Conn, actor: str, force: bool = False) -> tuple[int, int]:
    """(inserted, updated) from stage_addresses; `force` rewrites unchanged rows too."""
    conn.execute(RECORD_UNRETIRED, {"actor": actor})
    row = conn.execute(MERGE_ADDRESSES, {"force": force}).fetchone()
    assert row is not None
    return int(row[0]), int(row[1])  # type: ignore[call-overload]


def merge_circuits(conn: Conn, force: bool = False) -> int:
    row = conn.execute(MERGE_CIRCUITS, {"force": force}).fetchone()
    return int(row[0]) if row else 0  # type: ignore[call-overload]


def retire_missing(conn: Conn, actor: str) -> int:
    """Retire (never delete) what this complete scan did not see; returns addresses retired."""
    conn.execute("ANALYZE seen_addresses")
    conn.execute("ANALYZE seen_circuits")
    row = conn.execute(RETIRE_ADDRESSES, {"actor": actor}).fetchone()
    conn.execute(RETIRE_CIRCUITS)
    return int(row[0]) if row else 0  # type: ignore[call-overload]


def sync_links(conn: Conn) -> LinkCounts:
    conn.execute("ANALYZE affected_addresses")
    conn.execute(DESIRED_LINKS)
    unlinked = conn.execute(UNLINK).rowcount
    linked = conn.execute(LINK).rowcount
    conn.execute(SET_CIRCUIT_PROPERTY)
    conn.execute("TRUNCATE affected_addresses")
    return LinkCounts(linked=linked, unlinked=unlinked)


def orphan_circuits(conn: Conn) -> list[tuple[int, str]]:
    return [(int(r[0]), str(r[1])) for r in conn.execute(ORPHAN_CIRCUITS)]  # type: ignore[call-overload]


def conflicting_duplicates(conn: Conn, seen_table: str) -> list[int]:
    assert seen_table in ("seen_addresses", "seen_circuits")
    query = CONFLICTING_DUPLICATES.format(table=seen_table)
    return [int(r[0]) for r in conn.execute(query)]  # type: ignore[call-overload]
