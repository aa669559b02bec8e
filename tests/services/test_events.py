"""Service events: idempotent by id, applied by event time, refused one by one."""

from sqlalchemy import text

from tests.api.test_api import assert_problem
from tests.seed import add_addresses


def event(event_id, kind, at, address=1, isp="isp-1", **extra):
    return {"eventId": event_id, "eventType": f"service.{kind}",
            "eventTime": f"2026-11-0{at}T10:00:00Z",
            "event": {"address": address, "isp": isp, **extra}}


def post(client, keys, body):
    reply = client.post("/events", json=body, headers=keys["bss"])
    assert reply.status_code == 200, reply.text
    return reply.json()


def service(client, keys, address=1):
    return client.get(f"/addresses/{address}", headers=keys["planner"]).json()[
        "properties"]["services"]


def test_a_life_cycle_in_order(client, keys, db_session):
    add_addresses(db_session, 1)
    result = post(client, keys, [
        event("e1", "ordered", 1, subscriber="SUB-1", product="Fibre 500"),
        event("e2", "activated", 2, speedProfile="500/100", ontSerial="ALCL1"),
        event("e3", "changed", 3, product="Fibre 1000", speedProfile="1000/200"),
        event("e4", "suspended", 4), event("e5", "resumed", 5)])
    assert result["accepted"] == 5 and result["rejected"] == result["duplicate"] == 0
    [current] = service(client, keys)
    assert current["status"] == "active" and current["subscriber"] == "SUB-1"
    assert current["product"] == "Fibre 1000" and current["speed_profile"] == "1000/200"
    assert current["ont_serial"] == "ALCL1"
    assert current["activated_at"].startswith("2026-11-02")
    assert current["status_since"].startswith("2026-11-05")
    history = client.get("/addresses/1/service-events", headers=keys["planner"]).json()
    assert [h["event_id"] for h in history] == ["e1", "e2", "e3", "e4", "e5"]
    assert {h["outcome"] for h in history} == {"applied"}


def test_the_same_event_twice_is_applied_once(client, keys, db_session):
    add_addresses(db_session, 1)
    post(client, keys, [event("e1", "ordered", 1)])
    again = post(client, keys, [event("e1", "ordered", 1), event("e1", "ordered", 1)])
    assert [r["status"] for r in again["results"]] == ["duplicate", "duplicate"]
    assert db_session.execute(text("SELECT count(*) FROM service_events")).scalar() == 1
    in_one_batch = post(client, keys, [event("e2", "activated", 2),
                                       event("e2", "activated", 2)])
    assert [r["status"] for r in in_one_batch["results"]] == ["accepted", "duplicate"]


def test_events_apply_by_their_own_time_not_by_arrival(client, keys, db_session):
    add_addresses(db_session, 1)
    post(client, keys, [event("e3", "suspended", 3)])  # nothing to suspend yet: refused
    post(client, keys, [event("e1", "ordered", 1)])
    result = post(client, keys, [event("e2", "activated", 2)])  # arrives last, lands second
    assert result["accepted"] == 1
    [current] = service(client, keys)
    assert current["status"] == "suspended"  # e3 now follows e2 and applies
    assert current["activated_at"].startswith("2026-11-02")
    outcomes = dict(db_session.execute(text(
        "SELECT event_id, outcome FROM service_events")).all())
    assert outcomes == {"e1": "applied", "e2": "applied", "e3": "applied"}


def test_a_late_event_older_than_the_state_does_not_roll_it_back(client, keys, db_session):
    add_addresses(db_session, 1)
    post(client, keys, [event("e1", "ordered", 1), event("e2", "activated", 2),
                        event("e4", "changed", 4, speedProfile="1000/200")])
    post(client, keys, [event("e3", "changed", 3, speedProfile="300/50")])  # late
    [current] = service(client, keys)
    assert current["speed_profile"] == "1000/200"


def test_impossible_transitions_and_bad_events_fail_alone(client, keys, db_session):
    add_addresses(db_session, 2)
    db_session.execute(text("UPDATE addresses SET retired = true WHERE feature_id = 2"))
    result = post(client, keys, [
        event("ok", "ordered", 1),
        event("bad-order", "resumed", 2),          # ordered -> resumed is impossible
        event("nowhere", "ordered", 1, address=999),
        event("gone", "ordered", 1, address=2),
        event("odd", "teleported", 1),
        {"eventType": "service.ordered"},           # no eventId
        {"eventId": "naive", "eventType": "service.ordered",
         "eventTime": "2026-11-01T10:00:00", "event": {"address": 1, "isp": "x"}},
        {"eventId": "noisp", "eventType": "service.ordered",
         "eventTime": "2026-11-01T10:00:00Z", "event": {"address": 1}},
        "not an object",
    ])
    statuses = [(r["eventId"], r["status"]) for r in result["results"]]
    assert statuses[0] == ("ok", "accepted")
    assert all(status == "rejected" for _, status in statuses[1:])
    reasons = [r["reason"] for r in result["results"][1:]]
    assert reasons[:5] == ["resumed cannot follow ordered", "address 999 is unknown",
                           "address 2 is retired",
                           "unknown event type 'teleported'; one of ordered, activated, "
                           "changed, suspended, resumed, deactivated",
                           "eventId is missing"]
    assert "no time zone" in reasons[5] and reasons[6] == "event.isp is missing"
    assert reasons[7] == "an event must be a JSON object"
    stored = db_session.execute(text(
        "SELECT outcome, count(*) FROM service_events GROUP BY 1")).all()
    assert dict(stored) == {"applied": 1, "rejected": 1, "invalid": 7}
    assert [s["status"] for s in service(client, keys)] == ["ordered"]


def test_services_per_isp_are_separate(client, keys, db_session):
    add_addresses(db_session, 1)
    post(client, keys, [event("a1", "activated", 1, isp="isp-a"),
                        event("b1", "ordered", 2, isp="isp-b"),
                        event("a2", "deactivated", 3, isp="isp-a")])
    assert [(s["isp"], s["status"]) for s in service(client, keys)] == [
        ("isp-a", "ceased"), ("isp-b", "ordered")]


def test_each_service_change_is_queued_for_the_write_back(client, keys, db_session):
    add_addresses(db_session, 1)
    post(client, keys, [event("e1", "ordered", 1), event("e2", "activated", 2)])
    post(client, keys, [event("e2", "activated", 2)])  # a duplicate changes nothing
    queued = db_session.execute(text(
        "SELECT topic, key, payload ->> 'status' FROM outbox ORDER BY id")).all()
    assert [tuple(q) for q in queued] == [("service.changed", "address:1", "active")]


def test_malformed_json_and_wrong_roles(client, keys):
    reply = client.post("/events", content=b"[{", headers={
        **keys["bss"], "Content-Type": "application/json"})
    assert_problem(reply, 400)
    for role in ("planner", "isp", "technician"):
        assert_problem(client.post("/events", json=[], headers=keys[role]), 403)
