"""Every route but health needs a key; roles are enforced on the server; keys are hashed."""

import pytest
from sqlalchemy import text

from api.auth import hash_key
from api.ratelimit import RateLimiter

PROTECTED = [
    ("GET", "/metrics"), ("GET", "/openapi.json"), ("GET", "/addresses"),
    ("GET", "/addresses/1"), ("GET", "/sync/runs"), ("POST", "/sync/runs"),
    ("GET", "/sync/runs/1"), ("GET", "/sync/runs/1/quarantine"),
    ("GET", "/areas"), ("POST", "/areas"), ("POST", "/areas/uploads"), ("GET", "/areas/1"),
    ("POST", "/areas/1/transition"), ("GET", "/work-order-templates"),
    ("POST", "/work-order-templates"), ("GET", "/work-order-templates/x"),
    ("PUT", "/work-order-templates/x"), ("DELETE", "/work-order-templates/x"),
    ("GET", "/work-orders"), ("POST", "/work-orders"), ("GET", "/work-orders/1"),
    ("POST", "/events"), ("GET", "/addresses/1/service-events"),
    ("POST", "/hub"), ("GET", "/hub"), ("DELETE", "/hub/1"),
    ("GET", "/addresses/1/installation"), ("GET", "/work-orders/1/history"),
    ("POST", "/work-orders/1/schedule"), ("POST", "/work-orders/1/cancel"),
    ("POST", "/work-orders/1/reopen"), ("PATCH", "/work-orders/1/tasks/1"),
    ("POST", "/work-orders/1/tasks/1/override"), ("POST", "/work-orders/1/tasks/1/start"),
    ("POST", "/work-orders/1/tasks/1/evidence"), ("POST", "/work-orders/1/tasks/1/photos"),
    ("POST", "/work-orders/1/tasks/1/done"), ("POST", "/work-orders/1/tasks/1/skip"),
    ("GET", "/isp/serviceable-addresses"), ("POST", "/isp/serviceable-addresses/search"),
    ("GET", "/isp/addresses/1/availability"), ("POST", "/isp/orders"),
    ("GET", "/ogc"), ("GET", "/ogc/conformance"), ("GET", "/ogc/collections"),
    ("GET", "/ogc/collections/x"), ("GET", "/ogc/collections/x/items"),
    ("GET", "/ogc/collections/x/items/1"), ("GET", "/ogc/collections/x/queryables"),
    ("GET", "/tiles/x/1/1/1.pbf"),
    ("GET", "/assurance/exceptions"), ("POST", "/assurance/exceptions/1/resolve"),
    ("POST", "/assurance/scans"), ("GET", "/assurance/metrics"),
    ("GET", "/assurance/settlements"), ("PUT", "/assurance/settlements/x/2024-01"),
]
PATH_PARAMETERS = {"{feature_id}": "1", "{run_id}": "1", "{area_id}": "1", "{key}": "x",
                   "{order_id}": "1", "{subscription_id}": "1", "{position}": "1",
                   "{collection_id}": "x", "{layer}": "x", "{z}": "1", "{x}": "1",
                   "{y}": "1", "{exception_id}": "1", "{isp}": "x",
                   "{period}": "2024-01"}


def _filled(path):
    for name, value in PATH_PARAMETERS.items():
        path = path.replace(name, value)
    return path


def test_the_list_of_protected_routes_is_complete(client, keys):
    spec = client.get("/openapi.json", headers=keys["admin"]).json()
    documented = {(method.upper(), path) for path, item in spec["paths"].items()
                  for method in item}
    templated = {(m, _filled(p)) for m, p in documented}
    assert templated - {("GET", "/healthz"), ("GET", "/readyz")} <= set(PROTECTED)


@pytest.mark.parametrize(("method", "path"), PROTECTED)
def test_missing_or_wrong_key_is_401(client, keys, method, path):
    for headers in ({}, {"Authorization": "Bearer fsk_wrong"}, {"Authorization": "Basic x"}):
        reply = client.request(method, path, headers=headers)
        assert reply.status_code == 401
        assert reply.headers["content-type"] == "application/problem+json"
        assert reply.headers["www-authenticate"] == "Bearer"


@pytest.mark.parametrize(("method", "path"), [
    ("GET", "/addresses"), ("GET", "/addresses/1"), ("GET", "/sync/runs"),
    ("POST", "/sync/runs"), ("GET", "/sync/runs/1")])
@pytest.mark.parametrize("role", ["isp", "technician"])
def test_wrong_role_is_403(client, keys, method, path, role):
    reply = client.request(method, path, headers=keys[role])
    assert reply.status_code == 403
    assert f"the key has role {role}" in reply.json()["detail"]


def test_health_answers_without_a_key(client):
    assert client.get("/healthz").json() == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200 and ready.json()["status"] == "ready", ready.text


def test_keys_are_stored_hashed(db_session, keys):
    plain = keys["planner"]["Authorization"].removeprefix("Bearer ")
    stored = db_session.execute(text("SELECT key_hash FROM api_keys WHERE role = 'planner'"))
    assert stored.scalar() == hash_key(plain) != plain


def test_revoked_key_is_refused(client, keys, db_session):
    db_session.execute(text("UPDATE api_keys SET revoked_at = now() WHERE role = 'planner'"))
    assert client.get("/addresses", headers=keys["planner"]).status_code == 401


def test_isp_and_technician_keys_must_be_bound(db_session):
    from api.auth import create_api_key
    from gis.errors import InvalidInput
    from gis.status import Role

    with pytest.raises(InvalidInput):
        create_api_key(db_session, Role.isp, "unbound")
    with pytest.raises(InvalidInput):
        create_api_key(db_session, Role.technician, "unbound")
    with pytest.raises(InvalidInput):
        create_api_key(db_session, Role.planner, "bound", isp_id="isp-1")


def test_each_key_has_its_own_rate_limit(client, keys):
    client.app.state.rate_limiter = RateLimiter(per_second=0.5, burst=2)
    assert client.get("/work-order-templates", headers=keys["planner"]).status_code == 200
    assert client.get("/work-order-templates", headers=keys["planner"]).status_code == 200
    limited = client.get("/work-order-templates", headers=keys["planner"])
    assert limited.status_code == 429
    assert limited.headers["content-type"] == "application/problem+json"
    assert 1 <= int(limited.headers["Retry-After"]) <= 2
    assert client.get("/work-order-templates", headers=keys["bss"]).status_code == 200


def test_metrics_are_for_operators_only(client, keys):
    for role in ("isp", "technician"):
        assert client.get("/metrics", headers=keys[role]).status_code == 403
    assert client.get("/metrics", headers=keys["bss"]).status_code == 200
