"""Work order life cycle over HTTP: evidence, limits, overrides, completion, scopes."""

import io
import json

import pytest
from PIL import Image
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from api.auth import create_api_key
from gis.status import Role
from sync.webhooks import create_subscription
from tests.api.test_api import assert_problem
from tests.seed import add_addresses
from workorders.orders import create_connection_order

LIGHT_OK = {"kind": "light_level", "dbm": -19.5, "wavelength_nm": 1490}
SPEED_OK = {"kind": "speed_test", "down_mbps": 480, "up_mbps": 95, "latency_ms": 4,
            "server": "speedtest.example"}
SERIAL = {"kind": "ont_serial", "serial": "ALCL12345678"}
SIGNED = {"kind": "signature", "signed_by": "A. Customer"}


@pytest.fixture
def contractor(db_session):
    """Keys for two contractors; the seeded connection template assigns contractor-1."""
    headers = {}
    for crew in ("contractor-1", "contractor-2"):
        plain, _ = create_api_key(db_session, Role.technician, crew, None, crew)
        headers[crew] = {"Authorization": f"Bearer {plain}"}
    return headers


@pytest.fixture
def order_id(db_session):
    """A connection order at a built address with an active 500/100 service."""
    add_addresses(db_session, 1, status="ready_for_service")
    db_session.execute(text("""
        INSERT INTO services (address_feature_id, isp_id, status, subscriber, product,
                              speed_profile, status_since, last_event_time)
        VALUES (1, 'isp-1', 'active', 'SUB-1', 'Fibre 500', '500/100', now(), now())"""))
    return create_connection_order(db_session, 1, "test")


def act(client, headers, order, position, action, body=None, **extra):
    path = f"/work-orders/{order}/tasks/{position}/{action}"
    return client.post(path, json=body, headers={**headers, **extra})


def finish_all(client, headers, order):
    for position, reading in ((1, SERIAL), (2, LIGHT_OK), (3, SPEED_OK), (4, SIGNED)):
        assert act(client, headers, order, position, "evidence", reading).status_code == 201
        reply = act(client, headers, order, position, "done")
        assert reply.status_code == 200, reply.text
    return reply.json()


def png(size=(4, 4)):
    buffer = io.BytesIO()
    Image.new("RGB", size, "green").save(buffer, "PNG")
    return buffer.getvalue()


def test_a_connection_order_completes_end_to_end(client, keys, contractor, order_id,
                                                 db_session):
    me = contractor["contractor-1"]
    assert act(client, me, order_id, 1, "start").json()["status"] == "in_progress"
    last = finish_all(client, me, order_id)
    assert last["order_completed"] and last["work_order"]["status"] == "completed"

    address = db_session.execute(text(
        "SELECT status, ont_serial FROM addresses WHERE feature_id = 1")).one()
    assert tuple(address) == ("connected", "ALCL12345678")
    record = client.get("/addresses/1/installation", headers=keys["planner"]).json()["current"]
    assert record["work_order_id"] == order_id
    body = record["record"]
    assert body["template"] == {"key": "ftth-connection", "version": 1}
    assert body["ont_serial"] == "ALCL12345678"
    assert [e["kind"] for e in body["evidence"]] == ["ont_serial", "light_level",
                                                      "speed_test", "signature"]
    assert {t["status"] for t in body["tasks"]} == {"done"}
    events = db_session.execute(text(
        "SELECT topic, payload FROM outbox WHERE topic <> 'work_order.created' "
        "ORDER BY id")).all()
    topics = [e.topic for e in events]
    assert topics == ["address.status_changed", "provisioning.requested",
                      "customer.notification", "customer.notification"]
    provisioning = events[1].payload
    assert provisioning["ont_serial"] == "ALCL12345678" and provisioning["isp"] == "isp-1"
    assert provisioning["service"]["speed_profile"] == "500/100"
    assert [e.payload["step"] for e in events[2:]] == ["installed", "ready"]


def test_done_is_refused_while_evidence_is_missing(client, contractor, order_id):
    me = contractor["contractor-1"]
    problem = assert_problem(act(client, me, order_id, 2, "done"), 409)
    assert problem["missing"] == ["received_power_dbm (between -28 and -8 dBm)"]


def test_out_of_limit_readings_are_refused_with_the_limit(client, contractor, order_id,
                                                          db_session):
    me = contractor["contractor-1"]
    low = act(client, me, order_id, 2, "evidence", {**LIGHT_OK, "dbm": -31.2})
    assert "received_power_dbm -31.2 is out of limits: it must be between -28 and -8 dBm" \
        in assert_problem(low, 422)["detail"]
    slow = act(client, me, order_id, 3, "evidence", {**SPEED_OK, "down_mbps": 300})
    assert "download_ratio_of_plan 0.6 is out of limits: it must be at least 0.9" \
        in assert_problem(slow, 422)["detail"]
    assert db_session.execute(text("SELECT count(*) FROM task_evidence")).scalar() == 0


def test_a_supervisor_override_lets_a_task_finish_and_is_recorded(client, keys, contractor,
                                                                   order_id):
    me = contractor["contractor-1"]
    assert_problem(client.post(f"/work-orders/{order_id}/tasks/2/override", json={
        "reason_code": "known_network_limit", "note": "OLT port degraded"}, headers=me), 403)
    bad_code = client.post(f"/work-orders/{order_id}/tasks/2/override", json={
        "reason_code": "because", "note": "x"}, headers=keys["planner"])
    assert_problem(bad_code, 422)
    ok = client.post(f"/work-orders/{order_id}/tasks/2/override", json={
        "reason_code": "known_network_limit", "note": "OLT port degraded"},
        headers=keys["planner"])
    assert ok.status_code == 200
    assert act(client, me, order_id, 2, "evidence", {**LIGHT_OK, "dbm": -31}).status_code \
        == 201
    assert act(client, me, order_id, 2, "done").status_code == 200
    history = client.get(f"/work-orders/{order_id}/history", headers=keys["planner"]).json()
    override = next(h for h in history if h["action"] == "override")
    assert override["after"]["code"] == "known_network_limit" and override["task"] == 2


def test_the_installation_record_cannot_be_changed(client, keys, contractor, order_id,
                                                   db_session):
    finish_all(client, contractor["contractor-1"], order_id)
    for method in ("PUT", "PATCH", "DELETE", "POST"):
        reply = client.request(method, "/addresses/1/installation", json={},
                               headers=keys["admin"])
        assert reply.status_code == 405
    savepoint = db_session.begin_nested()
    with pytest.raises(DBAPIError, match="immutable"):
        db_session.execute(text("UPDATE installation_records SET record = '{}'"))
    savepoint.rollback()
    savepoint = db_session.begin_nested()
    with pytest.raises(DBAPIError, match="immutable"):
        db_session.execute(text("DELETE FROM installation_records"))
    savepoint.rollback()


def test_photos_are_sniffed_hashed_and_stored(client, contractor, order_id, api_settings):
    me = contractor["contractor-1"]
    data = png()
    reply = client.post(f"/work-orders/{order_id}/tasks/1/photos",
                        files={"file": ("ont.txt", data, "text/plain")}, headers=me)
    assert reply.status_code == 201, reply.text
    body = reply.json()
    assert body["content_type"] == "image/png"
    stored = api_settings.evidence_dir / body["sha256"][:2] / body["sha256"]
    assert stored.read_bytes() == data


@pytest.mark.parametrize(("payload", "message"), [
    (b"%PDF-1.4 not a photo", "not a JPEG, PNG or HEIC"),
    (png()[:40], "damaged or incomplete"),
    (b"", "empty"),
])
def test_bad_photos_are_refused_and_nothing_is_stored(client, contractor, order_id,
                                                      api_settings, db_session, payload,
                                                      message):
    reply = client.post(f"/work-orders/{order_id}/tasks/1/photos",
                        files={"file": ("x.jpg", payload, "image/jpeg")},
                        headers=contractor["contractor-1"])
    assert message in assert_problem(reply, 422)["detail"]
    assert db_session.execute(text("SELECT count(*) FROM task_evidence")).scalar() == 0
    assert not api_settings.evidence_dir.exists() or not any(
        api_settings.evidence_dir.rglob("*"))


def test_an_oversized_photo_is_refused(client, contractor, order_id, db_session):
    client.app.state.settings.max_photo_bytes = 100
    reply = client.post(f"/work-orders/{order_id}/tasks/1/photos",
                        files={"file": ("x.png", png((64, 64)), "image/png")},
                        headers=contractor["contractor-1"])
    assert "the limit is 100" in assert_problem(reply, 422)["detail"]
    assert db_session.execute(text("SELECT count(*) FROM task_evidence")).scalar() == 0


def test_a_truncated_multipart_body_is_refused(client, contractor, order_id, db_session):
    boundary = "XyZ"
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; "
            f"filename=\"a.png\"\r\nContent-Type: image/png\r\n\r\n").encode() + png()[:30]
    reply = client.post(f"/work-orders/{order_id}/tasks/1/photos", content=body, headers={
        **contractor["contractor-1"],
        "Content-Type": f"multipart/form-data; boundary={boundary}"})
    assert reply.status_code in (400, 422)
    assert reply.headers["content-type"] == "application/problem+json"
    assert db_session.execute(text("SELECT count(*) FROM task_evidence")).scalar() == 0


def test_a_double_submit_records_once(client, contractor, order_id, db_session):
    me = {**contractor["contractor-1"], "Idempotency-Key": "form-7f3a"}
    first = act(client, me, order_id, 2, "evidence", LIGHT_OK)
    second = act(client, me, order_id, 2, "evidence", LIGHT_OK)
    assert first.status_code == second.status_code == 201
    assert first.json() == second.json() and second.headers["Idempotent-Replayed"] == "true"
    assert db_session.execute(text("SELECT count(*) FROM task_evidence")).scalar() == 1
    refused = act(client, {**me, "Idempotency-Key": "form-8"}, order_id, 2, "evidence",
                  {**LIGHT_OK, "dbm": -40})
    assert refused.status_code == 422
    retried = act(client, {**me, "Idempotency-Key": "form-8"}, order_id, 2, "evidence",
                  LIGHT_OK)
    assert retried.status_code == 201  # a refused request does not use up its key


def test_a_contractor_cannot_see_or_touch_another_contractors_task(client, contractor,
                                                                   order_id):
    other = contractor["contractor-2"]
    assert client.get("/work-orders", headers=other).json()["items"] == []
    assert_problem(client.get(f"/work-orders/{order_id}", headers=other), 404)
    assert_problem(client.get(f"/work-orders/{order_id}/history", headers=other), 404)
    assert_problem(act(client, other, order_id, 2, "evidence", LIGHT_OK), 404)
    assert_problem(act(client, other, order_id, 2, "done"), 404)
    mine = client.get(f"/work-orders/{order_id}", headers=contractor["contractor-1"]).json()
    assert "subscriber" not in json.dumps(mine)


def test_planners_schedule_reassign_cancel_and_everything_is_in_the_history(
        client, keys, contractor, order_id, db_session):
    planner = keys["planner"]
    scheduled = client.post(f"/work-orders/{order_id}/schedule", json={
        "start": "2026-12-01T08:00:00Z", "end": "2026-12-01T12:00:00Z", "crew": "crew-1"},
        headers=planner)
    assert scheduled.json()["status"] == "scheduled"
    moved = client.patch(f"/work-orders/{order_id}/tasks/4", json={
        "assignee": {"type": "crew", "id": "crew-1"}}, headers=planner).json()
    assert {t["assignee_id"] for t in moved["tasks"]} == {"contractor-1", "crew-1"}
    assert [t["position"] for t in client.get(
        f"/work-orders/{order_id}", headers=keys["technician"]).json()["tasks"]] == [4]
    cancelled = client.post(f"/work-orders/{order_id}/cancel", json={"reason": "moved out"},
                            headers=planner)
    assert cancelled.json()["status"] == "cancelled"
    assert_problem(act(client, contractor["contractor-1"], order_id, 1, "start"), 409)
    history = client.get(f"/work-orders/{order_id}/history", headers=planner).json()
    assert [h["action"] for h in history] == ["scheduled", "status", "reassigned", "status",
                                              "cancelled"]
    assert history[2]["before"] == {"type": "contractor", "id": "contractor-1"}
    notifications = db_session.execute(text(
        "SELECT payload ->> 'step' FROM outbox WHERE topic = 'customer.notification'"))
    assert notifications.scalars().all() == ["scheduled"]


def test_a_completed_order_can_be_reopened_and_counts_the_rework(client, keys, contractor,
                                                                 order_id, db_session):
    finish_all(client, contractor["contractor-1"], order_id)
    assert_problem(client.post(f"/work-orders/{order_id}/reopen", json={},
                               headers=keys["planner"]), 422)  # a reason is required
    reopened = client.post(f"/work-orders/{order_id}/reopen", json={
        "reason": "no light after storm", "tasks": [2], "charge_minor": 4500},
        headers=keys["planner"]).json()
    assert reopened["status"] == "open" and reopened["rework_count"] == 1
    charged = db_session.execute(text(
        "SELECT after ->> 'charge_minor' FROM work_order_changes WHERE action = 'reopened'"))
    assert charged.scalar_one() == "4500"  # for the no-charge rework metric
    assert [t["status"] for t in reopened["tasks"]] == ["done", "open", "done", "done"]
    me = contractor["contractor-1"]
    act(client, me, order_id, 2, "evidence", LIGHT_OK)
    assert act(client, me, order_id, 2, "done").json()["order_completed"]
    records = client.get("/addresses/1/installation", headers=keys["planner"]).json()
    assert len(records["earlier"]) == 1
    assert records["current"]["record"]["rework_count"] == 1


def test_only_skippable_tasks_may_be_skipped(client, keys, db_session):
    add_addresses(db_session, 1)
    db_session.execute(text("UPDATE addresses SET status = 'surveyed'"))
    from gis.status import AreaStatus
    from tests.seed import add_area, grid_box
    from workorders.deployment import transition_area
    area = add_area(db_session, grid_box(0, 0, 0, 0))
    transition_area(db_session, area, AreaStatus.in_deployment, "test")
    order = db_session.execute(text("SELECT id FROM work_orders")).scalar()
    crew = keys["technician"]  # crew-1 holds tasks 1, 2, 3 and 8 of ftth-sdu
    assert_problem(client.post(f"/work-orders/{order}/tasks/2/skip",
                               json={"reason": "no"}, headers=crew), 409)
    skipped = client.post(f"/work-orders/{order}/tasks/1/skip",
                          json={"reason": "route agreed by phone"}, headers=crew)
    assert skipped.status_code == 200
    task = next(t for t in skipped.json()["work_order"]["tasks"] if t["position"] == 1)
    assert task["status"] == "skipped" and task["skip_reason"] == "route agreed by phone"


def test_completion_events_go_out_to_webhook_subscribers(client, contractor, order_id,
                                                         db_session):
    """provisioning.requested and customer.notification reach subscriptions through the
    outbox like any event; the ISP's subscription gets them as they name its service."""
    create_subscription(db_session, "https://isp.example/hooks",
                        ["provisioning.requested", "customer.notification"], "isp-1", 1)
    create_subscription(db_session, "https://other.example/hooks", [], "isp-2", 2)
    finish_all(client, contractor["contractor-1"], order_id)
    delivered = db_session.execute(text(
        "SELECT s.isp_id, d.topic, d.payload ->> 'step' FROM webhook_deliveries d "
        "JOIN webhook_subscriptions s ON s.id = d.subscription_id ORDER BY d.id")).all()
    assert [tuple(d) for d in delivered] == [
        ("isp-1", "provisioning.requested", None), ("isp-1", "customer.notification",
                                                    "installed"),
        ("isp-1", "customer.notification", "ready")]
