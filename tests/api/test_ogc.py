"""OGC API Features: the standard's resources, filters and paging, and GDAL reading it."""

import json
import shutil
import subprocess

import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session

from api.auth import create_api_key
from gis.status import Role
from tests.api.test_api import assert_problem
from tests.seed import LAT0, LON0, STEP, add_addresses, add_area, grid_box


@pytest.fixture
def data(db_session):
    add_addresses(db_session, 25)
    db_session.execute(text("UPDATE addresses SET status = 'connected' WHERE feature_id <= 3"))
    add_area(db_session, grid_box(0, 0, 4, 0), "North")


def test_landing_conformance_and_collections(client, keys):
    landing = client.get("/ogc", headers=keys["isp"]).json()
    assert {link["rel"] for link in landing["links"]} >= {"conformance", "data",
                                                          "service-desc"}
    conformance = client.get("/ogc/conformance", headers=keys["isp"]).json()["conformsTo"]
    assert "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core" in conformance
    listed = client.get("/ogc/collections", headers=keys["planner"]).json()["collections"]
    assert [c["id"] for c in listed] == ["addresses", "areas", "circuits"]
    assert_problem(client.get("/ogc/collections/pipes", headers=keys["isp"]), 404)
    assert_problem(client.get("/ogc/collections"), 401)


@pytest.mark.usefixtures("data")
def test_items_with_bbox_filters_and_paging(client, keys):
    reply = client.get("/ogc/collections/addresses/items?limit=10", headers=keys["isp"])
    assert reply.headers["content-type"] == "application/geo+json"
    page = reply.json()
    assert page["numberReturned"] == 10
    following = client.get(next(link["href"] for link in page["links"]
                                if link["rel"] == "next"), headers=keys["isp"]).json()
    assert following["features"][0]["id"] == 11
    west, east = LON0 - STEP / 2, LON0 + 1.5 * STEP
    boxed = client.get(f"/ogc/collections/addresses/items?bbox={west},{LAT0 - STEP},{east},"
                       f"{LAT0 + STEP}", headers=keys["isp"]).json()
    assert [f["id"] for f in boxed["features"]] == [1, 2]
    connected = client.get("/ogc/collections/addresses/items?status=connected",
                           headers=keys["isp"]).json()
    assert [f["id"] for f in connected["features"]] == [1, 2, 3]
    recent = client.get("/ogc/collections/addresses/items?datetime=2000-01-01T00:00:00Z/..",
                        headers=keys["isp"]).json()
    assert recent["numberReturned"] == 10
    assert_problem(client.get("/ogc/collections/addresses/items?colour=red",
                              headers=keys["isp"]), 422)
    assert_problem(client.get("/ogc/collections/addresses/items?bbox=1,1,0,0",
                              headers=keys["isp"]), 422)
    one = client.get("/ogc/collections/areas/items", headers=keys["isp"]).json()
    area_id = one["features"][0]["id"]
    item = client.get(f"/ogc/collections/areas/items/{area_id}", headers=keys["isp"]).json()
    assert item["properties"]["name"] == "North" and item["geometry"]["type"] == "MultiPolygon"


def filtered(client, keys, expression, lang="cql2-text", collection="addresses"):
    reply = client.get(f"/ogc/collections/{collection}/items",
                       params={"filter": expression, "filter-lang": lang, "limit": 100},
                       headers=keys["isp"])
    assert reply.status_code == 200, reply.text
    return [f["id"] for f in reply.json()["features"]]


@pytest.mark.usefixtures("data")
def test_cql2_filters_in_text_and_json(client, keys):
    assert filtered(client, keys, "status = 'connected' AND feature_id > 1") == [2, 3]
    assert filtered(client, keys, "name LIKE 'House 1%'") == [2, *range(11, 21)]
    assert filtered(client, keys, "CASEI(name) LIKE casei('HOUSE 2_')") == list(range(21, 26))
    assert filtered(client, keys, "feature_id BETWEEN 4 AND 6 OR feature_id IN (9, 7)") == [
        4, 5, 6, 7, 9]
    assert filtered(client, keys, "NOT (status <> 'connected')") == [1, 2, 3]
    assert filtered(client, keys, "circuit_id IS NULL AND feature_id < 3") == [1, 2]
    west, east = LON0 - STEP / 2, LON0 + 1.5 * STEP
    south, north = LAT0 - STEP / 2, LAT0 + STEP / 2
    assert filtered(client, keys, f"S_INTERSECTS(geometry, BBOX({west}, {south}, {east}, "
                                  f"{north}))") == [1, 2]
    assert filtered(client, keys, f"S_WITHIN(geometry, POLYGON(({west} {south}, {east} "
                                  f"{south}, {east} {north}, {west} {north}, {west} "
                                  f"{south})))") == [1, 2]
    as_json = ('{"op": "and", "args": [{"op": "=", "args": [{"property": "status"}, '
               '"connected"]}, {"op": "<", "args": [{"property": "feature_id"}, 3]}]}')
    assert filtered(client, keys, as_json, lang="cql2-json") == [1, 2]
    assert filtered(client, keys, "name = 'North'", collection="areas") != []
    # a literal is bound, never spliced into the SQL
    assert filtered(client, keys, "name = 'x; DELETE FROM addresses'") == []
    assert filtered(client, keys, '{"op": "=", "args": [{"property": "name"}, '
                                  '"x\' OR \'a\' = \'a"]}', lang="cql2-json") == []
    assert filtered(client, keys, "feature_id < 3") == [1, 2]


@pytest.mark.usefixtures("data")
def test_bad_cql2_filters_are_clear_problems(client, keys):
    def problem(expression, lang="cql2-text"):
        reply = client.get("/ogc/collections/addresses/items",
                           params={"filter": expression, "filter-lang": lang},
                           headers=keys["isp"])
        assert_problem(reply, 422)
        return reply.json()["detail"]

    assert "unknown property 'colour'" in problem("colour = 'red'")
    assert "queryable" in problem("colour = 'red'")
    assert "not valid cql2-text" in problem("status = = 'x'")
    assert "not valid cql2-json" in problem("{", lang="cql2-json")
    assert "filter-lang 'ecql' is not supported" in problem("status = 'x'", lang="ecql")
    assert "cannot be applied" in problem("status > 5")
    assert "not supported" in problem("feature_id + 1 = 2")


def test_queryables_name_every_property_and_the_geometry(client, keys):
    reply = client.get("/ogc/collections/addresses/queryables", headers=keys["isp"])
    assert reply.headers["content-type"] == "application/schema+json"
    names = set(reply.json()["properties"])
    assert {"status", "postcode", "name", "geometry", "updated_at"} <= names
    conformance = client.get("/ogc/conformance", headers=keys["isp"]).json()["conformsTo"]
    assert "http://www.opengis.net/spec/cql2/1.0/conf/cql2-text" in conformance


@pytest.mark.usefixtures("committed")
@pytest.mark.skipif(shutil.which("ogrinfo") is None, reason="Debian's gdal-bin is needed")
def test_gdal_reads_the_service(live_server, engine):
    with Session(engine) as session:
        add_addresses(session, 25)
        plain, _ = create_api_key(session, Role.isp, "gdal", "isp-1", None)
        session.commit()
    done = subprocess.run(
        ["ogrinfo", "-ro", "-al", "-so", f"OAPIF:{live_server}/ogc", "addresses",
         "--config", "GDAL_HTTP_HEADERS", f"Authorization: Bearer {plain}"],
        capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Layer name: addresses" in done.stdout
    assert "Feature Count: 25" in done.stdout
    features = subprocess.run(
        ["ogrinfo", "-ro", f"OAPIF:{live_server}/ogc", "addresses", "-where", "feature_id = 7",
         "--config", "GDAL_HTTP_HEADERS", f"Authorization: Bearer {plain}"],
        capture_output=True, text=True, timeout=120)
    assert "House 6" in features.stdout, features.stdout + features.stderr


def _qgis_python() -> str | None:
    """Debian's python3 when it has QGIS's bindings (python3-qgis), else None."""
    python = shutil.which("python3", path="/usr/bin")
    if python is None:
        return None
    found = subprocess.run([python, "-c", "import qgis.core"], capture_output=True)
    return python if found.returncode == 0 else None


@pytest.mark.usefixtures("committed")
@pytest.mark.skipif(_qgis_python() is None, reason="Debian's python3-qgis is needed")
def test_qgis_reads_the_service(live_server, engine, repo_root):
    with Session(engine) as session:
        add_addresses(session, 25)
        session.execute(text("UPDATE addresses SET status = 'connected' "
                             "WHERE feature_id <= 4"))
        plain, _ = create_api_key(session, Role.isp, "qgis", "isp-1", None)
        session.commit()
    done = subprocess.run([str(_qgis_python()), str(repo_root / "tests/api/qgis_read.py"),
                           live_server, plain], capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stderr
    seen = json.loads(done.stdout.strip().splitlines()[-1])
    assert seen["valid"] and seen["crs"] == "EPSG:4326"
    assert {"feature_id", "name", "status", "postcode"} <= set(seen["fields"])
    assert (seen["count"], seen["connected"]) == (25, 4)
    assert seen["first"]["name"] == "House 0"
    assert seen["first"]["wkt"] == f"Point ({LON0} {LAT0})"
