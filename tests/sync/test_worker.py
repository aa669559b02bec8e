"""The outbox worker against the simulator over HTTP: write-back, batching, faults, leases."""

import threading
import time
from datetime import datetime

import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session

from fixtures.iqgeo_sim.faults import FaultRule
from gis.outbox import discard_parked, outbox_health, replay_parked
from gis.status import AreaStatus
from services.events import IncomingEvent, record_events
from sync.importing import run_sync
from sync.worker import Worker, WorkerSettings, queue
from tests.seed import add_addresses, add_area, grid_box
from workorders.deployment import transition_area

pytestmark = pytest.mark.usefixtures("committed")
FAST = WorkerSettings(batch_keys=100, lease_seconds=30, poll_seconds=0.2, max_attempts=3,
                      backoff_base=0.01, backoff_cap=0.02, iqgeo_attempts=1)


def activate(engine, address, isp="isp-1", at="2026-11-02T10:00:00+00:00", event_id=None):
    with Session(engine) as session:
        record_events(session, [IncomingEvent(
            payload={}, event_id=event_id or f"act-{address}-{isp}-{at}",
            event_type="activated", event_time=datetime.fromisoformat(at), address=address,
            isp=isp, attributes={"subscriber": f"SUB-{address}", "product": "Fibre 500",
                                 "speed_profile": "500/100", "ont_serial": None})])
        session.commit()


def seed(engine, count):
    with Session(engine) as session:
        add_addresses(session, count)
        session.commit()


def drain(worker):
    while worker.run_once():
        pass


def pending(engine):
    with engine.connect() as conn:
        return outbox_health(conn)


def test_a_service_activation_reaches_the_iqgeo_address(engine, sim):
    simulator, settings = sim
    seed(engine, 5)
    activate(engine, 3)
    worker = Worker(engine, FAST, settings)
    drain(worker)

    props = simulator.addresses.get(3)["properties"]
    assert props["service_status"] == "In Service"
    assert (props["subscriber"], props["isp"], props["product"], props["speed_profile"]) == (
        "SUB-3", "isp-1", "Fibre 500", "500/100")
    assert props["service_since"] == "2026-11-02"
    assert pending(engine).pending == 0 and worker.delivered == 1
    assert simulator.requests["transaction"] == 1


def test_the_write_back_never_sends_iqgeo_owned_fields(engine, sim):
    simulator, settings = sim
    seed(engine, 2)
    activate(engine, 1)
    drain(Worker(engine, FAST, settings))
    [(_, fid, sent)] = simulator.writes
    assert fid == 1
    assert set(sent) == {"id", "service_status", "subscriber", "isp", "product",
                         "speed_profile", "service_since"}


def test_an_import_right_after_a_write_back_changes_nothing(engine, sim, database_url):
    simulator, settings = sim
    first = run_sync(database_url, settings, False, "test")
    assert first.counts.inserted == 120
    activate(engine, 7)
    drain(Worker(engine, FAST, settings))
    assert simulator.addresses.get(7)["properties"]["service_status"] == "In Service"

    again = run_sync(database_url, settings, False, "test")

    assert again.counts.updated == 0 and again.counts.unchanged == 120
    with engine.connect() as conn:
        status = conn.execute(text("SELECT s.status FROM services s "
                                   "WHERE address_feature_id = 7")).scalar()
    assert status == "active"
    assert pending(engine).pending == 0  # the import queued nothing to write back


def test_deployment_writes_planned_and_many_addresses_go_in_one_transaction(engine, sim):
    simulator, settings = sim
    seed(engine, 40)
    with Session(engine) as session:
        area = add_area(session, grid_box(0, 0, 39, 0))
        transition_area(session, area, AreaStatus.in_deployment, "test")
        session.commit()
    worker = Worker(engine, FAST, settings)
    drain(worker)
    assert {simulator.addresses.get(i)["properties"]["service_status"]
            for i in range(1, 41)} == {"Planned"}
    assert simulator.requests["transaction"] == 1
    assert pending(engine).pending == 0  # work order and area events are settled too


def test_a_bad_address_is_isolated_and_parked_the_rest_delivered(engine, sim):
    simulator, settings = sim
    seed(engine, 5)
    with Session(engine) as session:
        add_addresses(session, 1, first_id=5000)  # not in IQGeo
        session.commit()
    for address in (1, 2, 5000, 4):
        activate(engine, address)
    worker = Worker(engine, FAST, settings)
    drain(worker)

    assert [simulator.addresses.get(i)["properties"]["service_status"] for i in (1, 2, 4)] \
        == ["In Service"] * 3
    health = pending(engine)
    assert health.parked == 1 and health.pending == 0
    with engine.connect() as conn:
        key, error = conn.execute(text(
            "SELECT key, last_error FROM outbox WHERE parked_at IS NOT NULL")).one()
    assert key == "address:5000" and error.startswith("permanent:")


def test_transient_failures_are_retried_then_parked_when_out_of_attempts(engine, sim):
    simulator, settings = sim
    seed(engine, 2)
    activate(engine, 1)
    simulator.faults.add(FaultRule("503", route="transaction", times=None))
    worker = Worker(engine, FAST, settings)
    worker.run_once()
    assert worker.retried == 1 and pending(engine).parked == 0
    for _ in range(20):
        time.sleep(0.03)
        worker.run_once()
    assert pending(engine).parked == 1  # FAST allows 3 attempts
    with engine.connect() as conn:
        error = conn.execute(text("SELECT last_error FROM outbox")).scalar()
    assert error.startswith("gave up after 3 attempts")

    simulator.faults.clear()
    with engine.begin() as conn:
        assert replay_parked(conn, None) == 1
    drain(worker)
    assert simulator.addresses.get(1)["properties"]["service_status"] == "In Service"


def test_429_with_retry_after_is_honoured(engine, sim):
    simulator, settings = sim
    seed(engine, 1)
    activate(engine, 1)
    simulator.faults.add(FaultRule("429", route="transaction", retry_after=30))
    worker = Worker(engine, FAST, settings)
    worker.run_once()
    with engine.connect() as conn:
        wait = conn.execute(text(
            "SELECT extract(epoch FROM available_at - now()) FROM outbox")).scalar()
    assert wait > 20  # not retried before IQGeo's proxy said so


def test_one_address_is_never_claimed_by_two_workers(engine):
    seed(engine, 3)
    activate(engine, 1, at="2026-11-02T10:00:00+00:00")
    activate(engine, 2)
    with engine.connect() as first, engine.connect() as second:
        mine = queue.claim(first, "w1", 10, 30)
        activate(engine, 1, isp="isp-2")  # a newer event for an address in flight
        theirs = queue.claim(second, "w2", 10, 30)
    assert {c.key for c in mine} == {"address:1", "address:2"}
    assert theirs == []  # address:1's new event waits for w1's delivery


def test_a_dead_workers_lease_expires_and_the_events_are_claimed_again(engine):
    seed(engine, 1)
    activate(engine, 1)
    with engine.connect() as conn:
        assert queue.claim(conn, "dead", 10, 0.2)  # and never settles
        assert queue.claim(conn, "alive", 10, 30) == []
        time.sleep(0.3)
        again = queue.claim(conn, "alive", 10, 30)
    assert [c.attempts for c in again] == [2]


def test_discarded_events_stay_in_the_table_marked(engine):
    seed(engine, 1)
    activate(engine, 1)
    with engine.begin() as conn:
        conn.execute(text("UPDATE outbox SET parked_at = now(), last_error = 'x'"))
        assert discard_parked(conn, None, "test") == 1
        error = conn.execute(text("SELECT last_error FROM outbox")).scalar()
    assert error == "discarded by test: x"
    assert pending(engine).pending == 0


def test_the_worker_wakes_on_notify(engine, sim):
    _, settings = sim
    seed(engine, 1)
    slow_poll = FAST.model_copy(update={"poll_seconds": 60})
    worker = Worker(engine, slow_poll, settings)
    stop = threading.Event()
    thread = threading.Thread(target=worker.run, args=(stop,))
    thread.start()
    try:
        time.sleep(0.3)  # the worker is now waiting on LISTEN
        activate(engine, 1)
        deadline = time.monotonic() + 10  # far below the 60 s poll
        while worker.delivered == 0 and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        stop.set()
        with engine.begin() as conn:
            conn.execute(text("NOTIFY fibersync_outbox"))
        thread.join(timeout=10)
    assert worker.delivered == 1
