"""Areas over HTTP: GeoJSON and file uploads, all-or-nothing refusals, transitions."""

import io
import json
import zipfile

import numpy as np
import pyogrio
import pytest
import shapely
from pyproj import Transformer
from shapely.geometry import Polygon, box
from sqlalchemy import text

from tests.api.test_api import assert_problem
from tests.seed import LAT0, LON0, STEP, add_addresses, grid_box


def feature(geometry, name="Phase 1", **extra):
    return {"type": "Feature", "geometry": geometry, "properties": {"name": name}, **extra}


def area_count(db_session):
    return db_session.execute(text("SELECT count(*) FROM areas")).scalar()


def test_create_an_area_and_read_it_with_counts(client, keys, db_session):
    add_addresses(db_session, 30, columns=10)  # 3 rows of 10
    reply = client.post("/areas", json=feature(grid_box(0, 0, 4, 1)), headers=keys["planner"])
    assert reply.status_code == 201, reply.text
    created = reply.json()["features"][0]
    assert created["properties"]["status"] == "planned"
    assert created["geometry"]["type"] == "MultiPolygon"

    one = client.get(f"/areas/{created['id']}", headers=keys["bss"]).json()
    assert one["properties"]["addresses_by_status"] == {"planned": 10}
    assert one["properties"]["work_orders_by_status"] == {}


def test_a_named_crs_is_converted_to_wgs84(client, keys, db_session):
    add_addresses(db_session, 10)
    to_bng = Transformer.from_crs(4326, 27700, always_xy=True)
    lon, lat = LON0 + 2 * STEP, LAT0  # address 3
    x, y = to_bng.transform(lon, lat)
    square = box(x - 20, y - 20, x + 20, y + 20)
    body = feature(json.loads(shapely.to_geojson(square)),
                   crs={"type": "name", "properties": {"name": "EPSG:27700"}})
    reply = client.post("/areas", json=body, headers=keys["planner"])
    assert reply.status_code == 201, reply.text
    area = reply.json()["features"][0]
    assert area["properties"]["source_crs"] == "EPSG:27700"
    counts = client.get(f"/areas/{area['id']}", headers=keys["planner"]).json()
    assert counts["properties"]["addresses_by_status"] == {"planned": 1}


BOWTIE = {"type": "Polygon", "coordinates": [[[0, 0], [1, 1], [1, 0], [0, 1], [0, 0]]]}


@pytest.mark.parametrize(("body", "query", "message"), [
    (feature(BOWTIE), "", "Self-intersection"),
    (feature({"type": "Polygon", "coordinates": []}), "", "the geometry is empty"),
    (feature({"type": "Polygon", "coordinates": [[[0, 0], [1, 1], [2, 2], [0, 0]]]}), "",
     "degenerate"),
    (feature(grid_box(0, 0, 1, 1)), "?crs=EPSG:999999", "unknown CRS"),
    (feature({"type": "Polygon", "coordinates": [[[0, 95], [1, 95], [1, 96], [0, 95]]]}),
     "", "out of range"),
    (feature({"type": "Point", "coordinates": [0, 0]}), "", "not a Polygon"),
    (feature(grid_box(0, 0, 1, 1), name=""), "", "no 'name' attribute"),
])
def test_bad_areas_are_refused_and_nothing_is_written(client, keys, db_session, body, query,
                                                      message):
    problem = assert_problem(client.post(f"/areas{query}", json=body,
                                         headers=keys["planner"]), 422)
    assert message in json.dumps(problem)
    assert area_count(db_session) == 0


def test_one_bad_feature_refuses_the_whole_collection(client, keys, db_session):
    collection = {"type": "FeatureCollection", "features": [
        feature(grid_box(0, 0, 1, 1), "good"), feature(BOWTIE, "bad")]}
    problem = assert_problem(client.post("/areas", json=collection, headers=keys["planner"]),
                             422)
    assert problem["errors"] == [{"feature": 1, "name": "bad",
                                  "message": "invalid polygon: Self-intersection[0.5 0.5]"}]
    assert area_count(db_session) == 0


def test_too_many_vertices_is_refused(client, keys, db_session):
    client.app.state.settings.max_area_vertices = 4
    problem = assert_problem(client.post("/areas", json=feature(grid_box(0, 0, 1, 1)),
                                         headers=keys["planner"]), 422)
    assert "5 vertices; the limit is 4" in json.dumps(problem)


def test_only_planners_create_areas(client, keys):
    for role in ("bss", "isp", "technician"):
        assert_problem(client.post("/areas", json=feature(grid_box(0, 0, 1, 1)),
                                   headers=keys[role]), 403)


# -- uploads -------------------------------------------------------------------------------
def write_layer(path, polygons, names, crs, driver):
    pyogrio.raw.write(str(path), shapely.to_wkb(polygons), [np.array(names, dtype=object)],
                      fields=["area_name"], geometry_type="Polygon", crs=crs, driver=driver)


def upload(client, keys, filename, data, **form):
    return client.post("/areas/uploads", files={"file": (filename, data)},
                       data={"name_field": "area_name", **form}, headers=keys["planner"])


def test_upload_a_geopackage(client, keys, db_session, tmp_path):
    add_addresses(db_session, 10)
    polygons = [Polygon(grid_box(0, 0, 1, 0)["coordinates"][0]),
                Polygon(grid_box(5, 0, 9, 0)["coordinates"][0])]
    write_layer(tmp_path / "areas.gpkg", polygons, ["North", "South"], "EPSG:4326", "GPKG")
    reply = upload(client, keys, "areas.gpkg", (tmp_path / "areas.gpkg").read_bytes())
    assert reply.status_code == 201, reply.text
    names = [f["properties"]["name"] for f in reply.json()["features"]]
    assert names == ["North", "South"]


def test_upload_a_zipped_shapefile_in_british_national_grid(client, keys, db_session,
                                                            tmp_path):
    add_addresses(db_session, 10)
    to_bng = Transformer.from_crs(4326, 27700, always_xy=True)
    x, y = to_bng.transform(LON0 + 4 * STEP, LAT0)  # address 5
    write_layer(tmp_path / "areas.shp", [box(x - 25, y - 25, x + 25, y + 25)], ["Lane"],
                "EPSG:27700", "ESRI Shapefile")
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as zipped:
        for part in tmp_path.glob("areas.*"):
            zipped.write(part, part.name)
    reply = upload(client, keys, "areas.zip", archive.getvalue())
    assert reply.status_code == 201, reply.text
    area = reply.json()["features"][0]
    assert area["properties"]["source_crs"] == "EPSG:27700"
    detail = client.get(f"/areas/{area['id']}", headers=keys["planner"]).json()
    assert detail["properties"]["addresses_by_status"] == {"planned": 1}
    inside = db_session.execute(text(
        "SELECT a.feature_id FROM addresses a JOIN areas ar "
        "ON ST_Intersects(a.location, ar.geometry) WHERE ar.id = :id"), {"id": area["id"]})
    assert inside.scalars().all() == [5]


def test_upload_a_geojson_file(client, keys):
    collection = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "geometry": grid_box(0, 0, 1, 1),
         "properties": {"area_name": "Green"}}]}
    reply = upload(client, keys, "areas.geojson", json.dumps(collection).encode())
    assert reply.status_code == 201, reply.text


@pytest.mark.parametrize(("filename", "data", "message"), [
    ("areas.txt", b"hello", "not a supported file"),
    ("areas.zip", b"PK not really", "not a zip archive"),
    ("areas.gpkg", b"SQLite format 3\x00 broken", "could not be read"),
])
def test_unreadable_uploads_are_refused(client, keys, db_session, filename, data, message):
    problem = assert_problem(upload(client, keys, filename, data), 422)
    assert message in problem["detail"]
    assert area_count(db_session) == 0


def test_upload_with_one_bad_feature_writes_nothing(client, keys, db_session, tmp_path):
    polygons = [Polygon(grid_box(0, 0, 1, 0)["coordinates"][0]),
                Polygon([(0, 0), (1, 1), (1, 0), (0, 1)])]
    write_layer(tmp_path / "a.gpkg", polygons, ["Good", "Bowtie"], "EPSG:4326", "GPKG")
    problem = assert_problem(upload(client, keys, "a.gpkg", (tmp_path / "a.gpkg").read_bytes()),
                             422)
    assert problem["errors"][0]["name"] == "Bowtie"
    assert "Self-intersection" in problem["errors"][0]["message"]
    assert area_count(db_session) == 0


def test_upload_without_the_name_attribute_is_refused(client, keys, tmp_path):
    write_layer(tmp_path / "a.gpkg", [box(0, 0, 1, 1)], ["x"], "EPSG:4326", "GPKG")
    reply = client.post("/areas/uploads", files={"file": ("a.gpkg",
                                                          (tmp_path / "a.gpkg").read_bytes())},
                        data={"name_field": "title"}, headers=keys["planner"])
    assert "has no attribute 'title'" in assert_problem(reply, 422)["detail"]


def test_upload_over_the_size_limit_is_refused(client, keys, db_session):
    client.app.state.settings.max_upload_bytes = 1000
    problem = assert_problem(upload(client, keys, "big.geojson", b" " * 1001), 422)
    assert "limit of 1000 bytes" in problem["detail"]


# -- transitions over HTTP -----------------------------------------------------------------
def test_transitions_over_http(client, keys, db_session):
    add_addresses(db_session, 10)
    area = client.post("/areas", json=feature(grid_box(0, 0, 9, 0)),
                       headers=keys["planner"]).json()["features"][0]["id"]
    refused = assert_problem(client.post(f"/areas/{area}/transition",
                                         json={"to": "in_deployment"},
                                         headers=keys["planner"]), 409)
    assert refused["allowed"] == ["surveyed"] and refused["current"] == "planned"

    survey = client.post(f"/areas/{area}/transition", json={"to": "surveyed", "reason": "walked"},
                         headers=keys["planner"])
    assert survey.status_code == 200 and survey.json()["surveyed_addresses"] == 10
    dry = client.post(f"/areas/{area}/transition", json={"to": "in_deployment",
                                                         "dry_run": True},
                      headers=keys["planner"]).json()
    real = client.post(f"/areas/{area}/transition", json={"to": "in_deployment"},
                       headers=keys["planner"]).json()
    assert dry["deployment"] == real["deployment"]
    assert real["deployment"]["work_orders"] == 10 and not real["dry_run"]
    detail = client.get(f"/areas/{area}", headers=keys["planner"]).json()["properties"]
    assert detail["status"] == "in_deployment"
    assert detail["addresses_by_status"] == {"in_deployment": 10}
    assert detail["work_orders_by_status"] == {"open": 10}
    history = db_session.execute(text(
        "SELECT from_status, to_status, reason FROM status_transitions "
        "WHERE entity_type = 'area' ORDER BY id")).all()
    assert [tuple(h) for h in history] == [("planned", "surveyed", "walked"),
                                           ("surveyed", "in_deployment", None)]


def test_transition_to_an_unknown_status_is_a_422(client, keys, db_session):
    area = client.post("/areas", json=feature(grid_box(0, 0, 1, 1)),
                       headers=keys["planner"]).json()["features"][0]["id"]
    reply = client.post(f"/areas/{area}/transition", json={"to": "finished"},
                        headers=keys["planner"])
    assert assert_problem(reply, 422)["errors"][0]["location"] == ["body", "to"]


def test_list_areas_pages_by_id(client, keys):
    for name in ("a", "b", "c"):
        client.post("/areas", json=feature(grid_box(0, 0, 1, 1), name),
                    headers=keys["planner"])
    page = client.get("/areas?limit=2", headers=keys["planner"]).json()
    assert [f["properties"]["name"] for f in page["features"]] == ["a", "b"]
    rest = client.get(page["links"][0]["href"], headers=keys["planner"]).json()
    assert [f["properties"]["name"] for f in rest["features"]] == ["c"]
