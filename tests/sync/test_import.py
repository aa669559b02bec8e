"""The import against the simulator and a real PostGIS: inserts, no-op re-runs, changes,
retirements, quarantine, circuit links and every fault type."""

import json

import pytest
from sqlalchemy import text

from fixtures.iqgeo_sim import FaultRule
from gis.tiles import CELL_DEGREES
from sync.importing import SyncAlreadyRunning, run_sync, start_sync
from tests.gis.test_tiles import FRESH_CELLS, STORED_CELLS

pytestmark = pytest.mark.usefixtures("committed")


def snapshot(engine):
    """Everything an import decides, without timestamps."""
    with engine.connect() as conn:
        addresses = conn.execute(text(
            "SELECT feature_id, name, street_number, street_name, city, postcode, building,"
            " ST_AsText(location), gis_attributes::text, circuit_id, circuit_name, status,"
            " retired, content_hash FROM addresses ORDER BY feature_id")).all()
        circuits = conn.execute(text(
            "SELECT feature_id, name, address_feature_id, properties::text, retired"
            " FROM circuits ORDER BY feature_id")).all()
        links = conn.execute(text(
            "SELECT * FROM address_circuits ORDER BY 1, 2")).all()
    return addresses, circuits, [tuple(link) for link in links]


def updated_at(engine):
    with engine.connect() as conn:
        return dict(conn.execute(text("SELECT feature_id, updated_at FROM addresses")).all())


def address(engine, feature_id):
    with engine.connect() as conn:
        return conn.execute(text("SELECT * FROM addresses WHERE feature_id = :f"),
                            {"f": feature_id}).one()._mapping


def indexes(engine):
    """(index names on addresses and circuits, index names still deferred)."""
    with engine.connect() as conn:
        present = set(conn.execute(text(
            "SELECT indexname FROM pg_indexes WHERE tablename IN ('addresses', 'circuits')"
        )).scalars())
        deferred = set(conn.execute(text("SELECT index_name FROM deferred_indexes")).scalars())
    return present, deferred


ALL_INDEXES = {"pk_addresses", "idx_addresses_location", "ix_addresses_street_prefix",
               "ix_addresses_name_prefix", "ix_addresses_postcode", "ix_addresses_ont_serial",
               "pk_circuits", "ix_circuits_address_feature_id"}


def cells_trigger_on(engine):
    with engine.connect() as conn:
        return conn.execute(text("SELECT tgenabled FROM pg_trigger"
                                 " WHERE tgname = 'address_cells_insert'")).scalar() == "O"


def cells_match(engine):
    """The map's stored cell counts equal counts made afresh from the addresses."""
    with engine.connect() as conn:
        stored, fresh = ([tuple(r) for r in conn.execute(text(q), {"cell": CELL_DEGREES})]
                         for q in (STORED_CELLS, FRESH_CELLS))
    return stored == fresh and len(stored) > 0


def quarantine(engine):
    with engine.connect() as conn:
        return dict(conn.execute(text(
            "SELECT feature_id, reason FROM quarantined_features"
            " WHERE sync_run_id = (SELECT max(id) FROM sync_runs)")).all())


def test_import_into_an_empty_database(sim, database_url, engine):
    assert indexes(engine) == (ALL_INDEXES, set())
    result = run_sync(database_url, sim[1])
    assert result.state == "succeeded"
    # dropped for the load, every one built again
    assert indexes(engine) == (ALL_INDEXES, set())
    assert (result.counts.inserted, result.counts.updated, result.counts.retired) == (120, 0, 0)
    first = address(engine, 1)
    feature = sim[0].addresses.get(1)
    assert first["name"] == feature["properties"]["name"]
    assert first["gis_attributes"] == {
        "serving_equipment": feature["properties"]["serving_equipment"],
        "serving_structure": feature["properties"]["serving_structure"]}
    assert first["status"] == "planned" and not first["retired"]
    with engine.connect() as conn:
        lon, lat, srid = conn.execute(text(
            "SELECT ST_X(location), ST_Y(location), ST_SRID(location) FROM addresses"
            " WHERE feature_id = 1")).one()
    assert [lon, lat] == feature["geometry"]["coordinates"] and srid == 4326
    # the cell trigger was off for the load; the cells were counted once at the end
    assert cells_trigger_on(engine) and cells_match(engine)


def test_a_first_load_leaves_circuit_statistics_for_the_next_merge(sim, database_url, engine):
    """Without them the next run's address merge chose a plan that took minutes at 1M."""
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM pg_statistic WHERE starelid = 'circuits'::regclass"))
    assert run_sync(database_url, sim[1]).state == "succeeded"
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM pg_stats WHERE tablename = 'circuits'"
                                 " AND attname = 'address_feature_id'")).scalar() == 1


def test_a_second_import_changes_nothing(sim, database_url, engine):
    run_sync(database_url, sim[1])
    before, stamps = snapshot(engine), updated_at(engine)
    again = run_sync(database_url, sim[1])
    assert (again.counts.inserted, again.counts.updated, again.counts.retired) == (0, 0, 0)
    assert again.counts.unchanged == 120
    assert again.counts.circuits_linked == again.counts.circuits_unlinked == 0
    assert snapshot(engine) == before
    assert updated_at(engine) == stamps


def test_changed_new_and_vanished_features(sim, database_url, engine):
    run_sync(database_url, sim[1])
    stamps = updated_at(engine)
    table = sim[0].addresses
    changed = table.get(5)
    changed["properties"]["street_name"] = "Renamed Road"
    table.put(changed)
    table.put({"type": "Feature", "id": 5000, "geometry": {"type": "Point",
               "coordinates": [0.2, 52.1]}, "properties": {"name": "New House"}})
    table.delete(7)
    result = run_sync(database_url, sim[1])
    assert (result.counts.inserted, result.counts.updated, result.counts.retired) == (1, 1, 1)
    assert address(engine, 5)["street_name"] == "Renamed Road"
    assert address(engine, 5000)["name"] == "New House"
    gone = address(engine, 7)
    assert gone["retired"] and gone["retired_at"] is not None  # retired, never deleted
    moved = {fid for fid, stamp in updated_at(engine).items() if stamps.get(fid) != stamp}
    assert moved == {5, 5000, 7}
    with engine.connect() as conn:
        transition = conn.execute(text(
            "SELECT from_status, to_status, actor, reason FROM status_transitions"
            " WHERE entity_type = 'address' AND entity_id = '7'")).one()
    assert transition[:2] == ("planned", "retired") and transition[3] == "vanished from IQGeo"


def test_a_retired_address_that_comes_back_is_live_again(sim, database_url, engine):
    run_sync(database_url, sim[1])
    feature = sim[0].addresses.get(9)
    sim[0].addresses.delete(9)
    run_sync(database_url, sim[1])
    sim[0].addresses.put(feature)
    result = run_sync(database_url, sim[1])
    assert result.counts.updated == 1 and not address(engine, 9)["retired"]


INVALID = {
    1001: ({"geometry": None}, "no geometry"),
    1002: ({"geometry": {"type": "LineString", "coordinates": [[0, 52], [1, 52]]}},
           "not a Point"),
    1003: ({"geometry": {"type": "Point", "coordinates": [200.0, 52.0]}}, "out of range"),
    1004: ({"geometry": {"type": "Point", "coordinates": [10000.0, 6800000.0]},
            "crs": {"type": "name", "properties": {"name": "EPSG:3857"}}}, "not EPSG:4326"),
    1005: ({"geometry": {"type": "Point", "coordinates": ["a", 52]}}, "not two numbers"),
}


def test_invalid_features_are_quarantined_with_the_reason(sim, database_url, engine):
    for fid, (change, _) in INVALID.items():
        sim[0].addresses.put({"type": "Feature", "id": fid, "properties": {"name": "bad"},
                              **change})
    result = run_sync(database_url, sim[1])
    assert result.counts.rejected == len(INVALID) and result.counts.inserted == 120
    reasons = quarantine(engine)
    for fid, (_, reason) in INVALID.items():
        assert reason in reasons[str(fid)]
    with engine.connect() as conn:
        stored = conn.execute(text("SELECT count(*) FROM addresses WHERE feature_id > 1000"))
        assert stored.scalar() == 0


def test_a_feature_without_an_id_is_quarantined(sim, database_url, engine):
    sim[0].addresses.put({"type": "Feature", "id": 3000, "geometry": {
        "type": "Point", "coordinates": [0, 52]}, "properties": {"id": "x-3000"}})
    # the simulator keys rows by id; what IQGeo returns is the feature with a bad id
    sim[0].addresses.get(3000)["id"] = "x-3000"
    run_sync(database_url, sim[1])
    assert "not an integer" in quarantine(engine)[None]


def test_a_feature_that_turns_invalid_keeps_its_last_good_version(sim, database_url, engine):
    run_sync(database_url, sim[1])
    good = address(engine, 4)
    broken = sim[0].addresses.get(4)
    broken["geometry"] = None
    sim[0].addresses.put(broken)
    result = run_sync(database_url, sim[1])
    assert result.counts.rejected == 1 and result.counts.retired == 0
    assert address(engine, 4) == good


def test_write_back_fields_are_never_imported(sim, database_url, engine):
    run_sync(database_url, sim[1])
    before, stamps = snapshot(engine), updated_at(engine)
    feature = sim[0].addresses.get(3)
    feature["properties"]["service_status"] = "In Service"  # written by FiberSync later
    sim[0].addresses.put(feature)
    result = run_sync(database_url, sim[1])
    assert result.counts.updated == 0
    assert snapshot(engine) == before and updated_at(engine) == stamps


def test_circuits_link_to_addresses(sim, database_url, engine):
    run_sync(database_url, sim[1])
    _, circuits, links = snapshot(engine)
    assert len(circuits) == 132  # one per address plus one on every tenth
    expected = {(int(c["properties"]["address"]), c["id"])
                for c in sim[0].circuits.rows(0, None) if c["properties"]["address"]}
    assert set(links) == expected
    first = address(engine, 1)
    assert (first["circuit_id"], first["circuit_name"]) == (1, "WH-FTTH-000001")
    without = [a for a in range(1, 121) if not any(link[0] == a for link in links)]
    assert without and address(engine, without[0])["circuit_id"] is None


def test_a_first_load_counts_links_and_orphans_as_a_later_run_would(sim, database_url,
                                                                     engine):
    circuits = sim[0].circuits
    for fid, ref in ((3, "999999"), (5, "address/not-a-number"), (6, "")):
        planted = circuits.get(fid)
        planted["properties"]["address"] = ref
        circuits.put(planted)
    result = run_sync(database_url, sim[1])
    with engine.connect() as conn:
        linked = conn.execute(text("SELECT count(*) FROM address_circuits")).scalar()
    assert result.counts.circuits_linked == linked > 100
    assert result.counts.circuits_orphaned == 2
    assert set(quarantine(engine)) == {"3", "5"}


def test_circuit_relink_unlink_and_unknown_address(sim, database_url, engine):
    circuits = sim[0].circuits
    for fid in (1, 2, 4):
        linked = circuits.get(fid)
        linked["properties"]["address"] = str(fid)
        circuits.put(linked)
    run_sync(database_url, sim[1])
    assert {(1, 1), (2, 2), (4, 4)} <= set(snapshot(engine)[2])
    relinked = circuits.get(2)
    relinked["properties"]["address"] = "3"
    circuits.put(relinked)
    unlinked = circuits.get(1)
    unlinked["properties"]["address"] = ""
    circuits.put(unlinked)
    dangling = circuits.get(4)
    dangling["properties"]["address"] = "999999"
    circuits.put(dangling)
    result = run_sync(database_url, sim[1])
    _, _, links = snapshot(engine)
    assert (3, 2) in links and (2, 2) not in links
    assert (1, 1) not in links and (1, 121) in links
    assert address(engine, 1)["circuit_id"] == 121  # its other circuit
    assert address(engine, 2)["circuit_id"] is None
    assert address(engine, 4)["circuit_id"] is None
    assert result.counts.circuits_unlinked == 3 and result.counts.circuits_linked == 1
    assert result.counts.circuits_orphaned == 1
    assert "unknown address '999999'" in quarantine(engine)["4"]


def test_urn_circuit_references_are_understood(sim, database_url, engine):
    circuit = sim[0].circuits.get(6)
    circuit["properties"]["address"] = "address/6"
    sim[0].circuits.put(circuit)
    run_sync(database_url, sim[1])
    assert address(engine, 6)["circuit_id"] == 6


def test_extra_properties_come_from_configuration(sim, database_url, engine):
    settings = sim[1].model_copy(update={"extra_fields": ["building"]})
    run_sync(database_url, settings)
    assert set(address(engine, 1)["gis_attributes"]) == {"building"}


def test_full_rewrites_every_row(sim, database_url, engine):
    run_sync(database_url, sim[1])
    stamps = updated_at(engine)
    result = run_sync(database_url, sim[1], full=True)
    assert result.counts.updated == 120
    assert all(updated_at(engine)[fid] > stamp for fid, stamp in stamps.items())


@pytest.mark.parametrize("kind", ["session_expired", "502", "503", "504", "500", "429",
                                  "reset", "slow"])
def test_every_transient_fault_is_survived(sim, database_url, engine, kind, make_sim):
    reference = run_sync(database_url, sim[1])
    expected = snapshot(engine)
    with engine.begin() as conn:
        conn.execute(text("TRUNCATE circuits, addresses CASCADE"))
    settings = sim[1].model_copy(update={"read_timeout": 0.3})
    # a session that expires again right after logging in again is a failure, by design
    times = 1 if kind == "session_expired" else 2
    sim[0].faults.add(FaultRule(kind, route="list", after=1, times=times, retry_after=0.01,
                                delay=1.0))
    result = run_sync(database_url, settings)
    assert result.state == "succeeded", result.error
    assert result.counts.inserted == reference.counts.inserted
    assert snapshot(engine) == expected


def test_a_permanent_error_fails_the_run_and_retires_nothing(sim, database_url, engine):
    run_sync(database_url, sim[1])
    sim[0].addresses.delete(8)
    sim[0].faults.add(FaultRule("abort", route="list", after=1))
    failed = run_sync(database_url, sim[1])
    assert failed.state == "failed" and "simulated_failure" in failed.error
    assert not address(engine, 8)["retired"]
    with engine.connect() as conn:
        state, error = conn.execute(text(
            "SELECT state, error FROM sync_runs WHERE id = :i"), {"i": failed.run_id}).one()
    assert state == "failed" and "IQGeoAbort" in error
    assert run_sync(database_url, sim[1]).counts.retired == 1


def test_iqgeo_down_mid_run_then_next_run_completes(sim, database_url, engine):
    sim[0].faults.add(FaultRule("503", route="list", feature_type="address", after=2,
                                times=None))
    failed = run_sync(database_url, sim[1].model_copy(update={"batch_size": 40}))
    assert failed.state == "failed"
    assert 0 < failed.counts.inserted < 120
    present, deferred = indexes(engine)
    assert "idx_addresses_location" in deferred and "idx_addresses_location" not in present
    assert "address_cells_insert" in deferred and not cells_trigger_on(engine)
    sim[0].faults.clear()
    done = run_sync(database_url, sim[1])
    assert done.counts.inserted == 120 - failed.counts.inserted
    assert len(snapshot(engine)[0]) == 120
    assert indexes(engine) == (ALL_INDEXES, set())
    assert cells_trigger_on(engine) and cells_match(engine)


def test_an_empty_layer_retires_nothing(sim, database_url, engine):
    run_sync(database_url, sim[1])
    settings = sim[1].model_copy(update={"address_type": "fiber_ont", "extra_fields": []})
    sim[0].tables["fiber_ont"] = type(sim[0].addresses)("fiber_ont", (), type(
        sim[0].addresses.source)(0))
    result = run_sync(database_url, settings)
    assert result.state == "failed" and "refusing to retire 120" in result.error
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM addresses WHERE retired")).scalar() == 0


def test_one_run_at_a_time(sim, database_url, engine):
    lock, run_id = start_sync(database_url, False, "test")
    try:
        with pytest.raises(SyncAlreadyRunning):
            run_sync(database_url, sim[1])
    finally:
        lock.close()
    # the lock died with its holder: the next run marks the orphaned row interrupted
    assert run_sync(database_url, sim[1]).state == "succeeded"
    with engine.connect() as conn:
        assert conn.execute(text("SELECT state FROM sync_runs WHERE id = :i"),
                            {"i": run_id}).scalar() == "interrupted"



def test_an_id_listed_twice_across_pages_is_written_once_and_quarantined(
        make_sim, database_url, engine, tmp_path):
    """IQGeo's paging can list a feature twice; in a first load the second copy makes the
    batch's plain INSERT fail, and that batch is merged as an upsert instead."""
    features = [{"type": "Feature", "id": i, "geometry": {"type": "Point",
                                                          "coordinates": [0.1 + i / 1000, 52.0]},
                 "properties": {"name": f"{i} Mill Road"}} for i in range(1, 30)]
    features.append({**features[6], "properties": {"name": "7 Mill Road, again"}})
    data = tmp_path / "town.geojson"
    data.write_text(json.dumps({"type": "FeatureCollection", "features": features}))
    settings = make_sim(data=data, page_size=10)[1].model_copy(update={"batch_size": 10})
    result = run_sync(database_url, settings)
    assert result.state == "succeeded"
    assert result.counts.inserted == 29
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM addresses")).scalar() == 29
    assert "more than once" in quarantine(engine)["7"]
    assert indexes(engine) == (ALL_INDEXES, set())
    again = run_sync(database_url, settings)  # not a first load: the same outcome
    assert again.state == "succeeded" and again.counts.inserted == 0
    assert "more than once" in quarantine(engine)["7"]
