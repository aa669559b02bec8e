"""Open access over HTTP: every search form, bad input, paging, and ISP isolation."""

import time

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.orm import Session

from api.app import create_app
from api.auth import create_api_key, hash_key
from gis.scoping import enter_isp_scope, leave_isp_scope
from gis.status import Role
from tests.api.test_api import assert_problem
from tests.seed import LAT0, LON0, STEP, add_addresses

STREETS = {1: "Mühlenweg", 2: "Muhlenstrasse", 3: "Mill Road", 4: "Millers Way",
           5: "Church Lane", 6: "Mill_Lane"}


@pytest.fixture
def town(db_session):
    """Ten built addresses in a row (68 m apart), two not yet built, one retired."""
    add_addresses(db_session, 13, status="ready_for_service")
    for fid, street in STREETS.items():
        db_session.execute(text("UPDATE addresses SET street_name = :s, name = :n "
                                "WHERE feature_id = :f"),
                           {"s": street, "n": f"{fid} {street}", "f": fid})
    db_session.execute(text("UPDATE addresses SET postcode = 'CB4 1AA' "
                            "WHERE feature_id IN (7, 8)"))
    db_session.execute(text("UPDATE addresses SET status = 'connected' WHERE feature_id = 9"))
    db_session.execute(text("UPDATE addresses SET status = 'planned' "
                            "WHERE feature_id IN (11, 12)"))
    db_session.execute(text("UPDATE addresses SET retired = true WHERE feature_id = 13"))
    db_session.execute(text("""
        INSERT INTO services (address_feature_id, isp_id, status, subscriber, status_since,
                              last_event_time)
        VALUES (9, 'isp-1', 'active', 'MINE', now(), now()),
               (10, 'isp-2', 'active', 'THEIRS', now(), now())"""))


@pytest.fixture
def isp2(db_session):
    plain, _ = create_api_key(db_session, Role.isp, "other isp", "isp-2", None)
    return {"Authorization": f"Bearer {plain}"}


def ids_of(reply):
    assert reply.status_code == 200, reply.text
    return [f["id"] for f in reply.json()["features"]]


def search(client, keys, query, role="isp"):
    return ids_of(client.get(f"/isp/serviceable-addresses?{query}", headers=keys[role]))


def test_a_radius_is_metres_on_the_spheroid_far_north(client, keys, db_session):
    """At 78 N a degree of longitude is 23 km: the index's box must still hold the circle."""
    db_session.execute(text("""
        INSERT INTO addresses (feature_id, name, location, status, content_hash)
        SELECT id, 'Hut ' || id,
               ST_Project(ST_SetSRID(ST_MakePoint(15.6, 78.2), 4326)::geography,
                          metres, radians(bearing))::geometry,
               'ready_for_service', id
        FROM (VALUES (101, 990, 90), (102, 1010, 90), (103, 995, 0), (104, 1005, 180))
             AS v(id, metres, bearing)"""))
    assert search(client, keys, "lon=15.6&lat=78.2&radius=1000") == [101, 103]


@pytest.mark.usefixtures("town")
def test_every_search_form(client, keys):
    everything = list(range(1, 11))
    assert search(client, keys, "") == everything  # retired and unbuilt are not serviceable
    # 0.001 degrees of longitude at 52.1 N is 68.4 m: 100 m reaches the neighbour only.
    assert search(client, keys, f"lon={LON0}&lat={LAT0}&radius=100") == [1, 2]
    assert search(client, keys, f"lon={LON0}&lat={LAT0}&radius=140") == [1, 2, 3]
    west, east = LON0 + 2.5 * STEP, LON0 + 5.5 * STEP
    assert search(client, keys, f"bbox={west},{LAT0 - STEP},{east},{LAT0 + STEP}") == [4, 5, 6]
    assert search(client, keys, "postcode=cb41aa") == [7, 8]
    assert search(client, keys, "ids=3,5,12,13,999") == [3, 5]
    assert search(client, keys, "status=connected") == [9]
    assert search(client, keys, "line=taken") == [9, 10]
    assert search(client, keys, "active_service=false") == [1, 2, 3, 4, 5, 6, 7, 8]


@pytest.mark.usefixtures("town")
def test_street_search_ignores_case_and_accents(client, keys):
    assert search(client, keys, "street=muhl") == [1, 2]
    assert search(client, keys, "street=MÜHLEN") == [1, 2]
    assert search(client, keys, "street=mill") == [3, 4, 6]
    assert search(client, keys, "street=Mill_") == [6]  # _ is a character, not a wildcard
    assert search(client, keys, "street=5%20Church") == [5]  # the address line works too


@pytest.mark.usefixtures("town")
def test_polygon_search(client, keys):
    west, east = LON0 + 0.5 * STEP, LON0 + 2.5 * STEP
    polygon = {"type": "Polygon", "coordinates": [[[west, LAT0 - STEP], [east, LAT0 - STEP],
                                                   [east, LAT0 + STEP], [west, LAT0 + STEP],
                                                   [west, LAT0 - STEP]]]}
    reply = client.post("/isp/serviceable-addresses/search",
                        json={"geometry": polygon, "limit": 10}, headers=keys["isp"])
    assert ids_of(reply) == [2, 3]


@pytest.mark.usefixtures("town")
@pytest.mark.parametrize(("query", "message"), [
    ("bbox=0,0,200,1", "out of range"), ("bbox=1,1,0,2", "inverted"),
    ("bbox=a,b,c,d", "four numbers"), ("lon=0&lat=52&radius=-5", "more than 0"),
    ("lon=0&lat=52&radius=1000000", "at most 20000"), ("lon=0&lat=52", "together"),
    ("limit=5000", "less than or equal to 1000"), ("ids=x", "comma-separated"),
    ("lat=95&lon=0&radius=10", "less than or equal to 90"),
])
def test_bad_searches_are_clear_problems(client, keys, query, message):
    reply = client.get(f"/isp/serviceable-addresses?{query}", headers=keys["isp"])
    problem = assert_problem(reply, 422)
    assert message in str(problem)


@pytest.mark.usefixtures("town")
def test_an_invalid_polygon_is_refused(client, keys):
    bowtie = {"type": "Polygon", "coordinates": [[[0, 0], [1, 1], [1, 0], [0, 1], [0, 0]]]}
    reply = client.post("/isp/serviceable-addresses/search", json={"geometry": bowtie},
                        headers=keys["isp"])
    assert "Self-intersection" in assert_problem(reply, 422)["detail"]


@pytest.mark.usefixtures("town")
def test_paging_is_stable_while_addresses_are_added(client, keys, db_session):
    first = client.get("/isp/serviceable-addresses?limit=4", headers=keys["isp"]).json()
    assert ids_of_page(first) == [1, 2, 3, 4]
    add_addresses(db_session, 3, first_id=100, status="connected")  # ahead of the cursor
    add_addresses(db_session, 1, first_id=0, status="connected")  # behind it
    seen = ids_of_page(first)
    page = first
    while page["links"]:
        page = client.get(page["links"][0]["href"], headers=keys["isp"]).json()
        seen += ids_of_page(page)
    assert seen == sorted(set(seen))  # no duplicates, in order
    assert set(range(1, 11)) <= set(seen)  # nothing that was there is skipped


def ids_of_page(page):
    return [f["id"] for f in page["features"]]


@pytest.mark.usefixtures("town")
def test_isps_see_lines_everywhere_but_only_their_own_services(client, keys, isp2):
    mine = client.get("/isp/serviceable-addresses?ids=9,10", headers=keys["isp"]).json()
    assert [(f["properties"]["line"], f["properties"]["your_service"])
            for f in mine["features"]] == [("taken", "active"), ("taken", None)]
    theirs = client.get("/isp/serviceable-addresses?ids=9,10", headers=isp2).json()
    assert [f["properties"]["your_service"] for f in theirs["features"]] == [None, "active"]
    for fid, own in ((9, "active"), (10, None)):
        found = client.get(f"/isp/addresses/{fid}/availability", headers=keys["isp"]).json()
        assert found["line"] == "taken" and found["your_service"] == own
        assert "THEIRS" not in str(found) and "isp-2" not in str(found)
    assert_problem(client.get("/addresses/10", headers=keys["isp"]), 403)
    assert_problem(client.get("/addresses/10/service-events", headers=keys["isp"]), 403)


@pytest.mark.usefixtures("committed")
def test_a_real_request_is_scoped_from_its_first_statement(api_settings, engine):
    """No test session here: each request opens its own session and is scoped, whether its
    key was looked up or came from the key cache."""
    with Session(engine) as session:
        add_addresses(session, 2, status="ready_for_service")
        session.execute(text("""
            INSERT INTO services (address_feature_id, isp_id, status, subscriber,
                                  status_since, last_event_time)
            VALUES (1, 'isp-1', 'active', 'A', now(), now()),
                   (2, 'isp-2', 'active', 'B', now(), now())"""))
        one, _ = create_api_key(session, Role.isp, "one", "isp-1", None)
        two, _ = create_api_key(session, Role.isp, "two", "isp-2", None)
        session.commit()
    settings = api_settings.model_copy(update={"principal_cache_keys": 10})
    with TestClient(create_app(settings, engine=engine)) as client:
        cache = client.app.state.principal_cache
        deadline = time.monotonic() + 5
        while not cache.listening:
            assert time.monotonic() < deadline
            time.sleep(0.01)
        for attempt in ("looked up", "cached"):
            for key, own in ((one, ["active", None]), (two, [None, "active"])):
                reply = client.get("/isp/serviceable-addresses?ids=1,2",
                                   headers={"Authorization": f"Bearer {key}"})
                assert [f["properties"]["your_service"]
                        for f in reply.json()["features"]] == own, attempt
        assert cache.get(hash_key(one)) is not None


@pytest.mark.usefixtures("town")
def test_availability_says_why_not(client, keys):
    built = client.get("/isp/addresses/1/availability", headers=keys["isp"]).json()
    assert built["serviceable"] and built["max_product"]["product"] == "Fibre 1000"
    assert built["line"] == "free" and built["ont_installed"] is False
    planned = client.get("/isp/addresses/11/availability", headers=keys["isp"]).json()
    assert not planned["serviceable"] and "not built" in planned["reason"]
    retired = client.get("/isp/addresses/13/availability", headers=keys["isp"]).json()
    assert retired["reason"] == "the address has been retired"
    assert_problem(client.get("/isp/addresses/999/availability", headers=keys["isp"]), 404)


@pytest.mark.usefixtures("town")
def test_row_level_security_keeps_an_isp_to_its_rows_whatever_the_query(db_session):
    enter_isp_scope(db_session, "isp-2")
    try:
        rows = db_session.execute(text("SELECT address_feature_id, isp_id FROM services"))
        assert [tuple(r) for r in rows] == [(10, "isp-2")]
        changed = db_session.execute(text("UPDATE services SET subscriber = 'X' "
                                          "WHERE isp_id = 'isp-1'")).rowcount
        assert changed == 0
        lines = db_session.execute(text("SELECT count(*) FROM address_lines")).scalar()
        assert lines == 2  # taken lines are visible to all, without their owner
    finally:
        leave_isp_scope(db_session)
    assert db_session.execute(text("SELECT count(*) FROM services")).scalar() == 2


def order(client, headers, ref, address, product="Fibre 500"):
    return client.post("/isp/orders", json={"order_ref": ref, "address": address,
                                            "product": product, "subscriber": "S-1"},
                       headers=headers)


@pytest.mark.usefixtures("town")
def test_ordering_at_a_connected_and_at_a_built_address(client, keys, db_session):
    db_session.execute(text("UPDATE addresses SET status = 'connected' WHERE feature_id = 2"))
    connected = order(client, keys["isp"], "A-1", 2)
    assert connected.status_code == 201, connected.text
    assert connected.json()["outcome"] == "ordered"
    service = db_session.execute(text("SELECT isp_id, status, product, speed_profile "
                                      "FROM services WHERE address_feature_id = 2")).one()
    assert tuple(service) == ("isp-1", "ordered", "Fibre 500", "500/100")
    provisioning = db_session.execute(text(
        "SELECT payload FROM outbox WHERE topic = 'provisioning.requested'")).scalar_one()
    assert provisioning["order_ref"] == "A-1" and provisioning["isp"] == "isp-1"

    built = order(client, keys["isp"], "A-2", 1).json()
    assert built["outcome"] == "work_order"
    purpose = db_session.execute(text("SELECT purpose FROM work_orders WHERE id = :id"),
                                 {"id": built["work_order_id"]}).scalar()
    assert purpose == "connection"


@pytest.mark.usefixtures("town")
def test_the_same_order_reference_answers_the_same(client, keys, db_session):
    first = order(client, keys["isp"], "A-9", 1)
    again = order(client, keys["isp"], "A-9", 1)
    assert first.status_code == 201 and again.status_code == 200
    assert again.json()["replayed"] and again.json()["work_order_id"] == first.json()[
        "work_order_id"]
    other = order(client, keys["isp"], "A-9", 3)
    assert assert_problem(other, 422)["refusal"] == "duplicate"
    assert db_session.execute(text("SELECT count(*) FROM work_orders")).scalar() == 1


@pytest.mark.usefixtures("town")
@pytest.mark.parametrize(("address", "product", "refusal"), [
    (999, "Fibre 500", "unknown_address"), (1, "Fibre 9000", "unknown_product"),
    (11, "Fibre 500", "not_serviceable"), (13, "Fibre 500", "not_serviceable"),
    (10, "Fibre 500", "line_taken"), (9, "Fibre 500", "duplicate"),
])
def test_refused_orders_say_why_and_are_kept(client, keys, db_session, address, product,
                                             refusal):
    reply = order(client, keys["isp"], f"R-{address}", address, product)
    problem = assert_problem(reply, 422)
    assert problem["refusal"] == refusal and problem["detail"]
    assert "THEIRS" not in str(problem) and "isp-2" not in str(problem)
    kept = db_session.execute(text("SELECT refusal FROM isp_orders")).scalars().all()
    assert kept == [refusal]


@pytest.mark.usefixtures("committed")
def test_refusals_are_counted_in_the_data_quality_metric(client, keys, engine):
    with engine.begin() as conn:  # /metrics reads on its own connection
        conn.execute(text("INSERT INTO isp_orders (isp_id, order_ref, outcome, refusal) "
                          "VALUES ('isp-1', 'R-2', 'refused', 'unknown_address')"))
    body = client.get("/metrics", headers=keys["admin"]).text
    assert 'fibersync_isp_orders{outcome="refused",refusal="unknown_address"} 1.0' in body


def test_only_isp_keys_order(client, keys):
    for role in ("admin", "planner", "bss", "technician"):
        assert_problem(order(client, keys[role], "X", 1), 403)


@pytest.mark.usefixtures("town")
def test_the_planners_search_finds_by_id_postcode_and_address_start(client, keys):
    def planner_search(q):
        return ids_of(client.get("/addresses", params={"q": q, "limit": 10},
                                 headers=keys["planner"]))

    assert planner_search("12") == [12]  # any status: planners see the unbuilt too
    assert planner_search("13") == []  # retired
    assert planner_search("cb4 1aa") == [7, 8]
    assert sorted(planner_search("MÜHL")) == [1, 2]
    assert planner_search("5 church") == [5]
    assert planner_search("nowhere") == []
    assert client.get("/addresses?q=", headers=keys["planner"]).status_code == 422
    assert client.get("/addresses?q=12", headers=keys["isp"]).status_code == 403
