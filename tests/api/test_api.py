"""Problems, limits, metrics, addresses and sync runs over the API."""

import time

import pytest
from sqlalchemy import text

from sync.importing import run_sync, start_sync


def assert_problem(reply, status):
    assert reply.status_code == status
    assert reply.headers["content-type"] == "application/problem+json"
    body = reply.json()
    assert body["status"] == status and body["title"] and body["detail"]
    assert body["type"].startswith("urn:fibersync:problem:")
    return body


def test_unknown_address_is_a_404_problem(client, keys):
    body = assert_problem(client.get("/addresses/424242", headers=keys["planner"]), 404)
    assert "424242" in body["detail"]


def test_unknown_route_is_a_404_problem(client, keys):
    assert_problem(client.get("/nowhere", headers=keys["admin"]), 404)


def test_bad_parameter_is_a_422_problem_naming_it(client, keys):
    body = assert_problem(client.get("/addresses?limit=0", headers=keys["planner"]), 422)
    assert body["errors"][0]["location"] == ["query", "limit"]


def test_malformed_json_is_a_400_problem(client, keys):
    reply = client.post("/sync/runs", content=b"{not json",
                        headers={**keys["admin"], "Content-Type": "application/json"})
    assert_problem(reply, 400)


def test_oversized_body_is_a_413_problem(client, keys):
    big = b'{"full": false, "pad": "' + b"x" * 70_000 + b'"}'
    reply = client.post("/sync/runs", content=big,
                        headers={**keys["admin"], "Content-Type": "application/json"})
    body = assert_problem(reply, 413)
    assert "65536" in body["detail"]


def test_oversized_chunked_body_is_refused_too(client, keys):
    def chunks():
        for _ in range(20):
            yield b"x" * 8192

    reply = client.post("/sync/runs", content=chunks(),
                        headers={**keys["admin"], "Content-Type": "application/json"})
    assert_problem(reply, 413)


def test_metrics_are_prometheus_text(client, keys):
    client.get("/healthz")
    reply = client.get("/metrics", headers=keys["admin"])
    assert reply.status_code == 200 and reply.headers["content-type"].startswith("text/plain")
    assert 'fibersync_http_requests_total{method="GET",route="/healthz",status="200"}' \
        in reply.text
    assert "fibersync_addresses" in reply.text


def test_openapi_lists_the_routes(client, keys):
    spec = client.get("/openapi.json", headers=keys["planner"]).json()
    assert {"/sync/runs", "/sync/runs/{run_id}", "/addresses/{feature_id}"} <= set(spec["paths"])


def wait_for(client, headers, run_id, timeout=20.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        run = client.get(f"/sync/runs/{run_id}", headers=headers).json()
        if run["state"] != "running":
            return run
        time.sleep(0.05)
    raise AssertionError(f"run {run_id} still running")


@pytest.mark.usefixtures("committed")
def test_sync_run_started_and_followed_over_the_api(client, keys):
    started = client.post("/sync/runs", headers=keys["bss"])
    assert started.status_code == 202
    body = started.json()
    assert body["state"] == "running"
    run = wait_for(client, keys["bss"], body["id"])
    assert run["state"] == "succeeded" and run["progress"] == 1.0
    assert run["inserted"] == 120 and run["features_read"] == 120
    assert run["circuits_linked"] > 0
    listed = client.get("/sync/runs", headers=keys["planner"]).json()
    assert listed[0]["id"] == body["id"]


@pytest.mark.usefixtures("committed")
def test_second_start_while_running_is_a_409(client, keys, database_url):
    lock, _ = start_sync(database_url, False, "test")
    try:
        body = assert_problem(client.post("/sync/runs", headers=keys["admin"]), 409)
        assert "already running" in body["detail"]
    finally:
        lock.close()


@pytest.mark.usefixtures("committed")
def test_quarantine_is_readable(client, keys, sim, database_url):
    sim[0].addresses.put({"type": "Feature", "id": 777, "geometry": None,
                          "properties": {"name": "nowhere"}})
    result = run_sync(database_url, sim[1])
    rows = client.get(f"/sync/runs/{result.run_id}/quarantine", headers=keys["admin"]).json()
    assert [(r["feature_id"], r["reason"]) for r in rows] == [("777", "feature has no geometry")]


@pytest.mark.usefixtures("committed")
def test_addresses_as_geojson_with_keyset_paging(client, keys, sim, database_url):
    run_sync(database_url, sim[1])
    first = client.get("/addresses?limit=50", headers=keys["planner"]).json()
    assert first["type"] == "FeatureCollection" and len(first["features"]) == 50
    next_link = next(link["href"] for link in first["links"] if link["rel"] == "next")
    second = client.get(next_link, headers=keys["planner"]).json()
    assert second["features"][0]["id"] == 51
    one = client.get("/addresses/1", headers=keys["bss"]).json()
    assert one["geometry"]["type"] == "Point"
    assert one["properties"]["circuit_name"] == "WH-FTTH-000001"
    assert [c["id"] for c in one["properties"]["circuits"]] == [1, 121]


@pytest.mark.usefixtures("committed")
def test_readyz_reports_a_schema_behind_head(client, engine):
    with engine.begin() as conn:
        head = conn.execute(text("SELECT version_num FROM alembic_version")).scalar_one()
        conn.execute(text("UPDATE alembic_version SET version_num = 'old'"))
    try:
        body = assert_problem(client.get("/readyz"), 503)
        assert "fibersync db upgrade" in body["detail"]
    finally:
        with engine.begin() as conn:
            conn.execute(text("UPDATE alembic_version SET version_num = :head"),
                         {"head": head})


@pytest.mark.usefixtures("committed")
def test_metrics_show_the_outbox(client, keys, engine):
    with engine.begin() as conn:  # /metrics reads on its own connection
        conn.execute(text("INSERT INTO outbox (topic, key, payload, created_at) "
                          "VALUES ('x', 'k', '{}', now() - interval '90 seconds')"))
    body = client.get("/metrics", headers=keys["admin"]).text
    assert 'fibersync_outbox_events{state="pending"} 1.0' in body
    oldest = next(line for line in body.splitlines()
                  if line.startswith("fibersync_outbox_oldest_pending_seconds "))
    assert float(oldest.split()[1]) >= 90
    assert 'fibersync_outbox_delivery_lag_seconds{quantile="0.95"}' in body


def test_the_map_page_and_its_libraries_load_without_a_key(client, repo_root):
    page = client.get("/")
    assert page.status_code == 200 and "/vendor/maplibre-gl.js" in page.text
    assert '"basemapUrl": null' in page.text  # no basemap by default: works offline
    for name in ("maplibre-gl.js", "maplibre-gl.css", "terra-draw.js",
                 "terra-draw-maplibre-gl-adapter.js"):
        assert client.get(f"/vendor/{name}").status_code == 200, name
    assert client.get("/map/app.js").status_code == 200
    assert_problem(client.get("/vendor/..%2Fpackage.json"), 404)
    assert_problem(client.get("/vendor/lodash.js"), 404)


def test_the_basemap_is_configurable(api_settings, engine):
    from fastapi.testclient import TestClient

    from api.app import create_app
    settings = api_settings.model_copy(update={
        "basemap_url": "https://tiles.example/{z}/{x}/{y}.png</script>"})
    with TestClient(create_app(settings, engine=engine)) as client:
        page = client.get("/").text
    assert '"basemapUrl": "https://tiles.example/{z}/{x}/{y}.png<\\/script>"' in page
