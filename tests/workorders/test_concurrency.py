"""Two overlapping areas deployed from two connections at once: one open order per address."""

import threading
import time

import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session

from gis.status import AreaStatus
from tests.seed import add_addresses, add_area, grid_box
from workorders.deployment import transition_area

pytestmark = pytest.mark.usefixtures("committed")


def _two_overlapping_areas(engine):
    with Session(engine) as session:
        add_addresses(session, 200, columns=200)
        first = add_area(session, grid_box(0, 0, 119, 0), "west")
        second = add_area(session, grid_box(80, 0, 199, 0), "east")
        session.commit()
    return first, second


def _open_orders_per_address(engine):
    with engine.connect() as conn:
        return dict(conn.execute(text(
            "SELECT address_feature_id, count(*) FROM work_orders "
            "WHERE status IN ('open', 'scheduled', 'in_progress') GROUP BY 1")).all())


def _wait_for_lock_waiter(engine, timeout=10.0):
    deadline = time.monotonic() + timeout
    with engine.connect() as conn:
        while time.monotonic() < deadline:
            waiting = conn.execute(text(
                "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                "AND datname = current_database()")).scalar()
            if waiting:
                return
            time.sleep(0.02)
    raise AssertionError("the second deployment never waited for the first")


def _deploy_and_commit(engine, area_id, actor, results, barrier=None):
    with Session(engine) as session:
        if barrier:
            barrier.wait()
        results[actor] = transition_area(session, area_id, AreaStatus.in_deployment, actor)
        session.commit()


def test_second_deployment_waits_for_the_first_then_skips_what_it_took(engine):
    west, east = _two_overlapping_areas(engine)
    results = {}
    with Session(engine) as first:
        results["west"] = transition_area(first, west, AreaStatus.in_deployment, "west")
        second = threading.Thread(target=_deploy_and_commit, args=(engine, east, "east",
                                                                   results))
        second.start()
        _wait_for_lock_waiter(engine)  # east is blocked on west's uncommitted orders
        first.commit()
    second.join(timeout=30)

    assert results["west"].deployment.work_orders == 120
    assert results["east"].deployment.work_orders == 80
    assert results["east"].deployment.skipped["open_work_order"] == 40
    per_address = _open_orders_per_address(engine)
    assert len(per_address) == 200 and set(per_address.values()) == {1}


def test_simultaneous_deployments_never_make_two_open_orders(engine):
    west, east = _two_overlapping_areas(engine)
    results = {}
    barrier = threading.Barrier(2)
    threads = [threading.Thread(target=_deploy_and_commit, args=(engine, area, name, results,
                                                                 barrier))
               for area, name in ((west, "west"), (east, "east"))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    made = sum(r.deployment.work_orders for r in results.values())
    assert made == 200
    per_address = _open_orders_per_address(engine)
    assert len(per_address) == 200 and set(per_address.values()) == {1}
