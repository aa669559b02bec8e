"""Deployment benchmark: an area of about 100,000 addresses (8 tasks each) among 1,000,000
moved into deployment by `transition_area`, next to the bare INSERT ... SELECT statements that
create the same rows (orders, tasks, status moves, transitions, outbox events), in one run.

    .venv/bin/python bench/deploy_bench.py --addresses 1000000 --area-addresses 100000

The addresses are written straight to the database (the import has its own benchmark).
Each round resets the rows, then times one deployment and one bare run; prints each time.
"""

import argparse
import os
import sys
import time
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from import_bench import fresh_database  # noqa: E402

from gis.database import sqlalchemy_url  # noqa: E402
from gis.status import AreaStatus  # noqa: E402
from workorders.deployment import transition_area  # noqa: E402

COLUMNS = 1000  # addresses per grid row; an area is a band of whole rows
STEP = 0.0002


def load_addresses(engine: Engine, count: int, area_addresses: int) -> int:
    """`count` addresses on a grid (one in ten in a block of flats), and a surveyed area
    over the first `area_addresses` of them. Returns the area id."""
    rows = max(1, area_addresses // COLUMNS)
    with engine.begin() as conn:
        conn.execute(text("""
            INSERT INTO addresses (feature_id, name, street_name, building, location,
                                   status, content_hash)
            SELECT n + 1, 'House ' || n, 'Bench Street',
                   CASE WHEN n % 10 = 0 THEN 'Block ' || (n / 10) ELSE '' END,
                   ST_SetSRID(ST_MakePoint(0.1 + (n % :cols) * :step,
                                           52.0 + (n / :cols) * :step), 4326),
                   'surveyed', n
            FROM generate_series(0, :count - 1) AS n"""),
            {"cols": COLUMNS, "step": STEP, "count": count})
        area_id = conn.execute(text("""
            INSERT INTO areas (name, status, geometry, created_by)
            VALUES ('bench', 'surveyed', ST_Multi(ST_MakeEnvelope(
                0.1 - :half, 52.0 - :half, 0.1 + (:cols - 0.5) * :step,
                52.0 + (:rows - 0.5) * :step, 4326)), 'bench')
            RETURNING id"""), {"half": STEP / 2, "cols": COLUMNS, "step": STEP,
                               "rows": rows}).scalar_one()
    with engine.connect() as conn:
        conn.execution_options(isolation_level="AUTOCOMMIT").execute(
            text("VACUUM ANALYZE addresses"))
    return int(area_id)


def reset(engine: Engine, area_id: int) -> None:
    with engine.begin() as conn:
        conn.execute(text("TRUNCATE work_order_tasks, work_orders, outbox, "
                          "status_transitions, webhook_deliveries CASCADE"))
        conn.execute(text("UPDATE addresses SET status = 'surveyed' "
                          "WHERE status <> 'surveyed'"))
        conn.execute(text("UPDATE areas SET status = 'surveyed' WHERE id = :id"),
                     {"id": area_id})
    with engine.connect() as conn:
        conn.execution_options(isolation_level="AUTOCOMMIT").execute(
            text("VACUUM ANALYZE addresses, work_orders, work_order_tasks, outbox, "
                 "status_transitions"))


def timed_deployment(engine: Engine, area_id: int, dry_run: bool = False) -> tuple[float, int]:
    started = time.perf_counter()
    with Session(engine) as session:
        outcome = transition_area(session, area_id, AreaStatus.in_deployment, "bench",
                                  dry_run=dry_run)
        session.commit()
    assert outcome.deployment is not None
    return time.perf_counter() - started, outcome.deployment.work_orders


BARE = [
    """INSERT INTO work_orders (address_feature_id, area_id, template_id, purpose, created_by)
       SELECT a.feature_id, ar.id,
              CASE WHEN a.building <> '' THEN :mdu ELSE :sdu END, 'deployment', 'bench'
       FROM addresses a JOIN areas ar ON ST_Intersects(a.location, ar.geometry)
       WHERE ar.id = :area AND NOT a.retired AND a.status IN ('planned', 'surveyed')""",
    """INSERT INTO work_order_tasks (work_order_id, position, kind, assignee_type, assignee_id)
       SELECT w.id, t.position, t.kind, t.assignee_type, t.assignee_id
       FROM work_orders w JOIN work_order_template_tasks t ON t.template_id = w.template_id
       WHERE w.area_id = :area""",
    """UPDATE addresses a SET status = 'in_deployment', updated_at = now()
       FROM work_orders w WHERE w.area_id = :area AND a.feature_id = w.address_feature_id""",
    """INSERT INTO status_transitions (entity_type, entity_id, from_status, to_status, actor)
       SELECT 'address', address_feature_id::text, 'surveyed', 'in_deployment', 'bench'
       FROM work_orders WHERE area_id = :area""",
    """INSERT INTO outbox (topic, key, payload)
       SELECT 'address.status_changed', 'address:' || address_feature_id,
              jsonb_build_object('feature_id', address_feature_id, 'to', 'in_deployment')
       FROM work_orders WHERE area_id = :area
       UNION ALL
       SELECT 'work_order.created', 'address:' || address_feature_id,
              jsonb_build_object('work_order_id', id, 'feature_id', address_feature_id)
       FROM work_orders WHERE area_id = :area""",
]


def timed_bare(engine: Engine, area_id: int) -> tuple[float, int]:
    with engine.connect() as conn:
        templates = dict(conn.execute(text(
            "SELECT key, id FROM work_order_templates WHERE is_current")).all())
    params = {"area": area_id, "mdu": templates["ftth-mdu"], "sdu": templates["ftth-sdu"]}
    started = time.perf_counter()
    with engine.begin() as conn:
        orders = conn.execute(text(BARE[0]), params).rowcount
        for statement in BARE[1:]:
            conn.execute(text(statement), params)
        conn.execute(text("UPDATE areas SET status = 'in_deployment' WHERE id = :area"), params)
    return time.perf_counter() - started, orders


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--addresses", type=int, default=1_000_000)
    parser.add_argument("--area-addresses", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--database-url", default=os.environ.get(
        "BENCH_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/fibersync_deploy_bench"))
    args = parser.parse_args()

    fresh_database(args.database_url)
    engine = create_engine(sqlalchemy_url(args.database_url))
    started = time.perf_counter()
    area_id = load_addresses(engine, args.addresses, args.area_addresses)
    print(f"loaded {args.addresses:,} addresses in {time.perf_counter() - started:.1f} s")

    dry_time, would = timed_deployment(engine, area_id, dry_run=True)
    print(f"dry run: {would:,} work orders would be made, in {dry_time:.2f} s")
    for round_number in range(1, args.rounds + 1):
        reset(engine, area_id)
        deploy_time, made = timed_deployment(engine, area_id)
        reset(engine, area_id)
        bare_time, bare_made = timed_bare(engine, area_id)
        assert made == bare_made == would, (made, bare_made, would)
        print(f"round {round_number}: deployment {made:,} work orders + {made * 8:,} tasks "
              f"in {deploy_time:.2f} s; bare INSERT ... SELECT {bare_time:.2f} s; "
              f"ratio {deploy_time / bare_time:.2f}x")
    engine.dispose()


if __name__ == "__main__":
    main()
