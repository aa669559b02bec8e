"""The worker as a process, under fire: 10,000 service events over 2,000 addresses while the
simulator throttles, fails, drops connections and goes down for 30 s, and workers are
SIGKILLed mid-batch. Nothing may be lost, repeated out of order, or retried forever."""

import subprocess
import time
from collections import defaultdict
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session

from fixtures.iqgeo_sim import FaultRule
from gis.outbox import outbox_health
from services.events import IncomingEvent, record_events
from tests.acceptance.test_cli import FIBERSYNC, env_for
from tests.seed import add_addresses

ADDRESSES, EVENTS_EACH = 2000, 5
MISSING = range(900_001, 900_006)  # in FiberSync, not in IQGeo: permanent 404s
START = datetime(2026, 11, 1, tzinfo=UTC)
WORKER_ENV = {"FIBERSYNC_WORKER_LEASE_SECONDS": "8", "FIBERSYNC_WORKER_POLL_SECONDS": "0.3",
              "FIBERSYNC_WORKER_MAX_ATTEMPTS": "1000", "FIBERSYNC_WORKER_BACKOFF_BASE": "0.2",
              "FIBERSYNC_WORKER_BACKOFF_CAP": "2", "FIBERSYNC_WORKER_BATCH_KEYS": "200",
              "IQGEO_BACKOFF_BASE": "0.05", "IQGEO_BACKOFF_CAP": "0.2"}


def lifecycle(address, step):
    """Event `step` of an address: ordered, activated, then changes to profile p2, p3, p4."""
    kind = ("ordered", "activated", "changed", "changed", "changed")[step]
    return IncomingEvent(
        payload={"step": step}, event_id=f"{address}-{step}", event_type=kind,
        event_time=START + timedelta(minutes=step), address=address, isp="isp-1",
        attributes={"subscriber": f"S{address}", "product": "Fibre",
                    "speed_profile": f"p{step}", "ont_serial": None})


def feed(engine, batch):
    with Session(engine) as session:
        results = record_events(session, batch)
        session.commit()
    assert {r.status for r in results} == {"accepted"}


def start_worker(database_url, settings, repo_root):
    return subprocess.Popen([*FIBERSYNC, "worker"], cwd=repo_root,
                            env=env_for(database_url, settings, **WORKER_ENV),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def kill_mid_batch(engine, worker, timeout=60):
    """SIGKILL the worker while it holds a claim (a batch in flight)."""
    deadline = time.monotonic() + timeout
    with engine.connect() as conn:
        while time.monotonic() < deadline:
            holding = conn.execute(text(
                "SELECT count(*) FROM outbox WHERE claimed_by LIKE :me "
                "AND claimed_until > now()"), {"me": f"%:{worker.pid}:%"}).scalar()
            if holding:
                worker.kill()
                worker.wait()
                return holding
            time.sleep(0.005)
    raise AssertionError("the worker never held a claim")


@pytest.mark.usefixtures("committed")
def test_no_update_is_lost_or_reordered_under_faults_and_kills(make_sim, engine,
                                                               database_url, repo_root):
    simulator, settings = make_sim(addresses=ADDRESSES)
    with Session(engine) as session:
        add_addresses(session, ADDRESSES)
        for fid in MISSING:
            add_addresses(session, 1, first_id=fid)
        session.commit()
    certain = [  # each fires exactly `times` times, early in the run
        FaultRule("429", route="transaction", after=2, times=3, retry_after=0.3),
        FaultRule("reset", route="transaction", after=4, times=3),
        FaultRule("503", route="*", after=8, times=5),
        FaultRule("502", route="put", after=3, times=5),
    ]
    simulator.faults.set([*certain,  # and a background of random ones throughout
                          FaultRule("429", route="transaction", times=None, probability=0.03,
                                    retry_after=0.3),
                          FaultRule("503", route="*", times=None, probability=0.02),
                          FaultRule("reset", route="transaction", times=None,
                                    probability=0.02)])
    # The addresses IQGeo does not have come first, so the first batches are refused as a
    # whole and then sent one PUT at a time.
    first = [lifecycle(a, 0) for a in range(1, ADDRESSES + 1)]
    feed(engine, [lifecycle(fid, 0) for fid in MISSING] + first[:1000])
    workers = [start_worker(database_url, settings, repo_root) for _ in range(2)]
    kills = 0
    try:
        for step in range(EVENTS_EACH):  # 5 rounds of 2,000 events, 1,000 per batch
            batch = [lifecycle(a, step) for a in range(1, ADDRESSES + 1)]
            if step > 0:
                feed(engine, batch[:1000])
            feed(engine, batch[1000:])
            if step in (1, 2, 3):
                kills += kill_mid_batch(engine, workers[step % 2]) > 0
                workers[step % 2] = start_worker(database_url, settings, repo_root)
            if step == 2:
                simulator.faults.add(FaultRule("503", route="*", times=None, for_seconds=30))
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline:
            with engine.connect() as conn:
                health = outbox_health(conn)
            if health.pending == 0:
                break
            time.sleep(0.5)
    finally:
        for worker in workers:
            worker.kill()
            worker.wait()

    assert kills == 3
    assert [rule.fired for rule in certain] == [rule.times for rule in certain]
    assert simulator.faults.rules[-1].fired > 0  # the 30 s outage
    assert health.pending == 0, health
    assert health.parked == len(MISSING)  # the permanent errors, and nothing else
    with engine.connect() as conn:
        parked = conn.execute(text(
            "SELECT key, attempts, last_error FROM outbox WHERE parked_at IS NOT NULL")).all()
    assert {p.key for p in parked} == {f"address:{fid}" for fid in MISSING}
    assert all(p.last_error.startswith("permanent:") for p in parked)

    received = defaultdict(list)
    for feature_type, fid, props in simulator.writes:
        if feature_type == "address" and "speed_profile" in props:
            received[fid].append(int(props["speed_profile"][1:]))
    assert len(received) == ADDRESSES
    assert sum(len(steps) for steps in received.values()) > ADDRESSES  # several for some
    for fid in range(1, ADDRESSES + 1):
        steps = received[fid]
        assert steps == sorted(steps), f"address {fid} received {steps}"
        final = simulator.addresses.get(fid)["properties"]
        assert (final["speed_profile"], final["service_status"], final["subscriber"]) == (
            "p4", "In Service", f"S{fid}")
