"""Templates (versioned) and work orders over HTTP: reads, filters, customer orders, roles."""

import pytest
from sqlalchemy import text

from gis.status import AreaStatus
from tests.api.test_api import assert_problem
from tests.seed import add_addresses, add_area, grid_box
from workorders.deployment import transition_area

TASK = {"kind": "light_level_test", "name": "Light level",
        "assignee": {"type": "contractor", "id": "contractor-7"},
        "evidence": [{"kind": "measurement", "quantity": "received_power_dbm", "unit": "dBm",
                      "min": -28, "max": -8}]}
AERIAL = {"key": "sdu-aerial", "name": "SDU with aerial drop", "priority": 20,
          "rule": {"all": [{"attribute": "gis_attributes.drop", "op": "eq",
                            "value": "aerial"}]},
          "tasks": [TASK]}


def deploy(db_session, first_col=0, last_col=9):
    area = add_area(db_session, grid_box(first_col, 0, last_col, 0))
    transition_area(db_session, area, AreaStatus.in_deployment, "test")
    return area


def test_seeded_templates_are_listed(client, keys):
    listed = client.get("/work-order-templates", headers=keys["planner"]).json()
    assert [t["key"] for t in listed] == ["ftth-connection", "ftth-mdu", "ftth-sdu"]
    sdu = next(t for t in listed if t["key"] == "ftth-sdu")
    assert sdu["is_default"] and len(sdu["tasks"]) == 8
    light = next(t for t in sdu["tasks"] if t["kind"] == "light_level_test")
    assert light["evidence"] == [{"kind": "measurement", "quantity": "received_power_dbm",
                                  "unit": "dBm", "min": -28, "max": -8}]


def test_create_revise_and_archive_a_template(client, keys, db_session):
    created = client.post("/work-order-templates", json=AERIAL, headers=keys["planner"])
    assert created.status_code == 201, created.text
    assert created.json()["version"] == 1
    add_addresses(db_session, 5, attributes={"drop": "aerial"})
    deploy(db_session, 0, 1)  # two orders from version 1

    revised = client.put("/work-order-templates/sdu-aerial",
                         json={k: v for k, v in AERIAL.items() if k != "key"}
                         | {"tasks": [TASK, {**TASK, "name": "Again"}]},
                         headers=keys["planner"])
    assert revised.status_code == 200, revised.text
    assert revised.json()["version"] == 2 and len(revised.json()["tasks"]) == 2
    orders = client.get("/work-orders?template=sdu-aerial", headers=keys["planner"]).json()
    assert {o["template_version"] for o in orders["items"]} == {1}
    old = client.get("/work-order-templates/sdu-aerial?version=1", headers=keys["bss"]).json()
    assert len(old["tasks"]) == 1

    archived = client.delete("/work-order-templates/sdu-aerial", headers=keys["planner"])
    assert archived.json()["archived"]
    keys_listed = [t["key"] for t in client.get("/work-order-templates",
                                                headers=keys["planner"]).json()]
    assert "sdu-aerial" not in keys_listed


@pytest.mark.parametrize(("change", "location"), [
    ({"rule": {"all": [{"attribute": "colour", "op": "eq", "value": "red"}]}}, "rule"),
    ({"rule": {"all": [{"attribute": "building", "op": "gte", "value": "tall"}]}}, "rule"),
    ({"tasks": [{**TASK, "evidence": [{"kind": "measurement", "quantity": "x", "unit": "y",
                                       "min": 5, "max": 1}]}]}, "tasks"),
    ({"tasks": [{**TASK, "kind": "dig_a_hole"}]}, "tasks"),
    ({"tasks": []}, "tasks"),
    ({"rule": None}, "body"),
    ({"key": "Not A Key"}, "key"),
])
def test_bad_templates_are_refused(client, keys, change, location):
    reply = client.post("/work-order-templates", json={**AERIAL, **change},
                        headers=keys["planner"])
    problem = assert_problem(reply, 422)
    assert any(location in e["location"] for e in problem["errors"])


def test_a_second_default_is_a_conflict(client, keys):
    body = {**AERIAL, "key": "other-default", "rule": None, "is_default": True}
    problem = assert_problem(client.post("/work-order-templates", json=body,
                                         headers=keys["planner"]), 409)
    assert "ftth-sdu" in problem["detail"]


def test_only_admins_and_planners_edit_templates(client, keys):
    for role in ("bss", "isp", "technician"):
        assert_problem(client.post("/work-order-templates", json=AERIAL, headers=keys[role]),
                       403)
    assert client.post("/work-order-templates", json=AERIAL,
                       headers=keys["admin"]).status_code == 201


def test_list_work_orders_with_filters_and_keyset_paging(client, keys, db_session):
    add_addresses(db_session, 30, building_every=3)
    area = deploy(db_session, 0, 9)
    deploy(db_session, 10, 19)
    everything = client.get("/work-orders?limit=1000", headers=keys["planner"]).json()["items"]
    assert len(everything) == 20
    in_area = client.get(f"/work-orders?area={area}", headers=keys["planner"]).json()["items"]
    assert {o["address_feature_id"] for o in in_area} == set(range(1, 11))
    mdu = client.get("/work-orders?template=ftth-mdu", headers=keys["bss"]).json()["items"]
    assert {o["address_feature_id"] % 3 for o in mdu} == {1}  # building_every=3: n % 3 == 0
    assert client.get("/work-orders?status=completed",
                      headers=keys["planner"]).json()["items"] == []
    page = client.get("/work-orders?limit=15", headers=keys["planner"]).json()
    rest = client.get(page["next"], headers=keys["planner"]).json()
    assert [o["id"] for o in page["items"] + rest["items"]] == [o["id"] for o in everything]
    assert rest["next"] is None


def test_a_work_order_shows_its_tasks_and_required_evidence(client, keys, db_session):
    add_addresses(db_session, 1)
    deploy(db_session, 0, 0)
    order_id = client.get("/work-orders", headers=keys["planner"]).json()["items"][0]["id"]
    order = client.get(f"/work-orders/{order_id}", headers=keys["planner"]).json()
    assert order["template"] == "ftth-sdu" and order["status"] == "open"
    assert [t["position"] for t in order["tasks"]] == list(range(1, 9))
    assert {t["assignee_type"] for t in order["tasks"]} == {"crew", "contractor"}
    light = next(t for t in order["tasks"] if t["kind"] == "light_level_test")
    assert light["evidence_required"][0]["min"] == -28


def test_technicians_see_only_their_own_tasks(client, keys, db_session):
    add_addresses(db_session, 2)
    deploy(db_session, 0, 1)
    mine = client.get("/work-orders", headers=keys["technician"]).json()["items"]  # crew-1
    assert len(mine) == 2
    order = client.get(f"/work-orders/{mine[0]['id']}", headers=keys["technician"]).json()
    assert {t["assignee_id"] for t in order["tasks"]} == {"crew-1"}
    assert len(order["tasks"]) == 4
    assert_problem(client.get("/work-orders?assignee=contractor-1",
                              headers=keys["technician"]), 403)
    db_session.execute(text("UPDATE work_order_tasks SET assignee_id = 'crew-2'"))
    assert client.get("/work-orders", headers=keys["technician"]).json()["items"] == []
    assert_problem(client.get(f"/work-orders/{mine[0]['id']}", headers=keys["technician"]),
                   404)


def test_customer_order_at_a_built_address(client, keys, db_session):
    add_addresses(db_session, 3, status="connected")
    db_session.execute(text("UPDATE addresses SET status = 'planned' WHERE feature_id = 2"))
    db_session.execute(text("UPDATE addresses SET retired = true WHERE feature_id = 3"))
    reply = client.post("/work-orders", json={"address_feature_id": 1, "reason": "order 77"},
                        headers=keys["bss"])
    assert reply.status_code == 201, reply.text
    order = reply.json()
    assert order["purpose"] == "connection" and order["template"] == "ftth-connection"
    assert [t["kind"] for t in order["tasks"]] == ["ont_mount", "light_level_test",
                                                   "speed_test", "sign_off"]

    twice = assert_problem(client.post("/work-orders", json={"address_feature_id": 1},
                                       headers=keys["bss"]), 409)
    assert twice["work_order_id"] == order["id"]
    unbuilt = assert_problem(client.post("/work-orders", json={"address_feature_id": 2},
                                         headers=keys["bss"]), 409)
    assert "planned" in unbuilt["detail"]
    assert "retired" in assert_problem(client.post("/work-orders", json={
        "address_feature_id": 3}, headers=keys["bss"]), 409)["detail"]
    assert_problem(client.post("/work-orders", json={"address_feature_id": 99},
                               headers=keys["bss"]), 404)
    assert db_session.execute(text("SELECT count(*) FROM work_orders")).scalar() == 1
    events = db_session.execute(text("SELECT topic FROM outbox")).scalars().all()
    assert events == ["work_order.created"]


def test_isp_keys_cannot_see_work_orders(client, keys):
    assert_problem(client.get("/work-orders", headers=keys["isp"]), 403)


def test_an_address_shows_its_open_work_order(client, keys, db_session):
    add_addresses(db_session, 2)
    deploy(db_session, 0, 0)
    one = client.get("/addresses/1", headers=keys["planner"]).json()["properties"]
    assert one["status"] == "in_deployment"
    assert one["open_work_order"]["status"] == "open"
    assert one["open_work_order"]["purpose"] == "deployment"
    other = client.get("/addresses/2", headers=keys["planner"]).json()["properties"]
    assert other["open_work_order"] is None
