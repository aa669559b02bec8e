"""Vector tiles: decoded, with the right features, properties, aggregation and caching."""

import math
import time

import mapbox_vector_tile
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.orm import Session

from api.app import create_app
from api.auth import create_api_key
from gis import tiles
from gis.status import Role
from gis.tiles import CELL_DEGREES
from tests.api.test_api import assert_problem
from tests.seed import LAT0, LON0, add_addresses, add_area, grid_box


def tile_of(lon, lat, z):
    n = 2 ** z
    x = int((lon + 180) / 360 * n)
    y = int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n)
    return x, y


def fetch(client, keys, layer, z, lon=LON0, lat=LAT0, **headers):
    x, y = tile_of(lon, lat, z)
    return client.get(f"/tiles/{layer}/{z}/{x}/{y}.pbf", headers={**keys["planner"],
                                                                  **headers})


@pytest.fixture
def keys_committed(engine):
    with Session(engine) as session:
        plain, _ = create_api_key(session, Role.planner, "tiles", None, None)
        session.commit()
    return {"Authorization": f"Bearer {plain}"}


@pytest.fixture
def seeded(db_session):
    add_addresses(db_session, 20, columns=5)  # 5 by 4, 0.001 degrees apart
    db_session.execute(text("UPDATE addresses SET status = 'connected' WHERE feature_id = 1"))
    db_session.execute(text("""
        INSERT INTO circuits (feature_id, name, address_feature_id, content_hash)
        VALUES (501, 'WH-FTTH-501', 1, 1)"""))
    add_area(db_session, grid_box(0, 0, 2, 2), "Centre")


@pytest.mark.usefixtures("seeded")
def test_an_address_tile_decodes_with_properties(client, keys):
    reply = fetch(client, keys, "addresses", 15)
    assert reply.status_code == 200
    assert reply.headers["content-type"] == "application/vnd.mapbox-vector-tile"
    layer = mapbox_vector_tile.decode(reply.content)["addresses"]
    by_id = {f["properties"]["feature_id"]: f for f in layer["features"]}
    assert by_id[1]["properties"]["status"] == "connected"
    assert by_id[1]["geometry"]["type"] == "Point"
    # One step east is further right in the tile (and the tile's y axis points up here).
    if 2 in by_id:
        assert by_id[2]["geometry"]["coordinates"][0] > by_id[1]["geometry"]["coordinates"][0]


@pytest.mark.usefixtures("seeded")
def test_low_zoom_tiles_aggregate_addresses(client, keys):
    layer = mapbox_vector_tile.decode(fetch(client, keys, "addresses", 8).content)["addresses"]
    assert sum(f["properties"]["count"] for f in layer["features"]) == 20
    assert len(layer["features"]) < 20
    assert {f["properties"]["status"] for f in layer["features"]} <= {"planned", "connected"}


@pytest.mark.usefixtures("seeded")
def test_area_and_circuit_tiles(client, keys):
    areas = mapbox_vector_tile.decode(fetch(client, keys, "areas", 14).content)["areas"]
    assert [f["properties"]["name"] for f in areas["features"]] == ["Centre"]
    assert areas["features"][0]["geometry"]["type"] in ("Polygon", "MultiPolygon")
    circuits = mapbox_vector_tile.decode(fetch(client, keys, "circuits", 14).content)
    assert [f["properties"]["name"] for f in circuits["circuits"]["features"]] == [
        "WH-FTTH-501"]


@pytest.mark.usefixtures("seeded")
def test_an_empty_place_gives_an_empty_tile(client, keys):
    reply = fetch(client, keys, "addresses", 14, lon=-70, lat=-40)
    assert reply.status_code == 200 and reply.content == b""


@pytest.mark.usefixtures("seeded")
def test_etag_revalidation(client, keys):
    first = fetch(client, keys, "addresses", 15)
    again = fetch(client, keys, "addresses", 15, **{"If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304 and again.content == b""
    assert "no-cache" in first.headers["Cache-Control"]  # the browser always revalidates


@pytest.mark.parametrize(("path", "message"), [
    ("/tiles/addresses/23/0/0.pbf", "zoom 23 is out of range"),
    ("/tiles/addresses/3/8/0.pbf", "tile 3/8/0 does not exist"),
    ("/tiles/addresses/3/0/-1.pbf", "tile 3/0/-1 does not exist")])
def test_tiles_out_of_range_are_400_not_500(client, keys, path, message):
    problem = assert_problem(client.get(path, headers=keys["planner"]), 400)
    assert message in problem["detail"]


def test_unknown_layers_and_wrong_keys(client, keys):
    assert_problem(client.get("/tiles/pipes/1/0/0.pbf", headers=keys["planner"]), 404)
    assert_problem(client.get("/tiles/addresses/1/0/0.pbf"), 401)
    assert_problem(client.get("/tiles/addresses/1/0/0.pbf", headers=keys["isp"]), 403)


FRESH_CELLS = """
SELECT floor(ST_X(location) / :cell)::bigint AS cx, floor(ST_Y(location) / :cell)::bigint AS cy,
       status, count(*) AS n, round(sum(ST_X(location))::numeric, 9) AS sum_lon,
       round(sum(ST_Y(location))::numeric, 9) AS sum_lat
FROM addresses WHERE NOT retired GROUP BY 1, 2, 3 ORDER BY 1, 2, 3
"""
STORED_CELLS = """
SELECT cx, cy, status, n, round(sum_lon::numeric, 9), round(sum_lat::numeric, 9)
FROM address_cells WHERE n <> 0 ORDER BY 1, 2, 3
"""


def test_stored_cells_follow_every_change_to_addresses(db_session):
    def cells(sql):
        return [tuple(r) for r in db_session.execute(text(sql), {"cell": CELL_DEGREES})]

    add_addresses(db_session, 300, columns=20)
    assert cells(STORED_CELLS) == cells(FRESH_CELLS) and len(cells(STORED_CELLS)) > 1
    db_session.execute(text("UPDATE addresses SET status = 'surveyed' WHERE feature_id < 90"))
    db_session.execute(text("UPDATE addresses SET retired = true WHERE feature_id % 7 = 0"))
    db_session.execute(text("UPDATE addresses SET location = ST_Translate(location, 0.01, 0) "
                            "WHERE feature_id BETWEEN 100 AND 120"))
    db_session.execute(text("UPDATE addresses SET name = 'renamed'"))  # no cell change
    db_session.execute(text("DELETE FROM addresses WHERE feature_id > 280"))
    assert cells(STORED_CELLS) == cells(FRESH_CELLS)
    db_session.execute(text("TRUNCATE addresses CASCADE"))
    assert cells("SELECT cx FROM address_cells") == []


@pytest.mark.parametrize("z", [6, 10, 12, 13])
@pytest.mark.usefixtures("seeded")
def test_every_low_zoom_counts_each_live_address_once(client, keys, db_session, z):
    db_session.execute(text("UPDATE addresses SET retired = true WHERE feature_id = 20"))
    layer = mapbox_vector_tile.decode(fetch(client, keys, "addresses", z).content)["addresses"]
    assert sum(f["properties"]["count"] for f in layer["features"]) == 19
    statuses = {f["properties"]["status"] for f in layer["features"]}
    assert "planned" in statuses and statuses <= {"planned", "connected"}


@pytest.mark.usefixtures("committed")
def test_cached_tiles_are_dropped_when_map_data_changes(api_settings, engine, keys_committed):
    with Session(engine) as session:
        add_addresses(session, 20, columns=5)
        session.commit()
    settings = api_settings.model_copy(update={"tile_cache_bytes": 1_048_576})
    with TestClient(create_app(settings, engine=engine)) as client:
        cache = client.app.state.tile_cache
        for _ in range(500):  # the listener connects in the background
            if cache.listening:
                break
            time.sleep(0.01)
        headers = {"planner": keys_committed}
        first = fetch(client, headers, "addresses", 15)
        again = fetch(client, headers, "addresses", 15)
        assert (first.headers["X-Tile-Cache"], again.headers["X-Tile-Cache"]) == ("miss", "hit")
        assert again.content == first.content

        with Session(engine) as session:  # a change committed by someone else
            session.execute(text("UPDATE addresses SET status = 'connected' "
                                 "WHERE feature_id = 1"))
            session.commit()
        deadline = time.monotonic() + 5
        while fetch(client, headers, "addresses", 15).headers[
                "X-Tile-Cache"] == "hit":
            assert time.monotonic() < deadline, "the cache was never told of the change"
            time.sleep(0.02)
        fresh = fetch(client, headers, "addresses", 15)
        statuses = {f["properties"]["feature_id"]: f["properties"]["status"] for f in
                    mapbox_vector_tile.decode(fresh.content)["addresses"]["features"]}
        assert statuses[1] == "connected"


@pytest.mark.usefixtures("seeded")
def test_a_tile_is_the_same_bytes_whatever_the_plan(db_session):
    """The ETag is a hash of the bytes: a new plan (statistics changed) must not change it."""
    x, y = tile_of(LON0, LAT0, 15)
    by_plan = []
    for settings in ("enable_seqscan = off, enable_bitmapscan = off",
                     "enable_indexscan = off, enable_bitmapscan = off"):
        for setting in settings.split(", "):
            db_session.execute(text(f"SET LOCAL {setting.replace(' = ', ' TO ')}"))
        by_plan.append(tiles.tile(db_session, "addresses", 15, x, y))
        db_session.execute(text("RESET ALL"))
    assert by_plan[0] and by_plan[0] == by_plan[1]
