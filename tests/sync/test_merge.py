"""Writing staged rows, against a real PostgreSQL: the first-load shortcuts and their
fallbacks."""

import psycopg
import pytest

from gis.database import libpq_url
from sync.importing import merge, staging
from sync.importing.features import CircuitRow

pytestmark = pytest.mark.usefixtures("committed")


def circuit(feature_id: int, address: int, name: str = "C") -> CircuitRow:
    return (feature_id, f"{name}-{feature_id}", str(address), address,
            b'\x01{"status": "Planned"}', hash((feature_id, name)))


@pytest.fixture
def conn(database_url):
    with psycopg.connect(libpq_url(database_url)) as conn:
        staging.create_staging(conn)
        yield conn


def test_a_first_load_copies_circuits_in_and_falls_back_on_a_repeated_id(conn):
    first = merge.write_circuits(conn, [circuit(2, 20), circuit(1, 10)], insert_first=True)
    assert (first.inserted, first.all_new) == (2, True)
    # circuit 2 listed again, renamed: the COPY fails and the batch is upserted instead
    again = merge.write_circuits(conn, [circuit(2, 21, "D"), circuit(3, 30)], insert_first=True)
    assert (again.inserted, again.all_new) == (2, False)
    rows = conn.execute("SELECT feature_id, name, address_feature_id, properties->>'status'"
                        " FROM circuits ORDER BY 1").fetchall()
    assert rows == [(1, "C-1", 10, "Planned"), (2, "D-2", 21, "Planned"),
                    (3, "C-3", 30, "Planned")]
    merge.note_first_load_changes(conn)
    changes = conn.execute("SELECT feature_id, old_address, new_address FROM circuit_changes"
                           " ORDER BY 1, 3").fetchall()
    assert changes == [(1, None, 10), (2, None, 21), (3, None, 30)]


def test_the_circuit_lookup_uses_its_index_even_without_statistics(conn):
    """With no statistics (autovacuum off, a first load that died before its ANALYZE), the
    planner walked the circuits' primary key for each address: minutes for a million."""
    staging.copy_new_circuits(conn, [circuit(i, i % 5000 + 1) for i in range(1, 20_001)])
    conn.execute("DELETE FROM pg_statistic WHERE starelid = 'circuits'::regclass")
    conn.execute("SET LOCAL enable_seqscan = off")  # as on a large table
    plan = "\n".join(str(r[0]) for r in conn.execute(
        "EXPLAIN SELECT s.feature_id, first_circuit.feature_id"
        " FROM (SELECT 1::bigint AS feature_id) s " + merge.FIRST_CIRCUIT_LOOKUP))
    assert "ix_circuits_address_feature_id" in plan and "pk_circuits" not in plan
    conn.rollback()
